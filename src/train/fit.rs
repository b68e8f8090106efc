//! The training loop of one fold: mini-batch optimisation on the autodiff device, validation
//! after every epoch, early stopping on validation UA, test evaluation with the best weights.

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};

use super::adapt as adapt_loss;
use super::control::{Controller, Interrupt};
use super::data::{Example, batch_inputs, batch_targets, batch_text, to_rows};
use super::messages::{EpochMetrics, Event, ScatterPoint};
use super::objective::Objective;
use super::preset::{AdaptMethod, AlignedLayer, Preset};
use crate::eval::multilabel::MultiLabelReport;
use crate::eval::regression::{DimensionReport, dimension_reports, mean_ccc};
use crate::eval::{ClassificationReport, argmax};
use crate::model::SerModel;
use crate::rng::SplitMix64;

/// Inputs of one fold.
pub struct FoldInput<'a> {
    /// Fold index.
    pub fold: usize,
    /// Training examples.
    pub train: &'a [Example],
    /// Validation examples (may be empty).
    pub valid: &'a [Example],
    /// Test examples.
    pub test: &'a [Example],
    /// Unlabelled target-domain examples for domain adaptation (labels are ignored).
    pub target: &'a [Example],
    /// Class names.
    pub classes: &'a [String],
    /// Frames per example.
    pub frames: usize,
    /// Bins per frame.
    pub bins: usize,
    /// Seed of the run.
    pub seed: u64,
    /// Dimensional runs: the regression loss (`classes` then names the dimensions).
    pub dimensional: Option<super::task::RegressionLoss>,
    /// Multi-label runs: the task (`classes` then names the labels).
    pub multi_label: Option<&'a super::multilabel::MultiLabelTask>,
    /// Training-time augmentation of a cached spectral stream (fine-tuning augments the
    /// waveform itself).
    pub augment: Option<&'a super::augment::Augmenter<'a>>,
}

impl FoldInput<'_> {
    /// The objective of this fold under training settings `t`.
    pub fn objective(&self, t: &super::TrainingConfig) -> Objective {
        if let Some(m) = self.multi_label {
            let targets: Vec<&[f32]> = self.train.iter().map(|e| e.target.as_slice()).collect();
            return Objective::Labels {
                loss: m.loss,
                pos_weight: m
                    .positive_weights
                    .then(|| super::multilabel::positive_weights(&targets, self.classes.len())),
                threshold: m.threshold,
            };
        }
        match self.dimensional {
            Some(loss) => Objective::Dimensions(loss),
            None => Objective::Classes {
                class_weights: t
                    .class_weighted_loss
                    .then(|| inverse_frequency_weights(self.train, self.classes.len())),
            },
        }
    }
}

/// Result of one fold.
pub struct FoldOutput {
    /// The best weights (validation snapshot, plain device).
    pub model: SerModel,
    /// Metrics of every evaluation (end of epoch, and every N steps where asked).
    pub epochs: Vec<EpochMetrics>,
    /// Test outputs per example (same order as `test`): class probabilities, or the predicted
    /// dimension values of a dimensional run.
    pub test_probs: Vec<Vec<f32>>,
    /// Test report (empty in dimensional runs).
    pub report: ClassificationReport,
    /// Test metrics per dimension (dimensional runs).
    pub dims: Option<Vec<DimensionReport>>,
    /// Test metrics per label (multi-label runs), at the thresholds it states.
    pub labels: Option<MultiLabelReport>,
    /// Every optimiser step: loss and the learning rate actually used.
    pub steps: Vec<StepRecord>,
    /// Wall time of the test evaluation, seconds (model inference on the fold's test inputs).
    pub test_secs: f64,
    /// Multi-task runs: each auxiliary task's score on the test part.
    pub tasks: Option<Vec<super::multitask::TaskScore>>,
}

/// One optimiser step (`steps.csv`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    /// Fold index.
    pub fold: usize,
    /// Epoch (1-based).
    pub epoch: usize,
    /// Optimiser steps taken in the fold, this one included.
    pub step: usize,
    /// Training loss of the step (mean over its micro-batches).
    pub loss: f64,
    /// Learning rate used (the head's, for fine-tuning runs).
    pub learning_rate: f64,
    /// Learning rate of the encoder (fine-tuning runs; else the same as `learning_rate`).
    pub encoder_learning_rate: f64,
}

