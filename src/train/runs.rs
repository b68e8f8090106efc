//! The run folders on disk as a list, and several runs side by side: headline metrics with
//! deltas against a baseline run, per-fold values with an exact paired permutation test where
//! the runs share their folds, per-class recall, and which preset fields differ — as Markdown
//! and CSV (`ser-workbench runs list / compare`).
//!
//! Everything is read through the typed run-folder readers (`config.ron`, `report.json`); a
//! folder that cannot be read is listed with the reason, never skipped silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::run_dir::{ResolvedConfig, RunReport, read_report};

/// How a run folder ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    /// Every fold finished (`report.json`).
    Finished,
    /// Stopped by its owner before every fold finished (`report.json` marked incomplete).
    Stopped,
    /// Ended with an error (`error.txt` holds it).
    Failed(String),
    /// No report yet: still running, or ended without writing one.
    NoReport,
}

impl RunStatus {
    /// One word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            RunStatus::Finished => "finished",
            RunStatus::Stopped => "stopped",
            RunStatus::Failed(_) => "failed",
            RunStatus::NoReport => "no report (running, or ended without one)",
        }
    }
}

/// The Slurm tasks of a run trained one fold per task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlurmRunState {
    /// The preset's name.
    pub preset: String,
    /// Job ids, oldest first.
    pub jobs: Vec<String>,
    /// Folds done (their records saved).
    pub done: usize,
    /// Folds in all.
    pub folds: usize,
    /// Whether any task is still queued or running.
    pub active: bool,
    /// One line: done / queued or running / failed / missing.
    pub summary: String,
}

impl SlurmRunState {
    /// The states of the fold grid in `dir` (`slurm/grid.json`), if it is one; asks `squeue`.
    pub fn of(dir: &Path) -> Option<Self> {
        if !dir.join("slurm/grid.json").is_file() {
            return None;
        }
        let grid = super::slurm::SlurmGrid::read(dir).ok()?;
        if !grid.is_fold_grid() {
            return None;
        }
        let states = grid.states();
        Some(SlurmRunState {
            preset: grid
                .tasks
                .first()
                .map(|t| t.preset.clone())
                .unwrap_or_default(),
            jobs: grid.submissions.iter().map(|s| s.job_id.clone()).collect(),
            done: states
                .iter()
                .filter(|s| **s == super::slurm::TaskState::Done)
                .count(),
            folds: states.len(),
            active: states.iter().any(super::slurm::TaskState::is_queued),
            summary: super::slurm::summary(&states),
        })
    }
}

/// One run folder as the runs list shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSummary {
    /// The folder.
    pub dir: PathBuf,
    /// When it started (`YYYY-MM-DD HH:MM:SS` from the folder name's timestamp, else empty).
    pub date: String,
    /// Preset name.
    pub preset: String,
    /// Corpus folders.
    pub corpora: Vec<String>,
    /// `categorical`, `dimensional` or `multi-label`.
    pub task: String,
    /// Protocol spelling.
    pub protocol: String,
    /// "speaker-independent" or "speaker-dependent" (empty when unknown).
    pub independence: String,
    /// How it ended.
    pub status: RunStatus,
    /// A run whose folds are Slurm array tasks (`train --executor slurm`): its tasks' states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm: Option<SlurmRunState>,
    /// Headline metric name and value (UA, mean CCC or macro F1).
    pub headline: Option<(String, f64)>,
    /// Pooled UA, WA and macro-F1 (categorical runs).
    pub ua_wa_f1: Option<(f64, f64, f64)>,
    /// Training wall time, seconds.
    pub train_secs: Option<f64>,
    /// Backend.
    pub backend: String,
    /// The user's name for the run (`notes.json`; empty = none).
    #[serde(default)]
    pub tag: String,
    /// The user's note on the run (`notes.json`).
    #[serde(default)]
    pub note: String,
}

