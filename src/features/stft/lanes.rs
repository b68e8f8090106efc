//! Power spectra of eight STFT frames at once, one frame per AVX2 lane.
//!
//! RustFFT transforms one frame at a time, so inside every butterfly it shuffles values between
//! the lanes of a SIMD register. Here each of the eight 32-bit lanes of a 256-bit register holds
//! a different frame: every butterfly is plain vertical arithmetic on whole registers and every
//! twiddle factor is one broadcast (the layout FFT libraries use for batches of equal-length
//! transforms). Per group of eight frames:
//!
//! 1. the frames are read eight samples at a time, windowed and transposed 8×8, which leaves
//!    point p holding the even sample 2p as its real part and the odd sample 2p + 1 as its
//!    imaginary part — the packing of the half-length complex FFT ([`super`]);
//! 2. a radix-4 decimation-in-frequency FFT of m = n_fft/2 points (one radix-2 stage first when
//!    log₂ m is odd) runs depth first, so that blocks of up to [`L1_POINTS`] points (16 KB) are
//!    finished while they sit in the L1 cache; its output lies in digit-reversed order;
//! 3. the real spectrum is split out of the complex one and squared, as [`super::split_power`]
//!    does for one frame, reading the digit-reversed output four points at a time.
//!
//! Used for power-of-two n_fft ≥ 32 on CPUs with AVX2 and FMA (docs/perf/cpu.md, item 11); the
//! batched RustFFT path in [`super`] covers everything else.

use std::arch::x86_64::*;

/// Frames per group: the lanes of one 256-bit register.
use super::GROUP_FRAMES as LANES;

/// Points per block finished depth first (8 lanes × 8 bytes per complex value × 256 = 16 KB).
const L1_POINTS: usize = 256;

/// One complex point of the eight frames: real parts in one register, imaginary in another.
#[derive(Clone, Copy)]
struct C8 {
    re: __m256,
    im: __m256,
}

/// One level of the decimation-in-frequency FFT, with its twiddle factors W_L^(q·j) for
/// W_L = e^(−2πi/L), L the level's span.
enum Level {
    /// Radix 4 over spans of 4·len points; `[re, im]` of W^j, W^2j, W^3j for j = 0..L/4.
    Four(Vec<[f32; 6]>),
    /// Radix 2 over spans of 2·len points; `[re, im]` of W^j for j = 0..L/2.
    Two(Vec<[f32; 2]>),
}

impl Level {
    fn radix(&self) -> usize {
        match self {
            Level::Four(_) => 4,
            Level::Two(_) => 2,
        }
    }

    fn span(&self) -> usize {
        match self {
            Level::Four(tw) => 4 * tw.len(),
            Level::Two(tw) => 2 * tw.len(),
        }
    }
}

/// `[re, im]` of e^(−2πi·k/n), computed in f64.
fn twiddle(k: usize, n: usize) -> [f32; 2] {
    let a = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
    [a.cos() as f32, a.sin() as f32]
}

/// The plan for one n_fft: FFT levels, the output order and the split twiddles.
pub struct LanePlan {
    /// The window times ½ (exact): with the FFT's input halved, the split's sums E and O (see
    /// [`Self::split_pair`]) come out without their factor ½.
    half_window: Vec<f32>,
    levels: Vec<Level>,
    /// `[c, c', b]` for b = 1..=m/8: the four-point blocks c (bins b + r·m/4) and c'
    /// (bins m/4 − b + r·m/4) of the FFT's output, whose bins pair up in the split. Every b lies
    /// in 1..=m/8 (built so in `new`), which the split's unchecked indexing relies on.
    split_blocks: Vec<[u32; 3]>,
    /// `[re, im]` of W^k = e^(−2πik/n_fft), k = 0..m.
    split: Vec<[f32; 2]>,
}

