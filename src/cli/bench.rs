//! `bench` subcommands: figures a person can compare, ending with one JSON line.

use std::time::Instant;

use anyhow::Result;
use rayon::prelude::*;

use crate::features::{LogMelConfig, mel::log_mel};
use crate::rng::SplitMix64;

/// Speech-like test signal: harmonic tone with a wandering pitch plus noise, 16 kHz.
fn test_signal(secs: f64, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let n = (secs * 16_000.0) as usize;
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let f0 = 140.0 + 40.0 * (i as f64 / 16_000.0 * 3.0).sin();
            phase = (phase + f0 / 16_000.0).fract();
            let p = 2.0 * std::f64::consts::PI * phase;
            (0.3 * p.sin() + 0.15 * (2.0 * p).sin() + 0.08 * (3.0 * p).sin() + 0.02 * rng.normal())
                as f32
        })
        .collect()
}

/// Log-mel throughput (SPEC defaults: n_fft 2048, hop 512, 128 bands) in seconds of audio per
/// second, on one thread and on all cores (one file per task, like corpus extraction).
pub fn logmel(audio_secs: f64) -> Result<()> {
    let cfg = LogMelConfig::default();
    let file_secs = 3.0;
    let n_files = ((audio_secs / file_secs).ceil() as usize).max(1);
    let files: Vec<Vec<f32>> = (0..n_files)
        .map(|i| test_signal(file_secs, i as u64))
        .collect();
    let total_secs = n_files as f64 * file_secs;
    // Warm-up (FFT planning, page faults).
    let _ = log_mel(&files[0], &cfg);

    let t = Instant::now();
    let mut checksum = 0.0f64;
    for f in &files {
        checksum += log_mel(f, &cfg).data[0] as f64;
    }
    let single = total_secs / t.elapsed().as_secs_f64();

    let threads = rayon::current_num_threads();
    let t = Instant::now();
    let sum: f64 = files
        .par_iter()
        .map(|f| log_mel(f, &cfg).data[0] as f64)
        .sum();
    let multi = total_secs / t.elapsed().as_secs_f64();
    checksum += sum;

    println!(
        "log-mel (n_fft {}, hop {}, {} mels), {n_files} files × {file_secs} s = {total_secs:.0} s of audio",
        cfg.n_fft, cfg.hop_length_samples, cfg.n_mels
    );
    println!("  1 thread:   {single:>10.1} s of audio per second");
    println!("  {threads} threads:  {multi:>10.1} s of audio per second");
    println!("  (checksum {checksum:.3})");
    println!(
        "{}",
        serde_json::json!({
            "bench": "logmel",
            "threads": threads,
            "audio_secs_per_sec": (multi * 10.0).round() / 10.0,
            "single_thread_audio_secs_per_sec": (single * 10.0).round() / 10.0,
        })
    );
    Ok(())
}
