//! Two-component PCA for the embedding scatter plots (source vs target before/after adaptation):
//! centre the rows, form the covariance, take the top two eigenvectors by power iteration with
//! deflation. Deterministic (fixed start vector), f64 throughout.

/// Projects `rows` (each of equal length `d`) onto their first two principal components.
/// Returns one `[x, y]` per row and the fraction of variance each component explains. Fewer
/// than two rows or `d == 0` give zeros.
pub fn pca_2d(rows: &[Vec<f32>]) -> (Vec<[f32; 2]>, [f64; 2]) {
    let n = rows.len();
    let d = rows.first().map_or(0, Vec::len);
    if n < 2 || d == 0 {
        return (vec![[0.0, 0.0]; n], [0.0, 0.0]);
    }
    let mut mean = vec![0.0f64; d];
    for r in rows {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += *v as f64 / n as f64;
        }
    }
    let centred: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().zip(&mean).map(|(v, m)| *v as f64 - m).collect())
        .collect();
    let mut cov = vec![0.0f64; d * d];
    for r in &centred {
        for i in 0..d {
            let ri = r[i];
            if ri == 0.0 {
                continue;
            }
            let row = &mut cov[i * d..(i + 1) * d];
            for (c, rj) in row.iter_mut().zip(r) {
                *c += ri * rj;
            }
        }
    }
    for c in cov.iter_mut() {
        *c /= (n - 1) as f64;
    }
    let total: f64 = (0..d).map(|i| cov[i * d + i]).sum();
    let mut comps: Vec<Vec<f64>> = Vec::new();
    let mut explained = [0.0f64; 2];
    for slot in explained.iter_mut() {
        let mut v: Vec<f64> = (0..d)
            .map(|i| 1.0 + (i as f64 * 0.618).sin() * 0.5)
            .collect();
        let mut lambda = 0.0;
        for _ in 0..300 {
            let mut w = vec![0.0f64; d];
            for i in 0..d {
                w[i] = cov[i * d..(i + 1) * d]
                    .iter()
                    .zip(&v)
                    .map(|(a, b)| a * b)
                    .sum();
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm < 1e-300 {
                break;
            }
            let next: Vec<f64> = w.iter().map(|x| x / norm).collect();
            let delta: f64 = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
            v = next;
            lambda = norm;
            if delta < 1e-12 {
                break;
            }
        }
        *slot = if total > 0.0 { lambda / total } else { 0.0 };
        // Deflate: cov -= λ v vᵀ.
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] -= lambda * v[i] * v[j];
            }
        }
        comps.push(v);
    }
    let points = centred
        .iter()
        .map(|r| {
            let p = |c: &Vec<f64>| r.iter().zip(c).map(|(a, b)| a * b).sum::<f64>() as f32;
            [p(&comps[0]), p(&comps[1])]
        })
        .collect();
    (points, explained)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_axes_of_an_anisotropic_cloud() {
        // Points spread ±10 along (1,1,0)/√2, ±1 along (0,0,1), nothing along (1,−1,0)/√2.
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let mut rows = Vec::new();
        for a in [-10.0f32, -5.0, 0.0, 5.0, 10.0] {
            for b in [-1.0f32, 1.0] {
                rows.push(vec![a * s + 3.0, a * s + 3.0, b - 2.0]);
            }
        }
        let (pts, explained) = pca_2d(&rows);
        // Variance along the first axis: 50·(2 per a value)… = Σa²·2 / 9 = 500/9; second: 10/9.
        assert!((explained[0] - 500.0 / 510.0).abs() < 1e-9, "{explained:?}");
        assert!((explained[1] - 10.0 / 510.0).abs() < 1e-9, "{explained:?}");
        for (p, r) in pts.iter().zip(&rows) {
            let a = ((r[0] - 3.0) / s).abs();
            assert!((p[0].abs() - a).abs() < 1e-4, "{p:?} {r:?}");
            assert!((p[1].abs() - 1.0).abs() < 1e-4, "{p:?}");
        }
    }

    #[test]
    fn degenerate_inputs_give_zeros() {
        assert_eq!(pca_2d(&[vec![1.0, 2.0]]).0, vec![[0.0, 0.0]]);
        assert!(pca_2d(&[]).0.is_empty());
    }
}
