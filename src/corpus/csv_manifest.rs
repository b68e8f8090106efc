//! CSV manifest reader: a header row with at least `path,label` and optionally `speaker`,
//! `gender`, `split`; paths are relative to the CSV's folder (absolute paths also work).

use std::path::{Path, PathBuf};

use super::{CorpusError, Emotion, Gender, Manifest, Skipped, push_checked, utterance};

/// Name the reader looks for first; any other `*.csv` with the right header also works.
pub const DEFAULT_NAME: &str = "manifest.csv";

/// True when `p` is a CSV whose header has `path` and `label` columns.
pub fn looks_like_manifest(p: &Path) -> bool {
    if !p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        return false;
    }
    csv::Reader::from_path(p)
        .and_then(|mut r| r.headers().cloned())
        .is_ok_and(|h| {
            h.iter().any(|c| c.trim() == "path") && h.iter().any(|c| c.trim() == "label")
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
            reason: "no CSV file with path,label columns here".into(),
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
    let (Some(path_col), Some(label_col)) = (col("path"), col("label")) else {
        return Err(merr(format!(
            "header must name 'path' and 'label' columns, got: {}",
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    };
    let speaker_col = col("speaker");
    let gender_col = col("gender");
    let split_col = col("split");
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
        let label = field(Some(label_col)).unwrap_or("");
        let Some(emotion) = Emotion::from_label(label) else {
            m.skipped.push(Skipped {
                path,
                reason: format!("line {line}: label '{label}' is not a known emotion"),
            });
            continue;
        };
        let mut u = utterance("csv", path, label, emotion);
        u.speaker_id = field(speaker_col).map(str::to_string);
        u.gender = field(gender_col).and_then(Gender::parse);
        u.split = field(split_col).map(str::to_string);
        push_checked(&mut m, u);
    }
    Ok(m)
}
