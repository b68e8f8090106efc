//! Synthetic corpora with continuous arousal / valence / dominance, laid out like MSP-Podcast
//! (`Audios/` + `Labels/labels_consensus.csv`, 1–7 scale, `Transcripts/`) and IEMOCAP (`Session*/…` with
//! EmoEvaluation files, 1–5 scale, and transcripts), for dimensional runs without downloads
//! (docs/design.md, "Dimensional emotion").
//!
//! Every utterance draws a point (a, v, d) ∈ [0, 1]³. Its prosody follows from that point with
//! the demo corpus's source–filter synthesiser: arousal raises pitch, pitch range, tempo and
//! loudness and tenses the voice; dominance adds loudness and removes breathiness; valence widens
//! the pitch range and brightens the voice only slightly, so (as in real speech) valence is the
//! hardest dimension to hear. The annotations are the point plus annotator noise, on the corpus's
//! scale. Transcripts (both layouts) carry valence in their words (for text-stream experiments).

use std::path::{Path, PathBuf};

use super::demo::{Channel, EmotionProsody, VOWELS_A, VOWELS_B, Voice, render};
use super::manifest::Gender;
use crate::audio::write_wav_i16;
use crate::rng::SplitMix64;

/// Where the dimensional demo corpora were written.
#[derive(Clone, Debug)]
pub struct DimensionalDemo {
    /// MSP-Podcast layout.
    pub msp_podcast_dir: PathBuf,
    /// IEMOCAP layout.
    pub iemocap_dir: PathBuf,
    /// Files written.
    pub files: usize,
}

/// Prosody targets of a point (a, v, d) in [0, 1]³.
pub fn prosody_of(a: f64, v: f64, d: f64) -> EmotionProsody {
    EmotionProsody {
        f0_factor: 0.86 + 0.5 * a,
        range_semitones: 0.9 + 3.5 * a + 1.5 * v,
        syllables_per_sec: 3.3 + 2.3 * a,
        loudness_db: -6.0 + 10.0 * a + 4.0 * (d - 0.5),
        tilt: (0.78 - 0.5 * a - 0.2 * (v - 0.5)).clamp(0.05, 0.95),
        breath: (0.15 - 0.1 * d).max(0.01),
    }
}

/// A random point; arousal and dominance correlate as in annotated corpora.
fn point(rng: &mut SplitMix64) -> [f64; 3] {
    let a = rng.uniform();
    let v = rng.uniform();
    let d = (0.6 * a + 0.4 * rng.uniform()).clamp(0.0, 1.0);
    [a, v, d]
}

/// The annotation of a point on a `lo`–`hi` scale, with annotator noise.
fn annotate(x: f64, lo: f64, hi: f64, rng: &mut SplitMix64) -> f64 {
    let y = (x + rng.normal() * 0.05).clamp(0.0, 1.0);
    ((lo + y * (hi - lo)) * 10.0).round() / 10.0
}

/// Quadrant class of a point (`None` near the centre: annotators would not agree).
fn quadrant(a: f64, v: f64) -> Option<&'static str> {
    if (a - 0.5).abs() < 0.08 && (v - 0.5).abs() < 0.08 {
        return None;
    }
    Some(match (a >= 0.5, v >= 0.5) {
        (true, true) => "hap",
        (true, false) => "ang",
        (false, false) => "sad",
        (false, true) => "neu",
    })
}

const POSITIVE: [&str; 6] = ["wonderful", "great", "lovely", "glad", "fine", "nice"];
const NEGATIVE: [&str; 6] = ["terrible", "awful", "sorry", "bad", "lost", "wrong"];
const NEUTRAL: [&str; 6] = ["the", "train", "leaves", "at", "nine", "today"];

