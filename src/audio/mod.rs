//! Audio decoding, resampling and writing. Pure Rust, no burn, no egui.
//!
//! Vocabulary (after rubato): a *sample* is one value of one channel; an *audio frame* is one
//! sample per channel. Everything downstream of [`load_mono_16k`] is mono at
//! [`TARGET_SAMPLE_RATE_HZ`].

pub mod augment;
pub mod capture;
pub mod decode;
pub mod playback;
pub mod resample;
pub mod ring;
pub mod wav;

pub use resample::resample_mono;
pub use wav::{AudioError, WavHeader, read_wav_header, write_wav_f32, write_wav_i16};

use std::path::Path;

/// True when `path` is a WAV file (decoded with hound); other formats go through symphonia.
fn is_wav(path: &Path) -> bool {
    path.extension()
        .is_none_or(|e| e.eq_ignore_ascii_case("wav"))
}

/// Header of any supported audio file (WAV, FLAC, MP3, OGG/Vorbis).
pub fn read_audio_header(path: &Path) -> Result<WavHeader, AudioError> {
    if is_wav(path) {
        read_wav_header(path)
    } else {
        decode::read_header(path)
    }
}

/// Decodes any supported audio file to mono f32 at its own rate: (samples, rate_hz).
pub fn load_any_mono(path: &Path) -> Result<(Vec<f32>, u32), AudioError> {
    if is_wav(path) {
        wav::load_mono(path)
    } else {
        decode::load_mono(path)
    }
}

/// Decodes an audio file (WAV, FLAC, MP3, OGG) to mono f32 at 16 kHz (band-limited resampling
/// when needed).
pub fn load_mono_16k(path: &Path) -> Result<Vec<f32>, AudioError> {
    let (mono, rate) = load_any_mono(path)?;
    resample_mono(&mono, rate, TARGET_SAMPLE_RATE_HZ).map_err(|reason| AudioError::Read {
        path: path.to_path_buf(),
        reason,
    })
}

/// Sample rate every feature extractor and model works at.
pub const TARGET_SAMPLE_RATE_HZ: u32 = 16_000;
