//! Results of a dimensional run (arousal / valence / dominance): metrics per dimension (pooled
//! and per fold), predicted-vs-true scatter per dimension coloured by fold, the learned layer
//! weights per dimension, and the test utterances with true and predicted values and playback.

use eframe::egui;
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints, Points};

use super::plots::fold_color;
use super::run_view::TrainingView;
use crate::eval::metrics::mean_std;
use crate::eval::regression::{CCC_FORMULA, DimensionReport};
use crate::train::dim_report::DimPredictionRow;

/// State of the dimensional results view.
#[derive(Default)]
pub struct DimensionalResults {
    /// Test utterances of the shown run.
    pub rows: Vec<DimPredictionRow>,
    /// Selected utterance.
    pub selected: Option<usize>,
}

fn fmt(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "–".into()
    }
}

/// Metrics table of one set of dimension reports.
fn metrics_grid(ui: &mut egui::Ui, id: &str, dims: &[DimensionReport]) {
    egui::Grid::new(id).striped(true).show(ui, |ui| {
        for h in ["dimension", "CCC", "Pearson r", "MAE", "RMSE", "n"] {
            ui.label(egui::RichText::new(h).strong());
        }
        ui.end_row();
        for d in dims {
            ui.label(&d.name);
            ui.label(fmt(d.ccc)).on_hover_text(CCC_FORMULA);
            ui.label(fmt(d.pearson));
            ui.label(fmt(d.mae));
            ui.label(fmt(d.rmse));
            ui.label(d.n.to_string());
            ui.end_row();
        }
    });
}

impl DimensionalResults {
    /// Draws the view of `v` (a dimensional run).
    pub fn ui(&mut self, ui: &mut egui::Ui, v: &TrainingView, cmds: &mut Vec<super::AppCommand>) {
        ui.heading("Results — dimensional");
        if !v.independence.is_empty() {
            ui.label(format!("({})", v.independence));
        }
        match &v.dimensional_summary {
            Some(s) => {
                ui.label(
                    egui::RichText::new(format!(
                        "Pooled test predictions — mean CCC {}",
                        fmt(s.mean_ccc)
                    ))
                    .strong(),
                );
                metrics_grid(ui, "dim_pooled", &s.pooled);
                ui.label(egui::RichText::new(&s.scale_note).small());
            }
            None => match v
                .epoch_metrics
                .last()
                .and_then(|m| m.valid_ccc.as_ref().map(|c| (m.fold, m.epoch, c.clone())))
            {
                Some((fold, epoch, ccc)) => {
                    ui.label(
                        egui::RichText::new(format!(
                            "Validation CCC of fold {} after epoch {epoch} (live)",
                            fold + 1
                        ))
                        .strong(),
                    );
                    ui.horizontal_wrapped(|ui| {
                        for (name, c) in v.classes.iter().zip(&ccc) {
                            ui.label(format!("{name} {}", fmt(*c)));
                        }
                    });
                }
                None => {
                    ui.label("Waiting for the first validation…");
                }
            },
        }
        if !v.fold_dims.is_empty() {
            ui.add_space(6.0);
            ui.label(egui::RichText::new("Per fold (test CCC)").strong());
            egui::Grid::new("dim_folds").striped(true).show(ui, |ui| {
                ui.label(egui::RichText::new("fold").strong());
                for d in &v.classes {
                    ui.label(egui::RichText::new(d).strong());
                }
                ui.end_row();
                for (f, dims) in &v.fold_dims {
                    ui.label(
                        v.folds
                            .get(*f)
                            .cloned()
                            .unwrap_or_else(|| format!("{}", f + 1)),
                    );
                    for d in dims {
                        ui.label(fmt(d.ccc));
                    }
                    ui.end_row();
                }
                ui.label(egui::RichText::new("mean ± std").strong());
                for k in 0..v.classes.len() {
                    let vals: Vec<f64> = v
                        .fold_dims
                        .iter()
                        .filter_map(|(_, d)| d.get(k).map(|r| r.ccc))
                        .filter(|c| c.is_finite())
                        .collect();
                    let (m, s) = mean_std(&vals);
                    ui.label(format!("{} ± {}", fmt(m), fmt(s)));
                }
                ui.end_row();
            });
        }
        let weights = v
            .dimensional_summary
            .as_ref()
            .and_then(|s| s.layer_weights.clone())
            .or_else(|| {
                v.epoch_metrics
                    .iter()
                    .rev()
                    .find_map(|m| m.dimension_layer_weights.clone())
            });
        if let Some(w) = &weights {
            ui.add_space(6.0);
            layer_weights_per_dimension_ui(ui, &v.classes, w);
        }
        if !self.rows.is_empty() {
            ui.add_space(6.0);
            self.scatter_ui(ui, v);
            ui.separator();
            self.utterances_ui(ui, v, cmds);
        }
    }

