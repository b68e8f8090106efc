//! The SSL encoder's inference kernels on the Flex (CPU) backend's own buffers.
//!
//! Through burn's tensor ops, one strided conv layer of the wav2vec2 feature encoder is two or
//! three BLAS products (one per block of taps, see [`super::conv::FrameConv`]), a sum, and a
//! GELU, each writing a fresh buffer; layer 0 (one input channel, 512 outputs per 5 samples)
//! adds a GroupNorm of about ten more passes over its 26 MB per 4 s utterance. Here a layer is
//! one pass: blocks of output rows run on the rayon pool, each block's tap products accumulate
//! into the same rows (`beta = 1` BLAS calls on strided views of the input, no im2col copy),
//! and the GELU (or, for layer 0, the GroupNorm statistics) is applied while the rows are still
//! in cache. Linear layers write their bias first and add the product to it; attention is one
//! task per (item, head) on strided views of q, k and v, with no head-split or context copies.
//! Numbers equal the tensor path's within float rounding (tests below, and
//! `tests/ssl_parity.rs` against transformers).
//!
//! Only contiguous f32 Flex tensors outside autodiff take these paths, and of the convolutions
//! only plain (ungrouped, unpadded) ones; everything else (the grouped positional conv, WavLM's
//! gated attention, GPU tensors, fine-tuning with gradients) keeps the tensor ops.

use burn::backend::flex::{Flex, FlexTensor};
use burn::nn::{GroupNorm, Linear};
use burn::prelude::*;
use rayon::prelude::*;

use super::conv::FrameConv;
use crate::blas::{View, fill_rows, sgemm};
use crate::tensor::f32s;

/// Output rows per task: a block of 64 rows × 512 channels (128 KB) stays in L2 between its
/// tap products and its GELU.
const ROWS: usize = 64;

/// The Flex storage of `t` (shared with the tensor, no copy) when it is a contiguous f32 tensor
/// on the Flex device outside autodiff; `None` otherwise.
pub(crate) fn flex_storage<const D: usize>(t: &Tensor<D>) -> Option<FlexTensor> {
    let device = t.device();
    if device.is_autodiff() || device != Device::flex() {
        return None;
    }
    let p = t.clone().try_into_primitive::<Flex>().ok()?;
    p.as_slice::<f32>()?;
    Some(p)
}

/// [`flex_storage`] of an optional tensor: `Some(None)` when there is none, `None` when there is
/// one off the host path.
fn optional_storage<const D: usize>(t: Option<Tensor<D>>) -> Option<Option<FlexTensor>> {
    match t {
        Some(t) => flex_storage(&t).map(Some),
        None => Some(None),
    }
}

/// The convolution of time-major `x` `[batch, time, c_in]` on the host, when `conv` is plain
/// (one group, no padding) and every tensor is on Flex: `[batch, time', c_out]`, followed by
/// GELU when `gelu`.
pub(crate) fn conv(conv: &FrameConv, x: &Tensor<3>, gelu: bool) -> Option<Tensor<3>> {
    if conv.padding != 0 || conv.weight.dims()[0] != 1 {
        return None;
    }
    let (out, dims) = conv_rows(conv, x, gelu, |_, _, _| {})?;
    Some(Tensor::from_data(TensorData::new(out, dims), &x.device()))
}