/// One validation pass.
pub struct Validation {
    /// Mean loss (`NaN` without a validation part).
    pub loss: f64,
    /// Report (`None` without a validation part, or in a dimensional run).
    pub report: Option<ClassificationReport>,
    /// Metrics per dimension (dimensional runs with a validation part).
    pub dims: Option<Vec<DimensionReport>>,
    /// Metrics per label (multi-label runs with a validation part).
    pub labels: Option<MultiLabelReport>,
}

impl Validation {
    /// No validation part.
    pub fn none() -> Self {
        Self {
            loss: f64::NAN,
            report: None,
            dims: None,
            labels: None,
        }
    }

    /// Validation of `outputs` (rows as [`Objective::rows`] gives them) against the examples.
    pub fn of(
        objective: &Objective,
        names: &[String],
        examples: &[Example],
        loss: f64,
        outputs: &[Vec<f32>],
    ) -> Self {
        let mut v = Self {
            loss,
            ..Self::none()
        };
        match objective {
            Objective::Dimensions(_) => v.dims = Some(dims_of(names, examples, outputs)),
            Objective::Labels { threshold, .. } => {
                v.labels = Some(labels_of(
                    names,
                    examples,
                    outputs,
                    &vec![*threshold; names.len()],
                ))
            }
            Objective::Classes { .. } => v.report = Some(report_of(names, examples, outputs)),
        }
        v
    }

    /// Whether there was a validation part.
    pub fn exists(&self) -> bool {
        self.report.is_some() || self.dims.is_some() || self.labels.is_some()
    }

    /// The selection score: UA, the mean CCC over dimensions, or the macro F1 over labels (NaN
    /// without validation).
    pub fn score(&self) -> f64 {
        match (&self.report, &self.dims, &self.labels) {
            (Some(r), _, _) => r.ua,
            (None, Some(d), _) => mean_ccc(d),
            (None, None, Some(l)) => l.macro_f1,
            _ => f64::NAN,
        }
    }
}

/// Per-dimension metrics of predicted values against the examples' targets.
pub fn dims_of(
    names: &[String],
    examples: &[Example],
    outputs: &[Vec<f32>],
) -> Vec<DimensionReport> {
    let truth: Vec<Vec<f32>> = examples.iter().map(|e| e.target.clone()).collect();
    dimension_reports(names, outputs, &truth)
}

/// Per-label metrics of predicted probabilities against the examples' 0/1 targets.
pub fn labels_of(
    names: &[String],
    examples: &[Example],
    outputs: &[Vec<f32>],
    thresholds: &[f32],
) -> MultiLabelReport {
    let truth: Vec<Vec<f32>> = examples.iter().map(|e| e.target.clone()).collect();
    crate::eval::multilabel::multilabel_report(names, outputs, &truth, thresholds)
}

/// The decision thresholds of a multi-label fold: the task's threshold for every label, or per
/// label the best F1 on the validation rows (`valid_rows`, computed only when asked).
pub fn fold_thresholds(
    task: &super::multilabel::MultiLabelTask,
    input: &FoldInput,
    valid_rows: impl FnOnce() -> Vec<Vec<f32>>,
) -> Vec<f32> {
    if task.tune_thresholds && !input.valid.is_empty() {
        let truth: Vec<Vec<f32>> = input.valid.iter().map(|e| e.target.clone()).collect();
        crate::eval::multilabel::tune_thresholds(&valid_rows(), &truth, input.classes.len())
    } else {
        vec![task.threshold; input.classes.len()]
    }
}

/// Keeps the best weights by the preset's criterion and counts evaluations since.
pub struct Tracker<M> {
    select_by: super::preset::SelectBy,
    patience: Option<usize>,
    best: Option<(f64, f64, M)>,
    since_best: usize,
}

