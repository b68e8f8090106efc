//! Ablation runner: several presets (× seeds) under one protocol on the same corpus (or the same
//! source → target pair), one run folder each, then one comparison table like the LogMel–HuBERT
//! paper's Figures 4 and 5 (`ablation.md`, `ablation.csv`, `ablation.json`, all written
//! atomically and rewritten after every run, so a stop or a crash keeps the finished rows).
//!
//! A preset whose run fails (missing weights, bad corpus, …) becomes a row with its error; the
//! remaining presets still run.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::control::Controller;
use super::messages::{Event, RunRequest, RunState};
use super::run::{RunEnd, execute};
use super::run_dir::RunReport;
use super::{BackendChoice, Preset};
use crate::eval::metrics::mean_std;

/// What to compare.
#[derive(Clone, Debug)]
pub struct AblationRequest {
    /// Presets, one table row each, in order.
    pub presets: Vec<Preset>,
    /// Corpus folders (the source in cross-corpus runs).
    pub corpus_dirs: Vec<PathBuf>,
    /// Target corpus of cross-corpus runs.
    pub target_corpus: Option<PathBuf>,
    /// Label map override.
    pub label_map: Option<String>,
    /// Protocol for every preset (`None` = the first preset's, so all rows share one protocol).
    pub protocol: Option<crate::corpus::Protocol>,
    /// Seeds (empty = the first preset's seed).
    pub seeds: Vec<u64>,
    /// Folder of the table and the runs.
    pub out_dir: PathBuf,
    /// Feature cache folder.
    pub cache_dir: PathBuf,
    /// Backend.
    pub backend: BackendChoice,
}

/// One auxiliary task's test score in an ablation row: (task, metric, (mean, std)).
pub type TaskStat = (String, String, (f64, f64));

/// One row of the table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AblationRow {
    /// Preset name.
    pub preset: String,
    /// Preset description.
    pub description: String,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Run folders.
    pub runs: Vec<PathBuf>,
    /// Folds over all seeds.
    pub n_folds: usize,
    /// (mean, std) over folds and seeds of accuracy (= WA).
    pub wa: (f64, f64),
    /// (mean, std) of UA.
    pub ua: (f64, f64),
    /// (mean, std) of macro precision.
    pub macro_precision: (f64, f64),
    /// (mean, std) of macro recall.
    pub macro_recall: (f64, f64),
    /// (mean, std) of macro-F1.
    pub macro_f1: (f64, f64),
    /// Mean over seeds of the pooled (all test predictions) WA, UA, macro-F1.
    pub pooled: (f64, f64, f64),
    /// Training wall time over all seeds, seconds.
    pub train_secs: f64,
    /// Why the row has no numbers.
    pub error: Option<String>,
    /// Dimensional presets: (dimension, (mean, std) over folds × seeds of the test CCC); the
    /// classification columns do not apply then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ccc: Option<Vec<(String, (f64, f64))>>,
    /// Multi-task presets: (task, metric, (mean, std) over the folds × seeds that scored it) of
    /// each auxiliary task's test score (the metadata paper's tables II and IV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<TaskStat>>,
}

