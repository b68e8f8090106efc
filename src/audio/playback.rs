//! Playing a clip through the default output device (cpal) on a named helper thread, so the UI
//! never waits on the audio device. No output device: an error message, nothing else changes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample};
use crossbeam_channel::{Receiver, bounded};

/// A clip being played; `stop()` ends it early. Finished or failed state arrives on `done`.
pub struct Playback {
    stop: Arc<AtomicBool>,
    /// `Ok(())` when the clip played to the end (or was stopped), `Err(message)` otherwise.
    pub done: Receiver<Result<(), String>>,
}

impl Playback {
    /// Stops playing.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn output_callback<T>(
    clip: Arc<Vec<f32>>,
    pos: Arc<AtomicUsize>,
    channels: usize,
) -> impl FnMut(&mut [T], &cpal::OutputCallbackInfo) + Send + 'static
where
    T: Sample + FromSample<f32> + Send + 'static,
{
    move |out: &mut [T], _| {
        let mut p = pos.load(Ordering::Relaxed);
        for frame in out.chunks_mut(channels.max(1)) {
            let v = clip.get(p).copied().unwrap_or(0.0);
            p += 1;
            for s in frame {
                *s = T::from_sample(v);
            }
        }
        pos.store(p, Ordering::Relaxed);
    }
}

fn build<T: SizedSample + FromSample<f32> + Send + 'static>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    clip: Arc<Vec<f32>>,
    pos: Arc<AtomicUsize>,
) -> Result<cpal::Stream, cpal::Error> {
    let ch = config.channels as usize;
    device.build_output_stream(config, output_callback::<T>(clip, pos, ch), |_| {}, None)
}

/// Decodes `path` on the playback thread and plays it; returns at once.
pub fn play_file(path: std::path::PathBuf) -> Playback {
    play_with(move || super::load_mono_16k(&path).map_err(|e| e.to_string()))
}

/// Starts playing 16 kHz mono `samples`; returns at once.
pub fn play(samples_16k: Vec<f32>) -> Playback {
    play_with(move || Ok(samples_16k))
}

fn play_with(source: impl FnOnce() -> Result<Vec<f32>, String> + Send + 'static) -> Playback {
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = bounded(1);
    let stop2 = stop.clone();
    let spawned = std::thread::Builder::new()
        .name("ser-playback".into())
        .spawn(move || {
            let result = (|| -> Result<(), String> {
                let samples_16k = source()?;
                let host = cpal::default_host();
                let device = host
                    .default_output_device()
                    .ok_or("no audio output device")?;
                let config = device
                    .default_output_config()
                    .map_err(|e| format!("no usable output configuration ({e})"))?;
                let rate = config.sample_rate();
                let clip = Arc::new(super::resample_mono(
                    &samples_16k,
                    super::TARGET_SAMPLE_RATE_HZ,
                    rate,
                )?);
                let pos = Arc::new(AtomicUsize::new(0));
                let sc: cpal::StreamConfig = config.into();
                let stream = match config.sample_format() {
                    SampleFormat::F32 => build::<f32>(&device, sc, clip.clone(), pos.clone()),
                    SampleFormat::I16 => build::<i16>(&device, sc, clip.clone(), pos.clone()),
                    SampleFormat::I32 => build::<i32>(&device, sc, clip.clone(), pos.clone()),
                    SampleFormat::U16 => build::<u16>(&device, sc, clip.clone(), pos.clone()),
                    other => return Err(format!("unsupported output format {other:?}")),
                }
                .map_err(|e| format!("cannot open the output stream ({e})"))?;
                stream
                    .play()
                    .map_err(|e| format!("cannot start playback ({e})"))?;
                while pos.load(Ordering::Relaxed) < clip.len() && !stop2.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(())
            })();
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        let (tx, rx2) = bounded(1);
        let _ = tx.send(Err(format!("cannot start the playback thread: {e}")));
        return Playback { stop, done: rx2 };
    }
    Playback { stop, done: rx }
}
