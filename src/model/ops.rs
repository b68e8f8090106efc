//! Three layers every training step of the temporal models runs many times, as plain tensor ops
//! that are fast on the CPU (docs/perf/cpu.md, "bench epoch"):
//!
//! - [`dropout`]: burn's `Dropout` draws its mask through `random_like(Bernoulli)`, which on Flex
//!   samples every element from a ChaCha generator (~11 % of a paper-full epoch). On Flex the
//!   mask here comes from SplitMix64 seeded by one draw from burn's own (seeded) generator, so
//!   `Device::seed` still makes a run reproducible.
//! - [`conv1d_matmul`]: burn-flex runs `Conv1d` as a direct 3-D convolution (forward) and a
//!   transposed one (backward), not on BLAS. On Flex, [`conv1d_rows`] (time-major rows
//!   `[batch · time, channels]`) is one custom operation, tap products accumulated into the
//!   output rows with a hand-written backward (`model::fused::conv`); elsewhere (GPUs) it is
//!   im2col (one gather of the k shifted input rows of every output row, zero rows outside the
//!   utterance) and one product with the weight, which autodiff differentiates.
//! - [`batch_norm_rows`]: burn's `batch_norm_train` and its backward move the channels to the
//!   front and copy four times per layer; on time-major rows the statistics are column means.
//!
//! All keep burn's modules (`Dropout`, `Conv1d`, `BatchNorm`) as the stored state, so
//! checkpoints do not change; all compute the same function as burn's layer (tested below).

use burn::nn::conv::Conv1d;
use burn::nn::{BatchNorm, Dropout};
use burn::prelude::*;
use burn::tensor::Distribution;

use crate::rng::SplitMix64;

/// `d.forward(x)` with a cheap mask generator on the CPU backend: in training (an autodiff
/// device and the layer not frozen) each value is kept with probability `1 − p` and scaled by
/// `1 / (1 − p)`; otherwise `x` unchanged.
pub fn dropout<const D: usize>(d: &Dropout, x: Tensor<D>) -> Tensor<D> {
    dropout_seeded(d, x, draw_seed)
}

/// [`dropout`] with the mask's seed from `seed` (called once, only when a mask is drawn on
/// Flex): tests give two paths the same mask without sharing the device's generator.
pub(crate) fn dropout_seeded<const D: usize>(
    d: &Dropout,
    x: Tensor<D>,
    seed: impl FnOnce(&Device) -> u64,
) -> Tensor<D> {
    let device = x.device();
    if !d.training.is_enabled() || !device.is_autodiff() || d.prob == 0.0 {
        return x;
    }
    if device != Device::flex() {
        return d.forward(x);
    }
    let keep = 1.0 - d.prob;
    let shape = x.shape();
    let mask = bernoulli_mask(shape.num_elements(), keep, seed(&device));
    x * Tensor::<D>::from_data(TensorData::new(mask, shape), &device)
}

/// One 64-bit seed from burn's generator for this device (seeded by `Device::seed`).
pub(crate) fn draw_seed(device: &Device) -> u64 {
    let u = crate::tensor::read_f32(Tensor::<1>::random(
        [3],
        Distribution::Uniform(0.0, 1.0),
        &device.clone().inner(),
    ));
    u.iter().fold(0u64, |acc, v| {
        (acc << 21) ^ ((*v as f64 * (1u64 << 21) as f64) as u64)
    })
}

/// The 32-bit draw below which a value is kept: P(u32 < threshold) = threshold / 2^32 = keep
/// (to 2^-32); `u32::MAX` keeps everything for keep = 1.
pub(crate) fn keep_threshold(keep: f64) -> u32 {
    (keep * 4_294_967_296.0).round().min(u32::MAX as f64) as u32
}

/// `n` values, each `1 / keep` with probability `keep` and 0 otherwise (two 32-bit draws per
/// SplitMix64 output; chunks filled in parallel from the generator's counter, the same values as
/// one sequential pass).
fn bernoulli_mask(n: usize, keep: f64, seed: u64) -> Vec<f32> {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 16; // even: a chunk starts at an output boundary
    let threshold = keep_threshold(keep);
    let scale = (1.0 / keep) as f32;
    let mut out = vec![0.0f32; n];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| fill_mask(seed, threshold, c * CHUNK, chunk, scale, 0.0));
    out
}

