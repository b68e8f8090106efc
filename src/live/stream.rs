//! The streaming predictor: windowing, gating, inference, smoothing, latency.

use std::collections::VecDeque;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::eval::argmax;
use crate::train::predict::Predictor;

/// Windowing and smoothing settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveConfig {
    /// Window length in seconds.
    pub window_secs: f32,
    /// Hop between predictions in seconds.
    pub hop_secs: f32,
    /// Moving average over this many (non-silent) windows.
    pub smoothing_windows: usize,
    /// Windows whose RMS level is below this are reported as silence, not classified.
    pub gate_dbfs: f32,
    /// Runs with a text stream: the transcript windows are predicted with from the start
    /// (changed later with [`crate::live::LiveControl::Transcript`]; absent: the empty text).
    #[serde(default)]
    pub transcript: Option<String>,
    /// Runs trained with `normalisation: per_speaker`: seconds of (non-silent) speech gathered
    /// into the speaker's own statistics before they replace the training set's
    /// ([`crate::live::LiveControl::NewSpeaker`] starts over).
    #[serde(default = "default_enrol_secs")]
    pub enrol_secs: f32,
}

fn default_enrol_secs() -> f32 {
    5.0
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            window_secs: 2.0,
            hop_secs: 0.5,
            smoothing_windows: 4,
            gate_dbfs: -45.0,
            transcript: None,
            enrol_secs: default_enrol_secs(),
        }
    }
}

impl LiveConfig {
    /// Checks the settings: window and hop are finite and at least 10 ms (one log-mel hop),
    /// the hop is not longer than the window, smoothing covers at least one window and the
    /// gate is a finite level. Each problem names the setting and its value.
    pub fn validate(&self) -> Result<(), String> {
        let secs = |name: &str, v: f32| {
            if v.is_finite() && v >= 0.01 {
                Ok(())
            } else {
                Err(format!("{name} must be at least 0.01 s (got {v})"))
            }
        };
        secs("window length (--window-secs)", self.window_secs)?;
        secs("hop (--hop-secs)", self.hop_secs)?;
        if self.hop_secs > self.window_secs {
            return Err(format!(
                "hop (--hop-secs {}) is longer than the window (--window-secs {}): audio between windows would never be classified",
                self.hop_secs, self.window_secs
            ));
        }
        if self.smoothing_windows == 0 {
            return Err("smoothing (--smoothing) must cover at least 1 window (got 0)".into());
        }
        if !(self.enrol_secs.is_finite() && self.enrol_secs >= 0.0) {
            return Err(format!(
                "speaker enrolment (--enrol-secs) must be 0 s or more (got {})",
                self.enrol_secs
            ));
        }
        if !self.gate_dbfs.is_finite() {
            return Err(format!(
                "silence gate (--gate-dbfs) must be a level in dBFS (got {})",
                self.gate_dbfs
            ));
        }
        Ok(())
    }
}

/// One prediction (one hop).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LiveFrame {
    /// Stream time at the window's end, seconds.
    pub end_secs: f64,
    /// RMS level of the window, dBFS.
    pub level_dbfs: f32,
    /// Below the gate: no classification.
    pub silent: bool,
    /// This window's probabilities (`None` when silent).
    pub raw: Option<Vec<f32>>,
    /// Moving average of the last non-silent windows.
    pub smoothed: Vec<f32>,
    /// Top class of the smoothed posteriors (`None` while silent).
    pub top: Option<usize>,
    /// Its probability.
    pub confidence: f32,
    /// From the arrival of the window's last sample to the finished prediction, milliseconds
    /// (waiting behind a slow prediction included).
    pub latency_ms: f64,
    /// Windows dropped unclassified just before this one because the input ran ahead of
    /// inference (the stream always classifies its newest window).
    pub skipped_before: usize,
    /// Runs trained per speaker: seconds of speech in the current speaker's statistics, and
    /// whether they are in use (enough heard) or the training set's still stand in.
    pub speaker: Option<SpeakerState>,
}

