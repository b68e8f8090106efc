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
}

impl Default for LayerWeightedConfig {
    fn default() -> Self {
        Self {
            layer_norm: true,
            hidden: 256,
            dropout: 0.2,
        }
    }
}

impl LayerWeightedConfig {
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

    /// Logits from an embedding.
    pub fn classify(&self, emb: Tensor<2>) -> Tensor<2> {
        self.out
            .forward(self.dropout.forward(relu(self.fc1.forward(emb))))
    }

    /// The layer-weighted utterance vector `[batch, dim]`.
    pub fn embed(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, l, d] = x.dims();
        let x = if self.layer_norm {
            let mean = x.clone().mean_dim(2);
            let c = x - mean;
            let var = c.clone().powi_scalar(2).mean_dim(2);
            c / var.add_scalar(1e-5).sqrt()
        } else {
            x
        };
        let w = softmax(self.layer_logits.val(), 0).reshape([1, l, 1]);
        (x * w).sum_dim(1).reshape([b, d])
    }

    /// The softmax layer weights.
    pub fn layer_weights(&self) -> Vec<f32> {
        softmax(self.layer_logits.val(), 0)
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_with_equal_weights_and_sums_layers() {
        let device = Device::flex();
        let m = LayerWeightedConfig {
            layer_norm: false,
            hidden: 4,
            dropout: 0.0,
        }
        .init(3, 2, 2, &device);
        assert_eq!(m.layer_weights(), vec![1.0 / 3.0; 3]);
        let y = m.forward(Tensor::<3>::ones([5, 3, 2], &device));
        assert_eq!(y.dims(), [5, 2]);
    }
}
