//! The Slurm executor against a real Slurm: `tools/slurm-local.sh start` (run by tools/test.sh)
//! provides a one-node cluster. A tiny grid (2 presets × 2 seeds) runs as a job array, is
//! collected, and must equal the local executor's table to the last digit; a task cancelled on
//! purpose is reported as missing and completed after `resubmit`.
//!
//! Without a cluster (`sinfo` fails) the test fails, naming the helper; set
//! SER_WORKBENCH_SKIP_SLURM=1 to skip it on a machine where it cannot run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn bin() -> Command {
    common::cli("slurm")
}

use common::run_ok;

/// The grid's arguments: both presets, both seeds, two speaker folds.
fn grid(c: &mut Command, cache: &Path, out: &Path) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    c.args(["ablation", "--presets"])
        .arg(root.join("presets/baseline_functionals_logreg.ron"))
        .arg(common::tiny_preset_path())
        .arg("--corpus")
        .arg(common::small_demo().join("emodb"))
        .args(["--protocol", "speaker-kfold:2", "--seeds", "1,2"])
        .args(["--backend", "cpu", "--cache"])
        .arg(cache)
        .arg("--out")
        .arg(out);
}

/// (preset, n_folds, wa, ua, macro-F1) of every row of `ablation.json`.
fn rows(dir: &Path) -> Vec<(String, u64, Vec<f64>)> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ablation.json")).expect("json"))
            .expect("parse");
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let stat = |k: &str| r[k][0].as_f64().unwrap_or(f64::NAN);
            (
                r["preset"].as_str().expect("preset").to_string(),
                r["n_folds"].as_u64().expect("folds"),
                vec![
                    stat("wa"),
                    stat("ua"),
                    stat("macro_f1"),
                    r["wa"][1].as_f64().unwrap_or(f64::NAN),
                    r["ua"][1].as_f64().unwrap_or(f64::NAN),
                ],
            )
        })
        .collect()
}

