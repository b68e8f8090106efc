//! The parts of HuggingFace `config.json` / `preprocessor_config.json` the encoder needs.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Normalisation in the convolutional feature extractor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatExtractNorm {
    /// GroupNorm after the first conv only (base models, HuBERT-base, DistilHuBERT).
    Group,
    /// LayerNorm after every conv (large / "stable layer norm" models).
    Layer,
}

fn d_hidden() -> usize {
    768
}
fn d_layers() -> usize {
    12
}
fn d_heads() -> usize {
    12
}
fn d_inter() -> usize {
    3072
}
fn d_eps() -> f64 {
    1e-5
}
fn d_norm() -> FeatExtractNorm {
    FeatExtractNorm::Group
}
fn d_conv_dim() -> Vec<usize> {
    vec![512; 7]
}
fn d_conv_kernel() -> Vec<usize> {
    vec![10, 3, 3, 3, 3, 2, 2]
}
fn d_conv_stride() -> Vec<usize> {
    vec![5, 2, 2, 2, 2, 2, 2]
}
fn d_pos_k() -> usize {
    128
}
fn d_pos_g() -> usize {
    16
}
fn d_true() -> bool {
    true
}
fn d_model_type() -> String {
    "hubert".into()
}

/// Encoder hyper-parameters, read from `config.json` (unknown keys ignored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EncoderConfig {
    /// `hubert`, `wav2vec2`, `wavlm`, …
    #[serde(default = "d_model_type")]
    pub model_type: String,
    /// Transformer width.
    #[serde(default = "d_hidden")]
    pub hidden_size: usize,
    /// Transformer layers.
    #[serde(default = "d_layers")]
    pub num_hidden_layers: usize,
    /// Attention heads.
    #[serde(default = "d_heads")]
    pub num_attention_heads: usize,
    /// FFN width.
    #[serde(default = "d_inter")]
    pub intermediate_size: usize,
    /// LayerNorm epsilon.
    #[serde(default = "d_eps")]
    pub layer_norm_eps: f64,
    /// Feature-extractor normalisation.
    #[serde(default = "d_norm")]
    pub feat_extract_norm: FeatExtractNorm,
    /// Conv channels per layer.
    #[serde(default = "d_conv_dim")]
    pub conv_dim: Vec<usize>,
    /// Conv kernels.
    #[serde(default = "d_conv_kernel")]
    pub conv_kernel: Vec<usize>,
    /// Conv strides.
    #[serde(default = "d_conv_stride")]
    pub conv_stride: Vec<usize>,
    /// Conv layers have a bias.
    #[serde(default)]
    pub conv_bias: bool,
    /// Positional conv kernel.
    #[serde(default = "d_pos_k")]
    pub num_conv_pos_embeddings: usize,
    /// Positional conv groups.
    #[serde(default = "d_pos_g")]
    pub num_conv_pos_embedding_groups: usize,
    /// Pre-LN transformer with a final LayerNorm (large models).
    #[serde(default)]
    pub do_stable_layer_norm: bool,
    /// HuBERT: LayerNorm before the feature projection (absent in DistilHuBERT). wav2vec2 always
    /// has it.
    #[serde(default = "d_true")]
    pub feat_proj_layer_norm: bool,
    /// From `preprocessor_config.json`: zero-mean/unit-variance normalise each utterance.
    #[serde(default)]
    pub do_normalize: bool,
    /// WavLM: relative-position buckets.
    #[serde(default = "d_buckets")]
    pub num_buckets: usize,
    /// WavLM: distance (frames) of the last logarithmic bucket.
    #[serde(default = "d_bucket_distance")]
    pub max_bucket_distance: usize,
    /// Fine-tuning: probability of skipping each transformer layer in training (HF `layerdrop`,
    /// default 0.1).
    #[serde(default = "d_layerdrop")]
    pub layerdrop: f64,
    /// Fine-tuning: SpecAugment-style time masking of the projected features in training (HF
    /// `apply_spec_augment`).
    #[serde(default = "d_true")]
    pub apply_spec_augment: bool,
    /// Share of frames that start a masked span (HF `mask_time_prob`, default 0.05).
    #[serde(default = "d_mask_prob")]
    pub mask_time_prob: f64,
    /// Frames per masked span (HF `mask_time_length`, default 10).
    #[serde(default = "d_mask_len")]
    pub mask_time_length: usize,
    /// Minimum masked spans per utterance (HF `mask_time_min_masks`, default 2).
    #[serde(default = "d_min_masks")]
    pub mask_time_min_masks: usize,
    /// Width of the sequence-classification projector (HF `classifier_proj_size`, default 256).
    #[serde(default = "d_proj")]
    pub classifier_proj_size: usize,
    /// The sequence-classification head reads a softmax-weighted sum of all hidden states (HF
    /// `use_weighted_layer_sum`) instead of the last one.
    #[serde(default)]
    pub use_weighted_layer_sum: bool,
}

