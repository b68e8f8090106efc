//! Two layers every training step of the temporal models runs many times, as plain tensor ops
//! that are fast on the CPU (docs/perf/cpu.md, "bench epoch"):
//!
//! - [`dropout`]: burn's `Dropout` draws its mask through `random_like(Bernoulli)`, which on Flex
//!   samples every element from a ChaCha generator (~11 % of a paper-full epoch). On Flex the
//!   mask here comes from SplitMix64 seeded by one draw from burn's own (seeded) generator, so
//!   `Device::seed` still makes a run reproducible.
//! - [`conv1d_matmul`]: burn-flex runs `Conv1d` as a direct 3-D convolution (forward) and a
//!   transposed one (backward), not on BLAS. Here the dilated "same" conv is im2col (k shifted
//!   slices of the padded input, concatenated along channels) and one product with the weight;
//!   autodiff differentiates slice, concatenation and matmul, so no hand-written backward.
//!
//! Both keep burn's modules (`Dropout`, `Conv1d`) as the stored state, so checkpoints do not
//! change; both compute the same function as burn's layer (tested below).

use burn::nn::Dropout;
use burn::nn::conv::Conv1d;
use burn::prelude::*;
use burn::tensor::Distribution;

use crate::rng::SplitMix64;

/// `d.forward(x)` with a cheap mask generator on the CPU backend: in training (an autodiff
/// device and the layer not frozen) each value is kept with probability `1 − p` and scaled by
/// `1 / (1 − p)`; otherwise `x` unchanged.
pub fn dropout<const D: usize>(d: &Dropout, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if !d.training.is_enabled() || !device.is_autodiff() || d.prob == 0.0 {
        return x;
    }
    if device != Device::flex() {
        return d.forward(x);
    }
    let keep = 1.0 - d.prob;
    let shape = x.shape();
    let mask = bernoulli_mask(shape.num_elements(), keep, draw_seed(&device));
    x * Tensor::<D>::from_data(TensorData::new(mask, shape), &device)
}

/// One 64-bit seed from burn's generator for this device (seeded by `Device::seed`).
fn draw_seed(device: &Device) -> u64 {
    let u = crate::tensor::read_f32(Tensor::<1>::random(
        [3],
        Distribution::Uniform(0.0, 1.0),
        &device.clone().inner(),
    ));
    u.iter().fold(0u64, |acc, v| {
        (acc << 21) ^ ((*v as f64 * (1u64 << 21) as f64) as u64)
    })
}

/// `n` values, each `1 / keep` with probability `keep` and 0 otherwise (two 32-bit draws per
/// SplitMix64 output).
fn bernoulli_mask(n: usize, keep: f64, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    // P(u32 < threshold) = threshold / 2^32 = keep (to 2^-32).
    let threshold = (keep * 4_294_967_296.0).round().min(u32::MAX as f64) as u32;
    let scale = (1.0 / keep) as f32;
    let mut out = vec![0.0f32; n];
    for pair in out.chunks_mut(2) {
        let r = rng.next_u64();
        for (slot, bits) in pair.iter_mut().zip([r as u32, (r >> 32) as u32]) {
            if bits < threshold {
                *slot = scale;
            }
        }
    }
    out
}

