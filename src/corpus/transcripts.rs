//! Transcripts for the text stream: a user `file,text` CSV attached to any corpus (matched by
//! audio path, else by file name), with a report of what matched. Readers fill transcripts
//! themselves where the corpus ships them (IEMOCAP, MSP-Podcast `Transcripts/`, a CSV manifest's
//! `text` column).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Manifest;

/// What attaching a transcript CSV did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TranscriptReport {
    /// The CSV.
    pub file: String,
    /// Utterances (classified or not) that received a transcript from the CSV.
    pub attached: usize,
    /// CSV rows whose file matched no utterance (up to 20 named in `unmatched_examples`).
    pub unmatched: usize,
    /// Some of them.
    pub unmatched_examples: Vec<String>,
    /// Utterances without any transcript after attaching.
    pub without_text: usize,
}

/// Reads the `file,text` rows of a transcript CSV (header required, `path` accepted for `file`;
/// other columns ignored; rows with an empty file or text skipped).
pub fn read_rows(csv_path: &Path) -> Result<Vec<(String, String)>, String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", csv_path.display());
    let mut r = csv::Reader::from_path(csv_path).map_err(|e| err(&e))?;
    let h = r.headers().map_err(|e| err(&e))?.clone();
    let col = |n: &str| h.iter().position(|c| c.trim().eq_ignore_ascii_case(n));
    let (Some(fc), Some(tc)) = (col("file").or(col("path")), col("text")) else {
        return Err(format!(
            "{}: header must name 'file' (or 'path') and 'text' columns",
            csv_path.display()
        ));
    };
    let mut rows = Vec::new();
    for (k, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| format!("{} line {}: {e}", csv_path.display(), k + 2))?;
        let file = rec.get(fc).unwrap_or_default().trim().to_string();
        let text = rec.get(tc).unwrap_or_default().trim().to_string();
        if !file.is_empty() && !text.is_empty() {
            rows.push((file, text));
        }
    }
    Ok(rows)
}

/// Whether a CSV row's `file` names `path`: a relative path must match the end of the audio
/// path; a bare name matches by name.
fn names(file: &str, path: &Path) -> bool {
    let name = Path::new(file).file_name();
    name.is_some()
        && path.file_name() == name
        && (path.ends_with(file) || Some(std::ffi::OsStr::new(file)) == name)
}

/// The text of `path` in `rows` (the first row that names it).
pub fn lookup<'a>(rows: &'a [(String, String)], path: &Path) -> Option<&'a str> {
    rows.iter()
        .find(|(f, _)| names(f, path))
        .map(|(_, t)| t.as_str())
}

/// Reads `file,text` rows ([`read_rows`]) and sets the transcript of every utterance whose path
/// ends with the row's file (or whose file name equals it). A row naming no utterance is
/// counted, never an error; a CSV without those columns is.
pub fn attach(m: &mut Manifest, csv_path: &Path) -> Result<TranscriptReport, String> {
    let rows = read_rows(csv_path)?;
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let all = m.utterances.len() + m.uncategorised.len();
    let path_of = |m: &Manifest, i: usize| {
        if i < m.utterances.len() {
            m.utterances[i].path.clone()
        } else {
            m.uncategorised[i - m.utterances.len()].path.clone()
        }
    };
    for i in 0..all {
        if let Some(n) = path_of(m, i).file_name() {
            by_name
                .entry(n.to_string_lossy().to_string())
                .or_default()
                .push(i);
        }
    }
    let mut report = TranscriptReport {
        file: csv_path.display().to_string(),
        ..Default::default()
    };
    for (file, text) in rows {
        let name = Path::new(&file)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let candidates = by_name.get(&name).cloned().unwrap_or_default();
        let hits: Vec<usize> = candidates
            .into_iter()
            .filter(|&i| names(&file, &path_of(m, i)))
            .collect();
        if hits.is_empty() {
            report.unmatched += 1;
            if report.unmatched_examples.len() < 20 {
                report.unmatched_examples.push(file);
            }
            continue;
        }
        for i in hits {
            let u = if i < m.utterances.len() {
                &mut m.utterances[i]
            } else {
                let j = i - m.utterances.len();
                &mut m.uncategorised[j]
            };
            u.transcript = Some(text.clone());
            report.attached += 1;
        }
    }
    report.without_text = without_text(m);
    Ok(report)
}

/// Utterances (classified or not) without a transcript.
pub fn without_text(m: &Manifest) -> usize {
    m.utterances
        .iter()
        .chain(&m.uncategorised)
        .filter(|u| u.transcript.as_deref().is_none_or(str::is_empty))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{Emotion, utterance};

    #[test]
    fn attaches_by_path_or_name_and_counts_the_rest() {
        let mut m = Manifest::default();
        for p in ["a/x1.wav", "b/x2.wav", "b/x3.wav"] {
            m.utterances
                .push(utterance("c", p.into(), "neu", Emotion::Neutral));
        }
        m.uncategorised
            .push(utterance("c", "b/x4.wav".into(), "X", Emotion::Other));
        let d = tempfile::tempdir().expect("tmp");
        let csv = d.path().join("t.csv");
        std::fs::write(
            &csv,
            "file,text,speaker\na/x1.wav,hello there,s\nx4.wav,\"no, agreement\",s\nzz.wav,lost,s\nb/x2.wav,,s\n",
        )
        .expect("write");
        let r = attach(&mut m, &csv).expect("attach");
        assert_eq!(r.attached, 2);
        assert_eq!(r.unmatched, 1);
        assert_eq!(r.unmatched_examples, vec!["zz.wav".to_string()]);
        assert_eq!(r.without_text, 2);
        assert_eq!(m.utterances[0].transcript.as_deref(), Some("hello there"));
        assert_eq!(
            m.uncategorised[0].transcript.as_deref(),
            Some("no, agreement")
        );
        std::fs::write(&csv, "name,words\n").expect("write");
        assert!(attach(&mut m, &csv).expect_err("header").contains("'text'"));
    }
}
