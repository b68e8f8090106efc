//! The LogMel–HuBERT paper's temporal stack on one stream (seed 000, as described in the paper):
//! input projection → DTCN → DTPM → multi-head self-attention over the pyramid segments (with
//! residual LayerNorm and FFN) → flatten → FC head.

use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

use super::dtcn::{Dtcn, DtcnConfig};
use super::dtpm::{SegmentPool, pyramid_pool};
use super::head::{MlpHead, MlpHeadConfig};

/// Configuration of [`TemporalStack`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemporalStackConfig {
    /// Channels after the 1×1 input projection.
    pub channels: usize,
    /// Dilated conv stack.
    pub dtcn: DtcnConfig,
    /// Pyramid levels L (2^L − 1 segments).
    pub pyramid_levels: usize,
    /// Pooling inside pyramid segments.
    pub pyramid_pool: SegmentPool,
    /// Attention heads (must divide `channels`).
    pub attention_heads: usize,
    /// Width of the attention block's feed-forward layer.
    pub ffn_dim: usize,
    /// Dropout inside the attention block.
    pub attention_dropout: f64,
    /// Classifier head.
    pub head: MlpHeadConfig,
}

impl Default for TemporalStackConfig {
    fn default() -> Self {
        Self {
            channels: 64,
            dtcn: DtcnConfig::default(),
            pyramid_levels: 3,
            pyramid_pool: SegmentPool::Mean,
            attention_heads: 4,
            ffn_dim: 128,
            attention_dropout: 0.1,
            head: MlpHeadConfig::default(),
        }
    }
}

impl TemporalStackConfig {
    /// Builds the module for `n_bins` input bins.
    pub fn init(&self, n_bins: usize, n_classes: usize, device: &Device) -> TemporalStack {
        let c = self.channels;
        let heads = if self.attention_heads > 0 && c.is_multiple_of(self.attention_heads) {
            self.attention_heads
        } else {
            1
        };
        let n_segments = (1usize << self.pyramid_levels.max(1)) - 1;
        TemporalStack {
            input: Conv1dConfig::new(n_bins, c, 1).init(device),
            dtcn: self.dtcn.init(c, device),
            attention: MultiHeadAttentionConfig::new(c, heads)
                .with_dropout(self.attention_dropout)
                .init(device),
            norm1: LayerNormConfig::new(c).init(device),
            ffn_in: LinearConfig::new(c, self.ffn_dim).init(device),
            ffn_out: LinearConfig::new(self.ffn_dim, c).init(device),
            norm2: LayerNormConfig::new(c).init(device),
            dropout: DropoutConfig::new(self.attention_dropout).init(),
            head: self.head.init(n_segments * c, n_classes, device),
            pyramid_levels: self.pyramid_levels.max(1),
            max_pool: self.pyramid_pool == SegmentPool::Max,
        }
    }
}

/// DTCN → DTPM → MHSA → FC.
#[derive(Module, Debug)]
pub struct TemporalStack {
    input: Conv1d,
    dtcn: Dtcn,
    attention: MultiHeadAttention,
    norm1: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    norm2: LayerNorm,
    dropout: Dropout,
    head: MlpHead,
    pyramid_levels: usize,
    max_pool: bool,
}

impl TemporalStack {
    /// # Shapes
    /// - `x`: `[batch, time, bins]`
    /// - returns logits `[batch, classes]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.head.forward(self.embed(x))
    }

    /// The utterance embedding fed to the head (the features domain adaptation aligns).
    ///
    /// # Shapes
    /// - `x`: `[batch, time, bins]` → `[batch, segments · channels]`
    pub fn embed(&self, x: Tensor<3>) -> Tensor<2> {
        let h = self.input.forward(x.swap_dims(1, 2)); // [batch, channels, time]
        let h = self.dtcn.forward(h);
        let pool = if self.max_pool {
            SegmentPool::Max
        } else {
            SegmentPool::Mean
        };
        let seg = pyramid_pool(h, self.pyramid_levels, pool); // [batch, segments, channels]
        let att = self
            .attention
            .forward(MhaInput::self_attn(seg.clone()))
            .context;
        let h = self.norm1.forward(seg + self.dropout.forward(att));
        let ff = self
            .ffn_out
            .forward(self.dropout.forward(relu(self.ffn_in.forward(h.clone()))));
        let h = self.norm2.forward(h + ff);
        let [batch, segments, channels] = h.dims();
        h.reshape([batch, segments * channels])
    }

    /// Logits from an embedding.
    pub fn classify(&self, emb: Tensor<2>) -> Tensor<2> {
        self.head.forward(emb)
    }
}
