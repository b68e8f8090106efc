//! The wav2vec2-family encoder graph (transformers' `modeling_wav2vec2.py` / `modeling_hubert.py`,
//! and `modeling_wavlm.py` whose layers add the gated relative position bias of `wavlm.rs`):
//!
//! ```text
//! x (B,L) → conv stack (GroupNorm after conv 0, or LayerNorm after every conv) + GELU
//!         → [LayerNorm] → Linear → + pos_conv (weight-normed, groups, drop last frame, GELU)
//! post-LN: LayerNorm → hidden_states[0] → N × (h = LN(h + MHA(h)); h = LN(h + FFN(h)))
//! pre-LN (stable): hidden_states[0] → N × (h = h + MHA(LN(h)); h = h + FFN(LN(h))) → final LN
//!                  (hidden_states[N] is taken before the final LN, last_hidden_state after it)
//! ```
//! Field names mirror the checkpoint keys (see `weights.rs`).

use burn::nn::{GroupNorm, GroupNormConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::tensor::gelu;

use super::config::{EncoderConfig, FeatExtractNorm};
use super::conv::FrameConv;
use super::wavlm::{GatedRelPos, position_bias};
use burn::module::Param;

/// One conv layer of the feature extractor (`feature_extractor.conv_layers.N`).
#[derive(Module, Debug)]
pub struct ConvLayer {
    /// `conv` (im2col + matmul on time-major frames).
    pub conv: FrameConv,
    /// `layer_norm` as GroupNorm (group mode, layer 0 only).
    pub group_norm: Option<GroupNorm>,
    /// `layer_norm` as LayerNorm over channels (layer mode, every layer).
    pub layer_norm: Option<LayerNorm>,
}

/// Self-attention with q/k/v/out projections (`attention.*_proj`), q scaled by 1/√head_dim.
#[derive(Module, Debug)]
pub struct Attention {
    /// `q_proj`.
    pub q_proj: Linear,
    /// `k_proj`.
    pub k_proj: Linear,
    /// `v_proj`.
    pub v_proj: Linear,
    /// `out_proj`.
    pub out_proj: Linear,
    /// Heads.
    pub n_heads: usize,
    /// WavLM: gate of the shared relative position bias.
    pub rel: Option<GatedRelPos>,
}

impl Attention {
    /// # Shapes
    /// - `x`: `[batch, frames, dim]`; `mask`: `[batch, frames]` with 1 = keep (optional)
    /// - returns `[batch, frames, dim]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        mask: Option<&Tensor<2>>,
        rel_bias: Option<&Tensor<3>>,
    ) -> Tensor<3> {
        let d = x.dims()[2];
        let h = self.n_heads;
        let hd = d / h;
        if self.rel.is_none() {
            // On the CPU outside autodiff: bias-first projections and one fused task per
            // (item, head) (super::host).
            let host = || {
                let (q, k, v) = (
                    super::host::linear(&self.q_proj, &x)?,
                    super::host::linear(&self.k_proj, &x)?,
                    super::host::linear(&self.v_proj, &x)?,
                );
                let scale = (hd as f64).powf(-0.5) as f32;
                let ctx = super::host::attention(&q, &k, &v, h, scale, mask)?;
                Some(linear(&self.out_proj, ctx))
            };
            if let Some(y) = host() {
                return y;
            }
        }
        self.forward_tensor(x, mask, rel_bias)
    }

    /// [`Self::forward`] through burn's tensor ops on any backend.
    pub fn forward_tensor(
        &self,
        x: Tensor<3>,
        mask: Option<&Tensor<2>>,
        rel_bias: Option<&Tensor<3>>,
    ) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let h = self.n_heads;
        let hd = d / h;
        // WavLM: the bias [h, t, t] gated per batch item, head and query frame.
        let gated = match (&self.rel, rel_bias) {
            (Some(r), Some(bias)) => {
                Some(r.gate(x.clone(), h) * bias.clone().reshape([1, h, t, t]))
            }
            _ => None,
        };
        let split = |y: Tensor<3>| y.reshape([b, t, h, hd]).swap_dims(1, 2); // [b, h, t, hd]
        let q = split(
            self.q_proj
                .forward(x.clone())
                .mul_scalar((hd as f64).powf(-0.5)),
        );
        let k = split(self.k_proj.forward(x.clone()));
        let v = split(self.v_proj.forward(x));
        let mut scores = q.matmul(k.swap_dims(2, 3)); // [b, h, t, t]
        if let Some(g) = gated {
            scores = scores + g;
        }
        if let Some(m) = mask {
            // Padded keys get a large negative bias (transformers uses the dtype minimum).
            let bias = m
                .clone()
                .neg()
                .add_scalar(1.0)
                .mul_scalar(-1e9)
                .reshape([b, 1, 1, t]);
            scores = scores + bias;
        }
        let ctx = softmax(scores, 3).matmul(v); // [b, h, t, hd]
        self.out_proj
            .forward(ctx.swap_dims(1, 2).reshape([b, t, d]))
    }
}

