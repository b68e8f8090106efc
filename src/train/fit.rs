//! The training loop of one fold: mini-batch optimisation on the autodiff device, validation
//! after every epoch, early stopping on validation UA, test evaluation with the best weights.

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};

use super::adapt as adapt_loss;
use super::control::{Controller, Interrupt};
use super::data::{Example, batch_inputs, batch_labels, to_rows};
use super::messages::{EpochMetrics, Event, ScatterPoint};
use super::preset::{AdaptMethod, AlignedLayer, Preset};
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
}

/// Result of one fold.
pub struct FoldOutput {
    /// The best weights (validation snapshot, plain device).
    pub model: SerModel,
    /// Per-epoch metrics.
    pub epochs: Vec<EpochMetrics>,
    /// Test probabilities per example (same order as `test`).
    pub test_probs: Vec<Vec<f32>>,
    /// Test report.
    pub report: ClassificationReport,
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

/// Evaluates `model` (validation snapshot) on examples in batches: (mean loss, probabilities).
pub fn evaluate(
    model: &SerModel,
    examples: &[Example],
    input: &FoldInput,
    batch_size: usize,
    device: &Device,
) -> (f64, Vec<Vec<f32>>) {
    let mut probs = Vec::with_capacity(examples.len());
    let mut loss_sum = 0.0;
    for chunk in examples.chunks(batch_size.max(1)) {
        let refs: Vec<&Example> = chunk.iter().collect();
        let x = batch_inputs(&refs, input.frames, input.bins, device);
        let logits = model.forward(x);
        let loss = cross_entropy(logits.clone(), batch_labels(&refs, device), None);
        loss_sum += loss.into_scalar::<f32>() as f64 * chunk.len() as f64;
        probs.extend(to_rows(softmax(logits, 1)));
    }
    (loss_sum / examples.len().max(1) as f64, probs)
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
        let gate = model.forward_traced(x).1.gate?;
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
            rows.extend(to_rows(model.embed(x)));
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
    let class_weights: Option<Vec<f32>> = t.class_weighted_loss.then(|| {
        let mut counts = vec![0usize; n_classes];
        for e in input.train {
            counts[e.label] += 1;
        }
        let n = input.train.len() as f32;
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
    });
    let batch_size = t.batch_size.max(1);
    let steps_per_epoch = input.train.len().div_ceil(batch_size);
    let mut epochs = Vec::new();
    let mut best: Option<(f64, f64, SerModel)> = None; // (valid UA, valid loss, weights)
    let mut since_best = 0usize;
    for epoch in 1..=t.epochs.max(1) {
        let started = Instant::now();
        let mut order: Vec<usize> = (0..input.train.len()).collect();
        SplitMix64::derive(input.seed, &format!("fold{}/epoch{epoch}", input.fold))
            .shuffle(&mut order);
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        let mut adapt_sum = 0.0f64;
        let mut target_order: Vec<usize> = (0..input.target.len()).collect();
        SplitMix64::derive(input.seed, &format!("fold{}/target{epoch}", input.fold))
            .shuffle(&mut target_order);
        let adapt = t.adaptation.as_ref().filter(|_| !input.target.is_empty());
        for (step, idx) in order.chunks(batch_size).enumerate() {
            controller.poll(emit)?;
            let refs: Vec<&Example> = idx.iter().map(|&i| &input.train[i]).collect();
            let x = batch_inputs(&refs, input.frames, input.bins, &train_device);
            let y = batch_labels(&refs, &train_device);
            let aligned = adapt.map_or(AlignedLayer::Embedding, |a| a.aligned_layer);
            let (logits, source_emb) = model.forward_aligned(x, aligned);
            let mut loss = cross_entropy(logits.clone(), y, class_weights.as_deref());
            if let Some(a) = adapt {
                // A target batch of the same size, cycling through the shuffled target set.
                let trefs: Vec<&Example> = (0..refs.len())
                    .map(|k| {
                        &input.target[target_order[(step * batch_size + k) % target_order.len()]]
                    })
                    .collect();
                let xt = batch_inputs(&trefs, input.frames, input.bins, &train_device);
                let (t_logits, target_emb) = model.forward_aligned(xt, aligned);
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
            let preds = crate::tensor::read_i64(logits.argmax(1));
            correct += preds
                .iter()
                .zip(&refs)
                .filter(|(p, e)| **p as usize == e.label)
                .count();
            seen += refs.len();
            loss_sum += loss_value * refs.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(t.learning_rate, model, grads);
            emit(Event::Step {
                fold: input.fold,
                epoch,
                step: step + 1,
                steps_per_epoch,
                loss: loss_value,
            });
        }
        let snapshot = model.valid();
        let layer_weights = snapshot.layer_weights();
        let fusion_alpha = snapshot.fusion_alpha();
        let gate_per_class = snapshot
            .has_fusion_gate()
            .then(|| gate_by_class(&snapshot, input, batch_size, device))
            .flatten();
        let scatter = (!input.target.is_empty())
            .then(|| embedding_scatter(&snapshot, input, batch_size, device));
        let (valid_loss, valid_report) = if input.valid.is_empty() {
            (f64::NAN, None)
        } else {
            let (l, probs) = evaluate(&snapshot, input.valid, input, batch_size, device);
            let truth: Vec<usize> = input.valid.iter().map(|e| e.label).collect();
            let pred: Vec<usize> = probs.iter().map(|p| argmax(p)).collect();
            (
                l,
                Some(ClassificationReport::from_predictions(
                    input.classes,
                    &truth,
                    &pred,
                )),
            )
        };
        let (ua, wa, f1, confusion) = valid_report
            .as_ref()
            .map(|r| (r.ua, r.wa, r.macro_f1, r.confusion.clone()))
            .unwrap_or((
                f64::NAN,
                f64::NAN,
                f64::NAN,
                crate::eval::ConfusionMatrix::new(n_classes),
            ));
        // Without a validation part the last epoch is kept (nothing else may choose).
        let improved = match (&best, valid_report.is_some()) {
            (None, _) | (_, false) => true,
            (Some((bua, bloss, _)), true) => ua > *bua || (ua == *bua && valid_loss < *bloss),
        };
        if improved {
            best = Some((ua, valid_loss, snapshot));
            since_best = 0;
        } else {
            since_best += 1;
        }
        let m = EpochMetrics {
            fold: input.fold,
            epoch,
            train_loss: loss_sum / seen.max(1) as f64,
            train_wa: correct as f64 / seen.max(1) as f64,
            valid_loss,
            valid_wa: wa,
            valid_ua: ua,
            valid_macro_f1: f1,
            learning_rate: t.learning_rate,
            valid_confusion: confusion,
            epoch_secs: started.elapsed().as_secs_f64(),
            is_best: improved,
            layer_weights,
            adapt_loss: adapt.map(|_| adapt_sum / seen.max(1) as f64),
            fusion_alpha,
            gate_per_class,
            scatter,
        };
        emit(Event::Epoch(m.clone()));
        epochs.push(m);
        if t.early_stopping_patience.is_some_and(|p| since_best >= p) {
            emit(Event::Log(format!(
                "fold {}: early stop after epoch {epoch} (no validation UA gain for {since_best} epochs)",
                input.fold + 1
            )));
            break;
        }
    }
    let model = match best {
        Some((_, _, m)) => m,
        None => model.valid(),
    };
    let (_, test_probs) = evaluate(&model, input.test, input, batch_size, device);
    let truth: Vec<usize> = input.test.iter().map(|e| e.label).collect();
    let pred: Vec<usize> = test_probs.iter().map(|p| argmax(p)).collect();
    let report = ClassificationReport::from_predictions(input.classes, &truth, &pred);
    Ok(FoldOutput {
        model,
        epochs,
        test_probs,
        report,
    })
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
