//! Upstream gemm 0.19.0's entry point (MIT, © sarah quiñones): normalise the strides, then call
//! the kernel crate for the element type. Kept as upstream wrote it, minus the tests.
use crate::Parallelism;
use core::any::TypeId;

#[allow(clippy::too_many_arguments)]
unsafe fn dispatch<T: 'static>(
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
    par: Parallelism,
) {
    // One call per element type; only the complex kernels take the conjugation flags.
    macro_rules! call {
        ($T:ty, $get:path, $conj:expr) => {{
            let (cd, cl, cr) = $conj;
            $get()(
                m,
                n,
                k,
                dst as *mut $T,
                dst_cs,
                dst_rs,
                read_dst,
                lhs as *mut $T,
                lhs_cs,
                lhs_rs,
                rhs as *mut $T,
                rhs_cs,
                rhs_rs,
                *(&alpha as *const T as *const $T),
                *(&beta as *const T as *const $T),
                cd,
                cl,
                cr,
                par,
            )
        }};
    }
    let t = TypeId::of::<T>();
    let real = (false, false, false);
    let complex = (conj_dst, conj_lhs, conj_rhs);
    #[cfg(feature = "f16")]
    if t == TypeId::of::<crate::f16>() {
        return call!(crate::f16, gemm_f16::gemm::f16::get_gemm_fn, real);
    }
    if t == TypeId::of::<f64>() {
        call!(f64, gemm_f64::gemm::f64::get_gemm_fn, real)
    } else if t == TypeId::of::<f32>() {
        call!(f32, gemm_f32::gemm::f32::get_gemm_fn, real)
    } else if t == TypeId::of::<crate::c64>() {
        call!(crate::c64, gemm_c64::gemm::f64::get_gemm_fn, complex)
    } else if t == TypeId::of::<crate::c32>() {
        call!(crate::c32, gemm_c32::gemm::f32::get_gemm_fn, complex)
    } else {
        panic!("gemm: unsupported element type");
    }
}

/// Upstream `gemm::gemm`: transpose when the destination is column-oriented (the kernels prefer
/// column-major), flip negative strides, then dispatch on the element type.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm<T: 'static>(
    m: usize,
    n: usize,
    k: usize,
    mut dst: *mut T,
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
    let do_transpose = dst_cs.abs() < dst_rs.abs();
    let (
        m,
        n,
        mut dst_cs,
        mut dst_rs,
        mut lhs,
        mut lhs_cs,
        mut lhs_rs,
        mut rhs,
        mut rhs_cs,
        mut rhs_rs,
        conj_lhs,
        conj_rhs,
    ) = if do_transpose {
        (
            n, m, dst_rs, dst_cs, rhs, rhs_rs, rhs_cs, lhs, lhs_rs, lhs_cs, conj_rhs, conj_lhs,
        )
    } else {
        (
            m, n, dst_cs, dst_rs, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs, conj_lhs, conj_rhs,
        )
    };
    if dst_rs < 0 && m > 0 {
        dst = dst.wrapping_offset((m - 1) as isize * dst_rs);
        dst_rs = -dst_rs;
        lhs = lhs.wrapping_offset((m - 1) as isize * lhs_rs);
        lhs_rs = -lhs_rs;
    }
    if dst_cs < 0 && n > 0 {
        dst = dst.wrapping_offset((n - 1) as isize * dst_cs);
        dst_cs = -dst_cs;
        rhs = rhs.wrapping_offset((n - 1) as isize * rhs_cs);
        rhs_cs = -rhs_cs;
    }
    if lhs_cs < 0 && k > 0 {
        lhs = lhs.wrapping_offset((k - 1) as isize * lhs_cs);
        lhs_cs = -lhs_cs;
        rhs = rhs.wrapping_offset((k - 1) as isize * rhs_rs);
        rhs_rs = -rhs_rs;
    }
    dispatch(
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