/// Values `first..first + out.len()` of the dropout mask stream of `seed`: `kept` where the
/// value's 32-bit draw is below `threshold`, else `dropped` (two draws per SplitMix64 output, so
/// the stream can be filled in parallel from any even `first`). [`bernoulli_mask`] and the fused
/// DTCN tail (`model::fused::tail`) both draw their masks here.
pub(crate) fn fill_mask<T: Copy>(
    seed: u64,
    threshold: u32,
    first: usize,
    out: &mut [T],
    kept: T,
    dropped: T,
) {
    assert!(
        first.is_multiple_of(2),
        "a mask chunk starts on a whole draw"
    );
    let pair0 = (first / 2) as u64;
    for (j, pair) in out.chunks_mut(2).enumerate() {
        let r = SplitMix64::nth(seed, pair0 + j as u64);
        for (slot, bits) in pair.iter_mut().zip([r as u32, (r >> 32) as u32]) {
            *slot = if bits < threshold { kept } else { dropped };
        }
    }
}

/// `conv.forward(x)` for a stride-1, ungrouped conv with symmetric "same" padding of
/// `dilation · (k − 1) / 2` on each side (the DTCN's blocks), as im2col + one matmul.
///
/// # Shapes
/// - `x`: `[batch, channels_in, time]` → `[batch, channels_out, time]`
pub fn conv1d_matmul(conv: &Conv1d, x: Tensor<3>) -> Tensor<3> {
    let [batch, c_in, time] = x.dims();
    let rows = x.swap_dims(1, 2).reshape([batch * time, c_in]);
    let y = conv1d_rows(conv, rows, batch, time);
    let c_out = y.dims()[1];
    y.reshape([batch, time, c_out]).swap_dims(1, 2)
}

/// [`conv1d_matmul`] on time-major rows: `[batch · time, c_in]` → `[batch · time, c_out]`.
pub fn conv1d_rows(conv: &Conv1d, rows: Tensor<2>, batch: usize, time: usize) -> Tensor<2> {
    match super::fused::conv1d_rows_fused(conv, &rows, batch, time) {
        Some(y) => y,
        None => conv1d_rows_im2col(conv, rows, batch, time),
    }
}

/// [`conv1d_rows`] as tensor ops (im2col and one product), for every device: what runs off
/// the Flex backend (GPUs).
fn conv1d_rows_im2col(conv: &Conv1d, rows: Tensor<2>, batch: usize, time: usize) -> Tensor<2> {
    let k = conv.kernel_size;
    let d = conv.dilation;
    assert!(conv.stride == 1 && conv.groups == 1 && k % 2 == 1);
    let weight = conv.weight.val(); // [c_out, c_in, k]
    let [c_out, c_in, _] = weight.dims();
    // Columns indexed (tap, channel), so the product is one
    // [batch · time, k · c_in] × [k · c_in, c_out] matmul.
    let cols = im2col_rows(rows, batch, time, k, d);
    let w = weight.permute([2, 1, 0]).reshape([k * c_in, c_out]);
    let y = cols.matmul(w);
    match &conv.bias {
        Some(b) => y + b.val().unsqueeze::<2>(),
        None => y,
    }
}

/// `bn.forward(x)` for time-major rows `[n, channels]` (statistics over the rows, i.e. over
/// batch and time of `[batch, channels, time]`): the same function and the same running-
/// statistics update as burn's `BatchNorm` (biased batch variance, momentum), without its
/// channel-first transposes; autodiff differentiates the column means and element-wise ops.
pub fn batch_norm_rows(bn: &BatchNorm, x: Tensor<2>) -> Tensor<2> {
    let device = x.device();
    let [channels] = bn.gamma.shape().dims();
    let gamma = bn.gamma.val().reshape([1, channels]);
    let beta = bn.beta.val().reshape([1, channels]);
    let (centred, var) = if device.is_autodiff() && bn.training.is_enabled() {
        let mean = x.clone().mean_dim(0); // [1, channels]
        let centred = x - mean.clone();
        let var = (centred.clone() * centred.clone()).mean_dim(0);
        update_running(
            bn,
            mean.reshape([channels]),
            var.clone().reshape([channels]),
        );
        (centred, var)
    } else {
        let running = |state: &burn::module::RunningState<Tensor<1>>| {
            state.value().to_device(&device).reshape([1, channels])
        };
        (x - running(&bn.running_mean), running(&bn.running_var))
    };
    centred * (var.add_scalar(bn.epsilon).sqrt().recip() * gamma) + beta
}