/// Polls `<command> status DIR` (`ablation` or `train`) until no task is queued or running.
fn wait_until_idle(command: &str, dir: &Path, secs: u64) {
    let t = Instant::now();
    loop {
        let out = run_ok(bin().args([command, "status"]).arg(dir));
        if out.contains(", 0 queued or running,") {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(secs), "timed out:\n{out}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `train` of the tiny preset on the small demo corpus, 3 speaker folds.
fn train_cmd(cache: &Path, out: &Path) -> Command {
    let mut c = bin();
    c.args(["train", "--preset"])
        .arg(common::tiny_preset_path())
        .arg("--corpus")
        .arg(common::small_demo().join("emodb"))
        .args(["--protocol", "speaker-kfold:3", "--seed", "5"])
        .args(["--backend", "cpu", "--cache"])
        .arg(cache)
        .arg("--out")
        .arg(out);
    c
}

/// What must not differ between executors: every metric of the report (not its timings) and
/// the predictions, byte for byte.
fn run_results(dir: &Path) -> (serde_json::Value, String) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("report"))
            .expect("parse");
    for k in ["train_secs", "cost"] {
        v.as_object_mut().expect("object").remove(k);
    }
    let preds = std::fs::read_to_string(dir.join("predictions.csv")).expect("predictions");
    (v, preds)
}

/// One process per fold (`--fold N`) and `--collect` give the report of one local run: the
/// path every Slurm fold task takes, checked without a cluster.
#[test]
fn folds_trained_apart_and_collected_equal_one_local_run() {
    let d = tempfile::tempdir().expect("tmp");
    let cache = d.path().join("cache");
    let local = d.path().join("local");
    run_ok(train_cmd(&cache, &local));
    let apart = d.path().join("apart");
    // Fold 2 first: the order the tasks finish in does not matter.
    for n in ["2", "1"] {
        let out = run_ok(train_cmd(&cache, &apart).args(["--fold", n]));
        assert!(out.contains(&format!("fold {n} of 3 saved")), "{out}");
    }
    assert!(!apart.join("report.json").exists());
    // Two of three folds: an incomplete report naming the missing one.
    let out = run_ok(train_cmd(&cache, &apart).arg("--collect"));
    assert!(out.contains("not finished: fold3"), "{out}");
    let (partial, _) = run_results(&apart);
    assert_eq!(partial["incomplete"], true);
    assert_eq!(partial["folds"].as_array().map(Vec::len), Some(2));
    run_ok(train_cmd(&cache, &apart).args(["--fold", "3"]));
    let out = run_ok(train_cmd(&cache, &apart).arg("--collect"));
    assert!(!out.contains("not finished"), "{out}");
    assert_eq!(run_results(&apart), run_results(&local));
    // (The checkpoints hold random parameter ids, so their bytes differ; the equal test
    // predictions above are the models' outputs.)
    for n in 1..=3 {
        assert!(
            apart.join(format!("fold{n}.bpk")).is_file(),
            "fold {n} checkpoint"
        );
        assert!(apart.join(format!("fold{n}.norm.json")).is_file());
    }
    // A fold the protocol does not have, and --fold 0, are refused with the reason.
    let out = train_cmd(&cache, &apart)
        .args(["--fold", "4"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("fold 4 asked, but the protocol gives 3 folds"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = train_cmd(&cache, &apart)
        .args(["--fold", "0"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fold counts from 1"));
}

/// `train --executor slurm`: one array task per fold; a fold cancelled on purpose is named by
/// `train collect` and completed by `train resubmit`; the report equals the local run's.
#[test]
fn train_on_slurm_one_task_per_fold_equals_local() {
    if std::env::var_os("SER_WORKBENCH_SKIP_SLURM").is_some() {
        eprintln!("SER_WORKBENCH_SKIP_SLURM is set: Slurm executor test skipped");
        return;
    }
    let d = tempfile::tempdir().expect("tmp");
    let cache = d.path().join("cache");
    let local = d.path().join("local");
    let t = Instant::now();
    run_ok(train_cmd(&cache, &local));
    let local_secs = t.elapsed().as_secs_f64();
    let slurm = d.path().join("slurm");
    let out = run_ok(
        train_cmd(&cache, &slurm)
            .args(["--executor", "slurm"])
            .env("SBATCH_HOLD", "1"),
    );
    assert!(
        out.contains("3 tasks, one per fold (fold1, fold2, fold3)"),
        "{out}"
    );
    let script = std::fs::read_to_string(slurm.join("slurm/job.sbatch")).expect("script");
    assert!(
        script.contains("--fold \"$FOLD\"") && script.contains("FOLD=3"),
        "{script}"
    );
    let job = out
        .split_whitespace()
        .skip_while(|w| *w != "job")
        .nth(1)
        .expect("job id")
        .trim_end_matches(':')
        .to_string();
    let t = Instant::now();
    let ok = |c: &mut Command| assert!(c.status().expect("slurm command").success(), "{c:?}");
    ok(Command::new("scancel").arg(format!("{job}_1")));
    ok(Command::new("scontrol").args(["release", &job]));
    wait_until_idle("train", &slurm, 180);
    let out = run_ok(bin().args(["train", "collect"]).arg(&slurm));
    assert!(out.contains("not finished: fold2"), "{out}");
    assert!(out.contains("task 1 tiny fold 2: missing"), "{out}");
    let out = run_ok(bin().args(["train", "resubmit"]).arg(&slurm));
    assert!(out.contains("resubmitted tasks 1 as job"), "{out}");
    wait_until_idle("train", &slurm, 180);
    let out = run_ok(bin().args(["train", "collect"]).arg(&slurm));
    assert!(!out.contains("not finished"), "{out}");
    eprintln!(
        "tiny run, 3 folds: local {local_secs:.1} s, Slurm (with a cancelled fold resubmitted) {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(run_results(&slurm), run_results(&local));
}

#[test]
fn ablation_on_slurm_equals_local_and_recovers_a_cancelled_task() {
    if std::env::var_os("SER_WORKBENCH_SKIP_SLURM").is_some() {
        eprintln!("SER_WORKBENCH_SKIP_SLURM is set: Slurm executor test skipped");
        return;
    }
    let up = Command::new("sinfo").args(["-h", "-o", "%T"]).output();
    assert!(
        up.as_ref()
            .is_ok_and(|o| o.status.success() && !o.stdout.is_empty()),
        "no Slurm cluster answers (start one with tools/slurm-local.sh start, or set SER_WORKBENCH_SKIP_SLURM=1): {up:?}"
    );
    let d = tempfile::tempdir().expect("tmp");
    let cache = d.path().join("cache");

    // Local executor.
    let local = d.path().join("local");
    let t = Instant::now();
    run_ok({
        let mut c = bin();
        grid(&mut c, &cache, &local);
        c
    });
    let local_secs = t.elapsed().as_secs_f64();

    // Slurm, followed to the end.
    let slurm = d.path().join("slurm");
    let t = Instant::now();
    let out = run_ok({
        let mut c = bin();
        grid(&mut c, &cache, &slurm);
        c.args(["--executor", "slurm", "--wait"]);
        c
    });
    let slurm_secs = t.elapsed().as_secs_f64();
    eprintln!("tiny grid: local {local_secs:.1} s, Slurm {slurm_secs:.1} s");
    assert!(
        out.contains("submitted job") && out.contains("4 tasks"),
        "{out}"
    );
    assert!(out.contains("| tiny |"), "{out}");
    let script = std::fs::read_to_string(slurm.join("slurm/job.sbatch")).expect("script");
    assert!(script.contains("#SBATCH --array=0-3"), "{script}");
    let want = rows(&local);
    assert_eq!(want.len(), 2);
    assert_eq!(rows(&slurm), want, "Slurm and local tables differ");

    // A task cancelled on purpose: held submission, cancel element 3, release the rest.
    let again = d.path().join("again");
    let out = run_ok({
        let mut c = bin();
        grid(&mut c, &cache, &again);
        c.args(["--executor", "slurm"]).env("SBATCH_HOLD", "1");
        c
    });
    let job = out
        .split_whitespace()
        .skip_while(|w| *w != "job")
        .nth(1)
        .expect("job id")
        .trim_end_matches(':')
        .to_string();
    let ok = |c: &mut Command| assert!(c.status().expect("slurm command").success(), "{c:?}");
    ok(Command::new("scancel").arg(format!("{job}_3")));
    ok(Command::new("scontrol").args(["release", &job]));
    wait_until_idle("ablation", &again, 180);
    let out = run_ok(bin().args(["ablation", "collect"]).arg(&again));
    assert!(out.contains("not finished (1):"), "{out}");
    assert!(out.contains("task 3 tiny seed 2: missing"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(again.join("ablation.json")).expect("json"))
            .expect("parse");
    assert_eq!(v["incomplete"], true);
    let out = run_ok(bin().args(["ablation", "resubmit"]).arg(&again));
    assert!(out.contains("resubmitted tasks 3 as job"), "{out}");
    wait_until_idle("ablation", &again, 180);
    let out = run_ok(bin().args(["ablation", "collect"]).arg(&again));
    assert!(!out.contains("not finished"), "{out}");
    assert_eq!(rows(&again), want, "resubmitted grid differs from local");

    // Clear errors: no sbatch on PATH.
    let out = {
        let mut c = bin();
        grid(&mut c, &cache, &d.path().join("nopath"));
        c.args(["--executor", "slurm"]).env("PATH", "/nonexistent");
        c.output().expect("run")
    };
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sbatch") && err.contains("tools/slurm-local.sh"),
        "{err}"
    );
    // A rejected submission shows sbatch's own message.
    let out = {
        let mut c = bin();
        grid(&mut c, &cache, &d.path().join("badpart"));
        c.args(["--executor", "slurm", "--partition", "no-such-partition"]);
        c.output().expect("run")
    };
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sbatch refused") && err.contains("partition"),
        "{err}"
    );
}

/// The Training panel's ablation with "Run on Slurm": submit, watch the task states refresh,
/// see the table when every task is done.
#[test]
fn ablation_on_slurm_from_the_training_panel() {
    use egui_kittest::kittest::Queryable;
    if std::env::var_os("SER_WORKBENCH_SKIP_SLURM").is_some() {
        return;
    }
    let data = tempfile::tempdir().expect("tmp");
    let mut logreg = ser_workbench::train::Preset::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("presets/baseline_functionals_logreg.ron"),
    )
    .expect("preset");
    logreg.training.protocol = ser_workbench::corpus::Protocol::SpeakerKFold(2);
    let presets = vec![logreg, common::tiny_preset()];
    let data_dir = data.path().to_path_buf();
    let mut h = egui_kittest::Harness::builder()
        .with_size(eframe::egui::vec2(1280.0, 900.0))
        .build_eframe(move |cc| {
            ser_workbench::app::WorkbenchApp::with_options(
                cc.egui_ctx.clone(),
                false,
                presets.clone(),
                ser_workbench::paths::Paths::under(&data_dir),
            )
        });
    h.state_mut().training.backend = ser_workbench::train::BackendChoice::Cpu;
    h.state_mut().corpora.path = common::small_demo().join("emodb").display().to_string();
    h.run_steps(1);
    h.get_by_label("Load corpus").click();
    let t = Instant::now();
    while h.state().corpora.manifest.is_none() {
        assert!(t.elapsed() < Duration::from_secs(60), "corpus");
        h.step();
    }
    h.get_by_label("Training").click();
    h.run_steps(2);
    {
        let a = &mut h.state_mut().training.ablation;
        a.chosen = ["baseline_functionals_logreg", "tiny"]
            .map(String::from)
            .into_iter()
            .collect();
        a.seeds = "1".into();
        a.slurm_binary = Some(PathBuf::from(env!("CARGO_BIN_EXE_ser-workbench")));
    }
    h.get_by_label("Ablation: compare presets").click();
    h.run_steps(2);
    h.get_by_label("Run on Slurm").click();
    h.run_steps(2);
    h.get_by_label("Submit to Slurm").click();
    h.run_steps(2);
    h.get_by_label_contains("Slurm job");
    let t = Instant::now();
    loop {
        let done = h.state().training.ablation.slurm.as_ref().is_some_and(|j| {
            !j.active()
                && j.states
                    .iter()
                    .all(|s| *s == ser_workbench::train::slurm::TaskState::Done)
        });
        if done {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(180),
            "Slurm tasks did not finish"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    h.run_steps(2);
    h.get_by_label_contains("tasks: 2 done, 0 queued or running");
    let table = h
        .state()
        .training
        .ablation
        .table
        .clone()
        .expect("table")
        .expect("readable");
    assert_eq!(table.rows.len(), 2);
    assert!(
        table
            .rows
            .iter()
            .all(|r| r.error.is_none() && r.n_folds == 2)
    );
    assert!(!table.incomplete);
}

/// "Run folds on Slurm" in the Training panel submits one task per fold; the run shows in the
/// Runs panel with its fold states, and "Collect" there writes its report (the grid's
/// `train collect`), after which it is a finished run.
#[test]
fn slurm_run_from_the_training_panel_is_followed_and_collected_in_runs() {
    use egui_kittest::kittest::Queryable;
    if std::env::var_os("SER_WORKBENCH_SKIP_SLURM").is_some() {
        return;
    }
    let data = tempfile::tempdir().expect("tmp");
    let data_dir = data.path().to_path_buf();
    let mut h = egui_kittest::Harness::builder()
        .with_size(eframe::egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| {
            ser_workbench::app::WorkbenchApp::with_options(
                cc.egui_ctx.clone(),
                false,
                vec![common::tiny_preset()],
                ser_workbench::paths::Paths::under(&data_dir),
            )
        });
    {
        let st = h.state_mut();
        st.training.backend = ser_workbench::train::BackendChoice::Cpu;
        st.training.protocol = "speaker-kfold:3".into();
        st.training.epochs = 3;
        st.training.ablation.slurm_binary =
            Some(PathBuf::from(env!("CARGO_BIN_EXE_ser-workbench")));
        st.corpora.path = common::small_demo().join("emodb").display().to_string();
    }
    h.run_steps(1);
    h.get_by_label("Load corpus").click();
    let t = Instant::now();
    while h.state().corpora.manifest.is_none() {
        assert!(t.elapsed() < Duration::from_secs(60), "corpus");
        h.step();
    }
    h.get_by_label("Training").click();
    h.run_steps(2);
    h.get_by_label("Run folds on Slurm").click();
    h.run_steps(2);
    h.get_by_label("time"); // the resource fields
    h.get_by_label("Submit run to Slurm").click();
    h.run_steps(2);
    h.get_by_label_contains("folds of tiny to Slurm");
    h.get_by_label("Runs").click();
    let t = Instant::now();
    while h
        .query_by_label_contains("Slurm: all folds done, collect (3/3 folds)")
        .is_none()
    {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "Slurm run not listed as done"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.get_by_label("Collect").click();
    let t = Instant::now();
    while h
        .query_by_label_contains("finished (Slurm) (3/3 folds)")
        .is_none()
    {
        assert!(t.elapsed() < Duration::from_secs(60), "not collected");
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.get_by_label_contains("pooled test: WA");
    let runs: Vec<PathBuf> = std::fs::read_dir(data.path().join("runs"))
        .expect("runs")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(runs[0].join("report.json").is_file());
    assert!(runs[0].join("slurm/job.sbatch").is_file());
}
