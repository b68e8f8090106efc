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
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
        Self {
            n_fft,
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

    /// Calls `sink(frame_index, power_bins)` for every frame, |X|² of the windowed frame.
    pub fn for_each_frame(&self, samples: &[f32], mut sink: impl FnMut(usize, &[f32])) {
        let pad = self.n_fft / 2;
        let n_frames = self.n_frames(samples.len());
        let mut frame = self.fft.make_input_vec();
        let mut spec = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0.0f32; self.n_bins()];
        for t in 0..n_frames {
            let start = (t * self.hop_length_samples) as isize - pad as isize;
            for (i, (f, w)) in frame.iter_mut().zip(&self.window).enumerate() {
                let j = start + i as isize;
                *f = if j >= 0 && (j as usize) < samples.len() {
                    samples[j as usize] * w
                } else {
                    0.0
                };
            }
            // Lengths come from the plan itself, so process cannot fail.
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

    /// A sine exactly on bin k: power concentrates in bins k-1..k+1 (Hann main lobe); Parseval
    /// with the window gives the peak value (A·Σw/2)² at bin k.
    #[test]
    fn sine_on_bin_has_known_peak() {
        let n_fft = 512;
        let k = 32;
        let x: Vec<f32> = (0..8000)
            .map(|n| (2.0 * std::f64::consts::PI * k as f64 * n as f64 / n_fft as f64).cos() as f32)
            .collect();
        let s = PowerStft::new(n_fft, 128);
        assert_eq!(s.n_frames(x.len()), 1 + 8000 / 128);
        let mut peak = 0.0;
        let mut off = 0.0f32;
        s.for_each_frame(&x, |t, p| {
            if t == 30 {
                peak = p[k];
                off = p[k + 5];
            }
        });
        let expected = (n_fft as f32 / 2.0 / 2.0).powi(2); // Σw = n_fft/2 for periodic Hann
        assert!(
            (peak - expected).abs() / expected < 1e-4,
            "{peak} vs {expected}"
        );
        assert!(off < expected * 1e-8);
    }
}
