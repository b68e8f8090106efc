//! Features panel: the feature stream of the selected preset (log-mel / MFCC parameters, SSL
//! model and layers), a check of SSL weights on a helper thread, the cache folder, and a
//! spectrogram preview of a file.

use eframe::egui;

use super::AppCommand;
use crate::features::{FeatureConfig, SslPooling, StreamKind};

pub use super::jobs::{CacheCheck, CacheCount, WeightsInfo};
use super::run_view::FeatureProgress;

/// State of the Features panel.
#[derive(Default)]
pub struct FeaturesPanel {
    /// Outcome of the last weights check.
    pub weights: Option<Result<WeightsInfo, String>>,
    /// A check is running.
    pub checking: bool,
    /// File for the spectrogram preview.
    pub preview_path: String,
    /// The preview's spectrogram (computed on a helper thread).
    pub preview: super::jobs::SpectrogramState,
    /// Hub model id typed into the download field.
    pub hub_repo: String,
    /// Progress of a running download (shared with its thread).
    pub download: Option<std::sync::Arc<std::sync::Mutex<crate::ssl::hub::Progress>>>,
    /// Outcome of the last download.
    pub download_result: Option<Result<std::path::PathBuf, String>>,
    /// Cache status of the open corpus for the selected stream.
    pub cache_status: CacheCheck,
    /// Progress of a running extraction (shared with its thread).
    pub extracting: Option<std::sync::Arc<std::sync::Mutex<FeatureProgress>>>,
    /// Control channel of the running extraction (its Stop button).
    pub extract_control: Option<crossbeam_channel::Sender<crate::train::Control>>,
    /// Outcome of the last extraction.
    pub extract_result: Option<Result<String, String>>,
}

