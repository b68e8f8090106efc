//! The DTCN block's tail, `dropout(relu(batch_norm(y))) + residual`, as one operation.
//!
//! As tensor ops, that tail is about ten passes over the `[batch · time, channels]` rows forward
//! (two column means, a centring, three scalings, ReLU, a mask built from random draws, its
//! product, the residual sum) and about twenty backward, each writing a fresh buffer and a graph
//! node. Here it is two passes forward — the column moments, then one pass that writes the output
//! and a byte per value saying whether the gradient flows through it (kept by dropout and above
//! zero after the ReLU) — and two backward: the per-channel sums BatchNorm's gradient needs, then
//! the input gradient; the residual's gradient is the upstream one, passed on without a copy. The
//! dropout mask is the one [`crate::model::ops::dropout`] draws (the same generator —
//! `ops::fill_mask` —, seed and threshold), so a seeded run gives the same numbers either way (tests below, against the
//! tensor-op tail on the same seed).
//!
//! Only training on the Flex autodiff device takes this path (BatchNorm in training mode, batch
//! statistics); inference, frozen BatchNorm and GPU devices keep the tensor ops.

use std::sync::Arc;

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{Flex, FlexTensor};
use burn::nn::{BatchNorm, Dropout};
use burn::prelude::*;
use burn::tensor::activation::relu;
use rayon::prelude::*;

use super::{add_in_order, flex_tensor};
use crate::model::ops::{
    batch_norm_rows, draw_seed, dropout_seeded, fill_mask, keep_threshold, update_running,
};
use crate::tensor::{contiguous, f32s};

/// Rows per parallel task (even, so that every task starts on a whole draw of the mask
/// generator, which yields two values per 64-bit output).
const ROWS: usize = 256;

/// `dropout(d, relu(batch_norm_rows(bn, y))) + residual` for time-major rows `[n, channels]`,
/// fused on the Flex autodiff device when BatchNorm trains; the tensor ops otherwise.
pub fn bn_relu_dropout_add(
    bn: &BatchNorm,
    d: &Dropout,
    y: Tensor<2>,
    residual: Tensor<2>,
) -> Tensor<2> {
    bn_relu_dropout_add_seeded(bn, d, y, residual, draw_seed)
}

/// [`bn_relu_dropout_add`] with the dropout mask's seed from `seed` (see
/// [`dropout_seeded`]).
fn bn_relu_dropout_add_seeded(
    bn: &BatchNorm,
    d: &Dropout,
    y: Tensor<2>,
    residual: Tensor<2>,
    seed: impl FnOnce(&Device) -> u64,
) -> Tensor<2> {
    let device = y.device();
    let fused = device.is_autodiff()
        && device == Device::flex()
        && bn.training.is_enabled()
        && y.dims()[0] > 0
        && y.dims() == residual.dims();
    if !fused {
        return dropout_seeded(d, relu(batch_norm_rows(bn, y)), seed) + residual;
    }
    let keep = if d.training.is_enabled() && d.prob > 0.0 {
        1.0 - d.prob
    } else {
        1.0
    };
    let seed = if keep < 1.0 { seed(&device) } else { 0 };
    let parts = (
        y.clone().try_into_primitive::<Autodiff<Flex>>(),
        residual.clone().try_into_primitive::<Autodiff<Flex>>(),
        bn.gamma.val().try_into_primitive::<Autodiff<Flex>>(),
        bn.beta.val().try_into_primitive::<Autodiff<Flex>>(),
    );
    let (Ok(y_ad), Ok(h_ad), Ok(g_ad), Ok(b_ad)) = parts else {
        return dropout_seeded(d, relu(batch_norm_rows(bn, y)), |_| seed) + residual;
    };
    let [n, c] = y.dims();
    let y_flex = contiguous(y_ad.primitive().clone());
    let h_flex = contiguous(h_ad.primitive().clone());
    let gamma = f32s(&contiguous(g_ad.primitive().clone())).to_vec();
    let beta = f32s(&contiguous(b_ad.primitive().clone())).to_vec();
    let (mean, var) = column_moments(f32s(&y_flex), n, c);
    update_running(
        bn,
        Tensor::from_floats(mean.as_slice(), &device),
        Tensor::from_floats(var.as_slice(), &device),
    );
    let inv: Vec<f32> = var
        .iter()
        .map(|v| 1.0 / (v + bn.epsilon as f32).sqrt())
        .collect();
    let a = gamma.iter().zip(&inv).map(|(g, i)| g * i).collect();
    let tail = Tail {
        mean,
        inv,
        a,
        scale: (1.0 / keep) as f32,
        n,
        c,
    };
    let (out, flows) = tail.forward(
        f32s(&y_flex),
        f32s(&h_flex),
        &beta,
        keep_threshold(keep),
        seed,
    );
    let out = flex_tensor(out, [n, c]);
    let nodes = [y_ad.node(), h_ad.node(), g_ad.node(), b_ad.node()];
    let out = match TailBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(
            TailState {
                y: y_flex,
                flows: Arc::new(flows),
                tail: Arc::new(tail),
            },
            out,
        ),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive::<Autodiff<Flex>>(out)
}

