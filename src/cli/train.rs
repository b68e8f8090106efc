//! `ser-workbench train`: one run of a preset on a corpus, printed as it goes.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::corpus::{self, CorpusType};
use crate::train::{BackendChoice, Event, FoldScope, Preset, RunRequest, RunState, spawn_training};

/// What to train on and where: the options `train` and `ablation` share.
#[derive(Args, Debug)]
pub struct RunSourceArgs {
    /// Corpus folder (the source of a cross-corpus run); repeat for multi-corpus training on
    /// the union.
    #[arg(long, required = true)]
    pub corpus: Vec<PathBuf>,
    /// Cross-corpus: train on --corpus, adapt on this corpus's audio (its labels are never used
    /// for training) and test on all of it.
    #[arg(long)]
    pub target_corpus: Option<PathBuf>,
    /// Label map: all, 4-class, iemocap-4, emodb-ravdess-6, calm-as-neutral, or a RON file.
    #[arg(long)]
    pub label_map: Option<String>,
    /// Protocol: loso, speaker-kfold:K, session-loso, official, leave-one-corpus-out,
    /// holdout:FRACTION (speaker-grouped), random-holdout:FRACTION and kfold:K
    /// (speaker-dependent). Default: the (first) preset's.
    #[arg(long)]
    pub protocol: Option<crate::corpus::Protocol>,
    /// Backend: auto (GPU when present, else the CPU with a notice), cpu, gpu (an error
    /// without a usable GPU).
    #[arg(long, default_value = "auto")]
    pub backend: BackendChoice,
    /// Feature cache folder (default: <caches>/features).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// SSL model folder (config.json + model.safetensors or pytorch_model.bin) instead of the
    /// preset's features.ssl_weights: the same preset with other weights.
    #[arg(long)]
    pub ssl_weights: Option<PathBuf>,
    /// Presets with a text stream: a `file,text` CSV of transcripts attached to the corpora
    /// (matched by path, else by file name; utterances without one get the empty text).
    #[arg(long)]
    pub transcripts: Option<PathBuf>,
    /// Presets with a text stream: the text encoder's model folder (config.json,
    /// model.safetensors, tokenizer.json) instead of the preset's text.weights.
    #[arg(long)]
    pub text_weights: Option<PathBuf>,
    /// Multi-label presets: a label is positive at this many annotator votes (instead of the
    /// preset's min_agreement).
    #[arg(long)]
    pub min_agreement: Option<f32>,
    /// Multi-label presets: test only utterances whose every label group (and ungrouped
    /// label) reached this many agreeing annotators — the SpeechMLC paper's test set
    /// (preset field test_min_agreement).
    #[arg(long)]
    pub test_min_agreement: Option<f32>,
}

impl RunSourceArgs {
    /// `preset` with `--ssl-weights`, `--transcripts` and `--text-weights` applied (an error
    /// when the preset has no such stream).
    pub fn apply(&self, preset: Preset) -> Result<Preset> {
        let mut preset = self.apply_ssl_weights(preset)?;
        for (flag, value) in [
            ("--min-agreement", self.min_agreement),
            ("--test-min-agreement", self.test_min_agreement),
        ] {
            let Some(k) = value else { continue };
            let name = preset.name.clone();
            let crate::train::task::Task::MultiLabel(m) = &mut preset.task else {
                bail!("{flag}: preset '{name}' is not a multi-label task");
            };
            if flag == "--min-agreement" {
                m.min_agreement = k;
            } else {
                m.test_min_agreement = Some(k);
            }
            m.validate().map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
        }
        if self.transcripts.is_none() && self.text_weights.is_none() {
            return Ok(preset);
        }
        let name = preset.name.clone();
        let Some(t) = preset.text.as_mut() else {
            bail!(
                "--transcripts/--text-weights: preset '{name}' has no text stream (add a text: (weights: …) section)"
            );
        };
        if let Some(csv) = &self.transcripts {
            t.transcripts = Some(csv.clone());
        }
        if let Some(w) = &self.text_weights {
            t.weights = w.clone();
        }
        Ok(preset)
    }

    /// `preset` with `--ssl-weights` applied (an error when the preset has no SSL stream).
    fn apply_ssl_weights(&self, mut preset: Preset) -> Result<Preset> {
        if let Some(w) = &self.ssl_weights {
            let f = &preset.features;
            if !(f.uses_ssl() || f.stream == crate::features::StreamKind::Waveform) {
                bail!(
                    "--ssl-weights: preset '{}' has no SSL encoder (its stream is {:?})",
                    preset.name,
                    f.stream
                );
            }
            preset.features.ssl_weights = Some(w.clone());
        }
        Ok(preset)
    }

