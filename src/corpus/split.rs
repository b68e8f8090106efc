//! Evaluation protocols (docs/design.md, "Protocols"): speaker-independent by default, validation carved from the
//! training part, and a leakage check that runs before every run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Utterance;
use crate::rng::SplitMix64;

/// How utterances are split into training and test parts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Protocol {
    /// Leave one speaker out: one fold per speaker.
    Loso,
    /// Speaker-grouped k-fold: every speaker is in the test part of exactly one fold.
    SpeakerKFold(usize),
    /// Stratified random k-fold over utterances — speaker-dependent.
    KFold(usize),
    /// One train/test split with this test fraction; grouped by speaker when speakers are known,
    /// otherwise stratified random (speaker-dependent).
    Holdout(f64),
    /// One train/test split of randomly drawn utterances (stratified by class), speakers
    /// ignored — speaker-dependent (the 80:20 split of the SSL-ensemble paper).
    RandomHoldout(f64),
    /// Leave one recording session out (IEMOCAP: 5 folds; each session has its own two speakers).
    SessionLoso,
    /// The corpus's official train / validation / test split (MSP-Podcast, ESD). Speaker
    /// independence is read off the data: ESD's official split shares speakers.
    Official,
    /// Train on all corpora but one, test on the one left out (several `--corpus`).
    LeaveOneCorpusOut,
}

impl Protocol {
    /// Whether the protocol keeps every speaker out of training when it is tested, given whether
    /// the corpus names its speakers.
    pub fn speaker_independent(&self, speakers_known: bool) -> bool {
        match self {
            Protocol::Loso | Protocol::SpeakerKFold(_) => true,
            Protocol::KFold(_) | Protocol::RandomHoldout(_) => false,
            Protocol::Holdout(_) => speakers_known,
            Protocol::SessionLoso | Protocol::LeaveOneCorpusOut => true,
            // Decided by the data in `plan`.
            Protocol::Official => speakers_known,
        }
    }

    /// The CLI spelling (`loso`, `speaker-kfold:5`, `kfold:5`, `holdout:0.2`).
    pub fn spelling(&self) -> String {
        match self {
            Protocol::Loso => "loso".into(),
            Protocol::SpeakerKFold(k) => format!("speaker-kfold:{k}"),
            Protocol::KFold(k) => format!("kfold:{k}"),
            Protocol::Holdout(f) => format!("holdout:{f}"),
            Protocol::RandomHoldout(f) => format!("random-holdout:{f}"),
            Protocol::SessionLoso => "session-loso".into(),
            Protocol::Official => "official".into(),
            Protocol::LeaveOneCorpusOut => "leave-one-corpus-out".into(),
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.spelling())
    }
}

impl std::str::FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (name, arg) = s.split_once(':').map_or((s, None), |(a, b)| (a, Some(b)));
        let k = |arg: Option<&str>| -> Result<usize, String> {
            let k: usize = arg
                .ok_or_else(|| format!("protocol '{s}' needs a fold count, e.g. {name}:5"))?
                .parse()
                .map_err(|_| format!("fold count in '{s}' is not a whole number"))?;
            if k < 2 {
                Err(format!("protocol '{s}': k must be at least 2"))
            } else {
                Ok(k)
            }
        };
        match name {
            "loso" => Ok(Protocol::Loso),
            "session-loso" => Ok(Protocol::SessionLoso),
            "official" => Ok(Protocol::Official),
            "leave-one-corpus-out" => Ok(Protocol::LeaveOneCorpusOut),
            "speaker-kfold" => Ok(Protocol::SpeakerKFold(k(arg)?)),
            "kfold" => Ok(Protocol::KFold(k(arg)?)),
            "holdout" | "random-holdout" => {
                let f: f64 = arg
                    .ok_or_else(|| {
                        format!("protocol '{s}' needs a test fraction, e.g. holdout:0.2")
                    })?
                    .parse()
                    .map_err(|_| format!("test fraction in '{s}' is not a number"))?;
                if !(f > 0.0 && f < 1.0) {
                    return Err(format!("test fraction in '{s}' must be between 0 and 1"));
                }
                Ok(if name == "holdout" {
                    Protocol::Holdout(f)
                } else {
                    Protocol::RandomHoldout(f)
                })
            }
            _ => Err(format!(
                "unknown protocol '{s}' (known: loso, speaker-kfold:K, session-loso, official, leave-one-corpus-out, kfold:K, holdout:FRACTION, random-holdout:FRACTION)"
            )),
        }
    }
}

