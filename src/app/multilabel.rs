//! Results of a multi-label run: pooled per-label precision, recall, F1 and average precision,
//! the folds' macro F1, the probability by annotator votes, and each test utterance's true and
//! predicted label sets with every label's probability.

use eframe::egui;

use crate::train::ml_report::LabelPredictionRow;

use super::run_view::TrainingView;

/// One test utterance as the table shows it.
#[derive(Clone, Debug)]
pub struct LabelRow {
    /// The row of `predictions.csv`.
    pub row: LabelPredictionRow,
    /// The predicted label set as written (each fold's thresholds).
    pub predicted: Vec<String>,
}

impl From<(LabelPredictionRow, Vec<String>)> for LabelRow {
    fn from((row, predicted): (LabelPredictionRow, Vec<String>)) -> Self {
        Self { row, predicted }
    }
}

/// State of the multi-label view.
#[derive(Default)]
pub struct MultiLabelResults {
    /// Test utterances (read from `predictions.csv` on a helper thread).
    pub rows: Vec<LabelRow>,
    /// The categorical corpus to probe.
    pub probe_corpus: String,
    /// A probe is running.
    pub probing: bool,
    /// The last probe's table (or why it failed).
    pub probe: Option<Result<crate::train::probe::ProbeTable, String>>,
    /// The utterance whose label-query attention is shown (index into `rows`).
    pub selected: Option<usize>,
}

/// Each label query's attention over time as a heat map: one row per label, one column per
/// input frame holding audio; each row scaled to its own peak (where that label looked).
fn label_attention_ui(ui: &mut egui::Ui, labels: &[String], t: &crate::train::predict::Trace) {
    use egui::{Align2, FontId, Rect, Sense, pos2, vec2};
    let Some(att) = &t.label_attention else {
        ui.label("This model has no label queries: no per-label attention to show.");
        return;
    };
    let n = t.valid_frames.max(1);
    let label_w = 90.0;
    let row_h = 18.0;
    let width = (ui.available_width() - label_w - 10.0).clamp(200.0, 900.0);
    let (resp, painter) = ui.allocate_painter(
        vec2(label_w + width, row_h * att.len() as f32 + 18.0),
        Sense::hover(),
    );
    let o = resp.rect.min;
    let col_w = width / n as f32;
    let text = ui.visuals().text_color();
    for (k, row) in att.iter().enumerate() {
        let y = o.y + row_h * k as f32;
        if let Some(l) = labels.get(k) {
            painter.text(
                pos2(o.x + label_w - 6.0, y + row_h / 2.0),
                Align2::RIGHT_CENTER,
                l,
                FontId::proportional(12.0),
                text,
            );
        }
        let peak = row
            .iter()
            .take(n)
            .copied()
            .fold(0.0f32, f32::max)
            .max(1e-12);
        for (i, a) in row.iter().take(n).enumerate() {
            let c = super::confusion::ramp(f64::from(a / peak));
            painter.rect_filled(
                Rect::from_min_size(
                    pos2(o.x + label_w + col_w * i as f32, y + 1.0),
                    vec2(col_w.max(1.0), row_h - 2.0),
                ),
                0.0,
                c,
            );
        }
    }
    let fps = t.frames_per_sec.max(1e-9);
    let start = t.start_frame as f64 / fps;
    let end = (t.start_frame + n) as f64 / fps;
    let y = o.y + row_h * att.len() as f32 + 2.0;
    let weak = ui.visuals().weak_text_color();
    painter.text(
        pos2(o.x + label_w, y),
        Align2::LEFT_TOP,
        format!("{start:.2} s"),
        FontId::proportional(11.0),
        weak,
    );
    painter.text(
        pos2(o.x + label_w + width, y),
        Align2::RIGHT_TOP,
        format!("{end:.2} s"),
        FontId::proportional(11.0),
        weak,
    );
    resp.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Image, true, "Label-query attention over time")
    });
}

fn fmt(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "–".into()
    }
}

/// Cells of a co-occurrence heat map: colour = count / the row label's count (P(column | row)).
fn cooccurrence_cells(m: &[Vec<usize>]) -> Vec<Vec<(f64, String)>> {
    m.iter()
        .enumerate()
        .map(|(i, row)| {
            let d = row[i].max(1) as f64;
            row.iter().map(|&c| (c as f64 / d, c.to_string())).collect()
        })
        .collect()
}

