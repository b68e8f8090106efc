//! 1-D convolution on time-major input as im2col + one matmul per group.
//!
//! The encoder's convolutions (the strided feature extractor and the 128-tap grouped positional
//! conv) are large, and burn's generic conv spends most of its time outside the matrix multiply
//! (layout transposes, per-tap strided products). Here the input stays `[batch, time, channels]`:
//! `unfold` gives every window as a zero-copy view, one copy lays the windows out as rows of
//! `kernel·c_in` values (tap-major, so each tap's channels are one contiguous run), and a single
//! dense matmul per group — which the CPU backend hands to BLAS — produces `[batch, time', c_out]`,
//! already in the layout the next layer wants.
use burn::module::Param;
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};

/// A grouped 1-D convolution with its weight stored for the matmul.
#[derive(Module, Debug)]
pub struct FrameConv {
    /// `[groups, kernel·c_in_per_group, c_out_per_group]`, rows ordered (tap, input channel).
    pub weight: Param<Tensor<3>>,
    /// `[c_out]`.
    pub bias: Option<Param<Tensor<1>>>,
    /// Taps.
    pub kernel: usize,
    /// Hop between windows.
    pub stride: usize,
    /// Zero frames added at both ends.
    pub padding: usize,
}

impl FrameConv {
    /// From a PyTorch `Conv1d` weight `[c_out, c_in/groups, kernel]` (row-major values).
    pub fn from_torch(
        weight: &[f32],
        shape: [usize; 3],
        bias: Option<Vec<f32>>,
        groups: usize,
        stride: usize,
        padding: usize,
        device: &Device,
    ) -> Self {
        let [c_out, c_in_g, k] = shape;
        assert_eq!(weight.len(), c_out * c_in_g * k, "conv weight size");
        assert!(
            groups > 0 && c_out.is_multiple_of(groups),
            "groups must divide c_out"
        );
        let c_out_g = c_out / groups;
        let mut w = vec![0.0f32; weight.len()];
        for g in 0..groups {
            for o in 0..c_out_g {
                let oc = g * c_out_g + o;
                for c in 0..c_in_g {
                    for t in 0..k {
                        let row = t * c_in_g + c;
                        w[(g * k * c_in_g + row) * c_out_g + o] = weight[(oc * c_in_g + c) * k + t];
                    }
                }
            }
        }
        let weight = Tensor::from_data(TensorData::new(w, [groups, k * c_in_g, c_out_g]), device);
        Self {
            weight: Param::from_tensor(weight),
            bias: bias.map(|b| {
                let n = b.len();
                Param::from_tensor(Tensor::from_data(TensorData::new(b, [n]), device))
            }),
            kernel: k,
            stride,
            padding,
        }
    }

    /// Random weights (uniform ±1/√fan_in, like PyTorch), for building the graph before loading.
    #[allow(clippy::too_many_arguments)]
    pub fn random(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        groups: usize,
        stride: usize,
        padding: usize,
        bias: bool,
        device: &Device,
    ) -> Self {
        let fan_in = (c_in / groups * kernel).max(1) as f64;
        let bound = 1.0 / fan_in.sqrt();
        let dist = Distribution::Uniform(-bound, bound);
        Self {
            weight: Param::from_tensor(Tensor::random(
                [groups, kernel * (c_in / groups), c_out / groups],
                dist,
                device,
            )),
            bias: bias.then(|| Param::from_tensor(Tensor::random([c_out], dist, device))),
            kernel,
            stride,
            padding,
        }
    }

    /// Output frames for `t` input frames.
    pub fn out_frames(&self, t: usize) -> usize {
        let padded = t + 2 * self.padding;
        if padded < self.kernel {
            0
        } else {
            (padded - self.kernel) / self.stride + 1
        }
    }