impl<M> Tracker<M> {
    /// Nothing kept yet.
    pub fn new(select_by: super::preset::SelectBy, patience: Option<usize>) -> Self {
        Self {
            select_by,
            patience,
            best: None,
            since_best: 0,
        }
    }

    /// Offers an evaluated snapshot; returns whether it is kept. Without a validation part the
    /// latest is kept (nothing else may choose).
    pub fn offer(&mut self, v: &Validation, snapshot: M) -> bool {
        let ua = v.score();
        let improved = match (&self.best, v.exists()) {
            (None, _) | (_, false) => true,
            (Some((bua, bloss, _)), true) => self.select_by.improves(ua, v.loss, *bua, *bloss),
        };
        if improved {
            self.best = Some((ua, v.loss, snapshot));
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        improved
    }

    /// Evaluations since the kept one.
    pub fn since_best(&self) -> usize {
        self.since_best
    }

    /// Whether early stopping's patience ran out.
    pub fn should_stop(&self) -> bool {
        self.patience.is_some_and(|p| self.since_best >= p)
    }

    /// The kept weights.
    pub fn into_best(self) -> Option<M> {
        self.best.map(|(_, _, m)| m)
    }
}

/// The metrics row of one evaluation (interpretability fields empty; the caller adds them).
#[allow(clippy::too_many_arguments)]
pub fn metrics_row(
    input: &FoldInput,
    epoch: usize,
    step: usize,
    train_loss: f64,
    train_wa: f64,
    v: &Validation,
    learning_rate: f64,
    secs: f64,
    is_best: bool,
) -> EpochMetrics {
    let (ua, wa, f1, confusion) = v
        .report
        .as_ref()
        .map(|r| (r.ua, r.wa, r.macro_f1, r.confusion.clone()))
        .unwrap_or((
            f64::NAN,
            f64::NAN,
            f64::NAN,
            crate::eval::ConfusionMatrix::new(input.classes.len()),
        ));
    let valid_ccc = v.dims.as_ref().map(|d| d.iter().map(|r| r.ccc).collect());
    // Multi-label runs report their validation macro F1 in the same column.
    let f1 = v.labels.as_ref().map_or(f1, |l| l.macro_f1);
    EpochMetrics {
        valid_ccc,
        fold: input.fold,
        epoch,
        step,
        train_loss,
        train_wa,
        valid_loss: v.loss,
        valid_wa: wa,
        valid_ua: ua,
        valid_macro_f1: f1,
        learning_rate,
        valid_confusion: confusion,
        epoch_secs: secs,
        is_best,
        ..super::run_metrics::blank()
    }
}

/// Validation of a snapshot in batches.
fn validate(
    model: &SerModel,
    input: &FoldInput,
    objective: &Objective,
    batch_size: usize,
    device: &Device,
) -> Validation {
    if input.valid.is_empty() {
        return Validation::none();
    }
    let (loss, rows) = evaluate(model, input.valid, input, objective, batch_size, device);
    Validation::of(objective, input.classes, input.valid, loss, &rows)
}

/// Mean cross-entropy with optional per-class weights: Σ w_y·(−log p_y) / Σ w_y (PyTorch's
/// weighted mean).
///
/// # Shapes
/// - `logits`: `[batch, classes]`, `labels`: `[batch]` → scalar `[1]`
pub fn cross_entropy(
    logits: Tensor<2>,
    labels: Tensor<1, Int>,
    class_weights: Option<&[f32]>,
) -> Tensor<1> {
    let [batch, _] = logits.dims();
    let device = logits.device();
    let picked = log_softmax(logits, 1)
        .gather(1, labels.clone().reshape([batch, 1]))
        .reshape([batch]);
    match class_weights {
        None => picked.mean().neg(),
        Some(w) => {
            let w_all = Tensor::<1>::from_data(TensorData::new(w.to_vec(), [w.len()]), &device);
            let wy = w_all.select(0, labels);
            (picked * wy.clone()).sum().neg() / wy.sum()
        }
    }
}

/// The classification report of class probabilities against the examples' labels.
pub fn report_of(
    classes: &[String],
    examples: &[Example],
    probs: &[Vec<f32>],
) -> ClassificationReport {
    let truth: Vec<usize> = examples.iter().map(|e| e.label).collect();
    let pred: Vec<usize> = probs.iter().map(|p| argmax(p)).collect();
    ClassificationReport::from_predictions(classes, &truth, &pred)
}

/// Inverse class frequency of the training part, `n / (classes · count)` (scikit-learn's
/// "balanced" weights; 0 for a class without training examples).
pub fn inverse_frequency_weights(train: &[Example], n_classes: usize) -> Vec<f32> {
    let mut counts = vec![0usize; n_classes];
    for e in train {
        counts[e.label] += 1;
    }
    let n = train.len() as f32;
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                n / (n_classes as f32 * c as f32)
            }
        })
        .collect()
}

