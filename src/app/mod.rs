//! The egui application. Panels read the view state and emit [`AppCommand`]s; commands are
//! handled in one place ([`WorkbenchApp::handle`]); background work (corpus loading, demo
//! generation, training) runs on named threads and reports through channels that the UI drains
//! at the start of every frame, so no frame ever waits on work.

pub mod ablation;
pub mod confusion;
pub mod corpora;
pub mod dimensional;
pub mod editor;
pub mod features;
pub mod interpret;
pub mod jobs;
pub mod live;
pub mod live_va;
pub mod multilabel;
pub mod multitask;
pub mod plots;
pub mod results;
pub mod run_view;
pub mod runs_panel;
pub mod saved_runs;
pub mod training;

use std::path::PathBuf;

use eframe::egui;

use crate::corpus::CorpusType;
use crate::train::Preset;
use corpora::CorporaPanel;
use jobs::{JobResult, Jobs};
use results::ResultsPanel;
use training::TrainingPanel;

/// Which panel fills the central area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Tab {
    /// Corpora.
    Corpora,
    /// Features.
    Features,
    /// Training.
    Training,
    /// The block editor of the selected preset.
    Editor,
    /// Results.
    Results,
    /// Run folders: list, compare, ensembles.
    Runs,
    /// Live microphone predictions.
    Live,
}

/// Everything a panel may ask the app to do.
#[derive(Clone, Debug)]
pub enum AppCommand {
    /// Read a corpus folder in the background.
    LoadCorpus {
        /// Folder.
        dir: PathBuf,
        /// Type override.
        corpus_type: Option<CorpusType>,
    },
    /// Open the folder picker (on a helper thread).
    BrowseCorpus,
    /// Open the folder picker for an SSL model folder.
    BrowseWeights,
    /// Generate the demo corpus and open its EMODB-named part; optionally start training.
    CreateDemo {
        /// Start the demo preset once the corpus is loaded.
        then_train: bool,
    },
    /// Decode every file of the loaded corpus to find silent recordings (background).
    ScanSilence,
    /// Start training with the chosen preset on the loaded corpus.
    StartTraining,
    /// Count cached features of the open corpus for the selected stream.
    CheckFeatureCache,
    /// Extract (and cache) the selected stream for the open corpus.
    ExtractFeatures,
    /// Download a model from the HuggingFace hub into the model cache.
    DownloadModel(String),
    /// Trace one utterance through the shown run's models (attention over time, fusion gate).
    TraceUtterance(String),
    /// Start an ablation (the Training panel's chosen presets) on the open corpus.
    StartAblation,
    /// Pause / resume / stop the running worker.
    Control(crate::train::Control),
    /// Switch panel.
    Show(Tab),
    /// List the input devices (background).
    ListDevices,
    /// Start a live session (microphone, or the WAV file of the Live panel).
    StartLive {
        /// Use the WAV file instead of the microphone.
        use_file: bool,
    },
    /// Stop the live session.
    StopLive,
    /// Recording control for the live worker.
    LiveControl(crate::live::LiveControl),
    /// Play the recorded clip.
    PlayClip,
    /// Save the recorded clip into the user corpus.
    SaveClip,
    /// Read a finished run's predictions and learned weights on a helper thread.
    LoadRunFiles(PathBuf),
    /// List the finished runs of the runs folder (background).
    ListRuns,
    /// Show a finished run folder in the Results panel.
    OpenRun(PathBuf),
    /// Load a run folder's exact preset, corpus, protocol and seed, and train.
    TrainAgain(PathBuf),
    /// Write the report of a run trained by Slurm fold tasks from the finished folds.
    CollectSlurmRun(PathBuf),
    /// Add a preset to every preset list and select it (the editor's saved or edited preset).
    AddPreset(Box<Preset>),
    /// Show the current (or last) training run in the Results panel again.
    CloseOpenedRun,
    /// Apply a multi-label run to a categorical corpus (mean label probability per class).
    Probe {
        /// The multi-label run.
        run: PathBuf,
        /// The categorical corpus.
        corpus: PathBuf,
    },
    /// Combine finished runs by voting into a new run folder, then show it.
    Ensemble {
        /// Member run folders.
        runs: Vec<PathBuf>,
        /// Voting rule.
        vote: crate::train::ensemble::Vote,
    },
    /// Compute a file's spectrogram on a helper thread for a panel.
    Spectrogram(jobs::SpectrogramFor, String),
    /// Play an audio file through the default output device.
    PlayFile(PathBuf),
    /// Load an SSL model folder on a helper thread and report what it holds.
    CheckWeights(PathBuf),
}

