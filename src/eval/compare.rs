//! Numeric comparison for parity checks (against librosa, transformers, PyTorch fixtures).
//!
//! `f32::max` silently drops NaN (`NaN.max(0.0) == 0.0`), so a hand-rolled
//! `fold(0.0, f32::max)` lets an all-NaN output pass any tolerance. [`max_abs_diff`] propagates
//! NaN instead, and `err <= tol` is false for NaN: a broken output always fails.

/// Largest `|a_i − b_i|` over two equally long slices; `NaN` when any difference is NaN (a NaN on
/// either side, or `inf − inf`), `inf` when exactly one side is infinite.
///
/// # Panics
/// When the lengths differ (a shape mismatch is never a small difference).
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(
        a.len(),
        b.len(),
        "max_abs_diff: length mismatch ({} vs {})",
        a.len(),
        b.len()
    );
    let mut worst = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        let d = (x - y).abs();
        if d.is_nan() {
            return f32::NAN;
        }
        if d > worst {
            worst = d;
        }
    }
    worst
}

/// Asserts that `got` matches `want` within `tol` (max abs difference, NaN fails), prints the
/// measured difference (visible with `--nocapture`) and returns it.
///
/// # Panics
/// When the lengths differ or the difference exceeds `tol` or is NaN.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) -> f32 {
    let err = max_abs_diff(got, want);
    eprintln!("{what}: max abs difference {err:e} (tolerance {tol:e})");
    assert!(
        err <= tol,
        "{what}: max abs difference {err} exceeds {tol} (NaN means a NaN in the output)"
    );
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_difference() {
        assert_eq!(max_abs_diff(&[1.0, 2.0, 3.0], &[1.5, 2.0, 0.0]), 3.0);
        assert_eq!(max_abs_diff(&[], &[]), 0.0);
    }

    #[test]
    fn nan_anywhere_is_nan_and_fails_a_tolerance() {
        let err = max_abs_diff(&[f32::NAN, 1.0], &[0.0, 1.0]);
        assert!(err.is_nan());
        let within_tolerance = err <= 1.0;
        assert!(
            !within_tolerance,
            "a NaN difference must fail a tolerance check"
        );
        assert!(max_abs_diff(&[0.0, 1.0], &[0.0, f32::NAN]).is_nan());
        // All-NaN output against a finite reference: the case `fold(0.0, f32::max)` passed.
        assert!(max_abs_diff(&[f32::NAN; 4], &[0.5; 4]).is_nan());
        assert!(max_abs_diff(&[f32::INFINITY], &[f32::INFINITY]).is_nan());
        assert_eq!(max_abs_diff(&[f32::INFINITY], &[1.0]), f32::INFINITY);
    }

    #[test]
    #[should_panic(expected = "NaN")]
    fn assert_close_rejects_nan() {
        assert_close("nan output", &[f32::NAN], &[0.0], 1e-3);
    }

    #[test]
    #[should_panic(expected = "length mismatch")]
    fn length_mismatch_panics() {
        max_abs_diff(&[1.0], &[1.0, 2.0]);
    }
}
