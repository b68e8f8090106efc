//! The classic baselines (docs/baselines.md): the functionals stream against librosa, the
//! Linear model's solvers against scikit-learn (fixtures from tools/make_baseline_fixtures.py),
//! and the baseline presets end to end from the command line: ablation beside a deep preset,
//! predict, and the named features of a file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::Array2;
use ser_workbench::features::{self, functionals, npy};
use ser_workbench::model::linear::LinearSolver;
use ser_workbench::train::Preset;
use ser_workbench::train::linear_fit::fit_weights;

fn fixture(name: &str) -> Vec<f32> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/baselines/{name}.npy"));
    npy::read(&p).unwrap_or_else(|e| panic!("{e}")).1
}

fn preset(name: &str) -> Preset {
    Preset::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("presets/{name}.ron")))
        .expect("preset")
}

/// Every frame-level descriptor and the whole named vector of the logistic-regression preset's
/// features against librosa 0.11 + numpy on a voice / noise / near-silence signal.
/// Tolerances: RMS 1e-4 dB, ZCR exact to f32, YIN F0 1e-5 relative on every frame, the
/// periodic and voiced flags identical; functionals 1e-4·max(1, |value|) (measured: 7.6e-6 dB,
/// 5.3e-7 and 5.4e-6; f32 log-mel against librosa's f32 pipeline).
#[test]
fn functionals_match_librosa() {
    let cfg = preset("baseline_functionals_logreg").features;
    let y = fixture("input");
    let hop = cfg.logmel.hop_length_samples;
    let f = &cfg.functionals;

    let rms_db = functionals::amplitude_to_db(
        &functionals::rms(&y, cfg.logmel.n_fft, hop),
        1e-5,
        Some(80.0),
    );
    let want = fixture("rms_db");
    assert_eq!(rms_db.len(), want.len());
    let err = ser_workbench::eval::compare::max_abs_diff(&rms_db, &want);
    assert!(err <= 1e-4, "rms dB max abs error {err}");

    let zcr = functionals::zero_crossing_rate(&y, cfg.logmel.n_fft, hop);
    assert_eq!(zcr, fixture("zcr"));

    let yin = functionals::yin(
        &y,
        16_000,
        f.f0_min_hz as f64,
        f.f0_max_hz as f64,
        f.yin_frame_length,
        hop,
        f.yin_threshold as f64,
    );
    let f0 = fixture("f0");
    assert_eq!(yin.f0.len(), f0.len());
    for (t, (a, b)) in yin.f0.iter().zip(&f0).enumerate() {
        assert!(
            (a - *b as f64).abs() <= 1e-5 * *b as f64,
            "frame {t}: F0 {a} vs librosa {b}"
        );
    }
    let flags = |v: Vec<f32>| v.iter().map(|&x| x > 0.5).collect::<Vec<bool>>();
    assert_eq!(yin.periodic, flags(fixture("periodic")));
    let voiced = functionals::voicing(&yin.periodic, &rms_db, f.voicing_range_db);
    let want_voiced = flags(fixture("voiced"));
    assert_eq!(voiced, want_voiced);
    // The fixture has voiced and unvoiced stretches.
    let n_voiced = voiced.iter().filter(|&&v| v).count();
    assert!(n_voiced > 50 && n_voiced < voiced.len() - 30, "{n_voiced}");

    let names: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/baselines/names.json"),
        )
        .expect("names"),
    )
    .expect("json");
    assert_eq!(functionals::names(&cfg), names);
    let m = features::compute(&y, &cfg);
    assert_eq!((m.n_frames, m.n_bins), (1, names.len()));
    let want = fixture("vector");
    let worst = m
        .data
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
        .fold(0.0f32, f32::max);
    let f0_err = yin
        .f0
        .iter()
        .zip(&f0)
        .map(|(a, b)| (a / *b as f64 - 1.0).abs())
        .fold(0.0f64, f64::max);
    eprintln!("rms dB {err:.2e}, F0 relative {f0_err:.2e}, functionals scaled {worst:.2e}");
    for ((a, b), name) in m.data.iter().zip(want).zip(&names) {
        assert!(
            (a - b).abs() <= 1e-4 * b.abs().max(1.0),
            "{name}: {a} vs librosa/numpy {b}"
        );
    }
}