    /// Predicted against true value per dimension, coloured by fold, with the identity line.
    fn scatter_ui(&self, ui: &mut egui::Ui, v: &TrainingView) {
        ui.label(
            egui::RichText::new("Predicted vs true (test utterances, colour = fold)").strong(),
        );
        let folds: Vec<String> = v.folds.clone();
        let width =
            (ui.available_width() / v.classes.len().max(1) as f32 - 8.0).clamp(160.0, 320.0);
        ui.horizontal(|ui| {
            for (k, name) in v.classes.iter().enumerate() {
                ui.vertical(|ui| {
                    ui.label(name);
                    Plot::new(format!("dim_scatter_{k}"))
                        .width(width)
                        .height(width)
                        .data_aspect(1.0)
                        .allow_scroll(false)
                        .x_axis_label(format!("true {name}"))
                        .y_axis_label("predicted")
                        .show(ui, |p| {
                            let (lo, hi) = self.rows.iter().fold((0.0f64, 1.0f64), |(a, b), r| {
                                let t = r.truth[k] as f64;
                                let q = r.predicted[k] as f64;
                                (a.min(t).min(q), b.max(t).max(q))
                            });
                            p.line(
                                Line::new("y = x", PlotPoints::from(vec![[lo, lo], [hi, hi]]))
                                    .color(egui::Color32::GRAY),
                            );
                            for (fi, f) in folds.iter().enumerate() {
                                let pts: Vec<[f64; 2]> = self
                                    .rows
                                    .iter()
                                    .filter(|r| &r.fold == f)
                                    .map(|r| [r.truth[k] as f64, r.predicted[k] as f64])
                                    .collect();
                                if !pts.is_empty() {
                                    p.points(
                                        Points::new(f.clone(), PlotPoints::from(pts))
                                            .radius(2.5)
                                            .color(fold_color(fi)),
                                    );
                                }
                            }
                        });
                });
            }
        });
    }

    fn utterances_ui(
        &mut self,
        ui: &mut egui::Ui,
        v: &TrainingView,
        cmds: &mut Vec<super::AppCommand>,
    ) {
        ui.label(
            egui::RichText::new(format!("Utterances ({} test predictions)", self.rows.len()))
                .strong(),
        );
        egui::ScrollArea::vertical()
            .id_salt("dim_utts")
            .max_height(240.0)
            .show(ui, |ui| {
                egui::Grid::new("dim_utt_table")
                    .striped(true)
                    .show(ui, |ui| {
                        ui.label("");
                        for h in ["file", "speaker", "fold"] {
                            ui.label(egui::RichText::new(h).strong());
                        }
                        for d in &v.classes {
                            ui.label(egui::RichText::new(format!("{d} true / predicted")).strong());
                        }
                        ui.end_row();
                        for (i, r) in self.rows.iter().enumerate() {
                            if ui
                                .small_button("Play")
                                .on_hover_text("play through the default output device")
                                .clicked()
                            {
                                cmds.push(super::AppCommand::PlayFile(r.path.clone().into()));
                            }
                            let name = std::path::Path::new(&r.path)
                                .file_name()
                                .map_or(r.path.clone(), |n| n.to_string_lossy().to_string());
                            if ui
                                .selectable_label(self.selected == Some(i), name)
                                .on_hover_text(&r.path)
                                .clicked()
                            {
                                self.selected = Some(i);
                            }
                            ui.label(&r.speaker);
                            ui.label(&r.fold);
                            for (t, p) in r.truth.iter().zip(&r.predicted) {
                                ui.label(format!("{t:.2} / {p:.2}"));
                            }
                            ui.end_row();
                        }
                    });
            });
    }
}

/// One bar series per dimension over the hidden states.
pub fn layer_weights_per_dimension_ui(ui: &mut egui::Ui, dims: &[String], w: &[Vec<f32>]) {
    ui.label(egui::RichText::new("Layer weights per dimension").strong())
        .on_hover_text(
            "softmax weights of each dimension's sum of hidden states (0 = before the transformer)",
        );
    let n = dims.len().max(1) as f64;
    let width = 0.8 / n;
    Plot::new("dim_layer_weights")
        .allow_scroll(false)
        .height(160.0)
        .include_y(0.0)
        .legend(Legend::default())
        .x_axis_label("hidden state (0 = before the transformer)")
        .show(ui, |p| {
            for (k, (name, row)) in dims.iter().zip(w).enumerate() {
                let bars: Vec<Bar> = row
                    .iter()
                    .enumerate()
                    .map(|(l, v)| {
                        Bar::new(l as f64 + (k as f64 - (n - 1.0) / 2.0) * width, *v as f64)
                            .width(width)
                            .name(format!("{name}, layer {l}"))
                    })
                    .collect();
                p.bar_chart(BarChart::new(name.clone(), bars).color(fold_color(k)));
            }
        });
}
