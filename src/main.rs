//! `ser-workbench`: the GUI without arguments, headless commands with them.

use clap::Parser;
use ser_workbench::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    // Behave like other command-line tools when the reader of stdout goes away (`| head`): end
    // quietly instead of panicking on the failed print.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    #[cfg(all(unix, feature = "openblas"))]
    use_best_blas_kernel();
    let cli = Cli::parse();
    let cmd = cli.command.unwrap_or_default();
    match run(cmd) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Debian's OpenBLAS chooses its kernels once, when it is loaded, and falls back to SSE3 code on
/// CPUs newer than itself (a recent Xeon that a hypervisor names "Intel Xeon Processor"): every
/// matrix product then runs ~3× slower (docs/perf/cpu.md). Where that happened, start the
/// program again with `OPENBLAS_CORETYPE` naming the AVX-512 or AVX2 kernels the CPU can run.
/// A user's own `OPENBLAS_CORETYPE` is always kept (and stops the loop after the restart).
#[cfg(all(unix, feature = "openblas"))]
fn use_best_blas_kernel() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OPENBLAS_CORETYPE").is_some() {
        return;
    }
    let Some(core) = gemm::openblas::better_core_type() else {
        return;
    };
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    // `exec` only returns on failure; the program then goes on with the slower kernels.
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("OPENBLAS_CORETYPE", core)
        .exec();
    eprintln!(
        "note: OpenBLAS chose its {} kernels; restarting with OPENBLAS_CORETYPE={core} failed ({err})",
        gemm::openblas::core_name()
    );
}
