//! The text stream beside the audio (the distilled audio-textual paper's figure 1b): transcripts
//! encoded by a BERT-family model (a tiny random BERT fixture here), pooled and concatenated with
//! the pooled audio before the head; frozen on a log-mel model, fine-tuned with an SSL encoder.
//! The generated MSP-Podcast-layout corpus writes transcripts whose words lean with valence, so
//! text must help valence.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use burn::module::Module;
use burn::prelude::*;
use ser_workbench::corpus::demo_dimensional;
use ser_workbench::train::dim_report::read_predictions;
use ser_workbench::train::predict::Predictor;
use ser_workbench::train::run_dir::read_report;
use ser_workbench::train::{Preset, RunRequest};

mod common;

static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(|e| e.into_inner())
}

fn corpora() -> &'static demo_dimensional::DimensionalDemo {
    static D: OnceLock<demo_dimensional::DimensionalDemo> = OnceLock::new();
    D.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ser-wb-test-text-{}", std::process::id()));
        demo_dimensional::generate(&dir, 21, 8, 1, 12).expect("dimensional demo")
    })
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn bert_tiny() -> PathBuf {
    fixture("text/bert_tiny")
}

fn request(preset: Preset, corpus: &Path, out: &Path) -> RunRequest {
    common::corpus_request(preset, corpus, out)
}

fn run(req: &RunRequest) -> (PathBuf, Vec<String>) {
    common::run_logged(req)
}

fn logmel_preset(text: bool) -> Preset {
    let mut p = Preset::builtin()
        .into_iter()
        .find(|p| p.name == "seed003-logmel-avd")
        .expect("builtin preset");
    p.training.epochs = 25;
    p.training.protocol = "speaker-kfold:4".parse().expect("protocol");
    if text {
        p.text = Some(ser_workbench::text::TextFusionConfig {
            weights: bert_tiny(),
            pooling: ser_workbench::text::TextPooling::MeanMax,
            fine_tune: false,
            learning_rate: None,
            transcripts: None,
        });
    }
    p
}

fn cli() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ser-workbench"));
    c.env("SER_WORKBENCH_BACKEND", "cpu");
    c
}

