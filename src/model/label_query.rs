//! SpeechMLC's label-query decoder (seed 001, after Query2Label): one learnable query per label
//! cross-attends the frames (log-mel, or one SSL layer's frame embeddings projected to `d`),
//! and each label's decoder output gives its own logit (a group-wise linear head; sigmoid
//! outside, in the loss and the reports).
//!
//! As Query2Label's transformer (docs/design.md, "Multi-label"): the decoder input is zero and
//! the queries enter as positions added at every layer (`q = tgt + query`); keys are the frames
//! plus a 1-D sine position encoding, values the frames; each layer is (optional self-attention
//! → add → LayerNorm) → cross-attention → add → LayerNorm → ReLU FFN → add → LayerNorm
//! (post-norm), then a final LayerNorm. Padding frames (exact zeros) are masked out of the
//! attention.

use burn::module::Param;
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

/// Configuration of [`LabelQueryDecoder`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LabelQueryConfig {
    /// Model width `d` (frames are projected to it; queries have it).
    pub d_model: usize,
    /// Decoder layers.
    pub layers: usize,
    /// Attention heads (must divide `d_model`).
    pub heads: usize,
    /// Width of each layer's feed-forward block.
    pub ffn_dim: usize,
    /// Dropout in the layers.
    pub dropout: f64,
    /// Self-attention among the label queries before the cross-attention (Query2Label removes
    /// it by default).
    pub self_attention: bool,
}

impl Default for LabelQueryConfig {
    fn default() -> Self {
        Self {
            d_model: 128,
            layers: 4,
            heads: 8,
            ffn_dim: 512,
            dropout: 0.1,
            self_attention: false,
        }
    }
}

impl LabelQueryConfig {
    /// Checks what [`LabelQueryConfig::init`] relies on.
    pub fn validate(&self) -> Result<(), String> {
        if self.d_model == 0 || self.layers == 0 || self.ffn_dim == 0 {
            return Err("label queries: d_model, layers and ffn_dim must be ≥ 1".into());
        }
        if self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return Err(format!(
                "label queries: heads ({}) must divide d_model ({})",
                self.heads, self.d_model
            ));
        }
        super::check_dropout("label queries: dropout", self.dropout)
    }

    /// Builds the module for `n_bins` values per frame and `n_labels` labels.
    pub fn init(&self, n_bins: usize, n_labels: usize, device: &Device) -> LabelQueryDecoder {
        let d = self.d_model;
        let mha = || {
            MultiHeadAttentionConfig::new(d, self.heads)
                .with_dropout(self.dropout)
                .init(device)
        };
        let ln = || LayerNormConfig::new(d).init(device);
        let bound = 1.0 / (d as f64).sqrt();
        LabelQueryDecoder {
            input_proj: LinearConfig::new(n_bins, d).init(device),
            queries: Param::from_tensor(Tensor::random(
                [n_labels, d],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                device,
            )),
            layers: (0..self.layers)
                .map(|_| DecoderLayer {
                    self_attn: self.self_attention.then(mha),
                    norm1: self.self_attention.then(ln),
                    cross_attn: mha(),
                    norm2: ln(),
                    ff1: LinearConfig::new(d, self.ffn_dim).init(device),
                    ff2: LinearConfig::new(self.ffn_dim, d).init(device),
                    norm3: ln(),
                    dropout: DropoutConfig::new(self.dropout).init(),
                })
                .collect(),
            final_norm: ln(),
            head_weight: Param::from_tensor(Tensor::random(
                [n_labels, d],
                burn::tensor::Distribution::Uniform(-bound, bound),
                device,
            )),
            head_bias: Param::from_tensor(Tensor::random(
                [n_labels],
                burn::tensor::Distribution::Uniform(-bound, bound),
                device,
            )),
        }
    }
}

/// One post-norm decoder layer.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    self_attn: Option<MultiHeadAttention>,
    norm1: Option<LayerNorm>,
    cross_attn: MultiHeadAttention,
    norm2: LayerNorm,
    ff1: Linear,
    ff2: Linear,
    norm3: LayerNorm,
    dropout: Dropout,
}

