//! The live streaming path driven by a WAV file (the same path the microphone uses): windowing,
//! silence gating, smoothing, a known emotion segment changing the top class, and the
//! no-device path.

mod common;

use std::path::Path;
use std::time::Duration;

use ser_workbench::live::{
    LiveConfig, LiveEvent, LiveFrame, LiveInput, StreamingPredictor, spawn_live,
};
use ser_workbench::train::predict::Predictor;
use ser_workbench::train::{BackendChoice, Event, RunRequest, RunState, spawn_training};

/// Flex's RNG is process-wide: trainings in this binary take turns so each sees only its seed.
static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Trains an anger-vs-sadness model on the small demo corpus (seconds).
fn train_two_class(dir: &Path) -> std::path::PathBuf {
    train_two_class_with(dir, ser_workbench::features::Normalisation::TrainingSet)
}

/// [`train_two_class`] with the given normalisation.
fn train_two_class_with(
    dir: &Path,
    normalisation: ser_workbench::features::Normalisation,
) -> std::path::PathBuf {
    let _guard = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let map = dir.join("two.ron");
    std::fs::write(
        &map,
        "(name: \"anger-sadness\", keep: Some([anger, sadness]))",
    )
    .expect("map");
    let mut preset = common::tiny_preset();
    preset.training.epochs = 12;
    preset.features.normalisation = normalisation;
    let run = dir.join("run");
    let req = RunRequest {
        preset,
        corpus_dirs: vec![common::small_demo().join("emodb")],
        label_map: Some(map.display().to_string()),
        target_corpus: None,
        corpus_type: None,
        protocol: Some(ser_workbench::corpus::Protocol::Holdout(0.2)),
        seed: Some(1),
        out_dir: Some(run.clone()),
        cache_dir: dir.join("cache"),
        backend: BackendChoice::Cpu,
        folds: ser_workbench::train::FoldScope::All,
    };
    let h = spawn_training(req, None).expect("spawn");
    for ev in h.events.iter() {
        if let Event::State(RunState::Failed(m)) = ev {
            panic!("training failed: {m}");
        }
    }
    run
}

/// 1 s of silence, three anger utterances, 1 s of silence, three sadness utterances.
fn test_signal(path: &Path) -> (f64, f64, f64) {
    let wav = common::small_demo().join("emodb/wav");
    let mut x = vec![0.0f32; 16_000];
    for f in ["03a01Wa", "10a01Wa", "13a01Wa"] {
        x.extend(ser_workbench::audio::load_mono_16k(&wav.join(format!("{f}.wav"))).expect("wav"));
    }
    let anger_end = x.len() as f64 / 16_000.0;
    x.extend(vec![0.0; 16_000]);
    let sad_start = x.len() as f64 / 16_000.0;
    for f in ["03a01Ta", "10a01Ta", "13a01Ta"] {
        x.extend(ser_workbench::audio::load_mono_16k(&wav.join(format!("{f}.wav"))).expect("wav"));
    }
    ser_workbench::audio::write_wav_i16(path, &x, 16_000).expect("write");
    (anger_end, sad_start, x.len() as f64 / 16_000.0)
}

fn frames(run: &Path, input: &Path, cfg: LiveConfig) -> (Vec<String>, Vec<LiveFrame>) {
    let h = spawn_live(
        run.to_path_buf(),
        LiveInput::File {
            path: input.to_path_buf(),
            realtime: false,
        },
        cfg,
        None,
    )
    .expect("spawn");
    let mut classes = Vec::new();
    let mut out = Vec::new();
    while let Ok(ev) = h.events.recv_timeout(Duration::from_secs(60)) {
        match ev {
            LiveEvent::Started { classes: c, .. } => classes = c,
            LiveEvent::Frame(f) => out.push(f),
            LiveEvent::Failed(m) => panic!("{m}"),
            LiveEvent::Ended(_) => break,
            _ => {}
        }
    }
    (classes, out)
}

