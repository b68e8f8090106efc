//! Embedding extraction for files: 16 kHz audio → every hidden state, long files encoded in
//! overlapping chunks and stitched so that memory stays bounded.

use burn::prelude::*;

use super::wav2vec2::Wav2Vec2Encoder;

/// Frames produced by the conv stack for `samples` input samples.
pub fn conv_frames(kernels: &[usize], strides: &[usize], samples: usize) -> usize {
    kernels.iter().zip(strides).fold(
        samples,
        |n, (&k, &s)| if n < k { 0 } else { (n - k) / s + 1 },
    )
}

/// Chunking of long inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Chunking {
    /// Samples of new audio per chunk (a multiple of the total stride).
    pub hop_samples: usize,
    /// Extra context on each side, samples (a multiple of the total stride).
    pub context_samples: usize,
}

impl Chunking {
    /// 20 s chunks with 1 s of context on each side, rounded to the stride.
    pub fn default_for(stride: usize) -> Self {
        let r = |n: usize| (n / stride).max(1) * stride;
        Self {
            hop_samples: r(20 * 16_000),
            context_samples: r(16_000),
        }
    }
}

/// Parses `all`, `last`, `N` or `a,b,c` into layer indices below `n_states`.
pub fn parse_layers(spec: &str, n_states: usize) -> Result<Vec<usize>, String> {
    match spec {
        "all" => return Ok((0..n_states).collect()),
        "last" => return Ok(vec![n_states.saturating_sub(1)]),
        _ => {}
    }
    spec.split(',')
        .map(|p| {
            let l: usize = p
                .trim()
                .parse()
                .map_err(|_| format!("layer '{p}' is not a number (use all, last, N or a,b)"))?;
            if l >= n_states {
                Err(format!(
                    "layer {l} does not exist: the model has hidden states 0..={}",
                    n_states - 1
                ))
            } else {
                Ok(l)
            }
        })
        .collect()
}

/// Encodes one 16 kHz utterance; returns `[layers + 1, frames, dim]` as a flat row-major vector
/// with its shape. Inputs longer than one chunk are encoded chunk by chunk: chunk k sees
/// `[k·hop − context, (k+1)·hop + context)` and contributes the frames of `[k·hop, (k+1)·hop)`.
pub fn encode_utterance(
    enc: &Wav2Vec2Encoder,
    kernels: &[usize],
    strides: &[usize],
    samples: &[f32],
    chunking: Chunking,
    device: &Device,
) -> (Vec<usize>, Vec<f32>) {
    let stride: usize = strides.iter().product();
    let total_frames = conv_frames(kernels, strides, samples.len());
    let run = |x: &[f32]| -> (Vec<usize>, Vec<f32>) {
        let t = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [1, x.len()]), device);
        let hs = enc.forward(t, None).hidden_states; // [L, 1, T, D]
        let [l, _, t, d] = hs.dims();
        let v = crate::tensor::read_f32(hs);
        (vec![l, t, d], v)
    };
    if samples.len() <= chunking.hop_samples + 2 * chunking.context_samples || total_frames == 0 {
        return run(samples);
    }
    let hop_frames = chunking.hop_samples / stride;
    let mut layers_out: Vec<Vec<f32>> = Vec::new();
    let (mut n_layers, mut dim) = (0, 0);
    let mut k = 0;
    while k * hop_frames < total_frames {
        let start = (k * chunking.hop_samples).saturating_sub(chunking.context_samples);
        let end = ((k + 1) * chunking.hop_samples + chunking.context_samples).min(samples.len());
        let (shape, v) = run(&samples[start..end]);
        let (l, t, d) = (shape[0], shape[1], shape[2]);
        if layers_out.is_empty() {
            layers_out = vec![Vec::new(); l];
            n_layers = l;
            dim = d;
        }
        let first_local = k * hop_frames - start / stride;
        let keep_until_global = ((k + 1) * hop_frames).min(total_frames);
        let n_keep = (keep_until_global - k * hop_frames).min(t.saturating_sub(first_local));
        for (li, out) in layers_out.iter_mut().enumerate() {
            let base = li * t * d;
            out.extend_from_slice(&v[base + first_local * d..base + (first_local + n_keep) * d]);
        }
        k += 1;
    }
    let frames = layers_out.first().map_or(0, |v| v.len() / dim.max(1));
    (vec![n_layers, frames, dim], layers_out.concat())
}

