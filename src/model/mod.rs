//! Trainable SER models in burn 0.22 (no backend type parameter: the `Device` value chooses
//! Flex on the CPU or wgpu on a GPU). Every model maps a padded feature batch `[batch, time,
//! bins]` to class logits `[batch, classes]`.

pub mod cnn;
pub mod cnn_gru;
pub mod dtcn;
pub mod dtpm;
pub mod fused;
pub mod fusion;
pub mod head;
pub mod label_query;
pub mod layer_weighted;
pub mod linear;
pub mod multitask;
pub mod ops;
pub mod pooled_fc;
pub mod resnet;
pub mod summary;
pub mod temporal;
pub mod timnet;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::text::TextBatch;

pub use cnn::{CnnConfig, LogMelCnn};
pub use temporal::{TemporalStack, TemporalStackConfig};

/// Dropout probabilities lie in [0, 1).
pub(crate) fn check_dropout(name: &str, p: f64) -> Result<(), String> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(format!("{name} must be in [0, 1), got {p}"))
    }
}

/// Model choice of a preset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ModelConfig {
    /// LogMel+CNN baseline (2-D conv blocks over time × mel, global pooling, linear head).
    Cnn(CnnConfig),
    /// The LogMel–HuBERT paper's temporal stack on one stream: dilated residual conv blocks →
    /// temporal pyramid pooling → multi-head self-attention over the pyramid segments → FC head.
    TemporalStack(TemporalStackConfig),
    /// Layer-weighted sum of SSL hidden states (utterance vectors) + FC; "HuBERT + FC" with one
    /// layer. Needs the `ssl` feature stream.
    LayerWeighted(layer_weighted::LayerWeightedConfig),
    /// Frames → projection or LogMel–HuBERT fusion → mean/attention pooling → FC
    /// ("LogMel+HuBERT+FC" with the `logmel_ssl` stream).
    PooledFc(pooled_fc::PooledFcConfig),
    /// CNN+GRU baseline.
    CnnGru(cnn_gru::CnnGruConfig),
    /// TIM-Net-style bidirectional gated dilated stack (seed 000's released code).
    TimNet(timnet::TimNetConfig),
    /// An SSL encoder fine-tuned end to end with transformers' sequence-classification head
    /// (projector → mean over valid frames → classifier). Needs the `waveform` stream and
    /// `features.ssl_weights`.
    SslFineTune(Box<crate::ssl::classifier::FineTuneConfig>),
    /// SpeechMLC's label-query decoder: one learnable query per output (label) cross-attends
    /// the frames; a logit per query (multi-label runs; any frame stream).
    LabelQuery(label_query::LabelQueryConfig),
    /// ResNet with basic blocks over the time × frequency plane (SpeechMLC's ResNet-34
    /// baseline on 80-band log-mel).
    ResNet(resnet::ResNetConfig),
    /// A linear classifier on one vector per utterance (functionals, SSL utterance vectors),
    /// fitted by a convex solver: L2 logistic regression or a linear SVM (the classic
    /// baselines).
    Linear(linear::LinearClassifierConfig),
}

/// Features a domain-adaptation loss aligns (see [`SerModel::forward_aligned`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlignedLayer {
    /// The utterance embedding the head receives (after pooling/attention).
    Embedding,
    /// The first hidden layer of the MLP head (DSAN's bottleneck position).
    HeadHidden1,
    /// The second hidden layer of the MLP head (the last before the logits).
    HeadHidden2,
}

impl AlignedLayer {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            AlignedLayer::Embedding => "embedding",
            AlignedLayer::HeadHidden1 => "head hidden 1",
            AlignedLayer::HeadHidden2 => "head hidden 2",
        }
    }
}

/// What a model is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputShape {
    /// Frames per example (SSL utterance vectors: hidden states).
    pub frames: usize,
    /// Values per frame.
    pub bins: usize,
    /// For two-stream (`logmel_ssl`) inputs: how many leading bins are log-mel.
    pub split: Option<usize>,
    /// Width of the text vector concatenated with the audio embedding before the head (0: no
    /// text stream; models that take text: [`ModelConfig::takes_text`]).
    pub text: usize,
}

