//! Fine-tuning SSL encoders end to end: the sequence-classification model against transformers
//! (tools/make_finetune_fixtures.py), frozen parts that really stay frozen, a fine-tuning run
//! through the engine (schedule, step-wise evaluation, runtime and size, a checkpoint that
//! predicts), stop within a batch, and the encoder on wgpu where an adapter exists.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use ser_workbench::eval::compare::max_abs_diff;
use ser_workbench::features::npy;
use ser_workbench::ssl::classifier::{FineTuneConfig, SslClassifier};
use ser_workbench::text::TextBatch;
use ser_workbench::train::finetune::FineTuner;
use ser_workbench::train::{Control, Event, Preset, RunState, spawn_training};

static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(|e| e.into_inner())
}

fn fixture(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name)
}

/// transformers' `*ForSequenceClassification` logits of fixed input (eval mode, no mask) are
/// reproduced by [`SslClassifier::forward_chunked`] from the same checkpoint, whose projector,
/// classifier (and layer weights) are loaded: HuBERT, UniSpeech (`unispeech.` keys, normalised
/// input) and UniSpeech-SAT (stable layer norm, weighted layer sum, `unispeech_sat.` keys).
#[test]
fn classification_heads_match_transformers() {
    let device = Device::flex();
    for name in [
        "hubert_cls_tiny",
        "unispeech_cls_tiny",
        "unispeech_sat_cls_tiny",
    ] {
        let dir = fixture("finetune", name);
        let (x_shape, x) = npy::read(&dir.join("input.npy")).expect("input");
        let (l_shape, want) = npy::read(&dir.join("logits.npy")).expect("logits");
        let (model, resolved, built) =
            SslClassifier::load(&dir, &FineTuneConfig::default(), l_shape[1], &device)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            built.head_loaded,
            "{name}: head not loaded ({:?})",
            built.head_note
        );
        assert!(resolved.encoder.is_some());
        let input = Tensor::<2>::from_data(TensorData::new(x, [x_shape[0], x_shape[1]]), &device);
        let got = ser_workbench::tensor::read_f32(model.forward_chunked(input, &TextBatch::None));
        let err = max_abs_diff(&got, &want);
        eprintln!("{name}: logits max abs error {err:e}");
        assert!(
            err <= 1e-4,
            "{name}: logits max abs error {err} ({got:?} vs {want:?})"
        );
    }
}

/// A class count that differs from the saved head gives a new head and says why.
#[test]
fn a_saved_head_of_another_shape_is_replaced_with_a_note() {
    let dir = fixture("finetune", "hubert_cls_tiny");
    let (_, _, built) =
        SslClassifier::load(&dir, &FineTuneConfig::default(), 5, &Device::flex()).expect("load");
    assert!(!built.head_loaded);
    let note = built.head_note.expect("a note");
    assert!(
        note.contains("5 classes") && note.contains("model.safetensors"),
        "{note}"
    );
}

/// Every float parameter's values, by parameter path order.
fn params(m: &SslClassifier) -> Vec<(bool, Vec<f32>)> {
    struct Collect(Vec<(bool, Vec<f32>)>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0.push((
                p.is_require_grad(),
                ser_workbench::tensor::read_f32(p.val()),
            ));
        }
    }
    let mut c = Collect(Vec::new());
    m.visit(&mut c);
    c.0
}

