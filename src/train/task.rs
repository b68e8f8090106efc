//! What a run predicts: emotion classes (categorical) or continuous dimensions such as arousal,
//! valence and dominance (dimensional regression; docs/design.md, "Dimensional emotion").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::corpus::Utterance;

/// The task of a preset.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Task {
    /// One emotion class per utterance (cross-entropy, UA/WA/F1).
    #[default]
    Categorical,
    /// Continuous dimensions (regression, CCC).
    Dimensional(DimensionalTask),
    /// Several labels per utterance, each with its own probability (speaking styles; F1 per
    /// label).
    MultiLabel(super::multilabel::MultiLabelTask),
}

impl Task {
    /// The dimensional settings, if dimensional.
    pub fn dimensional(&self) -> Option<&DimensionalTask> {
        match self {
            Task::Dimensional(d) => Some(d),
            _ => None,
        }
    }

    /// The multi-label settings, if multi-label.
    pub fn multi_label(&self) -> Option<&super::multilabel::MultiLabelTask> {
        match self {
            Task::MultiLabel(m) => Some(m),
            _ => None,
        }
    }

    /// `categorical`, `dimensional` or `multi-label`.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Categorical => "categorical",
            Task::Dimensional(_) => "dimensional",
            Task::MultiLabel(_) => "multi-label",
        }
    }
}

/// How target values are mapped before training (predictions are reported on the same scale).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum TargetScale {
    /// Each corpus's annotation scale to [0, 1]: MSP-Podcast 1–7, IEMOCAP 1–5; any other corpus
    /// its observed minimum–maximum per dimension (stated in the report).
    #[default]
    PerCorpus,
    /// One fixed range to [0, 1] for every corpus.
    Range(f32, f32),
    /// Values as annotated.
    Raw,
}

/// Training loss of a dimensional run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum RegressionLoss {
    /// `1 − CCC` per dimension over the batch (population statistics), averaged over dimensions.
    #[default]
    Ccc,
    /// Mean squared error over dimensions and items.
    Mse,
    /// `w·(1 − CCC) + (1 − w)·MSE`.
    Mix(f64),
}

impl RegressionLoss {
    /// Short name for reports.
    pub fn describe(self) -> String {
        match self {
            RegressionLoss::Ccc => "1 − CCC (per dimension over the batch, averaged)".into(),
            RegressionLoss::Mse => "mean squared error".into(),
            RegressionLoss::Mix(w) => format!("{w}·(1 − CCC) + {}·MSE", 1.0 - w),
        }
    }
}

/// Settings of a dimensional run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DimensionalTask {
    /// Dimensions to predict, in output order: `arousal`, `valence`, `dominance` or the name of a
    /// numeric CSV-manifest column.
    pub dimensions: Vec<String>,
    /// Target scaling.
    pub scale: TargetScale,
    /// Loss.
    pub loss: RegressionLoss,
    /// SSL layer-weighted models: one set of layer weights per dimension (else one shared set).
    pub per_dimension_layer_weights: bool,
}

impl Default for DimensionalTask {
    fn default() -> Self {
        Self {
            dimensions: vec!["arousal".into(), "valence".into(), "dominance".into()],
            scale: TargetScale::PerCorpus,
            loss: RegressionLoss::Ccc,
            per_dimension_layer_weights: false,
        }
    }
}

impl DimensionalTask {
    /// Checks the settings; every problem names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.dimensions.is_empty() {
            return Err("task: a dimensional task needs at least one dimension".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.dimensions {
            if d.trim().is_empty() {
                return Err("task: a dimension name is empty".into());
            }
            if !seen.insert(d.to_ascii_lowercase()) {
                return Err(format!("task: dimension '{d}' is listed twice"));
            }
        }
        if let TargetScale::Range(lo, hi) = self.scale
            && !(lo.is_finite() && hi.is_finite() && hi > lo)
        {
            return Err(format!(
                "task: scale Range({lo}, {hi}) needs finite bounds with max > min"
            ));
        }
        if let RegressionLoss::Mix(w) = self.loss
            && !(0.0..=1.0).contains(&w)
        {
            return Err(format!("task: loss Mix({w}) needs a CCC weight in [0, 1]"));
        }
        Ok(())
    }
}

/// The annotated value of dimension `name` of `u`: the reader's arousal/valence/dominance for
/// those names (CSV spellings `activation`/`act`, `val`, `dom` too), else a numeric CSV column.
pub fn dimension_value(u: &Utterance, name: &str) -> Option<f32> {
    let l = name.trim().to_ascii_lowercase();
    let canonical = match l.as_str() {
        "arousal" | "activation" | "act" => u.arousal,
        "valence" | "val" => u.valence,
        "dominance" | "dom" => u.dominance,
        _ => None,
    };
    canonical
        .or_else(|| {
            u.values
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&l))
                .map(|(_, v)| *v)
        })
        .filter(|v| v.is_finite())
}

/// The annotation scale of a known corpus (`None`: unknown, the observed range is used).
pub fn corpus_scale(corpus: &str) -> Option<(f32, f32)> {
    let base = corpus.split([':', '#']).next().unwrap_or(corpus);
    let base = base.strip_suffix("-target").unwrap_or(base);
    match base {
        "msp-podcast" => Some((1.0, 7.0)),
        "iemocap" => Some((1.0, 5.0)),
        _ => None,
    }
}

/// The range mapped to [0, 1] for one corpus and dimension.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaleRow {
    /// Corpus name.
    pub corpus: String,
    /// Dimension.
    pub dimension: String,
    /// Value mapped to 0.
    pub min: f32,
    /// Value mapped to 1.
    pub max: f32,
    /// Where the range comes from (`annotation scale of msp-podcast`, `observed range`, …).
    pub source: String,
}

