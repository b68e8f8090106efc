//! Vectorisable element-wise math for the CPU hot paths (docs/perf/cpu.md).
//!
//! `libm`'s `erff` and `log10f` are scalar calls with branches: a loop over them runs one value
//! at a time. The functions here are branch-free polynomials and rationals that the compiler
//! turns into 16-wide AVX-512 or 8-wide AVX2 code (selected at run time, with the same arithmetic
//! as the portable path, so all give bit-identical results), with errors far below the tolerances
//! the parity tests hold:
//! - [`erf`]: the rational approximation of XLA and Eigen (`generic_fast_erf_float`), max abs
//!   error 4.2e-7 against the exact erf on [-6, 6] (unit test below).
//! - [`ln`]: Cephes' `logf` polynomial (range reduction to [√½, √2)), max relative error 2e-7
//!   on normal floats.

/// erf(x), max abs error 4.2e-7, exactly ±1 where the exact value rounds to it; NaN stays NaN.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    // From |x| = 3.92 on, erf rounds to ±1 in f32 (erfc(3.92) = 2.6e-8, under half an ulp of 1);
    // the rational is fitted on [-4, 4].
    let saturated = x.abs() >= 3.92;
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906e-4;
    p = p * x2 - 2.954_6e-3;
    p = p * x2 - 1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 - 2.133_740_6e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329e-3;
    q = q * x2 - 1.426_473_9e-2;
    let r = x * p / q;
    if saturated { 1.0f32.copysign(x) } else { r }
}

/// GELU with the exact (erf) form: x·½·(1 + erf(x/√2)).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Natural logarithm of a positive normal float (Cephes `logf`); 0 gives a large negative
/// number rather than -inf, so callers clamp first (as `power_to_db` does with its `amin`).
// Cephes' constants as published (0.693359375 is exact: the high part of ln 2).
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    // x = m·2^e with m in [0.5, 1).
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x807f_ffff) | 0x3f00_0000);
    // Shift m into [√½, √2) around 1: m < √½ → 2m − 1 and e − 1, else m − 1.
    let small = m < std::f32::consts::FRAC_1_SQRT_2;
    e -= small as i32;
    let x = if small { m + m - 1.0 } else { m - 1.0 };
    let e = e as f32;
    let z = x * x;
    // The degree-8 polynomial in Estrin's form (pairs, then pairs of pairs): a dependency chain
    // of 8 operations instead of Horner's 18, so a vectorised loop is not bound by latency.
    let p01 = 7.037_683_6e-2_f32 * x - 1.151_461e-1;
    let p23 = 1.167_699_9e-1_f32 * x - 1.242_014_1e-1;
    let p45 = 1.424_932_3e-1_f32 * x - 1.666_805_8e-1;
    let p67 = 2.000_071_5e-1_f32 * x - 2.499_999_4e-1;
    let z2 = z * z;
    let mut y = (p67 + z * p45) + z2 * (p23 + z * p01);
    y = y * x + 3.333_333_1e-1;
    y = y * x * z;
    y += -2.121_944_4e-4 * e;
    y += -0.5 * z;
    x + y + 0.693_359_375 * e
}

/// Applies `f` to every value in place, on 16-wide AVX-512 or 8-wide AVX2 where the CPU has it.
#[inline(always)]
fn map_in_place(v: &mut [f32], f: impl Fn(f32) -> f32 + Copy) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            unsafe { map_avx512(v, f) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { map_avx2(v, f) };
            return;
        }
    }
    for x in v.iter_mut() {
        *x = f(*x);
    }
}