/// The live speaker's statistics (runs trained with `normalisation: per_speaker`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SpeakerState {
    /// Seconds of non-silent audio gathered.
    pub secs: f32,
    /// Whether predictions use them (at least `enrol_secs` gathered).
    pub in_use: bool,
}

/// Sliding-window classifier over a 16 kHz stream.
pub struct StreamingPredictor {
    predictor: Predictor,
    cfg: LiveConfig,
    window: usize,
    hop: usize,
    buffer: VecDeque<f32>,
    received: u64,
    next_end: u64,
    history: VecDeque<Vec<f32>>,
    skipped_total: usize,
    skipped_pending: usize,
    /// Per-speaker runs: the stream frames of the current speaker's non-silent audio so far.
    speaker: Option<crate::features::norm::FrameStatistics>,
    /// Samples already counted into `speaker` (each sample's frames enter once).
    speaker_until: u64,
    /// Samples of audio whose frames are in `speaker`.
    speaker_samples: u64,
}

/// RMS level in dBFS.
pub fn level_dbfs(x: &[f32]) -> f32 {
    let rms = (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt();
    20.0 * rms.max(1e-10).log10()
}

impl StreamingPredictor {
    /// Wraps a loaded run; an error when `cfg` is invalid (see [`LiveConfig::validate`]).
    pub fn new(predictor: Predictor, cfg: LiveConfig) -> Result<Self, String> {
        cfg.validate()?;
        let sr = crate::audio::TARGET_SAMPLE_RATE_HZ as f32;
        let window = (cfg.window_secs * sr).round() as usize;
        let hop = (cfg.hop_secs * sr).round() as usize;
        Ok(Self {
            cfg,
            window,
            hop,
            buffer: VecDeque::with_capacity(window),
            received: 0,
            next_end: hop as u64,
            history: VecDeque::new(),
            skipped_total: 0,
            skipped_pending: 0,
            speaker: predictor.per_speaker().then(Default::default),
            speaker_until: 0,
            speaker_samples: 0,
            predictor,
        })
    }

    /// Per-speaker runs: forgets the current speaker's statistics (the training set's stand in
    /// again until `enrol_secs` of the next speaker are heard).
    pub fn new_speaker(&mut self) {
        if let Some(s) = self.speaker.as_mut() {
            *s = Default::default();
            self.speaker_until = self.received;
            self.speaker_samples = 0;
            self.predictor.set_speaker(None);
        }
    }

    /// The speaker statistics' state (`None` for runs not trained per speaker).
    pub fn speaker_state(&self) -> Option<SpeakerState> {
        let rate = crate::audio::TARGET_SAMPLE_RATE_HZ as f64;
        self.speaker.as_ref().map(|_| SpeakerState {
            secs: (self.speaker_samples as f64 / rate) as f32,
            in_use: self.predictor.has_speaker(),
        })
    }

    /// Adds the frames of the window's audio not counted yet to the speaker's statistics and
    /// switches to them once `enrol_secs` are gathered.
    fn enrol(&mut self, m: &crate::features::FeatureMatrix, window_samples: usize) {
        let Some(stats) = self.speaker.as_mut() else {
            return;
        };
        let start = self.received - window_samples as u64;
        let new_samples = self.received - self.speaker_until.max(start);
        self.speaker_until = self.received;
        let new_frames = ((new_samples as f64 / window_samples.max(1) as f64) * m.n_frames as f64)
            .round() as usize;
        stats.add(m, m.n_frames - new_frames.min(m.n_frames));
        self.speaker_samples += new_samples;
        let secs = self.speaker_samples as f64 / crate::audio::TARGET_SAMPLE_RATE_HZ as f64;
        if secs >= self.cfg.enrol_secs as f64 && stats.frames() > 1 {
            self.predictor.set_speaker(Some(stats.standardiser()));
        }
    }

    /// Class names.
    pub fn classes(&self) -> &[String] {
        &self.predictor.classes
    }

    /// Whether the run predicts dimension values (smoothed like probabilities: the mean of the
    /// last windows).
    pub fn dimensional(&self) -> bool {
        self.predictor.dimensional.is_some()
    }

    /// Whether the run predicts independent per-label probabilities.
    pub fn multi_label(&self) -> bool {
        self.predictor.multi_label.is_some()
    }

    /// Whether the run's models read a transcript beside the audio.
    pub fn reads_text(&self) -> bool {
        self.predictor.reads_text()
    }

    /// The transcript the next windows are predicted with (runs with a text stream).
    pub fn set_transcript(&mut self, text: &str) -> Result<(), String> {
        self.predictor.set_transcript(text)
    }

    /// Adds samples whose last one arrived at `arrival` (the others one sample period apart
    /// before it); returns a frame for each completed hop that is classified. When the samples
    /// complete more than one hop — the input ran ahead of inference — only the newest window is
    /// classified and the others are counted in its `skipped_before`.
    pub fn push(&mut self, samples_16k: &[f32], arrival: Instant) -> Vec<LiveFrame> {
        let mut frames = Vec::new();
        let mut rest = samples_16k;
        while !rest.is_empty() {
            let until_hop = (self.next_end - self.received) as usize;
            let take = until_hop.min(rest.len());
            self.buffer.extend(&rest[..take]);
            while self.buffer.len() > self.window {
                self.buffer.pop_front();
            }
            self.received += take as u64;
            rest = &rest[take..];
            if self.received == self.next_end {
                self.next_end += self.hop as u64;
                if rest.len() as u64 >= self.next_end - self.received {
                    // A newer window completes in this same batch.
                    self.skipped_total += 1;
                    self.skipped_pending += 1;
                    continue;
                }
                let behind = std::time::Duration::from_secs_f64(
                    rest.len() as f64 / crate::audio::TARGET_SAMPLE_RATE_HZ as f64,
                );
                let window_end = arrival.checked_sub(behind).unwrap_or(arrival);
                frames.push(self.predict_window(window_end));
            }
        }
        frames
    }

    /// Windows skipped so far (see [`LiveFrame::skipped_before`]).
    pub fn skipped(&self) -> usize {
        self.skipped_total
    }

    fn predict_window(&mut self, arrival: Instant) -> LiveFrame {
        let skipped_before = std::mem::take(&mut self.skipped_pending);
        let (a, b) = self.buffer.as_slices();
        let mut w = Vec::with_capacity(a.len() + b.len());
        w.extend_from_slice(a);
        w.extend_from_slice(b);
        let level = level_dbfs(&w);
        let end_secs = self.received as f64 / crate::audio::TARGET_SAMPLE_RATE_HZ as f64;
        let n = self.predictor.classes.len();
        if level < self.cfg.gate_dbfs {
            let smoothed = self.smoothed(n);
            return LiveFrame {
                end_secs,
                level_dbfs: level,
                silent: true,
                raw: None,
                smoothed,
                top: None,
                confidence: 0.0,
                latency_ms: arrival.elapsed().as_secs_f64() * 1e3,
                skipped_before,
                speaker: self.speaker_state(),
            };
        }
        let m = self.predictor.stream(&w);
        self.enrol(&m, w.len());
        let raw = self.predictor.predict_stream(&m);
        self.history.push_back(raw.clone());
        while self.history.len() > self.cfg.smoothing_windows.max(1) {
            self.history.pop_front();
        }
        let smoothed = self.smoothed(n);
        let top = argmax(&smoothed);
        LiveFrame {
            end_secs,
            level_dbfs: level,
            silent: false,
            confidence: smoothed.get(top).copied().unwrap_or(0.0),
            top: Some(top),
            raw: Some(raw),
            smoothed,
            latency_ms: arrival.elapsed().as_secs_f64() * 1e3,
            skipped_before,
            speaker: self.speaker_state(),
        }
    }

    fn smoothed(&self, n: usize) -> Vec<f32> {
        let mut s = vec![0.0f32; n];
        for h in &self.history {
            for (a, v) in s.iter_mut().zip(h) {
                *a += v / self.history.len() as f32;
            }
        }
        s
    }
}
