//! The command line end to end, as scripts use it: demo-corpus → inspect --json → train →
//! predict → features, plus clear errors for bad input.

mod common;

use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    common::cli("cli")
}

use common::run_ok;

#[test]
fn demo_inspect_train_predict_features() {
    let d = tempfile::tempdir().expect("tmp");
    let demo = d.path().join("demo");
    let out = run_ok(
        bin()
            .args(["demo-corpus", "--out"])
            .arg(&demo)
            .args(["--seed", "3"]),
    );
    // 280 EMODB-named + 240 RAVDESS-named + 120 MSP-Podcast-layout + 120 IEMOCAP-layout files.
    assert!(out.contains("wrote 880 files"), "{out}");
    assert!(
        out.contains("msp-podcast") && out.contains("iemocap"),
        "{out}"
    );

    let out = run_ok(bin().arg("inspect").arg(demo.join("emodb")).arg("--json"));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("inspect json");
    assert_eq!(v["corpus_type"], "emodb");
    assert_eq!(v["utterances"], 280);
    assert_eq!(v["per_class"]["anger"], 40);
    assert_eq!(v["per_speaker"]["03"]["gender"], "male");
    assert_eq!(v["per_speaker"].as_object().map(|o| o.len()), Some(10));
    assert_eq!(v["skipped"].as_array().map(Vec::len), Some(0));
    let out = run_ok(bin().arg("inspect").arg(demo.join("ravdess")).arg("--json"));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("inspect json");
    assert_eq!(v["corpus_type"], "ravdess");
    assert_eq!(v["utterances"], 240);
    // The tasks a multi-task run could train here: emotion, gender (odd actors male),
    // speaker, style (the statement), intensity and the statements' text, with their classes.
    let tasks: Vec<&str> = v["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["task"].as_str().expect("name"))
        .collect();
    assert_eq!(
        tasks,
        ["emotion", "gender", "speaker", "style", "intensity", "asr"],
        "{}",
        v["tasks"]
    );
    assert_eq!(v["tasks"][1]["utterances"], 240);
    assert_eq!(
        v["tasks"][1]["classes"]["male"],
        v["tasks"][1]["classes"]["female"]
    );

    let run = d.path().join("run");
    let out = run_ok(
        bin()
            .args(["train", "--preset"])
            .arg(common::tiny_preset_path())
            .arg("--corpus")
            .arg(demo.join("emodb"))
            .args(["--protocol", "holdout:0.3", "--seed", "9", "--out"])
            .arg(&run)
            .arg("--cache")
            .arg(d.path().join("cache")),
    );
    assert!(out.contains("pooled test: WA"), "{out}");
    assert!(out.contains("speaker-independent"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).expect("report"))
            .expect("json");
    assert_eq!(report["protocol"], "holdout:0.3");
    assert_eq!(report["seed"], 9);
    let ua = report["ua"].as_f64().expect("ua");
    assert!((0.0..=1.0).contains(&ua));

    let wav = demo.join("emodb/wav/03a01Wa.wav");
    let out = run_ok(
        bin()
            .args(["predict", "--json", "--run"])
            .arg(&run)
            .arg(&wav),
    );
    let p: serde_json::Value = serde_json::from_str(out.trim()).expect("predict json");
    let sum: f64 = p["probabilities"]
        .as_object()
        .expect("probs")
        .values()
        .map(|v| v.as_f64().expect("f"))
        .sum();
    assert!((sum - 1.0).abs() < 1e-3, "{out}");
    // Speaker statistics apply only to runs trained per speaker: refused here with the reason;
    // an unreadable speaker file is named.
    let out = bin()
        .args(["predict", "--same-speaker", "--run"])
        .arg(&run)
        .arg(&wav)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("per_speaker"), "{err}");

    let npy = d.path().join("x.npy");
    run_ok(
        bin()
            .args(["features", "--stream", "logmel"])
            .arg(&wav)
            .arg("--out")
            .arg(&npy),
    );
    let (shape, data) = ser_workbench::features::npy::read(&npy).expect("npy");
    let samples = ser_workbench::audio::load_mono_16k(&wav)
        .expect("wav")
        .len();
    assert_eq!(shape, vec![1 + samples / 512, 128]);
    // The values are the library's log-mel of the decoded file with the default parameters
    // (whose numerics tests/feature_parity.rs checks against librosa).
    let x = ser_workbench::audio::load_mono_16k(&wav).expect("wav");
    let want = ser_workbench::features::mel::log_mel(
        &x,
        &ser_workbench::features::LogMelConfig::default(),
    );
    assert_eq!(
        ser_workbench::eval::compare::max_abs_diff(&data, &want.data),
        0.0
    );
    assert!(data.iter().all(|v| v.is_finite()));
    // top_db 80: every value lies within 80 dB of the file's maximum.
    let peak = data.iter().copied().fold(f32::MIN, f32::max);
    assert!(data.iter().all(|v| *v >= peak - 80.0 - 1e-3));
    let npy2 = d.path().join("m.npy");
    run_ok(
        bin()
            .args(["features", "--stream", "mfcc"])
            .arg(&wav)
            .arg("--out")
            .arg(&npy2),
    );
    let (mshape, mdata) = ser_workbench::features::npy::read(&npy2).expect("npy");
    assert_eq!(mshape, vec![shape[0], 20]);
    let cfg = ser_workbench::features::FeatureConfig {
        stream: ser_workbench::features::StreamKind::Mfcc,
        ..Default::default()
    };
    let want = ser_workbench::features::extract_file(&wav, &cfg).expect("mfcc");
    assert_eq!(
        ser_workbench::eval::compare::max_abs_diff(&mdata, &want.data),
        0.0
    );
}

