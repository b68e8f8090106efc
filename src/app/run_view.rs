//! The view of the current (or last) run, built from the worker's events: what the Training and
//! Results panels draw. No panel owns it; the app feeds it.

use std::path::PathBuf;
use std::time::Instant;

use crate::eval::ClassificationReport;
use crate::train::{EpochMetrics, Event, RunState};

/// Feature extraction progress of a run or an extraction job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeatureProgress {
    /// Files done.
    pub done: usize,
    /// Files in total.
    pub total: usize,
    /// Of the done files, how many came from the cache.
    pub cached: usize,
}

/// Where a training run is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Fold index (0-based).
    pub fold: usize,
    /// Epoch (1-based; 0 before the first).
    pub epoch: usize,
    /// Step within the epoch (1-based).
    pub step: usize,
    /// Steps per epoch (0 before the first step).
    pub steps_per_epoch: usize,
}

/// Everything known about the current (or last) run, built from worker events.
#[derive(Default)]
pub struct TrainingView {
    /// Latest state.
    pub state: Option<RunState>,
    /// Run folder.
    pub run_dir: Option<PathBuf>,
    /// Class names.
    pub classes: Vec<String>,
    /// Fold names.
    pub folds: Vec<String>,
    /// Speaker independence label.
    pub independence: String,
    /// Leakage verdicts.
    pub leakage: Vec<String>,
    /// Backend line.
    pub backend: String,
    /// Epochs per fold (upper bound).
    pub epochs: usize,
    /// Feature extraction progress.
    pub features: FeatureProgress,
    /// Where training is.
    pub position: Position,
    /// Epoch metrics, in arrival order.
    pub epoch_metrics: Vec<EpochMetrics>,
    /// (fold, optimiser step, learning rate) of every step, in arrival order.
    pub learning_rates: Vec<(usize, usize, f64)>,
    /// Test reports per finished fold.
    pub fold_reports: Vec<(usize, ClassificationReport)>,
    /// Pooled test report (set when the run finished; empty for dimensional runs).
    pub pooled: Option<ClassificationReport>,
    /// Dimensional run: `classes` names the dimensions.
    pub dimensional: bool,
    /// Dimensional runs: test metrics per finished fold.
    pub fold_dims: Vec<(usize, Vec<crate::eval::regression::DimensionReport>)>,
    /// Dimensional runs: the pooled summary when finished.
    pub dimensional_summary: Option<crate::train::dim_report::DimensionalSummary>,
    /// Linear models: the strongest named inputs per class (from the final report).
    pub feature_weights: Option<crate::train::feature_weights::FeatureWeights>,
    /// Multi-label runs: the per-label summary (when finished).
    pub multi_label_summary: Option<crate::train::ml_report::MultiLabelSummary>,
    /// Log lines.
    pub log: Vec<String>,
    /// When training started.
    pub started: Option<Instant>,
}

impl TrainingView {
    /// Applies one worker event.
    pub fn apply(&mut self, ev: Event) {
        match ev {
            Event::State(s) => {
                if let RunState::Failed(m) = &s {
                    self.log.push(format!("FAILED: {m}"));
                }
                self.state = Some(s);
            }
            Event::Log(l) => self.log.push(l),
            Event::Plan(plan) => {
                let independence = plan.independence_label().to_string();
                let leakage = plan.leakage_lines();
                let crate::train::RunPlan {
                    run_dir,
                    classes,
                    folds,
                    backend,
                    epochs,
                    dimensional,
                    ..
                } = *plan;
                // A new run of a multi-run job (ablation) starts with fresh curves.
                self.epoch_metrics.clear();
                self.fold_reports.clear();
                self.fold_dims.clear();
                self.dimensional_summary = None;
                self.multi_label_summary = None;
                self.feature_weights = None;
                self.dimensional = dimensional;
                self.pooled = None;
                self.position = Position::default();
                self.run_dir = Some(run_dir);
                self.classes = classes;
                self.folds = folds;
                self.independence = independence;
                self.leakage = leakage;
                self.backend = backend;
                self.epochs = epochs;
            }
            Event::Features {
                done,
                total,
                cached,
            } => {
                self.features = FeatureProgress {
                    done,
                    total,
                    cached,
                }
            }
            Event::Step {
                fold,
                epoch,
                step,
                steps_per_epoch,
                global_step,
                learning_rate,
                ..
            } => {
                self.learning_rates.push((fold, global_step, learning_rate));
                self.position = Position {
                    fold,
                    epoch,
                    step,
                    steps_per_epoch,
                }
            }
            Event::Epoch(m) => self.epoch_metrics.push(*m),
            Event::FoldDone {
                fold, report, dims, ..
            } => {
                if let Some(d) = dims {
                    self.fold_dims.push((fold, d));
                }
                self.fold_reports.push((fold, *report));
            }
            Event::Finished {
                report,
                dimensional,
                multi_label,
                feature_weights,
                ..
            } => {
                self.pooled = Some(*report);
                self.feature_weights = feature_weights.map(|f| *f);
                self.dimensional_summary = dimensional.map(|d| *d);
                self.multi_label_summary = multi_label.map(|m| *m);
            }
        }
    }

    /// Fraction of the run done (folds × epochs upper bound; early stopping ends folds sooner).
    pub fn progress(&self) -> f32 {
        let n_folds = self.folds.len().max(1) as f64;
        if matches!(self.state, Some(RunState::Finished)) {
            return 1.0;
        }
        let Position {
            fold,
            epoch,
            step,
            steps_per_epoch: spe,
        } = self.position;
        if spe == 0 {
            return 0.0;
        }
        let folds_done = self.fold_reports.len() as f64;
        let in_fold = if self.fold_reports.iter().any(|(f, _)| *f == fold) {
            0.0
        } else {
            ((epoch.saturating_sub(1) * spe + step) as f64 / (self.epochs.max(1) * spe) as f64)
                .min(1.0)
        };
        ((folds_done + in_fold) / n_folds).min(1.0) as f32
    }

    /// Whether a worker is active.
    pub fn running(&self) -> bool {
        matches!(
            self.state,
            Some(RunState::Started | RunState::Paused | RunState::Resumed)
        )
    }
}