/// Storage key of [`Remembered`].
const REMEMBERED_KEY: &str = "ser-workbench";

/// What the GUI remembers between launches (eframe's persistence; the window size and position
/// are remembered by eframe itself).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Remembered {
    /// Panel shown.
    pub tab: Option<Tab>,
    /// Last opened corpus folder.
    pub corpus: Option<PathBuf>,
    /// Selected preset (by name).
    pub preset: Option<String>,
    /// Folders the Runs panel lists besides the runs folder.
    pub run_roots: Vec<PathBuf>,
    /// The Runs table's order.
    pub runs_sort: Option<(runs_panel::SortKey, bool)>,
}

/// The application state.
pub struct WorkbenchApp {
    /// Selected panel.
    pub tab: Tab,
    /// Corpora panel.
    pub corpora: CorporaPanel,
    /// Training panel (owns the worker handle).
    pub training: TrainingPanel,
    /// Results panel.
    pub results: ResultsPanel,
    /// Live panel.
    pub live: live::LivePanel,
    /// Features panel.
    pub features: features::FeaturesPanel,
    /// Runs panel.
    pub runs: runs_panel::RunsPanel,
    /// Block editor.
    pub editor: editor::EditorPanel,
    paths: crate::paths::Paths,
    playback: Option<crate::audio::playback::Playback>,
    jobs: Jobs,
    pending: Vec<AppCommand>,
    train_after_load: bool,
    /// Preset selected before that training (the demo's), `None` = keep the selection.
    train_preset: Option<String>,
    ctx: egui::Context,
    /// Last error shown in the status bar.
    pub status: String,
    /// A finished run opened from disk, shown in Results instead of the training run.
    pub opened: Option<run_view::TrainingView>,
    /// Start time and UI-work duration of recent frames (for the fps readout).
    frames: std::collections::VecDeque<(std::time::Instant, std::time::Duration)>,
}

impl WorkbenchApp {
    /// Creates the app. `demo` queues "create demo corpus, then train". The shipped presets
    /// and the user's saved ones are offered; what the last session remembered is restored (its
    /// corpus only when the command line names none).
    pub fn new(cc: &eframe::CreationContext<'_>, start: &GuiStart) -> Self {
        let demo = start.demo;
        let paths = crate::paths::Paths::from_env();
        let (mut presets, mut errors) = Preset::builtin_with_errors();
        let (user, user_errors) = Preset::load_folder(&paths.presets());
        presets.extend(user);
        errors.extend(user_errors);
        let mut app = Self::with_options(cc.egui_ctx.clone(), demo, presets, paths);
        app.training.preset_errors = errors.iter().map(ToString::to_string).collect();
        if let Some(r) = cc
            .storage
            .and_then(|s| eframe::get_value::<Remembered>(s, REMEMBERED_KEY))
        {
            app.restore(r, !demo && start.corpus.is_none());
        }
        app
    }

    /// What the next launch restores.
    pub fn remembered(&self) -> Remembered {
        Remembered {
            tab: Some(self.tab),
            corpus: self
                .corpora
                .manifest
                .as_ref()
                .map(|m| m.root.clone())
                .or_else(|| {
                    (!self.corpora.path.trim().is_empty())
                        .then(|| PathBuf::from(self.corpora.path.trim()))
                }),
            preset: self.training.selected_preset().map(|p| p.name.clone()),
            run_roots: self.runs.roots.clone(),
            runs_sort: Some(self.runs.sort),
        }
    }

    /// Restores a remembered state: panel, preset, runs folders and order, and (when
    /// `open_corpus`, i.e. not starting the demo) re-opens the last corpus if it still exists.
    pub fn restore(&mut self, r: Remembered, open_corpus: bool) {
        if let Some(t) = r.tab {
            self.tab = t;
        }
        if let Some(p) = &r.preset {
            self.training.select_preset(p);
        }
        self.runs.roots = r.run_roots;
        if let Some(s) = r.runs_sort {
            self.runs.sort = s;
        }
        if open_corpus
            && let Some(c) = r.corpus
            && c.is_dir()
        {
            self.corpora.path = c.display().to_string();
            self.pending.push(AppCommand::LoadCorpus {
                dir: c,
                corpus_type: None,
            });
        }
    }

