//! `ser-workbench predict`: class probabilities (and attention traces) of audio files, or the
//! predicted arousal / valence / dominance of a dimensional run.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;

/// Options of `predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// Audio files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Add the models' attention per input frame and the fusion gate per frame (JSON output).
    #[arg(long)]
    pub trace: bool,
}

/// Predicts every file; an error when any could not be read.
pub fn run(a: PredictArgs) -> Result<()> {
    predict(&a.run, &a.files, a.json, a.trace)
}

fn predict(run_dir: &Path, files: &[PathBuf], json: bool, trace: bool) -> Result<()> {
    let p = crate::train::predict::Predictor::load(run_dir).map_err(|e| anyhow::anyhow!(e))?;
    let mut errors = 0;
    if trace {
        for f in files {
            match p.trace_file(f) {
                Ok(t) if p.dimensional.is_some() => {
                    let dims: serde_json::Map<String, serde_json::Value> = p
                        .classes
                        .iter()
                        .zip(&t.probabilities)
                        .map(|(c, v)| (c.clone(), serde_json::json!(v)))
                        .collect();
                    println!(
                        "{}",
                        serde_json::json!({
                            "file": f,
                            "dimensions": dims,
                            "frames_per_sec": p.features.logmel.frames_per_sec(),
                            "valid_frames": t.valid_frames,
                            "attention": t.attention,
                            "gate": t.gate,
                        })
                    );
                }
                Ok(t) => {
                    let top = crate::eval::argmax(&t.probabilities);
                    println!(
                        "{}",
                        serde_json::json!({
                            "file": f,
                            "predicted": p.classes[top],
                            "classes": p.classes,
                            "probabilities": t.probabilities,
                            "frames_per_sec": p.features.logmel.frames_per_sec(),
                            "valid_frames": t.valid_frames,
                            "attention": t.attention,
                            "gate": t.gate,
                        })
                    );
                }
                Err(e) => {
                    eprintln!("{e}");
                    errors += 1;
                }
            }
        }
        if errors > 0 {
            bail!("{errors} of {} file(s) could not be read", files.len());
        }
        return Ok(());
    }
    for f in files {
        match p.predict_file(f) {
            Ok(values) if p.dimensional.is_some() => {
                // Dimensional runs: one value per dimension on the run's target scale.
                if json {
                    let map: serde_json::Map<String, serde_json::Value> = p
                        .classes
                        .iter()
                        .zip(&values)
                        .map(|(c, v)| (c.clone(), serde_json::json!(v)))
                        .collect();
                    println!("{}", serde_json::json!({"file": f, "dimensions": map}));
                } else {
                    let parts: Vec<String> = p
                        .classes
                        .iter()
                        .zip(&values)
                        .map(|(c, v)| format!("{c} {v:.3}"))
                        .collect();
                    println!("{}: {}", f.display(), parts.join("  "));
                }
            }
            Ok(probs) => {
                let top = crate::eval::argmax(&probs);
                if json {
                    let map: serde_json::Map<String, serde_json::Value> = p
                        .classes
                        .iter()
                        .zip(&probs)
                        .map(|(c, v)| (c.clone(), serde_json::json!(v)))
                        .collect();
                    println!(
                        "{}",
                        serde_json::json!({"file": f, "predicted": p.classes[top], "probabilities": map})
                    );
                } else {
                    let parts: Vec<String> = p
                        .classes
                        .iter()
                        .zip(&probs)
                        .map(|(c, v)| format!("{c}={v:.3}"))
                        .collect();
                    println!("{}\t{}\t{}", f.display(), p.classes[top], parts.join(" "));
                }
            }
            Err(e) => {
                eprintln!("{e}");
                errors += 1;
            }
        }
    }
    if errors > 0 {
        bail!("{errors} of {} file(s) could not be read", files.len());
    }
    Ok(())
}