fn d_layerdrop() -> f64 {
    0.1
}
fn d_mask_prob() -> f64 {
    0.05
}
fn d_mask_len() -> usize {
    10
}
fn d_min_masks() -> usize {
    2
}
fn d_proj() -> usize {
    256
}

fn d_buckets() -> usize {
    320
}
fn d_bucket_distance() -> usize {
    800
}

impl Default for EncoderConfig {
    /// transformers' defaults (HuBERT-base shapes), as a `config.json` of `{}` reads.
    fn default() -> Self {
        serde_json::from_str("{}").expect("every EncoderConfig field has a serde default")
    }
}

impl EncoderConfig {
    /// Reads `config.json` (and `preprocessor_config.json` when present) from a model folder.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let p = dir.join("config.json");
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let mut c: EncoderConfig = serde_json::from_str(&text)
            .map_err(|e| format!("{}: malformed config: {e}", p.display()))?;
        // wav2vec2 and UniSpeech(-SAT) always have the LayerNorm before the projection.
        if matches!(
            c.model_type.as_str(),
            "wav2vec2" | "unispeech" | "unispeech-sat"
        ) {
            c.feat_proj_layer_norm = true;
        }
        let pp = dir.join("preprocessor_config.json");
        if let Ok(t) = std::fs::read_to_string(&pp) {
            let v: serde_json::Value = serde_json::from_str(&t)
                .map_err(|e| format!("{}: malformed: {e}", pp.display()))?;
            c.do_normalize = v
                .get("do_normalize")
                .and_then(|b| b.as_bool())
                .unwrap_or(false);
        }
        if c.conv_dim.len() != c.conv_kernel.len()
            || c.conv_dim.len() != c.conv_stride.len()
            || c.conv_dim.is_empty()
        {
            return Err(format!(
                "{}: conv_dim, conv_kernel and conv_stride must have the same non-zero length",
                p.display()
            ));
        }
        if c.conv_kernel.contains(&0) || c.conv_stride.contains(&0) {
            return Err(format!(
                "{}: conv_kernel and conv_stride entries must be at least 1",
                p.display()
            ));
        }
        let groups = c.num_conv_pos_embedding_groups;
        if c.num_conv_pos_embeddings == 0 || groups == 0 || !c.hidden_size.is_multiple_of(groups) {
            return Err(format!(
                "{}: num_conv_pos_embeddings must be at least 1 and num_conv_pos_embedding_groups \
                 ({groups}) must divide hidden_size ({})",
                p.display(),
                c.hidden_size
            ));
        }
        if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return Err(format!(
                "{}: hidden_size {} is not divisible by {} heads",
                p.display(),
                c.hidden_size,
                c.num_attention_heads
            ));
        }
        Ok(c)
    }

    /// Total stride of the conv stack (320 = 20 ms at 16 kHz for the standard stack).
    pub fn total_stride(&self) -> usize {
        self.conv_stride.iter().product()
    }

    /// Number of hidden states returned (layer 0 + one per transformer layer).
    pub fn n_hidden_states(&self) -> usize {
        self.num_hidden_layers + 1
    }
}
