//! `ser-workbench download-model`: an SSL model folder from the HuggingFace hub.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// Options of `download-model`.
#[derive(Args, Debug)]
pub struct DownloadModelArgs {
    /// Model id, e.g. facebook/hubert-base-ls960.
    pub repo: String,
    /// Branch, tag or commit.
    #[arg(long, default_value = "main")]
    pub revision: String,
    /// Folder (default: the models folder of the data folder, where the GUI downloads too).
    #[arg(long)]
    pub cache: Option<PathBuf>,
}

/// Downloads and prints the folder.
pub fn run(a: DownloadModelArgs) -> Result<()> {
    let DownloadModelArgs {
        repo,
        revision,
        cache,
    } = a;
    // The same folder the GUI's Download button uses.
    let root = cache.unwrap_or_else(|| crate::paths::Paths::from_env().models);
    let last = std::sync::Mutex::new(String::new());
    let dir = crate::ssl::hub::download_model(&repo, &revision, &root, &|p| {
        let line = match p.total {
            Some(t) if t > 0 => format!(
                "{}: {:.1} / {:.1} MB ({:.0}%)",
                p.file,
                p.done as f64 / 1e6,
                t as f64 / 1e6,
                100.0 * p.done as f64 / t as f64
            ),
            _ => format!("{}: {:.1} MB", p.file, p.done as f64 / 1e6),
        };
        let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
        if *l != line {
            eprintln!("{line}");
            *l = line;
        }
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    println!("{}", dir.display());
    Ok(())
}
