//! Drives the real app with egui_kittest (AccessKit queries, no renderer needed): open the demo
//! corpus, start training, see progress and curves, then the confusion matrix and report.

mod common;

use ser_workbench::app::features::{CacheCheck, CacheCount};

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ser_workbench::app::WorkbenchApp;
use ser_workbench::train::BackendChoice;

/// The real app with the tiny preset, writing under `data_dir`, in a 1280×900 window.
fn app(data_dir: &std::path::Path) -> Harness<'static, WorkbenchApp> {
    app_with(data_dir, vec![common::tiny_preset()])
}

/// The real app with these presets.
fn app_with(
    data_dir: &std::path::Path,
    presets: Vec<ser_workbench::train::Preset>,
) -> Harness<'static, WorkbenchApp> {
    let data_dir = data_dir.to_path_buf();
    Harness::builder()
        .with_size(eframe::egui::vec2(1280.0, 900.0))
        .build_eframe(move |cc| {
            WorkbenchApp::with_options(
                cc.egui_ctx.clone(),
                false,
                presets.clone(),
                ser_workbench::paths::Paths::under(&data_dir),
            )
        })
}

fn wait_until(
    h: &mut Harness<'_, WorkbenchApp>,
    what: &str,
    secs: u64,
    cond: impl Fn(&WorkbenchApp) -> bool,
) {
    let t = Instant::now();
    while !cond(h.state()) {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.step();
}

#[test]
fn load_demo_corpus_train_and_see_results() {
    let data = tempfile::tempdir().expect("tmp");
    let mut h = app(data.path());
    h.state_mut().training.backend = BackendChoice::Cpu;
    h.run_steps(2);

    // First-run path is offered; open the small demo corpus by path instead (faster).
    h.get_by_label("Create and open the demo corpus");
    h.state_mut().corpora.path = common::small_demo().join("emodb").display().to_string();
    h.run_steps(1);
    h.get_by_label("Load corpus").click();
    wait_until(&mut h, "corpus", 60, |a| a.corpora.manifest.is_some());
    h.run_steps(2);
    h.get_by_label_contains("emodb corpus — 70 utterances");

    h.get_by_label("Training").click();
    h.run_steps(2);
    h.get_by_label("Start training").click();
    h.run_steps(1);
    wait_until(&mut h, "first epoch", 120, |a| {
        !a.training.view.epoch_metrics.is_empty()
    });
    h.run_steps(2);
    h.get_by_label("Loss (solid = train, dashed = validation)");
    h.get_by_label("Stop"); // enabled while running
    wait_until(&mut h, "end of run", 300, |a| {
        a.training.view.pooled.is_some()
    });
    h.run_steps(2);
    assert_eq!(h.state().training.view.epoch_metrics.len(), 6);

    h.get_by_label("Results").click();
    h.run_steps(3);
    h.get_by_label("Confusion matrix");
    h.get_by_label("Classification report");
    h.get_by_label_contains("pooled test predictions");
    h.get_by_label("Row-normalised (%)").click();
    h.run_steps(2);
    assert!(h.state().results.normalised);

    // Per-utterance predictions (read on a helper thread): select one, see its class
    // probabilities; playing it either plays or (no output device, as on build machines) says
    // why — the app keeps running.
    wait_until(&mut h, "run files", 60, |a| {
        !a.results.loading_run && !a.results.utterances.is_empty()
    });
    h.run_steps(2);
    h.get_by_label_contains("Utterances (70 test predictions)");
    assert_eq!(h.state().results.utterances.len(), 70);
    h.get_by_label("03a01Wa.wav").click();
    h.run_steps(3);
    assert!(h.state().results.selected.is_some());
    h.get_all_by_label("Play")
        .next()
        .expect("a Play button")
        .click();
    wait_until(&mut h, "playback outcome", 30, |a| {
        a.status.contains("playback")
    });

    // Live panel: the trained run driven by a WAV file through the streaming path.
    h.get_by_label("Live").click();
    h.run_steps(2);
    h.get_by_label("Use latest run").click();
    h.state_mut().live.wav_path = common::small_demo()
        .join("emodb/wav/03a01Wa.wav")
        .display()
        .to_string();
    h.run_steps(1);
    h.get_by_label("Start file").click();
    wait_until(&mut h, "live frames", 60, |a| !a.live.frames.is_empty());
    h.run_steps(2);
    h.get_by_label_contains("input level");
    wait_until(&mut h, "end of file", 60, |a| !a.live.running());
    h.run_steps(2);
    assert!(
        h.state()
            .live
            .message
            .as_deref()
            .is_some_and(|m| m.contains("end of file"))
    );
    // Listing devices never crashes: a list, or a clear "no microphone" message.
    h.get_by_label("List input devices").click();
    wait_until(&mut h, "device list", 30, |a| a.live.devices.is_some());
}

#[test]
fn bad_corpus_path_shows_error_and_app_keeps_running() {
    let data = tempfile::tempdir().expect("tmp");
    let mut h = app(data.path());
    h.state_mut().corpora.path = "/definitely/not/here".into();
    h.run_steps(1);
    h.get_by_label("Load corpus").click();
    wait_until(&mut h, "error", 30, |a| a.corpora.error.is_some());
    h.run_steps(2);
    assert!(
        h.get_all_by_label_contains("cannot read corpus folder")
            .count()
            >= 1
    );
    assert!(h.state().corpora.manifest.is_none());
}

#[test]
fn preset_files_load_and_save_from_the_training_panel() {
    let data = tempfile::tempdir().expect("tmp");
    let mut h = app(data.path());
    h.get_by_label("Training").click();
    h.run_steps(2);
    // A malformed preset is reported with its path; nothing else changes.
    let bad = data.path().join("broken.ron");
    std::fs::write(&bad, "(name: ").expect("w");
    h.state_mut().training.preset_path = bad.display().to_string();
    h.run_steps(1);
    h.get_by_label("Load preset file").click();
    h.run_steps(2);
    assert!(
        h.get_all_by_label_contains("broken.ron: malformed preset")
            .count()
            >= 1
    );
    // Save the current preset with a new seed, load it back.
    let out = data.path().join("mine.ron");
    h.state_mut().training.seed = 1234;
    h.state_mut().training.preset_path = out.display().to_string();
    h.run_steps(1);
    h.get_by_label("Save preset as").click();
    h.run_steps(2);
    let saved = ser_workbench::train::Preset::load(&out).expect("saved preset parses");
    assert_eq!(saved.training.seed, 1234);
    h.state_mut().training.seed = 1;
    h.get_by_label("Load preset file").click();
    h.run_steps(2);
    assert_eq!(h.state().training.seed, 1234);
}

#[test]
fn features_panel_checks_ssl_weights_and_previews_a_spectrogram() {
    let data = tempfile::tempdir().expect("tmp");
    let mut h = app(data.path());
    h.get_by_label("Features").click();
    h.run_steps(2);
    h.get_by_label("SSL (HuBERT / wav2vec2)").click();
    h.run_steps(2);
    let w = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssl/hubert_tiny");
    h.state_mut()
        .training
        .selected_features_mut()
        .expect("preset")
        .ssl_weights = Some(w);
    h.run_steps(2);
    h.get_by_label("Check weights").click();
    wait_until(&mut h, "weights check", 60, |a| {
        a.features.weights.is_some()
    });
    h.run_steps(2);
    assert!(h.state().features.weights.as_ref().is_some_and(|r| {
        r.as_ref()
            .is_ok_and(|i| i.summary.contains("hubert: 2 layers × 32"))
    }));
    h.get_by_label_contains("hubert: 2 layers × 32");
    h.state_mut().features.preview_path = common::small_demo()
        .join("emodb/wav/03a01Wa.wav")
        .display()
        .to_string();
    h.run_steps(1);
    h.get_by_label("Show").click();
    // The spectrogram is computed on a helper thread; a spinner shows meanwhile.
    wait_until(&mut h, "spectrogram", 60, |a| {
        a.features
            .preview
            .as_ref()
            .is_some_and(|j| matches!(j.state, ser_workbench::app::jobs::JobState::Done(_)))
    });
    h.run_steps(2);
    h.get_by_label_contains("64-band log-mel");
    // A file that does not decode is a message naming it, not a blank image.
    let bad = data.path().join("not-audio.wav");
    std::fs::write(&bad, b"RIFF????WAVEjunk").expect("write");
    h.state_mut().features.preview_path = bad.display().to_string();
    h.run_steps(1);
    h.get_by_label("Show").click();
    wait_until(&mut h, "spectrogram error", 60, |a| {
        a.features
            .preview
            .as_ref()
            .is_some_and(|j| matches!(j.state, ser_workbench::app::jobs::JobState::Done(Err(_))))
    });
    h.run_steps(2);
    h.get_by_label_contains("not-audio.wav");
}

#[test]
fn cross_corpus_run_with_adaptation_from_the_training_panel() {
    let data = tempfile::tempdir().expect("tmp");
    let mut h = app(data.path());
    h.state_mut().training.backend = BackendChoice::Cpu;
    h.state_mut().corpora.path = common::small_demo().join("emodb").display().to_string();
    h.run_steps(1);
    h.get_by_label("Load corpus").click();
    wait_until(&mut h, "corpus", 60, |a| a.corpora.manifest.is_some());
    h.get_by_label("Training").click();
    h.run_steps(2);
    h.state_mut().training.target_corpus =
        common::small_demo().join("ravdess").display().to_string();
    h.run_steps(1);
    h.get_by_label("Domain adaptation").click();
    h.run_steps(2);
    assert!(h.state().training.adaptation.is_some());
    h.get_by_label("Start training").click();
    wait_until(&mut h, "end of run", 300, |a| {
        a.training.view.pooled.is_some()
    });
    h.run_steps(3);
    h.get_by_label("Domain-adaptation loss (beside the classification loss above)");
    assert_eq!(
        h.state().training.view.pooled.as_ref().map(|r| r.n),
        Some(44)
    );
}

/// Ablation from the Training panel: tick two presets, run, and read the comparison table.
#[test]
fn ablation_from_the_training_panel_shows_the_table() {
    let data = tempfile::tempdir().expect("tmp");
    let mut cnn = common::tiny_preset();
    cnn.name = "tiny-cnn".into();
    cnn.model = ser_workbench::model::ModelConfig::Cnn(ser_workbench::model::CnnConfig {
        channels: vec![4, 8],
        dropout: 0.1,
    });
    let mut h = app_with(data.path(), vec![common::tiny_preset(), cnn]);
    h.state_mut().training.backend = BackendChoice::Cpu;
    h.state_mut().corpora.path = common::small_demo().join("emodb").display().to_string();
    h.run_steps(1);
    h.get_by_label("Load corpus").click();
    wait_until(&mut h, "corpus", 60, |a| a.corpora.manifest.is_some());
    h.get_by_label("Training").click();
    h.run_steps(2);
    h.get_by_label("Ablation: compare presets").click();
    h.run_steps(2);
    h.get_by_label("tiny").click();
    h.get_by_label("tiny-cnn").click();
    h.run_steps(2);
    h.get_by_label("Run ablation").click();
    wait_until(&mut h, "ablation table", 300, |a| {
        a.training.ablation.table.is_some()
    });
    h.run_steps(3);
    let table = h
        .state()
        .training
        .ablation
        .table
        .clone()
        .expect("table")
        .expect("readable table");
    assert_eq!(table.rows.len(), 2);
    assert!(
        table
            .rows
            .iter()
            .all(|r| r.error.is_none() && r.n_folds == 2)
    );
    h.get_by_label("macro-P");
    let out = h.state().training.ablation.out_dir.clone().expect("folder");
    assert!(out.join("ablation.md").is_file());
}

/// Features panel: switch the preset to the fused stream, download a model from a loopback
/// "hub" with progress, and the preset's model folder becomes the downloaded one.
#[test]
fn features_panel_downloads_a_hub_model() {
    let b = std::sync::Arc::new(std::sync::Mutex::new(common::hub_server::Behaviour {
        files: common::hub_server::tiny_files("model.safetensors"),
        ..Default::default()
    }));
    let url = common::hub_server::serve(b);
    // SAFETY: the only test in this binary that reads or writes HF_ENDPOINT.
    unsafe { std::env::set_var("HF_ENDPOINT", &url) };
    let data = tempfile::tempdir().expect("tmp");
    let mut h = app(data.path());
    h.get_by_label("Features").click();
    h.run_steps(2);
    h.get_by_label("log-mel + SSL (fusion)").click();
    h.run_steps(2);
    h.state_mut().features.hub_repo = "org/tiny".into();
    h.run_steps(1);
    h.get_by_label("Download").click();
    wait_until(&mut h, "download", 60, |a| {
        a.features.download_result.is_some()
    });
    let dir = h
        .state()
        .features
        .download_result
        .clone()
        .expect("result")
        .expect("downloaded");
    assert!(dir.join("model.safetensors").is_file());
    assert_eq!(
        h.state_mut()
            .training
            .selected_features_mut()
            .and_then(|f| f.ssl_weights.clone()),
        Some(dir)
    );
    h.get_by_label("Check weights").click();
    wait_until(&mut h, "weights check", 60, |a| {
        a.features.weights.is_some()
    });
    assert!(matches!(h.state().features.weights, Some(Ok(_))));
}

/// Features panel on an open corpus: the cache check counts nothing, extraction fills the cache
/// with a progress bar, and the check then counts every file.
#[test]
fn features_panel_checks_and_fills_the_cache() {
    let data = tempfile::tempdir().expect("tmp");
    let mut h = app(data.path());
    h.state_mut().corpora.path = common::small_demo().join("emodb").display().to_string();
    h.run_steps(1);
    h.get_by_label("Load corpus").click();
    wait_until(&mut h, "corpus", 60, |a| a.corpora.manifest.is_some());
    h.get_by_label("Features").click();
    h.run_steps(2);
    h.get_by_label("Check cache").click();
    wait_until(&mut h, "cache check", 60, |a| {
        matches!(a.features.cache_status, CacheCheck::Done(_))
    });
    assert_eq!(
        h.state().features.cache_status,
        CacheCheck::Done(Ok(CacheCount {
            cached: 0,
            total: 70
        }))
    );
    h.get_by_label("Extract features").click();
    wait_until(&mut h, "extraction", 120, |a| {
        a.features.extract_result.is_some()
    });
    let msg = h
        .state()
        .features
        .extract_result
        .clone()
        .expect("result")
        .expect("ok");
    assert!(
        msg.starts_with("70 files: 0 were cached, 70 computed now"),
        "{msg}"
    );
    h.get_by_label("Check cache").click();
    wait_until(&mut h, "cache check", 60, |a| {
        matches!(a.features.cache_status, CacheCheck::Done(_))
    });
    assert_eq!(
        h.state().features.cache_status,
        CacheCheck::Done(Ok(CacheCount {
            cached: 70,
            total: 70
        }))
    );
}

/// Results panel: two finished runs in the runs folder are listed, ticked and combined by the
/// Ensemble button; the ensemble opens in Results with its test utterances, and "Back to the
/// current run" returns.
#[test]
fn ensemble_of_saved_runs_from_the_results_panel() {
    let data = tempfile::tempdir().expect("tmp");
    let paths = ser_workbench::paths::Paths::under(data.path());
    for (i, seed) in [3u64, 4].into_iter().enumerate() {
        let mut req = common::demo_request(
            common::tiny_preset(),
            &paths.runs.join(format!("1700000000{i}-tiny")),
            &paths.features(),
        );
        req.seed = Some(seed);
        let h = ser_workbench::train::spawn_training(req, None).expect("spawn");
        let evs: Vec<_> = h.events.iter().collect();
        assert!(
            evs.iter().any(|e| matches!(
                e,
                ser_workbench::train::Event::State(ser_workbench::train::RunState::Finished)
            )),
            "run {i} did not finish"
        );
    }
    let mut h = app(data.path());
    h.run_steps(2);
    h.get_by_label("Runs").click();
    wait_until(&mut h, "run list", 30, |a| {
        a.runs.runs.as_ref().is_some_and(|r| r.len() == 2)
    });
    h.run_steps(2);
    let dirs: Vec<_> = h
        .state()
        .runs
        .runs
        .as_ref()
        .expect("runs")
        .iter()
        .map(|r| r.dir.clone())
        .collect();
    h.state_mut().runs.ticked.extend(dirs);
    h.run_steps(2);
    // The two runs side by side (seed differs), exported as Markdown and CSV.
    h.get_by_label("Compare runs").click();
    h.run_steps(3);
    h.get_by_label("Run comparison");
    h.get_by_label_contains("| `run.seed` | `4` | `3` |");
    h.get_by_label("Export Markdown + CSV").click();
    h.run_steps(2);
    let exported: Vec<std::path::PathBuf> = std::fs::read_dir(&paths.runs)
        .expect("runs")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("comparison-"))
        .collect();
    assert_eq!(exported.len(), 2, "{exported:?}");
    let md_file = exported
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "md"))
        .expect("md");
    assert!(
        std::fs::read_to_string(md_file)
            .expect("md")
            .contains("## Per fold")
    );
    h.get_by_label("Close").click();
    h.run_steps(2);
    h.get_by_label("Ensemble (2 ticked)").click();
    h.run_steps(1);
    wait_until(&mut h, "ensemble opened", 60, |a| {
        a.opened
            .as_ref()
            .and_then(|v| v.run_dir.as_ref())
            .is_some_and(|d| d.to_string_lossy().contains("ensemble"))
    });
    wait_until(&mut h, "ensemble predictions", 30, |a| {
        !a.results.utterances.is_empty()
    });
    h.run_steps(2);
    h.get_by_label_contains("Showing the saved run");
    assert_eq!(h.state().results.utterances.len(), 70);
    h.get_by_label("Back to the current run").click();
    h.run_steps(2);
    assert!(h.state().opened.is_none());
}

