//! Training panel: preset, protocol and seed; start / pause / stop; progress with ETA; live loss
//! and accuracy curves per fold. Owns the worker handle and the view of its events.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eframe::egui;
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};

use super::AppCommand;
use super::plots::{fold_color, fold_lines, layer_weights_ui};
pub use super::run_view::TrainingView;
use crate::corpus::Manifest;
use crate::train::{
    BackendChoice, Control, EpochMetrics, Event, Preset, RunRequest, RunState, TrainHandle,
    spawn_training,
};

/// The Training panel.
pub struct TrainingPanel {
    presets: Vec<Preset>,
    selected: usize,
    /// Protocol text (empty = the preset's).
    pub protocol: String,
    /// Seed.
    pub seed: u64,
    /// Epochs per fold.
    pub epochs: usize,
    /// Backend choice.
    pub backend: BackendChoice,
    /// Label map name (`None` = all classes of the corpus).
    pub label_map: Option<String>,
    /// Cross-corpus target folder (empty = ordinary run).
    pub target_corpus: String,
    /// Domain adaptation for cross-corpus runs (`None` = source-only).
    pub adaptation: Option<crate::train::preset::AdaptationConfig>,
    cache_dir: PathBuf,
    runs_root: PathBuf,
    /// Path typed into the preset-file field.
    pub preset_path: String,
    /// Result of the last preset load/save.
    pub preset_message: Option<Result<String, String>>,
    /// Shipped presets that could not be read, with their errors (shown under the picker).
    pub preset_errors: Vec<String>,
    handle: Option<TrainHandle>,
    /// Ablation controls and the last table.
    pub ablation: super::ablation::AblationControls,
    /// Submit "Start training" to Slurm, one array task per fold (the resources are the
    /// ablation's Slurm fields).
    pub run_on_slurm: bool,
    /// Outcome of the last Slurm submission of a single run.
    pub slurm_message: Option<Result<String, String>>,
    /// Whether the running job is an ablation.
    ablation_running: bool,
    /// View of the current run.
    pub view: TrainingView,
    /// Curves against optimiser steps (`None` = automatic: when a run evaluates within epochs).
    pub step_axis: Option<bool>,
}

impl TrainingPanel {
    /// Panel with these presets; features are cached under `cache_dir`, runs go to `runs_root`.
    pub fn new(presets: Vec<Preset>, cache_dir: PathBuf, runs_root: PathBuf) -> Self {
        let mut p = Self {
            presets,
            selected: 0,
            protocol: String::new(),
            seed: 42,
            epochs: 10,
            backend: BackendChoice::Auto,
            label_map: None,
            target_corpus: String::new(),
            adaptation: None,
            cache_dir,
            runs_root,
            preset_path: String::new(),
            preset_message: None,
            preset_errors: Vec::new(),
            handle: None,
            ablation: Default::default(),
            run_on_slurm: false,
            slurm_message: None,
            ablation_running: false,
            view: TrainingView::default(),
            step_axis: None,
        };
        p.apply_preset_defaults();
        p
    }

    fn apply_preset_defaults(&mut self) {
        if let Some(pr) = self.presets.get(self.selected) {
            self.protocol = pr.training.protocol.spelling();
            self.seed = pr.training.seed;
            self.epochs = pr.training.epochs;
            self.adaptation = pr.training.adaptation.clone();
        }
    }

    /// The selected preset as the next run will start from it.
    pub fn selected_preset(&self) -> Option<&Preset> {
        self.presets.get(self.selected)
    }

    /// Feature settings of the selected preset, for the Features panel to edit.
    pub fn selected_features_mut(&mut self) -> Option<&mut crate::features::FeatureConfig> {
        self.presets.get_mut(self.selected).map(|p| &mut p.features)
    }

    /// Feature cache folder.
    pub fn cache_dir(&self) -> &std::path::Path {
        &self.cache_dir
    }

    /// Selects a preset by name (no-op when absent).
    pub fn select_preset(&mut self, name: &str) {
        if let Some(i) = self.presets.iter().position(|p| p.name == name) {
            self.selected = i;
            self.apply_preset_defaults();
        }
    }

    /// Adds a preset to the picker and selects it. A preset of the same name and content is
    /// selected as it is; one of the same name but other content is added as `alt_name`.
    /// Returns the name it is listed under.
    pub fn add_preset(&mut self, mut p: Preset, alt_name: &str) -> String {
        match self.presets.iter().position(|q| q.name == p.name) {
            Some(i) if self.presets[i] == p => {}
            Some(_) => {
                p.name = alt_name.to_string();
                match self.presets.iter().position(|q| q.name == p.name) {
                    Some(i) => self.presets[i] = p.clone(),
                    None => self.presets.push(p.clone()),
                }
            }
            None => self.presets.push(p.clone()),
        }
        self.select_preset(&p.name);
        p.name
    }

    /// Adds a preset to the picker, replacing one of the same name, and selects it.
    pub fn put_preset(&mut self, p: Preset) {
        let name = p.name.clone();
        match self.presets.iter().position(|q| q.name == p.name) {
            Some(i) => self.presets[i] = p,
            None => self.presets.push(p),
        }
        self.select_preset(&name);
    }

    /// Every preset in the picker.
    pub fn presets(&self) -> &[Preset] {
        &self.presets
    }

