//! The auxiliary tasks of a multi-task fine-tuning run (the metadata paper, "Metadata-Enhanced
//! Speech Emotion Recognition"): each utterance's metadata per task, the classes each fold's
//! training part gives them, the weighted loss of a batch (stage 1: the auxiliary losses alone;
//! stage 2 or one stage: SER plus them), and per-task scores on a set (accuracy; CER and WER for
//! the character CTC head) — docs/design.md, "Multi-task fine-tuning".

use std::collections::BTreeSet;

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};

use super::ctc::{CharVocab, ctc_loss, ctc_mean, edit_distance, greedy_decode};
use super::data::Example;
use super::fit::cross_entropy;
use crate::corpus::{SplitPlan, Utterance};
use crate::model::multitask::{FoldTasks, MultiTaskOutput, MultiTaskSpec};

/// Each utterance's value of each task (a class name, or the normalised transcript for `asr`),
/// and the classes of each fold.
#[derive(Clone, Debug, Default)]
pub struct TaskData {
    /// `[utterance][task]`.
    pub values: Vec<Vec<Option<String>>>,
    /// Per fold, the classes of each task from its training part.
    pub folds: Vec<FoldTasks>,
    /// What the owner should read (tasks partly missing, what speaker accuracy means here).
    pub notes: Vec<String>,
}

/// The value of `task` for `u`: the normalised transcript for `asr` (none when empty), else its
/// class ([`crate::corpus::tasks::class_of`]).
pub fn value_of(u: &Utterance, task: &str) -> Option<String> {
    if task == "asr" {
        return u
            .transcript
            .as_deref()
            .map(CharVocab::normalise)
            .filter(|t| !t.is_empty());
    }
    crate::corpus::tasks::class_of(u, task)
}

/// Reads every task's values and gives each fold its classes (training part only: a speaker,
/// style or character first seen in validation or test is not a class of that fold).
pub fn resolve(
    spec: &MultiTaskSpec,
    utts: &[Utterance],
    plan: &SplitPlan,
) -> Result<TaskData, String> {
    let mut values = vec![Vec::with_capacity(spec.tasks.len()); utts.len()];
    let mut notes = Vec::new();
    for t in &spec.tasks {
        let mut n = 0;
        for (row, u) in values.iter_mut().zip(utts) {
            let v = value_of(u, &t.task);
            n += usize::from(v.is_some());
            row.push(v);
        }
        if n == 0 {
            return Err(format!(
                "multi-task: no utterance of this corpus carries the task {:?}; `ser-workbench inspect` lists the tasks a corpus supports",
                t.task
            ));
        }
        if n < utts.len() {
            notes.push(format!(
                "multi-task: {} of {} utterances carry {:?}; the others do not count in its loss or score",
                n,
                utts.len(),
                t.task
            ));
        }
    }
    let mut folds = Vec::with_capacity(plan.folds.len());
    for fold in &plan.folds {
        let mut classes = Vec::with_capacity(spec.tasks.len());
        for (k, t) in spec.tasks.iter().enumerate() {
            let train = fold.train.iter().filter_map(|&i| values[i][k].as_deref());
            if t.task == "asr" {
                let vocab = CharVocab::build(train);
                classes.push(vocab.chars.iter().map(|c| c.to_string()).collect());
                continue;
            }
            let set: BTreeSet<&str> = train.collect();
            if set.len() < 2 {
                return Err(format!(
                    "multi-task: the task {:?} has {} class(es) in the training part of {}; it needs two",
                    t.task,
                    set.len(),
                    fold.name
                ));
            }
            classes.push(set.into_iter().map(String::from).collect());
        }
        folds.push(FoldTasks { classes });
    }
    if spec.tasks.iter().any(|t| t.task == "speaker") {
        notes.push(if plan.speaker_independent {
            "multi-task: speaker classes are the training speakers of each fold; the folds are speaker-independent, so validation and test speakers are unseen and no speaker accuracy exists there — the speaker head is an auxiliary task, and its training accuracy is shown".into()
        } else {
            "multi-task: speaker classes are the training speakers of each fold; speaker accuracy counts the validation and test utterances of those speakers".into()
        });
    }
    Ok(TaskData {
        values,
        folds,
        notes,
    })
}

