//! `ser-workbench`: the GUI without arguments, headless commands with them.

use clap::Parser;
use ser_workbench::cli::{Cli, Command, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let cmd = cli.command.unwrap_or(Command::Gui { demo: false });
    match run(cmd) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