    /// Reads a preset RON file, adds it to the picker and selects it.
    pub fn load_preset_file(&mut self, path: &std::path::Path) {
        self.preset_message = Some(match Preset::load(path) {
            Ok(p) => {
                let name = p.name.clone();
                match self.presets.iter().position(|q| q.name == p.name) {
                    Some(i) => self.presets[i] = p,
                    None => self.presets.push(p),
                }
                self.select_preset(&name);
                Ok(format!("loaded preset '{name}' from {}", path.display()))
            }
            Err(e) => Err(e.to_string()),
        });
    }

    /// Writes the selected preset (with the panel's protocol, seed and epochs) as RON.
    pub fn save_preset_file(&mut self, path: &std::path::Path) {
        let Some(mut p) = self.presets.get(self.selected).cloned() else {
            return;
        };
        match self.protocol.trim().parse() {
            Ok(protocol) => p.training.protocol = protocol,
            Err(e) => {
                self.preset_message = Some(Err(format!("not saved: {e}")));
                return;
            }
        }
        p.training.seed = self.seed;
        p.training.epochs = self.epochs;
        self.preset_message = Some(
            p.save(path)
                .map(|()| format!("saved preset '{}' to {}", p.name, path.display()))
                .map_err(|e| format!("{}: cannot write preset: {e}", path.display())),
        );
    }

    /// Cross-corpus target and domain adaptation (the Adaptation controls).
    /// The selected preset's text stream: its encoder, and a transcript CSV for corpora that do
    /// not ship transcripts (attached when the run starts; the count the corpus has now).
    /// Training-time augmentation of the selected preset, and a multi-label preset's test
    /// restriction to high annotator agreement.
    fn augment_ui(&mut self, ui: &mut egui::Ui) {
        use crate::audio::augment::{AugmentConfig, SpeedPerturb};
        use crate::features::StreamKind;
        let Some(p) = self.presets.get_mut(self.selected) else {
            return;
        };
        if let crate::train::task::Task::MultiLabel(m) = &mut p.task {
            ui.horizontal(|ui| {
                let mut on = m.test_min_agreement.is_some();
                if ui
                    .checkbox(&mut on, "Test only utterances with annotator agreement ≥")
                    .on_hover_text("every label group (and ungrouped label) reached this many agreeing annotators without a tie — the SpeechMLC paper's test set; training and validation keep everything")
                    .changed()
                {
                    m.test_min_agreement = on.then_some(m.min_agreement);
                }
                if let Some(k) = &mut m.test_min_agreement {
                    ui.add(egui::DragValue::new(k).range(1.0..=100.0).speed(1.0));
                }
            });
        }
        let can = matches!(
            p.features.stream,
            StreamKind::LogMel | StreamKind::Mfcc | StreamKind::Functionals
        ) || matches!(p.model, crate::model::ModelConfig::SslFineTune(_));
        let mut on = p
            .training
            .augment
            .as_ref()
            .is_some_and(AugmentConfig::is_active);
        let text = match p.training.augment.as_ref().filter(|a| a.is_active()) {
            Some(a) => format!("Augment training audio: {}", a.describe()),
            None => "Augment training audio (speed 0.9–1.1, pitch ±1 semitone, noise 15–30 dB SNR)"
                .into(),
        };
        let r = ui
            .add_enabled(can, egui::Checkbox::new(&mut on, text))
            .on_hover_text("training part only, a new variant every epoch; validation and test stay clean")
            .on_disabled_hover_text("needs a log-mel or MFCC stream (computed during training) or a fine-tuned encoder; SSL streams are cached once per utterance");
        if r.changed() {
            p.training.augment = on.then(|| AugmentConfig {
                speed: Some(SpeedPerturb::Range(0.9, 1.1)),
                pitch_semitones: Some((-1.0, 1.0)),
                noise_snr_db: Some((15.0, 30.0)),
                probability: 0.5,
            });
        }
    }

    fn text_ui(&mut self, ui: &mut egui::Ui, manifest: Option<&Manifest>) {
        let Some(t) = self
            .presets
            .get_mut(self.selected)
            .and_then(|p| p.text.as_mut())
        else {
            return;
        };
        ui.horizontal(|ui| {
            ui.label(format!("Text stream: {}", t.describe()))
                .on_hover_text("each utterance's transcript is encoded, pooled and concatenated with the pooled audio before the head (the distilled audio-textual paper, figure 1b)");
            let l = ui.label("Transcripts CSV");
            let mut path = t
                .transcripts
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            if ui
                .add(
                    egui::TextEdit::singleline(&mut path)
                        .desired_width(260.0)
                        .hint_text("file,text (optional)"),
                )
                .labelled_by(l.id)
                .changed()
            {
                t.transcripts = (!path.trim().is_empty()).then(|| path.trim().into());
            }
        });
        if let Some(m) = manifest {
            let all = m.utterances.len() + m.uncategorised.len();
            let with = all - crate::corpus::transcripts::without_text(m);
            let note = if t.transcripts.is_some() {
                " (the CSV is attached when the run starts)"
            } else if with < all {
                " (the rest get the empty text)"
            } else {
                ""
            };
            ui.label(
                egui::RichText::new(format!(
                    "{with} of {all} utterances of the corpus have a transcript{note}"
                ))
                .small(),
            );
        }
    }