/// BatchNorm's running statistics moved towards this batch's mean and (biased) variance by
/// its momentum, as burn's `BatchNorm` does in training.
pub(crate) fn update_running(bn: &BatchNorm, mean: Tensor<1>, var: Tensor<1>) {
    let device = mean.device();
    let m = bn.momentum;
    let running = |state: &burn::module::RunningState<Tensor<1>>, batch: Tensor<1>| {
        let old = state.value_sync().to_device(&device);
        let new = old.mul_scalar(1.0 - m).add(batch.detach().mul_scalar(m));
        state.update(new.detach());
    };
    running(&bn.running_mean, mean);
    running(&bn.running_var, var);
}

/// The im2col matrix of time-major rows `[batch · time, c]` for a "same" conv of `k` taps and
/// dilation `d`: row (b, t) holds the rows (b, t + j·d − pad) for j = 0..k side by side, zeros
/// outside the utterance. One row gather (`select` on a copy with one zero row appended)
/// instead of padding, k shifted slices and a concatenation: the gather's backward is one
/// scatter-add into zeros, where the slices' was k zero tensors, k copies and k − 1 sums.
fn im2col_rows(rows: Tensor<2>, batch: usize, time: usize, k: usize, d: usize) -> Tensor<2> {
    if k == 1 {
        return rows;
    }
    let c = rows.dims()[1];
    let device = rows.device();
    let pad = (d * (k - 1) / 2) as isize;
    let zero_row = (batch * time) as i64;
    let mut index = Vec::with_capacity(batch * time * k);
    for b in 0..batch {
        for t in 0..time as isize {
            for j in 0..k as isize {
                let src = t + j * d as isize - pad;
                index.push(if (0..time as isize).contains(&src) {
                    (b * time) as i64 + src as i64
                } else {
                    zero_row
                });
            }
        }
    }
    let index = Tensor::<1, Int>::from_data(TensorData::new(index, [batch * time * k]), &device);
    let padded = Tensor::cat(vec![rows, Tensor::<2>::zeros([1, c], &device)], 0);
    padded.select(0, index).reshape([batch * time, k * c])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::DropoutConfig;
    use burn::nn::PaddingConfig1d;
    use burn::nn::conv::Conv1dConfig;

    use crate::eval::compare::max_abs_diff;
    use crate::tensor::read_f32;

    #[derive(Clone, Copy, Debug)]
    enum Path {
        /// `conv1d_matmul` as the model calls it (the fused tap products on Flex).
        Dispatched,
        /// The tensor-op im2col path (what GPUs run).
        Im2col,
        /// burn's own `Conv1d`.
        Burn,
    }

    /// Values and gradients (input, weight, bias) equal burn's `Conv1d` for the DTCN's shapes,
    /// through both paths.
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
            let run = |ours: Path| {
                let x = Tensor::<1>::from_floats(xv.as_slice(), &device)
                    .reshape([2, c_in, t])
                    .require_grad();
                let y = match ours {
                    Path::Dispatched => conv1d_matmul(&conv, x.clone()),
                    Path::Im2col => {
                        let rows = x.clone().swap_dims(1, 2).reshape([2 * t, c_in]);
                        conv1d_rows_im2col(&conv, rows, 2, t)
                            .reshape([2, t, c_out])
                            .swap_dims(1, 2)
                    }
                    Path::Burn => conv.forward(x.clone()),
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
            let b = run(Path::Burn);
            for path in [Path::Dispatched, Path::Im2col] {
                let a = run(path);
                let ctx = format!("k {k}, dilation {d}, {path:?}");
                assert!(max_abs_diff(&a.0, &b.0) < 1e-5, "output, {ctx}");
                assert!(max_abs_diff(&a.1, &b.1) < 1e-5, "input gradient, {ctx}");
                assert!(max_abs_diff(&a.2, &b.2) < 1e-4, "weight gradient, {ctx}");
                assert!(max_abs_diff(&a.3, &b.3) < 1e-4, "bias gradient, {ctx}");
            }
        }
    }

    /// Training mode: output, the gradients of input, gamma and beta, and the running statistics
    /// after the update equal burn's `BatchNorm` on `[batch, channels, time]`; inference mode
    /// (no autodiff) uses the running statistics like burn's.
    #[test]
    fn batch_norm_rows_equals_burn_batch_norm_in_training_and_inference() {
        use burn::nn::BatchNormConfig;
        let (batch, c, t) = (3, 5, 17);
        let device = Device::flex().autodiff();
        let mut rng = SplitMix64::new(9);
        let mut draw = |n: usize, lo: f64, hi: f64| -> Vec<f32> {
            (0..n).map(|_| rng.range(lo, hi) as f32).collect()
        };
        let xv = draw(batch * c * t, -2.0, 3.0);
        let up = draw(batch * c * t, -1.0, 1.0);
        let (gv, bv) = (draw(c, 0.5, 1.5), draw(c, -0.5, 0.5));
        let make_bn = || {
            let mut bn = BatchNormConfig::new(c).init(&device);
            bn.gamma =
                burn::module::Param::from_tensor(Tensor::<1>::from_floats(gv.as_slice(), &device));
            bn.beta =
                burn::module::Param::from_tensor(Tensor::<1>::from_floats(bv.as_slice(), &device));
            bn
        };
        let run = |ours: bool| {
            let bn = make_bn();
            let x = Tensor::<1>::from_floats(xv.as_slice(), &device)
                .reshape([batch, c, t])
                .require_grad();
            let y = if ours {
                let rows = x.clone().swap_dims(1, 2).reshape([batch * t, c]);
                batch_norm_rows(&bn, rows)
                    .reshape([batch, t, c])
                    .swap_dims(1, 2)
            } else {
                bn.forward(x.clone())
            };
            let upstream = Tensor::<1>::from_floats(up.as_slice(), &device).reshape([batch, c, t]);
            let grads = (y.clone() * upstream).sum().backward();
            let out = [
                read_f32(y),
                read_f32(x.grad(&grads).unwrap()),
                read_f32(bn.gamma.val().grad(&grads).unwrap()),
                read_f32(bn.beta.val().grad(&grads).unwrap()),
                read_f32(bn.running_mean.value_sync()),
                read_f32(bn.running_var.value_sync()),
            ];
            // Inference on the same layer (running statistics), without autodiff.
            let plain = Device::flex();
            let bn = bn.valid();
            let x = Tensor::<1>::from_floats(xv.as_slice(), &plain).reshape([batch, c, t]);
            let y = if ours {
                let rows = x.swap_dims(1, 2).reshape([batch * t, c]);
                batch_norm_rows(&bn, rows)
                    .reshape([batch, t, c])
                    .swap_dims(1, 2)
            } else {
                bn.forward(x)
            };
            (out, read_f32(y))
        };
        let (ours, theirs) = (run(true), run(false));
        let names = [
            "output",
            "input gradient",
            "gamma gradient",
            "beta gradient",
            "running mean",
            "running var",
        ];
        for ((a, b), name) in ours.0.iter().zip(&theirs.0).zip(names) {
            assert!(max_abs_diff(a, b) < 2e-5, "{name}: {}", max_abs_diff(a, b));
        }
        // The running statistics moved from their initial (0, 1).
        assert!(ours.0[4].iter().any(|v| v.abs() > 0.01));
        assert!(max_abs_diff(&ours.1, &theirs.1) < 2e-5, "inference output");
    }

    #[test]
    fn bernoulli_mask_keeps_the_right_fraction_and_is_fixed_by_its_seed() {
        let n = 200_001;
        let keep = 0.7;
        let m = bernoulli_mask(n, keep, 42);
        assert_eq!(m, bernoulli_mask(n, keep, 42));
        // The parallel chunks give the values of one sequential pass over the generator.
        let threshold = (keep * 4_294_967_296.0).round() as u32;
        let mut rng = SplitMix64::new(42);
        let sequential: Vec<f32> = (0..n.div_ceil(2))
            .flat_map(|_| {
                let r = rng.next_u64();
                [r as u32, (r >> 32) as u32]
            })
            .take(n)
            .map(|b| {
                if b < threshold {
                    (1.0 / keep) as f32
                } else {
                    0.0
                }
            })
            .collect();
        assert_eq!(m, sequential);
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