/// A dimensional run opens in Results as per-dimension metrics, per-fold CCCs, scatter plots and
/// the utterance table with true and predicted values; the saved-runs list shows its mean CCC,
/// and "Compare layer weights" on a run without layer weights says why.
#[test]
fn dimensional_run_opens_in_results() {
    let data = tempfile::tempdir().expect("tmp");
    let paths = ser_workbench::paths::Paths::under(data.path());
    let dims =
        ser_workbench::corpus::demo_dimensional::generate(&data.path().join("dim"), 4, 6, 1, 6)
            .expect("dimensional demo");
    let mut preset = ser_workbench::train::Preset::builtin()
        .into_iter()
        .find(|p| p.name == "seed003-logmel-avd")
        .expect("preset");
    preset.training.epochs = 2;
    preset.training.protocol = "speaker-kfold:2".parse().expect("protocol");
    let mut req = common::demo_request(
        preset.clone(),
        &paths.runs.join("17000000000-avd"),
        &paths.features(),
    );
    req.corpus_dirs = vec![dims.msp_podcast_dir.clone()];
    let h = ser_workbench::train::spawn_training(req, None).expect("spawn");
    let evs: Vec<_> = h.events.iter().collect();
    assert!(
        evs.iter().any(|e| matches!(
            e,
            ser_workbench::train::Event::State(ser_workbench::train::RunState::Finished)
        )),
        "run did not finish: {evs:?}"
    );
    let mut h = app_with(data.path(), vec![preset]);
    h.run_steps(2);
    // The Training panel names the task instead of offering label maps.
    h.get_by_label("Training").click();
    h.run_steps(2);
    h.get_by_label("Task: dimensional (arousal, valence, dominance)");
    assert!(h.query_by_label("Label map").is_none());
    h.get_by_label("Runs").click();
    wait_until(&mut h, "run list", 30, |a| {
        a.runs.runs.as_ref().is_some_and(|r| r.len() == 1)
    });
    h.run_steps(2);
    let (name, ccc) = h.state().runs.runs.as_ref().expect("runs")[0]
        .headline
        .clone()
        .expect("a dimensional run lists its mean CCC");
    assert_eq!(name, "mean CCC");
    h.get_by_label(&format!("mean CCC {ccc:.3}"));
    h.get_by_label("Open").click();
    wait_until(&mut h, "dimensional predictions", 30, |a| {
        !a.results.dimensional.rows.is_empty()
    });
    h.run_steps(3);
    h.get_by_label("Results — dimensional");
    h.get_by_label_contains("Pooled test predictions — mean CCC");
    h.get_by_label("Per fold (test CCC)");
    h.get_by_label_contains("Predicted vs true");
    h.get_by_label_contains("Utterances (36 test predictions)");
    h.get_by_label("arousal true / predicted");
    h.get_by_label("Runs").click();
    h.run_steps(2);
    let dir = h.state().runs.runs.as_ref().expect("runs")[0].dir.clone();
    h.state_mut().runs.ticked.insert(dir);
    h.run_steps(2);
    h.get_by_label("Compare layer weights").click();
    h.run_steps(2);
    h.get_by_label_contains("learned no layer weights");
}