/// What the user adds to a run folder: a name (tag) and a note, kept in `notes.json` (written
/// atomically); the run's own files are never rewritten.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunNotes {
    /// Short name shown in the runs list.
    pub tag: String,
    /// Free text.
    pub note: String,
}

/// The file of [`RunNotes`] in a run folder.
pub const NOTES_FILE: &str = "notes.json";

/// The folder under a runs root that deleted runs move into.
pub const TRASH_DIR: &str = ".trash";

/// A run folder's notes (none yet: empty ones).
pub fn read_notes(dir: &Path) -> Result<RunNotes, String> {
    let p = dir.join(NOTES_FILE);
    match std::fs::read_to_string(&p) {
        Ok(t) => {
            serde_json::from_str(&t).map_err(|e| format!("{}: malformed notes: {e}", p.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RunNotes::default()),
        Err(e) => Err(format!("{}: {e}", p.display())),
    }
}

/// Writes a run folder's notes atomically (temp file + rename).
pub fn write_notes(dir: &Path, notes: &RunNotes) -> Result<(), String> {
    if !is_run_folder(dir) {
        return Err(format!("{}: not a run folder", dir.display()));
    }
    let p = dir.join(NOTES_FILE);
    let text = serde_json::to_string_pretty(notes).map_err(|e| e.to_string())?;
    crate::fsutil::write_text_atomic(&p, &text).map_err(|e| format!("{}: {e}", p.display()))
}

/// Whether `dir` holds a run (its `config.ron` or `report.json`).
pub fn is_run_folder(dir: &Path) -> bool {
    dir.is_dir()
        && (dir.join("config.ron").is_file()
            || dir.join("report.json").is_file()
            // Submitted to Slurm, no fold task started yet.
            || dir.join("slurm/grid.json").is_file())
}

/// Moves a run folder into `.trash/` beside it (a rename on the same file system, never a
/// deletion; the user empties the trash). Returns where it went.
pub fn trash(dir: &Path) -> Result<PathBuf, String> {
    if !is_run_folder(dir) {
        return Err(format!(
            "{}: not a run folder (no config.ron or report.json); nothing moved",
            dir.display()
        ));
    }
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(format!("{}: has no parent folder", dir.display()));
    };
    if parent.file_name().is_some_and(|n| n == TRASH_DIR) {
        return Err(format!("{}: already in the trash", dir.display()));
    }
    let bin = parent.join(TRASH_DIR);
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut to = bin.join(name);
    let mut k = 1;
    while to.exists() {
        to = bin.join(format!("{}-{k}", name.to_string_lossy()));
        k += 1;
    }
    std::fs::rename(dir, &to)
        .map_err(|e| format!("cannot move {} to {}: {e}", dir.display(), to.display()))?;
    Ok(to)
}

/// `YYYY-MM-DD HH:MM:SS` from a folder name that starts `YYYYMMDD-HHMMSS`.
fn date_of(name: &str) -> String {
    let b = name.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if digits(0..8) && b.get(8) == Some(&b'-') && digits(9..15) {
        format!(
            "{}-{}-{} {}:{}:{}",
            &name[0..4],
            &name[4..6],
            &name[6..8],
            &name[9..11],
            &name[11..13],
            &name[13..15]
        )
    } else {
        String::new()
    }
}

/// Reads one run folder: `config.ron` (preset, corpora, protocol, backend) and, where it exists,
/// `report.json` (status and metrics). `Err` names the file and the problem.
pub fn summary(dir: &Path) -> Result<RunSummary, String> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let cfg: Option<ResolvedConfig> = if dir.join("config.ron").is_file() {
        Some(super::run::read_resolved(dir)?)
    } else {
        None
    };
    let report: Option<RunReport> = if dir.join("report.json").is_file() {
        Some(read_report(dir)?)
    } else {
        None
    };
    let slurm = SlurmRunState::of(dir);
    if cfg.is_none() && report.is_none() && slurm.is_none() {
        return Err(format!(
            "{}: neither config.ron nor report.json: not a run folder",
            dir.display()
        ));
    }
    let error = std::fs::read_to_string(dir.join("error.txt")).ok();
    let notes = read_notes(dir).unwrap_or_else(|e| RunNotes {
        tag: String::new(),
        note: e,
    });
    let status = match (&report, error) {
        (_, Some(e)) => RunStatus::Failed(e.trim().to_string()),
        (Some(r), None) if r.incomplete => RunStatus::Stopped,
        (Some(_), None) => RunStatus::Finished,
        (None, None) => RunStatus::NoReport,
    };
    let task = match (&report, &cfg) {
        (Some(r), _) if r.dimensional.is_some() => "dimensional",
        (Some(r), _) if r.multi_label.is_some() => "multi-label",
        (_, Some(c)) => c.preset.task.name(),
        _ => "categorical",
    }
    .to_string();
    Ok(RunSummary {
        date: date_of(&name),
        corpora: cfg
            .as_ref()
            .map(|c| {
                let dirs = if c.corpus_dirs.is_empty() {
                    vec![c.corpus_dir.clone()]
                } else {
                    c.corpus_dirs.clone()
                };
                dirs.iter().map(|d| d.display().to_string()).collect()
            })
            .unwrap_or_default(),
        task,
        protocol: report
            .as_ref()
            .map(|r| r.protocol.clone())
            .or_else(|| cfg.as_ref().map(|c| c.protocol.clone()))
            .unwrap_or_default(),
        independence: report
            .as_ref()
            .map(|r| r.independence.clone())
            .unwrap_or_default(),
        // A run stopped before its first fold finished has nothing to report.
        headline: report.as_ref().filter(|r| !r.folds.is_empty()).map(|r| {
            let (n, v) = r.headline();
            (n.to_string(), v)
        }),
        ua_wa_f1: report
            .as_ref()
            .filter(|r| !r.folds.is_empty() && r.dimensional.is_none() && r.multi_label.is_none())
            .map(|r| (r.pooled.ua, r.pooled.wa, r.pooled.macro_f1)),
        train_secs: report.as_ref().map(|r| r.train_secs),
        backend: cfg.as_ref().map(|c| c.backend.clone()).unwrap_or_default(),
        tag: notes.tag,
        note: notes.note,
        status,
        preset: report
            .as_ref()
            .map(|r| r.preset.clone())
            .or_else(|| cfg.as_ref().map(|c| c.preset.name.clone()))
            .or_else(|| slurm.as_ref().map(|s| s.preset.clone()))
            .unwrap_or_default(),
        slurm,
        dir: dir.to_path_buf(),
    })
}

