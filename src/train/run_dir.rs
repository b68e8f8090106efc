//! The run folder: everything needed to reproduce, inspect and reuse a run. All writes atomic.
//!
//! ```text
//! <run>/preset.ron        the preset as given
//! <run>/config.ron        resolved configuration (preset + protocol + seed + corpus + backend)
//! <run>/splits.json       file lists of every fold (train / valid / test) + leakage check
//! <run>/metrics.csv       one row per fold and epoch
//! <run>/report.json       pooled test report + one per fold
//! <run>/report.md         the same for people
//! <run>/predictions.csv   one row per test utterance
//! <run>/fold<N>.bpk       best checkpoint of fold N (burnpack)
//! <run>/fold<N>.norm.json training-set standardiser of fold N
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::messages::EpochMetrics;
use super::preset::Preset;
use crate::eval::ClassificationReport;
use crate::eval::metrics::{UA_FORMULA, WA_FORMULA, mean_std};
use crate::fsutil::{write_atomic, write_text_atomic};

/// Resolved configuration saved as `config.ron`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResolvedConfig {
    /// The preset.
    pub preset: Preset,
    /// Protocol actually used.
    pub protocol: String,
    /// Seed actually used.
    pub seed: u64,
    /// First corpus folder.
    pub corpus_dir: PathBuf,
    /// All corpus folders (multi-corpus runs).
    #[serde(default)]
    pub corpus_dirs: Vec<PathBuf>,
    /// Label map applied.
    #[serde(default)]
    pub label_map: String,
    /// Corpus type.
    pub corpus_type: String,
    /// Class names in index order.
    pub classes: Vec<String>,
    /// Backend description.
    pub backend: String,
    /// Feature frames per example and bins per frame.
    pub frames: usize,
    /// Bins per frame.
    pub bins: usize,
    /// Number of folds.
    pub folds: usize,
}

/// One fold in `report.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FoldReport {
    /// Fold name.
    pub name: String,
    /// Best epoch (by validation UA).
    pub best_epoch: usize,
    /// Layer weights of the best checkpoint (SSL layer-weighted models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_weights: Option<Vec<f32>>,
    /// α of the best checkpoint (α-fusion models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fusion_alpha: Option<f32>,
    /// Mean fusion gate per class at the best epoch (gated fusion; `null` for a class without
    /// validation utterances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_per_class: Option<Vec<Option<f32>>>,
    /// Per-dimension layer weights of the best checkpoint (one row per dimension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension_layer_weights: Option<Vec<Vec<f32>>>,
    /// Test metrics per dimension (dimensional runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dims: Option<Vec<crate::eval::regression::DimensionReport>>,
    /// Test metrics per label (multi-label runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<crate::eval::multilabel::MultiLabelReport>,
    /// Test report with the best checkpoint (empty in dimensional runs).
    #[serde(flatten)]
    pub report: ClassificationReport,
}

/// `report.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    /// Preset name.
    pub preset: String,
    /// Protocol spelling.
    pub protocol: String,
    /// "speaker-independent" or "speaker-dependent".
    pub independence: String,
    /// Seed.
    pub seed: u64,
    /// Formula of WA.
    pub wa_formula: String,
    /// Formula of UA.
    pub ua_formula: String,
    /// Pooled test report over all folds (flattened: classes, wa, ua, macro_f1, …, confusion).
    #[serde(flatten)]
    pub pooled: ClassificationReport,
    /// Mean ± std over folds of WA, UA, macro-F1.
    pub fold_mean_std: FoldStats,
    /// Per-fold reports.
    pub folds: Vec<FoldReport>,
    /// Mean over folds of the best checkpoints' softmax layer weights (layer 0 … N), for SSL
    /// layer-weighted models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_weights: Option<Vec<f32>>,
    /// Whether the run was stopped before all folds finished.
    pub incomplete: bool,
    /// Total training wall time, seconds.
    pub train_secs: f64,
    /// Runtime and model size (absent in reports of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<ModelCost>,
    /// Ensembles: the member runs, with their cost and pooled metrics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<EnsembleMember>,
    /// Dimensional runs: per-dimension metrics (the classification fields above are then
    /// empty, `n` = 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensional: Option<super::dim_report::DimensionalSummary>,
    /// Multi-label runs: per-label metrics (the classification fields above are then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_label: Option<super::ml_report::MultiLabelSummary>,
    /// Multi-task runs: each auxiliary task's test score, pooled and per fold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<super::multitask::TasksSummary>,
    /// Linear models: the strongest named inputs per class (all weights in
    /// `feature_weights.csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_weights: Option<super::feature_weights::FeatureWeights>,
}

