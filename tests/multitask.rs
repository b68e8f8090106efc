//! Multi-task fine-tuning (the metadata paper, seed 004): the two-stage schedule really freezes
//! what stage 2 freezes (bit-identical to the end of stage 1) while stage 1 leaves the SER
//! classifier alone, and a multi-task run on an IEMOCAP-layout corpus goes end to end through
//! the engine: per-fold task classes, stages in the curves, per-task test scores, a checkpoint
//! per fold that the run folder alone rebuilds and that reproduces the predictions.

mod common;

use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use ser_workbench::model::multitask::{AuxTask, FoldTasks, MultiTaskSpec, TwoStage};
use ser_workbench::ssl::EncoderConfig;
use ser_workbench::ssl::classifier::{FineTuneConfig, FineTuneHead, SslClassifier};
use ser_workbench::train::data::Example;
use ser_workbench::train::finetune::{FineTuner, audio_batch};
use ser_workbench::train::multitask::batch_loss;
use ser_workbench::train::{Preset, TrainingConfig};

fn fixture(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name)
}

/// Every float parameter's values of a module, in visiting order.
fn values<M: Module>(m: &M) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0.push(ser_workbench::tensor::read_f32(p.val()));
        }
    }
    let mut c = Collect(Vec::new());
    m.visit(&mut c);
    c.0
}

fn bit_identical(a: &[Vec<f32>], b: &[Vec<f32>]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()))
}

fn task(name: &str, weight: f32) -> AuxTask {
    AuxTask {
        task: name.into(),
        weight,
    }
}

/// Stage 1 (auxiliary losses only) trains the encoder's transformer and the auxiliary heads but
/// not the SER classifier; stage 2 (CNN and the first 4 of 5 layers frozen) leaves those
/// bit-identical to their stage-1 values while the last layer and the SER classifier move.
#[test]
fn stage_two_keeps_the_cnn_and_first_four_layers_bit_identical() {
    let device = Device::flex();
    let train_device = device.clone().autodiff();
    train_device.seed(11);
    let mut enc = EncoderConfig::load(&fixture("ssl", "hubert_tiny")).expect("config");
    enc.num_hidden_layers = 5;
    let spec = MultiTaskSpec {
        tasks: vec![task("gender", 1.0), task("asr", 0.5)],
        hidden: 8,
        ser_hidden: 8,
        stages: Some(TwoStage {
            stage1_epochs: 1,
            stage2_freeze_layers: 4,
        }),
        fold_tasks: vec![FoldTasks {
            classes: vec![
                vec!["female".into(), "male".into()],
                vec![" ".into(), "a".into(), "b".into(), "c".into()],
            ],
        }],
        ..MultiTaskSpec::default()
    };
    let ft = FineTuneConfig {
        head: FineTuneHead::MultiTask(spec.clone()),
        ..FineTuneConfig::default()
    };
    let model = SslClassifier::new(&enc, &ft, 3, &train_device).freeze(&ft);
    let training = TrainingConfig {
        learning_rate: 3e-3,
        grad_clip_norm: None,
        ..Default::default()
    };
    let mut tuner = FineTuner::new(model, &training, &ft, None);
    let mut rng = ser_workbench::rng::SplitMix64::new(4);
    let clips: Vec<Vec<f32>> = (0..4)
        .map(|i| {
            (0..2400 + 320 * i)
                .map(|k| (0.2 * rng.normal()) as f32 + (k as f32 * 0.02 * (i + 1) as f32).sin())
                .collect()
        })
        .collect();
    let examples: Vec<Example> = (0..4)
        .map(|i| Example {
            label: i % 3,
            aux: vec![Some(i % 2)],
            chars: Some(vec![1 + i % 3, 2, 4, 1, 3]),
            ..Example::default()
        })
        .collect();
    let refs: Vec<&Example> = examples.iter().collect();
    let labels =
        Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 0], [4]), &train_device);
    let clip_refs: Vec<&[f32]> = clips.iter().map(Vec::as_slice).collect();
    let step = |tuner: &mut FineTuner, stage1: bool| -> Vec<f64> {
        let (x, frames) = audio_batch(&clip_refs, false, tuner.model(), &train_device);
        let out = tuner.model().forward_multitask(x, &frames, None);
        let ser = ser_workbench::train::fit::cross_entropy(out.ser.clone(), labels.clone(), None);
        let b = batch_loss(&spec, &out, ser, &refs, &frames, stage1);
        tuner.backward(b.total);
        tuner.step(1.0);
        b.parts.iter().map(|p| p.0).collect()
    };
    let start = tuner.model().valid();
    let mut stage1_losses = Vec::new();
    for _ in 0..6 {
        stage1_losses.push(step(&mut tuner, true));
    }
    let after1 = tuner.model().valid();
    let mt = |m: &SslClassifier| m.head.multitask.clone().expect("multi-task head");
    // Stage 1: the SER classifier has no loss, so it did not move; the aux heads and the
    // transformer did; the CNN (frozen throughout) did not.
    assert!(bit_identical(
        &values(&mt(&start).fc2),
        &values(&mt(&after1).fc2)
    ));
    assert!(!bit_identical(
        &values(&mt(&start).aux),
        &values(&mt(&after1).aux)
    ));
    assert!(!bit_identical(
        &values(&start.encoder.layers[0]),
        &values(&after1.encoder.layers[0])
    ));
    assert!(bit_identical(
        &values(&start.encoder.conv_layers),
        &values(&after1.encoder.conv_layers)
    ));
    assert!(
        stage1_losses.iter().flatten().all(|l| l.is_finite()),
        "{stage1_losses:?}"
    );
    let first: f64 = stage1_losses[0].iter().sum();
    let last: f64 = stage1_losses[5].iter().sum();
    assert!(
        last < first,
        "auxiliary losses did not fall: {stage1_losses:?}"
    );

    tuner.refreeze(&FineTuneConfig {
        freeze_layers: 4,
        ..ft.clone()
    });
    for _ in 0..4 {
        step(&mut tuner, false);
    }
    let after2 = tuner.model().valid();
    assert!(bit_identical(
        &values(&after1.encoder.conv_layers),
        &values(&after2.encoder.conv_layers)
    ));
    for i in 0..4 {
        assert!(
            bit_identical(
                &values(&after1.encoder.layers[i]),
                &values(&after2.encoder.layers[i])
            ),
            "layer {} changed in stage 2",
            i + 1
        );
    }
    assert!(!bit_identical(
        &values(&after1.encoder.layers[4]),
        &values(&after2.encoder.layers[4])
    ));
    assert!(!bit_identical(
        &values(&mt(&after1).fc2),
        &values(&mt(&after2).fc2)
    ));
}

