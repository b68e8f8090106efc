//! `bench` subcommands: figures a person can compare, ending with one JSON line.

use std::time::Instant;

use anyhow::Result;
use clap::{Args, ValueEnum};
use rayon::prelude::*;

use crate::features::{LogMelConfig, mel::log_mel};
use crate::rng::SplitMix64;

/// What `bench` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BenchKind {
    /// Log-mel extraction throughput (seconds of audio per second).
    Logmel,
    /// Training-time augmentation: speed, pitch shift, noise, each alone and all together,
    /// plus the log-mel recomputation a cached-stream run adds (seconds of audio per second,
    /// one thread).
    Augment,
    /// Corpus inspection of a generated corpus (files per second).
    Inspect,
    /// SSL encoder throughput at batch 1 and the chosen batch.
    Ssl,
    /// One training epoch on cached features.
    Epoch,
    /// Fine-tuning optimiser steps per second (encoder + sequence-classification head, CNN
    /// frozen), to compare with tools/bench_pytorch_finetune.py.
    Finetune,
}

/// Options of `bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum)]
    pub what: BenchKind,
    /// logmel, augment: seconds of audio to process per measurement.
    #[arg(long, default_value_t = 600.0)]
    pub audio_secs: f64,
    /// inspect: number of files in the generated corpus.
    #[arg(long, default_value_t = 10_000)]
    pub files: usize,
    /// ssl, finetune: model folder; without it a random-init HuBERT-base (same compute).
    #[arg(long)]
    pub weights: Option<std::path::PathBuf>,
    /// ssl: batch size of the second measurement (the first is batch 1); finetune: the batch.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// finetune: seconds per training crop.
    #[arg(long, default_value_t = 4.0)]
    pub secs: f64,
    /// finetune: timed optimiser steps (after one warm-up step).
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// ssl, finetune: backend (auto, cpu, gpu).
    #[arg(long, default_value = "cpu")]
    pub backend: crate::train::BackendChoice,
    /// epoch: preset file (default: the built-in paper-full).
    #[arg(long)]
    pub preset: Option<std::path::PathBuf>,
    /// epoch: utterances in the synthetic corpus (RAVDESS: 1440).
    #[arg(long, default_value_t = 1440)]
    pub utterances: usize,
    /// epoch: width of the SSL part of a fused stream (HuBERT-base: 768).
    #[arg(long, default_value_t = 768)]
    pub ssl_dim: usize,
    /// epoch, ssl, logmel: passes (epoch: each a fresh model trained for one epoch; ssl: each
    /// timing the forward passes of batch 1 and of the chosen batch; logmel: each extracting all
    /// files, in each mode); the best is reported (these figures move by ±10–20 % between passes
    /// on a shared machine; tools/bench_librosa.py takes the same option).
    #[arg(long, default_value_t = 3)]
    pub passes: usize,
}

/// Runs the chosen benchmark.
pub fn run(a: BenchArgs) -> Result<()> {
    match a.what {
        BenchKind::Epoch => epoch(a.preset.as_deref(), a.utterances, a.ssl_dim, a.passes),
        BenchKind::Logmel => logmel(a.audio_secs, a.passes),
        BenchKind::Augment => augment(a.audio_secs),
        BenchKind::Inspect => inspect(a.files),
        BenchKind::Ssl => ssl(a.weights.as_deref(), a.batch, a.passes, a.backend),
        BenchKind::Finetune => finetune(a.weights.as_deref(), a.batch, a.secs, a.steps, a.backend),
    }
}

/// Enough 3 s test signals for `audio_secs` of audio (at least one), and the clip length.
fn test_clips(audio_secs: f64) -> (Vec<Vec<f32>>, f64) {
    let file_secs = 3.0;
    let n = ((audio_secs / file_secs).ceil() as usize).max(1);
    (
        (0..n).map(|i| test_signal(file_secs, i as u64)).collect(),
        file_secs,
    )
}

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

