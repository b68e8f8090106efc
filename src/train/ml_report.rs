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
    /// How many annotators voted (0: unknown).
    pub annotators: f32,
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

/// F1 of one label on the test utterances with low vs high annotator agreement (the paper's
/// figure 5: "4 or fewer vs 5 or more of 8"). Truth here is the annotators' majority decision
/// (see [`super::multilabel::Agreement`]), so low-agreement utterances have positives too; ties
/// are left out and counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgreementF1 {
    /// Label.
    pub label: String,
    /// Utterances with agreement below the task's `min_agreement`.
    pub low_n: usize,
    /// F1 on them (NaN: no positive truth nor prediction).
    #[serde(with = "crate::eval::regression::nan_as_null")]
    pub low_f1: f64,
    /// Utterances with agreement at or above it.
    pub high_n: usize,
    /// F1 on them.
    #[serde(with = "crate::eval::regression::nan_as_null")]
    pub high_f1: f64,
    /// Utterances left out because the annotators tied.
    pub ties: usize,
}

/// Label co-occurrence counts over the pooled test utterances: `[a][b]` counts utterances with
/// both `a` and `b` (the diagonal: with `a`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cooccurrence {
    /// In the true label sets.
    pub truth: Vec<Vec<usize>>,
    /// In the predicted label sets.
    pub predicted: Vec<Vec<usize>>,
}

fn cooccurrence(sets: impl Iterator<Item = Vec<bool>>, labels: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; labels]; labels];
    for s in sets {
        for a in 0..labels {
            for b in 0..labels {
                if s[a] && s[b] {
                    m[a][b] += 1;
                }
            }
        }
    }
    m
}

fn f1_of(pairs: &[(bool, bool)]) -> f64 {
    let tp = pairs.iter().filter(|(t, p)| *t && *p).count() as f64;
    let fp = pairs.iter().filter(|(t, p)| !*t && *p).count() as f64;
    let fn_ = pairs.iter().filter(|(t, p)| *t && !*p).count() as f64;
    if tp + fp + fn_ == 0.0 {
        f64::NAN
    } else {
        2.0 * tp / (2.0 * tp + fp + fn_)
    }
}

