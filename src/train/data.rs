//! Feature matrices → fixed-length batches on a device.

use burn::prelude::*;

use crate::features::norm::cmvn;
use crate::features::{FeatureConfig, FeatureMatrix, Normalisation, Standardiser, StreamKind};
use crate::text::{ExampleText, TextBatch};

/// Applies the configured normalisation and crops/pads to `frames` rows: the values of one
/// example, exactly as training, evaluation and prediction see them.
pub fn prepare(
    m: &FeatureMatrix,
    cfg: &FeatureConfig,
    standardiser: Option<&Standardiser>,
    frames: usize,
) -> Vec<f32> {
    let mut m = m.clone();
    match (cfg.normalisation, standardiser) {
        // Per-utterance CMVN over the rows of an SSL matrix would mix layers: not applied there.
        (Normalisation::PerUtterance, _) if cfg.stream != StreamKind::Ssl => cmvn(&mut m),
        (Normalisation::TrainingSet | Normalisation::PerSpeaker, Some(s)) => s.apply(&mut m),
        _ => {}
    }
    fit_length(&m, frames)
}

/// Centre-crops or zero-pads (at the end) `m` to exactly `frames` STFT frames, flattened
/// time-major. After standardisation 0 is the training mean, so padding is "average frame".
pub fn fit_length(m: &FeatureMatrix, frames: usize) -> Vec<f32> {
    let nb = m.n_bins;
    let mut out = vec![0.0f32; frames * nb];
    if m.n_frames >= frames {
        let start = (m.n_frames - frames) / 2;
        out.copy_from_slice(&m.data[start * nb..(start + frames) * nb]);
    } else {
        out[..m.n_frames * nb].copy_from_slice(&m.data);
    }
    out
}

/// One example ready for batching.
#[derive(Clone, Debug, Default)]
pub struct Example {
    /// `frames × bins` values, time-major.
    pub values: Vec<f32>,
    /// Class index (0 in dimensional runs).
    pub label: usize,
    /// Scaled targets of a dimensional run, in dimension order (empty in categorical runs).
    pub target: Vec<f32>,
    /// The transcript's vector or tokens when the run has a text stream.
    pub text: ExampleText,
    /// Multi-task runs: the class of each auxiliary classification task (`None` where the
    /// utterance lacks it).
    pub aux: Vec<Option<usize>>,
    /// Multi-task runs with the `asr` task: the transcript's character ids.
    pub chars: Option<Vec<usize>>,
}

/// Builds the input tensor of a batch.
///
/// # Shapes
/// - returns `[batch, frames, bins]`
pub fn batch_inputs(
    examples: &[&Example],
    frames: usize,
    bins: usize,
    device: &Device,
) -> Tensor<3> {
    use rayon::prelude::*;
    let per = frames * bins;
    for e in examples {
        assert_eq!(
            e.values.len(),
            per,
            "an example has {} values, not frames × bins = {per}",
            e.values.len()
        );
    }
    // The examples are scattered over the cached corpus (cold in cache): copying them on every
    // core reads memory faster than one (bench epoch, docs/perf/cpu.md).
    let mut flat: Vec<f32> = Vec::with_capacity(examples.len() * per);
    flat.spare_capacity_mut()
        .par_chunks_mut(per.max(1))
        .zip(examples.par_iter())
        .for_each(|(dst, e)| {
            for (d, v) in dst.iter_mut().zip(&e.values) {
                d.write(*v);
            }
        });
    // SAFETY: the capacity is examples.len() · per, and the loop above wrote every one of those
    // values (each example has exactly `per` values, asserted above).
    unsafe { flat.set_len(examples.len() * per) };
    Tensor::from_data(
        TensorData::new(flat, [examples.len(), frames, bins]),
        device,
    )
}

/// The text of a batch (see [`TextBatch`]).
pub fn batch_text(examples: &[&Example], device: &Device) -> TextBatch {
    TextBatch::of(examples.iter().map(|e| &e.text), device)
}

/// Class indices of a batch as an Int tensor `[batch]`.
pub fn batch_labels(examples: &[&Example], device: &Device) -> Tensor<1, Int> {
    let labels: Vec<i64> = examples.iter().map(|e| e.label as i64).collect();
    Tensor::from_data(TensorData::new(labels, [examples.len()]), device)
}

/// Dimensional targets of a batch `[batch, dimensions]`.
pub fn batch_targets(examples: &[&Example], device: &Device) -> Tensor<2> {
    let d = examples.first().map_or(0, |e| e.target.len());
    let flat: Vec<f32> = examples
        .iter()
        .flat_map(|e| e.target.iter().copied())
        .collect();
    Tensor::from_data(TensorData::new(flat, [examples.len(), d]), device)
}

/// Row-major `[rows, cols]` values of a 2-D tensor.
pub fn to_rows(t: Tensor<2>) -> Vec<Vec<f32>> {
    let [_, cols] = t.dims();
    let v = crate::tensor::read_f32(t);
    v.chunks(cols.max(1)).map(<[f32]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_is_centred_and_pad_is_zero() {
        let m = FeatureMatrix {
            n_frames: 5,
            n_bins: 1,
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0],
        };
        assert_eq!(fit_length(&m, 3), vec![2.0, 3.0, 4.0]);
        assert_eq!(fit_length(&m, 7), vec![1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.0]);
    }
}
