//! SSL embeddings as feature streams: one mean-pooled vector per hidden state and utterance
//! (`[layers, dim]`, stored as a feature matrix with layers as rows), frame embeddings
//! (`[frames, dim]`, 50 fps for HuBERT), and the fused `logmel_ssl` stream that lays them onto
//! the log-mel time axis. Cached on disk under keys that include the weights' content hash.

use std::path::Path;

use burn::prelude::*;

use super::config::EncoderConfig;
use super::extract::{Chunking, encode_batched, encode_utterance, parse_layers};
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

/// Most utterances encoded in one batch by [`SslStream::encode_many`].
pub const MAX_BATCH: usize = 8;
/// Most seconds of padded audio in one batch of [`SslStream::encode_many`].
pub const MAX_BATCH_SECS: usize = 32;

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

    /// [`SslStream::encode`] of several utterances, those up to one chunk long in length-sorted
    /// batches ([`encode_batched`], whose results equal encoding each alone), longer ones chunked
    /// one at a time. A batch holds at most [`MAX_BATCH`] utterances and [`MAX_BATCH_SECS`] of
    /// padded audio, which bounds the attention's memory.
    pub fn encode_many(&self, utterances: &[&[f32]]) -> Vec<([usize; 3], Vec<f32>)> {
        let chunking = Chunking::default_for(self.config.total_stride());
        let one_chunk = chunking.hop_samples + 2 * chunking.context_samples;
        let mut out = vec![([0; 3], Vec::new()); utterances.len()];
        let mut short: Vec<usize> = Vec::new();
        for (i, u) in utterances.iter().enumerate() {
            if u.len() > one_chunk {
                out[i] = self.encode(u);
            } else {
                short.push(i);
            }
        }
        short.sort_by_key(|&i| utterances[i].len());
        let max_samples = MAX_BATCH_SECS * 16_000;
        let mut start = 0;
        while start < short.len() {
            // Sorted ascending, so the last member sets the padded length.
            let mut end = start + 1;
            while end < short.len()
                && end - start < MAX_BATCH
                && (end - start + 1) * utterances[short[end]].len() <= max_samples
            {
                end += 1;
            }
            let group: Vec<Vec<f32>> = short[start..end]
                .iter()
                .map(|&i| utterances[i].to_vec())
                .collect();
            let encoded = encode_batched(
                &self.encoder,
                &self.config,
                &group,
                group.len(),
                &self.device,
            );
            for (&i, (shape, v)) in short[start..end].iter().zip(encoded) {
                out[i] = match shape.as_slice() {
                    &[l, t, d] => ([l, t, d], v),
                    // No frames (shorter than the conv stack's receptive field): as `encode`.
                    _ => self.encode(utterances[i]),
                };
            }
            start = end;
        }
        out
    }

    /// Mean-pooled hidden states of 16 kHz samples: `[layers, dim]`.
    pub fn embed(&self, samples_16k: &[f32]) -> FeatureMatrix {
        let (shape, v) = self.encode(samples_16k);
        self.mean_pooled(shape, &v)
    }

    /// The selected hidden states of an encoding, each averaged over frames: `[layers, dim]`.
    fn mean_pooled(&self, shape: [usize; 3], v: &[f32]) -> FeatureMatrix {
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
        self.layer_mean_frames(shape, &v)
    }

    /// The selected hidden states of an encoding averaged per frame: `[frames, dim]`.
    fn layer_mean_frames(&self, shape: [usize; 3], v: &[f32]) -> FeatureMatrix {
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

    /// Whether `cfg`'s stream takes frame embeddings (else utterance means), and its cache key.
    fn part_key(&self, cfg: &FeatureConfig) -> (bool, &str) {
        let frames = (cfg.stream == StreamKind::LogMelSsl && cfg.ssl_pooling == SslPooling::Frames)
            || cfg.stream == StreamKind::SslFrames;
        (frames, if frames { &self.frames_key } else { &self.key })
    }

    /// The SSL part of `cfg`'s stream for a file, cached: utterance means (`ssl` stream, or
    /// `logmel_ssl` with utterance-mean pooling) or frame embeddings.
    pub fn cached_part(
        &self,
        path: &Path,
        cfg: &FeatureConfig,
        cache: &FeatureCache,
    ) -> Result<(FeatureMatrix, CacheOutcome), String> {
        let (frames, key) = self.part_key(cfg);
        cache.get_or_compute_with(path, key, |p| {
            let x = crate::audio::load_mono_16k(p).map_err(|e| e.to_string())?;
            Ok(if frames {
                self.embed_frames(&x)
            } else {
                self.embed(&x)
            })
        })
    }

    /// [`SslStream::cached_stream`] of several files: the SSL parts missing from the cache are
    /// encoded together ([`SslStream::encode_many`]; same values as one file at a time) and
    /// stored. One result per path, in order.
    pub fn cached_streams(
        &self,
        paths: &[&Path],
        cfg: &FeatureConfig,
        cache: &FeatureCache,
    ) -> Vec<Result<(FeatureMatrix, CacheOutcome), String>> {
        let (frames, key) = self.part_key(cfg);
        let mut parts: Vec<Option<Result<(FeatureMatrix, CacheOutcome), String>>> = paths
            .iter()
            .map(|p| cache.lookup_key(p, key).map(|m| Ok((m, CacheOutcome::Hit))))
            .collect();
        let mut audio: Vec<(usize, Vec<f32>)> = Vec::new();
        for (i, part) in parts.iter_mut().enumerate() {
            if part.is_none() {
                match crate::audio::load_mono_16k(paths[i]) {
                    Ok(x) => audio.push((i, x)),
                    Err(e) => *part = Some(Err(e.to_string())),
                }
            }
        }
        let refs: Vec<&[f32]> = audio.iter().map(|(_, x)| x.as_slice()).collect();
        for ((i, _), (shape, v)) in audio.iter().zip(self.encode_many(&refs)) {
            let m = if frames {
                self.layer_mean_frames(shape, &v)
            } else {
                self.mean_pooled(shape, &v)
            };
            // Stores the entry (and, should another process have written it meanwhile, takes
            // theirs: equal values).
            parts[*i] = Some(cache.get_or_compute_with(paths[*i], key, |_| Ok(m)));
        }
        parts
            .into_iter()
            .zip(paths)
            .map(|(part, path)| {
                let (ssl, outcome) = part.expect("every path has a part")?;
                if cfg.stream != StreamKind::LogMelSsl {
                    return Ok((ssl, outcome));
                }
                let (logmel, _) = cache.get_or_compute(path, &cfg.logmel_part())?;
                Ok((fuse(&logmel, &ssl, self.axis(), cfg), outcome))
            })
            .collect()
    }

    /// `cfg`'s stream (`ssl` or `logmel_ssl`) of a file, each part through the cache.
    pub fn cached_stream(
        &self,
        path: &Path,
        cfg: &FeatureConfig,
        cache: &FeatureCache,
    ) -> Result<(FeatureMatrix, CacheOutcome), String> {
        self.cached_streams(&[path], cfg, cache).remove(0)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, k: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32) * (0.011 + k as f32 * 0.005)).sin() * 0.2 + 0.01 * k as f32)
            .collect()
    }

    /// Batched encoding of files of different lengths (one too short for any frame) equals
    /// encoding each file alone, for a group-norm and a layer-norm model. (Files longer than a
    /// chunk take the single-file path itself; tests/ssl_parity.rs checks chunking.)
    #[test]
    fn encode_many_equals_one_file_at_a_time() {
        for model in ["hubert_tiny", "wav2vec2_stable_tiny"] {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/ssl")
                .join(model);
            let s = SslStream::load(&dir, "all").expect("fixture loads");
            let lengths = [16_000usize, 9_000, 23_500, 100, 12_345];
            let utts: Vec<Vec<f32>> = lengths
                .iter()
                .enumerate()
                .map(|(k, &n)| tone(n, k))
                .collect();
            let refs: Vec<&[f32]> = utts.iter().map(|u| u.as_slice()).collect();
            let many = s.encode_many(&refs);
            for (k, u) in utts.iter().enumerate() {
                let (shape, v) = s.encode(u);
                assert_eq!(many[k].0, shape, "{model}, utterance {k}: shape");
                let err = many[k]
                    .1
                    .iter()
                    .zip(&v)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    err < 1e-4,
                    "{model}, utterance {k}: max abs difference {err}"
                );
            }
        }
    }
}
