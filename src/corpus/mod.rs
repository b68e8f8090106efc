//! Corpora: readers per corpus, canonical labels, splits and the leakage check. No burn, no egui.

pub mod csv_manifest;
pub mod demo;
pub mod emodb;
pub mod emotion;
pub mod folder;
pub mod manifest;
pub mod ravdess;
pub mod split;

use std::path::{Path, PathBuf};

pub use emotion::{Emotion, class_order};
pub use manifest::{Gender, Manifest, Skipped, SpeakerSummary, Utterance};
pub use split::{Fold, LeakageReport, Protocol, SplitPlan};

use crate::audio::read_wav_header;

/// Corpus layouts the workbench can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CorpusType {
    /// Berlin EMODB: `wav/03a01Fa.wav`.
    Emodb,
    /// RAVDESS speech: `Actor_NN/03-01-EE-II-SS-RR-AA.wav`.
    Ravdess,
    /// `<root>/<label>/*.wav`.
    FolderPerLabel,
    /// A CSV file `path,label[,speaker][,gender][,split]`.
    CsvManifest,
}

impl CorpusType {
    /// Every type, for pickers.
    pub const ALL: [CorpusType; 4] = [
        CorpusType::Emodb,
        CorpusType::Ravdess,
        CorpusType::FolderPerLabel,
        CorpusType::CsvManifest,
    ];

    /// Name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            CorpusType::Emodb => "emodb",
            CorpusType::Ravdess => "ravdess",
            CorpusType::FolderPerLabel => "folder-per-label",
            CorpusType::CsvManifest => "csv-manifest",
        }
    }
}

impl std::str::FromStr for CorpusType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        CorpusType::ALL
            .into_iter()
            .find(|t| t.name() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                format!(
                    "unknown corpus type '{s}' (known: {})",
                    CorpusType::ALL.map(|t| t.name()).join(", ")
                )
            })
    }
}

/// Errors that stop a whole corpus from loading (per-file problems are `Skipped` rows instead).
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The folder does not exist or cannot be listed.
    #[error("{path}: cannot read corpus folder: {reason}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No reader recognised the layout.
    #[error("{path}: cannot tell the corpus type ({reason}); pass --corpus-type")]
    Undetected {
        /// The folder.
        path: PathBuf,
        /// What was looked for.
        reason: String,
    },
    /// A manifest file is malformed.
    #[error("{path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// All `.wav` files below `dir`, sorted, recursively. Unreadable sub-folders become skipped rows.
pub(crate) fn wav_files(
    dir: &Path,
    skipped: &mut Vec<Skipped>,
) -> Result<Vec<PathBuf>, CorpusError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut first = true;
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if first => {
                return Err(CorpusError::Folder {
                    path: d,
                    reason: e.to_string(),
                });
            }
            Err(e) => {
                skipped.push(Skipped {
                    path: d,
                    reason: format!("cannot list folder: {e}"),
                });
                continue;
            }
        };
        first = false;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav")) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads the WAV header of `path` and completes `u` with duration and rate, or returns a skip row.
pub(crate) fn with_header(mut u: Utterance) -> Result<Utterance, Skipped> {
    match read_wav_header(&u.path) {
        Ok(h) if h.audio_frames == 0 => Err(Skipped {
            path: u.path,
            reason: "WAV holds no audio".into(),
        }),
        Ok(h) => {
            u.duration_secs = h.duration_secs();
            u.sample_rate_hz = h.sample_rate_hz;
            Ok(u)
        }
        Err(e) => Err(Skipped {
            path: u.path.clone(),
            reason: strip_path(&e.to_string(), &u.path),
        }),
    }
}

fn strip_path(msg: &str, path: &Path) -> String {
    msg.strip_prefix(&format!("{}: ", path.display()))
        .unwrap_or(msg)
        .to_string()
}

/// Guesses the corpus type from the folder layout.
pub fn detect(root: &Path) -> Result<CorpusType, CorpusError> {
    let entries: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| CorpusError::Folder {
            path: root.to_path_buf(),
            reason: e.to_string(),
        })?
        .flatten()
        .map(|e| e.path())
        .collect();
    let name = |p: &PathBuf| {
        p.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    };
    if entries
        .iter()
        .any(|p| p.is_dir() && ravdess::is_actor_dir(&name(p)))
    {
        return Ok(CorpusType::Ravdess);
    }
    let emodb_dir = root.join("wav");
    let emodb_like = |dir: &Path| {
        std::fs::read_dir(dir).is_ok_and(|rd| {
            rd.flatten()
                .any(|e| emodb::parse_name(&e.file_name().to_string_lossy()).is_ok())
        })
    };
    if emodb_like(&emodb_dir) || emodb_like(root) {
        return Ok(CorpusType::Emodb);
    }
    if entries
        .iter()
        .any(|p| p.is_file() && csv_manifest::looks_like_manifest(p))
    {
        return Ok(CorpusType::CsvManifest);
    }
    if entries
        .iter()
        .any(|p| p.is_dir() && Emotion::from_label(&name(p)).is_some())
    {
        return Ok(CorpusType::FolderPerLabel);
    }
    Err(CorpusError::Undetected {
        path: root.to_path_buf(),
        reason:
            "no Actor_NN folders (RAVDESS), no EMODB-named WAVs, no CSV manifest with path,label \
                 columns, no folders named after emotions"
                .into(),
    })
}

/// Reads a corpus folder: detects its type unless `corpus_type` is given.
pub fn load(root: &Path, corpus_type: Option<CorpusType>) -> Result<Manifest, CorpusError> {
    let t = match corpus_type {
        Some(t) => t,
        None => detect(root)?,
    };
    let mut m = match t {
        CorpusType::Emodb => emodb::read(root)?,
        CorpusType::Ravdess => ravdess::read(root)?,
        CorpusType::FolderPerLabel => folder::read(root)?,
        CorpusType::CsvManifest => csv_manifest::read(root)?,
    };
    m.corpus_type = t.name().to_string();
    m.root = root.to_path_buf();
    m.utterances.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(m)
}

/// Blank utterance template for readers.
pub(crate) fn utterance(
    corpus: &str,
    path: PathBuf,
    raw_label: &str,
    emotion: Emotion,
) -> Utterance {
    Utterance {
        corpus: corpus.to_string(),
        path,
        raw_label: raw_label.to_string(),
        emotion,
        speaker_id: None,
        gender: None,
        session: None,
        text_id: None,
        intensity: None,
        split: None,
        duration_secs: 0.0,
        sample_rate_hz: 0,
    }
}

/// Pushes either the utterance (after reading its header) or the skip row.
pub(crate) fn push_checked(m: &mut Manifest, u: Utterance) {
    match with_header(u) {
        Ok(u) => m.utterances.push(u),
        Err(s) => m.skipped.push(s),
    }
}
