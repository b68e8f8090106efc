//! `ser-workbench runs`: the run folders as a list, and several runs side by side.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::train::runs::{compare, list};

/// Options of `runs`.
#[derive(Args, Debug)]
pub struct RunsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: RunsAction,
}

/// `runs` actions.
#[derive(Subcommand, Debug)]
pub enum RunsAction {
    /// Every run folder under the data folder's runs (and --root folders): date, preset,
    /// corpora, task, protocol and its speaker independence, status, headline metric, training
    /// time, backend; folders that cannot be read are listed with the reason.
    List {
        /// More folders holding run folders.
        #[arg(long)]
        root: Vec<PathBuf>,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// 2–6 runs side by side (the first is the baseline): metrics with deltas, per-fold values
    /// with an exact paired permutation test where the runs share their folds, recall per class,
    /// and the preset fields that differ.
    Compare {
        /// Run folders, baseline first.
        #[arg(num_args = 2..=6, required = true)]
        runs: Vec<PathBuf>,
        /// Print Markdown (else a short table).
        #[arg(long)]
        markdown: bool,
        /// Also write the comparison as Markdown (`.md`) and CSV (`.csv`) with this path stem.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Give a run a name and a note (written atomically to `notes.json` in its folder; the
    /// run's own files are untouched). An option left out keeps its current value.
    Note {
        /// Run folder.
        run: PathBuf,
        /// Short name shown in the runs list.
        #[arg(long)]
        name: Option<String>,
        /// Free text.
        #[arg(long)]
        note: Option<String>,
    },
    /// Move a run folder to `.trash/` beside it (a rename, never a deletion).
    Trash {
        /// Run folder.
        run: PathBuf,
    },
}

/// Runs the action.
pub fn run(a: RunsArgs) -> Result<()> {
    match a.action {
        RunsAction::List { root, json } => {
            let mut roots = vec![crate::paths::Paths::from_env().runs];
            roots.extend(root);
            let (runs, problems) = list(&roots);
            if json {
                println!(
                    "{}",
                    serde_json::json!({"runs": runs, "unreadable": problems})
                );
                return Ok(());
            }
            println!(
                "{:<19}  {:<20} {:<28} {:<12} {:<22} {:<9} {:>9}  {:>8}  folder",
                "date", "name", "preset", "task", "protocol", "status", "headline", "train s"
            );
            for r in &runs {
                println!(
                    "{:<19}  {:<20} {:<28} {:<12} {:<22} {:<9} {:>9}  {:>8}  {}",
                    r.date,
                    r.tag,
                    r.preset,
                    r.task,
                    format!(
                        "{}{}",
                        r.protocol,
                        if r.independence == "speaker-dependent" {
                            " (SD)"
                        } else {
                            ""
                        }
                    ),
                    r.status.word().split(' ').next().unwrap_or(""),
                    r.headline
                        .as_ref()
                        .map_or("—".into(), |(n, v)| format!("{n} {v:.3}")),
                    r.train_secs.map_or("—".into(), |s| format!("{s:.0}")),
                    r.dir.display()
                );
            }
            for p in &problems {
                eprintln!("unreadable: {p}");
            }
            Ok(())
        }
        RunsAction::Compare {
            runs,
            markdown,
            out,
        } => {
            let c = compare(&runs).map_err(anyhow::Error::msg)?;
            if let Some(stem) = out {
                let md = stem.with_extension("md");
                let csv = stem.with_extension("csv");
                crate::fsutil::write_text_atomic(&md, &c.markdown())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", md.display()))?;
                crate::fsutil::write_text_atomic(&csv, &c.csv())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", csv.display()))?;
                eprintln!("wrote {} and {}", md.display(), csv.display());
            }
            if markdown {
                print!("{}", c.markdown());
            } else {
                print!("{}", c.csv());
            }
            Ok(())
        }
        RunsAction::Note { run, name, note } => {
            let mut n = crate::train::runs::read_notes(&run).map_err(anyhow::Error::msg)?;
            if let Some(t) = name {
                n.tag = t;
            }
            if let Some(t) = note {
                n.note = t;
            }
            crate::train::runs::write_notes(&run, &n).map_err(anyhow::Error::msg)?;
            println!("{}", run.join(crate::train::runs::NOTES_FILE).display());
            Ok(())
        }
        RunsAction::Trash { run } => {
            let to = crate::train::runs::trash(&run).map_err(anyhow::Error::msg)?;
            println!("moved {} to {}", run.display(), to.display());
            Ok(())
        }
    }
}
