//! Voting ensembles of finished runs ("Ensemble of Large Self-Supervised Transformers for
//! Improving Speech Emotion Recognition": majority voting over 3 or 5 fine-tuned models).
//!
//! Members must have predicted the same test utterances with the same classes. Hard voting takes
//! the most frequent predicted class, a tie broken by the larger summed probability of the tied
//! classes (then by class order); soft voting takes the class of the highest mean probability.
//! The ensemble is written as a run folder like any other: `report.json` (with its members and
//! their runtime and size), `report.md`, `predictions.csv` and `ensemble.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::run_dir::{
    EnsembleMember, FoldReport, FoldStats, ModelCost, PredictionRow, RunDir, RunReport,
    read_predictions, read_report,
};
use crate::eval::ClassificationReport;

/// How members are combined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vote {
    /// The mode of the members' predicted classes (ties: summed probability).
    #[default]
    Hard,
    /// The highest mean probability.
    Soft,
}

impl std::str::FromStr for Vote {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "hard" => Ok(Vote::Hard),
            "soft" => Ok(Vote::Soft),
            _ => Err(format!("unknown vote '{s}' (known: hard, soft)")),
        }
    }
}

impl Vote {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Vote::Hard => "hard",
            Vote::Soft => "soft",
        }
    }
}

/// The combined class of one utterance from the members' probability rows.
pub fn combine(vote: Vote, member_probs: &[&[f32]]) -> usize {
    let n = member_probs.first().map_or(0, |p| p.len());
    let mut sum = vec![0.0f64; n];
    let mut votes = vec![0usize; n];
    for p in member_probs {
        for (s, v) in sum.iter_mut().zip(p.iter()) {
            *s += *v as f64;
        }
        votes[crate::eval::argmax(p)] += 1;
    }
    let score = |k: usize| match vote {
        Vote::Hard => (votes[k] as f64, sum[k]),
        Vote::Soft => (sum[k], 0.0),
    };
    // First class wins a complete tie (stable, like argmax).
    (0..n).fold(0, |best, k| if score(k) > score(best) { k } else { best })
}

/// The result of [`ensemble`].
pub struct EnsembleOutput {
    /// The ensemble's run folder.
    pub run_dir: PathBuf,
    /// Its report.
    pub report: RunReport,
}