impl RunReport {
    /// The headline figure: pooled UA, the pooled mean CCC of a dimensional run, or the pooled
    /// macro F1 of a multi-label run.
    pub fn headline(&self) -> (&'static str, f64) {
        match (&self.dimensional, &self.multi_label) {
            (Some(d), _) => ("mean CCC", d.mean_ccc),
            (None, Some(m)) => ("macro F1", m.pooled.macro_f1),
            (None, None) => ("UA", self.pooled.ua),
        }
    }
}

/// Runtime and size of a run's models (seed 002's comparison table).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelCost {
    /// Parameters of one fold model (ensembles: summed over members).
    pub params: usize,
    /// Of which trained (the rest frozen).
    pub trainable_params: usize,
    /// Bytes of one saved fold checkpoint (mean over folds; ensembles: summed over members).
    pub checkpoint_bytes: u64,
    /// Training wall time of the whole run, seconds (ensembles: summed over members).
    pub train_secs: f64,
    /// Test audio, seconds.
    pub test_audio_secs: f64,
    /// Wall time of model inference on the test inputs, seconds (ensembles: summed).
    pub inference_secs: f64,
    /// Inference seconds per second of audio (real-time factor; below 1 is faster than real
    /// time). Frozen-feature runs count the model only, not feature extraction.
    pub inference_secs_per_audio_sec: f64,
}

/// One member of an ensemble.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnsembleMember {
    /// Run folder.
    pub run_dir: String,
    /// Its preset.
    pub preset: String,
    /// Pooled WA.
    pub wa: f64,
    /// Pooled UA.
    pub ua: f64,
    /// Pooled macro-F1.
    pub macro_f1: f64,
    /// Its cost (when its report has one).
    pub cost: Option<ModelCost>,
}

/// Mean and sample standard deviation over folds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FoldStats {
    /// (mean, std) of WA.
    pub wa: (f64, f64),
    /// (mean, std) of UA.
    pub ua: (f64, f64),
    /// (mean, std) of macro-F1.
    pub macro_f1: (f64, f64),
}

impl FoldStats {
    /// From fold reports.
    pub fn of(folds: &[FoldReport]) -> Self {
        let v = |f: fn(&ClassificationReport) -> f64| {
            mean_std(&folds.iter().map(|r| f(&r.report)).collect::<Vec<_>>())
        };
        Self {
            wa: v(|r| r.wa),
            ua: v(|r| r.ua),
            macro_f1: v(|r| r.macro_f1),
        }
    }
}

/// One row of `predictions.csv`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PredictionRow {
    /// Fold name.
    pub fold: String,
    /// Corpus of the utterance (several in multi-corpus runs).
    pub corpus: String,
    /// Audio file.
    pub path: String,
    /// Speaker.
    pub speaker: String,
    /// True class.
    pub true_label: String,
    /// Predicted class.
    pub predicted: String,
    /// Probability of the predicted class.
    pub confidence: f32,
    /// Whether predicted == true.
    pub correct: bool,
    /// Probabilities of every class, in class order.
    pub probabilities: Vec<f32>,
}

/// The columns of `predictions.csv` before the per-class `p_<class>` probabilities.
const PREDICTION_COLUMNS: [&str; 8] = [
    "fold",
    "corpus",
    "path",
    "speaker",
    "true",
    "predicted",
    "confidence",
    "correct",
];

/// Field `i` (column `name`) of a CSV record as a number; otherwise an error naming the file,
/// the line and the column.
pub(crate) fn csv_number(
    rec: &csv::StringRecord,
    i: usize,
    name: &str,
    file: &Path,
    line: usize,
) -> Result<f32, String> {
    let v = rec.get(i).unwrap_or_default();
    v.parse::<f32>().map_err(|_| {
        format!(
            "{} line {line}: column '{name}' holds '{v}', not a number",
            file.display()
        )
    })
}

/// Reads `report.json` of a run folder.
pub fn read_report(run_dir: &Path) -> Result<RunReport, String> {
    let p = run_dir.join("report.json");
    let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: malformed report: {e}", p.display()))
}

