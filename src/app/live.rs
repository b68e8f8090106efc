//! Live panel: microphone (or a WAV file) → sliding-window predictions with a level meter, raw and
//! smoothed probability bars, a timeline of the top class, latency; record clips into a user
//! corpus. Owns the live worker handle; all device work happens on worker threads.

use std::path::PathBuf;

use eframe::egui;
use egui_plot::{Legend, Plot, PlotPoints, Points};

use super::AppCommand;
use crate::audio::capture::InputDeviceInfo;
use crate::audio::playback::Playback;
use crate::corpus::Emotion;
use crate::live::{
    LiveConfig, LiveControl, LiveEvent, LiveFrame, LiveHandle, LiveInput, spawn_live,
};

/// State of the Live panel.
pub struct LivePanel {
    /// Run folder whose models predict.
    pub run_dir: String,
    /// Input devices (`None` until listed).
    pub devices: Option<Result<Vec<InputDeviceInfo>, String>>,
    /// Chosen device id (`None` = default).
    pub device_id: Option<String>,
    /// WAV file used instead of the microphone.
    pub wav_path: String,
    /// Windowing settings.
    pub cfg: LiveConfig,
    handle: Option<LiveHandle>,
    /// Input in use.
    pub source: String,
    /// Class names of the running model (dimensional runs: dimension names).
    pub classes: Vec<String>,
    /// The running model predicts dimension values: the valence–arousal view is shown.
    pub dimensional: bool,
    /// The running model reads a transcript beside the audio.
    pub reads_text: bool,
    /// The running model gives independent per-label probabilities (multi-label).
    pub multi_label: bool,
    /// The transcript typed for it.
    pub transcript: String,
    /// Newest input level, dBFS.
    pub level_dbfs: f32,
    /// All frames of this session.
    pub frames: Vec<LiveFrame>,
    /// Samples dropped by the capture ring.
    pub overruns: u64,
    /// Message shown once (no device, device error, end of file).
    pub message: Option<String>,
    /// Recording in progress.
    pub recording: bool,
    /// Last recorded clip (16 kHz).
    pub clip: Option<Vec<f32>>,
    /// Label for saving the clip.
    pub clip_label: Emotion,
    /// User corpus folder for recordings.
    pub corpus_dir: String,
    playback: Option<Playback>,
}

impl LivePanel {
    /// Panel storing recordings in `recordings` by default.
    pub fn new(recordings: &std::path::Path) -> Self {
        Self {
            run_dir: String::new(),
            devices: None,
            device_id: None,
            wav_path: String::new(),
            cfg: LiveConfig::default(),
            handle: None,
            source: String::new(),
            classes: Vec::new(),
            dimensional: false,
            reads_text: false,
            multi_label: false,
            transcript: String::new(),
            level_dbfs: -120.0,
            frames: Vec::new(),
            overruns: 0,
            message: None,
            recording: false,
            clip: None,
            clip_label: Emotion::Neutral,
            corpus_dir: recordings.display().to_string(),
            playback: None,
        }
    }

    /// Whether a session runs.
    pub fn running(&self) -> bool {
        self.handle.is_some()
    }

    /// Starts a session from the microphone or the WAV file.
    pub fn start(&mut self, use_file: bool, ctx: &egui::Context) {
        self.stop();
        if self.run_dir.trim().is_empty() {
            self.message =
                Some("choose a trained run folder first (train one in the Training panel)".into());
            return;
        }
        let input = if use_file {
            LiveInput::File {
                path: PathBuf::from(self.wav_path.trim()),
                realtime: true,
            }
        } else {
            LiveInput::Microphone {
                device_id: self.device_id.clone(),
            }
        };
        let c = ctx.clone();
        let waker: std::sync::Arc<dyn Fn() + Send + Sync> =
            std::sync::Arc::new(move || c.request_repaint());
        match spawn_live(
            PathBuf::from(self.run_dir.trim()),
            input,
            self.cfg.clone(),
            Some(waker),
        ) {
            Ok(h) => {
                self.frames.clear();
                self.overruns = 0;
                self.message = None;
                self.handle = Some(h);
            }
            Err(e) => self.message = Some(format!("cannot start the live thread: {e}")),
        }
    }

    /// Stops the session.
    pub fn stop(&mut self) {
        if let Some(h) = &self.handle {
            h.stop();
        }
    }