/// A preset with a text stream: the Training panel names it, counts the corpus's transcripts and
/// takes a transcript CSV; the run trains from the panel; the Live panel on that run offers a
/// Transcript field whose words change the live valence.
#[test]
fn text_stream_run_from_the_training_panel_and_live_transcript() {
    let data = tempfile::tempdir().expect("tmp");
    let dims =
        ser_workbench::corpus::demo_dimensional::generate(&data.path().join("dim"), 4, 6, 1, 6)
            .expect("dimensional demo");
    let mut preset = ser_workbench::train::Preset::builtin()
        .into_iter()
        .find(|p| p.name == "seed003-logmel-avd")
        .expect("preset");
    preset.training.epochs = 2;
    preset.training.protocol = "speaker-kfold:2".parse().expect("protocol");
    preset.text = Some(ser_workbench::text::TextFusionConfig {
        weights: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/text/bert_tiny"),
        pooling: ser_workbench::text::TextPooling::MeanMax,
        fine_tune: false,
        learning_rate: None,
        transcripts: None,
    });
    let mut h = app_with(data.path(), vec![preset]);
    h.state_mut().training.backend = BackendChoice::Cpu;
    h.run_steps(2);
    h.state_mut().corpora.path = dims.msp_podcast_dir.display().to_string();
    h.run_steps(1);
    h.get_by_label("Load corpus").click();
    wait_until(&mut h, "corpus", 60, |a| a.corpora.manifest.is_some());
    h.get_by_label("Training").click();
    h.run_steps(2);
    h.get_by_label_contains("Text stream: ");
    h.get_by_label_contains("bert_tiny (mean+max pooling, frozen)");
    h.get_by_label_contains("36 of 36 utterances of the corpus have a transcript");
    // A CSV typed into the field is attached when the run starts.
    let first = dims
        .msp_podcast_dir
        .join("Audios/MSP-PODCAST_0001_0000.wav");
    let csv = data.path().join("t.csv");
    std::fs::write(
        &csv,
        "file,text\nMSP-PODCAST_0001_0000.wav,wonderful glad\n",
    )
    .expect("csv");
    h.get_by_label("Transcripts CSV").focus();
    h.run_steps(1);
    h.get_by_label("Transcripts CSV")
        .type_text(&csv.display().to_string());
    h.run_steps(2);
    h.get_by_label_contains("the CSV is attached when the run starts");
    h.get_by_label("Start training").click();
    wait_until(&mut h, "end of run", 300, |a| {
        a.training.view.dimensional_summary.is_some()
    });
    assert!(
        h.state()
            .training
            .view
            .log
            .iter()
            .any(|l| l.contains("1 utterances received text")),
        "{:?}",
        h.state().training.view.log
    );
    // Live: the run reads text, so the panel asks for a transcript.
    h.get_by_label("Live").click();
    h.run_steps(2);
    h.get_by_label("Use latest run").click();
    h.state_mut().live.wav_path = first.display().to_string();
    h.run_steps(1);
    h.get_by_label("Start file").click();
    wait_until(&mut h, "live frames", 60, |a| !a.live.frames.is_empty());
    h.run_steps(2);
    assert!(h.state().live.reads_text);
    h.get_by_label("Transcript").focus();
    h.run_steps(1);
    h.get_by_label("Transcript").type_text("wonderful glad");
    h.run_steps(1);
    h.get_by_label("Use transcript").click();
    h.run_steps(1);
    assert_eq!(
        h.state().live.cfg.transcript.as_deref(),
        Some("wonderful glad")
    );
    wait_until(&mut h, "end of file", 60, |a| !a.live.running());
}

