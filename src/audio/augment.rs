//! On-the-fly waveform augmentation for training (never for validation, test or prediction):
//! speed perturbation by resampling, pitch shift (time-stretch then resample, so the length is
//! kept) and additive white noise at a signal-to-noise ratio drawn from a range
//! (docs/design.md, "Augmentation").
//!
//! Contracts, each tested: every output is 16 kHz like its input; speed by factor `f` returns
//! `round(n / f)` samples (± 1) with every frequency multiplied by `f`; pitch shift returns
//! exactly `n` samples with frequencies multiplied by `2^(semitones / 12)`; noise returns `n`
//! samples at the drawn SNR.

use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

/// The sample rate every augmentation works at.
const RATE: u32 = 16_000;

/// How the speed factor is drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SpeedPerturb {
    /// Uniform in `[low, high]` (SpeechMLC's 0.9–1.1).
    Range(f32, f32),
    /// One of the listed factors with equal probability (the metadata paper's TDSA:
    /// 0.8 / 1.0 / 1.2).
    Choice(Vec<f32>),
}

/// Augmentation settings of a training run (`training.augment` in a preset).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AugmentConfig {
    /// Speed perturbation (length changes, pitch moves with it).
    pub speed: Option<SpeedPerturb>,
    /// Pitch shift in semitones, uniform in `[low, high]` (length kept).
    pub pitch_semitones: Option<(f32, f32)>,
    /// Additive white noise at an SNR in dB, uniform in `[low, high]`.
    pub noise_snr_db: Option<(f32, f32)>,
    /// Each enabled augmentation is applied to an example with this probability.
    pub probability: f32,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            speed: None,
            pitch_semitones: None,
            noise_snr_db: None,
            probability: 1.0,
        }
    }
}

impl AugmentConfig {
    /// Checks the ranges; every problem names the field.
    pub fn validate(&self) -> Result<(), String> {
        let range = |name: &str, (lo, hi): (f32, f32), min: f32, max: f32| {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi && lo >= min && hi <= max) {
                Err(format!(
                    "training.augment.{name}: needs {min} ≤ low ≤ high ≤ {max}, got ({lo}, {hi})"
                ))
            } else {
                Ok(())
            }
        };
        match &self.speed {
            Some(SpeedPerturb::Range(lo, hi)) => range("speed", (*lo, *hi), 0.5, 2.0)?,
            Some(SpeedPerturb::Choice(v)) => {
                if v.is_empty() {
                    return Err("training.augment.speed: Choice needs at least one factor".into());
                }
                for f in v {
                    range("speed", (*f, *f), 0.5, 2.0)?;
                }
            }
            None => {}
        }
        if let Some(p) = self.pitch_semitones {
            range("pitch_semitones", p, -12.0, 12.0)?;
        }
        if let Some(n) = self.noise_snr_db {
            range("noise_snr_db", n, -20.0, 100.0)?;
        }
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(format!(
                "training.augment.probability must be in [0, 1], got {}",
                self.probability
            ));
        }
        Ok(())
    }

    /// Whether anything is enabled.
    pub fn is_active(&self) -> bool {
        self.probability > 0.0
            && (self.speed.is_some()
                || self.pitch_semitones.is_some()
                || self.noise_snr_db.is_some())
    }

    /// One line for the run log.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match &self.speed {
            Some(SpeedPerturb::Range(lo, hi)) => parts.push(format!("speed {lo}–{hi}")),
            Some(SpeedPerturb::Choice(v)) => parts.push(format!(
                "speed {}",
                v.iter().map(f32::to_string).collect::<Vec<_>>().join("/")
            )),
            None => {}
        }
        if let Some((lo, hi)) = self.pitch_semitones {
            parts.push(format!("pitch {lo}…{hi} semitones"));
        }
        if let Some((lo, hi)) = self.noise_snr_db {
            parts.push(format!("noise at {lo}–{hi} dB SNR"));
        }
        if parts.is_empty() {
            return "off".into();
        }
        format!("{} (each with p = {})", parts.join(", "), self.probability)
    }

    /// Applies the enabled augmentations (speed, then pitch, then noise), each with
    /// `probability`, to 16 kHz `samples`.
    pub fn apply(&self, samples: &[f32], rng: &mut SplitMix64) -> Vec<f32> {
        let mut x = samples.to_vec();
        let roll = |rng: &mut SplitMix64| {
            self.probability >= 1.0 || rng.uniform() < self.probability as f64
        };
        if let Some(s) = &self.speed
            && roll(rng)
        {
            let f = match s {
                SpeedPerturb::Range(lo, hi) => lo + (hi - lo) * rng.uniform() as f32,
                SpeedPerturb::Choice(v) => v[rng.below(v.len())],
            };
            x = speed(&x, f);
        }
        if let Some((lo, hi)) = self.pitch_semitones
            && roll(rng)
        {
            x = pitch_shift(&x, lo + (hi - lo) * rng.uniform() as f32);
        }
        if let Some((lo, hi)) = self.noise_snr_db
            && roll(rng)
        {
            add_noise(&mut x, lo + (hi - lo) * rng.uniform() as f32, rng);
        }
        x
    }
}