/// Fine-tuning a few steps with the conv feature encoder and the first transformer layer frozen:
/// every frozen parameter is bit-identical afterwards, every trainable one changed, and the loss
/// on the (fixed) batch fell.
#[test]
fn frozen_parts_stay_bit_identical_and_the_loss_falls() {
    let device = Device::flex();
    let train_device = device.clone().autodiff();
    train_device.seed(5);
    let ft = FineTuneConfig {
        freeze_layers: 1,
        ..FineTuneConfig::default()
    };
    let dir = fixture("ssl", "hubert_tiny");
    let (model, _, built) = SslClassifier::load(&dir, &ft, 3, &train_device).expect("load");
    assert!(
        built.trainable < built.params && built.trainable > 0,
        "{built:?}"
    );
    let before = params(&model);
    let n_frozen = before.iter().filter(|(g, _)| !g).count();
    assert!(n_frozen > 0, "nothing frozen");
    let training = ser_workbench::train::TrainingConfig {
        learning_rate: 3e-3,
        grad_clip_norm: None,
        ..Default::default()
    };
    let mut tuner = FineTuner::new(model, &training, &ft, None);
    let mut rng = ser_workbench::rng::SplitMix64::new(9);
    let clips: Vec<Vec<f32>> = (0..4)
        .map(|i| {
            (0..2400 + 400 * i)
                .map(|k| {
                    (0.3 * rng.normal()) as f32 + (k as f32 * 0.01 * (i + 1) as f32).sin() * 0.2
                })
                .collect()
        })
        .collect();
    let refs: Vec<&[f32]> = clips.iter().map(Vec::as_slice).collect();
    let labels =
        Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 1], [4]), &train_device);
    let mut losses = Vec::new();
    for _ in 0..12 {
        let (x, frames) =
            ser_workbench::train::finetune::audio_batch(&refs, false, tuner.model(), &train_device);
        // Time masking on, so that the mask embedding trains too.
        let augment = ser_workbench::ssl::wav2vec2::TrainAugment {
            layer_drop: 0.0,
            time_mask: Some(ser_workbench::ssl::wav2vec2::TimeMask {
                prob: 0.2,
                length: 4,
                min_masks: 1,
            }),
            rng: &mut rng,
        };
        let logits = tuner
            .model()
            .forward_batch(x, &frames, &TextBatch::None, Some(augment));
        let loss = ser_workbench::train::fit::cross_entropy(logits, labels.clone(), None);
        losses.push(loss.clone().into_scalar::<f32>());
        tuner.backward(loss);
        tuner.step(1.0);
    }
    let after = params(tuner.model());
    assert_eq!(before.len(), after.len());
    for (i, ((g, a), (g2, b))) in before.iter().zip(&after).enumerate() {
        assert_eq!(g, g2, "parameter {i} changed its frozen flag");
        if *g {
            assert!(a != b, "trainable parameter {i} did not change");
        } else {
            assert!(
                a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "frozen parameter {i} changed"
            );
        }
    }
    eprintln!("losses {losses:?}");
    assert!(
        losses.last().expect("loss") < &(0.7 * losses[0]),
        "loss did not fall: {losses:?}"
    );
}

fn fine_tune_preset(weights: &Path) -> Preset {
    let text = format!(
        r#"(
    name: "ft_test",
    features: (stream: waveform, normalisation: none, ssl_weights: Some("{}")),
    model: SslFineTune((max_train_secs: 0.25, eval_chunk_secs: 0.5, grad_accumulation: 2,
                        projector_size: Some(16), head_learning_rate: Some(2e-3))),
    training: (protocol: "speaker-kfold:2", epochs: 2, batch_size: 4, learning_rate: 1e-3,
               lr_schedule: WarmupLinear((steps: Some(2))), eval_every_steps: Some(3),
               early_stopping_patience: None),
)"#,
        weights.display()
    );
    Preset::from_ron(&text, "ft_test.ron").unwrap_or_else(|e| panic!("{e}"))
}

/// A fine-tuning run through the engine: `steps.csv` holds the rate of the warm-up/linear
/// schedule at every step (encoder and head rates separately), `metrics.csv` has an evaluation
/// every 3 steps plus each epoch's end, the report states runtime and size, and the saved
/// checkpoints reproduce `predictions.csv` through the predictor.
#[test]
fn fine_tune_run_end_to_end() {
    let _g = serial();
    let d = tempfile::tempdir().expect("tmp");
    let run = d.path().join("run");
    let preset = fine_tune_preset(&fixture("ssl", "hubert_tiny"));
    let h = spawn_training(
        common::demo_request(preset, &run, &d.path().join("cache")),
        None,
    )
    .expect("spawn");
    let evs: Vec<Event> = h.events.iter().collect();
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::State(RunState::Finished))),
        "{:?}",
        evs.iter()
            .filter_map(|e| if let Event::Log(l) = e { Some(l) } else { None })
            .collect::<Vec<_>>()
    );
    // Schedule: 2 warm-up steps, then linear decay to 0 over the fold's steps.
    let steps = common::csv_rows(&run.join("steps.csv"));
    let folds: Vec<String> = {
        let mut f: Vec<String> = steps.iter().map(|r| r["fold"].clone()).collect();
        f.dedup();
        f
    };
    assert_eq!(folds.len(), 2);
    for fold in &folds {
        let rows: Vec<_> = steps.iter().filter(|r| &r["fold"] == fold).collect();
        let total = rows.len();
        assert!(total >= 4, "{total} steps");
        for (i, r) in rows.iter().enumerate() {
            let f = if i < 2 {
                i as f64 / 2.0
            } else {
                (total - i) as f64 / (total - 2) as f64
            };
            let head: f64 = r["learning_rate"].parse().expect("lr");
            let enc: f64 = r["encoder_learning_rate"].parse().expect("lr");
            assert!(
                (head - 2e-3 * f).abs() < 1e-12,
                "step {i}: head {head} vs {}",
                2e-3 * f
            );
            assert!(
                (enc - 1e-3 * f).abs() < 1e-12,
                "step {i}: encoder {enc} vs {}",
                1e-3 * f
            );
            assert_eq!(r["step"], (i + 1).to_string());
        }
    }
    // Evaluations every 3 steps and at each epoch's end.
    let metrics = common::csv_rows(&run.join("metrics.csv"));
    let fold1: Vec<usize> = metrics
        .iter()
        .filter(|r| r["fold"] == folds[0])
        .map(|r| r["step"].parse().expect("step"))
        .collect();
    assert!(fold1.contains(&3) && fold1.contains(&6), "{fold1:?}");
    assert!(fold1.windows(2).all(|w| w[0] < w[1]), "{fold1:?}");
    // Runtime and size.
    let report = ser_workbench::train::run_dir::read_report(&run).expect("report");
    let cost = report.cost.expect("cost");
    assert!(
        cost.params > cost.trainable_params && cost.trainable_params > 0,
        "{cost:?}"
    );
    assert!(
        cost.checkpoint_bytes as usize >= 4 * cost.params,
        "{cost:?}"
    );
    assert!(
        cost.test_audio_secs > 10.0 && cost.inference_secs > 0.0,
        "{cost:?}"
    );
    let md = std::fs::read_to_string(run.join("report.md")).expect("md");
    assert!(md.contains("Runtime and model size"), "{md}");
    // The checkpoints (architecture from the run folder alone) reproduce the test predictions.
    let predictor = ser_workbench::train::predict::Predictor::load(&run).expect("predictor");
    let preds = ser_workbench::train::run_dir::read_predictions(&run).expect("preds");
    let folds_of: Vec<String> = {
        let mut f: Vec<String> = preds.iter().map(|p| p.fold.clone()).collect();
        f.dedup();
        f
    };
    for p in preds.iter().take(3) {
        let k = folds_of.iter().position(|f| f == &p.fold).expect("fold");
        let per_fold = predictor
            .predict_file_per_fold(Path::new(&p.path))
            .expect("predict");
        let err = max_abs_diff(&per_fold[k], &p.probabilities);
        assert!(err < 1e-5, "{}: {err}", p.path);
    }
}

