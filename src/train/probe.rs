//! The unseen-corpus probe of a multi-label run (SpeechMLC's figure 4): the run's models applied
//! to a categorical emotion corpus, and the mean probability of every style label per emotion
//! class (e.g. Bright versus Dark on happy versus sad speech).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Mean label probabilities per emotion class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeTable {
    /// The run's labels (columns).
    pub labels: Vec<String>,
    /// Emotion classes of the corpus (rows).
    pub classes: Vec<String>,
    /// Utterances per class.
    pub counts: Vec<usize>,
    /// `mean[class][label]`: mean probability of the label over the class's utterances.
    pub mean: Vec<Vec<f64>>,
    /// Files that could not be read (path: reason).
    pub failed: Vec<String>,
}

/// Runs the multi-label run in `run_dir` over every classified utterance of `corpus_dir`;
/// `progress(done, total)` is called after each file.
pub fn probe(
    run_dir: &Path,
    corpus_dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ProbeTable, String> {
    let p = super::predict::Predictor::load(run_dir)?;
    if p.multi_label.is_none() {
        return Err(format!(
            "{}: not a multi-label run (the probe reads per-label probabilities)",
            run_dir.display()
        ));
    }
    let m = crate::corpus::load(corpus_dir, None).map_err(|e| e.to_string())?;
    if m.utterances.is_empty() {
        return Err(format!(
            "{}: no utterance with an emotion class",
            corpus_dir.display()
        ));
    }
    let classes: Vec<crate::corpus::Emotion> = {
        let mut c: Vec<_> = m.utterances.iter().map(|u| u.emotion).collect();
        c.sort();
        c.dedup();
        c
    };
    let mut sums = vec![vec![0.0f64; p.classes.len()]; classes.len()];
    let mut counts = vec![0usize; classes.len()];
    let mut failed = Vec::new();
    for (i, u) in m.utterances.iter().enumerate() {
        match p.predict_file(&u.path) {
            Ok(probs) => {
                let c = classes
                    .iter()
                    .position(|e| *e == u.emotion)
                    .expect("listed");
                counts[c] += 1;
                for (s, v) in sums[c].iter_mut().zip(&probs) {
                    *s += *v as f64;
                }
            }
            Err(e) => failed.push(format!("{}: {e}", u.path.display())),
        }
        progress(i + 1, m.utterances.len());
    }
    let mean = sums
        .iter()
        .zip(&counts)
        .map(|(row, &n)| {
            row.iter()
                .map(|s| if n == 0 { f64::NAN } else { s / n as f64 })
                .collect()
        })
        .collect();
    Ok(ProbeTable {
        labels: p.classes.clone(),
        classes: classes.iter().map(|e| e.name().to_string()).collect(),
        counts,
        mean,
        failed,
    })
}

impl ProbeTable {
    /// `class,n,<label>,…` rows.
    pub fn csv(&self) -> String {
        let mut s = format!("class,n,{}\n", self.labels.join(","));
        for ((c, n), row) in self.classes.iter().zip(&self.counts).zip(&self.mean) {
            s.push_str(&format!(
                "{c},{n},{}\n",
                row.iter()
                    .map(|v| format!("{v:.6}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
        s
    }
}
