//! Results panel: confusion matrix (pooled test, per fold, or latest validation while training),
//! classification report and per-fold table. Formulas are in the tooltips.

use eframe::egui;

use super::confusion::confusion_ui;
use super::training::TrainingView;
use crate::eval::metrics::{
    MACRO_F1_FORMULA, UA_FORMULA, WA_FORMULA, WEIGHTED_F1_FORMULA, mean_std,
};
use crate::eval::{ClassificationReport, ConfusionMatrix};

/// Which predictions the panel shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The most recent: pooled test when finished, else the last fold's test, else the latest
    /// validation epoch.
    Latest,
    /// Pooled test predictions of all folds.
    Pooled,
    /// Test predictions of one fold.
    Fold(usize),
}

/// State of the Results panel.
pub struct ResultsPanel {
    /// Selected source.
    pub source: Source,
    /// Show row percentages instead of counts.
    pub normalised: bool,
}

impl Default for ResultsPanel {
    fn default() -> Self {
        Self {
            source: Source::Latest,
            normalised: false,
        }
    }
}

impl ResultsPanel {
    /// Follow the newest results (after a new run starts).
    pub fn follow_latest(&mut self) {
        self.source = Source::Latest;
    }

    fn pick<'a>(
        &self,
        v: &'a TrainingView,
    ) -> Option<(String, Option<&'a ClassificationReport>, ConfusionMatrix)> {
        let fold_name = |f: usize| {
            v.folds
                .get(f)
                .cloned()
                .unwrap_or_else(|| format!("fold {}", f + 1))
        };
        match self.source {
            Source::Pooled => v.pooled.as_ref().map(|r| {
                (
                    "pooled test predictions".to_string(),
                    Some(r),
                    r.confusion.clone(),
                )
            }),
            Source::Fold(f) => v.fold_reports.iter().find(|(i, _)| *i == f).map(|(_, r)| {
                (
                    format!("test predictions of {}", fold_name(f)),
                    Some(r),
                    r.confusion.clone(),
                )
            }),
            Source::Latest => {
                if let Some(r) = &v.pooled {
                    return Some((
                        "pooled test predictions".into(),
                        Some(r),
                        r.confusion.clone(),
                    ));
                }
                if let Some(m) = v.epoch_metrics.last() {
                    return Some((
                        format!(
                            "validation of {} after epoch {} (live)",
                            fold_name(m.fold),
                            m.epoch
                        ),
                        None,
                        m.valid_confusion.clone(),
                    ));
                }
                v.fold_reports.last().map(|(f, r)| {
                    (
                        format!("test predictions of {}", fold_name(*f)),
                        Some(r),
                        r.confusion.clone(),
                    )
                })
            }
        }
    }

    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, v: &TrainingView) {
        ui.heading("Results");
        if v.classes.is_empty() {
            ui.label("No results yet: start a run in the Training panel.");
            return;
        }
        ui.horizontal(|ui| {
            let text = match self.source {
                Source::Latest => "latest".to_string(),
                Source::Pooled => "pooled test".to_string(),
                Source::Fold(f) => format!("fold {} test", f + 1),
            };
            egui::ComboBox::from_label("Show")
                .selected_text(text)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.source, Source::Latest, "latest");
                    if v.pooled.is_some() {
                        ui.selectable_value(&mut self.source, Source::Pooled, "pooled test");
                    }
                    for (f, _) in &v.fold_reports {
                        ui.selectable_value(
                            &mut self.source,
                            Source::Fold(*f),
                            format!("fold {} test", f + 1),
                        );
                    }
                });
            ui.checkbox(&mut self.normalised, "Row-normalised (%)");
            if !v.independence.is_empty() {
                ui.label(format!("({})", v.independence));
            }
        });
        let Some((title, report, confusion)) = self.pick(v) else {
            ui.label("Waiting for the first epoch…");
            return;
        };
        ui.label(egui::RichText::new(&title).strong());
        egui::ScrollArea::vertical().show(ui, |ui| {
            let report = report.cloned().unwrap_or_else(|| {
                ClassificationReport::from_confusion(&v.classes, confusion.clone())
            });
            ui.columns(2, |cols| {
                confusion_ui(&mut cols[0], &v.classes, &confusion, self.normalised, 64.0);
                Self::report_ui(&mut cols[1], v, &report);
            });
        });
    }

    fn report_ui(ui: &mut egui::Ui, v: &TrainingView, report: &ClassificationReport) {
        {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!("WA {:.3}", report.wa))
                    .on_hover_text(WA_FORMULA);
                ui.label(format!("UA {:.3}", report.ua))
                    .on_hover_text(UA_FORMULA);
                ui.label(format!("macro-F1 {:.3}", report.macro_f1))
                    .on_hover_text(MACRO_F1_FORMULA);
                ui.label(format!("weighted-F1 {:.3}", report.weighted_f1))
                    .on_hover_text(WEIGHTED_F1_FORMULA);
                ui.label(format!("n = {}", report.n));
                if v.classes.len() > 1 {
                    ui.label(format!("(chance UA = {:.3})", 1.0 / v.classes.len() as f64));
                }
            });
            ui.add_space(6.0);
            ui.label(egui::RichText::new("Classification report").strong());
            egui::Grid::new("class_report")
                .striped(true)
                .show(ui, |ui| {
                    for h in ["class", "precision", "recall", "F1", "support"] {
                        ui.label(egui::RichText::new(h).strong());
                    }
                    ui.end_row();
                    for m in &report.per_class {
                        ui.label(&m.class);
                        ui.label(format!("{:.3}", m.precision));
                        ui.label(format!("{:.3}", m.recall));
                        ui.label(format!("{:.3}", m.f1));
                        ui.label(m.support.to_string());
                        ui.end_row();
                    }
                    ui.label(egui::RichText::new("macro avg").strong());
                    ui.label(format!("{:.3}", report.macro_precision));
                    ui.label(format!("{:.3}", report.macro_recall));
                    ui.label(format!("{:.3}", report.macro_f1));
                    ui.label(report.n.to_string());
                    ui.end_row();
                });
            if !v.fold_reports.is_empty() {
                ui.add_space(8.0);
                ui.label(egui::RichText::new("Per fold (test)").strong());
                egui::Grid::new("fold_table").striped(true).show(ui, |ui| {
                    for h in ["fold", "n", "WA", "UA", "macro-F1"] {
                        ui.label(egui::RichText::new(h).strong());
                    }
                    ui.end_row();
                    for (f, r) in &v.fold_reports {
                        ui.label(v.folds.get(*f).cloned().unwrap_or_default());
                        ui.label(r.n.to_string());
                        ui.label(format!("{:.3}", r.wa));
                        ui.label(format!("{:.3}", r.ua));
                        ui.label(format!("{:.3}", r.macro_f1));
                        ui.end_row();
                    }
                    let ms = |f: fn(&ClassificationReport) -> f64| {
                        let (m, s) =
                            mean_std(&v.fold_reports.iter().map(|(_, r)| f(r)).collect::<Vec<_>>());
                        format!("{m:.3} ± {s:.3}")
                    };
                    ui.label(egui::RichText::new("mean ± std").strong());
                    ui.label("");
                    ui.label(ms(|r| r.wa));
                    ui.label(ms(|r| r.ua));
                    ui.label(ms(|r| r.macro_f1));
                    ui.end_row();
                });
            }
        }
    }
}
