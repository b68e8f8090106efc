//! The optimiser of a run, built from its [`TrainingConfig`] so that every field is honoured.
//!
//! Defaults follow PyTorch (`torch.optim`), so a preset means what a PyTorch user expects; burn's
//! own defaults differ in two places, both overridden here:
//! - Adam/AdamW ε: PyTorch 1e-8, burn 1e-5;
//! - SGD momentum dampening: PyTorch 0, burn 0.1 (burn's `MomentumConfig` default would scale
//!   every gradient after the first by 0.9).
//!
//! Weight decay: Adam adds `wd·θ` to the gradient (L2, as `torch.optim.Adam`); AdamW decays the
//! weights directly, `θ ← θ − lr·wd·θ` (as `torch.optim.AdamW`); SGD adds `wd·θ` to the gradient
//! before momentum (as `torch.optim.SGD`). Gradient clipping by norm is per parameter tensor
//! (burn's semantics; `torch.nn.utils.clip_grad_norm_` clips the norm over all parameters). The
//! one-step parity with PyTorch is tested in `tests/optim_parity.rs`.

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{
    AdamConfig, AdamWConfig, ModuleOptimizer, SgdConfig, decay::WeightDecayConfig,
    momentum::MomentumConfig,
};

use super::preset::{OptimizerKind, TrainingConfig};

/// The optimiser `t` describes (kind, learning-rate-independent settings, clipping).
pub fn build(t: &TrainingConfig) -> ModuleOptimizer {
    let clip = t.grad_clip_norm.map(GradientClippingConfig::Norm);
    let l2 = (t.weight_decay > 0.0).then(|| WeightDecayConfig::new(t.weight_decay as f32));
    let (beta_1, beta_2) = t.adam_betas;
    match t.optimizer {
        OptimizerKind::Adam => AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(t.adam_epsilon)
            .with_weight_decay(l2)
            .with_grad_clipping(clip)
            .init(),
        OptimizerKind::AdamW => AdamWConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(t.adam_epsilon)
            .with_weight_decay(t.weight_decay as f32)
            .with_grad_clipping(clip)
            .init(),
        OptimizerKind::Sgd => SgdConfig::new()
            .with_momentum((t.sgd_momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(t.sgd_momentum)
                    .with_dampening(0.0)
                    .with_nesterov(false)
            }))
            .with_weight_decay(l2)
            .with_gradient_clipping(clip)
            .init(),
    }
}
