//! Corpus readers on generated files named and laid out like the real corpora, including the
//! traps: malformed names, corrupt and empty WAVs, RAVDESS song and audio-visual files, unknown
//! labels, malformed CSV rows, 24-bit / float / 48 kHz files.

use std::path::Path;

use ser_workbench::corpus::{self, CorpusType, Emotion, Gender};

fn tone(secs: f32, rate: u32) -> Vec<f32> {
    (0..(secs * rate as f32) as usize)
        .map(|i| (i as f32 * 0.07).sin() * 0.2)
        .collect()
}

fn wav(path: &Path, rate: u32) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    ser_workbench::audio::write_wav_i16(path, &tone(0.5, rate), rate).expect("wav");
}

fn wav_spec(path: &Path, bits: u16, float: bool, channels: u16, rate: u32) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    for i in 0..(rate / 4) * channels as u32 {
        let v = (i as f32 * 0.01).sin() * 0.3;
        if float {
            w.write_sample(v).expect("s");
        } else {
            w.write_sample((v * ((1 << (bits - 1)) as f32 - 1.0)) as i32)
                .expect("s");
        }
    }
    w.finalize().expect("fin");
}

fn reason_for<'a>(m: &'a corpus::Manifest, file: &str) -> &'a str {
    m.skipped
        .iter()
        .find(|s| s.path.file_name().is_some_and(|n| n == file))
        .map(|s| s.reason.as_str())
        .unwrap_or_else(|| panic!("{file} not in skipped: {:?}", m.skipped))
}

#[test]
fn emodb_layout_with_traps() {
    let d = tempfile::tempdir().expect("tmp");
    let w = d.path().join("wav");
    wav(&w.join("03a01Fa.wav"), 16_000);
    wav(&w.join("16b10Wb.wav"), 16_000);
    wav_spec(&w.join("08a02Tc.wav"), 24, false, 1, 16_000);
    wav_spec(&w.join("09a04Ea.wav"), 32, true, 2, 48_000);
    wav(&w.join("03a01Xa.wav"), 16_000); // unknown emotion letter
    wav(&w.join("notes.wav"), 16_000); // not an EMODB name
    std::fs::write(w.join("11a01Na.wav"), b"RIFF....WAVEgarbage").expect("corrupt");
    ser_workbench::audio::write_wav_i16(&w.join("12a01La.wav"), &[], 16_000).expect("empty");

    assert_eq!(corpus::detect(d.path()).expect("detect"), CorpusType::Emodb);
    let m = corpus::load(d.path(), None).expect("load");
    assert_eq!(m.utterances.len(), 4, "{:?}", m.skipped);
    let u = m
        .utterances
        .iter()
        .find(|u| u.path.ends_with("16b10Wb.wav"))
        .expect("16b10Wb");
    assert_eq!(
        (
            u.emotion,
            u.gender,
            u.speaker_id.as_deref(),
            u.raw_label.as_str()
        ),
        (Emotion::Anger, Some(Gender::Female), Some("16"), "W")
    );
    let f = m
        .utterances
        .iter()
        .find(|u| u.path.ends_with("09a04Ea.wav"))
        .expect("float file");
    assert_eq!(f.sample_rate_hz, 48_000);
    assert!((f.duration_secs - 0.25).abs() < 1e-9);
    assert!(reason_for(&m, "03a01Xa.wav").contains("emotion code 'X'"));
    assert!(reason_for(&m, "notes.wav").contains("7 characters"));
    assert!(reason_for(&m, "11a01Na.wav").contains("WAV"));
    assert!(reason_for(&m, "12a01La.wav").contains("no audio"));
    // The 24-bit and the float stereo 48 kHz files decode to 16 kHz mono.
    for u in &m.utterances {
        let x = ser_workbench::audio::load_mono_16k(&u.path).expect("decode");
        assert!(
            (x.len() as f64 - u.duration_secs * 16_000.0).abs() <= 2.0,
            "{}",
            u.path.display()
        );
    }
}

