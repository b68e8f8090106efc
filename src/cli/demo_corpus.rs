//! `ser-workbench demo-corpus`: the synthetic demo corpus.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::corpus;

/// Options of `demo-corpus`.
#[derive(Args, Debug)]
pub struct DemoCorpusArgs {
    /// Output folder (gets `emodb/` and `ravdess/`, the multi-label `styles/`, and the dimensional `msp-podcast/` and
    /// `iemocap/`).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// Writes the corpus and says where.
pub fn run(a: DemoCorpusArgs) -> Result<()> {
    let out = &a.out;
    let seed = a.seed;
    let started = std::time::Instant::now();
    let d = corpus::demo::generate(
        out,
        &corpus::demo::DemoConfig {
            seed,
            ..Default::default()
        },
    )
    .map_err(|e| anyhow::anyhow!(e))
    .with_context(|| format!("writing the demo corpus to {}", out.display()))?;
    println!(
        "wrote {} files in {:.1} s",
        d.files,
        started.elapsed().as_secs_f64()
    );
    println!(
        "  EMODB-named corpus (clean, 16 kHz):             {}",
        d.emodb_dir.display()
    );
    println!(
        "  RAVDESS-named corpus (telephone channel, 48 kHz): {}",
        d.ravdess_dir.display()
    );
    if let Some(dim) = &d.dimensional {
        println!(
            "  MSP-Podcast layout (arousal/valence/dominance 1–7): {}",
            dim.msp_podcast_dir.display()
        );
        println!(
            "  IEMOCAP layout (A/V/D 1–5, transcripts):         {}",
            dim.iemocap_dir.display()
        );
    }
    if let Some(st) = &d.styles {
        println!(
            "  speaking styles (multi-label, 8 annotators):   {}",
            st.dir.display()
        );
    }
    Ok(())
}
