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
        let mut sum: Vec<f64> = Vec::new();
        let mut sq: Vec<f64> = Vec::new();
        let mut n = 0usize;
        for m in mats {
            if sum.is_empty() {
                sum = vec![0.0; m.n_bins];
                sq = vec![0.0; m.n_bins];
            }
            for t in 0..m.n_frames {
                for (b, &v) in m.frame(t).iter().enumerate().take(sum.len()) {
                    sum[b] += v as f64;
                    sq[b] += (v as f64) * (v as f64);
                }
            }
            n += m.n_frames;
        }
        let n = n.max(1) as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std = sum
            .iter()
            .zip(&sq)
            .map(|(s, q)| (((q / n) - (s / n).powi(2)).max(0.0).sqrt() as f32).max(STD_FLOOR))
            .collect();
        Self { mean, std }
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
}