#[test]
fn streaming_windows_gating_smoothing_and_emotion_change() {
    let d = tempfile::tempdir().expect("tmp");
    let run = train_two_class(d.path());
    let input = d.path().join("in.wav");
    let (anger_end, sad_start, total) = test_signal(&input);
    let cfg = LiveConfig {
        window_secs: 1.0,
        hop_secs: 0.25,
        smoothing_windows: 3,
        gate_dbfs: -45.0,
        transcript: None,
        enrol_secs: 5.0,
    };
    let (classes, fr) = frames(&run, &input, cfg.clone());
    assert_eq!(classes, vec!["anger".to_string(), "sadness".to_string()]);
    // A run standardised by its training set has no speaker statistics to gather.
    assert!(fr.iter().all(|f| f.speaker.is_none()));
    // One frame per completed hop.
    assert_eq!(fr.len(), (total / 0.25).floor() as usize);
    assert!((fr[0].end_secs - 0.25).abs() < 1e-9);
    // The leading second of digital silence is gated: no classification.
    assert!(
        fr.iter()
            .take(4)
            .all(|f| f.silent && f.raw.is_none() && f.top.is_none())
    );
    // Smoothing: each smoothed vector is the mean of the last ≤3 raw vectors.
    let mut hist: Vec<Vec<f32>> = Vec::new();
    for f in &fr {
        if let Some(r) = &f.raw {
            hist.push(r.clone());
            let last: Vec<&Vec<f32>> = hist.iter().rev().take(3).collect();
            for (k, s) in f.smoothed.iter().enumerate() {
                let mean = last.iter().map(|v| v[k]).sum::<f32>() / last.len() as f32;
                assert!((s - mean).abs() < 1e-5);
            }
        }
    }
    // Windows that lie wholly inside a segment are classified as that segment (majority).
    let top_in = |a: f64, b: f64| -> Vec<usize> {
        fr.iter()
            .filter(|f| f.end_secs - 1.0 >= a && f.end_secs <= b)
            .filter_map(|f| f.raw.as_ref().map(|r| if r[0] >= r[1] { 0 } else { 1 }))
            .collect()
    };
    let anger = top_in(1.0, anger_end);
    let sad = top_in(sad_start, total);
    let share = |v: &[usize], k: usize| {
        v.iter().filter(|&&c| c == k).count() as f64 / v.len().max(1) as f64
    };
    assert!(!anger.is_empty() && !sad.is_empty());
    assert!(
        share(&anger, 0) > 0.6,
        "anger windows classified anger: {anger:?}"
    );
    assert!(
        share(&sad, 1) > 0.6,
        "sadness windows classified sadness: {sad:?}"
    );

    // Input that runs ahead of inference (one batch completing many hops, as after a slow
    // prediction): only the newest window is classified, the others are counted as skipped, and
    // its latency counts from when that window's last sample arrived — here 0.1 s (1600
    // samples) before the batch's last one.
    let x = ser_workbench::audio::load_mono_16k(&input).expect("wav");
    let n = (x.len() - 1600) / 4000;
    let mut sp = StreamingPredictor::new(Predictor::load(&run).expect("run"), cfg.clone())
        .expect("valid settings");
    let out = sp.push(&x[..n * 4000 + 1600], std::time::Instant::now());
    assert_eq!(out.len(), 1, "one frame for the batch");
    assert_eq!(out[0].skipped_before, n - 1);
    assert_eq!(sp.skipped(), n - 1);
    assert!((out[0].end_secs - n as f64 * 0.25).abs() < 1e-9);
    assert!(out[0].latency_ms >= 100.0, "latency {}", out[0].latency_ms);
    // Fed hop by hop, nothing is skipped.
    let mut sp = StreamingPredictor::new(Predictor::load(&run).expect("run"), cfg.clone())
        .expect("valid settings");
    let per_hop: Vec<LiveFrame> = x[..n * 4000]
        .chunks(4000)
        .flat_map(|c| sp.push(c, std::time::Instant::now()))
        .collect();
    assert_eq!(per_hop.len(), n);
    assert!(per_hop.iter().all(|f| f.skipped_before == 0));
}

