//! Reads a run folder's `metrics.csv` back into [`EpochMetrics`], so a run opened from disk
//! shows the same loss and accuracy curves as when it was trained, and runs can be overlaid.
//!
//! Columns written by [`super::run_dir::RunDir::write_metrics`] are read by name; columns of
//! older versions that are absent are left at their defaults, and an unparsable value is an
//! error naming the file, the line and the column. Multi-task runs' per-task columns are not
//! read back (their curves need the live run's scores).

use std::path::Path;

use super::messages::EpochMetrics;
use crate::eval::metrics::ConfusionMatrix;

/// A row with nothing measured (NaN figures, no extras), to fill in.
pub fn blank() -> EpochMetrics {
    EpochMetrics {
        fold: 0,
        epoch: 0,
        step: 0,
        train_loss: f64::NAN,
        train_wa: f64::NAN,
        valid_loss: f64::NAN,
        valid_wa: f64::NAN,
        valid_ua: f64::NAN,
        valid_macro_f1: f64::NAN,
        valid_ccc: None,
        learning_rate: f64::NAN,
        valid_confusion: ConfusionMatrix::new(0),
        epoch_secs: f64::NAN,
        is_best: false,
        layer_weights: None,
        dimension_layer_weights: None,
        adapt_loss: None,
        fusion_alpha: None,
        gate_per_class: None,
        scatter: None,
        stage: None,
        tasks: Vec::new(),
    }
}

/// The rows of `<run_dir>/metrics.csv`; `fold_names` (the report's fold order) give each row's
/// fold index (a fold not named there gets the next index in order of appearance).
pub fn read_metrics(run_dir: &Path, fold_names: &[String]) -> Result<Vec<EpochMetrics>, String> {
    let p = run_dir.join("metrics.csv");
    let mut r = csv::Reader::from_path(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let header = r
        .headers()
        .map_err(|e| format!("{}: {e}", p.display()))?
        .clone();
    let col = |n: &str| header.iter().position(|c| c == n);
    let required = |n: &str| col(n).ok_or_else(|| format!("{}: no column '{n}'", p.display()));
    let (fold_c, epoch_c) = (required("fold")?, required("epoch")?);
    let ccc_cols: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, c)| c.starts_with("valid_ccc_"))
        .map(|(i, _)| i)
        .collect();
    let mut names: Vec<String> = fold_names.to_vec();
    let mut rows = Vec::new();
    for (k, rec) in r.records().enumerate() {
        let line = k + 2;
        let rec = rec.map_err(|e| format!("{} line {line}: {e}", p.display()))?;
        let num = |c: Option<usize>, name: &str| -> Result<Option<f64>, String> {
            match c.and_then(|i| rec.get(i)).map(str::trim) {
                None | Some("") => Ok(None),
                Some(v) => v.parse::<f64>().map(Some).map_err(|_| {
                    format!(
                        "{} line {line}: column '{name}' holds '{v}', not a number",
                        p.display()
                    )
                }),
            }
        };
        let f =
            |name: &str| -> Result<f64, String> { Ok(num(col(name), name)?.unwrap_or(f64::NAN)) };
        let fold_name = rec.get(fold_c).unwrap_or_default().to_string();
        let fold = match names.iter().position(|n| *n == fold_name) {
            Some(i) => i,
            None => {
                names.push(fold_name);
                names.len() - 1
            }
        };
        let epoch = num(Some(epoch_c), "epoch")?.unwrap_or(0.0) as usize;
        let valid_ccc = if ccc_cols.is_empty() {
            None
        } else {
            let mut v = Vec::new();
            for &i in &ccc_cols {
                v.push(num(Some(i), &header[i])?.unwrap_or(f64::NAN));
            }
            Some(v)
        };
        rows.push(EpochMetrics {
            fold,
            epoch,
            step: num(col("step"), "step")?.unwrap_or(0.0) as usize,
            train_loss: f("train_loss")?,
            train_wa: f("train_wa")?,
            valid_loss: f("valid_loss")?,
            valid_wa: f("valid_wa")?,
            valid_ua: f("valid_ua")?,
            valid_macro_f1: f("valid_macro_f1")?,
            valid_ccc,
            learning_rate: f("learning_rate")?,
            epoch_secs: f("epoch_secs")?,
            is_best: col("is_best").and_then(|i| rec.get(i)) == Some("true"),
            adapt_loss: num(col("adapt_loss"), "adapt_loss")?,
            fusion_alpha: num(col("fusion_alpha"), "fusion_alpha")?.map(|a| a as f32),
            stage: num(col("stage"), "stage")?.map(|s| s as usize),
            ..blank()
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_back_by_column_name() {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::write(
            d.path().join("metrics.csv"),
            "fold,epoch,train_loss,train_wa,valid_loss,valid_wa,valid_ua,valid_macro_f1,learning_rate,epoch_secs,is_best,adapt_loss,fusion_alpha,step\n\
             spk2,1,1.5,0.25,1.25,0.5,0.375,0.3,0.001,2.5,true,,0.75,10\n\
             spk1,1,1.0,0.5,nan,0.5,0.5,0.5,0.001,2.0,false,0.125,,4\n",
        )
        .expect("write");
        let rows = read_metrics(d.path(), &["spk1".into(), "spk2".into()]).expect("read");
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].fold, rows[0].epoch, rows[0].step), (1, 1, 10));
        assert_eq!(rows[0].train_loss, 1.5);
        assert_eq!(rows[0].valid_ua, 0.375);
        assert!(rows[0].is_best);
        assert_eq!(rows[0].fusion_alpha, Some(0.75));
        assert_eq!(rows[0].adapt_loss, None);
        assert_eq!(rows[1].fold, 0);
        assert!(rows[1].valid_loss.is_nan());
        assert_eq!(rows[1].adapt_loss, Some(0.125));
        assert!(!rows[1].is_best);
    }

    #[test]
    fn a_bad_value_names_file_line_and_column() {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::write(
            d.path().join("metrics.csv"),
            "fold,epoch,train_loss\nf1,1,oops\n",
        )
        .expect("write");
        let e = read_metrics(d.path(), &[]).expect_err("bad value");
        assert!(
            e.contains("metrics.csv line 2: column 'train_loss' holds 'oops'"),
            "{e}"
        );
    }
}
