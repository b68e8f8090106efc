//! Character CTC for the ASR auxiliary task of multi-task fine-tuning (the metadata paper): a
//! character vocabulary built from the training transcripts, the CTC loss (Graves et al.; the
//! forward algorithm in log space, differentiable through burn's autodiff, checked against
//! PyTorch's `ctc_loss` in tests/ctc.rs), greedy decoding, and CER / WER
//! (docs/design.md, "Multi-task fine-tuning").

use burn::prelude::*;

/// Index of the CTC blank.
pub const BLANK: usize = 0;

/// Stands for −∞ in the forward recursion: finite, so no `log(0)` or `∞ − ∞` reaches the
/// gradients; a loss above `IMPOSSIBLE` means no alignment exists.
const NEG: f32 = -1e30;

/// Losses above this have no valid alignment (the input is too short for the target).
pub const IMPOSSIBLE: f32 = 1e29;

/// Characters of a CTC head: index 0 is the blank, then every character of the training
/// transcripts (after [`CharVocab::normalise`]) in code-point order; the space separates words.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CharVocab {
    /// Characters for indices 1…; index 0 is the blank.
    pub chars: Vec<char>,
}

impl CharVocab {
    /// Lower case, every run of whitespace one space, trimmed.
    pub fn normalise(text: &str) -> String {
        text.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The characters of `texts`.
    pub fn build<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let set: std::collections::BTreeSet<char> = texts
            .into_iter()
            .flat_map(|t| Self::normalise(t).chars().collect::<Vec<_>>())
            .collect();
        Self {
            chars: set.into_iter().collect(),
        }
    }

    /// Output classes of the head (characters + blank).
    pub fn classes(&self) -> usize {
        self.chars.len() + 1
    }

    /// Indices of the normalised `text`; characters outside the vocabulary are left out.
    pub fn encode(&self, text: &str) -> Vec<usize> {
        Self::normalise(text)
            .chars()
            .filter_map(|c| self.chars.binary_search(&c).ok().map(|i| i + 1))
            .collect()
    }

    /// The text of label indices (blanks skipped).
    pub fn decode(&self, ids: &[usize]) -> String {
        ids.iter()
            .filter(|&&i| i != BLANK)
            .filter_map(|&i| self.chars.get(i - 1))
            .collect()
    }
}

