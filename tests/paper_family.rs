//! The LogMel–HuBERT family end to end on the small demo corpus with the tiny HuBERT fixture:
//! the fused `logmel_ssl` stream (frame alignment checked numerically), α and gated fusion with
//! their per-epoch reports, CNN+GRU and TIM-Net-style models, attention traces, the embedding
//! scatter of cross-corpus runs, aligned-layer choice, and the ablation runner's table.

mod common;

use std::path::{Path, PathBuf};

use ser_workbench::features::align::{FrameAxis, receptive_field};
use ser_workbench::features::{FeatureConfig, SslPooling, StreamKind};
use ser_workbench::model::fusion::FusionMode;
use ser_workbench::model::pooled_fc::PooledFcConfig;
use ser_workbench::model::{ModelConfig, cnn_gru::CnnGruConfig, timnet::TimNetConfig};
use ser_workbench::ssl::stream::SslStream;
use ser_workbench::train::ablation::{AblationRequest, run_ablation};
use ser_workbench::train::preset::{AdaptationConfig, AlignedLayer};
use ser_workbench::train::{BackendChoice, Event, Preset, RunRequest, RunState, spawn_training};

static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(|e| e.into_inner())
}

fn tiny_hubert() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssl/hubert_tiny")
}

/// The tiny preset on the fused stream (32 log-mel bands + the tiny HuBERT's last layer).
fn fused_preset(fusion: FusionMode) -> Preset {
    let mut p = common::tiny_preset();
    p.name = format!("tiny-{}", fusion.name());
    p.features.stream = StreamKind::LogMelSsl;
    p.features.ssl_weights = Some(tiny_hubert());
    p.features.ssl_layers = "last".into();
    if let ModelConfig::TemporalStack(c) = &mut p.model {
        c.fusion = fusion;
    }
    p
}

fn request(preset: Preset, out: &Path, cache: &Path) -> RunRequest {
    common::demo_request(preset, out, cache)
}

fn run(req: RunRequest) -> Vec<Event> {
    let evs: Vec<Event> = spawn_training(req, None)
        .expect("spawn")
        .events
        .iter()
        .collect();
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::State(RunState::Finished))),
        "{:?}",
        evs.iter()
            .filter(|e| matches!(e, Event::State(_) | Event::Log(_)))
            .collect::<Vec<_>>()
    );
    evs
}

fn epochs(evs: &[Event]) -> Vec<&ser_workbench::train::EpochMetrics> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Epoch(m) => Some(&**m),
            _ => None,
        })
        .collect()
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")
}

/// The SSL half of a fused frame is the linear interpolation of the encoder's frames at the
/// log-mel frame centre (HuBERT frame i centred at (320·i + 200) / 16000 s, log-mel frame t at
/// 160·t / 16000 s), computed here independently of the library's alignment code.
#[test]
fn fused_stream_interpolates_ssl_frames_onto_logmel_frames() {
    let stream = SslStream::load(&tiny_hubert(), "last").expect("load");
    let samples: Vec<f32> = (0..16_000 * 2)
        .map(|i| (i as f32 * 0.07).sin() * 0.3 + (i as f32 * 0.0031).cos() * 0.2)
        .collect();
    let cfg = FeatureConfig {
        stream: StreamKind::LogMelSsl,
        logmel: ser_workbench::features::LogMelConfig::short_window(32),
        ssl_layers: "last".into(),
        ssl_pooling: SslPooling::Frames,
        ..Default::default()
    };
    let fused = stream.fused(&samples, &cfg);
    let frames = stream.embed_frames(&samples);
    let logmel = ser_workbench::features::compute(&samples, &cfg.logmel_part());
    let d = frames.n_bins;
    assert_eq!(fused.n_frames, logmel.n_frames);
    assert_eq!(fused.n_bins, 32 + d);
    let rf = receptive_field(&stream.config.conv_kernel, &stream.config.conv_stride);
    let stride: usize = stream.config.conv_stride.iter().product();
    assert_eq!(
        stream.axis(),
        FrameAxis::conv(
            16_000,
            &stream.config.conv_kernel,
            &stream.config.conv_stride
        )
    );
    let mut max_err = 0.0f32;
    for t in 0..fused.n_frames {
        let row = fused.frame(t);
        assert_eq!(&row[..32], logmel.frame(t), "log-mel part of frame {t}");
        let time = t as f64 * 160.0 / 16_000.0;
        let pos = ((time * 16_000.0 - rf as f64 / 2.0) / stride as f64)
            .clamp(0.0, (frames.n_frames - 1) as f64);
        let (i0, w) = (pos.floor() as usize, pos.fract() as f32);
        let i1 = (i0 + 1).min(frames.n_frames - 1);
        for k in 0..d {
            let want = frames.frame(i0)[k] * (1.0 - w) + frames.frame(i1)[k] * w;
            max_err = max_err.max((row[32 + k] - want).abs());
        }
    }
    assert!(max_err < 1e-5, "max abs error {max_err}");
    // Utterance-mean pooling repeats one vector: the mean of the frame embeddings.
    let cfg_mean = FeatureConfig {
        ssl_pooling: SslPooling::UtteranceMean,
        ..cfg
    };
    let fm = stream.fused(&samples, &cfg_mean);
    for k in 0..d {
        let mean: f32 = (0..frames.n_frames)
            .map(|i| frames.frame(i)[k])
            .sum::<f32>()
            / frames.n_frames as f32;
        assert!((fm.frame(0)[32 + k] - mean).abs() < 1e-4);
        assert_eq!(fm.frame(0)[32 + k], fm.frame(fm.n_frames - 1)[32 + k]);
    }
}

