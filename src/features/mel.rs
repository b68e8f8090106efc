//! Slaney mel filterbank (`librosa.filters.mel(htk=False, norm="slaney")`) and log-mel with
//! `librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80)`.

use super::stft::{GROUP_FRAMES, PowerStft};
use super::{FeatureMatrix, LogMelConfig};

/// Slaney-scale Hz → mel (linear below 1 kHz, logarithmic above).
pub fn hz_to_mel(f: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= min_log_hz {
        min_log_mel + (f / min_log_hz).ln() / logstep
    } else {
        f / f_sp
    }
}

/// Slaney-scale mel → Hz.
pub fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        min_log_hz * (logstep * (m - min_log_mel)).exp()
    } else {
        f_sp * m
    }
}

/// Sparse mel filterbank: for each band, the first FFT bin and its weights.
#[derive(Clone, Debug)]
pub struct MelFilterbank {
    /// `(first_bin, weights)` per band.
    pub bands: Vec<(usize, Vec<f32>)>,
    /// Number of FFT bins the filters apply to.
    pub n_fft_bins: usize,
    /// The bands as `apply` reads them: `(first_bin, offset in padded, length)`, each widened
    /// with zero weights to a whole number of 8-float lanes (most bands span 5–7 bins, which a
    /// plain dot product would leave entirely to its scalar tail).
    lanes: Vec<(usize, usize, usize)>,
    padded: Vec<f32>,
}

impl MelFilterbank {
    /// Builds the filterbank exactly as librosa does (computed in f64, stored as f32).
    pub fn new(
        sample_rate_hz: u32,
        n_fft: usize,
        n_mels: usize,
        fmin_hz: f64,
        fmax_hz: f64,
    ) -> Self {
        let n_fft_bins = n_fft / 2 + 1;
        let sr = sample_rate_hz as f64;
        let fftfreqs: Vec<f64> = (0..n_fft_bins)
            .map(|k| k as f64 * sr / n_fft as f64)
            .collect();
        let (mmin, mmax) = (hz_to_mel(fmin_hz), hz_to_mel(fmax_hz));
        let mel_f: Vec<f64> = (0..n_mels + 2)
            .map(|i| mel_to_hz(mmin + (mmax - mmin) * i as f64 / (n_mels + 1) as f64))
            .collect();
        let mut bands = Vec::with_capacity(n_mels);
        for i in 0..n_mels {
            let fdiff_lo = mel_f[i + 1] - mel_f[i];
            let fdiff_hi = mel_f[i + 2] - mel_f[i + 1];
            let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
            let w: Vec<f64> = fftfreqs
                .iter()
                .map(|&f| {
                    let lower = -(mel_f[i] - f) / fdiff_lo;
                    let upper = (mel_f[i + 2] - f) / fdiff_hi;
                    lower.min(upper).max(0.0) * enorm
                })
                .collect();
            let first = w.iter().position(|&v| v > 0.0).unwrap_or(0);
            let last = w.iter().rposition(|&v| v > 0.0).map_or(first, |l| l + 1);
            bands.push((
                first,
                w[first..last.max(first)]
                    .iter()
                    .map(|&v| v as f32)
                    .collect(),
            ));
        }
        let (lanes, padded) = pad_to_lanes(&bands, n_fft_bins);
        Self {
            bands,
            n_fft_bins,
            lanes,
            padded,
        }
    }

