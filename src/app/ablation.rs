//! Ablation controls of the Training panel: pick presets (one table row each) and seeds, run them
//! one after another under the panel's protocol on the open corpus (and target corpus), then see
//! the comparison table (also written as ablation.md / .csv / .json in the ablation folder).
//! With "Run on Slurm" the grid is submitted as a job array instead (README, "On a cluster"):
//! the task states refresh every few seconds and the table fills in as tasks finish.

use std::collections::BTreeSet;
use std::path::PathBuf;

use eframe::egui;

use super::AppCommand;
use crate::train::Preset;
use crate::train::ablation::AblationTable;
use crate::train::slurm::{SlurmGrid, SlurmOptions, TaskState};

/// Seconds between refreshes of a running Slurm grid's task states.
const SLURM_REFRESH_SECS: u64 = 3;

/// State of the ablation controls.
#[derive(Default)]
pub struct AblationControls {
    /// Names of the presets to compare.
    pub chosen: BTreeSet<String>,
    /// Seeds, comma-separated (empty = the protocol's seed field).
    pub seeds: String,
    /// Folder of the running or last ablation.
    pub out_dir: Option<PathBuf>,
    /// The last finished table (or why it could not be read).
    pub table: Option<Result<AblationTable, String>>,
    /// Submit to Slurm instead of running here.
    pub on_slurm: bool,
    /// Slurm resources per task.
    pub slurm_options: SlurmFields,
    /// The submitted grid, its task states and when they were last read.
    pub slurm: Option<SlurmJob>,
    /// The binary the Slurm tasks run (`None` = this program).
    pub slurm_binary: Option<PathBuf>,
}

/// Text fields of the Slurm resources.
#[derive(Default)]
pub struct SlurmFields {
    /// Partition.
    pub partition: String,
    /// Generic resources (gpu:1).
    pub gres: String,
    /// CPUs per task.
    pub cpus: String,
    /// Memory per task.
    pub mem: String,
    /// Time limit.
    pub time: String,
    /// Account.
    pub account: String,
}

impl SlurmFields {
    /// The resource fields (shared by the ablation and the single run).
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            for (name, hint, v) in [
                ("partition", "default", &mut self.partition),
                ("gres", "gpu:1", &mut self.gres),
                ("CPUs", "4", &mut self.cpus),
                ("memory", "16G", &mut self.mem),
                ("time", "02:00:00", &mut self.time),
                ("account", "", &mut self.account),
            ] {
                let l = ui.label(name);
                ui.add(
                    egui::TextEdit::singleline(v)
                        .desired_width(80.0)
                        .hint_text(hint),
                )
                .labelled_by(l.id);
            }
        });
        ui.label(
            egui::RichText::new(
                "The runs folder must be on storage the nodes share (README, \"On a cluster\").",
            )
            .small()
            .weak(),
        );
    }

    /// The options (empty fields are left to Slurm's defaults).
    pub fn options(&self) -> Result<SlurmOptions, String> {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        Ok(SlurmOptions {
            partition: opt(&self.partition),
            gres: opt(&self.gres),
            cpus: match opt(&self.cpus) {
                Some(c) => Some(
                    c.parse()
                        .map_err(|_| format!("CPUs per task '{c}' is not a whole number"))?,
                ),
                None => None,
            },
            mem: opt(&self.mem),
            time: opt(&self.time),
            account: opt(&self.account),
            extra: Vec::new(),
        })
    }
}

/// A grid on Slurm as the panel shows it.
pub struct SlurmJob {
    /// The grid (`slurm/grid.json`).
    pub grid: SlurmGrid,
    /// Task states at the last refresh.
    pub states: Vec<TaskState>,
    /// When they were read.
    pub read_at: std::time::Instant,
    /// Outcome of the last action (resubmit, cancel).
    pub message: Option<Result<String, String>>,
    /// A periodic refresh running on a helper thread (`squeue` and the run folders are read
    /// there, never on the UI thread): the states, and the table when they changed.
    refreshing: Option<crossbeam_channel::Receiver<Refreshed>>,
}

/// What a background refresh read.
type Refreshed = (Vec<TaskState>, Option<Result<AblationTable, String>>);

impl SlurmJob {
    /// A freshly submitted grid.
    pub fn new(grid: SlurmGrid) -> Self {
        let states = grid.states();
        Self {
            grid,
            states,
            read_at: std::time::Instant::now(),
            message: None,
            refreshing: None,
        }
    }