/// A ratio rounded to 1/100 as a pair of resampling rates (rubato's FFT resampler wants a small
/// reduced ratio; 0.01 keeps it at most 200:100).
fn rates(ratio: f32) -> (u32, u32) {
    let r = (ratio * 100.0).round().max(1.0) as u32;
    (RATE / 100 * r, RATE)
}

/// Speed perturbation by `factor` (> 1: faster and shorter): the signal is read as if
/// recorded at `16 kHz · factor` and resampled to 16 kHz (Kaldi's and the TDSA recipe's way;
/// factor rounded to 0.01). Returns `round(n / factor)` samples (± 1).
pub fn speed(samples: &[f32], factor: f32) -> Vec<f32> {
    let (from, to) = rates(factor);
    if from == to {
        return samples.to_vec();
    }
    crate::audio::resample::resample_mono(samples, from, to).unwrap_or_else(|_| samples.to_vec())
}

/// Pitch shift by `semitones` keeping the length: WSOLA time-stretch by
/// `r = 2^(semitones/12)` (rounded to 0.01), then resampling by `r`. Returns exactly `n`
/// samples.
pub fn pitch_shift(samples: &[f32], semitones: f32) -> Vec<f32> {
    let n = samples.len();
    let ratio = 2f32.powf(semitones / 12.0);
    let (from, to) = rates(ratio);
    if from == to || n == 0 {
        return samples.to_vec();
    }
    let r = from as f64 / to as f64;
    let stretched = wsola(samples, r);
    let mut out = speed(&stretched, r as f32);
    out.resize(n, 0.0);
    out
}

/// Waveform-similarity overlap-add time-stretch (Verhelst & Roelands): output length
/// `round(n · alpha)`, pitch unchanged. Hann frames of 32 ms at a 16 ms hop; each frame's input
/// position is moved by up to ±8 ms to best continue the previous frame's waveform.
pub fn wsola(samples: &[f32], alpha: f64) -> Vec<f32> {
    const FRAME: usize = 512;
    const HOP: usize = FRAME / 2;
    const TOL: usize = 128;
    let n = samples.len();
    let out_len = (n as f64 * alpha).round() as usize;
    if n < FRAME || out_len == 0 {
        // Too short to stretch by frames: linear interpolation (pitch moves, length is right).
        return (0..out_len)
            .map(|i| {
                let p = i as f64 / alpha;
                let k = (p as usize).min(n.saturating_sub(1));
                let f = (p - k as f64) as f32;
                let a = samples.get(k).copied().unwrap_or(0.0);
                let b = samples.get(k + 1).copied().unwrap_or(a);
                a + (b - a) * f
            })
            .collect();
    }
    let window: Vec<f32> = (0..FRAME)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / FRAME as f64).cos()) as f32)
        .collect();
    let mut out = vec![0.0f32; out_len + FRAME];
    let mut norm = vec![0.0f32; out_len + FRAME];
    let at = |i: isize| -> f32 {
        if i < 0 {
            0.0
        } else {
            samples.get(i as usize).copied().unwrap_or(0.0)
        }
    };
    // Where the previous frame was read from (the natural continuation starts HOP later).
    let mut prev: Option<isize> = None;
    let mut k = 0usize;
    while k * HOP < out_len {
        let nominal = (k * HOP) as f64 / alpha;
        let nominal = nominal.round() as isize;
        let pos = match prev {
            None => nominal,
            Some(p) => {
                let natural = p + HOP as isize;
                let mut best = (f64::MIN, nominal);
                for d in -(TOL as isize)..=(TOL as isize) {
                    let cand = nominal + d;
                    if cand < 0 || cand as usize >= n {
                        continue;
                    }
                    // Correlation over the overlapping half-frame.
                    let mut c = 0.0f64;
                    for i in (0..HOP).step_by(2) {
                        c += (at(cand + i as isize) * at(natural + i as isize)) as f64;
                    }
                    if c > best.0 {
                        best = (c, cand);
                    }
                }
                best.1
            }
        };
        for (i, w) in window.iter().enumerate() {
            let o = k * HOP + i;
            out[o] += at(pos + i as isize) * w;
            norm[o] += w;
        }
        prev = Some(pos);
        k += 1;
    }
    out.truncate(out_len);
    for (o, w) in out.iter_mut().zip(&norm) {
        if *w > 1e-3 {
            *o /= w;
        }
    }
    out
}

