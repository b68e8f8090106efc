//! f32/f64 products on OpenBLAS (`cblas_sgemm` / `cblas_dgemm`, LP64 as Debian's libopenblas-dev).
//!
//! OpenBLAS runs single-threaded (set once, on first use); parallel calls split the destination
//! into row or column blocks and run one serial call per block on rayon's pool. That keeps one
//! thread pool in the process (burn's Flex ops already run gemm inside rayon tasks, where a
//! threaded BLAS would oversubscribe the cores) and makes results independent of timing.
use crate::Parallelism;
use core::any::TypeId;
use std::sync::Once;

const ROW_MAJOR: i32 = 101;
const NO_TRANS: i32 = 111;
const TRANS: i32 = 112;

extern "C" {
    fn cblas_sgemm(
        order: i32,
        trans_a: i32,
        trans_b: i32,
        m: i32,
        n: i32,
        k: i32,
        alpha: f32,
        a: *const f32,
        lda: i32,
        b: *const f32,
        ldb: i32,
        beta: f32,
        c: *mut f32,
        ldc: i32,
    );
    fn cblas_dgemm(
        order: i32,
        trans_a: i32,
        trans_b: i32,
        m: i32,
        n: i32,
        k: i32,
        alpha: f64,
        a: *const f64,
        lda: i32,
        b: *const f64,
        ldb: i32,
        beta: f64,
        c: *mut f64,
        ldc: i32,
    );
    fn openblas_set_num_threads(n: i32);
    fn openblas_get_corename() -> *const core::ffi::c_char;
}

/// The kernel family OpenBLAS picked when it was loaded (`openblas_get_corename`: "Haswell",
/// "SkylakeX", "Zen", "Prescott", …).
pub fn core_name() -> String {
    // SAFETY: OpenBLAS returns a pointer to a static NUL-terminated name.
    let p = unsafe { openblas_get_corename() };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-null, NUL-terminated, static (above).
    unsafe { core::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}

/// Kernel families without AVX2/FMA code: what an OpenBLAS build older than the CPU falls back
/// to when it does not recognise the model (Debian 12's 0.3.21 picks Prescott, SSE3, on recent
/// Xeons that a hypervisor reports as "Intel Xeon Processor", ~3× slower than its AVX-512 kernel).
const PRE_AVX2_CORES: &[&str] = &[
    "prescott",
    "core2",
    "penryn",
    "dunnington",
    "nehalem",
    "sandybridge",
    "atom",
    "katmai",
    "coppermine",
    "northwood",
    "banias",
    "opteron",
    "opteron_sse3",
    "barcelona",
    "bobcat",
    "bulldozer",
    "piledriver",
    "steamroller",
    "excavator",
    "generic",
];

/// `OPENBLAS_CORETYPE` for a better kernel than the loaded OpenBLAS chose: `SkylakeX` (AVX-512)
/// or `Haswell` (AVX2 + FMA) on a CPU that has them when OpenBLAS fell back to a pre-AVX2 family;
/// `None` when its choice is fine. OpenBLAS reads the variable only when it is loaded, so the
/// caller must start a new process with it (the workbench's `main` re-executes itself).
pub fn better_core_type() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        let name = core_name().to_ascii_lowercase();
        if !PRE_AVX2_CORES.contains(&name.as_str()) {
            return None;
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            return Some("SkylakeX");
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Some("Haswell");
        }
        None
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// Sizes, `(row stride, column stride)` per matrix, and the call's options.
#[derive(Clone, Copy)]
pub(crate) struct Problem {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub dst: (isize, isize),
    pub lhs: (isize, isize),
    pub rhs: (isize, isize),
    pub read_dst: bool,
    pub parallelism: Parallelism,
}

/// A matrix as a row-major cblas operand: transpose flag and leading dimension.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Operand {
    trans: i32,
    ld: usize,
}

/// `rows×cols` with strides `(rs, cs)`: row-major (unit column stride) or column-major (unit row
/// stride, passed transposed); `None` for anything else (broadcast, negative or gapped strides).
fn operand(rows: usize, cols: usize, (rs, cs): (isize, isize)) -> Option<Operand> {
    if cs == 1 && (rows <= 1 || rs >= cols.max(1) as isize) {
        let ld = if rows <= 1 { cols.max(1) } else { rs as usize };
        return Some(Operand {
            trans: NO_TRANS,
            ld,
        });
    }
    if rs == 1 && (cols <= 1 || cs >= rows.max(1) as isize) {
        let ld = if cols <= 1 { rows.max(1) } else { cs as usize };
        return Some(Operand { trans: TRANS, ld });
    }
    None
}