/// A multi-label run: the Training panel names the task, and the saved run opens in Results with
/// the per-label table and every test utterance's true and predicted label sets.
#[test]
fn multi_label_run_opens_in_results() {
    let data = tempfile::tempdir().expect("tmp");
    let paths = ser_workbench::paths::Paths::under(data.path());
    let styles = ser_workbench::corpus::demo_styles::generate(&data.path().join("styles"), 4, 4, 6)
        .expect("styles");
    let mut preset = ser_workbench::train::Preset::builtin()
        .into_iter()
        .find(|p| p.name == "seed001-speechmlc-logmel")
        .expect("preset");
    preset.training.epochs = 2;
    preset.training.protocol = "speaker-kfold:2".parse().expect("protocol");
    preset.features.max_secs = 1.0;
    if let ser_workbench::model::ModelConfig::LabelQuery(c) = &mut preset.model {
        c.d_model = 16;
        c.layers = 1;
        c.heads = 2;
        c.ffn_dim = 16;
    }
    let mut req = common::demo_request(
        preset.clone(),
        &paths.runs.join("17000000000-styles"),
        &paths.features(),
    );
    req.corpus_dirs = vec![styles.dir.clone()];
    let h = ser_workbench::train::spawn_training(req, None).expect("spawn");
    let evs: Vec<_> = h.events.iter().collect();
    assert!(
        evs.iter().any(|e| matches!(
            e,
            ser_workbench::train::Event::State(ser_workbench::train::RunState::Finished)
        )),
        "run did not finish: {evs:?}"
    );
    let mut h = app_with(data.path(), vec![preset]);
    h.run_steps(2);
    h.get_by_label("Training").click();
    h.run_steps(2);
    h.get_by_label("Task: multi-label (positive at ≥ 5 votes; every vote column)");
    assert!(h.query_by_label("Label map").is_none());
    // The test restriction and augmentation edit the selected preset.
    h.get_by_label("Test only utterances with annotator agreement ≥")
        .click();
    h.get_by_label_contains("Augment training audio").click();
    h.run_steps(2);
    {
        let st = h.state();
        let p = st.training.selected_preset().expect("preset");
        assert_eq!(
            p.task.multi_label().expect("ml").test_min_agreement,
            Some(5.0)
        );
        assert!(p.training.augment.as_ref().is_some_and(|a| a.is_active()));
    }
    h.get_by_label_contains("Augment training audio: speed 0.9–1.1");
    h.get_by_label("Runs").click();
    wait_until(&mut h, "run list", 30, |a| {
        a.runs.runs.as_ref().is_some_and(|r| r.len() == 1)
    });
    h.run_steps(2);
    h.get_by_label("Open").click();
    wait_until(&mut h, "multi-label predictions", 30, |a| {
        !a.results.multi_label.rows.is_empty()
    });
    h.run_steps(3);
    h.get_by_label("Results — multi-label");
    h.get_by_label_contains("Pooled test predictions — macro F1");
    // In the per-label table and the per-agreement table (and in the utterance table where a
    // true or predicted set is that label alone, which depends on the trained weights).
    assert!(h.query_all_by_label("Teenager").count() >= 2);
    h.get_by_label("Utterances (24 test predictions)");
    h.get_by_label("F1 by annotator agreement");
    h.get_by_label("Label co-occurrence").click();
    h.run_steps(2);
    h.get_by_label("Label co-occurrence, predicted label sets");
    h.get_by_label("Label co-occurrence").click();
    h.run_steps(2);
    // Where each label query looked, for a chosen utterance.
    h.get_by_label("spk01_000.wav").click();
    h.run_steps(2);
    // Below the utterance table: scrolled into view first.
    h.get_by_label("Label attention over time").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("Label attention over time").click();
    wait_until(&mut h, "label attention", 60, |a| {
        a.results
            .trace
            .as_ref()
            .is_some_and(|j| matches!(j.state, ser_workbench::app::jobs::JobState::Done(Ok(_))))
    });
    h.run_steps(2);
    h.get_by_label("Label-query attention over time");
    // The unseen-corpus probe from the view.
    h.get_by_label("Probe on a categorical corpus").click();
    h.run_steps(2);
    h.state_mut().results.multi_label.probe_corpus =
        common::small_demo().join("emodb").display().to_string();
    h.run_steps(1);
    h.get_by_label("Probe").click();
    wait_until(&mut h, "probe", 60, |a| {
        a.results.multi_label.probe.is_some()
    });
    h.run_steps(2);
    h.get_by_label("Mean label probability per emotion class");
    let t = h
        .state()
        .results
        .multi_label
        .probe
        .clone()
        .expect("probe")
        .expect("probe table");
    assert_eq!(t.counts.iter().sum::<usize>(), 70);
}

