//! Every corpus reader on generated files laid out like the real corpus, the protocols that need
//! corpus metadata (sessions, official splits, several corpora), label maps, other audio formats,
//! and a check of every protocol preset.

mod common;

use std::path::Path;

use common::layouts;
use ser_workbench::corpus::label_map::LabelMap;
use ser_workbench::corpus::protocol_preset::ProtocolPreset;
use ser_workbench::corpus::split::plan;
use ser_workbench::corpus::{self, CorpusType, Emotion, Gender, Manifest, Protocol};

fn reason<'a>(m: &'a Manifest, file: &str) -> &'a str {
    m.skipped
        .iter()
        .find(|s| s.path.to_string_lossy().ends_with(file))
        .map(|s| s.reason.as_str())
        .unwrap_or_else(|| panic!("{file} not skipped: {:?}", m.skipped))
}

#[test]
fn cremad_with_demographics_known_silent_and_bad_names() {
    let d = tempfile::tempdir().expect("tmp");
    layouts::cremad(d.path(), 1001..=1004);
    assert_eq!(
        corpus::detect(d.path()).expect("detect"),
        CorpusType::CremaD
    );
    let m = corpus::load(d.path(), None).expect("load");
    assert_eq!(m.utterances.len(), 4 * 6 * 2);
    let u = m
        .utterances
        .iter()
        .find(|u| u.path.ends_with("1002_DFA_HAP_XX.wav"))
        .expect("u");
    assert_eq!(
        (u.emotion, u.gender, u.speaker_id.as_deref()),
        (Emotion::Happiness, Some(Gender::Female), Some("1002"))
    );
    assert!(reason(&m, "1076_MTI_SAD_XX.wav").contains("silent"));
    assert!(reason(&m, "1001_XYZ_ANG_XX.wav").contains("sentence code 'XYZ'"));
    // The silence scan finds what the name list knows, from the audio itself.
    let mut all = m.clone();
    all.utterances.push({
        let mut s = all.utterances[0].clone();
        s.path = d.path().join("AudioWAV/1076_MTI_SAD_XX.wav");
        s
    });
    let silent = corpus::inspect::scan_silence(&all);
    assert_eq!(silent.len(), 1);
}

#[test]
fn tess_flags_the_96_khz_file() {
    let d = tempfile::tempdir().expect("tmp");
    layouts::tess(d.path());
    assert_eq!(corpus::detect(d.path()).expect("detect"), CorpusType::Tess);
    let m = corpus::load(d.path(), None).expect("load");
    assert_eq!(m.utterances.len(), 28);
    assert!(
        m.utterances
            .iter()
            .all(|u| u.gender == Some(Gender::Female))
    );
    assert_eq!(
        m.utterances
            .iter()
            .filter(|u| u.emotion == Emotion::Surprise)
            .count(),
        4
    );
    assert_eq!(m.flagged.len(), 1);
    assert!(m.flagged[0].reason.contains("96000 Hz"), "{:?}", m.flagged);
}

#[test]
fn savee_both_layouts() {
    for flat in [false, true] {
        let d = tempfile::tempdir().expect("tmp");
        layouts::savee(d.path(), flat);
        assert_eq!(
            corpus::detect(d.path()).expect("detect"),
            CorpusType::Savee,
            "flat={flat}"
        );
        let m = corpus::load(d.path(), None).expect("load");
        assert_eq!(m.utterances.len(), 56, "flat={flat}");
        assert_eq!(m.per_speaker().len(), 4);
        assert!(m.utterances.iter().all(|u| u.gender == Some(Gender::Male)));
    }
}