    /// Applies the filterbank to one power spectrum (`n_fft_bins` values).
    pub fn apply(&self, power: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU has AVX2 and FMA (checked just above).
                unsafe { self.apply_avx2(power, out) };
                return;
            }
        }
        self.apply_lanes(power, out, 0);
    }

    /// [`Self::apply_lanes`] with eight bands at a time: one FMA accumulator per band, the eight
    /// horizontal sums done together by a tree of `hadd`s (most bands are a single 8-float lane).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn apply_avx2(&self, power: &[f32], out: &mut [f32]) {
        use std::arch::x86_64::*;
        assert!(power.len() >= self.n_fft_bins);
        let n = self.lanes.len().min(out.len());
        let band = |i: usize| {
            let (first, offset, len) = self.lanes[i];
            let mut acc = _mm256_setzero_ps();
            // `pad_to_lanes` keeps first + len ≤ n_fft_bins ≤ power.len() and offset + len ≤
            // padded.len(); the loop only reads whole lanes inside those.
            for c in (0..len / 8).map(|c| 8 * c) {
                // SAFETY: first + c + 8 ≤ first + len ≤ power.len(), offset + c + 8 ≤ padded.len().
                let (p, w) = unsafe {
                    (
                        _mm256_loadu_ps(power.as_ptr().add(first + c)),
                        _mm256_loadu_ps(self.padded.as_ptr().add(offset + c)),
                    )
                };
                acc = _mm256_fmadd_ps(p, w, acc);
            }
            acc
        };
        let mut i = 0;
        // Bands cut short at the last bin (tiny FFTs) have a partial lane: portable path.
        let whole = |i: usize| self.lanes[i].2.is_multiple_of(8);
        while i + 8 <= n && (i..i + 8).all(whole) {
            let h01 = _mm256_hadd_ps(band(i), band(i + 1));
            let h23 = _mm256_hadd_ps(band(i + 2), band(i + 3));
            let h45 = _mm256_hadd_ps(band(i + 4), band(i + 5));
            let h67 = _mm256_hadd_ps(band(i + 6), band(i + 7));
            // [b0..b3 low halves | b0..b3 high halves], the same for b4..b7.
            let (q0, q1) = (_mm256_hadd_ps(h01, h23), _mm256_hadd_ps(h45, h67));
            let sums = _mm256_add_ps(
                _mm256_permute2f128_ps::<0x20>(q0, q1),
                _mm256_permute2f128_ps::<0x31>(q0, q1),
            );
            // SAFETY: i + 8 ≤ n ≤ out.len().
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(i), sums) };
            i += 8;
        }
        self.apply_lanes(power, out, i);
    }

    /// Applies the filterbank to [`GROUP_FRAMES`] spectra at once: `power[bin][frame]` in,
    /// `out[band][frame]` out (the layout [`PowerStft::for_each_group`] gives).
    pub fn apply_group(&self, power: &[[f32; GROUP_FRAMES]], out: &mut [[f32; GROUP_FRAMES]]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { self.apply_group_avx2(power, out) };
                return;
            }
        }
        self.apply_group_portable(power, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn apply_group_avx2(&self, power: &[[f32; GROUP_FRAMES]], out: &mut [[f32; GROUP_FRAMES]]) {
        self.apply_group_portable(power, out);
    }

    /// One band at a time, all frames together (the inner loop over frames is one SIMD register).
    #[inline(always)]
    fn apply_group_portable(&self, power: &[[f32; GROUP_FRAMES]], out: &mut [[f32; GROUP_FRAMES]]) {
        for ((first, w), o) in self.bands.iter().zip(out.iter_mut()) {
            let mut acc = [0.0f32; GROUP_FRAMES];
            for (p, &wk) in power[*first..first + w.len()].iter().zip(w) {
                for (a, &v) in acc.iter_mut().zip(p) {
                    *a += wk * v;
                }
            }
            *o = acc;
        }
    }

    /// Bands `from..` by plain dot products over their lanes.
    #[inline(always)]
    fn apply_lanes(&self, power: &[f32], out: &mut [f32], from: usize) {
        for (&(first, offset, len), o) in self.lanes.iter().zip(out.iter_mut()).skip(from) {
            *o = dot(
                &power[first..first + len],
                &self.padded[offset..offset + len],
            );
        }
    }
}

/// Each band's weights widened with zeros to a multiple of 8 bins (moving the start down where
/// the widened band would run past the last bin), concatenated.
fn pad_to_lanes(
    bands: &[(usize, Vec<f32>)],
    n_fft_bins: usize,
) -> (Vec<(usize, usize, usize)>, Vec<f32>) {
    let mut lanes = Vec::with_capacity(bands.len());
    let mut padded = Vec::new();
    for (first, w) in bands {
        let len = w
            .len()
            .div_ceil(8)
            .saturating_mul(8)
            .min(n_fft_bins)
            .max(w.len());
        let start = (*first).min(n_fft_bins - len);
        let offset = padded.len();
        padded.resize(offset + len, 0.0);
        padded[offset + first - start..offset + first - start + w.len()].copy_from_slice(w);
        lanes.push((start, offset, len));
    }
    (lanes, padded)
}