impl DecoderLayer {
    /// # Shapes
    /// - `tgt`, `query`: `[batch, labels, d]`; `key`, `value`: `[batch, time, d]`;
    ///   `pad`: `[batch, time]` (true = padding) → (`[batch, labels, d]`, attention
    ///   `[batch, heads, labels, time]`)
    fn forward(
        &self,
        tgt: Tensor<3>,
        query: &Tensor<3>,
        key: &Tensor<3>,
        value: &Tensor<3>,
        pad: &Tensor<2, Bool>,
    ) -> (Tensor<3>, Tensor<4>) {
        let mut tgt = tgt;
        if let (Some(sa), Some(n1)) = (&self.self_attn, &self.norm1) {
            let q = tgt.clone() + query.clone();
            let out = sa.forward(MhaInput::new(q.clone(), q, tgt.clone()));
            tgt = n1.forward(tgt + super::ops::dropout(&self.dropout, out.context));
        }
        let out = self.cross_attn.forward(
            MhaInput::new(tgt.clone() + query.clone(), key.clone(), value.clone())
                .mask_pad(pad.clone()),
        );
        let tgt = self
            .norm2
            .forward(tgt + super::ops::dropout(&self.dropout, out.context));
        let ff = self.ff2.forward(super::ops::dropout(
            &self.dropout,
            relu(self.ff1.forward(tgt.clone())),
        ));
        (
            self.norm3
                .forward(tgt + super::ops::dropout(&self.dropout, ff)),
            out.weights,
        )
    }
}

/// Learnable label queries over frames → one logit per label.
#[derive(Module, Debug)]
pub struct LabelQueryDecoder {
    input_proj: Linear,
    queries: Param<Tensor<2>>,
    layers: Vec<DecoderLayer>,
    final_norm: LayerNorm,
    head_weight: Param<Tensor<2>>,
    head_bias: Param<Tensor<1>>,
}

/// The 1-D sine position encoding `[time, d]` (sin on even, cos on odd channels, wavelengths
/// up to 10000 as in the transformer).
pub fn sine_positions(time: usize, d: usize, device: &Device) -> Tensor<2> {
    let mut v = vec![0.0f32; time * d];
    for t in 0..time {
        for i in 0..d {
            let freq = 1.0 / 10000f64.powf((2 * (i / 2)) as f64 / d as f64);
            let a = t as f64 * freq;
            v[t * d + i] = if i % 2 == 0 { a.sin() } else { a.cos() } as f32;
        }
    }
    Tensor::from_data(TensorData::new(v, [time, d]), device)
}

impl LabelQueryDecoder {
    /// The decoder output per label, flattened `[batch, labels · d]`, and the last layer's
    /// cross-attention averaged over heads `[batch, labels, time]`.
    ///
    /// # Shapes
    /// - `x`: `[batch, time, bins]`, padding frames exactly zero
    pub fn embed_traced(&self, x: Tensor<3>) -> (Tensor<2>, Tensor<3>) {
        let [b, t, _] = x.dims();
        let device = x.device();
        let pad = x.clone().abs().sum_dim(2).reshape([b, t]).equal_elem(0.0);
        let memory = self.input_proj.forward(x); // [b, t, d]
        let [l, d] = self.queries.dims();
        let key = memory.clone() + sine_positions(t, d, &device).unsqueeze_dim(0);
        let query = self.queries.val().unsqueeze_dim::<3>(0).repeat_dim(0, b); // [b, l, d]
        let mut tgt = Tensor::zeros([b, l, d], &device);
        let mut attention = Tensor::zeros([b, 1, l, t], &device);
        for layer in &self.layers {
            let (next, w) = layer.forward(tgt, &query, &key, &memory, &pad);
            tgt = next;
            attention = w;
        }
        let hs = self.final_norm.forward(tgt);
        (
            hs.reshape([b, l * d]),
            attention.mean_dim(1).reshape([b, l, t]),
        )
    }

    /// See [`Self::embed_traced`].
    pub fn embed(&self, x: Tensor<3>) -> Tensor<2> {
        self.embed_traced(x).0
    }

    /// One logit per label from its own decoder output (group-wise linear).
    ///
    /// # Shapes
    /// - `emb`: `[batch, labels · d]` → `[batch, labels]`
    pub fn classify(&self, emb: Tensor<2>) -> Tensor<2> {
        let [b, ld] = emb.dims();
        let [l, d] = self.head_weight.dims();
        assert_eq!(ld, l * d);
        let hs = emb.reshape([b, l, d]);
        (hs * self.head_weight.val().unsqueeze_dim::<3>(0))
            .sum_dim(2)
            .reshape([b, l])
            + self.head_bias.val().unsqueeze_dim::<2>(0)
    }
}
