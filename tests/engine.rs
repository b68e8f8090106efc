//! The training engine through its public worker API: start → progress → finish with a complete
//! run folder; stop within a batch; errors and panics become `Failed` events; CPU runs are
//! reproducible for a seed; a saved run predicts.

mod common;

use std::time::Duration;

use ser_workbench::train::worker::spawn_with;
use ser_workbench::train::{Control, Event, RunRequest, RunState, spawn_training};

/// burn's Flex backend keeps one process-wide RNG (dropout, initialisation): runs that train at
/// the same time in one process draw from it in turn. The app runs one training at a time; here the
/// tests that train take this lock so that each run sees only its own seed.
static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(|e| e.into_inner())
}

fn request(out: &std::path::Path, cache: &std::path::Path) -> RunRequest {
    common::demo_request(common::tiny_preset(), out, cache)
}

fn collect(h: ser_workbench::train::TrainHandle) -> Vec<Event> {
    let evs: Vec<Event> = h.events.iter().collect();
    evs
}

/// Trains `req` to the end (it must finish) and returns fold 1's first-epoch training loss
/// with all events.
fn first_epoch_loss(req: RunRequest) -> (f64, Vec<Event>) {
    let evs = collect(spawn_training(req, None).expect("spawn"));
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::State(RunState::Finished))),
        "{evs:?}"
    );
    let loss = evs
        .iter()
        .find_map(|e| match e {
            Event::Epoch(m) if m.fold == 0 => Some(m.train_loss),
            _ => None,
        })
        .expect("an epoch");
    (loss, evs)
}

#[test]
fn full_run_writes_a_complete_run_folder_and_predicts() {
    let _guard = serial();
    let d = tempfile::tempdir().expect("tmp");
    let run = d.path().join("run");
    let h = spawn_training(request(&run, &d.path().join("cache")), None).expect("spawn");
    let evs = collect(h);
    let states: Vec<&RunState> = evs
        .iter()
        .filter_map(|e| {
            if let Event::State(s) = e {
                Some(s)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(states.first(), Some(&&RunState::Started));
    assert_eq!(states.last(), Some(&&RunState::Finished), "{evs:?}");
    let steps = evs
        .iter()
        .filter(|e| matches!(e, Event::Step { .. }))
        .count();
    let epochs = evs.iter().filter(|e| matches!(e, Event::Epoch(_))).count();
    assert_eq!(epochs, 2 * 3, "2 folds × 3 epochs");
    assert!(steps >= epochs);
    // Every fold reports its test result as it ends (the GUI's per-fold table).
    let fold_done: Vec<(usize, f64)> = evs
        .iter()
        .filter_map(|e| match e {
            Event::FoldDone { fold, report, .. } => Some((*fold, report.ua)),
            _ => None,
        })
        .collect();
    assert_eq!(
        fold_done.iter().map(|f| f.0).collect::<Vec<_>>(),
        vec![0, 1]
    );
    for f in [
        "preset.ron",
        "config.ron",
        "splits.json",
        "metrics.csv",
        "report.json",
        "report.md",
        "predictions.csv",
        "fold1.bpk",
        "fold2.bpk",
        "fold1.norm.json",
    ] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).expect("r"))
            .expect("json");
    for key in [
        "classes",
        "wa",
        "ua",
        "macro_f1",
        "weighted_f1",
        "per_class",
        "confusion",
        "folds",
    ] {
        assert!(report.get(key).is_some(), "report.json lacks {key}");
    }
    assert_eq!(report["classes"].as_array().map(Vec::len), Some(7));
    assert_eq!(report["folds"].as_array().map(Vec::len), Some(2));
    for (k, ua) in &fold_done {
        let saved = report["folds"][*k]["ua"].as_f64().expect("fold ua");
        assert!(
            (saved - ua).abs() < 1e-12,
            "fold {k}: event UA {ua}, report {saved}"
        );
    }
    assert_eq!(report["independence"], "speaker-independent");
    // The pooled confusion counts every utterance exactly once.
    let total: u64 = report["confusion"]["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .flat_map(|r| r.as_array().expect("row"))
        .map(|v| v.as_u64().expect("u64"))
        .sum();
    assert_eq!(total, 70);
    // Splits: no speaker in both train and test of a fold.
    let splits: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("splits.json")).expect("r"))
            .expect("json");
    for fold in splits["folds"].as_array().expect("folds") {
        let spk = |part: &str| -> std::collections::BTreeSet<String> {
            fold[part]
                .as_array()
                .expect("part")
                .iter()
                .map(|p| {
                    let name = std::path::Path::new(p.as_str().expect("s"))
                        .file_name()
                        .expect("n")
                        .to_string_lossy()
                        .to_string();
                    name[..2].to_string()
                })
                .collect()
        };
        assert!(spk("test").is_disjoint(&spk("train")));
        assert!(spk("test").is_disjoint(&spk("valid")));
    }
    // The run predicts a file with probabilities that sum to 1.
    let p = ser_workbench::train::predict::Predictor::load(&run).expect("predictor");
    assert_eq!(p.n_models(), 2);
    let probs = p
        .predict_file(&common::small_demo().join("emodb/wav/03a01Wa.wav"))
        .expect("predict");
    assert_eq!(probs.len(), 7);
    assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-4);
}

