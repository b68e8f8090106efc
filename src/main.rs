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
