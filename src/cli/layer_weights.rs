//! `ser-workbench layer-weights`: the learned layer-weight profiles of several runs (per
//! dimension for dimensional runs with per-dimension weights) side by side, printed and written as
//! CSV and SVG.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::train::layer_profiles::{export, profiles};

/// Options of `layer-weights`.
#[derive(Args, Debug)]
pub struct LayerWeightsArgs {
    /// Run folders whose models learned layer weights.
    #[arg(long, num_args = 1.., required = true)]
    pub runs: Vec<PathBuf>,
    /// Write `<OUT>.csv` and `<OUT>.svg` (a line chart) too.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Prints one line per profile and writes the files.
pub fn run(a: LayerWeightsArgs) -> Result<()> {
    let p = profiles(&a.runs).map_err(anyhow::Error::msg)?;
    for prof in &p {
        let w: Vec<String> = prof.weights.iter().map(|v| format!("{v:.3}")).collect();
        println!("{}: {}", prof.label, w.join(" "));
    }
    if let Some(out) = &a.out {
        let (csv, svg) = export(&p, out).map_err(anyhow::Error::msg)?;
        println!("wrote {} and {}", csv.display(), svg.display());
    }
    Ok(())
}