/// One fold: indices into the utterance list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fold {
    /// Short name, e.g. `fold1` or `speaker03`.
    pub name: String,
    /// Training utterances.
    pub train: Vec<usize>,
    /// Validation utterances (carved out of the training part; early stopping only).
    pub valid: Vec<usize>,
    /// Test utterances (never used to choose anything).
    pub test: Vec<usize>,
}

/// Result of the leakage check for one fold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeakageReport {
    /// Fold name.
    pub fold: String,
    /// Speakers found in both training (incl. validation) and test.
    pub speakers_in_train_and_test: Vec<String>,
    /// Files found in more than one part.
    pub files_in_two_parts: Vec<PathBuf>,
}

impl LeakageReport {
    /// Human-readable one-line verdict.
    pub fn summary(&self, speaker_independent: bool) -> String {
        if !self.files_in_two_parts.is_empty() {
            format!(
                "{}: LEAK — {} file(s) in two parts",
                self.fold,
                self.files_in_two_parts.len()
            )
        } else if !self.speakers_in_train_and_test.is_empty() {
            if speaker_independent {
                format!(
                    "{}: LEAK — speakers {:?} in train and test",
                    self.fold, self.speakers_in_train_and_test
                )
            } else {
                format!(
                    "{}: speaker-dependent — {} speaker(s) in train and test",
                    self.fold,
                    self.speakers_in_train_and_test.len()
                )
            }
        } else {
            format!("{}: no leakage", self.fold)
        }
    }
}

/// Folds plus the leakage check, as saved with every run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitPlan {
    /// Protocol spelling.
    pub protocol: String,
    /// Whether the split keeps test speakers out of training.
    pub speaker_independent: bool,
    /// Seed the split was drawn with.
    pub seed: u64,
    /// The folds.
    pub folds: Vec<Fold>,
    /// One leakage report per fold.
    pub leakage: Vec<LeakageReport>,
}

/// "speaker-independent" or "speaker-dependent": the words every report, log and panel uses.
pub fn independence_label(speaker_independent: bool) -> &'static str {
    if speaker_independent {
        "speaker-independent"
    } else {
        "speaker-dependent"
    }
}

impl SplitPlan {
    /// Label shown next to every result: "speaker-independent" or "SPEAKER-DEPENDENT".
    pub fn independence_label(&self) -> &'static str {
        independence_label(self.speaker_independent)
    }
}

/// Checks one fold for files in two parts and speakers in both training and test.
pub fn check_leakage(utts: &[Utterance], fold: &Fold) -> LeakageReport {
    let speakers = |idx: &[usize]| -> BTreeSet<String> {
        idx.iter()
            .filter_map(|&i| utts.get(i).and_then(|u| u.speaker_id.clone()))
            .collect()
    };
    let mut train_speakers = speakers(&fold.train);
    train_speakers.extend(speakers(&fold.valid));
    let test_speakers = speakers(&fold.test);
    let mut seen: BTreeMap<&PathBuf, usize> = BTreeMap::new();
    let mut dup = BTreeSet::new();
    for (part, idx) in [&fold.train, &fold.valid, &fold.test]
        .into_iter()
        .enumerate()
    {
        for &i in idx {
            if let Some(u) = utts.get(i) {
                match seen.get(&u.path) {
                    Some(&p) if p != part => {
                        dup.insert(u.path.clone());
                    }
                    _ => {
                        seen.insert(&u.path, part);
                    }
                }
            }
        }
    }
    LeakageReport {
        fold: fold.name.clone(),
        speakers_in_train_and_test: train_speakers
            .intersection(&test_speakers)
            .cloned()
            .collect(),
        files_in_two_parts: dup.into_iter().collect(),
    }
}

