//! Dimensional emotion end to end: arousal / valence / dominance regression on generated
//! MSP-Podcast- and IEMOCAP-layout corpora (the demo's dimensional corpora), the CCC loss and
//! selection, the report and predictions against the metric functions, prediction from the
//! CLI, named numeric CSV columns, and the fine-tuned encoder with the mean-and-max head and one
//! set of layer weights per dimension (numerically against a plain-loop reference).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use burn::prelude::*;
use ser_workbench::corpus::demo_dimensional;
use ser_workbench::eval::regression::ccc;
use ser_workbench::text::TextBatch;
use ser_workbench::train::dim_report::read_predictions;
use ser_workbench::train::run::{RunEnd, execute};
use ser_workbench::train::run_dir::read_report;
use ser_workbench::train::{Event, Preset, RunRequest};

static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(|e| e.into_inner())
}

/// The dimensional demo corpora (8 MSP speakers × 12, 2 IEMOCAP sessions × 2 dialogs × 12).
fn corpora() -> &'static demo_dimensional::DimensionalDemo {
    static D: OnceLock<demo_dimensional::DimensionalDemo> = OnceLock::new();
    D.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ser-wb-test-dim-{}", std::process::id()));
        demo_dimensional::generate(&dir, 21, 8, 2, 12).expect("dimensional demo")
    })
}

fn logmel_preset(epochs: usize, protocol: &str) -> Preset {
    let mut p = Preset::builtin()
        .into_iter()
        .find(|p| p.name == "seed003-logmel-avd")
        .expect("builtin preset");
    p.training.epochs = epochs;
    p.training.protocol = protocol.parse().expect("protocol");
    p
}

fn request(preset: Preset, corpus: &Path, out: &Path) -> RunRequest {
    common::corpus_request(preset, corpus, out)
}

fn run(req: &RunRequest) -> (PathBuf, Vec<Event>) {
    let events = std::sync::Mutex::new(Vec::new());
    let (_tx, rx) = crossbeam_channel::unbounded();
    let controller = ser_workbench::train::control::Controller::new(rx);
    let end = execute(req, &controller, &|e| {
        events.lock().expect("lock").push(e);
    })
    .expect("run");
    let RunEnd::Finished(dir) = end else {
        panic!("not finished: {end:?}")
    };
    (dir, events.into_inner().expect("events"))
}