/// Throughput of each augmentation on 3 s clips, one thread (the training loop augments the
/// examples of a batch one after another).
pub fn augment(audio_secs: f64) -> Result<()> {
    use crate::audio::augment::{AugmentConfig, SpeedPerturb};
    let (files, file_secs) = test_clips(audio_secs);
    let n_files = files.len();
    let total_secs = n_files as f64 * file_secs;
    let only = |speed, pitch, noise| AugmentConfig {
        speed,
        pitch_semitones: pitch,
        noise_snr_db: noise,
        probability: 1.0,
    };
    let cases = [
        (
            "speed 0.9–1.1",
            only(Some(SpeedPerturb::Range(0.9, 1.1)), None, None),
        ),
        ("pitch ±2 semitones", only(None, Some((-2.0, 2.0)), None)),
        ("noise 10–30 dB", only(None, None, Some((10.0, 30.0)))),
        (
            "all three",
            only(
                Some(SpeedPerturb::Range(0.9, 1.1)),
                Some((-2.0, 2.0)),
                Some((10.0, 30.0)),
            ),
        ),
    ];
    let mut rng = SplitMix64::new(1);
    let _ = cases[3].1.apply(&files[0], &mut rng);
    println!(
        "augmentation, {n_files} clips × {file_secs} s = {total_secs:.0} s of audio, 1 thread"
    );
    let mut json = serde_json::Map::new();
    json.insert("bench".into(), "augment".into());
    let mut checksum = 0.0f64;
    for (name, cfg) in &cases {
        let t = Instant::now();
        for f in &files {
            checksum += cfg.apply(f, &mut rng)[0] as f64;
        }
        let rate = total_secs / t.elapsed().as_secs_f64();
        println!("  {name:<20} {rate:>10.1} s of audio per second");
        json.insert(name.to_string(), ((rate * 10.0).round() / 10.0).into());
    }
    // What a cached log-mel run adds per example: augment, then recompute the stream.
    let cfg = LogMelConfig::default();
    let t = Instant::now();
    for f in &files {
        let x = cases[3].1.apply(f, &mut rng);
        checksum += log_mel(&x, &cfg).data[0] as f64;
    }
    let rate = total_secs / t.elapsed().as_secs_f64();
    println!(
        "  {:<20} {rate:>10.1} s of audio per second",
        "all three + log-mel"
    );
    println!("  (checksum {checksum:.3})");
    json.insert(
        "all three + log-mel".into(),
        ((rate * 10.0).round() / 10.0).into(),
    );
    println!("{}", serde_json::Value::Object(json));
    Ok(())
}

/// Log-mel throughput (the paper defaults: n_fft 2048, hop 512, 128 bands) in seconds of audio per
/// second, on one thread and on all cores (one file per task, like corpus extraction): the best of
/// three passes over the files, as `tools/bench_librosa.py` reports librosa's.
pub fn logmel(audio_secs: f64, passes: usize) -> Result<()> {
    let passes = passes.max(1);
    let cfg = LogMelConfig::default();
    let (files, file_secs) = test_clips(audio_secs);
    let n_files = files.len();
    let total_secs = n_files as f64 * file_secs;
    // Warm-up (FFT planning, page faults) on this thread and on every pool thread (each keeps its
    // own extractor).
    let threads = rayon::current_num_threads();
    let _ = log_mel(&files[0], &cfg);
    rayon::broadcast(|_| log_mel(&files[0], &cfg).data[0]);

    let mut checksum = 0.0f64;
    let mut single = Vec::with_capacity(passes);
    let mut multi = Vec::with_capacity(passes);
    for _ in 0..passes {
        let t = Instant::now();
        for f in &files {
            checksum += log_mel(f, &cfg).data[0] as f64;
        }
        single.push(total_secs / t.elapsed().as_secs_f64());
    }
    for _ in 0..passes {
        let t = Instant::now();
        let sum: f64 = files
            .par_iter()
            .map(|f| log_mel(f, &cfg).data[0] as f64)
            .sum();
        multi.push(total_secs / t.elapsed().as_secs_f64());
        checksum += sum;
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (single_best, multi_best) = (best(&single), best(&multi));

    println!(
        "log-mel (n_fft {}, hop {}, {} mels), {n_files} files × {file_secs} s = {total_secs:.0} s of audio, best of {passes} passes",
        cfg.n_fft, cfg.hop_length_samples, cfg.n_mels
    );
    println!(
        "  1 thread:   {single_best:>10.1} s of audio per second  (passes: {})",
        list(&single)
    );
    println!(
        "  {threads} threads:  {multi_best:>10.1} s of audio per second  (passes: {})",
        list(&multi)
    );
    println!("  (checksum {checksum:.3})");
    println!(
        "{}",
        serde_json::json!({
            "bench": "logmel",
            "threads": threads,
            "audio_secs_per_sec": (multi_best * 10.0).round() / 10.0,
            "single_thread_audio_secs_per_sec": (single_best * 10.0).round() / 10.0,
        })
    );
    Ok(())
}

/// `inspect` speed on a corpus of `files` EMODB-named WAVs: reading every header, then again
/// with the header cache warm (a second `inspect` of an unchanged corpus).
pub fn inspect(files: usize) -> Result<()> {
    use crate::corpus::{self, emodb};
    let root = std::env::temp_dir().join(format!("ser-bench-inspect-{files}"));
    let wav = root.join("wav");
    let existing = std::fs::read_dir(&wav).map(|rd| rd.count()).unwrap_or(0);
    if existing != files {
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&wav)?;
        let x: Vec<f32> = (0..1600).map(|i| (i as f32 * 0.05).sin() * 0.2).collect();
        let mut n = 0;
        'outer: for version in 'a'..='z' {
            for text in 0..198u32 {
                let t = format!("{}{:02}", if text < 99 { 'a' } else { 'b' }, text % 99 + 1);
                for (spk, _) in emodb::SPEAKERS {
                    for (code, _) in emodb::EMOTION_CODES {
                        if n == files {
                            break 'outer;
                        }
                        crate::audio::write_wav_i16(
                            &wav.join(format!("{spk}{t}{code}{version}.wav")),
                            &x,
                            16_000,
                        )?;
                        n += 1;
                    }
                }
            }
        }
    }
    let cache_file = root.join("headers.json");
    let _ = std::fs::remove_file(&cache_file);
    let t = Instant::now();
    let m = corpus::load(&root, None)?;
    let headers_secs = t.elapsed().as_secs_f64();
    // Fill the cache, as the first `inspect` does, then time a fresh process-like start that
    // loads the cache file and only stats the files.
    corpus::header_cache::enable(&cache_file);
    corpus::load(&root, None)?;
    corpus::header_cache::save()?;
    corpus::header_cache::enable(&cache_file);
    let t = Instant::now();
    let m2 = corpus::load(&root, None)?;
    let cached_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        m.utterances.len() == files && m2.utterances.len() == files,
        "expected {files} utterances"
    );
    println!("inspect of {files} WAV files ({}):", root.display());
    println!("  reading every header:     {headers_secs:.3} s");
    println!("  with the header cache:    {cached_secs:.3} s");
    println!(
        "{}",
        serde_json::json!({"bench": "inspect", "files": files, "headers_secs": (headers_secs * 1000.0).round() / 1000.0, "cached_secs": (cached_secs * 1000.0).round() / 1000.0})
    );
    Ok(())
}