    /// The feature cache folder to use.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache
            .clone()
            .unwrap_or_else(|| crate::paths::Paths::from_env().features())
    }
}

/// Options of `train`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct TrainArgs {
    /// collect / status / cancel / resubmit a run submitted with --executor slurm.
    #[command(subcommand)]
    pub action: Option<super::ablation::SlurmAction>,
    /// Preset RON file.
    #[arg(long, required = true)]
    pub preset: Option<PathBuf>,
    /// Corpora, protocol, backend, cache.
    #[command(flatten)]
    pub source: RunSourceArgs,
    /// Standard set-up of a corpus (protocol + label map), e.g. iemocap-4class-session-loso;
    /// see presets/protocols/. --protocol and --label-map override its parts.
    #[arg(long)]
    pub protocol_preset: Option<String>,
    /// Corpus type instead of detection.
    #[arg(long)]
    pub corpus_type: Option<CorpusType>,
    /// Seed (default: the preset's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run folder (default: <runs>/<timestamp>-<preset>; see the README's "Where runs are
    /// written").
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Train only fold N (counted from 1) into --out, a folder the other folds share; the
    /// report comes from `train collect` once every fold is there. Each task of
    /// --executor slurm runs this.
    #[arg(long, conflicts_with = "collect", requires = "out")]
    pub fold: Option<usize>,
    /// Train nothing: write the report of --out from the folds its fold tasks saved (marked
    /// incomplete while some are missing). `train collect DIR` does this for a Slurm run.
    #[arg(long, requires = "out")]
    pub collect: bool,
    /// Train here, or submit a Slurm job array with one task per fold and exit.
    #[arg(long, value_enum, default_value = "local")]
    pub executor: super::ablation::Executor,
    /// Slurm: follow the array until no task is queued, then collect.
    #[arg(long)]
    pub wait: bool,
    /// Slurm resources.
    #[command(flatten)]
    pub slurm: super::ablation::SlurmArgs,
}