/// One serial BLAS call, `c := alpha·a·b + beta·c` (row-major `c`).
trait Blas: Copy + Default + Send + Sync + 'static {
    #[allow(clippy::too_many_arguments)]
    unsafe fn call(
        m: usize,
        n: usize,
        k: usize,
        alpha: Self,
        a: *const Self,
        oa: Operand,
        b: *const Self,
        ob: Operand,
        beta: Self,
        c: *mut Self,
        ldc: usize,
    );
}

macro_rules! blas_impl {
    ($T:ty, $f:ident) => {
        impl Blas for $T {
            unsafe fn call(
                m: usize,
                n: usize,
                k: usize,
                alpha: Self,
                a: *const Self,
                oa: Operand,
                b: *const Self,
                ob: Operand,
                beta: Self,
                c: *mut Self,
                ldc: usize,
            ) {
                $f(
                    ROW_MAJOR,
                    oa.trans,
                    ob.trans,
                    m as i32,
                    n as i32,
                    k as i32,
                    alpha,
                    a,
                    oa.ld as i32,
                    b,
                    ob.ld as i32,
                    beta,
                    c,
                    ldc as i32,
                )
            }
        }
    };
}
blas_impl!(f32, cblas_sgemm);
blas_impl!(f64, cblas_dgemm);

/// Runs `p` on OpenBLAS when the element type is f32/f64 and every matrix is dense enough for
/// cblas; returns false (having done nothing) otherwise.
///
/// # Safety
/// As [`crate::gemm`].
pub(crate) unsafe fn try_gemm<T: 'static>(
    p: Problem,
    dst: *mut T,
    lhs: *const T,
    rhs: *const T,
    alpha: &T,
    beta: &T,
) -> bool {
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        run::<f32>(
            p,
            dst.cast(),
            lhs.cast(),
            rhs.cast(),
            *(alpha as *const T).cast(),
            *(beta as *const T).cast(),
        )
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        run::<f64>(
            p,
            dst.cast(),
            lhs.cast(),
            rhs.cast(),
            *(alpha as *const T).cast(),
            *(beta as *const T).cast(),
        )
    } else {
        false
    }
}

/// Below this many multiply-adds a call is not split across threads.
const SPLIT_MIN_MACS: usize = 1 << 20;
/// Blocks are multiples of this many rows/columns (one AVX-512 register of f32).
const BLOCK_ALIGN: usize = 16;