fn multitask_preset(weights: &Path) -> Preset {
    let text = format!(
        r#"(
    name: "mt_test",
    features: (stream: waveform, normalisation: none, ssl_weights: Some("{}")),
    model: SslFineTune((max_train_secs: 0.25, eval_chunk_secs: 0.5,
        head_learning_rate: Some(2e-3),
        head: MultiTask((
            tasks: [(task: "gender", weight: 0.3), (task: "style", weight: 0.3),
                    (task: "speaker", weight: 0.2), (task: "asr", weight: 0.2)],
            hidden: 16, ser_hidden: 16,
            stages: Some((stage1_epochs: 1, stage2_freeze_layers: 1)),
        )))),
    training: (protocol: "session-loso", label_map: Some("iemocap-4"), epochs: 3, batch_size: 4,
               learning_rate: 1e-3, lr_schedule: Constant, early_stopping_patience: None,
               augment: Some((speed: Some(Choice([0.8, 1.0, 1.2])), probability: 1.0))),
)"#,
        weights.display()
    );
    Preset::from_ron(&text, "mt_test.ron").unwrap_or_else(|e| panic!("{e}"))
}

/// The full method (ARI, co-attention, four tasks, two stages, TDSA) on an IEMOCAP-layout
/// corpus of three sessions, leave-one-session-out.
#[test]
fn multitask_run_on_iemocap_layout_end_to_end() {
    let d = tempfile::tempdir().expect("tmp");
    let corpus = d.path().join("iemocap");
    common::layouts::iemocap(&corpus, 3);
    let run = d.path().join("run");
    let preset = multitask_preset(&fixture("ssl", "hubert_tiny"));
    let (run_dir, logs) = common::run_logged(&common::corpus_request(preset, &corpus, &run));
    let log = logs.join("\n");
    assert!(log.contains("stage 2 from epoch 2"), "{log}");
    assert!(log.contains("speaker-independent"), "{log}");
    // Per-fold classes in the run's preset: speakers from the training sessions only.
    let cfg = ser_workbench::train::run::read_resolved(&run_dir).expect("config");
    let ser_workbench::model::ModelConfig::SslFineTune(ft) = &cfg.preset.model else {
        panic!("fine-tune preset expected");
    };
    let spec = ft.multitask().expect("multi-task");
    assert_eq!(spec.fold_tasks.len(), 3);
    for (k, fold) in spec.fold_tasks.iter().enumerate() {
        let speakers = &fold.classes[2];
        // (Validation speakers are carved out of the training sessions, so they are unseen too.)
        let held_out = format!("Ses{:02}", k + 1);
        assert!(
            speakers.iter().all(|s| !s.starts_with(&held_out)) && speakers.len() >= 2,
            "fold {k}: {speakers:?}"
        );
        assert_eq!(fold.classes[0], vec!["female", "male"]);
        assert_eq!(fold.classes[1].len(), 2, "{:?}", fold.classes[1]);
    }
    // Curves: stage 1 then stage 2, no checkpoint chosen in stage 1, every task's columns.
    let metrics = common::csv_rows(&run_dir.join("metrics.csv"));
    assert!(metrics.iter().any(|r| r["stage"] == "1"));
    assert!(metrics.iter().any(|r| r["stage"] == "2"));
    assert!(
        metrics
            .iter()
            .filter(|r| r["stage"] == "1")
            .all(|r| r["is_best"] == "false")
    );
    for col in [
        "emotion_train_loss",
        "gender_valid_accuracy",
        "style_train_accuracy",
        "speaker_train_loss",
        "asr_valid_cer",
        "asr_valid_wer",
    ] {
        assert!(metrics[0].contains_key(col), "metrics.csv lacks {col}");
    }
    let loss: f64 = metrics[0]["asr_train_loss"].parse().expect("asr loss");
    assert!(loss.is_finite() && loss > 0.0);
    // Test scores per task: gender, style and ASR are scored; the test speakers are unseen.
    let report = ser_workbench::train::run_dir::read_report(&run_dir).expect("report");
    let tasks = report.tasks.clone().expect("tasks section");
    let by = |t: &str| {
        tasks
            .pooled
            .iter()
            .find(|s| s.task == t)
            .unwrap_or_else(|| panic!("{t}"))
            .clone()
    };
    assert!(by("gender").counted > 0 && by("style").counted > 0);
    assert_eq!(by("speaker").counted, 0);
    let asr = by("asr");
    assert!(asr.counted > 0 && asr.chars > 0 && asr.value().is_finite());
    assert_eq!(tasks.folds.len(), 3);
    assert!(tasks.notes.iter().any(|n| n.contains("unseen")));
    let md = std::fs::read_to_string(run_dir.join("report.md")).expect("md");
    assert!(md.contains("## Auxiliary tasks (test part)"), "{md}");
    // An ablation row of this run carries each task's mean ± std over the folds that scored it.
    let row = ser_workbench::train::ablation::row_from_reports(
        &cfg.preset,
        &[(42, run_dir.clone(), report.clone())],
    );
    let row_tasks = row.tasks.clone().expect("tasks in the ablation row");
    let gender: Vec<f64> = tasks.folds.iter().map(|f| f[0].value()).collect();
    let mean = gender.iter().sum::<f64>() / gender.len() as f64;
    assert_eq!(row_tasks[0].0, "gender");
    assert!(
        (row_tasks[0].2.0 - mean).abs() < 1e-12,
        "{row_tasks:?} vs {gender:?}"
    );
    assert!(row_tasks[2].2.0.is_nan(), "speaker: no fold scored it");
    let table = ser_workbench::train::ablation::AblationTable {
        rows: vec![row],
        ..serde_json::from_str(r#"{"corpus":[],"target_corpus":null,"protocol":"session-loso","seeds":[42],"rows":[],"incomplete":false}"#)
            .expect("empty table")
    };
    assert!(table.markdown().contains("auxiliary tasks (test)"));
    assert!(table.markdown().contains("speaker accuracy n/a"));
    // The per-fold checkpoints (their speaker heads differ in size) rebuild from the run folder
    // and reproduce the test predictions.
    let predictor = ser_workbench::train::predict::Predictor::load(&run_dir).expect("predictor");
    let preds = ser_workbench::train::run_dir::read_predictions(&run_dir).expect("preds");
    let mut folds: Vec<String> = preds.iter().map(|p| p.fold.clone()).collect();
    folds.dedup();
    for fold in &folds {
        let p = preds.iter().find(|p| &p.fold == fold).expect("row");
        let k = folds.iter().position(|f| f == fold).expect("fold");
        let per_fold = predictor
            .predict_file_per_fold(Path::new(&p.path))
            .expect("predict");
        let err = ser_workbench::eval::compare::max_abs_diff(&per_fold[k], &p.probabilities);
        assert!(err < 1e-5, "{}: {err}", p.path);
    }
}
