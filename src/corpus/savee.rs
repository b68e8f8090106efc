//! SAVEE reader: `{DC,JE,JK,KL}/<code><nn>.wav` or flat `DC_a01.wav`; codes a d f h n sa su.
//! All four speakers are male.

use std::path::Path;

use super::{CorpusError, Emotion, Gender, Manifest, audio_files, push_parsed, stem, utterance};

/// The four SAVEE speakers.
pub const SPEAKERS: [&str; 4] = ["DC", "JE", "JK", "KL"];

/// Parses `<code><nn>` (e.g. `sa03`): (raw code, number, emotion).
pub fn parse_code(s: &str) -> Result<(String, String, Emotion), String> {
    let split = s
        .find(|c: char| c.is_ascii_digit())
        .ok_or_else(|| format!("'{s}' has no sentence number"))?;
    let (code, num) = s.split_at(split);
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("'{s}' is not like a01 / sa03"));
    }
    let emotion = match code {
        "a" => Emotion::Anger,
        "d" => Emotion::Disgust,
        "f" => Emotion::Fear,
        "h" => Emotion::Happiness,
        "n" => Emotion::Neutral,
        "sa" => Emotion::Sadness,
        "su" => Emotion::Surprise,
        _ => {
            return Err(format!(
                "unknown SAVEE emotion code '{code}' (a d f h n sa su)"
            ));
        }
    };
    Ok((code.to_string(), num.to_string(), emotion))
}

/// Speaker and code of a file: from `DC_a01` or from the parent folder `DC/a01`.
pub fn parse_path(path: &Path) -> Result<(String, String, String, Emotion), String> {
    let s = stem(path);
    let (speaker, code) = match s.split_once('_') {
        Some((spk, code)) => (spk.to_string(), code.to_string()),
        None => {
            let parent = path
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            (parent, s)
        }
    };
    if !SPEAKERS.contains(&speaker.as_str()) {
        return Err(format!("unknown SAVEE speaker '{speaker}' (DC JE JK KL)"));
    }
    let (raw, num, emotion) = parse_code(&code)?;
    Ok((speaker, raw, num, emotion))
}

/// Reads a SAVEE folder (either layout).
pub fn read(root: &Path) -> Result<Manifest, CorpusError> {
    let mut m = Manifest::default();
    for path in audio_files(root, &mut m.skipped)? {
        let parsed = parse_path(&path);
        push_parsed(
            &mut m,
            path,
            parsed,
            |path, (speaker, raw, num, emotion)| {
                let mut u = utterance("savee", path, &raw, emotion);
                u.speaker_id = Some(speaker);
                u.gender = Some(Gender::Male);
                u.text_id = Some(format!("{raw}{num}"));
                u
            },
        );
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts() {
        assert_eq!(
            parse_path(Path::new("x/DC/sa03.wav")).expect("p").3,
            Emotion::Sadness
        );
        assert_eq!(
            parse_path(Path::new("x/KL_su11.wav")).expect("p").3,
            Emotion::Surprise
        );
        assert!(parse_path(Path::new("x/ZZ/a01.wav")).is_err());
        assert!(parse_code("q01").unwrap_err().contains("'q'"));
        assert!(parse_code("a").is_err());
    }
}
