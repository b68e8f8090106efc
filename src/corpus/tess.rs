//! TESS reader: `{OAF,YAF}_<word>_<emotion>.wav`. Folder names vary between copies, so the file
//! name is trusted. Both speakers are female.

use std::path::Path;

use super::{CorpusError, Emotion, Gender, Manifest, audio_files, push_parsed, stem, utterance};

/// Parsed TESS name: (speaker, word, raw emotion, canonical emotion).
pub fn parse_name(file_stem: &str) -> Result<(String, String, String, Emotion), String> {
    let parts: Vec<&str> = file_stem.split('_').collect();
    if parts.len() < 3 {
        return Err(format!(
            "TESS names are SPEAKER_WORD_EMOTION like OAF_back_angry, got '{file_stem}'"
        ));
    }
    let speaker = parts[0].to_ascii_uppercase();
    if speaker != "OAF" && speaker != "YAF" {
        return Err(format!("unknown TESS speaker '{}' (OAF, YAF)", parts[0]));
    }
    let raw = parts[parts.len() - 1].to_ascii_lowercase();
    let word = parts[1..parts.len() - 1].join("_");
    let emotion = match raw.as_str() {
        "angry" => Emotion::Anger,
        "disgust" => Emotion::Disgust,
        "fear" => Emotion::Fear,
        "happy" => Emotion::Happiness,
        "ps" | "pleasant_surprise" | "surprise" | "surprised" => Emotion::Surprise,
        "sad" => Emotion::Sadness,
        "neutral" => Emotion::Neutral,
        _ => return Err(format!("unknown TESS emotion '{raw}'")),
    };
    Ok((speaker, word, raw, emotion))
}

/// Reads a TESS folder (any layout below `root`).
pub fn read(root: &Path) -> Result<Manifest, CorpusError> {
    let mut m = Manifest::default();
    for path in audio_files(root, &mut m.skipped)? {
        let parsed = parse_name(&stem(&path));
        push_parsed(
            &mut m,
            path,
            parsed,
            |path, (speaker, word, raw, emotion)| {
                let mut u = utterance("tess", path, &raw, emotion);
                u.speaker_id = Some(speaker);
                u.gender = Some(Gender::Female);
                u.text_id = Some(word);
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
    fn parses_tess_names() {
        assert_eq!(parse_name("OAF_back_angry").expect("p").3, Emotion::Anger);
        assert_eq!(parse_name("YAF_mess_ps").expect("p").3, Emotion::Surprise);
        assert!(parse_name("ZZZ_back_angry").is_err());
        assert!(
            parse_name("OAF_back_bored")
                .unwrap_err()
                .contains("'bored'")
        );
    }
}