    fn adaptation_ui(&mut self, ui: &mut egui::Ui) {
        use crate::train::preset::{AdaptMethod, AdaptationConfig, AlignedLayer};
        ui.horizontal(|ui| {
            let l = ui.label("Target corpus (cross-corpus, optional)");
            ui.add(
                egui::TextEdit::singleline(&mut self.target_corpus)
                    .desired_width(300.0)
                    .hint_text("test on this corpus"),
            )
            .labelled_by(l.id);
            let mut on = self.adaptation.is_some();
            if ui.checkbox(&mut on, "Domain adaptation").changed() {
                self.adaptation = on.then(AdaptationConfig::default);
            }
            if let Some(a) = self.adaptation.as_mut() {
                egui::ComboBox::from_label("Method")
                    .selected_text(format!("{:?}", a.method))
                    .show_ui(ui, |ui| {
                        for m in [
                            AdaptMethod::Lmmd,
                            AdaptMethod::CentroidLmmd,
                            AdaptMethod::Mmd,
                            AdaptMethod::Coral,
                        ] {
                            ui.selectable_value(&mut a.method, m, format!("{m:?}"));
                        }
                    });
                let l = ui.label("λ");
                ui.add(
                    egui::DragValue::new(&mut a.lambda)
                        .range(0.0..=10.0)
                        .speed(0.05),
                )
                .labelled_by(l.id);
                let mut ramp = a.ramp_gamma.is_some();
                if ui.checkbox(&mut ramp, "ramp λ").changed() {
                    a.ramp_gamma = ramp.then_some(10.0);
                }
                egui::ComboBox::from_label("Aligned")
                    .selected_text(a.aligned_layer.name())
                    .show_ui(ui, |ui| {
                        for l in [
                            AlignedLayer::Embedding,
                            AlignedLayer::HeadHidden1,
                            AlignedLayer::HeadHidden2,
                        ] {
                            ui.selectable_value(&mut a.aligned_layer, l, l.name());
                        }
                    });
            }
        });
        if !self.target_corpus.trim().is_empty() {
            ui.label(
                egui::RichText::new("Cross-corpus: trains on the open corpus, tests on all of the target (shared classes); the target's labels are never used for training.")
                    .small(),
            );
        }
    }

    /// Starts a run on `corpus_dir` (or submits it to Slurm with "Run on Slurm").
    pub fn start(&mut self, corpus_dir: PathBuf, ctx: egui::Context) -> Result<(), String> {
        if self.run_on_slurm {
            let r = self.submit_run(corpus_dir);
            self.slurm_message = Some(r.clone());
            return r.map(|_| ());
        }
        if self.view.running() {
            return Err("a run is already in progress".into());
        }
        let mut preset = self
            .presets
            .get(self.selected)
            .cloned()
            .ok_or("no preset selected")?;
        preset.training.epochs = self.epochs.max(1);
        if self.adaptation.is_some() {
            preset.training.adaptation = self.adaptation.clone();
        }
        let protocol: crate::corpus::Protocol = self.protocol.trim().parse()?;
        let out_dir = crate::train::run_dir::RunDir::claim_new(&self.runs_root, &preset.name)?;
        let req = RunRequest {
            preset,
            corpus_dirs: vec![corpus_dir],
            label_map: self.label_map.clone(),
            target_corpus: (!self.target_corpus.trim().is_empty())
                .then(|| self.target_corpus.trim().into()),
            corpus_type: None,
            protocol: Some(protocol),
            seed: Some(self.seed),
            out_dir: Some(out_dir),
            cache_dir: self.cache_dir.clone(),
            backend: self.backend,
            folds: crate::train::FoldScope::All,
        };
        let waker: crate::train::worker::Waker = std::sync::Arc::new(move || ctx.request_repaint());
        let handle = spawn_training(req, Some(waker))
            .map_err(|e| format!("cannot start the training thread: {e}"))?;
        self.view = TrainingView {
            started: Some(Instant::now()),
            ..Default::default()
        };
        self.handle = Some(handle);
        Ok(())
    }

    /// The run "Start training" would start, as a Slurm job array with one task per fold into a
    /// new run folder (README, "On a cluster"); the Runs panel follows it and collects it.
    fn submit_run(&mut self, corpus_dir: PathBuf) -> Result<String, String> {
        let mut preset = self
            .presets
            .get(self.selected)
            .cloned()
            .ok_or("no preset selected")?;
        preset.training.epochs = self.epochs.max(1);
        if self.adaptation.is_some() {
            preset.training.adaptation = self.adaptation.clone();
        }
        let protocol: crate::corpus::Protocol = self.protocol.trim().parse()?;
        let target = (!self.target_corpus.trim().is_empty())
            .then(|| PathBuf::from(self.target_corpus.trim()));
        let req = RunRequest {
            preset,
            corpus_dirs: vec![corpus_dir.clone()],
            label_map: self.label_map.clone(),
            target_corpus: target.clone(),
            corpus_type: None,
            protocol: Some(protocol),
            seed: Some(self.seed),
            out_dir: None,
            cache_dir: self.cache_dir.clone(),
            backend: self.backend,
            folds: crate::train::FoldScope::All,
        };
        let folds = crate::train::run::plan_fold_names(&req, &|_| {})?;
        let setup = self.slurm_setup(corpus_dir, target.as_deref(), &protocol)?;
        let out_dir = crate::train::run_dir::RunDir::claim_new(&self.runs_root, &req.preset.name)?;
        let mut grid = crate::train::slurm::prepare_folds(
            &req.preset,
            self.seed,
            folds.len(),
            &out_dir,
            setup,
        )?;
        let job = grid.submit_all()?;
        Ok(format!(
            "submitted job {job}: {} folds of {} to Slurm, into {}; the Runs panel shows their states and collects the report",
            folds.len(),
            req.preset.name,
            out_dir.display()
        ))
    }

