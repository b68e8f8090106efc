//! Multi-label speaking styles end to end (seed 001): a generated DreamVoice-form manifest
//! (`file,speaker,annotators,Female,Male,…`), the label-query decoder on log-mel, positives at
//! an annotator agreement, per-label reports equal to the metric functions on predictions.csv,
//! validation macro F1 selection, thresholds tuned on validation, `predict` label sets, and the
//! `labels`-column manifest form.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ser_workbench::corpus::demo_styles;
use ser_workbench::eval::multilabel::multilabel_report;
use ser_workbench::train::Preset;
use ser_workbench::train::ml_report::read_predictions;
use ser_workbench::train::run_dir::read_report;

mod common;

static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(|e| e.into_inner())
}

fn corpus() -> &'static Path {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ser-wb-test-styles-{}", std::process::id()));
        demo_styles::generate(&dir, 5, 6, 10).expect("styles");
        dir
    })
}

/// The shipped preset, made small for the CPU.
fn preset(tune: bool) -> Preset {
    let mut p = Preset::builtin()
        .into_iter()
        .find(|p| p.name == "seed001-speechmlc-logmel")
        .expect("builtin preset");
    p.training.epochs = 20;
    p.training.protocol = "speaker-kfold:3".parse().expect("protocol");
    p.training.learning_rate = 2e-3;
    p.features.max_secs = 2.0;
    if let ser_workbench::model::ModelConfig::LabelQuery(c) = &mut p.model {
        c.d_model = 32;
        c.layers = 2;
        c.heads = 4;
        c.ffn_dim = 64;
    }
    if let ser_workbench::train::task::Task::MultiLabel(m) = &mut p.task {
        m.tune_thresholds = tune;
    }
    p
}

/// Pooled average precision of label `name`.
fn pooled_ap(pooled: &ser_workbench::eval::multilabel::MultiLabelReport, name: &str) -> f64 {
    pooled
        .labels
        .iter()
        .find(|l| l.name == name)
        .expect("label")
        .average_precision
}

fn run(preset: Preset, corpus: &Path, out: &Path) -> (PathBuf, Vec<String>) {
    common::run_logged(&common::corpus_request(preset, corpus, out))
}

