//! Results panel: confusion matrix (pooled test, per fold, or latest validation while training),
//! classification report and per-fold table. Formulas are in the tooltips.

use eframe::egui;

use super::confusion::confusion_ui;
use super::jobs::JobState;
use super::plots::fold_table_ui;
use super::run_view::TrainingView;
use crate::eval::metrics::{MACRO_F1_FORMULA, UA_FORMULA, WA_FORMULA, WEIGHTED_F1_FORMULA};
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

/// One test utterance from `predictions.csv`.
pub type UttRow = crate::train::run_dir::PredictionRow;

/// State of the Results panel.
pub struct ResultsPanel {
    /// Curves against optimiser steps (`None` = automatic).
    pub curves_step_axis: Option<bool>,
    /// Selected source.
    pub source: Source,
    /// Show row percentages instead of counts.
    pub normalised: bool,
    /// Test utterances of the finished run.
    pub utterances: Vec<UttRow>,
    /// Why `predictions.csv` could not be read (shown in the panel).
    pub utterances_error: Option<String>,
    /// The run's files are being read on a helper thread.
    pub loading_run: bool,
    loaded_from: Option<std::path::PathBuf>,
    /// Show only misclassified utterances.
    pub errors_only: bool,
    /// Selected utterance (index into `utterances`).
    pub selected: Option<usize>,
    /// Spectrogram of the selected utterance (computed on a helper thread).
    pub spectrogram: super::jobs::SpectrogramState,
    /// What the finished run's report.json says about learned weights.
    pub learned: Option<super::interpret::LearnedWeights>,
    /// Attention/gate trace of an utterance (computed on a helper thread).
    pub trace: Option<super::jobs::FileJob<crate::train::predict::Trace>>,
    /// The view of a dimensional run.
    pub dimensional: super::dimensional::DimensionalResults,
    /// The view of a multi-label run.
    pub multi_label: super::multilabel::MultiLabelResults,
}

