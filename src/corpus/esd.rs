//! ESD reader: `<spk>/<Emotion>/[train|evaluation|test/]*.wav`, speakers 0001–0020 (0001–0010
//! Mandarin, 0011–0020 English). The official split comes from the sub-folder when present.
//! Gender follows the corpus documentation: speakers 0004, 0005, 0006, 0008, 0010, 0011, 0012,
//! 0013, 0014 and 0020 are male, the others female.

use std::path::Path;

use super::{
    CorpusError, Emotion, Manifest, Skipped, audio_files, components_below, push_checked, utterance,
};

/// Official split of a path component, if it names one.
pub fn split_of(component: &str) -> Option<&'static str> {
    match component.to_ascii_lowercase().as_str() {
        "train" => Some("train"),
        "evaluation" | "eval" | "dev" | "valid" => Some("valid"),
        "test" => Some("test"),
        _ => None,
    }
}

/// Male ESD speakers (the corpus documentation); the other ten are female.
const MALE: [&str; 10] = [
    "0004", "0005", "0006", "0008", "0010", "0011", "0012", "0013", "0014", "0020",
];

/// Gender of an ESD speaker folder (0001–0020).
pub fn gender_of(speaker: &str) -> Option<super::Gender> {
    let n: u32 = speaker.parse().ok()?;
    if !(1..=20).contains(&n) {
        return None;
    }
    Some(if MALE.contains(&speaker) {
        super::Gender::Male
    } else {
        super::Gender::Female
    })
}

/// Reads `<root>/<spk>/<Emotion>/…`.
pub fn read(root: &Path) -> Result<Manifest, CorpusError> {
    let mut m = Manifest::default();
    for path in audio_files(root, &mut m.skipped)? {
        let comps = match components_below(root, &path, "<speaker>/<Emotion>/") {
            Ok(c) => c,
            Err(reason) => {
                m.skipped.push(Skipped { path, reason });
                continue;
            }
        };
        let speaker = &comps[0];
        if speaker.len() != 4 || !speaker.chars().all(|c| c.is_ascii_digit()) {
            m.skipped.push(Skipped {
                path,
                reason: format!("'{speaker}' is not an ESD speaker folder (0001–0020)"),
            });
            continue;
        }
        let Some(emotion) = Emotion::from_label(&comps[1]) else {
            m.skipped.push(Skipped {
                path,
                reason: format!("folder '{}' is not an ESD emotion", comps[1]),
            });
            continue;
        };
        let mut u = utterance("esd", path.clone(), &comps[1], emotion);
        u.split = comps[2..comps.len() - 1]
            .iter()
            .find_map(|c| split_of(c))
            .map(str::to_string);
        let lang = if speaker.as_str() <= "0010" {
            "zh"
        } else {
            "en"
        };
        u.text_id = Some(lang.to_string());
        u.gender = gender_of(speaker);
        u.speaker_id = Some(speaker.clone());
        push_checked(&mut m, u);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gender_from_the_speaker_table() {
        use crate::corpus::Gender;
        assert_eq!(gender_of("0001"), Some(Gender::Female));
        assert_eq!(gender_of("0004"), Some(Gender::Male));
        assert_eq!(gender_of("0015"), Some(Gender::Female));
        assert_eq!(gender_of("0020"), Some(Gender::Male));
        assert_eq!(gender_of("0021"), None);
        let males = (1..=20)
            .filter(|n| gender_of(&format!("{n:04}")) == Some(Gender::Male))
            .count();
        assert_eq!(males, 10);
    }
}