/// Builds the folds of `protocol` over `utts` and runs the leakage check.
///
/// `valid_fraction` of each training part (by speaker when speakers are known) becomes the
/// validation part. Returns an error when the protocol cannot be applied (e.g. LOSO without
/// speakers) or when the leakage check finds a leak a speaker-independent protocol must not have.
pub fn plan(
    utts: &[Utterance],
    protocol: Protocol,
    seed: u64,
    valid_fraction: f64,
) -> Result<SplitPlan, String> {
    if utts.is_empty() {
        return Err("no utterances to split".into());
    }
    let speakers_known = utts.iter().all(|u| u.speaker_id.is_some());
    let needs_speakers = matches!(protocol, Protocol::Loso | Protocol::SpeakerKFold(_));
    if needs_speakers && !speakers_known {
        return Err(format!(
            "protocol {protocol} needs speaker ids, but this corpus does not name the speaker of every file; \
             use kfold:K or holdout:F (speaker-dependent)"
        ));
    }
    let mut rng = SplitMix64::new(seed);
    let all: Vec<usize> = (0..utts.len()).collect();
    let test_sets: Vec<(String, Vec<usize>)> = match protocol {
        Protocol::Loso => {
            let spk = speaker_groups(utts, &all);
            if spk.len() < 2 {
                return Err("leave-one-speaker-out needs at least 2 speakers".into());
            }
            spk.into_iter()
                .map(|(s, idx)| (format!("speaker{s}"), idx))
                .collect()
        }
        Protocol::SpeakerKFold(k) => {
            let spk = speaker_groups(utts, &all);
            if spk.len() < k {
                return Err(format!(
                    "speaker-kfold:{k} needs at least {k} speakers, corpus has {}",
                    spk.len()
                ));
            }
            let groups = group_kfold(spk, k, &mut rng);
            groups
                .into_iter()
                .enumerate()
                .map(|(i, idx)| (format!("fold{}", i + 1), idx))
                .collect()
        }
        Protocol::KFold(k) => stratified_kfold(utts, &all, k, &mut rng)
            .into_iter()
            .enumerate()
            .map(|(i, idx)| (format!("fold{}", i + 1), idx))
            .collect(),
        Protocol::SessionLoso => {
            let groups = group_by(utts, &all, |u| u.session.clone());
            if groups.len() < 2 || groups.contains_key(&None) {
                return Err("session-loso needs a session for every utterance and at least 2 sessions (IEMOCAP)".into());
            }
            groups
                .into_iter()
                .map(|(s, idx)| (s.unwrap_or_default(), idx))
                .collect()
        }
        Protocol::LeaveOneCorpusOut => {
            let groups = group_by(utts, &all, |u| Some(u.corpus.clone()));
            if groups.len() < 2 {
                return Err(
                    "leave-one-corpus-out needs at least 2 corpora (repeat --corpus)".into(),
                );
            }
            groups
                .into_iter()
                .map(|(c, idx)| (format!("test-{}", c.unwrap_or_default()), idx))
                .collect()
        }
        Protocol::Official => return official_plan(utts, seed, valid_fraction),
        Protocol::Holdout(f) => {
            let test = if speakers_known {
                speaker_fraction(utts, &all, f, &mut rng)
            } else {
                stratified_fraction(utts, &all, f, &mut rng)
            };
            vec![("holdout".to_string(), test)]
        }
        Protocol::RandomHoldout(f) => {
            vec![(
                "holdout".to_string(),
                stratified_fraction(utts, &all, f, &mut rng),
            )]
        }
    };
    let mut folds = Vec::new();
    for (name, mut test) in test_sets {
        test.sort_unstable();
        let test_set: BTreeSet<usize> = test.iter().copied().collect();
        let rest: Vec<usize> = all
            .iter()
            .copied()
            .filter(|i| !test_set.contains(i))
            .collect();
        let mut valid = if speakers_known && speaker_groups(utts, &rest).len() >= 3 {
            speaker_fraction(utts, &rest, valid_fraction, &mut rng)
        } else {
            stratified_fraction(utts, &rest, valid_fraction, &mut rng)
        };
        valid.sort_unstable();
        let valid_set: BTreeSet<usize> = valid.iter().copied().collect();
        let train: Vec<usize> = rest
            .into_iter()
            .filter(|i| !valid_set.contains(i))
            .collect();
        if train.is_empty() || test.is_empty() {
            return Err(format!("{name}: empty training or test part"));
        }
        folds.push(Fold {
            name,
            train,
            valid,
            test,
        });
    }
    let speaker_independent = protocol.speaker_independent(speakers_known);
    let leakage: Vec<LeakageReport> = folds.iter().map(|f| check_leakage(utts, f)).collect();
    for l in &leakage {
        if !l.files_in_two_parts.is_empty()
            || (speaker_independent && !l.speakers_in_train_and_test.is_empty())
        {
            return Err(format!(
                "leakage check failed: {}",
                l.summary(speaker_independent)
            ));
        }
    }
    Ok(SplitPlan {
        protocol: protocol.spelling(),
        speaker_independent,
        seed,
        folds,
        leakage,
    })
}

