//! Acoustic functionals: one named vector per utterance, the classic baseline input of
//! openSMILE / eGeMAPS-style emotion recognition (docs/baselines.md).
//!
//! Frame-level descriptors (LLDs) on the log-mel's frame grid (centred frames every
//! `hop_length_samples`):
//! - `logmel{i}`: the log-mel bands in dB (`mel::log_mel`, librosa's `melspectrogram` +
//!   `power_to_db`), and with `functionals.mel_deltas` their deltas `logmel{i}_d`;
//! - `mfcc{k}` (+ `mfcc{k}_d`, `mfcc{k}_dd` with `mfcc_deltas`): `mfcc::mfcc` of that log-mel;
//! - `rms_db`: frame RMS as `librosa.feature.rms(frame_length=n_fft, center=True,
//!   pad_mode="constant")` in dB as `librosa.amplitude_to_db(ref=1, amin=1e-5, top_db=80)`;
//! - `zcr`: `librosa.feature.zero_crossing_rate(frame_length=n_fft, center=True)`;
//! - `f0_st`: F0 by YIN exactly as `librosa.yin` (de Cheveigné & Kawahara 2002) in semitones
//!   above 27.5 Hz, over voiced frames only. A frame is voiced when YIN found a trough below its
//!   threshold (a periodic frame) and its RMS is within `voicing_range_db` of the loudest
//!   frame (silence is not voiced).
//!
//! Functionals of every LLD: mean, population std, the 20th/50th/80th percentiles (numpy's
//! linear interpolation) and the least-squares slope per second. Utterance-level values:
//! duration, voiced ratio, voiced segments per second and mean voiced/unvoiced segment length.
//! An empty set (no voiced frame) gives zeros, never NaN.

use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

use super::{FeatureConfig, FeatureMatrix};

/// Settings of the functionals stream that the log-mel and MFCC settings do not cover.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunctionalsConfig {
    /// Lowest F0 YIN searches, Hz.
    pub f0_min_hz: f32,
    /// Highest F0 YIN searches, Hz.
    pub f0_max_hz: f32,
    /// YIN frame length, samples (64 ms at 16 kHz: periods up to half of it).
    pub yin_frame_length: usize,
    /// YIN's absolute threshold on the cumulative mean normalised difference.
    pub yin_threshold: f32,
    /// Frames quieter than the loudest frame by more than this (dB) are never voiced.
    pub voicing_range_db: f32,
    /// Include the log-mel bands' functionals.
    pub mel_bands: bool,
    /// Include the functionals of the log-mel bands' deltas (needs `mel_bands`).
    pub mel_deltas: bool,
}

impl Default for FunctionalsConfig {
    fn default() -> Self {
        Self {
            f0_min_hz: 60.0,
            f0_max_hz: 500.0,
            yin_frame_length: 1024,
            yin_threshold: 0.1,
            voicing_range_db: 35.0,
            mel_bands: true,
            mel_deltas: false,
        }
    }
}

impl FunctionalsConfig {
    /// Checks the YIN range against the frame (as `librosa.yin` does).
    pub fn validate(&self, sample_rate_hz: u32) -> Result<(), String> {
        let sr = sample_rate_hz as f32;
        if !(self.f0_min_hz > 0.0 && self.f0_min_hz < self.f0_max_hz) {
            return Err(format!(
                "functionals: need 0 < f0_min_hz ({}) < f0_max_hz ({})",
                self.f0_min_hz, self.f0_max_hz
            ));
        }
        if self.f0_max_hz > sr / 2.0 {
            return Err(format!(
                "functionals: f0_max_hz ({}) is above the Nyquist frequency ({})",
                self.f0_max_hz,
                sr / 2.0
            ));
        }
        let min_period = (sr / self.f0_max_hz).floor() as usize;
        if self.yin_frame_length < min_period + 3 {
            return Err(format!(
                "functionals: yin_frame_length ({}) is too short for f0_max_hz {} (needs ≥ {})",
                self.yin_frame_length,
                self.f0_max_hz,
                min_period + 3
            ));
        }
        if !(self.yin_threshold > 0.0 && self.yin_threshold < 1.0) {
            return Err(format!(
                "functionals: yin_threshold ({}) must be in (0, 1)",
                self.yin_threshold
            ));
        }
        if self.mel_deltas && !self.mel_bands {
            return Err("functionals: mel_deltas needs mel_bands".into());
        }
        if self.voicing_range_db.is_nan() || self.voicing_range_db <= 0.0 {
            return Err("functionals: voicing_range_db must be > 0".into());
        }
        Ok(())
    }
}

