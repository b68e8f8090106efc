//! Folder-per-label reader: `<root>/<label>/**/*.wav`. Folder names are mapped onto the
//! canonical vocabulary (`angry` → anger, …); unknown folder names are reported, not guessed.

use std::path::Path;

use super::{CorpusError, Emotion, Manifest, Skipped, audio_files, push_checked, utterance};

/// Reads a folder-per-label corpus. Speakers are unknown (only speaker-dependent protocols apply).
pub fn read(root: &Path) -> Result<Manifest, CorpusError> {
    let mut m = Manifest::default();
    let mut dirs: Vec<_> = std::fs::read_dir(root)
        .map_err(|e| CorpusError::Folder {
            path: root.to_path_buf(),
            reason: e.to_string(),
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let label = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let files = audio_files(&dir, &mut m.skipped)?;
        let Some(emotion) = Emotion::from_label(&label) else {
            for path in files {
                m.skipped.push(Skipped {
                    path,
                    reason: format!("folder label '{label}' is not a known emotion name"),
                });
            }
            continue;
        };
        for path in files {
            push_checked(&mut m, utterance("folder", path, &label, emotion));
        }
    }
    Ok(m)
}
