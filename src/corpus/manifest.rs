//! Manifest rows (one per utterance) and the result of reading a corpus folder.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Emotion;

/// Speaker gender as given by the corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    /// Female speaker.
    Female,
    /// Male speaker.
    Male,
}

impl Gender {
    /// Parses `f`, `female`, `m`, `male` (any case).
    pub fn parse(s: &str) -> Option<Gender> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f" | "female" | "w" | "woman" => Some(Gender::Female),
            "m" | "male" | "man" => Some(Gender::Male),
            _ => None,
        }
    }

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
        }
    }
}

/// One utterance (docs/design.md, "Corpora").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Utterance {
    /// Corpus name, e.g. `emodb`.
    pub corpus: String,
    /// Absolute or root-relative path of the audio file.
    pub path: PathBuf,
    /// Label as spelled by the corpus (e.g. `W` for EMODB anger).
    pub raw_label: String,
    /// Canonical emotion.
    pub emotion: Emotion,
    /// Speaker identifier, unique within the corpus.
    pub speaker_id: Option<String>,
    /// Speaker gender when known.
    pub gender: Option<Gender>,
    /// Recording session (IEMOCAP) when known.
    pub session: Option<String>,
    /// Text / sentence identifier when known.
    pub text_id: Option<String>,
    /// Intensity level (RAVDESS normal/strong, CREMA-D LO/MD/HI) when known.
    pub intensity: Option<String>,
    /// Official split name when the corpus has one.
    pub split: Option<String>,
    /// Arousal / activation (corpus scale) when annotated.
    #[serde(default)]
    pub arousal: Option<f32>,
    /// Valence when annotated.
    #[serde(default)]
    pub valence: Option<f32>,
    /// Dominance when annotated.
    #[serde(default)]
    pub dominance: Option<f32>,
    /// Transcript when the corpus provides one.
    #[serde(default)]
    pub transcript: Option<String>,
    /// Speaking style (IEMOCAP `improvised` / `scripted`).
    #[serde(default)]
    pub style: Option<String>,
    /// Other numeric annotations by column name (CSV manifests: any numeric column, e.g. a
    /// dimension the task names).
    #[serde(default)]
    pub values: BTreeMap<String, f32>,
    /// Duration from the WAV header.
    pub duration_secs: f64,
    /// Sample rate from the WAV header.
    pub sample_rate_hz: u32,
}

/// A file that was not loaded, with the reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why it was skipped.
    pub reason: String,
}

/// Everything read from a corpus folder.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// Detected or chosen corpus type name.
    pub corpus_type: String,
    /// The folder that was read.
    pub root: PathBuf,
    /// Loaded utterances, sorted by path.
    pub utterances: Vec<Utterance>,
    /// Files that were not loaded, with reasons.
    pub skipped: Vec<Skipped>,
    /// Loaded files with a warning (e.g. very high sample rate); they stay in the corpus.
    #[serde(default)]
    pub flagged: Vec<Skipped>,
    /// Loaded files without an emotion class but with other annotations (MSP-Podcast class
    /// `X`, IEMOCAP `xxx`: no agreement): categorical runs leave them out, dimensional runs use
    /// their arousal / valence / dominance.
    #[serde(default)]
    pub uncategorised: Vec<Utterance>,
}

/// Per-speaker summary for inspection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeakerSummary {
    /// Utterance count.
    pub utterances: usize,
    /// Gender, when known.
    pub gender: Option<Gender>,
}

impl Manifest {
    /// Utterances per canonical class name.
    pub fn per_class(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for u in &self.utterances {
            *m.entry(u.emotion.name().to_string()).or_insert(0) += 1;
        }
        m
    }

    /// Utterances per speaker (with gender); utterances without speaker are under `unknown`.
    pub fn per_speaker(&self) -> BTreeMap<String, SpeakerSummary> {
        let mut m: BTreeMap<String, SpeakerSummary> = BTreeMap::new();
        for u in &self.utterances {
            let key = u.speaker_id.clone().unwrap_or_else(|| "unknown".into());
            let e = m.entry(key).or_insert(SpeakerSummary {
                utterances: 0,
                gender: u.gender,
            });
            e.utterances += 1;
        }
        m
    }

    /// True when every utterance has a speaker id (speaker-independent protocols possible).
    pub fn speakers_known(&self) -> bool {
        let mut all = self.utterances.iter().chain(&self.uncategorised).peekable();
        all.peek().is_some() && all.all(|u| u.speaker_id.is_some())
    }

    /// Total duration in seconds.
    pub fn total_duration_secs(&self) -> f64 {
        self.utterances.iter().map(|u| u.duration_secs).sum()
    }
}