/// Targets of one utterance for a fold: the class index of each classification task (in task
/// order without `asr`; `None` where the utterance lacks it or the fold has no such class), and
/// the character ids of its transcript for `asr`.
pub fn targets(
    spec: &MultiTaskSpec,
    fold: &FoldTasks,
    values: &[Option<String>],
) -> (Vec<Option<usize>>, Option<Vec<usize>>) {
    let mut aux = Vec::new();
    let mut chars = None;
    for (k, t) in spec.tasks.iter().enumerate() {
        let v = values.get(k).and_then(Option::as_deref);
        let classes = fold.classes.get(k).map_or(&[][..], Vec::as_slice);
        if t.task == "asr" {
            let vocab = CharVocab {
                chars: classes.iter().filter_map(|c| c.chars().next()).collect(),
            };
            chars = v.map(|text| vocab.encode(text));
        } else {
            aux.push(v.and_then(|v| classes.iter().position(|c| c == v)));
        }
    }
    (aux, chars)
}

/// One batch's losses: the weighted total that is back-propagated, and each part's value.
pub struct BatchLoss {
    /// The weighted sum.
    pub total: Tensor<1>,
    /// Per task (spec order): the unweighted loss, correct predictions and utterances counted
    /// (classification tasks; for `asr` correct stays 0).
    pub parts: Vec<(f64, usize, usize)>,
}

/// The loss of a batch: `ser_weight · ser + Σ weight_k · loss_k` (stage 1 leaves SER out).
/// Utterances without a task's target do not count in that task; the CTC loss is PyTorch's
/// mean with `zero_infinity` over the utterances with a transcript.
pub fn batch_loss(
    spec: &MultiTaskSpec,
    out: &MultiTaskOutput,
    ser_loss: Tensor<1>,
    refs: &[&Example],
    frames: &[usize],
    stage1: bool,
) -> BatchLoss {
    let device = ser_loss.device();
    let mut total = if stage1 {
        Tensor::<1>::zeros([1], &device)
    } else {
        ser_loss.mul_scalar(spec.ser_weight)
    };
    let mut parts = Vec::with_capacity(spec.tasks.len());
    let mut aux_index = 0;
    for t in &spec.tasks {
        if t.task == "asr" {
            let Some(logits) = &out.ctc else {
                parts.push((f64::NAN, 0, 0));
                continue;
            };
            let rows: Vec<usize> = (0..refs.len())
                .filter(|&i| refs[i].chars.is_some())
                .collect();
            if rows.is_empty() {
                parts.push((f64::NAN, 0, 0));
                continue;
            }
            let idx = index(&rows, &device);
            let targets: Vec<Vec<usize>> = rows
                .iter()
                .map(|&i| refs[i].chars.clone().unwrap_or_default())
                .collect();
            let lengths: Vec<usize> = rows.iter().map(|&i| frames[i]).collect();
            let lp = log_softmax(logits.clone().select(0, idx), 2);
            let loss = ctc_mean(ctc_loss(lp, &targets, &lengths), &targets, true);
            parts.push((loss.clone().into_scalar::<f32>() as f64, 0, rows.len()));
            total = total + loss.mul_scalar(t.weight);
            continue;
        }
        let k = aux_index;
        aux_index += 1;
        let rows: Vec<usize> = (0..refs.len())
            .filter(|&i| refs[i].aux.get(k).copied().flatten().is_some())
            .collect();
        if rows.is_empty() {
            parts.push((f64::NAN, 0, 0));
            continue;
        }
        let labels: Vec<i64> = rows
            .iter()
            .map(|&i| refs[i].aux[k].unwrap_or(0) as i64)
            .collect();
        let logits = out.aux[k].clone().select(0, index(&rows, &device));
        let predicted = crate::tensor::read_i64(logits.clone().argmax(1));
        let correct = predicted
            .iter()
            .zip(&labels)
            .filter(|(p, l)| **p == **l)
            .count();
        let n = labels.len();
        let loss = cross_entropy(
            logits,
            Tensor::from_data(TensorData::new(labels, [n]), &device),
            None,
        );
        parts.push((loss.clone().into_scalar::<f32>() as f64, correct, n));
        total = total + loss.mul_scalar(t.weight);
    }
    BatchLoss { total, parts }
}

fn index(rows: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = rows.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(v, [rows.len()]), device)
}

/// A task's score on a set of utterances (sums, so folds pool by adding).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskScore {
    /// Task name.
    pub task: String,
    /// Summed loss over the counted utterances.
    pub loss_sum: f64,
    /// Utterances with a target the fold's classes know.
    pub counted: usize,
    /// Correct predictions (classification tasks).
    pub correct: usize,
    /// Character edits of the greedy transcripts (`asr`).
    pub char_edits: usize,
    /// Reference characters (`asr`).
    pub chars: usize,
    /// Word edits (`asr`).
    pub word_edits: usize,
    /// Reference words (`asr`).
    pub words: usize,
}

