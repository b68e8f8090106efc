//! The training loop of one fold when a preset fine-tunes an SSL encoder end to end
//! (docs/design.md, "Fine-tuning"):
//!
//! - raw 16 kHz audio in length-bucketed batches, each utterance normalised on its own (where the
//!   checkpoint asks for it) and zero-padded to the longest in its batch, with a frame mask for
//!   layer-norm encoders; training utterances longer than `max_train_secs` are randomly cropped;
//! - gradients summed over `grad_accumulation` micro-batches (each loss divided by it) before
//!   each optimiser step; the encoder and the head have separate optimisers and learning rates,
//!   both following the run's schedule; frozen parts never require gradients;
//! - validation on full utterances (chunked) at the end of every epoch and every
//!   `eval_every_steps` optimiser steps; the best weights by the preset's criterion are kept and
//!   tested.

use std::time::Instant;

use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;

use super::control::{Controller, Interrupt};
use super::data::{Example, batch_text};
use super::fit::{FoldInput, FoldOutput, StepRecord, Tracker, Validation, metrics_row};
use super::messages::Event;
use super::multitask::TaskScore;
use super::objective::Objective;
use super::preset::Preset;
use crate::model::SerModel;
use crate::model::multitask::{FoldTasks, MultiTaskSpec};
use crate::rng::SplitMix64;
use crate::ssl::classifier::{FineTuneConfig, SslClassifier};
use crate::ssl::wav2vec2::TrainAugment;

/// Batches of example indices: shuffled, then (with `buckets`) sorted by length within windows
/// of 50 batches so that a batch holds utterances of similar length, and the batches shuffled.
pub fn length_batches(
    lengths: &[usize],
    batch: usize,
    buckets: bool,
    rng: &mut SplitMix64,
) -> Vec<Vec<usize>> {
    let batch = batch.max(1);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    rng.shuffle(&mut order);
    if !buckets {
        return order.chunks(batch).map(<[usize]>::to_vec).collect();
    }
    let mut batches = Vec::new();
    for window in order.chunks(batch * 50) {
        let mut w = window.to_vec();
        w.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
        batches.extend(w.chunks(batch).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut batches);
    batches
}

/// A random window of at most `max` samples (the whole utterance when shorter).
pub fn random_crop<'a>(x: &'a [f32], max: usize, rng: &mut SplitMix64) -> &'a [f32] {
    if x.len() <= max {
        return x;
    }
    let start = rng.below(x.len() - max + 1);
    &x[start..start + max]
}

/// A padded batch: `[batch, longest]` samples (each normalised first when `normalise`) and the
/// real frames of each.
pub fn audio_batch(
    clips: &[&[f32]],
    normalise: bool,
    model: &SslClassifier,
    device: &Device,
) -> (Tensor<2>, Vec<usize>) {
    let longest = clips.iter().map(|c| c.len()).max().unwrap_or(0);
    let mut flat = vec![0.0f32; clips.len() * longest];
    let mut frames = Vec::with_capacity(clips.len());
    for (row, c) in clips.iter().enumerate() {
        let dst = &mut flat[row * longest..row * longest + c.len()];
        if normalise {
            dst.copy_from_slice(&crate::ssl::extract::normalise(c));
        } else {
            dst.copy_from_slice(c);
        }
        frames.push(model.frames_of(c.len()));
    }
    (
        Tensor::from_data(TensorData::new(flat, [clips.len(), longest]), device),
        frames,
    )
}

/// Mean loss and output rows (class probabilities or dimension values) of full utterances, one
/// at a time (chunked). The loss is unweighted; a regression loss is computed over the whole set.
pub fn evaluate(
    model: &SslClassifier,
    examples: &[Example],
    objective: &Objective,
    device: &Device,
) -> (f64, Vec<Vec<f32>>) {
    let mut rows = Vec::with_capacity(examples.len());
    let mut loss_sum = 0.0;
    let plain = objective.plain();
    for e in examples {
        let x = Tensor::<2>::from_data(
            TensorData::new(e.values.clone(), [1, e.values.len()]),
            device,
        );
        let out = model.forward_chunked(x, &batch_text(&[e], device));
        if !plain.whole_set_loss() {
            loss_sum += plain.loss(out.clone(), &[e]).into_scalar::<f32>() as f64;
        }
        rows.extend(plain.rows(out));
    }
    let loss = match &plain {
        Objective::Dimensions(kind) => {
            super::fit::whole_set_regression_loss(examples, &rows, *kind, device)
        }
        _ => loss_sum / examples.len().max(1) as f64,
    };
    (loss, rows)
}