impl LanePlan {
    /// A plan for frames of `window.len()` = n_fft samples, or `None` where this path does not
    /// apply (n_fft/2 not a power of two or below 16, or a CPU without AVX2 and FMA).
    pub fn new(window: &[f32]) -> Option<Self> {
        let n_fft = window.len();
        let m = n_fft / 2;
        if !n_fft.is_multiple_of(2) || !m.is_power_of_two() || m < 16 {
            return None;
        }
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return None;
        }
        let mut levels = Vec::new();
        let mut span = m;
        if m.trailing_zeros() % 2 == 1 {
            levels.push(Level::Two((0..m / 2).map(|j| twiddle(j, m)).collect()));
            span /= 2;
        }
        while span >= 4 {
            let tw = (0..span / 4)
                .map(|j| {
                    let [a, b] = twiddle(j, span);
                    let [c, d] = twiddle(2 * j, span);
                    let [e, f] = twiddle(3 * j, span);
                    [a, b, c, d, e, f]
                })
                .collect();
            levels.push(Level::Four(tw));
            span /= 4;
        }
        // Level radix r over span N sends the DFT bins r·k' + q to block q (of N/r points), where
        // the rest of the levels leave bin k' of the block's DFT at their own position for k'.
        let mut bin_at = vec![0u32; m];
        for (p, bin) in bin_at.iter_mut().enumerate() {
            let (mut rest, mut scale, mut b) = (p, 1usize, 0usize);
            let mut n = m;
            for level in &levels {
                let sub = n / level.radix();
                b += scale * (rest / sub);
                scale *= level.radix();
                rest %= sub;
                n = sub;
            }
            *bin = b as u32;
        }
        // The last level is radix 4 (a radix-2 level only ever comes first), so point 4c + r
        // holds bin bin_at[4c] + r·m/4.
        let q = m / 4;
        let mut block_of = vec![0u32; q];
        for c in 0..q {
            assert!((0..4).all(|r| bin_at[4 * c + r] as usize == bin_at[4 * c] as usize + r * q));
            block_of[bin_at[4 * c] as usize] = c as u32;
        }
        let split_blocks = (1..=q / 2)
            .map(|b| [block_of[b], block_of[q - b], b as u32])
            .collect();
        let split = (0..m).map(|k| twiddle(k, n_fft)).collect();
        Some(Self {
            half_window: window.iter().map(|w| 0.5 * w).collect(),
            levels,
            split_blocks,
            split,
        })
    }

    /// Calls `sink(first_frame, frames, power)` for consecutive groups of up to [`LANES`] frames
    /// of librosa's centred STFT (the plan's window, zero padding of n_fft/2 on both sides);
    /// `power[bin][lane]` is |X|² of frame `first_frame + lane` (lanes ≥ `frames` hold zeros).
    pub fn for_each_group(
        &self,
        hop: usize,
        samples: &[f32],
        mut sink: impl FnMut(usize, usize, &[[f32; LANES]]),
    ) {
        // The buffers (160 KB for n_fft 2048) are kept per thread: allocated and freed per call,
        // they made the main thread's heap shrink and grow again each file — page faults worth
        // a third of the time of a 3 s file.
        let mut fresh = Scratch::default();
        SCRATCH.with(|cell| {
            let mut kept = cell.try_borrow_mut();
            // A sink that itself runs a plan on this thread gets fresh buffers.
            let scratch = kept.as_deref_mut().unwrap_or(&mut fresh);
            self.groups(hop, samples, scratch, &mut sink);
        });
    }

    /// [`Self::for_each_group`] with its buffers.
    fn groups(
        &self,
        hop: usize,
        samples: &[f32],
        scratch: &mut Scratch,
        sink: &mut impl FnMut(usize, usize, &[[f32; LANES]]),
    ) {
        let n = self.half_window.len();
        scratch.size(n);
        let Scratch {
            edges,
            points,
            power,
        } = scratch;
        let n_frames = 1 + samples.len() / hop;
        for t0 in (0..n_frames).step_by(LANES) {
            let frames = LANES.min(n_frames - t0);
            let start = |lane: usize| ((t0 + lane) * hop) as isize - (n / 2) as isize;
            let inside = |lane: usize| {
                let s = start(lane);
                (lane < frames && s >= 0 && s as usize + n <= samples.len()).then_some(s as usize)
            };
            for (lane, edge) in edges.chunks_exact_mut(n).enumerate() {
                if lane >= frames {
                    edge.fill(0.0);
                } else if inside(lane).is_none() {
                    copy_zero_padded(samples, start(lane), edge);
                }
            }
            let sources: [&[f32]; LANES] = std::array::from_fn(|lane| match inside(lane) {
                Some(s) => &samples[s..s + n],
                None => &edges[lane * n..(lane + 1) * n],
            });
            // SAFETY: `new` returned a plan only on a CPU with AVX2 and FMA.
            unsafe { self.transform(&sources, points, power) };
            // SAFETY: `__m256` is 32 bytes of eight f32 lanes with an alignment of 32, so the
            // buffer is m + 1 valid, aligned `[f32; 8]`, borrowed immutably for the call.
            let bins = unsafe {
                std::slice::from_raw_parts(power.as_ptr().cast::<[f32; LANES]>(), power.len())
            };
            sink(t0, frames, bins);
        }
    }

    /// Window, FFT and split for one group: `sources[lane]` holds n_fft samples of one frame.
    #[target_feature(enable = "avx2,fma")]
    fn transform(&self, sources: &[&[f32]; LANES], points: &mut [C8], power: &mut [__m256]) {
        load_windowed(sources, &self.half_window, points);
        fft(points, &self.levels);
        self.split_power(points, power);
    }

    /// |X[k]|² for k = 0..=m from Z (see [`super::split_power`]), block by block: the last
    /// FFT level leaves bins b, b + m/4, b + m/2, b + 3m/4 in four consecutive points (b < m/4),
    /// and their partners m − k in the block of bin m/4 − b, in reverse order — so each step
    /// reads two runs of four points instead of points scattered over the whole buffer.
    #[target_feature(enable = "avx2,fma")]
    fn split_power(&self, points: &[C8], power: &mut [__m256]) {
        let m = points.len();
        let q = m / 4;
        // The plan's m (`split` has one twiddle per point): its `split_blocks` hold b ≤ m/8.
        assert!(power.len() == m + 1 && self.split.len() == m && q >= 4);
        // Z is half the packed FFT (the halved window): X[0] = 2·(Z[0].re + Z[0].im) and
        // X[m] = 2·(Z[0].re − Z[0].im).
        let (z0, two) = (points[0], _mm256_set1_ps(2.0));
        let s = _mm256_mul_ps(two, _mm256_add_ps(z0.re, z0.im));
        let d = _mm256_mul_ps(two, _mm256_sub_ps(z0.re, z0.im));
        power[0] = _mm256_mul_ps(s, s);
        power[m] = _mm256_mul_ps(d, d);
        // Block 0: Z[0] (above), Z[m/4] with Z[3m/4], and Z[m/2] with itself.
        // SAFETY (every split_pair below): 1 ≤ k < m — here q and 2q; in the loop k = b + r·q
        // with 1 ≤ b ≤ q/2 (the plan's invariant, for this m as asserted above) and r ≤ 3, so
        // k ≤ 3q + q/2 < m.
        unsafe {
            self.split_pair(points[1], points[3], q, power);
            self.split_pair(points[2], points[2], 2 * q, power);
        }
        // The points as four-point blocks (m is a multiple of 4: no remainder).
        let (blocks, _) = points.as_chunks::<4>();
        for &[c, partner, b] in &self.split_blocks {
            let b = b as usize;
            let (blk, par) = (&blocks[c as usize], &blocks[partner as usize]);
            if c == partner {
                // A block paired with itself (b = m/8) holds both bins of its two pairs.
                for r in 0..2 {
                    unsafe { self.split_pair(blk[r], blk[3 - r], b + r * q, power) };
                }
            } else {
                for r in 0..4 {
                    unsafe { self.split_pair(blk[r], par[3 - r], b + r * q, power) };
                }
            }
        }
    }

    /// |X[k]|² and |X[m − k]|² from a = Z[k] and b = Z[m − k]. The sums below are the E and O of
    /// [`super::split_power`] without its factor ½ — which the halved window already applied.
    /// Unchecked indexing: the split took 0.94× the time without the bounds checks
    /// (docs/perf/cpu.md, item 12).
    ///
    /// # Safety
    /// 1 ≤ k < m, with m + 1 = `power.len()` and `self.split.len()` ≥ m.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn split_pair(&self, a: C8, b: C8, k: usize, power: &mut [__m256]) {
        let m = power.len() - 1;
        debug_assert!(k >= 1 && k < m && self.split.len() >= m);
        let (er, ei) = (_mm256_add_ps(a.re, b.re), _mm256_sub_ps(a.im, b.im));
        let (or, oi) = (_mm256_add_ps(a.im, b.im), _mm256_sub_ps(b.re, a.re));
        // SAFETY: k < m ≤ split.len() (the caller's contract).
        let [wr, wi] = unsafe { *self.split.get_unchecked(k) };
        let (wr, wi) = (_mm256_set1_ps(wr), _mm256_set1_ps(wi));
        let wor = _mm256_fmsub_ps(wr, or, _mm256_mul_ps(wi, oi));
        let woi = _mm256_fmadd_ps(wr, oi, _mm256_mul_ps(wi, or));
        let (yr, yi) = (_mm256_sub_ps(er, wor), _mm256_sub_ps(ei, woi));
        let (xr, xi) = (_mm256_add_ps(er, wor), _mm256_add_ps(ei, woi));
        // For k = m/2 both are the same bin (equal magnitudes); X is written last.
        // SAFETY: 1 ≤ k < m, so k and m − k are below power.len() = m + 1.
        unsafe {
            *power.get_unchecked_mut(m - k) = _mm256_fmadd_ps(yr, yr, _mm256_mul_ps(yi, yi));
            *power.get_unchecked_mut(k) = _mm256_fmadd_ps(xr, xr, _mm256_mul_ps(xi, xi));
        }
    }
}

