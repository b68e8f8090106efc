//! The live worker thread (`ser-live`): owns the input (microphone stream or WAV file) and the
//! streaming predictor, reports frames and state over a channel, records on request.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::stream::{LiveConfig, LiveFrame, StreamingPredictor, level_dbfs};
use crate::audio::resample::StreamResampler;
use crate::train::predict::Predictor;

/// Where the audio comes from.
#[derive(Clone, Debug)]
pub enum LiveInput {
    /// A cpal input device (`None` = default).
    Microphone {
        /// cpal device id.
        device_id: Option<String>,
    },
    /// A file fed through exactly the same path.
    File {
        /// Audio file.
        path: PathBuf,
        /// Pace in real time (as a microphone would) instead of as fast as possible.
        realtime: bool,
    },
}

/// Owner → worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveControl {
    /// Start keeping the incoming 16 kHz audio.
    StartRecording,
    /// Stop keeping it; the clip arrives as [`LiveEvent::Recorded`].
    StopRecording,
    /// Runs with a text stream: the transcript the next predictions read (live audio has no
    /// transcript of its own; until one is set, the empty text).
    Transcript(String),
    /// Runs trained per speaker: a new speaker starts; forget the current one's statistics.
    NewSpeaker,
}

/// Worker → owner.
#[derive(Clone, Debug)]
pub enum LiveEvent {
    /// Input opened.
    Started {
        /// Device or file name.
        source: String,
        /// Input rate before resampling.
        input_rate_hz: u32,
        /// Class names (dimensional runs: dimension names).
        classes: Vec<String>,
        /// The model predicts dimension values (arousal, valence, …), not class probabilities.
        dimensional: bool,
        /// The models read a transcript beside the audio (see [`LiveControl::Transcript`]).
        reads_text: bool,
        /// The model gives independent per-label probabilities (multi-label), not a softmax.
        multi_label: bool,
    },
    /// Input level of the newest audio, dBFS (several per second).
    Level(f32),
    /// One prediction.
    Frame(LiveFrame),
    /// Samples dropped because the consumer fell behind (total so far).
    Overruns(u64),
    /// A recorded clip (16 kHz mono).
    Recorded(Vec<f32>),
    /// The input ended (file done, stopped, or a device error with its message).
    Ended(String),
    /// Could not start (no device, bad run, …).
    Failed(String),
}

