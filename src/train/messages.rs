//! Typed messages between the training worker and its owner (GUI or CLI): one enum per direction.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Preset;
use crate::corpus::CorpusType;
use crate::corpus::split::LeakageReport;
use crate::eval::{ClassificationReport, ConfusionMatrix};

/// What to run.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// The preset (features + model + training settings).
    pub preset: Preset,
    /// Corpus folders (several = multi-corpus training on their union).
    pub corpus_dirs: Vec<PathBuf>,
    /// Target corpus of a cross-corpus run: its audio (never its labels) feeds domain adaptation
    /// and all of it is the test part.
    pub target_corpus: Option<PathBuf>,
    /// Label map: a name (`4-class`, `iemocap-4`, `emodb-ravdess-6`, …) or a RON file; `None` =
    /// the preset's, else every class of one corpus or the intersection of several.
    pub label_map: Option<String>,
    /// Corpus type override (`None` = detect).
    pub corpus_type: Option<CorpusType>,
    /// Protocol override (`None` = the preset's).
    pub protocol: Option<crate::corpus::Protocol>,
    /// Seed override (`None` = the preset's).
    pub seed: Option<u64>,
    /// Run folder; `None` = `runs/<timestamp>-<preset>` under the runs root.
    pub out_dir: Option<PathBuf>,
    /// Feature cache folder.
    pub cache_dir: PathBuf,
    /// Backend choice.
    pub backend: super::BackendChoice,
    /// Which folds this process trains (all, by default).
    pub folds: FoldScope,
}

/// Which folds a run trains: all of them here, or one per process (the array tasks of
/// `train --executor slurm`) and a final `Collect` that writes the report from their records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FoldScope {
    /// Every fold, then the report.
    #[default]
    All,
    /// Only this fold (0-based) into the run folder `out_dir`: its checkpoint, standardiser and
    /// `folds/fold<N>.ron`; no report (other processes train the other folds).
    One(usize),
    /// No training: the report of run folder `out_dir` from the fold records its tasks saved
    /// (marked incomplete while some are missing).
    Collect,
}

/// Owner → worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Stop after the current batch; the run folder keeps what is finished.
    Stop,
    /// Pause after the current batch.
    Pause,
    /// Continue after a pause.
    Resume,
}

/// Lifecycle of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunState {
    /// Worker started.
    Started,
    /// Paused by the owner.
    Paused,
    /// Running again after a pause.
    Resumed,
    /// Stopped by the owner.
    Stopped,
    /// All folds done.
    Finished,
    /// An error or panic ended the run.
    Failed(String),
}

/// Metrics of one epoch of one fold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Fold index (0-based).
    pub fold: usize,
    /// Epoch (1-based).
    pub epoch: usize,
    /// Optimiser steps taken in the fold when this evaluation ran (runs that evaluate every N
    /// steps have several rows per epoch).
    #[serde(default)]
    pub step: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Training accuracy (WA) over the epoch's batches.
    pub train_wa: f64,
    /// Validation loss (`NaN` without a validation part).
    pub valid_loss: f64,
    /// Validation WA.
    pub valid_wa: f64,
    /// Validation UA.
    pub valid_ua: f64,
    /// Validation macro-F1.
    pub valid_macro_f1: f64,
    /// Validation CCC per dimension (dimensional runs).
    #[serde(default)]
    pub valid_ccc: Option<Vec<f64>>,
    /// Learning rate of the last optimiser step before this evaluation (the head's, for
    /// fine-tuning runs).
    pub learning_rate: f64,
    /// Validation confusion matrix (rows = true).
    pub valid_confusion: ConfusionMatrix,
    /// Wall time of the epoch, seconds.
    pub epoch_secs: f64,
    /// Whether this epoch is the best so far (its weights are the fold's checkpoint).
    pub is_best: bool,
    /// Softmax layer weights of SSL layer-weighted models (layer 0 … N; with per-dimension
    /// weights their mean).
    #[serde(default)]
    pub layer_weights: Option<Vec<f32>>,
    /// Per-dimension layer weights (one row per dimension, in dimension order).
    #[serde(default)]
    pub dimension_layer_weights: Option<Vec<Vec<f32>>>,
    /// Mean domain-adaptation loss of the epoch (cross-corpus runs with adaptation).
    #[serde(default)]
    pub adapt_loss: Option<f64>,
    /// α of an α-fusion front-end (share of the log-mel stream).
    #[serde(default)]
    pub fusion_alpha: Option<f32>,
    /// Gated fusion: mean gate (share of the log-mel stream) over the validation utterances of
    /// each true class, in class order (`NaN` for a class absent from validation).
    #[serde(default)]
    pub gate_per_class: Option<Vec<f32>>,
    /// Cross-corpus runs: 2-D PCA of the head's input embeddings of source validation and target
    /// utterances (at most 150 of each).
    #[serde(default)]
    pub scatter: Option<Vec<ScatterPoint>>,
    /// Two-stage multi-task fine-tuning: the stage this evaluation ran in (1 or 2).
    #[serde(default)]
    pub stage: Option<usize>,
    /// Multi-task runs: each auxiliary task's losses and scores at this evaluation.
    #[serde(default)]
    pub tasks: Vec<TaskEpoch>,
}