    /// Creates the app with explicit presets and folders (tests use small ones).
    pub fn with_options(
        ctx: egui::Context,
        demo: bool,
        presets: Vec<Preset>,
        paths: crate::paths::Paths,
    ) -> Self {
        let mut pending = Vec::new();
        if demo {
            pending.push(AppCommand::CreateDemo { then_train: true });
        }
        Self {
            tab: Tab::Corpora,
            corpora: CorporaPanel::default(),
            training: TrainingPanel::new(presets, paths.features(), paths.runs.clone()),
            results: ResultsPanel::default(),
            live: live::LivePanel::new(&paths.recordings()),
            features: features::FeaturesPanel::default(),
            runs: runs_panel::RunsPanel::default(),
            editor: editor::EditorPanel::default(),
            paths: paths.clone(),
            playback: None,
            jobs: Jobs::new(paths),
            pending,
            train_after_load: false,
            train_preset: None,
            ctx,
            status: String::new(),
            opened: None,
            frames: std::collections::VecDeque::new(),
        }
    }

    /// Applies the `gui` command-line options (preset, corpus, target, train).
    pub fn apply_start(&mut self, start: &GuiStart) {
        if let Some(p) = &start.preset {
            self.training.load_preset_file(p);
            if let Some(Err(e)) = &self.training.preset_message {
                self.status = e.clone();
            }
        }
        if let Some(t) = &start.target_corpus {
            self.training.target_corpus = t.display().to_string();
        }
        if let Some(c) = &start.corpus {
            self.corpora.path = c.display().to_string();
            self.corpora.loading = true;
            self.pending.push(AppCommand::LoadCorpus {
                dir: c.clone(),
                corpus_type: None,
            });
            self.train_after_load = start.train;
            self.train_preset = None;
        }
    }