/// The functionals of every frame-level descriptor, in output order.
pub const STATS: [&str; 6] = ["mean", "std", "p20", "p50", "p80", "slope"];

/// The utterance-level values after the per-descriptor functionals.
pub const UTTERANCE: [&str; 5] = [
    "duration_s",
    "voiced_ratio",
    "voiced_segments_per_s",
    "voiced_segment_mean_s",
    "unvoiced_segment_mean_s",
];

/// Names of the frame-level descriptors, in output order.
pub fn lld_names(cfg: &FeatureConfig) -> Vec<String> {
    let f = &cfg.functionals;
    let mut names = Vec::new();
    if f.mel_bands {
        names.extend((0..cfg.logmel.n_mels).map(|i| format!("logmel{i}")));
        if f.mel_deltas {
            names.extend((0..cfg.logmel.n_mels).map(|i| format!("logmel{i}_d")));
        }
    }
    let n_mfcc = cfg.n_mfcc.min(cfg.logmel.n_mels);
    names.extend((0..n_mfcc).map(|k| format!("mfcc{k}")));
    if cfg.mfcc_deltas {
        names.extend((0..n_mfcc).map(|k| format!("mfcc{k}_d")));
        names.extend((0..n_mfcc).map(|k| format!("mfcc{k}_dd")));
    }
    names.extend(["rms_db", "zcr", "f0_st"].map(String::from));
    names
}

/// The name of every value of the vector, in order: `<descriptor>_<functional>` and then the
/// utterance-level values.
pub fn names(cfg: &FeatureConfig) -> Vec<String> {
    let mut out: Vec<String> = lld_names(cfg)
        .iter()
        .flat_map(|l| STATS.iter().map(move |s| format!("{l}_{s}")))
        .collect();
    out.extend(UTTERANCE.iter().map(|s| s.to_string()));
    out
}

/// The functionals vector of 16 kHz mono samples: a `1 × names(cfg).len()` matrix.
pub fn compute(samples: &[f32], cfg: &FeatureConfig) -> FeatureMatrix {
    let l = &cfg.logmel;
    let f = &cfg.functionals;
    let sr = l.sample_rate_hz as f64;
    let hop = l.hop_length_samples;
    let logmel = super::mel::log_mel(samples, l);
    let mfcc = super::mfcc::mfcc(&logmel, cfg.n_mfcc, cfg.mfcc_deltas);
    let n = logmel.n_frames;
    let zcr = zero_crossing_rate(samples, l.n_fft, hop);
    let (rms_db, yin, voiced) = energy_pitch_voicing(samples, cfg);
    let secs_per_frame = hop as f64 / sr;
    let times: Vec<f64> = (0..n).map(|t| t as f64 * secs_per_frame).collect();
    let column = |m: &FeatureMatrix, b: usize| -> Vec<f64> {
        (0..m.n_frames)
            .map(|t| m.data[t * m.n_bins + b] as f64)
            .collect()
    };
    let mut out: Vec<f64> = Vec::new();
    let mut push = |values: &[f64], times: &[f64]| out.extend(stats(values, times));
    if f.mel_bands {
        for b in 0..logmel.n_bins {
            push(&column(&logmel, b), &times);
        }
        if f.mel_deltas {
            let d = super::mfcc::delta(&logmel, 1);
            for b in 0..d.n_bins {
                push(&column(&d, b), &times);
            }
        }
    }
    for b in 0..mfcc.n_bins {
        push(&column(&mfcc, b), &times);
    }
    let as_f64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    push(&as_f64(&rms_db), &times);
    push(&as_f64(&zcr), &times);
    // The YIN and RMS grids have the log-mel's frame count for even frame lengths; an odd
    // n_fft can make them one shorter, so frames are looked up, never indexed.
    let (f0_st, f0_times): (Vec<f64>, Vec<f64>) = (0..n.min(yin.f0.len()))
        .filter(|&t| voiced.get(t).copied().unwrap_or(false))
        .map(|t| (12.0 * (yin.f0[t] / 27.5).log2(), times[t]))
        .unzip();
    push(&f0_st, &f0_times);
    out.extend(utterance_values(
        &voiced,
        samples.len() as f64 / sr,
        secs_per_frame,
    ));
    FeatureMatrix {
        n_frames: 1,
        n_bins: out.len(),
        data: out.into_iter().map(|v| v as f32).collect(),
    }
}

