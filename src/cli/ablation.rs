//! `ser-workbench ablation`: several presets (× seeds) under one protocol, one table; run here
//! or as a Slurm job array (`--executor slurm`, then `collect` / `status` / `cancel` /
//! `resubmit`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};

use crate::train::Preset;
use crate::train::slurm::{SlurmGrid, SlurmOptions, TaskState};

/// Where the grid runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Executor {
    /// In this process, one run after the other.
    Local,
    /// As a Slurm job array, one task per preset and seed (needs `sbatch`; see the README's
    /// "On a cluster").
    Slurm,
}

/// Resources of every Slurm task.
#[derive(Args, Debug, Default)]
pub struct SlurmArgs {
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Generic resources per task, e.g. gpu:1.
    #[arg(long)]
    pub gres: Option<String>,
    /// CPUs per task.
    #[arg(long)]
    pub cpus: Option<u32>,
    /// Memory per task, e.g. 16G.
    #[arg(long)]
    pub mem: Option<String>,
    /// Time limit per task, e.g. 02:00:00.
    #[arg(long)]
    pub time: Option<String>,
    /// Account to charge.
    #[arg(long)]
    pub account: Option<String>,
    /// A further #SBATCH argument, written as given (repeatable), e.g. --sbatch-arg=--qos=short.
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
}

impl SlurmArgs {
    /// The resources as the grid keeps them.
    pub fn options(self) -> SlurmOptions {
        SlurmOptions {
            partition: self.partition,
            gres: self.gres,
            cpus: self.cpus,
            mem: self.mem,
            time: self.time,
            account: self.account,
            extra: self.sbatch_arg,
        }
    }
}

/// What to do with an ablation grid or a run submitted to Slurm.
#[derive(Subcommand, Debug)]
pub enum SlurmAction {
    /// Merge the finished tasks (an ablation's runs into ablation.md/.csv/.json, a run's folds
    /// into its report) and list the others with their state and log.
    Collect {
        /// The ablation folder or run folder.
        dir: PathBuf,
    },
    /// Every task's state (squeue, the run's report or fold record, the task's exit code).
    Status {
        /// The ablation folder or run folder.
        dir: PathBuf,
    },
    /// Cancel every job of the grid (scancel).
    Cancel {
        /// The ablation folder or run folder.
        dir: PathBuf,
    },
    /// Submit again the tasks that failed or are missing (not those queued or done).
    Resubmit {
        /// The ablation folder or run folder.
        dir: PathBuf,
    },
}

/// Options of `ablation`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AblationArgs {
    /// collect / status / cancel / resubmit a Slurm grid.
    #[command(subcommand)]
    pub action: Option<SlurmAction>,
    /// Preset RON files, one table row each.
    #[arg(long, required = true, num_args = 1..)]
    pub presets: Vec<PathBuf>,
    /// Corpora, protocol (one for every row), backend, cache.
    #[command(flatten)]
    pub source: super::train::RunSourceArgs,
    /// Seeds, comma-separated (default: the first preset's seed).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Vec<u64>,
    /// Output folder (table + one run folder per preset and seed); with Slurm it must be on
    /// storage the nodes share.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run here, or submit a Slurm job array and exit.
    #[arg(long, value_enum, default_value = "local")]
    pub executor: Executor,
    /// Slurm: follow the array until no task is queued, then collect.
    #[arg(long)]
    pub wait: bool,
    /// Slurm resources.
    #[command(flatten)]
    pub slurm: SlurmArgs,
}

/// Runs the grid and prints the table (or submits it, or acts on a submitted one).
pub fn run(a: AblationArgs) -> Result<()> {
    if let Some(action) = a.action {
        return act(action);
    }
    let cache_dir = a.source.cache_dir();
    let AblationArgs {
        presets,
        source,
        seeds,
        out,
        executor,
        wait,
        slurm,
        ..
    } = a;
    let presets = presets
        .iter()
        .map(|p| source.apply(Preset::load(p)?))
        .collect::<Result<Vec<_>>>()?;
    let out = match out {
        Some(o) => o,
        None => crate::train::run_dir::RunDir::claim_new(
            &crate::paths::Paths::from_env().runs,
            "ablation",
        )
        .map_err(|e| anyhow::anyhow!(e))?,
    };
    if executor == Executor::Slurm {
        return submit(&presets, &source, &seeds, &out, cache_dir, slurm, wait);
    }
    let req = crate::train::ablation::AblationRequest {
        presets,
        corpus_dirs: source.corpus,
        target_corpus: source.target_corpus,
        label_map: source.label_map,
        protocol: source.protocol,
        seeds,
        out_dir: out.clone(),
        cache_dir,
        backend: source.backend,
    };
    let handle = crate::train::worker::spawn_with(
        move |c, emit| crate::train::ablation::run_ablation(&req, c, emit).map(|_| ()),
        None,
    )
    .context("starting the ablation worker")?;
    super::train::follow(handle)?;
    print_table(&out)
}

fn print_table(out: &std::path::Path) -> Result<()> {
    let md = out.join("ablation.md");
    let text = std::fs::read_to_string(&md).with_context(|| md.display().to_string())?;
    println!("\n{text}");
    println!("table: {} (+ ablation.csv, ablation.json)", md.display());
    Ok(())
}

