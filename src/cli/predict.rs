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
    /// Runs with a text stream: the transcript of the files (the same for each).
    #[arg(long, conflicts_with = "transcripts")]
    pub text: Option<String>,
    /// Runs with a text stream: a `file,text` CSV with each file's transcript (matched by path,
    /// else by file name; a file without a row gets the empty text).
    #[arg(long)]
    pub transcripts: Option<PathBuf>,
    /// Runs trained with `normalisation: per_speaker`: the files are one speaker; standardise
    /// them with the statistics of all of them together instead of the training set's
    /// (docs/baselines.md, "Speaker-level normalisation").
    #[arg(long, conflicts_with = "speaker_audio")]
    pub same_speaker: bool,
    /// Runs trained with `normalisation: per_speaker`: other recordings of the speaker of the
    /// files (audio files, or folders searched for them); their statistics standardise the
    /// files.
    #[arg(long, num_args = 1..)]
    pub speaker_audio: Vec<PathBuf>,
}

/// Predicts every file; an error when any could not be read.
pub fn run(a: PredictArgs) -> Result<()> {
    let mut p = crate::train::predict::Predictor::load(&a.run).map_err(|e| anyhow::anyhow!(e))?;
    let texts = Transcripts::new(&p, a.text, a.transcripts.as_deref())?;
    if a.same_speaker || !a.speaker_audio.is_empty() {
        enrol(
            &mut p,
            if a.same_speaker {
                &a.files
            } else {
                &a.speaker_audio
            },
        )?;
    } else if p.per_speaker() {
        eprintln!(
            "note: this run standardises each speaker with their own statistics; without --same-speaker or --speaker-audio the training set's stand in"
        );
    }
    predict(&mut p, &a.files, &texts, a.json, a.trace)
}

/// Gives a per-speaker run the statistics of one speaker's recordings (files, or the audio
/// files below folders); an error naming the file when one cannot be read.
fn enrol(p: &mut crate::train::predict::Predictor, paths: &[PathBuf]) -> Result<()> {
    if !p.per_speaker() {
        bail!(
            "this run standardises with its training set's statistics: --same-speaker and --speaker-audio apply to runs trained with normalisation: per_speaker"
        );
    }
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut skipped = Vec::new();
            files.extend(
                crate::corpus::audio_files(path, &mut skipped)
                    .map_err(|e| anyhow::anyhow!("speaker audio: {e}"))?,
            );
            for s in skipped {
                eprintln!("speaker audio: {}: {}", s.path.display(), s.reason);
            }
        } else {
            files.push(path.clone());
        }
    }
    let clips = files
        .iter()
        .map(|f| {
            crate::audio::load_mono_16k(f)
                .map_err(|e| anyhow::anyhow!("speaker audio {}: {e}", f.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    if clips.is_empty() {
        bail!("no speaker audio: the paths hold no audio files");
    }
    let secs = clips.iter().map(Vec::len).sum::<usize>() as f64 / 16_000.0;
    p.set_speaker(Some(p.speaker_statistics(&clips)));
    eprintln!(
        "speaker statistics from {} file(s), {secs:.1} s of audio",
        clips.len()
    );
    Ok(())
}

/// Where each file's transcript comes from.
enum Transcripts {
    /// The run reads no text.
    None,
    /// One text for every file.
    Same(String),
    /// `(file, text)` rows of a CSV.
    PerFile(Vec<(String, String)>),
}

impl Transcripts {
    fn new(
        p: &crate::train::predict::Predictor,
        text: Option<String>,
        csv: Option<&Path>,
    ) -> Result<Self> {
        if !p.reads_text() {
            if text.is_some() || csv.is_some() {
                bail!(
                    "this run is audio-only: --text and --transcripts apply to runs with a text stream"
                );
            }
            return Ok(Self::None);
        }
        if let Some(csv) = csv {
            let rows = crate::corpus::transcripts::read_rows(csv).map_err(anyhow::Error::msg)?;
            return Ok(Self::PerFile(rows));
        }
        if text.is_none() {
            eprintln!(
                "note: this run reads a transcript beside the audio; without --text or --transcripts it predicts from the empty text"
            );
        }
        Ok(Self::Same(text.unwrap_or_default()))
    }

    /// The transcript of `f`.
    fn of(&self, f: &Path) -> Option<&str> {
        match self {
            Self::None => None,
            Self::Same(t) => Some(t),
            Self::PerFile(rows) => {
                Some(crate::corpus::transcripts::lookup(rows, f).unwrap_or_default())
            }
        }
    }
}

/// The labels of a multi-label run at or above the task's threshold.
fn label_set<'a>(p: &'a crate::train::predict::Predictor, probs: &[f32]) -> Vec<&'a str> {
    let th = p.multi_label.as_ref().map_or(0.5, |m| m.threshold);
    p.classes
        .iter()
        .zip(probs)
        .filter(|(_, v)| **v >= th)
        .map(|(c, _)| c.as_str())
        .collect()
}

fn predict(
    p: &mut crate::train::predict::Predictor,
    files: &[PathBuf],
    texts: &Transcripts,
    json: bool,
    trace: bool,
) -> Result<()> {
    let mut errors = 0;
    if trace {
        for f in files {
            if let Some(t) = texts.of(f) {
                p.set_transcript(t).map_err(anyhow::Error::msg)?;
            }
            match p.trace_file(f) {
                Ok(t) if p.multi_label.is_some() => {
                    // Each label query's attention per frame, keyed by label.
                    let attention: serde_json::Map<String, serde_json::Value> = t
                        .label_attention
                        .iter()
                        .flatten()
                        .zip(&p.classes)
                        .map(|(row, c)| (c.clone(), serde_json::json!(row)))
                        .collect();
                    println!(
                        "{}",
                        serde_json::json!({
                            "file": f,
                            "labels": label_set(p, &t.probabilities),
                            "probabilities": named(&p.classes, &t.probabilities),
                            "frames_per_sec": t.frames_per_sec,
                            "start_frame": t.start_frame,
                            "valid_frames": t.valid_frames,
                            "label_attention": attention,
                        })
                    );
                }
                Ok(t) if p.dimensional.is_some() => {
                    let dims = named(&p.classes, &t.probabilities);
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
        if let Some(t) = texts.of(f) {
            p.set_transcript(t).map_err(anyhow::Error::msg)?;
        }
        match p.predict_file(f) {
            Ok(probs) if p.multi_label.is_some() => {
                // Multi-label runs: independent per-label probabilities and the label set at
                // the task's threshold.
                let th = p.multi_label.as_ref().map_or(0.5, |m| m.threshold);
                let set = label_set(p, &probs);
                if json {
                    let map = named(&p.classes, &probs);
                    println!(
                        "{}",
                        serde_json::json!({"file": f, "labels": set, "threshold": th, "probabilities": map})
                    );
                } else {
                    let parts: Vec<String> = p
                        .classes
                        .iter()
                        .zip(&probs)
                        .map(|(c, v)| format!("{c}={v:.3}"))
                        .collect();
                    println!("{}\t{}\t{}", f.display(), set.join(";"), parts.join(" "));
                }
            }
            Ok(values) if p.dimensional.is_some() => {
                // Dimensional runs: one value per dimension on the run's target scale.
                if json {
                    let map = named(&p.classes, &values);
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
                    let map = named(&p.classes, &probs);
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

/// `{name: value}` in the run's output order (classes, dimensions or labels).
fn named(names: &[String], values: &[f32]) -> serde_json::Map<String, serde_json::Value> {
    names
        .iter()
        .zip(values)
        .map(|(c, v)| (c.clone(), serde_json::json!(v)))
        .collect()
}
