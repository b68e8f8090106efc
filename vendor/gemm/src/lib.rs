//! `gemm` 0.19.0's public API (what burn's Flex backend calls), with an optional OpenBLAS path.
//!
//! [`gemm()`] computes `dst := alpha·dst + beta·lhs·rhs` (or `beta·lhs·rhs` when `read_dst` is false)
//! on strided matrices, exactly as upstream. With the `openblas` feature, f32/f64 products whose
//! three matrices each have a unit stride (row- or column-major; every dense tensor burn passes)
//! run on OpenBLAS ([`blas`]); anything else — f16, complex, broadcast or negative strides — runs
//! on upstream's kernels ([`upstream`]), so results never depend on which layouts reach here.
#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(feature = "openblas")]
mod blas;
mod upstream;

/// OpenBLAS's kernel choice and a better one for CPUs it does not recognise (not upstream API).
#[cfg(feature = "openblas")]
pub mod openblas {
    pub use crate::blas::{better_core_type, core_name};
}

#[allow(non_camel_case_types)]
pub type c32 = num_complex::Complex32;
#[allow(non_camel_case_types)]
pub type c64 = num_complex::Complex64;
#[cfg(feature = "f16")]
#[allow(non_camel_case_types)]
pub type f16 = gemm_f16::f16;

pub use gemm_common::gemm::{
    get_lhs_packing_threshold_multi_thread, get_lhs_packing_threshold_single_thread,
    get_rhs_packing_threshold, get_threading_threshold, set_lhs_packing_threshold_multi_thread,
    set_lhs_packing_threshold_single_thread, set_rhs_packing_threshold, set_threading_threshold,
    DEFAULT_LHS_PACKING_THRESHOLD_MULTI_THREAD, DEFAULT_LHS_PACKING_THRESHOLD_SINGLE_THREAD,
    DEFAULT_RHS_PACKING_THRESHOLD, DEFAULT_THREADING_THRESHOLD,
};
pub use gemm_common::Parallelism;
pub use gemm_common::{get_wasm_simd128, set_wasm_simd128, DEFAULT_WASM_SIMD128};

/// `dst := alpha·dst + beta·lhs·rhs` (`dst` is `m×n`, `lhs` `m×k`, `rhs` `k×n`; `*_rs`/`*_cs` are
/// row/column strides in elements). With `read_dst == false`, `dst` is only written.
///
/// # Safety
/// The pointers must be valid for every element the sizes and strides address, and `dst` must not
/// overlap `lhs` or `rhs` (upstream's contract).
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm<T: 'static>(
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
    #[cfg(feature = "openblas")]
    {
        let p = blas::Problem {
            m,
            n,
            k,
            dst: (dst_rs, dst_cs),
            lhs: (lhs_rs, lhs_cs),
            rhs: (rhs_rs, rhs_cs),
            read_dst,
            parallelism,
        };
        if blas::try_gemm(p, dst, lhs, rhs, &alpha, &beta) {
            return;
        }
    }
    upstream::gemm(
        m,
        n,
        k,
        dst,
        dst_cs,
        dst_rs,
        read_dst,
        lhs,
        lhs_cs,
        lhs_rs,
        rhs,
        rhs_cs,
        rhs_rs,
        alpha,
        beta,
        conj_dst,
        conj_lhs,
        conj_rhs,
        parallelism,
    )
}
