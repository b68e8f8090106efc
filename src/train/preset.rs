//! Presets: feature, model and training settings in one RON file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::corpus::Protocol;
use crate::features::FeatureConfig;
pub use crate::model::AlignedLayer;
use crate::model::ModelConfig;

/// Optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// Adam.
    Adam,
    /// AdamW (decoupled weight decay).
    AdamW,
    /// SGD with momentum `sgd_momentum` (PyTorch semantics: dampening 0, no Nesterov).
    Sgd,
}

/// Domain-adaptation loss added to the classification loss in cross-corpus runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdaptMethod {
    /// DSAN's local MMD (class-weighted, target by soft predictions).
    Lmmd,
    /// The LogMel–HuBERT paper's centroid formula.
    CentroidLmmd,
    /// Plain multi-kernel MMD.
    Mmd,
    /// CORAL (second-order statistics).
    Coral,
}

/// Domain adaptation settings (used when a run has a target corpus).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdaptationConfig {
    /// Loss.
    pub method: AdaptMethod,
    /// Weight λ of the adaptation loss.
    pub lambda: f64,
    /// Ramp λ·(2/(1+e^(−γp))−1) over training progress p ∈ [0, 1] (DANN/DSAN); `None` = constant.
    pub ramp_gamma: Option<f64>,
    /// Which features are aligned between the domains.
    pub aligned_layer: AlignedLayer,
}

impl Default for AdaptationConfig {
    fn default() -> Self {
        Self {
            method: AdaptMethod::Lmmd,
            lambda: 0.5,
            ramp_gamma: Some(10.0),
            aligned_layer: AlignedLayer::Embedding,
        }
    }
}

impl AdaptationConfig {
    /// λ at training progress `p` ∈ [0, 1].
    pub fn lambda_at(&self, p: f64) -> f64 {
        match self.ramp_gamma {
            Some(g) => self.lambda * (2.0 / (1.0 + (-g * p).exp()) - 1.0),
            None => self.lambda,
        }
    }
}

/// (De)serialises a [`Protocol`] as its spelling, as preset files write it.
mod protocol_spelling {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::corpus::Protocol;

    pub fn serialize<S: Serializer>(p: &Protocol, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&p.spelling())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Protocol, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Training settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingConfig {
    /// Evaluation protocol, written as its spelling (`loso`, `speaker-kfold:K`, `kfold:K`,
    /// `holdout:F`, …); a misspelt protocol is an error when the preset is read.
    #[serde(with = "protocol_spelling")]
    pub protocol: Protocol,
    /// Seed for splits, initialisation, dropout and shuffling.
    pub seed: u64,
    /// Maximum epochs per fold.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Learning rate.
    pub learning_rate: f64,
    /// Weight decay (AdamW/SGD; L2 for Adam).
    pub weight_decay: f64,
    /// Optimiser.
    pub optimizer: OptimizerKind,
    /// Adam/AdamW (β1, β2); PyTorch's defaults.
    pub adam_betas: (f32, f32),
    /// Adam/AdamW ε added to √v̂; PyTorch's default 1e-8.
    pub adam_epsilon: f32,
    /// SGD momentum (0 = none); dampening 0 and no Nesterov, as PyTorch's defaults.
    pub sgd_momentum: f64,
    /// Gradient clipping by norm, per parameter tensor (burn's semantics).
    pub grad_clip_norm: Option<f32>,
    /// Weight the loss by inverse class frequency of the training part.
    pub class_weighted_loss: bool,
    /// Stop when validation UA has not improved for this many epochs.
    pub early_stopping_patience: Option<usize>,
    /// Fraction of each training part carved out for validation (by speaker when possible).
    pub valid_fraction: f64,
    /// Label map name or RON file (see `corpus::label_map`); `None` = all classes (one corpus) or
    /// the intersection (several corpora).
    #[serde(default)]
    pub label_map: Option<String>,
    /// Domain adaptation for runs with a target corpus (`None` = source-only training).
    #[serde(default)]
    pub adaptation: Option<AdaptationConfig>,
    /// Learning-rate schedule over the optimiser steps of a fold.
    pub lr_schedule: super::schedule::LrSchedule,
    /// Also evaluate on the validation part (and keep the best weights) every N optimiser
    /// steps, besides the end of every epoch; `None` = per epoch only.
    pub eval_every_steps: Option<usize>,
    /// What chooses the kept checkpoint and drives early stopping.
    pub select_by: SelectBy,
    /// On-the-fly waveform augmentation of the training part (speed, pitch, noise); needs a
    /// stream computed from the waveform here (log-mel, MFCC) or a fine-tuned encoder.
    pub augment: Option<crate::audio::augment::AugmentConfig>,
    /// SpecAugment-style frequency and time masks on the training examples' features (models
    /// trained on cached frame-level features; not the Linear or SslFineTune models).
    pub spec_augment: Option<super::spec_augment::SpecAugment>,
}

/// The validation figure that chooses the kept checkpoint (ties: the other one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectBy {
    /// Highest validation UA (ties: lower validation loss).
    #[default]
    ValidUa,
    /// Lowest validation loss (ties: the higher UA or mean CCC).
    ValidLoss,
    /// Highest validation CCC averaged over the dimensions (dimensional tasks; ties: lower
    /// validation loss).
    ValidCcc,
    /// Highest validation macro F1 over the labels (multi-label tasks; ties: lower validation
    /// loss).
    ValidMacroF1,
}

