//! IEMOCAP reader: audio in `Session{1-5}/sentences/wav/<dialog>/<utt>.wav`, labels in
//! `Session*/dialog/EmoEvaluation/*.txt` lines `[start - end]\tutt\tcode\t[V, A, D]`, transcripts
//! in `Session*/dialog/transcriptions/*.txt` lines `utt [start-end]: text`.
//!
//! The speaker is the session plus the letter after the LAST `_` of the utterance name
//! (`Ses01F_impro01_M013` → `Ses01M`, male): the letter in the dialog prefix names who wore the
//! markers, not who speaks.

use std::collections::BTreeMap;
use std::path::Path;

use super::{
    CorpusError, Emotion, Gender, Manifest, Skipped, push_checked, push_uncategorised, utterance,
};

/// One line of an EmoEvaluation file.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalRow {
    /// Utterance name, e.g. `Ses01F_impro01_F000`.
    pub utt: String,
    /// Start and end time in seconds.
    pub span_secs: (f64, f64),
    /// Majority label code (`neu`, `hap`, …, `xxx`).
    pub code: String,
    /// Valence, activation, dominance (1–5).
    pub vad: [f32; 3],
}

/// Parses one EmoEvaluation line; `None` for lines that are not utterance rows (headers,
/// per-annotator lines, blanks), `Some(Err)` for a row that looks like one but is malformed.
pub fn parse_eval_line(line: &str) -> Option<Result<EvalRow, String>> {
    let line = line.trim();
    if !line.starts_with('[') {
        return None;
    }
    let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
    if fields.len() < 4 {
        return Some(Err(format!(
            "expected 4 tab-separated fields, got {}: '{line}'",
            fields.len()
        )));
    }
    let span = fields[0].trim_start_matches('[').trim_end_matches(']');
    let times: Vec<f64> = span
        .split('-')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    let [start, end] = times.as_slice() else {
        return Some(Err(format!("bad time span '{}'", fields[0])));
    };
    let vad: Vec<f32> = fields[3]
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let [v, a, d] = vad.as_slice() else {
        return Some(Err(format!("bad V/A/D '{}'", fields[3])));
    };
    if fields[1].is_empty() || !fields[1].starts_with("Ses") {
        return Some(Err(format!("bad utterance name '{}'", fields[1])));
    }
    Some(Ok(EvalRow {
        utt: fields[1].to_string(),
        span_secs: (*start, *end),
        code: fields[2].to_string(),
        vad: [*v, *a, *d],
    }))
}

/// Maps an IEMOCAP code to the canonical emotion (`xxx` has none).
pub fn emotion_of(code: &str) -> Option<Emotion> {
    Some(match code {
        "neu" => Emotion::Neutral,
        "hap" => Emotion::Happiness,
        "ang" => Emotion::Anger,
        "sad" => Emotion::Sadness,
        "exc" => Emotion::Excitement,
        "fru" => Emotion::Frustration,
        "fea" => Emotion::Fear,
        "sur" => Emotion::Surprise,
        "dis" => Emotion::Disgust,
        "oth" => Emotion::Other,
        _ => return None,
    })
}

/// Speaker id, gender and session of an utterance name.
pub fn speaker_of(utt: &str) -> Result<(String, Gender, String), String> {
    let session = utt
        .get(..5)
        .filter(|s| s.starts_with("Ses"))
        .ok_or_else(|| format!("'{utt}' does not start with SesNN"))?;
    let last = utt.rsplit('_').next().unwrap_or_default();
    let gender = match last.chars().next() {
        Some('F') => Gender::Female,
        Some('M') => Gender::Male,
        _ => {
            return Err(format!(
                "'{utt}': the part after the last '_' must start with F or M"
            ));
        }
    };
    let letter = if gender == Gender::Female { 'F' } else { 'M' };
    let n: String = session.chars().skip(3).collect();
    Ok((
        format!("{session}{letter}"),
        gender,
        format!("Session{}", n.trim_start_matches('0')),
    ))
}

fn read_transcripts(dir: &Path) -> BTreeMap<String, String> {
    let mut t = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return t;
    };
    for e in rd.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        for line in text.lines() {
            if let Some((head, body)) = line.split_once("]:")
                && let Some(utt) = head.split_whitespace().next()
            {
                t.insert(utt.to_string(), body.trim().to_string());
            }
        }
    }
    t
}