/// Reads `predictions.csv` of a run folder. A missing column, a row with the wrong number of
/// fields or a value that is not a number is an error naming the file, the line and the column
/// (never a row of zeros).
pub fn read_predictions(run_dir: &Path) -> Result<Vec<PredictionRow>, String> {
    let p = run_dir.join("predictions.csv");
    let mut r = csv::Reader::from_path(&p).map_err(|e| io(&p, e))?;
    let header = r.headers().map_err(|e| io(&p, e))?.clone();
    let col = |n: &str| {
        header
            .iter()
            .position(|c| c == n)
            .ok_or_else(|| format!("{}: no column '{n}'", p.display()))
    };
    let [
        fold,
        corpus,
        path,
        speaker,
        truth,
        predicted,
        confidence,
        correct,
    ] = PREDICTION_COLUMNS.map(col);
    let (fold, corpus, path, speaker) = (fold?, corpus?, path?, speaker?);
    let (truth, predicted, confidence, correct) = (truth?, predicted?, confidence?, correct?);
    let prob_cols: Vec<(usize, &str)> = header
        .iter()
        .enumerate()
        .filter(|(_, c)| c.starts_with("p_"))
        .collect();
    let mut rows = Vec::new();
    for (k, rec) in r.records().enumerate() {
        let line = k + 2;
        let rec = rec.map_err(|e| format!("{} line {line}: {e}", p.display()))?;
        let text = |i: usize| rec.get(i).unwrap_or_default().to_string();
        let number = |i: usize, name: &str| csv_number(&rec, i, name, &p, line);
        rows.push(PredictionRow {
            fold: text(fold),
            corpus: text(corpus),
            path: text(path),
            speaker: text(speaker),
            true_label: text(truth),
            predicted: text(predicted),
            confidence: number(confidence, "confidence")?,
            correct: match rec.get(correct).unwrap_or_default() {
                "true" => true,
                "false" => false,
                v => {
                    return Err(format!(
                        "{} line {line}: column 'correct' holds '{v}', not true/false",
                        p.display()
                    ));
                }
            },
            probabilities: prob_cols
                .iter()
                .map(|&(i, name)| number(i, name))
                .collect::<Result<_, _>>()?,
        });
    }
    Ok(rows)
}

/// Writer for one run folder.
pub struct RunDir {
    /// The folder.
    pub path: PathBuf,
}

