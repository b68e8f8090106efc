//! MFCC as `librosa.feature.mfcc(S=log_mel_db, dct_type=2, norm="ortho")`, and deltas as
//! `librosa.feature.delta(width=9, order=1|2, mode="interp")`.

use super::FeatureMatrix;

/// DCT-II with orthonormal scaling of every frame, keeping the first `n_mfcc` coefficients;
/// with `deltas`, delta and delta-delta coefficients are appended (3·n_mfcc bins).
pub fn mfcc(log_mel: &FeatureMatrix, n_mfcc: usize, deltas: bool) -> FeatureMatrix {
    let n = log_mel.n_bins;
    let k_max = n_mfcc.min(n);
    // basis[k][i] = s_k · cos(π k (2i + 1) / 2N), s_0 = √(1/N), s_k = √(2/N)
    let basis: Vec<Vec<f64>> = (0..k_max)
        .map(|k| {
            let s = if k == 0 {
                (1.0 / n as f64).sqrt()
            } else {
                (2.0 / n as f64).sqrt()
            };
            (0..n)
                .map(|i| {
                    s * (std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2 * n) as f64)
                        .cos()
                })
                .collect()
        })
        .collect();
    let mut c = FeatureMatrix::zeros(log_mel.n_frames, k_max);
    for t in 0..log_mel.n_frames {
        let x = log_mel.frame(t);
        for (k, b) in basis.iter().enumerate() {
            c.data[t * k_max + k] =
                x.iter().zip(b).map(|(&v, &w)| v as f64 * w).sum::<f64>() as f32;
        }
    }
    if !deltas {
        return c;
    }
    let d1 = delta(&c, 1);
    let d2 = delta(&c, 2);
    let mut out = FeatureMatrix::zeros(c.n_frames, 3 * k_max);
    for t in 0..c.n_frames {
        let row = &mut out.data[t * 3 * k_max..(t + 1) * 3 * k_max];
        row[..k_max].copy_from_slice(c.frame(t));
        row[k_max..2 * k_max].copy_from_slice(d1.frame(t));
        row[2 * k_max..].copy_from_slice(d2.frame(t));
    }
    out
}

/// Delta features along time as `librosa.feature.delta(width=9, order, mode="interp")`: a
/// Savitzky–Golay filter with polyorder = deriv = `order` (1 or 2). Interior frames use the
/// least-squares fit over the 9 frames centred on them; the first and last 4 frames use the fit
/// over the first/last 9 frames (`mode="interp"`; for these polynomial orders the derivative of
/// that fit is constant). Utterances shorter than 9 frames use one fit over all frames.
pub fn delta(x: &FeatureMatrix, order: u8) -> FeatureMatrix {
    let (t_len, nb) = (x.n_frames, x.n_bins);
    let mut out = FeatureMatrix::zeros(t_len, nb);
    if t_len < 2 || (order == 2 && t_len < 3) {
        return out;
    }
    let w = 9.min(t_len);
    let half = w / 2;
    // Centred positions d = n − (w−1)/2; for symmetric windows the linear and quadratic terms of
    // the fit are orthogonal, so slope = Σd·x/Σd² and curvature c = Σ(d²−m)·x/Σ(d²−m)², f'' = 2c.
    let centred: Vec<f64> = (0..w).map(|n| n as f64 - (w as f64 - 1.0) / 2.0).collect();
    let m2 = centred.iter().map(|d| d * d).sum::<f64>() / w as f64;
    let weights: Vec<f64> = if order == 1 {
        let den: f64 = centred.iter().map(|d| d * d).sum();
        centred.iter().map(|d| d / den).collect()
    } else {
        let den: f64 = centred.iter().map(|d| (d * d - m2).powi(2)).sum();
        centred.iter().map(|d| 2.0 * (d * d - m2) / den).collect()
    };
    let fit = |b: usize, start: usize| -> f32 {
        weights
            .iter()
            .enumerate()
            .map(|(n, w)| w * x.data[(start + n) * nb + b] as f64)
            .sum::<f64>() as f32
    };
    for b in 0..nb {
        let head = fit(b, 0);
        let tail = fit(b, t_len - w);
        for t in 0..t_len {
            out.data[t * nb + b] = if t < half {
                head
            } else if t + half >= t_len {
                tail
            } else {
                fit(b, t - half)
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A constant log-mel frame has all its energy in c0 = √N·v; every other coefficient is 0.
    #[test]
    fn dct_of_constant() {
        let m = FeatureMatrix {
            n_frames: 1,
            n_bins: 16,
            data: vec![2.0; 16],
        };
        let c = mfcc(&m, 5, false);
        assert!((c.data[0] - 2.0 * 4.0).abs() < 1e-5);
        assert!(c.data[1..].iter().all(|v| v.abs() < 1e-5));
    }

    /// Delta of a linear ramp is its slope everywhere (edges included).
    #[test]
    fn delta_of_ramp_is_slope() {
        let m = FeatureMatrix {
            n_frames: 20,
            n_bins: 1,
            data: (0..20).map(|t| 3.0 * t as f32 + 1.0).collect(),
        };
        let d = delta(&m, 1);
        assert!(
            d.data.iter().all(|v| (v - 3.0).abs() < 1e-4),
            "{:?}",
            d.data
        );
        assert!(delta(&m, 2).data.iter().all(|v| v.abs() < 1e-4));
    }

    /// Second-order delta of t² is 2 everywhere.
    #[test]
    fn delta2_of_parabola() {
        let m = FeatureMatrix {
            n_frames: 15,
            n_bins: 1,
            data: (0..15).map(|t| (t * t) as f32).collect(),
        };
        let d = delta(&m, 2);
        assert!(
            d.data.iter().all(|v| (v - 2.0).abs() < 1e-3),
            "{:?}",
            d.data
        );
    }
}