/// Cross-corpus split: train (and validation, carved by speaker) on every source row, test on
/// every target row. Target labels choose nothing; the target audio may be used unlabelled for
/// domain adaptation.
pub fn cross_corpus_plan(
    utts: &[Utterance],
    is_target: &[bool],
    seed: u64,
    valid_fraction: f64,
) -> Result<SplitPlan, String> {
    let source: Vec<usize> = (0..utts.len())
        .filter(|&i| !is_target.get(i).copied().unwrap_or(false))
        .collect();
    let test: Vec<usize> = (0..utts.len())
        .filter(|&i| is_target.get(i).copied().unwrap_or(false))
        .collect();
    if source.is_empty() || test.is_empty() {
        return Err(format!(
            "cross-corpus run needs utterances in both corpora after the label map (source {}, target {})",
            source.len(),
            test.len()
        ));
    }
    let mut rng = SplitMix64::new(seed);
    let speakers_known = source.iter().all(|&i| utts[i].speaker_id.is_some());
    let mut valid = if speakers_known && speaker_groups(utts, &source).len() >= 3 {
        speaker_fraction(utts, &source, valid_fraction, &mut rng)
    } else {
        stratified_fraction(utts, &source, valid_fraction, &mut rng)
    };
    valid.sort_unstable();
    let vs: BTreeSet<usize> = valid.iter().copied().collect();
    let train: Vec<usize> = source.into_iter().filter(|i| !vs.contains(i)).collect();
    let fold = Fold {
        name: "cross-corpus".into(),
        train,
        valid,
        test,
    };
    let leak = check_leakage(utts, &fold);
    if !leak.files_in_two_parts.is_empty() || !leak.speakers_in_train_and_test.is_empty() {
        return Err(format!("leakage check failed: {}", leak.summary(true)));
    }
    Ok(SplitPlan {
        protocol: "cross-corpus".into(),
        speaker_independent: true,
        seed,
        folds: vec![fold],
        leakage: vec![leak],
    })
}

/// Indices grouped by a key, sorted by key.
fn group_by(
    utts: &[Utterance],
    idx: &[usize],
    key: impl Fn(&Utterance) -> Option<String>,
) -> BTreeMap<Option<String>, Vec<usize>> {
    let mut m: BTreeMap<Option<String>, Vec<usize>> = BTreeMap::new();
    for &i in idx {
        m.entry(key(&utts[i])).or_default().push(i);
    }
    m
}

/// The official split: `split` = train / valid / test on every utterance. Without a validation
/// part, one is carved from training as usual. Speaker independence is decided by the data.
fn official_plan(utts: &[Utterance], seed: u64, valid_fraction: f64) -> Result<SplitPlan, String> {
    let parts = group_by(utts, &(0..utts.len()).collect::<Vec<_>>(), |u| {
        u.split.clone()
    });
    let missing = parts.get(&None).map_or(0, Vec::len);
    if missing > 0 {
        return Err(format!(
            "official protocol: {missing} utterance(s) have no official split (train/valid/test)"
        ));
    }
    let get = |k: &str| parts.get(&Some(k.to_string())).cloned().unwrap_or_default();
    let (mut train, mut valid, test) = (get("train"), get("valid"), get("test"));
    if train.is_empty() || test.is_empty() {
        return Err(format!(
            "official protocol: found splits {:?}; need train and test",
            parts.keys().flatten().collect::<Vec<_>>()
        ));
    }
    if valid.is_empty() {
        let mut rng = SplitMix64::new(seed);
        let speakers_known = train.iter().all(|&i| utts[i].speaker_id.is_some());
        valid = if speakers_known && speaker_groups(utts, &train).len() >= 3 {
            speaker_fraction(utts, &train, valid_fraction, &mut rng)
        } else {
            stratified_fraction(utts, &train, valid_fraction, &mut rng)
        };
        let vs: BTreeSet<usize> = valid.iter().copied().collect();
        train.retain(|i| !vs.contains(i));
    }
    let fold = Fold {
        name: "official".into(),
        train,
        valid,
        test,
    };
    let leak = check_leakage(utts, &fold);
    if !leak.files_in_two_parts.is_empty() {
        return Err(format!("leakage check failed: {}", leak.summary(true)));
    }
    let speaker_independent =
        utts.iter().all(|u| u.speaker_id.is_some()) && leak.speakers_in_train_and_test.is_empty();
    Ok(SplitPlan {
        protocol: "official".into(),
        speaker_independent,
        seed,
        folds: vec![fold],
        leakage: vec![leak],
    })
}