/// Evaluates `model` (validation snapshot) on examples in batches: (mean loss, output rows:
/// probabilities or dimension values). The loss is unweighted; for `1 − CCC` it is computed over
/// all examples at once (a batch mean of CCCs is not the CCC).
pub fn evaluate(
    model: &SerModel,
    examples: &[Example],
    input: &FoldInput,
    objective: &Objective,
    batch_size: usize,
    device: &Device,
) -> (f64, Vec<Vec<f32>>) {
    let mut rows = Vec::with_capacity(examples.len());
    let mut loss_sum = 0.0;
    let plain = objective.plain();
    for chunk in examples.chunks(batch_size.max(1)) {
        let refs: Vec<&Example> = chunk.iter().collect();
        let x = batch_inputs(&refs, input.frames, input.bins, device);
        let out = model.forward(x, &batch_text(&refs, device));
        if !plain.whole_set_loss() {
            let loss = plain.loss(out.clone(), &refs);
            loss_sum += loss.into_scalar::<f32>() as f64 * chunk.len() as f64;
        }
        rows.extend(plain.rows(out));
    }
    let loss = match &plain {
        Objective::Dimensions(kind) => whole_set_regression_loss(examples, &rows, *kind, device),
        _ => loss_sum / examples.len().max(1) as f64,
    };
    (loss, rows)
}

/// The regression loss of predicted rows over a whole example set.
pub fn whole_set_regression_loss(
    examples: &[Example],
    rows: &[Vec<f32>],
    kind: super::task::RegressionLoss,
    device: &Device,
) -> f64 {
    if examples.is_empty() {
        return f64::NAN;
    }
    let refs: Vec<&Example> = examples.iter().collect();
    let d = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    let pred = Tensor::<2>::from_data(TensorData::new(flat, [rows.len(), d]), device);
    super::objective::regression_loss(pred, batch_targets(&refs, device), kind).into_scalar::<f32>()
        as f64
}

/// Gated fusion: mean gate over each validation utterance, averaged per true class.
fn gate_by_class(
    model: &SerModel,
    input: &FoldInput,
    batch_size: usize,
    device: &Device,
) -> Option<Vec<f32>> {
    let n = input.classes.len();
    let (mut sum, mut count) = (vec![0.0f32; n], vec![0usize; n]);
    for chunk in input.valid.chunks(batch_size.max(1)) {
        let refs: Vec<&Example> = chunk.iter().collect();
        let x = batch_inputs(&refs, input.frames, input.bins, device);
        let gate = model.forward_traced(x, &batch_text(&refs, device)).1.gate?;
        let per_utt = crate::tensor::read_f32(gate.mean_dim(1));
        for (e, g) in chunk.iter().zip(per_utt) {
            sum[e.label] += g;
            count[e.label] += 1;
        }
    }
    count.iter().any(|&c| c > 0).then(|| {
        sum.iter()
            .zip(&count)
            .map(|(s, &c)| if c == 0 { f32::NAN } else { s / c as f32 })
            .collect()
    })
}