#[test]
fn label_query_run_on_a_dreamvoice_manifest() {
    let _g = serial();
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, logs) = run(preset(false), corpus(), &tmp.path().join("run"));
    assert!(
        logs.iter().any(|l| l.contains("positives at ≥ 5 votes")),
        "{logs:?}"
    );
    let report = read_report(&dir).expect("report");
    assert_eq!(report.independence, "speaker-independent");
    let ml = report.multi_label.as_ref().expect("multi-label summary");
    let mut want: Vec<String> = demo_styles::STYLE_LABELS
        .iter()
        .map(|s| s.to_string())
        .collect();
    want.sort();
    assert_eq!(ml.labels, want);
    assert_eq!(report.headline().0, "macro F1");
    // Every utterance tested once; the pooled report = the metric functions on the CSV rows.
    let rows = read_predictions(&dir, &ml.labels).expect("predictions");
    assert_eq!(rows.len(), 60);
    let probs: Vec<Vec<f32>> = rows.iter().map(|(r, _)| r.probs.clone()).collect();
    let truth: Vec<Vec<f32>> = rows.iter().map(|(r, _)| r.truth.clone()).collect();
    let again = multilabel_report(&ml.labels, &probs, &truth, &[0.5; 8]);
    assert!(
        (again.macro_f1 - ml.pooled.macro_f1).abs() < 1e-9,
        "{} vs {}",
        again.macro_f1,
        ml.pooled.macro_f1
    );
    for (a, b) in again.labels.iter().zip(&ml.pooled.labels) {
        assert_eq!(a.support, b.support);
        assert!((a.f1 - b.f1).abs() < 1e-9, "{}", a.name);
    }
    // Truth follows the votes at the agreement of 5.
    for (r, _) in &rows {
        for (t, v) in r.truth.iter().zip(&r.votes) {
            assert_eq!(*t >= 0.5, *v >= 5.0);
        }
    }
    // The predicted set column follows the probabilities.
    for (r, set) in &rows {
        let mine: Vec<String> = ml
            .labels
            .iter()
            .zip(&r.probs)
            .filter(|(_, p)| **p >= 0.5)
            .map(|(l, _)| l.clone())
            .collect();
        assert_eq!(&mine, set);
    }
    // Sex is what the generator makes unmistakable: it is learnt (average precision well above
    // the 0.5 a random ranking gets for these balanced labels; F1 would not show it, since
    // predicting every utterance positive already scores 0.67).
    let ap = |n: &str| pooled_ap(&ml.pooled, n);
    eprintln!(
        "pooled F1 per label: {:?}; macro {:.3}",
        ml.pooled
            .labels
            .iter()
            .map(|l| (l.name.clone(), (l.f1 * 1000.0).round() / 1000.0))
            .collect::<Vec<_>>(),
        ml.pooled.macro_f1
    );
    eprintln!("AP Female {:.3}, Male {:.3}", ap("Female"), ap("Male"));
    assert!(ap("Female") > 0.6 && ap("Male") > 0.6, "{:?}", ml.pooled);
    // Selection by validation macro F1.
    let metrics = common::csv_rows(&dir.join("metrics.csv"));
    for fold in report.folds.iter().map(|f| f.name.clone()) {
        let of_fold: Vec<_> = metrics.iter().filter(|r| r["fold"] == fold).collect();
        let f1 = |r: &&std::collections::HashMap<String, String>| -> f64 {
            r["valid_macro_f1"].parse().expect("number")
        };
        let best = of_fold
            .iter()
            .rfind(|r| r["is_best"] == "true")
            .expect("best");
        let top = of_fold.iter().map(f1).fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(f1(best), top, "fold {fold}");
    }
    let md = std::fs::read_to_string(dir.join("report.md")).expect("md");
    assert!(md.contains("Probability by annotator votes") && md.contains("| Female |"));
    // predict: the label set and the probabilities, as the library gives them.
    let wav = &rows[0].0.path;
    let out = Command::new(env!("CARGO_BIN_EXE_ser-workbench"))
        .env("SER_WORKBENCH_BACKEND", "cpu")
        .args(["predict", "--json", "--run"])
        .arg(&dir)
        .arg(wav)
        .output()
        .expect("predict");
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    let p = ser_workbench::train::predict::Predictor::load(&dir).expect("predictor");
    let lib = p.predict_file(Path::new(wav)).expect("predict");
    for (k, l) in ml.labels.iter().enumerate() {
        let got = v["probabilities"][l].as_f64().expect("p");
        assert!((got - lib[k] as f64).abs() < 1e-6);
        let listed = v["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .any(|x| x == l);
        assert_eq!(listed, lib[k] >= 0.5, "{l}");
    }
}

