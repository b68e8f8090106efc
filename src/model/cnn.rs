//! LogMel+CNN baseline: 2-D conv blocks (conv 3×3 → batch norm → ReLU → 2×2 max-pool) over the
//! time × mel plane, global average pooling, dropout and a linear classifier.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

/// Configuration of [`LogMelCnn`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CnnConfig {
    /// Output channels of each conv block.
    pub channels: Vec<usize>,
    /// Dropout before the classifier.
    pub dropout: f64,
}

impl Default for CnnConfig {
    fn default() -> Self {
        Self {
            channels: vec![16, 32, 64],
            dropout: 0.3,
        }
    }
}

impl CnnConfig {
    /// Checks the block widths and dropout.
    pub fn validate(&self) -> Result<(), String> {
        if self.channels.is_empty() || self.channels.contains(&0) {
            return Err(format!(
                "CNN: channels must be a non-empty list of widths ≥ 1, got {:?}",
                self.channels
            ));
        }
        super::check_dropout("CNN: dropout", self.dropout)
    }

    /// Builds the module.
    pub fn init(&self, n_classes: usize, device: &Device) -> LogMelCnn {
        let blocks = conv_blocks(&self.channels, device);
        let c_in = self.channels.last().copied().unwrap_or(1);
        LogMelCnn {
            blocks,
            dropout: DropoutConfig::new(self.dropout).init(),
            classifier: LinearConfig::new(c_in, n_classes).init(device),
        }
    }
}

/// Conv blocks with the given output channels, starting from one input channel.
pub fn conv_blocks(channels: &[usize], device: &Device) -> Vec<ConvBlock2d> {
    let mut blocks = Vec::new();
    let mut c_in = 1;
    for &c in channels {
        blocks.push(ConvBlock2d {
            conv: Conv2dConfig::new([c_in, c], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            bn: BatchNormConfig::new(c).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
        });
        c_in = c;
    }
    blocks
}

/// Runs `[batch, time, bins]` through the blocks: `[batch, channels, time', bins']`.
pub fn run_blocks(blocks: &[ConvBlock2d], x: Tensor<3>) -> Tensor<4> {
    let [batch, time, bins] = x.dims();
    blocks
        .iter()
        .fold(x.reshape([batch, 1, time, bins]), |h, b| b.forward(h))
}

/// conv 3×3 → BN → ReLU → max-pool 2×2.
#[derive(Module, Debug)]
pub struct ConvBlock2d {
    conv: Conv2d,
    bn: BatchNorm,
    pool: MaxPool2d,
}

impl ConvBlock2d {
    /// # Shapes
    /// - `x`: `[batch, channels_in, time, bins]` → `[batch, channels, time/2, bins/2]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.pool
            .forward(relu(self.bn.forward(self.conv.forward(x))))
    }
}

/// The LogMel+CNN baseline.
#[derive(Module, Debug)]
pub struct LogMelCnn {
    blocks: Vec<ConvBlock2d>,
    dropout: Dropout,
    classifier: Linear,
}

impl LogMelCnn {
    /// # Shapes
    /// - `x`: `[batch, time, bins]`
    /// - returns logits `[batch, classes]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.classify(self.embed(x))
    }

    /// The pooled embedding `[batch, channels]` (the features domain adaptation aligns).
    pub fn embed(&self, x: Tensor<3>) -> Tensor<2> {
        let h = run_blocks(&self.blocks, x);
        // Global average over the time × frequency plane.
        let [batch, channels, _, _] = h.dims();
        h.mean_dims(&[2, 3]).reshape([batch, channels])
    }

    /// Logits from an embedding.
    pub fn classify(&self, emb: Tensor<2>) -> Tensor<2> {
        self.classifier
            .forward(super::ops::dropout(&self.dropout, emb))
    }
}