/// Per-column mean and biased variance of `[n, c]` rows (two passes, block partial sums in f32,
/// merged in f64 in block order, so the result does not depend on scheduling).
fn column_moments(x: &[f32], n: usize, c: usize) -> (Vec<f32>, Vec<f32>) {
    let sums = |f: &(dyn Fn(&[f32], &mut [f32]) + Sync)| -> Vec<f64> {
        let partial: Vec<Vec<f32>> = x
            .par_chunks(ROWS * c)
            .map(|block| {
                let mut acc = vec![0.0f32; c];
                for row in block.chunks_exact(c) {
                    f(row, &mut acc);
                }
                acc
            })
            .collect();
        add_in_order(partial.iter().map(Vec::as_slice), c)
    };
    let mean: Vec<f32> = sums(&|row, acc| {
        for (a, v) in acc.iter_mut().zip(row) {
            *a += v;
        }
    })
    .iter()
    .map(|s| (s / n as f64) as f32)
    .collect();
    let var: Vec<f32> = sums(&|row, acc| {
        for ((a, v), m) in acc.iter_mut().zip(row).zip(&mean) {
            let d = v - m;
            *a += d * d;
        }
    })
    .iter()
    .map(|s| (s / n as f64) as f32)
    .collect();
    (mean, var)
}

/// What the forward pass saved for the backward one (besides `y` and the flow mask).
#[derive(Debug)]
struct Tail {
    mean: Vec<f32>,
    /// 1/√(var + ε) per channel.
    inv: Vec<f32>,
    /// γ·inv per channel.
    a: Vec<f32>,
    /// 1/keep.
    scale: f32,
    n: usize,
    c: usize,
}

impl Tail {
    /// `(out, flows)`: out = residual + kept·scale·relu(γ·(y − μ)·inv + β); flows = 1 where the
    /// value was kept and positive (where the gradient passes), else 0.
    fn forward(
        &self,
        y: &[f32],
        residual: &[f32],
        beta: &[f32],
        threshold: u32,
        seed: u64,
    ) -> (Vec<f32>, Vec<u8>) {
        let c = self.c;
        let mut out = vec![0.0f32; y.len()];
        let mut flows = vec![0u8; y.len()];
        out.par_chunks_mut(ROWS * c)
            .zip(flows.par_chunks_mut(ROWS * c))
            .enumerate()
            .for_each(|(blk, (out, flows))| {
                let first = blk * ROWS * c;
                if threshold == u32::MAX {
                    flows.fill(1);
                } else {
                    fill_mask(seed, threshold, first, flows, 1, 0);
                }
                let y = &y[first..first + out.len()];
                let h = &residual[first..first + out.len()];
                // Branch-free (the mask and the ReLU's sign are random), so that it vectorises.
                let per_channel = || self.mean.iter().zip(&self.a).zip(beta);
                for (((o, f), y), h) in out
                    .chunks_exact_mut(c)
                    .zip(flows.chunks_exact_mut(c))
                    .zip(y.chunks_exact(c))
                    .zip(h.chunks_exact(c))
                {
                    for ((((o, f), y), h), ((m, a), b)) in o
                        .iter_mut()
                        .zip(f.iter_mut())
                        .zip(y)
                        .zip(h)
                        .zip(per_channel())
                    {
                        let z = (y - m) * a + b;
                        let pass = (*f != 0) & (z > 0.0);
                        *f = pass as u8;
                        *o = h + z * self.scale * (pass as u8 as f32);
                    }
                }
            });
        (out, flows)
    }

