//! SpecAugment-style masking of training examples (Park et al., "SpecAugment: A Simple Data
//! Augmentation Method for Automatic Speech Recognition", 2019): frequency masks (a run of
//! bins set to the standardised mean, 0, on every frame) and time masks (a run of frames set
//! to 0), drawn afresh for every training example in every epoch. Validation, test and
//! prediction see the unmasked features (docs/design.md, "Augmentation").
//!
//! Contracts, each tested: only training examples are masked; masks stay inside the
//! utterance's own frames (padding is left alone) and never cover its last frame, so the
//! valid-length detection of the pyramid pooling (`model::dtpm::valid_lengths`) sees the
//! same length; prosody channels appended after the spectral bins are never frequency-masked.

use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

/// Masking of a training run (`training.spec_augment` in a preset).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpecAugment {
    /// Frequency masks per example.
    pub freq_masks: usize,
    /// Widest frequency mask in bins (each width uniform in `0..=freq_width`).
    pub freq_width: usize,
    /// Time masks per example.
    pub time_masks: usize,
    /// Widest time mask in frames (each width uniform in `0..=time_width`).
    pub time_width: usize,
    /// A time mask never covers more than this share of the utterance's own frames (the
    /// paper's upper bound p).
    pub max_time_fraction: f32,
    /// Each example is masked with this probability.
    pub probability: f32,
}

impl Default for SpecAugment {
    /// The LibriSpeech-basic policy scaled to a 10 ms hop and 64 bands: two frequency masks of
    /// up to 8 bins, two time masks of up to 20 frames (≤ 20 % of the utterance).
    fn default() -> Self {
        Self {
            freq_masks: 2,
            freq_width: 8,
            time_masks: 2,
            time_width: 20,
            max_time_fraction: 0.2,
            probability: 1.0,
        }
    }
}

