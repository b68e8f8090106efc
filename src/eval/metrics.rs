//! Classification metrics (docs/design.md, "Metrics"), tested against hand-computed cases.

use serde::{Deserialize, Serialize};

/// Formula shown in tooltips and reports for weighted accuracy.
pub const WA_FORMULA: &str = "WA (weighted accuracy) = overall accuracy = Σ TP / N";
/// Formula shown in tooltips and reports for unweighted accuracy.
pub const UA_FORMULA: &str =
    "UA (unweighted accuracy) = mean over classes of recall = Σ_c (TP_c / N_c) / C";
/// Formula for macro-F1.
pub const MACRO_F1_FORMULA: &str = "macro-F1 = mean over all C classes of the run of F1_c, \
     F1_c = 2·P_c·R_c / (P_c + R_c); a class absent from the truth counts with F1 0 \
     (scikit-learn's f1_score(average=\"macro\", labels=classes))";
/// Which classes the macro averages cover (shown in reports and tooltips).
pub const MACRO_SCOPE: &str = "macro averages cover all classes of the run (scikit-learn's \
     labels = the run's classes): a class absent from this part's truth counts with F1 0, \
     precision 0 unless predicted correctly, recall 0; UA averages recall over the classes \
     present in the truth only (balanced_accuracy_score)";
/// Formula for weighted-F1.
pub const WEIGHTED_F1_FORMULA: &str = "weighted-F1 = Σ_c (N_c / N) · F1_c";

/// Square confusion matrix: `counts[true][predicted]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Number of classes (rows = columns).
    pub n_classes: usize,
    /// Row-major counts, rows = true class, columns = predicted class.
    pub counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// Empty matrix for `n_classes` classes.
    pub fn new(n_classes: usize) -> Self {
        Self {
            n_classes,
            counts: vec![vec![0; n_classes]; n_classes],
        }
    }

    /// Builds the matrix from parallel slices of true and predicted class indices.
    /// Indices outside `0..n_classes` are ignored (they cannot be placed in the matrix).
    pub fn from_predictions(n_classes: usize, truth: &[usize], predicted: &[usize]) -> Self {
        let mut m = Self::new(n_classes);
        for (&t, &p) in truth.iter().zip(predicted) {
            m.add(t, p);
        }
        m
    }

    /// Counts one prediction.
    pub fn add(&mut self, truth: usize, predicted: usize) {
        if let Some(cell) = self
            .counts
            .get_mut(truth)
            .and_then(|row| row.get_mut(predicted))
        {
            *cell += 1;
        }
    }

    /// Adds another matrix of the same size (pooling folds).
    pub fn merge(&mut self, other: &ConfusionMatrix) {
        for (row, orow) in self.counts.iter_mut().zip(&other.counts) {
            for (c, o) in row.iter_mut().zip(orow) {
                *c += o;
            }
        }
    }

    /// Total number of predictions.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Number of true examples of class `c` (row sum).
    pub fn support(&self, c: usize) -> u64 {
        self.counts.get(c).map_or(0, |r| r.iter().sum())
    }

    /// Number of predictions of class `c` (column sum).
    pub fn predicted_count(&self, c: usize) -> u64 {
        self.counts.iter().filter_map(|r| r.get(c)).sum()
    }

    /// Row-normalised matrix (each row sums to 1; an empty row stays all zeros).
    pub fn row_normalised(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|row| {
                let n: u64 = row.iter().sum();
                row.iter()
                    .map(|&c| if n == 0 { 0.0 } else { c as f64 / n as f64 })
                    .collect()
            })
            .collect()
    }
}

/// Per-class precision, recall, F1 and support.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Class name.
    pub class: String,
    /// TP / (TP + FP); 0 when the class was never predicted (sklearn's zero_division=0).
    pub precision: f64,
    /// TP / (TP + FN); 0 when the class has no true examples.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub f1: f64,
    /// Number of true examples.
    pub support: u64,
}

/// Everything docs/design.md, "Metrics" asks for on a single-label classification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// Class names in index order.
    pub classes: Vec<String>,
    /// Weighted accuracy = overall accuracy.
    pub wa: f64,
    /// Unweighted accuracy = mean recall over the classes present in the truth (scikit-learn's
    /// `balanced_accuracy_score`).
    pub ua: f64,
    /// Mean F1 over all classes of the run (scikit-learn's `f1_score(average="macro",
    /// labels=classes)`; an absent class counts with F1 0).
    pub macro_f1: f64,
    /// Support-weighted mean F1.
    pub weighted_f1: f64,
    /// Mean precision over all classes of the run (`precision_score(average="macro",
    /// labels=classes)`, zero division → 0).
    pub macro_precision: f64,
    /// Mean recall over all classes of the run (`recall_score(average="macro",
    /// labels=classes)`); equals `ua` when every class has true examples.
    pub macro_recall: f64,
    /// Per-class table.
    pub per_class: Vec<ClassMetrics>,
    /// Confusion matrix, rows = true class.
    pub confusion: ConfusionMatrix,
    /// Number of evaluated predictions.
    pub n: u64,
}

