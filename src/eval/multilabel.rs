//! Multi-label metrics (several labels per utterance, each decided by its own probability):
//! per-label precision, recall, F1 and support at a threshold, macro and micro F1, and per-label
//! average precision — the definitions of scikit-learn's `precision_recall_fscore_support`
//! (`zero_division=0`) and `average_precision_score` (docs/design.md, "Multi-label").

use serde::{Deserialize, Serialize};

use super::regression::nan_as_null;

/// The metrics of one label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelMetrics {
    /// Label name.
    pub name: String,
    /// TP / (TP + FP) (0 without predicted positives).
    pub precision: f64,
    /// TP / (TP + FN) (0 without true positives).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// True positives in the truth.
    pub support: usize,
    /// Average precision of the probabilities (`null` without true positives).
    #[serde(with = "nan_as_null")]
    pub average_precision: f64,
    /// Threshold applied to this label's probability (`null` for pooled rows of folds with
    /// their own thresholds).
    #[serde(with = "nan_as_null")]
    pub threshold: f64,
}

/// Metrics of a multi-label prediction set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultiLabelReport {
    /// Per label, in label order.
    pub labels: Vec<LabelMetrics>,
    /// Mean of the per-label F1s.
    pub macro_f1: f64,
    /// F1 of the pooled counts (all labels together).
    pub micro_f1: f64,
    /// Precision of the pooled counts.
    pub micro_precision: f64,
    /// Recall of the pooled counts.
    pub micro_recall: f64,
    /// Mean average precision over labels with a positive (`null` when none has).
    #[serde(with = "nan_as_null")]
    pub mean_average_precision: f64,
    /// Fraction of utterances whose predicted label set equals the true set.
    pub exact_match: f64,
    /// Utterances.
    pub n: usize,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Average precision as scikit-learn computes it: Σₙ (Rₙ − Rₙ₋₁) Pₙ over the distinct score