/// Thresholds tuned per label on each fold's validation part are recorded and applied; a
/// `labels`-column manifest (one vote per listed label) trains with agreement 1.
#[test]
fn tuned_thresholds_and_the_labels_column_form() {
    let _g = serial();
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = run(preset(true), corpus(), &tmp.path().join("tuned"));
    let report = read_report(&dir).expect("report");
    let ml = report.multi_label.expect("summary");
    assert!(ml.thresholds.contains("tuned"), "{}", ml.thresholds);
    for f in &report.folds {
        let l = f.labels.as_ref().expect("fold labels");
        assert!(
            l.labels
                .iter()
                .all(|m| (0.05..=0.95).contains(&m.threshold))
        );
    }
    // The same audio as a `labels` manifest: the labels with ≥ 5 votes, listed by name.
    let src = std::fs::read_to_string(corpus().join("manifest.csv")).expect("manifest");
    let mut lines = src.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let mut csv = String::from("file,speaker,labels\n");
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let on: Vec<&str> = (3..header.len())
            .filter(|&k| f[k].parse::<f32>().expect("votes") >= 5.0)
            .map(|k| header[k])
            .collect();
        csv.push_str(&format!(
            "{},{},{}\n",
            corpus().join(f[0]).display(),
            f[1],
            on.join(";")
        ));
    }
    let manifest = tmp.path().join("labels");
    std::fs::create_dir_all(&manifest).expect("mkdir");
    std::fs::write(manifest.join("manifest.csv"), csv).expect("csv");
    let mut p = preset(false);
    p.training.epochs = 1;
    if let ser_workbench::train::task::Task::MultiLabel(m) = &mut p.task {
        m.min_agreement = 1.0;
        // Label-balanced draws train too (the supports below do not depend on training).
        m.balanced_sampling = true;
    }
    let (dir, _) = run(p, &manifest, &tmp.path().join("labels"));
    let report = read_report(&dir).expect("report");
    let ml = report.multi_label.expect("summary");
    let ours = read_predictions(&dir, &ml.labels).expect("rows");
    let theirs = read_report(&tmp.path().join("tuned")).expect("report");
    let theirs_ml = theirs.multi_label.expect("summary");
    // The same positives per label as the vote form at agreement 5.
    for (a, b) in ml.pooled.labels.iter().zip(&theirs_ml.pooled.labels) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.support, b.support, "{}", a.name);
    }
    assert_eq!(ours.len(), 60);
}

/// Presets that cannot work are refused with the reason.
#[test]
fn multi_label_presets_are_checked() {
    let mut p = preset(false);
    p.training.select_by = ser_workbench::train::preset::SelectBy::ValidUa;
    let err = p.validate().expect_err("ValidUa");
    assert!(err.contains("ValidMacroF1"), "{err}");
    let mut p = preset(false);
    if let ser_workbench::train::task::Task::MultiLabel(m) = &mut p.task {
        m.min_agreement = 0.0;
    }
    assert!(
        p.validate()
            .expect_err("agreement")
            .contains("min_agreement")
    );
    let mut c = Preset::builtin()
        .into_iter()
        .find(|p| p.name == "demo")
        .expect("demo");
    c.training.select_by = ser_workbench::train::preset::SelectBy::ValidMacroF1;
    assert!(
        c.validate()
            .expect_err("categorical")
            .contains("multi-label")
    );
}

/// The other two models of the paper's table: ResNet over log-mel, and the label queries over
/// one SSL layer's frames (`ssl_frames`: 50 frames per second, the encoder's width per frame;
/// a tiny random HuBERT here) — both train and report per label.
#[test]
fn resnet_and_ssl_frame_label_queries_run() {
    let _g = serial();
    let tmp = tempfile::tempdir().expect("tmp");
    let mut r = Preset::builtin()
        .into_iter()
        .find(|p| p.name == "seed001-resnet34-mel80")
        .expect("resnet preset");
    r.training.epochs = 2;
    r.training.protocol = "speaker-kfold:2".parse().expect("protocol");
    r.features.max_secs = 1.0;
    r.model =
        ser_workbench::model::ModelConfig::ResNet(ser_workbench::model::resnet::ResNetConfig {
            blocks: vec![1, 1],
            width: 4,
            dropout: 0.0,
        });
    let (dir, _) = run(r, corpus(), &tmp.path().join("resnet"));
    assert!(read_report(&dir).expect("report").multi_label.is_some());

    let mut q = preset(false);
    q.training.epochs = 2;
    q.features.stream = ser_workbench::features::StreamKind::SslFrames;
    q.features.ssl_weights =
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/finetune/hubert_cls_tiny"));
    q.features.ssl_layers = "1".into();
    q.features.max_secs = 1.0;
    q.validate().expect("valid preset");
    let (dir, logs) = run(q, corpus(), &tmp.path().join("ssl"));
    assert!(logs.iter().any(|l| l.contains("SSL encoder")), "{logs:?}");
    let cfg = ser_workbench::train::run::read_resolved(&dir).expect("resolved");
    assert_eq!(cfg.frames, 50, "1 s at 50 frames per second");
    let (_, enc, _) = ser_workbench::ssl::load_encoder(
        cfg.preset.features.ssl_weights.as_ref().expect("weights"),
        &burn::prelude::Device::flex(),
    )
    .expect("encoder");
    assert_eq!(cfg.bins, enc.hidden_size);
    let report = read_report(&dir).expect("report");
    assert_eq!(report.multi_label.expect("summary").pooled.n, 60);
    // Prediction reads the same stream from the audio.
    let p = ser_workbench::train::predict::Predictor::load(&dir).expect("predictor");
    let v = p
        .predict_file(&corpus().join("wav/spk01_000.wav"))
        .expect("predict");
    assert_eq!(v.len(), 8);
    assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
}