    /// Handles one command.
    pub fn handle(&mut self, cmd: AppCommand) {
        match cmd {
            AppCommand::LoadCorpus { dir, corpus_type } => {
                self.corpora.loading = true;
                self.corpora.path = dir.display().to_string();
                self.jobs.load_corpus(dir, corpus_type, &self.ctx);
            }
            AppCommand::BrowseCorpus => self.jobs.browse(&self.ctx),
            AppCommand::BrowseWeights => self.jobs.browse_weights(&self.ctx),
            AppCommand::ScanSilence => {
                if let Some(m) = &self.corpora.manifest {
                    self.corpora.scanning = true;
                    self.jobs.scan_silence(m.clone(), &self.ctx);
                }
            }
            AppCommand::CreateDemo { then_train } => {
                self.corpora.loading = true;
                self.train_after_load = then_train;
                self.train_preset = then_train.then(|| "demo".to_string());
                self.jobs.create_demo(&self.ctx);
            }
            AppCommand::StartTraining => match &self.corpora.manifest {
                Some(m) => {
                    let ctx = self.ctx.clone();
                    match self.training.start(m.root.clone(), ctx) {
                        Ok(()) => {
                            self.opened = None;
                            self.results.follow_latest();
                            self.tab = Tab::Training;
                        }
                        Err(e) => self.status = e,
                    }
                }
                None => self.status = "open a corpus first (Corpora panel)".into(),
            },
            AppCommand::CheckFeatureCache | AppCommand::ExtractFeatures => {
                let extract = matches!(cmd, AppCommand::ExtractFeatures);
                let utts = self
                    .corpora
                    .manifest
                    .as_ref()
                    .map(|m| m.utterances.clone())
                    .unwrap_or_default();
                let cfg = self.training.selected_features_mut().map(|f| f.clone());
                match cfg {
                    Some(cfg) if !utts.is_empty() => {
                        let dir = self.training.cache_dir().to_path_buf();
                        if extract {
                            let p = std::sync::Arc::new(std::sync::Mutex::new(
                                run_view::FeatureProgress {
                                    total: utts.len(),
                                    ..Default::default()
                                },
                            ));
                            self.features.extracting = Some(p.clone());
                            self.features.extract_control =
                                Some(self.jobs.extract_features(utts, cfg, dir, p, &self.ctx));
                        } else {
                            self.jobs.feature_cache_status(utts, cfg, dir, &self.ctx);
                        }
                    }
                    _ => {
                        self.features.cache_status = features::CacheCheck::Unknown;
                        self.status = "open a corpus and select a preset first".into();
                    }
                }
            }
            AppCommand::DownloadModel(repo) => {
                let progress =
                    std::sync::Arc::new(std::sync::Mutex::new(crate::ssl::hub::Progress {
                        file: "config.json".into(),
                        done: 0,
                        total: None,
                    }));
                self.features.download = Some(progress.clone());
                self.features.download_result = None;
                self.jobs.download_model(repo, progress, &self.ctx);
            }
            AppCommand::TraceUtterance(path) => match self
                .opened
                .as_ref()
                .unwrap_or(&self.training.view)
                .run_dir
                .clone()
            {
                Some(run) => {
                    self.results.trace = Some(jobs::FileJob::running(path.clone()));
                    self.jobs.trace(run, path, &self.ctx);
                }
                None => self.status = "no run to trace with".into(),
            },
            AppCommand::StartAblation => match &self.corpora.manifest {
                Some(m) => {
                    let ctx = self.ctx.clone();
                    if let Err(e) = self.training.start_ablation(m.root.clone(), ctx) {
                        self.status = e;
                    }
                }
                None => self.status = "open a corpus first (Corpora panel)".into(),
            },
            AppCommand::Control(c) => self.training.control(c),
            AppCommand::Show(t) => self.tab = t,
            AppCommand::ListDevices => self.jobs.list_devices(&self.ctx),
            AppCommand::CheckWeights(p) => self.jobs.check_weights(p, &self.ctx),
            AppCommand::StartLive { use_file } => self.live.start(use_file, &self.ctx),
            AppCommand::StopLive => self.live.stop(),
            AppCommand::LiveControl(c) => self.live.control(c),
            AppCommand::PlayClip => self.live.play_clip(),
            AppCommand::SaveClip => match self.live.save_clip() {
                Ok(p) => self.status = format!("saved {}", p.display()),
                Err(e) => self.status = format!("cannot save the clip: {e}"),
            },
            AppCommand::LoadRunFiles(dir) => self.jobs.run_files(dir, &self.ctx),
            AppCommand::ListRuns => {
                let roots = self.runs.all_roots(&self.paths.runs);
                self.jobs.list_runs(roots, &self.ctx)
            }
            AppCommand::TrainAgain(dir) => self.train_again(&dir),
            AppCommand::CollectSlurmRun(dir) => {
                self.runs.busy = true;
                self.runs.message = Some(Ok(format!("collecting the folds of {}…", dir.display())));
                self.jobs.collect_slurm_run(dir, &self.ctx)
            }
            AppCommand::AddPreset(p) => {
                // A shipped preset's name is never replaced; the user's own presets are.
                let name = if Preset::is_builtin_name(&p.name) {
                    let alt = format!("{} (edited)", p.name);
                    self.training.add_preset(*p, &alt)
                } else {
                    let name = p.name.clone();
                    self.training.put_preset(*p);
                    name
                };
                self.status = format!("preset '{name}' selected in Training");
            }
            AppCommand::OpenRun(dir) => self.jobs.open_run(dir, &self.ctx),
            AppCommand::CloseOpenedRun => {
                self.opened = None;
                self.results.follow_latest();
            }
            AppCommand::Ensemble { runs, vote } => self.jobs.ensemble(runs, vote, &self.ctx),
            AppCommand::Probe { run, corpus } => {
                self.results.multi_label.probing = true;
                self.jobs.probe(run, corpus, &self.ctx)
            }
            AppCommand::Spectrogram(target, path) => {
                self.jobs.spectrogram(target, path, &self.ctx);
            }
            AppCommand::PlayFile(p) => {
                if let Some(old) = self.playback.take() {
                    old.stop();
                }
                self.status = format!("playing {}", p.display());
                self.playback = Some(crate::audio::playback::play_file(p));
            }
        }
    }