fn solver_data() -> (Array2<f64>, Vec<usize>) {
    let x = fixture("solver_x");
    let y: Vec<usize> = fixture("solver_y").iter().map(|&v| v as usize).collect();
    let d = x.len() / y.len();
    let x =
        Array2::from_shape_vec((y.len(), d), x.iter().map(|&v| v as f64).collect()).expect("shape");
    (x, y)
}

/// Scores x·W + b of fitted weights (`[inputs, classes]` row-major).
fn scores(x: &Array2<f64>, w: &[f32], b: &[f32]) -> Vec<Vec<f64>> {
    let k = b.len();
    x.rows()
        .into_iter()
        .map(|r| {
            (0..k)
                .map(|c| {
                    b[c] as f64
                        + r.iter()
                            .enumerate()
                            .map(|(i, v)| v * w[i * k + c] as f64)
                            .sum::<f64>()
                })
                .collect()
        })
        .collect()
}

/// The L2 logistic regression equals scikit-learn's `LogisticRegression(C=0.5)` (multinomial,
/// lbfgs): probabilities within 1e-3, coefficients within 1e-2 (both solvers stop at a
/// gradient tolerance; the objective is the same).
#[test]
fn logistic_regression_matches_sklearn() {
    let (x, y) = solver_data();
    let fit = fit_weights(LinearSolver::LogisticRegression, 0.5, 1000, &x, &y, 3).expect("fit");
    let want = fixture("logreg_proba");
    for (i, row) in scores(&x, &fit.w, &fit.b).iter().enumerate() {
        let m = row.iter().cloned().fold(f64::MIN, f64::max);
        let z: f64 = row.iter().map(|s| (s - m).exp()).sum();
        for (c, s) in row.iter().enumerate() {
            let p = (s - m).exp() / z;
            let q = want[i * 3 + c] as f64;
            assert!(
                (p - q).abs() <= 1e-3,
                "row {i} class {c}: {p} vs sklearn {q}"
            );
        }
    }
    for (a, b) in fit.w.iter().zip(fixture("logreg_coef")) {
        assert!((a - b).abs() <= 1e-2, "coefficient {a} vs sklearn {b}");
    }
}

/// Each one-vs-rest linear SVM equals scikit-learn's `SVC(kernel="linear", C=0.1)` on the same
/// binary problem: decision values within 1e-2 (SMO stopping tolerances), same signs.
#[test]
fn linear_svm_matches_sklearn() {
    let (x, y) = solver_data();
    let fit = fit_weights(LinearSolver::LinearSvm, 0.1, 1000, &x, &y, 3).expect("fit");
    let want = fixture("svm_decision");
    for (i, row) in scores(&x, &fit.w, &fit.b).iter().enumerate() {
        for (c, s) in row.iter().enumerate() {
            let q = want[i * 3 + c] as f64;
            assert!(
                (s - q).abs() <= 1e-2,
                "row {i} class {c}: {s} vs sklearn {q}"
            );
        }
    }
}

/// A class missing from the training part is never predicted; one class gives a constant.
#[test]
fn absent_classes_are_never_predicted() {
    let (x, y) = solver_data();
    // Relabel class 2 as 3 of 4: class 2 has no example.
    let y4: Vec<usize> = y.iter().map(|&l| if l == 2 { 3 } else { l }).collect();
    for solver in [LinearSolver::LogisticRegression, LinearSolver::LinearSvm] {
        let fit = fit_weights(solver, 0.5, 500, &x, &y4, 4).expect("fit");
        for row in scores(&x, &fit.w, &fit.b) {
            let best = (0..4).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            assert_ne!(best, 2, "{solver:?}");
        }
    }
    let fit = fit_weights(LinearSolver::LogisticRegression, 1.0, 100, &x, &[1; 120], 3)
        .expect("one class");
    assert_eq!(fit.b, vec![-1.0e4, 0.0, -1.0e4]);
}

