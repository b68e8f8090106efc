//! LogMel–HuBERT stream fusion (seed 000): the input frames are `[log-mel bins | SSL dim]` (the
//! `logmel_ssl` feature stream, both on the log-mel time axis) and are mapped to `channels` by
//! - `alpha`: `F = α·W_l·X_logmel + (1−α)·W_h·X_ssl`, α = sigmoid(learned scalar, initialised 0
//!   → α = 0.5), the paper's formula;
//! - `concat`: `F = W·[X_logmel; X_ssl]` (one linear map of both);
//! - `gated`: per-frame gate `g_t = sigmoid(w·[W_l x_l; W_h x_h] + b)`,
//!   `F_t = g_t·W_l x_l + (1−g_t)·W_h x_h` (the "per-emotion" reading of the paper: the gate is
//!   reported per class from the validation utterances).
//!
//! Single-stream inputs use a plain linear projection.

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use serde::{Deserialize, Serialize};

/// How two streams are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FusionMode {
    /// Learned scalar α between the projected streams (the paper).
    Alpha,
    /// Concatenation followed by one projection.
    Concat,
    /// Learned per-frame gate.
    Gated,
}

impl FusionMode {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            FusionMode::Alpha => "α-fusion",
            FusionMode::Concat => "concat",
            FusionMode::Gated => "gated",
        }
    }
}

/// Builds a [`Fusion`] for `bins` input bins of which the first `split` are log-mel (`None`: one
/// stream, plain projection).
pub fn init(
    mode: FusionMode,
    bins: usize,
    split: Option<usize>,
    channels: usize,
    device: &Device,
) -> Fusion {
    let split = split.filter(|&s| s > 0 && s < bins);
    let (mode_id, wl, wh, gate) = match (split, mode) {
        (None, _) | (Some(_), FusionMode::Concat) => (
            1,
            LinearConfig::new(bins, channels).init(device),
            None,
            None,
        ),
        (Some(s), FusionMode::Alpha) => (
            0,
            LinearConfig::new(s, channels).init(device),
            Some(LinearConfig::new(bins - s, channels).init(device)),
            None,
        ),
        (Some(s), FusionMode::Gated) => (
            2,
            LinearConfig::new(s, channels).init(device),
            Some(LinearConfig::new(bins - s, channels).init(device)),
            Some(LinearConfig::new(2 * channels, 1).init(device)),
        ),
    };
    Fusion {
        wl,
        wh,
        gate,
        alpha_logit: Param::from_tensor(Tensor::zeros([1], device)),
        split: split.unwrap_or(bins),
        mode: mode_id,
    }
}

/// The fusion front-end.
#[derive(Module, Debug)]
pub struct Fusion {
    wl: Linear,
    wh: Option<Linear>,
    gate: Option<Linear>,
    alpha_logit: Param<Tensor<1>>,
    split: usize,
    /// 0 = α, 1 = single projection (concat or one stream), 2 = gated.
    mode: usize,
}

impl Fusion {
    /// # Shapes
    /// - `x`: `[batch, time, bins]` → `[batch, time, channels]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.forward_with_gate(x).0
    }

    /// The fused frames and, for the gated mode, the gate `[batch, time]`.
    pub fn forward_with_gate(&self, x: Tensor<3>) -> (Tensor<3>, Option<Tensor<2>>) {
        let [batch, time, bins] = x.dims();
        let Some(wh) = &self.wh else {
            return (self.wl.forward(x), None);
        };
        // Both projections on 2-D rows [batch · time, bins]: one product each, forward and
        // backward (3-D inputs take a product per batch item and a sum for the weight
        // gradient; docs/perf/cpu.md).
        let rows = x.reshape([batch * time, bins]);
        let xl = rows.clone().narrow(1, 0, self.split);
        let xh = rows.narrow(1, self.split, bins - self.split);
        let l = self.wl.forward(xl);
        let c = l.dims()[1];
        let l = l.reshape([batch, time, c]);
        let h = wh.forward(xh).reshape([batch, time, c]);
        match &self.gate {
            Some(gate) => {
                let g = sigmoid(gate.forward(Tensor::cat(vec![l.clone(), h.clone()], 2)));
                let f = l * g.clone() + h * (g.clone().neg() + 1.0);
                (f, Some(g.reshape([batch, time])))
            }
            None => {
                let a = sigmoid(self.alpha_logit.val()).reshape([1, 1, 1]);
                (l * a.clone() + h * (a.neg() + 1.0), None)
            }
        }
    }

    /// α of the α-fusion mode.
    pub fn alpha(&self) -> Option<f32> {
        (self.mode == 0 && self.wh.is_some())
            .then(|| crate::tensor::read_f32(sigmoid(self.alpha_logit.val()))[0])
    }

    /// Whether the gated mode is active.
    pub fn is_gated(&self) -> bool {
        self.gate.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param2(v: &[f32], shape: [usize; 2], device: &Device) -> Param<Tensor<2>> {
        Param::from_tensor(Tensor::from_data(
            TensorData::new(v.to_vec(), shape),
            device,
        ))
    }

    fn param1(v: &[f32], device: &Device) -> Param<Tensor<1>> {
        Param::from_tensor(Tensor::from_data(
            TensorData::new(v.to_vec(), [v.len()]),
            device,
        ))
    }

    /// Hand-computed at α = 0.8 (so that swapped streams give another value):
    /// x = [3 | 5, 1] (1 log-mel bin, 2 SSL bins), W_l = [2], b_l = 0, W_h = [1, −1]ᵀ, b_h = 0.5
    /// → W_l·x_l = 6, W_h·x_h = 4.5, F = 0.8·6 + 0.2·4.5 = 5.7 (swapped: 0.8·4.5 + 0.2·6 = 4.8).
    #[test]
    fn alpha_fusion_hand_computed_at_alpha_0_8() {
        let device = Device::flex();
        let mut f = init(FusionMode::Alpha, 3, Some(1), 1, &device);
        assert_eq!(f.alpha(), Some(0.5));
        f.wl.weight = param2(&[2.0], [1, 1], &device);
        f.wl.bias = Some(param1(&[0.0], &device));
        let wh = f.wh.as_mut().expect("two streams");
        wh.weight = param2(&[1.0, -1.0], [2, 1], &device);
        wh.bias = Some(param1(&[0.5], &device));
        f.alpha_logit = param1(&[4.0f32.ln()], &device);
        let alpha = f.alpha().expect("alpha");
        assert!((alpha - 0.8).abs() < 1e-6, "{alpha}");
        let x = Tensor::<3>::from_data(TensorData::new(vec![3.0f32, 5.0, 1.0], [1, 1, 3]), &device);
        let got: Vec<f32> = f.forward(x).into_data().try_to_vec().expect("vec");
        assert_eq!(got.len(), 1);
        assert!(
            (got[0] - 5.7).abs() < 1e-5,
            "{got:?} (4.8 = streams swapped)"
        );
    }

    #[test]
    fn gated_fusion_gate_is_per_frame_and_in_unit_interval() {
        let device = Device::flex();
        let f = init(FusionMode::Gated, 6, Some(4), 8, &device);
        let x = Tensor::<3>::random([3, 7, 6], burn::tensor::Distribution::Default, &device);
        let (out, g) = f.forward_with_gate(x);
        assert_eq!(out.dims(), [3, 7, 8]);
        let g = g.unwrap();
        assert_eq!(g.dims(), [3, 7]);
        let v: Vec<f32> = g.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        assert!(v.iter().all(|&x| x > 0.0 && x < 1.0));
        assert_eq!(f.alpha(), None);
    }
}
