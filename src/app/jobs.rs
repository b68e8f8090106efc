//! Background jobs of the GUI (corpus loading, demo generation, folder picker): each runs on a
//! named thread and sends one result back; the sender wakes the UI.

use std::path::PathBuf;

use crossbeam_channel::{Receiver, Sender, unbounded};
use eframe::egui;

use crate::corpus::{self, CorpusType, Manifest};

/// Result of checking an SSL model folder.
#[derive(Clone, Debug)]
pub struct WeightsInfo {
    /// Summary line.
    pub summary: String,
    /// Checkpoint keys the encoder does not use.
    pub unused: Vec<String>,
}

/// How many files of the open corpus have cached features for a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheCount {
    /// Files with valid cache entries.
    pub cached: usize,
    /// Files in the corpus.
    pub total: usize,
}

/// The Features panel's cache check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CacheCheck {
    /// Not asked (or outdated by an extraction).
    #[default]
    Unknown,
    /// A helper thread is counting.
    Checking,
    /// The count, or why it could not be made.
    Done(Result<CacheCount, String>),
}

/// What a finished feature extraction did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtractSummary {
    /// Files in the corpus.
    pub total: usize,
    /// Files whose features were already cached.
    pub cached: usize,
    /// "path: why" of every file that failed.
    pub failed: Vec<String>,
}

/// What the Results panel shows of a finished run, read on a helper thread.
#[derive(Debug)]
pub struct RunFiles {
    /// The run folder.
    pub run_dir: PathBuf,
    /// `predictions.csv`, or why it cannot be read.
    pub predictions: Result<Vec<crate::train::run_dir::PredictionRow>, String>,
    /// What `report.json` says was learned, or why it cannot be read.
    pub learned: Result<Option<super::interpret::LearnedWeights>, String>,
    /// Dimensional runs: true and predicted values per test utterance (`predictions` is then
    /// empty).
    pub dim_predictions: Option<Result<Vec<crate::train::dim_report::DimPredictionRow>, String>>,
    /// Multi-label runs: each test utterance's truth, votes and probabilities with its
    /// predicted label set (`predictions` is then empty).
    pub label_predictions: Option<Result<Vec<super::multilabel::LabelRow>, String>>,
}

/// Which panel asked for a spectrogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpectrogramFor {
    /// The selected test utterance in the Results panel.
    Results,
    /// The preview in the Features panel.
    Preview,
}

/// A background result about one file, shown in a panel.
#[derive(Clone, Debug)]
pub struct FileJob<T> {
    /// The file it is about (a result for another file is dropped).
    pub path: String,
    /// Running, or its outcome.
    pub state: JobState<T>,
}

/// Where a background job is.
#[derive(Clone, Debug)]
pub enum JobState<T> {
    /// Still running.
    Running,
    /// Done: the value, or why there is none.
    Done(Result<T, String>),
}

impl<T> FileJob<T> {
    /// A job just started for `path`.
    pub fn running(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            state: JobState::Running,
        }
    }

    /// Stores `result` when it is about this job's file; returns whether it was.
    pub fn finish(&mut self, path: &str, result: Result<T, String>) -> bool {
        let same = self.path == path;
        if same {
            self.state = JobState::Done(result);
        }
        same
    }
}

/// A spectrogram in a panel (computed on a helper thread).
pub type SpectrogramState = Option<FileJob<egui::TextureHandle>>;

/// A finished background job.
pub enum JobResult {
    /// A corpus was read (or not).
    Corpus(Result<Manifest, String>),
    /// The demo corpus was written; the folder to open.
    Demo(Result<PathBuf, String>),
    /// The folder picker returned.
    Picked(Option<PathBuf>),
    /// The model-folder picker returned.
    PickedWeights(Option<PathBuf>),
    /// The folder picker could not open.
    PickerFailed(String),
    /// Input devices were listed.
    Devices(Result<Vec<crate::audio::capture::InputDeviceInfo>, String>),
    /// An SSL model folder was checked.
    Weights(Result<WeightsInfo, String>),
    /// A silence scan finished.
    Silence(Vec<crate::corpus::inspect::SilentFile>),
    /// Cache status of the open corpus for a stream.
    CacheStatus(Result<CacheCount, String>),
    /// Feature extraction of the open corpus ended.
    Extracted(Result<ExtractSummary, String>),
    /// A spectrogram image was computed (or could not be).
    Spectrogram(SpectrogramFor, String, Result<egui::ColorImage, String>),
    /// A finished run's predictions and learned weights were read.
    RunFiles(Box<RunFiles>),
    /// A hub download ended.
    Downloaded(Result<PathBuf, String>),
    /// The folds of a Slurm run were collected into its report: the last line of
    /// `train collect` (or why it failed).
    SlurmCollected(PathBuf, Result<String, String>),
    /// A multi-label run was probed on a categorical corpus.
    Probed(Result<crate::train::probe::ProbeTable, String>),
    /// One utterance was traced through a run's models: (audio path, trace or error).
    Trace(String, Result<crate::train::predict::Trace, String>),
    /// The runs folder was listed: finished runs and unreadable reports.
    Runs(Vec<crate::train::runs::RunSummary>, Vec<String>),
    /// A run folder was read for the Results panel.
    OpenedRun(PathBuf, Result<Box<super::run_view::TrainingView>, String>),
    /// An ensemble was written (its folder) or refused.
    Ensembled(Result<PathBuf, String>),
}

