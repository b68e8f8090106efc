//! The Runs panel: every run folder under the runs folder (and folders the user adds,
//! remembered between launches) as a sortable, filterable table; open a run into Results,
//! name it, note it, move it to the trash, train again with its exact preset; tick 2–6 runs to
//! compare them (metrics with deltas, a paired test over shared folds, recall bars, overlaid
//! validation curves, preset differences; Markdown + CSV export), to combine them into an
//! ensemble, or to overlay their learned layer weights.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use eframe::egui;
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints};

use super::AppCommand;
use crate::train::EpochMetrics;
use crate::train::ensemble::Vote;
use crate::train::runs::{Comparison, RunNotes, RunStatus, RunSummary};

/// Column the table is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SortKey {
    /// Start time (folder name).
    #[default]
    Date,
    /// Tag, else folder name.
    Name,
    /// Preset.
    Preset,
    /// Task.
    Task,
    /// Status.
    Status,
    /// Headline metric.
    Headline,
    /// Training time.
    Duration,
}

/// Status filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum StatusFilter {
    /// Every run.
    #[default]
    All,
    /// Finished runs.
    Finished,
    /// Stopped runs.
    Stopped,
    /// Failed runs.
    Failed,
    /// Running (or ended without a report).
    NoReport,
}

impl StatusFilter {
    fn accepts(self, s: &RunStatus) -> bool {
        matches!(
            (self, s),
            (StatusFilter::All, _)
                | (StatusFilter::Finished, RunStatus::Finished)
                | (StatusFilter::Stopped, RunStatus::Stopped)
                | (StatusFilter::Failed, RunStatus::Failed(_))
                | (StatusFilter::NoReport, RunStatus::NoReport)
        )
    }

    fn name(self) -> &'static str {
        match self {
            StatusFilter::All => "any status",
            StatusFilter::Finished => "finished",
            StatusFilter::Stopped => "stopped",
            StatusFilter::Failed => "failed",
            StatusFilter::NoReport => "running / no report",
        }
    }
}

/// One compared run's validation curve: (label, mean over folds of the validation headline per
/// epoch) — UA, mean CCC or macro F1.
pub type Curve = (String, Vec<[f64; 2]>);

/// Seconds between re-listings while a Slurm run has tasks queued or running.
pub const SLURM_RELIST_SECS: u64 = 5;

/// State of the Runs panel.
#[derive(Default)]
pub struct RunsPanel {
    /// Listed runs (None until listed).
    pub runs: Option<Vec<RunSummary>>,
    /// Folders that could not be read, with why.
    pub problems: Vec<String>,
    /// Folders holding run folders besides the data folder's runs (remembered).
    pub roots: Vec<PathBuf>,
    /// Folder typed into "Add folder".
    pub new_root: String,
    /// Free-text filter (folder, name, preset, corpora, note).
    pub filter: String,
    /// Only runs on this corpus (folder name; empty = any).
    pub corpus_filter: String,
    /// Only runs of this preset (empty = any).
    pub preset_filter: String,
    /// Status filter.
    pub status_filter: StatusFilter,
    /// Sort column and whether ascending (default: newest first).
    pub sort: (SortKey, bool),
    /// Ticked runs (folders).
    pub ticked: BTreeSet<PathBuf>,
    /// Voting rule for ensembles.
    pub vote: Vote,
    /// An ensemble is being built.
    pub busy: bool,
    /// Outcome of the last action.
    pub message: Option<Result<String, String>>,
    /// Layer-weight profiles of the ticked runs, or why they cannot be compared.
    pub profiles: Option<Result<Vec<crate::train::layer_profiles::Profile>, String>>,
    /// The ticked runs side by side (the baseline first), or why not.
    pub comparison: Option<Result<Comparison, String>>,
    /// When the list was last read.
    pub listed_at: Option<std::time::Instant>,
    /// A re-listing for the Slurm states is under way.
    pub listing: bool,
    /// Validation curves of the compared runs.
    pub curves: Vec<Curve>,
    /// The compared runs' baseline (folder; default: the first ticked in table order).
    pub baseline: Option<PathBuf>,
    /// Run whose name and note are being edited.
    pub editing: Option<(PathBuf, RunNotes)>,
    /// Run waiting for the user to confirm the move to the trash.
    pub confirm_trash: Option<PathBuf>,
}