/// Σ a·b with eight partial sums, so that the compiler keeps them in one SIMD register instead of
/// waiting on one running sum per product (a plain `.sum()` is a strict sequential chain).
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// A reusable log-mel extractor: the FFT plan, window and filterbank are built once per
/// configuration (building the filterbank costs more than transforming a short file).
pub struct MelExtractor {
    cfg: LogMelConfig,
    stft: PowerStft,
    filterbank: MelFilterbank,
}

impl MelExtractor {
    /// Plans the STFT and builds the filterbank for `cfg`.
    pub fn new(cfg: &LogMelConfig) -> Self {
        let fmax = cfg.fmax_hz.unwrap_or(cfg.sample_rate_hz as f32 / 2.0) as f64;
        Self {
            cfg: cfg.clone(),
            stft: PowerStft::new(cfg.n_fft, cfg.hop_length_samples),
            filterbank: MelFilterbank::new(
                cfg.sample_rate_hz,
                cfg.n_fft,
                cfg.n_mels,
                cfg.fmin_hz as f64,
                fmax,
            ),
        }
    }

    /// Mel power spectrogram, time-major `[stft_frames, n_mels]`.
    pub fn mel_power(&self, samples: &[f32]) -> FeatureMatrix {
        let n = self.cfg.n_mels;
        let mut m = FeatureMatrix::zeros(self.stft.n_frames(samples.len()), n);
        let mut bands = vec![[0.0f32; GROUP_FRAMES]; n];
        let grouped = self.stft.for_each_group(samples, |t0, frames, power| {
            self.filterbank.apply_group(power, &mut bands);
            for (f, row) in m.data[t0 * n..(t0 + frames) * n]
                .chunks_exact_mut(n)
                .enumerate()
            {
                for (v, band) in row.iter_mut().zip(&bands) {
                    *v = band[f];
                }
            }
        });
        if !grouped {
            self.stft.for_each_frame(samples, |t, p| {
                self.filterbank.apply(p, &mut m.data[t * n..(t + 1) * n])
            });
        }
        m
    }

    /// Log-mel in dB.
    pub fn log_mel(&self, samples: &[f32]) -> FeatureMatrix {
        let mut m = self.mel_power(samples);
        power_to_db(&mut m, self.cfg.top_db);
        m
    }
}

thread_local! {
    /// One extractor per thread for the most recent configuration.
    static EXTRACTOR: std::cell::RefCell<Option<std::rc::Rc<MelExtractor>>> = const { std::cell::RefCell::new(None) };
}

/// The calling thread's extractor for `cfg` (rebuilt when the configuration changes).
fn extractor(cfg: &LogMelConfig) -> std::rc::Rc<MelExtractor> {
    EXTRACTOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        match slot.as_ref() {
            Some(e) if e.cfg == *cfg => e.clone(),
            _ => {
                let e = std::rc::Rc::new(MelExtractor::new(cfg));
                *slot = Some(e.clone());
                e
            }
        }
    })
}

/// Mel power spectrogram (librosa `melspectrogram`, power 2), time-major.
pub fn mel_power(samples: &[f32], cfg: &LogMelConfig) -> FeatureMatrix {
    extractor(cfg).mel_power(samples)
}

/// `power_to_db` in place: 10·log10(max(S, 1e-10)), then clamp to (max − top_db).
pub fn power_to_db(m: &mut FeatureMatrix, top_db: Option<f32>) {
    // Vectorised 10·log10 (max relative error of the logarithm 2e-7: src/fastmath.rs).
    crate::fastmath::power_to_db_in_place(&mut m.data, 1e-10);
    if let Some(top) = top_db {
        let max = m.data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let floor = max - top;
        for v in &mut m.data {
            *v = v.max(floor);
        }
    }
}

