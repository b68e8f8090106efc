//! CSV manifest reader: a header row with `path` and `label` and optionally `speaker`, `gender`,
//! `split`, `text`, and numeric columns (`arousal`, `valence`, `dominance` or any other name, for
//! dimensional runs). Without a `label` column, or with an empty label, rows that have numeric
//! values are kept for dimensional runs (`Manifest::uncategorised`). Paths are relative to the
//! CSV's folder (absolute paths also work).
//!
//! Multi-label manifests (speaking styles): `file` (or `path`), optional `speaker`, and either one
//! integer column per label counting the annotators who chose it plus `annotators` (the
//! DreamVoice form: `file,speaker,annotators,Female,Male,…`), or a `labels` column of
//! `;`-separated label names (one vote each). Their rows have no emotion class and are kept in
//! `Manifest::uncategorised`, with the votes as numeric values.

use std::path::{Path, PathBuf};

use super::{
    CorpusError, Emotion, Gender, Manifest, Skipped, push_checked, push_uncategorised, utterance,
};

/// Name the reader looks for first; any other `*.csv` with the right header also works.
pub const DEFAULT_NAME: &str = "manifest.csv";

/// Columns that are not numeric annotations.
const TEXT_COLUMNS: [&str; 9] = [
    "path", "file", "label", "labels", "speaker", "gender", "split", "text", "corpus",
];

/// Column names that make a manifest without `label` usable (dimensional annotations).
const DIMENSION_COLUMNS: [&str; 3] = ["arousal", "valence", "dominance"];

/// True when `p` is a CSV whose header has a `path` column and a `label` (or an arousal,
/// valence or dominance) column.
pub fn looks_like_manifest(p: &Path) -> bool {
    if !p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        return false;
    }
    csv::Reader::from_path(p)
        .and_then(|mut r| r.headers().cloned())
        .is_ok_and(|h| {
            let has = |n: &str| h.iter().any(|c| c.trim().eq_ignore_ascii_case(n));
            (has("path") || has("file"))
                && (has("label")
                    || has("labels")
                    || has(crate::train::multilabel::ANNOTATORS)
                    || DIMENSION_COLUMNS.iter().any(|d| has(d)))
        })
}

fn find_manifest(root: &Path) -> Result<PathBuf, CorpusError> {
    if root.is_file() {
        return Ok(root.to_path_buf());
    }
    let preferred = root.join(DEFAULT_NAME);
    if preferred.is_file() {
        return Ok(preferred);
    }
    let mut csvs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| CorpusError::Folder {
            path: root.to_path_buf(),
            reason: e.to_string(),
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| looks_like_manifest(p))
        .collect();
    csvs.sort();
    csvs.into_iter()
        .next()
        .ok_or_else(|| CorpusError::Manifest {
            path: root.to_path_buf(),
            reason: "no CSV file with path,label (or path,arousal/valence/dominance) columns here"
                .into(),
        })
}

/// Reads the manifest found in `root` (or `root` itself when it is the CSV file).
pub fn read(root: &Path) -> Result<Manifest, CorpusError> {
    let csv_path = find_manifest(root)?;
    let base = csv_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let merr = |reason: String| CorpusError::Manifest {
        path: csv_path.clone(),
        reason,
    };
    let mut reader = csv::Reader::from_path(&csv_path).map_err(|e| merr(e.to_string()))?;
    let headers = reader.headers().map_err(|e| merr(e.to_string()))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let numeric_cols: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            !TEXT_COLUMNS
                .iter()
                .any(|t| h.trim().eq_ignore_ascii_case(t))
        })
        .map(|(i, h)| (i, h.trim().to_string()))
        .collect();
    let path_col = col("path").or(col("file"));
    let label_col = col("label");
    let labels_col = col("labels");
    let Some(path_col) = path_col
        .filter(|_| label_col.is_some() || labels_col.is_some() || !numeric_cols.is_empty())
    else {
        return Err(merr(format!(
            "header must name a 'path' column and a 'label' column (or numeric annotation columns such as arousal, valence, dominance), got: {}",
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    };
    let speaker_col = col("speaker");
    let gender_col = col("gender");
    let split_col = col("split");
    let text_col = col("text");
    let mut m = Manifest::default();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                m.skipped.push(Skipped {
                    path: csv_path.clone(),
                    reason: format!("line {line}: {e}"),
                });
                continue;
            }
        };
        let field = |c: Option<usize>| {
            c.and_then(|c| rec.get(c))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let Some(rel) = field(Some(path_col)) else {
            m.skipped.push(Skipped {
                path: csv_path.clone(),
                reason: format!("line {line}: empty path"),
            });
            continue;
        };
        let path = base.join(rel);
        let mut values = std::collections::BTreeMap::new();
        let mut bad = None;
        for (c, name) in &numeric_cols {
            let Some(v) = field(Some(*c)) else { continue };
            match v.parse::<f32>() {
                Ok(x) if x.is_finite() => {
                    values.insert(name.clone(), x);
                }
                _ => {
                    bad = Some(format!(
                        "line {line}: column '{name}' holds '{v}', not a number"
                    ))
                }
            }
        }
        if let Some(reason) = bad {
            m.skipped.push(Skipped { path, reason });
            continue;
        }
        // A `labels` column: one vote per listed label.
        for name in field(labels_col)
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            *values.entry(name.to_string()).or_insert(0.0) += 1.0;
        }
        if labels_col.is_some() && values.is_empty() {
            // A row with no label listed is a valid all-negative row.
            values.insert(crate::train::multilabel::ANNOTATORS.to_string(), 1.0);
        }
        let label = field(label_col).unwrap_or("");
        let emotion = Emotion::from_label(label);
        if emotion.is_none() && (!label.is_empty() || values.is_empty()) {
            m.skipped.push(Skipped {
                path,
                reason: if label.is_empty() {
                    format!("line {line}: no label and no numeric annotation")
                } else {
                    format!("line {line}: label '{label}' is not a known emotion")
                },
            });
            continue;
        }
        let mut u = utterance("csv", path, label, emotion.unwrap_or(Emotion::Other));
        u.speaker_id = field(speaker_col).map(str::to_string);
        u.gender = field(gender_col).and_then(Gender::parse);
        u.split = field(split_col).map(str::to_string);
        u.transcript = field(text_col).map(str::to_string);
        let take = |values: &mut std::collections::BTreeMap<String, f32>, names: &[&str]| {
            let key = values
                .keys()
                .find(|k| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
                .cloned();
            key.and_then(|k| values.remove(&k))
        };
        u.arousal = take(&mut values, &["arousal", "activation"]);
        u.valence = take(&mut values, &["valence"]);
        u.dominance = take(&mut values, &["dominance"]);
        u.values = values;
        if emotion.is_some() {
            push_checked(&mut m, u);
        } else {
            push_uncategorised(&mut m, u);
        }
    }
    Ok(m)
}
