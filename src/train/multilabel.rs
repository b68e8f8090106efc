//! Multi-label runs (SpeechMLC, seed 001): several labels per utterance (speaking styles such as
//! Female, Teenager, Bright, Rough), each positive where at least `min_agreement` annotators chose
//! it; a sigmoid per label, trained with binary cross-entropy, focal or asymmetric loss
//! (docs/design.md, "Multi-label").

use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, sigmoid};
use serde::{Deserialize, Serialize};

use crate::corpus::Utterance;

/// The column of a multi-label manifest that counts the annotators of a row (not a label).
pub const ANNOTATORS: &str = "annotators";

/// Loss of a multi-label run (every element averaged over labels and items).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum MultiLabelLoss {
    /// Binary cross-entropy on the logits (per-label positive weights where the task asks).
    #[default]
    Bce,
    /// Focal loss (Lin et al.): BCE scaled by `(1 − p_t)^gamma`.
    Focal {
        /// Focusing exponent.
        gamma: f32,
    },
    /// Asymmetric loss (Ridnik et al., Query2Label's default): positives
    /// `(1 − p)^gamma_pos · log p`, negatives `p_m^gamma_neg · log(1 − p_m)` with the shifted
    /// probability `p_m = max(p − clip, 0)`.
    Asymmetric {
        /// Exponent of the negatives (4 in the ASL paper, 2 in Query2Label).
        gamma_neg: f32,
        /// Exponent of the positives.
        gamma_pos: f32,
        /// Probability margin that discards easy negatives.
        clip: f32,
    },
}

impl MultiLabelLoss {
    /// Short name for reports.
    pub fn describe(self) -> String {
        match self {
            MultiLabelLoss::Bce => "binary cross-entropy".into(),
            MultiLabelLoss::Focal { gamma } => format!("focal loss (γ = {gamma})"),
            MultiLabelLoss::Asymmetric {
                gamma_neg,
                gamma_pos,
                clip,
            } => format!("asymmetric loss (γ− = {gamma_neg}, γ+ = {gamma_pos}, clip {clip})"),
        }
    }
}

/// Settings of a multi-label run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MultiLabelTask {
    /// Labels in output order (empty: every vote column of the manifest, alphabetically).
    pub labels: Vec<String>,
    /// A label is positive where at least this many annotators chose it (a `labels` column
    /// counts as one vote per listed label).
    pub min_agreement: f32,
    /// Loss.
    pub loss: MultiLabelLoss,
    /// Binary cross-entropy: weight each label's positives by negatives / positives of the
    /// training part.
    pub positive_weights: bool,
    /// Probability at or above which a label is predicted.
    pub threshold: f32,
    /// Tune each label's threshold on the validation part (then frozen for the test part).
    pub tune_thresholds: bool,
    /// Draw training examples with replacement, rare labels more often (each example weighted
    /// by the mean inverse frequency of its positive labels); an epoch keeps its size.
    pub balanced_sampling: bool,
    /// Label map: `(from, to)` adds the votes of column `from` to label `to` and drops `from`
    /// (the paper merges Senior into Adult). Applied before `drop` and before the labels are
    /// resolved.
    pub rename: Vec<(String, String)>,
    /// Vote columns left out of the run (the paper drops the ambiguous-gender votes).
    pub drop: Vec<String>,
    /// Mutually exclusive label groups (each annotator chose one label of a group, e.g.
    /// `["Female", "Male"]`): the agreement of a grouped label is the group's top vote count;
    /// an ungrouped label's is `max(votes, annotators − votes)`.
    pub groups: Vec<Vec<String>>,
    /// Keep only test utterances whose every label group (and ungrouped label) reaches this
    /// agreement — the paper's test set ("agreement of 5 or more of 8"). Training and
    /// validation keep every utterance.
    pub test_min_agreement: Option<f32>,
}