unsafe fn run<T: Blas>(
    p: Problem,
    dst: *mut T,
    lhs: *const T,
    rhs: *const T,
    alpha: T,
    beta: T,
) -> bool {
    static SERIAL: Once = Once::new();
    let Problem {
        mut m,
        mut n,
        k,
        read_dst,
        ..
    } = p;
    let (mut lhs, mut rhs) = (lhs, rhs);
    let (mut l, mut r, mut d) = (p.lhs, p.rhs, p.dst);
    // cblas wants a row-major destination: a column-major one is the transposed problem
    // dstᵀ = rhsᵀ·lhsᵀ.
    if d.1 != 1 && d.0 == 1 {
        std::mem::swap(&mut m, &mut n);
        std::mem::swap(&mut lhs, &mut rhs);
        (l, r) = ((r.1, r.0), (l.1, l.0));
        d = (d.1, d.0);
    }
    let fits = |x: usize| x <= i32::MAX as usize;
    let (Some(oa), Some(ob), Some(oc)) = (operand(m, k, l), operand(k, n, r), operand(m, n, d))
    else {
        return false;
    };
    if oc.trans != NO_TRANS || ![m, n, k, oa.ld, ob.ld, oc.ld].into_iter().all(fits) {
        return false;
    }
    if m == 0 || n == 0 {
        return true;
    }
    SERIAL.call_once(|| openblas_set_num_threads(1));
    // gemm's `alpha·dst + beta·product` is cblas's `beta·C + alpha·A·B`.
    let (blas_alpha, blas_beta) = (beta, if read_dst { alpha } else { T::default() });
    let threads = threads(p.parallelism);
    if threads <= 1 || m.saturating_mul(n).saturating_mul(k) < SPLIT_MIN_MACS {
        T::call(m, n, k, blas_alpha, lhs, oa, rhs, ob, blas_beta, dst, oc.ld);
        return true;
    }
    // Split the longer side of the destination into one block per thread.
    let split_rows = m >= n;
    let len = if split_rows { m } else { n };
    let block = len.div_ceil(threads).next_multiple_of(BLOCK_ALIGN).min(len);
    let (dst_a, lhs_a, rhs_a) = (dst as usize, lhs as usize, rhs as usize);
    let one = move |start: usize| {
        let size = block.min(len - start);
        // Offsets in elements along the split side (row of lhs/dst, or column of rhs/dst).
        let (lhs_p, rhs_p, dst_p) = if split_rows {
            let a = (lhs_a as *const T).offset(start as isize * l.0);
            (a, rhs_a as *const T, (dst_a as *mut T).add(start * oc.ld))
        } else {
            let b = (rhs_a as *const T).offset(start as isize * r.1);
            (lhs_a as *const T, b, (dst_a as *mut T).add(start))
        };
        let (mm, nn) = if split_rows { (size, n) } else { (m, size) };
        T::call(
            mm, nn, k, blas_alpha, lhs_p, oa, rhs_p, ob, blas_beta, dst_p, oc.ld,
        );
    };
    parallel_for(len.div_ceil(block), |i| one(i * block));
    true
}

fn threads(parallelism: Parallelism) -> usize {
    match parallelism {
        Parallelism::None => 1,
        #[cfg(feature = "rayon")]
        Parallelism::Rayon(0) => rayon::current_num_threads(),
        #[cfg(feature = "rayon")]
        Parallelism::Rayon(n) => n,
    }
}

#[cfg(feature = "rayon")]
fn parallel_for(blocks: usize, f: impl Fn(usize) + Send + Sync) {
    use rayon::prelude::*;
    (0..blocks).into_par_iter().for_each(f);
}