    /// "Train again": the run's exact preset (its `config.ron`), corpus, protocol, seed and
    /// label map are loaded into the Training panel, the corpus is opened, and training starts.
    fn train_again(&mut self, dir: &std::path::Path) {
        let cfg = match crate::train::run::read_resolved(dir) {
            Ok(c) => c,
            Err(e) => {
                self.runs.message = Some(Err(e));
                return;
            }
        };
        let folder = dir
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().to_string());
        let alt = format!("{} (run {folder})", cfg.preset.name);
        let name = self.training.add_preset(cfg.preset.clone(), &alt);
        self.training.protocol = cfg.protocol.clone();
        self.training.seed = cfg.seed;
        self.training.label_map = crate::corpus::label_map::NAMED
            .contains(&cfg.label_map.as_str())
            .then(|| cfg.label_map.clone())
            .filter(|m| m != "all");
        let corpus = cfg
            .corpus_dirs
            .first()
            .cloned()
            .unwrap_or(cfg.corpus_dir.clone());
        let mut msg = format!(
            "training again: preset '{name}', {} with seed {} on {}",
            cfg.protocol,
            cfg.seed,
            corpus.display()
        );
        if cfg.corpus_dirs.len() > 1 {
            msg.push_str(&format!(
                " (the run pooled {} corpora; the GUI trains on the first — use the CLI's --corpus for all)",
                cfg.corpus_dirs.len()
            ));
        }
        self.runs.message = Some(Ok(msg.clone()));
        self.status = msg;
        self.corpora.path = corpus.display().to_string();
        self.corpora.loading = true;
        self.train_after_load = true;
        self.train_preset = None;
        self.tab = Tab::Training;
        self.pending.push(AppCommand::LoadCorpus {
            dir: corpus,
            corpus_type: None,
        });
    }

    /// Drains background results and training events (bounded work per frame).
    pub fn drain(&mut self) {
        for r in self.jobs.poll() {
            match r {
                JobResult::Corpus(Ok(m)) => {
                    self.corpora.loading = false;
                    self.corpora.error = None;
                    self.status = format!(
                        "loaded {} ({} utterances)",
                        m.root.display(),
                        m.utterances.len() + m.uncategorised.len()
                    );
                    self.corpora.set_manifest(m);
                    if std::mem::take(&mut self.train_after_load) {
                        if let Some(p) = self.train_preset.take() {
                            self.training.select_preset(&p);
                        }
                        self.pending.push(AppCommand::StartTraining);
                    }
                }
                JobResult::Corpus(Err(e)) => {
                    self.corpora.loading = false;
                    self.corpora.error = Some(e.clone());
                    self.train_after_load = false;
                    self.status = e;
                }
                JobResult::Demo(Ok(dir)) => {
                    self.pending.push(AppCommand::LoadCorpus {
                        dir,
                        corpus_type: None,
                    });
                }
                JobResult::Demo(Err(e)) => {
                    self.corpora.loading = false;
                    self.status = e;
                }
                JobResult::Picked(Some(dir)) => {
                    self.corpora.path = dir.display().to_string();
                    self.pending.push(AppCommand::LoadCorpus {
                        dir,
                        corpus_type: self.corpora.corpus_type,
                    });
                }
                JobResult::Picked(None) | JobResult::PickedWeights(None) => {}
                JobResult::PickedWeights(Some(dir)) => {
                    if let Some(f) = self.training.selected_features_mut() {
                        f.ssl_weights = Some(dir.clone());
                    }
                    self.features.weights = None;
                    self.features.checking = true;
                    self.pending.push(AppCommand::CheckWeights(dir));
                }
                JobResult::Devices(d) => self.live.devices = Some(d),
                JobResult::Probed(r) => {
                    self.results.multi_label.probing = false;
                    self.results.multi_label.probe = Some(r);
                }
                JobResult::Trace(path, r) => {
                    if let Some(t) = &mut self.results.trace {
                        t.finish(&path, r);
                    }
                }
                JobResult::RunFiles(files) => self.results.take_run_files(*files),
                JobResult::Runs(runs, problems) => self.runs.take_list(runs, problems),
                JobResult::SlurmCollected(dir, r) => {
                    self.runs.busy = false;
                    self.runs.message =
                        Some(r.map(|summary| format!("collected {}: {summary}", dir.display())));
                    self.pending.push(AppCommand::ListRuns);
                }
                JobResult::OpenedRun(dir, r) => match r {
                    Ok(view) => {
                        self.opened = Some(*view);
                        self.results.follow_latest();
                        self.runs.message = Some(Ok(format!("showing {}", dir.display())));
                        self.tab = Tab::Results;
                    }
                    Err(e) => self.runs.message = Some(Err(e)),
                },
                JobResult::Ensembled(r) => {
                    self.runs.busy = false;
                    match r {
                        Ok(dir) => {
                            self.pending.push(AppCommand::ListRuns);
                            self.pending.push(AppCommand::OpenRun(dir));
                        }
                        Err(e) => self.runs.message = Some(Err(e)),
                    }
                }
                JobResult::Spectrogram(target, path, img) => {
                    let slot = match target {
                        jobs::SpectrogramFor::Results => &mut self.results.spectrogram,
                        jobs::SpectrogramFor::Preview => &mut self.features.preview,
                    };
                    // A result for a file no longer shown is dropped.
                    if let Some(job) = slot {
                        let tex = img.map(|img| {
                            self.ctx
                                .load_texture("spectrogram", img, egui::TextureOptions::LINEAR)
                        });
                        job.finish(&path, tex);
                    }
                }
                JobResult::CacheStatus(r) => {
                    self.features.cache_status = features::CacheCheck::Done(r)
                }
                JobResult::Extracted(r) => {
                    self.features.extracting = None;
                    self.features.extract_control = None;
                    self.features.cache_status = features::CacheCheck::Unknown;
                    self.features.extract_result = Some(r.map(
                        |jobs::ExtractSummary {
                             total,
                             cached,
                             failed,
                         }| {
                            let mut m = format!(
                                "{total} files: {cached} were cached, {} computed now, {} failed",
                                total - cached - failed.len(),
                                failed.len()
                            );
                            if let Some(f) = failed.first() {
                                m.push_str(&format!(" (first: {f})"));
                            }
                            m
                        },
                    ));
                }
                JobResult::Downloaded(r) => {
                    self.features.download = None;
                    if let Ok(dir) = &r
                        && let Some(f) = self.training.selected_features_mut()
                    {
                        f.ssl_weights = Some(dir.clone());
                        self.features.weights = None;
                    }
                    self.features.download_result = Some(r);
                }
                JobResult::Weights(w) => {
                    self.features.checking = false;
                    self.features.weights = Some(w);
                }
                JobResult::Silence(found) => {
                    self.corpora.scanning = false;
                    self.status = format!(
                        "silence scan: {} silent or near-silent file(s)",
                        found.len()
                    );
                    if let Some(ins) = self.corpora.inspection.as_mut() {
                        ins.silent = Some(found);
                    }
                }
                JobResult::PickerFailed(e) => self.status = e,
            }
        }
        self.training.drain(std::time::Duration::from_millis(8));
        self.live.drain();
        if let Some(p) = &self.playback
            && let Ok(r) = p.done.try_recv()
        {
            self.status = match r {
                Ok(()) => "playback finished".into(),
                Err(e) => format!("playback: {e}"),
            };
            self.playback = None;
        }
    }

    /// "UI 58 fps · slowest frame 3.1 ms" over the last second.
    fn frame_stats(&self) -> Option<String> {
        let now = std::time::Instant::now();
        let recent: Vec<&(std::time::Instant, std::time::Duration)> = self
            .frames
            .iter()
            .filter(|(t, _)| now.duration_since(*t).as_secs_f64() <= 1.0)
            .collect();
        if recent.len() < 2 {
            return None;
        }
        let slowest = recent
            .iter()
            .map(|(_, d)| d.as_secs_f64())
            .fold(0.0, f64::max);
        Some(format!(
            "UI {} fps · slowest frame {:.1} ms",
            recent.len(),
            slowest * 1e3
        ))
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new(self.training.backend_line()).small());
            ui.separator();
            if let Some(line) = self.frame_stats() {
                ui.label(egui::RichText::new(line).small()).on_hover_text(
                    "frames drawn in the last second, and the longest time one frame spent in the app's own UI code",
                );
                ui.separator();
            }
            ui.label(egui::RichText::new(&self.status).small());
        });
    }
}

