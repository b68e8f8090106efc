//! Built-in synthetic emotional-speech corpus (docs/design.md, "Corpora"), so a fresh clone can train, plot and
//! predict with no downloads.
//!
//! A source–filter "speech" model: syllables of a voiced source (sawtooth glottal train whose
//! spectral tilt and breath noise model voice quality) through parallel formant resonators,
//! separated by noise-burst consonants and pauses. Emotion sets pitch level and range, tempo,
//! loudness and voice quality; every utterance draws its own deviations and every speaker has its
//! own pitch, vocal-tract length and voice, so classes overlap (anger vs happiness, sadness vs
//! boredom vs calm are close). Two "corpora" are written: an EMODB-named one (clean, 16 kHz,
//! vowel set A) and a RAVDESS-named one (band-limited telephone-like channel, background noise,
//! 48 kHz, vowel set B) — so cross-corpus work has a real domain gap.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use super::Emotion;
use super::emodb::{EMOTION_CODES as EMODB_CODES, SPEAKERS as EMODB_SPEAKERS};
use super::manifest::Gender;
use crate::audio::write_wav_i16;
use crate::rng::SplitMix64;

/// Prosody and voice-quality targets of one emotion.
#[derive(Clone, Copy, Debug)]
pub struct EmotionProsody {
    /// Pitch level relative to the speaker's neutral F0.
    pub f0_factor: f64,
    /// Pitch range (accent size) in semitones.
    pub range_semitones: f64,
    /// Syllables per second.
    pub syllables_per_sec: f64,
    /// Loudness relative to neutral, dB.
    pub loudness_db: f64,
    /// Spectral tilt: 0 = tense/bright, 1 = breathy/dark.
    pub tilt: f64,
    /// Breath-noise fraction of the voiced source.
    pub breath: f64,
}

/// The prosody table (values loosely follow the vocal-affect literature, e.g. Banse & Scherer 1996).
pub fn prosody(e: Emotion) -> EmotionProsody {
    let p =
        |f0_factor, range_semitones, syllables_per_sec, loudness_db, tilt, breath| EmotionProsody {
            f0_factor,
            range_semitones,
            syllables_per_sec,
            loudness_db,
            tilt,
            breath,
        };
    match e {
        Emotion::Anger => p(1.25, 4.0, 5.4, 7.0, 0.15, 0.03),
        Emotion::Happiness => p(1.30, 5.0, 5.0, 3.0, 0.35, 0.05),
        Emotion::Fear => p(1.45, 2.5, 5.8, 0.0, 0.45, 0.14),
        Emotion::Surprise => p(1.38, 6.5, 4.6, 3.0, 0.35, 0.06),
        Emotion::Sadness => p(0.88, 1.2, 3.3, -6.0, 0.80, 0.16),
        Emotion::Boredom => p(0.86, 0.9, 3.6, -4.0, 0.70, 0.09),
        Emotion::Calm => p(0.94, 1.5, 3.9, -3.0, 0.60, 0.08),
        Emotion::Disgust => p(0.95, 3.0, 3.7, 1.0, 0.40, 0.07),
        _ => p(1.0, 2.0, 4.5, 0.0, 0.50, 0.05),
    }
}

/// What the generator writes.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Seed; the same seed writes the same files, sample for sample.
    pub seed: u64,
    /// Texts per speaker and emotion in the EMODB-named corpus (max 10).
    pub emodb_texts: usize,
    /// Actors in the RAVDESS-named corpus (max 24).
    pub ravdess_actors: usize,
    /// Speakers of the dimensional MSP-Podcast-layout corpus (and IEMOCAP-layout sessions:
    /// half as many); 0 writes no dimensional corpora.
    pub dimensional_speakers: usize,
    /// Speakers of the multi-label speaking-style corpus (`styles/`, 12 utterances each); 0
    /// writes none.
    pub style_speakers: usize,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            emodb_texts: 4,
            ravdess_actors: 8,
            dimensional_speakers: 10,
            style_speakers: 10,
        }
    }
}

/// Paths and counts of a written demo corpus.
#[derive(Clone, Debug)]
pub struct DemoCorpus {
    /// The multi-label speaking-style corpus (`styles/`), when written.
    pub styles: Option<super::demo_styles::StyleDemo>,
    /// EMODB-named corpus folder (`<out>/emodb`).
    pub emodb_dir: PathBuf,
    /// RAVDESS-named corpus folder (`<out>/ravdess`).
    pub ravdess_dir: PathBuf,
    /// Dimensional corpora (`<out>/msp-podcast`, `<out>/iemocap`), when written.
    pub dimensional: Option<super::demo_dimensional::DimensionalDemo>,
    /// Files written in total.
    pub files: usize,
}