/// Position-wise FFN (`feed_forward.intermediate_dense` / `output_dense`), exact GELU.
#[derive(Module, Debug)]
pub struct FeedForward {
    /// `intermediate_dense`.
    pub intermediate_dense: Linear,
    /// `output_dense`.
    pub output_dense: Linear,
}

/// One transformer layer (`encoder.layers.N`).
#[derive(Module, Debug)]
pub struct EncoderLayer {
    /// `attention`.
    pub attention: Attention,
    /// `layer_norm`.
    pub layer_norm: LayerNorm,
    /// `feed_forward`.
    pub feed_forward: FeedForward,
    /// `final_layer_norm`.
    pub final_layer_norm: LayerNorm,
    /// Pre-LN (stable layer norm) instead of post-LN.
    pub pre_ln: bool,
}

impl EncoderLayer {
    /// # Shapes
    /// - `x`: `[batch, frames, dim]` → same
    pub fn forward(
        &self,
        x: Tensor<3>,
        mask: Option<&Tensor<2>>,
        rel_bias: Option<&Tensor<3>>,
    ) -> Tensor<3> {
        let ff = |h: Tensor<3>| {
            linear(
                &self.feed_forward.output_dense,
                gelu(linear(&self.feed_forward.intermediate_dense, h)),
            )
        };
        if self.pre_ln {
            let h = x.clone()
                + self
                    .attention
                    .forward(self.layer_norm.forward(x), mask, rel_bias);
            h.clone() + ff(self.final_layer_norm.forward(h))
        } else {
            let h = self
                .layer_norm
                .forward(x.clone() + self.attention.forward(x, mask, rel_bias));
            self.final_layer_norm.forward(h.clone() + ff(h))
        }
    }
}

/// All outputs of one forward pass.
pub struct EncoderOutput {
    /// `[layers + 1, batch, frames, dim]`: layer 0 (before the transformer layers), then the output
    /// of every layer. For stable-layer-norm models the final encoder LayerNorm is NOT applied to
    /// the last entry — as transformers ≥ 5 returns them (4.x applied it); it is in
    /// `last_hidden_state`.
    pub hidden_states: Tensor<4>,
    /// The encoder's output `[batch, frames, dim]` (after the final LayerNorm for stable models).
    pub last_hidden_state: Tensor<3>,
    /// Conv features `[batch, frames, conv_dim]`.
    pub features: Tensor<3>,
}

/// The encoder.
#[derive(Module, Debug)]
pub struct Wav2Vec2Encoder {
    /// `feature_extractor.conv_layers`.
    pub conv_layers: Vec<ConvLayer>,
    /// `feature_projection.layer_norm` (absent in DistilHuBERT).
    pub feature_projection_layer_norm: Option<LayerNorm>,
    /// `feature_projection.projection`.
    pub feature_projection: Linear,
    /// `encoder.pos_conv_embed.conv` with the weight norm folded in.
    pub pos_conv: FrameConv,
    /// `encoder.layer_norm`.
    pub encoder_layer_norm: LayerNorm,
    /// `encoder.layers`.
    pub layers: Vec<EncoderLayer>,
    /// Stable-layer-norm graph.
    pub stable_layer_norm: bool,
    /// Normalise each utterance to zero mean, unit variance before the conv stack.
    pub do_normalize: bool,
    /// WavLM: layer 0's relative-position bucket embedding `[buckets, heads]`.
    pub rel_attn_embed: Option<Param<Tensor<2>>>,
    /// WavLM: distance of the last logarithmic bucket.
    pub max_bucket_distance: usize,
    /// `masked_spec_embed`: replaces time-masked frames in fine-tuning (None until loaded or
    /// initialised by [`Wav2Vec2Encoder::ensure_mask_embedding`]).
    pub masked_spec_embed: Option<Param<Tensor<1>>>,
}