/// The unseen-corpus probe: a multi-label run over a categorical corpus gives each emotion
/// class's mean label probabilities (the mean of what `predict` gives its files); a folder that
/// is not a run is refused; `inspect` counts positives at an agreement.
#[test]
fn probe_tabulates_label_probabilities_per_emotion() {
    let _g = serial();
    let tmp = tempfile::tempdir().expect("tmp");
    let mut p = preset(false);
    p.training.epochs = 1;
    let (dir, _) = run(p, corpus(), &tmp.path().join("run"));
    let emodb = common::small_demo().join("emodb");
    let out = Command::new(env!("CARGO_BIN_EXE_ser-workbench"))
        .env("SER_WORKBENCH_BACKEND", "cpu")
        .args(["probe", "--json", "--run"])
        .arg(&dir)
        .arg("--corpus")
        .arg(&emodb)
        .arg("--out")
        .arg(tmp.path().join("probe.csv"))
        .output()
        .expect("probe");
    assert!(out.status.success(), "{out:?}");
    let t: ser_workbench::train::probe::ProbeTable =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    assert_eq!(t.counts.iter().sum::<usize>(), 70);
    assert_eq!(t.labels.len(), 8);
    // Row "anger": the mean of predict's probabilities over the anger files.
    let m = ser_workbench::corpus::load(&emodb, None).expect("emodb");
    let pred = ser_workbench::train::predict::Predictor::load(&dir).expect("predictor");
    let anger: Vec<Vec<f32>> = m
        .utterances
        .iter()
        .filter(|u| u.emotion == ser_workbench::corpus::Emotion::Anger)
        .map(|u| pred.predict_file(&u.path).expect("predict"))
        .collect();
    let row = t
        .classes
        .iter()
        .position(|c| c == "anger")
        .expect("anger row");
    assert_eq!(t.counts[row], anger.len());
    for k in 0..8 {
        let want = anger.iter().map(|p| p[k] as f64).sum::<f64>() / anger.len() as f64;
        assert!((t.mean[row][k] - want).abs() < 1e-6);
    }
    let csv = std::fs::read_to_string(tmp.path().join("probe.csv")).expect("csv");
    assert_eq!(csv.lines().count(), 1 + t.classes.len());
    // A folder that is not a run is refused.
    let err = ser_workbench::train::probe::probe(
        &dir.with_file_name("nonexistent"),
        &emodb,
        &mut |_, _| {},
    );
    assert!(err.is_err());
    // inspect: positives at the asked agreement.
    let out = Command::new(env!("CARGO_BIN_EXE_ser-workbench"))
        .args(["inspect", "--json", "--min-agreement", "5"])
        .arg(corpus())
        .output()
        .expect("inspect");
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    let report = read_report(&dir).expect("report");
    let ml = report.multi_label.expect("summary");
    for l in &ml.pooled.labels {
        assert_eq!(
            v["votes"]["positives"][&l.name].as_u64().expect("count") as usize,
            l.support,
            "{}",
            l.name
        );
    }
}