impl ModelConfig {
    /// Short human name.
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Cnn(_) => "LogMel+CNN",
            ModelConfig::TemporalStack(_) => "temporal stack (DTCN → DTPM → MHSA → FC)",
            ModelConfig::LayerWeighted(_) => "SSL layer-weighted sum + FC",
            ModelConfig::PooledFc(_) => "frames → fusion → pooling → FC",
            ModelConfig::CnnGru(_) => "CNN+GRU",
            ModelConfig::TimNet(_) => "TIM-Net-style bidirectional gated dilated stack",
            ModelConfig::SslFineTune(c) if c.multitask().is_some() => {
                "fine-tuned SSL encoder + multi-task head (ARI, auxiliary tasks, co-attention)"
            }
            ModelConfig::SslFineTune(_) => "fine-tuned SSL encoder + projector → mean → classifier",
            ModelConfig::LabelQuery(_) => "label queries cross-attending frames (SpeechMLC)",
            ModelConfig::ResNet(_) => "ResNet (basic blocks) over time × frequency",
            ModelConfig::Linear(c) => c.solver.name(),
        }
    }

    /// Whether the model can take a text vector beside the audio (the text stream's fusion:
    /// the pooled audio embedding and the text vector, concatenated, feed the head).
    pub fn takes_text(&self) -> bool {
        match self {
            ModelConfig::SslFineTune(c) => c.multitask().is_none(),
            m => matches!(m, ModelConfig::PooledFc(_)),
        }
    }

    /// The configuration that builds fold `fold`'s model (a multi-task head's auxiliary
    /// classes differ by fold; every other model is the same in each fold).
    pub fn for_fold(&self, fold: usize) -> ModelConfig {
        match self {
            ModelConfig::SslFineTune(c) => ModelConfig::SslFineTune(Box::new(c.for_fold(fold))),
            m => m.clone(),
        }
    }

    /// Checks the configuration; every problem names the field (called when a preset is read,
    /// so a preset that would build a different model than it says is rejected).
    pub fn validate(&self) -> Result<(), String> {
        match self {
            ModelConfig::Cnn(c) => c.validate(),
            ModelConfig::TemporalStack(c) => c.validate(),
            ModelConfig::LayerWeighted(c) => c.validate(),
            ModelConfig::PooledFc(c) => c.validate(),
            ModelConfig::CnnGru(c) => c.validate(),
            ModelConfig::TimNet(c) => c.validate(),
            ModelConfig::SslFineTune(c) => c.validate(),
            ModelConfig::LabelQuery(c) => c.validate(),
            ModelConfig::ResNet(c) => c.validate(),
            ModelConfig::Linear(c) => c.validate(),
        }
    }

    /// Builds the module for `input` and `n_classes` outputs on `device` (a configuration
    /// that passes [`ModelConfig::validate`]).
    pub fn init(&self, input: InputShape, n_classes: usize, device: &Device) -> SerModel {
        let InputShape {
            frames,
            bins,
            split,
            text,
        } = input;
        match self {
            ModelConfig::LayerWeighted(c) => {
                SerModel::LayerWeighted(c.init(frames, bins, n_classes, device))
            }
            ModelConfig::Cnn(c) => SerModel::Cnn(c.init(n_classes, device)),
            ModelConfig::TemporalStack(c) => {
                SerModel::Temporal(c.init(bins, split, n_classes, device))
            }
            ModelConfig::PooledFc(c) => {
                SerModel::PooledFc(c.init(bins, split, text, n_classes, device))
            }
            ModelConfig::CnnGru(c) => SerModel::CnnGru(c.init(bins, n_classes, device)),
            ModelConfig::TimNet(c) => SerModel::TimNet(c.init(bins, n_classes, device)),
            ModelConfig::LabelQuery(c) => SerModel::LabelQuery(c.init(bins, n_classes, device)),
            ModelConfig::ResNet(c) => SerModel::ResNet(c.init(n_classes, device)),
            ModelConfig::Linear(c) => SerModel::Linear(c.init(frames, bins, n_classes, device)),
            ModelConfig::SslFineTune(c) => {
                // The run fills in the encoder's architecture; without it the default
                // (HuBERT-base) shapes are built and a checkpoint of another shape is refused
                // when loaded.
                let enc = c.encoder.clone().unwrap_or_default();
                SerModel::SslClassifier(
                    crate::ssl::classifier::SslClassifier::new(&enc, c, n_classes, device)
                        .with_text_width(text, device),
                )
            }
        }
    }
}