impl SelectBy {
    /// Whether (score, loss) is better than the best so far; the score is UA for categorical
    /// runs and the mean CCC for dimensional ones.
    pub fn improves(self, score: f64, loss: f64, best_score: f64, best_loss: f64) -> bool {
        match self {
            SelectBy::ValidUa | SelectBy::ValidCcc | SelectBy::ValidMacroF1 => {
                score > best_score || (score == best_score && loss < best_loss)
            }
            SelectBy::ValidLoss => loss < best_loss || (loss == best_loss && score > best_score),
        }
    }

    /// Name for messages.
    pub fn name(self) -> &'static str {
        match self {
            SelectBy::ValidUa => "validation UA",
            SelectBy::ValidLoss => "validation loss",
            SelectBy::ValidCcc => "validation mean CCC",
            SelectBy::ValidMacroF1 => "validation macro F1",
        }
    }
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            protocol: Protocol::SpeakerKFold(5),
            seed: 42,
            epochs: 30,
            batch_size: 32,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            optimizer: OptimizerKind::AdamW,
            adam_betas: (0.9, 0.999),
            adam_epsilon: 1e-8,
            sgd_momentum: 0.9,
            grad_clip_norm: Some(5.0),
            class_weighted_loss: false,
            early_stopping_patience: Some(8),
            valid_fraction: 0.15,
            label_map: None,
            adaptation: None,
            lr_schedule: Default::default(),
            eval_every_steps: None,
            select_by: SelectBy::ValidUa,
            augment: None,
            spec_augment: None,
        }
    }
}

/// A complete experiment recipe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    /// Short name.
    pub name: String,
    /// One line on what it is.
    #[serde(default)]
    pub description: String,
    /// Feature stream.
    #[serde(default)]
    pub features: FeatureConfig,
    /// Model.
    pub model: ModelConfig,
    /// Training.
    #[serde(default)]
    pub training: TrainingConfig,
    /// What the run predicts (absent in presets of earlier versions: categorical).
    #[serde(default, skip_serializing_if = "is_categorical")]
    pub task: super::task::Task,
    /// A text stream beside the audio: transcripts encoded by a BERT-family model, pooled and
    /// concatenated with the audio embedding before the head (absent: audio only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<crate::text::TextFusionConfig>,
}

fn is_categorical(t: &super::task::Task) -> bool {
    *t == super::task::Task::Categorical
}

/// Problems reading a preset.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// File could not be read.
    #[error("{path}: cannot read preset: {reason}")]
    Io {
        /// File.
        path: String,
        /// Why.
        reason: String,
    },
    /// The preset parses but describes something that cannot be built as written.
    #[error("{path}: invalid preset: {reason}")]
    Invalid {
        /// File.
        path: String,
        /// Which field and why.
        reason: String,
    },
    /// RON did not parse or did not match the schema.
    #[error("{path}: malformed preset: {reason}")]
    Parse {
        /// File.
        path: String,
        /// Parser message with position.
        reason: String,
    },
}

impl Preset {
    /// Parses RON text and checks the model configuration; `origin` names the source in
    /// errors.
    pub fn from_ron(text: &str, origin: &str) -> Result<Self, PresetError> {
        let p: Preset = ron::from_str(text).map_err(|e| PresetError::Parse {
            path: origin.into(),
            reason: e.to_string(),
        })?;
        p.validate().map_err(|reason| PresetError::Invalid {
            path: origin.into(),
            reason,
        })?;
        Ok(p)
    }