/// The prosody values appended to every frame of a log-mel or MFCC stream with
/// `prosody: true`, in this order.
pub const PROSODY_NAMES: [&str; 3] = ["f0_st", "voiced", "rms_db"];

/// Per frame on the log-mel grid: RMS energy in dB, YIN pitch, and voicing (periodic and loud
/// enough), shared by the functionals and the prosody columns.
fn energy_pitch_voicing(samples: &[f32], cfg: &FeatureConfig) -> (Vec<f32>, Yin, Vec<bool>) {
    let l = &cfg.logmel;
    let f = &cfg.functionals;
    let hop = l.hop_length_samples;
    let rms_db = amplitude_to_db(&rms(samples, l.n_fft, hop), 1e-5, Some(80.0));
    let yin = yin(
        samples,
        l.sample_rate_hz,
        f.f0_min_hz as f64,
        f.f0_max_hz as f64,
        f.yin_frame_length,
        hop,
        f.yin_threshold as f64,
    );
    let voiced = voicing(&yin.periodic, &rms_db, f.voicing_range_db);
    (rms_db, yin, voiced)
}

/// `m` (frames on the log-mel grid of `cfg`) with [`PROSODY_NAMES`] appended to every frame,
/// computed as for the functionals: YIN F0 in semitones re 27.5 Hz on voiced frames and 0 on
/// the others, the voicing flag (1 / 0), RMS energy in dB. A frame the YIN or RMS grid lacks
/// (odd window lengths give them one frame fewer) counts as unvoiced at the quietest level.
pub fn with_prosody(m: FeatureMatrix, samples: &[f32], cfg: &FeatureConfig) -> FeatureMatrix {
    let (rms_db, yin, voiced) = energy_pitch_voicing(samples, cfg);
    let quietest = rms_db.iter().copied().fold(f32::INFINITY, f32::min);
    let extra = PROSODY_NAMES.len();
    let bins = m.n_bins + extra;
    let mut data = Vec::with_capacity(m.n_frames * bins);
    let is_voiced = |t: usize| voiced.get(t).copied().unwrap_or(false) && t < yin.f0.len();
    let f0: Vec<Option<f32>> = (0..m.n_frames)
        .map(|t| is_voiced(t).then(|| (12.0 * (yin.f0[t] / 27.5).log2()) as f32))
        .collect();
    let f0: Vec<f32> = if cfg.prosody_continuous_f0 {
        continuous(&f0)
    } else {
        f0.iter().map(|v| v.unwrap_or(0.0)).collect()
    };
    for (t, (frame, f0)) in m.data.chunks(m.n_bins.max(1)).zip(f0).enumerate() {
        data.extend_from_slice(frame);
        let v = is_voiced(t);
        data.push(f0);
        data.push(if v { 1.0 } else { 0.0 });
        data.push(rms_db.get(t).copied().unwrap_or(if quietest.is_finite() {
            quietest
        } else {
            -80.0
        }));
    }
    FeatureMatrix {
        n_frames: m.n_frames,
        n_bins: bins,
        data,
    }
}

/// A contour with its gaps (`None`) filled: linear between the known values around a gap,
/// the nearest known value before the first and after the last, 0 everywhere when none is
/// known.
fn continuous(values: &[Option<f32>]) -> Vec<f32> {
    let known: Vec<usize> = (0..values.len()).filter(|&t| values[t].is_some()).collect();
    let (Some(&first), Some(&last)) = (known.first(), known.last()) else {
        return vec![0.0; values.len()];
    };
    let at = |t: usize| values[t].unwrap_or(0.0);
    let mut out: Vec<f32> = values.iter().map(|v| v.unwrap_or(0.0)).collect();
    out[..first].fill(at(first));
    out[last + 1..].fill(at(last));
    for w in known.windows(2) {
        let (a, b) = (w[0], w[1]);
        for (t, o) in out.iter_mut().enumerate().take(b).skip(a + 1) {
            let r = (t - a) as f32 / (b - a) as f32;
            *o = at(a) + r * (at(b) - at(a));
        }
    }
    out
}