impl Default for ResultsPanel {
    fn default() -> Self {
        Self {
            curves_step_axis: None,
            source: Source::Latest,
            normalised: false,
            utterances: Vec::new(),
            utterances_error: None,
            loading_run: false,
            loaded_from: None,
            errors_only: false,
            selected: None,
            spectrogram: None,
            trace: None,
            learned: None,
            dimensional: Default::default(),
            multi_label: Default::default(),
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
    pub fn ui(&mut self, ui: &mut egui::Ui, v: &TrainingView, cmds: &mut Vec<super::AppCommand>) {
        if v.pooled.is_some() && self.loaded_from != v.run_dir {
            self.loaded_from = v.run_dir.clone();
            self.selected = None;
            self.utterances.clear();
            self.dimensional = Default::default();
            self.multi_label = Default::default();
            self.utterances_error = None;
            self.learned = None;
            if let Some(dir) = &v.run_dir {
                // predictions.csv and report.json are read on a helper thread.
                self.loading_run = true;
                cmds.push(super::AppCommand::LoadRunFiles(dir.clone()));
            }
        }
        if v.multi_label_summary.is_some() {
            self.multi_label.ui(ui, v, self.trace.as_ref(), cmds);
        } else if v.dimensional {
            self.dimensional.ui(ui, v, cmds);
        } else {
            self.results_ui(ui, v);
        }
        if !v.epoch_metrics.is_empty() {
            egui::CollapsingHeader::new("Training curves")
                .id_salt("results_curves")
                .show(ui, |ui| {
                    super::training::curves_of(ui, v, &mut self.curves_step_axis)
                });
        }
        if self.loading_run {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("reading the run's predictions");
            });
        }
        if let Some(e) = &self.utterances_error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Test utterances cannot be listed: {e}"),
            );
        }
        if !self.utterances.is_empty() {
            ui.separator();
            self.utterances_ui(ui, v, cmds);
        }
    }

    fn utterances_ui(
        &mut self,
        ui: &mut egui::Ui,
        v: &TrainingView,
        cmds: &mut Vec<super::AppCommand>,
    ) {
        ui.horizontal(|ui| {
            ui.label(
                egui::RichText::new(format!(
                    "Utterances ({} test predictions)",
                    self.utterances.len()
                ))
                .strong(),
            );
            ui.checkbox(&mut self.errors_only, "Errors only");
        });
        ui.columns(2, |cols| {
            egui::ScrollArea::vertical()
                .id_salt("utts")
                .max_height(260.0)
                .show(&mut cols[0], |ui| {
                    egui::Grid::new("utt_table").striped(true).show(ui, |ui| {
                        for h in ["", "file", "speaker", "true", "predicted", "conf."] {
                            ui.label(egui::RichText::new(h).strong());
                        }
                        ui.end_row();
                        for (i, u) in self.utterances.iter().enumerate() {
                            let correct = u.true_label == u.predicted;
                            if self.errors_only && correct {
                                continue;
                            }
                            if ui
                                .small_button("Play")
                                .on_hover_text("play through the default output device")
                                .clicked()
                            {
                                cmds.push(super::AppCommand::PlayFile(u.path.clone().into()));
                            }
                            let name = std::path::Path::new(&u.path)
                                .file_name()
                                .map_or(u.path.clone(), |n| n.to_string_lossy().to_string());
                            if ui
                                .selectable_label(self.selected == Some(i), name)
                                .clicked()
                            {
                                self.selected = Some(i);
                            }
                            ui.label(&u.speaker);
                            ui.label(&u.true_label);
                            let p = egui::RichText::new(&u.predicted);
                            ui.label(if correct {
                                p
                            } else {
                                p.color(ui.visuals().error_fg_color)
                            });
                            ui.label(format!("{:.2}", u.confidence));
                            ui.end_row();
                        }
                    });
                });
            let Some(u) = self.selected.and_then(|i| self.utterances.get(i)).cloned() else {
                cols[1].label("Click a file to see its spectrogram and class probabilities.");
                return;
            };
            let ui = &mut cols[1];
            ui.label(
                egui::RichText::new(format!("{} — {} (fold {})", u.path, u.true_label, u.fold))
                    .small(),
            );
            if self.spectrogram.as_ref().is_none_or(|j| j.path != u.path) {
                self.spectrogram = Some(super::jobs::FileJob::running(u.path.clone()));
                cmds.push(super::AppCommand::Spectrogram(
                    super::jobs::SpectrogramFor::Results,
                    u.path.clone(),
                ));
            }
            match self.spectrogram.as_ref().map(|j| &j.state) {
                Some(JobState::Done(Ok(tex))) => {
                    ui.add(
                        egui::Image::new(tex)
                            .fit_to_exact_size(egui::vec2(ui.available_width().min(520.0), 128.0)),
                    );
                }
                Some(JobState::Done(Err(e))) => {
                    ui.colored_label(ui.visuals().error_fg_color, format!("No spectrogram: {e}"));
                }
                Some(JobState::Running) => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("computing the spectrogram");
                    });
                }
                None => {}
            }
            trace_ui(ui, &u.path, self.trace.as_ref(), cmds);
            egui::Grid::new("utt_probs").show(ui, |ui| {
                for (c, p) in v.classes.iter().zip(&u.probabilities) {
                    ui.label(c);
                    ui.add(
                        egui::ProgressBar::new(*p)
                            .desired_width(220.0)
                            .text(format!("{:.0}%", p * 100.0)),
                    );
                    ui.end_row();
                }
            });
        });
    }

    fn results_ui(&mut self, ui: &mut egui::Ui, v: &TrainingView) {
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
        ui.scope(|ui| {
            let report = report.cloned().unwrap_or_else(|| {
                ClassificationReport::from_confusion(&v.classes, confusion.clone())
            });
            ui.columns(2, |cols| {
                confusion_ui(&mut cols[0], &v.classes, &confusion, self.normalised, 64.0);
                Self::report_ui(&mut cols[1], v, &report);
                if let Some(l) = &self.learned {
                    l.ui(&mut cols[1], &v.classes);
                }
            });
        });
        if let Some(f) = &v.feature_weights {
            feature_weights_ui(ui, f);
        }
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
                    ui.label(egui::RichText::new("macro avg").strong())
                        .on_hover_text(crate::eval::metrics::MACRO_SCOPE);
                    ui.label(format!("{:.3}", report.macro_precision));
                    ui.label(format!("{:.3}", report.macro_recall));
                    ui.label(format!("{:.3}", report.macro_f1));
                    ui.label(report.n.to_string());
                    ui.end_row();
                });
            if !v.fold_reports.is_empty() {
                ui.add_space(8.0);
                ui.label(egui::RichText::new("Per fold (test)").strong());
                fold_table_ui(ui, "fold_table", v);
            }
        }
    }
}