    /// Checks the model, the training settings and that the stream fits the model.
    pub fn validate(&self) -> Result<(), String> {
        use crate::features::StreamKind;
        self.model.validate()?;
        self.training.lr_schedule.validate()?;
        if self.training.eval_every_steps == Some(0) {
            return Err("eval_every_steps must be at least 1 (or absent)".into());
        }
        let fine_tune = matches!(self.model, ModelConfig::SslFineTune(_));
        let waveform = self.features.stream == StreamKind::Waveform;
        if fine_tune && !waveform {
            return Err(
                "the SslFineTune model reads the waveform: set features.stream: waveform".into(),
            );
        }
        if waveform && self.features.normalisation != crate::features::Normalisation::None {
            return Err("the waveform stream needs features.normalisation: none (the encoder normalises each utterance as its checkpoint asks)".into());
        }
        if waveform && !fine_tune {
            return Err("the waveform stream feeds only the SslFineTune model".into());
        }
        self.validate_vector_stream()?;
        if self.features.prosody
            && !matches!(self.features.stream, StreamKind::LogMel | StreamKind::Mfcc)
        {
            return Err(format!(
                "features.prosody appends F0, voicing and energy to log-mel or MFCC frames; the {:?} stream has none",
                self.features.stream
            ));
        }
        if self.features.prosody_continuous_f0 && !self.features.prosody {
            return Err("features.prosody_continuous_f0 shapes the prosody channels: it needs features.prosody: true".into());
        }
        if let Some(a) = &self.training.augment {
            a.validate()?;
            let dsp = matches!(
                self.features.stream,
                StreamKind::LogMel | StreamKind::Mfcc | StreamKind::Functionals
            );
            if a.is_active() && !dsp && !fine_tune {
                return Err(format!(
                    "training.augment needs a stream computed from the waveform during training (logmel, mfcc) or the SslFineTune model; the {:?} stream is cached once per utterance",
                    self.features.stream
                ));
            }
        }
        if let Some(m) = &self.training.spec_augment {
            m.validate()?;
            let frames = matches!(
                self.features.stream,
                StreamKind::LogMel | StreamKind::Mfcc | StreamKind::SslFrames
            );
            if m.is_active() && (!frames || matches!(self.model, ModelConfig::Linear(_))) {
                return Err(format!(
                    "training.spec_augment masks frames and bins of a frame-level stream (logmel, mfcc, ssl_frames) for a model trained by gradient steps; not the {:?} stream with the {} model",
                    self.features.stream,
                    self.model.name()
                ));
            }
        }
        match (&self.task, self.training.select_by) {
            (super::task::Task::MultiLabel(m), s) => {
                m.validate()?;
                if matches!(s, SelectBy::ValidUa | SelectBy::ValidCcc) {
                    return Err("a multi-label task selects by ValidMacroF1 or ValidLoss".into());
                }
                if m.balanced_sampling && self.is_fine_tune() {
                    return Err("task: balanced_sampling applies to models on cached features; fine-tuning batches by length".into());
                }
                if let Some(a) = &self.training.adaptation
                    && matches!(a.method, AdaptMethod::Lmmd | AdaptMethod::CentroidLmmd)
                {
                    return Err(
                        "LMMD aligns classes: a multi-label task can use Mmd or Coral adaptation"
                            .into(),
                    );
                }
                if self.training.class_weighted_loss {
                    return Err("class_weighted_loss does not apply to a multi-label task (use the task's positive_weights)".into());
                }
            }
            (_, SelectBy::ValidMacroF1) => {
                return Err("select_by: ValidMacroF1 needs a multi-label task".into());
            }
            (super::task::Task::Categorical, SelectBy::ValidCcc) => {
                return Err("select_by: ValidCcc needs a dimensional task (categorical runs select by ValidUa or ValidLoss)".into());
            }
            (super::task::Task::Dimensional(_), SelectBy::ValidUa) => {
                return Err("select_by: ValidUa does not apply to a dimensional task; use ValidCcc or ValidLoss".into());
            }
            (super::task::Task::Dimensional(d), _) => {
                d.validate()?;
                if d.per_dimension_layer_weights
                    && !matches!(
                        self.model,
                        ModelConfig::SslFineTune(_) | ModelConfig::LayerWeighted(_)
                    )
                {
                    return Err("per_dimension_layer_weights needs a model with a layer-weighted sum (LayerWeighted on the ssl stream, or SslFineTune)".into());
                }
                if let Some(a) = &self.training.adaptation
                    && matches!(a.method, AdaptMethod::Lmmd | AdaptMethod::CentroidLmmd)
                {
                    return Err(
                        "LMMD aligns classes: a dimensional task can use Mmd or Coral adaptation"
                            .into(),
                    );
                }
                if self.training.class_weighted_loss {
                    return Err("class_weighted_loss does not apply to a dimensional task".into());
                }
            }
            _ => {}
        }
        if let ModelConfig::SslFineTune(ft) = &self.model
            && ft.multitask().is_some()
        {
            if !matches!(self.task, super::task::Task::Categorical) {
                return Err(
                    "the multi-task head predicts emotion classes: it needs a categorical task"
                        .into(),
                );
            }
            if self.text.is_some() {
                return Err("the multi-task head reads the transcript as the asr task, not as a text stream: remove text".into());
            }
        }
        if fine_tune && self.features.ssl_weights.is_none() {
            return Err(
                "the SslFineTune model needs features.ssl_weights (the encoder's model folder)"
                    .into(),
            );
        }
        if let Some(t) = &self.text {
            self.validate_text(t)?;
        }
        Ok(())
    }