#[test]
fn same_seed_gives_identical_metrics_on_cpu() {
    let _guard = serial();
    let d = tempfile::tempdir().expect("tmp");
    let cache = d.path().join("cache");
    let run = |name: &str| {
        let h = spawn_training(request(&d.path().join(name), &cache), None).expect("spawn");
        h.join();
        std::fs::read_to_string(d.path().join(name).join("metrics.csv")).expect("metrics")
    };
    let a = run("a");
    let b = run("b");
    // epoch_secs differs between runs; compare every other column.
    let strip = |s: &str| {
        s.lines()
            .map(|l| {
                let mut c: Vec<&str> = l.split(',').collect();
                c.remove(9);
                c.join(",")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&a), strip(&b));
}

#[test]
fn stop_is_honoured_within_a_batch_and_keeps_finished_work() {
    let _guard = serial();
    let d = tempfile::tempdir().expect("tmp");
    let run = d.path().join("run");
    let mut req = request(&run, &d.path().join("cache"));
    req.preset.training.epochs = 50;
    let h = spawn_training(req, None).expect("spawn");
    // Wait for the first optimisation step, then stop.
    let mut steps_after_stop = 0;
    let mut stopped = false;
    let mut sent = false;
    while let Ok(ev) = h.events.recv_timeout(Duration::from_secs(120)) {
        match ev {
            Event::Step { .. } if !sent => {
                h.send(Control::Stop);
                sent = true;
            }
            Event::Step { .. } => steps_after_stop += 1,
            Event::State(RunState::Stopped) => stopped = true,
            Event::State(RunState::Failed(m)) => panic!("failed: {m}"),
            _ => {}
        }
        if stopped {
            break;
        }
    }
    assert!(stopped, "no Stopped state");
    assert!(
        steps_after_stop <= 1,
        "{steps_after_stop} steps ran after the stop request"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).expect("r"))
            .expect("json");
    assert_eq!(report["incomplete"], true);
}

#[test]
fn errors_and_panics_become_failed_events() {
    let h = spawn_with(|_, _| Err("step 3: loss is NaN".into()), None).expect("spawn");
    let evs = collect(h);
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::State(RunState::Failed(m)) if m.contains("NaN")))
    );

    let h = spawn_with(|_, _| panic!("shape mismatch in a training step"), None).expect("spawn");
    let evs = collect(h);
    assert!(evs.iter().any(|e| matches!(e, Event::State(RunState::Failed(m)) if m.contains("panicked") && m.contains("shape mismatch"))));

    // A bad corpus folder fails with a message naming it.
    let d = tempfile::tempdir().expect("tmp");
    let mut req = request(&d.path().join("run"), &d.path().join("cache"));
    req.corpus_dirs = vec![d.path().join("does-not-exist")];
    let evs = collect(spawn_training(req, None).expect("spawn"));
    assert!(
        evs.iter().any(
            |e| matches!(e, Event::State(RunState::Failed(m)) if m.contains("does-not-exist"))
        ),
        "{evs:?}"
    );
}