/// Log-mel spectrogram in dB, time-major `[stft_frames, n_mels]`.
pub fn log_mel(samples: &[f32], cfg: &LogMelConfig) -> FeatureMatrix {
    extractor(cfg).log_mel(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from librosa 0.10: `hz_to_mel(1000) = 15`, `hz_to_mel(8000) = 45.245640471924965`,
    /// `mel_to_hz(30) = 2577.9846...`.
    #[test]
    fn slaney_scale_known_points() {
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
        assert!((hz_to_mel(8000.0) - 45.245640471924965).abs() < 1e-9);
        for f in [0.0, 300.0, 999.0, 1000.0, 4321.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(f)) - f).abs() < 1e-9);
        }
    }

    /// Slaney norm makes every filter's area (in Hz) equal to 1 when the FFT grid is fine enough.
    #[test]
    fn slaney_norm_gives_unit_area() {
        let fb = MelFilterbank::new(16_000, 8192, 40, 0.0, 8000.0);
        let df = 16_000.0 / 8192.0;
        for (i, (_, w)) in fb.bands.iter().enumerate() {
            let area: f32 = w.iter().sum::<f32>() * df;
            assert!((area - 1.0).abs() < 0.02, "band {i} area {area}");
        }
    }

    /// `apply` (bands widened to 8-float lanes) equals the plain sum over each band's weights,
    /// also where the widening is cut at the last bin (n_fft 16: 9 bins).
    #[test]
    fn apply_equals_band_sums() {
        for (n_fft, n_mels) in [(2048, 128), (512, 40), (16, 4), (400, 80)] {
            let fb = MelFilterbank::new(16_000, n_fft, n_mels, 0.0, 8000.0);
            let power: Vec<f32> = (0..fb.n_fft_bins)
                .map(|k| 1.0 + (k as f32 * 0.37).sin().abs())
                .collect();
            let mut out = vec![f32::NAN; n_mels];
            fb.apply(&power, &mut out);
            for (b, (first, w)) in fb.bands.iter().enumerate() {
                let want: f64 = w
                    .iter()
                    .zip(&power[*first..])
                    .map(|(a, p)| *a as f64 * *p as f64)
                    .sum();
                let tol = 1e-6 * want.abs().max(1e-6);
                assert!(
                    (out[b] as f64 - want).abs() <= tol,
                    "n_fft {n_fft}, band {b}: {} vs {want}",
                    out[b]
                );
            }
        }
    }

    /// The eight-frame filterbank gives every frame its band sums (f64 reference), for
    /// configurations with and without bands cut short at the last bin, and `mel_power` (which
    /// takes the eight-lane STFT where the CPU has it) equals the frame-by-frame path.
    #[test]
    fn group_apply_equals_band_sums_and_mel_power_equals_per_frame() {
        for (n_fft, n_mels) in [(2048, 128), (512, 40), (16, 4), (400, 80)] {
            let fb = MelFilterbank::new(16_000, n_fft, n_mels, 0.0, 8000.0);
            let power: Vec<[f32; GROUP_FRAMES]> = (0..fb.n_fft_bins)
                .map(|k| std::array::from_fn(|f| 1.0 + (k as f32 * 0.37 + f as f32).sin().abs()))
                .collect();
            let mut out = vec![[f32::NAN; GROUP_FRAMES]; n_mels];
            fb.apply_group(&power, &mut out);
            for (b, (first, w)) in fb.bands.iter().enumerate() {
                for f in 0..GROUP_FRAMES {
                    let want: f64 = w
                        .iter()
                        .zip(&power[*first..])
                        .map(|(a, p)| *a as f64 * p[f] as f64)
                        .sum();
                    let tol = 1e-6 * want.abs().max(1e-6);
                    let got = out[b][f] as f64;
                    assert!(
                        (got - want).abs() <= tol,
                        "n_fft {n_fft}, band {b}, frame {f}: {got} vs {want}"
                    );
                }
            }
        }
        let x: Vec<f32> = (0..20_000)
            .map(|i| 0.3 * (i as f32 * 0.021).sin() + ((i * 7919) % 997) as f32 * 1e-4)
            .collect();
        for (n_fft, hop, n_mels) in [(2048, 512, 128), (512, 160, 40), (400, 160, 80)] {
            let cfg = LogMelConfig {
                n_fft,
                hop_length_samples: hop,
                n_mels,
                ..LogMelConfig::default()
            };
            let e = MelExtractor::new(&cfg);
            for len in [0, 700, 20_000] {
                let got = e.mel_power(&x[..len]);
                let mut want = FeatureMatrix::zeros(e.stft.n_frames(len), n_mels);
                e.stft.for_each_frame(&x[..len], |t, p| {
                    e.filterbank
                        .apply(p, &mut want.data[t * n_mels..(t + 1) * n_mels])
                });
                assert_eq!(got.data.len(), want.data.len());
                let peak = want.data.iter().copied().fold(1e-6, f32::max);
                let worst = crate::eval::compare::max_abs_diff(&got.data, &want.data);
                assert!(
                    worst <= 1e-5 * peak,
                    "n_fft {n_fft}, {len} samples: {worst} (peak {peak})"
                );
            }
        }
    }
}