/// Training-time regularisation of a fine-tuning pass, as transformers applies it in training
/// mode: layer drop (skip each transformer layer with probability `layer_drop`) and
/// SpecAugment-style time masking of the projected features (spans replaced by
/// `masked_spec_embed`).
pub struct TrainAugment<'a> {
    /// Probability of skipping each transformer layer.
    pub layer_drop: f64,
    /// Time masking (None = off).
    pub time_mask: Option<TimeMask>,
    /// Random source (seeded by the run).
    pub rng: &'a mut crate::rng::SplitMix64,
}

/// SpecAugment time masking parameters (transformers' `_compute_mask_indices`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeMask {
    /// Share of frames that start a span.
    pub prob: f64,
    /// Frames per span.
    pub length: usize,
    /// Minimum spans per utterance.
    pub min_masks: usize,
}

impl TimeMask {
    /// Masked frames of one utterance with `valid` frames in a padded sequence of `total`:
    /// `int(prob·valid/length + u)` spans (u uniform in [0, 1), drawn once per batch as
    /// transformers does), at least `min_masks`, never more than fit; span starts drawn without
    /// replacement from `0..valid − length + 1`; a span is `start..start + length` clipped to the
    /// sequence.
    pub fn sample(
        &self,
        valid: usize,
        total: usize,
        u: f64,
        rng: &mut crate::rng::SplitMix64,
    ) -> Vec<bool> {
        let mut mask = vec![false; total];
        let len = self.length.max(1);
        if valid == 0 || self.prob <= 0.0 {
            return mask;
        }
        let mut n = ((self.prob * valid as f64 / len as f64) + u) as usize;
        n = n.max(self.min_masks);
        if n * len > total {
            n = total / len;
        }
        let starts_avail = (valid + 1).saturating_sub(len);
        n = n.min(starts_avail);
        let mut starts: Vec<usize> = (0..starts_avail).collect();
        rng.shuffle(&mut starts);
        for &s in starts.iter().take(n) {
            for m in mask.iter_mut().skip(s).take(len) {
                *m = true;
            }
        }
        mask
    }
}

impl Wav2Vec2Encoder {
    /// Builds the graph (random weights) for `cfg`; `weights::load_encoder` fills it.
    pub fn new(cfg: &EncoderConfig, device: &Device) -> Self {
        let mut conv_layers = Vec::new();
        let mut c_in = 1;
        for (i, ((&c, &k), &s)) in cfg
            .conv_dim
            .iter()
            .zip(&cfg.conv_kernel)
            .zip(&cfg.conv_stride)
            .enumerate()
        {
            let conv = FrameConv::random(c_in, c, k, 1, s, 0, cfg.conv_bias, device);
            let (group_norm, layer_norm) = match cfg.feat_extract_norm {
                FeatExtractNorm::Group if i == 0 => (
                    Some(GroupNormConfig::new(c, c).with_epsilon(1e-5).init(device)),
                    None,
                ),
                FeatExtractNorm::Group => (None, None),
                FeatExtractNorm::Layer => (
                    None,
                    Some(
                        LayerNormConfig::new(c)
                            .with_epsilon(cfg.layer_norm_eps)
                            .init(device),
                    ),
                ),
            };
            conv_layers.push(ConvLayer {
                conv,
                group_norm,
                layer_norm,
            });
            c_in = c;
        }
        let d = cfg.hidden_size;
        let ln = |n: usize| {
            LayerNormConfig::new(n)
                .with_epsilon(cfg.layer_norm_eps)
                .init(device)
        };
        let k = cfg.num_conv_pos_embeddings;
        let wavlm = cfg.model_type == "wavlm";
        let layers = (0..cfg.num_hidden_layers)
            .map(|_| EncoderLayer {
                attention: Attention {
                    q_proj: LinearConfig::new(d, d).init(device),
                    k_proj: LinearConfig::new(d, d).init(device),
                    v_proj: LinearConfig::new(d, d).init(device),
                    out_proj: LinearConfig::new(d, d).init(device),
                    n_heads: cfg.num_attention_heads,
                    rel: wavlm.then(|| GatedRelPos {
                        gru_rel_pos_const: Param::from_tensor(Tensor::ones(
                            [1, cfg.num_attention_heads, 1, 1],
                            device,
                        )),
                        gru_rel_pos_linear: LinearConfig::new(
                            d / cfg.num_attention_heads.max(1),
                            8,
                        )
                        .init(device),
                    }),
                },
                layer_norm: ln(d),
                feed_forward: FeedForward {
                    intermediate_dense: LinearConfig::new(d, cfg.intermediate_size).init(device),
                    output_dense: LinearConfig::new(cfg.intermediate_size, d).init(device),
                },
                final_layer_norm: ln(d),
                pre_ln: cfg.do_stable_layer_norm,
            })
            .collect();
        Self {
            conv_layers,
            feature_projection_layer_norm: cfg.feat_proj_layer_norm.then(|| ln(c_in)),
            feature_projection: LinearConfig::new(c_in, d).init(device),
            pos_conv: FrameConv::random(
                d,
                d,
                k,
                cfg.num_conv_pos_embedding_groups,
                1,
                k / 2,
                true,
                device,
            ),
            encoder_layer_norm: ln(d),
            layers,
            stable_layer_norm: cfg.do_stable_layer_norm,
            do_normalize: cfg.do_normalize,
            rel_attn_embed: wavlm.then(|| {
                Param::from_tensor(Tensor::zeros(
                    [cfg.num_buckets, cfg.num_attention_heads],
                    device,
                ))
            }),
            max_bucket_distance: cfg.max_bucket_distance,
            masked_spec_embed: None,
        }
    }