fn submit(
    presets: &[Preset],
    source: &super::train::RunSourceArgs,
    seeds: &[u64],
    out: &std::path::Path,
    cache_dir: PathBuf,
    slurm: SlurmArgs,
    wait: bool,
) -> Result<()> {
    if presets.is_empty() {
        bail!("ablation: no presets given");
    }
    let protocol = source.protocol.unwrap_or(presets[0].training.protocol);
    let seeds = if seeds.is_empty() {
        vec![presets[0].training.seed]
    } else {
        seeds.to_vec()
    };
    let binary = std::env::current_exe().context("the path of this ser-workbench binary")?;
    let options = slurm.options();
    let mut grid = crate::train::slurm::prepare(
        presets,
        &seeds,
        out,
        crate::train::slurm::GridSetup {
            protocol: protocol.spelling(),
            corpus: source.corpus.clone(),
            target_corpus: source.target_corpus.clone(),
            train_args: crate::train::slurm::train_args(
                &source.corpus,
                source.target_corpus.as_deref(),
                source.label_map.as_deref(),
                source.transcripts.as_deref(),
                &protocol.spelling(),
                source.backend,
                &cache_dir,
            )
            .map_err(anyhow::Error::msg)?,
            binary,
            options,
        },
    )
    .map_err(anyhow::Error::msg)?;
    let n = grid.tasks.len();
    let job = grid.submit_all().map_err(anyhow::Error::msg)?;
    println!(
        "submitted job {job}: {n} tasks ({} presets × {} seeds)\nscript: {}\nfollow: ser-workbench ablation status {d}\ntable:  ser-workbench ablation collect {d}",
        presets.len(),
        seeds.len(),
        grid.out_dir.join("slurm/job.sbatch").display(),
        d = grid.out_dir.display()
    );
    if wait {
        follow(&grid)?;
        return act(SlurmAction::Collect { dir: grid.out_dir });
    }
    Ok(())
}

/// Polls until no task is queued.
pub(super) fn follow(grid: &SlurmGrid) -> Result<()> {
    let mut last = String::new();
    loop {
        let states = grid.states();
        let line = crate::train::slurm::summary(&states);
        if line != last {
            println!("{line}");
            last = line;
        }
        if !states.iter().any(|s| matches!(s, TaskState::Queued(_))) {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
}

/// Acts on a submitted grid (an ablation's or a run's folds).
pub(super) fn act(action: SlurmAction) -> Result<()> {
    match action {
        SlurmAction::Status { dir } => {
            let grid = SlurmGrid::read(&dir).map_err(anyhow::Error::msg)?;
            let jobs: Vec<&str> = grid.submissions.iter().map(|s| s.job_id.as_str()).collect();
            println!("jobs: {}", jobs.join(", "));
            let states = grid.states();
            for (t, s) in grid.tasks.iter().zip(&states) {
                println!(
                    "task {:>3}  {:<28} {:<11} {:<32} {}",
                    t.index,
                    t.preset,
                    task_part(t),
                    describe(&grid, t.index, s),
                    grid.log_text(t.index)
                );
            }
            println!("{}", crate::train::slurm::summary(&states));
            Ok(())
        }
        SlurmAction::Cancel { dir } => {
            let grid = SlurmGrid::read(&dir).map_err(anyhow::Error::msg)?;
            grid.cancel().map_err(anyhow::Error::msg)?;
            println!("cancelled {} job(s)", grid.submissions.len());
            Ok(())
        }
        SlurmAction::Resubmit { dir } => {
            let mut grid = SlurmGrid::read(&dir).map_err(anyhow::Error::msg)?;
            let Some(again) = crate::train::slurm::to_resubmit(&grid.states()) else {
                println!("nothing to resubmit: every task is done or queued");
                return Ok(());
            };
            let job = grid.submit(&again).map_err(anyhow::Error::msg)?;
            println!("resubmitted tasks {again} as job {job}");
            Ok(())
        }
        SlurmAction::Collect { dir } => {
            let grid = SlurmGrid::read(&dir).map_err(anyhow::Error::msg)?;
            let open = if grid.is_fold_grid() {
                let states = grid.states();
                let done = states.iter().filter(|s| **s == TaskState::Done).count();
                if done == 0 {
                    bail!(
                        "{}: no fold has finished yet ({})",
                        grid.out_dir.display(),
                        crate::train::slurm::summary(&states)
                    );
                }
                let mut c = grid.collect_run_command().map_err(anyhow::Error::msg)?;
                let status = c
                    .status()
                    .with_context(|| format!("running {}", grid.binary.display()))?;
                if !status.success() {
                    bail!("collecting the folds of {} failed", grid.out_dir.display());
                }
                grid.open_tasks(&states)
            } else {
                let (_, open) = grid.collect().map_err(anyhow::Error::msg)?;
                print_table(&grid.out_dir)?;
                open
            };
            if !open.is_empty() {
                println!("\nnot finished ({}):", open.len());
                for (t, s) in &open {
                    println!(
                        "  task {} {} {}: {}; log {}",
                        t.index,
                        t.preset,
                        task_part(t),
                        describe(&grid, t.index, s),
                        grid.log_path(t.index)
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| "none".into())
                    );
                }
                println!(
                    "resubmit them with: ser-workbench {} resubmit {}",
                    if grid.is_fold_grid() {
                        "train"
                    } else {
                        "ablation"
                    },
                    grid.out_dir.display()
                );
            }
            Ok(())
        }
    }
}

/// "seed S", or "fold N" for the tasks of one run.
fn task_part(t: &crate::train::slurm::GridTask) -> String {
    match t.fold {
        Some(f) => format!("fold {}", f + 1),
        None => format!("seed {}", t.seed),
    }
}

/// A task's state, with Slurm's accounting (`sacct`) for one that ended without a result where
/// the cluster keeps accounting.
fn describe(grid: &SlurmGrid, index: usize, s: &TaskState) -> String {
    match s {
        TaskState::Failed(_) | TaskState::Missing => match grid.accounting(index) {
            Some(a) => format!("{} [sacct: {a}]", s.describe()),
            None => s.describe(),
        },
        _ => s.describe(),
    }
}