/// Every run folder under `roots` (each root's direct sub-folders), newest first by folder
/// name; folders that cannot be read come back as problems naming the file.
pub fn list(roots: &[PathBuf]) -> (Vec<RunSummary>, Vec<String>) {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for root in roots {
        if let Ok(rd) = std::fs::read_dir(root) {
            // `.trash` and other dot folders are not runs.
            dirs.extend(rd.flatten().map(|e| e.path()).filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                    && is_run_folder(p)
            }));
        }
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.file_name().map(|n| n.to_os_string())));
    let (mut runs, mut problems) = (Vec::new(), Vec::new());
    for d in dirs {
        match summary(&d) {
            Ok(s) => runs.push(s),
            Err(e) => problems.push(e),
        }
    }
    (runs, problems)
}

/// An exact two-sided paired permutation (sign-flip) test of the mean of `diffs`: the share of
/// the 2ⁿ sign assignments whose mean is at least as far from 0 as the observed one. Exact for
/// the n ≤ 20 folds of any protocol here; `None` for fewer than 2 pairs or more than 20.
pub fn paired_permutation_p(diffs: &[f64]) -> Option<f64> {
    let n = diffs.len();
    if !(2..=20).contains(&n) || diffs.iter().any(|d| !d.is_finite()) {
        return None;
    }
    let observed = diffs.iter().sum::<f64>().abs();
    let total = 1u64 << n;
    let mut extreme = 0u64;
    for mask in 0..total {
        let s: f64 = diffs
            .iter()
            .enumerate()
            .map(|(i, d)| if mask >> i & 1 == 1 { -d } else { *d })
            .sum();
        // A tolerance so that ties in floating point count as ties.
        if s.abs() >= observed - 1e-12 {
            extreme += 1;
        }
    }
    Some(extreme as f64 / total as f64)
}