impl Default for MultiLabelTask {
    fn default() -> Self {
        Self {
            labels: Vec::new(),
            min_agreement: 1.0,
            loss: MultiLabelLoss::Bce,
            positive_weights: false,
            threshold: 0.5,
            tune_thresholds: false,
            balanced_sampling: false,
            rename: Vec::new(),
            drop: Vec::new(),
            groups: Vec::new(),
            test_min_agreement: None,
        }
    }
}

impl MultiLabelTask {
    /// Checks the settings; every problem names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_agreement.is_nan()
            || self.min_agreement <= 0.0
            || self.min_agreement.is_infinite()
        {
            return Err(format!(
                "task: min_agreement must be > 0, got {}",
                self.min_agreement
            ));
        }
        if self.threshold.is_nan() || self.threshold <= 0.0 || self.threshold >= 1.0 {
            return Err(format!(
                "task: threshold must be in (0, 1), got {}",
                self.threshold
            ));
        }
        if let Some(k) = self.test_min_agreement
            && (k.is_nan() || k <= 0.0 || k.is_infinite())
        {
            return Err(format!("task: test_min_agreement must be > 0, got {k}"));
        }
        for (from, to) in &self.rename {
            if from.trim().is_empty() || to.trim().is_empty() || from.eq_ignore_ascii_case(to) {
                return Err(format!(
                    "task: rename ('{from}', '{to}') needs two different label names"
                ));
            }
            if [from, to]
                .iter()
                .any(|l| l.eq_ignore_ascii_case(ANNOTATORS))
            {
                return Err(format!(
                    "task: rename cannot touch the '{ANNOTATORS}' column"
                ));
            }
        }
        let mut grouped = std::collections::BTreeSet::new();
        for g in &self.groups {
            if g.len() < 2 {
                return Err(format!(
                    "task: a label group needs at least two labels, got {g:?}"
                ));
            }
            for l in g {
                if !grouped.insert(l.to_ascii_lowercase()) {
                    return Err(format!("task: label '{l}' is in two groups"));
                }
                if !self.labels.is_empty() && !self.labels.iter().any(|x| x.eq_ignore_ascii_case(l))
                {
                    return Err(format!(
                        "task: group label '{l}' is not one of the task's labels"
                    ));
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for l in &self.labels {
            if l.trim().is_empty() || l.eq_ignore_ascii_case(ANNOTATORS) {
                return Err(format!("task: '{l}' cannot be a label"));
            }
            if !seen.insert(l.to_ascii_lowercase()) {
                return Err(format!("task: label '{l}' is listed twice"));
            }
        }
        match self.loss {
            MultiLabelLoss::Focal { gamma } if gamma.is_nan() || gamma < 0.0 => {
                Err(format!("task: focal gamma must be ≥ 0, got {gamma}"))
            }
            MultiLabelLoss::Asymmetric {
                gamma_neg,
                gamma_pos,
                clip,
            } if gamma_neg.is_nan()
                || gamma_pos.is_nan()
                || gamma_neg < 0.0
                || gamma_pos < 0.0
                || !(0.0..1.0).contains(&clip) =>
            {
                Err("task: asymmetric loss needs γ− ≥ 0, γ+ ≥ 0 and clip in [0, 1)".into())
            }
            _ => Ok(()),
        }
    }
}

/// Votes of `label` for `u` (absent: 0).
pub fn votes(u: &Utterance, label: &str) -> f32 {
    u.values
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(label))
        .map_or(0.0, |(_, v)| *v)
}

/// Applies the task's label map to the utterances' vote columns: `rename` adds the votes of
/// `from` to `to`, `drop` removes columns. Returns one log line per edit with how many
/// utterances it touched.
pub fn apply_label_edits(utts: &mut [Utterance], task: &MultiLabelTask) -> Vec<String> {
    let mut log = Vec::new();
    let take = |u: &mut Utterance, name: &str| -> Option<f32> {
        let key = u
            .values
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()?;
        u.values.remove(&key)
    };
    for (from, to) in &task.rename {
        let mut n = 0;
        for u in utts.iter_mut() {
            if let Some(v) = take(u, from) {
                let key = u
                    .values
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(to))
                    .cloned()
                    .unwrap_or_else(|| to.clone());
                *u.values.entry(key).or_insert(0.0) += v;
                n += 1;
            }
        }
        log.push(format!(
            "label map: votes of '{from}' added to '{to}' ({n} utterances)"
        ));
    }
    for d in &task.drop {
        let n = utts.iter_mut().filter_map(|u| take(u, d)).count();
        log.push(format!("label map: '{d}' dropped ({n} utterances had it)"));
    }
    log
}

