//! Corpora panel: open a folder (typed or picked), see what was read and what was skipped.

use eframe::egui;

use super::AppCommand;
use crate::corpus::{CorpusType, Manifest};

/// State of the Corpora panel.
#[derive(Default)]
pub struct CorporaPanel {
    /// Folder path as typed.
    pub path: String,
    /// Corpus type override (`None` = detect).
    pub corpus_type: Option<CorpusType>,
    /// The loaded corpus.
    pub manifest: Option<Manifest>,
    /// A load is running.
    pub loading: bool,
    /// Last load error.
    pub error: Option<String>,
    per_class: Vec<(String, usize)>,
    per_speaker: Vec<(String, usize, String)>,
    /// Statistics of the loaded corpus.
    pub inspection: Option<crate::corpus::inspect::Inspection>,
    /// A silence scan is running.
    pub scanning: bool,
}

impl CorporaPanel {
    /// Stores a loaded corpus and its summaries.
    pub fn set_manifest(&mut self, m: Manifest) {
        self.path = m.root.display().to_string();
        self.inspection = Some(crate::corpus::inspect::inspect(&m));
        self.scanning = false;
        self.per_class = m.per_class().into_iter().collect();
        self.per_speaker = m
            .per_speaker()
            .into_iter()
            .map(|(s, sum)| {
                (
                    s,
                    sum.utterances,
                    sum.gender.map_or("?".to_string(), |g| g.name().to_string()),
                )
            })
            .collect();
        self.manifest = Some(m);
    }

    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<AppCommand>) {
        ui.heading("Corpora");
        ui.horizontal(|ui| {
            let label = ui.label("Corpus folder");
            ui.add(egui::TextEdit::singleline(&mut self.path).desired_width(420.0))
                .labelled_by(label.id);
            if ui.button("Browse…").clicked() {
                cmds.push(AppCommand::BrowseCorpus);
            }
        });
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("Corpus type")
                .selected_text(
                    self.corpus_type
                        .map_or("detect automatically", |t| t.name()),
                )
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.corpus_type, None, "detect automatically");
                    for t in CorpusType::ALL {
                        ui.selectable_value(&mut self.corpus_type, Some(t), t.name());
                    }
                });
            let can_load = !self.loading && !self.path.trim().is_empty();
            if ui
                .add_enabled(can_load, egui::Button::new("Load corpus"))
                .clicked()
            {
                cmds.push(AppCommand::LoadCorpus {
                    dir: self.path.trim().into(),
                    corpus_type: self.corpus_type,
                });
            }
            if self.loading {
                ui.spinner();
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        ui.separator();
        let Some(m) = &self.manifest else {
            ui.label("No corpus open yet.");
            ui.label("New here? The built-in demo corpus (synthetic emotional speech, 10 speakers, 7 emotions) needs no download.");
            if ui
                .add_enabled(
                    !self.loading,
                    egui::Button::new("Create and open the demo corpus"),
                )
                .clicked()
            {
                cmds.push(AppCommand::CreateDemo { then_train: false });
            }
            return;
        };
        ui.label(
            egui::RichText::new(format!(
                "{} corpus — {} utterances, {} speakers, {:.1} min of audio, {} skipped",
                m.corpus_type,
                m.utterances.len(),
                self.per_speaker.len(),
                m.total_duration_secs() / 60.0,
                m.skipped.len()
            ))
            .strong(),
        );
        if !m.uncategorised.is_empty() {
            ui.label(format!(
                "+ {} utterances without an emotion class (annotated dimensions or style votes): used by dimensional and multi-label runs",
                m.uncategorised.len()
            ));
        }
        self.stats_ui(ui);
        if !m.speakers_known() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "Speakers are unknown: only speaker-dependent protocols (kfold, holdout) are possible.",
            );
        }
        ui.horizontal(|ui| {
            if ui.button("Train on this corpus").clicked() {
                cmds.push(AppCommand::Show(super::Tab::Training));
            }
        });
        ui.columns(2, |cols| {
            cols[0].label(egui::RichText::new("Utterances per class").strong());
            egui::Grid::new("per_class")
                .striped(true)
                .show(&mut cols[0], |ui| {
                    for (c, n) in &self.per_class {
                        ui.label(c);
                        ui.label(n.to_string());
                        ui.end_row();
                    }
                });
            cols[1].label(egui::RichText::new("Utterances per speaker").strong());
            egui::ScrollArea::vertical()
                .id_salt("speakers")
                .max_height(260.0)
                .show(&mut cols[1], |ui| {
                    egui::Grid::new("per_speaker").striped(true).show(ui, |ui| {
                        ui.label("speaker");
                        ui.label("utterances");
                        ui.label("gender");
                        ui.end_row();
                        for (s, n, g) in &self.per_speaker {
                            ui.label(s);
                            ui.label(n.to_string());
                            ui.label(g);
                            ui.end_row();
                        }
                    });
                });
        });
        ui.collapsing(format!("Skipped files ({})", m.skipped.len()), |ui| {
            egui::ScrollArea::vertical()
                .id_salt("skipped")
                .max_height(200.0)
                .show(ui, |ui| {
                    for s in &m.skipped {
                        ui.label(format!("{} — {}", s.path.display(), s.reason));
                    }
                });
        });
        let Some(ins) = &self.inspection else { return };
        ui.collapsing(format!("Flagged files ({})", ins.flagged.len()), |ui| {
            for s in &ins.flagged {
                ui.label(format!("{} — {}", s.path.display(), s.reason));
            }
        });
        ui.horizontal(|ui| {
            let label = if self.scanning {
                "Scanning audio…"
            } else {
                "Scan audio for silent files"
            };
            if ui
                .add_enabled(!self.scanning, egui::Button::new(label))
                .clicked()
            {
                cmds.push(AppCommand::ScanSilence);
            }
            if let Some(silent) = &ins.silent {
                ui.label(format!("{} silent or near-silent file(s)", silent.len()));
            }
        });
        if let Some(silent) = ins.silent.as_ref().filter(|s| !s.is_empty()) {
            for f in silent {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!(
                        "{} — peak {:.1} dBFS, RMS {:.1} dBFS",
                        f.path.display(),
                        f.peak_dbfs,
                        f.rms_dbfs
                    ),
                );
            }
        }
    }

    /// One-line statistics under the corpus summary.
    fn stats_ui(&self, ui: &mut egui::Ui) {
        let Some(ins) = &self.inspection else { return };
        let d = &ins.duration_secs;
        let genders: Vec<String> = ins
            .per_gender
            .iter()
            .map(|(g, n)| {
                format!(
                    "{g}: {n} utt. / {} spk.",
                    ins.speakers_per_gender.get(g).copied().unwrap_or(0)
                )
            })
            .collect();
        let rates: Vec<String> = ins
            .sample_rates
            .iter()
            .map(|(r, n)| format!("{r} Hz × {n}"))
            .collect();
        ui.label(format!("gender — {}", genders.join(", ")));
        ui.label(format!(
            "duration per file — min {:.2} s, mean {:.2} s, max {:.2} s",
            d.min, d.mean, d.max
        ));
        ui.label(format!("sample rates — {}", rates.join(", ")));
    }
}
