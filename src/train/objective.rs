//! What a training step minimises and how outputs are read: class logits with cross-entropy, or
//! dimension values with `1 − CCC` / MSE (docs/design.md, "Dimensional emotion").

use burn::prelude::*;
use burn::tensor::activation::softmax;

use super::data::{Example, batch_labels, batch_targets, to_rows};
use super::fit::cross_entropy;
use super::task::RegressionLoss;

/// The objective of a fold.
#[derive(Clone, Debug)]
pub enum Objective {
    /// Cross-entropy over classes, optionally class-weighted.
    Classes {
        /// Per-class weights (`None` = plain mean).
        class_weights: Option<Vec<f32>>,
    },
    /// Regression of the examples' targets.
    Dimensions(RegressionLoss),
    /// One sigmoid per label against the examples' 0/1 targets.
    Labels {
        /// The loss.
        loss: super::multilabel::MultiLabelLoss,
        /// BCE weights of each label's positives.
        pos_weight: Option<Vec<f32>>,
        /// Per-label decision thresholds (accuracy shown during training).
        threshold: f32,
    },
}

impl Objective {
    /// Whether the outputs are dimension values.
    pub fn is_dimensional(&self) -> bool {
        matches!(self, Objective::Dimensions(_))
    }

    /// Whether the outputs are per-label logits.
    pub fn is_multi_label(&self) -> bool {
        matches!(self, Objective::Labels { .. })
    }

    /// Whether the loss is computed over a whole set at once (not a mean of per-batch losses):
    /// the CCC of a set is not the mean of batch CCCs.
    pub fn whole_set_loss(&self) -> bool {
        self.is_dimensional()
    }

    /// The objective without training-only weights (evaluation losses are unweighted).
    pub fn plain(&self) -> Objective {
        match self {
            Objective::Classes { .. } => Objective::Classes {
                class_weights: None,
            },
            Objective::Labels {
                loss, threshold, ..
            } => Objective::Labels {
                loss: *loss,
                pos_weight: None,
                threshold: *threshold,
            },
            o => o.clone(),
        }
    }

    /// The loss of `outputs` for the examples.
    ///
    /// # Shapes
    /// - `outputs`: `[batch, classes or dimensions]` → scalar `[1]`
    pub fn loss(&self, outputs: Tensor<2>, refs: &[&Example]) -> Tensor<1> {
        let device = outputs.device();
        match self {
            Objective::Classes { class_weights } => cross_entropy(
                outputs,
                batch_labels(refs, &device),
                class_weights.as_deref(),
            ),
            Objective::Dimensions(kind) => {
                regression_loss(outputs, batch_targets(refs, &device), *kind)
            }
            Objective::Labels {
                loss, pos_weight, ..
            } => super::multilabel::loss(
                outputs,
                batch_targets(refs, &device),
                *loss,
                pos_weight.as_deref(),
            ),
        }
    }

    /// Rows as reported: class probabilities, or the predicted dimension values.
    pub fn rows(&self, outputs: Tensor<2>) -> Vec<Vec<f32>> {
        match self {
            Objective::Classes { .. } => to_rows(softmax(outputs, 1)),
            Objective::Dimensions(_) => to_rows(outputs),
            Objective::Labels { .. } => to_rows(burn::tensor::activation::sigmoid(outputs)),
        }
    }

    /// Correct predictions among the examples: top-1 for classes, the exact label set for
    /// multi-label (0 for dimensions).
    pub fn correct(&self, outputs: Tensor<2>, refs: &[&Example]) -> usize {
        match self {
            Objective::Classes { .. } => crate::tensor::read_i64(outputs.argmax(1))
                .iter()
                .zip(refs)
                .filter(|(p, e)| **p as usize == e.label)
                .count(),
            Objective::Dimensions(_) => 0,
            Objective::Labels { threshold, .. } => {
                let probs = to_rows(burn::tensor::activation::sigmoid(outputs));
                probs
                    .iter()
                    .zip(refs)
                    .filter(|(p, e)| {
                        p.iter()
                            .zip(&e.target)
                            .all(|(p, t)| (*p >= *threshold) == (*t >= 0.5))
                    })
                    .count()
            }
        }
    }
}

/// `1 − CCC` per dimension over the batch with population statistics, averaged over dimensions
/// (or MSE, or a mix). A small ε keeps a batch of one finite.
///
/// # Shapes
/// - `pred`, `target`: `[batch, dimensions]` → scalar `[1]`
pub fn regression_loss(pred: Tensor<2>, target: Tensor<2>, kind: RegressionLoss) -> Tensor<1> {
    let mse = |p: Tensor<2>, t: Tensor<2>| (p - t).powi_scalar(2).mean();
    match kind {
        RegressionLoss::Ccc => ccc_loss(pred, target),
        RegressionLoss::Mse => mse(pred, target),
        RegressionLoss::Mix(w) => {
            let m = mse(pred.clone(), target.clone());
            ccc_loss(pred, target).mul_scalar(w) + m.mul_scalar(1.0 - w)
        }
    }
}

/// `1 − mean over dimensions of CCC(pred[:, k], target[:, k])`.
pub fn ccc_loss(pred: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    let mp = pred.clone().mean_dim(0); // [1, d]
    let mt = target.clone().mean_dim(0);
    let dp = pred - mp.clone();
    let dt = target - mt.clone();
    let vp = dp.clone().powi_scalar(2).mean_dim(0);
    let vt = dt.clone().powi_scalar(2).mean_dim(0);
    let cov = (dp * dt).mean_dim(0);
    let ccc = cov.mul_scalar(2.0) / (vp + vt + (mp - mt).powi_scalar(2)).add_scalar(1e-8);
    ccc.mean().neg().add_scalar(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::regression::ccc;

    fn t(v: &[f32], rows: usize) -> Tensor<2> {
        let cols = v.len() / rows;
        Tensor::from_data(TensorData::new(v.to_vec(), [rows, cols]), &Device::flex())
    }

    /// The loss equals 1 − the CCC of `eval::regression` (tested against numpy) per dimension.
    #[test]
    fn ccc_loss_matches_the_metric() {
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let y = [2.0f32, 2.0, 4.0, 5.0];
        let pred: Vec<f32> = x.iter().zip(&y).flat_map(|(a, b)| [*a, *b * 0.5]).collect();
        let truth: Vec<f32> = y.iter().zip(&x).flat_map(|(a, b)| [*a, *b]).collect();
        let loss = ccc_loss(t(&pred, 4), t(&truth, 4)).into_scalar::<f32>() as f64;
        let f = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<_>>();
        let c0 = ccc(&f(&x), &f(&y));
        let half: Vec<f32> = y.iter().map(|v| v * 0.5).collect();
        let c1 = ccc(&f(&half), &f(&x));
        let expected = 1.0 - (c0 + c1) / 2.0;
        assert!((loss - expected).abs() < 1e-6, "{loss} vs {expected}");
        let mse = regression_loss(t(&pred, 4), t(&truth, 4), RegressionLoss::Mse)
            .into_scalar::<f32>() as f64;
        let hand: f64 = pred
            .iter()
            .zip(&truth)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            / 8.0;
        assert!((mse - hand).abs() < 1e-6);
        let mix = regression_loss(t(&pred, 4), t(&truth, 4), RegressionLoss::Mix(0.25))
            .into_scalar::<f32>() as f64;
        assert!((mix - (0.25 * expected + 0.75 * hand)).abs() < 1e-6);
    }
}
