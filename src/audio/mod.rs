//! Audio decoding, resampling and writing. Pure Rust, no burn, no egui.
//!
//! Vocabulary (after rubato): a *sample* is one value of one channel; an *audio frame* is one
//! sample per channel. Everything downstream of [`load_mono_16k`] is mono at
//! [`TARGET_SAMPLE_RATE_HZ`].

pub mod resample;
pub mod wav;

pub use resample::resample_mono;
pub use wav::{
    AudioError, WavHeader, load_mono_16k, read_wav_header, write_wav_f32, write_wav_i16,
};

/// Sample rate every feature extractor and model works at.
pub const TARGET_SAMPLE_RATE_HZ: u32 = 16_000;