/// The same loop with AVX-512's sixteen lanes and 32 registers (every constant of the
/// polynomials stays in a register): `power_to_db` 0.6× the AVX2 loop's time on a Zen 4
/// (docs/perf/cpu.md, item 13). Element by element the same operations, so the same results.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn map_avx512(v: &mut [f32], f: impl Fn(f32) -> f32 + Copy) {
    for x in v.iter_mut() {
        *x = f(*x);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map_avx2(v: &mut [f32], f: impl Fn(f32) -> f32 + Copy) {
    for x in v.iter_mut() {
        *x = f(*x);
    }
}

/// Slices longer than this are split over the rayon pool.
const PAR_CHUNK: usize = 1 << 15;

/// GELU of every value in place (rayon over large slices).
pub fn gelu_in_place(v: &mut [f32]) {
    use rayon::prelude::*;
    if v.len() > PAR_CHUNK {
        v.par_chunks_mut(PAR_CHUNK)
            .for_each(|c| map_in_place(c, gelu));
    } else {
        map_in_place(v, gelu);
    }
}

/// 10·log10(max(x, amin)) of every value in place (`librosa.power_to_db` before its `top_db`
/// clamp).
pub fn power_to_db_in_place(v: &mut [f32], amin: f32) {
    const TEN_OVER_LN10: f32 = 10.0 / std::f32::consts::LN_10;
    map_in_place(v, |x| TEN_OVER_LN10 * ln(x.max(amin)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf against the exact f64 erf (`libm::erf`) on a dense grid and at special points.
    #[test]
    fn erf_within_4e7_of_exact() {
        let mut worst = 0.0f64;
        for i in 0..=240_000 {
            let x = -6.0 + i as f64 * 5e-5;
            let got = erf(x as f32) as f64;
            let want = libm::erf(x as f32 as f64);
            worst = worst.max((got - want).abs());
        }
        assert!(worst < 4.5e-7, "max abs error {worst:e}");
        assert_eq!(erf(0.0), 0.0);
        assert_eq!((erf(3.92), erf(-10.0)), (1.0, -1.0));
        assert!(erf(f32::NAN).is_nan());
    }

    /// GELU against the exact form in f64, absolute and at large |x|.
    #[test]
    fn gelu_matches_exact_form() {
        let mut worst = 0.0f64;
        let mut v: Vec<f32> = (0..100_001).map(|i| -12.0 + i as f32 * 2.4e-4).collect();
        let x = v.clone();
        gelu_in_place(&mut v);
        for (g, x) in v.iter().zip(&x) {
            let x = *x as f64;
            let want = 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
            worst = worst.max((*g as f64 - want).abs());
        }
        assert!(worst < 1.5e-6, "max abs error {worst:e}");
        let mut big = [20.0f32, -20.0];
        gelu_in_place(&mut big);
        assert_eq!(big, [20.0, 0.0]);
    }

    /// The paths of [`map_in_place`] the CPU has, each on a copy of `x`. `f` must be a closure
    /// or a function item, not a function pointer, so that it is inlined and vectorised in each
    /// path (through a pointer every path would run the same scalar calls).
    fn every_path(x: &[f32], f: impl Fn(f32) -> f32 + Copy) -> Vec<(&'static str, Vec<f32>)> {
        let mut paths = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                let mut v = x.to_vec();
                // SAFETY: the CPU supports AVX-512F (checked just above).
                unsafe { map_avx512(&mut v, f) };
                paths.push(("avx512", v));
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut v = x.to_vec();
                // SAFETY: the CPU supports AVX2 (checked just above).
                unsafe { map_avx2(&mut v, f) };
                paths.push(("avx2", v));
            }
        }
        paths
    }

    /// Every vector path the CPU has, and the public functions that dispatch to them, give the
    /// scalar function's results bit for bit (the module's promise: the same arithmetic,
    /// element by element).
    #[test]
    fn vector_paths_equal_portable_bit_for_bit() {
        let x: Vec<f32> = (0..10_007)
            .map(|i| (i as f32 * 0.731).sin() * 10f32.powi(i % 23 - 11))
            .collect();
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
        let db = |v: f32| 10.0 / std::f32::consts::LN_10 * ln(v.max(1e-10));
        let want_db: Vec<f32> = x.iter().map(|&v| db(v)).collect();
        let want_gelu: Vec<f32> = x.iter().map(|&v| gelu(v)).collect();
        let mut dispatched_db = x.clone();
        power_to_db_in_place(&mut dispatched_db, 1e-10);
        let mut dispatched_gelu = x.clone();
        gelu_in_place(&mut dispatched_gelu);
        let mut checks = vec![
            ("power_to_db_in_place", dispatched_db, &want_db),
            ("gelu_in_place", dispatched_gelu, &want_gelu),
        ];
        checks.extend(
            every_path(&x, db)
                .into_iter()
                .map(|(p, v)| (p, v, &want_db)),
        );
        checks.extend(
            every_path(&x, gelu)
                .into_iter()
                .map(|(p, v)| (p, v, &want_gelu)),
        );
        for (name, got, want) in checks {
            assert!(
                bits(&got) == bits(want),
                "{name} differs from the scalar function"
            );
        }
    }

    /// ln against f64 over many octaves: relative error of the result, and dB error.
    #[test]
    fn ln_and_db_match_libm() {
        let mut worst_rel = 0.0f64;
        let mut x = 1e-10f32;
        while x < 1e10 {
            let got = ln(x) as f64;
            let want = (x as f64).ln();
            let err = (got - want).abs() / want.abs().max(1.0);
            worst_rel = worst_rel.max(err);
            x *= 1.000_37;
        }
        assert!(worst_rel < 3e-7, "ln max error {worst_rel:e}");
        let mut v = vec![0.0f32, 1e-12, 1e-10, 1.0, 10.0, 12345.678];
        power_to_db_in_place(&mut v, 1e-10);
        let want = [
            -100.0,
            -100.0,
            -100.0,
            0.0,
            10.0,
            10.0 * 12345.678f64.log10(),
        ];
        for (g, w) in v.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 2e-5, "{g} vs {w}");
        }
    }
}
