//! Ablation controls of the Training panel: pick presets (one table row each) and seeds, run them
//! one after another under the panel's protocol on the open corpus (and target corpus), then see
//! the comparison table (also written as ablation.md / .csv / .json in the ablation folder).

use std::collections::BTreeSet;
use std::path::PathBuf;

use eframe::egui;

use super::AppCommand;
use crate::train::Preset;
use crate::train::ablation::AblationTable;

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
                if ui
                    .add_enabled(self.chosen.len() >= 2, egui::Button::new("Run ablation"))
                    .on_disabled_hover_text("choose at least two presets")
                    .clicked()
                {
                    cmds.push(AppCommand::StartAblation);
                }
            });
        });
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