/// The metadata method from the Training panel: the panel lists the corpus's tasks with their
/// weights and the ARI / co-attention / stage switches (an invalid combination is named in
/// place), the run trains with live per-task curves, and Results shows the per-task test table.
#[test]
fn multitask_run_from_the_training_panel() {
    let data = tempfile::tempdir().expect("tmp");
    let corpus = data.path().join("iemocap");
    common::layouts::iemocap(&corpus, 3);
    let mut preset = ser_workbench::train::Preset::builtin()
        .into_iter()
        .find(|p| p.name == "seed004-hubert-base-metadata")
        .expect("preset");
    preset.features.ssl_weights = Some(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssl/hubert_tiny"),
    );
    preset.training.epochs = 2;
    preset.training.early_stopping_patience = None;
    if let ser_workbench::model::ModelConfig::SslFineTune(ft) = &mut preset.model {
        ft.max_train_secs = 0.25;
        ft.eval_chunk_secs = 0.5;
        if let ser_workbench::ssl::classifier::FineTuneHead::MultiTask(s) = &mut ft.head {
            s.hidden = 8;
            s.ser_hidden = 8;
            // The asr task is switched on again in the panel.
            s.tasks.retain(|t| t.task != "asr");
            s.stages = Some(ser_workbench::model::multitask::TwoStage {
                stage1_epochs: 1,
                stage2_freeze_layers: 1,
            });
        }
    }
    let mut h = app_with(data.path(), vec![preset]);
    h.state_mut().training.backend = BackendChoice::Cpu;
    h.run_steps(2);
    h.state_mut().corpora.path = corpus.display().to_string();
    h.run_steps(1);
    h.get_by_label("Load corpus").click();
    wait_until(&mut h, "corpus", 60, |a| a.corpora.manifest.is_some());
    h.get_by_label("Training").click();
    h.run_steps(2);
    h.get_by_label("Multi-task fine-tuning (metadata paper)");
    h.get_by_label("asr").click();
    h.run_steps(2);
    // Co-attention with every task off is refused in place.
    // (Each toggle moves the row's weight fields: the layout settles before the next click.)
    for t in ["gender", "speaker", "style", "asr"] {
        h.get_by_label(t).click();
        h.run_steps(3);
    }
    h.get_by_label_contains("co-attention needs at least one auxiliary task");
    for t in ["gender", "style", "asr"] {
        h.get_by_label(t).click();
        h.run_steps(3);
    }
    h.run_steps(1);
    {
        let st = h.state();
        let p = st.training.selected_preset().expect("preset");
        let ser_workbench::model::ModelConfig::SslFineTune(ft) = &p.model else {
            panic!("fine-tune")
        };
        let tasks: Vec<&str> = ft
            .multitask()
            .expect("spec")
            .tasks
            .iter()
            .map(|t| t.task.as_str())
            .collect();
        assert_eq!(tasks, ["gender", "style", "asr"]);
    }
    h.get_by_label("Start training").click();
    wait_until(&mut h, "end of run", 300, |a| {
        a.training.view.pooled.is_some()
    });
    h.run_steps(3);
    h.get_by_label_contains("Tasks, fold 3 (stage 2)");
    h.get_by_label("Training loss per task (unweighted)");
    h.get_by_label_contains("Layer integration weights (live)");
    h.get_by_label("Results").click();
    wait_until(&mut h, "run files", 60, |a| {
        a.results
            .learned
            .as_ref()
            .is_some_and(|l| l.tasks.is_some())
    });
    h.run_steps(3);
    h.get_by_label("Auxiliary tasks (test part)");
    h.get_by_label_contains("Layer integration weights of the best checkpoints");
}

