//! What a multi-label run writes beside the common run-folder files: per-label metrics in
//! `report.json` / `report.md`, and `predictions.csv` with each label's truth, annotator votes
//! and probability (`fold,corpus,path,speaker,predicted,true_<l>,votes_<l>,p_<l>,…`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::eval::metrics::mean_std;
use crate::eval::multilabel::{MultiLabelReport, multilabel_report};

/// One test utterance of a multi-label run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelPredictionRow {
    /// Fold name.
    pub fold: String,
    /// Corpus.
    pub corpus: String,
    /// Audio file.
    pub path: String,
    /// Speaker.
    pub speaker: String,
    /// 0/1 truth per label.
    pub truth: Vec<f32>,
    /// Annotator votes per label.
    pub votes: Vec<f32>,
    /// Probability per label.
    pub probs: Vec<f32>,
    /// The fold's decision threshold per label.
    pub thresholds: Vec<f32>,
}

impl LabelPredictionRow {
    /// The predicted label set.
    pub fn predicted<'a>(&self, labels: &'a [String]) -> Vec<&'a str> {
        labels
            .iter()
            .zip(self.probs.iter().zip(&self.thresholds))
            .filter(|(_, (p, t))| **p >= **t)
            .map(|(l, _)| l.as_str())
            .collect()
    }

    /// The true label set.
    pub fn true_set<'a>(&self, labels: &'a [String]) -> Vec<&'a str> {
        labels
            .iter()
            .zip(&self.truth)
            .filter(|(_, t)| **t >= 0.5)
            .map(|(l, _)| l.as_str())
            .collect()
    }
}

/// Mean predicted probability of one label at one vote count (how the model follows the
/// annotators' agreement: the paper's figure 5 asks whether disagreement costs F1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VoteLevel {
    /// Label.
    pub label: String,
    /// Annotators who chose it.
    pub votes: f32,
    /// Test utterances with that many votes.
    pub n: usize,
    /// Their mean probability.
    pub mean_probability: f64,
    /// The fraction predicted positive.
    pub predicted_positive: f64,
}

/// Mean ± std over folds of one label's F1.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LabelStats {
    /// Label.
    pub name: String,
    /// (mean, std) of F1.
    pub f1: (f64, f64),
}

/// The multi-label part of `report.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MultiLabelSummary {
    /// Labels in output order.
    pub labels: Vec<String>,
    /// Metrics of the pooled test predictions of all folds (each fold's thresholds).
    pub pooled: MultiLabelReport,
    /// Per label: mean ± std over folds.
    pub fold_mean_std: Vec<LabelStats>,
    /// (mean, std) of the folds' macro F1.
    pub macro_f1: (f64, f64),
    /// Votes at which a label counts as positive.
    pub min_agreement: f32,
    /// Training loss.
    pub loss: String,
    /// How thresholds were chosen.
    pub thresholds: String,
    /// Pooled probability per label and vote count.
    pub by_votes: Vec<VoteLevel>,
}

impl MultiLabelSummary {
    /// From the folds' test reports and the pooled rows.
    pub fn of(
        labels: &[String],
        folds: &[MultiLabelReport],
        rows: &[LabelPredictionRow],
        task: &super::multilabel::MultiLabelTask,
    ) -> Self {
        let probs: Vec<Vec<f32>> = rows.iter().map(|r| r.probs.clone()).collect();
        let truth: Vec<Vec<f32>> = rows.iter().map(|r| r.truth.clone()).collect();
        // Pooled decisions use each row's own fold thresholds.
        let decided: Vec<Vec<f32>> = rows
            .iter()
            .map(|r| {
                r.probs
                    .iter()
                    .zip(&r.thresholds)
                    .map(|(p, t)| 0.5 + (p - t) / 2.0)
                    .collect()
            })
            .collect();
        let mut pooled = multilabel_report(labels, &decided, &truth, &vec![0.5; labels.len()]);
        // Average precision ranks the probabilities themselves.
        let with_ap = multilabel_report(labels, &probs, &truth, &vec![0.5; labels.len()]);
        for (l, a) in pooled.labels.iter_mut().zip(&with_ap.labels) {
            l.average_precision = a.average_precision;
            l.threshold = f64::NAN;
        }
        pooled.mean_average_precision = with_ap.mean_average_precision;
        let fold_mean_std = labels
            .iter()
            .enumerate()
            .map(|(k, name)| LabelStats {
                name: name.clone(),
                f1: mean_std(
                    &folds
                        .iter()
                        .filter_map(|f| f.labels.get(k).map(|l| l.f1))
                        .collect::<Vec<_>>(),
                ),
            })
            .collect();
        let mut by_votes = Vec::new();
        for (k, name) in labels.iter().enumerate() {
            let mut levels: Vec<f32> = rows.iter().map(|r| r.votes[k]).collect();
            levels.sort_by(f32::total_cmp);
            levels.dedup();
            for v in levels {
                let at: Vec<&LabelPredictionRow> =
                    rows.iter().filter(|r| r.votes[k] == v).collect();
                by_votes.push(VoteLevel {
                    label: name.clone(),
                    votes: v,
                    n: at.len(),
                    mean_probability: at.iter().map(|r| r.probs[k] as f64).sum::<f64>()
                        / at.len() as f64,
                    predicted_positive: at.iter().filter(|r| r.probs[k] >= r.thresholds[k]).count()
                        as f64
                        / at.len() as f64,
                });
            }
        }
        Self {
            labels: labels.to_vec(),
            pooled,
            fold_mean_std,
            macro_f1: mean_std(&folds.iter().map(|f| f.macro_f1).collect::<Vec<_>>()),
            min_agreement: task.min_agreement,
            loss: task.loss.describe(),
            thresholds: if task.tune_thresholds {
                "per label, tuned on each fold's validation part (best F1), then frozen for its test part".into()
            } else {
                format!("{} for every label", task.threshold)
            },
            by_votes,
        }
    }

