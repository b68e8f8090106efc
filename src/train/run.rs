//! One experiment: corpus → features → splits (+ leakage check) → per-fold training → reports.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use burn::prelude::*;
use rayon::prelude::*;

use super::backend;
use super::data::{Example, fit_length};
use super::fit::{Controller, FoldInput, Interrupt, argmax, fit_fold};
use super::messages::{Event, RunRequest, RunState};
use super::run_dir::{FoldReport, FoldStats, PredictionRow, ResolvedConfig, RunDir, RunReport};
use crate::corpus::{self, Protocol, Utterance, class_order};
use crate::eval::ClassificationReport;
use crate::features::cache::CacheOutcome;
use crate::features::norm::cmvn;
use crate::features::{
    FeatureCache, FeatureConfig, FeatureMatrix, Normalisation, Standardiser, StreamKind,
};

/// Where runs go when no `--out` is given: `$SER_WORKBENCH_RUNS`, else `./runs`.
pub fn default_runs_root() -> PathBuf {
    std::env::var_os("SER_WORKBENCH_RUNS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("runs"))
}

/// How a run ended (the report is on disk either way).
#[derive(Debug)]
pub enum RunEnd {
    /// All folds finished.
    Finished(PathBuf),
    /// Stopped by the owner; finished folds are saved.
    Stopped(PathBuf),
}

/// Extracts features for every utterance in parallel through the cache. Files that fail to decode
/// are returned as `(index, message)` instead of features.
pub fn extract_all(
    utts: &[Utterance],
    cfg: &FeatureConfig,
    cache: &FeatureCache,
    emit: &(dyn Fn(Event) + Sync),
) -> (Vec<Option<FeatureMatrix>>, Vec<(usize, String)>) {
    let done = AtomicUsize::new(0);
    let cached = AtomicUsize::new(0);
    let total = utts.len();
    let results: Vec<Result<FeatureMatrix, String>> = utts
        .par_iter()
        .map(|u| {
            let r = cache.get_or_compute(&u.path, cfg);
            if matches!(r, Ok((_, CacheOutcome::Hit))) {
                cached.fetch_add(1, Ordering::Relaxed);
            }
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(25) || n == total {
                emit(Event::Features {
                    done: n,
                    total,
                    cached: cached.load(Ordering::Relaxed),
                });
            }
            r.map(|(m, _)| m)
        })
        .collect();
    let mut feats = Vec::with_capacity(total);
    let mut failed = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(m) => feats.push(Some(m)),
            Err(e) => {
                feats.push(None);
                failed.push((i, e));
            }
        }
    }
    (feats, failed)
}

/// Applies the configured normalisation and crops/pads to `frames` rows.
pub fn prepare(
    m: &FeatureMatrix,
    cfg: &FeatureConfig,
    standardiser: Option<&Standardiser>,
    frames: usize,
) -> Vec<f32> {
    let mut m = m.clone();
    match (cfg.normalisation, standardiser) {
        // Per-utterance CMVN over the rows of an SSL matrix would mix layers: not applied there.
        (Normalisation::PerUtterance, _) if cfg.stream != StreamKind::Ssl => cmvn(&mut m),
        (Normalisation::TrainingSet, Some(s)) => s.apply(&mut m),
        _ => {}
    }
    fit_length(&m, frames)
}

/// Features per utterance (`None` where extraction failed) and the failures with their messages.
pub type Extracted = (Vec<Option<FeatureMatrix>>, Vec<(usize, String)>);

