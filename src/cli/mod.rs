//! Headless commands over the same engine as the GUI. Script-facing names are stable.

pub mod bench;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use crate::corpus::{self, CorpusType};
use crate::features::{FeatureCache, FeatureConfig, StreamKind};
use crate::train::{BackendChoice, Event, Preset, RunRequest, RunState, spawn_training};

/// SER Workbench — speech emotion recognition experiments (GUI when run without a command).
#[derive(Parser, Debug)]
#[command(name = "ser-workbench", version, about)]
pub struct Cli {
    /// Command; without one the GUI starts.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the GUI.
    Gui {
        /// Generate (if needed) and open the demo corpus, then start training the demo preset.
        #[arg(long)]
        demo: bool,
        /// Load and select this preset file.
        #[arg(long)]
        preset: Option<PathBuf>,
        /// Open this corpus.
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Set this cross-corpus target corpus.
        #[arg(long)]
        target_corpus: Option<PathBuf>,
        /// Start training once the corpus is loaded.
        #[arg(long)]
        train: bool,
    },
    /// Write the synthetic demo corpus (EMODB- and RAVDESS-named) into DIR.
    DemoCorpus {
        /// Output folder (gets `emodb/` and `ravdess/`).
        #[arg(long)]
        out: PathBuf,
        /// Seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Show corpus type, utterances per class and speaker, skipped files.
    Inspect {
        /// Corpus folder.
        dir: PathBuf,
        /// Corpus type instead of detection (emodb, ravdess, folder-per-label, csv-manifest).
        #[arg(long)]
        corpus_type: Option<CorpusType>,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Also decode every file to flag silent and near-silent recordings (slower).
        #[arg(long)]
        scan_audio: bool,
        /// Show what this label map keeps, merges and drops.
        #[arg(long)]
        label_map: Option<String>,
    },
    /// Train and evaluate a preset on a corpus; writes a run folder.
    Train {
        /// Preset RON file.
        #[arg(long)]
        preset: PathBuf,
        /// Corpus folder; repeat for multi-corpus training on the union.
        #[arg(long, required = true)]
        corpus: Vec<PathBuf>,
        /// Label map: all, 4-class, iemocap-4, emodb-ravdess-6, calm-as-neutral, or a RON file.
        #[arg(long)]
        label_map: Option<String>,
        /// Cross-corpus: train on --corpus, adapt on this corpus's audio (its labels are never used
        /// for training) and test on all of it.
        #[arg(long)]
        target_corpus: Option<PathBuf>,
        /// Standard set-up of a corpus (protocol + label map), e.g. iemocap-4class-session-loso;
        /// see presets/protocols/. --protocol and --label-map override its parts.
        #[arg(long)]
        protocol_preset: Option<String>,
        /// Corpus type instead of detection.
        #[arg(long)]
        corpus_type: Option<CorpusType>,
        /// Protocol: loso, speaker-kfold:K, session-loso, official, leave-one-corpus-out,
        /// holdout:FRACTION, kfold:K (speaker-dependent).
        #[arg(long)]
        protocol: Option<String>,
        /// Seed (default: the preset's).
        #[arg(long)]
        seed: Option<u64>,
        /// Run folder (default: runs/<timestamp>-<preset>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Backend: auto (GPU when present), cpu, gpu.
        #[arg(long, default_value = "auto")]
        backend: BackendChoice,
        /// Feature cache folder.
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// Run several presets (× seeds) under one protocol on one corpus (or source → target) and
    /// write a comparison table (ablation.md / .csv / .json) like the paper's Figures 4 and 5.
    Ablation {
        /// Preset RON files, one table row each.
        #[arg(long, required = true, num_args = 1..)]
        presets: Vec<PathBuf>,
        /// Corpus folder (source of cross-corpus runs); repeat for multi-corpus.
        #[arg(long, required = true)]
        corpus: Vec<PathBuf>,
        /// Cross-corpus: adapt on and test on this corpus.
        #[arg(long)]
        target_corpus: Option<PathBuf>,
        /// Label map for every run.
        #[arg(long)]
        label_map: Option<String>,
        /// Protocol for every run (default: the first preset's).
        #[arg(long)]
        protocol: Option<String>,
        /// Seeds, comma-separated (default: the first preset's seed).
        #[arg(long, value_delimiter = ',')]
        seeds: Vec<u64>,
        /// Output folder (table + one run folder per preset and seed).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Backend: auto, cpu, gpu.
        #[arg(long, default_value = "auto")]
        backend: BackendChoice,
        /// Feature cache folder.
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// Download an SSL model folder from the HuggingFace hub (resumable, SHA-256 verified) into
    /// the model cache; prints the folder to use as --weights / ssl_weights.
    DownloadModel {
        /// Model id, e.g. facebook/hubert-base-ls960.
        repo: String,
        /// Branch, tag or commit.
        #[arg(long, default_value = "main")]
        revision: String,
        /// Folder (default: models/ in the app's data folder, where the GUI downloads too).
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// Class probabilities of WAV files from a trained run.
    Predict {
        /// Run folder.
        #[arg(long)]
        run: PathBuf,
        /// Audio files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Add the models' attention per input frame and the fusion gate per frame (JSON output).
        #[arg(long)]
        trace: bool,
    },
    /// Feed an audio file through the live streaming path of a trained run; one line per hop,
    /// then latency statistics as one JSON line.
    Live {
        /// Run folder.
        #[arg(long)]
        run: PathBuf,
        /// Audio file used as the input.
        #[arg(long)]
        input: PathBuf,
        /// Window length, seconds.
        #[arg(long, default_value_t = 2.0)]
        window_secs: f32,
        /// Hop between predictions, seconds.
        #[arg(long, default_value_t = 0.5)]
        hop_secs: f32,
        /// Moving average over this many windows.
        #[arg(long, default_value_t = 4)]
        smoothing: usize,
        /// Energy gate: windows quieter than this (RMS dBFS) are silence.
        #[arg(long, default_value_t = -45.0, allow_hyphen_values = true)]
        gate_dbfs: f32,
        /// As fast as possible instead of paced in real time.
        #[arg(long)]
        fast: bool,
    },
    /// Write features as float32 .npy: logmel/mfcc [frames, bins]; ssl [layers, frames, dim]; logmel+ssl [frames, mels + dim]
    /// (or [frames, dim] for one layer).
    Features {
        /// Stream: logmel, mfcc, ssl or logmel+ssl (the fused stream, SSL frames interpolated onto the log-mel frames).
        #[arg(long, default_value = "logmel")]
        stream: String,
        /// ssl: model folder (config.json + model.safetensors or pytorch_model.bin) or weights file.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// ssl: hidden states to keep: all, last, N, or a,b,c.
        #[arg(long, default_value = "all")]
        layers: String,
        /// Take feature parameters from this preset (default: SPEC defaults).
        #[arg(long)]
        preset: Option<PathBuf>,
        /// Input WAV.
        file: PathBuf,
        /// Output .npy.
        #[arg(long)]
        out: PathBuf,
    },
    /// Benchmarks; each ends with one JSON line.
    Bench {
        /// What to measure: logmel, inspect, ssl, epoch.
        what: String,
        /// logmel: seconds of audio to process per measurement.
        #[arg(long, default_value_t = 600.0)]
        audio_secs: f64,
        /// inspect: number of files in the generated corpus.
        #[arg(long, default_value_t = 10_000)]
        files: usize,
        /// ssl: model folder; without it a random-init HuBERT-base (same compute).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// ssl: batch size of the second measurement (the first is batch 1).
        #[arg(long, default_value_t = 8)]
        batch: usize,
        /// epoch: preset file (default: the built-in paper-full).
        #[arg(long)]
        preset: Option<PathBuf>,
        /// epoch: utterances in the synthetic corpus (RAVDESS: 1440).
        #[arg(long, default_value_t = 1440)]
        utterances: usize,
        /// epoch: width of the SSL part of a fused stream (HuBERT-base: 768).
        #[arg(long, default_value_t = 768)]
        ssl_dim: usize,
    },
}

/// Runs a CLI command.
pub fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Gui {
            demo,
            preset,
            corpus,
            target_corpus,
            train,
        } => crate::app::run_native(crate::app::GuiStart {
            demo,
            preset,
            corpus,
            target_corpus,
            train,
        })
        .map_err(|e| anyhow::anyhow!("{e}")),
        Command::DemoCorpus { out, seed } => demo_corpus(&out, seed),
        Command::Inspect {
            dir,
            corpus_type,
            json,
            scan_audio,
            label_map,
        } => inspect(&dir, corpus_type, json, scan_audio, label_map.as_deref()),
        Command::Train {
            preset,
            corpus,
            label_map,
            target_corpus,
            protocol_preset,
            corpus_type,
            protocol,
            seed,
            out,
            backend,
            cache,
        } => {
            let pp = match protocol_preset {
                Some(spec) => Some(
                    corpus::protocol_preset::ProtocolPreset::resolve(&spec)
                        .map_err(|e| anyhow::anyhow!(e))?,
                ),
                None => None,
            };
            let req = RunRequest {
                preset: Preset::load(&preset)?,
                corpus_dirs: corpus,
                target_corpus,
                label_map: label_map.or_else(|| pp.as_ref().and_then(|p| p.label_map.clone())),
                corpus_type,
                protocol: protocol.or_else(|| pp.as_ref().map(|p| p.protocol.clone())),
                seed,
                out_dir: out,
                cache_dir: cache.unwrap_or_else(|| FeatureCache::default_root().join("features")),
                backend,
            };
            train(req)
        }
        Command::Ablation {
            presets,
            corpus,
            target_corpus,
            label_map,
            protocol,
            seeds,
            out,
            backend,
            cache,
        } => {
            let presets = presets
                .iter()
                .map(|p| Preset::load(p))
                .collect::<Result<Vec<_>, _>>()?;
            let out = match out {
                Some(o) => o,
                None => crate::train::run_dir::RunDir::claim_new(
                    &crate::train::run::default_runs_root(),
                    "ablation",
                )
                .map_err(|e| anyhow::anyhow!(e))?,
            };
            let req = crate::train::ablation::AblationRequest {
                presets,
                corpus_dirs: corpus,
                target_corpus,
                label_map,
                protocol,
                seeds,
                out_dir: out.clone(),
                cache_dir: cache.unwrap_or_else(|| FeatureCache::default_root().join("features")),
                backend,
            };
            let handle = crate::train::worker::spawn_with(
                move |c, emit| crate::train::ablation::run_ablation(&req, c, emit).map(|_| ()),
                None,
            )
            .context("starting the ablation worker")?;
            follow(handle)?;
            let md = out.join("ablation.md");
            let text = std::fs::read_to_string(&md).with_context(|| md.display().to_string())?;
            println!("\n{text}");
            println!("table: {} (+ ablation.csv, ablation.json)", md.display());
            Ok(())
        }
        Command::DownloadModel {
            repo,
            revision,
            cache,
        } => {
            // The same folder the GUI's Download button uses.
            let root = cache.unwrap_or_else(|| crate::app::default_data_dir().join("models"));
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
        Command::Predict {
            run,
            files,
            json,
            trace,
        } => predict(&run, &files, json, trace),
        Command::Live {
            run,
            input,
            window_secs,
            hop_secs,
            smoothing,
            gate_dbfs,
            fast,
        } => {
            let cfg = crate::live::LiveConfig {
                window_secs,
                hop_secs,
                smoothing_windows: smoothing,
                gate_dbfs,
            };
            live(run, input, cfg, !fast)
        }
        Command::Features {
            stream,
            weights,
            layers,
            preset,
            file,
            out,
        } => {
            if stream == "ssl" {
                let w = weights.ok_or_else(|| {
                    anyhow::anyhow!(
                        "--stream ssl needs --weights PATH (model folder or .safetensors)"
                    )
                })?;
                ssl_features(&w, &layers, &file, &out)
            } else {
                features(
                    stream.parse().map_err(|e: String| anyhow::anyhow!(e))?,
                    preset.as_deref(),
                    weights.as_deref(),
                    &file,
                    &out,
                )
            }
        }
        Command::Bench {
            what,
            audio_secs,
            files,
            weights,
            batch,
            preset,
            utterances,
            ssl_dim,
        } => match what.as_str() {
            "epoch" => bench::epoch(preset.as_deref(), utterances, ssl_dim),
            "logmel" => bench::logmel(audio_secs),
            "inspect" => bench::inspect(files),
            "ssl" => bench::ssl(weights.as_deref(), batch),
            other => bail!("unknown benchmark '{other}' (known: logmel, inspect, ssl, epoch)"),
        },
    }
}

fn demo_corpus(out: &Path, seed: u64) -> Result<()> {
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
    Ok(())
}

fn inspect(
    dir: &Path,
    corpus_type: Option<CorpusType>,
    json: bool,
    scan_audio: bool,
    label_map: Option<&str>,
) -> Result<()> {
    corpus::header_cache::enable(&FeatureCache::default_root().join("headers.json"));
    let mut m = corpus::load(dir, corpus_type)?;
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

fn train(req: RunRequest) -> Result<()> {
    let handle = spawn_training(req, None).context("starting the training worker")?;
    follow(handle)
}

/// Prints a training worker's events until it ends.
fn follow(handle: crate::train::TrainHandle) -> Result<()> {
    // Ctrl-C is not intercepted: the OS ends the process, and every file written so far is whole
    // (atomic writes).
    let mut failed = None;
    for ev in handle.events.iter() {
        match ev {
            Event::Log(s) => println!("{s}"),
            Event::Plan {
                run_dir,
                classes,
                folds,
                independence,
                leakage,
                backend,
                epochs,
            } => {
                println!("run folder: {}", run_dir.display());
                println!("backend: {backend}");
                println!("classes ({}): {}", classes.len(), classes.join(", "));
                println!(
                    "protocol: {} folds, {independence}, up to {epochs} epochs each",
                    folds.len()
                );
                for l in leakage {
                    println!("  leakage check {l}");
                }
            }
            Event::Features {
                done,
                total,
                cached,
            } if done == total => {
                println!("features: {total} files ({cached} from cache)");
            }
            Event::Epoch(m) => println!(
                "fold {} epoch {:>3}: train loss {:.4} WA {:.3} | valid loss {:.4} WA {:.3} UA {:.3} F1 {:.3}{} ({:.1} s)",
                m.fold + 1,
                m.epoch,
                m.train_loss,
                m.train_wa,
                m.valid_loss,
                m.valid_wa,
                m.valid_ua,
                m.valid_macro_f1,
                match m.adapt_loss {
                    Some(a) => format!(" | adapt {a:.4}{}", if m.is_best { " *" } else { "" }),
                    None => (if m.is_best { " *" } else { "" }).to_string(),
                },
                m.epoch_secs
            ),
            Event::FoldDone { fold, report } => println!(
                "fold {} test: WA {:.4} UA {:.4} macro-F1 {:.4} (n = {})",
                fold + 1,
                report.wa,
                report.ua,
                report.macro_f1,
                report.n
            ),
            Event::Finished { run_dir, report } => {
                println!(
                    "\npooled test: WA {:.4} UA {:.4} macro-F1 {:.4} weighted-F1 {:.4} (n = {})",
                    report.wa, report.ua, report.macro_f1, report.weighted_f1, report.n
                );
                println!("report: {}", run_dir.join("report.md").display());
            }
            Event::State(RunState::Failed(msg)) => failed = Some(msg),
            Event::State(RunState::Stopped) => println!("stopped; finished folds are saved"),
            _ => {}
        }
    }
    handle.join();
    if let Some(msg) = failed {
        bail!("training failed: {msg}");
    }
    Ok(())
}

fn live(run: PathBuf, input: PathBuf, cfg: crate::live::LiveConfig, realtime: bool) -> Result<()> {
    use crate::live::{LiveEvent, LiveInput, spawn_live};
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
    let mut latencies: Vec<f64> = Vec::new();
    let (mut windows, mut silent, mut skipped) = (0usize, 0usize, 0usize);
    let mut failed = None;
    for ev in h.events.iter() {
        match ev {
            LiveEvent::Started {
                source,
                input_rate_hz,
                classes: c,
            } => {
                println!(
                    "input: {source} ({input_rate_hz} Hz → 16 kHz); classes: {}",
                    c.join(", ")
                );
                classes = c;
            }
            LiveEvent::Frame(f) => {
                windows += 1;
                skipped += f.skipped_before;
                if f.silent {
                    silent += 1;
                    println!("{:8.2} s  silence ({:.1} dBFS)", f.end_secs, f.level_dbfs);
                    continue;
                }
                latencies.push(f.latency_ms);
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
        serde_json::json!({"live": "summary", "windows": windows, "silent_windows": silent, "skipped_windows": skipped, "latency_ms_median": pct(0.5), "latency_ms_p95": pct(0.95)})
    );
    Ok(())
}

fn predict(run_dir: &Path, files: &[PathBuf], json: bool, trace: bool) -> Result<()> {
    let p = crate::train::predict::Predictor::load(run_dir).map_err(|e| anyhow::anyhow!(e))?;
    let mut errors = 0;
    if trace {
        for f in files {
            match p.trace_file(f) {
                Ok(t) => {
                    let top = crate::train::fit::argmax(&t.probabilities);
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
            Ok(probs) => {
                let top = crate::train::fit::argmax(&probs);
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

fn ssl_features(weights: &Path, layers: &str, file: &Path, out: &Path) -> Result<()> {
    use burn::prelude::Device;
    let device = Device::flex();
    let (enc, cfg, report) =
        crate::ssl::load_encoder(weights, &device).map_err(|e| anyhow::anyhow!(e))?;
    if !report.unused.is_empty() {
        eprintln!(
            "note: {} tensor(s) in the checkpoint are not part of the encoder (e.g. {})",
            report.unused.len(),
            report.unused[0]
        );
    }
    let keep = crate::ssl::extract::parse_layers(layers, cfg.n_hidden_states())
        .map_err(|e| anyhow::anyhow!(e))?;
    let x = crate::audio::load_mono_16k(file)?;
    let chunking = crate::ssl::extract::Chunking::default_for(cfg.total_stride());
    let (shape, v) = crate::ssl::extract::encode_utterance(
        &enc,
        &cfg.conv_kernel,
        &cfg.conv_stride,
        &x,
        chunking,
        &device,
    );
    let (t, d) = (shape[1], shape[2]);
    let mut data = Vec::with_capacity(keep.len() * t * d);
    for &l in &keep {
        data.extend_from_slice(&v[l * t * d..(l + 1) * t * d]);
    }
    let out_shape = if keep.len() == 1 {
        vec![t, d]
    } else {
        vec![keep.len(), t, d]
    };
    crate::features::npy::write(out, &out_shape, &data)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{}: {:?} float32 ({} hidden state(s) of {}, {} frames at {:.0} per second)",
        out.display(),
        out_shape,
        keep.len(),
        cfg.model_type,
        t,
        16_000.0 / cfg.total_stride() as f64
    );
    Ok(())
}

fn features(
    stream: StreamKind,
    preset: Option<&Path>,
    weights: Option<&Path>,
    file: &Path,
    out: &Path,
) -> Result<()> {
    let mut cfg = match preset {
        Some(p) => Preset::load(p)?.features,
        None => FeatureConfig::default(),
    };
    cfg.stream = stream;
    if let Some(w) = weights {
        cfg.ssl_weights = Some(w.to_path_buf());
    }
    let m = if stream == StreamKind::LogMelSsl {
        // [log-mel frames, n_mels + dim]: the SSL frames interpolated onto the log-mel frames.
        let w = cfg.ssl_weights.clone().ok_or_else(|| {
            anyhow::anyhow!("--stream logmel+ssl needs --weights PATH or a preset with ssl_weights")
        })?;
        let s = crate::ssl::stream::SslStream::load(&w, &cfg.ssl_layers)
            .map_err(|e| anyhow::anyhow!(e))?;
        let x = crate::audio::load_mono_16k(file)?;
        s.fused(&x, &cfg)
    } else {
        crate::features::extract_file(file, &cfg)?
    };
    crate::features::npy::write(out, &[m.n_frames, m.n_bins], &m.data)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{}: [{}, {}] float32 ({})",
        out.display(),
        m.n_frames,
        m.n_bins,
        cfg.extractor_key()
    );
    Ok(())
}
