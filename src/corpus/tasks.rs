//! Which auxiliary tasks a corpus can train (the metadata paper's multi-task fine-tuning):
//! emotion, gender, speaker, speaking style, intensity, ASR from transcripts, and every numeric
//! CSV column — with how many utterances carry each and its classes (docs/design.md,
//! "Multi-task fine-tuning").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Emotion, Manifest, Utterance};

/// One task a corpus supports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskSupport {
    /// Task name as a preset names it: `emotion`, `gender`, `speaker`, `style`, `intensity`,
    /// `asr`, or a CSV column.
    pub task: String,
    /// Utterances that carry it.
    pub utterances: usize,
    /// Its classes with their counts (classification tasks; empty for `asr` and columns).
    pub classes: BTreeMap<String, usize>,
    /// What it is, in a few words.
    pub kind: String,
}

/// The metadata value of `u` for a classification task (`None` where the utterance lacks it);
/// any other name reads the CSV column of that name, each distinct value a class (`3`, `2.5`).
pub fn class_of(u: &Utterance, task: &str) -> Option<String> {
    match task {
        "emotion" => (u.emotion != Emotion::Other).then(|| u.emotion.name().to_string()),
        "gender" => u.gender.map(|g| format!("{g:?}").to_lowercase()),
        "speaker" => u.speaker_id.clone(),
        "style" => u.style.clone(),
        "intensity" => u.intensity.clone(),
        column => u.values.get(column).map(|v| format!("{v}")),
    }
}

/// Every task with at least one utterance, in a fixed order (numeric columns last, by name).
pub fn supported(m: &Manifest) -> Vec<TaskSupport> {
    let all: Vec<&Utterance> = m.utterances.iter().chain(&m.uncategorised).collect();
    let mut out = Vec::new();
    for (task, kind) in [
        ("emotion", "emotion class"),
        ("gender", "speaker gender"),
        ("speaker", "speaker identity"),
        ("style", "speaking style (e.g. improvised / scripted)"),
        ("intensity", "emotional intensity"),
    ] {
        let mut classes = BTreeMap::new();
        for u in &all {
            if let Some(c) = class_of(u, task) {
                *classes.entry(c).or_insert(0usize) += 1;
            }
        }
        let n = classes.values().sum();
        // One class teaches nothing.
        if classes.len() >= 2 {
            out.push(TaskSupport {
                task: task.into(),
                utterances: n,
                classes,
                kind: kind.into(),
            });
        }
    }
    let with_text = all
        .iter()
        .filter(|u| {
            u.transcript
                .as_deref()
                .is_some_and(|t| !t.trim().is_empty())
        })
        .count();
    if with_text > 0 {
        out.push(TaskSupport {
            task: "asr".into(),
            utterances: with_text,
            classes: BTreeMap::new(),
            kind: "transcripts (character CTC)".into(),
        });
    }
    let mut columns: BTreeMap<String, usize> = BTreeMap::new();
    for u in &all {
        for k in u.values.keys() {
            *columns.entry(k.clone()).or_insert(0) += 1;
        }
    }
    for (name, n) in columns {
        out.push(TaskSupport {
            task: name,
            utterances: n,
            classes: BTreeMap::new(),
            kind: "numeric column".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_tasks_with_their_classes() {
        let mut m = Manifest::default();
        for (i, (g, style, text)) in [
            (
                Some(crate::corpus::Gender::Female),
                Some("improvised"),
                Some("hello there"),
            ),
            (Some(crate::corpus::Gender::Male), Some("scripted"), None),
            (None, Some("scripted"), Some(" ")),
        ]
        .into_iter()
        .enumerate()
        {
            let mut u = crate::corpus::utterance(
                "x",
                format!("{i}.wav").into(),
                &format!("s{i}"),
                if i == 2 {
                    Emotion::Other
                } else {
                    Emotion::Happiness
                },
            );
            u.gender = g;
            u.speaker_id = Some(format!("s{i}"));
            u.style = style.map(String::from);
            u.transcript = text.map(String::from);
            m.utterances.push(u);
        }
        m.utterances[0].values.insert("arousal".into(), 3.0);
        let t = supported(&m);
        let names: Vec<&str> = t.iter().map(|t| t.task.as_str()).collect();
        // Emotion has one class here (happiness), so it is not a task; intensity is absent.
        assert_eq!(names, ["gender", "speaker", "style", "asr", "arousal"]);
        assert_eq!(t[0].utterances, 2);
        assert_eq!(t[2].classes["scripted"], 2);
        assert_eq!(t[3].utterances, 1);
    }
}
