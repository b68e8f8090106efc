//! Feature extraction of a whole corpus through the content-addressed cache, with progress
//! events and the owner's stop/pause honoured between files (SSL extraction of a large corpus
//! takes hours; a stop keeps every finished file in the cache).

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::control::{Controller, Interrupt};
use super::messages::Event;
use crate::corpus::Utterance;
use crate::features::cache::CacheOutcome;
use crate::features::{FeatureCache, FeatureConfig, FeatureMatrix, StreamKind};

/// Features of a corpus: one entry per utterance (`None` where extraction failed) and the
/// failures as (utterance index, message).
#[derive(Debug, Default)]
pub struct Extracted {
    /// Per utterance, in corpus order.
    pub features: Vec<Option<FeatureMatrix>>,
    /// (utterance index, why it failed).
    pub failed: Vec<(usize, String)>,
    /// How many came from the cache.
    pub cached: usize,
}

/// Why extraction did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The stream cannot be set up (e.g. SSL weights missing); nothing was extracted.
    #[error("{0}")]
    Setup(String),
    /// The owner stopped it; finished files stay cached.
    #[error("feature extraction stopped")]
    Stopped,
}

impl From<Interrupt> for ExtractError {
    fn from(_: Interrupt) -> Self {
        ExtractError::Stopped
    }
}