/// The block editor and the Runs panel end to end: edit a block parameter (the model summary
/// follows), an invalid value is refused in place with the reason, save the edit as a user
/// preset, train with it, find the run in Runs, train again from its folder, compare the two
/// runs and export the comparison, name one, move one to the trash; the state the GUI
/// remembers restores.
#[test]
fn block_editor_save_train_and_runs_panel() {
    let data = tempfile::tempdir().expect("tmp");
    let paths = ser_workbench::paths::Paths::under(data.path());
    let mut h = app(data.path());
    h.state_mut().training.backend = BackendChoice::Cpu;
    h.state_mut().corpora.path = common::small_demo().join("emodb").display().to_string();
    h.run_steps(2);
    h.get_by_label("Load corpus").click();
    wait_until(&mut h, "corpus", 60, |a| a.corpora.manifest.is_some());

    // The editor: the model is built on a helper thread for its parameter count.
    h.get_by_label("Editor").click();
    h.run_steps(3);
    wait_until(&mut h, "model summary", 60, |a| {
        a.editor.summary.as_ref().is_some_and(|(_, s)| s.is_ok())
    });
    h.run_steps(2);
    let params_before = h
        .state()
        .editor
        .summary
        .as_ref()
        .expect("s")
        .1
        .as_ref()
        .expect("ok")
        .params;
    h.get_by_label_contains("temporal stack (DTCN -> DTPM -> MHSA -> FC):");
    h.get_by_label("kernel_size").set_text_value_accesskit("5");
    h.run_steps(2);
    let kernel = |a: &WorkbenchApp| match &a.editor.draft.as_ref().expect("draft").preset.model {
        ser_workbench::model::ModelConfig::TemporalStack(c) => {
            (c.dtcn.kernel_size, c.attention_heads)
        }
        _ => panic!("temporal stack"),
    };
    assert_eq!(kernel(h.state()), (5, 2));
    h.get_by_label("model.TemporalStack.dtcn.kernel_size");
    wait_until(&mut h, "summary of the edit", 60, |a| {
        a.editor
            .summary
            .as_ref()
            .is_some_and(|(p, _)| *p == a.editor.draft.as_ref().expect("d").preset)
    });
    let params_after = h
        .state()
        .editor
        .summary
        .as_ref()
        .expect("s")
        .1
        .as_ref()
        .expect("ok")
        .params;
    // Two DTCN blocks of 16 channels, each conv 16×16×k (+ bias) — k 3 → 5 adds 2·16·16 weights
    // per conv.
    assert!(
        params_after > params_before,
        "{params_before} → {params_after}"
    );
    // 3 heads do not divide 16 channels: refused with the model's reason, the draft unchanged.
    h.get_by_label("attention_heads")
        .set_text_value_accesskit("3");
    h.run_steps(2);
    h.get_by_label_contains("must divide channels (16)");
    assert_eq!(kernel(h.state()), (5, 2));

    // Save as a user preset; it is selected for training.
    h.get_by_label("Preset name")
        .set_text_value_accesskit("tiny-k5");
    h.run_steps(1);
    h.get_by_label("Save as preset…").click();
    h.run_steps(3);
    let file = paths.presets().join("tiny-k5.ron");
    let saved = ser_workbench::train::Preset::load(&file).expect("saved preset reads back");
    assert_eq!(saved.name, "tiny-k5");
    assert_eq!(
        h.state()
            .training
            .selected_preset()
            .map(|p| p.name.clone())
            .as_deref(),
        Some("tiny-k5")
    );
    h.get_by_label("Train with this preset").click();
    h.run_steps(3);
    wait_until(&mut h, "run finished", 180, |a| {
        a.training.view.pooled.is_some()
    });

    // The run in the Runs panel, with the exact preset in its folder.
    h.get_by_label("Runs").click();
    wait_until(&mut h, "run list", 30, |a| {
        a.runs.runs.as_ref().is_some_and(|r| r.len() == 1)
    });
    h.run_steps(2);
    let first = h.state().runs.runs.as_ref().expect("runs")[0].clone();
    assert_eq!(first.preset, "tiny-k5");
    let stored = ser_workbench::train::run::read_resolved(&first.dir).expect("config");
    assert_eq!(stored.preset, saved);
    // Open it in Results (with its curves), then train again from its folder.
    h.get_by_label("Open").click();
    wait_until(&mut h, "opened run", 30, |a| a.opened.is_some());
    h.run_steps(3);
    assert_eq!(h.state().tab, ser_workbench::app::Tab::Results);
    assert_eq!(
        h.state()
            .opened
            .as_ref()
            .expect("opened")
            .epoch_metrics
            .len(),
        6
    );
    h.get_by_label("Training curves");
    h.get_by_label("Runs").click();
    h.run_steps(3);
    h.get_by_label("Train again").click();
    h.run_steps(3);
    wait_until(&mut h, "second run finished", 180, |a| {
        a.training.view.pooled.is_some() && a.training.view.run_dir.as_ref() != Some(&first.dir)
    });
    h.get_by_label("Runs").click();
    h.run_steps(3);
    h.get_by_label("Refresh list").click();
    wait_until(&mut h, "two runs", 30, |a| {
        a.runs.runs.as_ref().is_some_and(|r| r.len() == 2)
    });
    h.run_steps(2);
    // Same preset, seed and folds: the runs agree fold by fold.
    let dirs: Vec<_> = h
        .state()
        .runs
        .runs
        .as_ref()
        .expect("runs")
        .iter()
        .map(|r| r.dir.clone())
        .collect();
    h.state_mut().runs.ticked.extend(dirs.clone());
    h.run_steps(2);
    h.get_by_label("Compare runs").click();
    h.run_steps(3);
    h.get_by_label("Run comparison");
    h.get_by_label("Recall per class (pooled test)");
    h.get_by_label_contains("Validation curves");
    h.get_by_label("Export Markdown + CSV").click();
    h.run_steps(3);
    let md = std::fs::read_dir(&paths.runs)
        .expect("runs")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.to_string_lossy().contains("comparison-") && p.extension().is_some_and(|e| e == "md")
        })
        .expect("exported markdown");
    let md = std::fs::read_to_string(md).expect("md");
    assert!(md.contains("| `") && md.contains("tiny-k5"), "{md}");
    assert!(md.contains("The presets are the same"), "{md}");
    h.get_by_label("Close").click();
    h.run_steps(3);

    // Name the newest run, then move the other one to the trash.
    h.get_all_by_label("Name / note")
        .next()
        .expect("button")
        .click();
    h.run_steps(3);
    h.get_by_label("Name").set_text_value_accesskit("k5 again");
    h.run_steps(1);
    h.get_by_label("Save name and note").click();
    wait_until(&mut h, "renamed", 30, |a| {
        a.runs
            .runs
            .as_ref()
            .is_some_and(|r| r.iter().any(|x| x.tag == "k5 again"))
    });
    h.run_steps(2);
    h.get_by_label("k5 again");
    h.get_all_by_label("Delete…")
        .last()
        .expect("button")
        .click();
    h.run_steps(3);
    h.get_by_label("Move to trash").click();
    wait_until(&mut h, "one run left", 30, |a| {
        a.runs.runs.as_ref().is_some_and(|r| r.len() == 1)
    });
    assert!(
        paths
            .runs
            .join(".trash")
            .join(first.dir.file_name().expect("n"))
            .is_dir()
    );
    assert!(!first.dir.exists());

    // What the next launch restores.
    h.state_mut().runs.roots.push(data.path().join("elsewhere"));
    let r = h.state().remembered();
    assert_eq!(r.tab, Some(ser_workbench::app::Tab::Runs));
    assert_eq!(r.preset.as_deref(), Some("tiny-k5"));
    let mut h2 = app(data.path());
    h2.state_mut().training.put_preset(saved.clone());
    h2.state_mut().training.select_preset("tiny");
    h2.state_mut().restore(r.clone(), true);
    h2.run_steps(2);
    assert_eq!(h2.state().tab, ser_workbench::app::Tab::Runs);
    assert_eq!(h2.state().runs.roots, r.run_roots);
    assert_eq!(
        h2.state()
            .training
            .selected_preset()
            .map(|p| p.name.clone())
            .as_deref(),
        Some("tiny-k5")
    );
    wait_until(&mut h2, "corpus re-opened", 60, |a| {
        a.corpora.manifest.is_some()
    });
}

