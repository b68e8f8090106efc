//! `ser-workbench ablation`: several presets (× seeds) under one protocol, one table.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::train::Preset;

/// Options of `ablation`.
#[derive(Args, Debug)]
pub struct AblationArgs {
    /// Preset RON files, one table row each.
    #[arg(long, required = true, num_args = 1..)]
    pub presets: Vec<PathBuf>,
    /// Corpora, protocol (one for every row), backend, cache.
    #[command(flatten)]
    pub source: super::train::RunSourceArgs,
    /// Seeds, comma-separated (default: the first preset's seed).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Vec<u64>,
    /// Output folder (table + one run folder per preset and seed).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs the grid and prints the table.
pub fn run(a: AblationArgs) -> Result<()> {
    let cache_dir = a.source.cache_dir();
    let AblationArgs {
        presets,
        source,
        seeds,
        out,
    } = a;
    let presets = presets
        .iter()
        .map(|p| source.apply(Preset::load(p)?))
        .collect::<Result<Vec<_>>>()?;
    let out = match out {
        Some(o) => o,
        None => crate::train::run_dir::RunDir::claim_new(
            &crate::paths::Paths::from_env().runs,
            "ablation",
        )
        .map_err(|e| anyhow::anyhow!(e))?,
    };
    let req = crate::train::ablation::AblationRequest {
        presets,
        corpus_dirs: source.corpus,
        target_corpus: source.target_corpus,
        label_map: source.label_map,
        protocol: source.protocol,
        seeds,
        out_dir: out.clone(),
        cache_dir,
        backend: source.backend,
    };
    let handle = crate::train::worker::spawn_with(
        move |c, emit| crate::train::ablation::run_ablation(&req, c, emit).map(|_| ()),
        None,
    )
    .context("starting the ablation worker")?;
    super::train::follow(handle)?;
    let md = out.join("ablation.md");
    let text = std::fs::read_to_string(&md).with_context(|| md.display().to_string())?;
    println!("\n{text}");
    println!("table: {} (+ ablation.csv, ablation.json)", md.display());
    Ok(())
}