    /// # Shapes
    /// - `x`: `[batch, time, c_in]` → `[batch, time', c_out]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match super::host::conv(self, &x, false) {
            Some(y) => y,
            None => self.forward_tensor(x),
        }
    }

    /// [`Self::forward`] through burn's tensor ops on any backend (the host kernels of
    /// [`super::host`] cover plain convolutions on the CPU outside autodiff).
    pub fn forward_tensor(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, c_in] = x.dims();
        let [groups, rows, c_out_g] = self.weight.dims();
        let c_in_g = c_in / groups;
        assert_eq!(rows, self.kernel * c_in_g, "conv input channels");
        let t_out = self.out_frames(t);
        let x = if self.padding > 0 {
            let z = Tensor::<3>::zeros([b, self.padding, c_in], &x.device());
            Tensor::cat(vec![z.clone(), x, z], 1)
        } else {
            x
        };
        let tp = t + 2 * self.padding;
        // GPU kernels (wgpu/cubecl) refuse the overlapping strided views below as matmul
        // operands; there the im2col matrix is materialised once instead.
        if x.device().identity().is_some() {
            let cols = im2col_dense(x, self.kernel, self.stride, t_out); // [b, t', k·c_in]
            let y = cols
                .reshape([b, t_out, self.kernel, groups, c_in_g])
                .permute([3, 0, 1, 2, 4])
                .reshape([groups, b, t_out, rows])
                .matmul(self.weight.val().unsqueeze_dim::<4>(1)) // [g, b, t', c_out_g]
                .permute([1, 2, 0, 3])
                .reshape([b, t_out, groups * c_out_g]);
            return match &self.bias {
                Some(bias) => y + bias.val().reshape([1, 1, groups * c_out_g]),
                None => y,
            };
        }
        let y = if groups == 1 {
            self.forward_strided(x.reshape([b, tp * c_in]), t_out, c_in)
        } else {
            // Per group, window t is the contiguous run x_g[t·s .. t·s + k] (tap-major), so
            // `unfold` on the flattened group is the im2col matrix as a view (rows overlap).
            let xg = x
                .reshape([b, tp, groups, c_in_g])
                .permute([2, 0, 1, 3])
                .reshape([groups, b, tp * c_in_g]);
            let cols: Tensor<4> = xg.unfold(2, rows, self.stride * c_in_g); // [g, b, t', k·c_in_g]
            cols.matmul(self.weight.val().unsqueeze_dim::<4>(1)) // [g, b, t', c_out_g]
                .permute([1, 2, 0, 3])
                .reshape([b, t_out, groups * c_out_g])
        };
        match &self.bias {
            Some(bias) => y + bias.val().reshape([1, 1, groups * c_out_g]),
            None => y,
        }
    }

    /// One group, stride s: window t covers input frames `[t·s, t·s + k)`. Split the taps into
    /// blocks of s: block j of every window is the run `x[(t + j)·s ..][..taps_j]`, a row of a
    /// strided view with row stride s·c_in ≥ its width, so each block is one dense matmul (no
    /// overlapping rows, no copy); the output is the sum over the ⌈k/s⌉ blocks.
    fn forward_strided(&self, flat: Tensor<2>, t_out: usize, c_in: usize) -> Tensor<3> {
        let len = flat.dims()[1];
        let (k, s) = (self.kernel, self.stride);
        let w = self.weight.val(); // [1, k·c_in, c_out]
        let block = |j: usize| -> Tensor<3> {
            let taps = s.min(k - j * s);
            let start = j * s * c_in;
            let rows: Tensor<3> =
                flat.clone()
                    .narrow(1, start, len - start)
                    .unfold(1, taps * c_in, s * c_in);
            rows.narrow(1, 0, t_out)
                .matmul(w.clone().narrow(1, start, taps * c_in))
        };
        (1..k.div_ceil(s)).fold(block(0), |acc, j| acc + block(j))
    }
}