/// 2-D PCA of the embeddings of (up to) 150 source validation (else training) and 150 target
/// utterances.
fn embedding_scatter(
    model: &SerModel,
    input: &FoldInput,
    batch_size: usize,
    device: &Device,
) -> Vec<ScatterPoint> {
    const MAX: usize = 150;
    let source = if input.valid.is_empty() {
        input.train
    } else {
        input.valid
    };
    let embed = |ex: &[Example]| -> Vec<Vec<f32>> {
        let mut rows = Vec::new();
        for chunk in ex[..ex.len().min(MAX)].chunks(batch_size.max(1)) {
            let refs: Vec<&Example> = chunk.iter().collect();
            let x = batch_inputs(&refs, input.frames, input.bins, device);
            rows.extend(to_rows(model.embed_with(x, &batch_text(&refs, device))));
        }
        rows
    };
    let (s, t) = (embed(source), embed(input.target));
    let flags: Vec<(bool, usize)> = source
        .iter()
        .take(s.len())
        .map(|e| (false, e.label))
        .chain(input.target.iter().take(t.len()).map(|e| (true, e.label)))
        .collect();
    let rows: Vec<Vec<f32>> = s.into_iter().chain(t).collect();
    let (pts, _) = crate::eval::pca::pca_2d(&rows);
    pts.into_iter()
        .zip(flags)
        .map(|([x, y], (target, label))| ScatterPoint {
            x,
            y,
            target,
            label,
        })
        .collect()
}