/// `conv.forward(x)` for a stride-1, ungrouped conv with symmetric "same" padding of
/// `dilation · (k − 1) / 2` on each side (the DTCN's blocks), as im2col + one matmul.
///
/// # Shapes
/// - `x`: `[batch, channels_in, time]` → `[batch, channels_out, time]`
pub fn conv1d_matmul(conv: &Conv1d, x: Tensor<3>) -> Tensor<3> {
    let k = conv.kernel_size;
    let d = conv.dilation;
    assert!(conv.stride == 1 && conv.groups == 1 && k % 2 == 1);
    let [batch, c_in, time] = x.dims();
    let pad = d * (k - 1) / 2;
    let weight = conv.weight.val(); // [c_out, c_in, k]
    let [c_out, _, _] = weight.dims();
    // Time-major columns: [batch, time, k · c_in] with index (tap, channel), so the product is
    // one [batch · time, k · c_in] × [k · c_in, c_out] matmul.
    let xt = x.swap_dims(1, 2); // [batch, time, c_in]
    let padded = if pad > 0 {
        let zeros = Tensor::<3>::zeros([batch, pad, c_in], &xt.device());
        Tensor::cat(vec![zeros.clone(), xt, zeros], 1)
    } else {
        xt
    };
    let taps: Vec<Tensor<3>> = (0..k)
        .map(|i| {
            padded
                .clone()
                .slice([0..batch, i * d..i * d + time, 0..c_in])
        })
        .collect();
    let cols = Tensor::cat(taps, 2).reshape([batch * time, k * c_in]);
    let w = weight.permute([2, 1, 0]).reshape([k * c_in, c_out]); // [(tap, c_in), c_out]
    let mut y = cols.matmul(w);
    if let Some(b) = &conv.bias {
        y = y + b.val().unsqueeze::<2>();
    }
    y.reshape([batch, time, c_out]).swap_dims(1, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::DropoutConfig;
    use burn::nn::PaddingConfig1d;
    use burn::nn::conv::Conv1dConfig;

    use crate::tensor::read_f32;

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// Values and gradients (input, weight, bias) equal burn's `Conv1d` for the DTCN's shapes.
    #[test]
    fn conv1d_matmul_equals_burn_conv1d_forward_and_backward() {
        let device = Device::flex().autodiff();
        for (k, d, c_in, c_out, t) in [
            (3, 1, 5, 7, 19),
            (3, 4, 6, 6, 23),
            (5, 2, 4, 3, 11),
            (1, 1, 3, 2, 5),
        ] {
            let pad = d * (k - 1) / 2;
            let conv = Conv1dConfig::new(c_in, c_out, k)
                .with_dilation(d)
                .with_padding(PaddingConfig1d::Explicit(pad, pad))
                .init(&device);
            let mut rng = SplitMix64::new((k * 100 + d) as u64);
            let xv: Vec<f32> = (0..2 * c_in * t)
                .map(|_| rng.range(-1.0, 1.0) as f32)
                .collect();
            let up: Vec<f32> = (0..2 * c_out * t)
                .map(|_| rng.range(-1.0, 1.0) as f32)
                .collect();
            let run = |ours: bool| {
                let x = Tensor::<1>::from_floats(xv.as_slice(), &device)
                    .reshape([2, c_in, t])
                    .require_grad();
                let y = if ours {
                    conv1d_matmul(&conv, x.clone())
                } else {
                    conv.forward(x.clone())
                };
                let upstream =
                    Tensor::<1>::from_floats(up.as_slice(), &device).reshape([2, c_out, t]);
                let grads = (y.clone() * upstream).sum().backward();
                (
                    read_f32(y),
                    read_f32(x.grad(&grads).unwrap()),
                    read_f32(conv.weight.val().grad(&grads).unwrap()),
                    read_f32(conv.bias.as_ref().unwrap().val().grad(&grads).unwrap()),
                )
            };
            let (a, b) = (run(true), run(false));
            let ctx = format!("k {k}, dilation {d}");
            assert!(max_abs_diff(&a.0, &b.0) < 1e-5, "output, {ctx}");
            assert!(max_abs_diff(&a.1, &b.1) < 1e-5, "input gradient, {ctx}");
            assert!(max_abs_diff(&a.2, &b.2) < 1e-4, "weight gradient, {ctx}");
            assert!(max_abs_diff(&a.3, &b.3) < 1e-4, "bias gradient, {ctx}");
        }
    }

    #[test]
    fn bernoulli_mask_keeps_the_right_fraction_and_is_fixed_by_its_seed() {
        let n = 200_001;
        let keep = 0.7;
        let m = bernoulli_mask(n, keep, 42);
        assert_eq!(m, bernoulli_mask(n, keep, 42));
        assert_ne!(m, bernoulli_mask(n, keep, 43));
        let scale = (1.0 / keep) as f32;
        assert!(m.iter().all(|&v| v == 0.0 || v == scale));
        let kept = m.iter().filter(|&&v| v > 0.0).count() as f64 / n as f64;
        // Binomial standard deviation sqrt(p(1−p)/n) ≈ 0.001; allow 5σ.
        assert!((kept - keep).abs() < 0.005, "kept fraction {kept}");
        // Neighbouring values (the two halves of one 64-bit draw) are independent: P(both kept)
        // ≈ keep².
        let both = m
            .chunks(2)
            .filter(|p| p.len() == 2 && p[0] > 0.0 && p[1] > 0.0)
            .count() as f64
            / (n / 2) as f64;
        assert!((both - keep * keep).abs() < 0.007, "both kept {both}");
    }

    #[test]
    fn dropout_scales_kept_values_passes_gradients_through_the_mask_and_is_off_outside_training() {
        let d = DropoutConfig::new(0.25).init();
        let n = 4096;
        let xv: Vec<f32> = (0..n).map(|i| 1.0 + (i % 7) as f32).collect();
        let device = Device::flex().autodiff();
        let x = Tensor::<1>::from_floats(xv.as_slice(), &device)
            .reshape([4, 32, 32])
            .require_grad();
        let y = dropout(&d, x.clone());
        let grads = y.clone().sum().backward();
        let (y, g) = (read_f32(y), read_f32(x.grad(&grads).unwrap()));
        let mut kept = 0;
        for i in 0..n {
            if y[i] == 0.0 {
                assert_eq!(g[i], 0.0);
            } else {
                kept += 1;
                assert!((y[i] - xv[i] / 0.75).abs() < 1e-5);
                assert!((g[i] - 1.0 / 0.75).abs() < 1e-6);
            }
        }
        let frac = kept as f64 / n as f64;
        assert!((frac - 0.75).abs() < 0.04, "kept {frac}");
        // Inference device, and a frozen layer on the training device: identity.
        let plain = Tensor::<1>::from_floats(xv.as_slice(), &Device::flex());
        assert_eq!(read_f32(dropout(&d, plain)), xv);
        let frozen = d.clone().freeze();
        let x = Tensor::<1>::from_floats(xv.as_slice(), &device);
        assert_eq!(read_f32(dropout(&frozen, x)), xv);
    }
}
