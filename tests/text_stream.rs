//! The text stream against transformers: tokenizer ids (WordPiece and byte-level BPE) and every
//! hidden state of BERT-, RoBERTa- and DistilBERT-layout encoders on a padded batch, plus the
//! mean and [CLS] pooled vectors (tiny random checkpoints from tools/make_text_fixtures.py).

use std::path::{Path, PathBuf};

use burn::prelude::*;
use ser_workbench::eval::compare::max_abs_diff;
use ser_workbench::text::{TextPooling, TextStream};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/text")
        .join(name)
}

fn flat(v: &serde_json::Value) -> Vec<f32> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(flat).collect(),
        serde_json::Value::Number(n) => vec![n.as_f64().expect("number") as f32],
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn tokenizers_and_hidden_states_match_transformers() {
    let device = Device::flex();
    for name in ["bert_tiny", "roberta_tiny", "distilbert_tiny"] {
        let dir = fixture(name);
        let reference: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("reference.json")).expect("reference"),
        )
        .expect("json");
        let stream = TextStream::load(&dir, &device).unwrap_or_else(|e| panic!("{name}: {e}"));
        let texts: Vec<String> = reference["texts"]
            .as_array()
            .expect("texts")
            .iter()
            .map(|t| t.as_str().expect("str").to_string())
            .collect();
        let mut ids = Vec::new();
        let mut mask = Vec::new();
        for (t, want) in texts.iter().zip(reference["ids"].as_array().expect("ids")) {
            let (i, m) = stream.tokenizer.encode(t).expect("encode");
            let want: Vec<u32> = want
                .as_array()
                .expect("row")
                .iter()
                .map(|v| v.as_u64().expect("id") as u32)
                .collect();
            assert_eq!(i, want, "{name}: token ids of '{t}'");
            ids.push(i);
            mask.push(m);
        }
        let states = stream.encoder.forward(&ids, &mask, &device);
        let want_states = reference["hidden_states"].as_array().expect("states");
        assert_eq!(states.len(), want_states.len(), "{name}: hidden states");
        let mut worst = 0.0f32;
        for (k, (got, want)) in states.into_iter().zip(want_states).enumerate() {
            let got = ser_workbench::tensor::read_f32(got);
            let want = flat(want);
            let err = max_abs_diff(&got, &want);
            assert!(err < 1e-4, "{name}: hidden state {k} max abs error {err}");
            worst = worst.max(err);
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        for (pooling, key) in [(TextPooling::Mean, "mean"), (TextPooling::Cls, "cls")] {
            let got: Vec<f32> = stream
                .embed(&refs, pooling)
                .expect("embed")
                .into_iter()
                .flatten()
                .collect();
            let err = max_abs_diff(&got, &flat(&reference[key]));
            assert!(err < 1e-4, "{name}: {key} pooling max abs error {err}");
            worst = worst.max(err);
        }
        // Mean and max over the real tokens of transformers' last hidden state, concatenated
        // (the distilled audio-textual paper's pooling), computed here from the reference.
        let last = want_states
            .last()
            .expect("last state")
            .as_array()
            .expect("rows");
        let mut want_mm = Vec::new();
        for (row, real) in last.iter().zip(&ids) {
            let tokens: Vec<Vec<f32>> = row
                .as_array()
                .expect("tokens")
                .iter()
                .take(real.len())
                .map(flat)
                .collect();
            let d = tokens[0].len();
            let mean: Vec<f32> = (0..d)
                .map(|k| tokens.iter().map(|t| t[k]).sum::<f32>() / tokens.len() as f32)
                .collect();
            let max: Vec<f32> = (0..d)
                .map(|k| {
                    tokens
                        .iter()
                        .map(|t| t[k])
                        .fold(f32::NEG_INFINITY, f32::max)
                })
                .collect();
            want_mm.extend(mean);
            want_mm.extend(max);
        }
        let got: Vec<f32> = stream
            .embed(&refs, TextPooling::MeanMax)
            .expect("embed")
            .into_iter()
            .flatten()
            .collect();
        let err = max_abs_diff(&got, &want_mm);
        assert!(err < 1e-4, "{name}: mean+max pooling max abs error {err}");
        worst = worst.max(err);
        eprintln!("{name}: ids exact, hidden states and pooled vectors max abs error {worst:e}");
    }
}