/// Owner's side.
pub struct LiveHandle {
    /// Events.
    pub events: Receiver<LiveEvent>,
    control: Sender<LiveControl>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LiveHandle {
    /// Asks the worker to end (within one poll, ~20 ms).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Sends a control command.
    pub fn send(&self, c: LiveControl) {
        let _ = self.control.send(c);
    }

    /// Whether the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Waits for the thread.
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Session {
    sp: StreamingPredictor,
    tx: Sender<LiveEvent>,
    control: Receiver<LiveControl>,
    recording: Option<Vec<f32>>,
    waker: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Session {
    fn send(&self, e: LiveEvent) {
        let _ = self.tx.send(e);
        if let Some(w) = &self.waker {
            w();
        }
    }

    /// Feeds 16 kHz samples that arrived at `arrival`.
    fn feed(&mut self, x: &[f32], arrival: Instant) {
        while let Ok(c) = self.control.try_recv() {
            match c {
                LiveControl::StartRecording => self.recording = Some(Vec::new()),
                LiveControl::StopRecording => {
                    if let Some(clip) = self.recording.take() {
                        self.send(LiveEvent::Recorded(clip));
                    }
                }
                LiveControl::Transcript(t) => {
                    if let Err(e) = self.sp.set_transcript(&t) {
                        self.send(LiveEvent::Failed(format!("transcript: {e}")));
                    }
                }
                LiveControl::NewSpeaker => self.sp.new_speaker(),
            }
        }
        if let Some(r) = self.recording.as_mut() {
            r.extend_from_slice(x);
        }
        if !x.is_empty() {
            self.send(LiveEvent::Level(level_dbfs(x)));
        }
        for f in self.sp.push(x, arrival) {
            self.send(LiveEvent::Frame(f));
        }
    }
}

/// Starts a live session on the `ser-live` thread.
pub fn spawn_live(
    run_dir: PathBuf,
    input: LiveInput,
    cfg: LiveConfig,
    waker: Option<Arc<dyn Fn() + Send + Sync>>,
) -> std::io::Result<LiveHandle> {
    let (tx, rx) = unbounded();
    let (ctx, crx) = unbounded();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let thread = std::thread::Builder::new()
        .name("ser-live".into())
        .spawn(move || {
            let fail = |m: String| {
                let _ = tx.send(LiveEvent::Failed(m));
                if let Some(w) = &waker {
                    w();
                }
            };
            let predictor = match Predictor::load(&run_dir) {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            let transcript = cfg.transcript.clone();
            let mut sp = match StreamingPredictor::new(predictor, cfg) {
                Ok(sp) => sp,
                Err(e) => return fail(e),
            };
            if let Some(t) = transcript
                && let Err(e) = sp.set_transcript(&t)
            {
                return fail(format!("transcript: {e}"));
            }
            let mut s = Session {
                sp,
                tx: tx.clone(),
                control: crx,
                recording: None,
                waker: waker.clone(),
            };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match input {
                LiveInput::File { path, realtime } => run_file(&mut s, &path, realtime, &stop2),
                LiveInput::Microphone { device_id } => {
                    run_mic(&mut s, device_id.as_deref(), &stop2)
                }
            }));
            match result {
                Ok(Ok(reason)) => {
                    if let Some(clip) = s.recording.take() {
                        s.send(LiveEvent::Recorded(clip));
                    }
                    s.send(LiveEvent::Ended(reason));
                }
                Ok(Err(e)) => fail(e),
                Err(_) => fail("the live worker panicked".into()),
            }
        })?;
    Ok(LiveHandle {
        events: rx,
        control: ctx,
        stop,
        thread: Some(thread),
    })
}

fn run_file(
    s: &mut Session,
    path: &std::path::Path,
    realtime: bool,
    stop: &AtomicBool,
) -> Result<String, String> {
    let rate = crate::audio::read_audio_header(path)
        .map_err(|e| e.to_string())?
        .sample_rate_hz;
    let x = crate::audio::load_mono_16k(path).map_err(|e| e.to_string())?;
    s.send(LiveEvent::Started {
        source: path.display().to_string(),
        input_rate_hz: rate,
        classes: s.sp.classes().to_vec(),
        dimensional: s.sp.dimensional(),
        reads_text: s.sp.reads_text(),
        multi_label: s.sp.multi_label(),
    });
    // 20 ms chunks, as a capture callback would deliver them. In real time, every 20 ms feeds
    // all samples due by then (as the microphone path drains its ring), each stamped with the
    // moment it would have arrived, so a slow prediction shows up as latency and skipped windows.
    let chunk = 320;
    let started = Instant::now();
    let mut fed = 0;
    while fed < x.len() {
        if stop.load(Ordering::Relaxed) {
            return Ok("stopped".into());
        }
        let (until, arrival) = if realtime {
            let next = started + Duration::from_secs_f64((fed + chunk) as f64 / 16_000.0);
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let due = (started.elapsed().as_secs_f64() * 16_000.0) as usize;
            let until = due.clamp(fed + 1, x.len());
            (
                until,
                started + Duration::from_secs_f64(until as f64 / 16_000.0),
            )
        } else {
            ((fed + chunk).min(x.len()), Instant::now())
        };
        s.feed(&x[fed..until], arrival);
        fed = until;
    }
    Ok("end of file".into())
}

fn run_mic(s: &mut Session, device_id: Option<&str>, stop: &AtomicBool) -> Result<String, String> {
    let mut cap = crate::audio::capture::start_capture(device_id)?;
    s.send(LiveEvent::Started {
        source: cap.device_name.clone(),
        input_rate_hz: cap.sample_rate_hz,
        classes: s.sp.classes().to_vec(),
        dimensional: s.sp.dimensional(),
        reads_text: s.sp.reads_text(),
        multi_label: s.sp.multi_label(),
    });
    let mut rs = StreamResampler::new(cap.sample_rate_hz, crate::audio::TARGET_SAMPLE_RATE_HZ)?;
    let mut raw = Vec::new();
    let mut out = Vec::new();
    let mut last_overruns = 0;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok("stopped".into());
        }
        if let Ok(e) = cap.errors.try_recv() {
            return Ok(format!("input device error: {e}"));
        }
        std::thread::sleep(Duration::from_millis(20));
        raw.clear();
        cap.consumer.drain_into(&mut raw);
        let arrival = Instant::now();
        out.clear();
        rs.push(&raw, &mut out)?;
        s.feed(&out, arrival);
        let o = cap.consumer.overruns();
        if o != last_overruns {
            last_overruns = o;
            s.send(LiveEvent::Overruns(o));
        }
    }
}