    /// Gives the encoder a `masked_spec_embed` when the checkpoint had none (uniform in [0, 1),
    /// as transformers initialises it).
    pub fn ensure_mask_embedding(&mut self, device: &Device) {
        if self.masked_spec_embed.is_none() {
            let d = self.feature_projection.weight.dims()[1];
            self.masked_spec_embed = Some(Param::from_tensor(Tensor::random(
                [d],
                burn::tensor::Distribution::Uniform(0.0, 1.0),
                device,
            )));
        }
    }

    /// Keeps only the first `n` transformer layers (a "pruned" encoder).
    pub fn keep_layers(&mut self, n: usize) {
        self.layers.truncate(n);
    }

    /// Zero-mean, unit-variance per utterance (`Wav2Vec2FeatureExtractor`, eps 1e-7) when the
    /// checkpoint's preprocessor asks for it; identity otherwise.
    pub fn preprocess(&self, x: Tensor<2>) -> Tensor<2> {
        if !self.do_normalize {
            return x;
        }
        let mean = x.clone().mean_dim(1);
        let centred = x - mean;
        let var = centred.clone().powi_scalar(2).mean_dim(1);
        centred / var.add_scalar(1e-7).sqrt()
    }

    /// Conv features.
    ///
    /// # Shapes
    /// - `x`: `[batch, samples]` (16 kHz, already preprocessed) → `[batch, frames, conv_dim]`
    pub fn features(&self, x: Tensor<2>) -> Tensor<3> {
        self.features_of(x, None)
    }

    /// [`Self::features`] of a zero-padded batch whose item `i` has `valid_samples[i]` real
    /// samples: group-norm models take the first layer's per-channel statistics over each item's
    /// own frames only, so every item's real frames equal those of encoding it alone (frames of
    /// a valid-padding conv stack depend only on the samples under them).
    pub fn features_of(&self, x: Tensor<2>, valid_samples: Option<&[usize]>) -> Tensor<3> {
        let [b, l] = x.dims();
        let mut h: Tensor<3> = x.reshape([b, l, 1]); // time-major throughout
        for c in &self.conv_layers {
            // Real frames of each item after this layer, for a GroupNorm of a padded batch.
            let frames: Option<Vec<usize>> = valid_samples
                .filter(|valid| c.group_norm.is_some() && valid.iter().any(|&v| v < l))
                .map(|valid| {
                    let t_out = c.conv.out_frames(h.dims()[1]);
                    valid
                        .iter()
                        .map(|&v| {
                            super::extract::conv_frames(&[c.conv.kernel], &[c.conv.stride], v)
                                .min(t_out)
                        })
                        .collect()
                });
            // On the CPU outside autodiff: the conv with its GELU, or with its GroupNorm and
            // GELU, in one pass (super::host).
            let fused = match (&c.group_norm, &c.layer_norm) {
                (None, None) => super::host::conv(&c.conv, &h, true),
                (Some(g), None) => {
                    super::host::conv_channel_norm_gelu(&c.conv, g, &h, frames.as_deref())
                }
                _ => None,
            };
            if let Some(y) = fused {
                h = y;
                continue;
            }
            h = c.conv.forward(h);
            if let Some(g) = &c.group_norm {
                h = match &frames {
                    Some(frames) => masked_channel_norm(h, g, frames),
                    None => channel_norm(h, g),
                };
            }
            if let Some(n) = &c.layer_norm {
                h = n.forward(h);
            }
            h = gelu(h);
        }
        h
    }

