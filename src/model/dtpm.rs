//! Temporal pyramid pooling (DTPM): for levels l = 1..L split time into 2^(l−1) equal segments and
//! pool each (mean, max, or mean and standard deviation); the segments of all levels form a
//! sequence of 2^L − 1 vectors (2 · (2^L − 1) with mean and std: all means, then all stds).
//!
//! Segments are laid either over the whole (padded) input, as the paper's fixed-length inputs, or
//! over each utterance's own frames ([`valid_lengths`], [`segment_weights`]): a 1.2 s utterance
//! padded to 3 s then pools 1.2 s of speech, not 1.8 s of padding.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Pooling inside a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentPool {
    /// Mean over the segment's frames.
    Mean,
    /// Maximum over the segment's frames.
    Max,
    /// Mean and standard deviation over the segment's frames (statistics pooling): two vectors
    /// per segment, so the range of a cue (pitch, loudness) survives as well as its level.
    #[serde(rename = "mean_std")]
    MeanStd,
}

impl SegmentPool {
    /// Pooled vectors per segment.
    pub fn vectors_per_segment(self) -> usize {
        match self {
            SegmentPool::MeanStd => 2,
            SegmentPool::Mean | SegmentPool::Max => 1,
        }
    }
}

/// Segment boundaries `[start, end)` of all pyramid levels for `time` frames; a segment is never
/// empty (short inputs repeat frames).
pub fn segments(time: usize, levels: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for l in 0..levels {
        let n = 1usize << l;
        for i in 0..n {
            let start = (i * time / n).min(time.saturating_sub(1));
            let end = ((i + 1) * time / n).max(start + 1).min(time.max(1));
            out.push((start, end));
        }
    }
    out
}

/// Frames holding audio in each utterance of `x` (`[batch, time, bins]`): padding is the run of
/// all-zero frames at the end, as `train::data::fit_length` pads (with exact zeros, after
/// normalisation). An utterance with no non-zero frame counts as full length.
pub fn valid_lengths(x: &Tensor<3>) -> Vec<usize> {
    let [batch, time, _] = x.dims();
    let energy = crate::tensor::read_f32(x.clone().abs().sum_dim(2).reshape([batch, time]));
    energy
        .chunks(time.max(1))
        .map(|row| {
            row.iter()
                .rposition(|&e| e > 0.0)
                .map_or(time, |last| last + 1)
        })
        .collect()
}

/// Pooling weights of every pyramid segment laid over each utterance's own frames: row (b, s)
/// of the returned `[batch, segments, time]` values is 1/len on the frames of segment s of an
/// utterance with `lengths[b]` frames and 0 elsewhere, so padding is never pooled.
pub fn segment_weights(lengths: &[usize], time: usize, levels: usize) -> Vec<f32> {
    let n_seg = (1usize << levels) - 1;
    let mut w = vec![0.0f32; lengths.len() * n_seg * time];
    for (b, &len) in lengths.iter().enumerate() {
        for (s, (a, e)) in segments(len.clamp(1, time), levels).into_iter().enumerate() {
            let row = (b * n_seg + s) * time;
            w[row + a..row + e].fill(1.0 / (e - a) as f32);
        }
    }
    w
}

/// # Shapes
/// - `x`: `[batch, channels, time]`
/// - returns `[batch, v · (2^levels − 1), channels]` (level 1 first; v vectors per segment, see
///   [`SegmentPool::vectors_per_segment`])
pub fn pyramid_pool(x: Tensor<3>, levels: usize, pool: SegmentPool) -> Tensor<3> {
    let [batch, channels, time] = x.dims();
    if pool == SegmentPool::MeanStd {
        let weights = segment_weights(&vec![time; batch], time, levels);
        let n_seg = (1usize << levels) - 1;
        let w = Tensor::<3>::from_data(TensorData::new(weights, [batch, n_seg, time]), &x.device());
        return pool_weighted(x, w, pool);
    }
    let parts: Vec<Tensor<3>> = segments(time, levels)
        .into_iter()
        .map(|(a, b)| {
            let seg = x.clone().narrow(2, a, b - a);
            let pooled = match pool {
                SegmentPool::Max => seg.max_dim(2),
                SegmentPool::Mean | SegmentPool::MeanStd => seg.mean_dim(2),
            };
            pooled.reshape([batch, 1, channels])
        })
        .collect();
    Tensor::cat(parts, 1)
}