/// Trains one fold. `model` was built on `train_device` (autodiff); `device` is the plain one.
pub fn fit_fold(
    preset: &Preset,
    input: &FoldInput,
    mut model: SerModel,
    device: &Device,
    controller: &Controller,
    emit: &dyn Fn(Event),
) -> Result<FoldOutput, Interrupt> {
    let t = &preset.training;
    let train_device = device.clone().autodiff();
    let mut optim = super::optim::build(t);
    let n_classes = input.classes.len();
    let objective = input.objective(t);
    let batch_size = t.batch_size.max(1);
    let steps_per_epoch = input.train.len().div_ceil(batch_size);
    let total_steps = t.epochs.max(1) * steps_per_epoch;
    let mut epochs = Vec::new();
    let mut steps = Vec::new();
    let mut tracker: Tracker<SerModel> = Tracker::new(t.select_by, t.early_stopping_patience);
    let mut global_step = 0usize;
    let mut stop_early = false;
    let masks = t.spec_augment.as_ref().filter(|m| m.is_active());
    let spectral_bins = input.bins.saturating_sub(preset.features.prosody_bins());
    if let Some(m) = masks.filter(|_| input.fold == 0) {
        emit(Event::Log(format!(
            "SpecAugment on training examples: {}",
            m.describe()
        )));
    }
    for epoch in 1..=t.epochs.max(1) {
        let started = Instant::now();
        let mut epoch_rng =
            SplitMix64::derive(input.seed, &format!("fold{}/epoch{epoch}", input.fold));
        let order: Vec<usize> = match input.multi_label.filter(|m| m.balanced_sampling) {
            // Label-balanced: drawn with replacement, rare labels more often.
            Some(_) => {
                let targets: Vec<&[f32]> =
                    input.train.iter().map(|e| e.target.as_slice()).collect();
                super::multilabel::weighted_draw(
                    &super::multilabel::balanced_weights(&targets),
                    input.train.len(),
                    &mut epoch_rng,
                )
            }
            None => {
                let mut order: Vec<usize> = (0..input.train.len()).collect();
                epoch_rng.shuffle(&mut order);
                order
            }
        };
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        let mut adapt_sum = 0.0f64;
        let mut target_order: Vec<usize> = (0..input.target.len()).collect();
        SplitMix64::derive(input.seed, &format!("fold{}/target{epoch}", input.fold))
            .shuffle(&mut target_order);
        let adapt = t.adaptation.as_ref().filter(|_| !input.target.is_empty());
        for (step, idx) in order.chunks(batch_size).enumerate() {
            controller.poll(emit)?;
            let altered = input.augment.is_some() || masks.is_some();
            let mut augmented: Vec<Example> = match input.augment {
                Some(a) => idx
                    .iter()
                    .map(|&i| a.example(i, &input.train[i], &mut epoch_rng))
                    .collect(),
                None if altered => idx.iter().map(|&i| input.train[i].clone()).collect(),
                None => Vec::new(),
            };
            if let Some(m) = masks {
                for e in &mut augmented {
                    m.apply(
                        &mut e.values,
                        input.frames,
                        input.bins,
                        spectral_bins,
                        &mut epoch_rng,
                    );
                }
            }
            let refs: Vec<&Example> = if altered {
                augmented.iter().collect()
            } else {
                idx.iter().map(|&i| &input.train[i]).collect()
            };
            let x = batch_inputs(&refs, input.frames, input.bins, &train_device);
            let aligned = adapt.map_or(AlignedLayer::Embedding, |a| a.aligned_layer);
            let text = batch_text(&refs, &train_device);
            let (logits, source_emb) = model.forward_aligned(x, &text, aligned);
            let mut loss = objective.loss(logits.clone(), &refs);
            if let Some(a) = adapt {
                // A target batch of the same size, cycling through the shuffled target set.
                let trefs: Vec<&Example> = (0..refs.len())
                    .map(|k| {
                        &input.target[target_order[(step * batch_size + k) % target_order.len()]]
                    })
                    .collect();
                let xt = batch_inputs(&trefs, input.frames, input.bins, &train_device);
                let t_text = batch_text(&trefs, &train_device);
                let (t_logits, target_emb) = model.forward_aligned(xt, &t_text, aligned);
                let t_probs = to_rows(softmax(t_logits.detach(), 1));
                let labels: Vec<usize> = refs.iter().map(|e| e.label).collect();
                let da = match a.method {
                    AdaptMethod::Lmmd => {
                        adapt_loss::lmmd(source_emb, target_emb, &labels, &t_probs, n_classes)
                    }
                    AdaptMethod::CentroidLmmd => adapt_loss::centroid_lmmd(
                        source_emb, target_emb, &labels, &t_probs, n_classes,
                    ),
                    AdaptMethod::Mmd => adapt_loss::mmd(source_emb, target_emb),
                    AdaptMethod::Coral => adapt_loss::coral(source_emb, target_emb),
                };
                let progress = ((epoch - 1) as f64 + step as f64 / steps_per_epoch.max(1) as f64)
                    / t.epochs.max(1) as f64;
                adapt_sum += da.clone().into_scalar::<f32>() as f64 * refs.len() as f64;
                loss = loss + da.mul_scalar(a.lambda_at(progress));
            }
            let loss_value = loss.clone().into_scalar::<f32>() as f64;
            correct += objective.correct(logits, &refs);
            seen += refs.len();
            loss_sum += loss_value * refs.len() as f64;
            let lr = t.learning_rate * t.lr_schedule.factor(global_step, total_steps, epoch);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            global_step += 1;
            steps.push(StepRecord {
                fold: input.fold,
                epoch,
                step: global_step,
                loss: loss_value,
                learning_rate: lr,
                encoder_learning_rate: lr,
            });
            emit(Event::Step {
                fold: input.fold,
                epoch,
                step: step + 1,
                steps_per_epoch,
                loss: loss_value,
                global_step,
                learning_rate: lr,
            });
            let at_epoch_end = step + 1 == steps_per_epoch;
            let due = t
                .eval_every_steps
                .is_some_and(|n| global_step.is_multiple_of(n));
            if !(due || at_epoch_end) {
                continue;
            }
            let snapshot = model.valid();
            let layer_weights = snapshot.layer_weights();
            let dimension_layer_weights = snapshot.layer_weights_per_output();
            let fusion_alpha = snapshot.fusion_alpha();
            let gate_per_class = snapshot
                .has_fusion_gate()
                .then(|| gate_by_class(&snapshot, input, batch_size, device))
                .flatten();
            let scatter = (!input.target.is_empty() && at_epoch_end)
                .then(|| embedding_scatter(&snapshot, input, batch_size, device));
            let v = validate(&snapshot, input, &objective, batch_size, device);
            let improved = tracker.offer(&v, snapshot);
            let mut m = metrics_row(
                input,
                epoch,
                global_step,
                loss_sum / seen.max(1) as f64,
                if objective.is_dimensional() {
                    f64::NAN
                } else {
                    correct as f64 / seen.max(1) as f64
                },
                &v,
                lr,
                started.elapsed().as_secs_f64(),
                improved,
            );
            m.layer_weights = layer_weights;
            m.dimension_layer_weights = dimension_layer_weights;
            m.adapt_loss = adapt.map(|_| adapt_sum / seen.max(1) as f64);
            m.fusion_alpha = fusion_alpha;
            m.gate_per_class = gate_per_class;
            m.scatter = scatter;
            emit(Event::Epoch(Box::new(m.clone())));
            epochs.push(m);
            if tracker.should_stop() {
                emit(Event::Log(format!(
                    "fold {}: early stop after epoch {epoch}, step {global_step} (no {} gain for {} evaluations)",
                    input.fold + 1,
                    t.select_by.name(),
                    tracker.since_best()
                )));
                stop_early = true;
                break;
            }
        }
        if stop_early {
            break;
        }
    }
    let model = tracker.into_best().unwrap_or_else(|| model.valid());
    let tested = Instant::now();
    let (_, test_probs) = evaluate(&model, input.test, input, &objective, batch_size, device);
    let test_secs = tested.elapsed().as_secs_f64();
    let thresholds = input.multi_label.map(|m| {
        fold_thresholds(m, input, || {
            evaluate(&model, input.valid, input, &objective, batch_size, device).1
        })
    });
    let tests = test_reports(&objective, input, &test_probs, thresholds.as_deref());
    Ok(FoldOutput {
        model,
        epochs,
        test_probs,
        report: tests.report,
        dims: tests.dims,
        labels: tests.labels,
        steps,
        test_secs,
        tasks: None,
    })
}