/// Indices grouped by speaker, sorted by speaker id.
fn speaker_groups(utts: &[Utterance], idx: &[usize]) -> BTreeMap<String, Vec<usize>> {
    let mut m: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in idx {
        let s = utts[i].speaker_id.clone().unwrap_or_default();
        m.entry(s).or_default().push(i);
    }
    m
}

/// Speaker-grouped k-fold: speakers shuffled, then each given (largest first) to the fold with
/// the fewest utterances so far.
fn group_kfold(
    groups: BTreeMap<String, Vec<usize>>,
    k: usize,
    rng: &mut SplitMix64,
) -> Vec<Vec<usize>> {
    let mut g: Vec<Vec<usize>> = groups.into_values().collect();
    rng.shuffle(&mut g);
    g.sort_by_key(|v| std::cmp::Reverse(v.len())); // stable: shuffled order breaks ties
    let mut folds = vec![Vec::new(); k];
    for idx in g {
        if let Some(f) = folds.iter_mut().min_by_key(|f| f.len()) {
            f.extend(idx);
        }
    }
    folds
}

/// Stratified k-fold over utterances.
fn stratified_kfold(
    utts: &[Utterance],
    idx: &[usize],
    k: usize,
    rng: &mut SplitMix64,
) -> Vec<Vec<usize>> {
    let mut by_class: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in idx {
        by_class.entry(utts[i].emotion.name()).or_default().push(i);
    }
    let mut folds = vec![Vec::new(); k];
    // Each class starts at the next fold so small classes do not all land in fold 1.
    for (offset, (_, mut v)) in by_class.into_iter().enumerate() {
        rng.shuffle(&mut v);
        for (j, i) in v.into_iter().enumerate() {
            folds[(j + offset) % k].push(i);
        }
    }
    folds
}

/// A stratified random fraction of `idx` (at least one per class that has two or more items).
fn stratified_fraction(
    utts: &[Utterance],
    idx: &[usize],
    f: f64,
    rng: &mut SplitMix64,
) -> Vec<usize> {
    let mut by_class: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in idx {
        by_class.entry(utts[i].emotion.name()).or_default().push(i);
    }
    let mut out = Vec::new();
    for (_, mut v) in by_class {
        rng.shuffle(&mut v);
        let n = ((v.len() as f64 * f).round() as usize)
            .max(usize::from(v.len() >= 2))
            .min(v.len().saturating_sub(1));
        out.extend(v.into_iter().take(n));
    }
    out
}