    /// The Markdown section of `report.md`.
    pub fn markdown(&self, folds: &[(String, usize, Option<MultiLabelReport>)]) -> String {
        let f = |v: f64| {
            if v.is_finite() {
                format!("{v:.4}")
            } else {
                "–".into()
            }
        };
        let p = &self.pooled;
        let mut s = format!(
            "## Pooled test predictions (multi-label)\n\nMacro F1 **{}**, micro F1 {}, mean AP {}, exact label set {} (n = {}). A label is positive at ≥ {} annotator votes; thresholds: {}. Loss: {}.\n\n| label | precision | recall | F1 | AP | support |\n|---|---:|---:|---:|---:|---:|\n",
            f(p.macro_f1),
            f(p.micro_f1),
            f(p.mean_average_precision),
            f(p.exact_match),
            p.n,
            self.min_agreement,
            self.thresholds,
            self.loss
        );
        for l in &p.labels {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                l.name,
                f(l.precision),
                f(l.recall),
                f(l.f1),
                f(l.average_precision),
                l.support
            ));
        }
        s.push_str("\n## Folds (test F1)\n\n| fold | best epoch | n | macro F1 |");
        for l in &self.labels {
            s.push_str(&format!(" {l} |"));
        }
        s.push_str(&format!(
            "\n|---|---:|---:|---:|{}\n",
            "---:|".repeat(self.labels.len())
        ));
        for (name, best, r) in folds {
            let Some(r) = r else { continue };
            s.push_str(&format!(
                "| {name} | {best} | {} | {} |",
                r.n,
                f(r.macro_f1)
            ));
            for l in &r.labels {
                s.push_str(&format!(" {} |", f(l.f1)));
            }
            s.push('\n');
        }
        s.push_str(&format!(
            "| **mean ± std** | | | {} ± {} |",
            f(self.macro_f1.0),
            f(self.macro_f1.1)
        ));
        for st in &self.fold_mean_std {
            s.push_str(&format!(" {} ± {} |", f(st.f1.0), f(st.f1.1)));
        }
        s.push_str("\n\n## Probability by annotator votes\n\n| label | votes | n | mean probability | predicted positive |\n|---|---:|---:|---:|---:|\n");
        for v in &self.by_votes {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                v.label,
                v.votes,
                v.n,
                f(v.mean_probability),
                f(v.predicted_positive)
            ));
        }
        s
    }
}

/// `predictions.csv` of a multi-label run.
pub fn predictions_csv(rows: &[LabelPredictionRow], labels: &[String]) -> Result<Vec<u8>, String> {
    let err = |e: csv::Error| format!("predictions.csv: {e}");
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "fold".to_string(),
        "corpus".into(),
        "path".into(),
        "speaker".into(),
        "predicted".into(),
    ];
    for l in labels {
        header.extend([format!("true_{l}"), format!("votes_{l}"), format!("p_{l}")]);
    }
    w.write_record(&header).map_err(err)?;
    for r in rows {
        let mut rec = vec![
            r.fold.clone(),
            r.corpus.clone(),
            r.path.clone(),
            r.speaker.clone(),
            r.predicted(labels).join(";"),
        ];
        for k in 0..labels.len() {
            rec.extend([
                format!("{}", r.truth[k]),
                format!("{}", r.votes[k]),
                format!("{:.6}", r.probs[k]),
            ]);
        }
        w.write_record(&rec).map_err(err)?;
    }
    w.into_inner().map_err(|e| format!("predictions.csv: {e}"))
}

/// Reads `predictions.csv` of a multi-label run (thresholds from the report's folds are not in
/// the CSV: the predicted set column is returned as written).
pub fn read_predictions(
    run_dir: &Path,
    labels: &[String],
) -> Result<Vec<(LabelPredictionRow, Vec<String>)>, String> {
    let p = run_dir.join("predictions.csv");
    let mut r = csv::Reader::from_path(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let h = r
        .headers()
        .map_err(|e| format!("{}: {e}", p.display()))?
        .clone();
    let col = |n: &str| {
        h.iter()
            .position(|c| c == n)
            .ok_or_else(|| format!("{}: no column '{n}'", p.display()))
    };
    let (fc, cc, pc, sc, dc) = (
        col("fold")?,
        col("corpus")?,
        col("path")?,
        col("speaker")?,
        col("predicted")?,
    );
    let per: Vec<[usize; 3]> = labels
        .iter()
        .map(|l| {
            Ok([
                col(&format!("true_{l}"))?,
                col(&format!("votes_{l}"))?,
                col(&format!("p_{l}"))?,
            ])
        })
        .collect::<Result<_, String>>()?;
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| format!("{} line {}: {e}", p.display(), i + 2))?;
        let get = |c: usize| rec.get(c).unwrap_or_default().to_string();
        let nums = |k: usize| -> Result<Vec<f32>, String> {
            per.iter()
                .map(|c| super::run_dir::csv_number(&rec, c[k], &h[c[k]], &p, i + 2))
                .collect()
        };
        let row = LabelPredictionRow {
            fold: get(fc),
            corpus: get(cc),
            path: get(pc),
            speaker: get(sc),
            truth: nums(0)?,
            votes: nums(1)?,
            probs: nums(2)?,
            thresholds: Vec::new(),
        };
        let predicted = get(dc)
            .split(';')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        out.push((row, predicted));
    }
    Ok(out)
}
