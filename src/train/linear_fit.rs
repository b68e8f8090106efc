//! Fitting the Linear model of a fold with a convex solver (linfa) instead of gradient steps:
//! one fit per C of the preset's grid, each evaluated on the validation part exactly like an
//! epoch of a deep model (same metrics row, same events), the best kept; then the test part.
//! The fitted W and b go into the burn module, so everything downstream is shared
//! (docs/baselines.md).

use std::time::Instant;

use burn::prelude::*;
use linfa::prelude::*;
use ndarray::{Array1, Array2};

use super::control::{Controller, Interrupt};
use super::data::Example;
use super::fit::{FoldInput, FoldOutput, Validation, evaluate, metrics_row, test_reports};
use super::messages::Event;
use super::preset::Preset;
use crate::model::SerModel;
use crate::model::linear::{LinearClassifierConfig, LinearSolver};

/// Fitted weights: `w` row-major `[inputs, classes]`, `b` `[classes]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearWeights {
    /// Row-major `[inputs, classes]`.
    pub w: Vec<f32>,
    /// Per class.
    pub b: Vec<f32>,
}

/// Bias of a class that has no training example: never predicted.
const ABSENT_CLASS_BIAS: f32 = -1.0e4;

/// The training matrix and labels of `examples`.
fn matrix(examples: &[Example]) -> (Array2<f64>, Vec<usize>) {
    let d = examples.first().map_or(0, |e| e.values.len());
    let mut x = Array2::<f64>::zeros((examples.len(), d));
    for (mut row, e) in x.rows_mut().into_iter().zip(examples) {
        for (r, v) in row.iter_mut().zip(&e.values) {
            *r = *v as f64;
        }
    }
    (x, examples.iter().map(|e| e.label).collect())
}

/// Fits `solver` with inverse regularisation `c` on rows `x` with labels `y` (class indices
/// below `n_classes`); classes absent from `y` get zero weights and a bias that is never
/// the largest.
pub fn fit_weights(
    solver: LinearSolver,
    c: f64,
    max_iterations: u64,
    x: &Array2<f64>,
    y: &[usize],
    n_classes: usize,
) -> Result<LinearWeights, String> {
    let d = x.ncols();
    let mut present: Vec<usize> = y.to_vec();
    present.sort_unstable();
    present.dedup();
    let mut w = vec![0.0f32; d * n_classes];
    let mut b = vec![ABSENT_CLASS_BIAS; n_classes];
    if present.len() < 2 {
        // One class only: it is always the answer.
        if let Some(&k) = present.first() {
            b[k] = 0.0;
        }
        return Ok(LinearWeights { w, b });
    }
    match solver {
        LinearSolver::LogisticRegression => {
            let data = Dataset::new(x.clone(), Array1::from(y.to_vec()));
            let fitted = linfa_logistic::MultiLogisticRegression::default()
                .alpha(1.0 / c)
                .max_iterations(max_iterations)
                .gradient_tolerance(1e-5)
                .fit(&data)
                .map_err(|e| format!("logistic regression (C = {c}): {e}"))?;
            let (params, intercept) = (fitted.params(), fitted.intercept());
            for (j, &k) in fitted.classes().iter().enumerate() {
                for i in 0..d {
                    w[i * n_classes + k] = params[[i, j]] as f32;
                }
                b[k] = intercept[j] as f32;
            }
        }
        LinearSolver::LinearSvm => {
            for &k in &present {
                let targets: Array1<bool> = y.iter().map(|&l| l == k).collect();
                let data = Dataset::new(x.clone(), targets);
                let svm = linfa_svm::Svm::<f64, bool>::params()
                    .pos_neg_weights(c, c)
                    .linear_kernel()
                    .eps(1e-3)
                    .fit(&data)
                    .map_err(|e| format!("linear SVM for class {k} (C = {c}): {e}"))?;
                // The decision value is linear in x: weighted_sum(e_i) is the i-th weight.
                let mut unit = Array1::<f64>::zeros(d);
                for i in 0..d {
                    unit[i] = 1.0;
                    w[i * n_classes + k] = svm.weighted_sum(&unit) as f32;
                    unit[i] = 0.0;
                }
                b[k] = -svm.rho as f32;
            }
        }
    }
    Ok(LinearWeights { w, b })
}