/// Stop during fine-tuning ends the run within one micro-batch; finished work is kept.
#[test]
fn stop_is_honoured_within_a_batch_during_fine_tuning() {
    let _g = serial();
    let d = tempfile::tempdir().expect("tmp");
    let run = d.path().join("run");
    let mut preset = fine_tune_preset(&fixture("ssl", "hubert_tiny"));
    preset.training.epochs = 50;
    let h = spawn_training(
        common::demo_request(preset, &run, &d.path().join("cache")),
        None,
    )
    .expect("spawn");
    let (mut sent, mut after, mut stopped) = (false, 0, false);
    while let Ok(ev) = h.events.recv_timeout(Duration::from_secs(120)) {
        match ev {
            Event::Step { .. } if !sent => {
                h.send(Control::Stop);
                sent = true;
            }
            Event::Step { .. } => after += 1,
            Event::State(RunState::Stopped) => stopped = true,
            Event::State(RunState::Failed(m)) => panic!("failed: {m}"),
            _ => {}
        }
        if stopped {
            break;
        }
    }
    assert!(
        stopped && after == 0,
        "stopped {stopped}, {after} steps after the stop"
    );
}

/// The wgpu device, initialised once per process (the runtime cannot be set up twice; a second
/// `init` fails, which would make a concurrent test skip itself).
fn wgpu_device() -> Option<Device> {
    static DEVICE: std::sync::OnceLock<Option<Device>> = std::sync::OnceLock::new();
    DEVICE
        .get_or_init(
            || match std::panic::catch_unwind(|| Device::wgpu_options().init()) {
                Ok(Ok(d)) => Some(d),
                _ => None,
            },
        )
        .clone()
}

/// One wgpu test at a time (a software adapter such as lavapipe shares the CPU).
fn wgpu_serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The encoder's hidden states on wgpu match Flex within 1e-4 (where a wgpu adapter exists, a
/// software one such as lavapipe included; otherwise the test says it was skipped).
#[test]
fn encoder_on_wgpu_matches_flex() {
    let _g = wgpu_serial();
    let Some(gpu) = wgpu_device() else {
        eprintln!("SKIPPED: no wgpu adapter on this machine");
        return;
    };
    let dir = fixture("ssl", "hubert_tiny");
    let (x_shape, x) = npy::read(&dir.join("input.npy")).expect("input");
    let run = |device: &Device| {
        let (enc, _, _) = ser_workbench::ssl::load_encoder(&dir, device).expect("load");
        let input =
            Tensor::<2>::from_data(TensorData::new(x.clone(), [x_shape[0], x_shape[1]]), device);
        ser_workbench::tensor::read_f32(enc.forward(input, None).hidden_states)
    };
    let a = run(&Device::flex());
    let b = run(&gpu);
    let err = max_abs_diff(&a, &b);
    eprintln!("wgpu vs Flex hidden states: max abs error {err:e}");
    assert!(err <= 1e-4, "{err}");
}

