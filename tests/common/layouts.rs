//! Generators of tiny corpora laid out and named like the real ones (for reader, protocol and
//! preset tests). Every file is a short tone; what matters is names, folders and label files.

use std::path::Path;

/// Writes a 0.25 s tone (or silence) as 16-bit WAV at `rate`.
pub fn tone(path: &Path, rate: u32, silent: bool) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let n = rate as usize / 4;
    let x: Vec<f32> = (0..n)
        .map(|i| {
            if silent {
                0.0
            } else {
                (i as f32 * 0.06).sin() * 0.25
            }
        })
        .collect();
    ser_workbench::audio::write_wav_i16(path, &x, rate).expect("wav");
}

/// CREMA-D: `AudioWAV/<actor>_<sentence>_<emo>_<level>.wav` + `VideoDemographics.csv`, the
/// known-silent file and one malformed name.
pub fn cremad(root: &Path, actors: std::ops::RangeInclusive<u32>) {
    let a = root.join("AudioWAV");
    let mut demo = String::from("ActorID,Age,Sex,Race,Ethnicity\n");
    for actor in actors {
        demo.push_str(&format!(
            "{actor},30,{},Caucasian,Not Hispanic\n",
            if actor % 2 == 0 { "Female" } else { "Male" }
        ));
        for emo in ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"] {
            for sentence in ["DFA", "IEO"] {
                tone(
                    &a.join(format!("{actor}_{sentence}_{emo}_XX.wav")),
                    16_000,
                    false,
                );
            }
        }
    }
    std::fs::write(root.join("VideoDemographics.csv"), demo).expect("csv");
    tone(&a.join("1076_MTI_SAD_XX.wav"), 16_000, true);
    tone(&a.join("1001_XYZ_ANG_XX.wav"), 16_000, false);
}

/// TESS: `<SPK>_<word>_<emotion>.wav` in per-speaker/emotion folders; one file at 96 kHz.
pub fn tess(root: &Path) {
    for spk in ["OAF", "YAF"] {
        for emo in ["angry", "disgust", "fear", "happy", "ps", "sad", "neutral"] {
            for word in ["back", "bar"] {
                let rate = if spk == "YAF" && emo == "sad" && word == "bar" {
                    96_000
                } else {
                    24_414
                };
                tone(
                    &root
                        .join(format!("{spk}_{emo}"))
                        .join(format!("{spk}_{word}_{emo}.wav")),
                    rate,
                    false,
                );
            }
        }
    }
}

/// SAVEE in the speaker-folder layout (`DC/a01.wav`) or flat (`DC_a01.wav`).
pub fn savee(root: &Path, flat: bool) {
    for spk in ["DC", "JE", "JK", "KL"] {
        for code in ["a", "d", "f", "h", "n", "sa", "su"] {
            for n in 1..=2 {
                let p = if flat {
                    root.join(format!("{spk}_{code}{n:02}.wav"))
                } else {
                    root.join(spk).join(format!("{code}{n:02}.wav"))
                };
                tone(&p, 44_100, false);
            }
        }
    }
}