/// Fits fold `input` for every C of the grid, keeps the best by the preset's `select_by` on
/// the validation part (the first C without one), and tests it.
pub fn fit_fold(
    preset: &Preset,
    cfg: &LinearClassifierConfig,
    model: SerModel,
    input: &FoldInput,
    device: &Device,
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<FoldOutput, Interrupt> {
    let SerModel::Linear(module) = model else {
        panic!("linear_fit::fit_fold needs a Linear model");
    };
    let t = &preset.training;
    let n_classes = input.classes.len();
    let (x, y) = matrix(input.train);
    let objective = input.objective(t).plain();
    let batch = t.batch_size.max(1);
    let mut epochs = Vec::new();
    let mut best: Option<(f64, f64, SerModel)> = None;
    for (gi, &c) in cfg.c_grid.iter().enumerate() {
        controller.poll(emit)?;
        let started = Instant::now();
        let weights = match fit_weights(cfg.solver, c, cfg.max_iterations, &x, &y, n_classes) {
            Ok(w) => w,
            Err(e) => {
                emit(Event::Log(format!(
                    "fold {}: {e}; C skipped",
                    input.fold + 1
                )));
                continue;
            }
        };
        let candidate = SerModel::Linear(module.clone().with_weights(&weights.w, &weights.b));
        let (train_loss, train_rows) =
            evaluate(&candidate, input.train, input, &objective, batch, device);
        let train_wa = super::fit::report_of(input.classes, input.train, &train_rows).wa;
        let v = if input.valid.is_empty() {
            Validation::none()
        } else {
            let (loss, rows) = evaluate(&candidate, input.valid, input, &objective, batch, device);
            Validation::of(&objective, input.classes, input.valid, loss, &rows)
        };
        let improved = match &best {
            None => true,
            // Without validation the first C stays.
            Some(_) if !v.exists() => false,
            Some((score, loss, _)) => t.select_by.improves(v.score(), v.loss, *score, *loss),
        };
        let m = metrics_row(
            input,
            gi + 1,
            gi + 1,
            train_loss,
            train_wa,
            &v,
            f64::NAN,
            started.elapsed().as_secs_f64(),
            improved,
        );
        emit(Event::Log(format!(
            "fold {}: {} C = {c}: train WA {:.3}, validation UA {:.3}{}",
            input.fold + 1,
            cfg.solver.name(),
            train_wa,
            v.score(),
            if improved { " (kept)" } else { "" }
        )));
        emit(Event::Epoch(Box::new(m.clone())));
        epochs.push(m);
        if improved {
            best = Some((v.score(), v.loss, candidate));
        }
    }
    if let Some(k) = epochs.iter().rposition(|m| m.is_best) {
        emit(Event::Log(format!(
            "fold {}: kept C = {} (grid point {} of {})",
            input.fold + 1,
            cfg.c_grid[k.min(cfg.c_grid.len() - 1)],
            k + 1,
            cfg.c_grid.len()
        )));
    }
    let model = best
        .map(|(_, _, m)| m)
        .unwrap_or_else(|| SerModel::Linear(module));
    let tested = Instant::now();
    let (_, test_probs) = evaluate(&model, input.test, input, &objective, batch, device);
    let test_secs = tested.elapsed().as_secs_f64();
    let tests = test_reports(&objective, input, &test_probs, None);
    Ok(FoldOutput {
        model,
        epochs,
        test_probs,
        report: tests.report,
        dims: tests.dims,
        labels: tests.labels,
        steps: Vec::new(),
        test_secs,
        tasks: None,
    })
}