/// Any of the workbench's models. (One value per fold, never in a hot collection: the size
/// difference between variants does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum SerModel {
    /// See [`LogMelCnn`].
    Cnn(LogMelCnn),
    /// See [`TemporalStack`].
    Temporal(TemporalStack),
    /// See [`layer_weighted::LayerWeighted`].
    LayerWeighted(layer_weighted::LayerWeighted),
    /// See [`pooled_fc::PooledFc`].
    PooledFc(pooled_fc::PooledFc),
    /// See [`cnn_gru::CnnGru`].
    CnnGru(cnn_gru::CnnGru),
    /// See [`timnet::TimNet`].
    TimNet(timnet::TimNet),
    /// See [`crate::ssl::classifier::SslClassifier`]; input `[batch, samples, 1]` raw 16 kHz.
    SslClassifier(crate::ssl::classifier::SslClassifier),
    /// See [`label_query::LabelQueryDecoder`].
    LabelQuery(label_query::LabelQueryDecoder),
    /// See [`resnet::ResNet`].
    ResNet(resnet::ResNet),
    /// See [`linear::LinearClassifier`].
    Linear(linear::LinearClassifier),
}

impl SerModel {
    /// # Shapes
    /// - `x`: `[batch, time, bins]`; `text`: the batch's text (see [`Self::embed_with`])
    /// - returns logits `[batch, classes]`
    pub fn forward(&self, x: Tensor<3>, text: &TextBatch) -> Tensor<2> {
        let (logits, _) = self.forward_with_embedding(x, text);
        logits
    }

    /// Logits and the utterance embedding the head sees (for domain adaptation).
    ///
    /// # Shapes
    /// - `x`: `[batch, time, bins]` → (`[batch, classes]`, `[batch, embedding]`)
    pub fn forward_with_embedding(&self, x: Tensor<3>, text: &TextBatch) -> (Tensor<2>, Tensor<2>) {
        let emb = self.embed_with(x, text);
        (self.classify(emb.clone()), emb)
    }

    /// Logits and the features of `layer` (falls back to the embedding for models without an
    /// MLP head; see [`SerModel::has_mlp_head`]).
    pub fn forward_aligned(
        &self,
        x: Tensor<3>,
        text: &TextBatch,
        layer: AlignedLayer,
    ) -> (Tensor<2>, Tensor<2>) {
        let emb = self.embed_with(x, text);
        let hidden = match self {
            SerModel::Temporal(m) => Some(m.head_hidden(emb.clone())),
            SerModel::PooledFc(m) => Some(m.head_hidden(emb.clone())),
            SerModel::TimNet(m) => Some(m.head_hidden(emb.clone())),
            _ => None,
        };
        match (layer, hidden) {
            (AlignedLayer::HeadHidden1, Some((logits, h1, _))) => (logits, h1),
            (AlignedLayer::HeadHidden2, Some((logits, _, h2))) => (logits, h2),
            (_, Some((logits, _, _))) => (logits, emb),
            (_, None) => (self.classify(emb.clone()), emb),
        }
    }

    /// The embedding the head receives: the audio embedding ([`Self::embed`]) followed by the
    /// text vector when the batch has text (frozen vectors as given; token ids through the
    /// model's own text encoder).
    ///
    /// # Shapes
    /// - `x`: `[batch, time, bins]` → `[batch, embedding + text]`
    pub fn embed_with(&self, x: Tensor<3>, text: &TextBatch) -> Tensor<2> {
        let audio = self.embed(x);
        match self.text_vector(text) {
            Some(t) => Tensor::cat(vec![audio, t], 1),
            None => audio,
        }
    }

    /// Adds a text encoder that trains with the model (models that run one: `SslFineTune`;
    /// others are returned as they are).
    pub fn with_text_encoder(
        self,
        encoder: crate::text::TextEncoder,
        pooling: crate::text::TextPooling,
    ) -> Self {
        match self {
            SerModel::SslClassifier(m) => {
                SerModel::SslClassifier(m.with_text_encoder(encoder, pooling))
            }
            other => other,
        }
    }

    /// The pooled text vector `[batch, width]` of a batch's text.
    ///
    /// # Panics
    /// When the batch carries token ids and the model has no text encoder (a run prepares
    /// tokens only for models that have one).
    pub fn text_vector(&self, text: &TextBatch) -> Option<Tensor<2>> {
        match (text, self) {
            (TextBatch::None, _) => None,
            (TextBatch::Vectors(v), _) => Some(v.clone()),
            (TextBatch::Tokens(ids), SerModel::SslClassifier(m)) => m.text_vector(ids),
            (TextBatch::Tokens(_), _) => panic!("token ids for a model without a text encoder"),
        }
    }

    /// Whether the model ends in the three-layer MLP head (so head layers can be aligned).
    pub fn has_mlp_head(&self) -> bool {
        matches!(
            self,
            SerModel::Temporal(_) | SerModel::PooledFc(_) | SerModel::TimNet(_)
        )
    }