    /// Per-channel Σg and Σg·x̂ over all rows, g being the gradient reaching BatchNorm's output.
    fn sums(&self, grad: &[f32], y: &[f32], flows: &[u8]) -> (Vec<f64>, Vec<f64>) {
        let c = self.c;
        let partial: Vec<(Vec<f32>, Vec<f32>)> = grad
            .par_chunks(ROWS * c)
            .zip(y.par_chunks(ROWS * c))
            .zip(flows.par_chunks(ROWS * c))
            .map(|((grad, y), flows)| {
                let (mut sg, mut sgx) = (vec![0.0f32; c], vec![0.0f32; c]);
                for ((g, y), f) in grad
                    .chunks_exact(c)
                    .zip(y.chunks_exact(c))
                    .zip(flows.chunks_exact(c))
                {
                    for (((((g, y), f), (m, inv)), sg), sgx) in g
                        .iter()
                        .zip(y)
                        .zip(f)
                        .zip(self.mean.iter().zip(&self.inv))
                        .zip(sg.iter_mut())
                        .zip(sgx.iter_mut())
                    {
                        let g = g * self.scale * *f as f32;
                        let xhat = (y - m) * inv;
                        *sg += g;
                        *sgx += g * xhat;
                    }
                }
                (sg, sgx)
            })
            .collect();
        (
            add_in_order(partial.iter().map(|p| p.0.as_slice()), c),
            add_in_order(partial.iter().map(|p| p.1.as_slice()), c),
        )
    }

    /// BatchNorm's input gradient with batch statistics:
    /// dy = γ·inv·(g − Σg/n − x̂·Σg·x̂/n).
    fn input_grad(
        &self,
        grad: &[f32],
        y: &[f32],
        flows: &[u8],
        sg: &[f64],
        sgx: &[f64],
    ) -> Vec<f32> {
        let c = self.c;
        let n = self.n as f64;
        let mg: Vec<f32> = sg.iter().map(|s| (s / n) as f32).collect();
        let mgx: Vec<f32> = sgx.iter().map(|s| (s / n) as f32).collect();
        let mut dy = vec![0.0f32; grad.len()];
        dy.par_chunks_mut(ROWS * c)
            .enumerate()
            .for_each(|(blk, dy)| {
                let first = blk * ROWS * c;
                let range = first..first + dy.len();
                for (((d, g), y), f) in dy
                    .chunks_exact_mut(c)
                    .zip(grad[range.clone()].chunks_exact(c))
                    .zip(y[range.clone()].chunks_exact(c))
                    .zip(flows[range].chunks_exact(c))
                {
                    let per_channel = self
                        .mean
                        .iter()
                        .zip(&self.inv)
                        .zip(&self.a)
                        .zip(&mg)
                        .zip(&mgx);
                    for ((((d, g), y), f), ((((m, inv), a), mg), mgx)) in
                        d.iter_mut().zip(g).zip(y).zip(f).zip(per_channel)
                    {
                        let g = g * self.scale * *f as f32;
                        let xhat = (y - m) * inv;
                        *d = a * (g - mg - xhat * mgx);
                    }
                }
            });
        dy
    }
}

#[derive(Debug, Clone)]
struct TailState {
    y: FlexTensor,
    flows: Arc<Vec<u8>>,
    tail: Arc<Tail>,
}

/// The backward step of [`bn_relu_dropout_add`] (parents: y, residual, γ, β).
#[derive(Debug)]
struct TailBackward;

impl Backward<Flex, 4> for TailBackward {
    type State = TailState;

