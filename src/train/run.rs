//! One experiment: corpus → features → splits (+ leakage check) → per-fold training → reports.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;

use super::backend;
use super::control::{Controller, Interrupt};
use super::data::{Example, prepare};
use super::extract::{ExtractError, Extracted, extract_features};
use super::fit::{FoldInput, fit_fold};
use super::fold_record::FoldRecord;
use super::messages::{Event, FoldScope, RunPlan, RunRequest, RunState};
use super::run_dir::{
    FoldReport, FoldStats, ModelCost, PredictionRow, ResolvedConfig, RunDir, RunReport,
};
use crate::corpus::{self, Protocol, Utterance, class_order};
use crate::eval::{ClassificationReport, argmax};
use crate::features::{FeatureCache, FeatureMatrix, Normalisation, Standardiser, StreamKind};

/// How a run ended (the report is on disk either way).
#[derive(Debug)]
pub enum RunEnd {
    /// All folds finished.
    Finished(PathBuf),
    /// Stopped by the owner; finished folds are saved.
    Stopped(PathBuf),
    /// Stopped during feature extraction, before a run folder was made (finished files stay
    /// in the feature cache).
    StoppedBeforeTraining,
}

/// Runs the experiment described by `req`, emitting events; returns how it ended.
///
/// Phases: [`load_corpora`] → [`extract`](super::extract::extract_features) →
/// [`label_and_split`] → [`write_run_header`] → [`train_fold`] for every fold →
/// [`write_final_report`].
pub fn execute(
    req: &RunRequest,
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<RunEnd, String> {
    let started = Instant::now();
    // A preset edited in the GUI after it was read is checked again (stream and model must fit).
    req.preset
        .validate()
        .map_err(|e| format!("preset '{}': {e}", req.preset.name))?;
    if req.folds == FoldScope::Collect {
        return collect_folds(req, controller, emit);
    }
    let seed = req.seed.unwrap_or(req.preset.training.seed);

    // The backend first: an unusable choice fails before hours of feature extraction.
    let backend = backend::select(req.backend)?;
    if let Some(n) = &backend.notice {
        emit(Event::Log(n.clone()));
    }
    // Fine-tuning: the encoder's architecture goes into the run's preset, and a model that
    // cannot fit in memory is refused now rather than killed later. Per-dimension layer weights
    // of the task reach the model's configuration (saved with the run, so it rebuilds).
    let resolved = RunRequest {
        preset: if req.preset.is_fine_tune() {
            super::finetune::resolve_preset(&req.preset, &backend, emit)?
        } else {
            req.preset.with_task_in_model()
        },
        ..req.clone()
    };
    let Some((req, loaded, data)) = prepare_data(&resolved, &backend.device, controller, emit)?
    else {
        return Ok(RunEnd::StoppedBeforeTraining);
    };
    let mut data = data;
    let req = &req;
    let preset = &req.preset;
    if let Some(t) = &preset.text {
        prepare_text(t, &mut data, &backend.device, emit)?;
    }
    for n in &data.notes {
        emit(Event::Log(n.clone()));
    }
    announce_adaptation(preset, !loaded.target_names.is_empty(), emit);
    let (run, shape) = write_run_header(req, &loaded, &data, seed, &backend, emit)?;
    // From here on the folder exists: an error is also kept in it (`error.txt`), so the runs
    // list can say why a run has no report.
    let result = train_and_report(
        req, &data, &run, shape, seed, &backend, controller, emit, started,
    );
    if let Err(e) = &result {
        let _ = run.write_text("error.txt", e);
    }
    result
}

/// The folds `req` will train, named, planned from the corpora alone (no features: a file
/// that later fails extraction is still counted): what a Slurm job array of one task per fold
/// needs before it is submitted.
pub fn plan_fold_names(
    req: &RunRequest,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Vec<String>, String> {
    let protocol: Protocol = req.protocol.unwrap_or(req.preset.training.protocol);
    let seed = req.seed.unwrap_or(req.preset.training.seed);
    let loaded = load_corpora(req, emit)?;
    let n = loaded.manifest.utterances.len();
    let placeholder = Extracted {
        features: vec![Some(FeatureMatrix::zeros(0, 0)); n],
        failed: Vec::new(),
        cached: 0,
    };
    let data = label_and_split(req, &loaded, placeholder, protocol, seed)?;
    Ok(data.fold_names)
}

/// Phases 1–3 (and the multi-task set-up): the corpora, their features (`device` extracts what
/// the cache lacks), the classes and folds. Returns the request with what the data adds to its
/// preset (multi-task runs: each fold's auxiliary classes); `None` when stopped during
/// extraction.
fn prepare_data(
    req: &RunRequest,
    device: &Device,
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Option<(RunRequest, LoadedCorpora, RunData)>, String> {
    let preset = &req.preset;
    let protocol: Protocol = req.protocol.unwrap_or(preset.training.protocol);
    let seed = req.seed.unwrap_or(preset.training.seed);
    let loaded = load_corpora(req, emit)?;
    let cache = FeatureCache::new(req.cache_dir.clone());
    let extracted = match extract_features(
        &loaded.manifest.utterances,
        &preset.features,
        &cache,
        device,
        controller,
        emit,
    ) {
        Ok(x) => x,
        Err(ExtractError::Stopped) => {
            emit(Event::Log(
                "stopped during feature extraction; the files done so far stay cached".into(),
            ));
            emit(Event::State(RunState::Stopped));
            return Ok(None);
        }
        Err(ExtractError::Setup(e)) => return Err(e),
    };
    for (i, e) in &extracted.failed {
        emit(Event::Log(format!(
            "skipped {}: {e}",
            loaded.manifest.utterances[*i].path.display()
        )));
    }
    let mut data = label_and_split(req, &loaded, extracted, protocol, seed)?;
    // Multi-task runs: each fold's auxiliary classes (from its training part) go into the
    // run's preset, so that the run folder alone rebuilds every fold's model.
    let req = match fine_tune_of(req).as_ref().and_then(|ft| ft.multitask()) {
        Some(spec) => {
            let td = super::multitask::resolve(spec, &data.utts, &data.plan)?;
            data.notes.extend(td.notes.iter().cloned());
            let mut ft = fine_tune_of(req).expect("fine-tune preset");
            if let crate::ssl::classifier::FineTuneHead::MultiTask(s) = &mut ft.head {
                s.fold_tasks = td.folds.clone();
            }
            emit(Event::Log(format!(
                "multi-task: {}",
                ft.multitask().map(|s| s.describe()).unwrap_or_default()
            )));
            data.tasks = Some(td);
            let mut r = req.clone();
            r.preset.model = crate::model::ModelConfig::SslFineTune(Box::new(ft));
            r
        }
        None => req.clone(),
    };
    Ok(Some((req, loaded, data)))
}

/// Phases 5 and 6: every fold, then the report.
#[allow(clippy::too_many_arguments)]
fn train_and_report(
    req: &RunRequest,
    data: &RunData,
    run: &RunDir,
    shape: ExampleShape,
    seed: u64,
    backend: &super::BackendInfo,
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
    started: Instant,
) -> Result<RunEnd, String> {
    let preset = &req.preset;
    let audio = augmentation_audio(preset, data, emit)?;
    let speakers = speaker_standardisers(&preset.features, data);
    let shared = FoldShared {
        audio: audio.as_deref(),
        speakers: speakers.as_ref(),
    };
    let n_folds = data.plan.folds.len();
    let folds: Vec<usize> = match req.folds {
        FoldScope::One(k) if k >= n_folds => {
            return Err(format!(
                "fold {} asked, but the protocol gives {n_folds} folds",
                k + 1
            ));
        }
        FoldScope::One(k) => vec![k],
        FoldScope::All | FoldScope::Collect => (0..n_folds).collect(),
    };
    let mut done = FoldsDone::default();
    let mut stopped = false;
    for fi in folds {
        match train_fold(
            req, data, &shared, fi, shape, seed, backend, controller, emit,
        )? {
            Some(fold) => {
                let (mut record, bytes) =
                    FoldRecord::of(fold.index, fold.out, data.fine_tune.as_ref())?;
                let (report, dims, labels) = (
                    record.report.clone(),
                    record.dims.clone(),
                    record.labels.clone().map(Box::new),
                );
                done.save_fold(&record, &bytes, fold.standardiser.as_ref(), run)?;
                if req.folds == FoldScope::All {
                    done.add(record, data);
                    done.write_progress(run, data)?;
                } else {
                    // One fold of several processes: its record is the last file written, so
                    // `train collect` never reads a fold whose checkpoint is not whole.
                    record.task_secs = started.elapsed().as_secs_f64();
                    record.save(&run.path)?;
                }
                emit(Event::FoldDone {
                    fold: fi,
                    report: Box::new(report),
                    dims,
                    labels,
                });
            }
            None => {
                stopped = true;
                break;
            }
        }
    }
    if let FoldScope::One(k) = req.folds {
        if stopped {
            emit(Event::State(RunState::Stopped));
            return Ok(RunEnd::Stopped(run.path.clone()));
        }
        emit(Event::Log(format!(
            "fold {} of {n_folds} saved in {}; `ser-workbench train collect` writes the report once every fold is there",
            k + 1,
            run.path.display()
        )));
        emit(Event::State(RunState::Finished));
        return Ok(RunEnd::Finished(run.path.clone()));
    }
    let train_secs = started.elapsed().as_secs_f64();
    let pooled = write_final_report(run, preset, data, seed, done, stopped, train_secs)?;
    if stopped {
        emit(Event::State(RunState::Stopped));
        return Ok(RunEnd::Stopped(run.path.clone()));
    }
    emit_finished(run, pooled, emit);
    Ok(RunEnd::Finished(run.path.clone()))
}

/// The run's end: its pooled report.
fn emit_finished(run: &RunDir, pooled: RunReport, emit: &(dyn Fn(Event) + Sync)) {
    emit(Event::Finished {
        run_dir: run.path.clone(),
        report: Box::new(pooled.pooled),
        dimensional: pooled.dimensional.map(Box::new),
        multi_label: pooled.multi_label.map(Box::new),
        feature_weights: pooled.feature_weights.map(Box::new),
    });
    emit(Event::State(RunState::Finished));
}

/// [`FoldScope::Collect`]: the report of a run whose folds were trained by separate processes,
/// from their records, through the same code as a local run's report. The corpora, features and
/// folds are read again (the features from the cache the tasks filled) with the preset, seed and
/// protocol the tasks saved in `config.ron`; nothing trains. Missing folds are named, and the
/// report is marked incomplete until they are there.
fn collect_folds(
    req: &RunRequest,
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<RunEnd, String> {
    let run_path = req
        .out_dir
        .clone()
        .ok_or("collecting folds needs the run folder (--out)")?;
    let cfg = read_resolved(&run_path).map_err(|e| {
        format!("{e} (no fold task has started in this folder yet, or it is not a run folder)")
    })?;
    let protocol: Protocol = cfg
        .protocol
        .parse()
        .map_err(|e: String| format!("{}: protocol: {e}", run_path.display()))?;
    let saved = RunRequest {
        preset: cfg.preset.clone(),
        protocol: Some(protocol),
        seed: Some(cfg.seed),
        ..req.clone()
    };
    // The features are in the cache the tasks filled: the CPU reads them (and extracts any
    // missing file rather than failing).
    let device = Device::flex();
    let Some((req, _, data)) = prepare_data(&saved, &device, controller, emit)? else {
        return Ok(RunEnd::StoppedBeforeTraining);
    };
    if data.plan.folds.len() != cfg.folds {
        return Err(format!(
            "{}: the tasks planned {} folds, the corpus now gives {} (files changed since?)",
            run_path.display(),
            cfg.folds,
            data.plan.folds.len()
        ));
    }
    let run = RunDir::reopen(run_path)?;
    let mut done = FoldsDone::default();
    let mut missing = Vec::new();
    let mut train_secs = 0.0;
    for (fi, fold) in data.plan.folds.iter().enumerate() {
        let Some(record) = FoldRecord::load(&run.path, fi)? else {
            missing.push(fold.name.clone());
            continue;
        };
        if record.test_probs.len() != fold.test.len() {
            return Err(format!(
                "{}: {} test outputs, but the fold now has {} test utterances (files changed since?)",
                FoldRecord::path(&run.path, fi).display(),
                record.test_probs.len(),
                fold.test.len()
            ));
        }
        train_secs += record.task_secs;
        done.add(record, &data);
    }
    if done.reports.is_empty() {
        return Err(format!(
            "{}: no fold has finished yet (folds/fold1.ron …); missing: {}",
            run.path.display(),
            missing.join(", ")
        ));
    }
    done.write_progress(&run, &data)?;
    let incomplete = !missing.is_empty();
    let pooled = write_final_report(
        &run,
        &req.preset,
        &data,
        cfg.seed,
        done,
        incomplete,
        train_secs,
    )?;
    if incomplete {
        emit(Event::Log(format!(
            "not finished: {} ({} of {} folds in the report, which is marked incomplete)",
            missing.join(", "),
            data.plan.folds.len() - missing.len(),
            data.plan.folds.len()
        )));
    }
    emit_finished(&run, pooled, emit);
    Ok(RunEnd::Finished(run.path.clone()))
}

/// The corpora of a run, with the label map applied.
pub struct LoadedCorpora {
    /// Source utterances followed by the target corpus's (cross-corpus runs).
    pub manifest: corpus::Manifest,
    /// Corpus names of the target corpus's utterances (empty: no target).
    pub target_names: BTreeSet<String>,
    /// "DIR + DIR" for messages.
    pub description: String,
    /// What the label map merged and dropped.
    pub label_report: corpus::label_map::LabelReport,
    /// The map applied.
    pub label_map: corpus::label_map::LabelMap,
}

/// Phase 1: reads the source corpora and the target corpus (its speakers renamed so that they
/// never collide with the source's), logs what was skipped, applies the label map.
pub fn load_corpora(
    req: &RunRequest,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<LoadedCorpora, String> {
    let description = req
        .corpus_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let mut manifest =
        corpus::load_many(&req.corpus_dirs, req.corpus_type).map_err(|e| e.to_string())?;
    // Cross-corpus: the target corpus follows the source rows; its audio adapts, its labels only test.
    let mut target_names = BTreeSet::new();
    if let Some(t) = &req.target_corpus {
        let tm = corpus::load(t, None).map_err(|e| e.to_string())?;
        emit(Event::Log(format!(
            "target corpus {}: {} corpus, {} utterances ({} skipped)",
            t.display(),
            tm.corpus_type,
            tm.utterances.len(),
            tm.skipped.len()
        )));
        let source_names: BTreeSet<String> = manifest
            .utterances
            .iter()
            .map(|u| u.corpus.clone())
            .collect();
        for mut u in tm.utterances {
            if source_names.contains(&u.corpus) {
                u.corpus = format!("{}-target", u.corpus);
            }
            u.speaker_id = u.speaker_id.map(|s| format!("{}:{s}", u.corpus));
            target_names.insert(u.corpus.clone());
            manifest.utterances.push(u);
        }
        manifest.skipped.extend(tm.skipped);
    }
    if let Some(csv) = req
        .preset
        .text
        .as_ref()
        .and_then(|t| t.transcripts.as_ref())
    {
        let r = corpus::transcripts::attach(&mut manifest, csv)?;
        emit(Event::Log(format!(
            "transcripts {}: {} utterances received text, {} rows matched no utterance{}",
            r.file,
            r.attached,
            r.unmatched,
            r.unmatched_examples
                .first()
                .map(|f| format!(" (first: {f})"))
                .unwrap_or_default()
        )));
    }
    emit(Event::Log(format!(
        "{}: {} corpus, {} utterances, {} speakers, {} skipped",
        description,
        manifest.corpus_type,
        manifest.utterances.len(),
        manifest.per_speaker().len(),
        manifest.skipped.len()
    )));
    for s in manifest.skipped.iter().take(20) {
        emit(Event::Log(format!(
            "skipped {}: {}",
            s.path.display(),
            s.reason
        )));
    }
    let (label_map, label_report) = if let Some(m) = req.preset.task.multi_label() {
        // Multi-label runs read the label columns; emotion classes and label maps do not apply.
        keep_uncategorised(
            &mut manifest,
            "none (multi-label)",
            |_| {
                format!(
                    "multi-label task ({}): label map not applied",
                    if m.labels.is_empty() {
                        "every vote column".to_string()
                    } else {
                        m.labels.join(", ")
                    }
                )
            },
            emit,
        )
    } else if let Some(d) = req.preset.task.dimensional() {
        // Dimensional runs keep every utterance with the dimensions (classes do not matter,
        // no-agreement rows included).
        keep_uncategorised(
            &mut manifest,
            "none (dimensional)",
            |n| {
                format!(
                    "dimensional task ({}): label map not applied; {n} utterances without an emotion class (no agreement) are included",
                    d.dimensions.join(", ")
                )
            },
            emit,
        )
    } else {
        let label_map = label_map_for(
            req.label_map
                .as_ref()
                .or(req.preset.training.label_map.as_ref()),
            &manifest,
        )?;
        let label_report = label_map.apply(&mut manifest);
        emit(Event::Log(label_report.summary()));
        (label_map, label_report)
    };
    if manifest.utterances.is_empty() {
        return Err(format!("{description}: no loadable utterances"));
    }
    Ok(LoadedCorpora {
        manifest,
        target_names,
        description,
        label_report,
        label_map,
    })
}

/// Tasks that read their own targets (dimensional, multi-label): the utterances without an
/// emotion class join the others (sorted by path), no label map applies; `log` is told how many
/// joined.
fn keep_uncategorised(
    manifest: &mut corpus::Manifest,
    map_name: &str,
    log: impl FnOnce(usize) -> String,
    emit: &(dyn Fn(Event) + Sync),
) -> (corpus::label_map::LabelMap, corpus::label_map::LabelReport) {
    let n = manifest.uncategorised.len();
    manifest.utterances.append(&mut manifest.uncategorised);
    manifest.utterances.sort_by(|a, b| a.path.cmp(&b.path));
    emit(Event::Log(log(n)));
    let map = corpus::label_map::LabelMap {
        name: map_name.into(),
        ..Default::default()
    };
    let report = corpus::label_map::LabelReport {
        map: map.name.clone(),
        kept: manifest.utterances.len(),
        ..Default::default()
    };
    (map, report)
}

/// Utterances with features, their class indices and the fold plan.
pub struct RunData {
    /// Utterances whose features were extracted.
    pub utts: Vec<Utterance>,
    /// Their features.
    pub feats: Vec<FeatureMatrix>,
    /// Class names in index order.
    pub classes: Vec<String>,
    /// Class index per utterance.
    pub labels: Vec<usize>,
    /// Folds and the leakage check.
    pub plan: corpus::SplitPlan,
    /// Fold names, in fold order.
    pub fold_names: Vec<String>,
    /// Whether the run has a target corpus (cross-corpus).
    pub cross_corpus: bool,
    /// The fine-tuning settings of a fine-tuning run.
    pub fine_tune: Option<crate::ssl::classifier::FineTuneConfig>,
    /// Dimensional runs: the task (then `classes` names the dimensions and `labels` are 0).
    pub dimensional: Option<super::task::DimensionalTask>,
    /// Multi-label runs: the task (then `classes` names the labels and `labels` are 0).
    pub multi_label: Option<super::multilabel::MultiLabelTask>,
    /// Multi-label runs: annotator votes per utterance and label (empty otherwise).
    pub votes: Vec<Vec<f32>>,
    /// Multi-label runs: how many annotators voted on each utterance (0: unknown).
    pub annotators: Vec<f32>,
    /// Dimensional runs: scaled targets per utterance; multi-label runs: 0/1 per label (empty
    /// otherwise).
    pub targets: Vec<Vec<f32>>,
    /// Dimensional runs: the scaling applied.
    pub scales: Vec<super::task::ScaleRow>,
    /// What the owner should read about the data (utterances left out and why).
    pub notes: Vec<String>,
    /// Runs with a text stream: each utterance's text vector or tokens (empty otherwise).
    pub texts: Vec<crate::text::ExampleText>,
    /// Width of the text vector the head receives (0 without text).
    pub text_width: usize,
    /// Multi-task runs: every utterance's auxiliary task values and each fold's classes.
    pub tasks: Option<super::multitask::TaskData>,
}

/// Phase 3b: encodes (frozen) or tokenizes (fine-tuned) every utterance's transcript; a missing
/// transcript becomes the empty text, counted in a log line.
fn prepare_text(
    cfg: &crate::text::TextFusionConfig,
    data: &mut RunData,
    device: &Device,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<(), String> {
    let transcripts: Vec<Option<&str>> =
        data.utts.iter().map(|u| u.transcript.as_deref()).collect();
    emit(Event::Log(format!(
        "text stream {}: preparing {} transcripts",
        cfg.describe(),
        transcripts.len()
    )));
    let prepared = crate::text::fusion::prepare(cfg, &transcripts, device, &mut |done, all| {
        if done == all || done % 512 < 16 {
            emit(Event::Log(format!("text: {done}/{all} transcripts")));
        }
    })
    .map_err(|e| format!("text stream: {e}"))?;
    if prepared.missing > 0 {
        data.notes.push(format!(
            "text: {} of {} utterances have no transcript; they get the empty text (attach a file,text CSV with --transcripts)",
            prepared.missing,
            transcripts.len()
        ));
    }
    emit(Event::Log(format!(
        "text: {:?} encoder, {} layers, hidden {} → {} values per utterance beside the audio",
        prepared.config.family,
        prepared.config.num_hidden_layers,
        prepared.config.hidden_size,
        prepared.width
    )));
    data.texts = prepared.texts;
    data.text_width = prepared.width;
    Ok(())
}

/// Phase 3: keeps the utterances with features, orders the classes and plans the folds
/// (cross-corpus: train on the source, test on the target).
pub fn label_and_split(
    req: &RunRequest,
    loaded: &LoadedCorpora,
    extracted: Extracted,
    protocol: Protocol,
    seed: u64,
) -> Result<RunData, String> {
    let (utts, feats): (Vec<Utterance>, Vec<FeatureMatrix>) = loaded
        .manifest
        .utterances
        .iter()
        .cloned()
        .zip(extracted.features)
        .filter_map(|(u, f)| f.map(|f| (u, f)))
        .unzip();
    if let Some(task) = req.preset.task.dimensional() {
        return dimensional_data(req, loaded, task, utts, feats, protocol, seed);
    }
    if let Some(task) = req.preset.task.multi_label() {
        return multilabel_data(req, loaded, task, utts, feats, protocol, seed);
    }
    let classes_e = class_order(utts.iter().map(|u| u.emotion));
    let classes: Vec<String> = classes_e.iter().map(|e| e.name().to_string()).collect();
    if classes.len() < 2 {
        return Err(format!(
            "{}: needs at least two classes, found {:?}",
            loaded.description, classes
        ));
    }
    let labels: Vec<usize> = utts
        .iter()
        .map(|u| {
            classes_e
                .iter()
                .position(|e| *e == u.emotion)
                .expect("class_order lists every emotion present")
        })
        .collect();
    let plan = plan_folds(req, loaded, &utts, protocol, seed)?;
    Ok(RunData {
        utts,
        feats,
        classes,
        labels,
        fold_names: plan.folds.iter().map(|f| f.name.clone()).collect(),
        plan,
        cross_corpus: !loaded.target_names.is_empty(),
        fine_tune: fine_tune_of(req),
        dimensional: None,
        multi_label: None,
        votes: Vec::new(),
        annotators: Vec::new(),
        targets: Vec::new(),
        scales: Vec::new(),
        notes: Vec::new(),
        texts: Vec::new(),
        text_width: 0,
        tasks: None,
    })
}

/// The folds of `utts` (cross-corpus: train on the source, test on the target).
fn plan_folds(
    req: &RunRequest,
    loaded: &LoadedCorpora,
    utts: &[Utterance],
    protocol: Protocol,
    seed: u64,
) -> Result<corpus::SplitPlan, String> {
    let valid_fraction = req.preset.training.valid_fraction;
    if loaded.target_names.is_empty() {
        corpus::split::plan(utts, protocol, seed, valid_fraction)
    } else {
        let is_target: Vec<bool> = utts
            .iter()
            .map(|u| loaded.target_names.contains(&u.corpus))
            .collect();
        corpus::split::cross_corpus_plan(utts, &is_target, seed, valid_fraction)
    }
}

fn fine_tune_of(req: &RunRequest) -> Option<crate::ssl::classifier::FineTuneConfig> {
    match &req.preset.model {
        crate::model::ModelConfig::SslFineTune(ft) => Some((**ft).clone()),
        _ => None,
    }
}

/// Phase 3 of a multi-label run: the labels (the task's or every vote column), 0/1 targets at
/// the task's agreement, and the folds.
fn multilabel_data(
    req: &RunRequest,
    loaded: &LoadedCorpora,
    task: &super::multilabel::MultiLabelTask,
    mut utts: Vec<Utterance>,
    feats: Vec<FeatureMatrix>,
    protocol: Protocol,
    seed: u64,
) -> Result<RunData, String> {
    use super::multilabel as ml;
    let mut notes = ml::apply_label_edits(&mut utts, task);
    let labels =
        ml::resolve_labels(&utts, task).map_err(|e| format!("{}: {e}", loaded.description))?;
    // A preset's groups name the labels of the corpus it was written for; on another corpus a
    // group missing a label is left out, and the log says so.
    for g in &task.groups {
        if let Some(l) = g
            .iter()
            .find(|l| !labels.iter().any(|x| x.eq_ignore_ascii_case(l)))
        {
            notes.push(format!(
                "label group [{}] not used: '{l}' is not a label of this run",
                g.join(", ")
            ));
        }
    }
    let (targets, votes) = ml::targets(&utts, &labels, task.min_agreement);
    let annotators: Vec<f32> = utts.iter().map(|u| ml::votes(u, ml::ANNOTATORS)).collect();
    let positives: Vec<String> = labels
        .iter()
        .enumerate()
        .map(|(k, l)| format!("{l} {}", targets.iter().filter(|t| t[k] >= 0.5).count()))
        .collect();
    let mut plan = plan_folds(req, loaded, &utts, protocol, seed)?;
    if let Some(min) = task.test_min_agreement {
        let groups = ml::group_indices(&labels, task);
        for fold in &mut plan.folds {
            let before = fold.test.len();
            let mut kept = Vec::with_capacity(before);
            for &i in &fold.test {
                if ml::agreed(&votes[i], annotators[i], &groups, min)
                    .map_err(|e| format!("{}: {e}", loaded.description))?
                {
                    kept.push(i);
                }
            }
            if kept.is_empty() {
                return Err(format!(
                    "{}: {}: no test utterance has agreement ≥ {min} on every label (of {before}); lower test_min_agreement",
                    loaded.description, fold.name
                ));
            }
            notes.push(format!(
                "{}: {} of {before} test utterances have agreement ≥ {min} on every label (the others are not tested)",
                fold.name,
                kept.len()
            ));
            fold.test = kept;
        }
    }
    notes.insert(
        0,
        format!(
            "multi-label task: positives at ≥ {} votes — {}",
            task.min_agreement,
            positives.join(", ")
        ),
    );
    Ok(RunData {
        labels: vec![0; utts.len()],
        utts,
        feats,
        classes: labels,
        fold_names: plan.folds.iter().map(|f| f.name.clone()).collect(),
        plan,
        cross_corpus: !loaded.target_names.is_empty(),
        fine_tune: fine_tune_of(req),
        dimensional: None,
        multi_label: Some(task.clone()),
        votes,
        annotators,
        targets,
        scales: Vec::new(),
        notes,
        texts: Vec::new(),
        text_width: 0,
        tasks: None,
    })
}

/// Phase 3 of a dimensional run: keeps the utterances that have every dimension, scales their
/// targets and plans the folds.
fn dimensional_data(
    req: &RunRequest,
    loaded: &LoadedCorpora,
    task: &super::task::DimensionalTask,
    utts: Vec<Utterance>,
    feats: Vec<FeatureMatrix>,
    protocol: Protocol,
    seed: u64,
) -> Result<RunData, String> {
    let t = super::task::targets(&utts, task);
    if t.kept.len() < 2 {
        return Err(format!(
            "{}: {} of {} utterances have every dimension of the task ({}); missing per dimension: {:?}",
            loaded.description,
            t.kept.len(),
            utts.len(),
            task.dimensions.join(", "),
            t.missing
        ));
    }
    let mut keep = vec![false; utts.len()];
    for &i in &t.kept {
        keep[i] = true;
    }
    let (utts, feats): (Vec<Utterance>, Vec<FeatureMatrix>) = utts
        .into_iter()
        .zip(feats)
        .zip(&keep)
        .filter_map(|(uf, k)| k.then_some(uf))
        .unzip();
    let plan = plan_folds(req, loaded, &utts, protocol, seed)?;
    Ok(RunData {
        labels: vec![0; utts.len()],
        utts,
        feats,
        classes: task.dimensions.clone(),
        fold_names: plan.folds.iter().map(|f| f.name.clone()).collect(),
        plan,
        cross_corpus: !loaded.target_names.is_empty(),
        fine_tune: fine_tune_of(req),
        dimensional: Some(task.clone()),
        multi_label: None,
        votes: Vec::new(),
        annotators: Vec::new(),
        targets: t.values,
        scales: t.scales,
        notes: if t.missing.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "{} utterances left out: a dimension of the task is not annotated (per dimension: {})",
                keep.iter().filter(|k| !**k).count(),
                t.missing
                    .iter()
                    .map(|(d, n)| format!("{d} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )]
        },
        texts: Vec::new(),
        text_width: 0,
        tasks: None,
    })
}

/// Says whether the preset's domain adaptation applies to this run.
fn announce_adaptation(preset: &super::Preset, has_target: bool, emit: &(dyn Fn(Event) + Sync)) {
    let Some(a) = &preset.training.adaptation else {
        return;
    };
    emit(Event::Log(if has_target {
        format!(
            "domain adaptation: {:?}, lambda {}{}, aligned features: {}",
            a.method,
            a.lambda,
            a.ramp_gamma
                .map_or(String::new(), |g| format!(" (ramped, gamma {g})")),
            a.aligned_layer.name()
        )
    } else {
        format!(
            "the preset asks for {:?} adaptation, but this run has no target corpus: trained without adaptation (give --target-corpus for a cross-corpus run)",
            a.method
        )
    }));
}

/// Example shape of a run: frames per example and values per frame.
#[derive(Clone, Copy, Debug)]
pub struct ExampleShape {
    /// Frames (SSL utterance vectors: hidden states).
    pub frames: usize,
    /// Values per frame.
    pub bins: usize,
}

/// Phase 4: creates the run folder and writes what the run is before any fold trains
/// (`preset.ron`, `config.ron`, `splits.json`, `label_map.json`); emits [`Event::Plan`].
fn write_run_header(
    req: &RunRequest,
    loaded: &LoadedCorpora,
    data: &RunData,
    seed: u64,
    backend: &super::BackendInfo,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<(RunDir, ExampleShape), String> {
    let preset = &req.preset;
    let fcfg = &preset.features;
    let run = match (&req.out_dir, req.folds) {
        (Some(p), FoldScope::All) => RunDir::create(p.clone())?,
        // One fold of several processes: they share the folder.
        (Some(p), _) => RunDir::reopen(p.clone())?,
        (None, FoldScope::All) => RunDir::create(RunDir::claim_new(
            &crate::paths::Paths::from_env().runs,
            &preset.name,
        )?)?,
        (None, _) => {
            return Err(
                "training one fold needs the run folder the other folds share (--out)".into(),
            );
        }
    };
    // SSL matrices are [layers, dim]; spectral ones [time, bins] cropped to max_secs.
    let first = data.feats.first();
    let shape = match fcfg.stream {
        StreamKind::Ssl => ExampleShape {
            frames: first.map_or(1, |m| m.n_frames),
            bins: first.map_or(0, |m| m.n_bins),
        },
        StreamKind::LogMelSsl | StreamKind::SslFrames => ExampleShape {
            frames: fcfg.max_frames(),
            bins: first.map_or(0, |m| m.n_bins),
        },
        _ => ExampleShape {
            frames: fcfg.max_frames(),
            bins: fcfg.n_bins(),
        },
    };
    let resolved = ResolvedConfig {
        preset: preset.clone(),
        protocol: data.plan.protocol.clone(),
        seed,
        corpus_dir: req.corpus_dirs.first().cloned().unwrap_or_default(),
        corpus_dirs: req.corpus_dirs.clone(),
        label_map: loaded.label_report.map.clone(),
        corpus_type: loaded.manifest.corpus_type.clone(),
        classes: data.classes.clone(),
        backend: backend.description.clone(),
        frames: shape.frames,
        bins: shape.bins,
        folds: data.plan.folds.len(),
    };
    run.write_text("preset.ron", &preset.to_ron())?;
    let ron_cfg = ron::ser::to_string_pretty(&resolved, ron::ser::PrettyConfig::default())
        .map_err(|e| e.to_string())?;
    run.write_text("config.ron", &ron_cfg)?;
    run.write_json("splits.json", &splits_json(&data.plan, &data.utts))?;
    run.write_json(
        "label_map.json",
        &serde_json::json!({"map": loaded.label_map, "report": loaded.label_report}),
    )?;
    emit(Event::Plan(Box::new(RunPlan {
        run_dir: run.path.clone(),
        classes: data.classes.clone(),
        folds: data.fold_names.clone(),
        protocol: data.plan.protocol.clone(),
        speaker_independent: data.plan.speaker_independent,
        leakage: data.plan.leakage.clone(),
        backend: match &backend.notice {
            Some(n) => format!("{} — {n}", backend.description),
            None => backend.description.clone(),
        },
        epochs: preset.training.epochs,
        dimensional: data.dimensional.is_some(),
    })));
    Ok((run, shape))
}

/// The 16 kHz audio of every utterance, read once per run, when the preset augments a cached
/// spectral stream (fine-tuning augments the waveform it already holds); `None` otherwise.
fn augmentation_audio(
    preset: &super::Preset,
    data: &RunData,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Option<Vec<Vec<f32>>>, String> {
    let Some(config) = preset.training.augment.as_ref().filter(|a| a.is_active()) else {
        return Ok(None);
    };
    if preset.features.stream == StreamKind::Waveform {
        return Ok(None);
    }
    let audio = data
        .utts
        .iter()
        .map(|u| {
            crate::audio::load_mono_16k(&u.path)
                .map_err(|e| format!("augmentation: {}: {e}", u.path.display()))
        })
        .collect::<Result<Vec<_>, String>>()?;
    emit(Event::Log(format!(
        "augmenting training examples on the fly: {} ({:.0} MB of audio held)",
        config.describe(),
        audio.iter().map(|a| a.len() * 4).sum::<usize>() as f64 / 1e6
    )));
    Ok(Some(audio))
}

/// What one finished fold hands to the run.
pub struct FoldResult {
    /// Fold index.
    pub index: usize,
    /// The fold's training output (best weights, epochs, test probabilities, report).
    pub out: super::fit::FoldOutput,
    /// The training-set standardiser (when the preset normalises by the training set).
    pub standardiser: Option<Standardiser>,
}

impl FoldResult {
    /// The result of whichever loop trained fold `index`: `None` when the owner stopped it.
    fn of(
        index: usize,
        trained: Result<super::fit::FoldOutput, Interrupt>,
        standardiser: Option<Standardiser>,
    ) -> Result<Option<Self>, String> {
        match trained {
            Ok(out) => Ok(Some(FoldResult {
                index,
                out,
                standardiser,
            })),
            Err(Interrupt::Stopped) => Ok(None),
        }
    }
}

/// Each speaker's own standardiser (key: corpus, speaker id), fitted once per run on all of
/// that speaker's utterances (audio only, never labels), for `normalisation: per_speaker`;
/// `None` for every other normalisation.
fn speaker_standardisers<'a>(
    fcfg: &crate::features::FeatureConfig,
    data: &'a RunData,
) -> Option<SpeakerStats<'a>> {
    (fcfg.normalisation == Normalisation::PerSpeaker && fcfg.stream != StreamKind::Waveform).then(
        || {
            crate::features::norm::fit_per_group(
                data.utts
                    .iter()
                    .zip(&data.feats)
                    .filter_map(|(u, m)| Some(((u.corpus.as_str(), u.speaker_id.as_deref()?), m))),
            )
        },
    )
}

/// Per-speaker standardisers keyed by (corpus, speaker id), borrowed from the run's utterances.
type SpeakerStats<'a> = std::collections::HashMap<(&'a str, &'a str), Standardiser>;

/// What every fold of a run shares, prepared once.
struct FoldShared<'a> {
    /// 16 kHz audio of every utterance when the run augments a cached spectral stream.
    audio: Option<&'a [Vec<f32>]>,
    /// Per-speaker runs: each speaker's standardiser.
    speakers: Option<&'a SpeakerStats<'a>>,
}

/// Phase 5: trains and tests fold `fi`; `None` when the owner stopped it.
#[allow(clippy::too_many_arguments)]
fn train_fold(
    req: &RunRequest,
    data: &RunData,
    shared: &FoldShared,
    fi: usize,
    shape: ExampleShape,
    seed: u64,
    backend: &super::BackendInfo,
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Option<FoldResult>, String> {
    let preset = &req.preset;
    let fcfg = &preset.features;
    let fold = &data.plan.folds[fi];
    let waveform = fcfg.stream == StreamKind::Waveform;
    let by_statistics = matches!(
        fcfg.normalisation,
        Normalisation::TrainingSet | Normalisation::PerSpeaker
    );
    let standardiser = (by_statistics && !waveform)
        .then(|| Standardiser::fit(fold.train.iter().map(|&i| &data.feats[i])));
    // Per-speaker runs use each speaker's own statistics (fitted once per run); the
    // training-set standardiser above stays the fallback and is what the run folder keeps.
    let standardisers: Vec<Option<&Standardiser>> = data
        .utts
        .iter()
        .map(|u| {
            let own = shared
                .speakers
                .zip(u.speaker_id.as_deref())
                .and_then(|(s, id)| s.get(&(u.corpus.as_str(), id)));
            own.or(standardiser.as_ref())
        })
        .collect();
    let fold_tasks = data.tasks.as_ref().and_then(|t| t.folds.get(fi));
    let spec = fine_tune_of(req).and_then(|ft| ft.multitask().cloned());
    let examples = |idx: &[usize]| -> Vec<Example> {
        idx.iter()
            .map(|&i| {
                let (aux, chars) = match (&spec, fold_tasks, &data.tasks) {
                    (Some(spec), Some(fold), Some(td)) => {
                        super::multitask::targets(spec, fold, &td.values[i])
                    }
                    _ => (Vec::new(), None),
                };
                (i, aux, chars)
            })
            .map(|(i, aux, chars)| Example {
                // Fine-tuning sees whole utterances (cropped per batch in training).
                values: if waveform {
                    data.feats[i].data.clone()
                } else {
                    prepare(&data.feats[i], fcfg, standardisers[i], shape.frames)
                },
                label: data.labels[i],
                target: data.targets.get(i).cloned().unwrap_or_default(),
                text: data.texts.get(i).cloned().unwrap_or_default(),
                aux,
                chars,
            })
            .collect()
    };
    let (train, valid, test) = (
        examples(&fold.train),
        examples(&fold.valid),
        examples(&fold.test),
    );
    emit(Event::Log(format!(
        "fold {}/{} ({}): {} train, {} valid, {} test",
        fi + 1,
        data.plan.folds.len(),
        fold.name,
        train.len(),
        valid.len(),
        test.len()
    )));
    let augmenter = match (preset.training.augment.as_ref(), shared.audio) {
        (Some(config), Some(audio)) => Some(super::augment::Augmenter {
            config,
            audio,
            utterances: &fold.train,
            features: fcfg,
            standardisers: &standardisers,
            frames: shape.frames,
        }),
        _ => None,
    };
    let input = FoldInput {
        fold: fi,
        train: &train,
        valid: &valid,
        test: &test,
        // Cross-corpus runs adapt on the target audio (the test part); labels are not read.
        target: if data.cross_corpus { &test } else { &[] },
        classes: &data.classes,
        frames: shape.frames,
        bins: shape.bins,
        seed: seed.wrapping_add(fi as u64),
        dimensional: data.dimensional.as_ref().map(|d| d.loss),
        multi_label: data.multi_label.as_ref(),
        augment: augmenter.as_ref(),
    };
    let train_device = backend.device.clone().autodiff();
    train_device.seed(seed.wrapping_add(fi as u64));
    if let crate::model::ModelConfig::SslFineTune(ft) = &preset.model {
        let weights = fcfg
            .ssl_weights
            .as_ref()
            .ok_or("the SslFineTune model needs features.ssl_weights")?;
        let ft = &ft.for_fold(fi);
        let (model, _, built) = crate::ssl::classifier::SslClassifier::load(
            weights,
            ft,
            data.classes.len(),
            &train_device,
        )?;
        let mut model = model.with_text_width(data.text_width, &train_device);
        if let Some(t) = preset.text.as_ref().filter(|t| t.fine_tune) {
            let (enc, _) = crate::text::TextEncoder::load(&t.weights, &train_device)
                .map_err(|e| format!("text stream: {e}"))?;
            if fi == 0 {
                emit(Event::Log(format!(
                    "fine-tuning the text encoder {} too: {} parameters",
                    t.weights.display(),
                    enc.num_params()
                )));
            }
            model = model.with_text_encoder(enc, t.pooling);
        }
        if fi == 0 {
            emit(Event::Log(format!(
                "fine-tuning {}: {} parameters, {} trainable; {}",
                weights.display(),
                built.params,
                built.trainable,
                if built.head_loaded {
                    "the checkpoint's classification head was loaded".to_string()
                } else {
                    built
                        .head_note
                        .clone()
                        .unwrap_or_else(|| "a new classification head is trained".into())
                }
            )));
        }
        return FoldResult::of(
            fi,
            super::finetune::fit_fold(preset, ft, &input, model, &backend.device, controller, emit),
            standardiser,
        );
    }
    let input_shape = crate::model::InputShape {
        frames: shape.frames,
        bins: shape.bins,
        split: fcfg.stream_split(),
        text: data.text_width,
    };
    if let crate::model::ModelConfig::Linear(cfg) = &preset.model {
        // A convex solver, not gradient steps: the plain device.
        let model = preset
            .model
            .init(input_shape, data.classes.len(), &backend.device);
        return FoldResult::of(
            fi,
            super::linear_fit::fit_fold(
                preset,
                cfg,
                model,
                &input,
                &backend.device,
                controller,
                emit,
            ),
            standardiser,
        );
    }
    let model = preset
        .model
        .init(input_shape, data.classes.len(), &train_device);
    FoldResult::of(
        fi,
        fit_fold(preset, &input, model, &backend.device, controller, emit),
        standardiser,
    )
}

/// What the finished folds add up to.
#[derive(Default)]
struct FoldsDone {
    epochs: Vec<super::messages::EpochMetrics>,
    steps: Vec<super::fit::StepRecord>,
    reports: Vec<FoldReport>,
    predictions: Vec<PredictionRow>,
    truth: Vec<usize>,
    predicted: Vec<usize>,
    dim_rows: Vec<super::dim_report::DimPredictionRow>,
    label_rows: Vec<super::ml_report::LabelPredictionRow>,
    task_scores: Vec<Vec<super::multitask::TaskScore>>,
    cost: ModelCost,
    checkpoint_bytes_sum: u64,
    /// Linear models: each fold's weights (`[inputs, classes]` row-major).
    linear_weights: Vec<Vec<f32>>,
}

impl FoldsDone {
    /// Saves a finished fold's checkpoint and standardiser in the run folder.
    fn save_fold(
        &self,
        record: &FoldRecord,
        checkpoint: &[u8],
        standardiser: Option<&Standardiser>,
        run: &RunDir,
    ) -> Result<(), String> {
        let n = record.index + 1;
        run.write_bytes(&format!("fold{n}.bpk"), checkpoint)?;
        if let Some(s) = standardiser {
            run.write_json(&format!("fold{n}.norm.json"), s)?;
        }
        Ok(())
    }

    /// Adds a finished fold to the pooled results.
    fn add(&mut self, record: FoldRecord, data: &RunData) {
        let fi = record.index;
        let fold = &data.plan.folds[fi];
        let best = record.epochs.iter().rfind(|m| m.is_best).cloned();
        if let Some(t) = &record.tasks {
            self.task_scores.push(t.clone());
        }
        self.epochs.extend(record.epochs.iter().cloned());
        self.steps.extend(record.steps.iter().cloned());
        if let Some(w) = &record.linear_weights {
            self.linear_weights.push(w.clone());
        }
        // Runtime and size: one fold model's parameters, the mean checkpoint, inference time
        // over all test audio.
        self.checkpoint_bytes_sum += record.checkpoint_bytes;
        self.cost.checkpoint_bytes = self.checkpoint_bytes_sum / (self.reports.len() as u64 + 1);
        self.cost.params = record.params;
        self.cost.trainable_params = record.trainable_params;
        self.cost.inference_secs += record.test_secs;
        self.cost.test_audio_secs += fold
            .test
            .iter()
            .map(|&i| {
                if data.feats[i].n_bins == 1 && data.feats[i].n_frames > 0 {
                    data.feats[i].n_frames as f64 / 16_000.0 // the waveform itself
                } else {
                    crate::audio::read_audio_header(&data.utts[i].path)
                        .map_or(0.0, |h| h.duration_secs())
                }
            })
            .sum::<f64>();
        let thresholds: Vec<f32> = record
            .labels
            .as_ref()
            .map(|l| l.labels.iter().map(|m| m.threshold as f32).collect())
            .unwrap_or_default();
        for (&i, p) in fold.test.iter().zip(&record.test_probs) {
            if data.multi_label.is_some() {
                self.label_rows.push(super::ml_report::LabelPredictionRow {
                    fold: fold.name.clone(),
                    corpus: data.utts[i].corpus.clone(),
                    path: data.utts[i].path.display().to_string(),
                    speaker: data.utts[i].speaker_id.clone().unwrap_or_default(),
                    truth: data.targets[i].clone(),
                    votes: data.votes[i].clone(),
                    annotators: data.annotators[i],
                    probs: p.clone(),
                    thresholds: thresholds.clone(),
                });
                continue;
            }
            if data.dimensional.is_some() {
                self.dim_rows.push(super::dim_report::DimPredictionRow {
                    fold: fold.name.clone(),
                    corpus: data.utts[i].corpus.clone(),
                    path: data.utts[i].path.display().to_string(),
                    speaker: data.utts[i].speaker_id.clone().unwrap_or_default(),
                    truth: data.targets[i].clone(),
                    predicted: p.clone(),
                });
                continue;
            }
            let k = argmax(p);
            self.truth.push(data.labels[i]);
            self.predicted.push(k);
            self.predictions.push(PredictionRow {
                fold: fold.name.clone(),
                corpus: data.utts[i].corpus.clone(),
                path: data.utts[i].path.display().to_string(),
                speaker: data.utts[i].speaker_id.clone().unwrap_or_default(),
                true_label: data.classes[data.labels[i]].clone(),
                predicted: data.classes[k].clone(),
                confidence: p[k],
                correct: k == data.labels[i],
                probabilities: p.clone(),
            });
        }
        self.reports.push(FoldReport {
            labels: record.labels,
            dimension_layer_weights: record.dimension_layer_weights,
            dims: record.dims,
            layer_weights: record.layer_weights,
            fusion_alpha: record.fusion_alpha,
            gate_per_class: best.as_ref().and_then(|m| {
                m.gate_per_class
                    .as_ref()
                    .map(|g| g.iter().map(|v| v.is_finite().then_some(*v)).collect())
            }),
            name: fold.name.clone(),
            best_epoch: best.map_or(0, |m| m.epoch),
            report: record.report,
        });
    }

    /// Writes what the added folds add up to so far (metrics, steps, interpretability,
    /// predictions): the files stay current, so a later stop or crash loses nothing that
    /// finished.
    fn write_progress(&self, run: &RunDir, data: &RunData) -> Result<(), String> {
        write_interpretability(run, &self.epochs, &data.fold_names)?;
        run.write_metrics(&self.epochs, &data.fold_names, &dimension_names(data))?;
        run.write_steps(&self.steps, &data.fold_names)?;
        self.write_predictions(run, data)
    }

    fn write_predictions(&self, run: &RunDir, data: &RunData) -> Result<(), String> {
        if data.multi_label.is_some() {
            let bytes = super::ml_report::predictions_csv(&self.label_rows, &data.classes)?;
            return run.write_bytes("predictions.csv", &bytes);
        }
        if data.dimensional.is_some() {
            let bytes = super::dim_report::predictions_csv(&self.dim_rows, &data.classes)?;
            run.write_bytes("predictions.csv", &bytes)
        } else {
            run.write_predictions(&self.predictions, &data.classes)
        }
    }
}

/// Phase 6: the pooled and per-fold report (`report.json`, `report.md`), complete or marked
/// incomplete when stopped; returns the pooled test report.
fn write_final_report(
    run: &RunDir,
    preset: &super::Preset,
    data: &RunData,
    seed: u64,
    done: FoldsDone,
    stopped: bool,
    train_secs: f64,
) -> Result<RunReport, String> {
    run.write_metrics(&done.epochs, &data.fold_names, &dimension_names(data))?;
    done.write_predictions(run, data)?;
    let dimensional = data.dimensional.as_ref().map(|task| {
        let folds: Vec<Vec<crate::eval::regression::DimensionReport>> = done
            .reports
            .iter()
            .map(|f| f.dims.clone().unwrap_or_default())
            .collect();
        super::dim_report::DimensionalSummary::of(
            &data.classes,
            &folds,
            &done.dim_rows,
            data.scales.clone(),
            super::dim_report::scale_note(&task.scale),
            task.loss.describe(),
            mean_rows(
                &done
                    .reports
                    .iter()
                    .filter_map(|f| f.dimension_layer_weights.clone())
                    .collect::<Vec<_>>(),
            ),
        )
    });
    let multi_label = data.multi_label.as_ref().map(|task| {
        let folds: Vec<crate::eval::multilabel::MultiLabelReport> = done
            .reports
            .iter()
            .filter_map(|f| f.labels.clone())
            .collect();
        super::ml_report::MultiLabelSummary::of(&data.classes, &folds, &done.label_rows, task)
    });
    let pooled = if dimensional.is_some() || multi_label.is_some() {
        ClassificationReport::from_predictions(&[], &[], &[])
    } else {
        ClassificationReport::from_predictions(&data.classes, &done.truth, &done.predicted)
    };
    let any_fold = !done.reports.is_empty();
    let tasks = match (&preset.model, &data.tasks) {
        (crate::model::ModelConfig::SslFineTune(ft), Some(td)) => ft.multitask().map(|spec| {
            super::multitask::TasksSummary::of(
                spec.describe(),
                done.task_scores.clone(),
                td.notes.clone(),
            )
        }),
        _ => None,
    };
    let feature_weights = match done.linear_weights.first() {
        Some(w) if !data.classes.is_empty() => {
            let names =
                super::feature_weights::input_names(&preset.features, w.len() / data.classes.len());
            let (csv, summary) =
                super::feature_weights::summarise(&names, &data.classes, &done.linear_weights, 5)?;
            run.write_bytes("feature_weights.csv", &csv)?;
            Some(summary)
        }
        _ => None,
    };
    let report = RunReport {
        feature_weights,
        preset: preset.name.clone(),
        protocol: data.plan.protocol.clone(),
        independence: data.plan.independence_label().to_string(),
        seed,
        wa_formula: crate::eval::metrics::WA_FORMULA.into(),
        ua_formula: crate::eval::metrics::UA_FORMULA.into(),
        pooled: pooled.clone(),
        fold_mean_std: FoldStats::of(&done.reports),
        layer_weights: mean_layer_weights(&done.reports),
        folds: done.reports,
        incomplete: stopped,
        train_secs,
        cost: any_fold.then(|| {
            let mut c = done.cost.clone();
            c.train_secs = train_secs;
            c.inference_secs_per_audio_sec = if c.test_audio_secs > 0.0 {
                c.inference_secs / c.test_audio_secs
            } else {
                f64::NAN
            };
            c
        }),
        members: Vec::new(),
        dimensional,
        multi_label,
        tasks,
    };
    run.write_report(&report)?;
    Ok(report)
}

/// Dimension names of a dimensional run (empty for categorical runs).
fn dimension_names(data: &RunData) -> Vec<String> {
    if data.dimensional.is_some() {
        data.classes.clone()
    } else {
        Vec::new()
    }
}

/// Element-wise mean of equally shaped row sets (None when there are none).
fn mean_rows(sets: &[Vec<Vec<f32>>]) -> Option<Vec<Vec<f32>>> {
    let first = sets.first()?;
    let mut mean: Vec<Vec<f32>> = first.iter().map(|r| vec![0.0; r.len()]).collect();
    for set in sets {
        for (m, r) in mean.iter_mut().zip(set) {
            for (a, b) in m.iter_mut().zip(r) {
                *a += b / sets.len() as f32;
            }
        }
    }
    Some(mean)
}

/// `interpretability.json`: per fold and epoch, fusion α, gate per class, layer/block weights
/// and the source/target embedding scatter (written when any of them exists).
fn write_interpretability(
    run: &RunDir,
    epochs: &[super::messages::EpochMetrics],
    fold_names: &[String],
) -> Result<(), String> {
    let any = epochs.iter().any(|m| {
        m.fusion_alpha.is_some()
            || m.gate_per_class.is_some()
            || m.scatter.is_some()
            || m.layer_weights.is_some()
    });
    if !any {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = epochs
        .iter()
        .map(|m| {
            serde_json::json!({
                "fold": fold_names.get(m.fold).cloned().unwrap_or_default(),
                "epoch": m.epoch,
                "fusion_alpha": m.fusion_alpha,
                "gate_per_class": m.gate_per_class,
                "layer_weights": m.layer_weights,
                "scatter": m.scatter,
            })
        })
        .collect();
    run.write_json(
        "interpretability.json",
        &serde_json::json!({
            "scatter": "2-D PCA of the head's input embeddings; source = validation utterances, target = target-corpus utterances (labels drawn only)",
            "epochs": rows,
        }),
    )
}

/// Mean of the folds' layer weights (None for models without them).
fn mean_layer_weights(folds: &[FoldReport]) -> Option<Vec<f32>> {
    let all: Vec<&Vec<f32>> = folds
        .iter()
        .filter_map(|f| f.layer_weights.as_ref())
        .collect();
    let first = all.first()?;
    let mut mean = vec![0.0f32; first.len()];
    for w in &all {
        for (m, v) in mean.iter_mut().zip(w.iter()) {
            *m += v / all.len() as f32;
        }
    }
    Some(mean)
}

/// `splits.json`: the protocol, the leakage check and the file list of every part of every fold.
fn splits_json(plan: &corpus::SplitPlan, utts: &[Utterance]) -> serde_json::Value {
    let files = |idx: &[usize]| -> Vec<String> {
        idx.iter()
            .map(|&i| utts[i].path.display().to_string())
            .collect()
    };
    serde_json::json!({
        "protocol": plan.protocol,
        "speaker_independent": plan.speaker_independent,
        "seed": plan.seed,
        "leakage": plan.leakage,
        "folds": plan.folds.iter().map(|f| serde_json::json!({
            "name": f.name,
            "train": files(&f.train),
            "valid": files(&f.valid),
            "test": files(&f.test),
        })).collect::<Vec<_>>(),
    })
}

/// The label map of a run: the one asked for, else all classes of a single corpus, else the
/// classes every corpus shares.
pub fn label_map_for(
    spec: Option<&String>,
    m: &corpus::Manifest,
) -> Result<corpus::label_map::LabelMap, String> {
    use corpus::label_map::LabelMap;
    if let Some(s) = spec {
        return LabelMap::resolve(s);
    }
    let mut by_corpus: std::collections::BTreeMap<&str, corpus::Manifest> = Default::default();
    for u in &m.utterances {
        by_corpus
            .entry(u.corpus.as_str())
            .or_default()
            .utterances
            .push(u.clone());
    }
    if by_corpus.len() > 1 {
        Ok(LabelMap::intersection(
            &by_corpus.values().collect::<Vec<_>>(),
        ))
    } else {
        Ok(LabelMap::named("all").unwrap_or_default())
    }
}

/// Reads `config.ron` of a run folder.
pub fn read_resolved(run_dir: &Path) -> Result<ResolvedConfig, String> {
    let p = run_dir.join("config.ron");
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    ron::from_str(&text).map_err(|e| format!("{}: malformed run config: {e}", p.display()))
}
