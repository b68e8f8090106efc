//! The optimisers a preset can choose, built by `train::optim::build` exactly as training builds
//! them, against `torch.optim` (two steps on the same weights and gradients; fixture from
//! `tools/make_model_fixtures.py`), and gradient clipping by norm.
//!
//! Tolerance: max abs difference ≤ 1e-6 on weights of magnitude ~1 (f32 on both sides).

use std::path::Path;

use burn::module::Param;
use burn::optim::GradientsParams;
use burn::prelude::*;
use ser_workbench::eval::compare::{assert_close, max_abs_diff};
use ser_workbench::train::{OptimizerKind, TrainingConfig};

/// One weight matrix; the loss `Σ w ⊙ G` has gradient exactly `G`.
#[derive(Module, Debug)]
struct Weights {
    w: Param<Tensor<2>>,
}

fn tensor(v: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), device)
}

/// Runs `build(t)` over the given gradients; returns the weights after each step.
fn run(t: &TrainingConfig, w0: &[f32], shape: [usize; 2], grads: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let device = Device::flex().autodiff();
    let mut model = Weights {
        w: Param::from_tensor(tensor(w0, shape, &device).require_grad()),
    };
    let mut optim = ser_workbench::train::optim::build(t);
    let mut out = Vec::new();
    for g in grads {
        let loss = (model.w.val() * tensor(g, shape, &device)).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(t.learning_rate, model, grads);
        out.push(
            model
                .w
                .val()
                .into_data()
                .convert::<f32>()
                .try_to_vec()
                .expect("f32"),
        );
    }
    out
}

fn f32s(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

#[test]
fn adam_adamw_sgd_steps_match_torch() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/optimiser_steps.json");
    let fx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let w0 = f32s(&fx["w0"]);
    let shape = [3, 4];
    let grads: Vec<Vec<f32>> = fx["grads"]
        .as_array()
        .expect("grads")
        .iter()
        .map(f32s)
        .collect();
    for (name, kind) in [
        ("adam", OptimizerKind::Adam),
        ("adamw", OptimizerKind::AdamW),
        ("sgd", OptimizerKind::Sgd),
    ] {
        let c = &fx["cases"][name];
        let betas = f32s(&c["betas"]);
        let t = TrainingConfig {
            optimizer: kind,
            learning_rate: c["lr"].as_f64().expect("lr"),
            weight_decay: c["weight_decay"].as_f64().expect("wd"),
            adam_betas: (betas[0], betas[1]),
            adam_epsilon: c["eps"].as_f64().expect("eps") as f32,
            sgd_momentum: c["momentum"].as_f64().expect("momentum"),
            grad_clip_norm: None,
            ..TrainingConfig::default()
        };
        let got = run(&t, &w0, shape, &grads);
        for (k, want) in c["after_step"]
            .as_array()
            .expect("steps")
            .iter()
            .enumerate()
        {
            assert_close(
                &format!("{name} step {}", k + 1),
                &got[k],
                &f32s(want),
                1e-6,
            );
        }
    }
}

/// burn's own SGD momentum default (dampening 0.1) would fail the torch comparison above; this
/// pins the hand value of PyTorch's rule: v₂ = μ·g₁ + g₂ (no dampening), θ₂ = θ₁ − lr·v₂.
#[test]
fn sgd_momentum_has_no_dampening() {
    let t = TrainingConfig {
        optimizer: OptimizerKind::Sgd,
        learning_rate: 1.0,
        weight_decay: 0.0,
        sgd_momentum: 0.5,
        grad_clip_norm: None,
        ..TrainingConfig::default()
    };
    let got = run(&t, &[0.0], [1, 1], &[vec![1.0], vec![1.0]]);
    // step 1: v = 1, θ = −1; step 2: v = 0.5·1 + 1 = 1.5, θ = −2.5 (with dampening 0.1: −2.4).
    assert_eq!(got, vec![vec![-1.0], vec![-2.5]]);
}

/// Clipping by norm (per parameter tensor): with plain SGD at lr 1 the update is the clipped
/// gradient, whose norm is the threshold when the gradient is longer and the gradient itself
/// when it is shorter.
#[test]
fn gradient_clipping_limits_the_update_norm() {
    let t = TrainingConfig {
        optimizer: OptimizerKind::Sgd,
        learning_rate: 1.0,
        weight_decay: 0.0,
        sgd_momentum: 0.0,
        grad_clip_norm: Some(1.0),
        ..TrainingConfig::default()
    };
    let w0 = [0.0f32; 4];
    // ‖g‖ = 5 → clipped to norm 1, same direction: [0.6, 0.8, 0, 0].
    let long = run(&t, &w0, [2, 2], &[vec![3.0, 4.0, 0.0, 0.0]]);
    let err = max_abs_diff(&long[0], &[-0.6, -0.8, 0.0, 0.0]);
    assert!(err < 1e-6, "{:?}", long[0]);
    // ‖g‖ = 0.5 → unchanged.
    let short = run(&t, &w0, [2, 2], &[vec![0.3, 0.4, 0.0, 0.0]]);
    let err = max_abs_diff(&short[0], &[-0.3, -0.4, 0.0, 0.0]);
    assert!(err < 1e-6, "{:?}", short[0]);
    // Without clipping the long gradient is applied whole.
    let free = TrainingConfig {
        grad_clip_norm: None,
        ..t
    };
    let whole = run(&free, &w0, [2, 2], &[vec![3.0, 4.0, 0.0, 0.0]]);
    assert_eq!(whole[0], vec![-3.0, -4.0, 0.0, 0.0]);
}