    /// The one-vector-per-utterance pieces fit together: the linear solvers read one vector
    /// per utterance and classify; the functionals stream has one frame, which only models
    /// that pool or flatten can take, and per-utterance normalisation would erase it.
    fn validate_vector_stream(&self) -> Result<(), String> {
        use crate::features::{Normalisation, StreamKind};
        let stream = self.features.stream;
        if stream == StreamKind::Functionals {
            self.features
                .functionals
                .validate(self.features.logmel.sample_rate_hz)?;
            if !matches!(
                self.model,
                ModelConfig::Linear(_) | ModelConfig::PooledFc(_)
            ) {
                return Err(format!(
                    "the functionals stream is one vector per utterance: it feeds the Linear or PooledFc model, not {}",
                    self.model.name()
                ));
            }
            if self.features.normalisation == Normalisation::PerUtterance {
                return Err("the functionals stream is one vector per utterance: normalise by the training set (training_set) or not at all (none)".into());
            }
        }
        if matches!(self.model, ModelConfig::Linear(_)) {
            if !matches!(stream, StreamKind::Functionals | StreamKind::Ssl) {
                return Err(format!(
                    "the Linear model reads one vector per utterance: use the functionals or ssl stream, not {stream:?}"
                ));
            }
            if !matches!(self.task, super::task::Task::Categorical) {
                return Err("the Linear model's solvers classify: it needs a categorical task (use PooledFc for dimensional or multi-label tasks)".into());
            }
            if self.training.adaptation.is_some() {
                return Err("the Linear model is fitted by a convex solver: domain adaptation (training.adaptation) needs a model trained by gradient steps".into());
            }
            if self
                .training
                .augment
                .as_ref()
                .is_some_and(|a| a.is_active())
            {
                return Err("the Linear model is fitted once on the training vectors: training.augment does not apply".into());
            }
            if !matches!(
                self.training.select_by,
                SelectBy::ValidUa | SelectBy::ValidLoss
            ) {
                return Err("the Linear model selects C by ValidUa or ValidLoss".into());
            }
            if self.training.class_weighted_loss {
                return Err("the Linear model's solvers weight every utterance equally: class_weighted_loss is not supported (use PooledFc on the same stream)".into());
            }
        }
        Ok(())
    }

    /// The text stream fits the model: a model that takes a text vector, one group of head
    /// inputs, and an encoder inside the model only when it fine-tunes.
    fn validate_text(&self, t: &crate::text::TextFusionConfig) -> Result<(), String> {
        if !self.model.takes_text() {
            return Err(format!(
                "text: the {} model does not take a text vector; use PooledFc or SslFineTune",
                self.model.name()
            ));
        }
        if t.fine_tune && !self.is_fine_tune() {
            return Err("text.fine_tune trains the text encoder with the model: it needs the SslFineTune model (with PooledFc the text encoder stays frozen)".into());
        }
        if self
            .task
            .dimensional()
            .is_some_and(|d| d.per_dimension_layer_weights)
        {
            return Err("text: per_dimension_layer_weights gives each dimension its own audio input; with a text stream use shared layer weights".into());
        }
        if t.learning_rate.is_some_and(|lr| lr.is_nan() || lr <= 0.0) {
            return Err("text.learning_rate must be > 0".into());
        }
        Ok(())
    }

