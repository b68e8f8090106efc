//! Temporal pyramid pooling (DTPM): for levels l = 1..L split time into 2^(l−1) equal segments and
//! pool each (mean or max); the segments of all levels form a sequence of 2^L − 1 vectors.

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

/// # Shapes
/// - `x`: `[batch, channels, time]`
/// - returns `[batch, 2^levels − 1, channels]` (level 1 first)
pub fn pyramid_pool(x: Tensor<3>, levels: usize, pool: SegmentPool) -> Tensor<3> {
    let [batch, channels, time] = x.dims();
    let parts: Vec<Tensor<3>> = segments(time, levels)
        .into_iter()
        .map(|(a, b)| {
            let seg = x.clone().narrow(2, a, b - a);
            let pooled = match pool {
                SegmentPool::Mean => seg.mean_dim(2),
                SegmentPool::Max => seg.max_dim(2),
            };
            pooled.reshape([batch, 1, channels])
        })
        .collect();
    Tensor::cat(parts, 1)
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
}