/// [`evaluate`] of a multi-task model, which also scores every auxiliary task (one pass of the
/// encoder per utterance serves all heads).
pub fn evaluate_tasks(
    model: &SslClassifier,
    examples: &[Example],
    objective: &Objective,
    tasks: (&MultiTaskSpec, &FoldTasks),
    device: &Device,
) -> (f64, Vec<Vec<f32>>, Vec<TaskScore>) {
    let (spec, fold) = tasks;
    let plain = objective.plain();
    let mut rows = Vec::with_capacity(examples.len());
    let mut loss_sum = 0.0;
    let mut scores = super::multitask::empty_scores(spec);
    for e in examples {
        let x = Tensor::<2>::from_data(
            TensorData::new(e.values.clone(), [1, e.values.len()]),
            device,
        );
        let out = model.multitask_chunked(x);
        loss_sum += plain.loss(out.ser.clone(), &[e]).into_scalar::<f32>() as f64;
        super::multitask::score_utterance(spec, fold, &out, e, &mut scores);
        rows.extend(plain.rows(out.ser));
    }
    (loss_sum / examples.len().max(1) as f64, rows, scores)
}

/// Validation of a snapshot, with the auxiliary tasks' scores of a multi-task model.
fn validate(
    model: &SslClassifier,
    input: &FoldInput,
    objective: &Objective,
    tasks: Option<(&MultiTaskSpec, &FoldTasks)>,
    device: &Device,
) -> (Validation, Option<Vec<TaskScore>>) {
    if input.valid.is_empty() {
        return (Validation::none(), None);
    }
    let (loss, rows, scores) = match tasks {
        Some(t) => {
            let (l, r, s) = evaluate_tasks(model, input.valid, objective, t, device);
            (l, r, Some(s))
        }
        None => {
            let (l, r) = evaluate(model, input.valid, objective, device);
            (l, r, None)
        }
    };
    (
        Validation::of(objective, input.classes, input.valid, loss, &rows),
        scores,
    )
}

/// The optimisation state of a fine-tuning run: the model, one optimiser each for the encoder,
/// the head and a fine-tuned text encoder (each with its learning rate), and the gradients summed
/// since the last step.
pub struct FineTuner {
    model: Option<SslClassifier>,
    optim_enc: burn::optim::ModuleOptimizer,
    optim_head: burn::optim::ModuleOptimizer,
    optim_text: burn::optim::ModuleOptimizer,
    acc_enc: GradientsAccumulator<crate::ssl::wav2vec2::Wav2Vec2Encoder>,
    acc_head: GradientsAccumulator<crate::ssl::classifier::ClassifierHead>,
    acc_text: GradientsAccumulator<crate::text::TextEncoder>,
    /// Encoder learning rate before the schedule.
    pub lr_encoder: f64,
    /// Head learning rate before the schedule.
    pub lr_head: f64,
    /// Text encoder learning rate before the schedule (fine-tuned text only).
    pub lr_text: f64,
    pending: usize,
}

impl FineTuner {
    /// Optimisers as `t` describes them; rates from `ft` (else `t.learning_rate`) and the text
    /// stream's own rate (else the encoder's).
    pub fn new(
        model: SslClassifier,
        t: &super::TrainingConfig,
        ft: &FineTuneConfig,
        text_lr: Option<f64>,
    ) -> Self {
        let lr_encoder = ft.encoder_learning_rate.unwrap_or(t.learning_rate);
        Self {
            model: Some(model),
            optim_enc: super::optim::build(t),
            optim_head: super::optim::build(t),
            optim_text: super::optim::build(t),
            acc_enc: GradientsAccumulator::new(),
            acc_head: GradientsAccumulator::new(),
            acc_text: GradientsAccumulator::new(),
            lr_encoder,
            lr_head: ft.head_learning_rate.unwrap_or(t.learning_rate),
            lr_text: text_lr.unwrap_or(lr_encoder),
            pending: 0,
        }
    }