/// Log-mel → mean+max → tanh FFN with the 1 − CCC loss on the MSP-Podcast layout: the report's
/// pooled metrics equal the metric functions on predictions.csv, every fold keeps the
/// checkpoint with the highest validation mean CCC, no-agreement (X) utterances are used, and
/// arousal (loud, fast, high speech in the generator) is learnt.
#[test]
fn msp_podcast_layout_logmel_run_end_to_end() {
    let _g = serial();
    let d = corpora();
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    let (dir, events) = run(&request(
        logmel_preset(25, "speaker-kfold:4"),
        &d.msp_podcast_dir,
        &out,
    ));
    let logs: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Log(l) => Some(l),
            _ => None,
        })
        .collect();
    assert!(
        logs.iter().any(|l| l.contains("without an emotion class")),
        "{logs:?}"
    );
    let report = read_report(&dir).expect("report");
    let dim = report.dimensional.as_ref().expect("dimensional summary");
    assert_eq!(dim.dimensions, ["arousal", "valence", "dominance"]);
    assert_eq!(report.pooled.n, 0, "no classification in a dimensional run");
    assert_eq!(report.independence, "speaker-independent");
    // Every utterance of the corpus was tested once (X rows included).
    let manifest = ser_workbench::corpus::load(&d.msp_podcast_dir, None).expect("load");
    let total = manifest.utterances.len() + manifest.uncategorised.len();
    assert!(!manifest.uncategorised.is_empty());
    let rows = read_predictions(&dir, &dim.dimensions).expect("predictions");
    assert_eq!(rows.len(), total);
    assert!(
        rows.iter()
            .all(|r| r.truth.iter().all(|t| (0.0..=1.0).contains(t)))
    );
    // Pooled metrics = the metric functions on the written rows (6-decimal CSV).
    for (k, p) in dim.pooled.iter().enumerate() {
        let pred: Vec<f64> = rows.iter().map(|r| r.predicted[k] as f64).collect();
        let truth: Vec<f64> = rows.iter().map(|r| r.truth[k] as f64).collect();
        let c = ccc(&pred, &truth);
        assert!((c - p.ccc).abs() < 1e-4, "{}: {c} vs {}", p.name, p.ccc);
    }
    eprintln!(
        "MSP layout, log-mel: pooled CCC {:?}, mean {:.3}",
        dim.pooled
            .iter()
            .map(|p| (p.name.clone(), p.ccc))
            .collect::<Vec<_>>(),
        dim.mean_ccc
    );
    assert!(dim.pooled[0].ccc > 0.4, "arousal CCC {}", dim.pooled[0].ccc);
    // Selection: the best row of every fold has the highest validation mean CCC of the fold.
    let metrics = common::csv_rows(&dir.join("metrics.csv"));
    assert!(metrics[0].contains_key("valid_ccc_valence"));
    for fold in report.folds.iter().map(|f| f.name.clone()) {
        let of_fold: Vec<_> = metrics.iter().filter(|r| r["fold"] == fold).collect();
        let mean = |r: &std::collections::HashMap<String, String>| -> f64 {
            r["valid_mean_ccc"].parse().expect("number")
        };
        let best = of_fold
            .iter()
            .rfind(|r| r["is_best"] == "true")
            .expect("a best row");
        let top = of_fold
            .iter()
            .map(|r| mean(r))
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(mean(best), top, "fold {fold}");
    }
    let md = std::fs::read_to_string(dir.join("report.md")).expect("md");
    assert!(
        md.contains("Mean CCC over dimensions") && md.contains("annotation scale of msp-podcast")
    );
    // The CLI predicts A/V/D from the run.
    let wav = &rows[0].path;
    let out = Command::new(env!("CARGO_BIN_EXE_ser-workbench"))
        .env("SER_WORKBENCH_BACKEND", "cpu")
        .args(["predict", "--run"])
        .arg(&dir)
        .arg("--json")
        .arg(wav)
        .output()
        .expect("predict");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("json");
    for d in ["arousal", "valence", "dominance"] {
        assert!(v["dimensions"][d].is_f64(), "{v}");
    }
}

/// The IEMOCAP layout, leave-one-session-out: `xxx` rows are used and the report states the
/// 1–5 scale.
#[test]
fn iemocap_layout_session_loso() {
    let _g = serial();
    let d = corpora();
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = run(&request(
        logmel_preset(3, "session-loso"),
        &d.iemocap_dir,
        &tmp.path().join("run"),
    ));
    let report = read_report(&dir).expect("report");
    let dim = report.dimensional.expect("dimensional");
    assert_eq!(report.folds.len(), 2);
    assert!(
        dim.scales
            .iter()
            .all(|s| s.corpus == "iemocap" && s.min == 1.0 && s.max == 5.0),
        "{:?}",
        dim.scales
    );
    let rows = read_predictions(&dir, &dim.dimensions).expect("predictions");
    assert_eq!(rows.len(), 2 * 2 * 12);
}

/// Any numeric CSV column can be a dimension; rows without it are left out and counted.
#[test]
fn csv_manifest_named_columns() {
    let _g = serial();
    let d = corpora();
    let tmp = tempfile::tempdir().expect("tmp");
    let m = ser_workbench::corpus::load(&d.msp_podcast_dir, None).expect("load");
    let mut csv = String::from("path,speaker,liking,energy\n");
    for (i, u) in m.utterances.iter().chain(&m.uncategorised).enumerate() {
        let liking = if i % 10 == 3 {
            String::new()
        } else {
            format!("{}", u.valence.expect("v") * 10.0)
        };
        csv.push_str(&format!(
            "{},{},{liking},{}\n",
            u.path.display(),
            u.speaker_id.clone().expect("spk"),
            u.arousal.expect("a")
        ));
    }
    let corpus = tmp.path().join("csv");
    std::fs::create_dir_all(&corpus).expect("mkdir");
    std::fs::write(corpus.join("manifest.csv"), csv).expect("write");
    let mut p = logmel_preset(2, "speaker-kfold:2");
    p.task = ser_workbench::train::task::Task::Dimensional(
        ser_workbench::train::task::DimensionalTask {
            dimensions: vec!["liking".into(), "energy".into()],
            ..Default::default()
        },
    );
    // A header with neither `label` nor arousal/valence/dominance is not detected: named.
    let mut req = request(p, &corpus, &tmp.path().join("run"));
    req.corpus_type = Some(ser_workbench::corpus::CorpusType::CsvManifest);
    let (dir, events) = run(&req);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Log(l) if l.contains("liking 10"))),
        "missing values are counted"
    );
    let report = read_report(&dir).expect("report");
    let dim = report.dimensional.expect("dimensional");
    assert_eq!(dim.dimensions, ["liking", "energy"]);
    assert!(dim.scales.iter().any(|s| s.source.contains("observed")));
}