/// Last path component, or the whole path.
fn short(p: &str) -> String {
    Path::new(p)
        .file_name()
        .map_or(p.to_string(), |n| n.to_string_lossy().to_string())
}

fn folder_name(r: &RunSummary) -> String {
    r.dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// The name shown for a run: its tag, else its folder name without the leading timestamp
/// (the date has its own column).
pub fn display_name(r: &RunSummary) -> String {
    if !r.tag.is_empty() {
        return r.tag.clone();
    }
    let name = folder_name(r);
    let b = name.as_bytes();
    if b.len() > 16 && b[8] == b'-' && b[15] == b'-' && b[..8].iter().all(u8::is_ascii_digit) {
        name[16..].to_string()
    } else {
        name
    }
}

/// The validation headline per epoch, averaged over the folds that have it.
pub fn mean_valid_curve(rows: &[EpochMetrics]) -> Vec<[f64; 2]> {
    let mut by_epoch: std::collections::BTreeMap<usize, (f64, usize)> = Default::default();
    for m in rows {
        let v = match &m.valid_ccc {
            Some(c) if !c.is_empty() => c.iter().sum::<f64>() / c.len() as f64,
            _ => m.valid_ua,
        };
        if v.is_finite() {
            let e = by_epoch.entry(m.epoch).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    by_epoch
        .into_iter()
        .map(|(e, (s, n))| [e as f64, s / n as f64])
        .collect()
}

impl RunsPanel {
    /// Every folder the list reads: the data folder's runs, then the added ones.
    pub fn all_roots(&self, runs_root: &Path) -> Vec<PathBuf> {
        let mut v = vec![runs_root.to_path_buf()];
        v.extend(self.roots.iter().filter(|r| *r != runs_root).cloned());
        v
    }

    /// Takes a listing (ticks of runs that are gone are dropped).
    pub fn take_list(&mut self, runs: Vec<RunSummary>, problems: Vec<String>) {
        self.ticked.retain(|d| runs.iter().any(|r| &r.dir == d));
        self.runs = Some(runs);
        self.problems = problems;
        self.listed_at = Some(std::time::Instant::now());
        self.listing = false;
    }

    /// While a listed run has Slurm tasks queued or running, lists the runs again every
    /// [`SLURM_RELIST_SECS`] (on the jobs thread: `squeue` never runs on the UI thread).
    fn relist_slurm_runs(&mut self, ui: &egui::Ui, cmds: &mut Vec<AppCommand>) {
        let active = self
            .runs
            .as_ref()
            .is_some_and(|r| r.iter().any(|r| r.slurm.as_ref().is_some_and(|s| s.active)));
        if !active || self.listing {
            return;
        }
        let due = self
            .listed_at
            .is_none_or(|t| t.elapsed().as_secs() >= SLURM_RELIST_SECS);
        if due {
            self.listing = true;
            cmds.push(AppCommand::ListRuns);
        } else {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_secs(SLURM_RELIST_SECS));
        }
    }

    /// The rows that pass the filters, in the chosen order.
    pub fn visible(&self) -> Vec<&RunSummary> {
        let Some(runs) = &self.runs else {
            return Vec::new();
        };
        let needle = self.filter.trim().to_lowercase();
        let mut rows: Vec<&RunSummary> = runs
            .iter()
            .filter(|r| self.status_filter.accepts(&r.status))
            .filter(|r| self.preset_filter.is_empty() || r.preset == self.preset_filter)
            .filter(|r| {
                self.corpus_filter.is_empty()
                    || r.corpora.iter().any(|c| short(c) == self.corpus_filter)
            })
            .filter(|r| {
                needle.is_empty()
                    || [
                        folder_name(r),
                        r.tag.clone(),
                        r.preset.clone(),
                        r.corpora.join(" "),
                        r.note.clone(),
                        r.task.clone(),
                        r.protocol.clone(),
                    ]
                    .iter()
                    .any(|s| s.to_lowercase().contains(&needle))
            })
            .collect();
        let (key, ascending) = self.sort;
        let num = |v: Option<f64>| v.filter(|x| x.is_finite()).unwrap_or(f64::NEG_INFINITY);
        rows.sort_by(|a, b| {
            let o = match key {
                SortKey::Date => folder_name(a).cmp(&folder_name(b)),
                SortKey::Name => display_name(a)
                    .to_lowercase()
                    .cmp(&display_name(b).to_lowercase()),
                SortKey::Preset => a.preset.cmp(&b.preset),
                SortKey::Task => a.task.cmp(&b.task),
                SortKey::Status => a.status.word().cmp(b.status.word()),
                SortKey::Headline => num(a.headline.as_ref().map(|h| h.1))
                    .total_cmp(&num(b.headline.as_ref().map(|h| h.1))),
                SortKey::Duration => num(a.train_secs).total_cmp(&num(b.train_secs)),
            };
            if ascending { o } else { o.reverse() }
        });
        rows
    }

    /// The ticked runs in table order, the baseline first.
    fn ticked_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .visible()
            .iter()
            .filter(|r| self.ticked.contains(&r.dir))
            .map(|r| r.dir.clone())
            .collect();
        // Ticked runs hidden by a filter still count.
        for d in &self.ticked {
            if !dirs.contains(d) {
                dirs.push(d.clone());
            }
        }
        if let Some(b) = &self.baseline
            && let Some(i) = dirs.iter().position(|d| d == b)
        {
            let b = dirs.remove(i);
            dirs.insert(0, b);
        }
        dirs
    }

    /// Compares the ticked runs (and reads their validation curves).
    pub fn compare_ticked(&mut self) {
        let dirs = self.ticked_dirs();
        let c = crate::train::runs::compare(&dirs);
        self.curves = match &c {
            Ok(c) => c
                .runs
                .iter()
                .filter_map(|r| {
                    let folds: Vec<String> = r.folds.keys().cloned().collect();
                    let rows =
                        crate::train::run_metrics::read_metrics(&r.summary.dir, &folds).ok()?;
                    Some((display_name(&r.summary), mean_valid_curve(&rows)))
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        self.comparison = Some(c);
    }

    /// The header row's sort buttons.
    fn sort_header(&mut self, ui: &mut egui::Ui, key: SortKey, name: &str) {
        let arrow = match self.sort {
            (k, false) if k == key => " v",
            (k, true) if k == key => " ^",
            _ => "",
        };
        if ui
            .add(
                egui::Button::new(egui::RichText::new(format!("{name}{arrow}")).strong())
                    .frame(false),
            )
            .on_hover_text("sort by this column (again: reverse)")
            .clicked()
        {
            self.sort = if self.sort.0 == key {
                (key, !self.sort.1)
            } else {
                (
                    key,
                    !matches!(key, SortKey::Date | SortKey::Headline | SortKey::Duration),
                )
            };
        }
    }

    /// Folders, filters and the ensemble / compare actions.
    fn toolbar_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<AppCommand>) {
        ui.horizontal(|ui| {
            if ui.button("Refresh list").clicked() {
                cmds.push(AppCommand::ListRuns);
            }
            let l = ui.label("Add folder");
            ui.add(
                egui::TextEdit::singleline(&mut self.new_root)
                    .desired_width(260.0)
                    .hint_text("a folder holding run folders"),
            )
            .labelled_by(l.id);
            if ui
                .add_enabled(!self.new_root.trim().is_empty(), egui::Button::new("Add"))
                .clicked()
            {
                let p = PathBuf::from(self.new_root.trim());
                if p.is_dir() {
                    if !self.roots.contains(&p) {
                        self.roots.push(p);
                    }
                    self.new_root.clear();
                    cmds.push(AppCommand::ListRuns);
                } else {
                    self.message = Some(Err(format!("{}: not a folder", p.display())));
                }
            }
        });
        let mut remove = None;
        for (i, r) in self.roots.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.label(egui::RichText::new(format!("also listing {}", r.display())).small());
                if ui.small_button("Remove folder").clicked() {
                    remove = Some(i);
                }
            });
        }
        if let Some(i) = remove {
            self.roots.remove(i);
            cmds.push(AppCommand::ListRuns);
        }
        let runs = self.runs.as_deref().unwrap_or_default();
        let mut corpora: Vec<String> = runs
            .iter()
            .flat_map(|r| r.corpora.iter().map(|c| short(c)))
            .collect();
        corpora.sort();
        corpora.dedup();
        let mut presets: Vec<String> = runs.iter().map(|r| r.preset.clone()).collect();
        presets.sort();
        presets.dedup();
        ui.horizontal(|ui| {
            let l = ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    .desired_width(180.0)
                    .hint_text("name, preset, corpus, note…"),
            )
            .labelled_by(l.id);
            let any = |s: &str| {
                if s.is_empty() {
                    "any".to_string()
                } else {
                    s.to_string()
                }
            };
            let l = ui.label("Corpus");
            egui::ComboBox::from_id_salt("runs_corpus_filter")
                .selected_text(any(&self.corpus_filter))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.corpus_filter, String::new(), "any");
                    for c in &corpora {
                        ui.selectable_value(&mut self.corpus_filter, c.clone(), c);
                    }
                })
                .response
                .labelled_by(l.id);
            let l = ui.label("Preset");
            egui::ComboBox::from_id_salt("runs_preset_filter")
                .selected_text(any(&self.preset_filter))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.preset_filter, String::new(), "any");
                    for p in &presets {
                        ui.selectable_value(&mut self.preset_filter, p.clone(), p);
                    }
                })
                .response
                .labelled_by(l.id);
            let l = ui.label("Status");
            egui::ComboBox::from_id_salt("runs_status_filter")
                .selected_text(self.status_filter.name())
                .show_ui(ui, |ui| {
                    for s in [
                        StatusFilter::All,
                        StatusFilter::Finished,
                        StatusFilter::Stopped,
                        StatusFilter::Failed,
                        StatusFilter::NoReport,
                    ] {
                        ui.selectable_value(&mut self.status_filter, s, s.name());
                    }
                })
                .response
                .labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            let n = self.ticked.len();
            ui.label(format!("{n} ticked:"));
            if ui
                .add_enabled((2..=6).contains(&n), egui::Button::new("Compare runs"))
                .on_hover_text("2–6 ticked runs side by side against the baseline: metrics with deltas, per-fold values with a paired test, recall per class, validation curves, preset differences")
                .clicked()
            {
                self.compare_ticked();
            }
            ui.separator();
            ui.label("Vote:");
            ui.radio_value(&mut self.vote, Vote::Hard, "hard (majority)")
                .on_hover_text("The most frequent predicted class; a tie goes to the larger summed probability.");
            ui.radio_value(&mut self.vote, Vote::Soft, "soft (mean probability)");
            if ui
                .add_enabled(n >= 2 && !self.busy, egui::Button::new(format!("Ensemble ({n} ticked)")))
                .clicked()
            {
                self.busy = true;
                self.message = None;
                cmds.push(AppCommand::Ensemble {
                    runs: self.ticked_dirs(),
                    vote: self.vote,
                });
            }
            if self.busy {
                ui.spinner();
            }
            ui.separator();
            if ui
                .add_enabled(n >= 1, egui::Button::new("Compare layer weights"))
                .on_hover_text("the learned layer weights of the ticked runs (per dimension where learned per dimension) over each other")
                .clicked()
            {
                self.profiles = Some(crate::train::layer_profiles::profiles(&self.ticked_dirs()));
            }
        });
    }

    /// The table of runs.
    fn table_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<AppCommand>) {
        let rows: Vec<RunSummary> = self.visible().into_iter().cloned().collect();
        let total = self.runs.as_ref().map_or(0, Vec::len);
        ui.label(format!("{} of {total} runs shown", rows.len()));
        {
            egui::Grid::new("runs_grid").striped(true).show(ui, |ui| {
                ui.label("");
                ui.label("");
                self.sort_header(ui, SortKey::Date, "date");
                self.sort_header(ui, SortKey::Name, "name");
                self.sort_header(ui, SortKey::Preset, "preset");
                ui.label(egui::RichText::new("corpora").strong());
                self.sort_header(ui, SortKey::Task, "task");
                ui.label(egui::RichText::new("protocol").strong());
                self.sort_header(ui, SortKey::Status, "status");
                self.sort_header(ui, SortKey::Headline, "headline");
                ui.label(egui::RichText::new("WA / macro-F1").strong());
                self.sort_header(ui, SortKey::Duration, "train time");
                ui.label(egui::RichText::new("backend").strong());
                ui.end_row();
                for r in &rows {
                    let mut on = self.ticked.contains(&r.dir);
                    if ui.checkbox(&mut on, "").on_hover_text(format!("tick {}", folder_name(r))).changed() {
                        if on {
                            self.ticked.insert(r.dir.clone());
                        } else {
                            self.ticked.remove(&r.dir);
                        }
                    }
                    ui.horizontal(|ui| {
                        let has_report = matches!(r.status, RunStatus::Finished | RunStatus::Stopped);
                        if ui.add_enabled(has_report, egui::Button::new("Open").small()).on_hover_text("show in Results").clicked() {
                            cmds.push(AppCommand::OpenRun(r.dir.clone()));
                        }
                        if ui.small_button("Name / note").clicked() {
                            self.editing = Some((r.dir.clone(), RunNotes { tag: r.tag.clone(), note: r.note.clone() }));
                        }
                        if let Some(sl) = &r.slurm
                            && ui
                                .add_enabled(sl.done > 0, egui::Button::new("Collect").small())
                                .on_hover_text("write the report from the folds the Slurm tasks finished (train collect)")
                                .clicked()
                        {
                            cmds.push(AppCommand::CollectSlurmRun(r.dir.clone()));
                        }
                        if ui.small_button("Train again").on_hover_text("load this run's exact preset, corpus, protocol and seed, and train").clicked() {
                            cmds.push(AppCommand::TrainAgain(r.dir.clone()));
                        }
                        if ui.small_button("Delete…").on_hover_text("move to the trash folder (.trash beside the run)").clicked() {
                            self.confirm_trash = Some(r.dir.clone());
                        }
                    });
                    ui.label(&r.date);
                    let name = ui.label(display_name(r));
                    let mut hover = r.dir.display().to_string();
                    if !r.note.is_empty() {
                        hover.push_str(&format!("\nnote: {}", r.note));
                    }
                    name.on_hover_text(hover);
                    ui.label(&r.preset);
                    ui.label(r.corpora.iter().map(|c| short(c)).collect::<Vec<_>>().join(", "))
                        .on_hover_text(r.corpora.join("\n"));
                    ui.label(&r.task);
                    let sd = r.independence == "speaker-dependent";
                    let proto = ui.label(format!("{}{}", r.protocol, if sd { " (SD)" } else { "" }));
                    if !r.independence.is_empty() {
                        proto.on_hover_text(&r.independence);
                    }
                    match &r.status {
                        _ if r.slurm.is_some() => {
                            let sl = r.slurm.as_ref().expect("checked");
                            let state = if sl.active {
                                "Slurm: running"
                            } else if sl.done == sl.folds {
                                match r.status {
                                    RunStatus::Finished => "finished (Slurm)",
                                    _ => "Slurm: all folds done, collect",
                                }
                            } else {
                                "Slurm: folds missing, resubmit"
                            };
                            ui.label(format!("{state} ({}/{} folds)", sl.done, sl.folds))
                                .on_hover_text(format!("job {}\n{}", sl.jobs.join(", "), sl.summary));
                        }
                        RunStatus::Failed(e) => {
                            ui.colored_label(ui.visuals().error_fg_color, "failed").on_hover_text(e);
                        }
                        s => {
                            ui.label(match s {
                                RunStatus::NoReport => "running / no report",
                                s => s.word(),
                            });
                        }
                    }
                    ui.label(r.headline.as_ref().map_or("—".into(), |(n, v)| format!("{n} {v:.3}")));
                    ui.label(r.ua_wa_f1.map_or("—".into(), |(_, w, f)| format!("{w:.3} / {f:.3}")));
                    ui.label(r.train_secs.map_or("—".into(), super::training::fmt_secs));
                    ui.label(short(&r.backend)).on_hover_text(&r.backend);
                    ui.end_row();
                }
            });
        }
    }

    /// Name / note editor and the trash confirmation.
    fn dialogs_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<AppCommand>) {
        if let Some(dir) = self.confirm_trash.clone() {
            ui.group(|ui| {
                ui.label(format!(
                    "Move {} to the trash ({})? Nothing is deleted; the folder can be moved back.",
                    dir.display(),
                    dir.parent()
                        .map_or(PathBuf::new(), |p| p.join(crate::train::runs::TRASH_DIR))
                        .display()
                ));
                ui.horizontal(|ui| {
                    if ui.button("Move to trash").clicked() {
                        self.message = Some(
                            crate::train::runs::trash(&dir)
                                .map(|to| format!("moved to {}", to.display())),
                        );
                        self.ticked.remove(&dir);
                        self.confirm_trash = None;
                        cmds.push(AppCommand::ListRuns);
                    }
                    if ui.button("Cancel").clicked() {
                        self.confirm_trash = None;
                    }
                });
            });
        }
        let mut done = false;
        if let Some((dir, notes)) = &mut self.editing {
            ui.group(|ui| {
                ui.label(format!("Name and note of {}", dir.display()));
                ui.horizontal(|ui| {
                    let l = ui.label("Name");
                    ui.add(egui::TextEdit::singleline(&mut notes.tag).desired_width(240.0))
                        .labelled_by(l.id);
                });
                let l = ui.label("Note");
                ui.add(
                    egui::TextEdit::multiline(&mut notes.note)
                        .desired_rows(3)
                        .desired_width(500.0),
                )
                .labelled_by(l.id);
                ui.horizontal(|ui| {
                    if ui.button("Save name and note").clicked() {
                        self.message =
                            Some(crate::train::runs::write_notes(dir, notes).map(|()| {
                                format!(
                                    "saved {}",
                                    dir.join(crate::train::runs::NOTES_FILE).display()
                                )
                            }));
                        done = true;
                        cmds.push(AppCommand::ListRuns);
                    }
                    if ui.button("Cancel").clicked() {
                        done = true;
                    }
                });
            });
        }
        if done {
            self.editing = None;
        }
    }

    /// The layer-weight profiles of the ticked runs, with CSV + SVG export.
    fn profiles_ui(&mut self, ui: &mut egui::Ui, runs_root: &Path) {
        let Some(p) = &self.profiles else { return };
        let profiles = match p {
            Ok(p) => p.clone(),
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                if ui.button("Close").clicked() {
                    self.profiles = None;
                }
                return;
            }
        };
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new("Layer-weight profiles").strong());
            if ui.button("Export CSV + SVG").clicked() {
                let stem = runs_root.join(format!("layer-weights-{}", stamp()));
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

    /// The comparison: baseline choice, recall bars, overlaid validation curves and the
    /// Markdown (metrics, per fold, paired test, preset differences), with export.
    fn comparison_ui(&mut self, ui: &mut egui::Ui, runs_root: &Path) {
        let Some(c) = &self.comparison else { return };
        let c = match c {
            Ok(c) => c.clone(),
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("Compare: {e}"));
                if ui.button("Close").clicked() {
                    self.comparison = None;
                }
                return;
            }
        };
        let (mut export, mut close, mut rebase) = (false, false, None);
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new("Run comparison").strong());
            let l = ui.label("Baseline");
            egui::ComboBox::from_id_salt("compare_baseline")
                .selected_text(display_name(&c.runs[0].summary))
                .show_ui(ui, |ui| {
                    for r in &c.runs {
                        if ui
                            .selectable_label(
                                r.summary.dir == c.runs[0].summary.dir,
                                display_name(&r.summary),
                            )
                            .clicked()
                        {
                            rebase = Some(r.summary.dir.clone());
                        }
                    }
                })
                .response
                .labelled_by(l.id);
            export = ui.button("Export Markdown + CSV").clicked();
            close = ui.button("Close").clicked();
        });
        if let Some(b) = rebase
            && b != c.runs[0].summary.dir
        {
            self.baseline = Some(b);
            self.compare_ticked();
            return;
        }
        if close {
            self.comparison = None;
            return;
        }
        let md = c.markdown();
        if export {
            let stem = runs_root.join(format!("comparison-{}", stamp()));
            let (m, v) = (stem.with_extension("md"), stem.with_extension("csv"));
            self.message = Some(
                crate::fsutil::write_text_atomic(&m, &md)
                    .and_then(|_| crate::fsutil::write_text_atomic(&v, &c.csv()))
                    .map(|_| format!("wrote {} and {}", m.display(), v.display()))
                    .map_err(|e| format!("{}: {e}", stem.display())),
            );
        }
        ui.horizontal(|ui| {
            let classes: Vec<String> = c.runs[0].recall.keys().cloned().collect();
            if !classes.is_empty() {
                ui.vertical(|ui| {
                    ui.label(egui::RichText::new("Recall per class (pooled test)").strong());
                    ui.label(
                        egui::RichText::new(format!("left to right: {}", classes.join(", ")))
                            .small(),
                    );
                    let n = c.runs.len() as f64;
                    let width = 0.8 / n;
                    Plot::new("compare_recall")
                        .width(460.0)
                        .height(200.0)
                        .allow_scroll(false)
                        .include_y(0.0)
                        .include_y(1.0)
                        .legend(Legend::default())
                        // One grid line per class, each labelled with its name.
                        .x_grid_spacer(egui_plot::uniform_grid_spacer(|_| [1.0, 1.0, 1.0]))
                        .x_axis_formatter(move |m, _| {
                            let i = m.value.round();
                            if (m.value - i).abs() < 1e-6 && i >= 0.0 {
                                classes.get(i as usize).cloned().unwrap_or_default()
                            } else {
                                String::new()
                            }
                        })
                        .show(ui, |p| {
                            let names: Vec<String> = c.runs[0].recall.keys().cloned().collect();
                            for (k, r) in c.runs.iter().enumerate() {
                                let bars: Vec<Bar> = names
                                    .iter()
                                    .enumerate()
                                    .filter_map(|(i, cl)| {
                                        r.recall.get(cl).map(|v| {
                                            Bar::new(i as f64 - 0.4 + width * (k as f64 + 0.5), *v)
                                                .width(width)
                                        })
                                    })
                                    .collect();
                                p.bar_chart(
                                    BarChart::new(display_name(&r.summary), bars)
                                        .color(super::plots::fold_color(k)),
                                );
                            }
                        });
                });
            }
            if !self.curves.is_empty() {
                ui.vertical(|ui| {
                    ui.label(
                        egui::RichText::new("Validation curves (mean over folds: UA, or mean CCC)")
                            .strong(),
                    );
                    Plot::new("compare_curves")
                        .width(460.0)
                        .height(200.0)
                        .allow_scroll(false)
                        .legend(Legend::default())
                        .x_axis_label("epoch")
                        .show(ui, |p| {
                            for (k, (name, pts)) in self.curves.iter().enumerate() {
                                p.line(
                                    Line::new(name.clone(), PlotPoints::from(pts.clone()))
                                        .color(super::plots::fold_color(k)),
                                );
                            }
                        });
                });
            }
        });
        egui::ScrollArea::vertical()
            .id_salt("comparison_md")
            .max_height(320.0)
            .show(ui, |ui| {
                ui.label(egui::RichText::new(md).monospace().small());
            });
    }

    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<AppCommand>, runs_root: &Path) {
        ui.heading("Run folders");
        if self.runs.is_none() {
            self.runs = Some(Vec::new());
            cmds.push(AppCommand::ListRuns);
        }
        ui.label(
            egui::RichText::new(format!(
                "Run folders under {} and the folders added here.",
                runs_root.display()
            ))
            .small(),
        );
        self.toolbar_ui(ui, cmds);
        self.relist_slurm_runs(ui, cmds);
        super::plots::outcome_ui(ui, &self.message);
        for p in &self.problems {
            ui.colored_label(ui.visuals().warn_fg_color, format!("cannot read: {p}"));
        }
        self.dialogs_ui(ui, cmds);
        self.profiles_ui(ui, runs_root);
        self.comparison_ui(ui, runs_root);
        ui.separator();
        if self.runs.as_ref().is_some_and(Vec::is_empty) {
            ui.label("No runs in these folders yet.");
            return;
        }
        self.table_ui(ui, cmds);
    }
}

