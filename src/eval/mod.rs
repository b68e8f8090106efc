//! Evaluation: metrics and reports as plain functions (no burn, no egui).
//!
//! One definition everywhere (docs/design.md, "Metrics"): WA = overall accuracy = ΣTP / N; UA = mean per-class
//! recall (balanced accuracy, UAR). Confusion matrices have rows = true class, columns = predicted.

pub mod compare;
pub mod metrics;
pub mod multilabel;
pub mod pca;
pub mod regression;

pub use metrics::{ClassMetrics, ClassificationReport, ConfusionMatrix};

/// Index of the largest value (the first one on ties; NaN never wins).
pub fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv { (i, x) } else { (bi, bv) }
        })
        .0
}

#[cfg(test)]
mod tests {
    #[test]
    fn argmax_picks_first_maximum() {
        assert_eq!(super::argmax(&[0.1, 0.7, 0.2]), 1);
        assert_eq!(super::argmax(&[0.5, 0.5]), 0);
        assert_eq!(super::argmax(&[f32::NAN, 0.2, 0.1]), 1);
    }
}
