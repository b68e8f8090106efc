//! Training-time augmentation of cached spectral streams: each training example of a batch is
//! re-computed from its augmented waveform (the run's stream, normalisation and length), so
//! validation, test and prediction see the clean features while training sees a new variant
//! every epoch (docs/design.md, "Augmentation").

use crate::audio::augment::AugmentConfig;
use crate::features::{FeatureConfig, Standardiser};
use crate::rng::SplitMix64;

use super::data::{Example, prepare};

/// What re-computes one training example from augmented audio.
pub struct Augmenter<'a> {
    /// The augmentations.
    pub config: &'a AugmentConfig,
    /// 16 kHz audio of every utterance of the run.
    pub audio: &'a [Vec<f32>],
    /// The utterance of each training example, in `FoldInput::train` order.
    pub utterances: &'a [usize],
    /// The run's stream.
    pub features: &'a FeatureConfig,
    /// The standardiser of each run utterance (the fold's training-set one, or the speaker's),
    /// fitted on clean features; indexed like `audio`.
    pub standardisers: &'a [Option<&'a Standardiser>],
    /// Frames per example.
    pub frames: usize,
}

impl Augmenter<'_> {
    /// Training example `i` from a fresh augmentation of its audio.
    pub fn example(&self, i: usize, clean: &Example, rng: &mut SplitMix64) -> Example {
        let wave = self.config.apply(&self.audio[self.utterances[i]], rng);
        let m = crate::features::compute(&wave, self.features);
        Example {
            values: prepare(
                &m,
                self.features,
                self.standardisers
                    .get(self.utterances[i])
                    .copied()
                    .flatten(),
                self.frames,
            ),
            ..clean.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::augment::SpeedPerturb;

    /// An un-augmented pass reproduces the cached example exactly; an augmented one keeps the
    /// shape and changes the values.
    #[test]
    fn augmented_examples_keep_the_shape() {
        let audio: Vec<f32> = (0..16_000)
            .map(|i| (i as f32 * 0.05).sin() * 0.3 + (i as f32 * 0.011).sin() * 0.2)
            .collect();
        let features = FeatureConfig::default();
        let frames = 80;
        let clean = Example {
            values: prepare(
                &crate::features::compute(&audio, &features),
                &features,
                None,
                frames,
            ),
            label: 2,
            target: vec![1.0],
            ..Default::default()
        };
        let off = AugmentConfig::default();
        let mut rng = SplitMix64::new(1);
        let audio = [audio];
        let a = Augmenter {
            config: &off,
            audio: &audio,
            utterances: &[0],
            features: &features,
            standardisers: &[],
            frames,
        };
        assert_eq!(a.example(0, &clean, &mut rng).values, clean.values);
        let on = AugmentConfig {
            speed: Some(SpeedPerturb::Range(0.9, 1.1)),
            noise_snr_db: Some((10.0, 20.0)),
            ..Default::default()
        };
        let a = Augmenter { config: &on, ..a };
        let e = a.example(0, &clean, &mut rng);
        assert_eq!(e.values.len(), clean.values.len());
        assert_eq!((e.label, e.target.clone()), (2, vec![1.0]));
        assert_ne!(e.values, clean.values);
    }
}
