//! Parity of the burn wav2vec2-family encoder with transformers on tiny random-init models
//! (tools/make_ssl_fixtures.py; provenance in tests/fixtures/ssl/provenance.json). Every hidden
//! state and the conv features must match within 1e-4 max abs (f32 on both sides).

use std::path::Path;

use burn::prelude::*;
use ser_workbench::features::npy;
use ser_workbench::ssl::load_encoder;

const TOL: f32 = 1e-4;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ssl")
        .join(name)
}

/// A tensor's values as f32.
fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec().expect("vec")
}

use ser_workbench::eval::compare::max_abs_diff as max_abs;

fn check(name: &str, expect_spelling: &str) {
    let dir = fixture(name);
    let device = Device::flex();
    let (enc, cfg, report) = load_encoder(&dir, &device).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.unused.is_empty(),
        "{name}: unused keys {:?}",
        report.unused
    );
    assert_eq!(report.weight_norm_keys, expect_spelling, "{name}");
    let (xs, x) = npy::read(&dir.join("input.npy")).expect("input");
    let input = Tensor::<2>::from_data(TensorData::new(x, [xs[0], xs[1]]), &device);
    // transformers' model does not normalise; the feature extractor does. Compare the graph.
    let mut enc = enc;
    enc.do_normalize = false;
    let out = enc.forward(input, None);
    let (hs_shape, hs_ref) = npy::read(&dir.join("hidden_states.npy")).expect("hidden");
    assert_eq!(
        out.hidden_states.dims().to_vec(),
        hs_shape,
        "{name}: hidden-state shape"
    );
    assert_eq!(hs_shape[0], cfg.n_hidden_states());
    let hs = values(out.hidden_states);
    let per_layer = hs_shape[1] * hs_shape[2] * hs_shape[3];
    for l in 0..hs_shape[0] {
        let a = &hs[l * per_layer..(l + 1) * per_layer];
        let b = &hs_ref[l * per_layer..(l + 1) * per_layer];
        let err = max_abs(a, b);
        eprintln!("{name}: hidden state {l} max abs error {err:e}");
        assert!(err <= TOL, "{name}: hidden state {l} max abs error {err}");
    }
    let (_, last_ref) = npy::read(&dir.join("last_hidden_state.npy")).expect("last");
    let last = values(out.last_hidden_state);
    let err = max_abs(&last, &last_ref);
    assert!(err <= TOL, "{name}: last_hidden_state max abs error {err}");
    let (fs, f_ref) = npy::read(&dir.join("features.npy")).expect("features");
    assert_eq!(out.features.dims().to_vec(), fs);
    let f = values(out.features);
    let err = max_abs(&f, &f_ref);
    assert!(err <= TOL, "{name}: conv features max abs error {err}");
}

#[test]
fn hubert_new_weight_norm_keys() {
    check("hubert_tiny", "parametrizations.weight.original0/original1");
}

#[test]
fn hubert_old_weight_norm_keys_with_prefix() {
    check("hubert_tiny_oldkeys", "weight_g/weight_v");
}

/// WavLM-base graph with the gated relative position bias, on 959 frames (distances beyond the
/// exact range and beyond max_distance).
#[test]
fn wavlm_gated_relative_position_bias() {
    check("wavlm_tiny", "parametrizations.weight.original0/original1");
    // The bias matters: without it the last layer is far from the reference.
    let dir = fixture("wavlm_tiny");
    let device = Device::flex();
    let (mut enc, _, _) = load_encoder(&dir, &device).expect("load");
    enc.rel_attn_embed = None;
    let (xs, x) = npy::read(&dir.join("input.npy")).expect("input");
    let out = enc.forward(
        Tensor::<2>::from_data(TensorData::new(x, [xs[0], xs[1]]), &device),
        None,
    );
    let (_, last_ref) = npy::read(&dir.join("last_hidden_state.npy")).expect("last");
    let last = values(out.last_hidden_state);
    let err = max_abs(&last, &last_ref);
    assert!(err > 1e-2, "the position bias changed nothing ({err})");
}

/// `pytorch_model.bin` (torch.save zip + pickle, read without Python) gives the same hidden
/// states; integer buffers in it are skipped.
#[test]
fn pytorch_model_bin_checkpoint() {
    check("hubert_tiny_bin", "weight_g/weight_v");
}

#[test]
fn corrupt_pytorch_checkpoint_names_the_file() {
    let d = tempfile::tempdir().expect("tmp");
    for f in ["config.json", "preprocessor_config.json"] {
        std::fs::copy(fixture("hubert_tiny_bin").join(f), d.path().join(f)).expect("copy");
    }
    std::fs::write(
        d.path().join("pytorch_model.bin"),
        b"PK\x03\x04 not really a zip",
    )
    .expect("w");
    let err = match load_encoder(d.path(), &Device::flex()) {
        Err(e) => e,
        Ok(_) => panic!("a corrupt checkpoint loaded"),
    };
    assert!(err.contains("pytorch_model.bin"), "{err}");
}

#[test]
fn distilhubert_without_projection_layer_norm() {
    check(
        "distilhubert_tiny",
        "parametrizations.weight.original0/original1",
    );
}

#[test]
fn wav2vec2_stable_layer_norm() {
    check(
        "wav2vec2_stable_tiny",
        "parametrizations.weight.original0/original1",
    );
}

