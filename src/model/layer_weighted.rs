//! Layer-weighted sum of SSL hidden states + FC head (s3prl's "weighted sum" upstream and the
//! layer-importance paper): softmax over zero-initialised layer logits, optional per-layer
//! LayerNorm without affine parameters, then an MLP. With one layer it is "HuBERT + FC".

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, softmax};
use serde::{Deserialize, Serialize};

/// Configuration of [`LayerWeighted`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LayerWeightedConfig {
    /// Normalise every layer's vector (zero mean, unit variance over the feature axis, no affine)
    /// before weighting.
    pub layer_norm: bool,
    /// Hidden width of the head.
    pub hidden: usize,
    /// Dropout in the head.
    pub dropout: f64,
    /// One set of layer weights per output (dimensional runs with per-dimension layer
    /// importance; set from the task when a run starts): output k reads its own weighted sum
    /// through the shared head.
    pub per_output_layer_weights: bool,
}

impl Default for LayerWeightedConfig {
    fn default() -> Self {
        Self {
            layer_norm: true,
            hidden: 256,
            dropout: 0.2,
            per_output_layer_weights: false,
        }
    }
}

impl LayerWeightedConfig {
    /// Checks the head width and dropout.
    pub fn validate(&self) -> Result<(), String> {
        if self.hidden == 0 {
            return Err("layer-weighted: hidden must be ≥ 1".into());
        }
        super::check_dropout("layer-weighted: dropout", self.dropout)
    }

    /// Builds the module for `n_layers` hidden states of width `dim`.
    pub fn init(
        &self,
        n_layers: usize,
        dim: usize,
        n_classes: usize,
        device: &Device,
    ) -> LayerWeighted {
        LayerWeighted {
            layer_logits: Param::from_tensor(Tensor::zeros([n_layers.max(1)], device)),
            output_logits: self
                .per_output_layer_weights
                .then(|| Param::from_tensor(Tensor::zeros([n_classes, n_layers.max(1)], device))),
            fc1: LinearConfig::new(dim, self.hidden).init(device),
            out: LinearConfig::new(self.hidden, n_classes).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            layer_norm: self.layer_norm,
        }
    }
}

/// softmax(w)·layers → MLP.
#[derive(Module, Debug)]
pub struct LayerWeighted {
    /// Layer logits (zeros at start: equal weights).
    pub layer_logits: Param<Tensor<1>>,
    /// Per-output layer logits `[outputs, layers]` (used instead of `layer_logits`).
    pub output_logits: Option<Param<Tensor<2>>>,
    fc1: Linear,
    out: Linear,
    dropout: Dropout,
    layer_norm: bool,
}