    /// Starts an ablation of the chosen presets on `corpus_dir` (same protocol, label map,
    /// target corpus and epochs as a single run from this panel; adaptation as each preset says).
    pub fn start_ablation(
        &mut self,
        corpus_dir: PathBuf,
        ctx: egui::Context,
    ) -> Result<(), String> {
        if self.view.running() {
            return Err("a run is already in progress".into());
        }
        let presets: Vec<Preset> = self
            .presets
            .iter()
            .filter(|p| self.ablation.chosen.contains(&p.name))
            .cloned()
            .map(|mut p| {
                // Each preset keeps its own adaptation (a row without it is the baseline).
                p.training.epochs = self.epochs.max(1);
                p
            })
            .collect();
        if presets.len() < 2 {
            return Err("choose at least two presets for an ablation".into());
        }
        let protocol: crate::corpus::Protocol = self.protocol.trim().parse()?;
        let out_dir = crate::train::run_dir::RunDir::claim_new(&self.runs_root, "ablation")?;
        if self.ablation.on_slurm {
            return self.submit_ablation(presets, corpus_dir, protocol, out_dir);
        }
        let req = crate::train::ablation::AblationRequest {
            presets,
            corpus_dirs: vec![corpus_dir],
            target_corpus: (!self.target_corpus.trim().is_empty())
                .then(|| self.target_corpus.trim().into()),
            label_map: self.label_map.clone(),
            protocol: Some(protocol),
            seeds: self.ablation.seeds(self.seed)?,
            out_dir: out_dir.clone(),
            cache_dir: self.cache_dir.clone(),
            backend: self.backend,
        };
        let waker: crate::train::worker::Waker = std::sync::Arc::new(move || ctx.request_repaint());
        let handle = crate::train::worker::spawn_with(
            move |c, emit| {
                crate::train::ablation::run_ablation(&req, c, emit)?;
                emit(Event::State(RunState::Finished));
                Ok(())
            },
            Some(waker),
        )
        .map_err(|e| format!("cannot start the ablation thread: {e}"))?;
        self.view = TrainingView {
            started: Some(Instant::now()),
            ..Default::default()
        };
        self.ablation.out_dir = Some(out_dir);
        self.ablation.table = None;
        self.ablation_running = true;
        self.handle = Some(handle);
        Ok(())
    }

    /// What every Slurm task of this panel's run or ablation runs: the program, its `train`
    /// arguments for the corpus, protocol, label map, backend and cache, and the resource fields.
    fn slurm_setup(
        &self,
        corpus_dir: PathBuf,
        target: Option<&std::path::Path>,
        protocol: &crate::corpus::Protocol,
    ) -> Result<crate::train::slurm::GridSetup, String> {
        let binary = match &self.ablation.slurm_binary {
            Some(b) => b.clone(),
            None => {
                std::env::current_exe().map_err(|e| format!("the path of this program: {e}"))?
            }
        };
        Ok(crate::train::slurm::GridSetup {
            protocol: protocol.spelling(),
            corpus: vec![corpus_dir.clone()],
            target_corpus: target.map(PathBuf::from),
            train_args: crate::train::slurm::train_args(
                &[corpus_dir],
                target,
                self.label_map.as_deref(),
                None,
                &protocol.spelling(),
                self.backend,
                &self.cache_dir,
            )?,
            binary,
            options: self.ablation.slurm_options.options()?,
        })
    }

    /// Submits the ablation grid to Slurm (`sbatch` answers at once; the panel then follows
    /// the task states).
    fn submit_ablation(
        &mut self,
        presets: Vec<Preset>,
        corpus_dir: PathBuf,
        protocol: crate::corpus::Protocol,
        out_dir: PathBuf,
    ) -> Result<(), String> {
        let target = (!self.target_corpus.trim().is_empty())
            .then(|| PathBuf::from(self.target_corpus.trim()));
        let seeds = self.ablation.seeds(self.seed)?;
        let setup = self.slurm_setup(corpus_dir, target.as_deref(), &protocol)?;
        let mut grid = crate::train::slurm::prepare(&presets, &seeds, &out_dir, setup)?;
        let n = grid.tasks.len();
        let job = grid.submit_all()?;
        self.ablation.out_dir = Some(out_dir);
        self.ablation.table = None;
        self.ablation.slurm = Some(super::ablation::SlurmJob::new(grid));
        self.ablation.refresh_slurm();
        if let Some(j) = &mut self.ablation.slurm {
            j.message = Some(Ok(format!("submitted job {job}: {n} tasks")));
        }
        Ok(())
    }

    /// Sends a control command to the worker.
    pub fn control(&mut self, c: Control) {
        if let Some(h) = &self.handle {
            h.send(c);
        }
    }

    /// Applies pending worker events, for at most `budget` of wall time.
    pub fn drain(&mut self, budget: Duration) {
        let Some(h) = &self.handle else { return };
        let t = Instant::now();
        while t.elapsed() < budget {
            match h.events.try_recv() {
                Ok(ev) => self.view.apply(ev),
                Err(_) => break,
            }
        }
        if h.is_finished() && h.events.is_empty() {
            if let Some(h) = self.handle.take() {
                h.join();
            }
            if std::mem::take(&mut self.ablation_running) {
                self.ablation.load_table();
            }
            if self.view.running() {
                self.view.state = Some(RunState::Failed(
                    "the training worker ended without a final state".into(),
                ));
            }
        }
    }