fn bin() -> Command {
    common::cli("baseline")
}

use common::run_ok;

/// The shipped logistic-regression and SVM presets beside a deep preset in one ablation (same
/// folds), their runs predicting a file, and the named functionals of a file as CSV.
#[test]
fn baselines_in_an_ablation_predict_and_named_features() {
    let d = tempfile::tempdir().expect("tmp");
    let demo = common::small_demo();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = d.path().join("abl");
    let text = run_ok(
        bin()
            .args(["ablation", "--presets"])
            .arg(root.join("presets/baseline_functionals_logreg.ron"))
            .arg(root.join("presets/baseline_functionals_svm.ron"))
            .arg(common::tiny_preset_path())
            .arg("--corpus")
            .arg(demo.join("emodb"))
            .args(["--protocol", "speaker-kfold:2", "--seeds", "1"])
            .args(["--backend", "cpu", "--out"])
            .arg(&out),
    );
    for name in [
        "baseline_functionals_logreg",
        "baseline_functionals_svm",
        "tiny",
    ] {
        assert!(text.contains(&format!("| {name} |")), "{text}");
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ablation.json")).expect("json"))
            .expect("parse");
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 3);
    let logreg_run = PathBuf::from(rows[0]["runs"][0].as_str().expect("run"));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(logreg_run.join("report.json")).expect("report"),
    )
    .expect("json");
    let ua = report["ua"].as_f64().expect("ua");
    // 7 classes: chance is 1/7; the demo corpus's classes differ acoustically.
    assert!(ua > 0.3, "logistic regression UA {ua}");
    assert!(logreg_run.join("fold1.bpk").is_file());
    // One metrics row per C of the grid and fold.
    let metrics = common::csv_rows(&logreg_run.join("metrics.csv"));
    assert_eq!(metrics.len(), 2 * 4);
    // Every named input's weight per class and fold, and the strongest in the report.
    let weights = common::csv_rows(&logreg_run.join("feature_weights.csv"));
    let cfg = preset("baseline_functionals_logreg").features;
    let n_classes = report["classes"].as_array().expect("classes").len();
    assert_eq!(weights.len(), functionals::names(&cfg).len() * n_classes);
    assert_eq!(weights[0]["input"], "logmel0_mean");
    let top = &report["feature_weights"]["top"];
    assert_eq!(top.as_array().map(Vec::len), Some(n_classes));
    let md = std::fs::read_to_string(logreg_run.join("report.md")).expect("md");
    assert!(md.contains("Strongest inputs per class"), "{md}");

    let wav = demo.join("emodb/wav/03a01Wa.wav");
    let out = run_ok(
        bin()
            .args(["predict", "--json", "--run"])
            .arg(&logreg_run)
            .arg(&wav),
    );
    let p: serde_json::Value = serde_json::from_str(out.trim()).expect("predict json");
    let sum: f64 = p["probabilities"]
        .as_object()
        .expect("probs")
        .values()
        .map(|v| v.as_f64().expect("f"))
        .sum();
    assert!((sum - 1.0).abs() < 1e-3, "{out}");

    let csv_path = d.path().join("f.csv");
    run_ok(
        bin()
            .args(["features", "--stream", "functionals", "--preset"])
            .arg(root.join("presets/baseline_functionals_logreg.ron"))
            .arg(&wav)
            .arg("--out")
            .arg(&csv_path),
    );
    let rows = common::csv_rows(&csv_path);
    assert_eq!(rows.len(), functionals::names(&cfg).len());
    let want = features::extract_file(&wav, &cfg).expect("functionals");
    for (row, v) in rows.iter().zip(&want.data) {
        let got: f32 = row["value"].parse().expect("number");
        assert_eq!(got, *v, "{}", row["name"]);
    }
    assert_eq!(rows.last().expect("row")["name"], "unvoiced_segment_mean_s");
}