impl MultiLabelResults {
    /// The unseen-corpus probe: the run over an emotion corpus, mean probability of each label
    /// per emotion class (bars in the label's colour).
    fn probe_ui(&mut self, ui: &mut egui::Ui, v: &TrainingView, cmds: &mut Vec<super::AppCommand>) {
        ui.horizontal(|ui| {
            let l = ui.label("Emotion corpus");
            ui.add(
                egui::TextEdit::singleline(&mut self.probe_corpus)
                    .desired_width(320.0)
                    .hint_text("a corpus with emotion classes, e.g. demo/emodb"),
            )
            .labelled_by(l.id);
            let can = !self.probing && !self.probe_corpus.trim().is_empty() && v.run_dir.is_some();
            if ui.add_enabled(can, egui::Button::new("Probe")).clicked()
                && let Some(run) = &v.run_dir
            {
                cmds.push(super::AppCommand::Probe {
                    run: run.clone(),
                    corpus: self.probe_corpus.trim().into(),
                });
            }
            if self.probing {
                ui.spinner();
            }
        });
        match &self.probe {
            Some(Ok(t)) => {
                ui.label(egui::RichText::new("Mean label probability per emotion class").strong());
                egui::Grid::new("ml_probe").striped(true).show(ui, |ui| {
                    ui.label(egui::RichText::new("class").strong());
                    ui.label(egui::RichText::new("n").strong());
                    for l in &t.labels {
                        ui.label(egui::RichText::new(l).strong());
                    }
                    ui.end_row();
                    for ((c, n), row) in t.classes.iter().zip(&t.counts).zip(&t.mean) {
                        ui.label(c);
                        ui.label(n.to_string());
                        for (k, p) in row.iter().enumerate() {
                            ui.add(
                                egui::ProgressBar::new(*p as f32)
                                    .desired_width(70.0)
                                    .text(fmt(*p))
                                    .fill(super::plots::fold_color(k)),
                            );
                        }
                        ui.end_row();
                    }
                });
                if !t.failed.is_empty() {
                    ui.label(format!("{} files could not be read", t.failed.len()))
                        .on_hover_text(t.failed.join("\n"));
                }
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
    }

    /// Draws the view.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        v: &TrainingView,
        trace: Option<&super::jobs::FileJob<crate::train::predict::Trace>>,
        cmds: &mut Vec<super::AppCommand>,
    ) {
        ui.heading("Results — multi-label");
        if !v.independence.is_empty() {
            ui.label(format!("({})", v.independence));
        }
        let Some(s) = &v.multi_label_summary else {
            return;
        };
        let p = &s.pooled;
        ui.label(
            egui::RichText::new(format!(
                "Pooled test predictions — macro F1 {}, micro F1 {}, mean AP {}, exact label set {} (n = {})",
                fmt(p.macro_f1),
                fmt(p.micro_f1),
                fmt(p.mean_average_precision),
                fmt(p.exact_match),
                p.n
            ))
            .strong(),
        );
        ui.label(
            egui::RichText::new(format!(
                "positive at ≥ {} annotator votes · thresholds: {} · loss: {} · folds' macro F1 {} ± {}",
                s.min_agreement,
                s.thresholds,
                s.loss,
                fmt(s.macro_f1.0),
                fmt(s.macro_f1.1)
            ))
            .small(),
        );
        egui::Grid::new("ml_labels").striped(true).show(ui, |ui| {
            for h in ["label", "precision", "recall", "F1", "AP", "support", ""] {
                ui.label(egui::RichText::new(h).strong());
            }
            ui.end_row();
            for l in &p.labels {
                ui.label(&l.name);
                ui.label(fmt(l.precision));
                ui.label(fmt(l.recall));
                ui.label(fmt(l.f1));
                ui.label(fmt(l.average_precision));
                ui.label(l.support.to_string());
                ui.add(
                    egui::ProgressBar::new(l.f1 as f32)
                        .desired_width(160.0)
                        .text(format!("F1 {}", fmt(l.f1))),
                );
                ui.end_row();
            }
        });
        egui::CollapsingHeader::new("Probability by annotator votes").show(ui, |ui| {
            egui::Grid::new("ml_votes").striped(true).show(ui, |ui| {
                for h in [
                    "label",
                    "votes",
                    "n",
                    "mean probability",
                    "predicted positive",
                ] {
                    ui.label(egui::RichText::new(h).strong());
                }
                ui.end_row();
                for lv in &s.by_votes {
                    ui.label(&lv.label);
                    ui.label(format!("{}", lv.votes));
                    ui.label(lv.n.to_string());
                    ui.label(fmt(lv.mean_probability));
                    ui.label(fmt(lv.predicted_positive));
                    ui.end_row();
                }
            });
        });
        if !s.by_agreement.is_empty() {
            egui::CollapsingHeader::new("F1 by annotator agreement")
                .default_open(true)
                .show(ui, |ui| {
                    ui.label(
                        egui::RichText::new(format!(
                            "truth = the annotators' majority; low: agreement < {0}, high: ≥ {0}; ties left out",
                            s.min_agreement
                        ))
                        .small(),
                    );
                    egui::Grid::new("ml_agreement").striped(true).show(ui, |ui| {
                        for h in ["label", "F1 low (n)", "F1 high (n)", "ties"] {
                            ui.label(egui::RichText::new(h).strong());
                        }
                        ui.end_row();
                        for a in &s.by_agreement {
                            ui.label(&a.label);
                            for (f1, n, k) in [(a.low_f1, a.low_n, 3), (a.high_f1, a.high_n, 0)] {
                                if n == 0 {
                                    ui.label("– (n = 0)");
                                    continue;
                                }
                                ui.add(
                                    egui::ProgressBar::new(if f1.is_finite() { f1 as f32 } else { 0.0 })
                                        .desired_width(140.0)
                                        .text(format!("{} (n = {n})", fmt(f1)))
                                        .fill(super::plots::fold_color(k)),
                                );
                            }
                            ui.label(a.ties.to_string());
                            ui.end_row();
                        }
                    });
                });
        }
        if !s.cooccurrence.truth.is_empty() {
            egui::CollapsingHeader::new("Label co-occurrence").show(ui, |ui| {
                ui.horizontal_top(|ui| {
                    for (title, m) in [
                        ("true label sets", &s.cooccurrence.truth),
                        ("predicted label sets", &s.cooccurrence.predicted),
                    ] {
                        ui.vertical(|ui| {
                            ui.label(egui::RichText::new(title).strong());
                            super::confusion::heat_grid(
                                ui,
                                &s.labels,
                                &cooccurrence_cells(m),
                                42.0,
                                "cell = utterances with both labels; colour: share of the row label's",
                                &format!("Label co-occurrence, {title}"),
                            );
                        });
                    }
                });
            });
        }
        egui::CollapsingHeader::new("Probe on a categorical corpus")
            .default_open(self.probe.is_some())
            .show(ui, |ui| self.probe_ui(ui, v, cmds));
        if self.rows.is_empty() {
            return;
        }
        ui.separator();
        ui.label(
            egui::RichText::new(format!("Utterances ({} test predictions)", self.rows.len()))
                .strong(),
        );
        egui::ScrollArea::vertical()
            .id_salt("ml_rows")
            .max_height(320.0)
            .show(ui, |ui| {
                egui::Grid::new("ml_utts").striped(true).show(ui, |ui| {
                    for h in [
                        "file",
                        "fold",
                        "true labels",
                        "predicted labels",
                        "probabilities",
                    ] {
                        ui.label(egui::RichText::new(h).strong());
                    }
                    ui.end_row();
                    for (i, r) in self.rows.iter().enumerate() {
                        let name = std::path::Path::new(&r.row.path)
                            .file_name()
                            .map_or(r.row.path.clone(), |n| n.to_string_lossy().to_string());
                        if ui
                            .selectable_label(self.selected == Some(i), name)
                            .on_hover_text("show where each label query looked")
                            .clicked()
                        {
                            self.selected = Some(i);
                        }
                        ui.label(&r.row.fold);
                        ui.label(r.row.true_set(&s.labels).join(", "));
                        ui.label(r.predicted.join(", "));
                        ui.label(
                            egui::RichText::new(
                                s.labels
                                    .iter()
                                    .zip(&r.row.probs)
                                    .map(|(l, p)| format!("{l} {p:.2}"))
                                    .collect::<Vec<_>>()
                                    .join(" · "),
                            )
                            .small(),
                        );
                        ui.end_row();
                    }
                });
            });
        let Some(r) = self.selected.and_then(|i| self.rows.get(i)) else {
            ui.label(
                egui::RichText::new("Select an utterance to see where each label query looked.")
                    .small(),
            );
            return;
        };
        ui.separator();
        let path = r.row.path.clone();
        ui.label(
            egui::RichText::new(format!(
                "{} — true: {} · predicted: {}",
                path,
                r.row.true_set(&s.labels).join(", "),
                r.predicted.join(", ")
            ))
            .strong(),
        );
        let this = trace.filter(|j| j.path == path);
        match this.map(|j| &j.state) {
            None => {
                if ui
                    .button("Label attention over time")
                    .on_hover_text("run this utterance through the run's fold models and show each label query's attention (last decoder layer, mean over heads and folds)")
                    .clicked()
                {
                    cmds.push(super::AppCommand::TraceUtterance(path));
                }
            }
            Some(super::jobs::JobState::Running) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("tracing…");
                });
            }
            Some(super::jobs::JobState::Done(Err(e))) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            Some(super::jobs::JobState::Done(Ok(t))) => {
                ui.label(
                    egui::RichText::new(
                        "each row scaled to its own peak; dark = where that label's query attended",
                    )
                    .small(),
                );
                label_attention_ui(ui, &s.labels, t);
            }
        }
    }
}