fn io(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

impl RunDir {
    /// Creates the folder (refuses to reuse one that already holds a report).
    pub fn create(path: PathBuf) -> Result<Self, String> {
        if path.join("report.json").exists() {
            return Err(format!(
                "{}: already holds a finished run; choose another --out",
                path.display()
            ));
        }
        std::fs::create_dir_all(&path).map_err(|e| io(&path, e))?;
        Ok(Self { path })
    }

    /// Opens (creating where needed) a folder shared by several processes, each training some
    /// folds of one run (`FoldScope`), or one whose report is written again from its folds; an
    /// earlier report there is replaced.
    pub fn reopen(path: PathBuf) -> Result<Self, String> {
        std::fs::create_dir_all(&path).map_err(|e| io(&path, e))?;
        Ok(Self { path })
    }

    /// Creates and returns a new folder `<root>/<YYYYMMDD-HHMMSS>-<preset>[-N]`. The folder is
    /// claimed with an atomic `create_dir`, so two runs started in the same second never share one.
    pub fn claim_new(root: &Path, preset_name: &str) -> Result<PathBuf, String> {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (y, m, d) = civil_from_days(days as i64);
        let stamp = format!(
            "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        );
        let safe: String = preset_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        std::fs::create_dir_all(root).map_err(|e| io(root, e))?;
        for n in 1..10_000 {
            let p = if n == 1 {
                root.join(format!("{stamp}-{safe}"))
            } else {
                root.join(format!("{stamp}-{safe}-{n}"))
            };
            match std::fs::create_dir(&p) {
                Ok(()) => return Ok(p),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(&p, e)),
            }
        }
        Err(format!("{}: no free run folder name", root.display()))
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes text atomically.
    pub fn write_text(&self, name: &str, text: &str) -> Result<(), String> {
        let p = self.file(name);
        write_text_atomic(&p, text).map_err(|e| io(&p, e))
    }

    /// Writes bytes atomically.
    pub fn write_bytes(&self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let p = self.file(name);
        write_atomic(&p, bytes).map_err(|e| io(&p, e))
    }

    /// Writes JSON atomically.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<(), String> {
        let text = serde_json::to_string_pretty(value).map_err(|e| io(&self.file(name), e))?;
        self.write_text(name, &text)
    }

    /// `metrics.csv`.
    pub fn write_metrics(
        &self,
        rows: &[EpochMetrics],
        fold_names: &[String],
        dimension_names: &[String],
    ) -> Result<(), String> {
        let mut s = String::from(
            "fold,epoch,train_loss,train_wa,valid_loss,valid_wa,valid_ua,valid_macro_f1,learning_rate,epoch_secs,is_best,adapt_loss,fusion_alpha,step",
        );
        // Dimensional runs: validation CCC per dimension and its mean.
        let n_dims = rows
            .iter()
            .find_map(|m| m.valid_ccc.as_ref().map(Vec::len))
            .unwrap_or(0);
        for names in dimension_names.iter().take(n_dims) {
            s.push_str(&format!(",valid_ccc_{names}"));
        }
        if n_dims > 0 {
            s.push_str(",valid_mean_ccc");
        }
        // Multi-task runs: the stage, then each task's losses and scores.
        let tasks: Vec<String> = rows
            .iter()
            .find(|m| !m.tasks.is_empty())
            .map(|m| m.tasks.iter().map(|t| t.task.clone()).collect())
            .unwrap_or_default();
        if !tasks.is_empty() {
            s.push_str(",stage");
        }
        for t in &tasks {
            s.push_str(&format!(",{t}_train_loss"));
            if t == "emotion" {
                continue;
            }
            s.push_str(&format!(",{t}_valid_loss"));
            if t == "asr" {
                s.push_str(",asr_valid_cer,asr_valid_wer");
            } else {
                s.push_str(&format!(",{t}_train_accuracy,{t}_valid_accuracy"));
            }
        }
        s.push('\n');
        for m in rows {
            let name = fold_names.get(m.fold).cloned().unwrap_or_default();
            let mut ccc = String::new();
            if n_dims > 0 {
                let v = m
                    .valid_ccc
                    .clone()
                    .unwrap_or_else(|| vec![f64::NAN; n_dims]);
                for c in &v {
                    ccc.push_str(&format!(",{c:.6}"));
                }
                let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
                ccc.push_str(&format!(",{mean:.6}"));
            }
            s.push_str(&format!(
                "{name},{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{},{:.3},{},{},{},{}{ccc}\n",
                m.epoch,
                m.train_loss,
                m.train_wa,
                m.valid_loss,
                m.valid_wa,
                m.valid_ua,
                m.valid_macro_f1,
                m.learning_rate,
                m.epoch_secs,
                m.is_best,
                m.adapt_loss.map_or(String::new(), |a| format!("{a:.6}")),
                m.fusion_alpha.map_or(String::new(), |a| format!("{a:.6}")),
                m.step
            ));
            if !tasks.is_empty() {
                s.pop();
                s.push_str(&format!(
                    ",{}",
                    m.stage.map_or(String::new(), |v| v.to_string())
                ));
                let f = |v: f64| {
                    if v.is_finite() {
                        format!("{v:.6}")
                    } else {
                        String::new()
                    }
                };
                for name in &tasks {
                    let Some(t) = m.tasks.iter().find(|t| &t.task == name) else {
                        let n = if name == "emotion" { 1 } else { 4 };
                        s.push_str(&",".repeat(n));
                        continue;
                    };
                    s.push_str(&format!(",{}", f(t.train_loss)));
                    if name == "emotion" {
                        continue;
                    }
                    s.push_str(&format!(",{}", f(t.valid.loss())));
                    if name == "asr" {
                        s.push_str(&format!(",{},{}", f(t.valid.value()), f(t.valid.wer())));
                    } else {
                        s.push_str(&format!(",{},{}", f(t.train_accuracy), f(t.valid.value())));
                    }
                }
                s.push('\n');
            }
        }
        self.write_text("metrics.csv", &s)
    }

    /// `steps.csv`: every optimiser step's loss and the learning rate actually used.
    pub fn write_steps(
        &self,
        rows: &[super::fit::StepRecord],
        fold_names: &[String],
    ) -> Result<(), String> {
        let mut s = String::from("fold,epoch,step,loss,learning_rate,encoder_learning_rate\n");
        for r in rows {
            let name = fold_names.get(r.fold).cloned().unwrap_or_default();
            s.push_str(&format!(
                "{name},{},{},{:.6},{:e},{:e}\n",
                r.epoch, r.step, r.loss, r.learning_rate, r.encoder_learning_rate
            ));
        }
        self.write_text("steps.csv", &s)
    }

    /// `predictions.csv` with one probability column per class.
    pub fn write_predictions(
        &self,
        rows: &[PredictionRow],
        classes: &[String],
    ) -> Result<(), String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = PREDICTION_COLUMNS
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        header.extend(classes.iter().map(|c| format!("p_{c}")));
        let p = self.file("predictions.csv");
        w.write_record(&header).map_err(|e| io(&p, e))?;
        for r in rows {
            let mut rec = vec![
                r.fold.clone(),
                r.corpus.clone(),
                r.path.clone(),
                r.speaker.clone(),
                r.true_label.clone(),
                r.predicted.clone(),
                format!("{:.6}", r.confidence),
                r.correct.to_string(),
            ];
            rec.extend(r.probabilities.iter().map(|v| format!("{v:.6}")));
            w.write_record(&rec).map_err(|e| io(&p, e))?;
        }
        let bytes = w.into_inner().map_err(|e| io(&p, e))?;
        self.write_bytes("predictions.csv", &bytes)
    }

    /// `report.json` and `report.md`.
    pub fn write_report(&self, r: &RunReport) -> Result<(), String> {
        self.write_json("report.json", r)?;
        self.write_text("report.md", &report_markdown(r))
    }
}