/// thresholds in decreasing order (tied scores form one step). `NaN` without positives.
pub fn average_precision(scores: &[f32], truth: &[bool]) -> f64 {
    let positives = truth.iter().filter(|t| **t).count();
    if positives == 0 {
        return f64::NAN;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut ap = 0.0;
    let mut last_recall = 0.0;
    let mut i = 0;
    while i < order.len() {
        let s = scores[order[i]];
        while i < order.len() && scores[order[i]] == s {
            if truth[order[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let recall = tp as f64 / positives as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - last_recall) * precision;
        last_recall = recall;
    }
    ap
}

/// The report of `probs` (one row of per-label probabilities per utterance) against `truth`
/// (one 0/1 row per utterance), each label decided at its own threshold.
pub fn multilabel_report(
    names: &[String],
    probs: &[Vec<f32>],
    truth: &[Vec<f32>],
    thresholds: &[f32],
) -> MultiLabelReport {
    let n = probs.len().min(truth.len());
    let mut labels = Vec::with_capacity(names.len());
    let (mut tp_all, mut fp_all, mut fn_all) = (0usize, 0usize, 0usize);
    let decide = |row: &[f32], k: usize| row[k] >= thresholds[k];
    for (k, name) in names.iter().enumerate() {
        let (mut tp, mut fp, mut fnn) = (0usize, 0usize, 0usize);
        let mut scores = Vec::with_capacity(n);
        let mut pos = Vec::with_capacity(n);
        for (p, t) in probs.iter().zip(truth).take(n) {
            let (pred, real) = (decide(p, k), t[k] >= 0.5);
            match (pred, real) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fnn += 1,
                (false, false) => {}
            }
            scores.push(p[k]);
            pos.push(real);
        }
        tp_all += tp;
        fp_all += fp;
        fn_all += fnn;
        let (precision, recall) = (ratio(tp, tp + fp), ratio(tp, tp + fnn));
        labels.push(LabelMetrics {
            name: name.clone(),
            precision,
            recall,
            f1: f1(precision, recall),
            support: tp + fnn,
            average_precision: average_precision(&scores, &pos),
            threshold: thresholds[k] as f64,
        });
    }
    let (mp, mr) = (
        ratio(tp_all, tp_all + fp_all),
        ratio(tp_all, tp_all + fn_all),
    );
    let aps: Vec<f64> = labels
        .iter()
        .map(|l| l.average_precision)
        .filter(|a| a.is_finite())
        .collect();
    let exact = probs
        .iter()
        .zip(truth)
        .take(n)
        .filter(|(p, t)| (0..names.len()).all(|k| decide(p, k) == (t[k] >= 0.5)))
        .count();
    MultiLabelReport {
        macro_f1: if labels.is_empty() {
            0.0
        } else {
            labels.iter().map(|l| l.f1).sum::<f64>() / labels.len() as f64
        },
        micro_f1: f1(mp, mr),
        micro_precision: mp,
        micro_recall: mr,
        mean_average_precision: if aps.is_empty() {
            f64::NAN
        } else {
            aps.iter().sum::<f64>() / aps.len() as f64
        },
        exact_match: ratio(exact, n),
        n,
        labels,
    }
}

/// Per label, the threshold in [0.05, 0.95] (steps of 0.05) with the best F1 on the given
/// (validation) rows; ties keep the value closest to 0.5. Labels without a true positive keep
/// 0.5.
pub fn tune_thresholds(probs: &[Vec<f32>], truth: &[Vec<f32>], labels: usize) -> Vec<f32> {
    (0..labels)
        .map(|k| {
            if !truth.iter().any(|t| t[k] >= 0.5) {
                return 0.5;
            }
            let mut best = (f64::NEG_INFINITY, 0.5f32);
            for step in 1..20 {
                let th = step as f32 * 0.05;
                let (mut tp, mut fp, mut fnn) = (0usize, 0usize, 0usize);
                for (p, t) in probs.iter().zip(truth) {
                    match (p[k] >= th, t[k] >= 0.5) {
                        (true, true) => tp += 1,
                        (true, false) => fp += 1,
                        (false, true) => fnn += 1,
                        _ => {}
                    }
                }
                let f = f1(ratio(tp, tp + fp), ratio(tp, tp + fnn));
                let closer = (th - 0.5).abs() < (best.1 - 0.5).abs();
                if f > best.0 + 1e-12 || ((f - best.0).abs() <= 1e-12 && closer) {
                    best = (f, th);
                }
            }
            best.1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked: label a has TP 1, FP 1, FN 1 → P = R = F1 = 0.5; label b has no
    /// predicted positive → P = 0 (zero_division 0), R = 0, F1 = 0; micro counts TP 1, FP 1,
    /// FN 2 → P 0.5, R 1/3, F1 0.4.
    #[test]
    fn hand_checked_counts() {
        let names = vec!["a".to_string(), "b".to_string()];
        let probs = vec![vec![0.9, 0.1], vec![0.8, 0.2], vec![0.1, 0.3]];
        let truth = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0]];
        let r = multilabel_report(&names, &probs, &truth, &[0.5, 0.5]);
        let a = &r.labels[0];
        assert_eq!((a.precision, a.recall, a.f1, a.support), (0.5, 0.5, 0.5, 2));
        let b = &r.labels[1];
        assert_eq!((b.precision, b.recall, b.f1, b.support), (0.0, 0.0, 0.0, 1));
        assert_eq!(r.macro_f1, 0.25);
        assert!((r.micro_precision - 0.5).abs() < 1e-12);
        assert!((r.micro_recall - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.micro_f1 - 0.4).abs() < 1e-12);
        // Row 1 ({a} predicted, {a} true) is the only exact label set.
        assert!((r.exact_match - 1.0 / 3.0).abs() < 1e-12);
    }

    /// AP of a perfect ranking is 1; of scores [0.1, 0.4, 0.35, 0.8] with truth [0, 0, 1, 1]
    /// it is 0.8333… (scikit-learn's documented example).
    #[test]
    fn average_precision_matches_the_documented_example() {
        assert_eq!(average_precision(&[0.9, 0.1], &[true, false]), 1.0);
        let ap = average_precision(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]);
        assert!((ap - 0.833_333_333_333_333_4).abs() < 1e-12, "{ap}");
        assert!(average_precision(&[0.5], &[false]).is_nan());
    }

    #[test]
    fn tuned_threshold_separates_the_validation_rows() {
        let probs = vec![vec![0.3], vec![0.35], vec![0.1], vec![0.2]];
        let truth = vec![vec![1.0], vec![1.0], vec![0.0], vec![0.0]];
        let th = tune_thresholds(&probs, &truth, 1)[0];
        assert!(th > 0.2 && th <= 0.3, "{th}");
    }
}