/// The paper's protocol pieces together: label groups, a label map (one column dropped), the
/// test part restricted to agreement ≥ 5 on every group, per-agreement F1 and co-occurrence
/// in the report, and on-the-fly augmentation of the log-mel training examples.
#[test]
fn groups_agreement_filter_label_map_and_augmentation() {
    use ser_workbench::audio::augment::{AugmentConfig, SpeedPerturb};
    use ser_workbench::train::multilabel::{agreed, group_indices};
    let _g = serial();
    let tmp = tempfile::tempdir().expect("tmp");
    let mut p = preset(false);
    p.training.epochs = 3;
    p.training.augment = Some(AugmentConfig {
        speed: Some(SpeedPerturb::Range(0.9, 1.1)),
        pitch_semitones: Some((-1.0, 1.0)),
        noise_snr_db: Some((15.0, 30.0)),
        probability: 0.5,
    });
    if let ser_workbench::train::task::Task::MultiLabel(m) = &mut p.task {
        m.drop = vec!["Smooth".into()];
        // Rough alone now: its agreement is max(votes, 8 − votes).
        m.groups.retain(|g| !g.iter().any(|l| l == "Smooth"));
        m.test_min_agreement = Some(5.0);
    }
    let (dir, logs) = run(p.clone(), corpus(), &tmp.path().join("agree"));
    assert!(
        logs.iter()
            .any(|l| l.contains("augmenting training examples on the fly")),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|l| l.contains("'Smooth' dropped")),
        "{logs:?}"
    );
    let report = read_report(&dir).expect("report");
    let ml = report.multi_label.as_ref().expect("summary");
    assert!(!ml.labels.iter().any(|l| l == "Smooth"), "{:?}", ml.labels);
    assert_eq!(ml.labels.len(), 7);
    assert_eq!(ml.test_min_agreement, Some(5.0));
    let rows = read_predictions(&dir, &ml.labels).expect("predictions");
    let task = p.task.multi_label().expect("task").clone();
    let groups = group_indices(&ml.labels, &task);
    assert_eq!(groups.len(), 3);
    // Every tested utterance reached the agreement; some utterances were left out.
    let total = std::fs::read_to_string(corpus().join("manifest.csv"))
        .expect("manifest")
        .lines()
        .count()
        - 1;
    assert!(
        !rows.is_empty() && rows.len() < total,
        "{} of {total}",
        rows.len()
    );
    for (r, _) in &rows {
        assert_eq!(r.annotators, 8.0);
        assert_eq!(agreed(&r.votes, r.annotators, &groups, 5.0), Ok(true));
    }
    assert!(
        logs.iter()
            .any(|l| l.contains("test utterances have agreement ≥ 5"))
    );
    // Per-agreement F1: on this test part every (label, utterance) is high-agreement or a tie.
    assert_eq!(ml.by_agreement.len(), 7);
    for a in &ml.by_agreement {
        assert_eq!(a.low_n, 0, "{a:?}");
        assert_eq!(a.high_n + a.ties, rows.len(), "{a:?}");
    }
    // The co-occurrence diagonal is each label's support.
    for (k, l) in ml.pooled.labels.iter().enumerate() {
        assert_eq!(ml.cooccurrence.truth[k][k], l.support, "{}", l.name);
    }
    let md = std::fs::read_to_string(dir.join("report.md")).expect("md");
    assert!(md.contains("## F1 by annotator agreement") && md.contains("## Label co-occurrence"));
    // Each label query's attention: a distribution over the frames holding audio (padding
    // masked), the same from the library and from `predict --trace --json`.
    let wav = &rows[0].0.path;
    let p = ser_workbench::train::predict::Predictor::load(&dir).expect("predictor");
    let t = p.trace_file(Path::new(wav)).expect("trace");
    let att = t.label_attention.as_ref().expect("label attention");
    assert_eq!(att.len(), 7);
    for row in att {
        let inside: f32 = row[..t.valid_frames].iter().sum();
        let outside: f32 = row[t.valid_frames..].iter().sum();
        assert!(
            (inside - 1.0).abs() < 1e-4 && outside.abs() < 1e-6,
            "{inside} {outside}"
        );
    }
    assert!(
        (t.frames_per_sec - 100.0).abs() < 1.0,
        "{}",
        t.frames_per_sec
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ser-workbench"))
        .env("SER_WORKBENCH_BACKEND", "cpu")
        .args(["predict", "--trace", "--json", "--run"])
        .arg(&dir)
        .arg(wav)
        .output()
        .expect("predict");
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    for (k, l) in ml.labels.iter().enumerate() {
        let cli: Vec<f64> = serde_json::from_value(v["label_attention"][l].clone()).expect("row");
        assert_eq!(cli.len(), att[k].len());
        assert!(
            cli.iter()
                .zip(&att[k])
                .all(|(a, b)| (a - *b as f64).abs() < 1e-6)
        );
    }
}

