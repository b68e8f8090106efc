//! A finished run on disk (an ensemble included) as the Results panel shows a run that has
//! just ended: its report, folds, and the loss and accuracy curves of its `metrics.csv`.

use std::path::Path;

use super::run_view::TrainingView;
use crate::train::{RunState, run_dir::read_report};

/// A finished run as the Results panel shows a run that has just ended.
pub fn view_of(dir: &Path) -> Result<TrainingView, String> {
    let r = read_report(dir)?;
    let mut v = TrainingView {
        state: Some(if r.incomplete {
            RunState::Stopped
        } else {
            RunState::Finished
        }),
        run_dir: Some(dir.to_path_buf()),
        classes: r.pooled.classes.clone(),
        folds: r.folds.iter().map(|f| f.name.clone()).collect(),
        independence: r.independence.clone(),
        ..TrainingView::default()
    };
    v.fold_reports = r
        .folds
        .iter()
        .enumerate()
        .map(|(i, f)| (i, f.report.clone()))
        .collect();
    if let Some(d) = r.dimensional {
        v.classes = d.dimensions.clone();
        v.dimensional = true;
        v.fold_dims = r
            .folds
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.dims.clone().map(|d| (i, d)))
            .collect();
        v.dimensional_summary = Some(d);
    }
    v.feature_weights = r.feature_weights.clone();
    if let Some(m) = r.multi_label {
        v.classes = m.labels.clone();
        v.multi_label_summary = Some(m);
    }
    // Curves: a run without metrics.csv (an ensemble) has none; an unreadable one says why.
    if dir.join("metrics.csv").is_file() {
        match crate::train::run_metrics::read_metrics(dir, &v.folds) {
            Ok(rows) => {
                v.epochs = rows.iter().map(|m| m.epoch).max().unwrap_or(0);
                v.epoch_metrics = rows;
            }
            Err(e) => v.log.push(e),
        }
    }
    v.pooled = Some(r.pooled);
    Ok(v)
}