    /// The preset with the task's per-dimension layer weights passed to a layer-weighted model
    /// (the model builds one set per output).
    pub fn with_task_in_model(&self) -> Preset {
        let mut p = self.clone();
        let per_dim = self
            .task
            .dimensional()
            .is_some_and(|d| d.per_dimension_layer_weights);
        if let ModelConfig::LayerWeighted(c) = &mut p.model {
            c.per_output_layer_weights = per_dim;
        }
        p
    }

    /// Whether this preset fine-tunes an SSL encoder end to end.
    pub fn is_fine_tune(&self) -> bool {
        matches!(self.model, ModelConfig::SslFineTune(_))
    }

    /// Reads a preset file.
    pub fn load(path: &Path) -> Result<Self, PresetError> {
        let text = std::fs::read_to_string(path).map_err(|e| PresetError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_ron(&text, &path.display().to_string())
    }

    /// Pretty RON.
    pub fn to_ron(&self) -> String {
        ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default().struct_names(true))
            .unwrap_or_else(|e| format!("// cannot serialise preset: {e}"))
    }

    /// Writes the preset atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        crate::fsutil::write_text_atomic(path, &self.to_ron())
    }

    /// The presets shipped in `presets/` (embedded, so the binary works from any folder), and
    /// the error of each one that does not parse (shown to the user, never dropped silently; a
    /// test keeps the shipped files valid).
    pub fn builtin_with_errors() -> (Vec<Preset>, Vec<PresetError>) {
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for (name, text) in BUILTIN {
            match Self::from_ron(text, name) {
                Ok(p) => ok.push(p),
                Err(e) => bad.push(e),
            }
        }
        (ok, bad)
    }

    /// The presets saved in a folder (`*.ron`, by file name), and the error of each that does
    /// not read; a missing folder holds none.
    pub fn load_folder(dir: &Path) -> (Vec<Preset>, Vec<PresetError>) {
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "ron"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for f in files {
            match Self::load(&f) {
                Ok(p) => ok.push(p),
                Err(e) => bad.push(e),
            }
        }
        (ok, bad)
    }

    /// Whether a shipped preset has this name.
    pub fn is_builtin_name(name: &str) -> bool {
        Self::builtin().iter().any(|p| p.name == name)
    }

    /// The shipped presets that parse (see [`Preset::builtin_with_errors`]).
    pub fn builtin() -> Vec<Preset> {
        Self::builtin_with_errors().0
    }
}