    /// One line for the navigation column.
    pub fn short_state(&self) -> String {
        match &self.view.state {
            None => "idle".into(),
            Some(RunState::Failed(_)) => "run failed".into(),
            Some(RunState::Started | RunState::Resumed) => {
                format!("training {:.0}%", self.view.progress() * 100.0)
            }
            Some(s) => format!("{s:?}").to_lowercase(),
        }
    }

    /// Backend line for the status bar.
    pub fn backend_line(&self) -> String {
        if self.view.backend.is_empty() {
            "backend: chosen when a run starts".into()
        } else {
            format!("backend: {}", self.view.backend)
        }
    }

    /// Draws the panel.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        cmds: &mut Vec<AppCommand>,
        manifest: Option<&Manifest>,
    ) {
        ui.heading("Training");
        let running = self.view.running();
        ui.add_enabled_ui(!running, |ui| {
            ui.horizontal(|ui| {
                let before = self.selected;
                egui::ComboBox::from_label("Preset")
                    .selected_text(self.presets.get(self.selected).map_or("—", |p| p.name.as_str()))
                    .show_ui(ui, |ui| {
                        for (i, p) in self.presets.iter().enumerate() {
                            ui.selectable_value(&mut self.selected, i, &p.name).on_hover_text(&p.description);
                        }
                    });
                if before != self.selected {
                    self.apply_preset_defaults();
                }
                if !self.preset_errors.is_empty() {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        format!("{} preset(s) could not be read", self.preset_errors.len()),
                    )
                    .on_hover_text(self.preset_errors.join("\n"));
                }
                let l = ui.label("Protocol");
                egui::ComboBox::from_id_salt("protocol").selected_text(&self.protocol).show_ui(ui, |ui| {
                    for p in ["loso", "speaker-kfold:5", "speaker-kfold:10", "session-loso", "official", "holdout:0.2", "kfold:5", "kfold:10"] {
                        ui.selectable_value(&mut self.protocol, p.to_string(), p);
                    }
                })
                .response
                .labelled_by(l.id);
                let dependent = self.protocol.starts_with("kfold") || manifest.is_some_and(|m| !m.speakers_known());
                if dependent {
                    ui.colored_label(ui.visuals().warn_fg_color, "speaker-dependent")
                        .on_hover_text("The same speakers appear in training and test: results overstate accuracy on new speakers.");
                } else {
                    ui.colored_label(egui::Color32::from_rgb(60, 160, 90), "speaker-independent");
                }
            });
            ui.horizontal(|ui| {
                let l = ui.label("Preset file");
                ui.add(egui::TextEdit::singleline(&mut self.preset_path).desired_width(320.0).hint_text("path/to/preset.ron"))
                    .labelled_by(l.id);
                let path = std::path::PathBuf::from(self.preset_path.trim());
                let has_path = !self.preset_path.trim().is_empty();
                if ui.add_enabled(has_path, egui::Button::new("Load preset file")).clicked() {
                    self.load_preset_file(&path);
                }
                if ui.add_enabled(has_path, egui::Button::new("Save preset as")).clicked() {
                    self.save_preset_file(&path);
                }
            });
            match &self.preset_message {
                Some(Ok(m)) => {
                    ui.label(egui::RichText::new(m).small());
                }
                Some(Err(e)) => {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
                None => {}
            }
            ui.horizontal(|ui| {
                let l = ui.label("Seed");
                ui.add(egui::DragValue::new(&mut self.seed)).labelled_by(l.id);
                let l = ui.label("Epochs per fold");
                ui.add(egui::DragValue::new(&mut self.epochs).range(1..=1000)).labelled_by(l.id);
                egui::ComboBox::from_label("Backend").selected_text(format!("{:?}", self.backend)).show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.backend, BackendChoice::Auto, "Auto (GPU when present)");
                    ui.selectable_value(&mut self.backend, BackendChoice::Cpu, "CPU");
                    ui.selectable_value(&mut self.backend, BackendChoice::Gpu, "GPU");
                });

                let task = self.presets.get(self.selected).map(|p| &p.task);
                let task_line = match task {
                    Some(crate::train::task::Task::Dimensional(d)) => Some((
                        format!("Task: dimensional ({})", d.dimensions.join(", ")),
                        "regression with the 1 − CCC loss; classes and label maps do not apply",
                    )),
                    Some(crate::train::task::Task::MultiLabel(m)) => Some((
                        format!(
                            "Task: multi-label (positive at ≥ {} votes; {})",
                            m.min_agreement,
                            if m.labels.is_empty() {
                                "every vote column".to_string()
                            } else {
                                m.labels.join(", ")
                            }
                        ),
                        "one sigmoid per label from the manifest's vote or labels columns; label maps do not apply",
                    )),
                    _ => None,
                };
                match task_line {
                    // Dimensional and multi-label presets read their own targets; no label map applies.
                    Some((line, hover)) => {
                        ui.label(line).on_hover_text(hover);
                    }
                    None => {
                        egui::ComboBox::from_label("Label map")
                            .selected_text(self.label_map.as_deref().unwrap_or("all classes"))
                            .show_ui(ui, |ui| {
                                ui.selectable_value(&mut self.label_map, None, "all classes");
                                for name in crate::corpus::label_map::NAMED.iter().filter(|n| **n != "all") {
                                    ui.selectable_value(&mut self.label_map, Some(name.to_string()), *name);
                                }
                            });
                    }
                }
            });
            self.adaptation_ui(ui);
            self.text_ui(ui, manifest);
            if let Some(p) = self.presets.get_mut(self.selected) {
                super::multitask::preset_tasks_ui(ui, p, manifest);
            }
            self.augment_ui(ui);
        });
        ui.horizontal(|ui| {
            let can_start = (!running || self.run_on_slurm) && manifest.is_some();
            let start = if self.run_on_slurm {
                "Submit run to Slurm"
            } else {
                "Start training"
            };
            if ui
                .add_enabled(can_start, egui::Button::new(start))
                .clicked()
            {
                cmds.push(AppCommand::StartTraining);
            }
            ui.checkbox(&mut self.run_on_slurm, "Run folds on Slurm")
                .on_hover_text("submit the run as a Slurm job array, one task per fold (resources below); the Runs panel follows it and collects the report");
            let paused = matches!(self.view.state, Some(RunState::Paused));
            if paused {
                if ui.button("Resume").clicked() {
                    cmds.push(AppCommand::Control(Control::Resume));
                }
            } else if ui
                .add_enabled(running, egui::Button::new("Pause"))
                .clicked()
            {
                cmds.push(AppCommand::Control(Control::Pause));
            }
            if ui.add_enabled(running, egui::Button::new("Stop")).clicked() {
                cmds.push(AppCommand::Control(Control::Stop));
            }
            match manifest {
                Some(m) => ui.label(format!(
                    "corpus: {} ({} utterances{})",
                    m.root.display(),
                    m.utterances.len(),
                    if m.uncategorised.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " + {} without an emotion class, for dimensional and multi-label runs",
                            m.uncategorised.len()
                        )
                    }
                )),
                None => ui.label("open a corpus in the Corpora panel first"),
            };
        });
        if self.run_on_slurm {
            self.ablation.slurm_options.ui(ui);
            super::plots::outcome_ui(ui, &self.slurm_message);
        }
        self.progress_ui(ui);
        self.curves_ui(ui);
        adapt_curve_ui(ui, &self.view.epoch_metrics);
        super::interpret::alpha_ui(ui, &self.view.epoch_metrics);
        super::interpret::gate_ui(ui, &self.view.epoch_metrics, &self.view.classes);
        super::interpret::scatter_ui(ui, &self.view.epoch_metrics);
        let last = self.view.epoch_metrics.last();
        if last.is_some_and(|m| !m.tasks.is_empty()) {
            super::plots::layer_weights_from(
                ui,
                last.and_then(|m| m.layer_weights.as_ref()),
                "Layer integration weights (live): ARI's share of each lower layer, mean over channels — or the weighted sum's softmax",
                1,
                "transformer layer",
            );
        } else {
            layer_weights_ui(
                ui,
                last.and_then(|m| m.layer_weights.as_ref()),
                "Learned layer weights (SSL hidden states, or TIM-Net blocks; live, softmax)",
            );
        }
        self.live_confusion_ui(ui);
        let (ablation, presets) = (&mut self.ablation, &self.presets);
        ablation.tick(ui.ctx());
        egui::CollapsingHeader::new("Ablation: compare presets")
            .default_open(ablation.table.is_some() || ablation.slurm.is_some())
            .show(ui, |ui| ablation.ui(ui, presets, running, cmds));
        ui.collapsing(format!("Log ({} lines)", self.view.log.len()), |ui| {
            egui::ScrollArea::vertical()
                .max_height(160.0)
                .stick_to_bottom(true)
                .show(ui, |ui| {
                    for l in &self.view.log {
                        ui.label(egui::RichText::new(l).monospace().small());
                    }
                });
        });
    }

    fn progress_ui(&self, ui: &mut egui::Ui) {
        let v = &self.view;
        let Some(state) = &v.state else { return };
        if let RunState::Failed(m) = state {
            ui.colored_label(ui.visuals().error_fg_color, format!("Run failed: {m}"));
        }
        let super::run_view::FeatureProgress {
            done: fdone,
            total: ftotal,
            cached: fcached,
        } = v.features;
        if ftotal > 0 && fdone < ftotal {
            ui.add(
                egui::ProgressBar::new(fdone as f32 / ftotal as f32)
                    .text(format!("features {fdone}/{ftotal} ({fcached} cached)")),
            );
        }
        let frac = v.progress();
        let eta = match (v.started, frac) {
            (Some(t), f) if f > 0.01 && f < 1.0 => {
                let secs = t.elapsed().as_secs_f64() / f as f64 * (1.0 - f as f64);
                format!(" — ETA {}", fmt_secs(secs))
            }
            _ => String::new(),
        };
        let super::run_view::Position {
            fold,
            epoch,
            step,
            steps_per_epoch: spe,
        } = v.position;
        let pct = frac * 100.0;
        let text = if spe > 0 && v.running() {
            format!(
                "{pct:.0}% · fold {}/{} · epoch {epoch}/{} · step {step}/{spe}{eta}",
                fold + 1,
                v.folds.len(),
                v.epochs
            )
        } else {
            format!("{pct:.0}% · {}", format!("{state:?}").to_lowercase())
        };
        ui.add(egui::ProgressBar::new(frac).text(text));
        if let Some(d) = &v.run_dir {
            ui.label(format!("run folder: {}", d.display()));
        }
        if !v.independence.is_empty() {
            ui.label(format!(
                "protocol: {} folds, {} · leakage check: {}",
                v.folds.len(),
                v.independence,
                leak_summary(&v.leakage)
            ))
            .on_hover_text(v.leakage.join("\n"));
        }
    }

    fn curves_ui(&mut self, ui: &mut egui::Ui) {
        curves_of(ui, &self.view, &mut self.step_axis);
    }
}