/// The test reports of a fold.
pub struct TestReports {
    /// Classification (empty in dimensional and multi-label runs).
    pub report: ClassificationReport,
    /// Per dimension (dimensional runs).
    pub dims: Option<Vec<DimensionReport>>,
    /// Per label (multi-label runs).
    pub labels: Option<MultiLabelReport>,
}

/// The test reports of a fold's output rows (multi-label: decided at `thresholds`).
pub fn test_reports(
    objective: &Objective,
    input: &FoldInput,
    rows: &[Vec<f32>],
    thresholds: Option<&[f32]>,
) -> TestReports {
    let empty = || ClassificationReport::from_predictions(&[], &[], &[]);
    match objective {
        Objective::Dimensions(_) => TestReports {
            report: empty(),
            dims: Some(dims_of(input.classes, input.test, rows)),
            labels: None,
        },
        Objective::Labels { threshold, .. } => {
            let uniform = vec![*threshold; input.classes.len()];
            TestReports {
                report: empty(),
                dims: None,
                labels: Some(labels_of(
                    input.classes,
                    input.test,
                    rows,
                    thresholds.unwrap_or(&uniform),
                )),
            }
        }
        Objective::Classes { .. } => TestReports {
            report: report_of(input.classes, input.test, rows),
            dims: None,
            labels: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: logits [[0, ln 3]] (p = [1/4, 3/4]), label 1 → −ln(3/4); label 0 → ln 4.
    /// Weighted with w = [1, 3] over both rows: (1·ln4 + 3·(−ln 0.75)) / 4.
    #[test]
    fn cross_entropy_matches_hand_values() {
        let device = Device::flex();
        let l3 = 3f32.ln();
        let logits =
            Tensor::<2>::from_data(TensorData::new(vec![0.0, l3, 0.0, l3], [2, 2]), &device);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &device);
        let plain = cross_entropy(logits.clone(), labels.clone(), None).into_scalar::<f32>();
        let expected = (4f32.ln() - 0.75f32.ln()) / 2.0;
        assert!((plain - expected).abs() < 1e-6, "{plain} vs {expected}");
        let weighted = cross_entropy(logits, labels, Some(&[1.0, 3.0])).into_scalar::<f32>();
        let expected_w = (4f32.ln() - 3.0 * 0.75f32.ln()) / 4.0;
        assert!(
            (weighted - expected_w).abs() < 1e-6,
            "{weighted} vs {expected_w}"
        );
    }
}