/// Whole speakers (shuffled) until at least fraction `f` of `idx` is taken; always leaves one.
fn speaker_fraction(utts: &[Utterance], idx: &[usize], f: f64, rng: &mut SplitMix64) -> Vec<usize> {
    let mut groups: Vec<Vec<usize>> = speaker_groups(utts, idx).into_values().collect();
    rng.shuffle(&mut groups);
    let target = (idx.len() as f64 * f).ceil() as usize;
    let mut out = Vec::new();
    let n_groups = groups.len();
    for (taken, g) in groups.into_iter().enumerate() {
        if out.len() >= target.max(1) || taken + 1 >= n_groups {
            break;
        }
        out.extend(g);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{Emotion, utterance};

    fn corpus(speakers: usize, per_class: usize) -> Vec<Utterance> {
        let mut v = Vec::new();
        for s in 0..speakers {
            for e in [Emotion::Anger, Emotion::Neutral, Emotion::Sadness] {
                for k in 0..per_class {
                    let mut u = utterance("t", format!("s{s}_{e}_{k}.wav").into(), e.name(), e);
                    u.speaker_id = Some(format!("{s:02}"));
                    v.push(u);
                }
            }
        }
        v
    }

    #[test]
    fn parses_all_spellings() {
        assert_eq!("loso".parse::<Protocol>(), Ok(Protocol::Loso));
        assert_eq!(
            "speaker-kfold:5".parse::<Protocol>(),
            Ok(Protocol::SpeakerKFold(5))
        );
        assert_eq!("kfold:10".parse::<Protocol>(), Ok(Protocol::KFold(10)));
        assert_eq!(
            "holdout:0.2".parse::<Protocol>(),
            Ok(Protocol::Holdout(0.2))
        );
        assert_eq!(
            "random-holdout:0.2".parse::<Protocol>(),
            Ok(Protocol::RandomHoldout(0.2))
        );
        assert!(!Protocol::RandomHoldout(0.2).speaker_independent(true));
        assert!("kfold".parse::<Protocol>().is_err());
        assert!("holdout:1.5".parse::<Protocol>().is_err());
        assert!("speaker-kfold:1".parse::<Protocol>().is_err());
        assert!("random".parse::<Protocol>().is_err());
    }

    /// Speaker-independent protocols never put a speaker in both training and test, every
    /// utterance is tested exactly once, and validation comes out of the training part.
    #[test]
    fn speaker_independent_protocols_do_not_leak() {
        let utts = corpus(10, 4);
        for p in [
            Protocol::Loso,
            Protocol::SpeakerKFold(5),
            Protocol::SpeakerKFold(3),
            Protocol::Holdout(0.2),
        ] {
            let plan = plan(&utts, p, 42, 0.15).expect("plan");
            assert!(plan.speaker_independent);
            let mut tested = vec![0; utts.len()];
            for f in &plan.folds {
                let spk = |idx: &[usize]| {
                    idx.iter()
                        .map(|&i| utts[i].speaker_id.clone())
                        .collect::<BTreeSet<_>>()
                };
                let train: BTreeSet<_> = spk(&f.train).union(&spk(&f.valid)).cloned().collect();
                assert!(train.is_disjoint(&spk(&f.test)), "{p}: {}", f.name);
                assert!(!f.valid.is_empty(), "{p}: no validation");
                assert_eq!(f.train.len() + f.valid.len() + f.test.len(), utts.len());
                for &i in &f.test {
                    tested[i] += 1;
                }
            }
            if !matches!(p, Protocol::Holdout(_)) {
                assert!(
                    tested.iter().all(|&c| c == 1),
                    "{p}: every utterance tested once"
                );
            }
        }
        assert_eq!(
            plan(&utts, Protocol::Loso, 1, 0.1).expect("p").folds.len(),
            10
        );
    }

    #[test]
    fn kfold_is_labelled_speaker_dependent_and_reports_shared_speakers() {
        let utts = corpus(4, 5);
        let plan = plan(&utts, Protocol::KFold(5), 3, 0.1).expect("plan");
        assert!(!plan.speaker_independent);
        assert_eq!(plan.independence_label(), "speaker-dependent");
        assert!(
            plan.leakage
                .iter()
                .any(|l| !l.speakers_in_train_and_test.is_empty())
        );
        assert!(plan.leakage.iter().all(|l| l.files_in_two_parts.is_empty()));
    }

    #[test]
    fn deterministic_for_a_seed() {
        let utts = corpus(8, 3);
        let a = plan(&utts, Protocol::SpeakerKFold(4), 9, 0.2).expect("a");
        let b = plan(&utts, Protocol::SpeakerKFold(4), 9, 0.2).expect("b");
        assert_eq!(a, b);
    }

    #[test]
    fn loso_without_speakers_is_refused() {
        let mut utts = corpus(3, 2);
        utts[0].speaker_id = None;
        let err = plan(&utts, Protocol::Loso, 1, 0.1).expect_err("must refuse");
        assert!(err.contains("speaker"), "{err}");
    }

    #[test]
    fn leakage_check_finds_duplicate_files() {
        let utts = corpus(2, 1);
        let fold = Fold {
            name: "f".into(),
            train: vec![0, 1],
            valid: vec![],
            test: vec![1],
        };
        let r = check_leakage(&utts, &fold);
        assert_eq!(r.files_in_two_parts.len(), 1);
        assert!(r.summary(true).contains("LEAK"));
    }
}