/// Loss and accuracy (or CCC / macro F1) curves per fold, the auxiliary tasks' curves and the
/// learning rate of a run (live, or read back from a run folder's `metrics.csv`).
pub(crate) fn curves_of(ui: &mut egui::Ui, v: &TrainingView, step_axis_choice: &mut Option<bool>) {
    {
        if v.epoch_metrics.is_empty() {
            return;
        }
        // Runs that evaluate every N steps have several points per epoch: a step axis shows
        // them apart (and is the default there).
        let several_per_epoch = v
            .epoch_metrics
            .windows(2)
            .any(|w| w[0].fold == w[1].fold && w[0].epoch == w[1].epoch);
        let has_steps = v.epoch_metrics.iter().any(|m| m.step > 0);
        let step_axis = has_steps && step_axis_choice.unwrap_or(several_per_epoch);
        if has_steps {
            let mut on = step_axis;
            if ui
                .checkbox(&mut on, "x axis: optimiser steps (else epochs)")
                .changed()
            {
                *step_axis_choice = Some(on);
            }
        }
        let x_of = move |m: &EpochMetrics| {
            if step_axis {
                m.step as f64
            } else {
                m.epoch as f64
            }
        };
        let series = |f: fn(&EpochMetrics) -> f64, fold: usize| -> Vec<[f64; 2]> {
            v.epoch_metrics
                .iter()
                .filter(|m| m.fold == fold && f(m).is_finite())
                .map(|m| [x_of(m), f(m)])
                .collect()
        };
        let x_label = if step_axis { "optimiser step" } else { "epoch" };
        let n_folds = v
            .epoch_metrics
            .iter()
            .map(|m| m.fold + 1)
            .max()
            .unwrap_or(0);
        let width = ui.available_width() / 2.0 - 8.0;
        let height = 260.0;
        let stages = super::multitask::stage_starts(&v.epoch_metrics, &x_of);
        ui.horizontal(|ui| {
            let loss = [
                ("train", (|m: &EpochMetrics| m.train_loss) as Metric),
                ("valid", |m| m.valid_loss),
            ];
            let acc = [
                ("train WA", (|m: &EpochMetrics| m.train_wa) as Metric),
                ("valid UA", |m| m.valid_ua),
            ];
            // Dimensional runs: validation mean CCC (no training accuracy).
            let ccc = [
                ("train", (|_: &EpochMetrics| f64::NAN) as Metric),
                ("valid mean CCC", |m: &EpochMetrics| {
                    m.valid_ccc
                        .as_ref()
                        .map_or(f64::NAN, |c| c.iter().sum::<f64>() / c.len().max(1) as f64)
                }),
            ];
            let dimensional = v.dimensional;
            // Multi-label runs: exact label-set accuracy in training, validation macro F1.
            let multi_label = v
                .epoch_metrics
                .last()
                .is_some_and(|m| m.valid_ua.is_nan() && !m.valid_macro_f1.is_nan());
            let f1 = [
                ("train exact set", (|m: &EpochMetrics| m.train_wa) as Metric),
                ("valid macro F1", |m: &EpochMetrics| m.valid_macro_f1),
            ];
            fold_curves(
                ui,
                "loss_plot",
                "Loss (solid = train, dashed = validation)",
                [width, height],
                n_folds,
                &series,
                loss,
                false,
                x_label,
                &stages,
            );
            if multi_label {
                fold_curves(
                    ui,
                    "f1_plot",
                    "Multi-label (solid = train exact label set, dashed = validation macro F1)",
                    [width, height],
                    n_folds,
                    &series,
                    f1,
                    true,
                    x_label,
                    &stages,
                );
            } else if dimensional {
                fold_curves(
                    ui,
                    "ccc_plot",
                    "Validation CCC, mean over dimensions (dashed)",
                    [width, height],
                    n_folds,
                    &series,
                    ccc,
                    true,
                    x_label,
                    &stages,
                );
            } else {
                fold_curves(
                    ui,
                    "acc_plot",
                    "Accuracy (solid = train WA, dashed = validation UA)",
                    [width, height],
                    n_folds,
                    &series,
                    acc,
                    true,
                    x_label,
                    &stages,
                );
            }
        });
        super::multitask::task_curves_ui(ui, &v.epoch_metrics, &x_of, x_label);
        learning_rate_ui(ui, &v.learning_rates, n_folds);
    }
}

