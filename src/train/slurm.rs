//! The Slurm executor of an ablation grid: every (preset, seed) run becomes one task of a job
//! array that runs the ordinary `ser-workbench train` into its own run folder on shared
//! storage. What was submitted is kept in the ablation folder (`slurm/grid.json`, the readable
//! and resubmittable `slurm/job.sbatch`, `slurm/logs/`). Later, `collect` turns the finished
//! runs into the same table a local ablation writes; `status` and `cancel` call `squeue` and
//! `scancel` (README, "On a cluster").

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::ablation::{AblationRow, AblationTable, row_from_reports};
use super::run_dir::read_report;

/// Resources asked of Slurm for every task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--gres` (e.g. `gpu:1`).
    pub gres: Option<String>,
    /// `--cpus-per-task`.
    pub cpus: Option<u32>,
    /// `--mem` (e.g. `16G`).
    pub mem: Option<String>,
    /// `--time` (e.g. `02:00:00`).
    pub time: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// Further `#SBATCH` arguments, as written (e.g. `--qos=short`).
    pub extra: Vec<String>,
}

/// One array task: one preset and seed, one run folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridTask {
    /// Array index.
    pub index: usize,
    /// Table row (preset order).
    pub row: usize,
    /// Preset name.
    pub preset: String,
    /// The preset as the task reads it (copied into the ablation folder).
    pub preset_file: PathBuf,
    /// Seed.
    pub seed: u64,
    /// The task's run folder.
    pub run_dir: PathBuf,
    /// A fold task (`train --executor slurm`): the fold (0-based) it trains into the run folder
    /// it shares with the other folds; `None` for a whole run of an ablation grid.
    #[serde(default)]
    pub fold: Option<usize>,
}

/// One `sbatch` of (part of) the array.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// Slurm job id.
    pub job_id: String,
    /// Array indices submitted (`0-5`, or `1,3` for a resubmission).
    pub array: String,
}

/// Everything about a grid on Slurm (`slurm/grid.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlurmGrid {
    /// The ablation folder.
    pub out_dir: PathBuf,
    /// Protocol spelling shared by all rows.
    pub protocol: String,
    /// Source corpora.
    pub corpus: Vec<PathBuf>,
    /// Target corpus (cross-corpus).
    pub target_corpus: Option<PathBuf>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Arguments of `train` shared by every task (corpora, protocol, backend, cache, …).
    pub train_args: Vec<String>,
    /// The `ser-workbench` binary the tasks run (on shared storage).
    pub binary: PathBuf,
    /// Resources.
    pub options: SlurmOptions,
    /// Tasks in array order.
    pub tasks: Vec<GridTask>,
    /// Submissions, oldest first.
    pub submissions: Vec<Submission>,
}

/// What became of one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Its run finished: the report is there.
    Done,
    /// Waiting or running in Slurm (`squeue`'s state, e.g. PENDING, RUNNING).
    Queued(String),
    /// It ended with this exit code and no finished report.
    Failed(i32),
    /// Not in the queue and no result (cancelled, killed, node failure, or never submitted).
    Missing,
}

impl TaskState {
    /// Whether Slurm still holds it.
    pub fn is_queued(&self) -> bool {
        matches!(self, TaskState::Queued(_))
    }

    /// Short text.
    pub fn describe(&self) -> String {
        match self {
            TaskState::Done => "done".into(),
            TaskState::Queued(s) => s.to_lowercase(),
            TaskState::Failed(code) => format!("failed (exit {code})"),
            TaskState::Missing => "missing (not queued, no result)".into(),
        }
    }
}

const GRID_FILE: &str = "slurm/grid.json";
const SCRIPT_FILE: &str = "slurm/job.sbatch";

