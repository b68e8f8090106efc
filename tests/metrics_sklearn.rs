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