/// The task's groups as label indices; a group with a label the run does not have is left out.
pub fn group_indices(labels: &[String], task: &MultiLabelTask) -> Vec<Vec<usize>> {
    task.groups
        .iter()
        .filter_map(|g| {
            g.iter()
                .map(|l| labels.iter().position(|x| x.eq_ignore_ascii_case(l)))
                .collect::<Option<Vec<usize>>>()
        })
        .collect()
}

/// How far the annotators agreed on label `k` of one utterance, and the majority decision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agreement {
    /// Annotators behind the majority decision: a grouped label's top vote count in its group;
    /// an ungrouped label's `max(votes, annotators − votes)`.
    pub level: f32,
    /// The majority decision: the label is its group's unique top choice (grouped), or more
    /// annotators chose it than did not (ungrouped).
    pub positive: bool,
    /// No majority (a tie at the top).
    pub tie: bool,
}

/// The agreement on label `k` given every label's `votes`, the number of `annotators`
/// (0: unknown) and the groups as indices. `None` for an ungrouped label when the number of
/// annotators is unknown.
pub fn agreement(
    votes: &[f32],
    annotators: f32,
    groups: &[Vec<usize>],
    k: usize,
) -> Option<Agreement> {
    if let Some(g) = groups.iter().find(|g| g.contains(&k)) {
        let top = g.iter().map(|&i| votes[i]).fold(f32::MIN, f32::max);
        let at_top = g.iter().filter(|&&i| votes[i] == top).count();
        return Some(Agreement {
            level: top,
            positive: top > 0.0 && at_top == 1 && votes[k] == top,
            tie: top <= 0.0 || at_top > 1,
        });
    }
    if annotators <= 0.0 {
        return None;
    }
    let v = votes[k];
    let no = annotators - v;
    Some(Agreement {
        level: v.max(no),
        positive: v > no,
        tie: v == no,
    })
}

/// Whether every label of one utterance reaches agreement `min` (the paper's test-set rule).
/// Fails when an ungrouped label needs the number of annotators and it is unknown.
pub fn agreed(
    votes: &[f32],
    annotators: f32,
    groups: &[Vec<usize>],
    min: f32,
) -> Result<bool, String> {
    for k in 0..votes.len() {
        match agreement(votes, annotators, groups, k) {
            Some(a) if a.tie || a.level < min => return Ok(false),
            Some(_) => {}
            None => {
                return Err(format!(
                    "task: test_min_agreement needs an '{ANNOTATORS}' column (how many annotators voted) or every label in a group"
                ));
            }
        }
    }
    Ok(true)
}