/// Combines the runs in `runs` by `vote` into a new run folder `out`.
pub fn ensemble(runs: &[PathBuf], vote: Vote, out: &Path) -> Result<EnsembleOutput, String> {
    if runs.len() < 2 {
        return Err("an ensemble needs at least two runs".into());
    }
    let mut members = Vec::new();
    for r in runs {
        let report = read_report(r)?;
        if report.dimensional.is_some() {
            return Err(format!(
                "{}: a dimensional run; ensembles vote on classes (average its predictions.csv columns instead)",
                r.display()
            ));
        }
        if report.incomplete {
            return Err(format!(
                "{}: the run was stopped before all folds finished; its test part is incomplete",
                r.display()
            ));
        }
        let preds = read_predictions(r)?;
        if preds.is_empty() {
            return Err(format!("{}: predictions.csv has no rows", r.display()));
        }
        members.push((r.clone(), report, preds));
    }
    let (first_dir, first, first_preds) = &members[0];
    let classes = first.pooled.classes.clone();
    // Test utterances are keyed by their audio path (each is tested once in a run).
    let key = |p: &PredictionRow| p.path.clone();
    let index_of =
        |rows: &[PredictionRow], dir: &Path| -> Result<BTreeMap<String, usize>, String> {
            let mut m = BTreeMap::new();
            for (i, p) in rows.iter().enumerate() {
                if m.insert(key(p), i).is_some() {
                    return Err(format!(
                        "{}: {} is tested twice; ensembles need each test utterance once",
                        dir.display(),
                        p.path
                    ));
                }
            }
            Ok(m)
        };
    let first_index = index_of(first_preds, first_dir)?;
    let mut indices = vec![first_index.clone()];
    for (dir, report, preds) in &members[1..] {
        if report.pooled.classes != classes {
            return Err(format!(
                "{} has classes {:?}, {} has {:?}: members must share the classes (same label map)",
                dir.display(),
                report.pooled.classes,
                first_dir.display(),
                classes
            ));
        }
        let idx = index_of(preds, dir)?;
        let missing: Vec<&String> = first_index
            .keys()
            .filter(|k| !idx.contains_key(*k))
            .collect();
        let extra: Vec<&String> = idx
            .keys()
            .filter(|k| !first_index.contains_key(*k))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            return Err(format!(
                "{} and {} did not test the same utterances ({} only in the first, {} only in the second; e.g. {}): members must share the test part (same corpus, protocol and seed)",
                first_dir.display(),
                dir.display(),
                missing.len(),
                extra.len(),
                missing.first().or(extra.first()).map_or("", |s| s.as_str())
            ));
        }
        for (k, &i) in &idx {
            let a = &first_preds[first_index[k]];
            if preds[i].true_label != a.true_label {
                return Err(format!(
                    "{}: {} is labelled {} there but {} in {}",
                    dir.display(),
                    k,
                    preds[i].true_label,
                    a.true_label,
                    first_dir.display()
                ));
            }
        }
        indices.push(idx);
    }

    let class_index = |name: &str| classes.iter().position(|c| c == name);
    let mut rows = Vec::with_capacity(first_preds.len());
    let (mut truth, mut predicted) = (Vec::new(), Vec::new());
    for p in first_preds {
        let k = key(p);
        let probs: Vec<&[f32]> = members
            .iter()
            .zip(&indices)
            .map(|((_, _, preds), idx)| preds[idx[&k]].probabilities.as_slice())
            .collect();
        if probs.iter().any(|q| q.len() != classes.len()) {
            return Err(format!(
                "{}: probability columns do not match the classes",
                p.path
            ));
        }
        let winner = combine(vote, &probs);
        let n = probs.len() as f32;
        let mean: Vec<f32> = (0..classes.len())
            .map(|c| probs.iter().map(|q| q[c]).sum::<f32>() / n)
            .collect();
        let t = class_index(&p.true_label)
            .ok_or_else(|| format!("{}: true label {} is not a class", p.path, p.true_label))?;
        truth.push(t);
        predicted.push(winner);
        rows.push(PredictionRow {
            fold: p.fold.clone(),
            corpus: p.corpus.clone(),
            path: p.path.clone(),
            speaker: p.speaker.clone(),
            true_label: p.true_label.clone(),
            predicted: classes[winner].clone(),
            confidence: mean[winner],
            correct: winner == t,
            probabilities: mean,
        });
    }
    let pooled = ClassificationReport::from_predictions(&classes, &truth, &predicted);
    // Per-fold reports over the first member's fold names (members share the test part).
    let mut fold_names: Vec<String> = Vec::new();
    for r in &rows {
        if !fold_names.contains(&r.fold) {
            fold_names.push(r.fold.clone());
        }
    }
    let folds: Vec<FoldReport> = fold_names
        .iter()
        .map(|f| {
            let (t, p): (Vec<usize>, Vec<usize>) = rows
                .iter()
                .zip(truth.iter().zip(&predicted))
                .filter(|(r, _)| &r.fold == f)
                .map(|(_, (t, p))| (*t, *p))
                .unzip();
            FoldReport {
                labels: None,
                name: f.clone(),
                best_epoch: 0,
                layer_weights: None,
                dimension_layer_weights: None,
                dims: None,
                fusion_alpha: None,
                gate_per_class: None,
                report: ClassificationReport::from_predictions(&classes, &t, &p),
            }
        })
        .collect();
    let member_rows: Vec<EnsembleMember> = members
        .iter()
        .map(|(dir, r, _)| EnsembleMember {
            run_dir: dir.display().to_string(),
            preset: r.preset.clone(),
            wa: r.pooled.wa,
            ua: r.pooled.ua,
            macro_f1: r.pooled.macro_f1,
            cost: r.cost.clone(),
        })
        .collect();
    let cost = member_rows
        .iter()
        .map(|m| m.cost.clone())
        .collect::<Option<Vec<ModelCost>>>()
        .map(|costs| sum_costs(&costs));
    let protocols: Vec<&str> = members
        .iter()
        .map(|(_, r, _)| r.protocol.as_str())
        .collect();
    let independent = members
        .iter()
        .all(|(_, r, _)| r.independence == crate::corpus::split::independence_label(true));
    let report = RunReport {
        feature_weights: None,
        multi_label: None,
        tasks: None,
        preset: format!(
            "{}-vote ensemble of {}",
            vote.name(),
            members
                .iter()
                .map(|(_, r, _)| r.preset.as_str())
                .collect::<Vec<_>>()
                .join(" + ")
        ),
        protocol: if protocols.iter().all(|p| *p == protocols[0]) {
            protocols[0].to_string()
        } else {
            protocols.join(" | ")
        },
        independence: crate::corpus::split::independence_label(independent).to_string(),
        seed: first.seed,
        wa_formula: crate::eval::metrics::WA_FORMULA.into(),
        ua_formula: crate::eval::metrics::UA_FORMULA.into(),
        pooled,
        fold_mean_std: FoldStats::of(&folds),
        folds,
        layer_weights: None,
        incomplete: false,
        train_secs: members.iter().map(|(_, r, _)| r.train_secs).sum(),
        cost,
        members: member_rows,
        dimensional: None,
    };
    let run = RunDir::create(out.to_path_buf())?;
    run.write_predictions(&rows, &classes)?;
    run.write_json(
        "ensemble.json",
        &serde_json::json!({
            "vote": vote.name(),
            "tie_break": match vote {
                Vote::Hard => "most votes; a tie goes to the larger summed probability of the tied classes, then to class order",
                Vote::Soft => "highest mean probability; a tie goes to class order",
            },
            "members": runs.iter().map(|r| r.display().to_string()).collect::<Vec<_>>(),
            "classes": classes,
        }),
    )?;
    run.write_report(&report)?;
    Ok(EnsembleOutput {
        run_dir: run.path,
        report,
    })
}