/// A short transcript whose words lean positive or negative with valence.
fn transcript(v: f64, rng: &mut SplitMix64) -> String {
    (0..6)
        .map(|_| {
            let u = rng.uniform();
            if u < 0.35 * v {
                POSITIVE[rng.below(6)]
            } else if u < 0.35 {
                NEGATIVE[rng.below(6)]
            } else {
                NEUTRAL[rng.below(6)]
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Job {
    path: PathBuf,
    point: [f64; 3],
    speaker: String,
    gender: Gender,
    telephone: bool,
}

fn write_audio(jobs: &[Job], seed: u64) -> Result<(), String> {
    use rayon::prelude::*;
    jobs.par_iter().try_for_each(|j| {
        let mut voice_rng = SplitMix64::derive(seed, &j.speaker);
        let voice = Voice::new(j.gender, &mut voice_rng);
        let mut rng = SplitMix64::derive(seed, &j.path.to_string_lossy());
        let (vowels, channel) = if j.telephone {
            (
                &VOWELS_B,
                Channel {
                    sample_rate_hz: 16_000,
                    highpass_hz: Some(300.0),
                    lowpass_hz: Some(3400.0),
                    noise_dbfs: -45.0,
                    gain_db: -3.0,
                },
            )
        } else {
            (
                &VOWELS_A,
                Channel {
                    sample_rate_hz: 16_000,
                    highpass_hz: None,
                    lowpass_hz: None,
                    noise_dbfs: -62.0,
                    gain_db: 0.0,
                },
            )
        };
        let [a, v, d] = j.point;
        let x = render(&prosody_of(a, v, d), &voice, vowels, channel, &mut rng);
        write_wav_i16(&j.path, &x, channel.sample_rate_hz).map_err(|e| e.to_string())
    })
}

fn mkdir(p: &Path) -> Result<(), String> {
    std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn write(p: &Path, text: &str) -> Result<(), String> {
    crate::fsutil::write_text_atomic(p, text).map_err(|e| format!("{}: {e}", p.display()))
}

/// Writes `<out>/msp-podcast` (`speakers` speakers × `per_speaker` utterances, official splits
/// by speaker) and `<out>/iemocap` (`sessions` sessions × 2 speakers × 2 dialogs ×
/// `per_speaker / 2` utterances).
pub fn generate(
    out: &Path,
    seed: u64,
    speakers: usize,
    sessions: usize,
    per_speaker: usize,
) -> Result<DimensionalDemo, String> {
    let msp = out.join("msp-podcast");
    let iem = out.join("iemocap");
    mkdir(&msp.join("Audios"))?;
    mkdir(&msp.join("Labels"))?;
    mkdir(&msp.join("Transcripts"))?;
    let mut jobs = Vec::new();
    let mut rng = SplitMix64::derive(seed, "dimensional-demo");
    let mut csv = String::from("FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set\n");
    for spk in 1..=speakers.max(2) {
        let gender = if spk % 2 == 0 {
            Gender::Female
        } else {
            Gender::Male
        };
        let split = match spk * 10 / speakers.max(2) {
            0..=5 => "Train",
            6..=7 => "Development",
            _ => "Test1",
        };
        for k in 0..per_speaker.max(1) {
            let name = format!("MSP-PODCAST_{spk:04}_{k:04}.wav");
            let p = point(&mut rng);
            let class = match quadrant(p[0], p[1]) {
                Some("hap") => "H",
                Some("ang") => "A",
                Some("sad") => "S",
                Some(_) => "N",
                None => "X",
            };
            csv.push_str(&format!(
                "{name},{class},{:.1},{:.1},{:.1},{spk},{},{split}\n",
                annotate(p[0], 1.0, 7.0, &mut rng),
                annotate(p[1], 1.0, 7.0, &mut rng),
                annotate(p[2], 1.0, 7.0, &mut rng),
                if gender == Gender::Female {
                    "Female"
                } else {
                    "Male"
                }
            ));
            write(
                &msp.join("Transcripts")
                    .join(Path::new(&name).with_extension("txt")),
                &format!("{}.\n", transcript(p[1], &mut rng)),
            )?;
            jobs.push(Job {
                path: msp.join("Audios").join(name),
                point: p,
                speaker: format!("msp{spk}"),
                gender,
                telephone: true,
            });
        }
    }
    write(&msp.join("Labels/labels_consensus.csv"), &csv)?;
    for s in 1..=sessions.max(1) {
        let sdir = iem.join(format!("Session{s}"));
        mkdir(&sdir.join("dialog/EmoEvaluation"))?;
        mkdir(&sdir.join("dialog/transcriptions"))?;
        for dialog in [
            format!("Ses{s:02}F_impro01"),
            format!("Ses{s:02}M_script01_1"),
        ] {
            let mut eval =
                String::from("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n");
            let mut trans = String::new();
            let wav_dir = sdir.join("sentences/wav").join(&dialog);
            mkdir(&wav_dir)?;
            for k in 0..per_speaker.max(2) {
                let who = if k % 2 == 0 { "F" } else { "M" };
                let utt = format!("{dialog}_{who}{k:03}");
                let p = point(&mut rng);
                let code = quadrant(p[0], p[1]).unwrap_or("xxx");
                let (t0, t1) = (k as f64 * 2.0, k as f64 * 2.0 + 1.5);
                // IEMOCAP writes [V, A, D].
                eval.push_str(&format!(
                    "[{t0:.4} - {t1:.4}]\t{utt}\t{code}\t[{:.4}, {:.4}, {:.4}]\n",
                    annotate(p[1], 1.0, 5.0, &mut rng),
                    annotate(p[0], 1.0, 5.0, &mut rng),
                    annotate(p[2], 1.0, 5.0, &mut rng)
                ));
                eval.push_str("C-E2:\tNeutral;\t()\n\n");
                trans.push_str(&format!(
                    "{utt} [{t0:08.4}-{t1:08.4}]: {}.\n",
                    transcript(p[1], &mut rng)
                ));
                // IEMOCAP's speaker of a turn: session + the letter after the last underscore.
                let spk = format!("Ses{s:02}{who}");
                jobs.push(Job {
                    path: wav_dir.join(format!("{utt}.wav")),
                    point: p,
                    gender: if who == "F" {
                        Gender::Female
                    } else {
                        Gender::Male
                    },
                    speaker: spk,
                    telephone: false,
                });
            }
            write(
                &sdir
                    .join("dialog/EmoEvaluation")
                    .join(format!("{dialog}.txt")),
                &eval,
            )?;
            write(
                &sdir
                    .join("dialog/transcriptions")
                    .join(format!("{dialog}.txt")),
                &trans,
            )?;
        }
    }
    write_audio(&jobs, seed)?;
    Ok(DimensionalDemo {
        msp_podcast_dir: msp,
        iemocap_dir: iem,
        files: jobs.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus;

    #[test]
    fn both_layouts_load_with_their_dimensions() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = generate(dir.path(), 5, 6, 2, 6).expect("generate");
        let m = corpus::load(&d.msp_podcast_dir, None).expect("msp");
        assert_eq!(m.corpus_type, "msp-podcast");
        assert_eq!(m.utterances.len() + m.uncategorised.len(), 36);
        assert!(m.skipped.is_empty(), "{:?}", m.skipped);
        assert!(m.utterances.iter().all(|u| {
            u.arousal.is_some_and(|a| (1.0..=7.0).contains(&a))
                && u.valence.is_some()
                && u.transcript.is_some()
        }));
        let i = corpus::load(&d.iemocap_dir, None).expect("iemocap");
        assert_eq!(i.corpus_type, "iemocap");
        assert_eq!(i.utterances.len() + i.uncategorised.len(), 2 * 2 * 6);
        assert!(i.skipped.is_empty(), "{:?}", i.skipped);
        assert!(
            i.utterances
                .iter()
                .chain(&i.uncategorised)
                .all(|u| u.transcript.is_some() && u.dominance.is_some())
        );
        let mut speakers: Vec<_> = i
            .utterances
            .iter()
            .chain(&i.uncategorised)
            .filter_map(|u| u.speaker_id.clone())
            .collect();
        speakers.sort();
        speakers.dedup();
        assert_eq!(speakers.len(), 4, "{speakers:?}");
    }

    #[test]
    fn arousal_is_audible() {
        let voice = Voice {
            f0_hz: 120.0,
            formant_scale: 1.0,
            tilt_offset: 0.0,
            rate_factor: 1.0,
        };
        let ch = Channel {
            sample_rate_hz: 16_000,
            highpass_hz: None,
            lowpass_hz: None,
            noise_dbfs: -70.0,
            gain_db: 0.0,
        };
        let rms = |a| {
            let mut rng = SplitMix64::new(1);
            let mut acc = 0.0;
            for _ in 0..8 {
                let x = render(&prosody_of(a, 0.5, 0.5), &voice, &VOWELS_A, ch, &mut rng);
                acc += (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
            }
            acc
        };
        assert!(rms(0.9) > 2.0 * rms(0.1));
    }
}