/// Per label: F1 below and at/above agreement `min` (empty when the agreement is unknown:
/// no `annotators` column and the label is not in a group).
pub fn agreement_f1(
    labels: &[String],
    rows: &[LabelPredictionRow],
    groups: &[Vec<usize>],
    min: f32,
) -> Vec<AgreementF1> {
    let mut out = Vec::new();
    for (k, name) in labels.iter().enumerate() {
        let (mut low, mut high, mut ties) = (Vec::new(), Vec::new(), 0);
        for r in rows {
            let Some(a) = super::multilabel::agreement(&r.votes, r.annotators, groups, k) else {
                continue;
            };
            let pair = (a.positive, r.probs[k] >= r.thresholds[k]);
            if a.tie {
                ties += 1;
            } else if a.level < min {
                low.push(pair);
            } else {
                high.push(pair);
            }
        }
        if low.len() + high.len() + ties == 0 {
            continue;
        }
        out.push(AgreementF1 {
            label: name.clone(),
            low_n: low.len(),
            low_f1: f1_of(&low),
            high_n: high.len(),
            high_f1: f1_of(&high),
            ties,
        });
    }
    out
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
    /// Per label: F1 at low vs high annotator agreement.
    #[serde(default)]
    pub by_agreement: Vec<AgreementF1>,
    /// Label co-occurrence, true vs predicted.
    #[serde(default)]
    pub cooccurrence: Cooccurrence,
    /// The test part was restricted to this agreement on every label.
    #[serde(default)]
    pub test_min_agreement: Option<f32>,
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
        let n = labels.len();
        let cooccurrence = Cooccurrence {
            truth: cooccurrence(
                rows.iter()
                    .map(|r| r.truth.iter().map(|t| *t >= 0.5).collect()),
                n,
            ),
            predicted: cooccurrence(
                rows.iter().map(|r| {
                    r.probs
                        .iter()
                        .zip(&r.thresholds)
                        .map(|(p, t)| p >= t)
                        .collect()
                }),
                n,
            ),
        };
        let groups = super::multilabel::group_indices(labels, task);
        Self {
            by_agreement: agreement_f1(labels, rows, &groups, task.min_agreement),
            cooccurrence,
            test_min_agreement: task.test_min_agreement,
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
        if !self.by_agreement.is_empty() {
            s.push_str(&format!(
                "\n## F1 by annotator agreement\n\nTruth is the annotators' majority decision; agreement is the number of annotators behind it (a grouped label: its group's top vote count). Low: < {0}, high: ≥ {0}; ties are left out.\n\n| label | n low | F1 low | n high | F1 high | ties |\n|---|---:|---:|---:|---:|---:|\n",
                self.min_agreement
            ));
            for a in &self.by_agreement {
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    a.label,
                    a.low_n,
                    f(a.low_f1),
                    a.high_n,
                    f(a.high_f1),
                    a.ties
                ));
            }
        }
        for (title, m) in [
            ("true label sets", &self.cooccurrence.truth),
            ("predicted label sets", &self.cooccurrence.predicted),
        ] {
            if m.is_empty() {
                continue;
            }
            s.push_str(&format!(
                "\n## Label co-occurrence ({title})\n\n| | {} |\n|---|{}\n",
                self.labels.join(" | "),
                "---:|".repeat(self.labels.len())
            ));
            for (l, row) in self.labels.iter().zip(m) {
                s.push_str(&format!(
                    "| {l} | {} |\n",
                    row.iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(" | ")
                ));
            }
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
        "annotators".into(),
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
            format!("{}", r.annotators),
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
            // Runs written before the column existed: unknown.
            annotators: h
                .iter()
                .position(|c| c == "annotators")
                .and_then(|c| rec.get(c))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::multilabel::MultiLabelTask;

    fn row(votes: [f32; 3], probs: [f32; 3]) -> LabelPredictionRow {
        LabelPredictionRow {
            fold: "fold1".into(),
            corpus: "c".into(),
            path: "a.wav".into(),
            speaker: "s".into(),
            truth: votes.iter().map(|v| f32::from(*v >= 5.0)).collect(),
            votes: votes.to_vec(),
            annotators: 8.0,
            probs: probs.to_vec(),
            thresholds: vec![0.5; 3],
        }
    }

    /// Per-agreement F1 and co-occurrence counted by hand (labels Female, Male in a group;
    /// Rough alone; 8 annotators; low < 5 ≤ high).
    #[test]
    fn agreement_f1_and_cooccurrence_by_hand() {
        let labels: Vec<String> = ["Female", "Male", "Rough"].map(String::from).to_vec();
        let rows = [
            row([6.0, 2.0, 1.0], [0.9, 0.1, 0.2]),
            row([4.0, 3.0, 5.0], [0.6, 0.5, 0.7]),
            row([3.0, 4.0, 4.0], [0.2, 0.3, 0.1]),
            row([4.0, 4.0, 0.0], [0.7, 0.2, 0.0]),
        ];
        let task = MultiLabelTask {
            min_agreement: 5.0,
            groups: vec![vec!["Female".into(), "Male".into()]],
            ..Default::default()
        };
        let s = MultiLabelSummary::of(&labels, &[], &rows, &task);
        let got: Vec<(usize, f64, usize, f64, usize)> = s
            .by_agreement
            .iter()
            .map(|a| (a.low_n, a.low_f1, a.high_n, a.high_f1, a.ties))
            .collect();
        let same = |a: f64, b: f64| (a.is_nan() && b.is_nan()) || a == b;
        let want = [
            (2, 1.0, 1, 1.0, 1),
            (2, 0.0, 1, f64::NAN, 1),
            (0, f64::NAN, 3, 1.0, 1),
        ];
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g.0 == w.0 && same(g.1, w.1) && g.2 == w.2 && same(g.3, w.3) && g.4 == w.4,
                "{got:?}"
            );
        }
        assert_eq!(
            s.cooccurrence.truth,
            vec![vec![1, 0, 0], vec![0, 0, 0], vec![0, 0, 1]]
        );
        assert_eq!(
            s.cooccurrence.predicted,
            vec![vec![3, 1, 1], vec![1, 1, 1], vec![1, 1, 1]]
        );
        let md = s.markdown(&[]);
        assert!(
            md.contains("## F1 by annotator agreement")
                && md.contains("| Rough | 0 | – | 3 | 1.0000 | 1 |"),
            "{md}"
        );
    }

    #[test]
    fn predictions_csv_round_trips_annotators() {
        let labels: Vec<String> = ["Female", "Male", "Rough"].map(String::from).to_vec();
        let dir = tempfile::tempdir().expect("tmp");
        let csv = predictions_csv(&[row([6.0, 2.0, 1.0], [0.9, 0.1, 0.2])], &labels).expect("csv");
        std::fs::write(dir.path().join("predictions.csv"), csv).expect("write");
        let back = read_predictions(dir.path(), &labels).expect("read");
        assert_eq!(back[0].0.annotators, 8.0);
        assert_eq!(back[0].0.votes, vec![6.0, 2.0, 1.0]);
        assert_eq!(back[0].1, vec!["Female".to_string()]);
    }
}