/// Runs the convolution (then GELU when `gelu`) into a new buffer, calling
/// `block_done(item, first_row, rows)` on every finished block (rows of one item; in parallel,
/// in no particular order).
fn conv_rows(
    conv: &FrameConv,
    x: &Tensor<3>,
    gelu: bool,
    block_done: impl Fn(usize, usize, &[f32]) + Sync,
) -> Option<(Vec<f32>, [usize; 3])> {
    let xs = flex_storage(x)?;
    let ws = flex_storage(&conv.weight.val())?;
    let bs = optional_storage(conv.bias.as_ref().map(|p| p.val()))?;
    let [b, t, c_in] = x.dims();
    let [_, rows, c_out] = conv.weight.dims();
    let (k, s) = (conv.kernel, conv.stride);
    assert_eq!(rows, k * c_in, "conv input channels");
    let t_out = conv.out_frames(t);
    let (x, w, bias) = (f32s(&xs), f32s(&ws), bs.as_ref().map(f32s));
    let mut out = vec![0.0f32; b * t_out * c_out];
    if t_out == 0 {
        return Some((out, [b, 0, c_out]));
    }
    out.par_chunks_mut(t_out * c_out)
        .enumerate()
        .for_each(|(item, y)| {
            let x = &x[item * t * c_in..(item + 1) * t * c_in];
            y.par_chunks_mut(ROWS * c_out)
                .enumerate()
                .for_each(|(blk, y)| {
                    let r0 = blk * ROWS;
                    let rn = y.len() / c_out;
                    if let Some(bias) = bias {
                        fill_rows(y, bias);
                    }
                    if c_in == 1 {
                        taps_c1(&x[r0 * s..], w, k, s, c_out, y, bias.is_some());
                    } else {
                        // Block j of taps: window r covers input frames [(r + j)·s, …) for
                        // min(s, k − j·s) taps, a row of a view with row stride s·c_in.
                        for j in 0..k.div_ceil(s) {
                            let taps = s.min(k - j * s);
                            sgemm(
                                (rn, c_out, taps * c_in),
                                View::rows(&x[(r0 + j) * s * c_in..], s * c_in),
                                View::rows(&w[j * s * c_in * c_out..], c_out),
                                y,
                                c_out,
                                1.0,
                                j > 0 || bias.is_some(),
                                false,
                            );
                        }
                    }
                    if gelu {
                        crate::fastmath::gelu_in_place(y);
                    }
                    block_done(item, r0, y);
                });
        });
    Some((out, [b, t_out, c_out]))
}

/// One input channel: `y[r, c] (+)= Σ_j x[r·s + j]·w[j, c]` (a product with k = 10 is too thin
/// for BLAS).
fn taps_c1(x: &[f32], w: &[f32], k: usize, s: usize, c_out: usize, y: &mut [f32], acc: bool) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { taps_c1_avx2(x, w, k, s, c_out, y, acc) };
        return;
    }
    taps_c1_body(x, w, k, s, c_out, y, acc, |a, b, c| a * b + c);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn taps_c1_avx2(
    x: &[f32],
    w: &[f32],
    k: usize,
    s: usize,
    c_out: usize,
    y: &mut [f32],
    acc: bool,
) {
    taps_c1_body(x, w, k, s, c_out, y, acc, f32::mul_add);
}

/// `madd(a, b, c)` = a·b + c: fused where the caller's target has FMA (a call to a software
/// `fmaf` otherwise).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn taps_c1_body(
    x: &[f32],
    w: &[f32],
    k: usize,
    s: usize,
    c_out: usize,
    y: &mut [f32],
    acc: bool,
    madd: impl Fn(f32, f32, f32) -> f32,
) {
    for (r, row) in y.chunks_exact_mut(c_out).enumerate() {
        let xs = &x[r * s..r * s + k];
        if !acc {
            row.fill(0.0);
        }
        for (j, &xv) in xs.iter().enumerate() {
            let wj = &w[j * c_out..(j + 1) * c_out];
            for (o, &wv) in row.iter_mut().zip(wj) {
                *o = madd(xv, wv, *o);
            }
        }
    }
}

