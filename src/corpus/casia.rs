//! CASIA reader: `<speaker>/<emotion>/<id>.wav` with emotions angry fear happy neutral sad
//! surprise; the four speakers' gender is known from the corpus documentation.

use std::path::Path;

use super::{
    CorpusError, Emotion, Gender, Manifest, Skipped, audio_files, components_below, push_checked,
    utterance,
};

/// CASIA speakers (folder names as distributed) and gender.
pub const SPEAKERS: [(&str, Gender); 4] = [
    ("liuchanhg", Gender::Female),
    ("wangzhe", Gender::Male),
    ("zhaoquanyin", Gender::Female),
    ("ZhaoZuoxiang", Gender::Male),
];

/// Reads `<root>/<speaker>/<emotion>/*.wav`.
pub fn read(root: &Path) -> Result<Manifest, CorpusError> {
    let mut m = Manifest::default();
    for path in audio_files(root, &mut m.skipped)? {
        let comps = match components_below(root, &path, "<speaker>/<emotion>/") {
            Ok(c) => c,
            Err(reason) => {
                m.skipped.push(Skipped { path, reason });
                continue;
            }
        };
        let (speaker, label) = (&comps[comps.len() - 3], &comps[comps.len() - 2]);
        let Some(emotion) = Emotion::from_label(label) else {
            m.skipped.push(Skipped {
                path,
                reason: format!("folder '{label}' is not a CASIA emotion"),
            });
            continue;
        };
        let mut u = utterance("casia", path.clone(), label, emotion);
        u.speaker_id = Some(speaker.clone());
        u.gender = SPEAKERS
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(speaker))
            .map(|(_, g)| *g);
        push_checked(&mut m, u);
    }
    Ok(m)
}