#[test]
fn pause_and_resume() {
    let _guard = serial();
    let d = tempfile::tempdir().expect("tmp");
    let h = spawn_training(
        request(&d.path().join("run"), &d.path().join("cache")),
        None,
    )
    .expect("spawn");
    let mut saw = (false, false, false);
    let mut sent = false;
    while let Ok(ev) = h.events.recv_timeout(Duration::from_secs(120)) {
        match ev {
            Event::Step { .. } if !sent => {
                h.send(Control::Pause);
                sent = true;
            }
            Event::State(RunState::Paused) => {
                saw.0 = true;
                // Nothing arrives while paused.
                assert!(h.events.recv_timeout(Duration::from_millis(300)).is_err());
                h.send(Control::Resume);
            }
            Event::State(RunState::Resumed) => saw.1 = true,
            Event::State(RunState::Finished) => {
                saw.2 = true;
                break;
            }
            Event::State(RunState::Failed(m)) => panic!("{m}"),
            _ => {}
        }
    }
    assert_eq!(saw, (true, true, true));
}

/// The SSL stream end to end: tiny HuBERT fixture → mean-pooled hidden states (cached) →
/// layer-weighted sum + FC → layer weights per epoch, in report.json, and prediction.
#[test]
fn ssl_layer_weighted_run_reports_layer_weights() {
    let _guard = serial();
    let d = tempfile::tempdir().expect("tmp");
    let run = d.path().join("run");
    let mut req = request(&run, &d.path().join("cache"));
    let mut preset = ser_workbench::train::Preset::builtin()
        .into_iter()
        .find(|p| p.name == "hubert-layer-weighted")
        .expect("preset");
    preset.features.ssl_weights = Some(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssl/hubert_tiny"),
    );
    preset.training.epochs = 3;
    preset.training.protocol = ser_workbench::corpus::Protocol::SpeakerKFold(2);
    preset.training.early_stopping_patience = None;
    req.preset = preset;
    let evs = collect(spawn_training(req, None).expect("spawn"));
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::State(RunState::Finished))),
        "{evs:?}"
    );
    let lw: Vec<&Vec<f32>> = evs
        .iter()
        .filter_map(|e| {
            if let Event::Epoch(m) = e {
                m.layer_weights.as_ref()
            } else {
                None
            }
        })
        .collect();
    assert_eq!(lw.len(), 6);
    assert!(
        lw.iter()
            .all(|w| w.len() == 3 && (w.iter().sum::<f32>() - 1.0).abs() < 1e-4)
    );
    // The logits start at zero (equal weights) and receive gradients.
    let last = lw.last().expect("weights");
    assert!(
        last.iter().any(|w| (w - 1.0 / 3.0).abs() > 1e-6),
        "layer weights never moved: {last:?}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).expect("r"))
            .expect("json");
    let w = report["layer_weights"]
        .as_array()
        .expect("layer_weights in report.json");
    assert_eq!(w.len(), 3);
    let p = ser_workbench::train::predict::Predictor::load(&run).expect("predictor");
    let probs = p
        .predict_file(&common::small_demo().join("emodb/wav/03a01Wa.wav"))
        .expect("predict");
    assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    // The second run reads every embedding from the cache.
    let run2 = d.path().join("run2");
    let mut req2 = request(&run2, &d.path().join("cache"));
    req2.preset = ser_workbench::train::Preset::load(&run.join("preset.ron")).expect("preset.ron");
    let evs2 = collect(spawn_training(req2, None).expect("spawn"));
    assert!(
        evs2.iter().any(|e| matches!(
            e,
            Event::Features {
                done: 70,
                total: 70,
                cached: 70
            }
        )),
        "cache not used"
    );
}

