//! Corpora: readers per corpus, canonical labels, splits and the leakage check. No burn, no egui.

pub mod casia;
pub mod cremad;
pub mod csv_manifest;
pub mod demo;
pub mod demo_dimensional;
pub mod demo_styles;
pub mod emodb;
pub mod emotion;
pub mod esd;
pub mod folder;
pub mod header_cache;
pub mod iemocap;
pub mod inspect;
pub mod label_map;
pub mod manifest;
pub mod msp_podcast;
pub mod protocol_preset;
pub mod ravdess;
pub mod savee;
pub mod split;
pub mod tasks;
pub mod tess;
pub mod transcripts;
pub mod user;

use std::path::{Path, PathBuf};

pub use emotion::{Emotion, class_order};
pub use manifest::{Gender, Manifest, Skipped, SpeakerSummary, Utterance};
pub use split::{Fold, LeakageReport, Protocol, SplitPlan};

use crate::audio::read_audio_header;

/// Corpus layouts the workbench can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CorpusType {
    /// Berlin EMODB: `wav/03a01Fa.wav`.
    Emodb,
    /// RAVDESS speech: `Actor_NN/03-01-EE-II-SS-RR-AA.wav`.
    Ravdess,
    /// CREMA-D: `AudioWAV/1001_DFA_ANG_XX.wav` (+ `VideoDemographics.csv`).
    CremaD,
    /// TESS: `{OAF,YAF}_<word>_<emotion>.wav`.
    Tess,
    /// SAVEE: `{DC,JE,JK,KL}/<code><nn>.wav` or `DC_a01.wav`.
    Savee,
    /// IEMOCAP: `Session{1-5}/…` with EmoEvaluation label files.
    Iemocap,
    /// CASIA: `<speaker>/<emotion>/<id>.wav`.
    Casia,
    /// ESD: `<spk>/<Emotion>/[train|evaluation|test/]*.wav`.
    Esd,
    /// MSP-Podcast: `Audios/` + `Labels/labels_consensus.csv`.
    MspPodcast,
    /// `<root>/<label>/*.wav`.
    FolderPerLabel,
    /// A CSV file `path,label[,speaker][,gender][,split]`.
    CsvManifest,
}

impl CorpusType {
    /// Every type, for pickers.
    pub const ALL: [CorpusType; 11] = [
        CorpusType::Emodb,
        CorpusType::Ravdess,
        CorpusType::CremaD,
        CorpusType::Tess,
        CorpusType::Savee,
        CorpusType::Iemocap,
        CorpusType::Casia,
        CorpusType::Esd,
        CorpusType::MspPodcast,
        CorpusType::FolderPerLabel,
        CorpusType::CsvManifest,
    ];

    /// Name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            CorpusType::Emodb => "emodb",
            CorpusType::Ravdess => "ravdess",
            CorpusType::CremaD => "crema-d",
            CorpusType::Tess => "tess",
            CorpusType::Savee => "savee",
            CorpusType::Iemocap => "iemocap",
            CorpusType::Casia => "casia",
            CorpusType::Esd => "esd",
            CorpusType::MspPodcast => "msp-podcast",
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

/// Audio file extensions the readers pick up (WAV through hound, the rest through symphonia).
pub const AUDIO_EXTENSIONS: [&str; 4] = ["wav", "flac", "mp3", "ogg"];

/// True for a path with one of [`AUDIO_EXTENSIONS`] (any case).
pub fn is_audio(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// File name without folder and extension.
pub(crate) fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// All audio files below `dir`, sorted, recursively. Unreadable sub-folders become skipped rows.
pub(crate) fn audio_files(
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
            } else if is_audio(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Path components of `path` below `root` (for `<speaker>/<emotion>/…` layouts), or the reason
/// the file is not deep enough.
pub(crate) fn components_below(
    root: &Path,
    path: &Path,
    layout: &str,
) -> Result<Vec<String>, String> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let comps: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    if comps.len() < 3 {
        Err(format!("files of this corpus live in {layout}"))
    } else {
        Ok(comps)
    }
}

/// Up to `limit` audio file stems found below `dir` (breadth-first, depth ≤ 3): for detection.
fn sample_stems(dir: &Path, limit: usize) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut queue = std::collections::VecDeque::from([(dir.to_path_buf(), 0usize)]);
    while let Some((d, depth)) = queue.pop_front() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() && depth < 3 {
                queue.push_back((p, depth + 1));
            } else if is_audio(&p) {
                out.push((p.clone(), stem(&p)));
                if out.len() >= limit {
                    return out;
                }
            }
        }
    }
    out
}

