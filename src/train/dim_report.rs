//! What a dimensional run writes beside the common run-folder files: per-dimension metrics in
//! `report.json` / `report.md`, and `predictions.csv` with true and predicted values
//! (`fold,corpus,path,speaker,true_<dim>,pred_<dim>,…`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::task::ScaleRow;
use crate::eval::metrics::mean_std;
use crate::eval::regression::{CCC_FORMULA, DimensionReport, dimension_reports, mean_ccc};

/// Mean ± std over folds of one dimension's metrics.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DimensionStats {
    /// Dimension.
    pub name: String,
    /// (mean, std) of CCC.
    pub ccc: (f64, f64),
    /// (mean, std) of Pearson's r (folds where it is defined).
    pub pearson: (f64, f64),
    /// (mean, std) of MAE.
    pub mae: (f64, f64),
    /// (mean, std) of RMSE.
    pub rmse: (f64, f64),
}

/// The dimensional part of `report.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DimensionalSummary {
    /// Dimensions in output order.
    pub dimensions: Vec<String>,
    /// Metrics of the pooled test predictions of all folds.
    pub pooled: Vec<DimensionReport>,
    /// Mean over dimensions of the pooled CCC.
    #[serde(with = "crate::eval::regression::nan_as_null")]
    pub mean_ccc: f64,
    /// Mean ± std over folds, per dimension.
    pub fold_mean_std: Vec<DimensionStats>,
    /// How targets were scaled before training (predictions and MAE/RMSE are on that scale).
    pub scales: Vec<ScaleRow>,
    /// The scaling in words.
    pub scale_note: String,
    /// Training loss.
    pub loss: String,
    /// Formula of the CCC.
    pub ccc_formula: String,
    /// Mean over folds of the per-dimension layer weights (one row per dimension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_weights: Option<Vec<Vec<f32>>>,
}

impl DimensionalSummary {
    /// From the folds' test metrics and the pooled rows.
    pub fn of(
        dimensions: &[String],
        folds: &[Vec<DimensionReport>],
        rows: &[DimPredictionRow],
        scales: Vec<ScaleRow>,
        scale_note: String,
        loss: String,
        layer_weights: Option<Vec<Vec<f32>>>,
    ) -> Self {
        let preds: Vec<Vec<f32>> = rows.iter().map(|r| r.predicted.clone()).collect();
        let truth: Vec<Vec<f32>> = rows.iter().map(|r| r.truth.clone()).collect();
        let pooled = dimension_reports(dimensions, &preds, &truth);
        let fold_mean_std = dimensions
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let col = |f: fn(&DimensionReport) -> f64| {
                    let v: Vec<f64> = folds
                        .iter()
                        .filter_map(|d| d.get(k).map(f))
                        .filter(|v| v.is_finite())
                        .collect();
                    mean_std(&v)
                };
                DimensionStats {
                    name: name.clone(),
                    ccc: col(|r| r.ccc),
                    pearson: col(|r| r.pearson),
                    mae: col(|r| r.mae),
                    rmse: col(|r| r.rmse),
                }
            })
            .collect();
        Self {
            dimensions: dimensions.to_vec(),
            mean_ccc: mean_ccc(&pooled),
            pooled,
            fold_mean_std,
            scales,
            scale_note,
            loss,
            ccc_formula: CCC_FORMULA.into(),
            layer_weights,
        }
    }

    /// The Markdown section of `report.md`.
    pub fn markdown(&self, folds: &[(String, usize, Vec<DimensionReport>)]) -> String {
        let f = |v: f64| {
            if v.is_finite() {
                format!("{v:.4}")
            } else {
                "–".into()
            }
        };
        let mut s = format!(
            "## Pooled test predictions (dimensional)\n\nMean CCC over dimensions: **{}**\n\n| dimension | CCC | Pearson r | MAE | RMSE | n |\n|---|---:|---:|---:|---:|---:|\n",
            f(self.mean_ccc)
        );
        for d in &self.pooled {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                d.name,
                f(d.ccc),
                f(d.pearson),
                f(d.mae),
                f(d.rmse),
                d.n
            ));
        }
        s.push_str(&format!(
            "\n{}. Loss: {}. {}\n\n",
            self.ccc_formula, self.loss, self.scale_note
        ));
        if !self.scales.is_empty() {
            s.push_str("| corpus | dimension | value → 0 | value → 1 | source |\n|---|---|---:|---:|---|\n");
            for r in &self.scales {
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    r.corpus, r.dimension, r.min, r.max, r.source
                ));
            }
            s.push('\n');
        }
        s.push_str("## Folds\n\n| fold | best epoch | n |");
        for d in &self.dimensions {
            s.push_str(&format!(" CCC {d} |"));
        }
        s.push_str(&format!(
            "\n|---|---:|---:|{}\n",
            "---:|".repeat(self.dimensions.len())
        ));
        for (name, best, dims) in folds {
            s.push_str(&format!(
                "| {name} | {best} | {} |",
                dims.first().map_or(0, |d| d.n)
            ));
            for d in dims {
                s.push_str(&format!(" {} |", f(d.ccc)));
            }
            s.push('\n');
        }
        s.push_str("| **mean ± std** | | |");
        for st in &self.fold_mean_std {
            s.push_str(&format!(" {} ± {} |", f(st.ccc.0), f(st.ccc.1)));
        }
        s.push('\n');
        if let Some(w) = &self.layer_weights {
            s.push_str("\n## Layer weights per dimension (mean over folds)\n\n| dimension |");
            let n = w.first().map_or(0, Vec::len);
            for l in 0..n {
                s.push_str(&format!(" {l} |"));
            }
            s.push_str(&format!("\n|---|{}\n", "---:|".repeat(n)));
            for (d, row) in self.dimensions.iter().zip(w) {
                s.push_str(&format!("| {d} |"));
                for v in row {
                    s.push_str(&format!(" {v:.3} |"));
                }
                s.push('\n');
            }
        }
        s
    }
}

