//! Dilated temporal CNN (DTCN): `F_{t+1} = ReLU(BN(Conv1D_d(F_t))) + F_t` with a configurable
//! kernel and dilation schedule (docs/design.md, "Models").

use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, PaddingConfig1d};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::check_dropout;
use super::fused::bn_relu_dropout_add;
use super::ops::conv1d_rows;

/// Configuration of [`Dtcn`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DtcnConfig {
    /// Kernel size; odd, so that "same" padding is symmetric (an even size is rejected when the
    /// preset is read, see [`DtcnConfig::validate`]).
    pub kernel_size: usize,
    /// One residual block per dilation.
    pub dilations: Vec<usize>,
    /// Dropout after each block.
    pub dropout: f64,
}

impl Default for DtcnConfig {
    fn default() -> Self {
        Self {
            kernel_size: 3,
            dilations: vec![1, 2, 4, 8],
            dropout: 0.1,
        }
    }
}

impl DtcnConfig {
    /// Checks what [`DtcnConfig::init`] relies on.
    pub fn validate(&self) -> Result<(), String> {
        if self.kernel_size == 0 || self.kernel_size.is_multiple_of(2) {
            return Err(format!(
                "dtcn.kernel_size must be odd (\"same\" padding is symmetric), got {}",
                self.kernel_size
            ));
        }
        if let Some(d) = self.dilations.iter().find(|&&d| d == 0) {
            return Err(format!("dtcn.dilations must be ≥ 1, got {d}"));
        }
        check_dropout("dtcn.dropout", self.dropout)
    }

    /// Builds a stack operating on `channels` channels (see [`DtcnConfig::validate`]).
    pub fn init(&self, channels: usize, device: &Device) -> Dtcn {
        let k = self.kernel_size;
        let blocks = self
            .dilations
            .iter()
            .map(|&d| {
                let pad = d * (k - 1) / 2;
                DtcnBlock {
                    conv: Conv1dConfig::new(channels, channels, k)
                        .with_dilation(d)
                        .with_padding(PaddingConfig1d::Explicit(pad, pad))
                        .init(device),
                    bn: BatchNormConfig::new(channels).init(device),
                }
            })
            .collect();
        Dtcn {
            blocks,
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

/// One residual dilated block.
#[derive(Module, Debug)]
pub struct DtcnBlock {
    conv: Conv1d,
    bn: BatchNorm,
}

/// The DTCN stack.
#[derive(Module, Debug)]
pub struct Dtcn {
    blocks: Vec<DtcnBlock>,
    dropout: Dropout,
}

impl Dtcn {
    /// # Shapes
    /// - `x`: `[batch, channels, time]` → same shape
    ///
    /// Inside, the activations stay time-major rows `[batch · time, channels]`
    /// (docs/perf/cpu.md, "bench epoch"): the convolution reads row ranges, BatchNorm's
    /// statistics are column means, and nothing is transposed between blocks; on the CPU each
    /// block is two custom operations (the conv, then BatchNorm + ReLU + dropout + residual;
    /// `model::fused`). An input that is itself a transposed view of time-major data (the
    /// fusion's output) enters without a copy.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, channels, time] = x.dims();
        let mut h = x.swap_dims(1, 2).reshape([batch * time, channels]);
        for b in &self.blocks {
            let y = conv1d_rows(&b.conv, h.clone(), batch, time);
            h = bn_relu_dropout_add(&b.bn, &self.dropout, y, h);
        }
        h.reshape([batch, time, channels]).swap_dims(1, 2)
    }
}
