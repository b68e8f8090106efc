//! The LogMel–HuBERT paper's temporal stack (seed 000, as described in the paper): input
//! projection (one stream) or LogMel–HuBERT fusion (two streams) → DTCN → DTPM → multi-head
//! self-attention over the pyramid segments (with residual LayerNorm and FFN) → flatten (or
//! attention pooling over the segments) → FC head.

use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

use super::dtcn::{Dtcn, DtcnConfig};
use super::dtpm::{SegmentPool, pool_weighted, pyramid_pool, segment_weights};
use super::fusion::{Fusion, FusionMode};
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
    /// How a two-stream (`logmel_ssl`) input is fused; ignored for one stream.
    pub fusion: FusionMode,
    /// Pool the attended segments with learned attention scores (one vector) instead of
    /// flattening them.
    pub attention_pooling: bool,
    /// Lay the pyramid segments over each utterance's own frames, leaving out the zero padding
    /// at the end (see `dtpm::valid_lengths`). New configurations default to true; a saved
    /// configuration without the field reads as false, the behaviour it was trained with.
    #[serde(default)]
    pub pool_valid_frames: bool,
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
            fusion: FusionMode::Alpha,
            attention_pooling: false,
            pool_valid_frames: true,
        }
    }
}

impl TemporalStackConfig {
    /// Checks what [`TemporalStackConfig::init`] relies on.
    pub fn validate(&self) -> Result<(), String> {
        if self.channels == 0 {
            return Err("temporal stack: channels must be ≥ 1".into());
        }
        if self.attention_heads == 0 || !self.channels.is_multiple_of(self.attention_heads) {
            return Err(format!(
                "temporal stack: attention_heads ({}) must divide channels ({})",
                self.attention_heads, self.channels
            ));
        }
        if !(1..=8).contains(&self.pyramid_levels) {
            return Err(format!(
                "temporal stack: pyramid_levels must be 1–8 (2^L − 1 segments), got {}",
                self.pyramid_levels
            ));
        }
        if self.ffn_dim == 0 {
            return Err("temporal stack: ffn_dim must be ≥ 1".into());
        }
        super::check_dropout("temporal stack: attention_dropout", self.attention_dropout)?;
        self.dtcn.validate()?;
        self.head.validate()
    }

    /// Builds the module for `n_bins` input bins, of which the first `split` are log-mel when
    /// the input has two streams.
    pub fn init(
        &self,
        n_bins: usize,
        split: Option<usize>,
        n_classes: usize,
        device: &Device,
    ) -> TemporalStack {
        let c = self.channels;
        let heads = self.attention_heads;
        let n_segments =
            ((1usize << self.pyramid_levels) - 1) * self.pyramid_pool.vectors_per_segment();
        let two_streams = split.is_some_and(|s| s > 0 && s < n_bins);
        TemporalStack {
            input: (!two_streams).then(|| Conv1dConfig::new(n_bins, c, 1).init(device)),
            fusion: two_streams.then(|| super::fusion::init(self.fusion, n_bins, split, c, device)),
            pool_score: self
                .attention_pooling
                .then(|| LinearConfig::new(c, 1).init(device)),
            dtcn: self.dtcn.init(c, device),
            attention: MultiHeadAttentionConfig::new(c, heads)
                .with_dropout(self.attention_dropout)
                .init(device),
            norm1: LayerNormConfig::new(c).init(device),
            ffn_in: LinearConfig::new(c, self.ffn_dim).init(device),
            ffn_out: LinearConfig::new(self.ffn_dim, c).init(device),
            norm2: LayerNormConfig::new(c).init(device),
            dropout: DropoutConfig::new(self.attention_dropout).init(),
            head: self.head.init(
                if self.attention_pooling {
                    c
                } else {
                    n_segments * c
                },
                n_classes,
                device,
            ),
            pyramid_levels: self.pyramid_levels,
            max_pool: self.pyramid_pool == SegmentPool::Max,
            std_pool: self.pyramid_pool == SegmentPool::MeanStd,
            pool_valid_frames: self.pool_valid_frames,
        }
    }
}