/// Spawner + result channel.
pub struct Jobs {
    tx: Sender<JobResult>,
    rx: Receiver<JobResult>,
    paths: crate::paths::Paths,
}

impl Jobs {
    /// Jobs writing generated data into `paths`.
    pub fn new(paths: crate::paths::Paths) -> Self {
        let (tx, rx) = unbounded();
        Self { tx, rx, paths }
    }

    fn spawn(
        &self,
        name: &str,
        ctx: &egui::Context,
        job: impl FnOnce() -> JobResult + Send + 'static,
    ) {
        let tx = self.tx.clone();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                    .unwrap_or_else(|_| JobResult::Corpus(Err("background job panicked".into())));
                let _ = tx.send(r);
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            let _ = self.tx.send(JobResult::Corpus(Err(format!(
                "cannot start a thread: {e}"
            ))));
        }
    }

    /// Counts the utterances whose features for `cfg` are already cached.
    pub fn feature_cache_status(
        &self,
        utts: Vec<crate::corpus::Utterance>,
        cfg: crate::features::FeatureConfig,
        cache_dir: PathBuf,
        ctx: &egui::Context,
    ) {
        self.spawn("ser-cache-check", ctx, move || {
            let cache = crate::features::FeatureCache::new(cache_dir);
            JobResult::CacheStatus(
                crate::train::extract::cache_status(&utts, &cfg, &cache).map(|n| CacheCount {
                    cached: n,
                    total: utts.len(),
                }),
            )
        });
    }

    /// Extracts (and caches) `cfg`'s features of every utterance; progress (done, total, cached)
    /// goes into `progress`. Returns the job's control channel (send `Control::Stop` to stop
    /// between files; finished files stay cached).
    pub fn extract_features(
        &self,
        utts: Vec<crate::corpus::Utterance>,
        cfg: crate::features::FeatureConfig,
        cache_dir: PathBuf,
        progress: std::sync::Arc<std::sync::Mutex<super::run_view::FeatureProgress>>,
        ctx: &egui::Context,
    ) -> Sender<crate::train::Control> {
        let (stop, control) = unbounded();
        let c = ctx.clone();
        self.spawn("ser-extract", ctx, move || {
            let cache = crate::features::FeatureCache::new(cache_dir);
            let emit = |e: crate::train::Event| {
                if let crate::train::Event::Features {
                    done,
                    total,
                    cached,
                } = e
                {
                    if let Ok(mut p) = progress.lock() {
                        *p = super::run_view::FeatureProgress {
                            done,
                            total,
                            cached,
                        };
                    }
                    c.request_repaint();
                }
            };
            let controller = crate::train::control::Controller::new(control);
            JobResult::Extracted(
                crate::train::extract::extract_features(
                    &utts,
                    &cfg,
                    &cache,
                    &burn::prelude::Device::flex(),
                    &controller,
                    &emit,
                )
                .map(|x| {
                    let failed = x
                        .failed
                        .into_iter()
                        .map(|(i, e)| format!("{}: {e}", utts[i].path.display()))
                        .collect();
                    ExtractSummary {
                        total: utts.len(),
                        cached: x.cached,
                        failed,
                    }
                })
                .map_err(|e| e.to_string()),
            )
        });
        stop
    }

    /// Reads a finished run's `predictions.csv` and `report.json`.
    pub fn run_files(&self, run_dir: PathBuf, ctx: &egui::Context) {
        self.spawn("ser-run-files", ctx, move || {
            // report.json once: it says whether the run is dimensional and what it learned.
            let report = crate::train::run_dir::read_report(&run_dir);
            let learned = report
                .as_ref()
                .map(super::interpret::LearnedWeights::from_report)
                .map_err(Clone::clone);
            let report = report.ok();
            let labels = report
                .as_ref()
                .and_then(|r| r.multi_label.as_ref().map(|m| m.labels.clone()));
            let dims = report.and_then(|r| r.dimensional.map(|d| d.dimensions));
            JobResult::RunFiles(Box::new(match (dims, labels) {
                (_, Some(labels)) => RunFiles {
                    predictions: Ok(Vec::new()),
                    dim_predictions: None,
                    label_predictions: Some(
                        crate::train::ml_report::read_predictions(&run_dir, &labels).map(|rows| {
                            rows.into_iter()
                                .map(super::multilabel::LabelRow::from)
                                .collect()
                        }),
                    ),
                    learned,
                    run_dir,
                },
                (Some(dims), None) => RunFiles {
                    predictions: Ok(Vec::new()),
                    dim_predictions: Some(crate::train::dim_report::read_predictions(
                        &run_dir, &dims,
                    )),
                    label_predictions: None,
                    learned,
                    run_dir,
                },
                (None, None) => RunFiles {
                    predictions: crate::train::run_dir::read_predictions(&run_dir),
                    dim_predictions: None,
                    label_predictions: None,
                    learned,
                    run_dir,
                },
            }))
        });
    }

    /// Lists the finished runs of the runs folder.
    pub fn list_runs(&self, roots: Vec<PathBuf>, ctx: &egui::Context) {
        self.spawn("ser-list-runs", ctx, move || {
            let (runs, problems) = crate::train::runs::list(&roots);
            JobResult::Runs(runs, problems)
        });
    }

    /// `train collect` of a run whose folds are Slurm tasks: the grid's binary writes the
    /// report (the same code as a local run's) on this helper thread.
    pub fn collect_slurm_run(&self, dir: PathBuf, ctx: &egui::Context) {
        self.spawn("ser-slurm-collect", ctx, move || {
            let r = (|| {
                let grid = crate::train::slurm::SlurmGrid::read(&dir)?;
                let mut c = grid.collect_run_command()?;
                let out = c
                    .output()
                    .map_err(|e| format!("{}: {e}", grid.binary.display()))?;
                let text = String::from_utf8_lossy(&out.stdout).to_string();
                if !out.status.success() {
                    return Err(format!(
                        "train collect failed: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
                let pooled = text
                    .lines()
                    .find(|l| l.starts_with("pooled test"))
                    .unwrap_or("report written")
                    .to_string();
                Ok(match text.lines().find(|l| l.starts_with("not finished")) {
                    Some(missing) => format!("{pooled}; {missing}"),
                    None => pooled,
                })
            })();
            JobResult::SlurmCollected(dir, r)
        });
    }

    /// Reads a finished run folder into a view for the Results panel.
    pub fn open_run(&self, dir: PathBuf, ctx: &egui::Context) {
        self.spawn("ser-open-run", ctx, move || {
            let r = super::saved_runs::view_of(&dir).map(Box::new);
            JobResult::OpenedRun(dir, r)
        });
    }

    /// Combines finished runs by voting into `<runs>/<timestamp>-ensemble`.
    /// Runs the unseen-corpus probe of a multi-label run.
    pub fn probe(&self, run: PathBuf, corpus: PathBuf, ctx: &egui::Context) {
        self.spawn("ser-probe", ctx, move || {
            JobResult::Probed(crate::train::probe::probe(&run, &corpus, &mut |_, _| {}))
        });
    }

    /// Votes finished runs into an ensemble run folder.
    pub fn ensemble(
        &self,
        runs: Vec<PathBuf>,
        vote: crate::train::ensemble::Vote,
        ctx: &egui::Context,
    ) {
        let root = self.paths.runs.clone();
        self.spawn("ser-ensemble", ctx, move || {
            let r = crate::train::run_dir::RunDir::claim_new(&root, "ensemble").and_then(|out| {
                crate::train::ensemble::ensemble(&runs, vote, &out).map(|e| e.run_dir)
            });
            JobResult::Ensembled(r)
        });
    }

    /// Computes the log-mel image of `path` for a panel.
    pub fn spectrogram(&self, target: SpectrogramFor, path: String, ctx: &egui::Context) {
        self.spawn("ser-spectrogram", ctx, move || {
            let img = super::plots::spectrogram_image(&path);
            JobResult::Spectrogram(target, path, img)
        });
    }

    /// Downloads a hub model into `<data>/models`, reporting progress into `progress`.
    pub fn download_model(
        &self,
        repo: String,
        progress: std::sync::Arc<std::sync::Mutex<crate::ssl::hub::Progress>>,
        ctx: &egui::Context,
    ) {
        let root = self.paths.models.clone();
        let c = ctx.clone();
        self.spawn("ser-download", ctx, move || {
            let r = crate::ssl::hub::download_model(&repo, "main", &root, &|p| {
                if let Ok(mut g) = progress.lock() {
                    *g = p.clone();
                }
                c.request_repaint();
            });
            JobResult::Downloaded(r)
        });
    }

    /// Runs one utterance through a run's fold models with attention/gate traces.
    pub fn trace(&self, run_dir: PathBuf, audio: String, ctx: &egui::Context) {
        self.spawn("ser-trace", ctx, move || {
            let r = crate::train::predict::Predictor::load(&run_dir)
                .and_then(|p| p.trace_file(std::path::Path::new(&audio)));
            JobResult::Trace(audio, r)
        });
    }

    /// Reads a corpus folder.
    pub fn load_corpus(&self, dir: PathBuf, corpus_type: Option<CorpusType>, ctx: &egui::Context) {
        self.spawn("ser-corpus", ctx, move || {
            JobResult::Corpus(corpus::load(&dir, corpus_type).map_err(|e| e.to_string()))
        });
    }

    /// Writes the demo corpus (unless already there) and returns its EMODB-named part.
    pub fn create_demo(&self, ctx: &egui::Context) {
        let out = self.paths.demo();
        self.spawn("ser-demo", ctx, move || {
            let emodb = out.join("emodb");
            if corpus::load(&emodb, None).is_ok_and(|m| !m.utterances.is_empty()) {
                return JobResult::Demo(Ok(emodb));
            }
            JobResult::Demo(corpus::demo::generate(&out, &Default::default()).map(|d| d.emodb_dir))
        });
    }

    /// Lists input devices (ALSA may be slow to answer).
    pub fn list_devices(&self, ctx: &egui::Context) {
        self.spawn("ser-devices", ctx, || {
            JobResult::Devices(crate::audio::capture::list_input_devices().and_then(|d| {
                if d.is_empty() {
                    Err("no input device on this machine".into())
                } else {
                    Ok(d)
                }
            }))
        });
    }

    /// Loads an SSL model folder and summarises it.
    pub fn check_weights(&self, dir: PathBuf, ctx: &egui::Context) {
        self.spawn("ser-weights", ctx, move || {
            let device = burn::prelude::Device::flex();
            JobResult::Weights(crate::ssl::load_encoder(&dir, &device).map(|(_, c, r)| WeightsInfo {
                summary: format!(
                    "{}: {} layers × {} (hidden states 0…{}), {} conv layers (stride {} = {:.0} frames/s), {} tensors loaded, weight norm as {}, input normalisation {}",
                    c.model_type,
                    c.num_hidden_layers,
                    c.hidden_size,
                    c.num_hidden_layers,
                    c.conv_dim.len(),
                    c.total_stride(),
                    16_000.0 / c.total_stride() as f64,
                    r.used,
                    r.weight_norm_keys,
                    if c.do_normalize { "on" } else { "off" }
                ),
                unused: r.unused,
            }))
        });
    }

    /// Decodes every file of `m` and reports the silent ones.
    pub fn scan_silence(&self, m: Manifest, ctx: &egui::Context) {
        self.spawn("ser-scan", ctx, move || {
            JobResult::Silence(crate::corpus::inspect::scan_silence(&m))
        });
    }

    /// Opens the native folder picker off the UI thread.
    pub fn browse(&self, ctx: &egui::Context) {
        self.spawn("ser-picker", ctx, || {
            match std::panic::catch_unwind(|| {
                rfd::FileDialog::new()
                    .set_title("Open corpus folder")
                    .pick_folder()
            }) {
                Ok(p) => JobResult::Picked(p),
                Err(_) => JobResult::PickerFailed(
                    "no file dialog available here — type the folder path instead".into(),
                ),
            }
        });
    }

    /// Opens the native folder picker for an SSL model folder off the UI thread.
    pub fn browse_weights(&self, ctx: &egui::Context) {
        self.spawn("ser-picker", ctx, || {
            match std::panic::catch_unwind(|| {
                rfd::FileDialog::new()
                    .set_title("Open SSL model folder (config.json + model.safetensors or pytorch_model.bin)")
                    .pick_folder()
            }) {
                Ok(p) => JobResult::PickedWeights(p),
                Err(_) => JobResult::PickerFailed(
                    "no file dialog available here — type the model folder path instead".into(),
                ),
            }
        });
    }

    /// Results that arrived since the last call.
    pub fn poll(&self) -> Vec<JobResult> {
        self.rx.try_iter().collect()
    }
}
