//! MSP-Podcast reader: `Audios/*.wav` + `Labels/labels_consensus.csv` (also the old
//! `labels_concensus.csv` spelling) with `FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,
//! Split_Set`; official splits Train / Development / Test1 / Test2; transcripts from
//! `Transcripts/<name>.txt` where present.

use std::path::{Path, PathBuf};

use super::{
    CorpusError, Emotion, Gender, Manifest, Skipped, push_checked, push_uncategorised, utterance,
};

/// The label file, under either spelling.
pub fn labels_path(root: &Path) -> Option<PathBuf> {
    ["labels_consensus.csv", "labels_concensus.csv"]
        .iter()
        .map(|n| root.join("Labels").join(n))
        .find(|p| p.is_file())
}

/// MSP-Podcast class codes (X = no agreement).
pub fn emotion_of(code: &str) -> Option<Emotion> {
    Some(match code.trim() {
        "A" => Emotion::Anger,
        "H" => Emotion::Happiness,
        "S" => Emotion::Sadness,
        "U" => Emotion::Surprise,
        "F" => Emotion::Fear,
        "D" => Emotion::Disgust,
        "C" => Emotion::Contempt,
        "N" => Emotion::Neutral,
        "O" => Emotion::Other,
        _ => return None,
    })
}

/// Normalises the official split name: Train → train, Development → valid, Test* → test.
pub fn split_of(s: &str) -> Option<String> {
    let l = s.trim().to_ascii_lowercase();
    if l.starts_with("train") {
        Some("train".into())
    } else if l.starts_with("dev") || l.starts_with("valid") {
        Some("valid".into())
    } else if l.starts_with("test") {
        Some("test".into())
    } else {
        None
    }
}

/// Reads an MSP-Podcast root.
pub fn read(root: &Path) -> Result<Manifest, CorpusError> {
    let labels = labels_path(root).ok_or_else(|| CorpusError::Manifest {
        path: root.join("Labels"),
        reason: "no labels_consensus.csv (or labels_concensus.csv)".into(),
    })?;
    let merr = |reason: String| CorpusError::Manifest {
        path: labels.clone(),
        reason,
    };
    let mut r = csv::Reader::from_path(&labels).map_err(|e| merr(e.to_string()))?;
    let h = r.headers().map_err(|e| merr(e.to_string()))?.clone();
    let col = |n: &str| h.iter().position(|c| c.trim().eq_ignore_ascii_case(n));
    let (Some(f_col), Some(c_col)) = (col("FileName"), col("EmoClass")) else {
        return Err(merr("header must name FileName and EmoClass".into()));
    };
    let (act, val, dom, spk, gen_col, split) = (
        col("EmoAct"),
        col("EmoVal"),
        col("EmoDom"),
        col("SpkrID"),
        col("Gender"),
        col("Split_Set"),
    );
    let audio = root.join("Audios");
    let mut m = Manifest::default();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                m.skipped.push(Skipped {
                    path: labels.clone(),
                    reason: format!("line {line}: {e}"),
                });
                continue;
            }
        };
        let get = |c: Option<usize>| {
            c.and_then(|c| rec.get(c))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let Some(name) = get(Some(f_col)) else {
            m.skipped.push(Skipped {
                path: labels.clone(),
                reason: format!("line {line}: empty FileName"),
            });
            continue;
        };
        let path = audio.join(name);
        let code = get(Some(c_col)).unwrap_or("");
        let emotion = emotion_of(code);
        let num = |c: Option<usize>| get(c).and_then(|v| v.parse::<f32>().ok());
        let (a, v, d) = (num(act), num(val), num(dom));
        if emotion.is_none() && a.is_none() && v.is_none() && d.is_none() {
            m.skipped.push(Skipped {
                path,
                reason: format!(
                    "line {line}: class '{code}' (no agreement / unknown) and no EmoAct/EmoVal/EmoDom"
                ),
            });
            continue;
        }
        let mut u = utterance("msp-podcast", path, code, emotion.unwrap_or(Emotion::Other));
        u.arousal = a;
        u.valence = v;
        u.dominance = d;
        u.speaker_id = get(spk)
            .filter(|s| !s.eq_ignore_ascii_case("unknown"))
            .map(str::to_string);
        u.gender = get(gen_col).and_then(Gender::parse);
        u.split = get(split).and_then(split_of);
        u.transcript = std::fs::read_to_string(
            root.join("Transcripts")
                .join(Path::new(name).with_extension("txt")),
        )
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
        // Class X (no agreement) still has dimensional labels.
        if emotion.is_some() {
            push_checked(&mut m, u);
        } else {
            push_uncategorised(&mut m, u);
        }
    }
    Ok(m)
}