/// A run trained per speaker gathers the live speaker's statistics from non-silent windows
/// only, switches to them after `enrol_secs` of speech, and starts over for a new speaker;
/// `predict`'s speaker statistics change the probabilities, and a training-set run ignores
/// them.
#[test]
fn per_speaker_runs_enrol_the_live_speaker() {
    use ser_workbench::features::Normalisation;
    let d = tempfile::tempdir().expect("tmp");
    let run = train_two_class_with(d.path(), Normalisation::PerSpeaker);
    let input = d.path().join("in.wav");
    test_signal(&input);
    let x = ser_workbench::audio::load_mono_16k(&input).expect("wav");
    let cfg = LiveConfig {
        window_secs: 1.0,
        hop_secs: 0.25,
        smoothing_windows: 3,
        gate_dbfs: -45.0,
        transcript: None,
        enrol_secs: 2.0,
    };
    let mut sp = StreamingPredictor::new(Predictor::load(&run).expect("run"), cfg.clone())
        .expect("valid settings");
    let fr: Vec<LiveFrame> = x
        .chunks(4000)
        .flat_map(|c| sp.push(c, std::time::Instant::now()))
        .collect();
    let state: Vec<_> = fr
        .iter()
        .map(|f| f.speaker.expect("per-speaker run"))
        .collect();
    // The leading second of silence adds nothing.
    assert!(state.iter().take(4).all(|s| s.secs == 0.0 && !s.in_use));
    // Seconds only grow; the statistics are used from the first window with ≥ 2 s heard on.
    assert!(state.windows(2).all(|w| w[1].secs >= w[0].secs));
    let first = state.iter().position(|s| s.in_use).expect("enrolled");
    assert!(state[first].secs >= 2.0 && state[first - 1].secs < 2.0);
    assert!(state[first..].iter().all(|s| s.in_use));
    // Every sample from the first non-silent window on enters once (the gate decides per
    // window, so silence sharing a window with speech counts, as utterances' own pauses do in
    // training), and nothing before it.
    let first_voiced = fr.iter().find(|f| !f.silent).expect("speech").end_secs - 1.0;
    let heard = state.last().expect("frames").secs as f64;
    let want = fr.last().expect("frames").end_secs - first_voiced;
    assert!(
        first_voiced > 0.0 && (heard - want).abs() < 1e-3,
        "heard {heard} s, want {want} s"
    );
    // A new speaker starts over: the next frame holds at most one hop of them, the
    // training-set statistics stand in again.
    sp.new_speaker();
    let start = 2 * 16_000;
    let next = sp.push(&x[start..start + 4000], std::time::Instant::now());
    let s = next[0].speaker.expect("state");
    assert!(!s.in_use && s.secs > 0.0 && s.secs <= 0.25 + 1e-6, "{s:?}");

    // predict: speaker statistics from the utterance itself change the probabilities.
    let clip =
        ser_workbench::audio::load_mono_16k(&common::small_demo().join("emodb/wav/03a01Wa.wav"))
            .expect("wav");
    let mut p = Predictor::load(&run).expect("run");
    assert!(p.per_speaker());
    let before = p.predict_samples(&clip);
    let stats = p.speaker_statistics(std::slice::from_ref(&clip));
    p.set_speaker(Some(stats.clone()));
    assert!(p.has_speaker());
    let after = p.predict_samples(&clip);
    assert!((after.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    assert!(
        before.iter().zip(&after).any(|(a, b)| (a - b).abs() > 1e-4),
        "{before:?} vs {after:?}"
    );
    // A run standardised by its training set ignores speaker statistics.
    let set_dir = d.path().join("set");
    std::fs::create_dir_all(&set_dir).expect("dir");
    let mut q = Predictor::load(&train_two_class(&set_dir)).expect("run");
    assert!(!q.per_speaker());
    let plain = q.predict_samples(&clip);
    q.set_speaker(Some(stats));
    assert!(!q.has_speaker());
    assert_eq!(q.predict_samples(&clip), plain);
}

#[test]
fn no_input_device_fails_cleanly() {
    let d = tempfile::tempdir().expect("tmp");
    // Even a missing run is a message, not a panic.
    let h = spawn_live(
        d.path().join("no-run"),
        LiveInput::Microphone { device_id: None },
        LiveConfig::default(),
        None,
    )
    .expect("spawn");
    match h.events.recv_timeout(Duration::from_secs(30)) {
        Ok(LiveEvent::Failed(m)) => assert!(m.contains("no-run"), "{m}"),
        other => panic!("expected Failed, got {other:?}"),
    }
    // With a valid run, an unknown device is reported by name.
    let run = train_two_class(d.path());
    let h = spawn_live(
        run,
        LiveInput::Microphone {
            device_id: Some("alsa:no-such-mic".into()),
        },
        LiveConfig::default(),
        None,
    )
    .expect("spawn");
    match h.events.recv_timeout(Duration::from_secs(30)) {
        Ok(LiveEvent::Failed(m)) => {
            assert!(m.contains("'alsa:no-such-mic'"), "{m}")
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}
