//! `ser-workbench live`: a file through the live streaming path, with latency figures.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

/// Options of `live`.
#[derive(Args, Debug)]
pub struct LiveArgs {
    /// Run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// Audio file used as the input.
    #[arg(long)]
    pub input: PathBuf,
    /// Window length, seconds (≥ 0.01).
    #[arg(long, default_value_t = 2.0)]
    pub window_secs: f32,
    /// Hop between predictions, seconds (≥ 0.01, at most the window).
    #[arg(long, default_value_t = 0.5)]
    pub hop_secs: f32,
    /// Moving average over this many windows (≥ 1).
    #[arg(long, default_value_t = 4)]
    pub smoothing: usize,
    /// Energy gate: windows quieter than this (RMS dBFS) are silence.
    #[arg(long, default_value_t = -45.0, allow_hyphen_values = true)]
    pub gate_dbfs: f32,
    /// As fast as possible instead of paced in real time.
    #[arg(long)]
    pub fast: bool,
    /// Runs with a text stream: the transcript every window is predicted with (default: the
    /// empty text).
    #[arg(long)]
    pub text: Option<String>,
    /// Runs trained with `normalisation: per_speaker`: seconds of speech gathered into the
    /// speaker's own statistics before they replace the training set's.
    #[arg(long, default_value_t = 5.0)]
    pub enrol_secs: f32,
}

/// Streams the file; an error for invalid settings or a failed session.
pub fn run(a: LiveArgs) -> Result<()> {
    let cfg = crate::live::LiveConfig {
        window_secs: a.window_secs,
        hop_secs: a.hop_secs,
        smoothing_windows: a.smoothing,
        gate_dbfs: a.gate_dbfs,
        transcript: a.text,
        enrol_secs: a.enrol_secs,
    };
    live(a.run, a.input, cfg, !a.fast)
}

fn live(run: PathBuf, input: PathBuf, cfg: crate::live::LiveConfig, realtime: bool) -> Result<()> {
    use crate::live::{LiveEvent, LiveInput, spawn_live};
    cfg.validate().map_err(anyhow::Error::msg)?;
    let h = spawn_live(
        run,
        LiveInput::File {
            path: input,
            realtime,
        },
        cfg,
        None,
    )
    .context("starting the live worker")?;
    let mut classes: Vec<String> = Vec::new();
    let mut dims = false;
    let mut latencies: Vec<f64> = Vec::new();
    let (mut windows, mut silent, mut skipped) = (0usize, 0usize, 0usize);
    let mut failed = None;
    let (mut speaker_in_use, mut speaker_secs) = (false, None::<f32>);
    for ev in h.events.iter() {
        match ev {
            LiveEvent::Started {
                source,
                input_rate_hz,
                classes: c,
                dimensional,
                reads_text,
                ..
            } => {
                if reads_text {
                    println!(
                        "the run reads a transcript beside the audio (--text; default: the empty text)"
                    );
                }
                println!(
                    "input: {source} ({input_rate_hz} Hz → 16 kHz); {}: {}",
                    if dimensional { "dimensions" } else { "classes" },
                    c.join(", ")
                );
                classes = c;
                dims = dimensional;
            }
            LiveEvent::Frame(f) => {
                windows += 1;
                if let Some(sp) = f.speaker {
                    if sp.in_use && !speaker_in_use {
                        println!(
                            "{:8.2} s  speaker statistics in use from here ({:.1} s of speech heard; the training set's before)",
                            f.end_secs, sp.secs
                        );
                    }
                    speaker_in_use = sp.in_use;
                    speaker_secs = Some(sp.secs);
                }
                skipped += f.skipped_before;
                if f.silent {
                    silent += 1;
                    println!("{:8.2} s  silence ({:.1} dBFS)", f.end_secs, f.level_dbfs);
                    continue;
                }
                latencies.push(f.latency_ms);
                if dims {
                    let values: Vec<String> = classes
                        .iter()
                        .zip(&f.smoothed)
                        .map(|(c, v)| format!("{c}={v:.3}"))
                        .collect();
                    println!("{:8.2} s  {}", f.end_secs, values.join(" "));
                    continue;
                }
                let top = f
                    .top
                    .and_then(|t| classes.get(t))
                    .cloned()
                    .unwrap_or_default();
                let probs: Vec<String> = classes
                    .iter()
                    .zip(&f.smoothed)
                    .map(|(c, p)| format!("{c}={p:.3}"))
                    .collect();
                println!(
                    "{:8.2} s  {top:<11} {:.3}  {}",
                    f.end_secs,
                    f.confidence,
                    probs.join(" ")
                );
            }
            LiveEvent::Failed(m) => failed = Some(m),
            _ => {}
        }
    }
    h.join();
    if let Some(m) = failed {
        bail!("live: {m}");
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        (latencies[i.min(latencies.len() - 1)] * 100.0).round() / 100.0
    };
    println!(
        "{}",
        serde_json::json!({"live": "summary", "windows": windows, "silent_windows": silent, "skipped_windows": skipped, "latency_ms_median": pct(0.5), "latency_ms_p95": pct(0.95), "speaker_secs": speaker_secs})
    );
    Ok(())
}
