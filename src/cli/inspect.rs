//! `ser-workbench inspect`: what a corpus folder holds.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use crate::corpus::{self, CorpusType};

/// Options of `inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Corpus folder.
    pub dir: PathBuf,
    /// Corpus type instead of detection (emodb, ravdess, folder-per-label, csv-manifest, …).
    #[arg(long)]
    pub corpus_type: Option<CorpusType>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also decode every file to flag silent and near-silent recordings (slower).
    #[arg(long)]
    pub scan_audio: bool,
    /// Show what this label map keeps, merges and drops.
    #[arg(long)]
    pub label_map: Option<String>,
    /// Attach transcripts from a `file,text` CSV and say how many utterances have text.
    #[arg(long)]
    pub transcripts: Option<PathBuf>,
    /// Multi-label manifests: count a label positive at this many annotator votes.
    #[arg(long, default_value_t = 1.0)]
    pub min_agreement: f32,
}

/// Prints the inspection.
pub fn run(a: InspectArgs) -> Result<()> {
    inspect(
        &a.dir,
        a.corpus_type,
        a.json,
        a.scan_audio,
        a.label_map.as_deref(),
        a.transcripts.as_deref(),
        a.min_agreement,
    )
}

fn inspect(
    dir: &Path,
    corpus_type: Option<CorpusType>,
    json: bool,
    scan_audio: bool,
    label_map: Option<&str>,
    transcripts: Option<&Path>,
    min_agreement: f32,
) -> Result<()> {
    corpus::header_cache::enable(&crate::paths::Paths::from_env().headers());
    let mut m = corpus::load(dir, corpus_type)?;
    let attached = match transcripts {
        Some(p) => Some(corpus::transcripts::attach(&mut m, p).map_err(anyhow::Error::msg)?),
        None => None,
    };
    // A failed cache write only costs speed next time.
    let _ = corpus::header_cache::save();
    let report = match label_map {
        Some(spec) => Some(
            corpus::label_map::LabelMap::resolve(spec)
                .map_err(|e| anyhow::anyhow!(e))?
                .apply(&mut m),
        ),
        None => None,
    };
    let mut ins = corpus::inspect::inspect(&m);
    ins.label_map = report;
    ins.transcripts = attached;
    ins.votes = corpus::inspect::vote_stats(&m, min_agreement);
    ins.tasks = corpus::tasks::supported(&m);
    if scan_audio {
        ins.silent = Some(corpus::inspect::scan_silence(&m));
    }
    if json {
        println!("{}", serde_json::to_string(&ins)?);
        return Ok(());
    }
    println!("{}: {} corpus", dir.display(), ins.corpus_type);
    let d = &ins.duration_secs;
    println!(
        "{} utterances, {:.1} min of audio (per file: min {:.2} s, mean {:.2} s, max {:.2} s)",
        ins.utterances,
        d.total / 60.0,
        d.min,
        d.mean,
        d.max
    );
    let rates: Vec<String> = ins
        .sample_rates
        .iter()
        .map(|(r, n)| format!("{r} Hz × {n}"))
        .collect();
    println!("sample rates: {}", rates.join(", "));
    let genders: Vec<String> = ins
        .per_gender
        .iter()
        .map(|(g, n)| {
            format!(
                "{g} {n} utterances / {} speakers",
                ins.speakers_per_gender.get(g).copied().unwrap_or(0)
            )
        })
        .collect();
    println!("gender: {}", genders.join("; "));
    if let Some(r) = &ins.label_map {
        println!("{}", r.summary());
        for (k, n) in &r.merged {
            println!("  merged {k}: {n}");
        }
        for (k, n) in &r.dropped {
            println!("  dropped {k}: {n}");
        }
    }
    println!("\nper class:");
    for (c, n) in &ins.per_class {
        println!("  {c:<12} {n:>6}");
    }
    if ins.uncategorised > 0 {
        println!(
            "  (no class)   {:>6}  (no emotion class: used by dimensional and multi-label runs)",
            ins.uncategorised
        );
    }
    if !ins.dimensions.is_empty() {
        println!("\ndimensions (for dimensional runs):");
        for (d, st) in &ins.dimensions {
            println!(
                "  {d:<12} {:>6} files  min {:.2}  mean {:.2}  max {:.2}",
                st.n, st.min, st.mean, st.max
            );
        }
    }
    if let Some(v) = &ins.votes {
        println!(
            "\nmulti-label votes (annotators per utterance: {}):",
            v.annotators
                .iter()
                .map(|(a, n)| format!("{a} × {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (l, n) in &v.positives {
            let hist: Vec<String> = v.histogram[l]
                .iter()
                .map(|(votes, k)| format!("{votes}:{k}"))
                .collect();
            println!(
                "  {l:<12} {n:>6} positive at ≥ {} votes   votes:utterances {}",
                v.min_agreement,
                hist.join(" ")
            );
        }
    }
    if !ins.tasks.is_empty() {
        println!("\ntasks this corpus supports (multi-task runs):");
        for t in &ins.tasks {
            let classes = if t.classes.is_empty() || t.task == "speaker" {
                if t.task == "speaker" {
                    format!("{} speakers", t.classes.len())
                } else {
                    String::new()
                }
            } else {
                t.classes
                    .iter()
                    .map(|(c, n)| format!("{c} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!(
                "  {:<12} {:>6} utterances  {}{}",
                t.task,
                t.utterances,
                t.kind,
                if classes.is_empty() {
                    String::new()
                } else {
                    format!(" — {classes}")
                }
            );
        }
    }
    let total = ins.utterances + ins.uncategorised;
    println!(
        "\ntranscripts: {} of {total} utterances have text ({} without)",
        ins.with_text,
        total - ins.with_text
    );
    if let Some(t) = &ins.transcripts {
        println!(
            "  {}: attached {}, {} rows matched no file{}",
            t.file,
            t.attached,
            t.unmatched,
            if t.unmatched_examples.is_empty() {
                String::new()
            } else {
                format!(" (e.g. {})", t.unmatched_examples.join(", "))
            }
        );
    }
    println!("\nper speaker:");
    for (s, sum) in &ins.per_speaker {
        println!(
            "  {s:<12} {:>6}  {}",
            sum.utterances,
            sum.gender.map_or("?", |g| g.name())
        );
    }
    println!("\nskipped: {}", ins.skipped.len());
    for s in &ins.skipped {
        println!("  {}: {}", s.path.display(), s.reason);
    }
    if !ins.flagged.is_empty() {
        println!("\nflagged (loaded, but check): {}", ins.flagged.len());
        for s in &ins.flagged {
            println!("  {}: {}", s.path.display(), s.reason);
        }
    }
    if let Some(silent) = &ins.silent {
        println!(
            "\nsilent or near-silent (peak < {} dBFS or RMS < {} dBFS): {}",
            corpus::inspect::SILENT_PEAK_DBFS,
            corpus::inspect::SILENT_RMS_DBFS,
            silent.len()
        );
        for s in silent {
            println!(
                "  {}: peak {:.1} dBFS, RMS {:.1} dBFS",
                s.path.display(),
                s.peak_dbfs,
                s.rms_dbfs
            );
        }
    }
    Ok(())
}