/// Cross-corpus with LMMD: train on the EMODB-named demo corpus, adapt on the RAVDESS-named
/// one's audio, test on all of it with the shared six classes; the adaptation loss is reported.
#[test]
fn cross_corpus_run_with_lmmd() {
    let _guard = serial();
    let d = tempfile::tempdir().expect("tmp");
    let run = d.path().join("run");
    let mut req = request(&run, &d.path().join("cache"));
    req.target_corpus = Some(common::small_demo().join("ravdess"));
    req.preset.training.adaptation =
        Some(ser_workbench::train::preset::AdaptationConfig::default());
    let evs = collect(spawn_training(req, None).expect("spawn"));
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::State(RunState::Finished))),
        "{evs:?}"
    );
    let adapt: Vec<f64> = evs
        .iter()
        .filter_map(|e| {
            if let Event::Epoch(m) = e {
                m.adapt_loss
            } else {
                None
            }
        })
        .collect();
    assert_eq!(adapt.len(), 3);
    assert!(
        adapt.iter().all(|a| a.is_finite() && *a >= -1e-6),
        "{adapt:?}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).expect("r"))
            .expect("json");
    assert_eq!(report["protocol"], "cross-corpus");
    assert_eq!(report["classes"].as_array().map(Vec::len), Some(6));
    // Every target utterance of the six shared classes is tested: 2 actors × 22.
    assert_eq!(report["n"], 44);
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).expect("metrics");
    let header: Vec<&str> = metrics.lines().next().expect("header").split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "adapt_loss")
        .expect("adapt_loss column");
    let row: Vec<&str> = metrics.lines().nth(1).expect("row").split(',').collect();
    assert!(row[col].parse::<f64>().is_ok_and(f64::is_finite), "{row:?}");
}

/// Early stopping keeps the best epoch's weights: with patience 1 a fold stops after an epoch
/// that did not improve, so its last weights are not its best. Reloading `fold<N>.bpk`
/// reproduces every probability in `predictions.csv` (to its 6 printed decimals) and, on the
/// fold's validation files, the best epoch's validation UA — not the last epoch's.
#[test]
fn early_stopping_checkpoint_is_the_best_epoch_and_reproduces_predictions() {
    use ser_workbench::eval::{ClassificationReport, argmax};
    let _guard = serial();
    let d = tempfile::tempdir().expect("tmp");
    let run = d.path().join("run");
    let mut req = request(&run, &d.path().join("cache"));
    req.preset.training.epochs = 12;
    req.preset.training.early_stopping_patience = Some(1);
    let evs = collect(spawn_training(req, None).expect("spawn"));
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::State(RunState::Finished))),
        "{evs:?}"
    );
    let epochs: Vec<&ser_workbench::train::EpochMetrics> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Epoch(m) => Some(&**m),
            _ => None,
        })
        .collect();
    // A fold that stopped early: its last epoch is not its best.
    let stopped_fold = (0..2)
        .find(|&f| {
            let last = epochs.iter().rfind(|m| m.fold == f).expect("epochs");
            !last.is_best && last.epoch < 12
        })
        .expect("no fold stopped early with patience 1");
    let best = epochs
        .iter()
        .rfind(|m| m.fold == stopped_fold && m.is_best)
        .expect("best");
    let last = epochs
        .iter()
        .rfind(|m| m.fold == stopped_fold)
        .expect("last");
    assert_ne!(best.epoch, last.epoch);

    let p = ser_workbench::train::predict::Predictor::load(&run).expect("predictor");
    let classes = p.classes.clone();
    let folds: Vec<String> = {
        let splits: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("splits.json")).expect("r"))
                .expect("json");
        splits["folds"]
            .as_array()
            .expect("folds")
            .iter()
            .map(|f| f["name"].as_str().expect("name").to_string())
            .collect()
    };
    let rows = common::csv_rows(&run.join("predictions.csv"));
    assert_eq!(rows.len(), 70);
    let mut worst = 0.0f32;
    for row in &rows {
        let k = folds.iter().position(|f| *f == row["fold"]).expect("fold");
        let got = &p
            .predict_file_per_fold(std::path::Path::new(&row["path"]))
            .expect("predict")[k];
        for (c, g) in classes.iter().zip(got) {
            let want: f32 = row[&format!("p_{c}")].parse().expect("probability");
            worst = worst.max((g - want).abs());
            assert!(
                (g - want).abs() <= 1e-6,
                "{}: p_{c} {g} vs predictions.csv {want}",
                row["path"]
            );
        }
    }
    eprintln!("checkpoint vs predictions.csv: max abs difference {worst:e}");

    // The checkpoint's validation UA is the best epoch's.
    let splits: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("splits.json")).expect("r"))
            .expect("json");
    let valid = splits["folds"][stopped_fold]["valid"]
        .as_array()
        .expect("valid");
    assert!(!valid.is_empty());
    let label_of = |path: &str| -> usize {
        let name = std::path::Path::new(path)
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let e = ser_workbench::corpus::emodb::parse_name(&name)
            .expect("EMODB name")
            .emotion;
        classes.iter().position(|c| c == e.name()).expect("class")
    };
    let (mut truth, mut pred) = (Vec::new(), Vec::new());
    for v in valid {
        let path = v.as_str().expect("path");
        let probs = &p
            .predict_file_per_fold(std::path::Path::new(path))
            .expect("predict")[stopped_fold];
        truth.push(label_of(path));
        pred.push(argmax(probs));
    }
    let ua = ClassificationReport::from_predictions(&classes, &truth, &pred).ua;
    assert!(
        (ua - best.valid_ua).abs() < 1e-9,
        "checkpoint valid UA {ua}, best epoch {} UA {}, last epoch {} UA {}",
        best.epoch,
        best.valid_ua,
        last.epoch,
        last.valid_ua
    );
}