/// α fusion, cross-corpus with LMMD on the head's first hidden layer: α is reported every epoch,
/// stays in (0, 1) and moves; the embedding scatter holds both domains; the run predicts through
/// the fused path, and the attention trace over time sums to one.
#[test]
fn alpha_fusion_cross_corpus_run_reports_alpha_and_scatter() {
    let _g = serial();
    let d = tempfile::tempdir().expect("tmp");
    let out = d.path().join("run");
    let mut preset = fused_preset(FusionMode::Alpha);
    preset.training.adaptation = Some(AdaptationConfig {
        aligned_layer: AlignedLayer::HeadHidden1,
        ..Default::default()
    });
    let mut req = request(preset, &out, &d.path().join("cache"));
    req.target_corpus = Some(common::small_demo().join("ravdess"));
    let evs = run(req);
    let ms = epochs(&evs);
    assert_eq!(ms.len(), 3);
    let alphas: Vec<f32> = ms.iter().map(|m| m.fusion_alpha.expect("alpha")).collect();
    assert!(alphas.iter().all(|a| *a > 0.0 && *a < 1.0), "{alphas:?}");
    assert!(
        alphas.iter().any(|a| (a - 0.5).abs() > 1e-5),
        "α never moved: {alphas:?}"
    );
    assert!(ms.iter().all(|m| m.adapt_loss.is_some_and(f64::is_finite)));
    let sc = ms[0].scatter.as_ref().expect("scatter");
    assert!(sc.iter().any(|p| p.target) && sc.iter().any(|p| !p.target));
    assert!(sc.iter().all(|p| p.x.is_finite() && p.y.is_finite()));
    let interp = json(&out.join("interpretability.json"));
    assert_eq!(interp["epochs"].as_array().map(Vec::len), Some(3));
    let report = json(&out.join("report.json"));
    let a = report["folds"][0]["fusion_alpha"]
        .as_f64()
        .expect("alpha in report");
    // The checkpoint is the last epoch flagged best; the report's α is that epoch's α (f32
    // stored as f64: equal to float rounding).
    let best = ms
        .iter()
        .rfind(|m| m.fold == 0 && m.is_best)
        .expect("a best epoch");
    let best_alpha = best.fusion_alpha.expect("alpha") as f64;
    assert!(
        (a - best_alpha).abs() < 1e-7,
        "report α {a} vs best epoch {} α {best_alpha} (all: {alphas:?})",
        best.epoch
    );
    let log: Vec<&String> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Log(l) => Some(l),
            _ => None,
        })
        .collect();
    assert!(
        log.iter()
            .any(|l| l.contains("aligned features: head hidden 1")),
        "{log:?}"
    );
    // Prediction and the attention trace through the saved run.
    let p = ser_workbench::train::predict::Predictor::load(&out).expect("predictor");
    let wav = common::small_demo().join("emodb/wav/03a01Wa.wav");
    let probs = p.predict_file(&wav).expect("predict");
    assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    let tr = p.trace_file(&wav).expect("trace");
    let att = tr.attention.expect("attention");
    assert_eq!(att.len(), p.frames());
    assert!(
        (att.iter().sum::<f32>() - 1.0).abs() < 1e-3,
        "{}",
        att.iter().sum::<f32>()
    );
    assert!((tr.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
}

/// Gated fusion with attention pooling: the gate per class lies in (0, 1) for every class seen
/// in validation, and is saved in report.json.
#[test]
fn gated_fusion_reports_gate_per_class() {
    let _g = serial();
    let d = tempfile::tempdir().expect("tmp");
    let out = d.path().join("run");
    let mut preset = fused_preset(FusionMode::Gated);
    preset.model = ModelConfig::PooledFc(PooledFcConfig {
        channels: 16,
        fusion: FusionMode::Gated,
        attention_pooling: true,
        ..Default::default()
    });
    let evs = run(request(preset, &out, &d.path().join("cache")));
    let ms = epochs(&evs);
    let g = ms
        .last()
        .and_then(|m| m.gate_per_class.clone())
        .expect("gate");
    assert!(g.iter().filter(|v| v.is_finite()).count() >= 2, "{g:?}");
    assert!(
        g.iter()
            .filter(|v| v.is_finite())
            .all(|v| *v > 0.0 && *v < 1.0)
    );
    assert!(ms.iter().all(|m| m.fusion_alpha.is_none()));
    let report = json(&out.join("report.json"));
    assert!(report["folds"][0]["gate_per_class"].is_array());
    // report.json reads back (a class without validation utterances is null, not NaN).
    let text = std::fs::read_to_string(out.join("report.json")).expect("report");
    serde_json::from_str::<ser_workbench::train::run_dir::RunReport>(&text).expect("RunReport");
    let p = ser_workbench::train::predict::Predictor::load(&out).expect("predictor");
    let tr = p
        .trace_file(&common::small_demo().join("emodb/wav/03a01Wa.wav"))
        .expect("trace");
    let att = tr.attention.expect("pooling weights");
    assert!((att.iter().sum::<f32>() - 1.0).abs() < 1e-3);
    assert_eq!(tr.gate.expect("gate").len(), att.len());
}

/// The ablation runner: CNN+GRU, TIM-Net-style (fused, utterance-mean HuBERT) and a preset
/// whose weights are missing. The table has one row per preset in order; the numbers are the
/// fold means of each run's report.json; the broken preset is a row with its error.
#[test]
fn ablation_table_rows_match_their_runs() {
    let _g = serial();
    let d = tempfile::tempdir().expect("tmp");
    let mut gru = common::tiny_preset();
    gru.name = "tiny-cnn-gru".into();
    gru.model = ModelConfig::CnnGru(CnnGruConfig {
        channels: vec![4, 8],
        gru_hidden: 8,
        dropout: 0.1,
    });
    let mut tim = fused_preset(FusionMode::Concat);
    tim.name = "tiny-timnet".into();
    tim.features.ssl_pooling = SslPooling::UtteranceMean;
    tim.model = ModelConfig::TimNet(TimNetConfig {
        filters: 8,
        dilations: vec![1, 2, 4],
        ..Default::default()
    });
    let mut broken = fused_preset(FusionMode::Alpha);
    broken.name = "missing-weights".into();
    broken.features.ssl_weights = Some(d.path().join("no-such-model"));
    let out = d.path().join("ablation");
    let req = AblationRequest {
        presets: vec![gru, broken, tim],
        corpus_dirs: vec![common::small_demo().join("emodb")],
        target_corpus: None,
        label_map: None,
        protocol: Some(ser_workbench::corpus::Protocol::SpeakerKFold(2)),
        seeds: vec![3],
        out_dir: out.clone(),
        cache_dir: d.path().join("cache"),
        backend: BackendChoice::Cpu,
    };
    let h = ser_workbench::train::worker::spawn_with(
        move |c, emit| run_ablation(&req, c, emit).map(|_| ()),
        None,
    )
    .expect("spawn");
    let evs: Vec<Event> = h.events.iter().collect();
    let finished = evs
        .iter()
        .filter(|e| matches!(e, Event::State(RunState::Finished)))
        .count();
    assert_eq!(finished, 0, "inner runs must not report the job finished");
    assert!(
        !evs.iter()
            .any(|e| matches!(e, Event::State(RunState::Failed(_))))
    );
    let table = json(&out.join("ablation.json"));
    let rows = table["rows"].as_array().expect("rows");
    let names: Vec<&str> = rows.iter().map(|r| r["preset"].as_str().unwrap()).collect();
    assert_eq!(names, ["tiny-cnn-gru", "missing-weights", "tiny-timnet"]);
    assert!(
        rows[1]["error"]
            .as_str()
            .expect("error")
            .contains("no-such-model")
    );
    for r in [&rows[0], &rows[2]] {
        let run_dir = PathBuf::from(r["runs"][0].as_str().expect("run"));
        let rep = json(&run_dir.join("report.json"));
        let folds = rep["folds"].as_array().expect("folds");
        assert_eq!(folds.len(), 2);
        let mean_ua = folds.iter().map(|f| f["ua"].as_f64().unwrap()).sum::<f64>() / 2.0;
        let mean_p = folds
            .iter()
            .map(|f| f["macro_precision"].as_f64().unwrap())
            .sum::<f64>()
            / 2.0;
        assert!((r["ua"][0].as_f64().unwrap() - mean_ua).abs() < 1e-12);
        assert!((r["macro_precision"][0].as_f64().unwrap() - mean_p).abs() < 1e-12);
        assert_eq!(r["n_folds"], 2);
    }
    // TIM-Net reports its block weights (softmax: sum 1).
    let tim_run = PathBuf::from(rows[2]["runs"][0].as_str().unwrap());
    let lw = json(&tim_run.join("report.json"))["layer_weights"].clone();
    let s: f64 = lw
        .as_array()
        .expect("block weights")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((s - 1.0).abs() < 1e-4);
    let md = std::fs::read_to_string(out.join("ablation.md")).expect("md");
    assert!(md.contains("| tiny-cnn-gru |") && md.contains("failed:"));
    let csv = std::fs::read_to_string(out.join("ablation.csv")).expect("csv");
    assert_eq!(csv.lines().count(), 4);
}