const EMODB_TEXTS: [&str; 10] = [
    "a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10",
];
/// Vowel formants (F1, F2, F3 in Hz, adult male) of the two demo "languages".
pub(super) const VOWELS_A: [[f64; 3]; 5] = [
    [730.0, 1090.0, 2440.0],
    [530.0, 1840.0, 2480.0],
    [270.0, 2290.0, 3010.0],
    [570.0, 840.0, 2410.0],
    [300.0, 870.0, 2240.0],
];
pub(super) const VOWELS_B: [[f64; 3]; 5] = [
    [660.0, 1720.0, 2410.0],
    [520.0, 1190.0, 2390.0],
    [490.0, 1350.0, 1690.0],
    [640.0, 1190.0, 2390.0],
    [440.0, 1020.0, 2240.0],
];

/// One speaker's voice.
#[derive(Clone, Debug)]
pub(super) struct Voice {
    pub(super) f0_hz: f64,
    pub(super) formant_scale: f64,
    pub(super) tilt_offset: f64,
    pub(super) rate_factor: f64,
}

impl Voice {
    pub(super) fn new(gender: Gender, rng: &mut SplitMix64) -> Self {
        let (f0, scale) = match gender {
            Gender::Male => (rng.range(95.0, 135.0), rng.range(0.95, 1.05)),
            Gender::Female => (rng.range(175.0, 240.0), rng.range(1.10, 1.22)),
        };
        Self {
            f0_hz: f0,
            formant_scale: scale,
            tilt_offset: rng.normal() * 0.1,
            rate_factor: (rng.normal() * 0.08).exp(),
        }
    }
}

/// Recording channel of a demo corpus.
#[derive(Clone, Copy, Debug)]
pub(super) struct Channel {
    pub(super) sample_rate_hz: u32,
    pub(super) highpass_hz: Option<f64>,
    pub(super) lowpass_hz: Option<f64>,
    pub(super) noise_dbfs: f64,
    pub(super) gain_db: f64,
}

/// RBJ-cookbook biquad.
#[derive(Clone, Copy, Debug, Default)]
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
    x: [f64; 2],
    y: [f64; 2],
}