    /// The model (autodiff device).
    pub fn model(&self) -> &SslClassifier {
        self.model
            .as_ref()
            .expect("the model is only taken inside step")
    }

    /// Back-propagates `loss` and adds the gradients of the trainable parameters to the sums.
    pub fn backward(&mut self, loss: Tensor<1>) {
        let model = self.model.as_ref().expect("model present");
        let mut grads = loss.backward();
        self.acc_enc.accumulate(
            &model.encoder,
            GradientsParams::from_module(&mut grads, &model.encoder),
        );
        self.acc_head.accumulate(
            &model.head,
            GradientsParams::from_module(&mut grads, &model.head),
        );
        if let Some(text) = &model.text_encoder {
            self.acc_text
                .accumulate(text, GradientsParams::from_module(&mut grads, text));
        }
        self.pending += 1;
    }

    /// Marks what `ft` freezes as not requiring gradients from now on (stage 2 of two-stage
    /// fine-tuning); call between optimiser steps.
    pub fn refreeze(&mut self, ft: &FineTuneConfig) {
        let model = self.model.take().expect("model present");
        self.model = Some(model.freeze(ft));
    }

    /// Micro-batches summed since the last step.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// One optimiser step with the summed gradients, the rates scaled by `factor`.
    pub fn step(&mut self, factor: f64) {
        let model = self.model.take().expect("model present");
        let (optim_enc, optim_head, optim_text) = (
            &mut self.optim_enc,
            &mut self.optim_head,
            &mut self.optim_text,
        );
        let (acc_enc, acc_head, acc_text) =
            (&mut self.acc_enc, &mut self.acc_head, &mut self.acc_text);
        let (lr_enc, lr_head, lr_text) = (
            self.lr_encoder * factor,
            self.lr_head * factor,
            self.lr_text * factor,
        );
        self.model = Some(model.map_parts(|encoder, head, text| {
            (
                optim_enc.step(lr_enc, encoder, acc_enc.grads()),
                optim_head.step(lr_head, head, acc_head.grads()),
                text.map(|t| optim_text.step(lr_text, t, acc_text.grads())),
            )
        }));
        self.pending = 0;
    }
}

