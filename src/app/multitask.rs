//! Views of a multi-task fine-tuning run (the metadata paper): each auxiliary task's training
//! loss and validation score per evaluation (live), where stage 2 began, the integration
//! weights over the transformer layers, and the per-task test table of a finished run.

use eframe::egui;
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints, VLine};

use crate::train::EpochMetrics;
use crate::train::multitask::TasksSummary;

/// A distinct colour per task (emotion first): the fold palette.
fn task_color(k: usize) -> egui::Color32 {
    super::plots::fold_color(k)
}

/// Where stage 2 began in each fold: (fold, x of its first stage-2 evaluation).
pub fn stage_starts(
    metrics: &[EpochMetrics],
    x_of: &dyn Fn(&EpochMetrics) -> f64,
) -> Vec<(usize, f64)> {
    let mut out: Vec<(usize, f64)> = Vec::new();
    for m in metrics {
        if m.stage == Some(2) && !out.iter().any(|(f, _)| *f == m.fold) {
            out.push((m.fold, x_of(m)));
        }
    }
    out
}

/// Vertical lines at the stage boundaries.
pub fn stage_lines(p: &mut egui_plot::PlotUi, starts: &[(usize, f64)]) {
    for (fold, x) in starts {
        p.vline(
            VLine::new(format!("stage 2 begins (fold {})", fold + 1), *x)
                .color(super::plots::fold_color(*fold))
                .style(LineStyle::dotted_dense()),
        );
    }
}

/// The auxiliary tasks' live curves of the fold trained last: training loss per task (solid)
/// and validation accuracy or CER (dashed), with the stage boundary.
pub fn task_curves_ui(
    ui: &mut egui::Ui,
    metrics: &[EpochMetrics],
    x_of: &dyn Fn(&EpochMetrics) -> f64,
    x_label: &str,
) {
    let Some(last) = metrics.last().filter(|m| !m.tasks.is_empty()) else {
        return;
    };
    let fold = last.fold;
    let rows: Vec<&EpochMetrics> = metrics.iter().filter(|m| m.fold == fold).collect();
    let starts: Vec<(usize, f64)> = stage_starts(metrics, x_of)
        .into_iter()
        .filter(|(f, _)| *f == fold)
        .collect();
    let names: Vec<String> = last.tasks.iter().map(|t| t.task.clone()).collect();
    let width = ui.available_width() / 2.0 - 8.0;
    ui.label(
        egui::RichText::new(format!(
            "Tasks, fold {} (stage {}): {}",
            fold + 1,
            last.stage.map_or("—".to_string(), |s| s.to_string()),
            last.tasks
                .iter()
                .skip(1)
                .map(|t| {
                    let v = t.valid.value();
                    let shown = if v.is_finite() {
                        format!("{:.3}", v)
                    } else {
                        "n/a".into()
                    };
                    format!("{} valid {} {shown}", t.task, t.valid.metric())
                })
                .collect::<Vec<_>>()
                .join(" · ")
        ))
        .strong(),
    );
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.label("Training loss per task (unweighted)");
            Plot::new("task_loss_plot")
                .allow_scroll(false)
                .width(width)
                .height(200.0)
                .legend(Legend::default())
                .x_axis_label(x_label)
                .show(ui, |p| {
                    for (k, name) in names.iter().enumerate() {
                        let pts: Vec<[f64; 2]> = rows
                            .iter()
                            .filter_map(|m| {
                                let t = m.tasks.iter().find(|t| &t.task == name)?;
                                t.train_loss.is_finite().then(|| [x_of(m), t.train_loss])
                            })
                            .collect();
                        p.line(Line::new(name.clone(), PlotPoints::from(pts)).color(task_color(k)));
                    }
                    stage_lines(p, &starts);
                });
        });
        ui.vertical(|ui| {
            ui.label("Validation: accuracy (CER for asr; dashed = training accuracy)");
            Plot::new("task_score_plot")
                .allow_scroll(false)
                .width(width)
                .height(200.0)
                .include_y(0.0)
                .include_y(1.0)
                .legend(Legend::default())
                .x_axis_label(x_label)
                .show(ui, |p| {
                    for (k, name) in names.iter().enumerate().skip(1) {
                        let valid: Vec<[f64; 2]> = rows
                            .iter()
                            .filter_map(|m| {
                                let t = m.tasks.iter().find(|t| &t.task == name)?;
                                let v = t.valid.value();
                                v.is_finite().then(|| [x_of(m), v])
                            })
                            .collect();
                        let train: Vec<[f64; 2]> = rows
                            .iter()
                            .filter_map(|m| {
                                let t = m.tasks.iter().find(|t| &t.task == name)?;
                                t.train_accuracy
                                    .is_finite()
                                    .then(|| [x_of(m), t.train_accuracy])
                            })
                            .collect();
                        let metric = if name == "asr" { "CER" } else { "accuracy" };
                        p.line(
                            Line::new(format!("{name} valid {metric}"), PlotPoints::from(valid))
                                .color(task_color(k)),
                        );
                        if !train.is_empty() {
                            p.line(
                                Line::new(
                                    format!("{name} train accuracy"),
                                    PlotPoints::from(train),
                                )
                                .color(task_color(k))
                                .style(LineStyle::dashed_loose()),
                            );
                        }
                    }
                    stage_lines(p, &starts);
                });
        });
    });
}