/// Adds white Gaussian noise at `snr_db` relative to the signal's mean power (silence stays
/// silent).
pub fn add_noise(samples: &mut [f32], snr_db: f32, rng: &mut SplitMix64) {
    let n = samples.len().max(1) as f64;
    let power = samples.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / n;
    if power <= 0.0 {
        return;
    }
    let sigma = (power / 10f64.powf(snr_db as f64 / 10.0)).sqrt();
    for x in samples.iter_mut() {
        *x += (sigma * rng.normal()) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f64, secs: f64) -> Vec<f32> {
        let n = (secs * RATE as f64) as usize;
        (0..n)
            .map(|i| {
                (0.5 * (2.0 * std::f64::consts::PI * hz * i as f64 / RATE as f64).sin()) as f32
            })
            .collect()
    }

    /// Frequency from upward zero crossings over the middle 80 % (edges have resampler and
    /// frame transients).
    fn frequency(x: &[f32]) -> f64 {
        let (a, b) = (x.len() / 10, x.len() * 9 / 10);
        let ups: Vec<usize> = (a + 1..b)
            .filter(|&i| x[i - 1] < 0.0 && x[i] >= 0.0)
            .collect();
        let (first, last) = (ups[0], *ups.last().expect("crossings"));
        (ups.len() - 1) as f64 * RATE as f64 / (last - first) as f64
    }

    #[test]
    fn speed_changes_length_and_frequency_by_the_factor() {
        let x = sine(440.0, 1.0);
        for f in [0.9f32, 1.1, 0.8, 1.2] {
            let y = speed(&x, f);
            let want = (x.len() as f64 / f as f64).round() as i64;
            assert!(
                (y.len() as i64 - want).abs() <= 1,
                "{f}: {} vs {want}",
                y.len()
            );
            let hz = frequency(&y);
            assert!(
                (hz / (440.0 * f as f64) - 1.0).abs() < 0.005,
                "{f}: {hz} Hz"
            );
        }
    }

    #[test]
    fn pitch_shift_keeps_length_and_moves_frequency() {
        let x = sine(220.0, 1.0);
        for st in [-2.0f32, 3.0, 1.0] {
            let y = pitch_shift(&x, st);
            assert_eq!(y.len(), x.len());
            let hz = frequency(&y);
            let want = 220.0 * 2f64.powf(st as f64 / 12.0);
            // The ratio is rounded to 0.01 (≤ 0.5 %), WSOLA adds a little jitter.
            assert!((hz / want - 1.0).abs() < 0.012, "{st}: {hz} Hz vs {want}");
            assert!(y.iter().all(|v| v.is_finite() && v.abs() < 1.0));
        }
    }

    #[test]
    fn wsola_stretches_length_not_pitch() {
        let x = sine(300.0, 1.0);
        for a in [0.8, 1.25] {
            let y = wsola(&x, a);
            assert_eq!(y.len(), (x.len() as f64 * a).round() as usize);
            let hz = frequency(&y);
            assert!((hz / 300.0 - 1.0).abs() < 0.01, "{a}: {hz} Hz");
        }
    }

    #[test]
    fn noise_lands_at_the_requested_snr() {
        let x = sine(500.0, 2.0);
        let mut rng = SplitMix64::new(3);
        for snr in [0.0f32, 10.0, 25.0] {
            let mut y = x.clone();
            add_noise(&mut y, snr, &mut rng);
            assert_eq!(y.len(), x.len());
            let ps: f64 = x.iter().map(|v| (*v as f64).powi(2)).sum();
            let pn: f64 = x
                .iter()
                .zip(&y)
                .map(|(a, b)| ((b - a) as f64).powi(2))
                .sum();
            let got = 10.0 * (ps / pn).log10();
            assert!((got - snr as f64).abs() < 0.2, "{snr}: {got}");
        }
        let mut silent = vec![0.0f32; 100];
        add_noise(&mut silent, 10.0, &mut rng);
        assert!(silent.iter().all(|v| *v == 0.0));
    }

    #[test]
    fn config_draws_within_its_ranges_and_validates() {
        let cfg = AugmentConfig {
            speed: Some(SpeedPerturb::Choice(vec![0.8, 1.0, 1.2])),
            ..Default::default()
        };
        let x = sine(200.0, 0.5);
        let mut rng = SplitMix64::new(9);
        let mut lens = std::collections::BTreeSet::new();
        for _ in 0..40 {
            lens.insert(cfg.apply(&x, &mut rng).len());
        }
        assert_eq!(lens.len(), 3, "{lens:?}");
        let bad = AugmentConfig {
            noise_snr_db: Some((30.0, 10.0)),
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("noise_snr_db"));
        assert!(!AugmentConfig::default().is_active());
    }
}