#[test]
fn bad_input_gives_clear_messages() {
    let d = tempfile::tempdir().expect("tmp");
    let bad = d.path().join("bad.ron");
    std::fs::write(&bad, "(name: \"x\", model: )").expect("w");
    let out = bin()
        .args(["train", "--preset"])
        .arg(&bad)
        .arg("--corpus")
        .arg(d.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.ron") && err.contains("malformed preset"),
        "{err}"
    );

    let out = bin()
        .args(["train", "--preset"])
        .arg(common::tiny_preset_path())
        .arg("--corpus")
        .arg(common::small_demo().join("emodb"))
        .args(["--protocol", "sideways"])
        .arg("--out")
        .arg(d.path().join("r"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown protocol 'sideways'"));

    let missing = d.path().join("missing.wav");
    let out = bin()
        .args(["features"])
        .arg(&missing)
        .arg("--out")
        .arg(d.path().join("o.npy"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.wav"));
    assert!(!Path::new(&d.path().join("o.npy")).exists());

    // Settings that used to be replaced silently are errors naming the setting.
    let out = bin()
        .args(["live", "--run"])
        .arg(d.path())
        .arg("--input")
        .arg(&missing)
        .args(["--hop-secs", "0"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--hop-secs") && err.contains("got 0"), "{err}");

    let train = |extra: &[&str], env: Option<(&str, &str)>| {
        let mut c = bin();
        c.args(["train", "--preset"])
            .arg(common::tiny_preset_path())
            .arg("--corpus")
            .arg(common::small_demo().join("emodb"))
            .arg("--out")
            .arg(d.path().join(format!("run-{}", extra.join("-"))))
            .args(extra);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        c.output().expect("run")
    };
    let out = train(&[], Some(("SER_WORKBENCH_BACKEND", "quantum")));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SER_WORKBENCH_BACKEND") && err.contains("unknown backend 'quantum'"),
        "{err}"
    );
    // --backend gpu never falls back to the CPU: it trains on a GPU or refuses.
    let out = train(&["--backend", "gpu"], None);
    let (stdout, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    if out.status.success() {
        assert!(stdout.contains("backend: wgpu"), "{stdout}");
    } else {
        assert!(err.contains("--backend gpu: no usable GPU"), "{err}");
        assert!(!stdout.contains("epoch"), "{stdout}");
    }
}

#[test]
fn bench_logmel_ends_with_one_json_line() {
    let out = run_ok(bin().args(["bench", "logmel", "--audio-secs", "30"]));
    let last = out.lines().last().expect("line");
    let v: serde_json::Value = serde_json::from_str(last).expect("json line");
    assert_eq!(v["bench"], "logmel");
    assert!(v["audio_secs_per_sec"].as_f64().expect("rate") > 0.0);
    assert!(v["threads"].as_u64().expect("threads") >= 1);
}

#[test]
fn bench_augment_ends_with_one_json_line() {
    let out = run_ok(bin().args(["bench", "augment", "--audio-secs", "6"]));
    let v: serde_json::Value =
        serde_json::from_str(out.lines().last().expect("line")).expect("json line");
    assert_eq!(v["bench"], "augment");
    for k in [
        "speed 0.9–1.1",
        "pitch ±2 semitones",
        "noise 10–30 dB",
        "all three + log-mel",
    ] {
        assert!(v[k].as_f64().expect("rate") > 0.0, "{k}: {v}");
    }
}

#[test]
fn inspect_reports_statistics_label_maps_and_silence() {
    let d = tempfile::tempdir().expect("tmp");
    common::layouts::iemocap(d.path(), 2);
    common::layouts::tone(
        &d.path()
            .join("Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav"),
        16_000,
        true,
    );
    let out = run_ok(bin().arg("inspect").arg(d.path()).args([
        "--json",
        "--scan-audio",
        "--label-map",
        "iemocap-4",
    ]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["corpus_type"], "iemocap");
    for key in [
        "utterances",
        "per_class",
        "per_speaker",
        "skipped",
        "per_gender",
        "speakers_per_gender",
        "duration_secs",
        "sample_rates",
        "flagged",
    ] {
        assert!(v.get(key).is_some(), "inspect --json lacks {key}");
    }
    assert_eq!(v["per_class"].as_object().map(|o| o.len()), Some(4));
    assert!(
        v["label_map"]["dropped"]
            .as_object()
            .is_some_and(|o| o.keys().any(|k| k.starts_with("fru")))
    );
    let silent = v["silent"].as_array().expect("silent list");
    assert_eq!(silent.len(), 1);
    assert!(
        silent[0]["path"]
            .as_str()
            .expect("path")
            .ends_with("Ses01F_impro01_F000.wav")
    );
    let text = run_ok(bin().arg("inspect").arg(d.path()));
    assert!(
        text.contains("gender:") && text.contains("sample rates: 16000 Hz"),
        "{text}"
    );
}

#[test]
fn multi_corpus_train_with_a_protocol_preset() {
    let d = tempfile::tempdir().expect("tmp");
    let run = d.path().join("run");
    let out = run_ok(
        bin()
            .args(["train", "--preset"])
            .arg(common::tiny_preset_path())
            .arg("--corpus")
            .arg(common::small_demo().join("emodb"))
            .arg("--corpus")
            .arg(common::small_demo().join("ravdess"))
            .args(["--protocol-preset", "cross-corpus-emodb-ravdess", "--out"])
            .arg(&run)
            .arg("--cache")
            .arg(d.path().join("cache")),
    );
    assert!(out.contains("label map 'emodb-ravdess-6'"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).expect("r"))
            .expect("json");
    assert_eq!(report["protocol"], "leave-one-corpus-out");
    assert_eq!(report["classes"].as_array().map(Vec::len), Some(6));
    let folds: Vec<&str> = report["folds"]
        .as_array()
        .expect("folds")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(folds, vec!["test-emodb", "test-ravdess"]);
    assert!(run.join("label_map.json").is_file());
}

#[test]
fn bench_inspect_ends_with_one_json_line() {
    let out = run_ok(bin().args(["bench", "inspect", "--files", "300"]));
    let v: serde_json::Value =
        serde_json::from_str(out.lines().last().expect("line")).expect("json");
    assert_eq!(v["bench"], "inspect");
    assert_eq!(v["files"], 300);
}

#[test]
fn ssl_features_from_a_checkpoint_folder() {
    let d = tempfile::tempdir().expect("tmp");
    let w = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssl/hubert_tiny");
    let wav = common::small_demo().join("emodb/wav/03a01Wa.wav");
    let out = d.path().join("all.npy");
    run_ok(
        bin()
            .args(["features", "--stream", "ssl", "--weights"])
            .arg(&w)
            .arg(&wav)
            .arg("--out")
            .arg(&out),
    );
    let (shape, all) = ser_workbench::features::npy::read(&out).expect("npy");
    assert_eq!(shape[0], 3);
    assert_eq!(shape[2], 32);
    assert!(all.iter().all(|v| v.is_finite()));
    let one = d.path().join("one.npy");
    run_ok(
        bin()
            .args(["features", "--stream", "ssl", "--layers", "1", "--weights"])
            .arg(&w)
            .arg(&wav)
            .arg("--out")
            .arg(&one),
    );
    let (one_shape, one_data) = ser_workbench::features::npy::read(&one).expect("npy");
    assert_eq!(one_shape, vec![shape[1], 32]);
    // --layers 1 is exactly hidden state 1 of the all-layers output.
    let per_layer = shape[1] * shape[2];
    assert_eq!(
        ser_workbench::eval::compare::max_abs_diff(&one_data, &all[per_layer..2 * per_layer]),
        0.0
    );
    // ... and differs from hidden states 0 and 2 (the layers are not all the same).
    assert!(ser_workbench::eval::compare::max_abs_diff(&one_data, &all[..per_layer]) > 1e-3);
    let bad = bin()
        .args(["features", "--stream", "ssl", "--layers", "9", "--weights"])
        .arg(&w)
        .arg(&wav)
        .arg("--out")
        .arg(&one)
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("layer 9 does not exist"));
    // The fused stream: [log-mel frames, 128 + 32] (hop 512 → 1 + ⌊samples / 512⌋ frames).
    let fused = d.path().join("fused.npy");
    run_ok(
        bin()
            .args(["features", "--stream", "logmel+ssl", "--weights"])
            .arg(&w)
            .arg(&wav)
            .arg("--out")
            .arg(&fused),
    );
    let (fshape, fdata) = ser_workbench::features::npy::read(&fused).expect("npy");
    let x = ser_workbench::audio::load_mono_16k(&wav).expect("wav");
    assert_eq!(fshape, vec![1 + x.len() / 512, 128 + 32]);
    // The first 128 columns are the file's log-mel, frame by frame.
    let logmel = ser_workbench::features::mel::log_mel(
        &x,
        &ser_workbench::features::LogMelConfig::default(),
    );
    let left: Vec<f32> = fdata
        .chunks(160)
        .flat_map(|row| row[..128].iter().copied())
        .collect();
    assert_eq!(
        ser_workbench::eval::compare::max_abs_diff(&left, &logmel.data),
        0.0
    );
    // The last 32 are the mean of the hidden states (ssl_layers "all") linearly interpolated
    // onto the log-mel frame centres: every value of dimension k lies within the range of
    // dimension k over the SSL frames.
    let (t, dim) = (shape[1], shape[2]);
    for k in 0..dim {
        let mean_k = |f: usize| {
            (0..3)
                .map(|l| all[l * per_layer + f * dim + k])
                .sum::<f32>()
                / 3.0
        };
        let (lo, hi) = (0..t).fold((f32::MAX, f32::MIN), |(l, h), f| {
            (l.min(mean_k(f)), h.max(mean_k(f)))
        });
        for row in fdata.chunks(160) {
            let v = row[128 + k];
            assert!(
                v >= lo - 1e-4 && v <= hi + 1e-4,
                "dim {k}: {v} outside [{lo}, {hi}]"
            );
        }
    }
}

/// `ablation` over two presets cross-corpus writes the three table files with one row per
/// preset, and `predict --trace` of a row's run prints attention that sums to one.
#[test]
fn ablation_cross_corpus_table_and_predict_trace() {
    let d = tempfile::tempdir().expect("tmp");
    let demo = common::small_demo();
    let tiny = common::tiny_preset_path();
    let mut cnn = common::tiny_preset();
    cnn.name = "tiny-cnn".into();
    cnn.model = ser_workbench::model::ModelConfig::Cnn(ser_workbench::model::CnnConfig {
        channels: vec![4, 8],
        dropout: 0.1,
    });
    let cnn_path = d.path().join("cnn.ron");
    cnn.save(&cnn_path).expect("save");
    let out = d.path().join("abl");
    let text = run_ok(
        bin()
            .args(["ablation", "--presets"])
            .arg(&tiny)
            .arg(&cnn_path)
            .arg("--corpus")
            .arg(demo.join("emodb"))
            .arg("--target-corpus")
            .arg(demo.join("ravdess"))
            .args(["--seeds", "1,2", "--backend", "cpu", "--out"])
            .arg(&out),
    );
    assert!(
        text.contains("| tiny |") && text.contains("| tiny-cnn |"),
        "{text}"
    );
    for f in ["ablation.md", "ablation.csv", "ablation.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ablation.json")).expect("json"))
            .expect("parse");
    assert_eq!(v["protocol"], "speaker-kfold:2");
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    // Cross-corpus: one fold per seed, two seeds.
    assert_eq!(rows[0]["n_folds"], 2);
    assert_eq!(rows[0]["runs"].as_array().map(Vec::len), Some(2));
    let run = rows[0]["runs"][0].as_str().expect("run").to_string();
    let out = run_ok(
        bin()
            .args(["predict", "--trace", "--run"])
            .arg(&run)
            .arg(demo.join("emodb/wav/03a01Wa.wav")),
    );
    let t: serde_json::Value = serde_json::from_str(out.trim()).expect("trace json");
    let att: f64 = t["attention"]
        .as_array()
        .expect("attention")
        .iter()
        .map(|x| x.as_f64().unwrap())
        .sum();
    assert!((att - 1.0).abs() < 1e-3, "{att}");
    assert!(t["gate"].is_null());
}

/// `train --ssl-weights` replaces the preset's model folder (the run's config records the one
/// used), and is refused for a preset without an SSL encoder.
#[test]
fn train_ssl_weights_overrides_the_preset_model_folder() {
    let d = tempfile::tempdir().expect("tmp");
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssl/hubert_tiny");
    let preset = d.path().join("ft.ron");
    std::fs::write(
        &preset,
        r#"(
    name: "ft-cli",
    features: (stream: waveform, normalisation: none, ssl_weights: Some("models/not-here")),
    model: SslFineTune((max_train_secs: 0.25, eval_chunk_secs: 0.5, projector_size: Some(8))),
    training: (protocol: "speaker-kfold:2", epochs: 1, batch_size: 8, early_stopping_patience: None),
)"#,
    )
    .expect("write");
    let corpus = common::small_demo().join("emodb");
    let run = d.path().join("run");
    let out = run_ok(
        bin()
            .args(["train", "--preset"])
            .arg(&preset)
            .arg("--corpus")
            .arg(&corpus)
            .arg("--ssl-weights")
            .arg(&tiny)
            .arg("--out")
            .arg(&run),
    );
    assert!(
        out.contains("fine-tuning") && out.contains("pooled test"),
        "{out}"
    );
    let cfg = std::fs::read_to_string(run.join("config.ron")).expect("config");
    assert!(
        cfg.contains("hubert_tiny") && !cfg.contains("not-here"),
        "{cfg}"
    );
    // Without the override the missing folder is named before anything trains.
    let o = bin()
        .args(["train", "--preset"])
        .arg(&preset)
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(d.path().join("run2"))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("models/not-here"),
        "{err}"
    );
    // A preset without an SSL encoder refuses the flag.
    let o = bin()
        .args(["train", "--preset"])
        .arg(common::tiny_preset_path())
        .arg("--corpus")
        .arg(&corpus)
        .arg("--ssl-weights")
        .arg(&tiny)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("has no SSL encoder"),
        "{err}"
    );
}

/// `runs list` and `runs compare` over real run folders: two tiny runs that differ in one
/// training field, a run that failed (its `error.txt`), and a folder that cannot be read.
#[test]
fn runs_list_and_compare() {
    let d = tempfile::tempdir().expect("tmp");
    let data = d.path().join("data");
    let runs = data.join("runs");
    let tiny = std::fs::read_to_string(common::tiny_preset_path()).expect("preset");
    assert!(tiny.contains("epochs: 3,"));
    let corpus = common::small_demo().join("emodb");
    for (name, epochs) in [("20260101-100000-tiny-a", 2), ("20260101-110000-tiny-b", 3)] {
        let preset = d.path().join(format!("{name}.ron"));
        std::fs::write(
            &preset,
            tiny.replace("epochs: 3,", &format!("epochs: {epochs},")),
        )
        .expect("preset");
        run_ok(
            bin()
                .env("SER_WORKBENCH_DATA", &data)
                .args(["train", "--preset"])
                .arg(&preset)
                .arg("--corpus")
                .arg(&corpus)
                .arg("--out")
                .arg(runs.join(name)),
        );
    }
    let broken = runs.join("20260101-120000-broken");
    std::fs::create_dir_all(&broken).expect("mkdir");
    std::fs::write(broken.join("config.ron"), "(not a config").expect("write");
    let failed = runs.join("20260101-130000-failed");
    std::fs::create_dir_all(&failed).expect("mkdir");
    std::fs::copy(
        runs.join("20260101-100000-tiny-a/config.ron"),
        failed.join("config.ron"),
    )
    .expect("copy");
    std::fs::write(failed.join("error.txt"), "fold 1: out of memory").expect("write");

    // A name and a note; the run's own files stay as they were.
    let b = runs.join("20260101-110000-tiny-b");
    let report_before = std::fs::read(b.join("report.json")).expect("report");
    run_ok(bin().args(["runs", "note"]).arg(&b).args([
        "--name",
        "three epochs",
        "--note",
        "first try",
    ]));
    run_ok(
        bin()
            .args(["runs", "note"])
            .arg(&b)
            .args(["--note", "kept"]),
    );
    assert_eq!(
        std::fs::read(b.join("report.json")).expect("report"),
        report_before
    );
    let out = run_ok(
        bin()
            .env("SER_WORKBENCH_DATA", &data)
            .args(["runs", "list", "--json"]),
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let listed = v["runs"].as_array().expect("runs");
    assert_eq!(listed.len(), 3, "{v}");
    assert_eq!(listed[1]["tag"], "three epochs");
    assert_eq!(listed[1]["note"], "kept");
    // Newest first.
    assert!(listed[0]["dir"].as_str().expect("dir").ends_with("failed"));
    assert_eq!(listed[0]["status"]["Failed"], "fold 1: out of memory");
    assert_eq!(listed[1]["status"], "Finished");
    assert_eq!(listed[1]["date"], "2026-01-01 11:00:00");
    assert_eq!(listed[1]["preset"], "tiny");
    assert_eq!(listed[1]["independence"], "speaker-independent");
    assert_eq!(listed[1]["headline"][0], "UA");
    let unreadable = v["unreadable"].as_array().expect("unreadable");
    assert_eq!(unreadable.len(), 1);
    assert!(
        unreadable[0].as_str().expect("s").contains("broken"),
        "{unreadable:?}"
    );

    let a = runs.join("20260101-100000-tiny-a");
    let b = runs.join("20260101-110000-tiny-b");
    let stem = d.path().join("cmp");
    let md = run_ok(
        bin()
            .args(["runs", "compare"])
            .arg(&a)
            .arg(&b)
            .arg("--markdown")
            .arg("--out")
            .arg(&stem),
    );
    assert!(md.contains("## Per fold"), "{md}");
    assert!(
        md.contains("exact two-sided permutation (sign-flip) test"),
        "{md}"
    );
    // Two shared folds: the sign-flip test has 4 patterns, so p is 0.5 or 1.
    assert!(
        md.contains("- tiny: p = 0.5000") || md.contains("- tiny: p = 1.0000"),
        "{md}"
    );
    assert!(md.contains("| `training.epochs` | `2` | `3` |"), "{md}");
    assert!(md.contains("## Recall per class"), "{md}");
    assert_eq!(
        std::fs::read_to_string(stem.with_extension("md")).expect("md"),
        md
    );
    let csv = std::fs::read_to_string(stem.with_extension("csv")).expect("csv");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    // The baseline's deltas are zero; the UA delta of the second run is its UA minus the first.
    let ra = ser_workbench::train::run_dir::read_report(&a).expect("a");
    let rb = ser_workbench::train::run_dir::read_report(&b).expect("b");
    let row: Vec<&str> = csv.lines().nth(2).expect("row").split(',').collect();
    assert_eq!(
        row[9],
        format!("{:+.4}", rb.pooled.ua - ra.pooled.ua),
        "{csv}"
    );
    let base: Vec<&str> = csv.lines().nth(1).expect("row").split(',').collect();
    assert_eq!(base[9], "+0.0000");
    // Fewer than two runs is refused with the reason.
    let out = bin()
        .args(["runs", "compare"])
        .arg(&a)
        .output()
        .expect("run");
    assert!(!out.status.success());
    // The failed run to the trash (moved, not deleted); a folder that is not a run is refused.
    run_ok(bin().args(["runs", "trash"]).arg(&failed));
    assert!(!failed.exists());
    assert!(
        runs.join(".trash/20260101-130000-failed/error.txt")
            .is_file()
    );
    let out = bin()
        .args(["runs", "trash"])
        .arg(d.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a run folder"));
}

/// `predict` on a run trained per speaker: with `--same-speaker` (statistics of the given
/// files) or `--speaker-audio` (other recordings; a folder of WAVs counts) the probabilities
/// change against the training set's statistics, and an unreadable speaker file is named.
#[test]
fn predict_with_speaker_statistics() {
    let d = tempfile::tempdir().expect("tmp");
    let preset = d.path().join("per_speaker.ron");
    let text = std::fs::read_to_string(common::tiny_preset_path()).expect("tiny");
    assert!(text.contains("normalisation: training_set"));
    std::fs::write(
        &preset,
        text.replace("normalisation: training_set", "normalisation: per_speaker"),
    )
    .expect("write");
    let demo = common::small_demo();
    let run = d.path().join("run");
    run_ok(
        bin()
            .args(["train", "--preset"])
            .arg(&preset)
            .arg("--corpus")
            .arg(demo.join("emodb"))
            .args(["--protocol", "holdout:0.3", "--seed", "3", "--out"])
            .arg(&run)
            .arg("--cache")
            .arg(d.path().join("cache")),
    );
    let wavs = demo.join("emodb/wav");
    let files = [wavs.join("03a01Wa.wav"), wavs.join("03a01Ta.wav")];
    let probs = |extra: &[&std::ffi::OsStr]| -> Vec<f64> {
        let out = run_ok(
            bin()
                .args(["predict", "--json", "--run"])
                .arg(&run)
                .args(&files)
                .args(extra),
        );
        out.lines()
            .flat_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json");
                v["probabilities"]
                    .as_object()
                    .expect("probs")
                    .values()
                    .map(|p| p.as_f64().expect("f"))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let plain = probs(&[]);
    let same = probs(&["--same-speaker".as_ref()]);
    let folder = probs(&["--speaker-audio".as_ref(), wavs.as_os_str()]);
    let differs = |a: &[f64], b: &[f64]| a.iter().zip(b).any(|(x, y)| (x - y).abs() > 1e-4);
    assert_eq!(plain.len(), same.len());
    assert!(differs(&plain, &same), "{plain:?} {same:?}");
    assert!(differs(&plain, &folder), "{plain:?} {folder:?}");
    let missing = d.path().join("nobody.wav");
    let out = bin()
        .args(["predict", "--run"])
        .arg(&run)
        .args(&files)
        .arg("--speaker-audio")
        .arg(&missing)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nobody.wav"), "{err}");
}