/// The runtime and model size table (members first for ensembles).
fn cost_markdown(r: &RunReport) -> String {
    let mut s = String::from(
        "## Runtime and model size\n\n| model | UA | WA | parameters | trainable | checkpoint (MB) | training (s) | inference (s per s of audio) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let row = |name: &str, ua: f64, wa: f64, c: Option<&ModelCost>| match c {
        Some(c) => format!(
            "| {name} | {ua:.4} | {wa:.4} | {} | {} | {:.2} | {:.1} | {:.4} |\n",
            c.params,
            c.trainable_params,
            c.checkpoint_bytes as f64 / 1e6,
            c.train_secs,
            c.inference_secs_per_audio_sec
        ),
        None => format!("| {name} | {ua:.4} | {wa:.4} | – | – | – | – | – |\n"),
    };
    for m in &r.members {
        s.push_str(&row(
            &format!("{} (`{}`)", m.preset, m.run_dir),
            m.ua,
            m.wa,
            m.cost.as_ref(),
        ));
    }
    s.push_str(&row(
        &format!("**{}**", r.preset),
        r.pooled.ua,
        r.pooled.wa,
        r.cost.as_ref(),
    ));
    s.push_str("\nInference is the model on its inputs (frozen-feature runs: after feature extraction).\n\n");
    s
}

/// Title and the protocol / seed / size / time lines of `report.md` (`kind`: " (dimensional)",
/// " (multi-label)" or empty; `n` test utterances).
fn report_header(r: &RunReport, kind: &str, n: usize) -> String {
    format!(
        "# Run report — {}{kind}\n\n- protocol: `{}` (**{}**)\n- seed: {}\n- test utterances: {n}\n- training time: {:.1} s\n{}\n",
        r.preset,
        r.protocol,
        r.independence,
        r.seed,
        r.train_secs,
        if r.incomplete {
            "- **incomplete: the run was stopped before all folds finished**\n"
        } else {
            ""
        }
    )
}

