//! `ser-workbench probe`: a multi-label run applied to a categorical emotion corpus — the mean
//! probability of each style label per emotion class (SpeechMLC's unseen-corpus probe).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

/// Options of `probe`.
#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// A multi-label run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// A corpus with emotion classes (any reader).
    #[arg(long)]
    pub corpus: PathBuf,
    /// Also write the table as CSV (`class,n,<label>,…`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// One JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Prints (and writes) the probe table.
pub fn run(a: ProbeArgs) -> Result<()> {
    let t = crate::train::probe::probe(&a.run, &a.corpus, &mut |_, _| {})
        .map_err(anyhow::Error::msg)?;
    if let Some(out) = &a.out {
        crate::fsutil::write_text_atomic(out, &t.csv())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string(&t)?);
        return Ok(());
    }
    println!(
        "mean label probability per emotion class ({} on {})",
        a.run.display(),
        a.corpus.display()
    );
    print!("{:<12} {:>5}", "class", "n");
    for l in &t.labels {
        print!(" {l:>9}");
    }
    println!();
    for ((c, n), row) in t.classes.iter().zip(&t.counts).zip(&t.mean) {
        print!("{c:<12} {n:>5}");
        for v in row {
            print!(" {v:>9.3}");
        }
        println!();
    }
    for f in &t.failed {
        eprintln!("skipped {f}");
    }
    if let Some(out) = &a.out {
        println!("wrote {}", out.display());
    }
    Ok(())
}
