//! Voting ensembles of finished runs through the CLI: three runs of the tiny preset (different
//! seeds, so different splits, but every utterance tested once), combined by hard and soft
//! voting; the ensemble's predictions are recomputed here from the members' `predictions.csv`;
//! members that do not share their test part or their classes are refused with a clear message.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ser_workbench::train::run_dir::{read_predictions, read_report};

fn bin(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ser-workbench"));
    c.env("SER_WORKBENCH_BACKEND", "cpu");
    c.env("SER_WORKBENCH_CACHE", data.join("cache"));
    c.env("SER_WORKBENCH_DATA", data);
    c
}

fn run(c: &mut Command) -> (bool, String) {
    let out = c.output().expect("run");
    (
        out.status.success(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn train(data: &Path, corpus: &Path, seed: u64, out: &Path, extra: &[&str]) {
    let (ok, text) = run(bin(data)
        .args(["train", "--preset"])
        .arg(common::tiny_preset_path())
        .arg("--corpus")
        .arg(corpus)
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(out)
        .args(extra));
    assert!(ok, "{text}");
}

/// What the ensemble must predict for each file, from the members' probability rows.
fn expected(runs: &[PathBuf], soft: bool) -> BTreeMap<String, String> {
    let classes = read_report(&runs[0]).expect("report").pooled.classes;
    let members: Vec<BTreeMap<String, Vec<f32>>> = runs
        .iter()
        .map(|r| {
            read_predictions(r)
                .expect("preds")
                .into_iter()
                .map(|p| (p.path, p.probabilities))
                .collect()
        })
        .collect();
    members[0]
        .keys()
        .map(|k| {
            let rows: Vec<&Vec<f32>> = members.iter().map(|m| &m[k]).collect();
            let n = classes.len();
            let sum: Vec<f64> = (0..n)
                .map(|c| rows.iter().map(|r| r[c] as f64).sum())
                .collect();
            let winner = if soft {
                (0..n).fold(0, |b, c| if sum[c] > sum[b] { c } else { b })
            } else {
                let mut votes = vec![0usize; n];
                for r in &rows {
                    let a = (0..n).fold(0, |b, c| if r[c] > r[b] { c } else { b });
                    votes[a] += 1;
                }
                (0..n).fold(0, |b, c| {
                    if (votes[c], sum[c]) > (votes[b], sum[b]) {
                        c
                    } else {
                        b
                    }
                })
            };
            (k.clone(), classes[winner].clone())
        })
        .collect()
}

#[test]
fn ensembles_vote_and_refuse_members_that_do_not_match() {
    let d = tempfile::tempdir().expect("tmp");
    let corpus = common::small_demo().join("emodb");
    let runs: Vec<PathBuf> = (1..=3).map(|i| d.path().join(format!("r{i}"))).collect();
    for (i, r) in runs.iter().enumerate() {
        train(d.path(), &corpus, 10 + i as u64, r, &[]);
    }
    for vote in ["hard", "soft"] {
        let out = d.path().join(format!("ens-{vote}"));
        let (ok, text) = run(bin(d.path())
            .args(["ensemble", "--vote", vote, "--out"])
            .arg(&out)
            .arg("--runs")
            .args(&runs));
        assert!(ok, "{text}");
        assert!(
            text.contains("vote ensemble") && text.contains("UA"),
            "{text}"
        );
        let want = expected(&runs, vote == "soft");
        let got = read_predictions(&out).expect("ensemble predictions");
        assert_eq!(got.len(), want.len());
        for p in &got {
            assert_eq!(want[&p.path], p.predicted, "{vote}: {}", p.path);
        }
        let report = read_report(&out).expect("ensemble report");
        assert_eq!(report.members.len(), 3);
        let cost = report.cost.expect("cost");
        let member_params: usize = report
            .members
            .iter()
            .map(|m| m.cost.as_ref().expect("member cost").params)
            .sum();
        assert_eq!(cost.params, member_params);
        // The pooled metrics are those of the predictions written.
        let correct = got.iter().filter(|p| p.correct).count();
        assert!((report.pooled.wa - correct as f64 / got.len() as f64).abs() < 1e-12);
        let md = std::fs::read_to_string(out.join("report.md")).expect("md");
        assert!(
            md.contains("Runtime and model size") && md.contains("tiny"),
            "{md}"
        );
    }
    // An ensemble holds votes, not models: predict says so.
    let (ok, text) = run(bin(d.path())
        .args(["predict", "--run"])
        .arg(d.path().join("ens-hard"))
        .arg(
            std::fs::read_dir(corpus.join("wav"))
                .expect("wav")
                .flatten()
                .next()
                .expect("file")
                .path(),
        ));
    assert!(!ok && text.contains("an ensemble of other runs"), "{text}");
    // A copy of the corpus without five files: the test utterances differ.
    let fewer = d.path().join("fewer");
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join("wav"))
        .expect("wav folder")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    std::fs::create_dir_all(fewer.join("wav")).expect("mkdir");
    for f in files.iter().skip(5) {
        std::fs::copy(f, fewer.join("wav").join(f.file_name().expect("name"))).expect("copy");
    }
    let other = d.path().join("other");
    train(d.path(), &fewer, 1, &other, &[]);
    let (ok, text) = run(bin(d.path())
        .args(["ensemble", "--out"])
        .arg(d.path().join("bad1"))
        .arg("--runs")
        .arg(&runs[0])
        .arg(&other));
    assert!(
        !ok && text.contains("did not test the same utterances"),
        "{text}"
    );
    // Fewer classes (a label map): refused with both class lists.
    let four = d.path().join("four");
    train(d.path(), &corpus, 1, &four, &["--label-map", "4-class"]);
    let (ok, text) = run(bin(d.path())
        .args(["ensemble", "--out"])
        .arg(d.path().join("bad2"))
        .arg("--runs")
        .arg(&runs[0])
        .arg(&four));
    assert!(!ok && text.contains("must share the classes"), "{text}");
    // An existing ensemble folder is never overwritten.
    let (ok, text) = run(bin(d.path())
        .args(["ensemble", "--out"])
        .arg(d.path().join("ens-hard"))
        .arg("--runs")
        .args(&runs[..2]));
    assert!(
        !ok && text.contains("already holds a finished run"),
        "{text}"
    );
}