/// The linear model's strongest named inputs per class (mean weight over folds ± std).
fn feature_weights_ui(ui: &mut egui::Ui, f: &crate::train::feature_weights::FeatureWeights) {
    ui.add_space(8.0);
    ui.label(egui::RichText::new("Strongest inputs per class (linear model)").strong())
        .on_hover_text(&f.note);
    egui::Grid::new("feature_weights")
        .striped(true)
        .show(ui, |ui| {
            ui.label(egui::RichText::new("class").strong());
            ui.label(
                egui::RichText::new(format!(
                    "inputs: weight per training-set std, mean ± std over {} folds",
                    f.folds
                ))
                .strong(),
            );
            ui.end_row();
            for t in &f.top {
                ui.label(&t.class);
                let list: Vec<String> = t
                    .inputs
                    .iter()
                    .map(|(n, m, sd)| format!("{n} {m:+.2} ± {sd:.2}"))
                    .collect();
                ui.label(list.join(", "));
                ui.end_row();
            }
        });
    ui.label(
        egui::RichText::new("All weights: feature_weights.csv in the run folder.")
            .small()
            .weak(),
    );
}

/// Attention over time (and the fusion gate) of the selected utterance, under its spectrogram.
fn trace_ui(
    ui: &mut egui::Ui,
    path: &str,
    trace: Option<&super::jobs::FileJob<crate::train::predict::Trace>>,
    cmds: &mut Vec<super::AppCommand>,
) {
    use egui_plot::{Line, Plot, PlotPoints};
    let this = trace.filter(|j| j.path == path);
    match this.map(|j| &j.state) {
        None => {
            if ui
                .small_button("Attention over time")
                .on_hover_text(
                    "run this utterance through the run's models and show where they attend",
                )
                .clicked()
            {
                cmds.push(super::AppCommand::TraceUtterance(path.to_string()));
            }
        }
        Some(JobState::Running) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("tracing…");
            });
        }
        Some(JobState::Done(Err(e))) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        Some(JobState::Done(Ok(t))) => {
            if t.attention.is_none() && t.gate.is_none() {
                ui.label("This model has no attention or fusion gate to show.");
                return;
            }
            let n = t.valid_frames.max(1);
            let series = |v: &Vec<f32>| -> Vec<[f64; 2]> {
                v.iter()
                    .take(n)
                    .enumerate()
                    .map(|(i, a)| [i as f64 / n as f64, *a as f64])
                    .collect()
            };
            ui.label(
                egui::RichText::new(
                    "Attention per frame (mean over fold models; x = fraction of the utterance)",
                )
                .small(),
            );
            Plot::new("trace_plot")
                .allow_scroll(false)
                .width(ui.available_width().min(520.0))
                .height(90.0)
                .include_y(0.0)
                .show_axes([true, true])
                .show(ui, |p| {
                    if let Some(a) = &t.attention {
                        p.line(Line::new("attention", PlotPoints::from(series(a))));
                    }
                    if let Some(g) = &t.gate {
                        let m = g.iter().take(n).copied().fold(f32::MIN, f32::max).max(1e-9);
                        let scaled: Vec<f32> = g.iter().map(|x| x / m).collect();
                        p.line(Line::new(
                            "gate (scaled)",
                            PlotPoints::from(series(&scaled)),
                        ));
                    }
                });
        }
    }
}

impl ResultsPanel {
    /// Takes the run files read by [`super::jobs::Jobs::run_files`] (ignored when another run
    /// is shown by now).
    pub fn take_run_files(&mut self, files: super::jobs::RunFiles) {
        if self.loaded_from.as_ref() != Some(&files.run_dir) {
            return;
        }
        self.loading_run = false;
        match files.predictions {
            Ok(rows) => self.utterances = rows,
            Err(e) => self.utterances_error = Some(e),
        }
        match files.dim_predictions {
            Some(Ok(rows)) => self.dimensional.rows = rows,
            Some(Err(e)) => self.utterances_error = Some(e),
            None => {}
        }
        match files.label_predictions {
            Some(Ok(rows)) => self.multi_label.rows = rows,
            Some(Err(e)) => self.utterances_error = Some(e),
            None => {}
        }
        match files.learned {
            Ok(l) => self.learned = l,
            Err(e) => {
                self.utterances_error.get_or_insert(e);
            }
        }
    }
}