/// Reads an IEMOCAP root (the folder holding `Session1` … `Session5`).
pub fn read(root: &Path) -> Result<Manifest, CorpusError> {
    let mut m = Manifest::default();
    let mut sessions: Vec<_> = std::fs::read_dir(root)
        .map_err(|e| CorpusError::Folder {
            path: root.to_path_buf(),
            reason: e.to_string(),
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("Session"))
        })
        .collect();
    sessions.sort();
    for sdir in sessions {
        let eval_dir = sdir.join("dialog").join("EmoEvaluation");
        let transcripts = read_transcripts(&sdir.join("dialog").join("transcriptions"));
        let mut files: Vec<_> = match std::fs::read_dir(&eval_dir) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                .collect(),
            Err(e) => {
                m.skipped.push(Skipped {
                    path: eval_dir.clone(),
                    reason: format!("no label files: {e}"),
                });
                continue;
            }
        };
        files.sort();
        for f in files {
            let text = match std::fs::read_to_string(&f) {
                Ok(t) => t,
                Err(e) => {
                    m.skipped.push(Skipped {
                        path: f.clone(),
                        reason: format!("cannot read label file: {e}"),
                    });
                    continue;
                }
            };
            for (i, line) in text.lines().enumerate() {
                let row = match parse_eval_line(line) {
                    None => continue,
                    Some(Err(e)) => {
                        m.skipped.push(Skipped {
                            path: f.clone(),
                            reason: format!("line {}: {e}", i + 1),
                        });
                        continue;
                    }
                    Some(Ok(r)) => r,
                };
                let dialog = row
                    .utt
                    .rsplit_once('_')
                    .map_or(row.utt.as_str(), |(d, _)| d)
                    .to_string();
                let path = sdir
                    .join("sentences")
                    .join("wav")
                    .join(&dialog)
                    .join(format!("{}.wav", row.utt));
                // No majority emotion (`xxx`): kept for dimensional runs only.
                let emotion = emotion_of(&row.code);
                let (speaker, gender, session) = match speaker_of(&row.utt) {
                    Ok(s) => s,
                    Err(reason) => {
                        m.skipped.push(Skipped { path, reason });
                        continue;
                    }
                };
                let mut u = utterance(
                    "iemocap",
                    path,
                    &row.code,
                    emotion.unwrap_or(Emotion::Other),
                );
                u.speaker_id = Some(speaker);
                u.gender = Some(gender);
                u.session = Some(session);
                u.valence = Some(row.vad[0]);
                u.arousal = Some(row.vad[1]);
                u.dominance = Some(row.vad[2]);
                u.style = Some(
                    if dialog.contains("impro") {
                        "improvised"
                    } else {
                        "scripted"
                    }
                    .to_string(),
                );
                u.transcript = transcripts.get(&row.utt).cloned();
                u.text_id = Some(dialog);
                if emotion.is_some() {
                    push_checked(&mut m, u);
                } else {
                    push_uncategorised(&mut m, u);
                }
            }
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_evaluation_rows() {
        let r = parse_eval_line(
            "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]",
        )
        .expect("row")
        .expect("ok");
        assert_eq!(r.utt, "Ses01F_impro01_F000");
        assert_eq!(r.code, "neu");
        assert_eq!(r.vad, [2.5, 2.5, 2.5]);
        assert!(parse_eval_line("C-E2:\tNeutral;\t()").is_none());
        assert!(parse_eval_line("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]").is_none());
        assert!(
            parse_eval_line("[1 - 2]\tSes01F_x_F1")
                .expect("some")
                .is_err()
        );
    }

    #[test]
    fn speaker_is_letter_after_last_underscore() {
        assert_eq!(
            speaker_of("Ses01F_impro01_M013").expect("s"),
            ("Ses01M".into(), Gender::Male, "Session1".into())
        );
        assert_eq!(speaker_of("Ses05M_script02_2_F004").expect("s").0, "Ses05F");
        assert!(speaker_of("Xyz").is_err());
    }
}