/// IEMOCAP: sessions with an improvised and a scripted dialog each, EmoEvaluation files (with the
/// header and per-annotator lines real files have) and transcripts.
pub fn iemocap(root: &Path, sessions: usize) {
    let codes = ["neu", "hap", "ang", "sad", "exc", "fru", "xxx", "neu"];
    for s in 1..=sessions {
        let sdir = root.join(format!("Session{s}"));
        for (d, dialog) in [
            format!("Ses{s:02}F_impro01"),
            format!("Ses{s:02}M_script01_1"),
        ]
        .iter()
        .enumerate()
        {
            let mut eval =
                String::from("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n");
            let mut trans = String::new();
            for (k, who) in ["F", "M", "F", "M", "F", "M", "F", "M"].iter().enumerate() {
                let utt = format!("{dialog}_{who}{k:03}");
                let code = codes[(k + d + s) % codes.len()];
                eval.push_str(&format!(
                    "[{:.4} - {:.4}]\t{utt}\t{code}\t[2.5000, 3.0000, 3.5000]\n",
                    k as f64,
                    k as f64 + 0.9
                ));
                eval.push_str("C-E2:\tNeutral;\t()\nA-E3:\tval 3; act 2; dom  2;\t()\n\n");
                trans.push_str(&format!(
                    "{utt} [{:06.4}-{:06.4}]: Sentence number {k}.\n",
                    k as f64,
                    k as f64 + 0.9
                ));
                tone(
                    &sdir
                        .join("sentences/wav")
                        .join(dialog)
                        .join(format!("{utt}.wav")),
                    16_000,
                    false,
                );
            }
            std::fs::create_dir_all(sdir.join("dialog/EmoEvaluation")).expect("mkdir");
            std::fs::create_dir_all(sdir.join("dialog/transcriptions")).expect("mkdir");
            std::fs::write(
                sdir.join("dialog/EmoEvaluation")
                    .join(format!("{dialog}.txt")),
                eval,
            )
            .expect("w");
            std::fs::write(
                sdir.join("dialog/transcriptions")
                    .join(format!("{dialog}.txt")),
                trans,
            )
            .expect("w");
        }
    }
}

/// CASIA: `<speaker>/<emotion>/<id>.wav`.
pub fn casia(root: &Path) {
    for spk in ["liuchanhg", "wangzhe", "zhaoquanyin", "ZhaoZuoxiang"] {
        for emo in ["angry", "fear", "happy", "neutral", "sad", "surprise"] {
            for id in [201, 202] {
                tone(
                    &root.join(spk).join(emo).join(format!("{id}.wav")),
                    16_000,
                    false,
                );
            }
        }
    }
}

/// ESD: `<spk>/<Emotion>/{train,evaluation,test}/<spk>_<n>.wav`.
pub fn esd(root: &Path, speakers: &[&str]) {
    for spk in speakers {
        for emo in ["Angry", "Happy", "Neutral", "Sad", "Surprise"] {
            for (part, n) in [("train", 3), ("evaluation", 1), ("test", 1)] {
                for i in 0..n {
                    tone(
                        &root
                            .join(spk)
                            .join(emo)
                            .join(part)
                            .join(format!("{spk}_{emo}_{part}_{i}.wav")),
                        16_000,
                        false,
                    );
                }
            }
        }
    }
}

/// MSP-Podcast: `Audios/*.wav` + `Labels/labels_concensus.csv` (the old spelling), speakers held
/// apart by split, one no-agreement (X) row.
pub fn msp_podcast(root: &Path) {
    let mut csv = String::from("FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set\n");
    let classes = ["A", "H", "S", "N", "U", "F", "D", "C"];
    for spk in 1..=12 {
        let split = match spk {
            1..=6 => "Train",
            7..=8 => "Development",
            9..=10 => "Test1",
            _ => "Test2",
        };
        for k in 0..4 {
            let name = format!("MSP-PODCAST_{spk:04}_{k:04}.wav");
            tone(&root.join("Audios").join(&name), 16_000, false);
            csv.push_str(&format!(
                "{name},{},4.2,3.8,4.0,{spk},{},{split}\n",
                classes[(spk + k) % classes.len()],
                if spk % 2 == 0 { "Female" } else { "Male" }
            ));
        }
    }
    tone(
        &root.join("Audios/MSP-PODCAST_0099_0000.wav"),
        16_000,
        false,
    );
    csv.push_str("MSP-PODCAST_0099_0000.wav,X,4,4,4,99,Male,Train\n");
    std::fs::create_dir_all(root.join("Labels")).expect("mkdir");
    std::fs::write(root.join("Labels/labels_concensus.csv"), csv).expect("w");
}

/// RAVDESS speech: `Actor_NN/03-01-EE-II-SS-01-NN.wav` for `actors` actors.
pub fn ravdess(root: &Path, actors: u32) {
    for a in 1..=actors {
        for e in 1..=8 {
            for s in 1..=2 {
                tone(
                    &root
                        .join(format!("Actor_{a:02}"))
                        .join(format!("03-01-{e:02}-01-{s:02}-01-{a:02}.wav")),
                    16_000,
                    false,
                );
            }
        }
    }
}
