//! Finished runs on disk in the Results panel: list the runs folder, open one (an ensemble
//! included) as if it had just finished, and combine several by voting into an ensemble run.

use std::path::{Path, PathBuf};

use eframe::egui;

use super::run_view::TrainingView;
use crate::train::ensemble::Vote;
use crate::train::{RunState, run_dir::read_report};

/// One finished run folder.
#[derive(Clone, Debug)]
pub struct SavedRun {
    /// Folder.
    pub dir: PathBuf,
    /// Preset (ensembles: what they combine).
    pub preset: String,
    /// Pooled UA.
    pub ua: f64,
    /// Pooled WA.
    pub wa: f64,
    /// Test utterances.
    pub n: usize,
    /// An ensemble of other runs.
    pub ensemble: bool,
}

/// The run folders under `root` that hold a `report.json`, newest first (folder names start
/// with a timestamp); unreadable ones are listed with why.
pub fn list(root: &Path) -> (Vec<SavedRun>, Vec<String>) {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.reverse();
    let (mut runs, mut problems) = (Vec::new(), Vec::new());
    for dir in dirs {
        if !dir.join("report.json").is_file() {
            continue;
        }
        match read_report(&dir) {
            Ok(r) => runs.push(SavedRun {
                preset: r.preset.clone(),
                ua: r.pooled.ua,
                wa: r.pooled.wa,
                n: r.pooled.n as usize,
                ensemble: !r.members.is_empty(),
                dir,
            }),
            Err(e) => problems.push(e),
        }
    }
    (runs, problems)
}

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
    v.pooled = Some(r.pooled);
    Ok(v)
}

/// State of the saved-runs section.
#[derive(Default)]
pub struct SavedRunsPanel {
    /// Listed runs (None until listed).
    pub runs: Option<Vec<SavedRun>>,
    /// Reports that could not be read.
    pub problems: Vec<String>,
    /// Ticked for an ensemble (indices into `runs`).
    pub ticked: std::collections::BTreeSet<usize>,
    /// Voting rule.
    pub vote: Vote,
    /// An ensemble is being built.
    pub busy: bool,
    /// Outcome of the last ensemble or open.
    pub message: Option<Result<String, String>>,
}

impl SavedRunsPanel {
    /// Takes a listing.
    pub fn take_list(&mut self, runs: Vec<SavedRun>, problems: Vec<String>) {
        self.ticked.clear();
        self.runs = Some(runs);
        self.problems = problems;
    }

    /// Draws the section: the list with Open buttons and ticks, the vote and the Ensemble button.
    pub fn ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<super::AppCommand>) {
        egui::CollapsingHeader::new("Saved runs and ensembles")
            .id_salt("saved_runs")
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    if ui.button("Refresh list").clicked() || self.runs.is_none() {
                        cmds.push(super::AppCommand::ListRuns);
                        self.runs.get_or_insert_with(Vec::new);
                    }
                    ui.label("Vote:");
                    ui.radio_value(&mut self.vote, Vote::Hard, "hard (majority)")
                        .on_hover_text("The most frequent predicted class; a tie goes to the larger summed probability.");
                    ui.radio_value(&mut self.vote, Vote::Soft, "soft (mean probability)");
                    let n = self.ticked.len();
                    let go = ui.add_enabled(
                        n >= 2 && !self.busy,
                        egui::Button::new(format!("Ensemble ({n} ticked)")),
                    );
                    if go.clicked()
                        && let Some(runs) = &self.runs
                    {
                        let dirs: Vec<PathBuf> = self
                            .ticked
                            .iter()
                            .filter_map(|&i| runs.get(i).map(|r| r.dir.clone()))
                            .collect();
                        self.busy = true;
                        self.message = None;
                        cmds.push(super::AppCommand::Ensemble {
                            runs: dirs,
                            vote: self.vote,
                        });
                    }
                    if self.busy {
                        ui.spinner();
                    }
                });
                match &self.message {
                    Some(Ok(m)) => {
                        ui.label(m);
                    }
                    Some(Err(e)) => {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                    }
                    None => {}
                }
                for p in &self.problems {
                    ui.colored_label(ui.visuals().warn_fg_color, p);
                }
                let Some(runs) = &self.runs else { return };
                if runs.is_empty() {
                    ui.label("No finished runs in the runs folder yet.");
                    return;
                }
                egui::Grid::new("saved_runs_grid")
                    .striped(true)
                    .show(ui, |ui| {
                        for h in ["", "run", "preset", "UA", "WA", "n", ""] {
                            ui.label(egui::RichText::new(h).strong());
                        }
                        ui.end_row();
                        for (i, r) in runs.iter().enumerate() {
                            let mut on = self.ticked.contains(&i);
                            if ui.checkbox(&mut on, "").changed() {
                                if on {
                                    self.ticked.insert(i);
                                } else {
                                    self.ticked.remove(&i);
                                }
                            }
                            ui.label(
                                r.dir
                                    .file_name()
                                    .map(|n| n.to_string_lossy().to_string())
                                    .unwrap_or_default(),
                            )
                            .on_hover_text(r.dir.display().to_string());
                            ui.label(if r.ensemble {
                                format!("{} (ensemble)", r.preset)
                            } else {
                                r.preset.clone()
                            });
                            ui.label(format!("{:.3}", r.ua));
                            ui.label(format!("{:.3}", r.wa));
                            ui.label(r.n.to_string());
                            if ui.button("Open").clicked() {
                                cmds.push(super::AppCommand::OpenRun(r.dir.clone()));
                            }
                            ui.end_row();
                        }
                    });
            });
    }
}