/// SSL encoder throughput (all hidden states, Flex CPU) in seconds of audio per second, batch 1
/// (three forward passes per timing) and batch `batch` (one), best of `passes` timings each; also
/// how much of the best batch-`batch` time the conv feature encoder takes (timed on its own).
pub fn ssl(
    weights: Option<&std::path::Path>,
    batch: usize,
    passes: usize,
    backend: crate::train::BackendChoice,
) -> Result<()> {
    use burn::prelude::*;
    let backend = crate::train::backend::select(backend).map_err(anyhow::Error::msg)?;
    let device = backend.device.clone();
    let (enc, name) = match weights {
        Some(w) => {
            let (e, c, _) = crate::ssl::load_encoder(w, &device).map_err(|e| anyhow::anyhow!(e))?;
            (e, format!("{} from {}", c.model_type, w.display()))
        }
        None => {
            let cfg = crate::ssl::EncoderConfig::default();
            device.seed(0);
            (
                crate::ssl::Wav2Vec2Encoder::new(&cfg, &device),
                "random-init HuBERT-base (12 × 768)".to_string(),
            )
        }
    };
    let secs = 4.0;
    let n = (secs * 16_000.0) as usize;
    let batch = batch.max(1);
    let passes = passes.max(1);
    // Seconds per forward pass (all hidden states read back) and per conv-encoder pass, best
    // of `passes` timings of `reps` passes each.
    let measure = |b: usize, reps: usize| -> (Vec<f64>, f64) {
        let x: Vec<f32> = (0..b * n)
            .map(|i| ((i as f32) * 0.013).sin() * 0.1)
            .collect();
        let input = || Tensor::<2>::from_data(TensorData::new(x.clone(), [b, n]), &device);
        // Warm-up (allocations, kernel selection).
        let _ = enc.forward(input(), None).hidden_states.into_data();
        let mut times = Vec::with_capacity(passes);
        let mut conv = f64::INFINITY;
        for _ in 0..passes {
            let t = Instant::now();
            for _ in 0..reps {
                let _ = enc.forward(input(), None).hidden_states.into_data();
            }
            times.push(t.elapsed().as_secs_f64() / reps as f64);
            let t = Instant::now();
            let _ = enc.features(enc.preprocess(input())).into_data();
            conv = conv.min(t.elapsed().as_secs_f64());
        }
        (times, conv)
    };
    let rate = |b: usize, t: f64| b as f64 * secs / t;
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let (t1, conv1) = measure(1, 3);
    let (tn, convn) = measure(batch, 1);
    let (b1, bn) = (rate(1, best(&t1)), rate(batch, best(&tn)));
    let list = |b: usize, v: &[f64]| {
        v.iter()
            .map(|&t| format!("{:.2}", rate(b, t)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "{name}, all hidden states, {} ({} threads{}), {secs} s utterances, best of {passes} passes:",
        backend.description,
        rayon::current_num_threads(),
        blas_kernels()
    );
    println!(
        "  batch 1: {b1:>8.2} s of audio per second  (passes: {}; conv encoder {:.0} % of the best)",
        list(1, &t1),
        100.0 * conv1 / best(&t1)
    );
    println!(
        "  batch {batch}: {bn:>8.2} s of audio per second  (passes: {}; conv encoder {:.0} % of the best)",
        list(batch, &tn),
        100.0 * convn / best(&tn)
    );
    println!(
        "{}",
        serde_json::json!({"bench": "ssl", "threads": rayon::current_num_threads(), "passes": passes, "batch1_audio_secs_per_sec": (b1 * 100.0).round() / 100.0, "batch": batch, "audio_secs_per_sec": (bn * 100.0).round() / 100.0})
    );
    Ok(())
}

/// Fine-tuning speed: optimiser steps per second of an encoder with the sequence-classification
/// head (CNN frozen, AdamW 1e-4, 8 classes), batch `batch` of `secs`-second crops, layer drop and
/// time masking off (as the PyTorch twin, tools/bench_pytorch_finetune.py, with dropout off).
pub fn finetune(
    weights: Option<&std::path::Path>,
    batch: usize,
    secs: f64,
    steps: usize,
    backend: crate::train::BackendChoice,
) -> Result<()> {
    use burn::prelude::*;

    use crate::ssl::classifier::{FineTuneConfig, SslClassifier};
    use crate::train::finetune::{FineTuner, audio_batch};
    let backend = crate::train::backend::select(backend).map_err(anyhow::Error::msg)?;
    let device = backend.device.clone().autodiff();
    device.seed(0);
    let ft = FineTuneConfig::default();
    let (model, name) = match weights {
        Some(w) => {
            let (m, resolved, _) =
                SslClassifier::load(w, &ft, 8, &device).map_err(anyhow::Error::msg)?;
            let c = resolved.encoder.expect("resolved");
            (m, format!("{} from {}", c.model_type, w.display()))
        }
        None => {
            let cfg = crate::ssl::EncoderConfig::default();
            (
                SslClassifier::new(&cfg, &ft, 8, &device).freeze(&ft),
                "random-init HuBERT-base (12 × 768)".to_string(),
            )
        }
    };
    let trainable = model.trainable_params();
    let training = crate::train::TrainingConfig {
        learning_rate: 1e-4,
        weight_decay: 0.01, // torch.optim.AdamW's default
        grad_clip_norm: None,
        ..Default::default()
    };
    let mut tuner = FineTuner::new(model, &training, &ft, None);
    let n = (secs * 16_000.0) as usize;
    let clips: Vec<Vec<f32>> = (0..batch.max(1))
        .map(|i| test_signal(secs, i as u64))
        .collect();
    let refs: Vec<&[f32]> = clips.iter().map(Vec::as_slice).collect();
    let labels: Vec<i64> = (0..batch.max(1) as i64).map(|i| i % 8).collect();
    let mut step = || {
        let (x, frames) = audio_batch(&refs, false, tuner.model(), &device);
        let logits = tuner
            .model()
            .forward_batch(x, &frames, &crate::text::TextBatch::None, None);
        let y =
            Tensor::<1, Int>::from_data(TensorData::new(labels.clone(), [labels.len()]), &device);
        let loss = crate::train::fit::cross_entropy(logits, y, None);
        let v = loss.clone().into_scalar::<f32>();
        tuner.backward(loss);
        tuner.step(1.0);
        v
    };
    let _ = step(); // warm-up
    let t = Instant::now();
    let mut last = 0.0;
    for _ in 0..steps.max(1) {
        last = step();
    }
    let sps = steps.max(1) as f64 / t.elapsed().as_secs_f64();
    println!(
        "{name}, sequence classification, CNN frozen, {} ({} threads): batch {batch} × {secs} s ({n} samples)",
        backend.description,
        rayon::current_num_threads()
    );
    println!(
        "  {sps:.3} optimiser steps per second ({trainable} trainable parameters, last loss {last:.4})"
    );
    println!(
        "{}",
        serde_json::json!({"bench": "finetune", "backend": backend.description, "threads": rayon::current_num_threads(), "batch": batch, "secs": secs, "steps_per_sec": (sps * 1e4).round() / 1e4, "trainable_params": trainable})
    );
    Ok(())
}

/// One training epoch of a preset's model on synthetic cached features of `utterances`
/// utterances (`frames` × the preset's bins, 8 classes) with as many unlabelled target
/// utterances when the preset adapts. Times the optimisation steps only (what
/// tools/bench_pytorch_paper.py times for the PyTorch twin of the paper's full model).
pub fn epoch(
    preset_path: Option<&std::path::Path>,
    utterances: usize,
    ssl_dim: usize,
    passes: usize,
) -> Result<()> {
    use crate::train::control::Controller;
    use crate::train::fit::{FoldInput, fit_fold};
    use crate::train::{Event, Preset, data::Example};
    let mut preset = match preset_path {
        Some(p) => Preset::load(p)?,
        None => Preset::builtin()
            .into_iter()
            .find(|p| p.name == "paper-full")
            .ok_or_else(|| anyhow::anyhow!("built-in preset paper-full missing"))?,
    };
    preset.training.epochs = 1;
    preset.training.early_stopping_patience = None;
    let f = &preset.features;
    let frames = f.max_frames();
    let split = f.stream_split();
    let bins = f.n_bins().max(f.logmel.n_mels) + if split.is_some() { ssl_dim } else { 0 };
    let classes: Vec<String> = (0..8).map(|c| format!("c{c}")).collect();
    let mut rng = SplitMix64::new(3);
    let mut make = |n: usize| -> Vec<Example> {
        (0..n)
            .map(|i| Example {
                values: (0..frames * bins)
                    .map(|_| (rng.uniform() * 3.46 - 1.73) as f32)
                    .collect(),
                label: i % classes.len(),
                target: Vec::new(),
                ..Default::default()
            })
            .collect()
    };
    let train = make(utterances);
    let adapting = preset.training.adaptation.is_some();
    let target = if adapting {
        make(utterances)
    } else {
        Vec::new()
    };
    let test = make(8);
    let device = burn::prelude::Device::flex();
    let train_device = device.clone().autodiff();
    let input = FoldInput {
        multi_label: None,
        fold: 0,
        train: &train,
        valid: &[],
        test: &test,
        target: &target,
        classes: &classes,
        frames,
        bins,
        seed: 1,
        dimensional: None,
        augment: None,
    };
    let mut times = Vec::new();
    let mut steps = 0;
    for _ in 0..passes.max(1) {
        // Each pass: the same fresh model, one epoch, timed to its last optimiser step.
        train_device.seed(1);
        let model = preset.model.init(
            crate::model::InputShape {
                frames,
                bins,
                split,
                text: 0,
            },
            classes.len(),
            &train_device,
        );
        let (_ctx, crx) = crossbeam_channel::unbounded();
        let controller = Controller::new(crx);
        let started = Instant::now();
        let last_step = std::sync::Mutex::new(started);
        let counted = std::sync::atomic::AtomicUsize::new(0);
        let emit = |e: Event| {
            if let Event::Step { .. } = e {
                *last_step.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        };
        fit_fold(&preset, &input, model, &device, &controller, &emit)
            .map_err(|_| anyhow::anyhow!("stopped"))?;
        times.push(
            last_step
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .duration_since(started)
                .as_secs_f64(),
        );
        steps = counted.load(std::sync::atomic::Ordering::Relaxed);
    }
    let secs = times.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "{} ({}): one epoch of {utterances} utterances × {frames} frames × {bins} bins{}, batch {}, {steps} steps, {} threads",
        preset.name,
        preset.model.name(),
        if adapting {
            " + target batches (adaptation)"
        } else {
            ""
        },
        preset.training.batch_size,
        rayon::current_num_threads()
    );
    println!(
        "  {secs:.2} s per epoch, best of {} passes ({}; {:.1} ms per step)",
        times.len(),
        times
            .iter()
            .map(|t| format!("{t:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
        secs * 1000.0 / steps.max(1) as f64
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "epoch",
            "preset": preset.name,
            "utterances": utterances,
            "frames": frames,
            "bins": bins,
            "batch": preset.training.batch_size,
            "steps": steps,
            "adaptation": adapting,
            "secs_per_epoch": secs,
            "passes": times,
        })
    );
    Ok(())
}

/// ", OpenBLAS <kernels>" for the figures' header (the kernel family decides CPU matmul speed).
fn blas_kernels() -> String {
    #[cfg(feature = "openblas")]
    return format!(", OpenBLAS {} kernels", gemm::openblas::core_name());
    #[cfg(not(feature = "openblas"))]
    String::new()
}
