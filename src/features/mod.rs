//! Feature extraction: STFT, log-mel, MFCC, normalisation and the on-disk cache. Pure numerics,
//! no burn, no egui.

pub mod align;
pub mod cache;
pub mod config;
pub mod functionals;
pub mod mel;
pub mod mfcc;
pub mod norm;
pub mod npy;
pub mod stft;

pub use cache::FeatureCache;
pub use config::{FeatureConfig, LogMelConfig, Normalisation, SslPooling, StreamKind};
pub use norm::Standardiser;

use std::path::Path;

/// A feature matrix, time-major: `data[stft_frame * n_bins + bin]`.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureMatrix {
    /// Number of STFT frames (time steps).
    pub n_frames: usize,
    /// Number of bins per frame (mel bands or MFCC coefficients).
    pub n_bins: usize,
    /// Row-major values.
    pub data: Vec<f32>,
}

impl FeatureMatrix {
    /// Zero matrix.
    pub fn zeros(n_frames: usize, n_bins: usize) -> Self {
        Self {
            n_frames,
            n_bins,
            data: vec![0.0; n_frames * n_bins],
        }
    }

    /// One frame's bins.
    pub fn frame(&self, t: usize) -> &[f32] {
        &self.data[t * self.n_bins..(t + 1) * self.n_bins]
    }
}

/// Computes a spectral stream from 16 kHz mono samples (no normalisation). SSL streams need the
/// encoder and are computed in `ssl::stream`; here they fall back to the log-mel.
pub fn compute(samples_16k: &[f32], cfg: &FeatureConfig) -> FeatureMatrix {
    if cfg.stream == StreamKind::Waveform {
        return FeatureMatrix {
            n_frames: samples_16k.len(),
            n_bins: 1,
            data: samples_16k.to_vec(),
        };
    }
    if cfg.stream == StreamKind::Functionals {
        return functionals::compute(samples_16k, cfg);
    }
    let logmel = mel::log_mel(samples_16k, &cfg.logmel);
    let m = match cfg.stream {
        StreamKind::LogMel | StreamKind::Ssl | StreamKind::LogMelSsl | StreamKind::SslFrames => {
            logmel
        }
        StreamKind::Mfcc => mfcc::mfcc(&logmel, cfg.n_mfcc, cfg.mfcc_deltas),
        StreamKind::Waveform | StreamKind::Functionals => unreachable!("returned above"),
    };
    if cfg.prosody_bins() > 0 {
        functionals::with_prosody(m, samples_16k, cfg)
    } else {
        m
    }
}

/// Loads `path`, resamples to 16 kHz and computes the stream (no normalisation, no cache).
pub fn extract_file(
    path: &Path,
    cfg: &FeatureConfig,
) -> Result<FeatureMatrix, crate::audio::AudioError> {
    let x = crate::audio::load_mono_16k(path)?;
    Ok(compute(&x, cfg))
}