/// Frozen text beside log-mel on the MSP-Podcast layout, with transcripts (a `file,text` CSV
/// named by the preset, replacing the corpus's) whose words say the annotated valence: the text
/// run predicts valence far better than the same model without text (the generator's voices
/// barely carry valence), a prediction moves with the transcript it is given, and
/// `predict --text` / `--transcripts` read transcripts from the command line (an audio-only run
/// refuses them).
#[test]
fn frozen_text_beside_logmel_helps_valence() {
    let _g = serial();
    let d = corpora();
    let tmp = tempfile::tempdir().expect("tmp");
    let manifest = ser_workbench::corpus::load(&d.msp_podcast_dir, None).expect("manifest");
    let mut csv = String::from("file,text\n");
    for u in manifest.utterances.iter().chain(&manifest.uncategorised) {
        // 1–7 → 0–6 positive words, the rest negative.
        let k = (u.valence.expect("valence") - 1.0).round().clamp(0.0, 6.0) as usize;
        let words: Vec<&str> = (0..6)
            .map(|i| if i < k { "wonderful" } else { "terrible" })
            .collect();
        csv.push_str(&format!(
            "{},{}\n",
            u.path.file_name().expect("name").to_string_lossy(),
            words.join(" ")
        ));
    }
    let csv_path = tmp.path().join("valence_words.csv");
    std::fs::write(&csv_path, csv).expect("csv");
    let (audio_dir, _) = run(&request(
        logmel_preset(false),
        &d.msp_podcast_dir,
        &tmp.path().join("audio"),
    ));
    let mut with_text = logmel_preset(true);
    with_text.text.as_mut().expect("text").transcripts = Some(csv_path.clone());
    let (text_dir, logs) = run(&request(
        with_text,
        &d.msp_podcast_dir,
        &tmp.path().join("text"),
    ));
    assert!(
        logs.iter().any(|l| l.contains(&format!(
            "{} utterances received text",
            manifest.utterances.len() + manifest.uncategorised.len()
        ))),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.contains("text: Bert encoder") && l.contains("→ 64 values")),
        "{logs:?}"
    );
    let ccc = |dir: &Path| {
        let r = read_report(dir).expect("report");
        let d = r.dimensional.expect("dimensional");
        d.pooled.iter().map(|p| p.ccc).collect::<Vec<f64>>()
    };
    let (audio, text) = (ccc(&audio_dir), ccc(&text_dir));
    eprintln!("pooled CCC (A, V, D): audio only {audio:?}; audio + text {text:?}");
    assert!(
        text[1] > audio[1] + 0.2,
        "valence: audio {} vs audio+text {}",
        audio[1],
        text[1]
    );
    assert!(text[0] > 0.4, "arousal still learnt: {}", text[0]);

    // The text reaches the head: the same audio with other words predicts another valence.
    let mut p = Predictor::load(&text_dir).expect("predictor");
    assert!(p.reads_text());
    let dims = ["arousal", "valence", "dominance"].map(String::from);
    let rows = read_predictions(&text_dir, &dims).expect("rows");
    let wav = PathBuf::from(&rows[0].path);
    p.set_transcript("wonderful glad wonderful glad wonderful glad")
        .expect("text");
    let happy = p.predict_file(&wav).expect("predict");
    p.set_transcript("terrible awful terrible awful terrible awful")
        .expect("text");
    let sad = p.predict_file(&wav).expect("predict");
    assert!(
        happy[1] > sad[1] + 0.05,
        "valence with positive words {} vs negative words {}",
        happy[1],
        sad[1]
    );

    // The command line: one text for every file, or a file,text CSV.
    let out = cli()
        .args(["predict", "--json", "--run"])
        .arg(&text_dir)
        .args(["--text", "wonderful glad wonderful glad wonderful glad"])
        .arg(&wav)
        .output()
        .expect("predict");
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    let cli_valence = v["dimensions"]["valence"].as_f64().expect("valence");
    assert!((cli_valence - happy[1] as f64).abs() < 1e-5, "{v}");
    let csv = tmp.path().join("t.csv");
    std::fs::write(
        &csv,
        format!(
            "file,text\n{},terrible awful terrible awful terrible awful\n",
            wav.file_name().expect("name").to_string_lossy()
        ),
    )
    .expect("csv");
    let out = cli()
        .args(["predict", "--json", "--run"])
        .arg(&text_dir)
        .arg("--transcripts")
        .arg(&csv)
        .arg(&wav)
        .output()
        .expect("predict");
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    assert!((v["dimensions"]["valence"].as_f64().expect("v") - sad[1] as f64).abs() < 1e-5);
    let out = cli()
        .args(["predict", "--run"])
        .arg(&audio_dir)
        .args(["--text", "hello"])
        .arg(&wav)
        .output()
        .expect("predict");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("audio-only"));
}

