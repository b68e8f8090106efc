//! The classification report against scikit-learn (fixture from
//! `tools/make_metric_fixtures.py`): WA = `accuracy_score`, UA = `balanced_accuracy_score`,
//! macro precision/recall/F1 = `*_score(average="macro", labels=classes)`, weighted-F1, and the
//! per-class table — including a class absent from the truth that is predicted (F1 0) and one
//! that is absent and never predicted. Tolerance 1e-12 (both in f64).

use std::path::Path;

use ser_workbench::eval::ClassificationReport;

fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12,
        "{what}: {got} vs scikit-learn {want}"
    );
}

fn usizes(v: &serde_json::Value) -> Vec<usize> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("int") as usize)
        .collect()
}

fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

#[test]
fn report_matches_sklearn() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics/sklearn_cases.json");
    let fx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let cases = fx["cases"].as_array().expect("cases");
    assert!(cases.len() >= 7);
    for c in cases {
        let name = c["name"].as_str().expect("name");
        let k = c["n_classes"].as_u64().expect("k") as usize;
        let classes: Vec<String> = (0..k).map(|i| format!("c{i}")).collect();
        let r = ClassificationReport::from_predictions(
            &classes,
            &usizes(&c["truth"]),
            &usizes(&c["pred"]),
        );
        for (field, got) in [
            ("wa", r.wa),
            ("ua", r.ua),
            ("macro_f1", r.macro_f1),
            ("macro_precision", r.macro_precision),
            ("macro_recall", r.macro_recall),
            ("weighted_f1", r.weighted_f1),
        ] {
            close(
                &format!("{name}: {field}"),
                got,
                c[field].as_f64().expect(field),
            );
        }
        for (i, m) in r.per_class.iter().enumerate() {
            close(
                &format!("{name}: precision[{i}]"),
                m.precision,
                f64s(&c["precision"])[i],
            );
            close(
                &format!("{name}: recall[{i}]"),
                m.recall,
                f64s(&c["recall"])[i],
            );
            close(&format!("{name}: f1[{i}]"), m.f1, f64s(&c["f1"])[i]);
            assert_eq!(
                m.support as usize,
                usizes(&c["support"])[i],
                "{name}: support"
            );
        }
    }
}

/// Dimensional metrics against numpy (`tools/make_regression_fixtures.py`): CCC with population
/// statistics, Pearson (`np.corrcoef`), MAE and RMSE, tolerance 1e-12.
#[test]
fn regression_metrics_match_numpy() {
    use ser_workbench::eval::regression::DimensionReport;
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics/regression_cases.json");
    let fx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let cases = fx.as_object().expect("object");
    let mut n = 0;
    for (name, c) in cases.iter().filter(|(k, _)| !k.starts_with('_')) {
        let r = DimensionReport::of(name, &f64s(&c["pred"]), &f64s(&c["truth"]));
        close(
            &format!("{name} ccc"),
            r.ccc,
            c["ccc"].as_f64().expect("ccc"),
        );
        close(
            &format!("{name} pearson"),
            r.pearson,
            c["pearson"].as_f64().expect("r"),
        );
        close(
            &format!("{name} mae"),
            r.mae,
            c["mae"].as_f64().expect("mae"),
        );
        close(
            &format!("{name} rmse"),
            r.rmse,
            c["rmse"].as_f64().expect("rmse"),
        );
        n += 1;
    }
    assert_eq!(n, 4);
}

/// Multi-label metrics against scikit-learn (`tools/make_multilabel_fixtures.py`): per-label
/// precision/recall/F1/support (`zero_division=0`), macro F1, micro P/R/F1 and per-label
/// average precision, with a label that is never true, one never predicted, tied scores and
/// per-label thresholds. Tolerance 1e-9 (probabilities are f32, sklearn works in f64).
#[test]
fn multilabel_report_matches_sklearn() {
    use ser_workbench::eval::multilabel::multilabel_report;
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics/multilabel_cases.json");
    let fx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let rows = |v: &serde_json::Value| -> Vec<Vec<f32>> {
        v.as_array()
            .expect("rows")
            .iter()
            .map(|r| f64s(r).into_iter().map(|x| x as f32).collect())
            .collect()
    };
    let near = |what: &str, got: f64, want: f64| {
        assert!(
            (got - want).abs() <= 1e-9,
            "{what}: {got} vs scikit-learn {want}"
        );
    };
    for c in fx["cases"].as_array().expect("cases") {
        let name = c["name"].as_str().expect("name");
        let probs = rows(&c["probs"]);
        let truth = rows(&c["truth"]);
        let th: Vec<f32> = f64s(&c["thresholds"])
            .into_iter()
            .map(|x| x as f32)
            .collect();
        let labels: Vec<String> = (0..th.len()).map(|k| format!("l{k}")).collect();
        let r = multilabel_report(&labels, &probs, &truth, &th);
        for (k, l) in r.labels.iter().enumerate() {
            near(
                &format!("{name} precision {k}"),
                l.precision,
                c["precision"][k].as_f64().expect("p"),
            );
            near(
                &format!("{name} recall {k}"),
                l.recall,
                c["recall"][k].as_f64().expect("r"),
            );
            near(
                &format!("{name} f1 {k}"),
                l.f1,
                c["f1"][k].as_f64().expect("f"),
            );
            assert_eq!(l.support as u64, c["support"][k].as_u64().expect("s"));
            match c["average_precision"][k].as_f64() {
                Some(ap) => near(&format!("{name} AP {k}"), l.average_precision, ap),
                None => assert!(l.average_precision.is_nan(), "{name} AP {k}"),
            }
        }
        near(
            &format!("{name} macro F1"),
            r.macro_f1,
            c["macro_f1"].as_f64().expect("m"),
        );
        near(
            &format!("{name} micro P"),
            r.micro_precision,
            c["micro_precision"].as_f64().expect("m"),
        );
        near(
            &format!("{name} micro R"),
            r.micro_recall,
            c["micro_recall"].as_f64().expect("m"),
        );
        near(
            &format!("{name} micro F1"),
            r.micro_f1,
            c["micro_f1"].as_f64().expect("m"),
        );
    }
}
