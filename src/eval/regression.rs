//! Metrics of dimensional (arousal / valence / dominance) predictions: the concordance correlation
//! coefficient (Lin 1989), Pearson's r, MAE and RMSE, with population (ddof 0) statistics as the
//! dimensional-SER literature and numpy's `var`/`mean` compute them (docs/design.md, "Metrics").
//! Tested against numpy in `tests/metrics_sklearn.rs`.

use serde::{Deserialize, Serialize};

/// Formula of the CCC as reports state it.
pub const CCC_FORMULA: &str =
    "CCC = 2·cov(ŷ, y) / (var(ŷ) + var(y) + (mean(ŷ) − mean(y))²), population (co)variances";

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Population mean, variance of `x` and `y` and their covariance.
fn moments(x: &[f64], y: &[f64]) -> (f64, f64, f64, f64, f64) {
    let (mx, my) = (mean(x), mean(y));
    let n = x.len().max(1) as f64;
    let (mut vx, mut vy, mut cov) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        vx += (a - mx) * (a - mx);
        vy += (b - my) * (b - my);
        cov += (a - mx) * (b - my);
    }
    (mx, my, vx / n, vy / n, cov / n)
}

/// Concordance correlation coefficient of predictions against truth. Constant predictions give 0
/// (no covariance); predictions equal to a constant truth give 1; empty input gives NaN.
pub fn ccc(pred: &[f64], truth: &[f64]) -> f64 {
    assert_eq!(pred.len(), truth.len(), "ccc: length mismatch");
    if pred.is_empty() {
        return f64::NAN;
    }
    let (mx, my, vx, vy, cov) = moments(pred, truth);
    let denom = vx + vy + (mx - my) * (mx - my);
    if denom == 0.0 { 1.0 } else { 2.0 * cov / denom }
}

/// Pearson's r (NaN when either side is constant, as numpy's `corrcoef`).
pub fn pearson(pred: &[f64], truth: &[f64]) -> f64 {
    assert_eq!(pred.len(), truth.len(), "pearson: length mismatch");
    let (_, _, vx, vy, cov) = moments(pred, truth);
    if vx == 0.0 || vy == 0.0 {
        f64::NAN
    } else {
        cov / (vx.sqrt() * vy.sqrt())
    }
}

/// Mean absolute error.
pub fn mae(pred: &[f64], truth: &[f64]) -> f64 {
    assert_eq!(pred.len(), truth.len(), "mae: length mismatch");
    mean(
        &pred
            .iter()
            .zip(truth)
            .map(|(a, b)| (a - b).abs())
            .collect::<Vec<_>>(),
    )
}

/// Root mean squared error.
pub fn rmse(pred: &[f64], truth: &[f64]) -> f64 {
    assert_eq!(pred.len(), truth.len(), "rmse: length mismatch");
    mean(
        &pred
            .iter()
            .zip(truth)
            .map(|(a, b)| (a - b) * (a - b))
            .collect::<Vec<_>>(),
    )
    .sqrt()
}

/// The metrics of one dimension.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DimensionReport {
    /// Dimension name (`arousal`, `valence`, `dominance`, or a CSV column).
    pub name: String,
    /// Concordance correlation coefficient.
    #[serde(with = "nan_as_null")]
    pub ccc: f64,
    /// Pearson's r (`null` in JSON where undefined: a constant side).
    #[serde(with = "nan_as_null")]
    pub pearson: f64,
    /// Mean absolute error (in the target's scale).
    #[serde(with = "nan_as_null")]
    pub mae: f64,
    /// Root mean squared error.
    #[serde(with = "nan_as_null")]
    pub rmse: f64,
    /// Predictions.
    pub n: usize,
}

impl DimensionReport {
    /// All four metrics of one dimension.
    pub fn of(name: &str, pred: &[f64], truth: &[f64]) -> Self {
        Self {
            name: name.to_string(),
            ccc: ccc(pred, truth),
            pearson: pearson(pred, truth),
            mae: mae(pred, truth),
            rmse: rmse(pred, truth),
            n: pred.len(),
        }
    }
}

/// The reports of every dimension of row-wise predictions (`preds[i][k]`: item i, dimension k).
pub fn dimension_reports(
    names: &[String],
    preds: &[Vec<f32>],
    truth: &[Vec<f32>],
) -> Vec<DimensionReport> {
    names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let col = |rows: &[Vec<f32>]| -> Vec<f64> {
                rows.iter()
                    .map(|r| r.get(k).copied().unwrap_or(f32::NAN) as f64)
                    .collect()
            };
            DimensionReport::of(name, &col(preds), &col(truth))
        })
        .collect()
}

/// Mean CCC over dimensions (NaN without any).
pub fn mean_ccc(reports: &[DimensionReport]) -> f64 {
    if reports.is_empty() {
        return f64::NAN;
    }
    reports.iter().map(|r| r.ccc).sum::<f64>() / reports.len() as f64
}

/// Serde for metrics that may be undefined: NaN is written as `null` and read back as NaN (JSON
/// has no NaN).
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// NaN → `null`.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    /// `null` → NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked: x = [1, 2, 3, 4], y = [2, 2, 4, 5]: means 2.5 and 3.25, cov 1.375,
    /// var 1.25 and 1.6875 → CCC = 2.75 / 3.5.
    #[test]
    fn ccc_hand_case_constant_and_biased_predictions() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [2.0, 2.0, 4.0, 5.0];
        assert!((ccc(&x, &y) - 2.75 / 3.5).abs() < 1e-15);
        // Constant predictions: no covariance → 0 (Pearson undefined).
        assert_eq!(ccc(&[3.0; 4], &y), 0.0);
        assert!(pearson(&[3.0; 4], &y).is_nan());
        // Perfectly correlated but biased: r = 1, CCC < 1.
        let biased: Vec<f64> = y.iter().map(|v| v + 1.0).collect();
        assert!((pearson(&biased, &y) - 1.0).abs() < 1e-15);
        let c = ccc(&biased, &y);
        assert!(c < 1.0 && c > 0.0, "{c}");
        // Exact predictions: 1.
        assert!((ccc(&y, &y) - 1.0).abs() < 1e-15);
        assert_eq!(mae(&biased, &y), 1.0);
        assert_eq!(rmse(&biased, &y), 1.0);
    }

    #[test]
    fn undefined_pearson_round_trips_through_json() {
        let r = DimensionReport::of("valence", &[3.0; 4], &[2.0, 2.0, 4.0, 5.0]);
        let text = serde_json::to_string(&r).expect("json");
        assert!(text.contains("\"pearson\":null"), "{text}");
        let back: DimensionReport = serde_json::from_str(&text).expect("read");
        assert!(back.pearson.is_nan());
        assert_eq!(back.ccc, 0.0);
    }
}