/// Per-channel count, mean and sum of squared deviations (Chan et al.'s parallel form).
#[derive(Clone)]
struct Moments {
    n: f64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl Moments {
    fn empty(c: usize) -> Self {
        Self {
            n: 0.0,
            mean: vec![0.0; c],
            m2: vec![0.0; c],
        }
    }

    /// The moments of `rows` (`[n, c]`, row-major), two passes over data in cache.
    fn of(rows: &[f32], c: usize) -> Self {
        let n = rows.len() / c;
        let mut m = Self::empty(c);
        if n == 0 {
            return m;
        }
        let mut sum = vec![0.0f32; c];
        for row in rows.chunks_exact(c) {
            for (a, &v) in sum.iter_mut().zip(row) {
                *a += v;
            }
        }
        let mean: Vec<f32> = sum.iter().map(|&v| v / n as f32).collect();
        let mut sq = vec![0.0f32; c];
        for row in rows.chunks_exact(c) {
            for ((a, &v), &mu) in sq.iter_mut().zip(row).zip(&mean) {
                let d = v - mu;
                *a += d * d;
            }
        }
        m.n = n as f64;
        m.mean = mean.iter().map(|&v| v as f64).collect();
        m.m2 = sq.iter().map(|&v| v as f64).collect();
        m
    }

    fn merge(&mut self, o: &Self) {
        if o.n == 0.0 {
            return;
        }
        let n = self.n + o.n;
        for ((ma, m2a), (&mb, &m2b)) in self
            .mean
            .iter_mut()
            .zip(self.m2.iter_mut())
            .zip(o.mean.iter().zip(&o.m2))
        {
            let d = mb - *ma;
            *ma += d * o.n / n;
            *m2a += m2b + d * d * self.n * o.n / n;
        }
        self.n = n;
    }
}

/// Layer 0 of a group-norm feature encoder on the host: conv, then GroupNorm with one group per
/// channel (each channel normalised over the time of its item, biased variance; statistics over
/// each item's first `frames[i]` frames when given, as `masked_channel_norm`), then GELU.
pub(crate) fn conv_channel_norm_gelu(
    conv: &FrameConv,
    g: &GroupNorm,
    x: &Tensor<3>,
    frames: Option<&[usize]>,
) -> Option<Tensor<3>> {
    if conv.padding != 0 || conv.weight.dims()[0] != 1 {
        return None;
    }
    let gamma = optional_storage(g.gamma.as_ref().map(|p| p.val()))?;
    let beta = optional_storage(g.beta.as_ref().map(|p| p.val()))?;
    let b = x.dims()[0];
    let c = conv.weight.dims()[2];
    let t_out = conv.out_frames(x.dims()[1]);
    let valid =
        |item: usize| frames.map_or(t_out, |f| f.get(item).map_or(t_out, |&v| v.min(t_out)));
    // Moments of every block's valid rows, merged per item in block order (deterministic).
    let parts = std::sync::Mutex::new(vec![Vec::new(); b]);
    let (mut out, dims) = conv_rows(conv, x, false, |item, r0, y| {
        let n = (y.len() / c).min(valid(item).saturating_sub(r0));
        let m = Moments::of(&y[..n * c], c);
        parts.lock().expect("no panics while held")[item].push((r0, m));
    })?;
    let parts = parts.into_inner().expect("no panics while held");
    let (gamma, beta) = (gamma.as_ref().map(f32s), beta.as_ref().map(f32s));
    // Per item and channel: y ↦ (y − mean)·scale + shift, scale = γ/√(var + ε), shift = β.
    let affine: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = parts
        .into_iter()
        .map(|mut blocks| {
            blocks.sort_by_key(|(r0, _)| *r0);
            let mut m = Moments::empty(c);
            for (_, part) in &blocks {
                m.merge(part);
            }
            let n = m.n.max(1.0);
            let mean: Vec<f32> = m.mean.iter().map(|&v| v as f32).collect();
            let scale: Vec<f32> = (0..c)
                .map(|ch| {
                    let var = (m.m2[ch] / n) as f32;
                    let inv = 1.0 / (var + g.epsilon as f32).sqrt();
                    gamma.map_or(inv, |gm| gm[ch] * inv)
                })
                .collect();
            let shift: Vec<f32> = (0..c).map(|ch| beta.map_or(0.0, |bt| bt[ch])).collect();
            (mean, scale, shift)
        })
        .collect();
    if t_out > 0 {
        out.par_chunks_mut(t_out * c)
            .zip(&affine)
            .for_each(|(y, (mean, scale, shift))| {
                y.par_chunks_mut(ROWS * c).for_each(|y| {
                    for row in y.chunks_exact_mut(c) {
                        for (((v, &mu), &sc), &sh) in row.iter_mut().zip(mean).zip(scale).zip(shift)
                        {
                            *v = (*v - mu) * sc + sh;
                        }
                    }
                    crate::fastmath::gelu_in_place(y);
                });
            });
    }
    Some(Tensor::from_data(TensorData::new(out, dims), &x.device()))
}

/// `x·W + b` of a burn `Linear` on the host (`[batch, time, d_in]` → `[batch, time, d_out]`):
/// the bias is written first and the product added to it (one pass fewer than matmul + add).
pub(crate) fn linear(l: &Linear, x: &Tensor<3>) -> Option<Tensor<3>> {
    let xs = flex_storage(x)?;
    let ws = flex_storage(&l.weight.val())?;
    let bs = optional_storage(l.bias.as_ref().map(|p| p.val()))?;
    let [b, t, d_in] = x.dims();
    let [w_in, d_out] = l.weight.dims();
    assert_eq!(w_in, d_in, "linear input width");
    let rows = b * t;
    let mut out = vec![0.0f32; rows * d_out];
    if let Some(bias) = bs.as_ref().map(f32s) {
        out.par_chunks_mut(ROWS * d_out)
            .for_each(|y| fill_rows(y, bias));
    }
    sgemm(
        (rows, d_out, d_in),
        View::rows(f32s(&xs), d_in),
        View::rows(f32s(&ws), d_out),
        &mut out,
        d_out,
        1.0,
        bs.is_some(),
        true,
    );
    Some(Tensor::from_data(
        TensorData::new(out, [b, t, d_out]),
        &x.device(),
    ))
}

/// Multi-head scaled dot-product attention on the host: `q`, `k`, `v` `[batch, time, heads·hd]`
/// (projected, q not yet scaled) → the context `[batch, time, heads·hd]`, heads side by side.
/// Each (item, head) is one task: scores `scale·q_h·k_hᵀ` straight from the rows of `q` and `k`
/// (strided views, no head split copies), `mask` (1 = real key frame) as a −1e9 bias on padded
/// keys, softmax in place, then `P·v_h`.
pub(crate) fn attention(
    q: &Tensor<3>,
    k: &Tensor<3>,
    v: &Tensor<3>,
    heads: usize,
    scale: f32,
    mask: Option<&Tensor<2>>,
) -> Option<Tensor<3>> {
    let (qs, ks, vs) = (flex_storage(q)?, flex_storage(k)?, flex_storage(v)?);
    let ms = optional_storage(mask.cloned())?;
    let [b, t, d] = q.dims();
    let hd = d / heads;
    let (qv, kv, vv) = (f32s(&qs), f32s(&ks), f32s(&vs));
    // Padded keys get a large negative bias (transformers uses the dtype minimum), per item.
    let key_bias: Option<Vec<f32>> = ms
        .as_ref()
        .map(|m| f32s(m).iter().map(|&m| (1.0 - m) * -1e9).collect());
    let blocks: Vec<Vec<f32>> = (0..b * heads)
        .into_par_iter()
        .map(|task| {
            let (item, h) = (task / heads, task % heads);
            let at = item * t * d + h * hd;
            let mut p = vec![0.0f32; t * t];
            sgemm(
                (t, t, hd),
                View::rows(&qv[at..], d),
                View::t(&kv[at..], d),
                &mut p,
                t,
                scale,
                false,
                false,
            );
            let key_bias = key_bias.as_ref().map(|kb| &kb[item * t..(item + 1) * t]);
            for row in p.chunks_exact_mut(t) {
                if let Some(kb) = key_bias {
                    for (s, &bias) in row.iter_mut().zip(kb) {
                        *s += bias;
                    }
                }
                softmax_in_place(row);
            }
            let mut ctx = vec![0.0f32; t * hd];
            sgemm(
                (t, hd, t),
                View::rows(&p, t),
                View::rows(&vv[at..], d),
                &mut ctx,
                hd,
                1.0,
                false,
                false,
            );
            ctx
        })
        .collect();
    let mut out = vec![0.0f32; b * t * d];
    out.par_chunks_mut(t * d).enumerate().for_each(|(item, y)| {
        for (h, ctx) in blocks[item * heads..(item + 1) * heads].iter().enumerate() {
            for (row, c) in y.chunks_exact_mut(d).zip(ctx.chunks_exact(hd)) {
                row[h * hd..(h + 1) * hd].copy_from_slice(c);
            }
        }
    });
    Some(Tensor::from_data(
        TensorData::new(out, [b, t, d]),
        &q.device(),
    ))
}

/// Softmax of one row in place (max subtracted first, as burn's and PyTorch's).
fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for s in row.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    let inv = 1.0 / sum;
    for s in row.iter_mut() {
        *s *= inv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssl::wav2vec2::{Attention, channel_norm, masked_channel_norm};
    use burn::module::Param;
    use burn::nn::{GroupNormConfig, LinearConfig};
    use burn::tensor::Distribution;
    use burn::tensor::activation::gelu;

    /// Largest |got − want| / (1 + |want|).
    fn max_err<const D: usize>(got: Tensor<D>, want: Tensor<D>) -> f32 {
        assert_eq!(got.dims(), want.dims());
        let (g, w) = (crate::tensor::read_f32(got), crate::tensor::read_f32(want));
        g.iter()
            .zip(&w)
            .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
            .fold(0.0, f32::max)
    }

    fn random<const D: usize>(shape: [usize; D], dev: &Device) -> Tensor<D> {
        Tensor::random(shape, Distribution::Uniform(-1.0, 2.0), dev)
    }

    /// Strided convolutions (one input channel and several, kernels that are and are not
    /// multiples of the stride, with and without bias, more rows than one block) equal the
    /// tensor path, alone and followed by GELU.
    #[test]
    fn conv_equals_the_tensor_path() {
        let dev = Device::flex();
        dev.seed(7);
        for (c_in, c_out, k, s, bias, t) in [
            (1, 16, 10, 5, false, 700),
            (1, 8, 4, 3, true, 50),
            (6, 20, 3, 2, false, 141),
            (6, 4, 2, 2, true, 40),
            (5, 7, 7, 3, true, 290),
        ] {
            let layer = FrameConv::random(c_in, c_out, k, 1, s, 0, bias, &dev);
            let x = random([3, t, c_in], &dev);
            let want = layer.forward_tensor(x.clone());
            let err = max_err(conv(&layer, &x, false).expect("host path"), want.clone());
            assert!(err < 1e-5, "c_in {c_in} k {k} s {s}: {err}");
            let err = max_err(conv(&layer, &x, true).expect("host path"), gelu(want));
            assert!(err < 1e-5, "c_in {c_in} k {k} s {s} + GELU: {err}");
        }
    }

    /// Layer 0 of a group-norm encoder: conv → per-channel GroupNorm over each item's time
    /// (all frames, or each item's real frames of a padded batch) → GELU, as the tensor path.
    #[test]
    fn conv_channel_norm_gelu_equals_the_tensor_path() {
        let dev = Device::flex();
        dev.seed(11);
        let conv = FrameConv::random(1, 12, 10, 1, 5, 0, false, &dev);
        let mut g = GroupNormConfig::new(12, 12).init(&dev);
        g.gamma = Some(Param::from_tensor(random([12], &dev)));
        g.beta = Some(Param::from_tensor(random([12], &dev)));
        // Offset input: the statistics must not lose the variance under a large mean.
        let x = random::<3>([3, 1500, 1], &dev).add_scalar(3.0);
        let y = conv.forward_tensor(x.clone());
        let t_out = y.dims()[1];
        let err = max_err(
            conv_channel_norm_gelu(&conv, &g, &x, None).expect("host path"),
            gelu(channel_norm(y.clone(), &g)),
        );
        assert!(err < 1e-5, "all frames: {err}");
        let frames = [t_out - 9, 150, 0];
        let got = conv_channel_norm_gelu(&conv, &g, &x, Some(&frames)).expect("host path");
        let want = gelu(masked_channel_norm(y, &g, &frames));
        let err = max_err(got.clone().narrow(0, 0, 2), want.clone().narrow(0, 0, 2));
        assert!(err < 1e-5, "real frames only: {err}");
        // No real frames: zero variance, so both paths scale by 1/√ε (316×), rounding included.
        let err = max_err(got.narrow(0, 2, 1), want.narrow(0, 2, 1));
        assert!(err < 316.0 * 1e-5, "no real frames: {err}");
    }

    #[test]
    fn linear_equals_burn_linear() {
        let dev = Device::flex();
        dev.seed(3);
        for bias in [true, false] {
            let l = LinearConfig::new(24, 40).with_bias(bias).init(&dev);
            let x = random([2, 70, 24], &dev);
            let err = max_err(linear(&l, &x).expect("host path"), l.forward(x));
            assert!(err < 1e-5, "bias {bias}: {err}");
        }
    }

    /// The fused attention equals the tensor path's projections, head split, scaled scores,
    /// key mask, softmax and context, with and without padded keys.
    #[test]
    fn attention_equals_the_tensor_path() {
        let dev = Device::flex();
        dev.seed(5);
        let (d, heads, t) = (32, 4, 37);
        let proj = || LinearConfig::new(d, d).init(&dev);
        let att = Attention {
            q_proj: proj(),
            k_proj: proj(),
            v_proj: proj(),
            out_proj: proj(),
            n_heads: heads,
            rel: None,
        };
        let x = random([3, t, d], &dev);
        let mut m = vec![1.0f32; 3 * t];
        m[t + 20..2 * t].fill(0.0);
        let mask = Tensor::<2>::from_data(TensorData::new(m, [3, t]), &dev);
        for mask in [None, Some(&mask)] {
            let err = max_err(
                att.forward(x.clone(), mask, None),
                att.forward_tensor(x.clone(), mask, None),
            );
            assert!(err < 1e-5, "mask {}: {err}", mask.is_some());
        }
    }
}