/// Pyramid pooling with explicit segment weights (from [`segment_weights`]).
///
/// # Shapes
/// - `x`: `[batch, channels, time]`, `w`: `[batch, segments, time]`
/// - returns `[batch, v · segments, channels]`
pub fn pool_weighted(x: Tensor<3>, w: Tensor<3>, pool: SegmentPool) -> Tensor<3> {
    let [batch, channels, time] = x.dims();
    let n_seg = w.dims()[1];
    match pool {
        SegmentPool::Mean => w.matmul(x.swap_dims(1, 2)),
        SegmentPool::MeanStd => {
            let xt = x.swap_dims(1, 2); // [batch, time, channels]
            let mean = w.clone().matmul(xt.clone());
            let square = w.matmul(xt.clone() * xt);
            // E[x²] − E[x]², floored at 0 against rounding; the epsilon keeps the gradient
            // of the square root finite on constant segments.
            let var = (square - mean.clone() * mean.clone()).clamp_min(0.0);
            let std = (var + 1e-5).sqrt();
            Tensor::cat(vec![mean, std], 1)
        }
        SegmentPool::Max => {
            let outside = w.equal_elem(0.0); // [batch, segments, time]
            let parts: Vec<Tensor<3>> = (0..n_seg)
                .map(|s| {
                    let pad = outside
                        .clone()
                        .narrow(1, s, 1)
                        .expand([batch, channels, time]);
                    x.clone()
                        .mask_fill(pad, f32::MIN)
                        .max_dim(2)
                        .reshape([batch, 1, channels])
                })
                .collect();
            Tensor::cat(parts, 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_layout() {
        assert_eq!(
            segments(8, 3),
            vec![(0, 8), (0, 4), (4, 8), (0, 2), (2, 4), (4, 6), (6, 8)]
        );
        // Fewer frames than segments: every segment still has one frame.
        assert!(segments(2, 3).iter().all(|(a, b)| b > a));
    }

    /// Hand-computed: x = [0..8) on one channel, 2 levels → mean [3.5, 1.5, 5.5], max [7, 3, 7].
    #[test]
    fn pooled_values() {
        let device = Device::flex();
        let x = Tensor::<3>::from_data(
            TensorData::new((0..8).map(|v| v as f32).collect::<Vec<_>>(), [1, 1, 8]),
            &device,
        );
        let mean: Vec<f32> = pyramid_pool(x.clone(), 2, SegmentPool::Mean)
            .into_data()
            .try_to_vec::<f32>()
            .expect("vec");
        assert_eq!(mean, vec![3.5, 1.5, 5.5]);
        let max: Vec<f32> = pyramid_pool(x, 2, SegmentPool::Max)
            .into_data()
            .try_to_vec::<f32>()
            .expect("vec");
        assert_eq!(max, vec![7.0, 3.0, 7.0]);
    }

    fn tensor3(v: Vec<f32>, shape: [usize; 3]) -> Tensor<3> {
        Tensor::<3>::from_data(TensorData::new(v, shape), &Device::flex())
    }

    /// Padding is the trailing run of all-zero frames; a zero frame inside speech is kept.
    #[test]
    fn valid_lengths_stop_at_trailing_zero_frames() {
        // [2 utterances, 5 frames, 2 bins]
        let x = tensor3(
            vec![
                1.0, 0.0, 0.0, 0.0, -2.0, 1.0, 0.0, 0.0, 0.0,
                0.0, // 3 frames (middle one zero)
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, // silent: full length
            ],
            [2, 5, 2],
        );
        assert_eq!(valid_lengths(&x), vec![3, 5]);
    }

    /// Hand-computed: one channel x = [1, 2, 3, 6, 0, 0] where the last two frames are padding
    /// (4 valid), 2 levels → segments (0,4), (0,2), (2,4).
    /// Means [3, 1.5, 4.5]; stds sqrt([3.5, 0.25, 2.25]); maxima [6, 2, 6].
    #[test]
    fn weighted_pooling_leaves_out_padding() {
        let x = tensor3(vec![1.0, 2.0, 3.0, 6.0, 0.0, 0.0], [1, 1, 6]);
        let w = tensor3(segment_weights(&[4], 6, 2), [1, 3, 6]);
        let read = |p| crate::tensor::read_f32(pool_weighted(x.clone(), w.clone(), p));
        let mean = read(SegmentPool::Mean);
        assert_eq!(mean, vec![3.0, 1.5, 4.5]);
        let ms = read(SegmentPool::MeanStd);
        let want = [3.0, 1.5, 4.5, 3.5f32.sqrt(), 0.5, 1.5];
        for (g, w) in ms.iter().zip(want) {
            // The 1e-5 variance floor moves a std of 0.5 by 1e-5.
            assert!((g - w).abs() < 2e-5, "{ms:?}");
        }
        assert_eq!(read(SegmentPool::Max), vec![6.0, 2.0, 6.0]);
    }

    /// Over full lengths the weighted pooling is the plain pyramid pooling.
    #[test]
    fn weighted_pooling_over_full_lengths_matches_plain() {
        let v: Vec<f32> = (0..2 * 3 * 9)
            .map(|i| ((i * 7) % 11) as f32 - 5.0)
            .collect();
        let x = tensor3(v, [2, 3, 9]);
        let w = tensor3(segment_weights(&[9, 9], 9, 3), [2, 7, 9]);
        for pool in [SegmentPool::Mean, SegmentPool::Max] {
            let a = crate::tensor::read_f32(pool_weighted(x.clone(), w.clone(), pool));
            let b = crate::tensor::read_f32(pyramid_pool(x.clone(), 3, pool));
            for (p, q) in a.iter().zip(&b) {
                assert!((p - q).abs() < 1e-5, "{pool:?}: {a:?} vs {b:?}");
            }
        }
    }
}
