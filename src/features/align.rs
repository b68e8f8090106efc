//! Explicit frame-rate alignment between streams (docs/design.md, "Features"): one stream's time axis is resampled
//! onto the other's frame centres by linear interpolation; nothing is cropped by index.
//!
//! Frame centres, in seconds:
//! - log-mel with librosa's `center=True`: frame `t` is centred on sample `t · hop`;
//! - a conv front-end (wav2vec2 family) with receptive field `R` and total stride `S`: frame `i`
//!   covers samples `[i·S, i·S + R)`, centred on `i·S + R/2` (HuBERT: R = 400, S = 320, i.e. 25 ms
//!   windows every 20 ms).

use super::FeatureMatrix;

/// Receptive field, in samples, of a stack of 1-D convolutions (no padding).
pub fn receptive_field(kernels: &[usize], strides: &[usize]) -> usize {
    let mut rf = 1;
    let mut jump = 1;
    for (&k, &s) in kernels.iter().zip(strides) {
        rf += (k.saturating_sub(1)) * jump;
        jump *= s;
    }
    rf
}

/// Time axis of a stream: frame `i` is centred at `offset_secs + i / frames_per_sec`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameAxis {
    /// Frames per second.
    pub frames_per_sec: f64,
    /// Centre of frame 0, seconds.
    pub offset_secs: f64,
}

impl FrameAxis {
    /// A librosa-style centred STFT axis.
    pub fn centred_stft(sample_rate: u32, hop: usize) -> Self {
        Self {
            frames_per_sec: sample_rate as f64 / hop as f64,
            offset_secs: 0.0,
        }
    }

    /// A conv front-end axis (no padding) from its kernels and strides.
    pub fn conv(sample_rate: u32, kernels: &[usize], strides: &[usize]) -> Self {
        let stride: usize = strides.iter().product();
        let rf = receptive_field(kernels, strides);
        Self {
            frames_per_sec: sample_rate as f64 / stride as f64,
            offset_secs: rf as f64 / 2.0 / sample_rate as f64,
        }
    }

    /// Centre of frame `i`, seconds.
    pub fn time(&self, i: usize) -> f64 {
        self.offset_secs + i as f64 / self.frames_per_sec
    }
}

/// Resamples `src` (on axis `from`) onto `n_frames` frames of axis `to` by linear interpolation
/// of every bin; times outside the source span take the nearest edge frame. An empty source
/// gives zeros.
pub fn align(
    src: &FeatureMatrix,
    from: FrameAxis,
    to: FrameAxis,
    n_frames: usize,
) -> FeatureMatrix {
    let d = src.n_bins;
    let mut out = FeatureMatrix::zeros(n_frames, d);
    if src.n_frames == 0 || d == 0 {
        return out;
    }
    let last = src.n_frames - 1;
    for t in 0..n_frames {
        // Position of this output frame on the source's frame index axis.
        let pos = (to.time(t) - from.offset_secs) * from.frames_per_sec;
        let pos = pos.clamp(0.0, last as f64);
        let i0 = pos.floor() as usize;
        let i1 = (i0 + 1).min(last);
        let w = (pos - i0 as f64) as f32;
        let (a, b) = (src.frame(i0), src.frame(i1));
        let row = &mut out.data[t * d..(t + 1) * d];
        for k in 0..d {
            row[k] = a[k] * (1.0 - w) + b[k] * w;
        }
    }
    out
}

/// Concatenates two streams of equal frame count along the bin axis: `[a | b]`.
pub fn concat_bins(a: &FeatureMatrix, b: &FeatureMatrix) -> FeatureMatrix {
    // Callers align the streams first; should they still differ, the longer one's extra frames
    // are dropped.
    let n = a.n_frames.min(b.n_frames);
    let d = a.n_bins + b.n_bins;
    let mut out = FeatureMatrix::zeros(n, d);
    for t in 0..n {
        out.data[t * d..t * d + a.n_bins].copy_from_slice(a.frame(t));
        out.data[t * d + a.n_bins..(t + 1) * d].copy_from_slice(b.frame(t));
    }
    out
}

/// Repeats one vector (a `[1, d]` matrix's row, or the mean of all rows) over `n_frames` frames.
pub fn broadcast_mean(src: &FeatureMatrix, n_frames: usize) -> FeatureMatrix {
    let d = src.n_bins;
    let mut mean = vec![0.0f32; d];
    for t in 0..src.n_frames {
        for (m, v) in mean.iter_mut().zip(src.frame(t)) {
            *m += v / src.n_frames as f32;
        }
    }
    let mut out = FeatureMatrix::zeros(n_frames, d);
    for t in 0..n_frames {
        out.data[t * d..(t + 1) * d].copy_from_slice(&mean);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hubert_receptive_field_is_400_samples() {
        let k = [10, 3, 3, 3, 3, 2, 2];
        let s = [5, 2, 2, 2, 2, 2, 2];
        assert_eq!(receptive_field(&k, &s), 400);
        let ax = FrameAxis::conv(16_000, &k, &s);
        assert_eq!(ax.frames_per_sec, 50.0);
        assert!((ax.offset_secs - 0.0125).abs() < 1e-12);
    }

    #[test]
    fn linear_interpolation_matches_hand_computed_values() {
        // Source: 50 fps with frame 0 at 12.5 ms; values = frame index (bin 0) and 10× (bin 1).
        let src = FeatureMatrix {
            n_frames: 4,
            n_bins: 2,
            data: vec![0.0, 0.0, 1.0, 10.0, 2.0, 20.0, 3.0, 30.0],
        };
        let from = FrameAxis {
            frames_per_sec: 50.0,
            offset_secs: 0.0125,
        };
        // Target: 31.25 fps (hop 512 at 16 kHz), centred at 0, 32 ms, 64 ms, 96 ms.
        let to = FrameAxis::centred_stft(16_000, 512);
        let out = align(&src, from, to, 4);
        // t=0 → before the first centre → edge value 0.
        // t=32 ms → pos (0.032−0.0125)·50 = 0.975; t=64 ms → 2.575; t=96 ms → 4.175 → clamp 3.
        let want = [0.0, 0.975, 2.575, 3.0];
        for (t, w) in want.iter().enumerate() {
            assert!(
                (out.data[t * 2] - w).abs() < 1e-5,
                "{t}: {}",
                out.data[t * 2]
            );
            assert!((out.data[t * 2 + 1] - 10.0 * w).abs() < 1e-4);
        }
    }

    #[test]
    fn same_axis_is_identity_and_concat_keeps_order() {
        let src = FeatureMatrix {
            n_frames: 3,
            n_bins: 1,
            data: vec![1.0, 5.0, -2.0],
        };
        let ax = FrameAxis::centred_stft(16_000, 160);
        assert_eq!(align(&src, ax, ax, 3), src);
        let c = concat_bins(&src, &broadcast_mean(&src, 3));
        assert_eq!(c.n_bins, 2);
        let want = [1.0, 4.0 / 3.0, 5.0, 4.0 / 3.0, -2.0, 4.0 / 3.0];
        for (g, w) in c.data.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{:?}", c.data);
        }
    }
}