/// Trains one fold by fine-tuning `model` (built on `device.autodiff()` by
/// [`SslClassifier::load`], frozen parts marked); `ft` is the resolved fine-tune configuration.
pub fn fit_fold(
    preset: &Preset,
    ft: &FineTuneConfig,
    input: &FoldInput,
    model: SslClassifier,
    device: &Device,
    controller: &Controller,
    emit: &dyn Fn(Event),
) -> Result<FoldOutput, Interrupt> {
    let t = &preset.training;
    let train_device = device.clone().autodiff();
    let enc_cfg = ft.encoder.clone().unwrap_or_default();
    let normalise = model.encoder.do_normalize;
    let layer_drop = ft.layer_drop_for(&enc_cfg);
    let time_mask = ft.time_mask_for(&enc_cfg);
    let objective = input.objective(t);
    if t.adaptation.is_some() && !input.target.is_empty() {
        emit(Event::Log(
            "domain adaptation is not applied when fine-tuning an encoder: this run trains on the source only".into(),
        ));
    }
    let text_lr = preset.text.as_ref().and_then(|x| x.learning_rate);
    let mut tuner = FineTuner::new(model, t, ft, text_lr);
    let accum = ft.grad_accumulation.max(1);
    let batch_size = t.batch_size.max(1);
    let max_samples = (ft.max_train_secs as f64 * 16_000.0) as usize;
    let micro_per_epoch = input.train.len().div_ceil(batch_size);
    let steps_per_epoch = micro_per_epoch.div_ceil(accum);
    let epochs = t.epochs.max(1);
    let total_steps = epochs * steps_per_epoch;
    emit(Event::Log(format!(
        "fine-tuning: encoder lr {:e}, head lr {:e}, schedule {}, batch {batch_size} × {accum} accumulation, crop {} s, layer drop {layer_drop}, time masking {}",
        tuner.lr_encoder,
        tuner.lr_head,
        t.lr_schedule.describe(),
        ft.max_train_secs,
        time_mask.map_or("off".to_string(), |m| format!(
            "p {} × {} frames",
            m.prob, m.length
        ))
    )));
    let augment_cfg = t.augment.as_ref().filter(|a| a.is_active());
    if let Some(a) = augment_cfg {
        emit(Event::Log(format!(
            "augmenting training clips: {}",
            a.describe()
        )));
    }
    // Multi-task runs: the fold's task classes, and the epoch where stage 2 begins.
    // (A fold without resolved classes, outside a run, has no targets: only SER trains.)
    let spec = ft.multitask();
    let no_classes = FoldTasks::default();
    let tasks = spec.map(|s| (s, s.fold_tasks.get(input.fold).unwrap_or(&no_classes)));
    let stage1_epochs = spec
        .and_then(|s| s.stages.as_ref())
        .map_or(0, |st| st.stage1_epochs.min(epochs.saturating_sub(1)));
    let stage2_ft = ft.stage2();
    if stage1_epochs > 0 {
        emit(Event::Log(format!(
            "fold {}: stage 1 for {stage1_epochs} epoch(s) — auxiliary losses only, CNN frozen, every transformer layer trains; no checkpoint is chosen in stage 1",
            input.fold + 1
        )));
    }
    let lengths: Vec<usize> = input.train.iter().map(|e| e.values.len()).collect();
    let mut rng = SplitMix64::derive(input.seed, &format!("finetune/fold{}", input.fold));
    let mut tracker: Tracker<SslClassifier> = Tracker::new(t.select_by, t.early_stopping_patience);
    let mut epochs_out = Vec::new();
    let mut steps = Vec::new();
    let mut global_step = 0usize;
    let mut stop_early = false;
    for epoch in 1..=epochs {
        let started = Instant::now();
        let stage1 = epoch <= stage1_epochs;
        let stage = (stage1_epochs > 0).then_some(if stage1 { 1 } else { 2 });
        if stage1_epochs > 0
            && epoch == stage1_epochs + 1
            && let Some(ft2) = &stage2_ft
        {
            tuner.refreeze(ft2);
            emit(Event::Log(format!(
                "fold {}: stage 2 from epoch {epoch} — SER plus auxiliary losses; CNN and the first {} transformer layers frozen ({} parameters train)",
                input.fold + 1,
                ft2.freeze_layers,
                tuner.model().trainable_params()
            )));
        }
        let batches = length_batches(&lengths, batch_size, ft.length_buckets, &mut rng);
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        // Per auxiliary task: summed loss × utterances, correct, utterances.
        let mut task_sums = vec![(0.0f64, 0usize, 0usize); spec.map_or(0, |s| s.tasks.len())];
        let mut ser_loss_sum = 0.0f64;
        let mut step_loss = 0.0f64;
        for (mi, idx) in batches.iter().enumerate() {
            controller.poll(emit)?;
            let clips: Vec<&[f32]> = idx
                .iter()
                .map(|&i| random_crop(&input.train[i].values, max_samples, &mut rng))
                .collect();
            // Augmented after cropping (speed may then lengthen a crop by up to 1 / factor).
            let augmented: Vec<Vec<f32>> = match augment_cfg {
                Some(a) => clips.iter().map(|c| a.apply(c, &mut rng)).collect(),
                None => Vec::new(),
            };
            let clips: Vec<&[f32]> = if augment_cfg.is_some() {
                augmented.iter().map(Vec::as_slice).collect()
            } else {
                clips
            };
            let (x, frames) = audio_batch(&clips, normalise, tuner.model(), &train_device);
            let refs: Vec<&Example> = idx.iter().map(|&i| &input.train[i]).collect();
            let augment = TrainAugment {
                layer_drop,
                time_mask,
                rng: &mut rng,
            };
            let text = batch_text(&refs, &train_device);
            let (logits, loss) = match spec {
                Some(spec) => {
                    let out = tuner.model().forward_multitask(x, &frames, Some(augment));
                    let ser = objective.loss(out.ser.clone(), &refs);
                    ser_loss_sum += ser.clone().into_scalar::<f32>() as f64 * idx.len() as f64;
                    let b = super::multitask::batch_loss(spec, &out, ser, &refs, &frames, stage1);
                    for (sum, (l, c, n)) in task_sums.iter_mut().zip(&b.parts) {
                        if *n > 0 {
                            sum.0 += l * *n as f64;
                            sum.1 += c;
                            sum.2 += n;
                        }
                    }
                    (out.ser, b.total)
                }
                None => {
                    let logits = tuner
                        .model()
                        .forward_batch(x, &frames, &text, Some(augment));
                    let loss = objective.loss(logits.clone(), &refs);
                    (logits, loss)
                }
            };
            let loss_value = loss.clone().into_scalar::<f32>() as f64;
            correct += objective.correct(logits, &refs);
            seen += idx.len();
            loss_sum += loss_value * idx.len() as f64;
            step_loss += loss_value / accum as f64;
            tuner.backward(loss.div_scalar(accum as f32));
            let last = mi + 1 == batches.len();
            if tuner.pending() < accum && !last {
                continue;
            }
            let micro_in_step = tuner.pending();
            let factor = t.lr_schedule.factor(global_step, total_steps, epoch);
            tuner.step(factor);
            global_step += 1;
            // A short last step (fewer micro-batches) reports its own mean.
            let shown = step_loss * accum as f64 / micro_in_step as f64;
            steps.push(StepRecord {
                fold: input.fold,
                epoch,
                step: global_step,
                loss: shown,
                learning_rate: tuner.lr_head * factor,
                encoder_learning_rate: tuner.lr_encoder * factor,
            });
            emit(Event::Step {
                fold: input.fold,
                epoch,
                step: (mi + 1).div_ceil(accum),
                steps_per_epoch,
                loss: shown,
                global_step,
                learning_rate: tuner.lr_head * factor,
            });
            step_loss = 0.0;
            let at_epoch_end = last;
            let due = t
                .eval_every_steps
                .is_some_and(|n| global_step.is_multiple_of(n));
            if due || at_epoch_end {
                let snapshot = tuner.model().valid();
                let (v, valid_tasks) = validate(&snapshot, input, &objective, tasks, device);
                // Stage 1 does not train emotion: its weights are never the fold's checkpoint.
                let improved = !stage1 && tracker.offer(&v, snapshot);
                let mut row = metrics_row(
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
                    tuner.lr_head * factor,
                    started.elapsed().as_secs_f64(),
                    improved,
                );
                let current = SerModel::SslClassifier(tuner.model().valid());
                row.layer_weights = current.layer_weights();
                row.dimension_layer_weights = current.layer_weights_per_output();
                row.stage = stage;
                if let Some(spec) = spec {
                    row.tasks = task_rows(
                        spec,
                        &task_sums,
                        ser_loss_sum / seen.max(1) as f64,
                        valid_tasks,
                    );
                }
                emit(Event::Epoch(Box::new(row.clone())));
                epochs_out.push(row);
                if tracker.should_stop() {
                    emit(Event::Log(format!(
                        "fold {}: early stop at step {global_step} (no {} gain for {} evaluations)",
                        input.fold + 1,
                        t.select_by.name(),
                        tracker.since_best()
                    )));
                    stop_early = true;
                    break;
                }
            }
        }
        if stop_early {
            break;
        }
    }
    let best = tracker.into_best().unwrap_or_else(|| tuner.model().valid());
    let tested = Instant::now();
    let (test_probs, test_tasks) = match tasks {
        Some(t) => {
            let (_, rows, scores) = evaluate_tasks(&best, input.test, &objective, t, device);
            (rows, Some(scores))
        }
        None => (evaluate(&best, input.test, &objective, device).1, None),
    };
    let test_secs = tested.elapsed().as_secs_f64();
    let thresholds = input.multi_label.map(|m| {
        super::fit::fold_thresholds(m, input, || {
            evaluate(&best, input.valid, &objective, device).1
        })
    });
    let tests = super::fit::test_reports(&objective, input, &test_probs, thresholds.as_deref());
    Ok(FoldOutput {
        model: SerModel::SslClassifier(best),
        epochs: epochs_out,
        test_probs,
        report: tests.report,
        dims: tests.dims,
        labels: tests.labels,
        steps,
        test_secs,
        tasks: test_tasks,
    })
}