/// `class_weighted_loss` changes training: the same seed and data with and without it give a
/// different first-epoch training loss. The demo corpus is balanced (every speaker has every
/// emotion equally often), so boredom is merged into neutral to make neutral twice as frequent:
/// then the weights are not all 1.
#[test]
fn class_weighted_loss_changes_training() {
    let _guard = serial();
    let d = tempfile::tempdir().expect("tmp");
    let cache = d.path().join("cache");
    let map = d.path().join("imbalanced.ron");
    std::fs::write(&map, "(name: \"imbalanced\", merge: {boredom: neutral})").expect("map");
    let first_loss = |weighted: bool| -> f64 {
        let name = format!("run-{weighted}");
        let mut req = request(&d.path().join(&name), &cache);
        req.label_map = Some(map.display().to_string());
        req.preset.training.epochs = 1;
        req.preset.training.class_weighted_loss = weighted;
        let evs = collect(spawn_training(req, None).expect("spawn"));
        evs.iter()
            .find_map(|e| match e {
                Event::Epoch(m) if m.fold == 0 => Some(m.train_loss),
                _ => None,
            })
            .expect("an epoch")
    };
    let (plain, weighted) = (first_loss(false), first_loss(true));
    assert!(plain.is_finite() && weighted.is_finite());
    assert!(
        (plain - weighted).abs() > 1e-6,
        "same loss with and without class weights: {plain}"
    );
}

/// Per-speaker normalisation trains on other values than the training-set one (the demo
/// speakers' own statistics), keeps the training-set standardiser in the run folder, and the
/// saved run predicts new audio with it.
#[test]
fn per_speaker_normalisation_trains_saves_and_predicts() {
    use ser_workbench::features::Normalisation;
    let _guard = serial();
    let d = tempfile::tempdir().expect("tmp");
    let cache = d.path().join("cache");
    let first_loss = |norm: Normalisation| -> (f64, std::path::PathBuf) {
        let run = d.path().join(format!("run-{norm:?}"));
        let mut req = request(&run, &cache);
        req.preset.training.epochs = 1;
        req.preset.features.normalisation = norm;
        (first_epoch_loss(req).0, run)
    };
    let (set, _) = first_loss(Normalisation::TrainingSet);
    let (speaker, run) = first_loss(Normalisation::PerSpeaker);
    assert!(set.is_finite() && speaker.is_finite());
    assert!(
        (set - speaker).abs() > 1e-6,
        "same first-epoch loss with training-set and per-speaker statistics: {set}"
    );
    assert!(run.join("fold1.norm.json").is_file());
    let p = ser_workbench::train::predict::Predictor::load(&run).expect("predictor");
    let probs = p
        .predict_file(&common::small_demo().join("emodb/wav/03a01Wa.wav"))
        .expect("predict");
    assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-4);
}