    /// Every hidden state.
    ///
    /// # Shapes
    /// - `x`: `[batch, samples]` raw 16 kHz audio; `frame_mask`: `[batch, frames]`, 1 = real frame
    ///   (layer-norm models only; group-norm models were trained without masks)
    pub fn forward(&self, x: Tensor<2>, frame_mask: Option<Tensor<2>>) -> EncoderOutput {
        self.forward_prepared(self.preprocess(x), frame_mask)
    }

    /// [`Self::forward`] on input that is already normalised (when the checkpoint wants it).
    pub fn forward_prepared(&self, x: Tensor<2>, frame_mask: Option<Tensor<2>>) -> EncoderOutput {
        self.forward_padded(x, frame_mask, None)
    }

    /// [`Self::forward_prepared`] of a zero-padded batch with each item's real sample count
    /// (see [`Self::features_of`]); with `frame_mask` marking the real frames, every item's
    /// hidden states on its real frames equal those of encoding it alone, for group- and
    /// layer-norm models alike.
    pub fn forward_padded(
        &self,
        x: Tensor<2>,
        frame_mask: Option<Tensor<2>>,
        valid_samples: Option<&[usize]>,
    ) -> EncoderOutput {
        let features = self.features_of(x, valid_samples);
        let (states, last_hidden_state) =
            self.transformer(features.clone(), frame_mask, None, None, true);
        EncoderOutput {
            hidden_states: Tensor::stack::<4>(states, 0),
            last_hidden_state,
            features,
        }
    }

    /// The fine-tuning pass on prepared input: conv features (detached when `freeze_conv`, so
    /// no graph is kept for them), projection, optional time masking and layer drop. Returns
    /// every hidden state when `all_states` (else only the last, as a one-element vector) and
    /// the last hidden state.
    ///
    /// # Shapes
    /// - `x`: `[batch, samples]`; `frame_mask`: `[batch, frames]` (layer-norm models);
    ///   `valid_frames`: real frames per item (for the time masks)
    pub fn forward_finetune(
        &self,
        x: Tensor<2>,
        frame_mask: Option<Tensor<2>>,
        valid_frames: &[usize],
        freeze_conv: bool,
        augment: Option<TrainAugment>,
        all_states: bool,
    ) -> (Vec<Tensor<3>>, Tensor<3>) {
        let mut features = self.features(x);
        if freeze_conv {
            features = features.detach();
        }
        self.transformer(
            features,
            frame_mask,
            Some(valid_frames),
            augment,
            all_states,
        )
    }