/// The labels of a run: the task's, else every vote column present in the utterances.
pub fn resolve_labels<'a>(
    utts: impl IntoIterator<Item = &'a Utterance>,
    task: &MultiLabelTask,
) -> Result<Vec<String>, String> {
    if !task.labels.is_empty() {
        let known: std::collections::BTreeSet<String> = utts
            .into_iter()
            .flat_map(|u| u.values.keys().map(|k| k.to_ascii_lowercase()))
            .collect();
        if let Some(missing) = task
            .labels
            .iter()
            .find(|l| !known.contains(&l.to_ascii_lowercase()))
        {
            return Err(format!(
                "task: label '{missing}' is not a column of the manifest (columns: {})",
                known.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        return Ok(task.labels.clone());
    }
    let all: std::collections::BTreeSet<String> = utts
        .into_iter()
        .flat_map(|u| u.values.keys().cloned())
        .filter(|k| !k.eq_ignore_ascii_case(ANNOTATORS))
        .collect();
    if all.is_empty() {
        return Err("a multi-label task needs vote columns (one per label, with 'annotators') or a 'labels' column in the manifest".into());
    }
    Ok(all.into_iter().collect())
}

/// 0/1 targets per utterance (a label is positive at `min_agreement` votes or more) and the
/// raw votes.
pub fn targets(
    utts: &[Utterance],
    labels: &[String],
    min_agreement: f32,
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let votes: Vec<Vec<f32>> = utts
        .iter()
        .map(|u| labels.iter().map(|l| votes(u, l)).collect())
        .collect();
    let targets = votes
        .iter()
        .map(|v| {
            v.iter()
                .map(|&x| if x >= min_agreement { 1.0 } else { 0.0 })
                .collect()
        })
        .collect();
    (targets, votes)
}

/// Per label: negatives / positives among `targets` (1 where a label has no positive).
pub fn positive_weights(targets: &[&[f32]], labels: usize) -> Vec<f32> {
    (0..labels)
        .map(|k| {
            let pos = targets.iter().filter(|t| t[k] >= 0.5).count();
            let neg = targets.len() - pos;
            if pos == 0 {
                1.0
            } else {
                neg as f32 / pos as f32
            }
        })
        .collect()
}

/// Sampling weights of training examples for label-balanced sampling: each example gets the
/// mean of 1 / (positives of the label) over its positive labels; an example without positives
/// gets 1 / (examples without positives). Weights sum to the number of groups drawn from.
pub fn balanced_weights(targets: &[&[f32]]) -> Vec<f64> {
    let labels = targets.first().map_or(0, |t| t.len());
    let pos: Vec<usize> = (0..labels)
        .map(|k| targets.iter().filter(|t| t[k] >= 0.5).count())
        .collect();
    let none = targets
        .iter()
        .filter(|t| t.iter().all(|v| *v < 0.5))
        .count();
    targets
        .iter()
        .map(|t| {
            let inv: Vec<f64> = (0..labels)
                .filter(|&k| t[k] >= 0.5)
                .map(|k| 1.0 / pos[k] as f64)
                .collect();
            if inv.is_empty() {
                1.0 / none.max(1) as f64
            } else {
                inv.iter().sum::<f64>() / inv.len() as f64
            }
        })
        .collect()
}

/// `n` indices drawn with replacement in proportion to `weights`.
pub fn weighted_draw(weights: &[f64], n: usize, rng: &mut crate::rng::SplitMix64) -> Vec<usize> {
    let total: f64 = weights.iter().sum();
    let mut cum = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for w in weights {
        acc += w / total;
        cum.push(acc);
    }
    (0..n)
        .map(|_| {
            let u = rng.uniform();
            cum.partition_point(|c| *c < u).min(weights.len() - 1)
        })
        .collect()
}

/// The loss of `logits` against 0/1 `targets`, averaged over every element.
///
/// # Shapes
/// - `logits`, `targets`: `[batch, labels]`; `pos_weight`: one per label → scalar `[1]`
pub fn loss(
    logits: Tensor<2>,
    targets: Tensor<2>,
    kind: MultiLabelLoss,
    pos_weight: Option<&[f32]>,
) -> Tensor<1> {
    let device = logits.device();
    let [_, l] = logits.dims();
    // log σ(x) and log(1 − σ(x)) = log σ(−x), both stable.
    let log_p = log_sigmoid(logits.clone());
    let log_q = log_sigmoid(logits.clone().neg());
    let neg_t = targets.clone().neg().add_scalar(1.0);
    match kind {
        MultiLabelLoss::Bce => {
            let pos = match pos_weight {
                Some(w) => {
                    let w = Tensor::<1>::from_data(TensorData::new(w.to_vec(), [l]), &device);
                    targets * w.reshape([1, l])
                }
                None => targets,
            };
            (pos * log_p + neg_t * log_q).neg().mean()
        }
        MultiLabelLoss::Focal { gamma } => {
            let p = sigmoid(logits);
            // 1 − p_t = p for negatives, 1 − p for positives.
            let one_minus_pt =
                p.clone() * neg_t.clone() + p.neg().add_scalar(1.0) * targets.clone();
            let bce = (targets * log_p + neg_t * log_q).neg();
            (one_minus_pt.powf_scalar(gamma) * bce).mean()
        }
        MultiLabelLoss::Asymmetric {
            gamma_neg,
            gamma_pos,
            clip,
        } => {
            let p = sigmoid(logits);
            let pos = p.clone().neg().add_scalar(1.0).powf_scalar(gamma_pos)
                * p.clone().clamp_min(1e-8).log();
            let pm = p.sub_scalar(clip).clamp_min(0.0);
            let neg =
                pm.clone().powf_scalar(gamma_neg) * pm.neg().add_scalar(1.0).clamp_min(1e-8).log();
            (targets * pos + neg_t * neg).neg().mean()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t2(v: &[f32], r: usize, c: usize) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), [r, c]), &Device::flex())
    }

    fn sig(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// Each loss against its formula evaluated element by element in f64.
    #[test]
    fn losses_match_their_formulas() {
        let x = [2.0f32, -1.0, 0.3, -3.0];
        let y = [1.0f32, 0.0, 0.0, 1.0];
        let w = [3.0f32, 0.5];
        let elems = |f: &dyn Fn(f64, f64, usize) -> f64| -> f64 {
            x.iter()
                .zip(&y)
                .enumerate()
                .map(|(i, (&x, &y))| f(x as f64, y as f64, i % 2))
                .sum::<f64>()
                / 4.0
        };
        let cases: [(MultiLabelLoss, Option<&[f32]>, f64); 4] = [
            (
                MultiLabelLoss::Bce,
                None,
                elems(&|x, y, _| -(y * sig(x).ln() + (1.0 - y) * (1.0 - sig(x)).ln())),
            ),
            (
                MultiLabelLoss::Bce,
                Some(&w),
                elems(&|x, y, k| {
                    -(w[k] as f64 * y * sig(x).ln() + (1.0 - y) * (1.0 - sig(x)).ln())
                }),
            ),
            (
                MultiLabelLoss::Focal { gamma: 2.0 },
                None,
                elems(&|x, y, _| {
                    let p = sig(x);
                    let pt = if y > 0.5 { p } else { 1.0 - p };
                    -(1.0 - pt).powi(2) * pt.ln()
                }),
            ),
            (
                MultiLabelLoss::Asymmetric {
                    gamma_neg: 4.0,
                    gamma_pos: 1.0,
                    clip: 0.05,
                },
                None,
                elems(&|x, y, _| {
                    let p = sig(x);
                    if y > 0.5 {
                        -(1.0 - p) * p.ln()
                    } else {
                        let pm = (p - 0.05).max(0.0);
                        -pm.powi(4) * (1.0 - pm).ln()
                    }
                }),
            ),
        ];
        for (kind, pw, want) in cases {
            let got = loss(t2(&x, 2, 2), t2(&y, 2, 2), kind, pw).into_scalar::<f32>() as f64;
            assert!((got - want).abs() < 1e-5, "{kind:?}: {got} vs {want}");
        }
    }

    /// A label on 1 of 10 examples is drawn about as often as one on 9 of 10.
    #[test]
    fn balanced_draws_even_out_label_frequencies() {
        let mut t: Vec<Vec<f32>> = (0..9).map(|_| vec![1.0, 0.0]).collect();
        t.push(vec![0.0, 1.0]);
        let refs: Vec<&[f32]> = t.iter().map(Vec::as_slice).collect();
        let w = balanced_weights(&refs);
        assert!((w[0] - 1.0 / 9.0).abs() < 1e-12 && (w[9] - 1.0).abs() < 1e-12);
        let mut rng = crate::rng::SplitMix64::new(1);
        let draws = weighted_draw(&w, 20_000, &mut rng);
        let rare = draws.iter().filter(|&&i| i == 9).count() as f64 / 20_000.0;
        assert!((rare - 0.5).abs() < 0.02, "{rare}");
    }

    #[test]
    fn targets_at_the_agreement_threshold() {
        let mut u =
            crate::corpus::utterance("csv", "a.wav".into(), "", crate::corpus::Emotion::Other);
        u.values.insert("Bright".into(), 5.0);
        u.values.insert("Dark".into(), 3.0);
        u.values.insert(ANNOTATORS.into(), 8.0);
        let labels = resolve_labels([&u], &MultiLabelTask::default()).expect("labels");
        assert_eq!(labels, ["Bright", "Dark"]);
        let (t, v) = targets(&[u], &labels, 5.0);
        assert_eq!(t, vec![vec![1.0, 0.0]]);
        assert_eq!(v, vec![vec![5.0, 3.0]]);
        assert_eq!(
            positive_weights(&[&[1.0, 0.0], &[0.0, 0.0], &[1.0, 1.0]], 2),
            [0.5, 2.0]
        );
    }

    /// Hand cases: a Female/Male group, an ungrouped label with 8 annotators, ties.
    #[test]
    fn agreement_follows_groups_and_annotators() {
        let groups = vec![vec![0, 1]];
        // Female 5, Male 3, Rough 2 of 8.
        let v = [5.0, 3.0, 2.0];
        let a = |k| agreement(&v, 8.0, &groups, k).expect("known");
        assert_eq!((a(0).level, a(0).positive, a(0).tie), (5.0, true, false));
        assert_eq!((a(1).level, a(1).positive, a(1).tie), (5.0, false, false));
        assert_eq!((a(2).level, a(2).positive, a(2).tie), (6.0, false, false));
        // A 4–4 tie in the group; Rough 4 of 8 ties too.
        let t = [4.0, 4.0, 4.0];
        assert!(agreement(&t, 8.0, &groups, 0).expect("known").tie);
        assert!(agreement(&t, 8.0, &groups, 2).expect("known").tie);
        // Unknown annotators: grouped labels still work, ungrouped ones do not.
        assert!(agreement(&v, 0.0, &groups, 0).is_some());
        assert!(agreement(&v, 0.0, &groups, 2).is_none());
        assert_eq!(agreed(&v, 8.0, &groups, 5.0), Ok(true));
        assert_eq!(agreed(&[5.0, 3.0, 4.0], 8.0, &groups, 5.0), Ok(false));
        assert!(agreed(&v, 0.0, &groups, 5.0).is_err());
    }

    #[test]
    fn label_edits_merge_and_drop_vote_columns() {
        let mut u =
            crate::corpus::utterance("csv", "a.wav".into(), "", crate::corpus::Emotion::Other);
        u.values.insert("Adult".into(), 3.0);
        u.values.insert("Senior".into(), 2.0);
        u.values.insert("Ambiguous".into(), 1.0);
        u.values.insert(ANNOTATORS.into(), 8.0);
        let mut only_senior = u.clone();
        only_senior.values.remove("Adult");
        let task = MultiLabelTask {
            rename: vec![("senior".into(), "Adult".into())],
            drop: vec!["Ambiguous".into()],
            ..Default::default()
        };
        let mut utts = [u, only_senior];
        let log = apply_label_edits(&mut utts, &task);
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!(votes(&utts[0], "Adult"), 5.0);
        assert_eq!(votes(&utts[1], "Adult"), 2.0);
        assert_eq!(
            resolve_labels(&utts, &MultiLabelTask::default()),
            Ok(vec!["Adult".to_string()])
        );
        let bad = MultiLabelTask {
            groups: vec![vec!["Female".into()]],
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("at least two"));
    }
}