impl TrainingPanel {
    /// The latest validation confusion matrix beside the finished folds' test scores.
    fn live_confusion_ui(&self, ui: &mut egui::Ui) {
        let v = &self.view;
        let Some(m) = v.epoch_metrics.last() else {
            return;
        };
        if m.valid_ua.is_nan() && !m.valid_macro_f1.is_nan() {
            // Multi-label: no confusion matrix (labels are not exclusive).
            ui.label(
                egui::RichText::new(format!(
                    "Validation macro F1 over {} labels, fold {} epoch {} (live): {:.3}",
                    v.classes.len(),
                    m.fold + 1,
                    m.epoch,
                    m.valid_macro_f1
                ))
                .strong(),
            );
            return;
        }
        if v.dimensional {
            // No confusion matrix: validation CCC per dimension and the finished folds.
            ui.label(
                egui::RichText::new(format!(
                    "Validation CCC, fold {} epoch {} (live): {}",
                    m.fold + 1,
                    m.epoch,
                    v.classes
                        .iter()
                        .zip(m.valid_ccc.as_deref().unwrap_or_default())
                        .map(|(d, c)| format!("{d} {c:.3}"))
                        .collect::<Vec<_>>()
                        .join(" · ")
                ))
                .strong(),
            );
            if let Some(w) = &m.dimension_layer_weights {
                super::dimensional::layer_weights_per_dimension_ui(ui, &v.classes, w);
            }
            return;
        }
        ui.columns(2, |cols| {
            cols[0].label(
                egui::RichText::new(format!(
                    "Validation confusion, fold {} epoch {} (live)",
                    m.fold + 1,
                    m.epoch
                ))
                .strong(),
            );
            super::confusion::confusion_ui(
                &mut cols[0],
                &v.classes,
                &m.valid_confusion,
                false,
                40.0,
            );
            cols[1].label(egui::RichText::new("Finished folds (test, best checkpoint)").strong());
            super::plots::fold_table_ui(&mut cols[1], "live_folds", v);
            if let Some(p) = &v.pooled {
                cols[1].label(format!(
                    "pooled test: WA {:.3} · UA {:.3} · macro-F1 {:.3}",
                    p.wa, p.ua, p.macro_f1
                ));
            }
        });
    }
}

