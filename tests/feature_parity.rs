//! Log-mel, MFCC and delta parity with librosa 0.11 (fixtures from tools/make_logmel_fixtures.py,
//! provenance in tests/fixtures/logmel/provenance.json).
//!
//! Tolerances (stated, not tuned to pass silently):
//! - mel filterbank: max abs difference ≤ 1e-7 (both compute in f64 and store f32);
//! - mel power: max relative difference ≤ 5e-5 on bins above 1e-6 of the maximum (f32 FFTs);
//! - log-mel dB: max abs difference ≤ 3e-4 dB;
//! - MFCC and deltas: max abs difference ≤ 1e-3 (sums of 128 dB values).
//!
//! Measured on the committed fixtures (printed with `--nocapture`): filterbank 3.7e-9, mel power
//! 6.4e-6 relative, log-mel 2.7e-5 dB, MFCC 6.1e-5.

use std::path::Path;

use ser_workbench::features::mel::{MelFilterbank, log_mel, mel_power};
use ser_workbench::features::mfcc::{delta, mfcc};
use ser_workbench::features::{FeatureMatrix, LogMelConfig, npy};

fn fixture(name: &str) -> (Vec<usize>, Vec<f32>) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logmel")
        .join(format!("{name}.npy"));
    npy::read(&p).unwrap_or_else(|e| panic!("{e}"))
}

use ser_workbench::eval::compare::max_abs_diff as max_abs;

fn check_shape(m: &FeatureMatrix, shape: &[usize]) {
    assert_eq!(vec![m.n_frames, m.n_bins], shape.to_vec(), "[frames, bins]");
}

#[test]
fn filterbank_matches_librosa() {
    let (shape, expected) = fixture("filterbank_16k_2048_128");
    assert_eq!(shape, vec![128, 1025]);
    let fb = MelFilterbank::new(16_000, 2048, 128, 0.0, 8000.0);
    let mut dense = vec![0.0f32; 128 * 1025];
    for (i, (first, w)) in fb.bands.iter().enumerate() {
        for (k, v) in w.iter().enumerate() {
            dense[i * 1025 + first + k] = *v;
        }
    }
    let err = max_abs(&dense, &expected);
    eprintln!("filterbank max abs error {err:e}");
    assert!(err <= 1e-7, "filterbank max abs error {err}");
}

#[test]
fn mel_power_and_logmel_match_librosa() {
    for sig in ["speech", "short"] {
        let (_, y) = fixture(&format!("{sig}_input"));
        let cfg = LogMelConfig::default();
        let (shape, p_ref) = fixture(&format!("{sig}_mel_power_default"));
        let p = mel_power(&y, &cfg);
        check_shape(&p, &shape);
        let peak = p_ref.iter().copied().fold(0.0f32, f32::max);
        assert_eq!(p.data.len(), p_ref.len(), "{sig}: mel power length");
        // Relative error on bins above 1e-6 of the peak (NaN-propagating: see max_abs_diff).
        let (got, want): (Vec<f32>, Vec<f32>) = p
            .data
            .iter()
            .zip(&p_ref)
            .filter(|(a, r)| **r > peak * 1e-6 || a.is_nan())
            .map(|(a, r)| (a / r, 1.0))
            .unzip();
        let rel = max_abs(&got, &want);
        eprintln!("{sig}: mel power max relative error {rel:e}");
        assert!(rel <= 5e-5, "{sig}: mel power max relative error {rel}");

        let (shape, db_ref) = fixture(&format!("{sig}_logmel_default"));
        let db = log_mel(&y, &cfg);
        check_shape(&db, &shape);
        let err = max_abs(&db.data, &db_ref);
        eprintln!("{sig}: log-mel max abs error {err:e} dB");
        assert!(err <= 3e-4, "{sig}: log-mel max abs error {err} dB");

        let (shape, short_ref) = fixture(&format!("{sig}_logmel_short"));
        let short = log_mel(&y, &LogMelConfig::short_window(64));
        check_shape(&short, &shape);
        let err = max_abs(&short.data, &short_ref);
        eprintln!("{sig}: 25/10 ms log-mel max abs error {err:e} dB");
        assert!(
            err <= 3e-4,
            "{sig}: 25/10 ms log-mel max abs error {err} dB"
        );
    }
}

#[test]
fn mfcc_and_deltas_match_librosa() {
    for sig in ["speech", "short"] {
        let (_, y) = fixture(&format!("{sig}_input"));
        let db = log_mel(&y, &LogMelConfig::default());
        let (shape, mf_ref) = fixture(&format!("{sig}_mfcc_default"));
        let mf = mfcc(&db, 20, false);
        check_shape(&mf, &shape);
        let err = max_abs(&mf.data, &mf_ref);
        eprintln!("{sig}: MFCC max abs error {err:e}");
        assert!(err <= 1e-3, "{sig}: MFCC max abs error {err}");
        if sig == "speech" {
            for order in [1u8, 2] {
                let (shape, d_ref) = fixture(&format!("{sig}_mfcc_delta{order}"));
                let d = delta(&mf, order);
                check_shape(&d, &shape);
                let err = max_abs(&d.data, &d_ref);
                eprintln!("{sig}: delta order {order} max abs error {err:e}");
                assert!(
                    err <= 1e-3,
                    "{sig}: delta order {order} max abs error {err}"
                );
            }
        }
    }
}
