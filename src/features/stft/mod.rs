//! Power spectrogram with librosa's `stft` conventions: periodic Hann window of length n_fft,
//! `center=True` with zero padding of n_fft/2 on both sides (`pad_mode="constant"`, librosa
//! ≥ 0.10), frames = 1 + len / hop.
//!
//! For an even n_fft (every configuration the workbench ships) each frame is transformed as one
//! complex FFT of n_fft/2 points — even samples as real parts, odd samples as imaginary parts — and
//! the real spectrum is split out of it afterwards (the textbook "real FFT via a half-length
//! complex FFT", the same algorithm realfft runs). Doing it here instead of through realfft lets
//! the frames of a file go through RustFFT in batches (one call for many frames) and fuses the
//! split with |X|², vectorised with AVX2 where the CPU has it (docs/perf/cpu.md). Odd n_fft uses
//! realfft frame by frame.
//!
//! Where n_fft/2 is a power of two and the CPU has AVX2 and FMA, [`PowerStft::for_each_group`]
//! transforms eight frames at once, one per SIMD lane (`lanes.rs`), in about 0.7× the time of the
//! batched RustFFT path (docs/perf/cpu.md, item 11).

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

#[cfg(target_arch = "x86_64")]
mod lanes;

/// Frames per group in [`PowerStft::for_each_group`].
pub const GROUP_FRAMES: usize = 8;

/// Bytes of complex frames transformed per RustFFT call (sized to stay in L2).
const BATCH_BYTES: usize = 64 * 1024;

enum Transform {
    /// Even n_fft: a complex FFT of n_fft/2 points and the split twiddles W^k = e^(−2πik/n_fft),
    /// k = 0..=n_fft/4.
    Packed {
        fft: Arc<dyn Fft<f32>>,
        twiddles: Vec<Complex<f32>>,
    },
    /// Odd n_fft: realfft.
    Real(Arc<dyn RealToComplex<f32>>),
}

/// Reusable plan for one n_fft.
pub struct PowerStft {
    n_fft: usize,
    hop_length_samples: usize,
    window: Vec<f32>,
    transform: Transform,
    /// Eight frames per call, one per AVX2 lane, where that applies.
    #[cfg(target_arch = "x86_64")]
    lanes: Option<lanes::LanePlan>,
}