    /// Whether any task is still queued or running.
    pub fn active(&self) -> bool {
        self.states
            .iter()
            .any(|s| matches!(s, TaskState::Queued(_)))
    }
}

impl AblationControls {
    /// Parsed seeds (`fallback` when the field is empty).
    pub fn seeds(&self, fallback: u64) -> Result<Vec<u64>, String> {
        if self.seeds.trim().is_empty() {
            return Ok(vec![fallback]);
        }
        self.seeds
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("seed '{}' is not a whole number", s.trim()))
            })
            .collect()
    }

    /// Re-reads the Slurm task states (`squeue`, run reports, exit files) and the table of
    /// the finished tasks; returns whether anything changed.
    pub fn refresh_slurm(&mut self) -> bool {
        let Some(job) = &mut self.slurm else {
            return false;
        };
        let states = job.grid.states();
        job.read_at = std::time::Instant::now();
        let changed = states != job.states;
        job.states = states;
        if changed || self.table.is_none() {
            self.table = Some(job.grid.collect().map(|(t, _)| t));
        }
        changed
    }

    /// Refreshes a running Slurm grid every few seconds on a helper thread (called every
    /// frame: takes in a finished refresh, starts the next when due).
    pub fn tick(&mut self, ctx: &egui::Context) {
        let need_table = self.table.is_none();
        let Some(job) = &mut self.slurm else {
            return;
        };
        if let Some(rx) = &job.refreshing {
            match rx.try_recv() {
                Ok((states, table)) => {
                    job.refreshing = None;
                    job.read_at = std::time::Instant::now();
                    job.states = states;
                    if let Some(t) = table {
                        self.table = Some(t);
                    }
                }
                Err(crossbeam_channel::TryRecvError::Empty) => {}
                Err(crossbeam_channel::TryRecvError::Disconnected) => job.refreshing = None,
            }
        }
        let Some(job) = &mut self.slurm else {
            return;
        };
        let due = job.refreshing.is_none()
            && job.active()
            && job.read_at.elapsed().as_secs() >= SLURM_REFRESH_SECS;
        if due {
            let (tx, rx) = crossbeam_channel::bounded(1);
            let grid = job.grid.clone();
            let before = job.states.clone();
            let repaint = ctx.clone();
            let spawned = std::thread::Builder::new()
                .name("slurm-refresh".into())
                .spawn(move || {
                    let states = grid.states();
                    let table =
                        (states != before || need_table).then(|| grid.collect().map(|(t, _)| t));
                    let _ = tx.send((states, table));
                    repaint.request_repaint();
                });
            match spawned {
                Ok(_) => job.refreshing = Some(rx),
                // No thread to spare: read them here rather than never.
                Err(_) => {
                    self.refresh_slurm();
                }
            }
        }
        if self.slurm.as_ref().is_some_and(SlurmJob::active) {
            ctx.request_repaint_after(std::time::Duration::from_secs(SLURM_REFRESH_SECS));
        }
    }

    /// The Slurm grid's states and actions.
    fn slurm_ui(&mut self, ui: &mut egui::Ui) {
        let Some(job) = &self.slurm else {
            return;
        };
        let jobs: Vec<&str> = job
            .grid
            .submissions
            .iter()
            .map(|s| s.job_id.as_str())
            .collect();
        ui.label(
            egui::RichText::new(format!(
                "Slurm job {}: {}",
                jobs.join(", "),
                crate::train::slurm::summary(&job.states)
            ))
            .strong(),
        );
        let mut action = None;
        ui.horizontal(|ui| {
            if ui.button("Refresh").clicked() {
                action = Some("refresh");
            }
            if ui
                .add_enabled(
                    crate::train::slurm::to_resubmit(&job.states).is_some(),
                    egui::Button::new("Resubmit failed"),
                )
                .on_hover_text("submit again the tasks that failed or are missing")
                .clicked()
            {
                action = Some("resubmit");
            }
            if ui
                .add_enabled(job.active(), egui::Button::new("Cancel on Slurm"))
                .clicked()
            {
                action = Some("cancel");
            }
        });
        egui::Grid::new("slurm_tasks").striped(true).show(ui, |ui| {
            for h in ["task", "preset", "seed", "state", "log"] {
                ui.label(egui::RichText::new(h).strong());
            }
            ui.end_row();
            for (t, s) in job.grid.tasks.iter().zip(&job.states) {
                ui.label(t.index.to_string());
                ui.label(&t.preset);
                ui.label(t.seed.to_string());
                ui.label(s.describe());
                ui.label(egui::RichText::new(job.grid.log_text(t.index)).small());
                ui.end_row();
            }
        });
        super::plots::outcome_ui(ui, &job.message);
        match action {
            Some("refresh") => {
                self.refresh_slurm();
            }
            Some("resubmit") => {
                if let Some(job) = &mut self.slurm
                    && let Some(again) = crate::train::slurm::to_resubmit(&job.states)
                {
                    job.message = Some(
                        job.grid
                            .submit(&again)
                            .map(|id| format!("resubmitted tasks {again} as job {id}")),
                    );
                }
                self.refresh_slurm();
            }
            Some("cancel") => {
                if let Some(job) = &mut self.slurm {
                    job.message = Some(job.grid.cancel().map(|_| "cancelled".to_string()));
                }
                self.refresh_slurm();
            }
            _ => {}
        }
    }

    /// Reads the table of the finished ablation.
    pub fn load_table(&mut self) {
        if let Some(dir) = &self.out_dir {
            self.table = Some(crate::train::ablation::read_table(dir));
        }
    }

    /// Draws the controls and the last table.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        presets: &[Preset],
        running: bool,
        cmds: &mut Vec<AppCommand>,
    ) {
        ui.add_enabled_ui(!running, |ui| {
            ui.label("Presets to compare (one row each; the protocol, label map and target corpus above apply to all; epochs too; each keeps its own adaptation):");
            ui.horizontal_wrapped(|ui| {
                for p in presets {
                    let mut on = self.chosen.contains(&p.name);
                    if ui
                        .checkbox(&mut on, &p.name)
                        .on_hover_text(&p.description)
                        .changed()
                    {
                        if on {
                            self.chosen.insert(p.name.clone());
                        } else {
                            self.chosen.remove(&p.name);
                        }
                    }
                }
            });
            ui.horizontal(|ui| {
                let l = ui.label("Seeds (comma-separated; empty = the seed above)");
                ui.add(egui::TextEdit::singleline(&mut self.seeds).desired_width(120.0))
                    .labelled_by(l.id);
                ui.checkbox(&mut self.on_slurm, "Run on Slurm")
                    .on_hover_text("submit the grid as a Slurm job array (one task per preset and seed) instead of running it here");
                let label = if self.on_slurm {
                    "Submit to Slurm"
                } else {
                    "Run ablation"
                };
                if ui
                    .add_enabled(self.chosen.len() >= 2, egui::Button::new(label))
                    .on_disabled_hover_text("choose at least two presets")
                    .clicked()
                {
                    cmds.push(AppCommand::StartAblation);
                }
            });
            if self.on_slurm {
                self.slurm_options.ui(ui);
            }
        });
        self.slurm_ui(ui);
        if let Some(dir) = &self.out_dir {
            ui.label(egui::RichText::new(format!("ablation folder: {}", dir.display())).small());
        }
        match &self.table {
            Some(Ok(t)) => table_ui(ui, t),
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
    }
}