/// One compared run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Compared {
    /// Its summary.
    pub summary: RunSummary,
    /// Per fold name: UA (categorical) or the headline metric of that fold.
    pub folds: BTreeMap<String, f64>,
    /// Recall per class (pooled test), by class name.
    pub recall: BTreeMap<String, f64>,
}

/// Several runs side by side.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comparison {
    /// The runs, the baseline first.
    pub runs: Vec<Compared>,
    /// Folds every run has (names), in order.
    pub shared_folds: Vec<String>,
    /// Per non-baseline run: the exact paired permutation test p of its per-fold UA against the
    /// baseline's over the shared folds (`None` where it cannot be computed).
    pub paired_p: Vec<Option<f64>>,
    /// Preset fields (and the run's own seed, protocol, corpora and label map, as `run.*`) that
    /// differ: (field path, value in each run).
    pub preset_diff: Vec<(String, Vec<String>)>,
}

/// Reads the runs (the first is the baseline) and compares them.
pub fn compare(dirs: &[PathBuf]) -> Result<Comparison, String> {
    if !(2..=6).contains(&dirs.len()) {
        return Err(format!("compare 2 to 6 runs (got {})", dirs.len()));
    }
    let mut runs = Vec::new();
    let mut presets = Vec::new();
    for d in dirs {
        let summary = summary(d)?;
        let report =
            read_report(d).map_err(|e| format!("{e} (only finished or stopped runs compare)"))?;
        let folds: BTreeMap<String, f64> = report
            .folds
            .iter()
            .map(|f| {
                let v = match (&f.dims, &f.labels) {
                    (Some(dims), _) => crate::eval::regression::mean_ccc(dims),
                    (None, Some(l)) => l.macro_f1,
                    (None, None) => f.report.ua,
                };
                (f.name.clone(), v)
            })
            .collect();
        let recall = report
            .pooled
            .per_class
            .iter()
            .map(|m| (m.class.clone(), m.recall))
            .collect();
        // The preset's fields, and what the run chose beside it (`run.seed`, …).
        presets.push(
            super::run::read_resolved(d)
                .ok()
                .and_then(|c| {
                    let mut v = serde_json::to_value(&c.preset).ok()?;
                    v.as_object_mut()?.insert(
                        "run".into(),
                        serde_json::json!({
                            "seed": c.seed,
                            "protocol": c.protocol,
                            "corpora": c.corpus_dirs,
                            "label_map": c.label_map,
                        }),
                    );
                    Some(v)
                })
                .unwrap_or(serde_json::Value::Null),
        );
        runs.push(Compared {
            summary,
            folds,
            recall,
        });
    }
    let shared_folds: Vec<String> = runs[0]
        .folds
        .keys()
        .filter(|k| runs.iter().all(|r| r.folds.contains_key(*k)))
        .cloned()
        .collect();
    let paired_p = runs[1..]
        .iter()
        .map(|r| {
            let diffs: Vec<f64> = shared_folds
                .iter()
                .map(|f| r.folds[f] - runs[0].folds[f])
                .collect();
            paired_permutation_p(&diffs)
        })
        .collect();
    Ok(Comparison {
        preset_diff: preset_diff(&presets),
        runs,
        shared_folds,
        paired_p,
    })
}

/// Fields a run fills in from its data (not choices of the preset): left out of the diff.
const RESOLVED_FIELDS: [&str; 2] = ["fold_tasks", "encoder"];