/// The paper's fine-tuned setting on a tiny HuBERT and the tiny BERT: the text encoder trains
/// with the audio encoder and the head (its saved weights moved from the checkpoint's), a
/// `train --transcripts` CSV replaces missing transcripts (counted in the log), and the saved run
/// rebuilds with its text encoder to predict.
#[test]
fn fine_tuned_text_encoder_trains_with_the_model() {
    let _g = serial();
    let d = corpora();
    let tmp = tempfile::tempdir().expect("tmp");
    // A copy of the corpus without its Transcripts/ folder: texts come from a CSV for half.
    let corpus = tmp.path().join("msp");
    copy_dir(&d.msp_podcast_dir, &corpus);
    std::fs::remove_dir_all(corpus.join("Transcripts")).expect("rm transcripts");
    let manifest = ser_workbench::corpus::load(&corpus, None).expect("manifest");
    let all: Vec<_> = manifest
        .utterances
        .iter()
        .chain(&manifest.uncategorised)
        .collect();
    let with_text = all.len() / 2;
    let mut csv = String::from("file,text\n");
    for u in &all[..with_text] {
        csv.push_str(&format!(
            "{},that was wonderful\n",
            u.path.file_name().expect("name").to_string_lossy()
        ));
    }
    let csv_path = tmp.path().join("transcripts.csv");
    std::fs::write(&csv_path, csv).expect("csv");
    let preset_path = tmp.path().join("p.ron");
    std::fs::write(
        &preset_path,
        format!(
            r#"(
    name: "text_ft_test",
    features: (stream: waveform, normalisation: none, ssl_weights: Some("{}")),
    model: SslFineTune((head: AvgMaxTanh(hidden: 16), projector_size: Some(16),
                        max_train_secs: 1.0, eval_chunk_secs: 2.0)),
    training: (protocol: "speaker-kfold:2", epochs: 2, batch_size: 8, learning_rate: 1e-3,
               select_by: ValidCcc, early_stopping_patience: None),
    task: Dimensional(()),
    text: Some((weights: "{}", fine_tune: true, learning_rate: Some(1e-2))),
)"#,
            fixture("finetune/hubert_cls_tiny").display(),
            bert_tiny().display()
        ),
    )
    .expect("preset");
    let out_dir = tmp.path().join("run");
    let out = cli()
        .args(["train", "--preset"])
        .arg(&preset_path)
        .arg("--corpus")
        .arg(&corpus)
        .arg("--transcripts")
        .arg(&csv_path)
        .arg("--out")
        .arg(&out_dir)
        .arg("--cache")
        .arg(tmp.path().join("cache"))
        .output()
        .expect("train");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{with_text} utterances received text")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{} of {} utterances have no transcript",
            all.len() - with_text,
            all.len()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("fine-tuning the text encoder"), "{stdout}");
    let report = read_report(&out_dir).expect("report");
    assert!(report.dimensional.is_some());

    // The saved text encoder moved from the pretrained one.
    let (pretrained, tc) =
        ser_workbench::text::TextEncoder::load(&bert_tiny(), &Device::flex()).expect("bert");
    let cfg = ser_workbench::train::run::read_resolved(&out_dir).expect("resolved");
    let text_cfg = cfg.preset.text.as_ref().expect("text in the saved preset");
    assert_eq!(text_cfg.transcripts.as_deref(), Some(csv_path.as_path()));
    let model = cfg
        .preset
        .model
        .init(
            ser_workbench::model::InputShape {
                frames: cfg.frames,
                bins: cfg.bins,
                split: None,
                text: text_cfg.width(&tc),
            },
            3,
            &Device::flex(),
        )
        .with_text_encoder(
            ser_workbench::text::TextEncoder::new(&tc, &Device::flex()),
            text_cfg.pooling,
        );
    let bytes = std::fs::read(out_dir.join("fold1.bpk")).expect("checkpoint");
    let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .expect("record");
    let model = model.try_load_record(record).expect("load");
    let ser_workbench::model::SerModel::SslClassifier(m) = model else {
        panic!("an SSL classifier")
    };
    let trained = m.text_encoder.expect("a text encoder in the checkpoint");
    let w = |e: &ser_workbench::text::TextEncoder| {
        ser_workbench::tensor::read_f32(e.word_embeddings.weight.val())
    };
    let moved = w(&trained)
        .iter()
        .zip(w(&pretrained))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(moved > 1e-4, "text embeddings moved by {moved}");

    // Prediction rebuilds the run with its text encoder; the words change the output.
    let mut p = Predictor::load(&out_dir).expect("predictor");
    let wav = &all[0].path;
    p.set_transcript("that was wonderful").expect("text");
    let a = p.predict_file(wav).expect("predict");
    p.set_transcript("").expect("text");
    let b = p.predict_file(wav).expect("predict");
    assert!(
        a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-6),
        "{a:?} {b:?}"
    );
}

/// Presets that cannot work with text are refused with the reason.
#[test]
fn text_stream_presets_are_checked() {
    let base = logmel_preset(true);
    let mut cnn = Preset::builtin()
        .into_iter()
        .find(|p| p.name == "demo")
        .expect("demo preset");
    cnn.text = base.text.clone();
    let err = cnn.validate().expect_err("cnn with text");
    assert!(err.contains("does not take a text vector"), "{err}");
    let mut ft = base.clone();
    ft.text.as_mut().expect("text").fine_tune = true;
    let err = ft.validate().expect_err("fine-tuned text on PooledFc");
    assert!(err.contains("needs the SslFineTune model"), "{err}");
    // The builtin audio-textual preset reads and names its text encoder.
    let p = Preset::builtin()
        .into_iter()
        .find(|p| p.name == "seed003-distilhubert-tinybert-avd")
        .expect("audio-textual preset");
    let t = p.text.as_ref().expect("text");
    assert!(t.fine_tune && t.weights.ends_with("tinybert"));
    // `train --transcripts` on an audio-only preset says why it cannot apply.
    let tmp = tempfile::tempdir().expect("tmp");
    let out = cli()
        .args(["train", "--preset"])
        .arg(fixture("../../presets/seed003_logmel_avd.ron"))
        .arg("--corpus")
        .arg(tmp.path())
        .arg("--transcripts")
        .arg(tmp.path().join("t.csv"))
        .output()
        .expect("train");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has no text stream"),
        "{out:?}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let dst = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).expect("copy");
        }
    }
}
