//! Trainable SER models in burn 0.22 (no backend type parameter: the `Device` value chooses
//! Flex on the CPU or wgpu on a GPU). Every model maps a padded feature batch `[batch, time,
//! bins]` to class logits `[batch, classes]`.

pub mod cnn;
pub mod dtcn;
pub mod dtpm;
pub mod head;
pub mod layer_weighted;
pub mod temporal;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

pub use cnn::{CnnConfig, LogMelCnn};
pub use temporal::{TemporalStack, TemporalStackConfig};

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
}

impl ModelConfig {
    /// Short human name.
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Cnn(_) => "LogMel+CNN",
            ModelConfig::TemporalStack(_) => "temporal stack (DTCN → DTPM → MHSA → FC)",
            ModelConfig::LayerWeighted(_) => "SSL layer-weighted sum + FC",
        }
    }

    /// Builds the module for inputs of `frames × n_bins` (for SSL streams: layers × dim) and
    /// `n_classes` outputs on `device`.
    pub fn init(
        &self,
        frames: usize,
        n_bins: usize,
        n_classes: usize,
        device: &Device,
    ) -> SerModel {
        match self {
            ModelConfig::LayerWeighted(c) => {
                SerModel::LayerWeighted(c.init(frames, n_bins, n_classes, device))
            }
            ModelConfig::Cnn(c) => SerModel::Cnn(c.init(n_classes, device)),
            ModelConfig::TemporalStack(c) => SerModel::Temporal(c.init(n_bins, n_classes, device)),
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
}

impl SerModel {
    /// # Shapes
    /// - `x`: `[batch, time, bins]`
    /// - returns logits `[batch, classes]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        match self {
            SerModel::Cnn(m) => m.forward(x),
            SerModel::Temporal(m) => m.forward(x),
            SerModel::LayerWeighted(m) => m.forward(x),
        }
    }

    /// Logits and the utterance embedding the head sees (for domain adaptation).
    ///
    /// # Shapes
    /// - `x`: `[batch, time, bins]` → (`[batch, classes]`, `[batch, embedding]`)
    pub fn forward_with_embedding(&self, x: Tensor<3>) -> (Tensor<2>, Tensor<2>) {
        let emb = match self {
            SerModel::Cnn(m) => m.embed(x),
            SerModel::Temporal(m) => m.embed(x),
            SerModel::LayerWeighted(m) => m.embed(x),
        };
        let logits = match self {
            SerModel::Cnn(m) => m.classify(emb.clone()),
            SerModel::Temporal(m) => m.classify(emb.clone()),
            SerModel::LayerWeighted(m) => m.classify(emb.clone()),
        };
        (logits, emb)
    }

    /// Softmax layer weights, for models that learn them.
    pub fn layer_weights(&self) -> Option<Vec<f32>> {
        match self {
            SerModel::LayerWeighted(m) => Some(m.layer_weights()),
            _ => None,
        }
    }
}
