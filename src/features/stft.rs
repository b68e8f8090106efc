//! Power spectrogram with librosa's `stft` conventions: periodic Hann window of length n_fft,
//! `center=True` with zero padding of n_fft/2 on both sides (`pad_mode="constant"`, librosa
//! ≥ 0.10), frames = 1 + len / hop.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

/// Reusable plan for one n_fft.
pub struct PowerStft {
    n_fft: usize,
    hop_length_samples: usize,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl PowerStft {
    /// Plan for `n_fft` (any size) and hop.
    pub fn new(n_fft: usize, hop_length_samples: usize) -> Self {
        let window = (0..n_fft)
            .map(|n| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / n_fft as f64).cos()) as f32
            })
            .collect();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft.max(1));
        Self {
            n_fft: n_fft.max(1),
            hop_length_samples: hop_length_samples.max(1),
            window,
            fft,
        }
    }

    /// Number of frequency bins (1 + n_fft/2).
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Number of STFT frames for `n_samples` samples.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        1 + n_samples / self.hop_length_samples
    }

    /// Writes windowed frame `t` (zeros outside the signal) into `out` (length n_fft).
    fn windowed(&self, samples: &[f32], t: usize, out: &mut [f32]) {
        let start = (t * self.hop_length_samples) as isize - (self.n_fft / 2) as isize;
        if start >= 0 && start as usize + self.n_fft <= samples.len() {
            // Interior frame: a straight windowed copy (vectorises).
            let s = &samples[start as usize..start as usize + self.n_fft];
            for ((o, x), w) in out.iter_mut().zip(s).zip(&self.window) {
                *o = x * w;
            }
        } else {
            for (i, (o, w)) in out.iter_mut().zip(&self.window).enumerate() {
                let j = start + i as isize;
                *o = if j >= 0 && (j as usize) < samples.len() {
                    samples[j as usize] * w
                } else {
                    0.0
                };
            }
        }
    }

    /// Calls `sink(frame_index, power_bins)` for every frame in order, |X|² of the windowed frame.
    pub fn for_each_frame(&self, samples: &[f32], mut sink: impl FnMut(usize, &[f32])) {
        let mut frame = self.fft.make_input_vec();
        let mut spec = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0.0f32; self.n_bins()];
        for t in 0..self.n_frames(samples.len()) {
            self.windowed(samples, t, &mut frame);
            // Buffer lengths come from the plan itself, so `process` cannot fail.
            if self
                .fft
                .process_with_scratch(&mut frame, &mut spec, &mut scratch)
                .is_err()
            {
                continue;
            }
            for (p, c) in power.iter_mut().zip(&spec) {
                *p = c.re * c.re + c.im * c.im;
            }
            sink(t, &power);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sine exactly on bin k: power concentrates in bins k-1..k+1 (Hann main lobe); with the
    /// periodic Hann window Σw = n_fft/2, so the peak is (A·Σw/2)² at bin k.
    #[test]
    fn sine_on_bin_has_known_peak() {
        let n_fft = 512;
        let k = 32;
        let x: Vec<f32> = (0..8000)
            .map(|n| (2.0 * std::f64::consts::PI * k as f64 * n as f64 / n_fft as f64).cos() as f32)
            .collect();
        let s = PowerStft::new(n_fft, 128);
        assert_eq!(s.n_frames(x.len()), 1 + 8000 / 128);
        let mut seen = Vec::new();
        let mut peak = [0.0f32; 2];
        let mut off = 0.0f32;
        s.for_each_frame(&x, |t, p| {
            seen.push(t);
            if t == 30 || t == 31 {
                peak[t - 30] = p[k];
                off = off.max(p[k + 5]);
            }
        });
        assert_eq!(seen, (0..s.n_frames(x.len())).collect::<Vec<_>>());
        let expected = (n_fft as f32 / 2.0 / 2.0).powi(2);
        for p in peak {
            assert!((p - expected).abs() / expected < 1e-4, "{p} vs {expected}");
        }
        assert!(off < expected * 1e-8);
    }
}