#[test]
fn iemocap_labels_speakers_sessions_transcripts() {
    let d = tempfile::tempdir().expect("tmp");
    layouts::iemocap(d.path(), 2);
    std::fs::remove_file(
        d.path()
            .join("Session2/sentences/wav/Ses02F_impro01/Ses02F_impro01_M001.wav"),
    )
    .expect("rm");
    assert_eq!(
        corpus::detect(d.path()).expect("detect"),
        CorpusType::Iemocap
    );
    let m = corpus::load(d.path(), None).expect("load");
    // 2 sessions × 2 dialogs × 8 utterances, minus the xxx rows (no majority emotion: kept
    // apart for dimensional runs, with their V/A/D), minus the missing file.
    let xxx = m.uncategorised.len();
    assert!(xxx >= 2);
    assert!(
        m.uncategorised
            .iter()
            .all(|u| u.raw_label == "xxx" && u.valence == Some(2.5))
    );
    assert_eq!(m.utterances.len(), 32 - xxx - 1);
    assert!(reason(&m, "Ses02F_impro01_M001.wav").contains("cannot read"));
    let u = m
        .utterances
        .iter()
        .find(|u| u.path.ends_with("Ses01F_impro01_M001.wav"))
        .expect("u");
    // Speaker from the letter after the LAST underscore, not the dialog prefix.
    assert_eq!(
        (u.speaker_id.as_deref(), u.gender, u.session.as_deref()),
        (Some("Ses01M"), Some(Gender::Male), Some("Session1"))
    );
    assert_eq!(u.style.as_deref(), Some("improvised"));
    assert_eq!(u.transcript.as_deref(), Some("Sentence number 1."));
    assert_eq!(
        (u.valence, u.arousal, u.dominance),
        (Some(2.5), Some(3.0), Some(3.5))
    );
    let s = m
        .utterances
        .iter()
        .find(|u| u.path.to_string_lossy().contains("script"))
        .expect("scripted");
    assert_eq!(s.style.as_deref(), Some("scripted"));
    assert_eq!(m.per_speaker().len(), 4);

    // 4-class: excitement merged into happiness, frustration dropped (and reported).
    let mut four = m.clone();
    let r = LabelMap::named("iemocap-4").expect("map").apply(&mut four);
    assert!(r.merged.keys().any(|k| k.starts_with("exc")));
    assert!(r.dropped.keys().any(|k| k.starts_with("fru")));
    let classes: std::collections::BTreeSet<Emotion> =
        four.utterances.iter().map(|u| u.emotion).collect();
    assert!(classes.iter().all(|e| {
        [
            Emotion::Anger,
            Emotion::Happiness,
            Emotion::Neutral,
            Emotion::Sadness,
        ]
        .contains(e)
    }));

    let p = plan(&four.utterances, Protocol::SessionLoso, 1, 0.2).expect("session-loso");
    assert_eq!(p.folds.len(), 2);
    assert!(p.speaker_independent);
}

#[test]
fn casia_and_esd_layouts() {
    let d = tempfile::tempdir().expect("tmp");
    layouts::casia(d.path());
    assert_eq!(corpus::detect(d.path()).expect("detect"), CorpusType::Casia);
    let m = corpus::load(d.path(), None).expect("load");
    assert_eq!(m.utterances.len(), 48);
    assert_eq!(
        m.utterances
            .iter()
            .filter(|u| u.gender == Some(Gender::Male))
            .count(),
        24
    );

    let d = tempfile::tempdir().expect("tmp");
    layouts::esd(d.path(), &["0001", "0002", "0011", "0012", "0013"]);
    assert_eq!(corpus::detect(d.path()).expect("detect"), CorpusType::Esd);
    let m = corpus::load(d.path(), None).expect("load");
    assert_eq!(m.utterances.len(), 5 * 5 * 5);
    let splits: std::collections::BTreeMap<String, usize> =
        m.utterances.iter().fold(Default::default(), |mut acc, u| {
            *acc.entry(u.split.clone().unwrap_or_default()).or_insert(0) += 1;
            acc
        });
    assert_eq!(splits.get("train"), Some(&75));
    assert_eq!(splits.get("valid"), Some(&25));
    assert_eq!(splits.get("test"), Some(&25));
    // The official ESD split shares speakers: labelled speaker-dependent, not refused.
    let p = plan(&m.utterances, Protocol::Official, 1, 0.1).expect("official");
    assert!(!p.speaker_independent);
    assert!(!p.leakage[0].speakers_in_train_and_test.is_empty());
}

#[test]
fn msp_podcast_official_split_old_spelling() {
    let d = tempfile::tempdir().expect("tmp");
    layouts::msp_podcast(d.path());
    assert_eq!(
        corpus::detect(d.path()).expect("detect"),
        CorpusType::MspPodcast
    );
    let m = corpus::load(d.path(), None).expect("load");
    assert_eq!(m.utterances.len(), 48);
    // The no-agreement row is not a class but keeps its dimensions.
    assert_eq!(m.uncategorised.len(), 1);
    assert_eq!(m.uncategorised[0].raw_label, "X");
    assert_eq!(m.uncategorised[0].arousal, Some(4.0));
    let u = &m.utterances[0];
    assert_eq!(
        (u.arousal, u.valence, u.dominance),
        (Some(4.2), Some(3.8), Some(4.0))
    );
    let p = plan(&m.utterances, Protocol::Official, 1, 0.1).expect("official");
    assert!(p.speaker_independent);
    assert_eq!(p.folds[0].test.len(), 16);
    assert_eq!(p.folds[0].valid.len(), 8);
}

#[test]
fn multi_corpus_union_and_leave_one_corpus_out() {
    let demo = common::small_demo();
    let mut m = corpus::load_many(&[demo.join("emodb"), demo.join("ravdess")], None).expect("load");
    assert_eq!(m.corpus_type, "multi(emodb+ravdess)");
    assert!(m.utterances.iter().all(|u| {
        u.speaker_id
            .as_deref()
            .is_some_and(|s| s.starts_with(&u.corpus))
    }));
    let by: Vec<Manifest> = ["emodb", "ravdess"]
        .iter()
        .map(|c| Manifest {
            utterances: m
                .utterances
                .iter()
                .filter(|u| u.corpus == *c)
                .cloned()
                .collect(),
            ..Default::default()
        })
        .collect();
    let inter = LabelMap::intersection(&[&by[0], &by[1]]);
    let r = inter.apply(&mut m);
    assert!(
        r.dropped.contains_key("L (boredom)")
            && r.dropped.contains_key("02 (calm)")
            && r.dropped.contains_key("08 (surprise)")
    );
    let classes: std::collections::BTreeSet<Emotion> =
        m.utterances.iter().map(|u| u.emotion).collect();
    assert_eq!(classes.len(), 6);
    let p = plan(&m.utterances, Protocol::LeaveOneCorpusOut, 1, 0.15).expect("loco");
    assert_eq!(
        p.folds.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        vec!["test-emodb", "test-ravdess"]
    );
    assert!(p.speaker_independent);
    for f in &p.folds {
        let test_corpus = &m.utterances[f.test[0]].corpus;
        assert!(
            f.train
                .iter()
                .chain(&f.valid)
                .all(|&i| &m.utterances[i].corpus != test_corpus)
        );
    }
}