impl FeaturesPanel {
    /// Cache status and extraction of the open corpus for the selected stream.
    fn cache_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<AppCommand>, corpus_files: usize) {
        if corpus_files == 0 {
            ui.label("Open a corpus to check or fill the feature cache for it.");
            return;
        }
        ui.horizontal(|ui| {
            ui.label(format!("Open corpus: {corpus_files} files."));
            let busy = self.extracting.is_some() || self.cache_status == CacheCheck::Checking;
            if ui
                .add_enabled(!busy, egui::Button::new("Check cache"))
                .on_hover_text("how many files already have features for this stream")
                .clicked()
            {
                self.cache_status = CacheCheck::Checking;
                cmds.push(AppCommand::CheckFeatureCache);
            }
            if ui
                .add_enabled(!busy, egui::Button::new("Extract features"))
                .on_hover_text(
                    "compute and cache this stream for every file now (training would do it too)",
                )
                .clicked()
            {
                self.extract_result = None;
                cmds.push(AppCommand::ExtractFeatures);
            }
            match &self.cache_status {
                CacheCheck::Checking => {
                    ui.spinner();
                }
                CacheCheck::Done(Ok(c)) => {
                    ui.label(format!(
                        "{} of {} cached for this stream",
                        c.cached, c.total
                    ));
                }
                CacheCheck::Done(Err(e)) => {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
                CacheCheck::Unknown => {}
            }
        });
        if let Some(p) = &self.extracting {
            let FeatureProgress {
                done,
                total,
                cached,
            } = p.lock().map(|p| *p).unwrap_or_else(|e| *e.into_inner());
            ui.horizontal(|ui| {
                if let Some(c) = &self.extract_control
                    && ui
                        .button("Stop")
                        .on_hover_text("stop after the current file; finished files stay cached")
                        .clicked()
                {
                    let _ = c.send(crate::train::Control::Stop);
                }
                ui.add(
                    egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                        .text(format!("extracting {done} / {total} ({cached} from cache)")),
                );
            });
        }
        super::plots::outcome_ui(ui, &self.extract_result);
    }

    /// Draws the panel for the selected preset's features (editable); `corpus_files` is the
    /// size of the open corpus (0 = none).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        cmds: &mut Vec<AppCommand>,
        f: Option<&mut FeatureConfig>,
        cache_dir: &std::path::Path,
        corpus_files: usize,
    ) {
        ui.heading("Features");
        let Some(f) = f else {
            ui.label("No preset selected.");
            return;
        };
        let waveform = f.stream == StreamKind::Waveform;
        if waveform {
            // A fine-tuning preset: the stream belongs to its model and is not switched here.
            ui.label(
                "Stream of the selected preset: the 16 kHz waveform — the preset fine-tunes the \
                 SSL encoder below end to end (nothing to extract or cache).",
            );
        }
        if !waveform {
            ui.horizontal(|ui| {
                ui.label("Stream of the selected preset:");
                ui.selectable_value(&mut f.stream, StreamKind::LogMel, "log-mel");
                ui.selectable_value(&mut f.stream, StreamKind::Mfcc, "MFCC");
                ui.selectable_value(&mut f.stream, StreamKind::Ssl, "SSL (HuBERT / wav2vec2)");
                ui.selectable_value(
                    &mut f.stream,
                    StreamKind::LogMelSsl,
                    "log-mel + SSL (fusion)",
                );
                ui.selectable_value(&mut f.stream, StreamKind::Functionals, "functionals")
                    .on_hover_text(
                        "one named vector per utterance: mean, std, percentiles and slope of \
                         log-mel, MFCC, energy, zero-crossing rate and F0 (the classic baselines' input)",
                    );
            });
        }
        if f.stream != StreamKind::Ssl && !waveform {
            {
                egui::Grid::new("logmel_params").show(ui, |ui| {
                    let l = ui.label("n_fft");
                    ui.add(egui::DragValue::new(&mut f.logmel.n_fft).range(64..=8192))
                        .labelled_by(l.id);
                    let l = ui.label("hop (samples)");
                    ui.add(egui::DragValue::new(&mut f.logmel.hop_length_samples).range(16..=4096))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("mel bands");
                    ui.add(egui::DragValue::new(&mut f.logmel.n_mels).range(8..=256))
                        .labelled_by(l.id);
                    let l = ui.label("max seconds");
                    ui.add(
                        egui::DragValue::new(&mut f.max_secs)
                            .range(0.5..=30.0)
                            .speed(0.1),
                    )
                    .labelled_by(l.id);
                    ui.end_row();
                    if matches!(f.stream, StreamKind::Mfcc | StreamKind::Functionals) {
                        let l = ui.label("MFCC coefficients");
                        ui.add(egui::DragValue::new(&mut f.n_mfcc).range(1..=128))
                            .labelled_by(l.id);
                        ui.checkbox(&mut f.mfcc_deltas, "deltas");
                        ui.end_row();
                    }
                    if f.stream == StreamKind::Functionals {
                        let fu = &mut f.functionals;
                        let l = ui.label("F0 range (Hz)");
                        ui.horizontal(|ui| {
                            ui.add(egui::DragValue::new(&mut fu.f0_min_hz).range(20.0..=400.0))
                                .labelled_by(l.id);
                            ui.label("to");
                            ui.add(egui::DragValue::new(&mut fu.f0_max_hz).range(100.0..=1000.0));
                        });
                        ui.checkbox(&mut fu.mel_bands, "log-mel band statistics");
                        ui.end_row();
                    }
                });
                ui.label(egui::RichText::new(f.extractor_key()).small().weak());
            }
        }
        if f.uses_ssl() || waveform {
            {
                if f.stream == StreamKind::LogMelSsl {
                    ui.horizontal(|ui| {
                        ui.label("SSL part over time:");
                        ui.selectable_value(
                            &mut f.ssl_pooling,
                            SslPooling::Frames,
                            "frames aligned to the log-mel (linear interpolation)",
                        );
                        ui.selectable_value(
                            &mut f.ssl_pooling,
                            SslPooling::UtteranceMean,
                            "utterance mean on every frame (the seed code)",
                        );
                    });
                }
                let mut w = f
                    .ssl_weights
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                ui.horizontal(|ui| {
                    let l = ui.label("Model folder");
                    if ui
                        .add(
                            egui::TextEdit::singleline(&mut w)
                                .desired_width(380.0)
                                .hint_text("models/hubert-base-ls960"),
                        )
                        .labelled_by(l.id)
                        .changed()
                    {
                        f.ssl_weights = (!w.trim().is_empty()).then(|| w.trim().into());
                        self.weights = None;
                    }
                    if ui
                        .add_enabled(
                            !self.checking && !w.trim().is_empty(),
                            egui::Button::new("Check weights"),
                        )
                        .clicked()
                    {
                        self.checking = true;
                        cmds.push(AppCommand::CheckWeights(w.trim().into()));
                    }
                    if ui
                        .add_enabled(!self.checking, egui::Button::new("Browse…"))
                        .on_hover_text("pick the model folder")
                        .clicked()
                    {
                        cmds.push(AppCommand::BrowseWeights);
                    }
                });
                ui.horizontal(|ui| {
                    let l = ui.label("or download from the HuggingFace hub");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.hub_repo)
                            .desired_width(260.0)
                            .hint_text("facebook/hubert-base-ls960"),
                    )
                    .labelled_by(l.id);
                    if ui
                        .add_enabled(
                            self.download.is_none() && !self.hub_repo.trim().is_empty(),
                            egui::Button::new("Download"),
                        )
                        .on_hover_text("resumable, SHA-256 verified; into the model cache")
                        .clicked()
                    {
                        cmds.push(AppCommand::DownloadModel(self.hub_repo.trim().to_string()));
                    }
                });
                if let Some(p) = &self.download {
                    let p = p
                        .lock()
                        .map(|p| p.clone())
                        .unwrap_or_else(|e| e.into_inner().clone());
                    let frac = p.total.map_or(0.0, |t| p.done as f32 / t.max(1) as f32);
                    ui.add(egui::ProgressBar::new(frac).text(format!(
                        "{}: {:.1} MB{}",
                        p.file,
                        p.done as f64 / 1e6,
                        p.total.map_or(String::new(), |t| format!(" of {:.1} MB", t as f64 / 1e6))
                    )));
                }
                match &self.download_result {
                    Some(Ok(dir)) => {
                        ui.colored_label(
                            egui::Color32::from_rgb(60, 160, 90),
                            format!("downloaded into {} (now the model folder)", dir.display()),
                        );
                    }
                    Some(Err(e)) => {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                    }
                    None => {}
                }
                ui.horizontal(|ui| {
                    let l = ui.label("Hidden states (all, last, N or a,b)");
                    ui.add(egui::TextEdit::singleline(&mut f.ssl_layers).desired_width(120.0))
                        .labelled_by(l.id);
                });
                match &self.weights {
                    Some(Ok(info)) => {
                        ui.colored_label(egui::Color32::from_rgb(60, 160, 90), &info.summary);
                        if !info.unused.is_empty() {
                            ui.label(format!("{} checkpoint tensor(s) not used by the encoder (heads, quantizer), e.g. {}", info.unused.len(), info.unused[0]));
                        }
                    }
                    Some(Err(e)) => {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                    }
                    None if self.checking => {
                        ui.spinner();
                    }
                    None => {
                        ui.label("Weights not checked yet. Use Download above, or (where the hub is unreachable) copy a model folder — config.json, model.safetensors or pytorch_model.bin, preprocessor_config.json — and enter its path.");
                    }
                }
            }
        }
        ui.label(format!("Feature cache: {} (keyed by audio content, extractor parameters and weights; corrupt entries are rebuilt)", cache_dir.display()));
        self.cache_ui(ui, cmds, corpus_files);
        ui.separator();
        ui.horizontal(|ui| {
            let l = ui.label("Spectrogram preview of");
            ui.add(egui::TextEdit::singleline(&mut self.preview_path).desired_width(380.0))
                .labelled_by(l.id);
            if ui.button("Show").clicked() {
                let p = self.preview_path.trim().to_string();
                self.preview = Some(super::jobs::FileJob::running(p.clone()));
                cmds.push(AppCommand::Spectrogram(
                    super::jobs::SpectrogramFor::Preview,
                    p,
                ));
            }
        });
        match &self.preview {
            Some(super::jobs::FileJob {
                path,
                state: super::jobs::JobState::Done(Ok(tex)),
            }) => {
                ui.label(
                    egui::RichText::new(format!("{path} — 64-band log-mel, 25/10 ms, 80 dB range"))
                        .small(),
                );
                ui.add(
                    egui::Image::new(tex)
                        .fit_to_exact_size(egui::vec2(ui.available_width().min(900.0), 160.0)),
                );
            }
            Some(super::jobs::FileJob {
                state: super::jobs::JobState::Done(Err(e)),
                ..
            }) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            Some(super::jobs::FileJob {
                path,
                state: super::jobs::JobState::Running,
            }) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("computing the spectrogram of {path}"));
                });
            }
            None => {}
        }
    }
}
