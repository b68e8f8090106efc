//! TIM-Net-style temporal model: what seed 000's released code actually trained (docs/design.md, "Models": "as its
//! code actually did"). Two directions with separate weights (the sequence and its time reversal),
//! each a 1×1 input projection and a stack of gated causal dilated blocks:
//! `h = Drop(ReLU(BN(CausalConv_d(Drop(ReLU(BN(CausalConv_d(x)))))))`, `out = x · sigmoid(h)`.
//! After every block the forward and reversed outputs are added and averaged over time; the block
//! vectors are combined by learned softmax weights (reported like SSL layer weights) and go to an
//! FC head (128 → 64 → classes).
//!
//! Differences from the Keras code, on purpose: element dropout instead of SpatialDropout1D; the
//! block weights are a softmax over learned logits (the code's `WeightLayer` is an unconstrained
//! linear combination, initialised U(−0.05, 0.05)); burn's BatchNorm defaults (momentum 0.1,
//! ε 1e-5) instead of Keras's (0.99 / 1e-3).

use burn::module::Param;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, PaddingConfig1d};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid, softmax};
use serde::{Deserialize, Serialize};

use super::head::{MlpHead, MlpHeadConfig};

/// Configuration of [`TimNet`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimNetConfig {
    /// Channels of every block (the code: 39).
    pub filters: usize,
    /// Kernel size of the causal convolutions.
    pub kernel_size: usize,
    /// One block per dilation, per stack.
    pub dilations: Vec<usize>,
    /// How many times the dilation schedule repeats.
    pub stacks: usize,
    /// Dropout inside the blocks (the code: 0.1 spatial dropout).
    pub dropout: f64,
    /// Classifier head.
    pub head: MlpHeadConfig,
}

impl Default for TimNetConfig {
    fn default() -> Self {
        Self {
            filters: 39,
            kernel_size: 2,
            dilations: vec![1, 2, 4, 8, 16, 32, 64, 128],
            stacks: 1,
            dropout: 0.1,
            head: MlpHeadConfig::default(),
        }
    }
}

impl TimNetConfig {
    /// Checks what [`TimNetConfig::init`] relies on.
    pub fn validate(&self) -> Result<(), String> {
        if self.filters == 0 || self.kernel_size == 0 || self.stacks == 0 {
            return Err(format!(
                "TIM-Net: filters ({}), kernel_size ({}) and stacks ({}) must be ≥ 1",
                self.filters, self.kernel_size, self.stacks
            ));
        }
        if self.dilations.is_empty() || self.dilations.contains(&0) {
            return Err(format!(
                "TIM-Net: dilations must be a non-empty list of values ≥ 1, got {:?}",
                self.dilations
            ));
        }
        super::check_dropout("TIM-Net: dropout", self.dropout)?;
        self.head.validate()
    }

    /// Builds the module for `n_bins` input bins.
    pub fn init(&self, n_bins: usize, n_classes: usize, device: &Device) -> TimNet {
        let (c, k) = (self.filters, self.kernel_size);
        let schedule: Vec<usize> = (0..self.stacks)
            .flat_map(|_| self.dilations.iter().copied())
            .collect();
        let direction = || -> Vec<GatedBlock> {
            schedule
                .iter()
                .map(|&d| GatedBlock {
                    conv1: causal(c, k, d, device),
                    bn1: BatchNormConfig::new(c).init(device),
                    conv2: causal(c, k, d, device),
                    bn2: BatchNormConfig::new(c).init(device),
                })
                .collect()
        };
        TimNet {
            input: Conv1dConfig::new(n_bins, c, 1).init(device),
            reverse_input: Conv1dConfig::new(n_bins, c, 1).init(device),
            forward_blocks: direction(),
            reverse_blocks: direction(),
            dropout: DropoutConfig::new(self.dropout).init(),
            block_logits: Param::from_tensor(Tensor::zeros([schedule.len()], device)),
            head: self.head.init(c, n_classes, device),
        }
    }
}

fn causal(c: usize, k: usize, d: usize, device: &Device) -> Conv1d {
    Conv1dConfig::new(c, c, k)
        .with_dilation(d)
        .with_padding(PaddingConfig1d::Explicit((k - 1) * d, 0))
        .init(device)
}

/// Two causal dilated convs with BN, ReLU and dropout; the input gated by their sigmoid.
#[derive(Module, Debug)]
pub struct GatedBlock {
    conv1: Conv1d,
    bn1: BatchNorm,
    conv2: Conv1d,
    bn2: BatchNorm,
}

impl GatedBlock {
    fn forward(&self, x: Tensor<3>, dropout: &Dropout) -> Tensor<3> {
        let h = super::ops::dropout(
            dropout,
            relu(self.bn1.forward(self.conv1.forward(x.clone()))),
        );
        let h = super::ops::dropout(dropout, relu(self.bn2.forward(self.conv2.forward(h))));
        x * sigmoid(h)
    }
}

/// The bidirectional gated dilated stack with learned block weights.
#[derive(Module, Debug)]
pub struct TimNet {
    input: Conv1d,
    reverse_input: Conv1d,
    forward_blocks: Vec<GatedBlock>,
    reverse_blocks: Vec<GatedBlock>,
    dropout: Dropout,
    block_logits: Param<Tensor<1>>,
    head: MlpHead,
}

impl TimNet {
    /// # Shapes
    /// - `x`: `[batch, time, bins]` → logits `[batch, classes]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.head.forward(self.embed(x))
    }

    /// Weighted sum of the per-block time averages `[batch, filters]`.
    pub fn embed(&self, x: Tensor<3>) -> Tensor<2> {
        let x = x.swap_dims(1, 2); // [batch, bins, time]
        let mut f = self.input.forward(x.clone()); // [batch, filters, time]
        let mut r = self.reverse_input.forward(x.flip([2]));
        let [batch, c, _] = f.dims();
        let mut pooled = Vec::with_capacity(self.forward_blocks.len());
        for (fb, rb) in self.forward_blocks.iter().zip(&self.reverse_blocks) {
            f = fb.forward(f, &self.dropout);
            r = rb.forward(r, &self.dropout);
            let v = (f.clone() + r.clone()).mean_dim(2).reshape([batch, 1, c]);
            pooled.push(v);
        }
        let stacked = Tensor::cat(pooled, 1); // [batch, blocks, filters]
        let n = stacked.dims()[1];
        let w = softmax(self.block_logits.val(), 0).reshape([1, n, 1]);
        (stacked * w).sum_dim(1).reshape([batch, c])
    }

    /// Logits from an embedding.
    pub fn classify(&self, emb: Tensor<2>) -> Tensor<2> {
        self.head.forward(emb)
    }

    /// The head's logits and hidden activations.
    pub fn head_hidden(&self, emb: Tensor<2>) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        self.head.forward_hidden(emb)
    }

    /// Softmax block weights (one per block, in order).
    pub fn block_weights(&self) -> Vec<f32> {
        crate::tensor::read_f32(softmax(self.block_logits.val(), 0))
    }
}
