//! Normalisation: per-utterance CMVN and per-bin standardisation fitted on the training part.

use serde::{Deserialize, Serialize};

use super::FeatureMatrix;

/// Smallest standard deviation used as a divisor (silent bins).
const STD_FLOOR: f32 = 1e-5;

/// Per-utterance mean and variance normalisation of every bin, in place.
pub fn cmvn(m: &mut FeatureMatrix) {
    let s = Standardiser::fit([&*m]);
    s.apply(m);
}

/// Per-bin mean and standard deviation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standardiser {
    /// Mean per bin.
    pub mean: Vec<f32>,
    /// Standard deviation per bin (population, floored).
    pub std: Vec<f32>,
}

impl Standardiser {
    /// Fits mean/std per bin over all frames of the given matrices (the training part only).
    pub fn fit<'a>(mats: impl IntoIterator<Item = &'a FeatureMatrix>) -> Self {
        let mut acc = FrameStatistics::default();
        for m in mats {
            acc.add(m, 0);
        }
        acc.standardiser()
    }

    /// Standardises in place.
    pub fn apply(&self, m: &mut FeatureMatrix) {
        let nb = m.n_bins;
        for t in 0..m.n_frames {
            for b in 0..nb.min(self.mean.len()) {
                let v = &mut m.data[t * nb + b];
                *v = (*v - self.mean[b]) / self.std[b];
            }
        }
    }
}

/// Running per-bin sums over frames, for statistics gathered a piece at a time (a live
/// speaker's audio as it arrives); [`Standardiser::fit`] is this over whole matrices.
#[derive(Clone, Debug, Default)]
pub struct FrameStatistics {
    sum: Vec<f64>,
    sq: Vec<f64>,
    frames: usize,
}

impl FrameStatistics {
    /// Adds frames `from..` of `m` (the bin count is fixed by the first matrix added).
    pub fn add(&mut self, m: &FeatureMatrix, from: usize) {
        if self.sum.is_empty() {
            self.sum = vec![0.0; m.n_bins];
            self.sq = vec![0.0; m.n_bins];
        }
        for t in from.min(m.n_frames)..m.n_frames {
            for (b, &v) in m.frame(t).iter().enumerate().take(self.sum.len()) {
                self.sum[b] += v as f64;
                self.sq[b] += (v as f64) * (v as f64);
            }
        }
        self.frames += m.n_frames.saturating_sub(from);
    }

    /// Frames added so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Mean and population std per bin of everything added (std floored).
    pub fn standardiser(&self) -> Standardiser {
        let n = self.frames.max(1) as f64;
        let mean: Vec<f32> = self.sum.iter().map(|s| (s / n) as f32).collect();
        let std = self
            .sum
            .iter()
            .zip(&self.sq)
            .map(|(s, q)| (((q / n) - (s / n).powi(2)).max(0.0).sqrt() as f32).max(STD_FLOOR))
            .collect();
        Standardiser { mean, std }
    }
}

/// One standardiser per group (speaker), each fitted on its own matrices only.
pub fn fit_per_group<'a, K: std::hash::Hash + Eq>(
    items: impl IntoIterator<Item = (K, &'a FeatureMatrix)>,
) -> std::collections::HashMap<K, Standardiser> {
    let mut groups: std::collections::HashMap<K, FrameStatistics> =
        std::collections::HashMap::new();
    for (k, m) in items {
        groups.entry(k).or_default().add(m, 0);
    }
    groups
        .into_iter()
        .map(|(k, stats)| (k, stats.standardiser()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmvn_gives_zero_mean_unit_std() {
        let mut m = FeatureMatrix {
            n_frames: 4,
            n_bins: 2,
            data: vec![1.0, 10.0, 2.0, 10.0, 3.0, 10.0, 4.0, 10.0],
        };
        cmvn(&mut m);
        let col0: Vec<f32> = (0..4).map(|t| m.data[t * 2]).collect();
        let mean: f32 = col0.iter().sum::<f32>() / 4.0;
        let var: f32 = col0.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5);
        // constant bin → 0 (std floored, no NaN)
        assert!((0..4).all(|t| m.data[t * 2 + 1] == 0.0));
    }

    #[test]
    fn fit_pools_all_frames() {
        let a = FeatureMatrix {
            n_frames: 1,
            n_bins: 1,
            data: vec![0.0],
        };
        let b = FeatureMatrix {
            n_frames: 1,
            n_bins: 1,
            data: vec![2.0],
        };
        let s = Standardiser::fit([&a, &b]);
        assert_eq!(s.mean, vec![1.0]);
        assert!((s.std[0] - 1.0).abs() < 1e-6);
    }

    /// Each group's standardiser is fitted on that group alone: applying it gives every group
    /// zero mean and unit std per bin, whatever the groups' offsets.
    #[test]
    fn per_group_statistics_are_each_groups_own() {
        let mat = |offset: f32, scale: f32| FeatureMatrix {
            n_frames: 3,
            n_bins: 2,
            data: vec![
                offset - scale,
                2.0 * offset,
                offset,
                2.0 * offset + scale,
                offset + scale,
                2.0 * offset - scale,
            ],
        };
        let (a1, a2, b1) = (mat(10.0, 1.0), mat(10.0, 3.0), mat(-4.0, 0.5));
        let fitted = fit_per_group([("a", &a1), ("b", &b1), ("a", &a2)]);
        assert_eq!(fitted.len(), 2);
        let mut m = b1.clone();
        fitted["b"].apply(&mut m);
        let col0: Vec<f32> = (0..3).map(|t| m.data[t * 2]).collect();
        assert!(col0.iter().sum::<f32>().abs() < 1e-5);
        let var = col0.iter().map(|v| v * v).sum::<f32>() / 3.0;
        assert!((var - 1.0).abs() < 1e-4, "{var}");
        // Group a: mean over both matrices (10 in bin 0, 20 in bin 1), std over all 6 frames.
        assert!((fitted["a"].mean[0] - 10.0).abs() < 1e-5);
        assert!((fitted["a"].mean[1] - 20.0).abs() < 1e-5);
        let want_std = ((2.0 * 1.0 + 2.0 * 9.0) / 6.0f32).sqrt();
        assert!((fitted["a"].std[0] - want_std).abs() < 1e-5);
    }

    /// Statistics gathered piece by piece (frames `from..` of each piece) equal one fit over
    /// the same frames: mean 3, population std sqrt(2) for 1…5.
    #[test]
    fn running_statistics_equal_one_fit() {
        let m = |v: &[f32]| FeatureMatrix {
            n_frames: v.len(),
            n_bins: 1,
            data: v.to_vec(),
        };
        let mut acc = FrameStatistics::default();
        acc.add(&m(&[9.0, 1.0, 2.0]), 1);
        acc.add(&m(&[3.0, 4.0, 5.0]), 0);
        acc.add(&m(&[7.0]), 4);
        assert_eq!(acc.frames(), 5);
        let s = acc.standardiser();
        assert!((s.mean[0] - 3.0).abs() < 1e-6);
        assert!((s.std[0] - 2.0f32.sqrt()).abs() < 1e-6);
        assert_eq!(s, Standardiser::fit([&m(&[1.0, 2.0, 3.0, 4.0, 5.0])]));
    }
}
