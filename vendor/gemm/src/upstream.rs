//! The portable path: every product that the BLAS path declines (f16, complex, broadcast,
//! negative or overlapping strides, or any product when the `openblas` feature is off) runs on
//! the `gemm-f*` kernel crates, the same kernels upstream gemm 0.19 calls (MIT, © sarah
//! quiñones).
//!
//! Those kernels expect a column-oriented destination with non-negative strides along the
//! destination's rows and columns and along the inner dimension of the left operand. Any other
//! layout is rewritten into that form first, without moving data:
//! - a row-oriented destination is computed as `dstᵀ = rhsᵀ · lhsᵀ` (swap the operands and
//!   exchange every row stride with its column stride);
//! - a negative stride is made positive by starting at the far end and walking backwards, on
//!   the destination and the operand that shares that dimension (a sum does not depend on the
//!   order of its terms).

use core::any::TypeId;

use crate::Parallelism;

/// A strided matrix operand: pointer to element (0, 0) and the distances, in elements, between
/// consecutive rows and consecutive columns.
#[derive(Clone, Copy)]
struct View<T> {
    ptr: *mut T,
    rs: isize,
    cs: isize,
}

impl<T> View<T> {
    /// The transposed matrix over the same memory.
    fn transposed(self) -> Self {
        Self {
            ptr: self.ptr,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// The same `rows` rows in reverse order (row stride negated); unchanged when empty.
    fn rows_reversed(self, rows: usize) -> Self {
        if rows == 0 {
            return self;
        }
        Self {
            ptr: self.ptr.wrapping_offset((rows - 1) as isize * self.rs),
            rs: -self.rs,
            cs: self.cs,
        }
    }

    /// The same `cols` columns in reverse order (column stride negated); unchanged when empty.
    fn cols_reversed(self, cols: usize) -> Self {
        self.transposed().rows_reversed(cols).transposed()
    }
}

/// `dst (m×n) = alpha·dst + beta·lhs (m×k) · rhs (k×n)`, with the conjugation flags of the
/// complex kernels.
struct Product<T> {
    m: usize,
    n: usize,
    k: usize,
    dst: View<T>,
    lhs: View<T>,
    rhs: View<T>,
    conj_lhs: bool,
    conj_rhs: bool,
}

impl<T> Product<T> {
    /// `dstᵀ = rhsᵀ · lhsᵀ`: the same result written through the transposed destination.
    fn transposed(self) -> Self {
        Self {
            m: self.n,
            n: self.m,
            k: self.k,
            dst: self.dst.transposed(),
            lhs: self.rhs.transposed(),
            rhs: self.lhs.transposed(),
            conj_lhs: self.conj_rhs,
            conj_rhs: self.conj_lhs,
        }
    }

    /// The layout the kernels take (see the module documentation).
    fn normalised(mut self) -> Self {
        if self.dst.cs.abs() < self.dst.rs.abs() {
            self = self.transposed();
        }
        if self.dst.rs < 0 {
            self.dst = self.dst.rows_reversed(self.m);
            self.lhs = self.lhs.rows_reversed(self.m);
        }
        if self.dst.cs < 0 {
            self.dst = self.dst.cols_reversed(self.n);
            self.rhs = self.rhs.cols_reversed(self.n);
        }
        if self.lhs.cs < 0 {
            self.lhs = self.lhs.cols_reversed(self.k);
            self.rhs = self.rhs.rows_reversed(self.k);
        }
        self
    }
}

/// Runs a normalised product on the kernel crate of element type `T`.
///
/// # Safety
/// The views must address valid `T` elements for every index of their shapes, and `dst` must
/// not overlap `lhs` or `rhs`; `alpha` and `beta` are `T` values.
unsafe fn run_kernel<T: 'static>(
    p: Product<T>,
    read_dst: bool,
    alpha: T,
    beta: T,
    conj_dst: bool,
    par: Parallelism,
) {
    // Each kernel crate exposes `get_gemm_fn()` returning the kernel for its element type; only
    // the complex kernels read the conjugation flags.
    macro_rules! kernel {
        ($E:ty, $get:path, $conj_dst:expr, $conj_lhs:expr, $conj_rhs:expr) => {{
            // SAFETY: `T` is `$E` (checked by the caller's TypeId test), so the pointer casts
            // and the reads of `alpha`/`beta` as `$E` reinterpret values of the same type.
            unsafe {
                $get()(
                    p.m,
                    p.n,
                    p.k,
                    p.dst.ptr as *mut $E,
                    p.dst.cs,
                    p.dst.rs,
                    read_dst,
                    p.lhs.ptr as *const $E,
                    p.lhs.cs,
                    p.lhs.rs,
                    p.rhs.ptr as *const $E,
                    p.rhs.cs,
                    p.rhs.rs,
                    *(&alpha as *const T as *const $E),
                    *(&beta as *const T as *const $E),
                    $conj_dst,
                    $conj_lhs,
                    $conj_rhs,
                    par,
                )
            }
        }};
    }
    let t = TypeId::of::<T>();
    #[cfg(feature = "f16")]
    if t == TypeId::of::<crate::f16>() {
        return kernel!(
            crate::f16,
            gemm_f16::gemm::f16::get_gemm_fn,
            false,
            false,
            false
        );
    }
    if t == TypeId::of::<f64>() {
        kernel!(f64, gemm_f64::gemm::f64::get_gemm_fn, false, false, false)
    } else if t == TypeId::of::<f32>() {
        kernel!(f32, gemm_f32::gemm::f32::get_gemm_fn, false, false, false)
    } else if t == TypeId::of::<crate::c64>() {
        kernel!(
            crate::c64,
            gemm_c64::gemm::f64::get_gemm_fn,
            conj_dst,
            p.conj_lhs,
            p.conj_rhs
        )
    } else if t == TypeId::of::<crate::c32>() {
        kernel!(
            crate::c32,
            gemm_c32::gemm::f32::get_gemm_fn,
            conj_dst,
            p.conj_lhs,
            p.conj_rhs
        )
    } else {
        panic!("gemm: unsupported element type");
    }
}

/// `gemm::gemm` on the portable kernels: `dst = alpha·dst + beta·lhs·rhs` for any strides.
///
/// # Safety
/// As the public `gemm::gemm`: every operand addresses valid elements for its shape and
/// strides, and `dst` does not overlap `lhs` or `rhs`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm<T: 'static>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_cs: isize,
    dst_rs: isize,
    read_dst: bool,
    lhs: *const T,
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: *const T,
    rhs_cs: isize,
    rhs_rs: isize,
    alpha: T,
    beta: T,
    conj_dst: bool,
    conj_lhs: bool,
    conj_rhs: bool,
    parallelism: Parallelism,
) {
    let view = |ptr: *mut T, rs, cs| View { ptr, rs, cs };
    let product = Product {
        m,
        n,
        k,
        dst: view(dst, dst_rs, dst_cs),
        lhs: view(lhs as *mut T, lhs_rs, lhs_cs),
        rhs: view(rhs as *mut T, rhs_rs, rhs_cs),
        conj_lhs,
        conj_rhs,
    }
    .normalised();
    // SAFETY: the caller's contract; normalising only re-describes the same elements.
    unsafe { run_kernel(product, read_dst, alpha, beta, conj_dst, parallelism) }
}