impl Biquad {
    fn new(kind: &str, f_hz: f64, q: f64, fs: f64) -> Self {
        let w = 2.0 * PI * (f_hz / fs).min(0.49);
        let (s, c) = w.sin_cos();
        let alpha = s / (2.0 * q);
        let (b, a0, a1, a2) = match kind {
            "lowpass" => (
                [(1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0],
                1.0 + alpha,
                -2.0 * c,
                1.0 - alpha,
            ),
            "highpass" => (
                [(1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0],
                1.0 + alpha,
                -2.0 * c,
                1.0 - alpha,
            ),
            // band-pass with 0 dB peak gain
            _ => ([alpha, 0.0, -alpha], 1.0 + alpha, -2.0 * c, 1.0 - alpha),
        };
        Self {
            b: [b[0] / a0, b[1] / a0, b[2] / a0],
            a: [a1 / a0, a2 / a0],
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    fn run(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        self.x = [x, self.x[0]];
        self.y = [y, self.y[0]];
        y
    }
}

/// Synthesises one utterance. `intensity` scales the emotion's deviation from neutral (1 = normal).
fn synthesise(
    emotion: Emotion,
    intensity: f64,
    voice: &Voice,
    vowels: &[[f64; 3]],
    channel: Channel,
    rng: &mut SplitMix64,
) -> Vec<f32> {
    let neutral = prosody(Emotion::Neutral);
    let target = prosody(emotion);
    let lerp = |n: f64, t: f64| n + (t - n) * intensity;
    let p = EmotionProsody {
        f0_factor: lerp(neutral.f0_factor, target.f0_factor),
        range_semitones: lerp(neutral.range_semitones, target.range_semitones),
        syllables_per_sec: lerp(neutral.syllables_per_sec, target.syllables_per_sec),
        loudness_db: lerp(neutral.loudness_db, target.loudness_db),
        tilt: lerp(neutral.tilt, target.tilt),
        breath: lerp(neutral.breath, target.breath),
    };
    render(&p, voice, vowels, channel, rng)
}

/// Synthesises one utterance with prosody targets `p` (each utterance deviates from them).
pub(super) fn render(
    p: &EmotionProsody,
    voice: &Voice,
    vowels: &[[f64; 3]],
    channel: Channel,
    rng: &mut SplitMix64,
) -> Vec<f32> {
    let fs = channel.sample_rate_hz as f64;
    // Per-utterance deviations make the classes overlap.
    let f0 = voice.f0_hz * p.f0_factor * (rng.normal() * 0.07).exp();
    let range = p.range_semitones * (rng.normal() * 0.25).exp();
    let rate = p.syllables_per_sec * voice.rate_factor * (rng.normal() * 0.12).exp();
    let loud_db = p.loudness_db + rng.normal() * 2.5;
    let tilt = (p.tilt + voice.tilt_offset + rng.normal() * 0.12).clamp(0.0, 1.0);
    let breath = p.breath * (rng.normal() * 0.3).exp();

    let n_syll = 4 + rng.below(5);
    let mut out: Vec<f64> = Vec::new();
    let lead = (rng.range(0.08, 0.2) * fs) as usize;
    out.resize(lead, 0.0);
    let mut phase = 0.0f64;
    let mut tilt_state = 0.0f64;
    // One-pole low-pass of the source: brighter (tense) voices keep more high harmonics.
    let tilt_coeff = 0.15 + 0.8 * tilt;
    let gain = 0.12 * 10f64.powf(loud_db / 20.0);
    for s in 0..n_syll {
        // Consonant: a noise burst (fricative/plosive release) or a short closure.
        let cons_len = (rng.range(0.03, 0.09) * fs) as usize;
        if rng.uniform() < 0.7 {
            let mut bp = Biquad::new(
                "bandpass",
                rng.range(2500.0, 5500.0).min(fs * 0.45),
                1.5,
                fs,
            );
            let amp = gain * rng.range(0.1, 0.35);
            for i in 0..cons_len {
                let env = (PI * i as f64 / cons_len as f64).sin();
                out.push(bp.run(rng.normal()) * amp * env);
            }
        } else {
            out.extend(std::iter::repeat_n(0.0, cons_len));
        }
        // Vowel with an F0 accent, declination over the utterance and jitter.
        let vowel = vowels[rng.below(vowels.len())];
        let mut formants: Vec<Biquad> = vowel
            .iter()
            .zip([80.0, 110.0, 160.0])
            .map(|(f, bw)| {
                let f = f * voice.formant_scale * (rng.normal() * 0.04).exp();
                Biquad::new("bandpass", f, f / bw, fs)
            })
            .collect();
        let v_len = ((1.0 / rate) * rng.range(0.55, 0.9) * fs) as usize;
        let accent = rng.normal() * range * 0.5;
        let progress = s as f64 / n_syll.max(2) as f64;
        let declination = range * (0.5 - progress);
        let attack = (0.015 * fs) as usize;
        let release = (0.035 * fs) as usize;
        let mut jitter = 0.0f64;
        for i in 0..v_len {
            let t = i as f64 / v_len as f64;
            jitter = 0.995 * jitter + 0.005 * rng.normal();
            let semis = declination + accent * (PI * t).sin() + 6.0 * jitter;
            let f = f0 * 2f64.powf(semis / 12.0);
            phase = (phase + f / fs).fract();
            let saw = 2.0 * phase - 1.0;
            tilt_state = (1.0 - tilt_coeff) * saw + tilt_coeff * tilt_state;
            let src = tilt_state + breath * rng.normal();
            let voiced =
                formants[0].run(src) + 0.6 * formants[1].run(src) + 0.3 * formants[2].run(src);
            let env = if i < attack {
                i as f64 / attack as f64
            } else if i + release > v_len {
                (v_len - i) as f64 / release as f64
            } else {
                1.0
            };
            out.push(voiced * gain * 4.0 * env);
        }
        if rng.uniform() < 0.25 {
            out.extend(std::iter::repeat_n(
                0.0,
                (rng.range(0.05, 0.18) * fs) as usize,
            ));
        }
    }
    out.extend(std::iter::repeat_n(
        0.0,
        (rng.range(0.08, 0.2) * fs) as usize,
    ));

    // Channel: band limits, noise floor, gain.
    let mut hp = channel
        .highpass_hz
        .map(|f| Biquad::new("highpass", f, 0.707, fs));
    let mut lp = channel
        .lowpass_hz
        .map(|f| Biquad::new("lowpass", f, 0.707, fs));
    let noise = 10f64.powf(channel.noise_dbfs / 20.0);
    let g = 10f64.powf(channel.gain_db / 20.0);
    out.iter()
        .map(|&x| {
            let mut y = x;
            if let Some(h) = hp.as_mut() {
                y = h.run(y);
            }
            if let Some(l) = lp.as_mut() {
                y = l.run(y);
            }
            ((y * g + noise * rng.normal()).clamp(-0.99, 0.99)) as f32
        })
        .collect()
}

/// Writes both demo corpora under `out` and returns where they are.
pub fn generate(out: &Path, cfg: &DemoConfig) -> Result<DemoCorpus, String> {
    let emodb_dir = out.join("emodb");
    let ravdess_dir = out.join("ravdess");
    let wav_dir = emodb_dir.join("wav");
    std::fs::create_dir_all(&wav_dir).map_err(|e| format!("{}: {e}", wav_dir.display()))?;
    let mut jobs: Vec<(PathBuf, Emotion, f64, String, Gender, bool)> = Vec::new();
    for (spk, gender) in EMODB_SPEAKERS {
        for (code, emotion) in EMODB_CODES {
            for text in EMODB_TEXTS.iter().take(cfg.emodb_texts.clamp(1, 10)) {
                let name = format!("{spk}{text}{code}a.wav");
                jobs.push((
                    wav_dir.join(name),
                    emotion,
                    1.0,
                    format!("emodb{spk}"),
                    gender,
                    false,
                ));
            }
        }
    }
    for actor in 1..=cfg.ravdess_actors.clamp(1, 24) {
        let dir = ravdess_dir.join(format!("Actor_{actor:02}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let gender = if actor % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        };
        for (ei, emotion) in super::ravdess::EMOTIONS.iter().enumerate() {
            let intensities: &[u8] = if *emotion == Emotion::Neutral {
                &[1]
            } else {
                &[1, 2]
            };
            for &intensity in intensities {
                for statement in 1..=2 {
                    let name = format!(
                        "03-01-{:02}-{intensity:02}-{statement:02}-01-{actor:02}.wav",
                        ei + 1
                    );
                    let scale = if intensity == 2 { 1.35 } else { 1.0 };
                    jobs.push((
                        dir.join(name),
                        *emotion,
                        scale,
                        format!("ravdess{actor}"),
                        gender,
                        true,
                    ));
                }
            }
        }
    }
    use rayon::prelude::*;
    jobs.par_iter()
        .try_for_each(|(path, emotion, intensity, speaker, gender, is_b)| {
            let mut voice_rng = SplitMix64::derive(cfg.seed, speaker);
            let voice = Voice::new(*gender, &mut voice_rng);
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let mut rng = SplitMix64::derive(cfg.seed, &file);
            let (vowels, channel) = if *is_b {
                (
                    &VOWELS_B,
                    Channel {
                        sample_rate_hz: 48_000,
                        highpass_hz: Some(300.0),
                        lowpass_hz: Some(3400.0),
                        noise_dbfs: -42.0,
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
            let x = synthesise(*emotion, *intensity, &voice, vowels, channel, &mut rng);
            write_wav_i16(path, &x, channel.sample_rate_hz).map_err(|e| e.to_string())
        })?;
    let dimensional = (cfg.dimensional_speakers > 0)
        .then(|| {
            super::demo_dimensional::generate(
                out,
                cfg.seed,
                cfg.dimensional_speakers,
                cfg.dimensional_speakers.div_ceil(2),
                12,
            )
        })
        .transpose()?;
    let styles = (cfg.style_speakers > 0)
        .then(|| {
            super::demo_styles::generate(&out.join("styles"), cfg.seed, cfg.style_speakers, 12)
        })
        .transpose()?;
    Ok(DemoCorpus {
        emodb_dir,
        ravdess_dir,
        files: jobs.len()
            + dimensional.as_ref().map_or(0, |d| d.files)
            + styles.as_ref().map_or(0, |s| s.utterances),
        dimensional,
        styles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus;

    #[test]
    fn writes_corpora_the_real_readers_load_deterministically() {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = DemoConfig {
            seed: 3,
            emodb_texts: 1,
            ravdess_actors: 2,
            dimensional_speakers: 0,
            style_speakers: 0,
        };
        let d = generate(dir.path(), &cfg).expect("generate");
        let a = corpus::load(&d.emodb_dir, None).expect("emodb");
        assert_eq!(a.corpus_type, "emodb");
        assert_eq!(a.utterances.len(), 70);
        assert!(a.skipped.is_empty(), "{:?}", a.skipped);
        assert_eq!(a.per_speaker().len(), 10);
        let b = corpus::load(&d.ravdess_dir, None).expect("ravdess");
        assert_eq!(b.corpus_type, "ravdess");
        assert_eq!(b.utterances.len(), 2 * 30);
        assert!(b.utterances.iter().all(|u| u.sample_rate_hz == 48_000));
        // Same seed → identical bytes.
        let dir2 = tempfile::tempdir().expect("tmp");
        let d2 = generate(dir2.path(), &cfg).expect("generate");
        let f = "wav/03a01Wa.wav";
        assert_eq!(
            std::fs::read(d.emodb_dir.join(f)).expect("r"),
            std::fs::read(d2.emodb_dir.join(f)).expect("r")
        );
    }

    /// Emotion shows in the signal: angry utterances are louder than sad ones on average.
    #[test]
    fn emotions_differ_in_loudness() {
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
        let rms = |e| {
            let mut rng = SplitMix64::new(1);
            let mut acc = 0.0;
            for _ in 0..10 {
                let x = synthesise(e, 1.0, &voice, &VOWELS_A, ch, &mut rng);
                acc += (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
            }
            acc / 10.0
        };
        assert!(rms(Emotion::Anger) > 2.0 * rms(Emotion::Sadness));
    }
}