/// A categorical preset on a dimensional corpus still trains on classes (the X rows left out),
/// and a dimensional preset with a class-only selection is refused with the reason.
#[test]
fn categorical_and_dimensional_presets_stay_apart() {
    let mut p = logmel_preset(1, "speaker-kfold:2");
    p.training.select_by = ser_workbench::train::preset::SelectBy::ValidUa;
    let err = p.validate().expect_err("ValidUa on a dimensional task");
    assert!(err.contains("ValidCcc"), "{err}");
    let text = p.to_ron();
    assert!(text.contains("Dimensional"), "the task is saved");
    let back = Preset::from_ron(&text, "x")
        .map(|_| ())
        .expect_err("invalid preset refused");
    assert!(back.to_string().contains("ValidCcc"), "{back}");
}

fn tiny_hubert() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/finetune/hubert_cls_tiny")
}

/// The mean-and-max tanh head with one set of layer weights per output, against a plain-loop
/// reference on the encoder's hidden states: per output k, softmax(w_k)-weighted sum of the
/// hidden states → projector → [mean ‖ max] over the valid frames of each (zero-padded) item →
/// Linear → tanh → Linear, output k. Chunked evaluation of one unpadded item gives the same.
#[test]
fn mean_max_head_per_dimension_matches_a_loop_reference() {
    use burn::module::Param;
    use ser_workbench::ssl::classifier::{FineTuneConfig, FineTuneHead, SslClassifier};
    use ser_workbench::tensor::read_f32;
    let device = Device::flex();
    let ft = FineTuneConfig {
        head: FineTuneHead::AvgMaxTanh { hidden: 8 },
        weighted_layer_sum: Some(true),
        per_output_layer_weights: true,
        projector_size: Some(6),
        ..Default::default()
    };
    let (mut model, _, built) = SslClassifier::load(&tiny_hubert(), &ft, 3, &device).expect("load");
    assert!(
        !built.head_loaded,
        "the checkpoint's sequence head is not this head"
    );
    let n_states = model.encoder.layers.len() + 1;
    let mut rng = ser_workbench::rng::SplitMix64::new(5);
    let w: Vec<f32> = (0..3 * n_states).map(|_| rng.normal() as f32).collect();
    model.head.output_layer_weights = Some(Param::from_tensor(Tensor::from_data(
        TensorData::new(w.clone(), [3, n_states]),
        &device,
    )));
    let (l1, l2) = (4000usize, 2600usize);
    let mut x = vec![0.0f32; 2 * l1];
    for (i, v) in x.iter_mut().enumerate() {
        let (row, t) = (i / l1, i % l1);
        if row == 0 || t < l2 {
            *v = ((t as f32 * 0.013 + row as f32).sin() * 0.5) + rng.normal() as f32 * 0.1;
        }
    }
    let valid = [model.frames_of(l1), model.frames_of(l2)];
    let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [2, l1]), &device);
    let got = read_f32(model.forward_batch(xt.clone(), &valid, &TextBatch::None, None));
    // Reference: the same encoder call, then loops.
    let t = model.frames_of(l1);
    let mut m = vec![0.0f32; 2 * t];
    for (b, &v) in valid.iter().enumerate() {
        m[b * t..b * t + v].iter_mut().for_each(|x| *x = 1.0);
    }
    let mask = Tensor::<2>::from_data(TensorData::new(m, [2, t]), &device);
    let (states, _) = model.encoder.forward_finetune(
        xt,
        model.uses_attention_mask.then_some(mask),
        &valid,
        model.freeze_conv,
        None,
        true,
    );
    let states: Vec<Vec<f32>> = states.into_iter().map(read_f32).collect();
    let d = states[0].len() / (2 * t);
    let lin = |l: &burn::nn::Linear| -> (Vec<f32>, Vec<f32>, usize, usize) {
        let [i, o] = l.weight.dims();
        (
            read_f32(l.weight.val()),
            l.bias.as_ref().map_or(vec![0.0; o], |b| read_f32(b.val())),
            i,
            o,
        )
    };
    let apply = |(wt, bias, i, o): &(Vec<f32>, Vec<f32>, usize, usize), v: &[f32]| -> Vec<f32> {
        (0..*o)
            .map(|c| bias[c] + (0..*i).map(|r| v[r] * wt[r * o + c]).sum::<f32>())
            .collect()
    };
    let (proj, hid, cls) = (
        lin(&model.head.projector),
        lin(model.head.hidden.as_ref().expect("hidden")),
        lin(&model.head.classifier),
    );
    let mut want = vec![0.0f32; 6];
    for k in 0..3 {
        let row = &w[k * n_states..(k + 1) * n_states];
        let mx = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f32> = row.iter().map(|v| (v - mx).exp()).collect();
        let sw: f32 = e.iter().sum();
        for b in 0..2 {
            let mut mean = vec![0.0f32; 6];
            let mut max = vec![f32::NEG_INFINITY; 6];
            for f in 0..valid[b] {
                let h: Vec<f32> = (0..d)
                    .map(|c| {
                        (0..n_states)
                            .map(|s| e[s] / sw * states[s][(b * t + f) * d + c])
                            .sum()
                    })
                    .collect();
                let p = apply(&proj, &h);
                for c in 0..6 {
                    mean[c] += p[c] / valid[b] as f32;
                    max[c] = max[c].max(p[c]);
                }
            }
            let z: Vec<f32> = apply(&hid, &[mean, max].concat())
                .into_iter()
                .map(f32::tanh)
                .collect();
            want[b * 3 + k] = apply(&cls, &z)[k];
        }
    }
    let err = ser_workbench::eval::compare::max_abs_diff(&got, &want);
    eprintln!("mean-max head vs loop reference: max abs error {err:e}");
    assert!(err < 1e-5, "{got:?} vs {want:?}");
    // Chunked evaluation of the first (unpadded) item = the batch output of that item.
    let one = Tensor::<2>::from_data(TensorData::new(x[..l1].to_vec(), [1, l1]), &device);
    let chunked = read_f32(model.forward_chunked(one, &TextBatch::None));
    let err = ser_workbench::eval::compare::max_abs_diff(&chunked, &got[..3]);
    assert!(err < 1e-5, "chunked {chunked:?} vs {:?}", &got[..3]);
}

