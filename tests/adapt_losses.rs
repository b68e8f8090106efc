//! Domain-adaptation losses against the reference values of tools/make_adapt_fixtures.py
//! (DSAN's LMMD algorithm in torch, float64). Tolerance: 1e-3 relative (we compute in f32).

use burn::prelude::*;
use ser_workbench::train::adapt::{centroid_lmmd, coral, lmmd, mmd};

fn close(name: &str, got: f32, want: f64) {
    let tol = 1e-3 * want.abs().max(1e-3);
    assert!(
        (got as f64 - want).abs() <= tol,
        "{name}: {got} vs reference {want}"
    );
}

#[test]
fn losses_match_reference() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/adapt/losses.json"),
    )
    .expect("fixture");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let device = Device::flex();
    for (i, case) in v["cases"].as_array().expect("cases").iter().enumerate() {
        let m = |key: &str| -> (Vec<f32>, [usize; 2]) {
            let rows = case[key].as_array().expect("rows");
            let d = rows[0].as_array().expect("row").len();
            (
                rows.iter()
                    .flat_map(|r| {
                        r.as_array()
                            .expect("r")
                            .iter()
                            .map(|x| x.as_f64().expect("f") as f32)
                    })
                    .collect(),
                [rows.len(), d],
            )
        };
        let (s, ss) = m("source");
        let (t, ts) = m("target");
        let source = Tensor::<2>::from_data(TensorData::new(s, ss), &device);
        let target = Tensor::<2>::from_data(TensorData::new(t, ts), &device);
        let labels: Vec<usize> = case["source_labels"]
            .as_array()
            .expect("l")
            .iter()
            .map(|x| x.as_u64().expect("u") as usize)
            .collect();
        let probs: Vec<Vec<f32>> = case["target_probs"]
            .as_array()
            .expect("p")
            .iter()
            .map(|r| {
                r.as_array()
                    .expect("r")
                    .iter()
                    .map(|x| x.as_f64().expect("f") as f32)
                    .collect()
            })
            .collect();
        let c = case["n_classes"].as_u64().expect("c") as usize;
        close(
            &format!("case {i} lmmd"),
            lmmd(source.clone(), target.clone(), &labels, &probs, c).into_scalar::<f32>(),
            case["lmmd"].as_f64().expect("v"),
        );
        close(
            &format!("case {i} mmd"),
            mmd(source.clone(), target.clone()).into_scalar::<f32>(),
            case["mmd"].as_f64().expect("v"),
        );
        close(
            &format!("case {i} coral"),
            coral(source.clone(), target.clone()).into_scalar::<f32>(),
            case["coral"].as_f64().expect("v"),
        );
        close(
            &format!("case {i} centroid"),
            centroid_lmmd(source, target, &labels, &probs, c).into_scalar::<f32>(),
            case["centroid_lmmd"].as_f64().expect("v"),
        );
    }
}

/// The losses pass gradients to the features (they are training losses).
#[test]
fn lmmd_is_differentiable() {
    let device = Device::flex().autodiff();
    let s = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f32, 1.0, 1.0, 0.0, 0.5, 0.5], [3, 2]),
        &device,
    )
    .require_grad();
    let t = Tensor::<2>::from_data(
        TensorData::new(vec![2.0f32, 1.0, 1.0, 2.0], [2, 2]),
        &device,
    );
    let loss = lmmd(
        s.clone(),
        t,
        &[0, 1, 0],
        &[vec![0.9, 0.1], vec![0.2, 0.8]],
        2,
    );
    let grads = loss.backward();
    let g: Vec<f32> = s
        .grad(&grads)
        .expect("grad")
        .into_data()
        .convert::<f32>()
        .try_to_vec()
        .expect("v");
    assert!(g.iter().any(|v| v.abs() > 1e-6), "{g:?}");
}
