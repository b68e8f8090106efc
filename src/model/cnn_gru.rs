//! CNN+GRU baseline of seed 000's ablation table: 2-D conv blocks over time × mel (each halves
//! both axes), the remaining frequency × channels flattened per time step, a GRU over time, the
//! mean of its outputs, dropout and a linear classifier.

use burn::nn::gru::{Gru, GruConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::cnn::{ConvBlock2d, conv_blocks, run_blocks};

/// Configuration of [`CnnGru`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CnnGruConfig {
    /// Output channels of each conv block.
    pub channels: Vec<usize>,
    /// GRU hidden size.
    pub gru_hidden: usize,
    /// Dropout before the classifier.
    pub dropout: f64,
}

impl Default for CnnGruConfig {
    fn default() -> Self {
        Self {
            channels: vec![16, 32],
            gru_hidden: 64,
            dropout: 0.3,
        }
    }
}

impl CnnGruConfig {
    /// Checks the block widths, GRU size and dropout.
    pub fn validate(&self) -> Result<(), String> {
        if self.channels.is_empty() || self.channels.contains(&0) || self.gru_hidden == 0 {
            return Err(format!(
                "CNN+GRU: channels (non-empty, each ≥ 1) and gru_hidden (≥ 1) required, got {:?} and {}",
                self.channels, self.gru_hidden
            ));
        }
        super::check_dropout("CNN+GRU: dropout", self.dropout)
    }

    /// Builds the module for `n_bins` input bins.
    pub fn init(&self, n_bins: usize, n_classes: usize, device: &Device) -> CnnGru {
        let mut f = n_bins;
        for _ in &self.channels {
            f /= 2;
        }
        let c = self.channels.last().copied().unwrap_or(1);
        CnnGru {
            blocks: conv_blocks(&self.channels, device),
            gru: GruConfig::new((f.max(1)) * c, self.gru_hidden, true).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            classifier: LinearConfig::new(self.gru_hidden, n_classes).init(device),
        }
    }
}

/// The CNN+GRU baseline.
#[derive(Module, Debug)]
pub struct CnnGru {
    blocks: Vec<ConvBlock2d>,
    gru: Gru,
    dropout: Dropout,
    classifier: Linear,
}

impl CnnGru {
    /// # Shapes
    /// - `x`: `[batch, time, bins]` → logits `[batch, classes]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.classify(self.embed(x))
    }

    /// Mean GRU output over time `[batch, gru_hidden]`.
    pub fn embed(&self, x: Tensor<3>) -> Tensor<2> {
        let h = run_blocks(&self.blocks, x);
        let [batch, channels, t, f] = h.dims();
        // [batch, channels, time, freq] → [batch, time, channels · freq]
        let seq = h.swap_dims(1, 2).reshape([batch, t, channels * f]);
        let out = self.gru.forward(seq, None);
        let hidden = out.dims()[2];
        out.mean_dim(1).reshape([batch, hidden])
    }

    /// Logits from an embedding.
    pub fn classify(&self, emb: Tensor<2>) -> Tensor<2> {
        self.classifier
            .forward(super::ops::dropout(&self.dropout, emb))
    }
}
