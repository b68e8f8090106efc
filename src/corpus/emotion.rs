//! The canonical emotion vocabulary (docs/design.md, "Labels") and the mapping of common raw spellings onto it.

use serde::{Deserialize, Serialize};

/// Canonical emotion. Class indices are always derived from the *sorted names* of the classes in
/// use, so the order is deterministic and independent of the corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Emotion {
    /// Neutral.
    Neutral,
    /// Calm (RAVDESS).
    Calm,
    /// Happiness / joy.
    Happiness,
    /// Sadness.
    Sadness,
    /// Anger.
    Anger,
    /// Fear.
    Fear,
    /// Disgust.
    Disgust,
    /// Surprise.
    Surprise,
    /// Boredom (EMODB).
    Boredom,
    /// Contempt.
    Contempt,
    /// Frustration (IEMOCAP).
    Frustration,
    /// Excitement (IEMOCAP).
    Excitement,
    /// Anything else.
    Other,
}

impl Emotion {
    /// Every canonical emotion.
    pub const ALL: [Emotion; 13] = [
        Emotion::Neutral,
        Emotion::Calm,
        Emotion::Happiness,
        Emotion::Sadness,
        Emotion::Anger,
        Emotion::Fear,
        Emotion::Disgust,
        Emotion::Surprise,
        Emotion::Boredom,
        Emotion::Contempt,
        Emotion::Frustration,
        Emotion::Excitement,
        Emotion::Other,
    ];

    /// Canonical lowercase name (used as class name everywhere).
    pub fn name(self) -> &'static str {
        match self {
            Emotion::Neutral => "neutral",
            Emotion::Calm => "calm",
            Emotion::Happiness => "happiness",
            Emotion::Sadness => "sadness",
            Emotion::Anger => "anger",
            Emotion::Fear => "fear",
            Emotion::Disgust => "disgust",
            Emotion::Surprise => "surprise",
            Emotion::Boredom => "boredom",
            Emotion::Contempt => "contempt",
            Emotion::Frustration => "frustration",
            Emotion::Excitement => "excitement",
            Emotion::Other => "other",
        }
    }

    /// Maps a free-text label (any case; common corpus spellings and abbreviations) to the
    /// canonical emotion. Returns `None` for labels it does not know, so that callers can report
    /// them instead of guessing.
    pub fn from_label(raw: &str) -> Option<Emotion> {
        let l = raw.trim().to_ascii_lowercase();
        Some(match l.as_str() {
            "neutral" | "neu" | "n" | "neutrality" => Emotion::Neutral,
            "calm" => Emotion::Calm,
            "happiness" | "happy" | "hap" | "joy" | "h" | "happiness/joy" => Emotion::Happiness,
            "sadness" | "sad" | "sa" => Emotion::Sadness,
            "anger" | "angry" | "ang" | "a" | "mad" => Emotion::Anger,
            "fear" | "fearful" | "fea" | "f" | "afraid" | "anxiety" | "anxiety/fear" => {
                Emotion::Fear
            }
            "disgust" | "disgusted" | "dis" | "d" => Emotion::Disgust,
            "surprise" | "surprised" | "sur" | "su" | "ps" | "pleasant_surprise"
            | "pleasant surprise" => Emotion::Surprise,
            "boredom" | "bored" | "bor" => Emotion::Boredom,
            "contempt" | "con" | "c" => Emotion::Contempt,
            "frustration" | "frustrated" | "fru" => Emotion::Frustration,
            "excitement" | "excited" | "exc" => Emotion::Excitement,
            "other" | "oth" => Emotion::Other,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Emotion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Emotion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Emotion::from_label(s).ok_or_else(|| format!("unknown emotion label '{s}'"))
    }
}

/// Sorted, deduplicated class list (by canonical name) — the one class-index order.
pub fn class_order(emotions: impl IntoIterator<Item = Emotion>) -> Vec<Emotion> {
    let mut v: Vec<Emotion> = emotions.into_iter().collect();
    v.sort_by_key(|e| e.name());
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in Emotion::ALL {
            assert_eq!(Emotion::from_label(e.name()), Some(e));
            assert_eq!(Emotion::from_label(&e.name().to_uppercase()), Some(e));
        }
        assert_eq!(Emotion::from_label("ps"), Some(Emotion::Surprise));
        assert_eq!(Emotion::from_label("zzz"), None);
    }

    #[test]
    fn class_order_is_sorted_by_name() {
        let c = class_order([
            Emotion::Sadness,
            Emotion::Anger,
            Emotion::Neutral,
            Emotion::Anger,
        ]);
        assert_eq!(c, vec![Emotion::Anger, Emotion::Neutral, Emotion::Sadness]);
    }
}
