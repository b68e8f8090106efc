//! The user's own corpus: recordings saved in the folder-per-label layout with a `manifest.csv`
//! (`path,label,speaker`) beside them, so the CSV reader loads it like any corpus.

use std::path::{Path, PathBuf};

use super::Emotion;
use crate::fsutil::write_text_atomic;

/// Saves a 16 kHz mono clip as `<dir>/<label>/<name>.wav` and appends it to `<dir>/manifest.csv`.
/// Both writes are atomic: an existing manifest is never left half-written.
pub fn add_recording(
    dir: &Path,
    label: Emotion,
    speaker: &str,
    samples_16k: &[f32],
    name: &str,
) -> Result<PathBuf, String> {
    if samples_16k.is_empty() {
        return Err("the recording is empty".into());
    }
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let rel = PathBuf::from(label.name()).join(format!("{safe}.wav"));
    let path = dir.join(&rel);
    if path.exists() {
        return Err(format!("{} already exists", path.display()));
    }
    std::fs::create_dir_all(path.parent().unwrap_or(dir))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    crate::audio::write_wav_i16(&path, samples_16k, crate::audio::TARGET_SAMPLE_RATE_HZ)
        .map_err(|e| e.to_string())?;
    let manifest = dir.join(super::csv_manifest::DEFAULT_NAME);
    let mut text = match std::fs::read_to_string(&manifest) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "path,label,speaker\n".to_string(),
        Err(e) => return Err(format!("{}: {e}", manifest.display())),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let speaker = speaker.replace([',', '"', '\n'], " ");
    text.push_str(&format!(
        "{},{},{}\n",
        rel.display(),
        label.name(),
        speaker.trim()
    ));
    write_text_atomic(&manifest, &text).map_err(|e| format!("{}: {e}", manifest.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_become_a_loadable_corpus() {
        let d = tempfile::tempdir().expect("tmp");
        let x: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.03).sin() * 0.3).collect();
        add_recording(d.path(), Emotion::Anger, "me", &x, "rec-1").expect("1");
        add_recording(d.path(), Emotion::Sadness, "me", &x, "rec-2").expect("2");
        assert!(add_recording(d.path(), Emotion::Sadness, "me", &x, "rec-2").is_err());
        assert!(add_recording(d.path(), Emotion::Sadness, "me", &[], "rec-3").is_err());
        let m = crate::corpus::load(d.path(), None).expect("load");
        assert_eq!(m.corpus_type, "csv-manifest");
        assert_eq!(m.utterances.len(), 2);
        assert!(
            m.utterances
                .iter()
                .all(|u| u.speaker_id.as_deref() == Some("me"))
        );
    }
}
