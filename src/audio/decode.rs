//! FLAC, MP3 and OGG/Vorbis through symphonia (WAV stays on hound, see `wav.rs`).

use std::fs::File;
use std::path::Path;

use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::wav::{AudioError, WavHeader};

fn read_err(path: &Path, e: impl std::fmt::Display) -> AudioError {
    AudioError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn open(path: &Path) -> Result<Box<dyn FormatReader>, AudioError> {
    let file = File::open(path).map_err(|e| read_err(path, e))?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| read_err(path, format!("unsupported or corrupt audio: {e}")))
}

/// The default audio track: (track id, stated length in audio frames, codec parameters).
fn audio_track(
    format: &dyn FormatReader,
    path: &Path,
) -> Result<(u32, Option<u64>, AudioCodecParameters), AudioError> {
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| read_err(path, "no audio track"))?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| read_err(path, "no audio parameters"))?
        .clone();
    Ok((track.id, track.num_frames, params))
}

/// Sample rate, channels and length from the container, without decoding (when the container
/// states its length; otherwise the file is decoded once to count).
pub fn read_header(path: &Path) -> Result<WavHeader, AudioError> {
    let format = open(path)?;
    let (_, num_frames, params) = audio_track(format.as_ref(), path)?;
    let sample_rate_hz = params
        .sample_rate
        .ok_or_else(|| read_err(path, "no sample rate"))?;
    let channels = params.channels.as_ref().map_or(1, |c| c.count()) as u16;
    let bits = params.bits_per_sample.unwrap_or(0) as u16;
    let audio_frames = match num_frames {
        Some(n) => n,
        None => (load_mono(path)?.0.len()) as u64,
    };
    Ok(WavHeader {
        sample_rate_hz,
        channels,
        bits_per_sample: bits,
        audio_frames,
    })
}

/// Decodes to mono f32 at the file's rate. Returns (samples, rate_hz).
pub fn load_mono(path: &Path) -> Result<(Vec<f32>, u32), AudioError> {
    let mut format = open(path)?;
    let (track_id, _, params) = audio_track(format.as_ref(), path)?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| read_err(path, format!("no decoder: {e}")))?;
    let mut rate = params.sample_rate.unwrap_or(0);
    let mut mono = Vec::new();
    let mut interleaved: Vec<f32> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(read_err(path, e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                let ch = buf.spec().channels().count().max(1);
                rate = buf.spec().rate();
                interleaved.resize(buf.samples_interleaved(), 0.0);
                buf.copy_to_slice_interleaved(&mut interleaved);
                mono.extend(
                    interleaved
                        .chunks_exact(ch)
                        .map(|f| f.iter().sum::<f32>() / ch as f32),
                );
            }
            // A damaged packet: skip it, as players do.
            Err(SymError::DecodeError(_)) => {}
            Err(e) => return Err(read_err(path, e)),
        }
    }
    if mono.is_empty() {
        return Err(AudioError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok((mono, rate))
}
