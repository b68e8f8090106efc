//! The CTC loss of the ASR auxiliary head against PyTorch's `ctc_loss` on fixed logits and
//! targets (tests/fixtures/ctc/cases.json, written by tools/make_ctc_fixture.py): per-sample
//! losses, the mean reduction and its gradient with respect to the logits, ≤ 1e-4. The cases
//! include blanks, repeated characters, a tight fit, an empty target, ragged input lengths and
//! an impossible alignment with zero_infinity.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use ser_workbench::train::ctc::{IMPOSSIBLE, ctc_loss, ctc_mean};

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    batch: usize,
    frames: usize,
    classes: usize,
    logits: Vec<f64>,
    targets: Vec<Vec<usize>>,
    input_lengths: Vec<usize>,
    zero_infinity: bool,
    loss_none: Vec<Option<f64>>,
    loss_mean: Option<f64>,
    grad_mean: Vec<f64>,
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[test]
fn ctc_matches_pytorch() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ctc/cases.json");
    let f: Fixture =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let device = Device::flex().autodiff();
    let mut worst = 0.0f64;
    for c in &f.cases {
        let logits = Tensor::<3>::from_data(
            TensorData::new(
                c.logits.iter().map(|v| *v as f32).collect::<Vec<f32>>(),
                [c.batch, c.frames, c.classes],
            ),
            &device,
        )
        .require_grad();
        let per = ctc_loss(log_softmax(logits.clone(), 2), &c.targets, &c.input_lengths);
        let per_v: Vec<f32> = per
            .clone()
            .into_data()
            .convert::<f32>()
            .try_to_vec()
            .expect("v");
        for (i, (got, want)) in per_v.iter().zip(&c.loss_none).enumerate() {
            match want {
                // PyTorch zeroes impossible samples only with zero_infinity.
                Some(w) if !(c.zero_infinity && *w == 0.0) => {
                    let d = (*got as f64 - w).abs();
                    worst = worst.max(d / w.abs().max(1.0));
                    assert!(
                        d <= 1e-4 * w.abs().max(1.0),
                        "{} sample {i}: {got} vs {w}",
                        c.name
                    );
                }
                _ => assert!(
                    *got > IMPOSSIBLE,
                    "{} sample {i}: {got} should be impossible",
                    c.name
                ),
            }
        }
        let mean = ctc_mean(per, &c.targets, c.zero_infinity);
        let m = mean.clone().into_scalar::<f32>() as f64;
        let want = c.loss_mean.expect("finite mean in every case");
        assert!(
            (m - want).abs() <= 1e-4 * want.abs().max(1.0),
            "{}: mean {m} vs {want}",
            c.name
        );
        let grads = mean.backward();
        let g: Vec<f32> = logits
            .grad(&grads)
            .expect("grad")
            .into_data()
            .convert::<f32>()
            .try_to_vec()
            .expect("g");
        for (k, (a, b)) in g.iter().zip(&c.grad_mean).enumerate() {
            let d = (*a as f64 - b).abs();
            worst = worst.max(d);
            assert!(d <= 1e-4, "{} grad {k}: {a} vs {b}", c.name);
        }
    }
    eprintln!("CTC vs PyTorch: worst difference {worst:.2e}");
}