#[cfg(not(feature = "rayon"))]
fn parallel_for(blocks: usize, f: impl Fn(usize) + Send + Sync) {
    (0..blocks).for_each(f);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference `alpha·dst + beta·lhs·rhs` on strided f64 data.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        m: usize,
        n: usize,
        k: usize,
        dst: &mut [f64],
        d: (isize, isize),
        read: bool,
        lhs: &[f64],
        l: (isize, isize),
        rhs: &[f64],
        r: (isize, isize),
        alpha: f64,
        beta: f64,
    ) {
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0;
                for q in 0..k {
                    acc += lhs[(i as isize * l.0 + q as isize * l.1) as usize]
                        * rhs[(q as isize * r.0 + j as isize * r.1) as usize];
                }
                let at = (i as isize * d.0 + j as isize * d.1) as usize;
                dst[at] = beta * acc + if read { alpha * dst[at] } else { 0.0 };
            }
        }
    }

    fn data(len: usize, seed: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as f64 / (1u64 << 31) as f64) - 0.5
            })
            .collect()
    }

    #[test]
    fn operand_layouts() {
        assert_eq!(
            operand(3, 4, (4, 1)),
            Some(Operand {
                trans: NO_TRANS,
                ld: 4
            })
        );
        assert_eq!(
            operand(3, 4, (6, 1)),
            Some(Operand {
                trans: NO_TRANS,
                ld: 6
            })
        );
        assert_eq!(
            operand(3, 4, (1, 3)),
            Some(Operand {
                trans: TRANS,
                ld: 3
            })
        );
        assert_eq!(
            operand(1, 4, (0, 1)),
            Some(Operand {
                trans: NO_TRANS,
                ld: 4
            })
        );
        assert_eq!(operand(3, 4, (0, 1)), None); // broadcast rows
        assert_eq!(operand(3, 4, (4, 2)), None); // gapped columns
        assert_eq!(operand(3, 4, (-4, 1)), None);
    }

    /// Every layout combination, with and without reading dst, serial and split, against the
    /// naive product (f64: the BLAS and reference sums agree to ~1e-13).
    #[test]
    fn matches_naive_product_for_every_layout() {
        let (m, n, k) = (67, 45, 130); // split path: 67·45·130 < 2^20, so force it below too
        for (li, l_rm) in [true, false].into_iter().enumerate() {
            for (ri, r_rm) in [true, false].into_iter().enumerate() {
                for d_rm in [true, false] {
                    for read in [false, true] {
                        let l = if l_rm {
                            (k as isize + 3, 1)
                        } else {
                            (1, m as isize)
                        };
                        let r = if r_rm {
                            (n as isize, 1)
                        } else {
                            (1, k as isize + 1)
                        };
                        let d = if d_rm {
                            (n as isize, 1)
                        } else {
                            (1, m as isize)
                        };
                        let lhs = data(m * (k + 3) + 8, 1 + li as u64);
                        let rhs = data((k + 1) * n + 8, 3 + ri as u64);
                        let init = data(m * n, 9);
                        let (mut want, mut got) = (init.clone(), init.clone());
                        naive(m, n, k, &mut want, d, read, &lhs, l, &rhs, r, 0.5, 2.0);
                        let p = Problem {
                            m,
                            n,
                            k,
                            dst: d,
                            lhs: l,
                            rhs: r,
                            read_dst: read,
                            parallelism: Parallelism::None,
                        };
                        assert!(unsafe {
                            run::<f64>(p, got.as_mut_ptr(), lhs.as_ptr(), rhs.as_ptr(), 0.5, 2.0)
                        });
                        let err = want
                            .iter()
                            .zip(&got)
                            .map(|(a, b)| (a - b).abs())
                            .fold(0.0, f64::max);
                        assert!(
                            err < 1e-12,
                            "layout l{l_rm} r{r_rm} d{d_rm} read{read}: {err}"
                        );
                    }
                }
            }
        }
    }

    #[cfg(feature = "rayon")]
    #[test]
    fn split_blocks_match_the_serial_result() {
        for (m, n, k) in [(300, 70, 64), (40, 517, 80)] {
            let lhs: Vec<f32> = data(m * k, 5).into_iter().map(|v| v as f32).collect();
            let rhs: Vec<f32> = data(k * n, 6).into_iter().map(|v| v as f32).collect();
            let mut serial = vec![0.0f32; m * n];
            let mut split = vec![0.0f32; m * n];
            let mk = |par| Problem {
                m,
                n,
                k,
                dst: (n as isize, 1),
                lhs: (k as isize, 1),
                rhs: (n as isize, 1),
                read_dst: false,
                parallelism: par,
            };
            assert!(m * n * k >= SPLIT_MIN_MACS);
            unsafe {
                assert!(run::<f32>(
                    mk(Parallelism::None),
                    serial.as_mut_ptr(),
                    lhs.as_ptr(),
                    rhs.as_ptr(),
                    0.0,
                    1.0
                ));
                assert!(run::<f32>(
                    mk(Parallelism::Rayon(3)),
                    split.as_mut_ptr(),
                    lhs.as_ptr(),
                    rhs.as_ptr(),
                    0.0,
                    1.0
                ));
            }
            // Edge blocks may use OpenBLAS's remainder kernels, so equal to rounding, not bitwise
            // (a given thread count always splits the same way, so runs still repeat exactly).
            let err = serial
                .iter()
                .zip(&split)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(err < 1e-5, "{m}x{n}x{k}: {err}");
            assert!(serial.iter().any(|&v| v.abs() > 0.1), "non-trivial product");
        }
    }

    #[test]
    fn unsupported_layouts_are_declined() {
        let (lhs, rhs, mut dst) = (vec![1.0f32; 16], vec![1.0f32; 16], vec![0.0f32; 16]);
        let p = Problem {
            m: 4,
            n: 4,
            k: 4,
            dst: (4, 1),
            lhs: (0, 1),
            rhs: (4, 1),
            read_dst: false,
            parallelism: Parallelism::None,
        };
        assert!(!unsafe { run::<f32>(p, dst.as_mut_ptr(), lhs.as_ptr(), rhs.as_ptr(), 0.0, 1.0) });
        assert!(dst.iter().all(|&v| v == 0.0));
    }
}