impl TaskScore {
    /// Whether the score is an error rate (the CTC task).
    pub fn is_asr(&self) -> bool {
        self.task == "asr"
    }

    /// The metric's name.
    pub fn metric(&self) -> &'static str {
        if self.is_asr() { "CER" } else { "accuracy" }
    }

    /// Accuracy, or the CER for `asr`; `NaN` when nothing was counted.
    pub fn value(&self) -> f64 {
        if self.counted == 0 {
            return f64::NAN;
        }
        if self.is_asr() {
            self.char_edits as f64 / self.chars.max(1) as f64
        } else {
            self.correct as f64 / self.counted as f64
        }
    }

    /// WER (`asr`; `NaN` otherwise or when nothing was counted).
    pub fn wer(&self) -> f64 {
        if self.is_asr() && self.counted > 0 {
            self.word_edits as f64 / self.words.max(1) as f64
        } else {
            f64::NAN
        }
    }

    /// Mean loss (`NaN` when nothing was counted).
    pub fn loss(&self) -> f64 {
        if self.counted == 0 {
            f64::NAN
        } else {
            self.loss_sum / self.counted as f64
        }
    }

    /// Adds another set's sums (pooling folds).
    pub fn add(&mut self, o: &TaskScore) {
        self.loss_sum += o.loss_sum;
        self.counted += o.counted;
        self.correct += o.correct;
        self.char_edits += o.char_edits;
        self.chars += o.chars;
        self.word_edits += o.word_edits;
        self.words += o.words;
    }
}

/// Scores every auxiliary task of one utterance's outputs and adds them to `scores` (one per
/// task, spec order). `fold` gives the CTC characters for decoding.
pub fn score_utterance(
    spec: &MultiTaskSpec,
    fold: &FoldTasks,
    out: &MultiTaskOutput,
    e: &Example,
    scores: &mut [TaskScore],
) {
    let mut aux_index = 0;
    for (k, t) in spec.tasks.iter().enumerate() {
        let s = &mut scores[k];
        if t.task == "asr" {
            let (Some(logits), Some(target)) = (&out.ctc, &e.chars) else {
                continue;
            };
            let [_, frames, classes] = logits.dims();
            let lp = log_softmax(logits.clone(), 2);
            let per = ctc_loss(lp.clone(), std::slice::from_ref(target), &[frames]);
            let loss = ctc_mean(per, std::slice::from_ref(target), true).into_scalar::<f32>();
            let hyp_ids = greedy_decode(&crate::tensor::read_f32(lp), classes, frames);
            let chars: Vec<char> = fold.classes[k]
                .iter()
                .filter_map(|c| c.chars().next())
                .collect();
            let text = |ids: &[usize]| -> String {
                ids.iter()
                    .filter_map(|&i| i.checked_sub(1).and_then(|j| chars.get(j)))
                    .collect()
            };
            let (reference, hypothesis) = (text(target), text(&hyp_ids));
            let r: Vec<char> = reference.chars().collect();
            let h: Vec<char> = hypothesis.chars().collect();
            let rw: Vec<&str> = reference.split_whitespace().collect();
            let hw: Vec<&str> = hypothesis.split_whitespace().collect();
            s.loss_sum += loss as f64;
            s.counted += 1;
            s.char_edits += edit_distance(&r, &h);
            s.chars += r.len();
            s.word_edits += edit_distance(&rw, &hw);
            s.words += rw.len();
            continue;
        }
        let j = aux_index;
        aux_index += 1;
        let Some(label) = e.aux.get(j).copied().flatten() else {
            continue;
        };
        let logits = out.aux[j].clone();
        let device = logits.device();
        let p = crate::tensor::read_i64(logits.clone().argmax(1));
        let loss = cross_entropy(
            logits,
            Tensor::from_data(TensorData::new(vec![label as i64], [1]), &device),
            None,
        )
        .into_scalar::<f32>();
        s.loss_sum += loss as f64;
        s.counted += 1;
        s.correct += usize::from(p.first().is_some_and(|&p| p as usize == label));
    }
}

/// Empty scores, one per task of `spec`.
pub fn empty_scores(spec: &MultiTaskSpec) -> Vec<TaskScore> {
    spec.tasks
        .iter()
        .map(|t| TaskScore {
            task: t.task.clone(),
            ..TaskScore::default()
        })
        .collect()
}