impl SpecAugment {
    /// Checks the values; every problem names the field.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.max_time_fraction) {
            return Err(format!(
                "training.spec_augment.max_time_fraction must be in [0, 1], got {}",
                self.max_time_fraction
            ));
        }
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(format!(
                "training.spec_augment.probability must be in [0, 1], got {}",
                self.probability
            ));
        }
        Ok(())
    }

    /// Whether any mask can be drawn.
    pub fn is_active(&self) -> bool {
        self.probability > 0.0
            && ((self.freq_masks > 0 && self.freq_width > 0)
                || (self.time_masks > 0 && self.time_width > 0 && self.max_time_fraction > 0.0))
    }

    /// One line for the run log.
    pub fn describe(&self) -> String {
        format!(
            "{} frequency mask(s) ≤ {} bins, {} time mask(s) ≤ {} frames (≤ {:.0} % of the utterance), p = {}",
            self.freq_masks,
            self.freq_width,
            self.time_masks,
            self.time_width,
            self.max_time_fraction * 100.0,
            self.probability
        )
    }

    /// Masks `values` (`frames × bins`, time-major, standardised so 0 is the mean) in place.
    /// Only the first `spectral_bins` bins take frequency masks; trailing all-zero frames are
    /// padding and are left alone.
    pub fn apply(
        &self,
        values: &mut [f32],
        frames: usize,
        bins: usize,
        spectral_bins: usize,
        rng: &mut SplitMix64,
    ) {
        debug_assert_eq!(values.len(), frames * bins);
        if bins == 0 || frames == 0 {
            return;
        }
        if self.probability < 1.0 && rng.uniform() >= self.probability as f64 {
            return;
        }
        let valid = values
            .chunks(bins)
            .rposition(|f| f.iter().any(|&v| v != 0.0))
            .map_or(0, |last| last + 1);
        if valid == 0 {
            return;
        }
        let spectral = spectral_bins.min(bins);
        for _ in 0..self.freq_masks {
            let w = rng.below(self.freq_width.min(spectral) + 1);
            if w == 0 {
                continue;
            }
            let f0 = rng.below(spectral - w + 1);
            for frame in values[..valid * bins].chunks_mut(bins) {
                frame[f0..f0 + w].fill(0.0);
            }
        }
        // The last valid frame is never masked: frames 0..valid-1 are open to time masks.
        let open = valid - 1;
        let widest = self
            .time_width
            .min((self.max_time_fraction as f64 * valid as f64).floor() as usize)
            .min(open);
        for _ in 0..self.time_masks {
            let w = rng.below(widest + 1);
            if w == 0 {
                continue;
            }
            let t0 = rng.below(open - w + 1);
            values[t0 * bins..(t0 + w) * bins].fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A matrix of distinct non-zero values with `valid` frames of audio and zero padding.
    fn matrix(frames: usize, bins: usize, valid: usize) -> Vec<f32> {
        (0..frames * bins)
            .map(|i| {
                if i / bins < valid {
                    1.0 + i as f32
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Frequency masks zero whole bins over the valid frames only, inside the spectral bins,
    /// within the widths asked; padding and the last frame are never touched.
    #[test]
    fn masks_stay_inside_the_utterance_and_the_spectral_bins() {
        let (frames, bins, spectral, valid) = (50, 12, 10, 37);
        let policy = SpecAugment {
            freq_masks: 1,
            freq_width: 4,
            time_masks: 1,
            time_width: 9,
            max_time_fraction: 0.2,
            probability: 1.0,
        };
        let mut rng = SplitMix64::new(7);
        let mut masked_bins_seen = 0;
        let mut masked_frames_seen = 0;
        for _ in 0..500 {
            let clean = matrix(frames, bins, valid);
            let mut x = clean.clone();
            policy.apply(&mut x, frames, bins, spectral, &mut rng);
            // Which bins are zero on a frame no time mask covers: the frequency mask.
            let zero_frame = |t: usize| x[t * bins..(t + 1) * bins].iter().all(|&v| v == 0.0);
            let masked_frames: Vec<usize> = (0..valid).filter(|&t| zero_frame(t)).collect();
            let open = (0..valid).find(|t| !masked_frames.contains(t)).unwrap();
            let masked_bins: Vec<usize> =
                (0..bins).filter(|&b| x[open * bins + b] == 0.0).collect();
            // Frequency mask: contiguous, ≤ 4 wide, inside the spectral bins, on every
            // unmasked valid frame.
            assert!(masked_bins.len() <= 4);
            assert!(masked_bins.iter().all(|&b| b < spectral));
            assert!(masked_bins.windows(2).all(|w| w[1] == w[0] + 1));
            for t in (0..valid).filter(|t| !masked_frames.contains(t)) {
                for b in 0..bins {
                    let want = if masked_bins.contains(&b) {
                        0.0
                    } else {
                        clean[t * bins + b]
                    };
                    assert_eq!(x[t * bins + b], want, "frame {t} bin {b}");
                }
            }
            // Time mask: contiguous, ≤ min(9, floor(0.2 · 37) = 7) frames, never the last
            // valid frame; padding unchanged (still zero, the length the pooling detects).
            assert!(masked_frames.len() <= 7, "{masked_frames:?}");
            assert!(masked_frames.windows(2).all(|w| w[1] == w[0] + 1));
            assert!(!masked_frames.contains(&(valid - 1)));
            assert!(
                x[(valid - 1) * bins..valid * bins]
                    .iter()
                    .any(|&v| v != 0.0)
            );
            assert!(x[valid * bins..].iter().all(|&v| v == 0.0));
            masked_bins_seen += masked_bins.len();
            masked_frames_seen += masked_frames.len();
        }
        // Widths are uniform in 0..=4 and 0..=7: means 2 and 3.5 per example.
        let mean_bins = masked_bins_seen as f64 / 500.0;
        let mean_frames = masked_frames_seen as f64 / 500.0;
        assert!((mean_bins - 2.0).abs() < 0.25, "{mean_bins}");
        assert!((mean_frames - 3.5).abs() < 0.4, "{mean_frames}");
    }

    /// Probability 0 (or no masks) leaves the example as it was; probability 0.5 masks about
    /// half of them.
    #[test]
    fn probability_decides_how_many_examples_are_masked() {
        let (frames, bins) = (40, 8);
        let mut rng = SplitMix64::new(3);
        let off = SpecAugment {
            probability: 0.0,
            ..Default::default()
        };
        let clean = matrix(frames, bins, frames);
        let mut x = clean.clone();
        off.apply(&mut x, frames, bins, bins, &mut rng);
        assert_eq!(x, clean);
        assert!(!off.is_active());
        let half = SpecAugment {
            freq_masks: 1,
            freq_width: 8,
            time_masks: 0,
            probability: 0.5,
            ..Default::default()
        };
        let mut masked = 0;
        for _ in 0..1000 {
            let mut x = clean.clone();
            half.apply(&mut x, frames, bins, bins, &mut rng);
            masked += usize::from(x != clean);
        }
        // Masked with p = 0.5, and then a zero width (1 in 9) leaves it unchanged: 0.444.
        let share = masked as f64 / 1000.0;
        assert!((share - 0.5 * 8.0 / 9.0).abs() < 0.05, "{share}");
    }

    /// Out-of-range values are refused with the field named.
    #[test]
    fn validation_names_the_field() {
        let bad = SpecAugment {
            max_time_fraction: 1.5,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("max_time_fraction"));
        let bad = SpecAugment {
            probability: -0.1,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("probability"));
        assert!(SpecAugment::default().validate().is_ok());
    }
}