/// Features of every utterance for `cfg`'s stream (SSL streams load the encoder first), with
/// `Event::Features` progress; `controller` is polled between chunks of files (spectral streams:
/// parallel chunks of a few files per core; SSL streams: one encoder batch of files).
pub fn extract_features(
    utts: &[Utterance],
    cfg: &FeatureConfig,
    cache: &FeatureCache,
    device: &burn::prelude::Device,
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Extracted, ExtractError> {
    if cfg.uses_ssl() {
        extract_ssl(utts, cfg, cache, device, controller, emit)
    } else if cfg.stream == StreamKind::Waveform {
        Ok(load_waveforms(utts, controller, emit)?)
    } else {
        Ok(extract_spectral(utts, cfg, cache, controller, emit)?)
    }
}

/// Spectral streams (log-mel, MFCC), through the cache.
fn extract_spectral(
    utts: &[Utterance],
    cfg: &FeatureConfig,
    cache: &FeatureCache,
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Extracted, Interrupt> {
    per_file_parallel(utts, controller, emit, |u| {
        cache
            .get_or_compute(&u.path, cfg)
            .map(|(m, outcome)| (m, outcome == CacheOutcome::Hit))
    })
}

/// The waveform stream: every file decoded and resampled to 16 kHz (`[samples, 1]`); nothing
/// is cached.
fn load_waveforms(
    utts: &[Utterance],
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Extracted, Interrupt> {
    per_file_parallel(utts, controller, emit, |u| {
        let x = crate::audio::load_mono_16k(&u.path).map_err(|e| e.to_string())?;
        if x.is_empty() {
            return Err(format!("{}: no samples", u.path.display()));
        }
        Ok((
            FeatureMatrix {
                n_frames: x.len(),
                n_bins: 1,
                data: x,
            },
            false,
        ))
    })
}

/// Runs `one` (matrix, whether it came from the cache) on every file, in parallel chunks of a
/// few files per core, polling the controller between chunks and emitting progress.
fn per_file_parallel(
    utts: &[Utterance],
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
    one: impl Fn(&Utterance) -> Result<(FeatureMatrix, bool), String> + Sync,
) -> Result<Extracted, Interrupt> {
    let done = AtomicUsize::new(0);
    let cached = AtomicUsize::new(0);
    let total = utts.len();
    let chunk = (rayon::current_num_threads() * 4).max(8);
    let mut out = Extracted::default();
    for (c, part) in utts.chunks(chunk).enumerate() {
        controller.poll(emit)?;
        let results: Vec<Result<FeatureMatrix, String>> = part
            .par_iter()
            .map(|u| {
                let r = one(u);
                if matches!(r, Ok((_, true))) {
                    cached.fetch_add(1, Ordering::Relaxed);
                }
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(25) || n == total {
                    emit(Event::Features {
                        done: n,
                        total,
                        cached: cached.load(Ordering::Relaxed),
                    });
                }
                r.map(|(m, _)| m)
            })
            .collect();
        for (k, r) in results.into_iter().enumerate() {
            match r {
                Ok(m) => out.features.push(Some(m)),
                Err(e) => {
                    out.features.push(None);
                    out.failed.push((c * chunk + k, e));
                }
            }
        }
    }
    out.cached = cached.load(Ordering::Relaxed);
    Ok(out)
}

/// SSL streams: loads the encoder named by the preset and embeds every utterance (cached),
/// in groups of files (batched through the encoder), polling the controller between groups.
fn extract_ssl(
    utts: &[Utterance],
    cfg: &FeatureConfig,
    cache: &FeatureCache,
    device: &burn::prelude::Device,
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Extracted, ExtractError> {
    let weights = cfg.ssl_weights.as_ref().ok_or_else(|| {
        ExtractError::Setup("the ssl stream needs features.ssl_weights (a model folder with config.json and model.safetensors)".into())
    })?;
    let stream = crate::ssl::stream::SslStream::load_on(weights, &cfg.ssl_layers, device)
        .map_err(ExtractError::Setup)?;
    emit(Event::Log(format!(
        "SSL encoder: {} ({} layers × {}), hidden states {:?}",
        stream.config.model_type,
        stream.config.num_hidden_layers,
        stream.config.hidden_size,
        stream.layers
    )));
    let mut out = Extracted::default();
    // Groups of files between polls: the encoder batches what one group misses in the cache.
    let group = crate::ssl::stream::MAX_BATCH;
    for (g, part) in utts.chunks(group).enumerate() {
        controller.poll(emit)?;
        let paths: Vec<&std::path::Path> = part.iter().map(|u| u.path.as_path()).collect();
        for (k, r) in stream
            .cached_streams(&paths, cfg, cache)
            .into_iter()
            .enumerate()
        {
            match r {
                Ok((m, o)) => {
                    out.cached += usize::from(o == CacheOutcome::Hit);
                    out.features.push(Some(m));
                }
                Err(e) => {
                    out.features.push(None);
                    out.failed.push((g * group + k, e));
                }
            }
        }
        emit(Event::Features {
            done: out.features.len(),
            total: utts.len(),
            cached: out.cached,
        });
    }
    Ok(out)
}

/// How many utterances already have valid cache entries for `cfg`'s stream (all its parts).
pub fn cache_status(
    utts: &[Utterance],
    cfg: &FeatureConfig,
    cache: &FeatureCache,
) -> Result<usize, String> {
    if cfg.stream == StreamKind::Waveform {
        // Nothing to extract: the audio is read when the run starts.
        return Ok(utts.len());
    }
    if !cfg.uses_ssl() {
        return Ok(utts
            .par_iter()
            .filter(|u| cache.is_cached(&u.path, cfg))
            .count());
    }
    let weights = cfg
        .ssl_weights
        .as_ref()
        .ok_or("the SSL stream has no model folder (ssl_weights)")?;
    let stream = crate::ssl::stream::SslStream::load(weights, &cfg.ssl_layers)?;
    let frames = (cfg.stream == StreamKind::LogMelSsl
        && cfg.ssl_pooling == crate::features::SslPooling::Frames)
        || cfg.stream == StreamKind::SslFrames;
    let key = if frames {
        &stream.frames_key
    } else {
        &stream.key
    };
    let logmel = cfg.logmel_part();
    Ok(utts
        .par_iter()
        .filter(|u| {
            cache.is_cached_key(&u.path, key)
                && (cfg.stream != StreamKind::LogMelSsl || cache.is_cached(&u.path, &logmel))
        })
        .count())
}
