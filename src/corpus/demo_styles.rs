//! A generated multi-label speaking-style corpus in the DreamVoice manifest form
//! (`file,speaker,annotators,Female,Male,Adult,Teenager,Dark,Bright,Rough,Smooth`): each
//! speaker's voice is male or female, adult or teenage (higher pitch, shorter vocal tract); each
//! utterance is brighter or darker (spectral tilt) and rougher or smoother (breath noise and
//! jitter). Eight simulated annotators vote for each label with a probability that follows the
//! property, so agreement varies from unanimous to split — for multi-label runs without
//! downloads (the synthesiser of the demo corpus; no espeak-ng needed).

use std::path::{Path, PathBuf};

use super::demo::{Channel, EmotionProsody, VOWELS_A, Voice, render};
use super::manifest::Gender;
use crate::audio::write_wav_i16;
use crate::rng::SplitMix64;

/// Labels of the generated manifest, in column order.
pub const STYLE_LABELS: [&str; 8] = [
    "Female", "Male", "Adult", "Teenager", "Dark", "Bright", "Rough", "Smooth",
];

/// Simulated annotators per utterance.
pub const ANNOTATORS: u32 = 8;

/// Where the generated corpus went.
#[derive(Clone, Debug)]
pub struct StyleDemo {
    /// The corpus folder (`manifest.csv` + `wav/`).
    pub dir: PathBuf,
    /// Utterances written.
    pub utterances: usize,
}

struct Job {
    path: PathBuf,
    voice: Voice,
    brightness: f64,
    roughness: f64,
}

/// Votes of `ANNOTATORS` raters who each choose a label with probability `p`.
fn votes(p: f64, rng: &mut SplitMix64) -> u32 {
    (0..ANNOTATORS).filter(|_| rng.uniform() < p).count() as u32
}

/// Writes `<out>/manifest.csv` and `<out>/wav/*.wav`: `speakers` speakers × `per_speaker`
/// utterances.
pub fn generate(
    out: &Path,
    seed: u64,
    speakers: usize,
    per_speaker: usize,
) -> Result<StyleDemo, String> {
    let wav = out.join("wav");
    std::fs::create_dir_all(&wav).map_err(|e| format!("{}: {e}", wav.display()))?;
    let mut rng = SplitMix64::derive(seed, "style-demo");
    let mut csv = format!("file,speaker,annotators,{}\n", STYLE_LABELS.join(","));
    let mut jobs = Vec::new();
    for spk in 1..=speakers.max(2) {
        let gender = if spk % 2 == 0 {
            Gender::Female
        } else {
            Gender::Male
        };
        let teen = spk % 3 == 0;
        let mut voice_rng = SplitMix64::derive(seed, &format!("style-speaker{spk}"));
        let mut voice = Voice::new(gender, &mut voice_rng);
        if teen {
            voice.f0_hz *= 1.3;
            voice.formant_scale *= 1.1;
        }
        let female = gender == Gender::Female;
        for k in 0..per_speaker.max(1) {
            let brightness = rng.uniform();
            let roughness = rng.uniform();
            let p_female = if female { 0.95 } else { 0.05 };
            let p_teen = if teen { 0.8 } else { 0.15 };
            let v = [
                votes(p_female, &mut rng),
                votes(1.0 - p_female, &mut rng),
                votes(1.0 - p_teen, &mut rng),
                votes(p_teen, &mut rng),
                votes(1.0 - brightness, &mut rng),
                votes(brightness, &mut rng),
                votes(roughness, &mut rng),
                votes(1.0 - roughness, &mut rng),
            ];
            let name = format!("spk{spk:02}_{k:03}.wav");
            csv.push_str(&format!(
                "wav/{name},spk{spk:02},{ANNOTATORS},{}\n",
                v.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ));
            jobs.push(Job {
                path: wav.join(name),
                voice: voice.clone(),
                brightness,
                roughness,
            });
        }
    }
    write_audio(&jobs, seed)?;
    crate::fsutil::write_text_atomic(&out.join("manifest.csv"), &csv)
        .map_err(|e| format!("{}: {e}", out.join("manifest.csv").display()))?;
    Ok(StyleDemo {
        dir: out.to_path_buf(),
        utterances: jobs.len(),
    })
}

fn write_audio(jobs: &[Job], seed: u64) -> Result<(), String> {
    use rayon::prelude::*;
    jobs.par_iter().try_for_each(|j| {
        let mut rng = SplitMix64::derive(seed, &j.path.to_string_lossy());
        let p = EmotionProsody {
            f0_factor: 1.0,
            range_semitones: 3.0,
            syllables_per_sec: 4.0,
            loudness_db: 0.0,
            // 0 = tense/bright, 1 = breathy/dark.
            tilt: 0.9 - 0.8 * j.brightness,
            breath: 0.02 + 0.6 * j.roughness,
        };
        let channel = Channel {
            sample_rate_hz: 16_000,
            highpass_hz: None,
            lowpass_hz: None,
            noise_dbfs: -62.0,
            gain_db: 0.0,
        };
        let x = render(&p, &j.voice, &VOWELS_A, channel, &mut rng);
        write_wav_i16(&j.path, &x, channel.sample_rate_hz).map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_reads_as_multi_label_votes() {
        let d = tempfile::tempdir().expect("tmp");
        let demo = generate(d.path(), 3, 4, 3).expect("generate");
        assert_eq!(demo.utterances, 12);
        let m = crate::corpus::load(d.path(), None).expect("load");
        assert_eq!(m.utterances.len() + m.uncategorised.len(), 12);
        let u = &m.uncategorised[0];
        assert_eq!(u.values["annotators"], 8.0);
        for l in STYLE_LABELS {
            assert!(u.values.contains_key(l), "{l}");
        }
        assert!(u.speaker_id.is_some());
    }
}