impl SlurmGrid {
    /// Reads `<dir>/slurm/grid.json`.
    pub fn read(dir: &Path) -> Result<Self, String> {
        let p = dir.join(GRID_FILE);
        let text = std::fs::read_to_string(&p).map_err(|e| {
            format!(
                "{}: {e} (not an ablation submitted with --executor slurm?)",
                p.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| format!("{}: malformed: {e}", p.display()))
    }

    /// Writes `slurm/grid.json` atomically.
    pub fn write(&self) -> Result<(), String> {
        let p = self.out_dir.join(GRID_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        crate::fsutil::write_text_atomic(&p, &text).map_err(|e| format!("{}: {e}", p.display()))
    }

    /// The job-array script (readable; `sbatch --array=LIST` resubmits part of it).
    pub fn script(&self) -> String {
        let q = shell_quote;
        let dir = &self.out_dir;
        let folds = self.is_fold_grid();
        let mut s = String::from("#!/bin/bash\n");
        s.push_str(&format!(
            "# SER Workbench {}: {} tasks ({}), written by `ser-workbench {} --executor slurm`.\n# Resubmit some tasks with: sbatch --array=1,3 {}\n",
            if folds { "run" } else { "ablation grid" },
            self.tasks.len(),
            if folds { "one per fold" } else { "preset x seed" },
            if folds { "train" } else { "ablation" },
            q(&dir.join(SCRIPT_FILE).display().to_string())
        ));
        s.push_str(if folds {
            "#SBATCH --job-name=serwb-train\n"
        } else {
            "#SBATCH --job-name=serwb-ablation\n"
        });
        s.push_str(&format!(
            "#SBATCH --array=0-{}\n",
            self.tasks.len().saturating_sub(1)
        ));
        s.push_str(&format!(
            "#SBATCH --output={}\n",
            dir.join("slurm/logs/%A_%a.log").display()
        ));
        let o = &self.options;
        for (flag, v) in [
            ("partition", o.partition.clone()),
            ("gres", o.gres.clone()),
            ("cpus-per-task", o.cpus.map(|c| c.to_string())),
            ("mem", o.mem.clone()),
            ("time", o.time.clone()),
            ("account", o.account.clone()),
        ] {
            if let Some(v) = v {
                s.push_str(&format!("#SBATCH --{flag}={v}\n"));
            }
        }
        for e in &o.extra {
            s.push_str(&format!("#SBATCH {e}\n"));
        }
        s.push_str("set -u\n");
        s.push_str(&format!("BIN={}\n", q(&self.binary.display().to_string())));
        s.push_str("case \"$SLURM_ARRAY_TASK_ID\" in\n");
        for t in &self.tasks {
            s.push_str(&format!(
                "  {}) PRESET={}; SEED={}; RUN={}{} ;;\n",
                t.index,
                q(&t.preset_file.display().to_string()),
                t.seed,
                q(&t.run_dir.display().to_string()),
                t.fold
                    .map_or(String::new(), |f| format!("; FOLD={}", f + 1))
            ));
        }
        s.push_str(
            "  *) echo \"no task $SLURM_ARRAY_TASK_ID in this grid\" >&2; exit 2 ;;\nesac\n",
        );
        s.push_str(&format!(
            "EXIT={}/\"$SLURM_ARRAY_TASK_ID\"\nrm -f \"$EXIT\"\n",
            q(&dir.join("slurm/exit").display().to_string())
        ));
        if folds {
            s.push_str("# The folds share the run folder; a fold counts as done once its record\n# (folds/fold<N>.ron, written last) is there.\n");
        } else {
            s.push_str(
                "# A run folder left by a killed earlier attempt is kept aside, never mixed in.\n",
            );
            s.push_str("if [ -e \"$RUN\" ] && [ ! -f \"$RUN/report.json\" ]; then mv \"$RUN\" \"$RUN.partial-$SLURM_JOB_ID\"; fi\n");
        }
        let args: Vec<String> = self.train_args.iter().map(|a| q(a)).collect();
        s.push_str(&format!(
            "\"$BIN\" train --preset \"$PRESET\" --seed \"$SEED\" --out \"$RUN\"{} {}\nrc=$?\necho \"$rc\" > \"$EXIT\"\nexit \"$rc\"\n",
            if folds { " --fold \"$FOLD\"" } else { "" },
            args.join(" ")
        ));
        s
    }

    /// The state of every task: the run's report, else the queue, else the exit file.
    pub fn states(&self) -> Vec<TaskState> {
        let queued = self.queue();
        self.tasks
            .iter()
            .map(|t| {
                let done = match t.fold {
                    Some(f) => super::fold_record::FoldRecord::path(&t.run_dir, f).is_file(),
                    None => finished(&t.run_dir),
                };
                if done {
                    return TaskState::Done;
                }
                if let Some(s) = queued.get(&t.index) {
                    return TaskState::Queued(s.clone());
                }
                let exit = self.out_dir.join(format!("slurm/exit/{}", t.index));
                match std::fs::read_to_string(&exit)
                    .ok()
                    .and_then(|s| s.trim().parse::<i32>().ok())
                {
                    Some(code) => TaskState::Failed(code),
                    None => TaskState::Missing,
                }
            })
            .collect()
    }

    /// Array index → state of this grid's tasks that `squeue` still lists (latest submission
    /// wins). No `squeue` (or an error) lists nothing.
    fn queue(&self) -> std::collections::HashMap<usize, String> {
        let mut out = std::collections::HashMap::new();
        for sub in &self.submissions {
            let Ok(o) = Command::new("squeue")
                .args(["-h", "-r", "-j", &sub.job_id, "-o", "%K %T"])
                .output()
            else {
                continue;
            };
            for line in String::from_utf8_lossy(&o.stdout).lines() {
                let mut parts = line.split_whitespace();
                if let (Some(k), Some(state)) = (parts.next(), parts.next())
                    && let Ok(k) = k.parse::<usize>()
                {
                    out.insert(k, state.to_string());
                }
            }
        }
        out
    }

    /// Log file of task `index` in the latest submission that included it.
    /// Whether the tasks are the folds of one run (`train --executor slurm`) rather than the
    /// runs of an ablation grid.
    pub fn is_fold_grid(&self) -> bool {
        !self.tasks.is_empty() && self.tasks.iter().all(|t| t.fold.is_some())
    }

    /// A fold grid's report: runs `<binary> train --collect` on the run folder (the same
    /// report code as a local run, reading the fold records; marked incomplete while folds are
    /// missing). The caller runs the command (and shows its output); [`SlurmGrid::open_tasks`]
    /// lists what is not finished.
    pub fn collect_run_command(&self) -> Result<Command, String> {
        let Some(first) = self.tasks.first().filter(|_| self.is_fold_grid()) else {
            return Err(format!(
                "{}: an ablation grid, not the folds of one run (use ablation collect)",
                self.out_dir.display()
            ));
        };
        let mut c = Command::new(&self.binary);
        c.arg("train")
            .arg("--preset")
            .arg(&first.preset_file)
            .arg("--seed")
            .arg(first.seed.to_string())
            .arg("--out")
            .arg(&first.run_dir)
            .arg("--collect")
            .args(&self.train_args);
        Ok(c)
    }

    /// The tasks that are not done, with their states.
    pub fn open_tasks(&self, states: &[TaskState]) -> Vec<(GridTask, TaskState)> {
        self.tasks
            .iter()
            .zip(states)
            .filter(|(_, s)| **s != TaskState::Done)
            .map(|(t, s)| (t.clone(), s.clone()))
            .collect()
    }

    /// What Slurm's accounting says of task `index`'s last attempt (`sacct`: e.g. "TIMEOUT",
    /// "FAILED, exit 2:0", "CANCELLED by 1000, exit 0:15"), for the tasks that ended without a
    /// result; `None` where the cluster keeps no accounting (`sacct` fails) or knows nothing.
    pub fn accounting(&self, index: usize) -> Option<String> {
        let sub = self
            .submissions
            .iter()
            .rev()
            .find(|s| array_contains(&s.array, index))?;
        let out = Command::new("sacct")
            .args(["-n", "-P", "-X", "-o", "State,ExitCode", "-j"])
            .arg(format!("{}_{index}", sub.job_id))
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        parse_sacct(&String::from_utf8_lossy(&out.stdout))
    }

    pub fn log_path(&self, index: usize) -> Option<PathBuf> {
        self.submissions
            .iter()
            .rev()
            .find(|s| array_contains(&s.array, index))
            .map(|s| {
                self.out_dir
                    .join(format!("slurm/logs/{}_{index}.log", s.job_id))
            })
    }

    /// Log file of task `index` as text (empty when it was never submitted).
    pub fn log_text(&self, index: usize) -> String {
        self.log_path(index)
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }

    /// Submits the array indices `array` (`0-N` or a list) with `sbatch --parsable`; records
    /// the job id.
    /// Submits every task of the grid (`--array=0-N`); the job id.
    pub fn submit_all(&mut self) -> Result<String, String> {
        let spec = format!("0-{}", self.tasks.len().saturating_sub(1));
        self.submit(&spec)
    }

    pub fn submit(&mut self, array: &str) -> Result<String, String> {
        let script = self.out_dir.join(SCRIPT_FILE);
        let out = Command::new("sbatch")
            .arg("--parsable")
            .arg(format!("--array={array}"))
            .arg(&script)
            .output()
            .map_err(|e| {
                format!("sbatch: {e} (is Slurm installed and sbatch on PATH? tools/slurm-local.sh starts a one-node cluster)")
            })?;
        if !out.status.success() {
            return Err(format!(
                "sbatch refused {}: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        // --parsable prints "jobid" or "jobid;cluster".
        let job_id = text
            .trim()
            .split(';')
            .next()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("sbatch printed no job id: '{}'", text.trim()))?
            .to_string();
        self.submissions.push(Submission {
            job_id: job_id.clone(),
            array: array.to_string(),
        });
        self.write()?;
        Ok(job_id)
    }

    /// Cancels every submission of the grid (`scancel`).
    pub fn cancel(&self) -> Result<(), String> {
        for s in &self.submissions {
            let out = Command::new("scancel")
                .arg(&s.job_id)
                .output()
                .map_err(|e| format!("scancel: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "scancel {}: {}",
                    s.job_id,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        Ok(())
    }

    /// The table of the finished tasks (the same rows a local ablation writes) and the tasks
    /// that are not finished with their state; writes `ablation.md/.csv/.json`.
    pub fn collect(&self) -> Result<(AblationTable, Vec<(GridTask, TaskState)>), String> {
        if self.is_fold_grid() {
            return Err(format!(
                "{}: the folds of one run, not an ablation grid (use train collect)",
                self.out_dir.display()
            ));
        }
        let states = self.states();
        let mut open = Vec::new();
        let mut rows: Vec<AblationRow> = Vec::new();
        let n_rows = self.tasks.iter().map(|t| t.row + 1).max().unwrap_or(0);
        for r in 0..n_rows {
            let tasks: Vec<&GridTask> = self.tasks.iter().filter(|t| t.row == r).collect();
            let Some(first) = tasks.first() else { continue };
            let preset = super::Preset::load(&first.preset_file).map_err(|e| e.to_string())?;
            let mut runs = Vec::new();
            let mut missing = Vec::new();
            for t in &tasks {
                match &states[t.index] {
                    TaskState::Done => {
                        runs.push((t.seed, t.run_dir.clone(), read_report(&t.run_dir)?))
                    }
                    s => {
                        missing.push(format!("seed {}: {}", t.seed, s.describe()));
                        open.push(((*t).clone(), s.clone()));
                    }
                }
            }
            let mut row = row_from_reports(&preset, &runs);
            if !missing.is_empty() {
                row.error = Some(format!("not finished: {}", missing.join("; ")));
            }
            rows.push(row);
        }
        let table = AblationTable {
            protocol: self.protocol.clone(),
            corpus: self.corpus.clone(),
            target_corpus: self.target_corpus.clone(),
            seeds: self.seeds.clone(),
            rows,
            incomplete: !open.is_empty(),
        };
        table.write(&self.out_dir)?;
        Ok((table, open))
    }
}

/// Whether a run folder holds a complete report.
fn finished(run_dir: &Path) -> bool {
    read_report(run_dir).is_ok_and(|r| !r.incomplete)
}

/// The first `State|ExitCode` line of `sacct -n -P`, as "STATE, exit CODE" (the exit code
/// left out when it is 0:0 and the state says enough).
pub fn parse_sacct(out: &str) -> Option<String> {
    let line = out.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut parts = line.split('|');
    let state = parts.next().map(str::trim).filter(|s| !s.is_empty())?;
    match parts.next().map(str::trim) {
        Some(code) if !code.is_empty() && code != "0:0" => Some(format!("{state}, exit {code}")),
        _ => Some(state.to_string()),
    }
}

/// Whether Slurm's array spec (`0-5`, `1,3`, `0-2,7`) includes `index`.
pub fn array_contains(spec: &str, index: usize) -> bool {
    spec.split(',').any(|part| match part.split_once('-') {
        Some((a, b)) => match (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
            (Ok(a), Ok(b)) => (a..=b).contains(&index),
            _ => false,
        },
        None => part.trim().parse::<usize>() == Ok(index),
    })
}

/// Single-quotes `s` for bash.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The `train` arguments every task shares (paths made absolute): what a local ablation passes
/// to each run.
#[allow(clippy::too_many_arguments)]
pub fn train_args(
    corpus: &[PathBuf],
    target_corpus: Option<&Path>,
    label_map: Option<&str>,
    transcripts: Option<&Path>,
    protocol: &str,
    backend: super::BackendChoice,
    cache_dir: &Path,
) -> Result<Vec<String>, String> {
    let abs = |p: &Path| -> Result<String, String> {
        std::path::absolute(p)
            .map(|a| a.display().to_string())
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    let mut args = Vec::new();
    for c in corpus {
        args.extend(["--corpus".to_string(), abs(c)?]);
    }
    if let Some(t) = target_corpus {
        args.extend(["--target-corpus".to_string(), abs(t)?]);
    }
    if let Some(l) = label_map {
        args.extend(["--label-map".to_string(), l.to_string()]);
    }
    if let Some(t) = transcripts {
        args.extend(["--transcripts".to_string(), abs(t)?]);
    }
    let backend = match backend {
        super::BackendChoice::Auto => "auto",
        super::BackendChoice::Cpu => "cpu",
        super::BackendChoice::Gpu => "gpu",
    };
    args.extend([
        "--protocol".to_string(),
        protocol.to_string(),
        "--backend".into(),
        backend.into(),
        "--cache".into(),
        abs(cache_dir)?,
    ]);
    Ok(args)
}

/// A one-line count of task states.
pub fn summary(states: &[TaskState]) -> String {
    let count = |f: fn(&TaskState) -> bool| states.iter().filter(|s| f(s)).count();
    format!(
        "tasks: {} done, {} queued or running, {} failed, {} missing",
        count(|s| matches!(s, TaskState::Done)),
        count(|s| matches!(s, TaskState::Queued(_))),
        count(|s| matches!(s, TaskState::Failed(_))),
        count(|s| matches!(s, TaskState::Missing)),
    )
}

/// Array indices of the tasks that failed or are missing (`1,3`), `None` when there are none.
pub fn to_resubmit(states: &[TaskState]) -> Option<String> {
    let again: Vec<String> = states
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, TaskState::Failed(_) | TaskState::Missing))
        .map(|(i, _)| i.to_string())
        .collect();
    (!again.is_empty()).then(|| again.join(","))
}

/// What every task of a grid shares.
#[derive(Clone, Debug)]
pub struct GridSetup {
    /// Protocol spelling shared by all rows.
    pub protocol: String,
    /// Source corpora.
    pub corpus: Vec<PathBuf>,
    /// Target corpus (cross-corpus).
    pub target_corpus: Option<PathBuf>,
    /// Arguments of `train` shared by every task.
    pub train_args: Vec<String>,
    /// The `ser-workbench` binary the tasks run.
    pub binary: PathBuf,
    /// Resources.
    pub options: SlurmOptions,
}

/// Prepares an ablation grid for Slurm: copies the presets into `out_dir/slurm/presets/`,
/// writes `grid.json` and `job.sbatch`, checks that the folder is writable. Run folders are
/// named as a local ablation names them.
pub fn prepare(
    presets: &[super::Preset],
    seeds: &[u64],
    out_dir: &Path,
    setup: GridSetup,
) -> Result<SlurmGrid, String> {
    let out_dir = grid_folder(out_dir)?;
    let mut tasks = Vec::new();
    for (pi, preset) in presets.iter().enumerate() {
        let stem = super::ablation::run_folder_stem(pi, &preset.name);
        let file = out_dir.join(format!("slurm/presets/{stem}.ron"));
        preset.save(&file).map_err(|e| e.to_string())?;
        for &seed in seeds {
            tasks.push(GridTask {
                index: tasks.len(),
                row: pi,
                preset: preset.name.clone(),
                preset_file: file.clone(),
                seed,
                run_dir: out_dir.join(format!("{stem}-seed{seed}")),
                fold: None,
            });
        }
    }
    finish_grid(out_dir, seeds.to_vec(), tasks, setup)
}

/// The Slurm job of one run (`train --executor slurm`): one array task per fold, each training
/// its fold into `run_dir` (which also keeps `slurm/`), for `n_folds` folds (planned from the
/// corpus before submitting).
pub fn prepare_folds(
    preset: &super::Preset,
    seed: u64,
    n_folds: usize,
    run_dir: &Path,
    setup: GridSetup,
) -> Result<SlurmGrid, String> {
    if n_folds == 0 {
        return Err("the protocol gives no folds on this corpus".into());
    }
    let run_dir = grid_folder(run_dir)?;
    let file = run_dir.join("slurm/presets/preset.ron");
    preset.save(&file).map_err(|e| e.to_string())?;
    let tasks = (0..n_folds)
        .map(|f| GridTask {
            index: f,
            row: 0,
            preset: preset.name.clone(),
            preset_file: file.clone(),
            seed,
            run_dir: run_dir.clone(),
            fold: Some(f),
        })
        .collect();
    finish_grid(run_dir, vec![seed], tasks, setup)
}

/// The absolute grid folder with its `slurm/` parts, checked writable.
fn grid_folder(dir: &Path) -> Result<PathBuf, String> {
    let dir = std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for sub in ["slurm/presets", "slurm/logs", "slurm/exit"] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|e| {
            format!(
                "{}: {e} (the folder must be writable shared storage)",
                d.display()
            )
        })?;
    }
    let probe = dir.join("slurm/.writable");
    std::fs::write(&probe, b"ok")
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| format!("{}: not writable: {e}", dir.display()))?;
    Ok(dir)
}

/// Writes the script and `grid.json` of a new grid.
fn finish_grid(
    out_dir: PathBuf,
    seeds: Vec<u64>,
    tasks: Vec<GridTask>,
    setup: GridSetup,
) -> Result<SlurmGrid, String> {
    let GridSetup {
        protocol,
        corpus,
        target_corpus,
        train_args,
        binary,
        options,
    } = setup;
    let grid = SlurmGrid {
        out_dir,
        protocol,
        corpus,
        target_corpus,
        seeds,
        train_args,
        binary,
        options,
        tasks,
        submissions: Vec::new(),
    };
    let script = grid.out_dir.join(SCRIPT_FILE);
    crate::fsutil::write_text_atomic(&script, &grid.script())
        .map_err(|e| format!("{}: {e}", script.display()))?;
    grid.write()?;
    Ok(grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sacct_lines() {
        assert_eq!(parse_sacct("TIMEOUT|0:0\n").as_deref(), Some("TIMEOUT"));
        assert_eq!(
            parse_sacct("FAILED|2:0\n").as_deref(),
            Some("FAILED, exit 2:0")
        );
        assert_eq!(
            parse_sacct("\nCANCELLED by 1000|0:15\n").as_deref(),
            Some("CANCELLED by 1000, exit 0:15")
        );
        assert_eq!(
            parse_sacct("OUT_OF_MEMORY|0:125").as_deref(),
            Some("OUT_OF_MEMORY, exit 0:125")
        );
        assert_eq!(parse_sacct(""), None);
    }

    #[test]
    fn array_specs_and_quoting() {
        assert!(array_contains("0-5", 5) && !array_contains("0-5", 6));
        assert!(array_contains("1,3", 3) && !array_contains("1,3", 2));
        assert!(array_contains("0-2,7", 7) && array_contains("0-2,7", 1));
        assert_eq!(shell_quote("a b'c"), r"'a b'\''c'");
    }
}