/// SpecAugment masks reach the training batches (another first-epoch training loss than the
/// same run without them, the policy in the log) and the run finishes and keeps the policy in
/// its preset.
#[test]
fn spec_augment_masks_training_batches() {
    use ser_workbench::train::spec_augment::SpecAugment;
    let _guard = serial();
    let d = tempfile::tempdir().expect("tmp");
    let cache = d.path().join("cache");
    let first_loss = |masks: Option<SpecAugment>| -> (f64, Vec<Event>, std::path::PathBuf) {
        let run = d.path().join(format!("run-{}", masks.is_some()));
        let mut req = request(&run, &cache);
        req.preset.training.epochs = 1;
        req.preset.training.spec_augment = masks;
        let (loss, evs) = first_epoch_loss(req);
        (loss, evs, run)
    };
    let (clean, _, _) = first_loss(None);
    let policy = SpecAugment {
        freq_masks: 2,
        freq_width: 16,
        time_masks: 2,
        time_width: 40,
        max_time_fraction: 0.3,
        probability: 1.0,
    };
    let (masked, evs, run) = first_loss(Some(policy.clone()));
    assert!(clean.is_finite() && masked.is_finite());
    assert!(
        (clean - masked).abs() > 1e-6,
        "same first-epoch loss with and without masks: {clean}"
    );
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::Log(l) if l.starts_with("SpecAugment"))),
        "no SpecAugment line in the log"
    );
    let saved = ser_workbench::train::Preset::load(&run.join("preset.ron")).expect("preset.ron");
    assert_eq!(saved.training.spec_augment, Some(policy));
}

/// A stop that arrives before feature extraction ends it between files: no fold trains, no run
/// folder is made, and fewer than all files reach the cache.
#[test]
fn stop_is_honoured_during_feature_extraction() {
    let _guard = serial();
    let d = tempfile::tempdir().expect("tmp");
    let run = d.path().join("run");
    let cache = d.path().join("cache");
    let h = spawn_training(request(&run, &cache), None).expect("spawn");
    h.send(Control::Stop);
    let evs = collect(h);
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::State(RunState::Stopped))),
        "{evs:?}"
    );
    assert!(
        !evs.iter()
            .any(|e| matches!(e, Event::Plan(_) | Event::Step { .. }))
    );
    assert!(!run.exists(), "a run folder was made");
    let cached = walk_files(&cache);
    assert!(
        cached < 70,
        "{cached} files cached: extraction did not stop"
    );
}

/// A pause that arrives before feature extraction holds it: nothing is extracted while paused,
/// and the run finishes after the resume.
#[test]
fn pause_is_honoured_during_feature_extraction() {
    let _guard = serial();
    let d = tempfile::tempdir().expect("tmp");
    let cache = d.path().join("cache");
    let h = spawn_training(request(&d.path().join("run"), &cache), None).expect("spawn");
    h.send(Control::Pause);
    let mut paused_before_features_done = false;
    let mut finished = false;
    while let Ok(ev) = h.events.recv_timeout(Duration::from_secs(120)) {
        match ev {
            Event::State(RunState::Paused) => {
                paused_before_features_done = true;
                let before = walk_files(&cache);
                std::thread::sleep(Duration::from_millis(400));
                assert_eq!(
                    walk_files(&cache),
                    before,
                    "files were extracted while paused"
                );
                assert!(before < 70);
                h.send(Control::Resume);
            }
            Event::Features { done, total, .. } if done == total => {
                assert!(
                    paused_before_features_done,
                    "extraction ended before the pause"
                );
            }
            Event::State(RunState::Finished) => {
                finished = true;
                break;
            }
            Event::State(RunState::Failed(m)) => panic!("{m}"),
            _ => {}
        }
    }
    assert!(paused_before_features_done && finished);
}

/// Number of files below `dir` (0 when it does not exist).
fn walk_files(dir: &std::path::Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { walk_files(&p) } else { 1 }
        })
        .sum()
}