    /// The audio embedding `[batch, embedding]` (without text).
    pub fn embed(&self, x: Tensor<3>) -> Tensor<2> {
        match self {
            SerModel::Cnn(m) => m.embed(x),
            SerModel::Temporal(m) => m.embed(x),
            SerModel::LayerWeighted(m) => m.embed(x),
            SerModel::PooledFc(m) => m.embed(x),
            SerModel::CnnGru(m) => m.embed(x),
            SerModel::TimNet(m) => m.embed(x),
            SerModel::LabelQuery(m) => m.embed(x),
            SerModel::ResNet(m) => m.embed(x),
            SerModel::Linear(m) => m.embed(x),
            SerModel::SslClassifier(m) => {
                let [b, l, _] = x.dims();
                m.embed_chunked(x.reshape([b, l]))
            }
        }
    }

    /// Logits from an embedding.
    pub fn classify(&self, emb: Tensor<2>) -> Tensor<2> {
        match self {
            SerModel::Cnn(m) => m.classify(emb),
            SerModel::Temporal(m) => m.classify(emb),
            SerModel::LayerWeighted(m) => m.classify(emb),
            SerModel::PooledFc(m) => m.classify(emb),
            SerModel::CnnGru(m) => m.classify(emb),
            SerModel::TimNet(m) => m.classify(emb),
            SerModel::LabelQuery(m) => m.classify(emb),
            SerModel::ResNet(m) => m.classify(emb),
            SerModel::Linear(m) => m.classify(emb),
            SerModel::SslClassifier(m) => m.classify_embedding(emb),
        }
    }

    /// Logits with what the model can show about one pass: attention per input frame and the
    /// fusion gate per frame (`[batch, time]` each, where the model has them).
    pub fn forward_traced(&self, x: Tensor<3>, text: &TextBatch) -> (Tensor<2>, temporal::Trace) {
        match self {
            SerModel::Temporal(m) => {
                let (emb, trace) = m.embed_traced(x, true);
                (m.classify(emb), trace)
            }
            SerModel::PooledFc(m) => {
                let (emb, w, gate) = m.embed_traced(x);
                let emb = match self.text_vector(text) {
                    Some(t) => Tensor::cat(vec![emb, t], 1),
                    None => emb,
                };
                (
                    m.classify(emb),
                    temporal::Trace {
                        attention: Some(w),
                        gate,
                        label_attention: None,
                    },
                )
            }
            SerModel::LabelQuery(m) => {
                let (emb, att) = m.embed_traced(x);
                (
                    m.classify(emb),
                    temporal::Trace {
                        label_attention: Some(att),
                        ..Default::default()
                    },
                )
            }
            _ => (self.forward(x, text), temporal::Trace::default()),
        }
    }

    /// Softmax layer weights, for models that learn them (TIM-Net: its block weights).
    pub fn layer_weights(&self) -> Option<Vec<f32>> {
        match self {
            SerModel::LayerWeighted(m) => Some(m.layer_weights()),
            SerModel::TimNet(m) => Some(m.block_weights()),
            SerModel::SslClassifier(m) => m.head.layer_weight_rows().map(|rows| {
                // Per-output weights: their mean (each row sums to 1, so does the mean).
                let n = rows.len() as f32;
                let mut mean = vec![0.0f32; rows[0].len()];
                for r in &rows {
                    for (m, v) in mean.iter_mut().zip(r) {
                        *m += v / n;
                    }
                }
                mean
            }),
            _ => None,
        }
    }

    /// One set of softmax layer weights per output, for models that learn them per output
    /// (dimensional runs with per-dimension layer importance).
    pub fn layer_weights_per_output(&self) -> Option<Vec<Vec<f32>>> {
        match self {
            SerModel::SslClassifier(m) if m.head.output_layer_weights.is_some() => {
                m.head.layer_weight_rows()
            }
            SerModel::LayerWeighted(m) => m.layer_weights_per_output(),
            _ => None,
        }
    }

    /// Whether the model fuses its two streams with a per-frame gate.
    pub fn has_fusion_gate(&self) -> bool {
        match self {
            SerModel::Temporal(m) => m.is_gated(),
            SerModel::PooledFc(m) => m.is_gated(),
            _ => false,
        }
    }

    /// α of an α-fusion front-end.
    pub fn fusion_alpha(&self) -> Option<f32> {
        match self {
            SerModel::Temporal(m) => m.alpha(),
            SerModel::PooledFc(m) => m.alpha(),
            _ => None,
        }
    }
}
