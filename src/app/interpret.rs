//! Interpretability plots of a training run: fusion α per epoch, the fusion gate per class, and
//! the source-vs-target embedding scatter (first epoch next to the latest) of cross-corpus runs.

use eframe::egui;
use egui_plot::{Bar, BarChart, Legend, Plot, PlotPoints, Points};

use super::plots::fold_lines;
use crate::train::EpochMetrics;

/// α of α-fusion models per epoch and fold.
pub fn alpha_ui(ui: &mut egui::Ui, metrics: &[EpochMetrics]) {
    if !metrics.iter().any(|m| m.fusion_alpha.is_some()) {
        return;
    }
    let last = metrics.iter().rev().find_map(|m| m.fusion_alpha);
    ui.label(
        egui::RichText::new(format!(
            "Fusion α (share of the log-mel stream; 1 − α goes to the SSL stream) — now {:.3}",
            last.unwrap_or(f32::NAN)
        ))
        .strong(),
    );
    let n_folds = metrics.iter().map(|m| m.fold + 1).max().unwrap_or(0);
    Plot::new("alpha_plot")
        .allow_scroll(false)
        .height(120.0)
        .include_y(0.0)
        .include_y(1.0)
        .legend(Legend::default())
        .x_axis_label("epoch")
        .show(ui, |p| {
            fold_lines(p, metrics, n_folds, "α", |m| m.fusion_alpha.map(f64::from))
        });
}

/// Mean gate per class of gated-fusion models (latest epoch).
pub fn gate_ui(ui: &mut egui::Ui, metrics: &[EpochMetrics], classes: &[String]) {
    let Some((epoch, g)) = metrics
        .iter()
        .rev()
        .find_map(|m| m.gate_per_class.as_ref().map(|g| (m.epoch, g)))
    else {
        return;
    };
    ui.label(
        egui::RichText::new(format!(
            "Fusion gate per class (validation mean, epoch {epoch}; 1 = all log-mel, 0 = all SSL)"
        ))
        .strong(),
    );
    let bars: Vec<Bar> = g
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| {
            Bar::new(i as f64, *v as f64).name(classes.get(i).cloned().unwrap_or_default())
        })
        .collect();
    let names: Vec<String> = classes.to_vec();
    Plot::new("gate_plot")
        .allow_scroll(false)
        .height(120.0)
        .include_y(0.0)
        .include_y(1.0)
        .x_axis_formatter(move |m, _| {
            let i = m.value.round();
            if (m.value - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .show(ui, |p| p.bar_chart(BarChart::new("gate", bars)));
}

/// Source vs target embeddings (PCA) after the first and after the latest epoch of the latest
/// fold that has them.
pub fn scatter_ui(ui: &mut egui::Ui, metrics: &[EpochMetrics]) {
    let Some(fold) = metrics
        .iter()
        .rev()
        .find(|m| m.scatter.is_some())
        .map(|m| m.fold)
    else {
        return;
    };
    let of_fold: Vec<&EpochMetrics> = metrics
        .iter()
        .filter(|m| m.fold == fold && m.scatter.is_some())
        .collect();
    let (Some(first), Some(last)) = (of_fold.first(), of_fold.last()) else {
        return;
    };
    ui.label(
        egui::RichText::new(
            "Embeddings of source (validation) and target utterances, 2-D PCA — does adaptation pull the domains together?",
        )
        .strong(),
    );
    ui.columns(2, |cols| {
        for (i, (col, m)) in cols.iter_mut().zip([first, last]).enumerate() {
            col.label(format!("fold {}, after epoch {}", fold + 1, m.epoch));
            let pts = m.scatter.as_deref().unwrap_or(&[]);
            let side = |target: bool| -> Vec<[f64; 2]> {
                pts.iter()
                    .filter(|p| p.target == target)
                    .map(|p| [p.x as f64, p.y as f64])
                    .collect()
            };
            Plot::new(("scatter", i))
                .allow_scroll(false)
                .height(200.0)
                .data_aspect(1.0)
                .legend(Legend::default())
                .show(col, |p| {
                    p.points(
                        Points::new("source", PlotPoints::from(side(false)))
                            .radius(2.5)
                            .color(egui::Color32::from_rgb(31, 119, 180)),
                    );
                    p.points(
                        Points::new("target", PlotPoints::from(side(true)))
                            .radius(2.5)
                            .color(egui::Color32::from_rgb(255, 127, 14)),
                    );
                });
        }
    });
}
