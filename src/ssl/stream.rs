//! SSL embeddings as feature streams: one mean-pooled vector per hidden state and utterance
//! (`[layers, dim]`, stored as a feature matrix with layers as rows), frame embeddings
//! (`[frames, dim]`, 50 fps for HuBERT), and the fused `logmel_ssl` stream that lays them onto
//! the log-mel time axis. Cached on disk under keys that include the weights' content hash.

use std::path::Path;

use burn::prelude::*;

use super::config::EncoderConfig;
use super::extract::{Chunking, encode_utterance, parse_layers};
use super::wav2vec2::Wav2Vec2Encoder;
use crate::features::align::{FrameAxis, align, broadcast_mean, concat_bins};
use crate::features::cache::CacheOutcome;
use crate::features::{FeatureCache, FeatureConfig, FeatureMatrix, SslPooling, StreamKind};

/// Builds a `logmel_ssl` matrix `[log-mel frames, n_mels + dim]` from a log-mel matrix and the SSL
/// part: frame embeddings on `ssl_axis` interpolated onto the log-mel frame centres, or (for
/// [`SslPooling::UtteranceMean`]) the mean of the `[layers, dim]` rows repeated on every frame.
pub fn fuse(
    logmel: &FeatureMatrix,
    ssl: &FeatureMatrix,
    ssl_axis: FrameAxis,
    cfg: &FeatureConfig,
) -> FeatureMatrix {
    let n = logmel.n_frames;
    let ssl = match cfg.ssl_pooling {
        SslPooling::Frames => {
            let to =
                FrameAxis::centred_stft(cfg.logmel.sample_rate_hz, cfg.logmel.hop_length_samples);
            align(ssl, ssl_axis, to, n)
        }
        SslPooling::UtteranceMean => broadcast_mean(ssl, n),
    };
    concat_bins(logmel, &ssl)
}

/// A loaded encoder ready to embed files.
pub struct SslStream {
    /// The encoder (CPU).
    pub encoder: Wav2Vec2Encoder,
    /// Its configuration.
    pub config: EncoderConfig,
    /// Selected hidden states.
    pub layers: Vec<usize>,
    /// Cache key of the utterance-mean matrices: extractor, layers and the weights' BLAKE3 hash.
    pub key: String,
    /// Cache key of the frame matrices ([`SslStream::embed_frames`]).
    pub frames_key: String,
    device: Device,
}

impl SslStream {
    /// Loads the encoder from `weights` (a model folder) on the CPU and hashes its weights file.
    pub fn load(weights: &Path, layers: &str) -> Result<Self, String> {
        Self::load_on(weights, layers, &Device::flex())
    }

    /// [`SslStream::load`] on `device` (a run's backend).
    pub fn load_on(weights: &Path, layers: &str, device: &Device) -> Result<Self, String> {
        let device = device.clone();
        let (encoder, config, _) = super::load_encoder(weights, &device)?;
        let layers = parse_layers(layers, config.n_hidden_states())?;
        let (_, file) = super::weights::weights_file(weights)?;
        let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let ident = format!(
            "model={} layers={:?} normalize={} weights={}",
            config.model_type,
            layers,
            config.do_normalize,
            blake3::hash(&bytes).to_hex()
        );
        Ok(Self {
            encoder,
            config,
            layers,
            key: format!("ssl-utterance-mean-v1 {ident}"),
            frames_key: format!("ssl-frames-layer-mean-v1 {ident}"),
            device,
        })
    }

    /// Every hidden state of 16 kHz samples (chunked): shape `[states, frames, dim]` and values.
    fn encode(&self, samples_16k: &[f32]) -> ([usize; 3], Vec<f32>) {
        let chunking = Chunking::default_for(self.config.total_stride());
        let (shape, v) = encode_utterance(
            &self.encoder,
            &self.config.conv_kernel,
            &self.config.conv_stride,
            samples_16k,
            chunking,
            &self.device,
        );
        ([shape[0], shape[1], shape[2]], v)
    }

