//! The DTCN's dilated "same" convolution on time-major rows as tap products.
//!
//! Output row (b, t) is `bias + Σⱼ x(b, t + sⱼ)·Wⱼ` with sⱼ = j·d − pad, the rows outside the
//! utterance being zero. The tensor-op version builds the im2col matrix (`[rows, k·c_in]`, a
//! gather of k copies of the input) for one product, and its backward scatters the k copies'
//! gradient back. Here each utterance's output rows start as the bias and every tap's product is
//! added to them in place (`beta = 1` products on row ranges of the input, no copy); backward,
//! the input gradient accumulates the taps' products the same way and Wⱼ's gradient is the sum of
//! `x(shifted)ᵀ·dy` over utterances. Tasks are blocks of utterances; per-task weight and bias
//! gradients are added in task order, so results do not depend on scheduling.

use std::sync::Arc;

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{Flex, FlexTensor};
use burn::nn::PaddingConfig1d;
use burn::nn::conv::Conv1d;
use burn::prelude::*;
use rayon::prelude::*;

use super::{add_in_order, flex_tensor};
use crate::blas::{View, fill_rows, sgemm};
use crate::tensor::{contiguous, f32s};

/// Utterances per parallel task.
const ITEMS: usize = 4;

/// `conv` (stride 1, one group, odd kernel, symmetric "same" padding, with a bias) applied to
/// time-major rows `[batch · time, c_in]` → `[batch · time, c_out]`, as one operation on the Flex
/// device (with autodiff: one graph node, hand-written backward). `None` elsewhere or for other
/// convolutions; the caller then uses the tensor ops.
pub fn conv1d_rows_fused(
    conv: &Conv1d,
    rows: &Tensor<2>,
    batch: usize,
    time: usize,
) -> Option<Tensor<2>> {
    let device = rows.device();
    let bias = conv.bias.as_ref()?;
    let weight = conv.weight.val();
    let [c_out, c_in, k] = weight.dims();
    let pad = conv.dilation * k.saturating_sub(1) / 2;
    let same = match conv.padding {
        PaddingConfig1d::Same => true,
        PaddingConfig1d::Explicit(l, r) => l == pad && r == pad,
        PaddingConfig1d::Valid => k == 1,
    };
    if device != Device::flex()
        || !same
        || conv.stride != 1
        || conv.groups != 1
        || k % 2 == 0
        || rows.dims() != [batch * time, c_in]
        || batch * time == 0
    {
        return None;
    }
    let geom = Geometry {
        batch,
        time,
        c_in,
        c_out,
        k,
        dilation: conv.dilation,
    };
    if !device.is_autodiff() {
        let x = contiguous(rows.clone().try_into_primitive::<Flex>().ok()?);
        let w = contiguous(weight.try_into_primitive::<Flex>().ok()?);
        let b = contiguous(bias.val().try_into_primitive::<Flex>().ok()?);
        let y = geom.forward(f32s(&x), &reverse_axes(f32s(&w), c_out, c_in, k), f32s(&b));
        return Some(Tensor::from_primitive::<Flex>(flex_tensor(
            y,
            [batch * time, c_out],
        )));
    }
    let x_ad = rows.clone().try_into_primitive::<Autodiff<Flex>>().ok()?;
    let w_ad = weight.try_into_primitive::<Autodiff<Flex>>().ok()?;
    let b_ad = bias.val().try_into_primitive::<Autodiff<Flex>>().ok()?;
    let x = contiguous(x_ad.primitive().clone());
    let wt = reverse_axes(f32s(&contiguous(w_ad.primitive().clone())), c_out, c_in, k);
    let y = geom.forward(f32s(&x), &wt, f32s(&contiguous(b_ad.primitive().clone())));
    let y = flex_tensor(y, [batch * time, c_out]);
    let out = match ConvBackward
        .prepare::<NoCheckpointing>([x_ad.node(), w_ad.node(), b_ad.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(
            ConvState {
                x,
                wt: Arc::new(wt),
                geom,
            },
            y,
        ),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(Tensor::from_primitive::<Autodiff<Flex>>(out))
}

/// A row-major `[a, b, c]` array with its axes reversed, `[c, b, a]`: burn's `[c_out, c_in, k]`
/// weight as k row-major `[c_in, c_out]` matrices Wⱼ, and (applied to `[k, c_in, c_out]`) back.
fn reverse_axes(w: &[f32], a: usize, b: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; w.len()];
    for x in 0..a {
        for y in 0..b {
            for z in 0..c {
                out[(z * b + y) * a + x] = w[(x * b + y) * c + z];
            }
        }
    }
    out
}

#[derive(Clone, Copy, Debug)]
struct Geometry {
    batch: usize,
    time: usize,
    c_in: usize,
    c_out: usize,
    k: usize,
    dilation: usize,
}

impl Geometry {
    /// The taps that reach inside the utterance: `(j, from, t0, t1)`, output rows `t0..t1` of
    /// tap j reading input rows `from..from + (t1 − t0)` (input row t + j·d − pad).
    fn taps(&self) -> impl Iterator<Item = (usize, usize, usize, usize)> {
        let pad = (self.dilation * (self.k - 1) / 2) as isize;
        let (time, dilation) = (self.time as isize, self.dilation as isize);
        (0..self.k).filter_map(move |j| {
            let s = j as isize * dilation - pad;
            let (t0, t1) = ((-s).max(0), time - s.max(0));
            (t1 > t0).then(|| (j, (t0 + s) as usize, t0 as usize, t1 as usize))
        })
    }

    /// The k products of one tap block: Wⱼ in `wt`.
    fn w<'a>(&self, wt: &'a [f32], j: usize) -> &'a [f32] {
        &wt[j * self.c_in * self.c_out..(j + 1) * self.c_in * self.c_out]
    }

    fn forward(&self, x: &[f32], wt: &[f32], bias: &[f32]) -> Vec<f32> {
        let (t, ci, co) = (self.time, self.c_in, self.c_out);
        let mut y = vec![0.0f32; self.batch * t * co];
        y.par_chunks_mut(ITEMS * t * co)
            .enumerate()
            .for_each(|(blk, ys)| {
                fill_rows(ys, bias);
                for (i, yb) in ys.chunks_exact_mut(t * co).enumerate() {
                    let b = blk * ITEMS + i;
                    let xb = &x[b * t * ci..(b + 1) * t * ci];
                    for (j, from, t0, t1) in self.taps() {
                        sgemm(
                            (t1 - t0, co, ci),
                            View::rows(&xb[from * ci..], ci),
                            View::rows(self.w(wt, j), co),
                            &mut yb[t0 * co..],
                            co,
                            1.0,
                            true,
                            false,
                        );
                    }
                }
            });
        y
    }

    /// `(dx, dW in taps-major layout, dbias)` for upstream `dy`; `dx` only when `want_dx`.
    fn backward(
        &self,
        x: &[f32],
        wt: &[f32],
        dy: &[f32],
        want_dx: bool,
    ) -> (Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
        let (t, ci, co) = (self.time, self.c_in, self.c_out);
        let mut dx = vec![0.0f32; if want_dx { self.batch * t * ci } else { 0 }];
        let blocks = self.batch.div_ceil(ITEMS);
        let mut dx_blocks: Vec<Option<&mut [f32]>> = if want_dx {
            dx.chunks_mut(ITEMS * t * ci).map(Some).collect()
        } else {
            (0..blocks).map(|_| None).collect()
        };
        let partial: Vec<(Vec<f32>, Vec<f32>)> = dx_blocks
            .par_iter_mut()
            .enumerate()
            .map(|(blk, dxs)| {
                let mut dw = vec![0.0f32; wt.len()];
                let mut db = vec![0.0f32; co];
                let items = blk * ITEMS..((blk + 1) * ITEMS).min(self.batch);
                for (i, b) in items.enumerate() {
                    let xb = &x[b * t * ci..(b + 1) * t * ci];
                    let dyb = &dy[b * t * co..(b + 1) * t * co];
                    for row in dyb.chunks_exact(co) {
                        for (d, g) in db.iter_mut().zip(row) {
                            *d += g;
                        }
                    }
                    for (j, from, t0, t1) in self.taps() {
                        // dWⱼ += x(rows t0 + s..t1 + s)ᵀ · dy(rows t0..t1)
                        sgemm(
                            (ci, co, t1 - t0),
                            View::t(&xb[from * ci..], ci),
                            View::rows(&dyb[t0 * co..], co),
                            &mut dw[j * ci * co..(j + 1) * ci * co],
                            co,
                            1.0,
                            true,
                            false,
                        );
                        // dx(rows t0 + s..t1 + s) += dy(rows t0..t1) · Wⱼᵀ
                        if let Some(dxs) = dxs.as_deref_mut() {
                            let dxb = &mut dxs[i * t * ci..(i + 1) * t * ci];
                            sgemm(
                                (t1 - t0, ci, co),
                                View::rows(&dyb[t0 * co..], co),
                                View::t(self.w(wt, j), co),
                                &mut dxb[from * ci..],
                                ci,
                                1.0,
                                true,
                                false,
                            );
                        }
                    }
                }
                (dw, db)
            })
            .collect();
        let to_f32 = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect::<Vec<f32>>();
        let dw = to_f32(add_in_order(
            partial.iter().map(|p| p.0.as_slice()),
            wt.len(),
        ));
        let db = to_f32(add_in_order(partial.iter().map(|p| p.1.as_slice()), co));
        drop(dx_blocks);
        (want_dx.then_some(dx), dw, db)
    }
}

