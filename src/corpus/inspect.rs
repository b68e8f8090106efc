//! Corpus inspection (docs/design.md, "Corpora", issue "every standard corpus"): counts per class, speaker and
//! gender, duration and sample-rate statistics, skipped and flagged files, and optionally a scan
//! of the audio itself for silent or near-silent recordings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::label_map::LabelReport;
use super::{Manifest, Skipped, SpeakerSummary};

/// Duration statistics in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DurationStats {
    /// Sum.
    pub total: f64,
    /// Shortest.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Longest.
    pub max: f64,
}

/// A recording whose level says it holds (almost) no sound.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SilentFile {
    /// The file.
    pub path: PathBuf,
    /// RMS level in dBFS.
    pub rms_dbfs: f32,
    /// Peak level in dBFS.
    pub peak_dbfs: f32,
}

/// Everything `inspect` reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Inspection {
    /// Corpus type.
    pub corpus_type: String,
    /// Folder.
    pub root: PathBuf,
    /// Loaded utterances.
    pub utterances: usize,
    /// Utterances per canonical class.
    pub per_class: BTreeMap<String, usize>,
    /// Utterances per speaker, with gender.
    pub per_speaker: BTreeMap<String, SpeakerSummary>,
    /// Utterances per gender (`female`, `male`, `unknown`).
    pub per_gender: BTreeMap<String, usize>,
    /// Speakers per gender.
    pub speakers_per_gender: BTreeMap<String, usize>,
    /// Duration statistics.
    pub duration_secs: DurationStats,
    /// Files per sample rate (Hz).
    pub sample_rates: BTreeMap<u32, usize>,
    /// Files not loaded, with reasons.
    pub skipped: Vec<Skipped>,
    /// Loaded files with a warning.
    pub flagged: Vec<Skipped>,
    /// Silent / near-silent files (only with an audio scan).
    pub silent: Option<Vec<SilentFile>>,
    /// Label map report when one was applied.
    pub label_map: Option<LabelReport>,
    /// Loaded files without an emotion class (used by dimensional runs only).
    #[serde(default)]
    pub uncategorised: usize,
    /// Numeric annotations (arousal, valence, dominance, CSV columns) over all loaded files,
    /// classified or not.
    #[serde(default)]
    pub dimensions: BTreeMap<String, DimensionStats>,
    /// Loaded files (classified or not) with a transcript.
    #[serde(default)]
    pub with_text: usize,
    /// What attaching a transcript CSV did (`inspect --transcripts`).
    #[serde(default)]
    pub transcripts: Option<super::transcripts::TranscriptReport>,
    /// Multi-label manifests (an `annotators` or `labels` column): votes per label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub votes: Option<VoteStats>,
    /// Tasks a multi-task run can train on this corpus (filled after transcripts attach).
    #[serde(default)]
    pub tasks: Vec<super::tasks::TaskSupport>,
}

/// How the annotators voted, per label (multi-label manifests).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VoteStats {
    /// The agreement the positives are counted at.
    pub min_agreement: f32,
    /// Per label: utterances with at least `min_agreement` votes.
    pub positives: BTreeMap<String, usize>,
    /// Per label: utterances per vote count (`[votes, utterances]`, ascending).
    pub histogram: BTreeMap<String, Vec<(f32, usize)>>,
    /// Annotators per utterance (`[annotators, utterances]`), where the manifest says.
    pub annotators: Vec<(f32, usize)>,
}

/// Vote statistics of a multi-label manifest (`None` without an `annotators` column or
/// `labels` votes).
pub fn vote_stats(m: &Manifest, min_agreement: f32) -> Option<VoteStats> {
    use crate::train::multilabel::ANNOTATORS;
    let utts: Vec<&super::Utterance> = m.utterances.iter().chain(&m.uncategorised).collect();
    if !utts.iter().any(|u| u.values.contains_key(ANNOTATORS)) {
        return None;
    }
    let labels = crate::train::multilabel::resolve_labels(
        utts.iter().copied(),
        &crate::train::multilabel::MultiLabelTask::default(),
    )
    .ok()?;
    let count = |values: Vec<f32>| -> Vec<(f32, usize)> {
        let mut h: Vec<(f32, usize)> = Vec::new();
        let mut v = values;
        v.sort_by(f32::total_cmp);
        for x in v {
            match h.last_mut() {
                Some((y, n)) if *y == x => *n += 1,
                _ => h.push((x, 1)),
            }
        }
        h
    };
    let mut s = VoteStats {
        min_agreement,
        annotators: count(
            utts.iter()
                .filter_map(|u| u.values.get(ANNOTATORS).copied())
                .collect(),
        ),
        ..Default::default()
    };
    for l in labels {
        let v: Vec<f32> = utts
            .iter()
            .map(|u| crate::train::multilabel::votes(u, &l))
            .collect();
        s.positives
            .insert(l.clone(), v.iter().filter(|x| **x >= min_agreement).count());
        s.histogram.insert(l, count(v));
    }
    Some(s)
}