#[test]
fn flac_mp3_ogg_decode_to_16k_mono() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio");
    for f in ["tone.flac", "tone.mp3", "tone.ogg"] {
        let p = dir.join(f);
        let h = ser_workbench::audio::read_audio_header(&p).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            h.sample_rate_hz == 22_050 || h.sample_rate_hz == 44_100,
            "{f}: {h:?}"
        );
        let x = ser_workbench::audio::load_mono_16k(&p).unwrap_or_else(|e| panic!("{e}"));
        // 0.4 s of a 440 Hz tone at amplitude 0.5 (MP3 adds encoder padding of up to ~50 ms).
        assert!(
            (x.len() as f64 - 6400.0).abs() < 1200.0,
            "{f}: {} samples",
            x.len()
        );
        let peak = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        assert!((0.35..0.6).contains(&peak), "{f}: peak {peak}");
        let zc = x[800..5600]
            .windows(2)
            .filter(|w| w[0] <= 0.0 && w[1] > 0.0)
            .count();
        assert!(
            (125..=139).contains(&zc),
            "{f}: {zc} upward zero crossings in 0.3 s (expect 132)"
        );
    }
    // A corrupt FLAC names the file.
    let d = tempfile::tempdir().expect("tmp");
    let bad = d.path().join("broken.flac");
    std::fs::write(&bad, b"fLaC\x00\x00garbage").expect("w");
    assert!(
        ser_workbench::audio::load_mono_16k(&bad)
            .expect_err("corrupt")
            .to_string()
            .contains("broken.flac")
    );
    // Folder-per-label picks up FLAC files.
    let c = d.path().join("corpus");
    std::fs::create_dir_all(c.join("angry")).expect("mkdir");
    std::fs::copy(dir.join("tone.flac"), c.join("angry/a.flac")).expect("cp");
    let m = corpus::load(&c, None).expect("load");
    assert_eq!(m.utterances.len(), 1);
}

/// Every protocol preset on a corpus of its type: speaker-independent unless the preset itself
/// says it is not (ESD official), never a leak.
#[test]
fn every_protocol_preset_is_speaker_independent_unless_declared() {
    for p in ProtocolPreset::builtin().expect("presets") {
        let d = tempfile::tempdir().expect("tmp");
        let mut m = match p.corpus_type.as_str() {
            "emodb" => corpus::load(&common::small_demo().join("emodb"), None),
            "ravdess" => {
                layouts::ravdess(d.path(), 6);
                corpus::load(d.path(), None)
            }
            "multi" => corpus::load_many(
                &[
                    common::small_demo().join("emodb"),
                    common::small_demo().join("ravdess"),
                ],
                None,
            ),
            "iemocap" => {
                layouts::iemocap(d.path(), 5);
                corpus::load(d.path(), None)
            }
            "casia" => {
                layouts::casia(d.path());
                corpus::load(d.path(), None)
            }
            "savee" => {
                layouts::savee(d.path(), false);
                corpus::load(d.path(), None)
            }
            "crema-d" => {
                layouts::cremad(d.path(), 1001..=1010);
                corpus::load(d.path(), None)
            }
            "esd" => {
                layouts::esd(d.path(), &["0001", "0002", "0003", "0011", "0012", "0013"]);
                corpus::load(d.path(), None)
            }
            "msp-podcast" => {
                layouts::msp_podcast(d.path());
                corpus::load(d.path(), None)
            }
            other => panic!("{}: no generator for corpus type {other}", p.name),
        }
        .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        if let Some(map) = &p.label_map {
            LabelMap::named(map).expect("map").apply(&mut m);
        }
        let protocol: Protocol = p.protocol.parse().expect("protocol");
        let sp =
            plan(&m.utterances, protocol, 3, 0.15).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        assert_eq!(sp.speaker_independent, !p.speaker_dependent, "{}", p.name);
        for l in &sp.leakage {
            assert!(l.files_in_two_parts.is_empty(), "{}: {:?}", p.name, l);
            if !p.speaker_dependent {
                assert!(
                    l.speakers_in_train_and_test.is_empty(),
                    "{}: {:?}",
                    p.name,
                    l
                );
            }
        }
    }
}