/// A scalar as the diff shows it: numbers stored as `f32` (weights, rates) at `f32` precision.
fn scalar_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Number(n) if !(n.is_i64() || n.is_u64()) => n
            .as_f64()
            .map_or(n.to_string(), |f| format!("{}", f as f32)),
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(scalar_text).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Leaf fields (dotted paths; list entries holding records by index) whose values differ between
/// the presets.
pub fn preset_diff(presets: &[serde_json::Value]) -> Vec<(String, Vec<String>)> {
    fn leaves(v: &serde_json::Value, path: &str, out: &mut BTreeMap<String, String>) {
        let join = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    if !RESOLVED_FIELDS.contains(&k.as_str()) {
                        leaves(x, &join(k), out);
                    }
                }
            }
            serde_json::Value::Array(items)
                if items.iter().any(|x| x.is_object() || x.is_array()) =>
            {
                out.insert(join("len"), items.len().to_string());
                for (i, x) in items.iter().enumerate() {
                    leaves(x, &join(&i.to_string()), out);
                }
            }
            other => {
                out.insert(path.to_string(), scalar_text(other));
            }
        }
    }
    let maps: Vec<BTreeMap<String, String>> = presets
        .iter()
        .map(|p| {
            let mut m = BTreeMap::new();
            leaves(p, "", &mut m);
            m
        })
        .collect();
    let mut keys: Vec<&String> = maps.iter().flat_map(|m| m.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| *k != "name" && *k != "description")
        .filter_map(|k| {
            let vals: Vec<String> = maps
                .iter()
                .map(|m| m.get(k).cloned().unwrap_or_else(|| "—".into()))
                .collect();
            (vals.iter().any(|v| v != &vals[0])).then(|| (k.clone(), vals))
        })
        .collect()
}

fn fmt(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        "n/a".into()
    }
}

fn delta(v: f64, base: f64) -> String {
    if v.is_finite() && base.is_finite() {
        format!("{:+.4}", v - base)
    } else {
        "n/a".into()
    }
}