    /// Mean-pooled hidden states of 16 kHz samples: `[layers, dim]`.
    pub fn embed(&self, samples_16k: &[f32]) -> FeatureMatrix {
        let (shape, v) = self.encode(samples_16k);
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

    /// Frame embeddings of 16 kHz samples, the selected hidden states averaged per frame:
    /// `[frames, dim]` on [`SslStream::axis`].
    pub fn embed_frames(&self, samples_16k: &[f32]) -> FeatureMatrix {
        let (shape, v) = self.encode(samples_16k);
        let (t, d) = (shape[1], shape[2]);
        let mut out = FeatureMatrix::zeros(t, d);
        let w = 1.0 / self.layers.len().max(1) as f32;
        for &l in &self.layers {
            for (o, x) in out.data.iter_mut().zip(&v[l * t * d..(l + 1) * t * d]) {
                *o += x * w;
            }
        }
        out
    }

    /// Time axis of [`SslStream::embed_frames`].
    pub fn axis(&self) -> FrameAxis {
        FrameAxis::conv(16_000, &self.config.conv_kernel, &self.config.conv_stride)
    }

    /// The fused `logmel_ssl` stream of 16 kHz samples (no cache).
    pub fn fused(&self, samples_16k: &[f32], cfg: &FeatureConfig) -> FeatureMatrix {
        let logmel = crate::features::compute(samples_16k, &cfg.logmel_part());
        let ssl = match cfg.ssl_pooling {
            SslPooling::Frames => self.embed_frames(samples_16k),
            SslPooling::UtteranceMean => self.embed(samples_16k),
        };
        fuse(&logmel, &ssl, self.axis(), cfg)
    }

    /// The SSL part of `cfg`'s stream for a file, cached: utterance means (`ssl` stream, or
    /// `logmel_ssl` with utterance-mean pooling) or frame embeddings.
    pub fn cached_part(
        &self,
        path: &Path,
        cfg: &FeatureConfig,
        cache: &FeatureCache,
    ) -> Result<(FeatureMatrix, CacheOutcome), String> {
        let frames = (cfg.stream == StreamKind::LogMelSsl && cfg.ssl_pooling == SslPooling::Frames)
            || cfg.stream == StreamKind::SslFrames;
        let key = if frames { &self.frames_key } else { &self.key };
        cache.get_or_compute_with(path, key, |p| {
            let x = crate::audio::load_mono_16k(p).map_err(|e| e.to_string())?;
            Ok(if frames {
                self.embed_frames(&x)
            } else {
                self.embed(&x)
            })
        })
    }

    /// `cfg`'s stream (`ssl` or `logmel_ssl`) of a file, each part through the cache.
    pub fn cached_stream(
        &self,
        path: &Path,
        cfg: &FeatureConfig,
        cache: &FeatureCache,
    ) -> Result<(FeatureMatrix, CacheOutcome), String> {
        let (ssl, outcome) = self.cached_part(path, cfg, cache)?;
        if cfg.stream != StreamKind::LogMelSsl {
            return Ok((ssl, outcome));
        }
        let (logmel, _) = cache.get_or_compute(path, &cfg.logmel_part())?;
        Ok((fuse(&logmel, &ssl, self.axis(), cfg), outcome))
    }

    /// `cfg`'s stream of 16 kHz samples (no cache).
    pub fn stream(&self, samples_16k: &[f32], cfg: &FeatureConfig) -> FeatureMatrix {
        match cfg.stream {
            StreamKind::LogMelSsl => self.fused(samples_16k, cfg),
            StreamKind::SslFrames => self.embed_frames(samples_16k),
            _ => self.embed(samples_16k),
        }
    }

    /// Embeds an audio file (the encoder applies the checkpoint's input normalisation).
    pub fn embed_file(&self, path: &Path) -> Result<FeatureMatrix, String> {
        let x = crate::audio::load_mono_16k(path).map_err(|e| e.to_string())?;
        Ok(self.embed(&x))
    }
}
