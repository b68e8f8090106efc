//! Evaluation: metrics and reports as plain functions (no burn, no egui).
//!
//! One definition everywhere (SPEC §7): WA = overall accuracy = ΣTP / N; UA = mean per-class
//! recall (balanced accuracy, UAR). Confusion matrices have rows = true class, columns = predicted.

pub mod metrics;
pub mod pca;

pub use metrics::{ClassMetrics, ClassificationReport, ConfusionMatrix};
