//! Results panel: confusion matrix (pooled test, per fold, or latest validation while training),
//! classification report and per-fold table. Formulas are in the tooltips.

use eframe::egui;

use super::confusion::confusion_ui;
use super::jobs::JobState;
use super::plots::{fold_table_ui, layer_weights_ui};
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
    /// Selected source.
    pub source: Source,
    /// Show row percentages instead of counts.
    pub normalised: bool,
    /// Test utterances of the finished run.
    pub utterances: Vec<UttRow>,
    /// Why `predictions.csv` could not be read (shown in the panel).
    pub utterances_error: Option<String>,
    loaded_from: Option<std::path::PathBuf>,
    /// Show only misclassified utterances.
    pub errors_only: bool,
    /// Selected utterance (index into `utterances`).
    pub selected: Option<usize>,
    /// Spectrogram of the selected utterance (computed on a helper thread).
    pub spectrogram: super::jobs::SpectrogramState,
    /// What the finished run's report.json says about learned weights.
    pub learned: Option<LearnedWeights>,
    /// Attention/gate trace of an utterance (computed on a helper thread).
    pub trace: Option<super::jobs::FileJob<crate::train::predict::Trace>>,
}

impl Default for ResultsPanel {
    fn default() -> Self {
        Self {
            source: Source::Latest,
            normalised: false,
            utterances: Vec::new(),
            utterances_error: None,
            loaded_from: None,
            errors_only: false,
            selected: None,
            spectrogram: None,
            trace: None,
            learned: None,
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
        if v.pooled.is_some() && v.run_dir.is_some() && self.loaded_from != v.run_dir {
            self.loaded_from = v.run_dir.clone();
            self.selected = None;
            let read = v
                .run_dir
                .as_deref()
                .map(crate::train::run_dir::read_predictions)
                .unwrap_or_else(|| Ok(Vec::new()));
            (self.utterances, self.utterances_error) = match read {
                Ok(rows) => (rows, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            match v.run_dir.as_deref().map(LearnedWeights::read) {
                Some(Ok(l)) => self.learned = l,
                Some(Err(e)) => {
                    self.learned = None;
                    self.utterances_error.get_or_insert(e);
                }
                None => self.learned = None,
            }
        }
        self.results_ui(ui, v);
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

/// Learned weights of a finished run's best checkpoints, from its report.json.
#[derive(Clone, Debug, Default)]
pub struct LearnedWeights {
    /// Mean over folds of the softmax layer (or TIM-Net block) weights.
    pub layer_weights: Option<Vec<f32>>,
    /// α per fold of α-fusion models.
    pub alphas: Vec<f32>,
    /// Mean over folds of the gate per class (gated fusion).
    pub gate_per_class: Option<Vec<f32>>,
}

impl LearnedWeights {
    /// Reads `report.json` of a run through the typed reader; `Ok(None)` when it has nothing
    /// learned to show.
    pub fn read(run_dir: &std::path::Path) -> Result<Option<Self>, String> {
        crate::train::run_dir::read_report(run_dir).map(|r| Self::from_report(&r))
    }

    /// What a report holds: mean layer weights, α per fold, and the gate per class averaged
    /// over the folds that saw the class in validation.
    pub fn from_report(r: &crate::train::run_dir::RunReport) -> Option<Self> {
        let alphas: Vec<f32> = r.folds.iter().filter_map(|f| f.fusion_alpha).collect();
        // A class without validation utterances in a fold is `None` there: skipped in the mean.
        let gates: Vec<&Vec<Option<f32>>> = r
            .folds
            .iter()
            .filter_map(|f| f.gate_per_class.as_ref())
            .collect();
        let gate_per_class = gates.first().map(|g0| {
            (0..g0.len())
                .map(|c| {
                    let vals: Vec<f32> = gates
                        .iter()
                        .filter_map(|g| g.get(c).copied().flatten())
                        .filter(|x| x.is_finite())
                        .collect();
                    if vals.is_empty() {
                        f32::NAN
                    } else {
                        vals.iter().sum::<f32>() / vals.len() as f32
                    }
                })
                .collect()
        });
        let out = Self {
            layer_weights: r.layer_weights.clone(),
            alphas,
            gate_per_class,
        };
        (out.layer_weights.is_some() || !out.alphas.is_empty() || out.gate_per_class.is_some())
            .then_some(out)
    }

    /// Draws what there is.
    pub fn ui(&self, ui: &mut egui::Ui, classes: &[String]) {
        if !self.alphas.is_empty() {
            let mean = self.alphas.iter().sum::<f32>() / self.alphas.len() as f32;
            ui.label(format!(
                "Fusion α of the best checkpoints: mean {mean:.3} over {} fold(s) (share of the log-mel stream)",
                self.alphas.len()
            ));
        }
        if let Some(g) = &self.gate_per_class {
            let parts: Vec<String> = classes
                .iter()
                .zip(g)
                .filter(|(_, v)| v.is_finite())
                .map(|(c, v)| format!("{c} {v:.2}"))
                .collect();
            ui.label(format!(
                "Fusion gate per class (1 = log-mel): {}",
                parts.join(", ")
            ));
        }
        layer_weights_ui(
            ui,
            self.layer_weights.as_ref(),
            "Learned layer weights of the best checkpoints (mean over folds)",
        );
    }
}

#[cfg(test)]
mod learned_tests {
    use super::LearnedWeights;
    use crate::eval::ClassificationReport;
    use crate::train::run_dir::{FoldReport, FoldStats, RunReport};

    fn report(folds: Vec<FoldReport>, layer_weights: Option<Vec<f32>>) -> RunReport {
        let classes = vec!["a".to_string(), "b".to_string()];
        let pooled = ClassificationReport::from_predictions(&classes, &[0, 1], &[0, 1]);
        RunReport {
            preset: "p".into(),
            protocol: "loso".into(),
            independence: "speaker-independent".into(),
            seed: 1,
            wa_formula: String::new(),
            ua_formula: String::new(),
            pooled,
            fold_mean_std: FoldStats::of(&folds),
            folds,
            layer_weights,
            incomplete: false,
            train_secs: 1.0,
        }
    }

    fn fold(alpha: Option<f32>, gate: Option<Vec<Option<f32>>>) -> FoldReport {
        let classes = vec!["a".to_string(), "b".to_string()];
        FoldReport {
            name: "f".into(),
            best_epoch: 1,
            layer_weights: None,
            fusion_alpha: alpha,
            gate_per_class: gate,
            report: ClassificationReport::from_predictions(&classes, &[0, 1], &[0, 1]),
        }
    }

    #[test]
    fn reads_weights_alpha_and_gate_means_from_report_json() {
        let d = tempfile::tempdir().expect("tmp");
        let r = report(
            vec![
                fold(Some(0.4), Some(vec![Some(0.2), None])),
                fold(Some(0.6), Some(vec![Some(0.4), Some(0.8)])),
            ],
            Some(vec![0.25, 0.75]),
        );
        crate::train::run_dir::RunDir::create(d.path().to_path_buf())
            .expect("dir")
            .write_report(&r)
            .expect("write");
        // A null (class absent from that fold's validation part) is skipped for that class.
        let l = LearnedWeights::read(d.path())
            .expect("read")
            .expect("learned");
        assert_eq!(l.layer_weights, Some(vec![0.25, 0.75]));
        assert_eq!(l.alphas, vec![0.4, 0.6]);
        let g = l.gate_per_class.expect("gate");
        assert!(
            (g[0] - 0.3).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6,
            "{g:?}"
        );
        assert!(LearnedWeights::from_report(&report(vec![fold(None, None)], None)).is_none());
        // A malformed report is an error naming the file, not "nothing learned".
        std::fs::write(d.path().join("report.json"), "{").expect("w");
        let e = match LearnedWeights::read(d.path()) {
            Err(e) => e,
            Ok(_) => panic!("a malformed report.json was read"),
        };
        assert!(e.contains("report.json"), "{e}");
    }
}