    /// Applies worker events (bounded per frame).
    pub fn drain(&mut self) {
        let Some(h) = &self.handle else { return };
        let t = std::time::Instant::now();
        while t.elapsed() < std::time::Duration::from_millis(4) {
            let Ok(ev) = h.events.try_recv() else { break };
            match ev {
                LiveEvent::Started {
                    source,
                    input_rate_hz,
                    classes,
                    dimensional,
                    reads_text,
                    multi_label,
                } => {
                    self.multi_label = multi_label;
                    self.source = format!("{source} ({input_rate_hz} Hz)");
                    self.classes = classes;
                    self.dimensional = dimensional;
                    self.reads_text = reads_text;
                }
                LiveEvent::Level(l) => self.level_dbfs = l,
                LiveEvent::Frame(f) => self.frames.push(f),
                LiveEvent::Overruns(o) => self.overruns = o,
                LiveEvent::Recorded(clip) => {
                    self.recording = false;
                    self.clip = Some(clip);
                }
                LiveEvent::Ended(reason) => {
                    self.message = Some(format!("live input ended: {reason}"))
                }
                LiveEvent::Failed(m) => self.message = Some(m),
            }
        }
        if h.is_finished() && h.events.is_empty() {
            if let Some(h) = self.handle.take() {
                h.join();
            }
            self.recording = false;
        }
        if let Some(p) = &self.playback
            && let Ok(r) = p.done.try_recv()
        {
            if let Err(e) = r {
                self.message = Some(format!("playback: {e}"));
            }
            self.playback = None;
        }
    }

    fn median_latency(&self) -> Option<f64> {
        let mut v: Vec<f64> = self
            .frames
            .iter()
            .rev()
            .filter(|f| !f.silent)
            .take(50)
            .map(|f| f.latency_ms)
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        Some(v[v.len() / 2])
    }