/// DTCN → DTPM → MHSA → FC.
#[derive(Module, Debug)]
pub struct TemporalStack {
    input: Option<Conv1d>,
    fusion: Option<Fusion>,
    pool_score: Option<Linear>,
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
    std_pool: bool,
    pool_valid_frames: bool,
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
        self.embed_traced(x, false).0
    }

    /// The embedding, and when `trace` is set the attention each input frame receives
    /// `[batch, time]` (self-attention weights averaged over heads and queries, or the pooling
    /// weights, spread over the frames each pyramid segment covers; rows sum to 1) and the
    /// fusion gate `[batch, time]` of the gated mode.
    pub fn embed_traced(&self, x: Tensor<3>, trace: bool) -> (Tensor<2>, Trace) {
        let lengths = self.lengths(&x);
        let (h, gate) = match (&self.fusion, &self.input) {
            (Some(f), _) => {
                let (h, g) = f.forward_with_gate(x);
                (h.swap_dims(1, 2), g)
            }
            (None, Some(conv)) => (conv.forward(x.swap_dims(1, 2)), None),
            (None, None) => (x.swap_dims(1, 2), None),
        }; // [batch, channels, time]
        let h = self.dtcn.forward(h);
        let (seg, weights) = self.pyramid(h, &lengths); // [batch, segments, channels]
        let out = self.attention.forward(MhaInput::self_attn(seg.clone()));
        let h = self
            .norm1
            .forward(seg + super::ops::dropout(&self.dropout, out.context));
        let ff = self.ffn_out.forward(super::ops::dropout(
            &self.dropout,
            relu(self.ffn_in.forward(h.clone())),
        ));
        let h = self.norm2.forward(h + ff);
        let [batch, n_seg, channels] = h.dims();
        let (emb, seg_weights) = match &self.pool_score {
            Some(score) => {
                let w = burn::tensor::activation::softmax(score.forward(h.clone()), 1); // [b, s, 1]
                let emb = (h * w.clone()).sum_dim(1).reshape([batch, channels]);
                (emb, w.reshape([batch, n_seg]))
            }
            None => {
                // Attention received by each segment: mean over heads and queries.
                let w = out.weights.mean_dim(1).mean_dim(2).reshape([batch, n_seg]);
                (h.reshape([batch, n_seg * channels]), w)
            }
        };
        let over_time = trace.then(|| spread_over_time(seg_weights, weights));
        (
            emb,
            Trace {
                attention: over_time,
                gate,
                label_attention: None,
            },
        )
    }

    /// Each block's input → output shape for `x` (the block editor's summary): the input
    /// projection or fusion, the DTCN, the pyramid pooling, the attention block (with its FFN and
    /// norms), the attention pooling where present, and the head.
    pub fn block_shapes(&self, x: Tensor<3>) -> Vec<(String, Vec<usize>, Vec<usize>)> {
        let dims = |t: &[usize]| t.to_vec();
        let mut out = Vec::new();
        let x_dims = dims(&x.dims());
        let lengths = self.lengths(&x);
        let h = match (&self.fusion, &self.input) {
            (Some(f), _) => {
                let h = f.forward_with_gate(x).0.swap_dims(1, 2);
                out.push(("fusion".to_string(), x_dims, dims(&h.dims())));
                h
            }
            (None, Some(conv)) => {
                let h = conv.forward(x.swap_dims(1, 2));
                out.push(("input".to_string(), x_dims, dims(&h.dims())));
                h
            }
            (None, None) => x.swap_dims(1, 2),
        };
        let before = dims(&h.dims());
        let h = self.dtcn.forward(h);
        out.push(("dtcn".to_string(), before, dims(&h.dims())));
        let before = dims(&h.dims());
        let seg = self.pyramid(h, &lengths).0;
        out.push(("pyramid".to_string(), before, dims(&seg.dims())));
        let before = dims(&seg.dims());
        let att = self.attention.forward(MhaInput::self_attn(seg.clone()));
        let h = self.norm1.forward(seg + att.context);
        let h = self
            .norm2
            .forward(h.clone() + self.ffn_out.forward(relu(self.ffn_in.forward(h))));
        out.push(("attention".to_string(), before, dims(&h.dims())));
        let [batch, n_seg, channels] = h.dims();
        let emb = match &self.pool_score {
            Some(score) => {
                let w = burn::tensor::activation::softmax(score.forward(h.clone()), 1);
                let emb = (h.clone() * w).sum_dim(1).reshape([batch, channels]);
                out.push(("pool_score".to_string(), dims(&h.dims()), dims(&emb.dims())));
                emb
            }
            None => h.reshape([batch, n_seg * channels]),
        };
        let before = dims(&emb.dims());
        let logits = self.head.forward(emb);
        out.push(("head".to_string(), before, dims(&logits.dims())));
        out
    }

    /// Frames per utterance the pyramid covers: each one's own when pooling valid frames only,
    /// else all of them.
    fn lengths(&self, x: &Tensor<3>) -> Vec<usize> {
        let [batch, time, _] = x.dims();
        if self.pool_valid_frames {
            super::dtpm::valid_lengths(x)
        } else {
            vec![time; batch]
        }
    }

    /// Pyramid pooling of `h` over `lengths` frames per utterance, with the segment weights
    /// (for spreading attention back over the frames).
    ///
    /// # Shapes
    /// - `h`: `[batch, channels, time]` → (`[batch, v · segments, channels]`,
    ///   `[batch, v · segments, time]`)
    fn pyramid(&self, h: Tensor<3>, lengths: &[usize]) -> (Tensor<3>, Tensor<3>) {
        let [batch, _, time] = h.dims();
        let n_seg = (1usize << self.pyramid_levels) - 1;
        let w = Tensor::<3>::from_data(
            TensorData::new(
                segment_weights(lengths, time, self.pyramid_levels),
                [batch, n_seg, time],
            ),
            &h.device(),
        );
        let pool = if self.max_pool {
            SegmentPool::Max
        } else if self.std_pool {
            SegmentPool::MeanStd
        } else {
            SegmentPool::Mean
        };
        let seg = if self.pool_valid_frames || pool == SegmentPool::MeanStd {
            pool_weighted(h, w.clone(), pool)
        } else {
            // The paper's fixed-length pooling, exactly as trained before segment weights.
            pyramid_pool(h, self.pyramid_levels, pool)
        };
        let w = match pool {
            SegmentPool::MeanStd => Tensor::cat(vec![w.clone(), w], 1),
            SegmentPool::Mean | SegmentPool::Max => w,
        };
        (seg, w)
    }

    /// α of the α-fusion front-end.
    pub fn alpha(&self) -> Option<f32> {
        self.fusion.as_ref().and_then(Fusion::alpha)
    }

    /// Whether the fusion front-end is gated.
    pub fn is_gated(&self) -> bool {
        self.fusion.as_ref().is_some_and(Fusion::is_gated)
    }

    /// Logits from an embedding.
    pub fn classify(&self, emb: Tensor<2>) -> Tensor<2> {
        self.head.forward(emb)
    }

    /// The head's logits and hidden activations.
    pub fn head_hidden(&self, emb: Tensor<2>) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        self.head.forward_hidden(emb)
    }
}

/// What a traced forward pass exposes for interpretability.
#[derive(Debug, Default)]
pub struct Trace {
    /// Attention received per input frame `[batch, time]`.
    pub attention: Option<Tensor<2>>,
    /// Fusion gate per input frame `[batch, time]` (gated fusion only).
    pub gate: Option<Tensor<2>>,
    /// Label-query models: each label query's attention over the input frames
    /// `[batch, labels, time]` (last decoder layer, mean over heads).
    pub label_attention: Option<Tensor<3>>,
}

/// Spreads per-segment weights `[batch, segments]` over the frames each segment covers (the
/// segment weights `[batch, segments, time]`: each segment's weight shared equally by its
/// frames), then renormalises every row to sum 1.
fn spread_over_time(w: Tensor<2>, segment_weights: Tensor<3>) -> Tensor<2> {
    let [batch, segs] = w.dims();
    let time = segment_weights.dims()[2];
    let per_frame = w
        .reshape([batch, 1, segs])
        .matmul(segment_weights)
        .reshape([batch, time]);
    let total = per_frame.clone().sum_dim(1);
    per_frame / total
}