/// The im2col matrix of time-major `x` `[b, t, c]` as a new dense tensor `[b, t_out, k·c]`, rows
/// ordered (tap, channel): the time axis is cut into rows of `stride` frames, and window `w` is
/// rows `w .. w + ⌈k/s⌉` laid side by side (the last one cut to the remaining taps).
fn im2col_dense(x: Tensor<3>, k: usize, s: usize, t_out: usize) -> Tensor<3> {
    let [b, t, c] = x.dims();
    let blocks = k.div_ceil(s);
    let n_rows = t_out + blocks - 1;
    let need = n_rows * s;
    let x = if t >= need {
        x.narrow(1, 0, need)
    } else {
        let z = Tensor::<3>::zeros([b, need - t, c], &x.device());
        Tensor::cat(vec![x, z], 1)
    };
    let r = x.reshape([b, n_rows, s * c]);
    let parts: Vec<Tensor<3>> = (0..blocks)
        .map(|j| {
            let taps = s.min(k - j * s);
            let rows = r.clone().narrow(1, j, t_out);
            if taps == s {
                rows
            } else {
                rows.narrow(2, 0, taps * c)
            }
        })
        .collect();
    Tensor::cat(parts, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::PaddingConfig1d;
    use burn::nn::conv::Conv1dConfig;

    /// Same numbers as burn's own `Conv1d` (channels-first) for strided, grouped and padded cases.
    #[test]
    fn matches_burn_conv1d() {
        let dev = Device::flex();
        for (c_in, c_out, k, s, groups, pad, t) in [
            (1, 8, 10, 5, 1, 0, 203),
            (6, 4, 3, 2, 1, 0, 41),
            (6, 4, 2, 2, 1, 0, 40),
            (8, 8, 7, 1, 4, 3, 23),
        ] {
            let conv = Conv1dConfig::new(c_in, c_out, k)
                .with_stride(s)
                .with_groups(groups)
                .with_padding(PaddingConfig1d::Explicit(pad, pad))
                .init(&dev);
            let w = conv.weight.val().into_data().try_to_vec::<f32>().unwrap();
            let bias = conv
                .bias
                .as_ref()
                .map(|b| b.val().into_data().try_to_vec::<f32>().unwrap());
            let ours =
                FrameConv::from_torch(&w, [c_out, c_in / groups, k], bias, groups, s, pad, &dev);
            let x: Tensor<3> = Tensor::random([2, t, c_in], Distribution::Default, &dev);
            let want = conv.forward(x.clone().swap_dims(1, 2)).swap_dims(1, 2);
            let got = ours.forward(x);
            assert_eq!(got.dims(), want.dims(), "{c_in} {c_out} {k} {s} {groups}");
            assert_eq!(ours.out_frames(t), got.dims()[1]);
            let err = crate::eval::compare::max_abs_diff(
                &got.into_data().try_to_vec::<f32>().unwrap(),
                &want.into_data().try_to_vec::<f32>().unwrap(),
            );
            assert!(
                err < 1e-5,
                "{c_in}→{c_out} k{k} s{s} g{groups}: max abs {err}"
            );
        }
    }

    /// The dense im2col used on GPUs equals the windows taken one by one.
    #[test]
    fn dense_im2col_matches_the_windows() {
        let dev = Device::flex();
        for (t, c, k, s) in [(23, 3, 7, 1), (41, 2, 3, 2), (40, 1, 10, 5), (9, 2, 2, 2)] {
            let t_out = (t - k) / s + 1;
            let v: Vec<f32> = (0..2 * t * c).map(|i| i as f32).collect();
            let x = Tensor::<3>::from_data(TensorData::new(v.clone(), [2, t, c]), &dev);
            let got = crate::tensor::read_f32(im2col_dense(x, k, s, t_out));
            let mut want = Vec::new();
            for bi in 0..2 {
                for w in 0..t_out {
                    for tap in 0..k {
                        for ch in 0..c {
                            want.push(v[(bi * t + w * s + tap) * c + ch]);
                        }
                    }
                }
            }
            assert_eq!(got, want, "t{t} c{c} k{k} s{s}");
        }
    }
}