/// The Markdown report.
pub fn report_markdown(r: &RunReport) -> String {
    if let Some(m) = &r.multi_label {
        let mut s = report_header(r, " (multi-label)", m.pooled.n);
        let folds: Vec<_> = r
            .folds
            .iter()
            .map(|f| (f.name.clone(), f.best_epoch, f.labels.clone()))
            .collect();
        s.push_str(&m.markdown(&folds));
        return s;
    }
    if let Some(d) = &r.dimensional {
        let mut s = report_header(r, " (dimensional)", d.pooled.first().map_or(0, |p| p.n));
        let folds: Vec<(String, usize, Vec<crate::eval::regression::DimensionReport>)> = r
            .folds
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    f.best_epoch,
                    f.dims.clone().unwrap_or_default(),
                )
            })
            .collect();
        s.push_str(&d.markdown(&folds));
        if let Some(c) = &r.cost {
            s.push_str(&format!(
                "\n## Runtime and model size\n\n- parameters: {} ({} trainable)\n- checkpoint: {:.2} MB\n- training: {:.1} s\n- inference: {:.4} s per s of audio\n",
                c.params,
                c.trainable_params,
                c.checkpoint_bytes as f64 / 1e6,
                c.train_secs,
                c.inference_secs_per_audio_sec
            ));
        }
        return s;
    }
    let mut s = report_header(r, "", r.pooled.n as usize);
    s.push_str(&format!(
        "## Pooled test predictions\n\n| WA | UA | macro-F1 | weighted-F1 |\n|---:|---:|---:|---:|\n| {:.4} | {:.4} | {:.4} | {:.4} |\n\n",
        r.pooled.wa, r.pooled.ua, r.pooled.macro_f1, r.pooled.weighted_f1
    ));
    s.push_str(&format!("{WA_FORMULA}; {UA_FORMULA}.\n\n"));
    if r.cost.is_some() || !r.members.is_empty() {
        s.push_str(&cost_markdown(r));
    }
    s.push_str(&r.pooled.to_markdown());
    s.push_str("\n## Confusion matrix (rows = true, columns = predicted)\n\n| true \\ predicted |");
    for c in &r.pooled.classes {
        s.push_str(&format!(" {c} |"));
    }
    s.push_str(&format!(
        "\n|---|{}\n",
        "---:|".repeat(r.pooled.classes.len())
    ));
    for (c, row) in r.pooled.classes.iter().zip(&r.pooled.confusion.counts) {
        s.push_str(&format!("| {c} |"));
        for v in row {
            s.push_str(&format!(" {v} |"));
        }
        s.push('\n');
    }
    s.push_str("\n## Folds\n\n| fold | best epoch | n | WA | UA | macro-F1 |\n|---|---:|---:|---:|---:|---:|\n");
    for f in &r.folds {
        s.push_str(&format!(
            "| {} | {} | {} | {:.4} | {:.4} | {:.4} |\n",
            f.name, f.best_epoch, f.report.n, f.report.wa, f.report.ua, f.report.macro_f1
        ));
    }
    let st = &r.fold_mean_std;
    s.push_str(&format!(
        "| **mean ± std** | | | {:.4} ± {:.4} | {:.4} ± {:.4} | {:.4} ± {:.4} |\n",
        st.wa.0, st.wa.1, st.ua.0, st.ua.1, st.macro_f1.0, st.macro_f1.1
    ));
    s.push_str(&format!(
        "\nPer fold, the {}.\n",
        crate::eval::metrics::MACRO_SCOPE
    ));
    if let Some(t) = &r.tasks {
        s.push('\n');
        s.push_str(&t.markdown());
    }
    if let Some(f) = &r.feature_weights {
        s.push('\n');
        s.push_str(&f.markdown());
    }
    s
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_779), (2026, 11, 22));
    }

    /// `predictions.csv` round-trips through the typed reader; an unparsable value is an error
    /// naming the file, the line and the column, never a zero.
    #[test]
    fn predictions_round_trip_and_bad_rows_are_errors() {
        let d = tempfile::tempdir().expect("tmp");
        let run = RunDir::create(d.path().to_path_buf()).expect("dir");
        let classes = vec!["anger".to_string(), "neutral".to_string()];
        let row = PredictionRow {
            fold: "f1".into(),
            corpus: "emodb".into(),
            path: "/x/a, b.wav".into(),
            speaker: "03".into(),
            true_label: "anger".into(),
            predicted: "neutral".into(),
            confidence: 0.75,
            correct: false,
            probabilities: vec![0.25, 0.75],
        };
        run.write_predictions(std::slice::from_ref(&row), &classes)
            .expect("write");
        let back = read_predictions(d.path()).expect("read");
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].path, row.path);
        assert_eq!(back[0].probabilities, row.probabilities);
        assert_eq!(back[0].confidence, 0.75);
        assert!(!back[0].correct);
        let p = d.path().join("predictions.csv");
        let text = std::fs::read_to_string(&p).expect("csv");
        std::fs::write(&p, text.replace("0.250000", "abc")).expect("write");
        let e = read_predictions(d.path()).expect_err("bad value");
        assert!(
            e.contains("predictions.csv line 2") && e.contains("'p_anger'") && e.contains("'abc'"),
            "{e}"
        );
    }
}