/// Voiced frames: periodic (a YIN trough below the threshold) and within `range_db` of the
/// loudest frame.
pub fn voicing(periodic: &[bool], rms_db: &[f32], range_db: f32) -> Vec<bool> {
    let loudest = rms_db.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    periodic
        .iter()
        .zip(rms_db)
        .map(|(&p, &db)| p && db >= loudest - range_db)
        .collect()
}

/// Duration, voiced ratio, voiced segments per second, mean voiced and unvoiced segment
/// lengths (seconds; 0 where there is no such segment).
fn utterance_values(voiced: &[bool], duration_s: f64, secs_per_frame: f64) -> [f64; 5] {
    let n = voiced.len().max(1) as f64;
    let ratio = voiced.iter().filter(|&&v| v).count() as f64 / n;
    // Runs of equal voicing.
    let mut runs: Vec<(bool, usize)> = Vec::new();
    for &v in voiced {
        match runs.last_mut() {
            Some((w, len)) if *w == v => *len += 1,
            _ => runs.push((v, 1)),
        }
    }
    let mean_len = |want: bool| {
        let lens: Vec<usize> = runs
            .iter()
            .filter(|(v, _)| *v == want)
            .map(|r| r.1)
            .collect();
        if lens.is_empty() {
            0.0
        } else {
            lens.iter().sum::<usize>() as f64 / lens.len() as f64 * secs_per_frame
        }
    };
    let segments = runs.iter().filter(|(v, _)| *v).count() as f64;
    [
        duration_s,
        ratio,
        if duration_s > 0.0 {
            segments / duration_s
        } else {
            0.0
        },
        mean_len(true),
        mean_len(false),
    ]
}

/// Mean, population std, p20, p50, p80 and least-squares slope (per second of `times`) of
/// `values`; zeros for an empty set, slope 0 for a single value.
pub fn stats(values: &[f64], times: &[f64]) -> [f64; 6] {
    if values.is_empty() {
        return [0.0; 6];
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let t_mean = times.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (t, v) in times.iter().zip(values) {
        sxy += (t - t_mean) * (v - mean);
        sxx += (t - t_mean).powi(2);
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    [
        mean,
        std,
        percentile(&sorted, 0.2),
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.8),
        slope,
    ]
}

/// The `q` quantile (0–1) of sorted values with numpy's default linear interpolation.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Centred frames of `frame_length` samples every `hop` (zero padding of `frame_length / 2` on
/// each side, or `edge` padding with the end samples): `1 + len / hop` frames, as
/// `librosa.util.frame` after `np.pad`.
fn frames(samples: &[f32], frame_length: usize, hop: usize, edge: bool) -> Vec<Vec<f64>> {
    let pad = frame_length / 2;
    let len = samples.len();
    let padded_len = len + 2 * pad;
    if padded_len < frame_length {
        return Vec::new();
    }
    let count = 1 + (padded_len - frame_length) / hop;
    let at = |i: usize| -> f64 {
        if i >= pad && i - pad < len {
            samples[i - pad] as f64
        } else if !edge || len == 0 {
            0.0
        } else if i < pad {
            samples[0] as f64
        } else {
            samples[len - 1] as f64
        }
    };
    (0..count)
        .map(|k| (0..frame_length).map(|j| at(k * hop + j)).collect())
        .collect()
}

/// Frame RMS, `librosa.feature.rms(y, frame_length, hop_length, center=True,
/// pad_mode="constant")`.
pub fn rms(samples: &[f32], frame_length: usize, hop: usize) -> Vec<f32> {
    frames(samples, frame_length, hop, false)
        .iter()
        .map(|f| (f.iter().map(|v| v * v).sum::<f64>() / frame_length as f64).sqrt() as f32)
        .collect()
}

/// `librosa.amplitude_to_db(a, ref=1.0, amin, top_db)`: 20·log10(max(amin, a)), clamped to
/// `top_db` below the maximum.
pub fn amplitude_to_db(a: &[f32], amin: f32, top_db: Option<f32>) -> Vec<f32> {
    let mut db: Vec<f32> = a.iter().map(|&v| 20.0 * v.max(amin).log10()).collect();
    if let Some(top) = top_db {
        let max = db.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for v in &mut db {
            *v = v.max(max - top);
        }
    }
    db
}

/// Zero-crossing rate per frame, `librosa.feature.zero_crossing_rate(y, frame_length,
/// hop_length, center=True)`: edge-padded frames, |x| ≤ 1e-10 counts as 0 (positive), a
/// crossing is a change of sign bit from the previous sample, mean over the frame.
pub fn zero_crossing_rate(samples: &[f32], frame_length: usize, hop: usize) -> Vec<f32> {
    let sign = |x: f64| x.abs() > 1e-10 && x < 0.0;
    frames(samples, frame_length, hop, true)
        .iter()
        .map(|f| {
            let crossings = f.windows(2).filter(|w| sign(w[0]) != sign(w[1])).count();
            (crossings as f64 / frame_length as f64) as f32
        })
        .collect()
}

/// YIN's output per frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Yin {
    /// F0 estimate, Hz (every frame, as `librosa.yin` returns it).
    pub f0: Vec<f64>,
    /// Whether a trough below the threshold was found (otherwise the global minimum was used).
    pub periodic: Vec<bool>,
}