impl PowerStft {
    /// Plan for `n_fft` (any size) and hop.
    pub fn new(n_fft: usize, hop_length_samples: usize) -> Self {
        let n_fft = n_fft.max(1);
        let window: Vec<f32> = (0..n_fft)
            .map(|n| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / n_fft as f64).cos()) as f32
            })
            .collect();
        let transform = if n_fft.is_multiple_of(2) {
            let m = n_fft / 2;
            let twiddles = (0..=m / 2)
                .map(|k| {
                    let a = -2.0 * std::f64::consts::PI * k as f64 / n_fft as f64;
                    Complex::new(a.cos() as f32, a.sin() as f32)
                })
                .collect();
            Transform::Packed {
                fft: FftPlanner::<f32>::new().plan_fft_forward(m),
                twiddles,
            }
        } else {
            Transform::Real(RealFftPlanner::<f32>::new().plan_fft_forward(n_fft))
        };
        #[cfg(target_arch = "x86_64")]
        let lanes = lanes::LanePlan::new(&window);
        Self {
            n_fft,
            hop_length_samples: hop_length_samples.max(1),
            window,
            transform,
            #[cfg(target_arch = "x86_64")]
            lanes,
        }
    }

    /// Calls `sink(first_frame, frames, power)` for consecutive groups of up to
    /// [`GROUP_FRAMES`] frames, `power[bin][lane]` = |X|² of frame `first_frame + lane` (lanes
    /// from `frames` on hold zeros), and returns true; returns false without calling `sink`
    /// where this plan has no eight-lane path (then use [`Self::for_each_frame`]).
    pub fn for_each_group(
        &self,
        samples: &[f32],
        sink: impl FnMut(usize, usize, &[[f32; GROUP_FRAMES]]),
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let Some(plan) = &self.lanes {
            plan.for_each_group(self.hop_length_samples, samples, sink);
            return true;
        }
        let _ = (samples, sink);
        false
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
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { self.windowed_avx2(samples, t, out) };
                return;
            }
        }
        self.windowed_portable(samples, t, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn windowed_avx2(&self, samples: &[f32], t: usize, out: &mut [f32]) {
        self.windowed_portable(samples, t, out);
    }

    #[inline(always)]
    fn windowed_portable(&self, samples: &[f32], t: usize, out: &mut [f32]) {
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
    pub fn for_each_frame(&self, samples: &[f32], sink: impl FnMut(usize, &[f32])) {
        match &self.transform {
            Transform::Packed { fft, twiddles } => self.packed_frames(samples, fft, twiddles, sink),
            Transform::Real(fft) => self.real_frames(samples, fft, sink),
        }
    }

    fn packed_frames(
        &self,
        samples: &[f32],
        fft: &Arc<dyn Fft<f32>>,
        twiddles: &[Complex<f32>],
        mut sink: impl FnMut(usize, &[f32]),
    ) {
        let m = self.n_fft / 2;
        let n_frames = self.n_frames(samples.len());
        let batch = (BATCH_BYTES / (8 * m)).clamp(1, n_frames);
        let mut buf = vec![Complex::new(0.0f32, 0.0); batch * m];
        let mut scratch = vec![Complex::new(0.0f32, 0.0); fft.get_inplace_scratch_len()];
        let mut power = vec![0.0f32; self.n_bins()];
        let mut t0 = 0;
        while t0 < n_frames {
            let b = batch.min(n_frames - t0);
            let frames = &mut buf[..b * m];
            for (i, z) in frames.chunks_exact_mut(m).enumerate() {
                self.windowed(samples, t0 + i, as_interleaved(z));
            }
            fft.process_with_scratch(frames, &mut scratch);
            for (i, z) in frames.chunks_exact(m).enumerate() {
                split_power(z, twiddles, &mut power);
                sink(t0 + i, &power);
            }
            t0 += b;
        }
    }

    fn real_frames(
        &self,
        samples: &[f32],
        fft: &Arc<dyn RealToComplex<f32>>,
        mut sink: impl FnMut(usize, &[f32]),
    ) {
        let mut frame = fft.make_input_vec();
        let mut spec = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        let mut power = vec![0.0f32; self.n_bins()];
        for t in 0..self.n_frames(samples.len()) {
            self.windowed(samples, t, &mut frame);
            // Buffer lengths come from the plan itself, so `process` cannot fail.
            if fft
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

/// The complex buffer as its interleaved `[re, im, re, im, …]` floats.
fn as_interleaved(z: &mut [Complex<f32>]) -> &mut [f32] {
    // SAFETY: `Complex<f32>` is `#[repr(C)]` with fields `re, im`, so a slice of n complex values
    // is 2n contiguous, aligned f32 values; the returned slice borrows `z` mutably for its lifetime.
    unsafe { std::slice::from_raw_parts_mut(z.as_mut_ptr().cast::<f32>(), 2 * z.len()) }
}

/// |X[k]|² for k = 0..=m of the 2m-point real FFT X, from Z = the m-point complex FFT of
/// z[n] = x[2n] + i·x[2n+1]. With E = (Z[k] + conj Z[m−k])/2 and O = (Z[k] − conj Z[m−k])/(2i):
/// X[k] = E + W^k·O and X[m−k] = conj(E − W^k·O), so each pair (k, m−k) shares E and W^k·O.
fn split_power(z: &[Complex<f32>], twiddles: &[Complex<f32>], power: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { split_power_avx2(z, twiddles, power) };
            return;
        }
    }
    split_power_scalar(z, twiddles, power);
}

/// Portable [`split_power`].
fn split_power_scalar(z: &[Complex<f32>], twiddles: &[Complex<f32>], power: &mut [f32]) {
    split_edges(z, power);
    split_pairs(z, twiddles, power, 1);
}

/// The k = 0 and k = m bins (both real): Z[0].re ± Z[0].im.
fn split_edges(z: &[Complex<f32>], power: &mut [f32]) {
    let m = z.len();
    let (r0, i0) = (z[0].re, z[0].im);
    power[0] = (r0 + i0) * (r0 + i0);
    power[m] = (r0 - i0) * (r0 - i0);
}

/// The pairs (k, m−k) for k = `from`..=m/2.
fn split_pairs(z: &[Complex<f32>], twiddles: &[Complex<f32>], power: &mut [f32], from: usize) {
    let m = z.len();
    for k in from..=m / 2 {
        let (a, b) = (z[k], z[m - k]);
        let (er, ei) = (0.5 * (a.re + b.re), 0.5 * (a.im - b.im));
        let (or, oi) = (0.5 * (a.im + b.im), -0.5 * (a.re - b.re));
        let w = twiddles[k];
        let (wr, wi) = (w.re * or - w.im * oi, w.re * oi + w.im * or);
        let (xr, xi) = (er + wr, ei + wi);
        power[k] = xr * xr + xi * xi;
        if m - k != k {
            let (yr, yi) = (er - wr, ei - wi);
            power[m - k] = yr * yr + yi * yi;
        }
    }
}

/// [`split_power_scalar`] eight pairs at a time: four complex values per 256-bit register, the
/// mirrored Z[m−k] loaded backwards and reversed in-register, W^k·O by `fmaddsub`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn split_power_avx2(z: &[Complex<f32>], twiddles: &[Complex<f32>], power: &mut [f32]) {
    use std::arch::x86_64::*;
    let m = z.len();
    let half = m / 2;
    assert!(twiddles.len() > half && power.len() > m);
    let zp = z.as_ptr().cast::<f32>();
    let wp = twiddles.as_ptr().cast::<f32>();
    let pp = power.as_mut_ptr();
    let imag_sign = _mm256_setr_ps(0.0, -0.0, 0.0, -0.0, 0.0, -0.0, 0.0, -0.0);
    let half_alt = _mm256_setr_ps(0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5);
    let halves = _mm256_set1_ps(0.5);
    let reverse8 = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    // [c0 c1 c2 c3] -> [c3 c2 c1 c0] (one complex value = one 64-bit lane).
    let reverse_complex =
        |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0b00_01_10_11>(_mm256_castps_pd(v)));
    // (re, im) -> (im, re) in every complex value.
    let swap = |v: __m256| _mm256_permute_ps::<0b10_11_00_01>(v);
    // (|E + W·O|², |E − W·O|²) per float, for four pairs.
    let squares = |a: __m256, b: __m256, w: __m256| {
        let cb = _mm256_xor_ps(b, imag_sign);
        let e = _mm256_mul_ps(halves, _mm256_add_ps(a, cb));
        let o = _mm256_mul_ps(swap(_mm256_sub_ps(a, cb)), half_alt);
        let wo = _mm256_fmaddsub_ps(
            _mm256_moveldup_ps(w),
            o,
            _mm256_mul_ps(_mm256_movehdup_ps(w), swap(o)),
        );
        let (x, y) = (_mm256_add_ps(e, wo), _mm256_sub_ps(e, wo));
        (_mm256_mul_ps(x, x), _mm256_mul_ps(y, y))
    };
    // hadd leaves [p0 p1 p4 p5 | p2 p3 p6 p7]; put the 64-bit pairs back in order.
    let in_order =
        |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)));
    let mut k = 1;
    while k + 8 <= half {
        // SAFETY: k + 7 < m/2, so z[k..k + 8], z[m − k − 7..=m − k] and twiddles[k..k + 8] (length
        // m/2 + 1) are in bounds, as are power[k..k + 8] and power[m − k − 7..=m − k].
        let (a0, a1, b0, b1, w0, w1) = unsafe {
            (
                _mm256_loadu_ps(zp.add(2 * k)),
                _mm256_loadu_ps(zp.add(2 * (k + 4))),
                _mm256_loadu_ps(zp.add(2 * (m - k - 3))),
                _mm256_loadu_ps(zp.add(2 * (m - k - 7))),
                _mm256_loadu_ps(wp.add(2 * k)),
                _mm256_loadu_ps(wp.add(2 * (k + 4))),
            )
        };
        let (x0, y0) = squares(a0, reverse_complex(b0), w0);
        let (x1, y1) = squares(a1, reverse_complex(b1), w1);
        let ordered = in_order(_mm256_hadd_ps(x0, x1));
        let mirrored = _mm256_permutevar8x32_ps(in_order(_mm256_hadd_ps(y0, y1)), reverse8);
        // SAFETY: see the loads.
        unsafe {
            _mm256_storeu_ps(pp.add(k), ordered);
            _mm256_storeu_ps(pp.add(m - k - 7), mirrored);
        }
        k += 8;
    }
    split_edges(z, power);
    split_pairs(z, twiddles, power, k);
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

    /// |X|² of each frame through realfft, frame by frame: the reference for the packed path.
    fn realfft_power(x: &[f32], n_fft: usize, hop: usize) -> Vec<Vec<f32>> {
        let window = PowerStft::new(n_fft, hop).window;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
        (0..1 + x.len() / hop)
            .map(|t| {
                let mut frame: Vec<f32> = (0..n_fft)
                    .map(|i| {
                        let j = (t * hop + i) as isize - (n_fft / 2) as isize;
                        if j >= 0 && (j as usize) < x.len() {
                            x[j as usize] * window[i]
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let mut spec = fft.make_output_vec();
                fft.process(&mut frame, &mut spec).unwrap();
                spec.iter().map(|c| c.norm_sqr()).collect()
            })
            .collect()
    }

    fn test_signal(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let noise = ((i * 7919) % 1013) as f32 / 1013.0 - 0.5;
                0.4 * ((i as f32 * 0.013).sin() + noise)
            })
            .collect()
    }

    /// The batched half-length complex FFT + split equals realfft for even and odd sizes
    /// (including sizes below one AVX2 step and ones with a scalar tail), signals shorter than a
    /// frame, and batch boundaries (2048-point frames: 8 per batch).
    #[test]
    fn equals_realfft_for_every_size() {
        let x = test_signal(40_000);
        for n_fft in [
            1, 2, 3, 4, 6, 8, 16, 18, 34, 48, 66, 400, 401, 512, 1000, 2048,
        ] {
            for len in [0, 1, 5, 300, 40_000] {
                let want = realfft_power(&x[..len], n_fft, 160);
                let s = PowerStft::new(n_fft, 160);
                let mut seen = 0;
                s.for_each_frame(&x[..len], |t, p| {
                    assert_eq!(t, seen);
                    seen += 1;
                    assert_eq!(p.len(), want[t].len());
                    let peak = want[t].iter().copied().fold(1e-6, f32::max);
                    for (k, (a, b)) in p.iter().zip(&want[t]).enumerate() {
                        assert!(
                            (a - b).abs() <= 2e-6 * peak,
                            "n_fft {n_fft}, {len} samples, frame {t}, bin {k}: {a} vs {b}"
                        );
                    }
                });
                assert_eq!(seen, want.len(), "n_fft {n_fft}, {len} samples");
            }
        }
    }

    /// The eight-lane path equals realfft frame by frame for every power-of-two size it takes
    /// (odd and even log₂ of n_fft/2, so with and without the radix-2 level; sizes above
    /// 512 points use the depth-first blocks), for signals shorter than a frame, with frames
    /// cut by both ends of the signal and groups with fewer than eight frames; it declines the
    /// rest.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn eight_lanes_equal_realfft() {
        if !(std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma"))
        {
            return;
        }
        let x = test_signal(40_000);
        for (n_fft, hop) in [
            (32, 8),
            (64, 160),
            (128, 100),
            (256, 64),
            (512, 160),
            (1024, 256),
            (2048, 512),
            (4096, 1000),
        ] {
            for len in [0, 1, 5, 300, 2047, 40_000] {
                let want = realfft_power(&x[..len], n_fft, hop);
                let s = PowerStft::new(n_fft, hop);
                let mut seen = 0;
                let grouped = s.for_each_group(&x[..len], |t0, frames, p| {
                    assert_eq!(t0, seen);
                    assert!((1..=GROUP_FRAMES).contains(&frames));
                    seen += frames;
                    assert_eq!(p.len(), n_fft / 2 + 1);
                    for f in 0..GROUP_FRAMES {
                        let Some(want) = want.get(t0 + f).filter(|_| f < frames) else {
                            assert!(p.iter().all(|b| b[f] == 0.0), "unused lane {f} not zero");
                            continue;
                        };
                        let peak = want.iter().copied().fold(1e-6, f32::max);
                        for (k, (b, w)) in p.iter().zip(want).enumerate() {
                            assert!(
                                (b[f] - w).abs() <= 2e-6 * peak,
                                "n_fft {n_fft}, {len} samples, frame {}, bin {k}: {} vs {w}",
                                t0 + f,
                                b[f]
                            );
                        }
                    }
                });
                assert!(grouped, "n_fft {n_fft}");
                assert_eq!(seen, want.len(), "n_fft {n_fft}, {len} samples");
            }
        }
        for n_fft in [2, 16, 30, 400, 401, 1000] {
            let declined = !PowerStft::new(n_fft, 160)
                .for_each_group(&x, |_, _, _| panic!("n_fft {n_fft} has no eight-lane path"));
            assert!(declined);
        }
    }

    /// The AVX2 split and the portable one agree (the packed test above runs whichever the CPU
    /// picks).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_split_equals_portable_split() {
        if !(std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma"))
        {
            return;
        }
        let x = test_signal(4096);
        for m in [1, 2, 3, 8, 15, 16, 17, 24, 33, 200, 1024] {
            let z: Vec<Complex<f32>> = (0..m)
                .map(|i| Complex::new(x[2 * i], x[2 * i + 1]))
                .collect();
            let twiddles: Vec<Complex<f32>> = (0..=m / 2)
                .map(|k| {
                    let a = -std::f64::consts::PI * k as f64 / m as f64;
                    Complex::new(a.cos() as f32, a.sin() as f32)
                })
                .collect();
            let mut portable = vec![f32::NAN; m + 1];
            let mut avx2 = vec![f32::NAN; m + 1];
            split_power_scalar(&z, &twiddles, &mut portable);
            // SAFETY: AVX2 and FMA checked above.
            unsafe { split_power_avx2(&z, &twiddles, &mut avx2) };
            // Relative to the spectrum's peak: FMA rounds E ± W·O differently, which shows on
            // bins far below the peak.
            let peak = portable.iter().copied().fold(1e-3, f32::max);
            for k in 0..=m {
                let tol = 1e-6 * peak;
                assert!(
                    (portable[k] - avx2[k]).abs() <= tol,
                    "m {m}, k {k}: {} vs {}",
                    portable[k],
                    avx2[k]
                );
            }
        }
    }
}
