//! RAVDESS reader: `Actor_NN/MM-VV-EE-II-SS-RR-AA.wav` (modality, vocal channel, emotion,
//! intensity, statement, repetition, actor). Speech audio-only files are loaded; song files and
//! audio extracted from the audio-visual files (duplicates of the audio-only ones) are skipped
//! with the reason.

use std::path::Path;

use super::{
    CorpusError, Emotion, Gender, Manifest, Skipped, audio_files, push_checked, utterance,
};

/// RAVDESS emotion codes 01–08.
pub const EMOTIONS: [Emotion; 8] = [
    Emotion::Neutral,
    Emotion::Calm,
    Emotion::Happiness,
    Emotion::Sadness,
    Emotion::Anger,
    Emotion::Fear,
    Emotion::Disgust,
    Emotion::Surprise,
];

/// True for folder names like `Actor_01`.
pub fn is_actor_dir(name: &str) -> bool {
    name.strip_prefix("Actor_")
        .is_some_and(|n| n.len() == 2 && n.chars().all(|c| c.is_ascii_digit()))
}

/// Parsed RAVDESS file name.
#[derive(Debug, PartialEq)]
pub struct RavdessName {
    /// 01 full-AV, 02 video-only, 03 audio-only.
    pub modality: u8,
    /// 01 speech, 02 song.
    pub vocal_channel: u8,
    /// Canonical emotion.
    pub emotion: Emotion,
    /// Raw emotion code (`01`..`08`).
    pub emotion_code: String,
    /// `normal` or `strong`.
    pub intensity: &'static str,
    /// Statement 01/02.
    pub statement: String,
    /// Repetition 01/02.
    pub repetition: String,
    /// Actor number 1–24.
    pub actor: u8,
}

/// The sentence of a RAVDESS statement code (`01`, `02`).
pub fn statement_text(code: &str) -> Option<&'static str> {
    match code {
        "01" => Some("Kids are talking by the door"),
        "02" => Some("Dogs are sitting by the door"),
        _ => None,
    }
}

impl RavdessName {
    /// Odd actors are male, even actors female.
    pub fn gender(&self) -> Gender {
        if self.actor % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }
}

/// Parses `03-01-05-01-02-01-12.wav`.
pub fn parse_name(file_name: &str) -> Result<RavdessName, String> {
    let stem = file_name
        .strip_suffix(".wav")
        .or_else(|| file_name.strip_suffix(".WAV"))
        .unwrap_or(file_name);
    let parts: Vec<&str> = stem.split('-').collect();
    if parts.len() != 7
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!(
            "RAVDESS names are 7 two-digit fields like 03-01-05-01-02-01-12, got '{stem}'"
        ));
    }
    let num = |i: usize| parts[i].parse::<u8>().unwrap_or(0);
    let emotion = EMOTIONS
        .get((num(2) as usize).wrapping_sub(1))
        .copied()
        .ok_or_else(|| format!("emotion code {} outside 01–08", parts[2]))?;
    let intensity = match num(3) {
        1 => "normal",
        2 => "strong",
        _ => return Err(format!("intensity code {} is not 01 or 02", parts[3])),
    };
    let actor = num(6);
    if !(1..=24).contains(&actor) {
        return Err(format!("actor {} outside 01–24", parts[6]));
    }
    Ok(RavdessName {
        modality: num(0),
        vocal_channel: num(1),
        emotion,
        emotion_code: parts[2].to_string(),
        intensity,
        statement: parts[4].to_string(),
        repetition: parts[5].to_string(),
        actor,
    })
}

/// Reads a RAVDESS folder (the `Actor_NN` folders directly below `root`, any depth inside).
pub fn read(root: &Path) -> Result<Manifest, CorpusError> {
    let mut m = Manifest::default();
    for path in audio_files(root, &mut m.skipped)? {
        let file_name = super::stem(&path);
        let n = match parse_name(&file_name) {
            Ok(n) => n,
            Err(reason) => {
                m.skipped.push(Skipped { path, reason });
                continue;
            }
        };
        if n.vocal_channel == 2 {
            m.skipped.push(Skipped {
                path,
                reason: "song file (vocal channel 02); speech only".into(),
            });
            continue;
        }
        if n.modality != 3 {
            m.skipped.push(Skipped {
                path,
                reason: format!(
                    "modality {:02} (audio extracted from the AV files duplicates the audio-only 03 files)",
                    n.modality
                ),
            });
            continue;
        }
        let mut u = utterance("ravdess", path, &n.emotion_code, n.emotion);
        u.speaker_id = Some(format!("{:02}", n.actor));
        u.gender = Some(n.gender());
        u.intensity = Some(n.intensity.to_string());
        // The two statements are the speaking-style task of the metadata paper's RAVDESS
        // reading, and their text is the transcript (the ASR task).
        u.style = Some(format!("statement {}", n.statement));
        u.transcript = statement_text(&n.statement).map(String::from);
        u.text_id = Some(n.statement.clone());
        push_checked(&mut m, u);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields() {
        let n = parse_name("03-01-05-02-01-02-12.wav").expect("parse");
        assert_eq!(n.emotion, Emotion::Anger);
        assert_eq!(n.intensity, "strong");
        assert_eq!(n.actor, 12);
        assert_eq!(n.gender(), Gender::Female);
        assert_eq!(
            statement_text(&n.statement),
            Some("Kids are talking by the door")
        );
        assert_eq!(statement_text("02"), Some("Dogs are sitting by the door"));
        assert_eq!(statement_text("03"), None);
        assert_eq!(
            parse_name("03-01-02-01-01-01-07.wav").expect("p").emotion,
            Emotion::Calm
        );
        assert_eq!(
            parse_name("03-01-02-01-01-01-07.wav").expect("p").gender(),
            Gender::Male
        );
    }

    #[test]
    fn rejects_bad_names() {
        assert!(
            parse_name("03-01-09-01-01-01-07.wav")
                .unwrap_err()
                .contains("emotion code 09")
        );
        assert!(
            parse_name("03-01-05-01-01-01-25.wav")
                .unwrap_err()
                .contains("actor 25")
        );
        assert!(parse_name("hello.wav").is_err());
        assert!(is_actor_dir("Actor_03"));
        assert!(!is_actor_dir("Actor_3"));
    }
}