#[derive(Debug, Clone)]
struct ConvState {
    x: FlexTensor,
    wt: Arc<Vec<f32>>,
    geom: Geometry,
}

/// The backward step of [`conv1d_rows_fused`] (parents: input rows, weight, bias).
#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 3> for ConvBackward {
    type State = ConvState;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy = contiguous(grads.consume::<Flex>(&ops.node));
        let ConvState { x, wt, geom } = ops.state;
        let g = geom;
        let (dx, dwt, db) = g.backward(f32s(&x), &wt, f32s(&dy), node_x.is_some());
        if let (Some(node), Some(dx)) = (node_x, dx) {
            grads.register::<Flex>(node.id, flex_tensor(dx, [g.batch * g.time, g.c_in]));
        }
        if let Some(node) = node_w {
            // Back to burn's [c_out, c_in, k].
            let dw = reverse_axes(&dwt, g.k, g.c_in, g.c_out);
            grads.register::<Flex>(node.id, flex_tensor(dw, [g.c_out, g.c_in, g.k]));
        }
        if let Some(node) = node_b {
            grads.register::<Flex>(node.id, flex_tensor(db, [g.c_out]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::conv::Conv1dConfig;

    use crate::eval::compare::max_abs_diff;
    use crate::rng::SplitMix64;
    use crate::tensor::read_f32;

    /// Values and the gradients of input, weight and bias equal burn's `Conv1d` (on
    /// `[batch, c, time]`), including dilations that reach past the whole utterance, a batch
    /// that is not a multiple of the task size, and one tap (k = 1); without autodiff the
    /// forward equals it too.
    #[test]
    fn tap_products_equal_burn_conv1d_forward_and_backward() {
        let device = Device::flex().autodiff();
        for (batch, k, d, c_in, c_out, t) in [
            (5, 3, 1, 5, 7, 19),
            (3, 3, 4, 6, 6, 23),
            (2, 5, 2, 4, 3, 11),
            (6, 3, 8, 3, 4, 7),
            (1, 1, 1, 3, 2, 5),
        ] {
            let pad = d * (k - 1) / 2;
            let conv = Conv1dConfig::new(c_in, c_out, k)
                .with_dilation(d)
                .with_padding(PaddingConfig1d::Explicit(pad, pad))
                .init(&device);
            let mut rng = SplitMix64::new((k * 100 + d * 10 + batch) as u64);
            let xv: Vec<f32> = (0..batch * c_in * t)
                .map(|_| rng.range(-1.0, 1.0) as f32)
                .collect();
            let up: Vec<f32> = (0..batch * c_out * t)
                .map(|_| rng.range(-1.0, 1.0) as f32)
                .collect();
            let ctx = format!("batch {batch}, k {k}, dilation {d}, time {t}");
            let run = |ours: bool| {
                let x = Tensor::<1>::from_floats(xv.as_slice(), &device)
                    .reshape([batch, c_in, t])
                    .require_grad();
                let y = if ours {
                    let rows = x.clone().swap_dims(1, 2).reshape([batch * t, c_in]);
                    conv1d_rows_fused(&conv, &rows, batch, t)
                        .expect("the fused path applies")
                        .reshape([batch, t, c_out])
                        .swap_dims(1, 2)
                } else {
                    conv.forward(x.clone())
                };
                let upstream =
                    Tensor::<1>::from_floats(up.as_slice(), &device).reshape([batch, c_out, t]);
                let grads = (y.clone() * upstream).sum().backward();
                (
                    read_f32(y),
                    read_f32(x.grad(&grads).unwrap()),
                    read_f32(conv.weight.val().grad(&grads).unwrap()),
                    read_f32(conv.bias.as_ref().unwrap().val().grad(&grads).unwrap()),
                )
            };
            let (a, b) = (run(true), run(false));
            assert!(max_abs_diff(&a.0, &b.0) < 1e-5, "output, {ctx}");
            assert!(max_abs_diff(&a.1, &b.1) < 1e-5, "input gradient, {ctx}");
            assert!(max_abs_diff(&a.2, &b.2) < 1e-4, "weight gradient, {ctx}");
            assert!(max_abs_diff(&a.3, &b.3) < 1e-4, "bias gradient, {ctx}");

            // Inference: the plain Flex device, same values.
            let plain = Device::flex();
            let conv = conv.valid();
            let x = Tensor::<1>::from_floats(xv.as_slice(), &plain).reshape([batch, c_in, t]);
            let rows = x.clone().swap_dims(1, 2).reshape([batch * t, c_in]);
            let ours = conv1d_rows_fused(&conv, &rows, batch, t)
                .expect("the fused path applies")
                .reshape([batch, t, c_out])
                .swap_dims(1, 2);
            let diff = max_abs_diff(&read_f32(ours), &read_f32(conv.forward(x)));
            assert!(diff < 1e-5, "inference output, {ctx}");
        }
    }

    /// Convolutions it does not cover (no bias, stride 2, even kernel, other padding) are left
    /// to the caller.
    #[test]
    fn other_convolutions_are_declined() {
        let device = Device::flex();
        let rows = Tensor::<2>::zeros([2 * 9, 3], &device);
        let same = PaddingConfig1d::Explicit(1, 1);
        let no_bias = Conv1dConfig::new(3, 4, 3)
            .with_padding(same.clone())
            .with_bias(false)
            .init(&device);
        assert!(conv1d_rows_fused(&no_bias, &rows, 2, 9).is_none());
        let strided = Conv1dConfig::new(3, 4, 3)
            .with_padding(same.clone())
            .with_stride(2)
            .init(&device);
        assert!(conv1d_rows_fused(&strided, &rows, 2, 9).is_none());
        let even = Conv1dConfig::new(3, 4, 2).init(&device);
        assert!(conv1d_rows_fused(&even, &rows, 2, 9).is_none());
        let unpadded = Conv1dConfig::new(3, 4, 3).init(&device);
        assert!(conv1d_rows_fused(&unpadded, &rows, 2, 9).is_none());
        // The same layer with "same" padding is covered.
        let covered = Conv1dConfig::new(3, 4, 3).with_padding(same).init(&device);
        assert!(conv1d_rows_fused(&covered, &rows, 2, 9).is_some());
    }
}