/// The per-task test table of a finished multi-task run.
pub fn tasks_table_ui(ui: &mut egui::Ui, s: &TasksSummary) {
    ui.label(egui::RichText::new("Auxiliary tasks (test part)").strong());
    ui.label(egui::RichText::new(&s.method).small());
    let fmt = |v: f64| {
        if v.is_finite() {
            format!("{v:.3}")
        } else {
            "n/a".into()
        }
    };
    egui::Grid::new("tasks_table").striped(true).show(ui, |ui| {
        for h in ["task", "metric", "pooled", "WER", "scored"] {
            ui.label(egui::RichText::new(h).strong());
        }
        for k in 1..=s.folds.len() {
            ui.label(egui::RichText::new(format!("fold {k}")).strong());
        }
        ui.end_row();
        for (i, p) in s.pooled.iter().enumerate() {
            ui.label(&p.task);
            ui.label(p.metric());
            ui.label(fmt(p.value()));
            ui.label(fmt(p.wer()));
            ui.label(p.counted.to_string());
            for f in &s.folds {
                ui.label(fmt(f.get(i).map_or(f64::NAN, |t| t.value())));
            }
            ui.end_row();
        }
    });
    for n in &s.notes {
        ui.label(egui::RichText::new(n).small());
    }
}

/// The multi-task settings of the selected preset, editable: each auxiliary task the corpus
/// supports switched on or off with its loss weight, ARI or the weighted-sum ablation,
/// co-attention, two stages; with what is invalid named in place.
pub fn preset_tasks_ui(
    ui: &mut egui::Ui,
    preset: &mut crate::train::Preset,
    manifest: Option<&crate::corpus::Manifest>,
) {
    use crate::model::multitask::{AuxTask, LayerIntegration, TwoStage};
    let crate::model::ModelConfig::SslFineTune(ft) = &mut preset.model else {
        return;
    };
    let crate::ssl::classifier::FineTuneHead::MultiTask(spec) = &mut ft.head else {
        return;
    };
    ui.label(egui::RichText::new("Multi-task fine-tuning (metadata paper)").strong())
        .on_hover_text(
            "auxiliary heads on the fine-tuned encoder; docs/design.md, \"Multi-task fine-tuning\"",
        );
    let supported: Vec<String> = manifest
        .map(|m| {
            crate::corpus::tasks::supported(m)
                .into_iter()
                .map(|t| t.task)
                .filter(|t| t != "emotion")
                .collect()
        })
        .unwrap_or_default();
    let mut names: Vec<String> = spec.tasks.iter().map(|t| t.task.clone()).collect();
    for s in &supported {
        if !names.contains(s) {
            names.push(s.clone());
        }
    }
    ui.horizontal_wrapped(|ui| {
        ui.label("Tasks:");
        for name in &names {
            let pos = spec.tasks.iter().position(|t| &t.task == name);
            let mut on = pos.is_some();
            let missing = manifest.is_some() && !supported.contains(name);
            let label = if missing {
                format!("{name} (not in this corpus)")
            } else {
                name.clone()
            };
            if ui.checkbox(&mut on, label).changed() {
                match (on, pos) {
                    (true, None) => spec.tasks.push(AuxTask {
                        task: name.clone(),
                        weight: 0.1,
                    }),
                    (false, Some(i)) => {
                        spec.tasks.remove(i);
                    }
                    _ => {}
                }
            }
            if let Some(t) = spec.tasks.iter_mut().find(|t| &t.task == name) {
                ui.add(
                    egui::DragValue::new(&mut t.weight)
                        .range(0.0..=10.0)
                        .speed(0.01)
                        .prefix("× "),
                )
                .on_hover_text(format!("weight of the {name} loss"));
            }
        }
    });
    ui.horizontal(|ui| {
        let mut ari = spec.integration == LayerIntegration::Ari;
        if ui
            .checkbox(&mut ari, "ARI")
            .on_hover_text("off: the weighted sum of all layers (the paper's table II ablation)")
            .changed()
        {
            spec.integration = if ari {
                LayerIntegration::Ari
            } else {
                LayerIntegration::WeightedSum
            };
        }
        ui.checkbox(&mut spec.co_attention, "Co-attention");
        let mut two = spec.stages.is_some();
        if ui.checkbox(&mut two, "Two stages").changed() {
            spec.stages = two.then(TwoStage::default);
        }
        if let Some(st) = &mut spec.stages {
            ui.add(
                egui::DragValue::new(&mut st.stage1_epochs)
                    .range(1..=1000)
                    .prefix("stage 1: ")
                    .suffix(" epochs"),
            );
            ui.add(
                egui::DragValue::new(&mut st.stage2_freeze_layers)
                    .range(0..=48)
                    .prefix("stage 2 freezes ")
                    .suffix(" layers"),
            );
        }
    });
    if let Err(e) = spec.validate() {
        ui.colored_label(ui.visuals().error_fg_color, e);
    } else if let Some(missing) = spec
        .tasks
        .iter()
        .find(|t| manifest.is_some() && !supported.contains(&t.task))
    {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "this corpus has no {:?} metadata: the run will stop with that message",
                missing.task
            ),
        );
    }
}