/// A fine-tuning run of the dimensional task with the encoder frozen and layer weights per
/// dimension: only the head trains, the report holds one weight row per dimension.
#[test]
fn frozen_encoder_layer_weights_per_dimension_run() {
    let _g = serial();
    let d = corpora();
    let tmp = tempfile::tempdir().expect("tmp");
    let text = format!(
        r#"(
    name: "dim_ft_test",
    features: (stream: waveform, normalisation: none, ssl_weights: Some("{}")),
    model: SslFineTune((freeze_encoder: true, weighted_layer_sum: Some(true),
                        head: AvgMaxTanh(hidden: 16), projector_size: Some(16),
                        max_train_secs: 1.0, eval_chunk_secs: 2.0)),
    training: (protocol: "speaker-kfold:2", epochs: 3, batch_size: 8, learning_rate: 1e-2,
               select_by: ValidCcc, early_stopping_patience: None),
    task: Dimensional((per_dimension_layer_weights: true)),
)"#,
        tiny_hubert().display()
    );
    let preset = Preset::from_ron(&text, "dim_ft_test.ron").unwrap_or_else(|e| panic!("{e}"));
    let (dir, _) = run(&request(
        preset,
        &d.msp_podcast_dir,
        &tmp.path().join("run"),
    ));
    let report = read_report(&dir).expect("report");
    let dim = report.dimensional.as_ref().expect("dimensional");
    let w = dim
        .layer_weights
        .as_ref()
        .expect("layer weights per dimension");
    assert_eq!(w.len(), 3);
    for row in w {
        assert_eq!(row.len(), 3, "2 transformer layers + the input");
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    assert!(
        w.iter()
            .any(|r| r.iter().any(|v| (v - 1.0 / 3.0).abs() > 1e-4)),
        "the weights trained: {w:?}"
    );
    let cost = report.cost.as_ref().expect("cost");
    assert!(cost.trainable_params < cost.params / 2, "{cost:?}");
    let md = std::fs::read_to_string(dir.join("report.md")).expect("md");
    assert!(md.contains("Layer weights per dimension"));
    // The saved checkpoints load and predict three values.
    let p = ser_workbench::train::predict::Predictor::load(&dir).expect("predictor");
    let rows = read_predictions(&dir, &dim.dimensions).expect("rows");
    let v = p.predict_file(Path::new(&rows[0].path)).expect("predict");
    assert_eq!(v.len(), 3);
    // The profiles side by side from the CLI: text, CSV and SVG.
    let stem = tmp.path().join("profiles");
    let out = Command::new(env!("CARGO_BIN_EXE_ser-workbench"))
        .args(["layer-weights", "--runs"])
        .arg(&dir)
        .arg("--out")
        .arg(&stem)
        .output()
        .expect("layer-weights");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("run: ")).count(),
        3,
        "{text}"
    );
    let csv = std::fs::read_to_string(stem.with_extension("csv")).expect("csv");
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        csv.lines()
            .next()
            .expect("header")
            .ends_with("run: dominance"),
        "{csv}"
    );
    let svg = std::fs::read_to_string(stem.with_extension("svg")).expect("svg");
    assert_eq!(svg.matches("<polyline").count(), 3);
}