/// Per-sample CTC negative log-likelihood.
///
/// `log_probs` are log-softmaxed over classes; frames at or past a sample's `input_lengths`
/// entry are ignored; `targets` hold class indices (no blanks). A sample without a valid
/// alignment gets a loss above [`IMPOSSIBLE`].
///
/// # Shapes
/// - `log_probs`: `[batch, frames, classes]` → `[batch]`
pub fn ctc_loss(
    log_probs: Tensor<3>,
    targets: &[Vec<usize>],
    input_lengths: &[usize],
) -> Tensor<1> {
    let device = log_probs.device();
    let [b, t, _] = log_probs.dims();
    // Extended labels: blank, l1, blank, l2, …, blank; padded to the longest with blanks
    // that are masked out.
    let s_max = targets.iter().map(|l| 2 * l.len() + 1).max().unwrap_or(1);
    let mut ext = vec![BLANK as i64; b * s_max];
    let mut valid = vec![NEG; b * s_max];
    let mut skip = vec![NEG; b * s_max];
    for (i, l) in targets.iter().enumerate() {
        for s in 0..2 * l.len() + 1 {
            let label = if s % 2 == 1 { l[s / 2] } else { BLANK };
            ext[i * s_max + s] = label as i64;
            valid[i * s_max + s] = 0.0;
            // A label may follow the label two back when they differ (the blank between
            // repeated characters cannot be skipped).
            if s >= 2 && label != BLANK && l[s / 2 - 1] != label {
                skip[i * s_max + s] = 0.0;
            }
        }
    }
    let valid = Tensor::<2>::from_data(TensorData::new(valid, [b, s_max]), &device);
    let skip = Tensor::<2>::from_data(TensorData::new(skip, [b, s_max]), &device);
    let idx = Tensor::<2, Int>::from_data(TensorData::new(ext, [b, s_max]), &device)
        .reshape([b, 1, s_max])
        .repeat_dim(1, t);
    // Log-probability of each extended label at each frame.
    let emit = log_probs.gather(2, idx); // [b, t, s]
    let frame = |k: usize| emit.clone().narrow(1, k, 1).reshape([b, s_max]);
    // α at frame 0: only the first blank and the first label.
    let mut start = vec![NEG; b * s_max];
    for (i, l) in targets.iter().enumerate() {
        start[i * s_max] = 0.0;
        if !l.is_empty() {
            start[i * s_max + 1] = 0.0;
        }
    }
    let start = Tensor::<2>::from_data(TensorData::new(start, [b, s_max]), &device);
    let mut alpha = (frame(0) + start).clamp_min(NEG);
    let shift = |a: Tensor<2>, by: usize| -> Tensor<2> {
        if by >= s_max {
            return Tensor::full([b, s_max], NEG, &device);
        }
        Tensor::cat(
            vec![
                Tensor::full([b, by], NEG, &device),
                a.narrow(1, 0, s_max - by),
            ],
            1,
        )
    };
    for k in 1..t {
        let a1 = alpha.clone();
        let a2 = shift(alpha.clone(), 1);
        let a3 = (shift(alpha.clone(), 2) + skip.clone()).clamp_min(NEG);
        let m = a1.clone().max_pair(a2.clone()).max_pair(a3.clone());
        let sum = (a1 - m.clone()).exp() + (a2 - m.clone()).exp() + (a3 - m.clone()).exp();
        let next = (m + sum.log() + frame(k) + valid.clone()).clamp_min(NEG);
        // Samples whose input has ended keep their α.
        let done: Vec<bool> = input_lengths.iter().map(|&n| k >= n).collect();
        let done = Tensor::<1, Bool>::from_data(TensorData::new(done, [b]), &device)
            .reshape([b, 1])
            .repeat_dim(1, s_max);
        alpha = next.mask_where(done, alpha);
    }
    // End in the last label or the last blank.
    let mut last = Vec::with_capacity(b * 2);
    for l in targets {
        let n = 2 * l.len() + 1;
        last.push((n - 1) as i64);
        last.push(n.saturating_sub(2) as i64);
    }
    let last = Tensor::<2, Int>::from_data(TensorData::new(last, [b, 2]), &device);
    let ends = alpha.gather(1, last); // [b, 2]
    // An empty target ends only in its one blank.
    let single: Vec<f32> = targets
        .iter()
        .flat_map(|l| [0.0, if l.is_empty() { NEG } else { 0.0 }])
        .collect();
    let ends =
        (ends + Tensor::<2>::from_data(TensorData::new(single, [b, 2]), &device)).clamp_min(NEG);
    let m = ends.clone().max_dim(1); // [b, 1]
    let lse = m.clone() + (ends - m).exp().sum_dim(1).log();
    lse.reshape([b]).neg()
}

/// PyTorch's `reduction="mean"`: each sample's loss over its target length (at least 1),
/// averaged over the batch; `zero_infinity` turns impossible samples into 0 (and no gradient).
pub fn ctc_mean(per_sample: Tensor<1>, targets: &[Vec<usize>], zero_infinity: bool) -> Tensor<1> {
    let device = per_sample.device();
    let b = targets.len();
    let lens: Vec<f32> = targets.iter().map(|l| l.len().max(1) as f32).collect();
    let lens = Tensor::<1>::from_data(TensorData::new(lens, [b]), &device);
    let mut per = per_sample;
    if zero_infinity {
        let bad = per.clone().greater_elem(IMPOSSIBLE);
        per = per.mask_fill(bad, 0.0);
    }
    (per / lens).mean()
}

