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
    /// Dimensional runs: the pooled mean CCC (then UA and WA do not apply).
    pub mean_ccc: Option<f64>,
    /// Multi-label runs: the pooled macro F1 over labels (then UA and WA do not apply).
    pub macro_f1: Option<f64>,
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
                n: match (&r.dimensional, &r.multi_label) {
                    (Some(d), _) => d.pooled.first().map_or(0, |p| p.n),
                    (None, Some(m)) => m.pooled.n,
                    (None, None) => r.pooled.n as usize,
                },
                mean_ccc: r.dimensional.as_ref().map(|d| d.mean_ccc),
                macro_f1: r.multi_label.as_ref().map(|m| m.pooled.macro_f1),
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
    if let Some(m) = r.multi_label {
        v.classes = m.labels.clone();
        v.multi_label_summary = Some(m);
    }
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
    /// Layer-weight profiles of the ticked runs, or why they cannot be compared.
    pub profiles: Option<Result<Vec<crate::train::layer_profiles::Profile>, String>>,
    /// The ticked runs side by side (the first ticked is the baseline), or why not.
    pub comparison: Option<Result<crate::train::runs::Comparison, String>>,
}

impl SavedRunsPanel {
    /// The compared layer-weight profiles, with CSV + SVG export next to the runs.
    fn profiles_ui(&mut self, ui: &mut egui::Ui) {
        use egui_plot::{Legend, Line, Plot, PlotPoints};
        let Some(p) = &self.profiles else { return };
        let profiles = match p {
            Ok(p) => p.clone(),
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
        };
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new("Layer-weight profiles").strong());
            if ui.button("Export CSV + SVG").clicked() {
                let root = self
                    .runs
                    .as_ref()
                    .and_then(|r| r.first())
                    .and_then(|r| r.dir.parent().map(Path::to_path_buf))
                    .unwrap_or_else(|| crate::paths::Paths::from_env().runs);
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let stem = root.join(format!("layer-weights-{stamp}"));
                self.message = Some(
                    crate::train::layer_profiles::export(&profiles, &stem)
                        .map(|(c, s)| format!("wrote {} and {}", c.display(), s.display())),
                );
            }
            if ui.button("Close").clicked() {
                self.profiles = None;
            }
        });
        Plot::new("layer_profiles")
            .height(200.0)
            .allow_scroll(false)
            .include_y(0.0)
            .legend(Legend::default())
            .x_axis_label("hidden state (0 = before the transformer)")
            .show(ui, |pl| {
                for (i, p) in profiles.iter().enumerate() {
                    let pts: Vec<[f64; 2]> = p
                        .weights
                        .iter()
                        .enumerate()
                        .map(|(l, v)| [l as f64, *v as f64])
                        .collect();
                    pl.line(
                        Line::new(p.label.clone(), PlotPoints::from(pts))
                            .color(super::plots::fold_color(i)),
                    );
                }
            });
    }

    /// The comparison of the ticked runs as Markdown, with Markdown + CSV export.
    fn comparison_ui(&mut self, ui: &mut egui::Ui) {
        let Some(c) = &self.comparison else { return };
        let c = match c {
            Ok(c) => c,
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("Compare: {e}"));
                if ui.button("Close").clicked() {
                    self.comparison = None;
                }
                return;
            }
        };
        let md = c.markdown();
        let csv = c.csv();
        let root = c.runs[0]
            .summary
            .dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| crate::paths::Paths::from_env().runs);
        let (mut export, mut close) = (false, false);
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new("Run comparison").strong());
            export = ui.button("Export Markdown + CSV").clicked();
            close = ui.button("Close").clicked();
        });
        if export {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let stem = root.join(format!("comparison-{stamp}"));
            let (m, v) = (stem.with_extension("md"), stem.with_extension("csv"));
            self.message = Some(
                crate::fsutil::write_text_atomic(&m, &md)
                    .and_then(|_| crate::fsutil::write_text_atomic(&v, &csv))
                    .map(|_| format!("wrote {} and {}", m.display(), v.display()))
                    .map_err(|e| format!("{}: {e}", stem.display())),
            );
        }
        if close {
            self.comparison = None;
            return;
        }
        egui::ScrollArea::vertical()
            .id_salt("comparison_md")
            .max_height(320.0)
            .show(ui, |ui| {
                ui.label(egui::RichText::new(md).monospace().small());
            });
    }

    /// Folders of the ticked runs.
    fn ticked_dirs(&self) -> Vec<PathBuf> {
        let runs = self.runs.as_deref().unwrap_or_default();
        self.ticked
            .iter()
            .filter_map(|&i| runs.get(i).map(|r| r.dir.clone()))
            .collect()
    }

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
                    if go.clicked() {
                        let dirs = self.ticked_dirs();
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
                    if ui
                        .add_enabled(n >= 1, egui::Button::new("Compare layer weights"))
                        .on_hover_text("the learned layer weights of the ticked runs (per dimension where learned per dimension) over each other")
                        .clicked()
                    {
                        let dirs = self.ticked_dirs();
                        self.profiles = Some(crate::train::layer_profiles::profiles(&dirs));
                    }
                    if ui
                        .add_enabled((2..=6).contains(&n), egui::Button::new("Compare runs"))
                        .on_hover_text("2–6 ticked runs side by side against the first: metrics with deltas, per-fold values with a paired test, recall per class, preset differences")
                        .clicked()
                    {
                        let dirs = self.ticked_dirs();
                        self.comparison = Some(crate::train::runs::compare(&dirs));
                    }
                });
                self.profiles_ui(ui);
                self.comparison_ui(ui);
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
                        for h in ["", "run", "preset", "UA / CCC", "WA", "n", ""] {
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
                            match (r.mean_ccc, r.macro_f1) {
                                (Some(c), _) => {
                                    ui.label(format!("CCC {c:.3}"))
                                        .on_hover_text("dimensional run: pooled CCC averaged over the dimensions");
                                    ui.label("–");
                                }
                                (None, Some(f)) => {
                                    ui.label(format!("F1 {f:.3}"))
                                        .on_hover_text("multi-label run: pooled macro F1 over the labels");
                                    ui.label("–");
                                }
                                (None, None) => {
                                    ui.label(format!("{:.3}", r.ua));
                                    ui.label(format!("{:.3}", r.wa));
                                }
                            }
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
