//! `ser-workbench gui`: the desktop app, optionally preloaded and training.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// Options of `gui`.
#[derive(Args, Debug, Default)]
pub struct GuiArgs {
    /// Generate (if needed) and open the demo corpus, then start training the demo preset.
    #[arg(long)]
    pub demo: bool,
    /// Load and select this preset file.
    #[arg(long)]
    pub preset: Option<PathBuf>,
    /// Open this corpus.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Set this cross-corpus target corpus.
    #[arg(long)]
    pub target_corpus: Option<PathBuf>,
    /// Start training once the corpus is loaded.
    #[arg(long)]
    pub train: bool,
}

/// Starts the app.
pub fn run(a: GuiArgs) -> Result<()> {
    crate::app::run_native(crate::app::GuiStart {
        demo: a.demo,
        preset: a.preset,
        corpus: a.corpus,
        target_corpus: a.target_corpus,
        train: a.train,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))
}