/// The cached (frozen utterance-mean) layer-weighted model with one set of layer weights per
/// dimension: the weights are saved per dimension and the checkpoints predict.
#[test]
fn cached_ssl_layer_weights_per_dimension_run() {
    let _g = serial();
    let d = corpora();
    let tmp = tempfile::tempdir().expect("tmp");
    let mut p = Preset::builtin()
        .into_iter()
        .find(|p| p.name == "seed003-hubert-base-layer-importance-cached")
        .expect("preset");
    p.features.ssl_weights =
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssl/hubert_tiny"));
    p.training.epochs = 4;
    p.training.protocol = "speaker-kfold:2".parse().expect("protocol");
    let (dir, _) = run(&request(p, &d.msp_podcast_dir, &tmp.path().join("run")));
    let report = read_report(&dir).expect("report");
    let dim = report.dimensional.expect("dimensional");
    let w = dim.layer_weights.expect("layer weights per dimension");
    assert_eq!(w.len(), 3);
    assert!(w.iter().all(|r| (r.iter().sum::<f32>() - 1.0).abs() < 1e-5));
    let cfg = ser_workbench::train::run::read_resolved(&dir).expect("config");
    match cfg.preset.model {
        ser_workbench::model::ModelConfig::LayerWeighted(c) => {
            assert!(c.per_output_layer_weights, "the flag is saved with the run")
        }
        other => panic!("{other:?}"),
    }
    let p = ser_workbench::train::predict::Predictor::load(&dir).expect("predictor");
    let rows = read_predictions(&dir, &dim.dimensions).expect("rows");
    assert_eq!(
        p.predict_file(Path::new(&rows[0].path))
            .expect("predict")
            .len(),
        3
    );
}

/// `inspect` counts transcripts (MSP-Podcast `Transcripts/`) and attaches a user `file,text`
/// CSV, naming rows that match no file.
#[test]
fn inspect_counts_and_attaches_transcripts() {
    let d = corpora();
    let tmp = tempfile::tempdir().expect("tmp");
    let csv = tmp.path().join("t.csv");
    std::fs::write(
        &csv,
        "file,text\nMSP-PODCAST_0001_0000.wav,a new transcript\nnot-there.wav,lost\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_ser-workbench"))
        .arg("inspect")
        .arg(&d.msp_podcast_dir)
        .arg("--transcripts")
        .arg(&csv)
        .output()
        .expect("inspect");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("transcripts: 96 of 96 utterances have text (0 without)"),
        "{text}"
    );
    assert!(
        text.contains("attached 1, 1 rows matched no file (e.g. not-there.wav)"),
        "{text}"
    );
}