impl eframe::App for WorkbenchApp {
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, REMEMBERED_KEY, &self.remembered());
    }

    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain();
        if self.live.running() {
            // Animate at 30 fps while live: the level meter, bars and timeline move between the
            // worker's events (faster would only take CPU from inference on software renderers).
            ctx.request_repaint_after(std::time::Duration::from_millis(33));
        }
        for cmd in std::mem::take(&mut self.pending) {
            self.handle(cmd);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let frame_start = std::time::Instant::now();
        let mut cmds = Vec::new();
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        egui::Panel::left("nav")
            .resizable(false)
            .exact_size(130.0)
            .show(ui, |ui| {
                ui.heading("SER Workbench");
                ui.separator();
                for (tab, name) in [
                    (Tab::Corpora, "Corpora"),
                    (Tab::Features, "Features"),
                    (Tab::Training, "Training"),
                    (Tab::Editor, "Editor"),
                    (Tab::Results, "Results"),
                    (Tab::Runs, "Runs"),
                    (Tab::Live, "Live"),
                ] {
                    if ui.selectable_label(self.tab == tab, name).clicked() {
                        cmds.push(AppCommand::Show(tab));
                    }
                }
                ui.separator();
                ui.label(egui::RichText::new(self.training.short_state()).small());
            });
        egui::CentralPanel::default().show(ui, |ui| match self.tab {
            Tab::Corpora => self.corpora.ui(ui, &mut cmds),
            Tab::Features => {
                let cache = self.training.cache_dir().to_path_buf();
                let n = self
                    .corpora
                    .manifest
                    .as_ref()
                    .map_or(0, |m| m.utterances.len());
                let f = self.training.selected_features_mut();
                self.features.ui(ui, &mut cmds, f, &cache, n);
            }
            Tab::Training => {
                egui::ScrollArea::vertical()
                    .id_salt("training_scroll")
                    .show(ui, |ui| {
                        self.training
                            .ui(ui, &mut cmds, self.corpora.manifest.as_ref())
                    });
            }
            Tab::Results => {
                egui::ScrollArea::vertical()
                    .id_salt("results_scroll")
                    .show(ui, |ui| {
                        if let Some(v) = &self.opened {
                            ui.horizontal(|ui| {
                                ui.label(format!(
                                    "Showing the saved run {}",
                                    v.run_dir
                                        .as_ref()
                                        .map_or(String::new(), |d| d.display().to_string())
                                ));
                                if ui.button("Back to the current run").clicked() {
                                    cmds.push(AppCommand::CloseOpenedRun);
                                }
                            });
                        }
                        if ui
                            .link("Saved runs, comparisons and ensembles: the Runs panel")
                            .clicked()
                        {
                            cmds.push(AppCommand::Show(Tab::Runs));
                        }
                        let view = self.opened.as_ref().unwrap_or(&self.training.view);
                        self.results.ui(ui, view, &mut cmds)
                    });
            }
            Tab::Editor => {
                let n_classes = self
                    .corpora
                    .manifest
                    .as_ref()
                    .map_or(4, |m| m.per_class().len().max(1));
                let dir = self.paths.presets();
                self.editor.ui(
                    ui,
                    &mut cmds,
                    self.training.selected_preset(),
                    n_classes,
                    &dir,
                );
            }
            Tab::Runs => {
                let root = self.paths.runs.clone();
                egui::ScrollArea::vertical()
                    .id_salt("runs_scroll")
                    .show(ui, |ui| self.runs.ui(ui, &mut cmds, &root));
            }
            Tab::Live => {
                let latest = self
                    .training
                    .view
                    .run_dir
                    .clone()
                    .filter(|_| self.training.view.pooled.is_some());
                egui::ScrollArea::vertical()
                    .id_salt("live_scroll")
                    .show(ui, |ui| self.live.ui(ui, &mut cmds, latest.as_deref()));
            }
        });
        for c in cmds {
            self.handle(c);
        }
        self.frames.push_back((frame_start, frame_start.elapsed()));
        while self.frames.len() > 240 {
            self.frames.pop_front();
        }
    }
}

/// What the window starts with (command-line options of `gui`).
#[derive(Clone, Debug, Default)]
pub struct GuiStart {
    /// Create and open the demo corpus, then train the demo preset.
    pub demo: bool,
    /// Preset file to load and select.
    pub preset: Option<PathBuf>,
    /// Corpus to open.
    pub corpus: Option<PathBuf>,
    /// Cross-corpus target.
    pub target_corpus: Option<PathBuf>,
    /// Train the selected preset once the corpus is loaded.
    pub train: bool,
}

/// Starts the native window.
pub fn run_native(start: GuiStart) -> Result<(), String> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size([1280.0, 820.0])
            .with_title("SER Workbench"),
        ..Default::default()
    };
    eframe::run_native(
        "SER Workbench",
        options,
        Box::new(move |cc| {
            let mut app = WorkbenchApp::new(cc, &start);
            app.apply_start(&start);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| format!("cannot open the window: {e}"))
}
