//! Character CTC for the ASR auxiliary task of multi-task fine-tuning (the metadata paper): a
//! character vocabulary built from the training transcripts, the CTC loss (Graves et al.; the
//! forward–backward algorithm in log space on the CPU, its gradient handed to burn's autodiff,
//! checked against PyTorch's `ctc_loss` in tests/ctc.rs), greedy decoding, and CER / WER
//! (docs/design.md, "Multi-task fine-tuning").

use burn::prelude::*;

/// Index of the CTC blank.
pub const BLANK: usize = 0;

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
/// alignment gets a loss above [`IMPOSSIBLE`] (and no gradient).
///
/// The forward–backward recursion runs on the CPU in `f64` (one pass over `frames × (2 ·
/// target + 1)` per sample, no tensor op per frame); it gives each loss and its gradient with
/// respect to `log_probs`, `−γ_t(k)` (the posterior occupation of class `k` at frame `t`).
/// Autodiff receives that gradient through the surrogate `loss + Σ (lp − detach(lp)) · ∇`,
/// whose value is the loss exactly and whose gradient is `∇`.
///
/// # Shapes
/// - `log_probs`: `[batch, frames, classes]` → `[batch]`
pub fn ctc_loss(
    log_probs: Tensor<3>,
    targets: &[Vec<usize>],
    input_lengths: &[usize],
) -> Tensor<1> {
    let device = log_probs.device();
    let [b, t, c] = log_probs.dims();
    let lp = crate::tensor::read_f32(log_probs.clone().detach());
    let mut losses = vec![0.0f32; b];
    let mut grad = vec![0.0f32; b * t * c];
    for i in 0..b {
        let n = input_lengths.get(i).copied().unwrap_or(t).min(t);
        let empty = Vec::new();
        let target = targets.get(i).unwrap_or(&empty);
        losses[i] = forward_backward(
            &lp[i * t * c..(i + 1) * t * c],
            c,
            n,
            target,
            &mut grad[i * t * c..(i + 1) * t * c],
        );
    }
    let loss = Tensor::<1>::from_data(TensorData::new(losses, [b]), &device);
    let g = Tensor::<3>::from_data(TensorData::new(grad, [b, t, c]), &device);
    let surrogate = ((log_probs.clone() - log_probs.detach()) * g)
        .sum_dim(2)
        .sum_dim(1)
        .reshape([b]);
    loss + surrogate
}

/// `log(exp(a) + exp(b))` with −∞ handled.
fn log_add(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// One sample's loss over its first `n` frames of `lp` (`frames × classes`, frame-major), and
/// the loss's gradient with respect to `lp` written into `grad` (zero where there is none).
fn forward_backward(lp: &[f32], c: usize, n: usize, target: &[usize], grad: &mut [f32]) -> f32 {
    const NO_ALIGNMENT: f32 = 1e30;
    let s_len = 2 * target.len() + 1;
    let ext = |s: usize| if s % 2 == 1 { target[s / 2] } else { BLANK };
    // A label may follow the label two back when they differ (the blank between repeated
    // characters cannot be skipped).
    let skip = |s: usize| s >= 2 && ext(s) != BLANK && ext(s) != ext(s - 2);
    if n == 0 {
        return NO_ALIGNMENT;
    }
    let at = |f: usize, k: usize| lp[f * c + k] as f64;
    let neg = f64::NEG_INFINITY;
    let mut alpha = vec![neg; n * s_len];
    alpha[0] = at(0, BLANK);
    if s_len > 1 {
        alpha[1] = at(0, ext(1));
    }
    for f in 1..n {
        for s in 0..s_len {
            let mut a = alpha[(f - 1) * s_len + s];
            if s >= 1 {
                a = log_add(a, alpha[(f - 1) * s_len + s - 1]);
            }
            if skip(s) {
                a = log_add(a, alpha[(f - 1) * s_len + s - 2]);
            }
            alpha[f * s_len + s] = if a == neg { neg } else { a + at(f, ext(s)) };
        }
    }
    let last = (n - 1) * s_len;
    let mut log_p = alpha[last + s_len - 1];
    if s_len > 1 {
        log_p = log_add(log_p, alpha[last + s_len - 2]);
    }
    if !log_p.is_finite() {
        return NO_ALIGNMENT;
    }
    let mut beta = vec![neg; n * s_len];
    beta[last + s_len - 1] = at(n - 1, BLANK);
    if s_len > 1 {
        beta[last + s_len - 2] = at(n - 1, ext(s_len - 2));
    }
    for f in (0..n - 1).rev() {
        for s in 0..s_len {
            let mut v = beta[(f + 1) * s_len + s];
            if s + 1 < s_len {
                v = log_add(v, beta[(f + 1) * s_len + s + 1]);
            }
            if s + 2 < s_len && skip(s + 2) {
                v = log_add(v, beta[(f + 1) * s_len + s + 2]);
            }
            beta[f * s_len + s] = if v == neg { neg } else { v + at(f, ext(s)) };
        }
    }
    // α and β both hold frame f's emission: subtract it once.
    for f in 0..n {
        for s in 0..s_len {
            let k = ext(s);
            let v = alpha[f * s_len + s] + beta[f * s_len + s] - at(f, k) - log_p;
            if v > -80.0 {
                grad[f * c + k] -= v.exp() as f32;
            }
        }
    }
    (-log_p) as f32
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