/// A BERT folder with only `vocab.txt` (no tokenizer.json, as TinyBERT ships on the hub) gets
/// the same ids as the fixture's tokenizer.json, which transformers wrote.
#[test]
fn vocab_txt_gives_the_wordpiece_ids_of_transformers() {
    let dir = fixture("bert_tiny");
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("reference.json")).expect("reference"),
    )
    .expect("json");
    let tok: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("tokenizer.json")).expect("tokenizer"),
    )
    .expect("json");
    let vocab = tok["model"]["vocab"].as_object().expect("vocab");
    let mut by_id: Vec<(u64, &String)> = vocab
        .iter()
        .map(|(t, id)| (id.as_u64().expect("id"), t))
        .collect();
    by_id.sort();
    let d = tempfile::tempdir().expect("tmp");
    let lines: Vec<&str> = by_id.iter().map(|(_, t)| t.as_str()).collect();
    std::fs::write(d.path().join("vocab.txt"), lines.join("\n") + "\n").expect("vocab");
    let t = ser_workbench::text::TextTokenizer::load(d.path(), 64).expect("vocab.txt tokenizer");
    for (text, want) in reference["texts"]
        .as_array()
        .expect("texts")
        .iter()
        .zip(reference["ids"].as_array().expect("ids"))
    {
        let want: Vec<u32> = want
            .as_array()
            .expect("row")
            .iter()
            .map(|v| v.as_u64().expect("id") as u32)
            .collect();
        let (ids, _) = t.encode(text.as_str().expect("text")).expect("encode");
        assert_eq!(ids, want, "{text}");
    }
    // Unknown words split into pieces or become [UNK], as BertTokenizerFast does.
    let (ids, _) = t.encode("Gladness xyz").expect("encode");
    assert_eq!(ids.len(), 5, "[CLS] glad ##ness [UNK] [SEP]: {ids:?}");
}

#[test]
fn missing_tokenizer_and_foreign_configs_are_clear_errors() {
    let device = Device::flex();
    let d = tempfile::tempdir().expect("tmp");
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture("bert_tiny").join(f), d.path().join(f)).expect("copy");
    }
    let err = TextStream::load(d.path(), &device)
        .err()
        .expect("no tokenizer");
    assert!(err.contains("tokenizer.json"), "{err}");
    let ssl = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/finetune/hubert_cls_tiny");
    let err = TextStream::load(&ssl, &device)
        .err()
        .expect("not a text encoder");
    assert!(err.contains("not a BERT-family"), "{err}");
}

/// `features --stream text` prints the tokens and writes the pooled vector as .npy: the same
/// vector transformers gives for that text in the padded batch.
#[test]
fn features_cli_embeds_a_text() {
    let dir = fixture("bert_tiny");
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("reference.json")).expect("reference"),
    )
    .expect("json");
    let text = reference["texts"][0].as_str().expect("text");
    let d = tempfile::tempdir().expect("tmp");
    let out_npy = d.path().join("t.npy");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ser-workbench"))
        .args(["features", "--stream", "text", "--weights"])
        .arg(&dir)
        .args(["--text", text, "--out"])
        .arg(&out_npy)
        .output()
        .expect("features");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("12 tokens"), "{stdout}");
    let (shape, v) = ser_workbench::features::npy::read(&out_npy).expect("npy");
    assert_eq!(shape, vec![32]);
    let err = max_abs_diff(&v, &flat(&reference["mean"][0]));
    assert!(err < 1e-4, "{err}");
}