/// Reads the audio header of `path` and completes `u` with duration and rate, or returns a skip row.
pub(crate) fn with_header(mut u: Utterance) -> Result<Utterance, Skipped> {
    let header = match header_cache::get(&u.path) {
        Some(h) => Ok(h),
        None => read_audio_header(&u.path).inspect(|h| header_cache::put(&u.path, h)),
    };
    match header {
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

/// Guesses the corpus type from the folder layout (cheap: lists folders and a few file names).
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
    let dirs: Vec<String> = entries.iter().filter(|p| p.is_dir()).map(&name).collect();
    if dirs
        .iter()
        .any(|d| d.starts_with("Session") && root.join(d).join("dialog").is_dir())
    {
        return Ok(CorpusType::Iemocap);
    }
    if msp_podcast::labels_path(root).is_some() {
        return Ok(CorpusType::MspPodcast);
    }
    if dirs.iter().any(|d| ravdess::is_actor_dir(d)) {
        return Ok(CorpusType::Ravdess);
    }
    if dirs.iter().any(|d| d == "AudioWAV") {
        return Ok(CorpusType::CremaD);
    }
    let emodb_dir = root.join("wav");
    let sample_dir = if emodb_dir.is_dir() {
        emodb_dir
    } else {
        root.to_path_buf()
    };
    let samples = sample_stems(&sample_dir, 40);
    let votes = |ok: &dyn Fn(&(PathBuf, String)) -> bool| samples.iter().filter(|s| ok(s)).count();
    let need = samples.len().div_ceil(2).max(1);
    type NameCheck<'a> = &'a dyn Fn(&(PathBuf, String)) -> bool;
    let checks: [(CorpusType, NameCheck); 4] = [
        (CorpusType::Emodb, &|s| emodb::parse_name(&s.1).is_ok()),
        (CorpusType::CremaD, &|s| cremad::parse_name(&s.1).is_ok()),
        (CorpusType::Tess, &|s| tess::parse_name(&s.1).is_ok()),
        (CorpusType::Savee, &|s| savee::parse_path(&s.0).is_ok()),
    ];
    for (t, ok) in checks {
        if !samples.is_empty() && votes(ok) >= need {
            return Ok(t);
        }
    }
    if entries
        .iter()
        .any(|p| p.is_file() && csv_manifest::looks_like_manifest(p))
    {
        return Ok(CorpusType::CsvManifest);
    }
    if dirs.iter().any(|d| Emotion::from_label(d).is_some()) {
        return Ok(CorpusType::FolderPerLabel);
    }
    // <speaker>/<emotion>/ layouts: ESD has 4-digit speaker folders, CASIA named ones.
    let has_emotion_subdirs = |d: &String| {
        std::fs::read_dir(root.join(d)).is_ok_and(|rd| {
            rd.flatten().any(|e| {
                e.path().is_dir() && Emotion::from_label(&e.file_name().to_string_lossy()).is_some()
            })
        })
    };
    if dirs
        .iter()
        .any(|d| d.len() == 4 && d.chars().all(|c| c.is_ascii_digit()) && has_emotion_subdirs(d))
    {
        return Ok(CorpusType::Esd);
    }
    if dirs.iter().any(has_emotion_subdirs) {
        return Ok(CorpusType::Casia);
    }
    Err(CorpusError::Undetected {
        path: root.to_path_buf(),
        reason: "no layout of EMODB, RAVDESS, CREMA-D, TESS, SAVEE, IEMOCAP, CASIA, ESD or MSP-Podcast, \
                 no CSV manifest with path,label (or path,arousal/valence/dominance) columns, no folders named after emotions"
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
        CorpusType::CremaD => cremad::read(root)?,
        CorpusType::Tess => tess::read(root)?,
        CorpusType::Savee => savee::read(root)?,
        CorpusType::Iemocap => iemocap::read(root)?,
        CorpusType::Casia => casia::read(root)?,
        CorpusType::Esd => esd::read(root)?,
        CorpusType::MspPodcast => msp_podcast::read(root)?,
        CorpusType::FolderPerLabel => folder::read(root)?,
        CorpusType::CsvManifest => csv_manifest::read(root)?,
    };
    m.corpus_type = t.name().to_string();
    m.root = root.to_path_buf();
    m.utterances.sort_by(|a, b| a.path.cmp(&b.path));
    m.uncategorised.sort_by(|a, b| a.path.cmp(&b.path));
    flag_unusual_rates(&mut m);
    Ok(m)
}

/// Reads several corpora into one manifest (multi-corpus training). With more than one corpus,
/// speaker ids are prefixed with the corpus name (`emodb:03`) so that speakers of different
/// corpora never merge, and every row keeps its `corpus`.
pub fn load_many(
    dirs: &[PathBuf],
    corpus_type: Option<CorpusType>,
) -> Result<Manifest, CorpusError> {
    match dirs {
        [] => Err(CorpusError::Folder {
            path: PathBuf::new(),
            reason: "no corpus folder given".into(),
        }),
        [one] => load(one, corpus_type),
        many => {
            let mut all = Manifest {
                root: many[0].clone(),
                ..Default::default()
            };
            let mut names: Vec<String> = Vec::new();
            for dir in many {
                // A type override applies to a single corpus only; several are detected one by one.
                let m = load(dir, None)?;
                let mut name = m
                    .utterances
                    .first()
                    .map_or(m.corpus_type.clone(), |u| u.corpus.clone());
                if names.contains(&name) {
                    name = format!("{name}#{}", names.len() + 1);
                }
                names.push(name.clone());
                for mut u in m.utterances {
                    u.corpus = name.clone();
                    u.speaker_id = u.speaker_id.map(|s| format!("{name}:{s}"));
                    all.utterances.push(u);
                }
                for mut u in m.uncategorised {
                    u.corpus = name.clone();
                    u.speaker_id = u.speaker_id.map(|s| format!("{name}:{s}"));
                    all.uncategorised.push(u);
                }
                all.skipped.extend(m.skipped);
                all.flagged.extend(m.flagged);
            }
            all.corpus_type = format!("multi({})", names.join("+"));
            Ok(all)
        }
    }
}

/// Flags files whose sample rate differs from the corpus's most common one (e.g. the 96 kHz TESS
/// file): they are resampled like every file, but a different rate often means a different
/// recording chain.
fn flag_unusual_rates(m: &mut Manifest) {
    let mut counts: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
    for u in &m.utterances {
        *counts.entry(u.sample_rate_hz).or_insert(0) += 1;
    }
    let Some((&common, _)) = counts.iter().max_by_key(|(_, n)| **n) else {
        return;
    };
    for u in &m.utterances {
        if u.sample_rate_hz != common {
            m.flagged.push(Skipped {
                path: u.path.clone(),
                reason: format!("sample rate {} Hz differs from the corpus's usual {common} Hz (resampled to 16 kHz)", u.sample_rate_hz),
            });
        }
    }
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
        arousal: None,
        valence: None,
        dominance: None,
        transcript: None,
        style: None,
        values: Default::default(),
        duration_secs: 0.0,
        sample_rate_hz: 0,
    }
}

/// Pushes either the utterance (after reading its header) or the skip row.
/// Adds the utterance `build` makes from a parsed file name (header-checked), or skips the file
/// with the parser's reason.
pub(crate) fn push_parsed<T>(
    m: &mut Manifest,
    path: PathBuf,
    parsed: Result<T, String>,
    build: impl FnOnce(PathBuf, T) -> Utterance,
) {
    match parsed {
        Ok(t) => push_checked(m, build(path, t)),
        Err(reason) => m.skipped.push(Skipped { path, reason }),
    }
}

pub(crate) fn push_checked(m: &mut Manifest, u: Utterance) {
    match with_header(u) {
        Ok(u) => m.utterances.push(u),
        Err(s) => m.skipped.push(s),
    }
}

/// Adds a header-checked utterance that has no emotion class to `uncategorised`.
pub(crate) fn push_uncategorised(m: &mut Manifest, u: Utterance) {
    match with_header(u) {
        Ok(u) => m.uncategorised.push(u),
        Err(s) => m.skipped.push(s),
    }
}
