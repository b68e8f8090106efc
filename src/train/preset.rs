//! Presets: feature, model and training settings in one RON file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::features::FeatureConfig;
use crate::model::ModelConfig;

/// Optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// Adam.
    Adam,
    /// AdamW (decoupled weight decay).
    AdamW,
    /// Plain SGD with momentum 0.9.
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

/// Features the adaptation loss aligns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlignedLayer {
    /// The utterance embedding the head receives (after pooling/attention).
    Embedding,
    /// The first hidden layer of the MLP head (DSAN's bottleneck position).
    HeadHidden1,
    /// The second hidden layer of the MLP head (the last before the logits).
    HeadHidden2,
}

impl AlignedLayer {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            AlignedLayer::Embedding => "embedding",
            AlignedLayer::HeadHidden1 => "head hidden 1",
            AlignedLayer::HeadHidden2 => "head hidden 2",
        }
    }
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

/// Training settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingConfig {
    /// Protocol spelling (`loso`, `speaker-kfold:K`, `kfold:K`, `holdout:F`).
    pub protocol: String,
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
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            protocol: "speaker-kfold:5".into(),
            seed: 42,
            epochs: 30,
            batch_size: 32,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            optimizer: OptimizerKind::AdamW,
            grad_clip_norm: Some(5.0),
            class_weighted_loss: false,
            early_stopping_patience: Some(8),
            valid_fraction: 0.15,
            label_map: None,
            adaptation: None,
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
    /// Parses RON text; `origin` names the source in errors.
    pub fn from_ron(text: &str, origin: &str) -> Result<Self, PresetError> {
        ron::from_str(text).map_err(|e| PresetError::Parse {
            path: origin.into(),
            reason: e.to_string(),
        })
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

    /// The presets shipped in `presets/` (embedded, so the binary works from any folder).
    pub fn builtin() -> Vec<Preset> {
        BUILTIN
            .iter()
            .filter_map(|(name, text)| Self::from_ron(text, name).ok())
            .collect()
    }
}

/// The files of `presets/`, compiled in.
pub const BUILTIN: [(&str, &str); 9] = [
    ("presets/demo.ron", include_str!("../../presets/demo.ron")),
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
            assert!(
                p.training
                    .protocol
                    .parse::<crate::corpus::Protocol>()
                    .is_ok(),
                "{name}"
            );
        }
    }

    /// Every preset file in presets/ parses (not only the compiled-in ones).
    #[test]
    fn every_preset_file_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).expect("presets/").flatten() {
            if e.path().extension().is_some_and(|x| x == "ron") {
                Preset::load(&e.path()).unwrap_or_else(|err| panic!("{err}"));
                n += 1;
            }
        }
        assert!(n >= 6);
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