impl ClassificationReport {
    /// Computes the report from a confusion matrix, with scikit-learn's definitions (tested
    /// against it in `tests/metrics_sklearn.rs`): macro precision, recall and F1 average over
    /// every class of the run (`labels` = the run's classes, zero division → 0), so a class that
    /// a fold's truth lacks counts with F1 0; UA averages recall over the classes present in the
    /// truth (`balanced_accuracy_score`).
    pub fn from_confusion(classes: &[String], confusion: ConfusionMatrix) -> Self {
        let n = confusion.total();
        let k = confusion.n_classes;
        let tp_sum: u64 = (0..k).map(|c| confusion.counts[c][c]).sum();
        let wa = if n == 0 {
            0.0
        } else {
            tp_sum as f64 / n as f64
        };
        let mut per_class = Vec::with_capacity(k);
        for c in 0..k {
            let tp = confusion.counts[c][c] as f64;
            let support = confusion.support(c);
            let pred = confusion.predicted_count(c);
            let precision = if pred == 0 { 0.0 } else { tp / pred as f64 };
            let recall = if support == 0 {
                0.0
            } else {
                tp / support as f64
            };
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            per_class.push(ClassMetrics {
                class: classes
                    .get(c)
                    .cloned()
                    .unwrap_or_else(|| format!("class{c}")),
                precision,
                recall,
                f1,
                support,
            });
        }
        let mean = |rows: &[&ClassMetrics], f: fn(&ClassMetrics) -> f64| {
            if rows.is_empty() {
                0.0
            } else {
                rows.iter().map(|m| f(m)).sum::<f64>() / rows.len() as f64
            }
        };
        let all: Vec<&ClassMetrics> = per_class.iter().collect();
        let present: Vec<&ClassMetrics> = per_class.iter().filter(|m| m.support > 0).collect();
        let ua = mean(&present, |m| m.recall);
        let macro_recall = mean(&all, |m| m.recall);
        let macro_precision = mean(&all, |m| m.precision);
        let macro_f1 = mean(&all, |m| m.f1);
        let weighted_f1 = if n == 0 {
            0.0
        } else {
            per_class
                .iter()
                .map(|m| m.f1 * m.support as f64)
                .sum::<f64>()
                / n as f64
        };
        Self {
            classes: classes.to_vec(),
            wa,
            ua,
            macro_f1,
            weighted_f1,
            macro_precision,
            macro_recall,
            per_class,
            confusion,
            n,
        }
    }

    /// Computes the report from true and predicted class indices.
    pub fn from_predictions(classes: &[String], truth: &[usize], predicted: &[usize]) -> Self {
        Self::from_confusion(
            classes,
            ConfusionMatrix::from_predictions(classes.len(), truth, predicted),
        )
    }

    /// Markdown classification report (per-class table plus averages).
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        s.push_str("| class | precision | recall | F1 | support |\n|---|---:|---:|---:|---:|\n");
        for m in &self.per_class {
            s.push_str(&format!(
                "| {} | {:.4} | {:.4} | {:.4} | {} |\n",
                m.class, m.precision, m.recall, m.f1, m.support
            ));
        }
        s.push_str(&format!(
            "| **macro avg** | {:.4} | {:.4} | {:.4} | {} |\n",
            self.macro_precision, self.macro_recall, self.macro_f1, self.n
        ));
        s.push_str(&format!("\n- WA = {:.4} ({WA_FORMULA})\n", self.wa));
        s.push_str(&format!("- UA = {:.4} ({UA_FORMULA})\n", self.ua));
        s.push_str(&format!(
            "- macro-F1 = {:.4}\n- weighted-F1 = {:.4}\n",
            self.macro_f1, self.weighted_f1
        ));
        s.push_str(&format!(
            "- The {} {MACRO_SCOPE}.\n",
            match self.classes.len() {
                1 => "one class: ".to_string(),
                n => format!("{n} classes ({}):", self.classes.join(", ")),
            }
        ));
        s
    }
}