/// The files of `presets/`, compiled in (a test checks that the list matches the folder).
pub const BUILTIN: [(&str, &str); 41] = [
    ("presets/demo.ron", include_str!("../../presets/demo.ron")),
    (
        "presets/baseline_functionals_logreg.ron",
        include_str!("../../presets/baseline_functionals_logreg.ron"),
    ),
    (
        "presets/baseline_functionals_logreg_per_speaker.ron",
        include_str!("../../presets/baseline_functionals_logreg_per_speaker.ron"),
    ),
    (
        "presets/baseline_functionals_svm.ron",
        include_str!("../../presets/baseline_functionals_svm.ron"),
    ),
    (
        "presets/baseline_functionals_mlp.ron",
        include_str!("../../presets/baseline_functionals_mlp.ron"),
    ),
    (
        "presets/demo_cross_corpus_lmmd.ron",
        include_str!("../../presets/demo_cross_corpus_lmmd.ron"),
    ),
    (
        "presets/logmel_cnn.ron",
        include_str!("../../presets/logmel_cnn.ron"),
    ),
    (
        "presets/paper_temporal_logmel.ron",
        include_str!("../../presets/paper_temporal_logmel.ron"),
    ),
    (
        "presets/hubert_fc.ron",
        include_str!("../../presets/hubert_fc.ron"),
    ),
    (
        "presets/hubert_layer_weighted.ron",
        include_str!("../../presets/hubert_layer_weighted.ron"),
    ),
    (
        "presets/paper_cnn_gru.ron",
        include_str!("../../presets/paper_cnn_gru.ron"),
    ),
    (
        "presets/paper_logmel_hubert_fc.ron",
        include_str!("../../presets/paper_logmel_hubert_fc.ron"),
    ),
    (
        "presets/paper_full.ron",
        include_str!("../../presets/paper_full.ron"),
    ),
    (
        "presets/paper_code_timnet.ron",
        include_str!("../../presets/paper_code_timnet.ron"),
    ),
    (
        "presets/finetune_hubert_base.ron",
        include_str!("../../presets/finetune_hubert_base.ron"),
    ),
    (
        "presets/finetune_wav2vec2_base.ron",
        include_str!("../../presets/finetune_wav2vec2_base.ron"),
    ),
    (
        "presets/finetune_wav2vec2_xlsr53.ron",
        include_str!("../../presets/finetune_wav2vec2_xlsr53.ron"),
    ),
    (
        "presets/finetune_wavlm_base_plus.ron",
        include_str!("../../presets/finetune_wavlm_base_plus.ron"),
    ),
    (
        "presets/seed002_ravdess_80_20.ron",
        include_str!("../../presets/seed002_ravdess_80_20.ron"),
    ),
    (
        "presets/seed002_ravdess_speaker_independent.ron",
        include_str!("../../presets/seed002_ravdess_speaker_independent.ron"),
    ),
    (
        "presets/seed001_speechmlc_hubert_l6.ron",
        include_str!("../../presets/seed001_speechmlc_hubert_l6.ron"),
    ),
    (
        "presets/seed001_resnet34_mel80.ron",
        include_str!("../../presets/seed001_resnet34_mel80.ron"),
    ),
    (
        "presets/seed001_speechmlc_logmel.ron",
        include_str!("../../presets/seed001_speechmlc_logmel.ron"),
    ),
    (
        "presets/seed003_logmel_avd.ron",
        include_str!("../../presets/seed003_logmel_avd.ron"),
    ),
    (
        "presets/seed003_hubert_base_avd.ron",
        include_str!("../../presets/seed003_hubert_base_avd.ron"),
    ),
    (
        "presets/seed003_distilhubert_tinybert_avd.ron",
        include_str!("../../presets/seed003_distilhubert_tinybert_avd.ron"),
    ),
    (
        "presets/seed003_distilhubert_avd.ron",
        include_str!("../../presets/seed003_distilhubert_avd.ron"),
    ),
    (
        "presets/seed003_w2v2_large_pruned12_avd.ron",
        include_str!("../../presets/seed003_w2v2_large_pruned12_avd.ron"),
    ),
    (
        "presets/seed003_hubert_base_layer_importance.ron",
        include_str!("../../presets/seed003_hubert_base_layer_importance.ron"),
    ),
    (
        "presets/seed003_hubert_base_layer_importance_cached.ron",
        include_str!("../../presets/seed003_hubert_base_layer_importance_cached.ron"),
    ),
    (
        "presets/seed004_hubert_base_metadata.ron",
        include_str!("../../presets/seed004_hubert_base_metadata.ron"),
    ),
    (
        "presets/seed004_wav2vec2_base_metadata.ron",
        include_str!("../../presets/seed004_wav2vec2_base_metadata.ron"),
    ),
    (
        "presets/seed004_wavlm_base_metadata.ron",
        include_str!("../../presets/seed004_wavlm_base_metadata.ron"),
    ),
    (
        "presets/seed004_hubert_base_no_ari.ron",
        include_str!("../../presets/seed004_hubert_base_no_ari.ron"),
    ),
    (
        "presets/seed004_hubert_base_no_coattention.ron",
        include_str!("../../presets/seed004_hubert_base_no_coattention.ron"),
    ),
    (
        "presets/seed004_hubert_base_no_ari_no_coattention.ron",
        include_str!("../../presets/seed004_hubert_base_no_ari_no_coattention.ron"),
    ),
    (
        "presets/seed004_hubert_base_ser_only.ron",
        include_str!("../../presets/seed004_hubert_base_ser_only.ron"),
    ),
    (
        "presets/seed004_hubert_base_ser_gender.ron",
        include_str!("../../presets/seed004_hubert_base_ser_gender.ron"),
    ),
    (
        "presets/seed004_hubert_base_ser_speaker.ron",
        include_str!("../../presets/seed004_hubert_base_ser_speaker.ron"),
    ),
    (
        "presets/seed004_hubert_base_ser_style.ron",
        include_str!("../../presets/seed004_hubert_base_ser_style.ron"),
    ),
    (
        "presets/seed004_hubert_base_ser_asr.ron",
        include_str!("../../presets/seed004_hubert_base_ser_asr.ron"),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_presets_parse_and_round_trip() {
        for (name, text) in BUILTIN {
            let p = Preset::from_ron(text, name).unwrap_or_else(|e| panic!("{e}"));
            let again = Preset::from_ron(&p.to_ron(), name).expect("round trip");
            assert_eq!(p, again, "{name}");
        }
    }

    /// Every preset file in presets/ parses and is compiled in (so the GUI offers it), and
    /// every compiled-in entry is a file of the folder.
    #[test]
    fn builtin_list_is_the_presets_folder() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("presets/")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "ron"))
            .map(|p| {
                Preset::load(&p).unwrap_or_else(|err| panic!("{err}"));
                format!("presets/{}", p.file_name().expect("name").to_string_lossy())
            })
            .collect();
        files.sort();
        let mut listed: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        listed.sort();
        assert_eq!(listed, files, "BUILTIN and presets/ differ");
        let (ok, bad) = Preset::builtin_with_errors();
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(ok.len(), files.len());
    }

    /// A preset that parses but would build something else than it says is rejected with the
    /// file and the field (an even DTCN kernel used to be made odd silently).
    #[test]
    fn invalid_model_settings_name_the_field() {
        let text = BUILTIN[0].1.replace("kernel_size: 3", "kernel_size: 4");
        assert_ne!(text, BUILTIN[0].1, "demo preset has a DTCN kernel of 3");
        let msg = Preset::from_ron(&text, "even.ron")
            .expect_err("even kernel")
            .to_string();
        assert!(
            msg.contains("even.ron")
                && msg.contains("kernel_size must be odd")
                && msg.contains('4'),
            "{msg}"
        );
        let text = BUILTIN[0]
            .1
            .replace("attention_heads: 4", "attention_heads: 5");
        let msg = Preset::from_ron(&text, "heads.ron")
            .expect_err("heads")
            .to_string();
        assert!(
            msg.contains("attention_heads (5) must divide channels"),
            "{msg}"
        );
    }

    /// The baselines' pieces only combine where they make sense; each refusal says why.
    #[test]
    fn vector_stream_and_linear_model_refusals() {
        let logreg = Preset::builtin()
            .into_iter()
            .find(|p| p.name == "baseline_functionals_logreg")
            .expect("baseline preset");
        assert!(logreg.validate().is_ok());
        let refused = |p: &Preset, want: &str| {
            let msg = p.validate().expect_err(want);
            assert!(msg.contains(want), "{msg}");
        };
        let mut p = logreg.clone();
        p.features.stream = crate::features::StreamKind::LogMel;
        refused(
            &p,
            "one vector per utterance: use the functionals or ssl stream",
        );
        let mut p = logreg.clone();
        p.features.normalisation = crate::features::Normalisation::PerUtterance;
        refused(&p, "normalise by the training set");
        let mut p = logreg.clone();
        p.model = Preset::builtin()[0].model.clone();
        refused(&p, "it feeds the Linear or PooledFc model");
        let mut p = logreg.clone();
        p.training.class_weighted_loss = true;
        refused(&p, "class_weighted_loss is not supported");
        let mut p = logreg.clone();
        p.training.adaptation = Some(AdaptationConfig::default());
        refused(&p, "domain adaptation");
        let mut p = logreg.clone();
        p.features.functionals.f0_max_hz = 9000.0;
        refused(&p, "above the Nyquist frequency");
        let mut p = logreg;
        if let ModelConfig::Linear(c) = &mut p.model {
            c.c_grid = vec![1.0, 0.0];
        }
        refused(&p, "every C in c_grid must be > 0");
    }

    #[test]
    fn malformed_preset_names_the_file() {
        let err =
            Preset::from_ron("(name: \"x\", model: Nope())", "bad.ron").expect_err("must fail");
        let msg = err.to_string();
        assert!(
            msg.contains("bad.ron") && msg.contains("malformed"),
            "{msg}"
        );
    }
}
