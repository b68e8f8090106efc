//! CREMA-D reader: `AudioWAV/1001_DFA_ANG_XX.wav` (actor, sentence, emotion, level). Gender comes
//! from `VideoDemographics.csv` (`ActorID,Age,Sex,…`) when it is next to the audio folder.

use std::collections::BTreeMap;
use std::path::Path;

use super::{
    CorpusError, Emotion, Gender, Manifest, Skipped, audio_files, push_parsed, stem, utterance,
};

/// CREMA-D's sentence codes.
pub const SENTENCES: [&str; 12] = [
    "IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI",
];

/// Recordings known to hold no speech (docs/design.md, "Corpora").
pub const KNOWN_SILENT: [&str; 1] = ["1076_MTI_SAD_XX"];

/// Parsed CREMA-D name.
#[derive(Debug, PartialEq)]
pub struct CremaName {
    /// Actor 1001–1091.
    pub actor: u32,
    /// Sentence code.
    pub sentence: String,
    /// Raw emotion code.
    pub code: String,
    /// Canonical emotion.
    pub emotion: Emotion,
    /// Level LO/MD/HI/XX.
    pub level: String,
}

/// Parses `1001_DFA_ANG_XX` (extension optional).
pub fn parse_name(file_stem: &str) -> Result<CremaName, String> {
    let parts: Vec<&str> = file_stem.split('_').collect();
    let [actor, sentence, code, level] = parts.as_slice() else {
        return Err(format!(
            "CREMA-D names are ACTOR_SENTENCE_EMOTION_LEVEL like 1001_DFA_ANG_XX, got '{file_stem}'"
        ));
    };
    let actor: u32 = actor
        .parse()
        .map_err(|_| format!("actor '{actor}' is not a number"))?;
    if !(1001..=1091).contains(&actor) {
        return Err(format!("actor {actor} outside 1001–1091"));
    }
    if !SENTENCES.contains(sentence) {
        return Err(format!("unknown sentence code '{sentence}'"));
    }
    let emotion = match *code {
        "ANG" => Emotion::Anger,
        "DIS" => Emotion::Disgust,
        "FEA" => Emotion::Fear,
        "HAP" => Emotion::Happiness,
        "NEU" => Emotion::Neutral,
        "SAD" => Emotion::Sadness,
        _ => {
            return Err(format!(
                "unknown emotion code '{code}' (ANG DIS FEA HAP NEU SAD)"
            ));
        }
    };
    if !["LO", "MD", "HI", "XX"].contains(level) {
        return Err(format!("unknown level '{level}' (LO MD HI XX)"));
    }
    Ok(CremaName {
        actor,
        sentence: sentence.to_string(),
        code: code.to_string(),
        emotion,
        level: level.to_string(),
    })
}

/// Reads `VideoDemographics.csv`: actor → gender.
pub fn read_demographics(path: &Path) -> Result<BTreeMap<u32, Gender>, String> {
    let mut r = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let h = r
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let col = |n: &str| h.iter().position(|c| c.trim().eq_ignore_ascii_case(n));
    let (Some(a), Some(s)) = (col("ActorID"), col("Sex")) else {
        return Err(format!("{}: needs ActorID and Sex columns", path.display()));
    };
    let mut m = BTreeMap::new();
    for rec in r.records().flatten() {
        if let (Some(id), Some(g)) = (
            rec.get(a).and_then(|v| v.trim().parse().ok()),
            rec.get(s).and_then(Gender::parse),
        ) {
            m.insert(id, g);
        }
    }
    Ok(m)
}

/// Reads a CREMA-D folder (`root/AudioWAV/*.wav` or audio directly under `root`).
pub fn read(root: &Path) -> Result<Manifest, CorpusError> {
    let dir = if root.join("AudioWAV").is_dir() {
        root.join("AudioWAV")
    } else {
        root.to_path_buf()
    };
    let mut m = Manifest::default();
    let demo_path = [
        root.join("VideoDemographics.csv"),
        dir.join("VideoDemographics.csv"),
    ]
    .into_iter()
    .find(|p| p.is_file());
    let genders = match &demo_path {
        Some(p) => match read_demographics(p) {
            Ok(g) => g,
            Err(e) => {
                m.flagged.push(Skipped {
                    path: p.clone(),
                    reason: format!("gender unknown: {e}"),
                });
                BTreeMap::new()
            }
        },
        None => BTreeMap::new(),
    };
    for path in audio_files(&dir, &mut m.skipped)? {
        let s = stem(&path);
        if KNOWN_SILENT.contains(&s.as_str()) {
            m.skipped.push(Skipped {
                path,
                reason: "known silent recording in CREMA-D (no speech)".into(),
            });
            continue;
        }
        push_parsed(&mut m, path, parse_name(&s), |path, n| {
            let mut u = utterance("crema-d", path, &n.code, n.emotion);
            u.speaker_id = Some(n.actor.to_string());
            u.gender = genders.get(&n.actor).copied();
            u.text_id = Some(n.sentence);
            u.intensity = Some(n.level);
            u
        });
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let n = parse_name("1001_DFA_ANG_XX").expect("parse");
        assert_eq!(
            (n.actor, n.emotion, n.level.as_str()),
            (1001, Emotion::Anger, "XX")
        );
        assert!(parse_name("1001_DFA_XYZ_XX").unwrap_err().contains("'XYZ'"));
        assert!(
            parse_name("0999_DFA_ANG_XX")
                .unwrap_err()
                .contains("outside")
        );
        assert!(parse_name("1001_DFA_ANG").is_err());
    }
}