    /// Draws the panel. `latest_run` is the most recent finished run, offered as the model.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        cmds: &mut Vec<AppCommand>,
        latest_run: Option<&std::path::Path>,
    ) {
        ui.heading("Live");
        let running = self.running();
        ui.horizontal(|ui| {
            let l = ui.label("Run folder");
            ui.add(
                egui::TextEdit::singleline(&mut self.run_dir)
                    .desired_width(380.0)
                    .hint_text("runs/…"),
            )
            .labelled_by(l.id);
            if let Some(r) = latest_run
                && ui.button("Use latest run").clicked()
            {
                self.run_dir = r.display().to_string();
            }
        });
        ui.horizontal(|ui| {
            match &self.devices {
                None => {
                    if ui.button("List input devices").clicked() {
                        cmds.push(AppCommand::ListDevices);
                    }
                }
                Some(Err(e)) => {
                    ui.colored_label(ui.visuals().warn_fg_color, format!("No microphone: {e}"));
                }
                Some(Ok(list)) => {
                    let name = |id: &Option<String>| {
                        id.as_ref()
                            .and_then(|i| list.iter().find(|d| &d.id == i))
                            .map_or("default input".to_string(), |d| d.name.clone())
                    };
                    egui::ComboBox::from_label("Input device")
                        .selected_text(name(&self.device_id))
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut self.device_id, None, "default input");
                            for d in list {
                                let label = if d.is_default {
                                    format!("{} (default)", d.name)
                                } else {
                                    d.name.clone()
                                };
                                ui.selectable_value(&mut self.device_id, Some(d.id.clone()), label);
                            }
                        });
                }
            }
            if ui
                .add_enabled(!running, egui::Button::new("Start microphone"))
                .clicked()
            {
                cmds.push(AppCommand::StartLive { use_file: false });
            }
        });
        ui.horizontal(|ui| {
            let l = ui.label("or a WAV file as the input");
            ui.add(egui::TextEdit::singleline(&mut self.wav_path).desired_width(320.0))
                .labelled_by(l.id);
            if ui
                .add_enabled(
                    !running && !self.wav_path.trim().is_empty(),
                    egui::Button::new("Start file"),
                )
                .clicked()
            {
                cmds.push(AppCommand::StartLive { use_file: true });
            }
            if ui
                .add_enabled(running, egui::Button::new("Stop live"))
                .clicked()
            {
                cmds.push(AppCommand::StopLive);
            }
        });
        if self.reads_text {
            self.transcript_ui(ui, cmds);
        }
        ui.add_enabled_ui(!running, |ui| {
            ui.horizontal(|ui| {
                let l = ui.label("Window (s)");
                ui.add(
                    egui::DragValue::new(&mut self.cfg.window_secs)
                        .range(0.25..=10.0)
                        .speed(0.05),
                )
                .labelled_by(l.id);
                let l = ui.label("Hop (s)");
                ui.add(
                    egui::DragValue::new(&mut self.cfg.hop_secs)
                        .range(0.05..=5.0)
                        .speed(0.05),
                )
                .labelled_by(l.id);
                let l = ui.label("Smoothing (windows)");
                ui.add(egui::DragValue::new(&mut self.cfg.smoothing_windows).range(1..=50))
                    .labelled_by(l.id);
                let l = ui.label("Silence gate (dBFS)");
                ui.add(egui::DragValue::new(&mut self.cfg.gate_dbfs).range(-90.0..=0.0))
                    .labelled_by(l.id);
                let l = ui.label("Speaker enrolment (s)");
                ui.add(
                    egui::DragValue::new(&mut self.cfg.enrol_secs)
                        .range(0.0..=120.0)
                        .speed(0.5),
                )
                .labelled_by(l.id)
                .on_hover_text("Runs trained with per-speaker normalisation: seconds of speech gathered into the speaker's own statistics before they replace the training set's.");
            });
        });
        if let Some(m) = &self.message {
            ui.colored_label(ui.visuals().warn_fg_color, m);
        }
        if !self.source.is_empty() {
            let lat = self.median_latency().map_or(String::new(), |l| {
                format!(" · latency (median of last 50) {l:.1} ms")
            });
            let skipped: usize = self.frames.iter().map(|f| f.skipped_before).sum();
            let lat = match skipped {
                0 => lat,
                n => format!("{lat} · {n} windows skipped (inference slower than the hop)"),
            };
            ui.label(format!(
                "input: {} · overruns: {}{lat}",
                self.source, self.overruns
            ));
        }
        self.speaker_ui(ui, cmds);
        let level = ((self.level_dbfs + 60.0) / 60.0).clamp(0.0, 1.0);
        ui.add(
            egui::ProgressBar::new(level)
                .text(format!("input level {:.1} dBFS", self.level_dbfs))
                .desired_width(420.0),
        );
        if self.dimensional {
            super::live_va::va_ui(ui, &self.classes, &self.frames);
        } else {
            self.bars_ui(ui);
            self.timeline_ui(ui);
        }
        self.recording_ui(ui, cmds);
    }

    /// Runs trained per speaker: how much of the current speaker has been heard, whether
    /// their own statistics are in use, and a button that starts over for a new speaker.
    fn speaker_ui(&self, ui: &mut egui::Ui, cmds: &mut Vec<AppCommand>) {
        let Some(sp) = self.frames.last().and_then(|f| f.speaker) else {
            return;
        };
        ui.horizontal(|ui| {
            let text = if sp.in_use {
                format!("Speaker statistics in use ({:.1} s of speech heard)", sp.secs)
            } else {
                format!(
                    "Speaker statistics: {:.1} of {:.1} s heard; the training set's stand in until then",
                    sp.secs, self.cfg.enrol_secs
                )
            };
            ui.label(text).on_hover_text(
                "This run standardises each speaker with their own statistics (normalisation: per_speaker).",
            );
            if ui
                .add_enabled(self.running(), egui::Button::new("New speaker"))
                .on_hover_text("Forget the current speaker's statistics and gather the next speaker's.")
                .clicked()
            {
                cmds.push(AppCommand::LiveControl(LiveControl::NewSpeaker));
            }
        });
    }

    fn bars_ui(&self, ui: &mut egui::Ui) {
        let Some(last) = self.frames.last() else {
            return;
        };
        if last.silent {
            ui.label(
                egui::RichText::new(format!("silence ({:.1} dBFS)", last.level_dbfs)).strong(),
            );
        } else if self.multi_label {
            // Independent labels: the set whose smoothed probability is at least one half.
            let set: Vec<&str> = self
                .classes
                .iter()
                .zip(&last.smoothed)
                .filter(|(_, p)| **p >= 0.5)
                .map(|(c, _)| c.as_str())
                .collect();
            ui.label(
                egui::RichText::new(if set.is_empty() {
                    "no label ≥ 50%".to_string()
                } else {
                    set.join(" · ")
                })
                .heading(),
            );
            ui.label(
                egui::RichText::new(
                    "multi-label: each bar is its own probability (they do not sum to 100%)",
                )
                .small(),
            );
        } else if let Some(t) = last.top {
            ui.label(
                egui::RichText::new(format!(
                    "{} ({:.0}%)",
                    self.classes.get(t).cloned().unwrap_or_default(),
                    last.confidence * 100.0
                ))
                .heading(),
            );
        }
        egui::Grid::new("live_bars").show(ui, |ui| {
            for (k, c) in self.classes.iter().enumerate() {
                let raw = last
                    .raw
                    .as_ref()
                    .and_then(|r| r.get(k))
                    .copied()
                    .unwrap_or(0.0);
                let sm = last.smoothed.get(k).copied().unwrap_or(0.0);
                ui.label(c);
                ui.add(
                    egui::ProgressBar::new(sm)
                        .desired_width(300.0)
                        .text(format!("smoothed {:.0}%", sm * 100.0))
                        .fill(super::plots::fold_color(k)),
                );
                ui.add(
                    egui::ProgressBar::new(raw)
                        .desired_width(160.0)
                        .text(format!("raw {:.0}%", raw * 100.0)),
                );
                ui.end_row();
            }
        });
    }

    fn timeline_ui(&self, ui: &mut egui::Ui) {
        if self.frames.is_empty() {
            return;
        }
        let t_end = self.frames.last().map_or(0.0, |f| f.end_secs);
        ui.label(
            egui::RichText::new("Timeline: top class (colour) and its smoothed confidence")
                .strong(),
        );
        Plot::new("live_timeline")
            .allow_scroll(false)
            .height(180.0)
            .legend(Legend::default())
            .include_y(0.0)
            .include_y(1.0)
            .include_x((t_end - 30.0).max(0.0))
            .include_x(t_end)
            .x_axis_label("seconds")
            .show(ui, |p| {
                for (k, c) in self.classes.iter().enumerate() {
                    let pts: Vec<[f64; 2]> = self
                        .frames
                        .iter()
                        .filter(|f| f.end_secs >= t_end - 30.0 && f.top == Some(k))
                        .map(|f| [f.end_secs, f.confidence as f64])
                        .collect();
                    p.points(
                        Points::new(c.as_str(), PlotPoints::from(pts))
                            .radius(3.0)
                            .color(super::plots::fold_color(k)),
                    );
                }
            });
    }

    /// Runs with a text stream: the words the windows are predicted with (live audio has no
    /// transcript; type what is said, or try other words on the same voice).
    fn transcript_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<AppCommand>) {
        ui.horizontal(|ui| {
            let l = ui.label("Transcript");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.transcript)
                        .desired_width(360.0)
                        .hint_text("what is being said (the run reads text beside the audio)"),
                )
                .labelled_by(l.id);
            let entered = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Use transcript").clicked() || entered {
                self.cfg.transcript = Some(self.transcript.clone());
                cmds.push(AppCommand::LiveControl(LiveControl::Transcript(
                    self.transcript.clone(),
                )));
            }
        })
        .response
        .on_hover_text("This run's models read a transcript beside the audio; without one they predict from the empty text.");
    }

    fn recording_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<AppCommand>) {
        ui.separator();
        ui.label(egui::RichText::new("Record a clip into your own corpus").strong());
        ui.horizontal(|ui| {
            if self.recording {
                if ui.button("Stop recording").clicked() {
                    cmds.push(AppCommand::LiveControl(LiveControl::StopRecording));
                }
            } else if ui
                .add_enabled(self.running(), egui::Button::new("Record"))
                .clicked()
            {
                cmds.push(AppCommand::LiveControl(LiveControl::StartRecording));
            }
            if let Some(c) = &self.clip {
                ui.label(format!("clip: {:.1} s", c.len() as f64 / 16_000.0));
                if ui.button("Play clip").clicked() {
                    cmds.push(AppCommand::PlayClip);
                }
            }
        });
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("Label")
                .selected_text(self.clip_label.name())
                .show_ui(ui, |ui| {
                    for e in Emotion::ALL {
                        ui.selectable_value(&mut self.clip_label, e, e.name());
                    }
                });
            let l = ui.label("Corpus folder");
            ui.add(egui::TextEdit::singleline(&mut self.corpus_dir).desired_width(300.0))
                .labelled_by(l.id);
            if ui
                .add_enabled(
                    self.clip.is_some(),
                    egui::Button::new("Save clip to corpus"),
                )
                .clicked()
            {
                cmds.push(AppCommand::SaveClip);
            }
        });
    }

    /// Sends a control command to the worker (recording).
    pub fn control(&mut self, c: LiveControl) {
        if let Some(h) = &self.handle {
            if c == LiveControl::StartRecording {
                self.recording = true;
            }
            h.send(c);
        }
    }

    /// Plays the recorded clip.
    pub fn play_clip(&mut self) {
        if let Some(c) = &self.clip {
            self.playback = Some(crate::audio::playback::play(c.clone()));
        }
    }

    /// Saves the recorded clip into the user corpus.
    pub fn save_clip(&mut self) -> Result<PathBuf, String> {
        let clip = self.clip.as_ref().ok_or("nothing recorded")?;
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let p = crate::corpus::user::add_recording(
            std::path::Path::new(self.corpus_dir.trim()),
            self.clip_label,
            "me",
            clip,
            &format!("rec-{secs}"),
        )?;
        self.clip = None;
        Ok(p)
    }
}
