//! `ser-workbench ensemble`: majority (hard) or mean-probability (soft) voting over finished
//! runs, written as a run folder.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::train::ensemble::{Vote, ensemble};

/// Options of `ensemble`.
#[derive(Args, Debug)]
pub struct EnsembleArgs {
    /// Run folders (at least two) that tested the same utterances with the same classes.
    #[arg(long, num_args = 2.., required = true)]
    pub runs: Vec<PathBuf>,
    /// hard: the most frequent predicted class (ties: larger summed probability); soft: the
    /// highest mean probability.
    #[arg(long, default_value = "hard")]
    pub vote: Vote,
    /// Folder of the ensemble (default: <runs>/<timestamp>-ensemble).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Builds the ensemble and prints its pooled metrics beside its members'.
pub fn run(a: EnsembleArgs) -> Result<()> {
    let out = match a.out {
        Some(o) => o,
        None => crate::train::run_dir::RunDir::claim_new(
            &crate::paths::Paths::from_env().runs,
            "ensemble",
        )
        .map_err(anyhow::Error::msg)?,
    };
    let e = ensemble(&a.runs, a.vote, &out).map_err(anyhow::Error::msg)?;
    for m in &e.report.members {
        println!(
            "member {}: UA {:.4} WA {:.4} macro-F1 {:.4}",
            m.run_dir, m.ua, m.wa, m.macro_f1
        );
    }
    let p = &e.report.pooled;
    println!(
        "{}: UA {:.4} WA {:.4} macro-F1 {:.4} (n = {})",
        e.report.preset, p.ua, p.wa, p.macro_f1, p.n
    );
    println!("report: {}", e.run_dir.join("report.md").display());
    Ok(())
}