/// Targets of a dimensional run.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    /// Scaled target per kept utterance, in dimension order.
    pub values: Vec<Vec<f32>>,
    /// Index (into the input list) of each kept utterance.
    pub kept: Vec<usize>,
    /// Utterances without a value, per dimension name.
    pub missing: BTreeMap<String, usize>,
    /// The scaling applied (empty for `Raw`).
    pub scales: Vec<ScaleRow>,
}

/// Reads and scales the targets of `utts`; utterances lacking any dimension are left out and
/// counted.
pub fn targets(utts: &[Utterance], task: &DimensionalTask) -> Targets {
    let dims = &task.dimensions;
    let mut out = Targets::default();
    let raw: Vec<Option<Vec<f32>>> = utts
        .iter()
        .map(|u| {
            let v: Vec<Option<f32>> = dims.iter().map(|d| dimension_value(u, d)).collect();
            if v.iter().all(Option::is_some) {
                Some(v.into_iter().flatten().collect())
            } else {
                for (d, x) in dims.iter().zip(&v) {
                    if x.is_none() {
                        *out.missing.entry(d.clone()).or_insert(0) += 1;
                    }
                }
                None
            }
        })
        .collect();
    // (corpus, dimension) → (min, max) of the kept rows.
    let mut observed: BTreeMap<(String, usize), (f32, f32)> = BTreeMap::new();
    for (u, v) in utts.iter().zip(&raw) {
        if let Some(v) = v {
            for (k, &x) in v.iter().enumerate() {
                let e = observed
                    .entry((u.corpus.clone(), k))
                    .or_insert((f32::INFINITY, f32::NEG_INFINITY));
                e.0 = e.0.min(x);
                e.1 = e.1.max(x);
            }
        }
    }
    let range = |corpus: &str, k: usize| -> Option<(f32, f32, String)> {
        match task.scale {
            TargetScale::Raw => None,
            TargetScale::Range(lo, hi) => Some((lo, hi, "preset range".into())),
            TargetScale::PerCorpus => match corpus_scale(corpus) {
                Some((lo, hi)) => Some((lo, hi, format!("annotation scale of {corpus}"))),
                None => observed.get(&(corpus.to_string(), k)).map(|&(lo, hi)| {
                    if hi > lo {
                        (lo, hi, "observed minimum–maximum of the corpus".into())
                    } else {
                        (
                            lo - 0.5,
                            lo + 0.5,
                            "constant in the corpus: centred at 0.5".into(),
                        )
                    }
                }),
            },
        }
    };
    for ((corpus, k), _) in observed.iter() {
        if let Some((lo, hi, source)) = range(corpus, *k) {
            out.scales.push(ScaleRow {
                corpus: corpus.clone(),
                dimension: dims[*k].clone(),
                min: lo,
                max: hi,
                source,
            });
        }
    }
    for (i, (u, v)) in utts.iter().zip(raw).enumerate() {
        let Some(v) = v else { continue };
        let scaled = v
            .iter()
            .enumerate()
            .map(|(k, &x)| match range(&u.corpus, k) {
                Some((lo, hi, _)) => (x - lo) / (hi - lo),
                None => x,
            })
            .collect();
        out.values.push(scaled);
        out.kept.push(i);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Emotion;

    fn utt(corpus: &str, a: Option<f32>, v: Option<f32>) -> Utterance {
        let mut u = crate::corpus::utterance(corpus, "x.wav".into(), "neu", Emotion::Neutral);
        u.arousal = a;
        u.valence = v;
        u
    }

    #[test]
    fn known_scales_and_observed_ranges() {
        let task = DimensionalTask {
            dimensions: vec!["arousal".into(), "valence".into()],
            ..Default::default()
        };
        let utts = vec![
            utt("msp-podcast", Some(1.0), Some(7.0)),
            utt("msp-podcast", Some(4.0), Some(2.5)),
            utt("iemocap", Some(3.0), Some(5.0)),
            utt("csv", Some(10.0), Some(-1.0)),
            utt("csv", Some(20.0), Some(1.0)),
            utt("csv", None, Some(0.0)),
        ];
        let t = targets(&utts, &task);
        assert_eq!(t.kept, vec![0, 1, 2, 3, 4]);
        assert_eq!(t.missing.get("arousal"), Some(&1));
        assert_eq!(t.values[0], vec![0.0, 1.0]);
        assert_eq!(t.values[1], vec![0.5, 0.25]);
        assert_eq!(t.values[2], vec![0.5, 1.0]);
        assert_eq!(t.values[3], vec![0.0, 0.0]);
        assert_eq!(t.values[4], vec![1.0, 1.0]);
        let raw = targets(
            &utts,
            &DimensionalTask {
                scale: TargetScale::Raw,
                ..task.clone()
            },
        );
        assert_eq!(raw.values[3], vec![10.0, -1.0]);
        assert!(raw.scales.is_empty());
    }

    #[test]
    fn named_columns_and_spellings() {
        let mut u = utt("csv", None, None);
        u.values.insert("Act".into(), 2.0);
        u.values.insert("liking".into(), 0.25);
        assert_eq!(dimension_value(&u, "liking"), Some(0.25));
        assert_eq!(dimension_value(&u, "act"), Some(2.0));
        assert_eq!(dimension_value(&u, "dominance"), None);
        assert!(
            DimensionalTask {
                dimensions: vec!["a".into(), "A".into()],
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }
}