/// The committed espeak-ng layout (tools/make_styles_espeak.py: eight espeak-ng voices, sox
/// tilt and roughness effects, eight simulated annotators) trains from the CLI,
/// speaker-independently, tested on the utterances with agreement ≥ 5 of 8 on every pair.
#[test]
fn espeak_speech_layout_trains_from_the_cli() {
    use ser_workbench::train::multilabel::{agreed, group_indices};
    let _g = serial();
    let tmp = tempfile::tempdir().expect("tmp");
    let layout = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/styles_espeak");
    let mut p = preset(false);
    p.training.epochs = 25;
    p.features.max_secs = 2.0;
    let preset_file = tmp.path().join("speechmlc.ron");
    p.save(&preset_file).expect("preset");
    let dir = tmp.path().join("run");
    let out = Command::new(env!("CARGO_BIN_EXE_ser-workbench"))
        .env("SER_WORKBENCH_BACKEND", "cpu")
        .args([
            "train",
            "--protocol",
            "speaker-kfold:4",
            "--test-min-agreement",
            "5",
        ])
        .arg("--preset")
        .arg(&preset_file)
        .arg("--corpus")
        .arg(&layout)
        .arg("--cache")
        .arg(tmp.path().join("cache"))
        .arg("--out")
        .arg(&dir)
        .output()
        .expect("train");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = read_report(&dir).expect("report");
    assert_eq!(report.independence, "speaker-independent");
    let ml = report.multi_label.as_ref().expect("summary");
    assert_eq!(ml.labels.len(), 8);
    let rows = read_predictions(&dir, &ml.labels).expect("predictions");
    let groups = group_indices(&ml.labels, p.task.multi_label().expect("task"));
    assert_eq!(groups.len(), 4);
    assert!(rows.len() >= 10 && rows.len() < 48, "{}", rows.len());
    for (r, _) in &rows {
        assert_eq!(
            agreed(&r.votes, r.annotators, &groups, 5.0),
            Ok(true),
            "{}",
            r.path
        );
    }
    eprintln!(
        "espeak layout: macro F1 {:.3}, per label {:?}",
        ml.pooled.macro_f1,
        ml.pooled
            .labels
            .iter()
            .map(|l| (
                l.name.clone(),
                (l.f1 * 1000.0).round() / 1000.0,
                (l.average_precision * 1000.0).round() / 1000.0
            ))
            .collect::<Vec<_>>()
    );
    // Spectral tilt (the sox treble/low-pass effects) is what 12 training speakers teach
    // reliably: average precision well above the ≈ 0.5 of a random ranking.
    let ap = |n: &str| pooled_ap(&ml.pooled, n);
    assert!(ap("Bright") > 0.7 && ap("Dark") > 0.7, "{:?}", ml.pooled);
}