    /// Feature projection → [time masking] → positional conv → transformer layers [with layer
    /// drop]: (hidden states, last hidden state).
    fn transformer(
        &self,
        features: Tensor<3>,
        frame_mask: Option<Tensor<2>>,
        valid_frames: Option<&[usize]>,
        mut augment: Option<TrainAugment>,
        all_states: bool,
    ) -> (Vec<Tensor<3>>, Tensor<3>) {
        let mut h = features;
        if let Some(n) = &self.feature_projection_layer_norm {
            h = n.forward(h);
        }
        h = linear(&self.feature_projection, h);
        if let (Some(a), Some(valid), Some(embed)) =
            (augment.as_mut(), valid_frames, &self.masked_spec_embed)
            && let Some(tm) = a.time_mask
        {
            let [b, t, d] = h.dims();
            let u = a.rng.uniform();
            let mut m = Vec::with_capacity(b * t);
            for &v in valid.iter().take(b) {
                m.extend(
                    tm.sample(v.min(t), t, u, a.rng)
                        .into_iter()
                        .map(|x| if x { 1.0f32 } else { 0.0 }),
                );
            }
            if m.iter().any(|&x| x > 0.0) {
                let m = Tensor::<3>::from_data(TensorData::new(m, [b, t, 1]), &h.device());
                let keep = m.clone().neg().add_scalar(1.0);
                h = h * keep + m * embed.val().reshape([1, 1, d]);
            }
        }
        if let Some(m) = &frame_mask {
            let [b, t] = m.dims();
            h = h * m.clone().reshape([b, t, 1]);
        }
        let t = h.dims()[1];
        let pos = self.pos_conv.forward(h.clone()).narrow(1, 0, t); // drop the last frame
        h = h + gelu(pos);
        let mut states = Vec::with_capacity(self.layers.len() + 1);
        if !self.stable_layer_norm {
            h = self.encoder_layer_norm.forward(h);
        }
        let rel_bias = self
            .rel_attn_embed
            .as_ref()
            .map(|e| position_bias(&e.val(), t, self.max_bucket_distance));
        for layer in &self.layers {
            if all_states {
                states.push(h.clone());
            }
            let skip = augment
                .as_mut()
                .is_some_and(|a| a.layer_drop > 0.0 && a.rng.uniform() < a.layer_drop);
            if !skip {
                h = layer.forward(h, frame_mask.as_ref(), rel_bias.as_ref());
            }
        }
        states.push(h.clone());
        let last_hidden_state = if self.stable_layer_norm {
            self.encoder_layer_norm.forward(h)
        } else {
            h
        };
        (states, last_hidden_state)
    }
}

/// `l.forward(x)`, bias-first on the host on the CPU outside autodiff ([`super::host::linear`]).
fn linear(l: &Linear, x: Tensor<3>) -> Tensor<3> {
    super::host::linear(l, &x).unwrap_or_else(|| l.forward(x))
}

/// GroupNorm with one group per channel (`feature_extractor.conv_layers.0.layer_norm`) on
/// time-major `[batch, time, channels]`: each channel normalised over time (biased variance).
/// [`channel_norm`] with the statistics of item `i` over its first `frames[i]` frames only.
pub(super) fn masked_channel_norm(h: Tensor<3>, g: &GroupNorm, frames: &[usize]) -> Tensor<3> {
    let [b, t, _] = h.dims();
    let device = h.device();
    let mut m = vec![0.0f32; b * t];
    for (row, &f) in frames.iter().enumerate().take(b) {
        m[row * t..row * t + f.min(t)].fill(1.0);
    }
    let mask = Tensor::<3>::from_data(TensorData::new(m, [b, t, 1]), &device);
    let counts: Vec<f32> = frames
        .iter()
        .take(b)
        .map(|&f| f.clamp(1, t) as f32)
        .collect();
    let counts = Tensor::<3>::from_data(TensorData::new(counts, [b, 1, 1]), &device);
    let mean = (h.clone() * mask.clone()).sum_dim(1) / counts.clone();
    let centred = h - mean;
    let var = (centred.clone() * mask).powi_scalar(2).sum_dim(1) / counts;
    scale_shift(centred / var.add_scalar(g.epsilon).sqrt(), g)
}

pub(super) fn channel_norm(h: Tensor<3>, g: &GroupNorm) -> Tensor<3> {
    let centred = h.clone() - h.mean_dim(1);
    let var = centred.clone().powi_scalar(2).mean_dim(1);
    scale_shift(centred / var.add_scalar(g.epsilon).sqrt(), g)
}

/// The GroupNorm's per-channel affine part (`γ·y + β`) on normalised `[batch, time, channels]`.
fn scale_shift(mut y: Tensor<3>, g: &GroupNorm) -> Tensor<3> {
    let c = y.dims()[2];
    if let Some(gamma) = &g.gamma {
        y = y * gamma.val().reshape([1, 1, c]);
    }
    if let Some(beta) = &g.beta {
        y = y + beta.val().reshape([1, 1, c]);
    }
    y
}