/// Encodes several utterances in length-bucketed batches of up to `batch` (sorted by length, so
/// little padding). Every result equals encoding the utterance alone (to float rounding): the
/// padding is masked out of the first conv layer's GroupNorm statistics (group-norm models), out
/// of the positional convolution's input and out of every attention ("exact" batching, unlike
/// transformers, which gives group-norm models no mask at all). Each result is
/// `[layers, frames, dim]` trimmed to the utterance's own frames, in input order. Inputs are
/// normalised per utterance first when the checkpoint asks for it. No chunking: meant for
/// utterances up to one chunk long (see [`Chunking`]).
pub fn encode_batched(
    enc: &Wav2Vec2Encoder,
    cfg: &super::config::EncoderConfig,
    utterances: &[Vec<f32>],
    batch: usize,
    device: &Device,
) -> Vec<(Vec<usize>, Vec<f32>)> {
    let mut order: Vec<usize> = (0..utterances.len()).collect();
    order.sort_by_key(|&i| utterances[i].len());
    let mut out: Vec<(Vec<usize>, Vec<f32>)> = vec![(Vec::new(), Vec::new()); utterances.len()];
    for group in order.chunks(batch.max(1)) {
        let max_len = group
            .iter()
            .map(|&i| utterances[i].len())
            .max()
            .unwrap_or(0);
        let max_frames = conv_frames(&cfg.conv_kernel, &cfg.conv_stride, max_len);
        if max_frames == 0 {
            continue;
        }
        let mut flat = vec![0.0f32; group.len() * max_len];
        let mut mask = vec![0.0f32; group.len() * max_frames];
        for (row, &i) in group.iter().enumerate() {
            let x = &utterances[i];
            let x = if enc.do_normalize {
                normalise(x)
            } else {
                x.clone()
            };
            flat[row * max_len..row * max_len + x.len()].copy_from_slice(&x);
            let f = conv_frames(&cfg.conv_kernel, &cfg.conv_stride, x.len());
            mask[row * max_frames..row * max_frames + f]
                .iter_mut()
                .for_each(|m| *m = 1.0);
        }
        let input = Tensor::<2>::from_data(TensorData::new(flat, [group.len(), max_len]), device);
        let padded = group.iter().any(|&i| utterances[i].len() < max_len);
        let frame_mask = padded.then(|| {
            Tensor::<2>::from_data(TensorData::new(mask, [group.len(), max_frames]), device)
        });
        let valid: Vec<usize> = group.iter().map(|&i| utterances[i].len()).collect();
        // Normalisation was done per utterance above (padding must not enter the statistics).
        let hs = enc
            .forward_padded(input, frame_mask, Some(&valid))
            .hidden_states; // [L, B, T, D]
        let [l, b, t, d] = hs.dims();
        let v = crate::tensor::read_f32(hs);
        for (row, &i) in group.iter().enumerate().take(b) {
            let f = conv_frames(&cfg.conv_kernel, &cfg.conv_stride, utterances[i].len()).min(t);
            let mut data = Vec::with_capacity(l * f * d);
            for li in 0..l {
                let base = (li * b + row) * t * d;
                data.extend_from_slice(&v[base..base + f * d]);
            }
            out[i] = (vec![l, f, d], data);
        }
    }
    out
}

/// Zero mean, unit variance (eps 1e-7), as `Wav2Vec2FeatureExtractor` does per utterance.
pub fn normalise(x: &[f32]) -> Vec<f32> {
    let n = x.len().max(1) as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let s = (var + 1e-7).sqrt();
    x.iter().map(|&v| ((v as f64 - mean) / s) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_frame_count_matches_the_standard_stack() {
        // 1 s at 16 kHz through HuBERT's stack gives 49 frames (transformers).
        assert_eq!(
            conv_frames(&[10, 3, 3, 3, 3, 2, 2], &[5, 2, 2, 2, 2, 2, 2], 16_000),
            49
        );
        assert_eq!(conv_frames(&[10, 3, 3], &[5, 2, 2], 4000), 199);
        assert_eq!(conv_frames(&[10], &[5], 3), 0);
    }
}