/// An ensemble costs what its members cost together (inference runs every member).
fn sum_costs(costs: &[ModelCost]) -> ModelCost {
    let audio = costs.first().map_or(0.0, |c| c.test_audio_secs);
    let inference: f64 = costs.iter().map(|c| c.inference_secs).sum();
    ModelCost {
        params: costs.iter().map(|c| c.params).sum(),
        trainable_params: costs.iter().map(|c| c.trainable_params).sum(),
        checkpoint_bytes: costs.iter().map(|c| c.checkpoint_bytes).sum(),
        train_secs: costs.iter().map(|c| c.train_secs).sum(),
        test_audio_secs: audio,
        inference_secs: inference,
        inference_secs_per_audio_sec: if audio > 0.0 {
            inference / audio
        } else {
            f64::NAN
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand cases: a 2-of-3 majority beats a confident minority; a 1-1-1 tie goes to the class
    /// with the largest summed probability; soft voting follows the mean.
    #[test]
    fn hard_and_soft_votes_follow_the_rules() {
        let a = [0.6f32, 0.3, 0.1];
        let b = [0.5f32, 0.4, 0.1];
        let c = [0.0f32, 0.05, 0.95];
        assert_eq!(combine(Vote::Hard, &[&a, &b, &c]), 0);
        // soft: means 0.367, 0.25, 0.383 → class 2
        assert_eq!(combine(Vote::Soft, &[&a, &b, &c]), 2);
        // three different winners: sums 0.9+…: class 0: 0.5+0.3+0.1=0.9, 1: 0.2+0.6+0.1=0.9,
        // 2: 0.3+0.1+0.8=1.2 → class 2
        let x = [0.5f32, 0.2, 0.3];
        let y = [0.3f32, 0.6, 0.1];
        let z = [0.1f32, 0.1, 0.8];
        assert_eq!(combine(Vote::Hard, &[&x, &y, &z]), 2);
        // 2-2 tie between classes 0 and 1: summed probability decides (1.3 vs 1.5 → class 1)
        let p = [0.7f32, 0.3];
        let q = [0.6f32, 0.4];
        let r = [0.0f32, 0.4];
        let s = [0.0f32, 0.4];
        // r and s vote 1 (0.4 > 0.0); votes 2–2; sums 1.3 vs 1.5
        assert_eq!(combine(Vote::Hard, &[&p, &q, &r, &s]), 1);
    }
}