/// The logistic-regression baseline from the Training panel: one validation point per C of
/// its grid, then Results names the strongest inputs per class, and the Live panel predicts a
/// file with it (functionals of each window).
#[test]
fn baseline_preset_trains_shows_named_inputs_and_runs_live() {
    let data = tempfile::tempdir().expect("tmp");
    let mut logreg = ser_workbench::train::Preset::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("presets/baseline_functionals_logreg.ron"),
    )
    .expect("preset");
    logreg.training.protocol = ser_workbench::corpus::Protocol::SpeakerKFold(2);
    let mut h = app_with(data.path(), vec![logreg]);
    h.state_mut().training.backend = BackendChoice::Cpu;
    h.state_mut().corpora.path = common::small_demo().join("emodb").display().to_string();
    h.run_steps(1);
    h.get_by_label("Load corpus").click();
    wait_until(&mut h, "corpus", 60, |a| a.corpora.manifest.is_some());
    h.get_by_label("Training").click();
    h.run_steps(2);
    h.get_by_label("Start training").click();
    wait_until(&mut h, "end of run", 300, |a| {
        a.training.view.pooled.is_some()
    });
    h.run_steps(2);
    // Two folds × four values of C.
    assert_eq!(h.state().training.view.epoch_metrics.len(), 8);
    let top = h
        .state()
        .training
        .view
        .feature_weights
        .clone()
        .expect("feature weights");
    assert_eq!(top.folds, 2);
    h.get_by_label("Results").click();
    h.run_steps(3);
    h.get_by_label("Strongest inputs per class (linear model)");
    h.get_by_label_contains(&top.top[0].inputs[0].0);

    h.get_by_label("Live").click();
    h.run_steps(2);
    h.get_by_label("Use latest run").click();
    h.state_mut().live.wav_path = common::small_demo()
        .join("emodb/wav/03a01Wa.wav")
        .display()
        .to_string();
    h.run_steps(1);
    h.get_by_label("Start file").click();
    wait_until(&mut h, "live frames", 60, |a| !a.live.frames.is_empty());
    wait_until(&mut h, "end of file", 60, |a| !a.live.running());
}