/// `out` = `samples[start..start + out.len()]`, zeros where that range lies outside the signal.
fn copy_zero_padded(samples: &[f32], start: isize, out: &mut [f32]) {
    let len = samples.len() as isize;
    let from = (-start).clamp(0, out.len() as isize) as usize;
    let to = ((len - start).clamp(0, out.len() as isize) as usize).max(from);
    out[..from].fill(0.0);
    if to > from {
        let first = (start + from as isize) as usize;
        out[from..to].copy_from_slice(&samples[first..first + to - from]);
    }
    out[to..].fill(0.0);
}

/// Buffers for one n_fft: frames reaching past either end of the signal (copied with their zeros),
/// the FFT's points and the power spectra.
#[derive(Default)]
struct Scratch {
    edges: Vec<f32>,
    points: Vec<C8>,
    power: Vec<__m256>,
}

impl Scratch {
    fn size(&mut self, n_fft: usize) {
        // SAFETY: all-zero bits are a valid `__m256` (eight 0.0 lanes).
        let zero: __m256 = unsafe { std::mem::zeroed() };
        self.edges.resize(LANES * n_fft, 0.0);
        self.points.resize(n_fft / 2, C8 { re: zero, im: zero });
        self.power.resize(n_fft / 2 + 1, zero);
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Reads the eight frames eight samples at a time, windows them and transposes each 8×8 block
/// so that register r holds sample 8c + r of every frame: point p gets samples 2p (real part)
/// and 2p + 1 (imaginary part).
#[target_feature(enable = "avx2,fma")]
fn load_windowed(sources: &[&[f32]; LANES], window: &[f32], points: &mut [C8]) {
    let n = window.len();
    assert!(n == 2 * points.len() && n.is_multiple_of(8) && sources.iter().all(|s| s.len() == n));
    let out = points.as_mut_ptr();
    let src: [*const f32; LANES] = std::array::from_fn(|lane| sources[lane].as_ptr());
    for c in (0..n).step_by(8) {
        // SAFETY (the whole loop body): every source and the window have n floats and points
        // n/2 values; c + 8 ≤ n, so samples c..c + 8 and points c/2..c/2 + 4 are in bounds.
        let cols = unsafe { transpose8_windowed(&src, window.as_ptr(), c) };
        for i in 0..4 {
            unsafe {
                *out.add(c / 2 + i) = C8 {
                    re: cols[2 * i],
                    im: cols[2 * i + 1],
                }
            };
        }
    }
}

/// Samples c..c + 8 of the eight rows times `window[c..c + 8]`, transposed: `out[i]` lane r =
/// `rows[r][c + i]·window[c + i]`. Each register is loaded as two 128-bit halves (row r and row
/// r + 4 side by side), so one load of four window values serves it before the transpose
/// (instead of eight broadcasts after it), and what is left is a 4 × 4 transpose inside each
/// half: 16 shuffles instead of the 24 of a full 8 × 8 transpose.
///
/// # Safety
/// `rows[r][c..c + 8]` and `window[c..c + 8]` must be readable for every r.
#[target_feature(enable = "avx2,fma")]
unsafe fn transpose8_windowed(rows: &[*const f32; 8], window: *const f32, c: usize) -> [__m256; 8] {
    let mut out = [_mm256_setzero_ps(); 8];
    for h in [0, 4] {
        // [w[c + h..c + h + 4] | the same]
        let w = unsafe {
            let w = _mm_loadu_ps(window.add(c + h));
            _mm256_set_m128(w, w)
        };
        // [row r, samples c + h..c + h + 4 | row r + 4, the same samples] · w
        let pair = |r: usize| unsafe {
            _mm256_mul_ps(
                _mm256_insertf128_ps::<1>(
                    _mm256_castps128_ps256(_mm_loadu_ps(rows[r].add(c + h))),
                    _mm_loadu_ps(rows[r + 4].add(c + h)),
                ),
                w,
            )
        };
        let (t0, t1, t2, t3) = (pair(0), pair(1), pair(2), pair(3));
        let (u0, u1) = (_mm256_unpacklo_ps(t0, t1), _mm256_unpackhi_ps(t0, t1));
        let (u2, u3) = (_mm256_unpacklo_ps(t2, t3), _mm256_unpackhi_ps(t2, t3));
        out[h] = _mm256_shuffle_ps::<0x44>(u0, u2);
        out[h + 1] = _mm256_shuffle_ps::<0xEE>(u0, u2);
        out[h + 2] = _mm256_shuffle_ps::<0x44>(u1, u3);
        out[h + 3] = _mm256_shuffle_ps::<0xEE>(u1, u3);
    }
    out
}

/// The decimation-in-frequency FFT over `levels` (the first one spanning all of `points`): depth
/// first down to blocks of [`L1_POINTS`], level by level below that.
#[target_feature(enable = "avx2,fma")]
fn fft(points: &mut [C8], levels: &[Level]) {
    let Some((first, rest)) = levels.split_first() else {
        return;
    };
    if points.len() <= L1_POINTS {
        for level in levels {
            for block in points.chunks_exact_mut(level.span()) {
                butterflies(block, level);
            }
        }
    } else {
        butterflies(points, first);
        for block in points.chunks_exact_mut(first.span() / first.radix()) {
            fft(block, rest);
        }
    }
}

/// One level's butterflies over one block of its span.
#[target_feature(enable = "avx2,fma")]
fn butterflies(block: &mut [C8], level: &Level) {
    match level {
        Level::Four(tw) => {
            let (b01, b23) = block.split_at_mut(block.len() / 2);
            let (b0, b1) = b01.split_at_mut(tw.len());
            let (b2, b3) = b23.split_at_mut(tw.len());
            let mut quads = b0
                .iter_mut()
                .zip(b1)
                .zip(b2.iter_mut().zip(b3.iter_mut()))
                .zip(tw);
            // j = 0: every twiddle is 1 (the whole last level, a quarter of the one before).
            if let Some((((a0, a1), (a2, a3)), _)) = quads.next() {
                [*a0, *a1, *a2, *a3] = radix4(*a0, *a1, *a2, *a3);
            }
            for (((a0, a1), (a2, a3)), w) in quads {
                let [y0, y1, y2, y3] = radix4(*a0, *a1, *a2, *a3);
                *a0 = y0;
                *a1 = mul(y1, w[0], w[1]);
                *a2 = mul(y2, w[2], w[3]);
                *a3 = mul(y3, w[4], w[5]);
            }
        }
        Level::Two(tw) => {
            let (b0, b1) = block.split_at_mut(tw.len());
            for ((a0, a1), w) in b0.iter_mut().zip(b1).zip(tw) {
                let (s, d) = (add(*a0, *a1), sub(*a0, *a1));
                *a0 = s;
                *a1 = mul(d, w[0], w[1]);
            }
        }
    }
}

/// The four-point DFT (W₄ = −i) of one radix-4 butterfly, before its twiddle factors.
#[target_feature(enable = "avx2,fma")]
fn radix4(a0: C8, a1: C8, a2: C8, a3: C8) -> [C8; 4] {
    let (t0, t1) = (add(a0, a2), sub(a0, a2));
    let (t2, d) = (add(a1, a3), sub(a1, a3));
    // t1 ± (−i·d), with −i·d = d.im − i·d.re written out (no negation).
    let y1 = C8 {
        re: _mm256_add_ps(t1.re, d.im),
        im: _mm256_sub_ps(t1.im, d.re),
    };
    let y3 = C8 {
        re: _mm256_sub_ps(t1.re, d.im),
        im: _mm256_add_ps(t1.im, d.re),
    };
    [add(t0, t2), y1, sub(t0, t2), y3]
}

#[target_feature(enable = "avx2,fma")]
fn add(a: C8, b: C8) -> C8 {
    C8 {
        re: _mm256_add_ps(a.re, b.re),
        im: _mm256_add_ps(a.im, b.im),
    }
}

#[target_feature(enable = "avx2,fma")]
fn sub(a: C8, b: C8) -> C8 {
    C8 {
        re: _mm256_sub_ps(a.re, b.re),
        im: _mm256_sub_ps(a.im, b.im),
    }
}

/// a·(wr + i·wi).
#[target_feature(enable = "avx2,fma")]
fn mul(a: C8, wr: f32, wi: f32) -> C8 {
    let (wr, wi) = (_mm256_set1_ps(wr), _mm256_set1_ps(wi));
    C8 {
        re: _mm256_fmsub_ps(a.re, wr, _mm256_mul_ps(a.im, wi)),
        im: _mm256_fmadd_ps(a.re, wi, _mm256_mul_ps(a.im, wr)),
    }
}