/// The run's multi-task section of `report.json`: each task's test score pooled over folds and
/// per fold, with what the scores mean.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TasksSummary {
    /// The method as run (tasks and weights, integration, co-attention, stages).
    pub method: String,
    /// Pooled test score per task (sums over folds).
    pub pooled: Vec<TaskScore>,
    /// Per fold (fold order), the test score per task.
    pub folds: Vec<Vec<TaskScore>>,
    /// Notes (e.g. what speaker accuracy means in speaker-independent folds).
    pub notes: Vec<String>,
}

impl TasksSummary {
    /// Pools per-fold scores.
    pub fn of(method: String, folds: Vec<Vec<TaskScore>>, notes: Vec<String>) -> Self {
        let mut pooled: Vec<TaskScore> = folds.first().cloned().unwrap_or_default();
        for p in &mut pooled {
            let task = p.task.clone();
            *p = TaskScore {
                task,
                ..TaskScore::default()
            };
        }
        for f in &folds {
            for (p, s) in pooled.iter_mut().zip(f) {
                p.add(s);
            }
        }
        Self {
            method,
            pooled,
            folds,
            notes,
        }
    }

    /// The Markdown section of `report.md`.
    pub fn markdown(&self) -> String {
        let mut s = String::from("## Auxiliary tasks (test part)\n\n");
        s.push_str(&format!("Method: {}\n\n", self.method));
        let fmt = |v: f64| {
            if v.is_finite() {
                format!("{v:.4}")
            } else {
                "n/a".into()
            }
        };
        s.push_str("| task | metric | pooled | WER | utterances scored |");
        for k in 1..=self.folds.len() {
            s.push_str(&format!(" fold {k} |"));
        }
        s.push_str("\n|---|---|---:|---:|---:|");
        s.push_str(&"---:|".repeat(self.folds.len()));
        s.push('\n');
        for (i, p) in self.pooled.iter().enumerate() {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |",
                p.task,
                p.metric(),
                fmt(p.value()),
                fmt(p.wer()),
                p.counted
            ));
            for f in &self.folds {
                s.push_str(&format!(
                    " {} |",
                    fmt(f.get(i).map_or(f64::NAN, TaskScore::value))
                ));
            }
            s.push('\n');
        }
        for n in &self.notes {
            s.push_str(&format!("\n- {n}"));
        }
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::multitask::AuxTask;

    fn spec() -> MultiTaskSpec {
        MultiTaskSpec {
            tasks: vec![
                AuxTask {
                    task: "gender".into(),
                    weight: 0.5,
                },
                AuxTask {
                    task: "asr".into(),
                    weight: 1.0,
                },
            ],
            ..MultiTaskSpec::default()
        }
    }

    #[test]
    fn targets_follow_the_folds_classes() {
        let fold = FoldTasks {
            classes: vec![
                vec!["female".into(), "male".into()],
                vec![" ".into(), "a".into(), "b".into()],
            ],
        };
        let (aux, chars) = targets(&spec(), &fold, &[Some("male".into()), Some("ab ba".into())]);
        assert_eq!(aux, vec![Some(1)]);
        // Blank is 0: ' ' = 1, a = 2, b = 3.
        assert_eq!(chars, Some(vec![2, 3, 1, 3, 2]));
        let (aux, chars) = targets(&spec(), &fold, &[Some("other".into()), None]);
        assert_eq!((aux, chars), (vec![None], None));
    }

    #[test]
    fn scores_pool_by_sums() {
        let a = TaskScore {
            task: "gender".into(),
            counted: 4,
            correct: 3,
            loss_sum: 2.0,
            ..TaskScore::default()
        };
        let b = TaskScore {
            task: "gender".into(),
            counted: 6,
            correct: 2,
            loss_sum: 4.0,
            ..TaskScore::default()
        };
        let s = TasksSummary::of("m".into(), vec![vec![a], vec![b]], vec![]);
        assert_eq!(s.pooled[0].value(), 0.5);
        assert!((s.pooled[0].loss() - 0.6).abs() < 1e-12);
        let asr = TaskScore {
            task: "asr".into(),
            counted: 2,
            char_edits: 3,
            chars: 12,
            word_edits: 1,
            words: 4,
            ..TaskScore::default()
        };
        assert_eq!((asr.value(), asr.wer()), (0.25, 0.25));
        assert!(s.markdown().contains("| gender | accuracy | 0.5000 |"));
    }
}
