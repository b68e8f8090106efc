//! Berlin EMODB reader: `wav/03a01Fa.wav` = speaker[0:2] text[2:5] emotion[5] version[6].

use std::path::Path;

use super::{CorpusError, Emotion, Gender, Manifest, audio_files, push_parsed, utterance};

/// Speakers of EMODB and their gender (male = 03 10 11 12 15).
pub const SPEAKERS: [(&str, Gender); 10] = [
    ("03", Gender::Male),
    ("08", Gender::Female),
    ("09", Gender::Female),
    ("10", Gender::Male),
    ("11", Gender::Male),
    ("12", Gender::Male),
    ("13", Gender::Female),
    ("14", Gender::Female),
    ("15", Gender::Male),
    ("16", Gender::Female),
];

/// EMODB's one-letter (German) emotion codes.
pub const EMOTION_CODES: [(char, Emotion); 7] = [
    ('W', Emotion::Anger),
    ('L', Emotion::Boredom),
    ('E', Emotion::Disgust),
    ('A', Emotion::Fear),
    ('F', Emotion::Happiness),
    ('T', Emotion::Sadness),
    ('N', Emotion::Neutral),
];

/// Parsed EMODB file name.
#[derive(Debug, PartialEq)]
pub struct EmodbName {
    /// Two-digit speaker code.
    pub speaker: String,
    /// Text code, e.g. `a01`.
    pub text: String,
    /// Emotion letter.
    pub code: char,
    /// Canonical emotion.
    pub emotion: Emotion,
    /// Speaker gender.
    pub gender: Gender,
}

/// Parses `03a01Fa.wav` (the extension is optional).
pub fn parse_name(file_name: &str) -> Result<EmodbName, String> {
    let stem = file_name
        .strip_suffix(".wav")
        .or_else(|| file_name.strip_suffix(".WAV"))
        .unwrap_or(file_name);
    let c: Vec<char> = stem.chars().collect();
    if c.len() != 7 {
        return Err(format!(
            "EMODB names have 7 characters before .wav (like 03a01Fa), got '{stem}'"
        ));
    }
    let speaker: String = c[0..2].iter().collect();
    let gender = SPEAKERS
        .iter()
        .find(|(s, _)| *s == speaker)
        .map(|(_, g)| *g)
        .ok_or_else(|| format!("unknown EMODB speaker '{speaker}'"))?;
    if !(c[2].is_ascii_lowercase() && c[3].is_ascii_digit() && c[4].is_ascii_digit()) {
        return Err(format!(
            "text code '{}' is not like a01",
            c[2..5].iter().collect::<String>()
        ));
    }
    let code = c[5];
    let emotion = EMOTION_CODES
        .iter()
        .find(|(k, _)| *k == code)
        .map(|(_, e)| *e)
        .ok_or_else(|| format!("unknown EMODB emotion code '{code}' (known: WLEAFTN)"))?;
    if !c[6].is_ascii_lowercase() {
        return Err(format!(
            "version letter '{}' is not a lowercase letter",
            c[6]
        ));
    }
    Ok(EmodbName {
        speaker,
        text: c[2..5].iter().collect(),
        code,
        emotion,
        gender,
    })
}

/// Reads an EMODB folder (`root/wav/*.wav`, or WAVs directly under `root`).
pub fn read(root: &Path) -> Result<Manifest, CorpusError> {
    let dir = if root.join("wav").is_dir() {
        root.join("wav")
    } else {
        root.to_path_buf()
    };
    let mut m = Manifest::default();
    for path in audio_files(&dir, &mut m.skipped)? {
        let parsed = parse_name(&super::stem(&path));
        push_parsed(&mut m, path, parsed, |path, n| {
            let mut u = utterance("emodb", path, &n.code.to_string(), n.emotion);
            u.speaker_id = Some(n.speaker);
            u.gender = Some(n.gender);
            u.text_id = Some(n.text);
            u
        });
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spec_example() {
        let n = parse_name("03a01Fa.wav").expect("parse");
        assert_eq!(n.speaker, "03");
        assert_eq!(n.text, "a01");
        assert_eq!(n.emotion, Emotion::Happiness);
        assert_eq!(n.gender, Gender::Male);
        assert_eq!(
            parse_name("16b10Wb.wav").expect("parse").gender,
            Gender::Female
        );
        assert_eq!(
            parse_name("16b10Wb.wav").expect("parse").emotion,
            Emotion::Anger
        );
    }

    #[test]
    fn rejects_bad_names_with_reason() {
        assert!(
            parse_name("03a01Xa.wav")
                .unwrap_err()
                .contains("emotion code 'X'")
        );
        assert!(
            parse_name("99a01Fa.wav")
                .unwrap_err()
                .contains("speaker '99'")
        );
        assert!(
            parse_name("03a1Fa.wav")
                .unwrap_err()
                .contains("7 characters")
        );
        assert!(parse_name("03aa1Fa.wav").is_err());
    }
}