/// Features of every utterance for `cfg`'s stream through the cache (SSL streams load the
/// encoder first), with `Event::Features` progress.
pub fn extract_features(
    utts: &[Utterance],
    cfg: &FeatureConfig,
    cache: &FeatureCache,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Extracted, String> {
    if cfg.uses_ssl() {
        extract_ssl(utts, cfg, cache, emit)
    } else {
        Ok(extract_all(utts, cfg, cache, emit))
    }
}

/// How many utterances already have valid cache entries for `cfg`'s stream (all its parts).
pub fn cache_status(
    utts: &[Utterance],
    cfg: &FeatureConfig,
    cache: &FeatureCache,
) -> Result<usize, String> {
    if !cfg.uses_ssl() {
        return Ok(utts
            .par_iter()
            .filter(|u| cache.is_cached(&u.path, cfg))
            .count());
    }
    let weights = cfg
        .ssl_weights
        .as_ref()
        .ok_or("the SSL stream has no model folder (ssl_weights)")?;
    let stream = crate::ssl::stream::SslStream::load(weights, &cfg.ssl_layers)?;
    let frames = cfg.stream == StreamKind::LogMelSsl
        && cfg.ssl_pooling == crate::features::SslPooling::Frames;
    let key = if frames {
        &stream.frames_key
    } else {
        &stream.key
    };
    let logmel = cfg.logmel_part();
    Ok(utts
        .par_iter()
        .filter(|u| {
            cache.is_cached_key(&u.path, key)
                && (cfg.stream != StreamKind::LogMelSsl || cache.is_cached(&u.path, &logmel))
        })
        .count())
}

/// SSL stream: loads the encoder named by the preset and embeds every utterance (cached).
fn extract_ssl(
    utts: &[Utterance],
    cfg: &FeatureConfig,
    cache: &FeatureCache,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<Extracted, String> {
    let weights = cfg.ssl_weights.as_ref().ok_or("the ssl stream needs features.ssl_weights (a model folder with config.json and model.safetensors)")?;
    let stream = crate::ssl::stream::SslStream::load(weights, &cfg.ssl_layers)?;
    emit(Event::Log(format!(
        "SSL encoder: {} ({} layers × {}), hidden states {:?}",
        stream.config.model_type,
        stream.config.num_hidden_layers,
        stream.config.hidden_size,
        stream.layers
    )));
    let (mut feats, mut failed, mut cached) = (Vec::new(), Vec::new(), 0);
    for (i, u) in utts.iter().enumerate() {
        match stream.cached_stream(&u.path, cfg, cache) {
            Ok((m, o)) => {
                cached += usize::from(o == CacheOutcome::Hit);
                feats.push(Some(m));
            }
            Err(e) => {
                feats.push(None);
                failed.push((i, e));
            }
        }
        if (i + 1) % 10 == 0 || i + 1 == utts.len() {
            emit(Event::Features {
                done: i + 1,
                total: utts.len(),
                cached,
            });
        }
    }
    Ok((feats, failed))
}

/// Runs the experiment described by `req`, emitting events; returns how it ended.
pub fn execute(
    req: &RunRequest,
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<RunEnd, String> {
    let started = Instant::now();
    let preset = &req.preset;
    let protocol_text = req
        .protocol
        .clone()
        .unwrap_or_else(|| preset.training.protocol.clone());
    let protocol: Protocol = protocol_text.parse()?;
    let seed = req.seed.unwrap_or(preset.training.seed);

    let corpora_text = req
        .corpus_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let mut manifest =
        corpus::load_many(&req.corpus_dirs, req.corpus_type).map_err(|e| e.to_string())?;
    // Cross-corpus: the target corpus follows the source rows; its audio adapts, its labels only test.
    let mut target_names: std::collections::BTreeSet<String> = Default::default();
    if let Some(t) = &req.target_corpus {
        let tm = corpus::load(t, None).map_err(|e| e.to_string())?;
        emit(Event::Log(format!(
            "target corpus {}: {} corpus, {} utterances ({} skipped)",
            t.display(),
            tm.corpus_type,
            tm.utterances.len(),
            tm.skipped.len()
        )));
        let source_names: std::collections::BTreeSet<String> = manifest
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
    emit(Event::Log(format!(
        "{}: {} corpus, {} utterances, {} speakers, {} skipped",
        corpora_text,
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
    let label_map = label_map_for(
        req.label_map
            .as_ref()
            .or(preset.training.label_map.as_ref()),
        &manifest,
    )?;
    let label_report = label_map.apply(&mut manifest);
    emit(Event::Log(label_report.summary()));
    if manifest.utterances.is_empty() {
        return Err(format!("{}: no loadable utterances", corpora_text));
    }

    let cache = FeatureCache::new(req.cache_dir.clone());
    let fcfg = &preset.features;
    let (feats, failed) = if fcfg.uses_ssl() {
        extract_ssl(&manifest.utterances, fcfg, &cache, emit)?
    } else {
        extract_all(&manifest.utterances, fcfg, &cache, emit)
    };
    for (i, e) in &failed {
        emit(Event::Log(format!(
            "skipped {}: {e}",
            manifest.utterances[*i].path.display()
        )));
    }
    let (utts, feats): (Vec<Utterance>, Vec<FeatureMatrix>) = manifest
        .utterances
        .iter()
        .cloned()
        .zip(feats)
        .filter_map(|(u, f)| f.map(|f| (u, f)))
        .unzip();

    let classes_e = class_order(utts.iter().map(|u| u.emotion));
    let classes: Vec<String> = classes_e.iter().map(|e| e.name().to_string()).collect();
    if classes.len() < 2 {
        return Err(format!(
            "{}: needs at least two classes, found {:?}",
            corpora_text, classes
        ));
    }
    let labels: Vec<usize> = utts
        .iter()
        .map(|u| classes_e.iter().position(|e| *e == u.emotion).unwrap_or(0))
        .collect();
    let is_target: Vec<bool> = utts
        .iter()
        .map(|u| target_names.contains(&u.corpus))
        .collect();
    let plan = if target_names.is_empty() {
        corpus::split::plan(&utts, protocol, seed, preset.training.valid_fraction)?
    } else {
        corpus::split::cross_corpus_plan(&utts, &is_target, seed, preset.training.valid_fraction)?
    };

    if let Some(a) = &preset.training.adaptation {
        if target_names.is_empty() {
            emit(Event::Log(format!(
                "the preset asks for {:?} adaptation, but this run has no target corpus: trained without adaptation (give --target-corpus for a cross-corpus run)",
                a.method
            )));
        } else {
            emit(Event::Log(format!(
                "domain adaptation: {:?}, lambda {}{}, aligned features: {}",
                a.method,
                a.lambda,
                a.ramp_gamma
                    .map_or(String::new(), |g| format!(" (ramped, gamma {g})")),
                a.aligned_layer.name()
            )));
        }
    }
    let backend = backend::select(req.backend);
    if let Some(n) = &backend.notice {
        emit(Event::Log(n.clone()));
    }
    let run_path = match &req.out_dir {
        Some(p) => p.clone(),
        None => RunDir::claim_new(&default_runs_root(), &preset.name)?,
    };
    let run = RunDir::create(run_path)?;
    // SSL matrices are [layers, dim]; spectral ones [time, bins] cropped to max_secs.
    let (frames, bins) = match fcfg.stream {
        StreamKind::Ssl => (
            feats.first().map_or(1, |m| m.n_frames),
            feats.first().map_or(0, |m| m.n_bins),
        ),
        StreamKind::LogMelSsl => (fcfg.max_frames(), feats.first().map_or(0, |m| m.n_bins)),
        _ => (fcfg.max_frames(), fcfg.n_bins()),
    };
    let fold_names: Vec<String> = plan.folds.iter().map(|f| f.name.clone()).collect();
    let resolved = ResolvedConfig {
        preset: preset.clone(),
        protocol: plan.protocol.clone(),
        seed,
        corpus_dir: req.corpus_dirs.first().cloned().unwrap_or_default(),
        corpus_dirs: req.corpus_dirs.clone(),
        label_map: label_report.map.clone(),
        corpus_type: manifest.corpus_type.clone(),
        classes: classes.clone(),
        backend: backend.description.clone(),
        frames,
        bins,
        folds: plan.folds.len(),
    };
    run.write_text("preset.ron", &preset.to_ron())?;
    let ron_cfg = ron::ser::to_string_pretty(&resolved, ron::ser::PrettyConfig::default())
        .map_err(|e| e.to_string())?;
    run.write_text("config.ron", &ron_cfg)?;
    run.write_json("splits.json", &splits_json(&plan, &utts))?;
    run.write_json(
        "label_map.json",
        &serde_json::json!({"map": label_map, "report": label_report}),
    )?;
    emit(Event::Plan {
        run_dir: run.path.clone(),
        classes: classes.clone(),
        folds: fold_names.clone(),
        independence: plan.independence_label().to_string(),
        leakage: plan
            .leakage
            .iter()
            .map(|l| l.summary(plan.speaker_independent))
            .collect(),
        backend: match &backend.notice {
            Some(n) => format!("{} — {n}", backend.description),
            None => backend.description.clone(),
        },
        epochs: preset.training.epochs,
    });

    let mut all_epochs = Vec::new();
    let mut fold_reports = Vec::new();
    let mut pred_rows = Vec::new();
    let (mut pooled_truth, mut pooled_pred) = (Vec::new(), Vec::new());
    let mut stopped = false;
    for (fi, fold) in plan.folds.iter().enumerate() {
        let standardiser = (fcfg.normalisation == Normalisation::TrainingSet)
            .then(|| Standardiser::fit(fold.train.iter().map(|&i| &feats[i])));
        let examples = |idx: &[usize]| -> Vec<Example> {
            idx.iter()
                .map(|&i| Example {
                    values: prepare(&feats[i], fcfg, standardiser.as_ref(), frames),
                    label: labels[i],
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
            plan.folds.len(),
            fold.name,
            train.len(),
            valid.len(),
            test.len()
        )));
        let input = FoldInput {
            fold: fi,
            train: &train,
            valid: &valid,
            test: &test,
            // Cross-corpus runs adapt on the target audio (the test part); labels are not read.
            target: if target_names.is_empty() { &[] } else { &test },
            classes: &classes,
            frames,
            bins,
            seed: seed.wrapping_add(fi as u64),
        };
        let train_device = backend.device.clone().autodiff();
        train_device.seed(seed.wrapping_add(fi as u64));
        let model = preset.model.init(
            crate::model::InputShape {
                frames,
                bins,
                split: fcfg.stream_split(),
            },
            classes.len(),
            &train_device,
        );
        let out = match fit_fold(preset, &input, model, &backend.device, controller, emit) {
            Ok(o) => o,
            Err(Interrupt::Stopped) => {
                stopped = true;
                break;
            }
        };
        let best_epoch = out
            .epochs
            .iter()
            .filter(|m| m.is_best)
            .map(|m| m.epoch)
            .max()
            .unwrap_or(0);
        all_epochs.extend(out.epochs.iter().cloned());
        let bytes = out
            .model
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| format!("checkpoint of fold {}: {e}", fi + 1))?;
        run.write_bytes(&format!("fold{}.bpk", fi + 1), &bytes)?;
        if let Some(s) = &standardiser {
            run.write_json(&format!("fold{}.norm.json", fi + 1), s)?;
        }
        for (&i, p) in fold.test.iter().zip(&out.test_probs) {
            let k = argmax(p);
            pooled_truth.push(labels[i]);
            pooled_pred.push(k);
            pred_rows.push(PredictionRow {
                fold: fold.name.clone(),
                corpus: utts[i].corpus.clone(),
                path: utts[i].path.display().to_string(),
                speaker: utts[i].speaker_id.clone().unwrap_or_default(),
                true_label: classes[labels[i]].clone(),
                predicted: classes[k].clone(),
                confidence: p.get(k).copied().unwrap_or(0.0),
                correct: k == labels[i],
                probabilities: p.clone(),
            });
        }
        emit(Event::FoldDone {
            fold: fi,
            report: Box::new(out.report.clone()),
        });
        let best = out.epochs.iter().rfind(|m| m.is_best);
        fold_reports.push(FoldReport {
            layer_weights: out.model.layer_weights(),
            fusion_alpha: out.model.fusion_alpha(),
            gate_per_class: best.and_then(|m| {
                m.gate_per_class
                    .as_ref()
                    .map(|g| g.iter().map(|v| v.is_finite().then_some(*v)).collect())
            }),
            name: fold.name.clone(),
            best_epoch,
            report: out.report,
        });
        // Keep the files current so a later stop or crash loses nothing that finished.
        write_interpretability(&run, &all_epochs, &fold_names)?;
        run.write_metrics(&all_epochs, &fold_names)?;
        run.write_predictions(&pred_rows, &classes)?;
    }
    run.write_metrics(&all_epochs, &fold_names)?;
    run.write_predictions(&pred_rows, &classes)?;
    let pooled = ClassificationReport::from_predictions(&classes, &pooled_truth, &pooled_pred);
    let report = RunReport {
        preset: preset.name.clone(),
        protocol: plan.protocol.clone(),
        independence: plan.independence_label().to_string(),
        seed,
        wa_formula: crate::eval::metrics::WA_FORMULA.into(),
        ua_formula: crate::eval::metrics::UA_FORMULA.into(),
        pooled: pooled.clone(),
        fold_mean_std: FoldStats::of(&fold_reports),
        layer_weights: mean_layer_weights(&fold_reports),
        folds: fold_reports,
        incomplete: stopped,
        train_secs: started.elapsed().as_secs_f64(),
    };
    run.write_report(&report)?;
    if stopped {
        emit(Event::State(RunState::Stopped));
        return Ok(RunEnd::Stopped(run.path));
    }
    emit(Event::Finished {
        run_dir: run.path.clone(),
        report: Box::new(pooled),
    });
    emit(Event::State(RunState::Finished));
    Ok(RunEnd::Finished(run.path))
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
