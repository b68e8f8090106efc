//! Label maps (docs/design.md, "Labels"): many-to-one merges and the kept class set, named or from a user RON
//! file. Applying one reports what was merged and what was dropped, per raw label.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Emotion, Manifest};

/// Merges, then the classes to keep.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelMap {
    /// Name shown in reports.
    pub name: String,
    /// Many-to-one merges applied first, e.g. `{excitement: happiness, calm: neutral}`.
    #[serde(default)]
    pub merge: BTreeMap<Emotion, Emotion>,
    /// Classes kept after merging (`None` = every class).
    #[serde(default)]
    pub keep: Option<Vec<Emotion>>,
}

/// What applying a map did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelReport {
    /// Map name.
    pub map: String,
    /// `"raw (from) -> to"` → count of merged utterances.
    pub merged: BTreeMap<String, usize>,
    /// `"raw (canonical)"` → count of dropped utterances.
    pub dropped: BTreeMap<String, usize>,
    /// Utterances kept.
    pub kept: usize,
}

impl LabelReport {
    /// One line for logs.
    pub fn summary(&self) -> String {
        let d: usize = self.dropped.values().sum();
        let mg: usize = self.merged.values().sum();
        format!(
            "label map '{}': kept {}, merged {mg}, dropped {d} {:?}",
            self.map, self.kept, self.dropped
        )
    }
}

/// Named maps offered everywhere.
pub const NAMED: [&str; 5] = [
    "all",
    "4-class",
    "iemocap-4",
    "emodb-ravdess-6",
    "calm-as-neutral",
];

impl LabelMap {
    /// A named map, or `None`.
    pub fn named(name: &str) -> Option<LabelMap> {
        use Emotion::*;
        let keep = |v: &[Emotion]| Some(v.to_vec());
        Some(match name {
            "all" => LabelMap {
                name: name.into(),
                ..Default::default()
            },
            "4-class" => LabelMap {
                name: name.into(),
                merge: BTreeMap::new(),
                keep: keep(&[Anger, Happiness, Neutral, Sadness]),
            },
            // The standard IEMOCAP set: excitement merged into happiness (5531 utterances).
            "iemocap-4" => LabelMap {
                name: name.into(),
                merge: BTreeMap::from([(Excitement, Happiness)]),
                keep: keep(&[Anger, Happiness, Neutral, Sadness]),
            },
            "emodb-ravdess-6" => LabelMap {
                name: name.into(),
                merge: BTreeMap::new(),
                keep: keep(&[Anger, Disgust, Fear, Happiness, Neutral, Sadness]),
            },
            "calm-as-neutral" => LabelMap {
                name: name.into(),
                merge: BTreeMap::from([(Calm, Neutral)]),
                keep: None,
            },
            _ => return None,
        })
    }

    /// A named map or a RON file (`(name: "...", merge: {calm: neutral}, keep: Some([...]))`).
    pub fn resolve(spec: &str) -> Result<LabelMap, String> {
        if let Some(m) = Self::named(spec) {
            return Ok(m);
        }
        let p = Path::new(spec);
        if !p.exists() {
            return Err(format!(
                "label map '{spec}' is neither a known name ({}) nor a file",
                NAMED.join(", ")
            ));
        }
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        ron::from_str(&text).map_err(|e| format!("{}: malformed label map: {e}", p.display()))
    }

    /// The classes two or more corpora share (after no merges): the cross-corpus default.
    pub fn intersection(manifests: &[&Manifest]) -> LabelMap {
        let mut sets = manifests.iter().map(|m| {
            m.utterances
                .iter()
                .map(|u| u.emotion)
                .collect::<BTreeSet<_>>()
        });
        let first = sets.next().unwrap_or_default();
        let common: BTreeSet<Emotion> =
            sets.fold(first, |acc, s| acc.intersection(&s).copied().collect());
        LabelMap {
            name: "intersection".into(),
            merge: BTreeMap::new(),
            keep: Some(common.into_iter().collect()),
        }
    }

    /// Applies the map in place and reports merges and drops per raw label.
    pub fn apply(&self, m: &mut Manifest) -> LabelReport {
        let mut report = LabelReport {
            map: self.name.clone(),
            ..Default::default()
        };
        let keep: Option<BTreeSet<Emotion>> =
            self.keep.as_ref().map(|k| k.iter().copied().collect());
        m.utterances.retain_mut(|u| {
            if let Some(&to) = self.merge.get(&u.emotion) {
                *report
                    .merged
                    .entry(format!("{} ({}) -> {}", u.raw_label, u.emotion, to))
                    .or_insert(0) += 1;
                u.emotion = to;
            }
            let ok = keep.as_ref().is_none_or(|k| k.contains(&u.emotion));
            if !ok {
                *report
                    .dropped
                    .entry(format!("{} ({})", u.raw_label, u.emotion))
                    .or_insert(0) += 1;
            }
            ok
        });
        report.kept = m.utterances.len();
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::utterance;

    fn manifest(labels: &[(&str, Emotion)]) -> Manifest {
        Manifest {
            utterances: labels
                .iter()
                .enumerate()
                .map(|(i, (raw, e))| utterance("t", format!("{i}.wav").into(), raw, *e))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn iemocap_four_class_merges_excitement_and_reports_drops() {
        let mut m = manifest(&[
            ("hap", Emotion::Happiness),
            ("exc", Emotion::Excitement),
            ("exc", Emotion::Excitement),
            ("fru", Emotion::Frustration),
            ("ang", Emotion::Anger),
        ]);
        let r = LabelMap::named("iemocap-4").expect("named").apply(&mut m);
        assert_eq!(r.kept, 4);
        assert_eq!(r.merged.get("exc (excitement) -> happiness"), Some(&2));
        assert_eq!(r.dropped.get("fru (frustration)"), Some(&1));
        assert_eq!(
            m.utterances
                .iter()
                .filter(|u| u.emotion == Emotion::Happiness)
                .count(),
            3
        );
    }

    #[test]
    fn intersection_of_emodb_and_ravdess_is_the_six_classes() {
        use Emotion::*;
        let a = manifest(&[
            ("W", Anger),
            ("L", Boredom),
            ("E", Disgust),
            ("A", Fear),
            ("F", Happiness),
            ("T", Sadness),
            ("N", Neutral),
        ]);
        let b = manifest(&[
            ("01", Neutral),
            ("02", Calm),
            ("03", Happiness),
            ("04", Sadness),
            ("05", Anger),
            ("06", Fear),
            ("07", Disgust),
            ("08", Surprise),
        ]);
        let i = LabelMap::intersection(&[&a, &b]);
        assert_eq!(
            i.keep,
            LabelMap::named("emodb-ravdess-6")
                .expect("six")
                .keep
                .map(|mut v| {
                    v.sort();
                    v
                })
        );
    }

    #[test]
    fn user_map_from_ron_and_bad_names() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("m.ron");
        std::fs::write(
            &p,
            "(name: \"mine\", merge: {calm: neutral}, keep: Some([neutral, anger]))",
        )
        .expect("w");
        let m = LabelMap::resolve(&p.display().to_string()).expect("load");
        assert_eq!(m.merge.get(&Emotion::Calm), Some(&Emotion::Neutral));
        assert!(
            LabelMap::resolve("no-such-map")
                .unwrap_err()
                .contains("known name")
        );
        std::fs::write(&p, "(name: ").expect("w");
        assert!(
            LabelMap::resolve(&p.display().to_string())
                .unwrap_err()
                .contains("malformed label map")
        );
    }
}