/// How one numeric annotation is distributed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DimensionStats {
    /// Files that have it.
    pub n: usize,
    /// Smallest value.
    pub min: f32,
    /// Mean value.
    pub mean: f32,
    /// Largest value.
    pub max: f32,
}

fn dimension_stats(m: &Manifest) -> BTreeMap<String, DimensionStats> {
    let mut out: BTreeMap<String, DimensionStats> = BTreeMap::new();
    let mut add = |name: &str, v: f32| {
        let e = out.entry(name.to_string()).or_insert(DimensionStats {
            n: 0,
            min: f32::INFINITY,
            mean: 0.0,
            max: f32::NEG_INFINITY,
        });
        e.n += 1;
        e.min = e.min.min(v);
        e.max = e.max.max(v);
        e.mean += v;
    };
    for u in m.utterances.iter().chain(&m.uncategorised) {
        for (name, v) in [
            ("arousal", u.arousal),
            ("valence", u.valence),
            ("dominance", u.dominance),
        ] {
            if let Some(v) = v {
                add(name, v);
            }
        }
        for (k, v) in &u.values {
            if !u.values.contains_key(crate::train::multilabel::ANNOTATORS) {
                add(k, *v);
            }
        }
    }
    for e in out.values_mut() {
        e.mean /= e.n.max(1) as f32;
    }
    out
}

/// A file is near-silent when its peak is below this level.
pub const SILENT_PEAK_DBFS: f32 = -45.0;
/// … or its RMS level is below this one.
pub const SILENT_RMS_DBFS: f32 = -60.0;

fn dbfs(v: f32) -> f32 {
    20.0 * v.max(1e-10).log10()
}

/// Decodes every utterance (in parallel) and returns the silent or near-silent ones.
pub fn scan_silence(m: &Manifest) -> Vec<SilentFile> {
    let mut out: Vec<SilentFile> = m
        .utterances
        .par_iter()
        .filter_map(|u| {
            let (x, _) = crate::audio::load_any_mono(&u.path).ok()?;
            let peak = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            let rms = (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt();
            let (peak_dbfs, rms_dbfs) = (dbfs(peak), dbfs(rms));
            (peak_dbfs < SILENT_PEAK_DBFS || rms_dbfs < SILENT_RMS_DBFS).then(|| SilentFile {
                path: u.path.clone(),
                rms_dbfs,
                peak_dbfs,
            })
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Summarises a manifest (headers only; `silent` is filled by the caller after a scan).
pub fn inspect(m: &Manifest) -> Inspection {
    let per_speaker = m.per_speaker();
    let mut per_gender = BTreeMap::new();
    for u in &m.utterances {
        *per_gender
            .entry(u.gender.map_or("unknown", |g| g.name()).to_string())
            .or_insert(0) += 1;
    }
    let mut speakers_per_gender = BTreeMap::new();
    for s in per_speaker.values() {
        *speakers_per_gender
            .entry(s.gender.map_or("unknown", |g| g.name()).to_string())
            .or_insert(0) += 1;
    }
    let durations: Vec<f64> = m.utterances.iter().map(|u| u.duration_secs).collect();
    let duration_secs = if durations.is_empty() {
        DurationStats::default()
    } else {
        let total: f64 = durations.iter().sum();
        DurationStats {
            total,
            min: durations.iter().copied().fold(f64::INFINITY, f64::min),
            mean: total / durations.len() as f64,
            max: durations.iter().copied().fold(0.0, f64::max),
        }
    };
    let mut sample_rates = BTreeMap::new();
    for u in &m.utterances {
        *sample_rates.entry(u.sample_rate_hz).or_insert(0) += 1;
    }
    Inspection {
        corpus_type: m.corpus_type.clone(),
        root: m.root.clone(),
        utterances: m.utterances.len(),
        per_class: m.per_class(),
        per_speaker,
        per_gender,
        speakers_per_gender,
        duration_secs,
        sample_rates,
        skipped: m.skipped.clone(),
        flagged: m.flagged.clone(),
        silent: None,
        label_map: None,
        uncategorised: m.uncategorised.len(),
        dimensions: dimension_stats(m),
        with_text: m.utterances.len() + m.uncategorised.len() - super::transcripts::without_text(m),
        transcripts: None,
        votes: vote_stats(m, 1.0),
        tasks: super::tasks::supported(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_a_silent_file() {
        let d = tempfile::tempdir().expect("tmp");
        let w = d.path().join("wav");
        std::fs::create_dir_all(&w).expect("mkdir");
        let loud: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        crate::audio::write_wav_i16(&w.join("03a01Fa.wav"), &loud, 16_000).expect("w");
        crate::audio::write_wav_i16(&w.join("03a01Wa.wav"), &vec![0.0; 8000], 16_000).expect("w");
        let m = crate::corpus::load(d.path(), None).expect("load");
        let s = scan_silence(&m);
        assert_eq!(s.len(), 1);
        assert!(s[0].path.ends_with("03a01Wa.wav"));
        let i = inspect(&m);
        assert_eq!(i.per_gender.get("male"), Some(&2));
        assert!((i.duration_secs.mean - 0.5).abs() < 1e-9);
        assert_eq!(i.sample_rates.get(&16_000), Some(&2));
    }
}
