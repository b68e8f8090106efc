//! WAV reading (any integer width, float, any channel count) and writing, via hound.

use std::path::{Path, PathBuf};

/// A per-file audio error that names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be opened or parsed as WAV.
    #[error("{path}: cannot read WAV: {reason}")]
    Read {
        /// Offending file.
        path: PathBuf,
        /// Decoder message.
        reason: String,
    },
    /// The file parsed but holds no samples.
    #[error("{path}: WAV holds no audio")]
    Empty {
        /// Offending file.
        path: PathBuf,
    },
    /// Writing failed.
    #[error("{path}: cannot write WAV: {reason}")]
    Write {
        /// Offending file.
        path: PathBuf,
        /// Encoder message.
        reason: String,
    },
}

/// What a WAV header says, read without decoding samples.
#[derive(Clone, Debug, PartialEq)]
pub struct WavHeader {
    /// Sample rate in Hz.
    pub sample_rate_hz: u32,
    /// Channel count.
    pub channels: u16,
    /// Bits per sample.
    pub bits_per_sample: u16,
    /// Number of audio frames (one sample per channel).
    pub audio_frames: u64,
}

impl WavHeader {
    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        if self.sample_rate_hz == 0 {
            0.0
        } else {
            self.audio_frames as f64 / self.sample_rate_hz as f64
        }
    }
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> AudioError {
    AudioError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Reads only the header of a WAV file.
pub fn read_wav_header(path: &Path) -> Result<WavHeader, AudioError> {
    let reader = hound::WavReader::open(path).map_err(|e| read_err(path, e))?;
    let spec = reader.spec();
    Ok(WavHeader {
        sample_rate_hz: spec.sample_rate,
        channels: spec.channels,
        bits_per_sample: spec.bits_per_sample,
        audio_frames: reader.duration() as u64,
    })
}

/// Decodes a WAV file to mono f32 in [-1, 1] at its own rate. Returns (samples, rate_hz).
///
/// Integer PCM of 8/16/24/32 bits is scaled by 2^(bits−1); 32-bit float is taken as is;
/// channels are averaged.
pub fn load_mono(path: &Path) -> Result<(Vec<f32>, u32), AudioError> {
    let mut reader = hound::WavReader::open(path).map_err(|e| read_err(path, e))?;
    let spec = reader.spec();
    let channels = spec.channels.max(1) as usize;
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| read_err(path, e))?,
        hound::SampleFormat::Int => {
            if spec.bits_per_sample == 0 || spec.bits_per_sample > 32 {
                return Err(read_err(
                    path,
                    format!("unsupported bit depth {}", spec.bits_per_sample),
                ));
            }
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| read_err(path, e))?
        }
    };
    if interleaved.len() < channels {
        return Err(AudioError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mono = if channels == 1 {
        interleaved
    } else {
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() / channels as f32)
            .collect()
    };
    Ok((mono, spec.sample_rate))
}

/// Writes mono 16-bit PCM (values clipped to [-1, 1]).
pub fn write_wav_i16(path: &Path, samples: &[f32], sample_rate_hz: u32) -> Result<(), AudioError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sample_rate_hz,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    write_with(path, spec, |w| {
        for &s in samples {
            w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)?;
        }
        Ok(())
    })
}

/// Writes mono 32-bit float PCM.
pub fn write_wav_f32(path: &Path, samples: &[f32], sample_rate_hz: u32) -> Result<(), AudioError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sample_rate_hz,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    write_with(path, spec, |w| {
        for &s in samples {
            w.write_sample(s)?;
        }
        Ok(())
    })
}

/// Writes to `path.tmp` then renames, so a crash never leaves a half-written WAV under the real name.
fn write_with(
    path: &Path,
    spec: hound::WavSpec,
    body: impl FnOnce(&mut hound::WavWriter<std::io::BufWriter<std::fs::File>>) -> hound::Result<()>,
) -> Result<(), AudioError> {
    let werr = |e: &dyn std::fmt::Display| AudioError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let tmp = path.with_extension("wav.tmp");
    let mut w = hound::WavWriter::create(&tmp, spec).map_err(|e| werr(&e))?;
    body(&mut w).map_err(|e| werr(&e))?;
    w.finalize().map_err(|e| werr(&e))?;
    std::fs::rename(&tmp, path).map_err(|e| werr(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::load_mono_16k;

    fn write_raw(
        path: &Path,
        bits: u16,
        format: hound::SampleFormat,
        channels: u16,
        frames: &[[f32; 2]],
    ) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: 16_000,
            bits_per_sample: bits,
            sample_format: format,
        };
        let mut w = hound::WavWriter::create(path, spec).expect("create");
        for f in frames {
            for &v in f.iter().take(channels as usize) {
                match format {
                    hound::SampleFormat::Float => w.write_sample(v).expect("w"),
                    hound::SampleFormat::Int => {
                        let max = (1i64 << (bits - 1)) as f32;
                        let q = (v * max).round().clamp(-max, max - 1.0) as i32;
                        if bits == 8 {
                            w.write_sample(q as i8).expect("w")
                        } else if bits == 16 {
                            w.write_sample(q as i16).expect("w")
                        } else {
                            w.write_sample(q).expect("w")
                        }
                    }
                }
            }
        }
        w.finalize().expect("finalize");
    }

    /// Every supported format decodes to the same mono values within its quantisation step.
    #[test]
    fn decodes_all_bit_depths_and_mixes_channels() {
        let dir = tempfile::tempdir().expect("tmp");
        let frames = [[0.5f32, -0.25], [-0.5, 0.25], [0.125, 0.125]];
        let expected_mono = [0.125f32, -0.125, 0.125];
        for (bits, fmt) in [
            (8u16, hound::SampleFormat::Int),
            (16, hound::SampleFormat::Int),
            (24, hound::SampleFormat::Int),
            (32, hound::SampleFormat::Int),
            (32, hound::SampleFormat::Float),
        ] {
            let p = dir.path().join(format!("t{bits}{fmt:?}.wav"));
            write_raw(&p, bits, fmt, 2, &frames);
            let (mono, rate) = load_mono(&p).expect("load");
            assert_eq!(rate, 16_000);
            let step = 1.0 / (1u64 << (bits - 1)) as f32;
            assert_eq!(
                mono.len(),
                expected_mono.len(),
                "{bits}-bit {fmt:?}: frames"
            );
            for (a, b) in mono.iter().zip(expected_mono) {
                assert!(
                    (a - b).abs() <= step + 1e-7,
                    "{bits}-bit {fmt:?}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn corrupt_file_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("broken.wav");
        std::fs::write(&p, b"RIFF\x10\x00\x00\x00WAVEjunk").expect("write");
        let err = load_mono_16k(&p).expect_err("must fail");
        assert!(err.to_string().contains("broken.wav"), "{err}");
    }

    #[test]
    fn round_trip_i16_and_header() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("a.wav");
        let x: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
        write_wav_i16(&p, &x, 16_000).expect("write");
        let h = read_wav_header(&p).expect("header");
        assert_eq!(
            h,
            WavHeader {
                sample_rate_hz: 16_000,
                channels: 1,
                bits_per_sample: 16,
                audio_frames: 8000
            }
        );
        assert!((h.duration_secs() - 0.5).abs() < 1e-12);
        let y = load_mono_16k(&p).expect("load");
        let err = crate::eval::compare::max_abs_diff(&x, &y);
        assert!(err <= 1.0 / 32767.0 + 1e-6);
    }
}