/// Seconds since the epoch, for export file names.
fn stamp() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, preset: &str, ua: f64, status: RunStatus) -> RunSummary {
        RunSummary {
            dir: PathBuf::from(format!("/runs/{name}")),
            date: String::new(),
            preset: preset.into(),
            corpora: vec!["/data/emodb".into()],
            task: "categorical".into(),
            protocol: "loso".into(),
            independence: "speaker-independent".into(),
            status,
            slurm: None,
            headline: Some(("UA".into(), ua)),
            ua_wa_f1: Some((ua, ua, ua)),
            train_secs: Some(ua * 100.0),
            backend: "cpu".into(),
            tag: String::new(),
            note: String::new(),
        }
    }

    #[test]
    fn filters_and_sorts() {
        let mut p = RunsPanel {
            runs: Some(vec![
                run("20260101-a", "demo", 0.5, RunStatus::Finished),
                run("20260102-b", "paper-full", 0.7, RunStatus::Finished),
                run("20260103-c", "demo", 0.6, RunStatus::Failed("boom".into())),
            ]),
            sort: (SortKey::Date, false),
            ..Default::default()
        };
        let names = |p: &RunsPanel| {
            p.visible()
                .iter()
                .map(|r| folder_name(r))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&p), ["20260103-c", "20260102-b", "20260101-a"]);
        p.sort = (SortKey::Headline, false);
        assert_eq!(names(&p), ["20260102-b", "20260103-c", "20260101-a"]);
        p.status_filter = StatusFilter::Finished;
        assert_eq!(names(&p), ["20260102-b", "20260101-a"]);
        p.preset_filter = "demo".into();
        assert_eq!(names(&p), ["20260101-a"]);
        p.status_filter = StatusFilter::All;
        p.preset_filter.clear();
        p.filter = "PAPER".into();
        assert_eq!(names(&p), ["20260102-b"]);
        p.filter.clear();
        p.corpus_filter = "iemocap".into();
        assert!(p.visible().is_empty());
        p.corpus_filter = "emodb".into();
        assert_eq!(p.visible().len(), 3);
    }

    #[test]
    fn names_drop_the_timestamp_or_use_the_tag() {
        let mut r = run("20260101-120000-demo-k5", "demo", 0.5, RunStatus::Finished);
        assert_eq!(display_name(&r), "demo-k5");
        r.tag = "kernel 5".into();
        assert_eq!(display_name(&r), "kernel 5");
        let r = run("my-run", "demo", 0.5, RunStatus::Finished);
        assert_eq!(display_name(&r), "my-run");
    }

    #[test]
    fn mean_curve_averages_folds_per_epoch() {
        let m = |fold, epoch, ua| EpochMetrics {
            fold,
            epoch,
            valid_ua: ua,
            ..crate::train::run_metrics::blank()
        };
        let c = mean_valid_curve(&[m(0, 1, 0.2), m(1, 1, 0.4), m(0, 2, 0.5), m(1, 2, f64::NAN)]);
        assert_eq!(c.len(), 2);
        assert!((c[0][1] - 0.3).abs() < 1e-12 && (c[1][1] - 0.5).abs() < 1e-12);
    }
}