/// One auxiliary task at one evaluation of a multi-task run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskEpoch {
    /// Task name.
    pub task: String,
    /// Mean training loss over the epoch's batches (unweighted).
    pub train_loss: f64,
    /// Training accuracy over the epoch's batches (`NaN` for `asr`).
    pub train_accuracy: f64,
    /// Validation score: [`crate::train::multitask::TaskScore`]'s loss, value (accuracy, or CER
    /// for `asr`) and WER.
    pub valid: crate::train::multitask::TaskScore,
}

/// What a run is about to do (sent once, before the first fold trains).
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// Run folder.
    pub run_dir: PathBuf,
    /// Class names in index order.
    pub classes: Vec<String>,
    /// Fold names.
    pub folds: Vec<String>,
    /// Protocol as resolved (e.g. `loso`, `speaker-kfold:5`, `cross-corpus`).
    pub protocol: String,
    /// Whether no speaker is in both the training and the test part of any fold.
    pub speaker_independent: bool,
    /// The leakage check of every fold.
    pub leakage: Vec<LeakageReport>,
    /// Backend in use (with a notice when it fell back to the CPU).
    pub backend: String,
    /// Epochs per fold (upper bound; early stopping may end sooner).
    pub epochs: usize,
    /// Dimensional run: `classes` names the dimensions.
    pub dimensional: bool,
}

impl RunPlan {
    /// "speaker-independent" or "speaker-dependent".
    pub fn independence_label(&self) -> &'static str {
        crate::corpus::split::independence_label(self.speaker_independent)
    }

    /// One verdict line per fold.
    pub fn leakage_lines(&self) -> Vec<String> {
        self.leakage
            .iter()
            .map(|l| l.summary(self.speaker_independent))
            .collect()
    }
}

/// One utterance in an embedding scatter plot.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScatterPoint {
    /// First principal component.
    pub x: f32,
    /// Second principal component.
    pub y: f32,
    /// Target-corpus utterance (else source).
    pub target: bool,
    /// True class index (target labels are only drawn, never trained on).
    pub label: usize,
}

/// Worker → owner.
#[derive(Clone, Debug)]
pub enum Event {
    /// State change.
    State(RunState),
    /// Human-readable progress line (corpus loaded, features cached, backend chosen, …).
    Log(String),
    /// The run is set up: where it writes, classes, folds, protocol and leakage check.
    Plan(Box<RunPlan>),
    /// Feature extraction progress.
    Features {
        /// Files done.
        done: usize,
        /// Files in total.
        total: usize,
        /// Of which came from the cache.
        cached: usize,
    },
    /// One optimisation step.
    Step {
        /// Fold index.
        fold: usize,
        /// Epoch (1-based).
        epoch: usize,
        /// Step within the epoch (1-based).
        step: usize,
        /// Steps per epoch.
        steps_per_epoch: usize,
        /// Batch loss.
        loss: f64,
        /// Optimiser steps taken in the fold, this one included.
        global_step: usize,
        /// Learning rate this step used (the head's, for fine-tuning runs).
        learning_rate: f64,
    },
    /// End of an epoch.
    Epoch(Box<EpochMetrics>),
    /// A fold finished and was evaluated on its test part with its best checkpoint.
    FoldDone {
        /// Fold index.
        fold: usize,
        /// Test report of the fold (empty in dimensional runs).
        report: Box<ClassificationReport>,
        /// Dimensional runs: test metrics per dimension.
        dims: Option<Vec<crate::eval::regression::DimensionReport>>,
        /// Multi-label runs: test metrics per label.
        labels: Option<Box<crate::eval::multilabel::MultiLabelReport>>,
    },
    /// All folds done; pooled test report.
    Finished {
        /// Run folder.
        run_dir: PathBuf,
        /// Pooled report (empty in dimensional runs).
        report: Box<ClassificationReport>,
        /// Dimensional runs: the per-dimension summary.
        dimensional: Option<Box<super::dim_report::DimensionalSummary>>,
        /// Multi-label runs: the per-label summary.
        multi_label: Option<Box<super::ml_report::MultiLabelSummary>>,
        /// Linear models: the strongest named inputs per class.
        feature_weights: Option<Box<super::feature_weights::FeatureWeights>>,
    },
}
