//! Microphone capture with cpal. The data callback only mixes to mono and copies into the
//! lock-free ring (fixed stack scratch, no allocation, lock or print); stream errors go to a
//! channel from the error callback.

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat};
use crossbeam_channel::{Receiver, unbounded};

use super::ring::{SampleConsumer, SampleProducer, sample_ring};

/// An input device as shown in the chooser.
#[derive(Clone, Debug, PartialEq)]
pub struct InputDeviceInfo {
    /// cpal device id (stable across runs), used to open it.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Whether it is the host's default input.
    pub is_default: bool,
}

/// Input devices of the default host (empty list when the host has none).
pub fn list_input_devices() -> Result<Vec<InputDeviceInfo>, String> {
    let host = cpal::default_host();
    let default_id = host
        .default_input_device()
        .and_then(|d| d.id().ok())
        .map(|i| i.to_string());
    let devices = host
        .input_devices()
        .map_err(|e| format!("cannot list input devices: {e}"))?;
    Ok(devices
        .filter_map(|d| {
            let id = d.id().ok()?.to_string();
            let name = d
                .description()
                .map(|x| x.name().to_string())
                .unwrap_or_else(|_| id.clone());
            Some(InputDeviceInfo {
                is_default: Some(&id) == default_id.as_ref(),
                id,
                name,
            })
        })
        .collect())
}

/// A running capture; dropping it stops the stream.
pub struct Capture {
    _stream: cpal::Stream,
    /// Device name.
    pub device_name: String,
    /// Device rate.
    pub sample_rate_hz: u32,
    /// Device channel count (mixed to mono in the callback).
    pub channels: u16,
    /// Mono samples at the device rate.
    pub consumer: SampleConsumer,
    /// Stream errors (device unplugged, …).
    pub errors: Receiver<String>,
}

/// Mixes interleaved `data` to mono in fixed stack blocks and pushes it into the ring. This is
/// the whole body of the real-time callback: no allocation, lock or print.
fn push_mono<T>(producer: &mut SampleProducer, data: &[T], channels: usize)
where
    T: Sample,
    f32: FromSample<T>,
{
    let channels = channels.max(1);
    let mut scratch = [0.0f32; 512];
    for block in data.chunks(512 * channels) {
        let frames = block.len() / channels;
        for (f, out) in scratch.iter_mut().enumerate().take(frames) {
            let mut acc = 0.0f32;
            for c in 0..channels {
                acc += f32::from_sample(block[f * channels + c]);
            }
            *out = acc / channels as f32;
        }
        producer.push_slice(&scratch[..frames]);
    }
}

fn mono_callback<T>(
    mut producer: SampleProducer,
    channels: usize,
) -> impl FnMut(&[T], &cpal::InputCallbackInfo) + Send + 'static
where
    T: Sample + Send + 'static,
    f32: FromSample<T>,
{
    move |data: &[T], _| push_mono(&mut producer, data, channels)
}

/// Opens `device_id` (or the default input) at its own default rate and format and starts it.
/// Any failure — no device, no usable configuration, the stream refusing to start — is an error
/// message, never a panic: the caller shows it and offers a WAV file instead.
pub fn start_capture(device_id: Option<&str>) -> Result<Capture, String> {
    let host = cpal::default_host();
    let device = match device_id {
        Some(id) => {
            let parsed = id
                .parse()
                .map_err(|e| format!("bad device id '{id}': {e}"))?;
            host.device_by_id(&parsed)
                .ok_or_else(|| format!("no input device with id '{id}'"))?
        }
        None => host
            .default_input_device()
            .ok_or("no input device on this machine")?,
    };
    let device_name = device
        .description()
        .map(|d| d.name().to_string())
        .unwrap_or_else(|_| "input device".into());
    let config = device
        .default_input_config()
        .map_err(|e| format!("{device_name}: no usable input configuration ({e})"))?;
    let sample_rate_hz = config.sample_rate();
    let channels = config.channels();
    // Ten seconds of headroom: the consumer drains every few milliseconds.
    let (producer, consumer) = sample_ring(sample_rate_hz as usize * 10);
    let (etx, erx) = unbounded();
    let err_fn = move |e: cpal::Error| {
        let _ = etx.send(e.to_string());
    };
    let ch = channels as usize;
    let stream_config: cpal::StreamConfig = config.into();
    let stream = match config.sample_format() {
        SampleFormat::F32 => device.build_input_stream(
            stream_config,
            mono_callback::<f32>(producer, ch),
            err_fn,
            None,
        ),
        SampleFormat::I16 => device.build_input_stream(
            stream_config,
            mono_callback::<i16>(producer, ch),
            err_fn,
            None,
        ),
        SampleFormat::I32 => device.build_input_stream(
            stream_config,
            mono_callback::<i32>(producer, ch),
            err_fn,
            None,
        ),
        SampleFormat::U16 => device.build_input_stream(
            stream_config,
            mono_callback::<u16>(producer, ch),
            err_fn,
            None,
        ),
        SampleFormat::I8 => device.build_input_stream(
            stream_config,
            mono_callback::<i8>(producer, ch),
            err_fn,
            None,
        ),
        SampleFormat::U8 => device.build_input_stream(
            stream_config,
            mono_callback::<u8>(producer, ch),
            err_fn,
            None,
        ),
        other => {
            return Err(format!(
                "{device_name}: unsupported sample format {other:?}"
            ));
        }
    }
    .map_err(|e| format!("{device_name}: cannot open the input stream ({e})"))?;
    stream
        .play()
        .map_err(|e| format!("{device_name}: cannot start the input stream ({e})"))?;
    Ok(Capture {
        _stream: stream,
        device_name,
        sample_rate_hz,
        channels,
        consumer,
        errors: erx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asking for a device that does not exist is an error with a message, on every machine.
    #[test]
    fn unknown_device_is_a_clear_error() {
        match start_capture(Some("alsa:no-such-device-xyz")) {
            Ok(_) => panic!("opened a device that does not exist"),
            Err(e) => assert!(
                e.contains("no-such-device-xyz") || e.contains("device"),
                "{e}"
            ),
        }
    }

    /// Interleaved stereo i16 is mixed to mono f32; what does not fit is counted as overrun.
    #[test]
    fn callback_body_mixes_to_mono_and_counts_overruns() {
        let (mut p, mut c) = sample_ring(4);
        let data: Vec<i16> = vec![16384, 0, -16384, 0, 8192, 8192, 0, 0, 1, 1];
        push_mono(&mut p, &data, 2);
        let mut out = Vec::new();
        c.drain_into(&mut out);
        assert_eq!(out, vec![0.25, -0.25, 0.25, 0.0]);
        assert_eq!(c.overruns(), 1);
    }
}