/// The Live panel on a run trained per speaker: the speaker's statistics are gathered from the
/// file's speech, the panel says when they are in use and offers "New speaker".
#[test]
fn live_panel_enrols_the_speaker_of_a_per_speaker_run() {
    let data = tempfile::tempdir().expect("tmp");
    let mut preset = common::tiny_preset();
    preset.training.epochs = 2;
    preset.features.normalisation = ser_workbench::features::Normalisation::PerSpeaker;
    let run = data.path().join("run");
    let req = ser_workbench::train::RunRequest {
        preset,
        corpus_dirs: vec![common::small_demo().join("emodb")],
        label_map: None,
        target_corpus: None,
        corpus_type: None,
        protocol: Some(ser_workbench::corpus::Protocol::Holdout(0.2)),
        seed: Some(1),
        out_dir: Some(run.clone()),
        cache_dir: data.path().join("cache"),
        backend: BackendChoice::Cpu,
        folds: ser_workbench::train::FoldScope::All,
    };
    let h = ser_workbench::train::spawn_training(req, None).expect("spawn");
    for ev in h.events.iter() {
        if let ser_workbench::train::Event::State(ser_workbench::train::RunState::Failed(m)) = ev {
            panic!("training failed: {m}");
        }
    }
    let mut h = app(data.path());
    h.run_steps(2);
    h.get_by_label("Live").click();
    h.run_steps(2);
    {
        let live = &mut h.state_mut().live;
        live.run_dir = run.display().to_string();
        live.cfg.enrol_secs = 1.0;
        live.wav_path = common::small_demo()
            .join("emodb/wav/03a01Wa.wav")
            .display()
            .to_string();
    }
    h.run_steps(1);
    h.get_by_label("Start file").click();
    wait_until(&mut h, "live frames", 60, |a| !a.live.frames.is_empty());
    h.run_steps(2);
    h.get_by_label("New speaker");
    wait_until(&mut h, "end of file", 60, |a| !a.live.running());
    h.run_steps(2);
    let last = h.state().live.frames.last().and_then(|f| f.speaker);
    assert!(last.is_some_and(|s| s.in_use && s.secs >= 1.0), "{last:?}");
    h.get_by_label_contains("Speaker statistics in use");
}