impl Comparison {
    /// The comparison as Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::from("# Run comparison\n\n");
        s.push_str(&format!(
            "Baseline: `{}`. Deltas are against it.\n\n",
            self.runs[0].summary.dir.display()
        ));
        s.push_str("| run | preset | status | protocol | headline | Δ | UA | ΔUA | WA | ΔWA | macro-F1 | Δmacro-F1 |\n|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        let base = &self.runs[0].summary;
        let nan3 = (f64::NAN, f64::NAN, f64::NAN);
        let (bu, bw, bf) = base.ua_wa_f1.unwrap_or(nan3);
        let bh = base.headline.as_ref().map_or(f64::NAN, |h| h.1);
        for r in &self.runs {
            let x = &r.summary;
            let (u, w, f) = x.ua_wa_f1.unwrap_or(nan3);
            let h = x.headline.clone().unwrap_or(("—".into(), f64::NAN));
            s.push_str(&format!(
                "| `{}` | {} | {} | {} ({}) | {} {} | {} | {} | {} | {} | {} | {} | {} |\n",
                x.dir
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().to_string()),
                x.preset,
                x.status.word(),
                x.protocol,
                x.independence,
                h.0,
                fmt(h.1),
                delta(h.1, bh),
                fmt(u),
                delta(u, bu),
                fmt(w),
                delta(w, bw),
                fmt(f),
                delta(f, bf)
            ));
        }
        if self.shared_folds.is_empty() {
            s.push_str("\nThe runs share no folds: no per-fold comparison and no paired test.\n");
        } else {
            s.push_str("\n## Per fold (UA; mean CCC or macro F1 for those tasks)\n\n| fold |");
            for r in &self.runs {
                s.push_str(&format!(" {} |", r.summary.preset));
            }
            s.push_str(&format!("\n|---|{}\n", "---:|".repeat(self.runs.len())));
            for f in &self.shared_folds {
                s.push_str(&format!("| {f} |"));
                for r in &self.runs {
                    s.push_str(&format!(" {} |", fmt(r.folds[f])));
                }
                s.push('\n');
            }
            s.push_str("\nPaired test against the baseline over the shared folds: the exact two-sided permutation (sign-flip) test of the mean per-fold difference — one test per run, not corrected for multiple comparisons.\n\n");
            for (r, p) in self.runs[1..].iter().zip(&self.paired_p) {
                s.push_str(&format!(
                    "- {}: p = {}\n",
                    r.summary.preset,
                    p.map_or(
                        "n/a (fewer than 2 or more than 20 shared folds)".into(),
                        |p| format!("{p:.4}")
                    )
                ));
            }
        }
        let classes: Vec<&String> = self.runs[0].recall.keys().collect();
        if !classes.is_empty() {
            s.push_str("\n## Recall per class (pooled test)\n\n| class |");
            for r in &self.runs {
                s.push_str(&format!(" {} |", r.summary.preset));
            }
            s.push_str(&format!("\n|---|{}\n", "---:|".repeat(self.runs.len())));
            for c in classes {
                s.push_str(&format!("| {c} |"));
                for r in &self.runs {
                    s.push_str(&format!(
                        " {} |",
                        r.recall.get(c).map_or("—".into(), |v| fmt(*v))
                    ));
                }
                s.push('\n');
            }
        }
        s.push_str("\n## Preset differences\n\n");
        if self.preset_diff.is_empty() {
            s.push_str("The presets are the same (apart from name and description).\n");
        } else {
            s.push_str("| field |");
            for r in &self.runs {
                s.push_str(&format!(" {} |", r.summary.preset));
            }
            s.push_str(&format!("\n|---|{}\n", "---|".repeat(self.runs.len())));
            for (k, vals) in &self.preset_diff {
                s.push_str(&format!("| `{k}` |"));
                for v in vals {
                    s.push_str(&format!(" `{}` |", v.replace('|', "/")));
                }
                s.push('\n');
            }
        }
        s
    }

    /// One CSV line per run: metrics, deltas, and the paired test's p.
    pub fn csv(&self) -> String {
        let mut s = String::from(
            "run,preset,status,protocol,independence,headline,headline_value,headline_delta,ua,ua_delta,wa,wa_delta,macro_f1,macro_f1_delta,paired_p\n",
        );
        let nan3 = (f64::NAN, f64::NAN, f64::NAN);
        let base = &self.runs[0].summary;
        let (bu, bw, bf) = base.ua_wa_f1.unwrap_or(nan3);
        let bh = base.headline.as_ref().map_or(f64::NAN, |h| h.1);
        let q = |v: &str| {
            if v.contains([',', '"', '\n']) {
                format!("\"{}\"", v.replace('"', "\"\""))
            } else {
                v.to_string()
            }
        };
        for (i, r) in self.runs.iter().enumerate() {
            let x = &r.summary;
            let (u, w, f) = x.ua_wa_f1.unwrap_or(nan3);
            let h = x.headline.clone().unwrap_or(("".into(), f64::NAN));
            let p = if i == 0 {
                String::new()
            } else {
                self.paired_p[i - 1].map_or(String::new(), |p| format!("{p:.6}"))
            };
            s.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{p}\n",
                q(&x.dir.display().to_string()),
                q(&x.preset),
                x.status.word(),
                q(&x.protocol),
                x.independence,
                h.0,
                fmt(h.1),
                delta(h.1, bh),
                fmt(u),
                delta(u, bu),
                fmt(w),
                delta(w, bw),
                fmt(f),
                delta(f, bf)
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Notes round-trip atomically; trash moves the folder (never deletes), twice with the same
    /// name keeps both, refuses a folder that is not a run, and the list skips the trash.
    #[test]
    fn notes_and_trash() {
        let d = tempfile::tempdir().expect("tmp");
        let root = d.path().join("runs");
        let run = root.join("20260101-120000-x");
        std::fs::create_dir_all(&run).expect("mkdir");
        std::fs::write(run.join("config.ron"), "()").expect("w");
        assert_eq!(read_notes(&run).expect("none yet"), RunNotes::default());
        let n = RunNotes {
            tag: "baseline".into(),
            note: "first try".into(),
        };
        write_notes(&run, &n).expect("write");
        assert_eq!(read_notes(&run).expect("read"), n);
        let not_run = root.join("other");
        std::fs::create_dir_all(&not_run).expect("mkdir");
        assert!(
            trash(&not_run)
                .expect_err("refused")
                .contains("not a run folder")
        );
        assert!(not_run.is_dir());
        let to = trash(&run).expect("trash");
        assert_eq!(to, root.join(".trash/20260101-120000-x"));
        assert!(!run.exists() && to.join("notes.json").is_file());
        std::fs::create_dir_all(&run).expect("mkdir");
        std::fs::write(run.join("report.json"), "{}").expect("w");
        assert_eq!(
            trash(&run).expect("again"),
            root.join(".trash/20260101-120000-x-1")
        );
        assert!(
            trash(&to)
                .expect_err("in trash")
                .contains("already in the trash")
        );
        let (runs, problems) = list(std::slice::from_ref(&root));
        assert!(
            runs.is_empty() && problems.is_empty(),
            "{runs:?} {problems:?}"
        );
    }

    /// Hand-computed: diffs (1, 2, 3) — of the 8 sign patterns only (+,+,+) and (−,−,−) reach
    /// |sum| 6, so p = 2/8; diffs (1, −1) — every pattern reaches |sum| ≥ 0, p = 1.
    #[test]
    fn permutation_test_by_hand() {
        assert_eq!(paired_permutation_p(&[1.0, 2.0, 3.0]), Some(0.25));
        assert_eq!(paired_permutation_p(&[1.0, -1.0]), Some(1.0));
        // (1, 2, 3, 4): |sum| 10 only at all-plus / all-minus; 2/16.
        assert_eq!(paired_permutation_p(&[1.0, 2.0, 3.0, 4.0]), Some(0.125));
        assert_eq!(paired_permutation_p(&[1.0]), None);
        assert_eq!(paired_permutation_p(&[f64::NAN, 1.0]), None);
    }

    /// Lists of records compare entry by entry, `f32` numbers print at `f32` precision, and
    /// what a run resolves from its data (`fold_tasks`) is not a difference.
    #[test]
    fn preset_diff_of_task_lists() {
        let w = |x: f32| x as f64;
        let a = serde_json::json!({"head": {"tasks": [{"task": "gender", "weight": w(0.1)}], "fold_tasks": [1]}});
        let b = serde_json::json!({"head": {"tasks": [{"task": "gender", "weight": w(0.2)}, {"task": "asr", "weight": w(0.2)}], "fold_tasks": [2]}});
        let d = preset_diff(&[a, b]);
        assert_eq!(
            d,
            vec![
                (
                    "head.tasks.0.weight".to_string(),
                    vec!["0.1".to_string(), "0.2".to_string()]
                ),
                (
                    "head.tasks.1.task".to_string(),
                    vec!["—".to_string(), "\"asr\"".to_string()]
                ),
                (
                    "head.tasks.1.weight".to_string(),
                    vec!["—".to_string(), "0.2".to_string()]
                ),
                (
                    "head.tasks.len".to_string(),
                    vec!["1".to_string(), "2".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn preset_diff_lists_differing_leaves() {
        let a = serde_json::json!({"name": "a", "training": {"epochs": 10, "seed": 1}, "model": {"k": [3, 3]}});
        let b = serde_json::json!({"name": "b", "training": {"epochs": 20, "seed": 1}, "model": {"k": [3, 5]}});
        let d = preset_diff(&[a, b]);
        assert_eq!(
            d,
            vec![
                (
                    "model.k".to_string(),
                    vec!["[3,3]".to_string(), "[3,5]".to_string()]
                ),
                (
                    "training.epochs".to_string(),
                    vec!["10".to_string(), "20".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn dates_come_from_the_folder_name() {
        assert_eq!(date_of("20261201-183908-mt-small"), "2026-12-01 18:39:08");
        assert_eq!(date_of("my-run"), "");
    }
}
