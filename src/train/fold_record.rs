//! What one finished fold hands to its run's report, without the model itself (that is
//! `fold<N>.bpk`): metrics, test outputs and the few facts the report reads off the model.
//!
//! A local run turns each trained fold into a [`FoldRecord`] and adds it to the report at once.
//! A run whose folds are Slurm array tasks (`train --executor slurm`, README "On a cluster")
//! trains one fold per task (`train --fold N`), which saves `folds/fold<N>.ron` next to the
//! checkpoint; `train collect` reads the records back and writes the same report through the
//! same code. RON, not JSON: metrics hold NaN (no validation part, a class absent from it),
//! which RON keeps and JSON cannot.

use std::path::{Path, PathBuf};

use burn::module::Module;
use serde::{Deserialize, Serialize};

use super::fit::{FoldOutput, StepRecord};
use super::messages::EpochMetrics;
use crate::eval::ClassificationReport;
use crate::model::SerModel;

/// One finished fold (see the module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldRecord {
    /// Fold index (0-based).
    pub index: usize,
    /// Metrics of every evaluation.
    pub epochs: Vec<EpochMetrics>,
    /// Every optimiser step.
    pub steps: Vec<StepRecord>,
    /// Test outputs per test utterance, in the fold's order.
    pub test_probs: Vec<Vec<f32>>,
    /// Test report.
    pub report: ClassificationReport,
    /// Test metrics per dimension (dimensional runs).
    pub dims: Option<Vec<crate::eval::regression::DimensionReport>>,
    /// Test metrics per label (multi-label runs).
    pub labels: Option<crate::eval::multilabel::MultiLabelReport>,
    /// Wall time of the test evaluation, seconds.
    pub test_secs: f64,
    /// Multi-task runs: each auxiliary task's test score.
    pub tasks: Option<Vec<super::multitask::TaskScore>>,
    /// Parameters of the fold model.
    pub params: usize,
    /// Of which trained in the last stage.
    pub trainable_params: usize,
    /// Softmax layer weights (SSL layer-weighted models).
    pub layer_weights: Option<Vec<f32>>,
    /// Per-dimension layer weights.
    pub dimension_layer_weights: Option<Vec<Vec<f32>>>,
    /// α of α-fusion models.
    pub fusion_alpha: Option<f32>,
    /// Linear models: the weights, `[inputs, classes]` row-major.
    pub linear_weights: Option<Vec<f32>>,
    /// Bytes of the saved checkpoint.
    pub checkpoint_bytes: u64,
    /// Wall time of the process that trained this fold alone (feature loading included),
    /// seconds; 0 for folds of a local run, whose report counts the whole run's time.
    #[serde(default)]
    pub task_secs: f64,
}

impl FoldRecord {
    /// The record of a trained fold and its checkpoint bytes; `fine_tune` is the run's
    /// fine-tuning set-up (two-stage runs count what trains in the last stage).
    pub fn of(
        index: usize,
        out: FoldOutput,
        fine_tune: Option<&crate::ssl::classifier::FineTuneConfig>,
    ) -> Result<(Self, burn::tensor::Bytes), String> {
        let model = out.model;
        let bytes = model
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| format!("checkpoint of fold {}: {e}", index + 1))?;
        let trainable_params = match (&model, fine_tune) {
            (SerModel::SslClassifier(m), Some(ft)) => {
                m.trainable_under(&ft.stage2().unwrap_or_else(|| ft.clone()))
            }
            (m, _) => m.num_params(),
        };
        let linear_weights = match &model {
            SerModel::Linear(m) => Some(m.weights().0),
            _ => None,
        };
        Ok((
            FoldRecord {
                index,
                epochs: out.epochs,
                steps: out.steps,
                test_probs: out.test_probs,
                report: out.report,
                dims: out.dims,
                labels: out.labels,
                test_secs: out.test_secs,
                tasks: out.tasks,
                params: model.num_params(),
                trainable_params,
                layer_weights: model.layer_weights(),
                dimension_layer_weights: model.layer_weights_per_output(),
                fusion_alpha: model.fusion_alpha(),
                linear_weights,
                checkpoint_bytes: bytes.len() as u64,
                task_secs: 0.0,
            },
            bytes,
        ))
    }

    /// Where fold `index`'s record lives in a run folder.
    pub fn path(run_dir: &Path, index: usize) -> PathBuf {
        run_dir.join(format!("folds/fold{}.ron", index + 1))
    }

    /// Saves the record atomically (the last file a fold task writes: its presence means the
    /// checkpoint and standardiser are whole).
    pub fn save(&self, run_dir: &Path) -> Result<(), String> {
        let p = Self::path(run_dir, self.index);
        let text = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
            .map_err(|e| format!("{}: {e}", p.display()))?;
        crate::fsutil::write_text_atomic(&p, &text).map_err(|e| format!("{}: {e}", p.display()))
    }

    /// Reads fold `index`'s record; `Ok(None)` when the fold has not finished.
    pub fn load(run_dir: &Path, index: usize) -> Result<Option<Self>, String> {
        let p = Self::path(run_dir, index);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", p.display())),
        };
        let record: Self = ron::from_str(&text)
            .map_err(|e| format!("{}: malformed fold record: {e}", p.display()))?;
        if record.index != index {
            return Err(format!(
                "{}: holds fold {}, not fold {}",
                p.display(),
                record.index + 1,
                index + 1
            ));
        }
        Ok(Some(record))
    }
}