/// One test utterance of a dimensional run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DimPredictionRow {
    /// Fold name.
    pub fold: String,
    /// Corpus.
    pub corpus: String,
    /// Audio file.
    pub path: String,
    /// Speaker.
    pub speaker: String,
    /// Scaled true values, in dimension order.
    pub truth: Vec<f32>,
    /// Predicted values, same scale and order.
    pub predicted: Vec<f32>,
}

/// `predictions.csv` of a dimensional run.
pub fn predictions_csv(rows: &[DimPredictionRow], dims: &[String]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["fold", "corpus", "path", "speaker"]
        .into_iter()
        .map(String::from)
        .collect();
    for d in dims {
        header.push(format!("true_{d}"));
        header.push(format!("pred_{d}"));
    }
    w.write_record(&header).map_err(|e| e.to_string())?;
    for r in rows {
        let mut rec = vec![
            r.fold.clone(),
            r.corpus.clone(),
            r.path.clone(),
            r.speaker.clone(),
        ];
        for (t, p) in r.truth.iter().zip(&r.predicted) {
            rec.push(format!("{t:.6}"));
            rec.push(format!("{p:.6}"));
        }
        w.write_record(&rec).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// Reads `predictions.csv` of a dimensional run with dimensions `dims`; a missing column or a
/// value that is not a number is an error naming the file, line and column.
pub fn read_predictions(run_dir: &Path, dims: &[String]) -> Result<Vec<DimPredictionRow>, String> {
    let p = run_dir.join("predictions.csv");
    let mut r = csv::Reader::from_path(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let header = r
        .headers()
        .map_err(|e| format!("{}: {e}", p.display()))?
        .clone();
    let col = |n: &str| {
        header
            .iter()
            .position(|c| c == n)
            .ok_or_else(|| format!("{}: no column '{n}'", p.display()))
    };
    let (fold, corpus, path, speaker) =
        (col("fold")?, col("corpus")?, col("path")?, col("speaker")?);
    let pairs: Vec<(usize, usize, String, String)> = dims
        .iter()
        .map(|d| {
            let (t, pr) = (format!("true_{d}"), format!("pred_{d}"));
            Ok((col(&t)?, col(&pr)?, t, pr))
        })
        .collect::<Result<_, String>>()?;
    let mut rows = Vec::new();
    for (k, rec) in r.records().enumerate() {
        let line = k + 2;
        let rec = rec.map_err(|e| format!("{} line {line}: {e}", p.display()))?;
        let text = |i: usize| rec.get(i).unwrap_or_default().to_string();
        let number = |i: usize, name: &str| super::run_dir::csv_number(&rec, i, name, &p, line);
        let mut truth = Vec::new();
        let mut predicted = Vec::new();
        for (t, pr, tn, pn) in &pairs {
            truth.push(number(*t, tn)?);
            predicted.push(number(*pr, pn)?);
        }
        rows.push(DimPredictionRow {
            fold: text(fold),
            corpus: text(corpus),
            path: text(path),
            speaker: text(speaker),
            truth,
            predicted,
        });
    }
    Ok(rows)
}

/// The scaling in words.
pub fn scale_note(scale: &super::task::TargetScale) -> String {
    match scale {
        super::task::TargetScale::PerCorpus => "Targets scaled to [0, 1] per corpus (MSP-Podcast 1–7, IEMOCAP 1–5, other corpora their observed range); predictions, MAE and RMSE are on that scale.".into(),
        super::task::TargetScale::Range(lo, hi) => format!("Targets scaled from [{lo}, {hi}] to [0, 1]; predictions, MAE and RMSE are on that scale."),
        super::task::TargetScale::Raw => "Targets as annotated (not scaled).".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_round_trip_and_bad_values_are_errors() {
        let dir = tempfile::tempdir().expect("tmp");
        let dims = vec!["arousal".to_string(), "valence".to_string()];
        let rows = vec![DimPredictionRow {
            fold: "f1".into(),
            corpus: "iemocap".into(),
            path: "a.wav".into(),
            speaker: "s".into(),
            truth: vec![0.25, 0.5],
            predicted: vec![0.3, 0.4],
        }];
        let bytes = predictions_csv(&rows, &dims).expect("csv");
        std::fs::write(dir.path().join("predictions.csv"), &bytes).expect("write");
        assert_eq!(read_predictions(dir.path(), &dims).expect("read"), rows);
        let text = String::from_utf8(bytes)
            .expect("utf8")
            .replace("0.300000", "x");
        std::fs::write(dir.path().join("predictions.csv"), text).expect("write");
        let err = read_predictions(dir.path(), &dims).expect_err("bad value");
        assert!(
            err.contains("line 2") && err.contains("pred_arousal"),
            "{err}"
        );
        let err = read_predictions(dir.path(), &["dominance".into()]).expect_err("no column");
        assert!(err.contains("true_dominance"), "{err}");
    }
}