/// The comparison table (mean ± std over folds × seeds).
pub fn table_ui(ui: &mut egui::Ui, t: &AblationTable) {
    ui.label(
        egui::RichText::new(format!(
            "Ablation — protocol {}, seeds {:?}{} (mean ± std over folds × seeds)",
            t.protocol,
            t.seeds,
            if t.incomplete { ", stopped early" } else { "" }
        ))
        .strong(),
    );
    let any_tasks = t.rows.iter().any(|r| r.tasks.is_some());
    egui::Grid::new("ablation_table")
        .striped(true)
        .show(ui, |ui| {
            for h in [
                "Preset", "Acc/WA", "UA", "macro-P", "macro-R", "macro-F1", "folds",
            ] {
                ui.label(egui::RichText::new(h).strong());
            }
            if any_tasks {
                ui.label(egui::RichText::new("auxiliary tasks (test)").strong());
            }
            ui.end_row();
            let f = |(m, s): (f64, f64)| format!("{m:.3} ± {s:.3}");
            for r in &t.rows {
                ui.label(&r.preset).on_hover_text(&r.description);
                match &r.error {
                    Some(e) => {
                        ui.colored_label(ui.visuals().error_fg_color, format!("failed: {e}"));
                    }
                    None => {
                        ui.label(f(r.wa));
                        ui.label(f(r.ua));
                        ui.label(f(r.macro_precision));
                        ui.label(f(r.macro_recall));
                        ui.label(f(r.macro_f1));
                        ui.label(r.n_folds.to_string());
                        if any_tasks {
                            ui.label(r.tasks_cell());
                        }
                    }
                }
                ui.end_row();
            }
        });
}
