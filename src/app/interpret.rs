//! Interpretability plots of a training run: fusion α per epoch, the fusion gate per class, and
//! the source-vs-target embedding scatter (first epoch next to the latest) of cross-corpus runs.

use eframe::egui;
use egui_plot::{Bar, BarChart, Legend, Plot, PlotPoints, Points};

use super::plots::fold_lines;
use crate::train::EpochMetrics;

/// α of α-fusion models per epoch and fold.
pub fn alpha_ui(ui: &mut egui::Ui, metrics: &[EpochMetrics]) {
    if !metrics.iter().any(|m| m.fusion_alpha.is_some()) {
        return;
    }
    let last = metrics.iter().rev().find_map(|m| m.fusion_alpha);
    ui.label(
        egui::RichText::new(format!(
            "Fusion α (share of the log-mel stream; 1 − α goes to the SSL stream) — now {:.3}",
            last.unwrap_or(f32::NAN)
        ))
        .strong(),
    );
    let n_folds = metrics.iter().map(|m| m.fold + 1).max().unwrap_or(0);
    Plot::new("alpha_plot")
        .allow_scroll(false)
        .height(120.0)
        .include_y(0.0)
        .include_y(1.0)
        .legend(Legend::default())
        .x_axis_label("epoch")
        .show(ui, |p| {
            fold_lines(p, metrics, n_folds, "α", |m| m.fusion_alpha.map(f64::from))
        });
}

/// Mean gate per class of gated-fusion models (latest epoch).
pub fn gate_ui(ui: &mut egui::Ui, metrics: &[EpochMetrics], classes: &[String]) {
    let Some((epoch, g)) = metrics
        .iter()
        .rev()
        .find_map(|m| m.gate_per_class.as_ref().map(|g| (m.epoch, g)))
    else {
        return;
    };
    ui.label(
        egui::RichText::new(format!(
            "Fusion gate per class (validation mean, epoch {epoch}; 1 = all log-mel, 0 = all SSL)"
        ))
        .strong(),
    );
    let bars: Vec<Bar> = g
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| {
            Bar::new(i as f64, *v as f64).name(classes.get(i).cloned().unwrap_or_default())
        })
        .collect();
    let names: Vec<String> = classes.to_vec();
    Plot::new("gate_plot")
        .allow_scroll(false)
        .height(120.0)
        .include_y(0.0)
        .include_y(1.0)
        .x_axis_formatter(move |m, _| {
            let i = m.value.round();
            if (m.value - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .show(ui, |p| p.bar_chart(BarChart::new("gate", bars)));
}

/// Source vs target embeddings (PCA) after the first and after the latest epoch of the latest
/// fold that has them.
pub fn scatter_ui(ui: &mut egui::Ui, metrics: &[EpochMetrics]) {
    let Some(fold) = metrics
        .iter()
        .rev()
        .find(|m| m.scatter.is_some())
        .map(|m| m.fold)
    else {
        return;
    };
    let of_fold: Vec<&EpochMetrics> = metrics
        .iter()
        .filter(|m| m.fold == fold && m.scatter.is_some())
        .collect();
    let (Some(first), Some(last)) = (of_fold.first(), of_fold.last()) else {
        return;
    };
    ui.label(
        egui::RichText::new(
            "Embeddings of source (validation) and target utterances, 2-D PCA — does adaptation pull the domains together?",
        )
        .strong(),
    );
    ui.columns(2, |cols| {
        for (i, (col, m)) in cols.iter_mut().zip([first, last]).enumerate() {
            col.label(format!("fold {}, after epoch {}", fold + 1, m.epoch));
            let pts = m.scatter.as_deref().unwrap_or(&[]);
            let side = |target: bool| -> Vec<[f64; 2]> {
                pts.iter()
                    .filter(|p| p.target == target)
                    .map(|p| [p.x as f64, p.y as f64])
                    .collect()
            };
            Plot::new(("scatter", i))
                .allow_scroll(false)
                .height(200.0)
                .data_aspect(1.0)
                .legend(Legend::default())
                .show(col, |p| {
                    p.points(
                        Points::new("source", PlotPoints::from(side(false)))
                            .radius(2.5)
                            .color(egui::Color32::from_rgb(31, 119, 180)),
                    );
                    p.points(
                        Points::new("target", PlotPoints::from(side(true)))
                            .radius(2.5)
                            .color(egui::Color32::from_rgb(255, 127, 14)),
                    );
                });
        }
    });
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
    /// Multi-task runs: each auxiliary task's test scores.
    pub tasks: Option<crate::train::multitask::TasksSummary>,
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
            tasks: r.tasks.clone(),
        };
        (out.layer_weights.is_some()
            || !out.alphas.is_empty()
            || out.gate_per_class.is_some()
            || out.tasks.is_some())
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
        if let Some(t) = &self.tasks {
            super::plots::layer_weights_from(
                ui,
                self.layer_weights.as_ref(),
                "Layer integration weights of the best checkpoints (mean over folds)",
                1,
                "transformer layer",
            );
            super::multitask::tasks_table_ui(ui, t);
            return;
        }
        super::plots::layer_weights_ui(
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
            feature_weights: None,
            multi_label: None,
            tasks: None,
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
            cost: None,
            members: Vec::new(),
            dimensional: None,
        }
    }

    fn fold(alpha: Option<f32>, gate: Option<Vec<Option<f32>>>) -> FoldReport {
        let classes = vec!["a".to_string(), "b".to_string()];
        FoldReport {
            labels: None,
            name: "f".into(),
            best_epoch: 1,
            layer_weights: None,
            dimension_layer_weights: None,
            dims: None,
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
