//! Numeric parity of every model block with a PyTorch reference (fixtures written by
//! `tools/make_model_fixtures.py`, provenance in `tests/fixtures/models/provenance.json`).
//!
//! Each case loads fixed random weights (burn module paths, every tensor used, none missing) into
//! the burn module built from the same configuration, runs it in inference mode (dropout off,
//! BatchNorm on running statistics) on the Flex CPU backend and compares with PyTorch's output.
//! Tolerance: max abs difference ≤ 1e-4 (f32 on both sides), NaN fails. The measured
//! differences are printed with `--nocapture` and listed in the issue notes.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use ser_workbench::eval::compare::assert_close;
use ser_workbench::features::npy;
use ser_workbench::model::cnn::CnnConfig;
use ser_workbench::model::cnn_gru::CnnGruConfig;
use ser_workbench::model::dtcn::DtcnConfig;
use ser_workbench::model::dtpm::{SegmentPool, pyramid_pool};
use ser_workbench::model::fusion::{self, FusionMode};
use ser_workbench::model::head::MlpHeadConfig;
use ser_workbench::model::label_query::LabelQueryConfig;
use ser_workbench::model::layer_weighted::LayerWeightedConfig;
use ser_workbench::model::pooled_fc::PooledFcConfig;
use ser_workbench::model::resnet::ResNetConfig;
use ser_workbench::model::temporal::TemporalStackConfig;
use ser_workbench::model::timnet::TimNetConfig;

const TOL: f32 = 1e-4;

fn dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models")
        .join(case)
}

fn array(case: &str, name: &str) -> (Vec<usize>, Vec<f32>) {
    npy::read(&dir(case).join(format!("{name}.npy"))).unwrap_or_else(|e| panic!("{case}: {e}"))
}