/// Trains and prints progress; an error when the run fails.
pub fn run(a: TrainArgs) -> Result<()> {
    if let Some(action) = a.action {
        return super::ablation::act(action);
    }
    let preset_file = a.preset.context("--preset is required")?;
    let pp = match &a.protocol_preset {
        Some(spec) => Some(
            corpus::protocol_preset::ProtocolPreset::resolve(spec).map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let cache_dir = a.source.cache_dir();
    let preset = a.source.apply(Preset::load(&preset_file)?)?;
    let folds = match (a.fold, a.collect) {
        (Some(0), _) => bail!("--fold counts from 1"),
        (Some(n), _) => FoldScope::One(n - 1),
        (None, true) => FoldScope::Collect,
        (None, false) => FoldScope::All,
    };
    let s = a.source;
    let req = RunRequest {
        preset,
        corpus_dirs: s.corpus,
        target_corpus: s.target_corpus,
        label_map: s
            .label_map
            .or_else(|| pp.as_ref().and_then(|p| p.label_map.clone())),
        corpus_type: a.corpus_type,
        protocol: match (s.protocol, &pp) {
            (Some(p), _) => Some(p),
            (None, Some(pp)) => Some(
                pp.protocol
                    .parse()
                    .map_err(|e: String| anyhow::anyhow!("protocol preset '{}': {e}", pp.name))?,
            ),
            (None, None) => None,
        },
        seed: a.seed,
        out_dir: a.out,
        cache_dir,
        backend: s.backend,
        folds,
    };
    if a.executor == super::ablation::Executor::Slurm {
        if folds != FoldScope::All {
            bail!(
                "--executor slurm submits every fold; --fold and --collect are what its tasks and `train collect` run"
            );
        }
        return submit_folds(req, a.slurm, a.wait);
    }
    let handle = spawn_training(req, None).context("starting the training worker")?;
    follow(handle)
}

/// `train --executor slurm`: plans the folds on the corpus, writes the job array (one task per
/// fold into one run folder) and submits it.
fn submit_folds(req: RunRequest, slurm: super::ablation::SlurmArgs, wait: bool) -> Result<()> {
    let protocol = req.protocol.unwrap_or(req.preset.training.protocol);
    let seed = req.seed.unwrap_or(req.preset.training.seed);
    // What every task shares; the preset (with --transcripts, --ssl-weights … applied) is
    // copied into the run folder.
    let mut train_args = crate::train::slurm::train_args(
        &req.corpus_dirs,
        req.target_corpus.as_deref(),
        req.label_map.as_deref(),
        None,
        &protocol.spelling(),
        req.backend,
        &req.cache_dir,
    )
    .map_err(anyhow::Error::msg)?;
    if let Some(t) = req.corpus_type {
        train_args.extend(["--corpus-type".to_string(), t.name().to_string()]);
    }
    let folds = crate::train::run::plan_fold_names(&req, &|e| {
        if let Event::Log(l) = e {
            println!("{l}");
        }
    })
    .map_err(anyhow::Error::msg)?;
    let out = match &req.out_dir {
        Some(o) => o.clone(),
        None => crate::train::run_dir::RunDir::claim_new(
            &crate::paths::Paths::from_env().runs,
            &req.preset.name,
        )
        .map_err(anyhow::Error::msg)?,
    };
    let binary = std::env::current_exe().context("the path of this ser-workbench binary")?;
    let mut grid = crate::train::slurm::prepare_folds(
        &req.preset,
        seed,
        folds.len(),
        &out,
        crate::train::slurm::GridSetup {
            protocol: protocol.spelling(),
            corpus: req.corpus_dirs.clone(),
            target_corpus: req.target_corpus.clone(),
            train_args,
            binary,
            options: slurm.options(),
        },
    )
    .map_err(anyhow::Error::msg)?;
    let n = grid.tasks.len();
    let job = grid.submit_all().map_err(anyhow::Error::msg)?;
    println!(
        "submitted job {job}: {n} tasks, one per fold ({})\nrun folder: {d}\nscript: {}\nfollow: ser-workbench train status {d}\nreport: ser-workbench train collect {d}",
        folds.join(", "),
        grid.out_dir.join("slurm/job.sbatch").display(),
        d = grid.out_dir.display()
    );
    if wait {
        super::ablation::follow(&grid)?;
        return super::ablation::act(super::ablation::SlurmAction::Collect { dir: grid.out_dir });
    }
    Ok(())
}

/// Prints a training worker's events until it ends.
pub(super) fn follow(handle: crate::train::TrainHandle) -> Result<()> {
    // Ctrl-C is not intercepted: the OS ends the process, and every file written so far is whole
    // (atomic writes).
    let mut failed = None;
    for ev in handle.events.iter() {
        match ev {
            Event::Log(s) => println!("{s}"),
            Event::Plan(plan) => {
                println!("run folder: {}", plan.run_dir.display());
                println!("backend: {}", plan.backend);
                println!(
                    "{} ({}): {}",
                    if plan.dimensional {
                        "dimensions"
                    } else {
                        "classes"
                    },
                    plan.classes.len(),
                    plan.classes.join(", ")
                );
                println!(
                    "protocol: {} ({} folds, {}), up to {} epochs each",
                    plan.protocol,
                    plan.folds.len(),
                    plan.independence_label(),
                    plan.epochs
                );
                for l in plan.leakage_lines() {
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
            Event::Epoch(m) if m.valid_ccc.is_some() => println!(
                "fold {} epoch {:>3} step {:>5}: train loss {:.4} | valid loss {:.4} CCC {}{} ({:.1} s)",
                m.fold + 1,
                m.epoch,
                m.step,
                m.train_loss,
                m.valid_loss,
                m.valid_ccc
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(|c| format!("{c:.3}"))
                    .collect::<Vec<_>>()
                    .join(" / "),
                if m.is_best { " *" } else { "" },
                m.epoch_secs
            ),
            Event::Epoch(m) if m.valid_ua.is_nan() && !m.valid_macro_f1.is_nan() => println!(
                "fold {} epoch {:>3} step {:>5}: train loss {:.4} exact {:.3} | valid loss {:.4} macro-F1 {:.3}{} ({:.1} s)",
                m.fold + 1,
                m.epoch,
                m.step,
                m.train_loss,
                m.train_wa,
                m.valid_loss,
                m.valid_macro_f1,
                if m.is_best { " *" } else { "" },
                m.epoch_secs
            ),
            Event::Epoch(m) if !m.tasks.is_empty() => {
                println!(
                    "fold {} epoch {:>3} step {:>5}{}: train loss {:.4} WA {:.3} | valid loss {:.4} UA {:.3}{} ({:.1} s)",
                    m.fold + 1,
                    m.epoch,
                    m.step,
                    m.stage.map_or(String::new(), |s| format!(" stage {s}")),
                    m.train_loss,
                    m.train_wa,
                    m.valid_loss,
                    m.valid_ua,
                    if m.is_best { " *" } else { "" },
                    m.epoch_secs
                );
                println!("    {}", task_line(&m.tasks));
            }
            Event::Epoch(m) => println!(
                "fold {} epoch {:>3} step {:>5}: train loss {:.4} WA {:.3} | valid loss {:.4} WA {:.3} UA {:.3} F1 {:.3}{} ({:.1} s)",
                m.fold + 1,
                m.epoch,
                m.step,
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
            Event::FoldDone {
                fold,
                labels: Some(l),
                ..
            } => println!(
                "fold {} test: macro-F1 {:.4} micro-F1 {:.4} — {} (n = {})",
                fold + 1,
                l.macro_f1,
                l.micro_f1,
                l.labels
                    .iter()
                    .map(|m| format!("{} {:.3}", m.name, m.f1))
                    .collect::<Vec<_>>()
                    .join(", "),
                l.n
            ),
            Event::FoldDone {
                fold,
                dims: Some(dims),
                ..
            } => println!(
                "fold {} test: {} (n = {})",
                fold + 1,
                dims.iter()
                    .map(|d| format!("{} CCC {:.4}", d.name, d.ccc))
                    .collect::<Vec<_>>()
                    .join(", "),
                dims.first().map_or(0, |d| d.n)
            ),
            Event::FoldDone { fold, report, .. } => println!(
                "fold {} test: WA {:.4} UA {:.4} macro-F1 {:.4} (n = {})",
                fold + 1,
                report.wa,
                report.ua,
                report.macro_f1,
                report.n
            ),
            Event::Finished {
                run_dir,
                multi_label: Some(m),
                ..
            } => {
                let p = &m.pooled;
                println!(
                    "\npooled test: macro-F1 {:.4} micro-F1 {:.4} mean AP {:.4} exact set {:.4} (n = {})",
                    p.macro_f1, p.micro_f1, p.mean_average_precision, p.exact_match, p.n
                );
                for l in &p.labels {
                    println!(
                        "  {:<12} P {:.4}  R {:.4}  F1 {:.4}  AP {:.4}  (support {})",
                        l.name, l.precision, l.recall, l.f1, l.average_precision, l.support
                    );
                }
                println!("report: {}", run_dir.join("report.md").display());
            }
            Event::Finished {
                run_dir,
                dimensional: Some(d),
                ..
            } => {
                println!("\npooled test (mean CCC {:.4}):", d.mean_ccc);
                for r in &d.pooled {
                    println!(
                        "  {:<10} CCC {:.4}  Pearson {:.4}  MAE {:.4}  RMSE {:.4}  (n = {})",
                        r.name, r.ccc, r.pearson, r.mae, r.rmse, r.n
                    );
                }
                println!("report: {}", run_dir.join("report.md").display());
            }
            Event::Finished {
                run_dir,
                report,
                feature_weights,
                ..
            } => {
                println!(
                    "\npooled test: WA {:.4} UA {:.4} macro-F1 {:.4} weighted-F1 {:.4} (n = {})",
                    report.wa, report.ua, report.macro_f1, report.weighted_f1, report.n
                );
                if let Ok(r) = crate::train::run_dir::read_report(&run_dir)
                    && let Some(t) = &r.tasks
                {
                    for p in &t.pooled {
                        let v = p.value();
                        println!(
                            "  {:<10} {} {}{} ({} test utterances scored)",
                            p.task,
                            p.metric(),
                            if v.is_finite() {
                                format!("{v:.4}")
                            } else {
                                "n/a".into()
                            },
                            if p.is_asr() {
                                format!(", WER {:.4}", p.wer())
                            } else {
                                String::new()
                            },
                            p.counted
                        );
                    }
                }
                if let Some(f) = &feature_weights {
                    println!("strongest inputs per class (linear model, mean weight over folds):");
                    for t in &f.top {
                        let list: Vec<String> = t
                            .inputs
                            .iter()
                            .take(3)
                            .map(|(n, m, _)| format!("{n} {m:+.2}"))
                            .collect();
                        println!("  {:<12} {}", t.class, list.join(", "));
                    }
                }
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

/// One line of a multi-task evaluation: each task's training loss and validation score.
fn task_line(tasks: &[crate::train::messages::TaskEpoch]) -> String {
    let f = |v: f64| {
        if v.is_finite() {
            format!("{v:.3}")
        } else {
            "n/a".into()
        }
    };
    tasks
        .iter()
        .map(|t| {
            if t.task == "emotion" {
                format!("emotion loss {}", f(t.train_loss))
            } else {
                format!(
                    "{} loss {} valid {} {}",
                    t.task,
                    f(t.train_loss),
                    t.valid.metric(),
                    f(t.valid.value())
                )
            }
        })
        .collect::<Vec<_>>()
        .join(" | ")
}
