//! SSL embeddings as a feature stream: one mean-pooled vector per hidden state and utterance
//! (`[layers, dim]`, stored as a feature matrix with layers as rows), cached on disk under a key
//! that includes the weights' content hash.

use std::path::Path;

use burn::prelude::*;

use super::config::EncoderConfig;
use super::extract::{Chunking, encode_utterance, parse_layers};
use super::wav2vec2::Wav2Vec2Encoder;
use crate::features::FeatureMatrix;

/// A loaded encoder ready to embed files.
pub struct SslStream {
    /// The encoder (CPU).
    pub encoder: Wav2Vec2Encoder,
    /// Its configuration.
    pub config: EncoderConfig,
    /// Selected hidden states.
    pub layers: Vec<usize>,
    /// Cache key: extractor, layers and the weights' BLAKE3 hash.
    pub key: String,
    device: Device,
}

impl SslStream {
    /// Loads the encoder from `weights` (a model folder) and hashes its weights file.
    pub fn load(weights: &Path, layers: &str) -> Result<Self, String> {
        let device = Device::flex();
        let (encoder, config, _) = super::load_encoder(weights, &device)?;
        let layers = parse_layers(layers, config.n_hidden_states())?;
        let file = if weights.is_dir() {
            weights.join("model.safetensors")
        } else {
            weights.to_path_buf()
        };
        let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let key = format!(
            "ssl-utterance-mean-v1 model={} layers={:?} normalize={} weights={}",
            config.model_type,
            layers,
            config.do_normalize,
            blake3::hash(&bytes).to_hex()
        );
        Ok(Self {
            encoder,
            config,
            layers,
            key,
            device,
        })
    }

    /// Mean-pooled hidden states of 16 kHz samples: `[layers, dim]`.
    pub fn embed(&self, samples_16k: &[f32]) -> FeatureMatrix {
        let chunking = Chunking::default_for(self.config.total_stride());
        let (shape, v) = encode_utterance(
            &self.encoder,
            &self.config.conv_kernel,
            &self.config.conv_stride,
            samples_16k,
            chunking,
            &self.device,
        );
        let (t, d) = (shape[1].max(1), shape[2]);
        let mut out = FeatureMatrix::zeros(self.layers.len(), d);
        for (row, &l) in self.layers.iter().enumerate() {
            for f in 0..shape[1] {
                for k in 0..d {
                    out.data[row * d + k] += v[(l * shape[1] + f) * d + k] / t as f32;
                }
            }
        }
        out
    }

    /// Embeds an audio file (the encoder applies the checkpoint's input normalisation).
    pub fn embed_file(&self, path: &Path) -> Result<FeatureMatrix, String> {
        let x = crate::audio::load_mono_16k(path).map_err(|e| e.to_string())?;
        Ok(self.embed(&x))
    }
}