impl AblationRow {
    /// The auxiliary tasks' scores in one cell.
    pub fn tasks_cell(&self) -> String {
        self.tasks.as_ref().map_or(String::new(), |t| {
            t.iter()
                .map(|(name, metric, (m, sd))| {
                    if m.is_finite() {
                        format!("{name} {metric} {m:.3} ± {sd:.3}")
                    } else {
                        format!("{name} {metric} n/a")
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AblationTable {
    /// Protocol shared by all rows.
    pub protocol: String,
    /// Source corpus folders.
    pub corpus: Vec<PathBuf>,
    /// Target corpus (cross-corpus).
    pub target_corpus: Option<PathBuf>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Rows in preset order.
    pub rows: Vec<AblationRow>,
    /// Whether the owner stopped the ablation before every row finished.
    pub incomplete: bool,
}

impl AblationTable {
    /// Markdown table (metrics as mean ± std over folds × seeds).
    pub fn markdown(&self) -> String {
        let mut s = String::from("# Ablation\n\n");
        s.push_str(&format!(
            "Corpus: {}{}. Protocol: `{}`. Seeds: {:?}. Metrics: mean ± std over folds × seeds of the test part; Acc = WA.\n\n",
            self.corpus
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" + "),
            self.target_corpus
                .as_ref()
                .map_or(String::new(), |t| format!(" → target {}", t.display())),
            self.protocol,
            self.seeds
        ));
        let any_ccc = self.rows.iter().any(|r| r.ccc.is_some());
        let any_tasks = self.rows.iter().any(|r| r.tasks.is_some());
        s.push_str(&format!(
            "| Model (preset) | Acc/WA | UA | macro-P | macro-R | macro-F1 | folds | train s |{}{}\n",
            if any_ccc { " CCC (dimensional) |" } else { "" },
            if any_tasks {
                " auxiliary tasks (test) |"
            } else {
                ""
            }
        ));
        s.push_str(&format!(
            "|---|---|---|---|---|---|---|---|{}{}\n",
            if any_ccc { "---|" } else { "" },
            if any_tasks { "---|" } else { "" }
        ));
        let f = |(m, sd): (f64, f64)| format!("{m:.3} ± {sd:.3}");
        for r in &self.rows {
            if let (None, Some(c)) = (&r.error, &r.ccc) {
                s.push_str(&format!(
                    "| {} | – | – | – | – | – | {} | {:.0} | {} |\n",
                    r.preset,
                    r.n_folds,
                    r.train_secs,
                    c.iter()
                        .map(|(d, v)| format!("{d} {}", f(*v)))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
                continue;
            }
            let mut tail = if any_ccc { " |" } else { "" }.to_string();
            if any_tasks {
                tail.push_str(&format!(" {} |", r.tasks_cell()));
            }
            match &r.error {
                Some(e) => s.push_str(&format!(
                    "| {} | failed: {} | | | | | | |{tail}\n",
                    r.preset,
                    e.replace('|', "/")
                )),
                None => s.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {:.0} |{tail}\n",
                    r.preset,
                    f(r.wa),
                    f(r.ua),
                    f(r.macro_precision),
                    f(r.macro_recall),
                    f(r.macro_f1),
                    r.n_folds,
                    r.train_secs
                )),
            }
        }
        if self.incomplete {
            s.push_str("\nStopped before every row finished.\n");
        }
        s
    }

    /// CSV with one line per row.
    pub fn csv(&self) -> String {
        let mut s = String::from(
            "preset,wa_mean,wa_std,ua_mean,ua_std,macro_p_mean,macro_p_std,macro_r_mean,macro_r_std,macro_f1_mean,macro_f1_std,pooled_wa,pooled_ua,pooled_macro_f1,folds,seeds,train_secs,error,tasks\n",
        );
        for r in &self.rows {
            let seeds = r
                .seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" ");
            s.push_str(&format!(
                "{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{},{},{:.1},{},{}\n",
                csv_field(&r.preset),
                r.wa.0,
                r.wa.1,
                r.ua.0,
                r.ua.1,
                r.macro_precision.0,
                r.macro_precision.1,
                r.macro_recall.0,
                r.macro_recall.1,
                r.macro_f1.0,
                r.macro_f1.1,
                r.pooled.0,
                r.pooled.1,
                r.pooled.2,
                r.n_folds,
                seeds,
                r.train_secs,
                csv_field(r.error.as_deref().unwrap_or("")),
                csv_field(&r.tasks_cell())
            ));
        }
        s
    }

    /// Writes `ablation.md`, `ablation.csv` and `ablation.json` into `dir` (atomically).
    pub fn write(&self, dir: &std::path::Path) -> Result<(), String> {
        let w = |name: &str, text: &str| {
            crate::fsutil::write_text_atomic(&dir.join(name), text)
                .map_err(|e| format!("{}: {e}", dir.join(name).display()))
        };
        w("ablation.md", &self.markdown())?;
        w("ablation.csv", &self.csv())?;
        w(
            "ablation.json",
            &serde_json::to_string_pretty(self).map_err(|e| e.to_string())?,
        )
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Builds a row from the reports of one preset's runs (one per seed).
pub fn row_from_reports(preset: &Preset, runs: &[(u64, PathBuf, RunReport)]) -> AblationRow {
    let folds: Vec<&crate::eval::ClassificationReport> = runs
        .iter()
        .flat_map(|(_, _, r)| r.folds.iter().map(|f| &f.report))
        .collect();
    let stat = |f: fn(&crate::eval::ClassificationReport) -> f64| {
        mean_std(&folds.iter().map(|r| f(r)).collect::<Vec<_>>())
    };
    let n = runs.len().max(1) as f64;
    AblationRow {
        preset: preset.name.clone(),
        description: preset.description.clone(),
        seeds: runs.iter().map(|(s, _, _)| *s).collect(),
        runs: runs.iter().map(|(_, p, _)| p.clone()).collect(),
        n_folds: folds.len(),
        wa: stat(|r| r.wa),
        ua: stat(|r| r.ua),
        macro_precision: stat(|r| r.macro_precision),
        macro_recall: stat(|r| r.macro_recall),
        macro_f1: stat(|r| r.macro_f1),
        pooled: (
            runs.iter().map(|(_, _, r)| r.pooled.wa).sum::<f64>() / n,
            runs.iter().map(|(_, _, r)| r.pooled.ua).sum::<f64>() / n,
            runs.iter().map(|(_, _, r)| r.pooled.macro_f1).sum::<f64>() / n,
        ),
        train_secs: runs.iter().map(|(_, _, r)| r.train_secs).sum(),
        error: None,
        ccc: runs
            .first()
            .and_then(|(_, _, r)| r.dimensional.as_ref())
            .map(|d| {
                d.dimensions
                    .iter()
                    .enumerate()
                    .map(|(k, name)| {
                        let v: Vec<f64> = runs
                            .iter()
                            .flat_map(|(_, _, r)| r.folds.iter())
                            .filter_map(|f| f.dims.as_ref().and_then(|d| d.get(k)).map(|x| x.ccc))
                            .filter(|c| c.is_finite())
                            .collect();
                        (name.clone(), mean_std(&v))
                    })
                    .collect()
            }),
        tasks: runs
            .first()
            .and_then(|(_, _, r)| r.tasks.as_ref())
            .map(|t| {
                t.pooled
                    .iter()
                    .enumerate()
                    .map(|(k, p)| {
                        let v: Vec<f64> = runs
                            .iter()
                            .filter_map(|(_, _, r)| r.tasks.as_ref())
                            .flat_map(|t| t.folds.iter())
                            .filter_map(|f| f.get(k).map(|s| s.value()))
                            .filter(|v| v.is_finite())
                            .collect();
                        let stat = if v.is_empty() {
                            (f64::NAN, f64::NAN)
                        } else {
                            mean_std(&v)
                        };
                        (p.task.clone(), p.metric().to_string(), stat)
                    })
                    .collect()
            }),
    }
}

/// Event of the ablation itself (inner runs emit their usual events).
pub fn progress_line(i: usize, n: usize, preset: &str, seed: u64) -> String {
    format!("ablation {}/{n}: preset {preset}, seed {seed}", i + 1)
}

/// Runs every preset × seed and writes the table; returns it.
pub fn run_ablation(
    req: &AblationRequest,
    controller: &Controller,
    emit: &(dyn Fn(Event) + Sync),
) -> Result<AblationTable, String> {
    if req.presets.is_empty() {
        return Err("ablation: no presets given".into());
    }
    std::fs::create_dir_all(&req.out_dir).map_err(|e| format!("{}: {e}", req.out_dir.display()))?;
    let protocol = req.protocol.unwrap_or(req.presets[0].training.protocol);
    let seeds = if req.seeds.is_empty() {
        vec![req.presets[0].training.seed]
    } else {
        req.seeds.clone()
    };
    let mut table = AblationTable {
        protocol: protocol.spelling(),
        corpus: req.corpus_dirs.clone(),
        target_corpus: req.target_corpus.clone(),
        seeds: seeds.clone(),
        rows: Vec::new(),
        incomplete: false,
    };
    // Inner runs must not tell the owner that the whole job finished.
    let inner = |e: Event| match e {
        Event::State(RunState::Finished) => {}
        other => emit(other),
    };
    let total = req.presets.len() * seeds.len();
    let mut k = 0;
    'presets: for (pi, preset) in req.presets.iter().enumerate() {
        let mut runs = Vec::new();
        let mut error = None;
        for &seed in &seeds {
            emit(Event::Log(progress_line(k, total, &preset.name, seed)));
            k += 1;
            let out = req
                .out_dir
                .join(format!("{}-seed{seed}", run_folder_stem(pi, &preset.name)));
            let run_req = RunRequest {
                preset: preset.clone(),
                corpus_dirs: req.corpus_dirs.clone(),
                target_corpus: req.target_corpus.clone(),
                label_map: req.label_map.clone(),
                corpus_type: None,
                protocol: Some(protocol),
                seed: Some(seed),
                out_dir: Some(out.clone()),
                cache_dir: req.cache_dir.clone(),
                backend: req.backend,
                folds: crate::train::FoldScope::All,
            };
            match execute(&run_req, controller, &inner) {
                Ok(RunEnd::Finished(dir)) => match super::run_dir::read_report(&dir) {
                    Ok(r) => runs.push((seed, dir, r)),
                    Err(e) => error = Some(e),
                },
                Ok(RunEnd::Stopped(_) | RunEnd::StoppedBeforeTraining) => {
                    table.incomplete = true;
                    break 'presets;
                }
                Err(e) => {
                    emit(Event::Log(format!("preset {} failed: {e}", preset.name)));
                    error = Some(e);
                }
            }
            if error.is_some() {
                break;
            }
        }
        let mut row = row_from_reports(preset, &runs);
        row.error = error;
        table.rows.push(row);
        table.write(&req.out_dir)?;
    }
    table.write(&req.out_dir)?;
    emit(Event::Log(format!(
        "ablation table: {}",
        req.out_dir.join("ablation.md").display()
    )));
    Ok(table)
}

/// Reads `ablation.json` of an ablation folder.
pub fn read_table(dir: &std::path::Path) -> Result<AblationTable, String> {
    let p = dir.join("ablation.json");
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: malformed table: {e}", p.display()))
}

/// The run folder name of row `pi`'s preset, before `-seed<N>` (shared by the local and the
/// Slurm executors, so both write the same layout).
pub fn run_folder_stem(pi: usize, name: &str) -> String {
    format!("{:02}-{}", pi + 1, sanitize(name))
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_fields_with_commas() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(sanitize("paper full/α"), "paper_full__");
    }
}