/// Picks one value out of an epoch's metrics.
type Metric = fn(&EpochMetrics) -> f64;

/// One plot of a solid (training) and a dashed (validation) curve per fold.
#[allow(clippy::too_many_arguments)]
fn fold_curves(
    ui: &mut egui::Ui,
    id: &str,
    title: &str,
    [width, height]: [f32; 2],
    n_folds: usize,
    series: &dyn Fn(Metric, usize) -> Vec<[f64; 2]>,
    curves: [(&str, Metric); 2],
    unit_range: bool,
    x_label: &str,
    stages: &[(usize, f64)],
) {
    ui.vertical(|ui| {
        ui.label(egui::RichText::new(title).strong());
        let mut plot = Plot::new(id)
            .allow_scroll(false)
            .width(width)
            .height(height)
            .legend(Legend::default())
            .x_axis_label(x_label);
        if unit_range {
            plot = plot.include_y(0.0).include_y(1.0);
        }
        plot.show(ui, |p| {
            for fold in 0..n_folds {
                let color = fold_color(fold);
                for (k, (name, f)) in curves.iter().enumerate() {
                    let mut line = Line::new(
                        format!("fold {} {name}", fold + 1),
                        PlotPoints::from(series(*f, fold)),
                    )
                    .color(color);
                    if k == 1 {
                        line = line.style(LineStyle::dashed_loose());
                    }
                    p.line(line);
                }
            }
            super::multitask::stage_lines(p, stages);
        });
    });
}

/// The learning rate actually used at every optimiser step, per fold (shown when it changes).
fn learning_rate_ui(ui: &mut egui::Ui, rates: &[(usize, usize, f64)], n_folds: usize) {
    let Some(first) = rates.first() else {
        return;
    };
    if rates.iter().all(|r| r.2 == first.2) {
        ui.label(format!("learning rate: {:e} (constant)", first.2));
        return;
    }
    ui.label(egui::RichText::new("Learning rate per optimiser step").strong());
    Plot::new("lr_plot")
        .allow_scroll(false)
        .height(120.0)
        .legend(Legend::default())
        .x_axis_label("optimiser step")
        .show(ui, |p| {
            for fold in 0..n_folds.max(1) {
                let pts: Vec<[f64; 2]> = rates
                    .iter()
                    .filter(|r| r.0 == fold)
                    .map(|r| [r.1 as f64, r.2])
                    .collect();
                if !pts.is_empty() {
                    p.line(
                        Line::new(
                            format!("fold {} learning rate", fold + 1),
                            PlotPoints::from(pts),
                        )
                        .color(fold_color(fold)),
                    );
                }
            }
        });
}

/// The domain-adaptation loss per epoch and fold (cross-corpus runs with adaptation).
fn adapt_curve_ui(ui: &mut egui::Ui, metrics: &[EpochMetrics]) {
    if !metrics.iter().any(|m| m.adapt_loss.is_some()) {
        return;
    }
    ui.label(
        egui::RichText::new("Domain-adaptation loss (beside the classification loss above)")
            .strong(),
    );
    let n_folds = metrics.iter().map(|m| m.fold + 1).max().unwrap_or(0);
    Plot::new("adapt_plot")
        .allow_scroll(false)
        .height(140.0)
        .legend(Legend::default())
        .x_axis_label("epoch")
        .show(ui, |p| {
            fold_lines(p, metrics, n_folds, "adaptation", |m| m.adapt_loss)
        });
}

fn leak_summary(lines: &[String]) -> String {
    if lines.iter().any(|l| l.contains("LEAK")) {
        "LEAK FOUND".into()
    } else if lines.iter().any(|l| l.contains("speaker-dependent")) {
        "shared speakers (speaker-dependent protocol)".into()
    } else {
        "no leakage".into()
    }
}

pub(crate) fn fmt_secs(s: f64) -> String {
    if s >= 3600.0 {
        format!(
            "{:.0} h {:.0} min",
            (s / 3600.0).floor(),
            (s % 3600.0) / 60.0
        )
    } else if s >= 60.0 {
        format!("{:.0} min {:.0} s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{s:.0} s")
    }
}