/// Arithmetic mean and sample standard deviation (n − 1) of values, as
/// reported for "mean ± std over folds". A single value has std 0.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|c| format!("c{c}")).collect()
    }

    /// Hand-computed case:
    /// truth = [0,0,0,1,1,2], pred = [0,0,1,1,2,2]
    /// confusion = [[2,1,0],[0,1,1],[0,0,1]]
    /// WA = 4/6; recalls = 2/3, 1/2, 1 → UA = (2/3+1/2+1)/3 = 13/18
    /// precisions = 1, 1/2, 1/2; F1 = 0.8, 0.5, 2/3 → macro-F1 = (0.8+0.5+2/3)/3
    /// weighted-F1 = (3·0.8 + 2·0.5 + 1·2/3)/6
    #[test]
    fn hand_computed_three_class_case() {
        let r = ClassificationReport::from_predictions(
            &names(3),
            &[0, 0, 0, 1, 1, 2],
            &[0, 0, 1, 1, 2, 2],
        );
        assert_eq!(
            r.confusion.counts,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        let tol = 1e-12;
        assert!((r.wa - 4.0 / 6.0).abs() < tol);
        assert!((r.ua - 13.0 / 18.0).abs() < tol);
        assert!((r.per_class[0].precision - 1.0).abs() < tol);
        assert!((r.per_class[1].precision - 0.5).abs() < tol);
        assert!((r.per_class[2].precision - 0.5).abs() < tol);
        assert!((r.per_class[0].f1 - 0.8).abs() < tol);
        assert!((r.per_class[1].f1 - 0.5).abs() < tol);
        assert!((r.per_class[2].f1 - 2.0 / 3.0).abs() < tol);
        assert!((r.macro_f1 - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < tol);
        assert!((r.weighted_f1 - (3.0 * 0.8 + 2.0 * 0.5 + 2.0 / 3.0) / 6.0).abs() < tol);
        assert_eq!(
            r.per_class.iter().map(|m| m.support).collect::<Vec<_>>(),
            vec![3, 2, 1]
        );
    }

    /// WA and UA differ on imbalanced data: always predicting the majority class.
    /// truth = 8×c0 + 2×c1, pred = all c0 → WA = 0.8, UA = (1 + 0)/2 = 0.5,
    /// F1_c0 = 2·0.8·1/1.8 = 8/9, F1_c1 = 0 (never predicted: precision 0 by convention).
    #[test]
    fn majority_classifier_wa_vs_ua() {
        let truth = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
        let pred = [0; 10];
        let r = ClassificationReport::from_predictions(&names(2), &truth, &pred);
        assert!((r.wa - 0.8).abs() < 1e-12);
        assert!((r.ua - 0.5).abs() < 1e-12);
        assert!((r.per_class[0].f1 - 8.0 / 9.0).abs() < 1e-12);
        assert_eq!(r.per_class[1].precision, 0.0);
        assert_eq!(r.per_class[1].f1, 0.0);
        assert!((r.macro_f1 - 4.0 / 9.0).abs() < 1e-12);
    }

    /// scikit-learn with labels = the run's classes: class 2 has no true examples and is never
    /// predicted, so it counts with F1 0 in the macro averages; UA covers present classes only.
    #[test]
    fn absent_class_counts_in_macro_averages_not_in_ua() {
        let r = ClassificationReport::from_predictions(&names(3), &[0, 1], &[0, 1]);
        assert_eq!(r.ua, 1.0);
        assert!((r.macro_f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.macro_recall - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.per_class[2].support, 0);
    }

    #[test]
    fn row_normalised_rows_sum_to_one() {
        let m = ConfusionMatrix::from_predictions(2, &[0, 0, 0, 1], &[0, 1, 1, 1]);
        let n = m.row_normalised();
        assert!((n[0][0] - 1.0 / 3.0).abs() < 1e-12);
        assert!((n[0][1] - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(n[1], vec![0.0, 1.0]);
        let empty = ConfusionMatrix::new(2).row_normalised();
        assert_eq!(empty, vec![vec![0.0, 0.0], vec![0.0, 0.0]]);
    }

    #[test]
    fn merge_pools_folds() {
        let mut a = ConfusionMatrix::from_predictions(2, &[0, 1], &[0, 0]);
        let b = ConfusionMatrix::from_predictions(2, &[1, 1], &[1, 0]);
        a.merge(&b);
        assert_eq!(a.counts, vec![vec![1, 0], vec![2, 1]]);
        assert_eq!(a.total(), 4);
    }

    #[test]
    fn mean_std_sample() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert!((m - 2.5).abs() < 1e-12);
        // sample variance = (2.25+0.25+0.25+2.25)/3 = 5/3
        assert!((s - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_std(&[7.0]), (7.0, 0.0));
    }
}