#[test]
fn missing_and_misshaped_tensors_name_the_key_and_shapes() {
    let d = tempfile::tempdir().expect("tmp");
    for f in ["config.json", "preprocessor_config.json"] {
        std::fs::copy(fixture("hubert_tiny").join(f), d.path().join(f)).expect("cp");
    }
    // A config asking for a wider FFN than the weights have.
    let cfg = std::fs::read_to_string(d.path().join("config.json"))
        .expect("r")
        .replace("\"intermediate_size\": 64", "\"intermediate_size\": 65");
    std::fs::write(d.path().join("config.json"), cfg).expect("w");
    std::fs::copy(
        fixture("hubert_tiny").join("model.safetensors"),
        d.path().join("model.safetensors"),
    )
    .expect("cp");
    let err = load_encoder(d.path(), &Device::flex())
        .map(|_| ())
        .expect_err("must fail");
    assert!(
        err.contains("intermediate_dense.weight")
            && err.contains("[64, 32]")
            && err.contains("[65, 32]"),
        "{err}"
    );
    // No weights at all.
    std::fs::remove_file(d.path().join("model.safetensors")).expect("rm");
    let err = load_encoder(d.path(), &Device::flex())
        .map(|_| ())
        .expect_err("must fail");
    assert!(err.contains("no model.safetensors"), "{err}");
}

#[test]
fn do_normalize_gives_zero_mean_unit_variance() {
    let (mut enc, _, _) =
        load_encoder(&fixture("wav2vec2_stable_tiny"), &Device::flex()).expect("load");
    assert!(
        enc.do_normalize,
        "preprocessor_config.json says do_normalize"
    );
    enc.do_normalize = true;
    let x = Tensor::<2>::from_data(
        TensorData::new(
            (0..1000)
                .map(|i| 3.0 + (i as f32 * 0.1).sin())
                .collect::<Vec<_>>(),
            [1, 1000],
        ),
        &Device::flex(),
    );
    let y: Vec<f32> = enc
        .preprocess(x)
        .into_data()
        .convert::<f32>()
        .try_to_vec()
        .expect("v");
    let m = y.iter().sum::<f32>() / y.len() as f32;
    let v = y.iter().map(|a| (a - m).powi(2)).sum::<f32>() / y.len() as f32;
    assert!(m.abs() < 1e-4 && (v - 1.0).abs() < 1e-3, "mean {m} var {v}");
}

/// Long inputs are encoded in overlapping chunks: the frame count equals the one-pass count, and
/// for a layer-norm model hidden state 0 (local: conv stack with per-frame LayerNorm + positional
/// conv, whose reach is far below the context) is the same as in one pass. Deeper layers attend
/// within their chunk only, by design. (Group-norm models normalise each channel over the whole
/// input, so their chunks see per-chunk statistics — one reason chunks are 20 s long.)
#[test]
fn chunked_encoding_stitches_frames() {
    use ser_workbench::ssl::extract::{Chunking, encode_utterance};
    let device = Device::flex();
    let (mut enc, cfg, _) = load_encoder(&fixture("wav2vec2_stable_tiny"), &device).expect("load");
    enc.do_normalize = false;
    let x: Vec<f32> = (0..20_000)
        .map(|i| ((i as f32) * 0.031).sin() * 0.2 + ((i * 7919 % 1000) as f32 / 5000.0))
        .collect();
    let whole = encode_utterance(
        &enc,
        &cfg.conv_kernel,
        &cfg.conv_stride,
        &x,
        Chunking {
            hop_samples: 100_000,
            context_samples: 2000,
        },
        &device,
    );
    let chunked = encode_utterance(
        &enc,
        &cfg.conv_kernel,
        &cfg.conv_stride,
        &x,
        Chunking {
            hop_samples: 4000,
            context_samples: 1000,
        },
        &device,
    );
    assert_eq!(whole.0, chunked.0, "shape [layers, frames, dim]");
    let (t, d) = (whole.0[1], whole.0[2]);
    let err = max_abs(&whole.1[..t * d], &chunked.1[..t * d]);
    assert!(err < 1e-4, "layer 0 differs by {err}");
}

/// Batched encoding with zero padding (masked out of the first layer's GroupNorm statistics,
/// the positional convolution and the attention) gives every utterance the same hidden states as
/// encoding it alone, within the parity tolerance: group-norm (HuBERT, WavLM) and layer-norm
/// (wav2vec2 large-style) models.
#[test]
fn masked_batches_match_single_utterances() {
    use ser_workbench::ssl::extract::{Chunking, encode_batched, encode_utterance};
    let device = Device::flex();
    for model in ["hubert_tiny", "wavlm_tiny", "wav2vec2_stable_tiny"] {
        let (enc, cfg, _) = load_encoder(&fixture(model), &device).expect("load");
        let utts: Vec<Vec<f32>> = [3000usize, 4000, 2200, 4000]
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                (0..n)
                    .map(|i| ((i as f32) * (0.013 + k as f32 * 0.007)).sin() * 0.3)
                    .collect()
            })
            .collect();
        let batched = encode_batched(&enc, &cfg, &utts, 3, &device);
        for (k, (bs, bv)) in batched.iter().enumerate() {
            let (ss, sv) = encode_utterance(
                &enc,
                &cfg.conv_kernel,
                &cfg.conv_stride,
                &utts[k],
                Chunking::default_for(cfg.total_stride()),
                &device,
            );
            assert_eq!(bs, &ss, "{model}, utterance {k}: shape");
            let err = max_abs(bv, &sv);
            assert!(
                err <= 1e-4,
                "{model}, utterance {k}: batched vs single max abs error {err}"
            );
        }
    }
}
