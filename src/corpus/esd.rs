//! ESD reader: `<spk>/<Emotion>/[train|evaluation|test/]*.wav`, speakers 0001–0020 (0001–0010
//! Mandarin, 0011–0020 English). The official split comes from the sub-folder when present.

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
        u.speaker_id = Some(speaker.clone());
        push_checked(&mut m, u);
    }
    Ok(m)
}