fn input<const D: usize>(case: &str, device: &Device) -> Tensor<D> {
    let (shape, v) = array(case, "input");
    let shape: [usize; D] = shape.try_into().expect("rank");
    Tensor::from_data(TensorData::new(v, shape), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec().expect("f32")
}

/// Compares `got` with the fixture array `name` (shape and values).
fn check<const D: usize>(case: &str, name: &str, got: Tensor<D>) -> f32 {
    let (shape, want) = array(case, name);
    assert_eq!(got.dims().to_vec(), shape, "{case}/{name}: shape");
    assert_close(&format!("{case}/{name}"), &values(got), &want, TOL)
}

/// Loads the case's weights; every tensor of the file is applied and none of the module's is
/// missing.
fn load<M: Module>(mut m: M, case: &str) -> M {
    let mut store = SafetensorsStore::from_file(dir(case).join("weights.safetensors"));
    let r = m
        .load_from(&mut store)
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    assert!(
        r.missing.is_empty() && r.unused.is_empty() && r.errors.is_empty(),
        "{case}: missing {:?}, unused {:?}, errors {:?}",
        r.missing,
        r.unused,
        r.errors
    );
    assert!(!r.applied.is_empty(), "{case}: nothing applied");
    m
}

fn head_config() -> MlpHeadConfig {
    MlpHeadConfig {
        hidden: [12, 8],
        dropout: 0.3,
        ..Default::default()
    }
}

#[test]
fn mlp_head_matches_pytorch() {
    let device = Device::flex();
    let head = load(head_config().init(10, 4, &device), "head");
    let (logits, h1, h2) = head.forward_hidden(input("head", &device));
    check("head", "output", logits);
    check("head", "hidden1", h1);
    check("head", "hidden2", h2);
}

#[test]
fn fusion_alpha_concat_gated_match_pytorch() {
    let device = Device::flex();
    for (mode, case) in [
        (FusionMode::Alpha, "fusion_alpha"),
        (FusionMode::Concat, "fusion_concat"),
        (FusionMode::Gated, "fusion_gated"),
    ] {
        let f = load(fusion::init(mode, 9, Some(4), 6, &device), case);
        if mode == FusionMode::Alpha {
            // sigmoid(0.9): far from 0.5, so swapped streams cannot pass.
            let a = f.alpha().expect("alpha");
            assert!((a - 0.710_949_5).abs() < 1e-6, "{a}");
        }
        let (out, gate) = f.forward_with_gate(input(case, &device));
        check(case, "output", out);
        match gate {
            Some(g) => {
                check(case, "gate", g);
            }
            None => assert_ne!(mode, FusionMode::Gated),
        }
    }
}

#[test]
fn dtcn_residual_dilated_blocks_match_pytorch() {
    let device = Device::flex();
    let cfg = DtcnConfig {
        kernel_size: 3,
        dilations: vec![1, 2, 4],
        dropout: 0.5,
    };
    let m = load(cfg.init(5, &device), "dtcn");
    check("dtcn", "output", m.forward(input("dtcn", &device)));
}

#[test]
fn dtpm_mean_and_max_pyramids_match_pytorch() {
    let device = Device::flex();
    let x: Tensor<3> = input("dtpm", &device);
    for (pool, name) in [(SegmentPool::Mean, "mean"), (SegmentPool::Max, "max")] {
        for levels in [1, 3] {
            check(
                "dtpm",
                &format!("output_{name}_{levels}"),
                pyramid_pool(x.clone(), levels, pool),
            );
        }
    }
}

fn temporal_config(pool: SegmentPool, attention_pooling: bool) -> TemporalStackConfig {
    TemporalStackConfig {
        channels: 8,
        dtcn: DtcnConfig {
            kernel_size: 3,
            dilations: vec![1, 2],
            dropout: 0.1,
        },
        pyramid_levels: 3,
        pyramid_pool: pool,
        attention_heads: 2,
        ffn_dim: 16,
        attention_dropout: 0.1,
        head: head_config(),
        fusion: FusionMode::Alpha,
        attention_pooling,
        // The reference pools the whole fixed-length input, as the paper does.
        pool_valid_frames: false,
    }
}

/// One stream (1×1 input conv), max pyramid pooling, MHSA block, attention pooling, head.
#[test]
fn temporal_stack_single_stream_with_attention_pooling_matches_pytorch() {
    let case = "temporal_logmel_maxpool_attnpool";
    let device = Device::flex();
    let m = load(
        temporal_config(SegmentPool::Max, true).init(10, None, 3, &device),
        case,
    );
    let x: Tensor<3> = input(case, &device);
    check(case, "embedding", m.embed(x.clone()));
    check(case, "output", m.forward(x));
}

/// α fusion of two streams (4 log-mel bins + 6 SSL bins), mean pyramid, MHSA, flatten, head.
#[test]
fn temporal_stack_alpha_fusion_matches_pytorch() {
    let case = "temporal_alpha_fusion_flatten";
    let device = Device::flex();
    let m = load(
        temporal_config(SegmentPool::Mean, false).init(10, Some(4), 3, &device),
        case,
    );
    let x: Tensor<3> = input(case, &device);
    check(case, "embedding", m.embed(x.clone()));
    check(case, "output", m.forward(x));
}

/// Causal padding, time reversal, gating, softmax block weights.
#[test]
fn timnet_matches_pytorch() {
    let device = Device::flex();
    let cfg = TimNetConfig {
        filters: 6,
        kernel_size: 2,
        dilations: vec![1, 2, 4],
        stacks: 1,
        dropout: 0.1,
        head: head_config(),
    };
    let m = load(cfg.init(7, 3, &device), "timnet");
    let x: Tensor<3> = input("timnet", &device);
    check("timnet", "embedding", m.embed(x.clone()));
    check("timnet", "output", m.forward(x));
}

#[test]
fn logmel_cnn_matches_pytorch() {
    let device = Device::flex();
    let cfg = CnnConfig {
        channels: vec![4, 6],
        dropout: 0.3,
    };
    let m = load(cfg.init(3, &device), "cnn");
    let x: Tensor<3> = input("cnn", &device);
    check("cnn", "embedding", m.embed(x.clone()));
    check("cnn", "output", m.forward(x));
}

#[test]
fn cnn_gru_matches_pytorch() {
    let device = Device::flex();
    let cfg = CnnGruConfig {
        channels: vec![4],
        gru_hidden: 5,
        dropout: 0.3,
    };
    let m = load(cfg.init(8, 3, &device), "cnn_gru");
    let x: Tensor<3> = input("cnn_gru", &device);
    check("cnn_gru", "embedding", m.embed(x.clone()));
    check("cnn_gru", "output", m.forward(x));
}

#[test]
fn pooled_fc_gated_fusion_attention_pooling_matches_pytorch() {
    let case = "pooled_fc_gated_attention";
    let device = Device::flex();
    let cfg = PooledFcConfig {
        channels: 6,
        fusion: FusionMode::Gated,
        attention_pooling: true,
        mean_max_pooling: false,
        head: head_config(),
    };
    let m = load(cfg.init(9, Some(4), 0, 3, &device), case);
    let x: Tensor<3> = input(case, &device);
    let (_, w, _) = m.embed_traced(x.clone());
    check(case, "pool_weights", w);
    check(case, "output", m.forward(x));
}

#[test]
fn layer_weighted_sum_with_and_without_layer_norm_matches_pytorch() {
    let case = "layer_weighted";
    let device = Device::flex();
    for ln in [false, true] {
        let cfg = LayerWeightedConfig {
            layer_norm: ln,
            hidden: 8,
            dropout: 0.2,
            ..Default::default()
        };
        let m = load(cfg.init(4, 6, 3, &device), case);
        check(
            case,
            &format!("output_ln{}", u8::from(ln)),
            m.forward(input(case, &device)),
        );
    }
}

/// ResNet (SpeechMLC's baseline structure: 7×7/2 stem, max-pool, basic blocks with 1×1/2
/// shortcuts, global average, linear) against torchvision-style PyTorch code
/// (`tools/make_resnet_fixture.py`), stages [2, 1, 1] of width 4 on a [2, 37, 20] input.
#[test]
fn resnet_matches_pytorch() {
    let device = Device::flex();
    let cfg = ResNetConfig {
        blocks: vec![2, 1, 1],
        width: 4,
        dropout: 0.0,
    };
    let m = load(cfg.init(3, &device), "resnet");
    let x: Tensor<3> = input("resnet", &device);
    let emb = m.embed(x);
    let e1 = check("resnet", "embedding", emb.clone());
    let e2 = check("resnet", "output", m.classify(emb));
    eprintln!("resnet: embedding max abs diff {e1:e}, output {e2:e}");
}

/// SpeechMLC's label-query decoder against a PyTorch reference written from Query2Label's
/// decoder (`tools/make_label_query_fixture.py`): 2 post-norm layers, d = 8, 2 heads, 3 labels,
/// with the second item's last 4 frames padding (masked out of the attention).
#[test]
fn label_query_decoder_matches_pytorch() {
    let device = Device::flex();
    let cfg = LabelQueryConfig {
        d_model: 8,
        layers: 2,
        heads: 2,
        ffn_dim: 16,
        dropout: 0.1,
        self_attention: false,
    };
    let m = load(cfg.init(6, 3, &device), "label_query");
    let x: Tensor<3> = input("label_query", &device);
    let emb = m.embed(x);
    let e1 = check("label_query", "embedding", emb.clone());
    let e2 = check("label_query", "output", m.classify(emb));
    eprintln!("label_query: embedding max abs diff {e1:e}, output {e2:e}");
}

/// The metadata paper's multi-task head (`tools/make_multitask_fixture.py`): ARI over 4 layers,
/// two auxiliary classification heads, a per-frame CTC head, co-attention and the SER
/// classifier; the second item has 2 padding frames. The ablation case: s3prl's weighted sum and
/// no co-attention.
#[test]
fn multitask_head_matches_pytorch() {
    use ser_workbench::model::multitask::{LayerIntegration, MultiTaskHeadConfig};
    let device = Device::flex();
    for (case, integration, co_attention) in [
        ("multitask", LayerIntegration::Ari, true),
        ("multitask_ablation", LayerIntegration::WeightedSum, false),
    ] {
        let cfg = MultiTaskHeadConfig {
            layers: 4,
            dim: 8,
            hidden: 5,
            ser_hidden: 6,
            classes: 4,
            aux_classes: vec![2, 3],
            ctc_vocab: Some(7),
            integration,
            co_attention,
            dropout: 0.1,
        };
        cfg.validate().expect("config");
        let m = load(cfg.init(&device), case);
        let x: Tensor<4> = input(case, &device);
        let [n, b, t, d] = x.dims();
        let layers: Vec<Tensor<3>> = (0..n)
            .map(|i| x.clone().narrow(0, i, 1).reshape([b, t, d]))
            .collect();
        let (mshape, mv) = array(case, "mask");
        let mask = Tensor::<2>::from_data(TensorData::new(mv, [mshape[0], mshape[1]]), &device);
        let out = m.forward(&layers, mask);
        let mut worst = check(case, "ari", out.features);
        worst = worst.max(check(case, "ser", out.ser));
        for (k, a) in out.aux.into_iter().enumerate() {
            worst = worst.max(check(case, &format!("aux{k}"), a));
        }
        worst = worst.max(check(case, "ctc", out.ctc.expect("ctc head")));
        eprintln!("{case}: max abs diff {worst:e}");
    }
}