#[test]
fn ravdess_layout_excludes_song_and_av_files() {
    let d = tempfile::tempdir().expect("tmp");
    let a = d.path().join("Actor_01");
    wav(&a.join("03-01-05-01-01-01-01.wav"), 48_000); // speech, anger
    wav(&a.join("03-01-02-02-02-01-01.wav"), 48_000); // speech, calm strong
    wav(&a.join("03-02-05-01-01-01-01.wav"), 48_000); // song
    wav(&a.join("01-01-05-01-01-01-01.wav"), 48_000); // audio extracted from the AV file
    wav(
        &d.path().join("Actor_02").join("03-01-09-01-01-01-02.wav"),
        48_000,
    ); // bad emotion
    let m = corpus::load(d.path(), None).expect("load");
    assert_eq!(m.corpus_type, "ravdess");
    assert_eq!(m.utterances.len(), 2);
    assert!(
        m.utterances
            .iter()
            .all(|u| u.gender == Some(Gender::Male) && u.speaker_id.as_deref() == Some("01"))
    );
    assert!(
        m.utterances
            .iter()
            .any(|u| u.emotion == Emotion::Calm && u.intensity.as_deref() == Some("strong"))
    );
    assert!(reason_for(&m, "03-02-05-01-01-01-01.wav").contains("song"));
    assert!(reason_for(&m, "01-01-05-01-01-01-01.wav").contains("duplicates"));
    assert!(reason_for(&m, "03-01-09-01-01-01-02.wav").contains("emotion code 09"));
}

#[test]
fn folder_per_label_and_unknown_labels() {
    let d = tempfile::tempdir().expect("tmp");
    wav(&d.path().join("angry").join("a1.wav"), 16_000);
    wav(&d.path().join("Happy").join("sub").join("h1.wav"), 22_050);
    wav(&d.path().join("sad").join("s1.wav"), 16_000);
    wav(&d.path().join("mumbling").join("m1.wav"), 16_000);
    assert_eq!(
        corpus::detect(d.path()).expect("detect"),
        CorpusType::FolderPerLabel
    );
    let m = corpus::load(d.path(), None).expect("load");
    let mut emotions: Vec<Emotion> = m.utterances.iter().map(|u| u.emotion).collect();
    emotions.sort();
    assert_eq!(
        emotions,
        vec![Emotion::Happiness, Emotion::Sadness, Emotion::Anger]
    );
    assert!(!m.speakers_known());
    assert!(reason_for(&m, "m1.wav").contains("'mumbling'"));
}

#[test]
fn csv_manifest_with_bad_rows() {
    let d = tempfile::tempdir().expect("tmp");
    wav(&d.path().join("clips").join("x.wav"), 16_000);
    wav(&d.path().join("clips").join("y.wav"), 16_000);
    std::fs::write(
        d.path().join("manifest.csv"),
        "path,label,speaker,gender,split\nclips/x.wav,angry,s1,F,train\nclips/y.wav,neutral,s2,m,test\nclips/z.wav,sad,s3,f,train\nclips/x.wav,grumpy,s1,f,train\n",
    )
    .expect("csv");
    assert_eq!(
        corpus::detect(d.path()).expect("detect"),
        CorpusType::CsvManifest
    );
    let m = corpus::load(d.path(), None).expect("load");
    assert_eq!(m.utterances.len(), 2);
    let x = &m.utterances[0];
    assert_eq!(
        (
            x.emotion,
            x.gender,
            x.speaker_id.as_deref(),
            x.split.as_deref()
        ),
        (
            Emotion::Anger,
            Some(Gender::Female),
            Some("s1"),
            Some("train")
        )
    );
    assert_eq!(m.skipped.len(), 2, "{:?}", m.skipped);
    assert!(reason_for(&m, "z.wav").contains("cannot read WAV"));
    assert!(m.skipped.iter().any(|s| s.reason.contains("'grumpy'")));
}

#[test]
fn undetectable_folder_and_missing_folder_are_clear_errors() {
    let d = tempfile::tempdir().expect("tmp");
    std::fs::write(d.path().join("readme.txt"), "hello").expect("w");
    let e = corpus::load(d.path(), None)
        .expect_err("undetectable")
        .to_string();
    assert!(e.contains("--corpus-type"), "{e}");
    let e = corpus::load(&d.path().join("nope"), None)
        .expect_err("missing")
        .to_string();
    assert!(e.contains("nope"), "{e}");
    // Explicit override reads the folder with the chosen reader.
    let m = corpus::load(d.path(), Some(CorpusType::Emodb)).expect("override");
    assert!(m.utterances.is_empty());
}