/// F0 by YIN as `librosa.yin(y, fmin, fmax, sr, frame_length, hop_length, trough_threshold,
/// center=True, pad_mode="constant")` (librosa 0.11): the cumulative mean normalised
/// difference of each frame, the first local minimum below the threshold (else the global
/// minimum), refined by parabolic interpolation.
pub fn yin(
    samples: &[f32],
    sample_rate_hz: u32,
    fmin: f64,
    fmax: f64,
    frame_length: usize,
    hop: usize,
    threshold: f64,
) -> Yin {
    let sr = sample_rate_hz as f64;
    let min_period = ((sr / fmax).floor() as usize).max(1);
    let max_period = ((sr / fmin).ceil() as usize).min(frame_length - 1);
    let n_fft = 2 * frame_length;
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(n_fft);
    let inverse = planner.plan_fft_inverse(n_fft);
    let mut buf = forward.make_input_vec();
    let mut spec = forward.make_output_vec();
    let mut acf = inverse.make_output_vec();
    let mut out = Yin {
        f0: Vec::new(),
        periodic: Vec::new(),
    };
    for frame in frames(samples, frame_length, hop, false) {
        // Autocorrelation r(k) = Σ x[m]·x[m+k] through a zero-padded FFT.
        buf.fill(0.0);
        buf[..frame_length].copy_from_slice(&frame);
        forward
            .process(&mut buf, &mut spec)
            .expect("FFT sizes are fixed");
        for c in spec.iter_mut() {
            *c = realfft::num_complex::Complex::new(c.norm_sqr(), 0.0);
        }
        inverse
            .process(&mut spec, &mut acf)
            .expect("FFT sizes are fixed");
        let r = |k: usize| acf[k] / n_fft as f64;
        // d(k) = 2·(r(0) − r(k)) − Σ_{m<k} x[m]², d(0) = 0.
        let mut energy = 0.0;
        let mut d = vec![0.0f64; max_period + 1];
        for k in 1..=max_period {
            energy += frame[k - 1] * frame[k - 1];
            d[k] = 2.0 * (r(0) - r(k)) - energy;
        }
        // Cumulative mean normalised difference over periods min_period..=max_period.
        let mut cumsum = 0.0;
        let mut cmnd = Vec::with_capacity(max_period + 1 - min_period);
        for (k, &dk) in d.iter().enumerate().skip(1) {
            cumsum += dk;
            if k >= min_period {
                cmnd.push(dk / (cumsum / k as f64 + f32::MIN_POSITIVE as f64));
            }
        }
        let n = cmnd.len();
        let trough = |i: usize| -> bool {
            if i == 0 {
                n > 1 && cmnd[0] < cmnd[1]
            } else if i + 1 == n {
                cmnd[i] < cmnd[i - 1]
            } else {
                cmnd[i] < cmnd[i - 1] && cmnd[i] <= cmnd[i + 1]
            }
        };
        let first = (0..n).find(|&i| trough(i) && cmnd[i] < threshold);
        let idx = first.unwrap_or_else(|| {
            (0..n).fold(0, |best, i| if cmnd[i] < cmnd[best] { i } else { best })
        });
        let shift = if idx == 0 || idx + 1 >= n {
            0.0
        } else {
            let a = cmnd[idx + 1] + cmnd[idx - 1] - 2.0 * cmnd[idx];
            let b = (cmnd[idx + 1] - cmnd[idx - 1]) / 2.0;
            if b.abs() >= a.abs() { 0.0 } else { -b / a }
        };
        out.f0.push(sr / (min_period as f64 + idx as f64 + shift));
        out.periodic.push(first.is_some());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gaps are filled linearly between known values, held at the ends, 0 with none known.
    #[test]
    fn continuous_contour_fills_gaps() {
        let v = [None, Some(10.0), None, None, Some(16.0), Some(14.0), None];
        assert_eq!(
            continuous(&v),
            vec![10.0, 10.0, 12.0, 14.0, 16.0, 14.0, 14.0]
        );
        assert_eq!(continuous(&[None, None]), vec![0.0, 0.0]);
        assert_eq!(continuous(&[]), Vec::<f32>::new());
    }

    /// A 200 Hz tone for 0.5 s, then 0.5 s of silence, as a log-mel stream with prosody: the
    /// tone's frames carry F0 = 12·log2(200 / 27.5) = 34.36 semitones and the voiced flag, the
    /// silent ones 0 and 0 and an energy 80 dB (the floor) below; the log-mel bins are those of
    /// the plain stream.
    #[test]
    fn prosody_values_beside_the_log_mel_frames() {
        let sr = 16_000;
        let x: Vec<f32> = (0..sr)
            .map(|i| {
                if i < sr / 2 {
                    0.5 * (2.0 * std::f32::consts::PI * 200.0 * i as f32 / sr as f32).sin()
                } else {
                    0.0
                }
            })
            .collect();
        // 25 ms / 10 ms frames: 100 per second.
        let plain = FeatureConfig {
            logmel: crate::features::LogMelConfig::short_window(40),
            ..FeatureConfig::default()
        };
        let cfg = FeatureConfig {
            prosody: true,
            ..plain.clone()
        };
        assert_eq!(cfg.n_bins(), plain.n_bins() + 3);
        assert_ne!(cfg.extractor_key(), plain.extractor_key());
        let a = crate::features::compute(&x, &plain);
        let m = crate::features::compute(&x, &cfg);
        assert_eq!((m.n_frames, m.n_bins), (a.n_frames, cfg.n_bins()));
        let row = |t: usize| &m.data[t * m.n_bins..(t + 1) * m.n_bins];
        for t in [5, 20, 40] {
            assert_eq!(
                &row(t)[..a.n_bins],
                &a.data[t * a.n_bins..(t + 1) * a.n_bins]
            );
            let p = &row(t)[a.n_bins..];
            assert!((p[0] - 34.36).abs() < 0.1, "frame {t}: F0 {} st", p[0]);
            assert_eq!(p[1], 1.0);
            assert!(p[2] > -10.0, "frame {t}: {} dB", p[2]);
        }
        for t in [70, 90] {
            let p = &row(t)[a.n_bins..];
            assert_eq!((p[0], p[1]), (0.0, 0.0), "frame {t}");
            assert!(p[2] < -75.0, "frame {t}: {} dB", p[2]);
        }
        // The continuous F0 holds the tone's last F0 over the silence; everything else (and
        // the voicing flag) is unchanged, and the cache key differs.
        let cont = FeatureConfig {
            prosody_continuous_f0: true,
            ..cfg.clone()
        };
        assert_ne!(cont.extractor_key(), cfg.extractor_key());
        let c = crate::features::compute(&x, &cont);
        let f0 = a.n_bins;
        let last_voiced = (0..m.n_frames)
            .rev()
            .find(|&t| row(t)[f0 + 1] == 1.0)
            .expect("voiced");
        for t in 0..m.n_frames {
            let (cr, mr) = (&c.data[t * c.n_bins..(t + 1) * c.n_bins], row(t));
            if t > last_voiced {
                assert_eq!(cr[f0], row(last_voiced)[f0], "frame {t}");
            } else if mr[f0 + 1] == 1.0 {
                assert_eq!(cr[f0], mr[f0], "frame {t}");
            }
            for k in (0..c.n_bins).filter(|&k| k != f0) {
                assert_eq!(cr[k], mr[k], "frame {t} bin {k}");
            }
        }
    }

    /// Hand-computed: values 1..5 at t = 0..4 s: mean 3, std √2, p20 = 1.8, p50 = 3, p80 =
    /// 4.2, slope 1 per second.
    #[test]
    fn stats_match_hand_values() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        let t = [4.0, 0.0, 2.0, 1.0, 3.0];
        let s = stats(&v, &t);
        let want = [3.0, 2f64.sqrt(), 1.8, 3.0, 4.2, 1.0];
        for (a, b) in s.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{s:?} vs {want:?}");
        }
        assert_eq!(stats(&[], &[]), [0.0; 6]);
        assert_eq!(stats(&[2.0], &[0.5]), [2.0, 0.0, 2.0, 2.0, 2.0, 0.0]);
    }

    /// Odd window lengths, a file shorter than one window and silence give a finite vector of
    /// the named length.
    #[test]
    fn odd_windows_short_and_silent_files() {
        let mut cfg = FeatureConfig {
            stream: super::super::StreamKind::Functionals,
            ..FeatureConfig::default()
        };
        cfg.logmel = super::super::LogMelConfig::short_window(40);
        cfg.logmel.n_fft = 401;
        for x in [vec![0.0f32; 16_000], vec![0.1f32; 100], Vec::new(), {
            (0..16_000)
                .map(|i| ((i % 80) as f32 / 80.0) - 0.5)
                .collect()
        }] {
            let m = compute(&x, &cfg);
            assert_eq!(m.n_bins, names(&cfg).len());
            assert!(m.data.iter().all(|v| v.is_finite()), "{:?}", &m.data[..8]);
        }
    }

    /// A pure 200 Hz sine is found at 200 Hz (within 0.5 %) and periodic; silence is
    /// never voiced; the vector has one named value per name.
    #[test]
    fn yin_finds_a_sine_and_names_match() {
        let sr = 16_000u32;
        let x: Vec<f32> = (0..8000)
            .map(|i| (2.0 * std::f32::consts::PI * 200.0 * i as f32 / sr as f32).sin() * 0.5)
            .collect();
        let y = yin(&x, sr, 60.0, 500.0, 1024, 160, 0.1);
        for t in 5..y.f0.len() - 5 {
            assert!((y.f0[t] - 200.0).abs() < 1.0, "frame {t}: {}", y.f0[t]);
            assert!(y.periodic[t]);
        }
        let mut cfg = FeatureConfig {
            stream: super::super::StreamKind::Functionals,
            ..FeatureConfig::default()
        };
        cfg.logmel = super::super::LogMelConfig::short_window(40);
        cfg.n_mfcc = 13;
        cfg.mfcc_deltas = true;
        let mut silent_then_sine = vec![0.0f32; 8000];
        silent_then_sine.extend(&x);
        let m = compute(&silent_then_sine, &cfg);
        let names = names(&cfg);
        assert_eq!(m.n_bins, names.len());
        assert_eq!(m.n_bins, cfg.n_bins());
        assert!(m.data.iter().all(|v| v.is_finite()));
        let get = |n: &str| m.data[names.iter().position(|x| x == n).unwrap()];
        assert!((get("duration_s") - 1.0).abs() < 1e-6);
        // Half the frames are the sine (a few frames at the edges mix both).
        assert!(
            (get("voiced_ratio") - 0.5).abs() < 0.05,
            "{}",
            get("voiced_ratio")
        );
        let st_200 = (12.0 * (200.0f64 / 27.5).log2()) as f32;
        assert!((get("f0_st_p50") - st_200).abs() < 0.05);
        assert!(get("voiced_segments_per_s") > 0.9 && get("voiced_segments_per_s") < 1.1);
    }
}