/// The per-task rows of an evaluation: emotion first (its unweighted training loss; its
/// validation in the row's own columns), then each auxiliary task's training means and
/// validation score.
fn task_rows(
    spec: &MultiTaskSpec,
    sums: &[(f64, usize, usize)],
    ser_train_loss: f64,
    valid: Option<Vec<TaskScore>>,
) -> Vec<super::messages::TaskEpoch> {
    let mut out = vec![super::messages::TaskEpoch {
        task: "emotion".into(),
        train_loss: ser_train_loss,
        train_accuracy: f64::NAN,
        valid: TaskScore {
            task: "emotion".into(),
            ..TaskScore::default()
        },
    }];
    let valid = valid.unwrap_or_else(|| super::multitask::empty_scores(spec));
    for ((t, &(loss, correct, n)), v) in spec.tasks.iter().zip(sums).zip(valid) {
        let asr = t.task == "asr";
        out.push(super::messages::TaskEpoch {
            task: t.task.clone(),
            train_loss: if n > 0 { loss / n as f64 } else { f64::NAN },
            train_accuracy: if n > 0 && !asr {
                correct as f64 / n as f64
            } else {
                f64::NAN
            },
            valid: v,
        });
    }
    out
}

/// The preset of a fine-tuning run with the encoder's architecture filled in (read from the
/// model folder's `config.json`), after checking that the model folder exists and that training
/// fits in memory (CPU: the estimate of [`memory_estimate`] against `MemAvailable`).
pub fn resolve_preset(
    preset: &Preset,
    backend: &super::BackendInfo,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Preset, String> {
    let crate::model::ModelConfig::SslFineTune(ft) = &preset.model else {
        return Ok(preset.clone());
    };
    let weights =
        preset.features.ssl_weights.as_ref().ok_or(
            "the SslFineTune model needs features.ssl_weights (the encoder's model folder)",
        )?;
    let (dir, _) = crate::ssl::weights::weights_file(weights)?;
    let enc = crate::ssl::EncoderConfig::load(&dir)?;
    let mut ft = ft.clone();
    ft.encoder = Some(enc.clone());
    ft.per_output_layer_weights = preset
        .task
        .dimensional()
        .is_some_and(|d| d.per_dimension_layer_weights);
    let need = memory_estimate(&enc, &ft, preset.training.batch_size);
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    match (backend.is_cpu, available_memory()) {
        (true, Some(have)) if need > have => {
            return Err(format!(
                "fine-tuning {} with batch {} × {} s crops needs about {:.1} GiB; {:.1} GiB are available. Lower training.batch_size (and raise grad_accumulation), shorten max_train_secs, freeze more layers or use keep_layers",
                weights.display(),
                preset.training.batch_size,
                ft.max_train_secs,
                gib(need),
                gib(have)
            ));
        }
        (_, have) => emit(Event::Log(format!(
            "fine-tuning memory estimate: {:.2} GiB{}",
            gib(need),
            have.map_or(String::new(), |h| format!(" ({:.1} GiB available)", gib(h)))
        ))),
    }
    let mut out = preset.clone();
    out.model = crate::model::ModelConfig::SslFineTune(ft);
    Ok(out)
}

/// Bytes that fine-tuning needs, estimated from the architecture: weights, plus gradients and
/// two Adam moments for the trainable part, plus the activations autodiff keeps for one
/// micro-batch of `max_train_secs` crops (per transformer layer ≈ 12·D + 2·FFN values per frame
/// and 3 attention maps of T² per head), plus the conv stack's largest intermediate. Deliberately
/// generous: its job is to refuse what cannot fit, not to be exact.
pub fn memory_estimate(enc: &crate::ssl::EncoderConfig, ft: &FineTuneConfig, batch: usize) -> u64 {
    let d = enc.hidden_size as u64;
    let ffn = enc.intermediate_size as u64;
    let layers = ft.keep_layers.unwrap_or(enc.num_hidden_layers) as u64;
    let mut conv = 0u64;
    let mut c_in = 1u64;
    for (c, k) in enc.conv_dim.iter().zip(&enc.conv_kernel) {
        conv += c_in * *c as u64 * *k as u64;
        c_in = *c as u64;
    }
    let per_layer = 4 * d * d + 2 * d * ffn + 9 * d + ffn;
    let pos = d
        * (d / enc.num_conv_pos_embedding_groups.max(1) as u64)
        * enc.num_conv_pos_embeddings as u64;
    let params = conv + c_in * d + pos + layers * per_layer;
    let frozen_layers = ft.freeze_layers.min(layers as usize) as u64;
    let mut trainable = params - frozen_layers * per_layer;
    if ft.freeze_feature_encoder {
        trainable -= conv;
    }
    let samples = (ft.max_train_secs as f64 * 16_000.0) as u64;
    let t = samples / enc.total_stride().max(1) as u64;
    let b = batch.max(1) as u64;
    let heads = enc.num_attention_heads as u64;
    let acts = layers * b * (t * (12 * d + 2 * ffn) + 3 * heads * t * t);
    let conv_peak = 3
        * b
        * (samples / enc.conv_stride.first().copied().unwrap_or(1).max(1) as u64)
        * enc.conv_dim.first().copied().unwrap_or(512) as u64
        * enc.conv_kernel.get(1).copied().unwrap_or(3) as u64;
    4 * (params + 3 * trainable + acts + conv_peak) + (256 << 20)
}

/// `MemAvailable` of /proc/meminfo, bytes (Linux; `None` elsewhere).
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_batches_cover_every_example_once_and_group_lengths() {
        let lengths: Vec<usize> = (0..37).map(|i| (i * 7919) % 101).collect();
        let mut rng = SplitMix64::new(3);
        let batches = length_batches(&lengths, 4, true, &mut rng);
        let mut all: Vec<usize> = batches.concat();
        all.sort_unstable();
        assert_eq!(all, (0..37).collect::<Vec<_>>());
        assert!(batches.iter().all(|b| b.len() <= 4));
        // One window of 200 slots: every batch is a run of the length-sorted order, so its
        // spread is at most that of 4 neighbours in sorted order.
        let mut sorted = lengths.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        let max_spread = sorted.windows(4).map(|w| w[0] - w[3]).max().unwrap_or(0);
        for b in &batches {
            let hi = b.iter().map(|&i| lengths[i]).max().unwrap_or(0);
            let lo = b.iter().map(|&i| lengths[i]).min().unwrap_or(0);
            assert!(hi - lo <= max_spread, "batch {b:?} spread {}", hi - lo);
        }
    }

    #[test]
    fn random_crop_keeps_short_clips_and_crops_long_ones_inside() {
        let x: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let mut rng = SplitMix64::new(1);
        assert_eq!(random_crop(&x, 200, &mut rng).len(), 100);
        for _ in 0..50 {
            let c = random_crop(&x, 30, &mut rng);
            assert_eq!(c.len(), 30);
            // contiguous values of the source
            assert!(c.windows(2).all(|w| w[1] - w[0] == 1.0));
        }
    }

    /// HuBERT-base, batch 4 × 6 s, CNN frozen: the estimate lies between the weights' own
    /// size (95 M parameters ≈ 0.35 GiB) and the 8 GB the issue allows.
    #[test]
    fn memory_estimate_of_hubert_base_is_plausible() {
        let enc = crate::ssl::EncoderConfig::default();
        let est = memory_estimate(&enc, &FineTuneConfig::default(), 4);
        let gib = est as f64 / (1u64 << 30) as f64;
        assert!((1.0..8.0).contains(&gib), "{gib} GiB");
    }
}