    fn backward(
        self,
        ops: Ops<Self::State, 4>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_y, node_h, node_gamma, node_beta] = ops.parents;
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let TailState { y, flows, tail } = ops.state;
        if node_y.is_some() || node_gamma.is_some() || node_beta.is_some() {
            let (g, yv) = (f32s(&grad), f32s(&y));
            let (sg, sgx) = tail.sums(g, yv, &flows);
            let vector = |v: &[f64]| flex_tensor(v.iter().map(|x| *x as f32).collect(), [tail.c]);
            if let Some(node) = node_gamma {
                grads.register::<Flex>(node.id, vector(&sgx));
            }
            if let Some(node) = node_beta {
                grads.register::<Flex>(node.id, vector(&sg));
            }
            if let Some(node) = node_y {
                let dy = tail.input_grad(g, yv, &flows, &sg, &sgx);
                grads.register::<Flex>(node.id, flex_tensor(dy, [tail.n, tail.c]));
            }
        }
        if let Some(node) = node_h {
            grads.register::<Flex>(node.id, grad);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{BatchNormConfig, DropoutConfig};

    use crate::eval::compare::max_abs_diff;
    use crate::rng::SplitMix64;
    use crate::tensor::read_f32;

    /// Output, the gradients of y, the residual, γ and β, and the running statistics equal the
    /// tensor-op tail with the same mask seed (so the same dropout mask), with and without
    /// dropout, for a row count that is not a multiple of the task size and an odd channel count.
    #[test]
    fn fused_tail_equals_the_tensor_ops() {
        let device = Device::flex().autodiff();
        for (n, c, p) in [(600, 7, 0.25), (513, 8, 0.0), (64, 64, 0.5)] {
            let mut rng = SplitMix64::new((n * c) as u64);
            let mut draw = |k: usize, lo: f64, hi: f64| -> Vec<f32> {
                (0..k).map(|_| rng.range(lo, hi) as f32).collect()
            };
            let (yv, hv, up) = (
                draw(n * c, -2.0, 3.0),
                draw(n * c, -1.0, 1.0),
                draw(n * c, -1.0, 1.0),
            );
            let (gv, bv) = (draw(c, 0.5, 1.5), draw(c, -0.5, 0.5));
            let run = |fused: bool| {
                let mut bn = BatchNormConfig::new(c).init(&device);
                bn.gamma = burn::module::Param::from_tensor(Tensor::<1>::from_floats(
                    gv.as_slice(),
                    &device,
                ));
                bn.beta = burn::module::Param::from_tensor(Tensor::<1>::from_floats(
                    bv.as_slice(),
                    &device,
                ));
                let d = DropoutConfig::new(p).init();
                let y = Tensor::<1>::from_floats(yv.as_slice(), &device)
                    .reshape([n, c])
                    .require_grad();
                let h = Tensor::<1>::from_floats(hv.as_slice(), &device)
                    .reshape([n, c])
                    .require_grad();
                // The same mask on both paths, without the device's shared generator (other
                // tests draw from it concurrently).
                let seed = |_: &Device| 0x5eed_u64;
                let out = if fused {
                    bn_relu_dropout_add_seeded(&bn, &d, y.clone(), h.clone(), seed)
                } else {
                    dropout_seeded(&d, relu(batch_norm_rows(&bn, y.clone())), seed) + h.clone()
                };
                let upstream = Tensor::<1>::from_floats(up.as_slice(), &device).reshape([n, c]);
                let grads = (out.clone() * upstream).sum().backward();
                [
                    read_f32(out),
                    read_f32(y.grad(&grads).unwrap()),
                    read_f32(h.grad(&grads).unwrap()),
                    read_f32(bn.gamma.val().grad(&grads).unwrap()),
                    read_f32(bn.beta.val().grad(&grads).unwrap()),
                    read_f32(bn.running_mean.value_sync()),
                    read_f32(bn.running_var.value_sync()),
                ]
            };
            let (ours, theirs) = (run(true), run(false));
            let names = [
                "output",
                "y gradient",
                "residual gradient",
                "gamma gradient",
                "beta gradient",
                "running mean",
                "running var",
            ];
            for ((a, b), name) in ours.iter().zip(&theirs).zip(names) {
                // γ and β gradients are sums over n rows: allow for f32 summation order.
                let tol = if name.ends_with("a gradient") {
                    1e-4
                } else {
                    2e-5
                };
                let diff = max_abs_diff(a, b);
                assert!(diff < tol, "n {n}, c {c}, p {p}: {name} differs by {diff}");
            }
            // The mask did something: some outputs equal the residual exactly (dropped or ≤ 0).
            let dropped = ours[0].iter().zip(&hv).filter(|(o, h)| o == h).count();
            assert!(dropped > 0 && dropped < n * c, "n {n}, c {c}, p {p}");
        }
    }

    /// Inference (no autodiff) and a frozen BatchNorm fall back to the tensor ops: same values.
    #[test]
    fn outside_training_the_tail_is_the_tensor_ops() {
        let plain = Device::flex();
        let (n, c) = (40, 6);
        let bn = BatchNormConfig::new(c).init(&plain);
        let d = DropoutConfig::new(0.3).init();
        let y = Tensor::<2>::random([n, c], burn::tensor::Distribution::Default, &plain);
        let h = Tensor::<2>::random([n, c], burn::tensor::Distribution::Default, &plain);
        let a = read_f32(bn_relu_dropout_add(&bn, &d, y.clone(), h.clone()));
        let b = read_f32(relu(batch_norm_rows(&bn, y)) + h);
        assert!(max_abs_diff(&a, &b) < 1e-6);
    }
}