impl LayerWeighted {
    /// # Shapes
    /// - `x`: `[batch, layers, dim]` (utterance vectors per hidden state)
    /// - returns logits `[batch, classes]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.classify(self.embed(x))
    }

    /// Logits from an embedding (`[batch, dim]`, or `[batch, outputs · dim]` with per-output
    /// weights: output k from its own vector).
    pub fn classify(&self, emb: Tensor<2>) -> Tensor<2> {
        match &self.output_logits {
            None => self.out.forward(super::ops::dropout(
                &self.dropout,
                relu(self.fc1.forward(emb)),
            )),
            Some(w) => {
                let [b, gd] = emb.dims();
                let g = w.dims()[0];
                let e: Tensor<3> = emb.reshape([b, g, gd / g]);
                let y = self.out.forward(super::ops::dropout(
                    &self.dropout,
                    relu(self.fc1.forward(e)),
                )); // [b, g, out]
                let eye: Tensor<2> = Tensor::eye(g, &y.device());
                (y * eye.reshape([1, g, g])).sum_dim(1).reshape([b, g])
            }
        }
    }

    /// The layer-weighted utterance vector `[batch, dim]` (per-output weights: the vectors of
    /// every output side by side, `[batch, outputs · dim]`).
    pub fn embed(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, l, d] = x.dims();
        if let Some(w) = &self.output_logits {
            let g = w.dims()[0];
            let x = self.normalise(x);
            let w = softmax(w.val(), 1).reshape([1, g, l, 1]);
            return (x.reshape([b, 1, l, d]) * w).sum_dim(2).reshape([b, g * d]);
        }
        let x = self.normalise(x);
        let w = softmax(self.layer_logits.val(), 0).reshape([1, l, 1]);
        (x * w).sum_dim(1).reshape([b, d])
    }

    /// Each layer's vector to zero mean and unit variance (when configured).
    fn normalise(&self, x: Tensor<3>) -> Tensor<3> {
        if self.layer_norm {
            let mean = x.clone().mean_dim(2);
            let c = x - mean;
            let var = c.clone().powi_scalar(2).mean_dim(2);
            c / var.add_scalar(1e-5).sqrt()
        } else {
            x
        }
    }

    /// The softmax layer weights (per-output weights: their mean).
    pub fn layer_weights(&self) -> Vec<f32> {
        match self.layer_weights_per_output() {
            Some(rows) => {
                let n = rows.len() as f32;
                let mut mean = vec![0.0f32; rows[0].len()];
                for r in &rows {
                    for (m, v) in mean.iter_mut().zip(r) {
                        *m += v / n;
                    }
                }
                mean
            }
            None => crate::tensor::read_f32(softmax(self.layer_logits.val(), 0)),
        }
    }

    /// One row of softmax layer weights per output, where learned per output.
    pub fn layer_weights_per_output(&self) -> Option<Vec<Vec<f32>>> {
        let w = self.output_logits.as_ref()?;
        let [g, n] = w.dims();
        let v = crate::tensor::read_f32(softmax(w.val(), 1));
        Some((0..g).map(|k| v[k * n..(k + 1) * n].to_vec()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(layer_norm: bool, device: &Device) -> LayerWeighted {
        LayerWeightedConfig {
            layer_norm,
            hidden: 4,
            dropout: 0.0,
            per_output_layer_weights: false,
        }
        .init(2, 3, 2, device)
    }

    /// Two layers that differ, weights softmax([0, ln 3]) = [0.25, 0.75]:
    /// layer 0 = [1, 2, 6], layer 1 = [0, −3, 3].
    /// - without LayerNorm: 0.25·[1, 2, 6] + 0.75·[0, −3, 3] = [0.25, −1.75, 3.75];
    /// - with LayerNorm (population variance, ε = 1e-5): layer 0 has mean 3, variance 14/3, so
    ///   [−2, −1, 3]/√(14/3 + ε); layer 1 has mean 0, variance 6, so [0, −3, 3]/√(6 + ε);
    ///   ≈ 0.25·[−0.92582, −0.46291, 1.38873] + 0.75·[0, −1.22474, 1.22474]
    ///   = [−0.231455, −1.034285, 1.265740].
    #[test]
    fn weighted_sum_of_different_layers_hand_computed() {
        let device = Device::flex();
        let x = Tensor::<3>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 6.0, 0.0, -3.0, 3.0], [1, 2, 3]),
            &device,
        );
        for (layer_norm, want) in [
            (false, [0.25f32, -1.75, 3.75]),
            (true, [-0.231_455, -1.034_285, 1.265_74]),
        ] {
            let mut m = model(layer_norm, &device);
            assert_eq!(m.layer_weights(), vec![0.5, 0.5]);
            m.layer_logits = Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![0.0f32, 3.0f32.ln()], [2]),
                &device,
            ));
            let w = m.layer_weights();
            assert!(
                (w[0] - 0.25).abs() < 1e-6 && (w[1] - 0.75).abs() < 1e-6,
                "{w:?}"
            );
            let got: Vec<f32> = m.embed(x.clone()).into_data().try_to_vec().expect("vec");
            let err = crate::eval::compare::max_abs_diff(&got, &want);
            assert!(err < 2e-5, "layer_norm {layer_norm}: {got:?} vs {want:?}");
        }
    }

    /// Per-output weights: output k equals the shared-weight model's output k when that model's
    /// weights are row k (two outputs, two different rows).
    #[test]
    fn per_output_weights_read_their_own_sum() {
        let device = Device::flex();
        let x = Tensor::<3>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 6.0, 0.0, -3.0, 3.0], [1, 2, 3]),
            &device,
        );
        let cfg = LayerWeightedConfig {
            layer_norm: true,
            hidden: 4,
            dropout: 0.0,
            per_output_layer_weights: true,
        };
        let mut m = cfg.init(2, 3, 2, &device);
        let rows = [[0.0f32, 3.0f32.ln()], [1.0, -1.0]];
        m.output_logits = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(rows.concat(), [2, 2]),
            &device,
        )));
        let got = crate::tensor::read_f32(m.classify(m.embed(x.clone())));
        for (k, row) in rows.iter().enumerate() {
            let mut shared = m.clone();
            shared.output_logits = None;
            shared.layer_logits = Param::from_tensor(Tensor::from_data(
                TensorData::new(row.to_vec(), [2]),
                &device,
            ));
            let want = crate::tensor::read_f32(shared.classify(shared.embed(x.clone())));
            assert!(
                (got[k] - want[k]).abs() < 1e-6,
                "output {k}: {got:?} vs {want:?}"
            );
        }
        let w = m.layer_weights_per_output().expect("rows");
        assert!((w[0][1] - 0.75).abs() < 1e-6);
    }
}