/// One fine-tuning step (forward, backward, AdamW update; conv frozen, time masking off) on
/// wgpu gives the same loss and updated head as on Flex (where a wgpu adapter exists).
#[test]
fn fine_tuning_step_on_wgpu_matches_flex() {
    let _g = wgpu_serial();
    let Some(gpu) = wgpu_device() else {
        eprintln!("SKIPPED: no wgpu adapter on this machine");
        return;
    };
    let dir = fixture("ssl", "hubert_tiny");
    let step = |device: &Device| {
        let train = device.clone().autodiff();
        let ft = FineTuneConfig::default();
        let (mut model, _, _) = SslClassifier::load(&dir, &ft, 3, &train).expect("load");
        // The same head on both devices (random init differs between backends).
        let (w, b) = (
            Tensor::<2>::from_data(
                TensorData::new(
                    (0..32 * 16)
                        .map(|i| ((i % 7) as f32 - 3.0) * 0.05)
                        .collect::<Vec<_>>(),
                    [32, 16],
                ),
                &train,
            ),
            Tensor::<2>::from_data(
                TensorData::new(
                    (0..16 * 3)
                        .map(|i| ((i % 5) as f32 - 2.0) * 0.1)
                        .collect::<Vec<_>>(),
                    [16, 3],
                ),
                &train,
            ),
        );
        model.head.projector.weight = Param::from_tensor(w);
        model.head.classifier.weight = Param::from_tensor(b);
        model.head.projector.bias = None;
        model.head.classifier.bias = None;
        let training = ser_workbench::train::TrainingConfig {
            learning_rate: 1e-3,
            grad_clip_norm: None,
            ..Default::default()
        };
        let mut tuner = FineTuner::new(model, &training, &ft, None);
        let clips: Vec<Vec<f32>> = (0..2)
            .map(|i| {
                (0..2000 + 400 * i)
                    .map(|k| ((k * (i + 3)) as f32 * 0.01).sin() * 0.3)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f32]> = clips.iter().map(Vec::as_slice).collect();
        let (x, frames) =
            ser_workbench::train::finetune::audio_batch(&refs, false, tuner.model(), &train);
        let logits = tuner
            .model()
            .forward_batch(x, &frames, &TextBatch::None, None);
        let y = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 2], [2]), &train);
        let loss = ser_workbench::train::fit::cross_entropy(logits, y, None);
        let l = loss.clone().into_scalar::<f32>();
        tuner.backward(loss);
        tuner.step(1.0);
        let m = tuner.model();
        let mut after = ser_workbench::tensor::read_f32(m.head.projector.weight.val());
        after.extend(ser_workbench::tensor::read_f32(
            m.encoder.layers[1].feed_forward.output_dense.weight.val(),
        ));
        (l, after)
    };
    let (l_cpu, p_cpu) = step(&Device::flex());
    let (l_gpu, p_gpu) = step(&gpu);
    let err = max_abs_diff(&p_cpu, &p_gpu);
    eprintln!(
        "wgpu vs Flex fine-tuning step: loss {l_gpu} vs {l_cpu}, updated weights max abs {err:e}"
    );
    assert!((l_cpu - l_gpu).abs() <= 1e-4, "loss {l_gpu} vs {l_cpu}");
    assert!(err <= 1e-4, "{err}");
}

/// A checkpoint whose weights file is damaged fails the run at its first fold with a message
/// naming the file; the run folder keeps that message (`error.txt`), and the runs list reports
/// the run as failed with it.
#[test]
fn a_damaged_checkpoint_fails_the_run_and_the_folder_says_why() {
    let d = tempfile::tempdir().expect("tmp");
    let weights = d.path().join("broken_model");
    std::fs::create_dir_all(&weights).expect("mkdir");
    for f in ["config.json", "preprocessor_config.json"] {
        std::fs::copy(fixture("ssl", "hubert_tiny").join(f), weights.join(f)).expect("copy");
    }
    std::fs::write(weights.join("model.safetensors"), b"not a safetensors file").expect("write");
    let run = d.path().join("run");
    let req = common::demo_request(fine_tune_preset(&weights), &run, &d.path().join("cache"));
    let (_tx, rx) = crossbeam_channel::unbounded();
    let controller = ser_workbench::train::control::Controller::new(rx);
    let err = ser_workbench::train::run::execute(&req, &controller, &|_| {})
        .expect_err("a damaged checkpoint must fail");
    assert!(err.contains("model.safetensors"), "{err}");
    let kept = std::fs::read_to_string(run.join("error.txt")).expect("error.txt");
    assert_eq!(kept, err);
    let s = ser_workbench::train::runs::summary(&run).expect("summary");
    assert_eq!(
        s.status,
        ser_workbench::train::runs::RunStatus::Failed(err.trim().into())
    );
    assert!(run.join("config.ron").is_file(), "the header stays");
}