/// Greedy (best-path) decoding of one utterance: the most probable class per frame over its
/// first `len` frames, repeats merged, blanks removed.
///
/// `frames` holds `frames × classes` scores, frame-major.
pub fn greedy_decode(frames: &[f32], classes: usize, len: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut prev = None;
    for row in frames.chunks(classes).take(len) {
        let k = crate::eval::argmax(row);
        if Some(k) != prev && k != BLANK {
            out.push(k);
        }
        prev = Some(k);
    }
    out
}

/// Levenshtein distance (insertions, deletions and substitutions cost 1).
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (up + 1).min(row[j] + 1).min(diag + usize::from(x != y));
            diag = up;
        }
    }
    row[b.len()]
}

/// Character and word error rates of hypotheses against references (both normalised): total
/// edits over total reference characters / words (NaN without reference text).
pub fn error_rates(references: &[String], hypotheses: &[String]) -> (f64, f64) {
    let (mut ce, mut cn, mut we, mut wn) = (0usize, 0usize, 0usize, 0usize);
    for (r, h) in references.iter().zip(hypotheses) {
        let (r, h) = (CharVocab::normalise(r), CharVocab::normalise(h));
        let (rc, hc): (Vec<char>, Vec<char>) = (r.chars().collect(), h.chars().collect());
        ce += edit_distance(&rc, &hc);
        cn += rc.len();
        let (rw, hw): (Vec<&str>, Vec<&str>) = (
            r.split(' ').filter(|w| !w.is_empty()).collect(),
            h.split(' ').filter(|w| !w.is_empty()).collect(),
        );
        we += edit_distance(&rw, &hw);
        wn += rw.len();
    }
    let rate = |e: usize, n: usize| {
        if n == 0 {
            f64::NAN
        } else {
            e as f64 / n as f64
        }
    };
    (rate(ce, cn), rate(we, wn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_round_trips_normalised_text() {
        let v = CharVocab::build(["Hello  World", "it's ok"]);
        assert_eq!(
            v.chars,
            vec![
                ' ', '\'', 'd', 'e', 'h', 'i', 'k', 'l', 'o', 'r', 's', 't', 'w'
            ]
        );
        assert_eq!(v.classes(), 14);
        let ids = v.encode("  HELLO world! ");
        assert_eq!(v.decode(&ids), "hello world");
    }

    /// Hand cases: repeats merge unless a blank separates them; blanks vanish; frames past the
    /// length are ignored.
    #[test]
    fn greedy_decoding_by_hand() {
        // Classes: blank, a, b. Best path: a a _ a b b _ | (past len) b
        let best = [1, 1, 0, 1, 2, 2, 0, 2];
        let frames: Vec<f32> = best
            .iter()
            .flat_map(|&k| (0..3).map(move |c| if c == k { 0.9 } else { 0.05 }))
            .collect();
        assert_eq!(greedy_decode(&frames, 3, 7), vec![1, 1, 2]);
        assert_eq!(greedy_decode(&frames, 3, 8), vec![1, 1, 2, 2]);
        assert_eq!(greedy_decode(&frames, 3, 0), Vec::<usize>::new());
    }

    #[test]
    fn error_rates_by_hand() {
        assert_eq!(
            edit_distance(
                &['k', 'i', 't', 't', 'e', 'n'],
                &['s', 'i', 't', 't', 'i', 'n', 'g']
            ),
            3
        );
        let (cer, wer) = error_rates(
            &["the cat sat".into(), "hi".into()],
            &["the bat sat down".into(), "hi".into()],
        );
        // Characters: 1 substitution + 5 inserted (" down") over 11 + 2 reference characters.
        assert!((cer - 6.0 / 13.0).abs() < 1e-12, "{cer}");
        // Words: 1 substitution + 1 insertion over 3 + 1 reference words.
        assert!((wer - 2.0 / 4.0).abs() < 1e-12, "{wer}");
        assert!(error_rates(&[String::new()], &["x".into()]).0.is_nan());
    }
}
