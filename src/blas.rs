//! Matrix products on host slices, for the kernels that work on the Flex backend's own buffers
//! (`ssl::host`, `model::fused`): a strided row-major [`View`] and [`sgemm`] over the gemm crate
//! (OpenBLAS for these layouts, vendor/gemm).

/// A row-major matrix view: `rows×cols` values at `data[r·ld + c]`, or, `transposed`, the
/// transpose of such a view (`data[c·ld + r]`).
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub ld: usize,
    pub transposed: bool,
}

impl<'a> View<'a> {
    pub(crate) fn rows(data: &'a [f32], ld: usize) -> Self {
        Self {
            data,
            ld,
            transposed: false,
        }
    }

    pub(crate) fn t(data: &'a [f32], ld: usize) -> Self {
        Self {
            data,
            ld,
            transposed: true,
        }
    }

    /// (row stride, column stride) of the `rows×cols` matrix, checking that it lies in `data`.
    fn strides(&self, rows: usize, cols: usize) -> (isize, isize) {
        let (outer, inner) = if self.transposed {
            (cols, rows)
        } else {
            (rows, cols)
        };
        assert!(
            self.ld >= inner,
            "sgemm: leading dimension below the row length"
        );
        assert!(
            outer == 0 || inner == 0 || self.data.len() >= (outer - 1) * self.ld + inner,
            "sgemm: operand shorter than its view"
        );
        if self.transposed {
            (1, self.ld as isize)
        } else {
            (self.ld as isize, 1)
        }
    }
}

/// `c (+)= alpha·a·b` with `a` `m×k`, `b` `k×n` and `c` `m×n` (row stride `ldc`); `accumulate`
/// adds to `c`'s values, else they are overwritten. Through the gemm crate (OpenBLAS for these
/// layouts); `parallel` splits the product over the rayon pool.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sgemm(
    (m, n, k): (usize, usize, usize),
    a: View,
    b: View,
    c: &mut [f32],
    ldc: usize,
    alpha: f32,
    accumulate: bool,
    parallel: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    let (a_rs, a_cs) = a.strides(m, k);
    let (b_rs, b_cs) = b.strides(k, n);
    assert!(
        ldc >= n && c.len() >= (m - 1) * ldc + n,
        "sgemm: destination shorter than its view"
    );
    let parallelism = if parallel {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the three views lie inside their slices (asserted above), `c` is exclusively
    // borrowed and so aliases neither operand.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldc as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            alpha,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// Every `row.len()`-wide row of `y` set to `row` (a bias written before a product adds to it).
pub(crate) fn fill_rows(y: &mut [f32], row: &[f32]) {
    for r in y.chunks_exact_mut(row.len()) {
        r.copy_from_slice(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Views that do not fit their slices are refused before any product runs.
    #[test]
    #[should_panic(expected = "operand shorter than its view")]
    fn sgemm_checks_the_views() {
        let a = vec![0.0f32; 10];
        let mut c = vec![0.0f32; 4];
        sgemm(
            (2, 2, 6),
            View::rows(&a, 6),
            View::rows(&a, 2),
            &mut c,
            2,
            1.0,
            false,
            false,
        );
    }

    /// A product with a transposed operand and accumulation into part of a wider destination
    /// equals the hand-computed sums.
    #[test]
    fn sgemm_transposed_accumulates_into_a_strided_destination() {
        // a = [[1, 2], [3, 4], [5, 6]] stored transposed (2×3, ld 3); b = [[1, 0, 2], [0, 1, 1]].
        let at = [1.0f32, 3.0, 5.0, 2.0, 4.0, 6.0];
        let b = [1.0f32, 0.0, 2.0, 0.0, 1.0, 1.0];
        let mut c = vec![1.0f32; 3 * 4];
        sgemm(
            (3, 3, 2),
            View::t(&at, 3),
            View::rows(&b, 3),
            &mut c,
            4,
            2.0,
            true,
            false,
        );
        // a·b = [[1, 2, 4], [3, 4, 10], [5, 6, 16]]; c = 1 + 2·(a·b), the fourth column untouched.
        let want = [
            3.0, 5.0, 9.0, 1.0, 7.0, 9.0, 21.0, 1.0, 11.0, 13.0, 33.0, 1.0,
        ];
        assert_eq!(c, want);
    }
}
