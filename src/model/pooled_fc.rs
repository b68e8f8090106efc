//! Frame features → projection (or LogMel–HuBERT fusion) → pooling over time → FC head: the
//! "LogMel+HuBERT+FC" baseline of seed 000's ablation table with a two-stream input, and a
//! plain "frames + FC" model with one stream. Pooling is the mean over frames, learned
//! attention pooling (score per frame, softmax over time, weighted sum), or the mean and the
//! maximum over valid frames concatenated (the distilled audio-textual paper's head for
//! dimensional emotion, with a tanh head). Valid frames are those that are not padding: the
//! batcher pads with frames of exact zeros.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, softmax};
use serde::{Deserialize, Serialize};

use super::fusion::{Fusion, FusionMode};
use super::head::{MlpHead, MlpHeadConfig};

/// Configuration of [`PooledFc`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PooledFcConfig {
    /// Width of the projected (fused) frames.
    pub channels: usize,
    /// How a two-stream input is fused.
    pub fusion: FusionMode,
    /// Learned attention pooling instead of the mean.
    pub attention_pooling: bool,
    /// Mean and maximum over valid frames, concatenated (instead of the mean alone).
    pub mean_max_pooling: bool,
    /// Classifier head.
    pub head: MlpHeadConfig,
}

impl Default for PooledFcConfig {
    fn default() -> Self {
        Self {
            channels: 128,
            fusion: FusionMode::Concat,
            attention_pooling: false,
            mean_max_pooling: false,
            head: MlpHeadConfig::default(),
        }
    }
}

impl PooledFcConfig {
    /// Checks the width and the head.
    pub fn validate(&self) -> Result<(), String> {
        if self.channels == 0 {
            return Err("pooled FC: channels must be ≥ 1".into());
        }
        if self.attention_pooling && self.mean_max_pooling {
            return Err("pooled FC: choose attention_pooling or mean_max_pooling, not both".into());
        }
        self.head.validate()
    }

    /// Builds the module; `text` values (a transcript's pooled vector, 0 without text) join the
    /// pooled audio embedding at the head's input.
    pub fn init(
        &self,
        n_bins: usize,
        split: Option<usize>,
        text: usize,
        n_classes: usize,
        device: &Device,
    ) -> PooledFc {
        PooledFc {
            fusion: super::fusion::init(self.fusion, n_bins, split, self.channels, device),
            score: self
                .attention_pooling
                .then(|| LinearConfig::new(self.channels, 1).init(device)),
            head: self.head.init(
                self.channels * if self.mean_max_pooling { 2 } else { 1 } + text,
                n_classes,
                device,
            ),
            mean_max: self.mean_max_pooling,
        }
    }
}

/// Projection/fusion → ReLU → pooling → head.
#[derive(Module, Debug)]
pub struct PooledFc {
    fusion: Fusion,
    score: Option<Linear>,
    head: MlpHead,
    mean_max: bool,
}

impl PooledFc {
    /// # Shapes
    /// - `x`: `[batch, time, bins]` → logits `[batch, classes]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.head.forward(self.embed(x))
    }

    /// Pooled embedding `[batch, channels]`.
    pub fn embed(&self, x: Tensor<3>) -> Tensor<2> {
        self.embed_traced(x).0
    }

    /// Embedding, per-frame pooling weights `[batch, time]` and the gate of gated fusion.
    pub fn embed_traced(&self, x: Tensor<3>) -> (Tensor<2>, Tensor<2>, Option<Tensor<2>>) {
        let [batch, time, _] = x.dims();
        // Padding frames are exact zeros.
        let valid = self
            .mean_max
            .then(|| x.clone().abs().sum_dim(2).greater_elem(0.0).float()); // [batch, time, 1]
        let (h, gate) = self.fusion.forward_with_gate(x);
        let h = relu(h);
        let channels = h.dims()[2];
        if let Some(valid) = valid {
            let count = valid.clone().sum_dim(1).clamp_min(1.0); // [batch, 1, 1]
            let w = valid.clone() / count.clone();
            let mean = (h.clone() * w.clone())
                .sum_dim(1)
                .reshape([batch, channels]);
            let max = (h + valid.sub_scalar(1.0).mul_scalar(1e30))
                .max_dim(1)
                .reshape([batch, channels]);
            return (
                Tensor::cat(vec![mean, max], 1),
                w.reshape([batch, time]),
                gate,
            );
        }
        let w = match &self.score {
            Some(s) => softmax(s.forward(h.clone()), 1), // [batch, time, 1]
            None => Tensor::ones([batch, time, 1], &h.device()) / time as f32,
        };
        let emb = (h * w.clone()).sum_dim(1).reshape([batch, channels]);
        (emb, w.reshape([batch, time]), gate)
    }

    /// Logits from an embedding.
    pub fn classify(&self, emb: Tensor<2>) -> Tensor<2> {
        self.head.forward(emb)
    }

    /// The head's logits and hidden activations.
    pub fn head_hidden(&self, emb: Tensor<2>) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        self.head.forward_hidden(emb)
    }

    /// α of the α-fusion front-end.
    pub fn alpha(&self) -> Option<f32> {
        self.fusion.alpha()
    }

    /// Whether the fusion front-end is gated.
    pub fn is_gated(&self) -> bool {
        self.fusion.is_gated()
    }
}
