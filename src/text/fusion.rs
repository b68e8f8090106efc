//! Text beside audio (the distilled audio-textual paper's figure 1b): each utterance's transcript
//! is encoded by a BERT-family model and pooled, and the pooled vector is concatenated with the
//! audio embedding before the regression/classification head (docs/design.md, "Text fusion").
//!
//! Frozen text (the default) encodes every transcript once per run and carries the vectors with
//! the examples; fine-tuned text carries token ids and runs the encoder inside the model, so its
//! weights train with the rest (the `SslFineTune` model only).

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::{TextConfig, TextPooling, TextStream, TextTokenizer};

fn mean_max() -> TextPooling {
    TextPooling::MeanMax
}

/// A preset's text stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextFusionConfig {
    /// Model folder: `config.json`, `model.safetensors` (or `pytorch_model.bin`),
    /// `tokenizer.json`.
    pub weights: PathBuf,
    /// Pooling over tokens (default: mean and max concatenated, as the paper).
    #[serde(default = "mean_max")]
    pub pooling: TextPooling,
    /// Train the text encoder with the model (needs the `SslFineTune` model); otherwise its
    /// pooled vectors are computed once and stay fixed.
    #[serde(default)]
    pub fine_tune: bool,
    /// Learning rate of a fine-tuned text encoder (default: the audio encoder's).
    #[serde(default)]
    pub learning_rate: Option<f64>,
    /// A `file,text` CSV attached to every corpus of the run (transcripts the corpus does not
    /// ship; the command line's `--transcripts` overrides it).
    #[serde(default)]
    pub transcripts: Option<PathBuf>,
}

impl TextFusionConfig {
    /// Width of the text vector for an encoder of `cfg`.
    pub fn width(&self, cfg: &TextConfig) -> usize {
        self.pooling.width(cfg.hidden_size)
    }

    /// The encoder folder, pooling and whether it trains, for logs and the GUI.
    pub fn describe(&self) -> String {
        format!(
            "{} ({} pooling, {})",
            self.weights.display(),
            self.pooling.name(),
            if self.fine_tune {
                "fine-tuned"
            } else {
                "frozen"
            }
        )
    }
}

/// The text of one example.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ExampleText {
    /// No text stream.
    #[default]
    None,
    /// The pooled vector of a frozen encoder.
    Vector(Vec<f32>),
    /// Token ids (special tokens included) for an encoder inside the model.
    Tokens(Vec<u32>),
}

/// The text of a batch (one per batch, never in a collection: the variant sizes do not matter).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum TextBatch {
    /// No text stream.
    None,
    /// Pooled vectors `[batch, width]`.
    Vectors(Tensor<2>),
    /// Token ids per example (every token real; rows are padded by the encoder).
    Tokens(Vec<Vec<u32>>),
}

impl TextBatch {
    /// The text of `texts` (all of one kind) on `device`.
    pub fn of<'a>(texts: impl IntoIterator<Item = &'a ExampleText>, device: &Device) -> Self {
        let mut vectors: Vec<f32> = Vec::new();
        let mut width = 0;
        let mut rows = 0;
        let mut tokens: Vec<Vec<u32>> = Vec::new();
        for t in texts {
            match t {
                ExampleText::None => return TextBatch::None,
                ExampleText::Vector(v) => {
                    width = v.len();
                    rows += 1;
                    vectors.extend_from_slice(v);
                }
                ExampleText::Tokens(ids) => tokens.push(ids.clone()),
            }
        }
        if !tokens.is_empty() {
            return TextBatch::Tokens(tokens);
        }
        if rows == 0 {
            return TextBatch::None;
        }
        TextBatch::Vectors(Tensor::from_data(
            TensorData::new(vectors, [rows, width]),
            device,
        ))
    }

    /// Whether there is no text.
    pub fn is_none(&self) -> bool {
        matches!(self, TextBatch::None)
    }
}

/// Every utterance's text, ready for the examples of a run.
pub struct PreparedText {
    /// One per utterance, in utterance order.
    pub texts: Vec<ExampleText>,
    /// Width of the pooled vector the head receives.
    pub width: usize,
    /// The encoder's architecture.
    pub config: TextConfig,
    /// Utterances without a transcript (they get the empty text).
    pub missing: usize,
}

/// Transcripts per batch when a frozen encoder pools them.
const EMBED_BATCH: usize = 16;

/// Encodes (frozen) or tokenizes (fine-tuned) the transcripts; a missing transcript is the empty
/// text, counted in [`PreparedText::missing`]. `progress` is told how many are done.
pub fn prepare(
    cfg: &TextFusionConfig,
    transcripts: &[Option<&str>],
    device: &Device,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<PreparedText, String> {
    let missing = transcripts
        .iter()
        .filter(|t| t.is_none_or(|s| s.trim().is_empty()))
        .count();
    let texts: Vec<&str> = transcripts.iter().map(|t| t.unwrap_or("")).collect();
    if cfg.fine_tune {
        let config = TextConfig::load(&cfg.weights)?;
        let tokenizer = tokenizer_for(&cfg.weights, &config)?;
        let mut out = Vec::with_capacity(texts.len());
        for t in &texts {
            out.push(ExampleText::Tokens(tokenizer.encode(t)?.0));
        }
        progress(texts.len(), texts.len());
        return Ok(PreparedText {
            texts: out,
            width: cfg.width(&config),
            config,
            missing,
        });
    }
    let stream = TextStream::load(&cfg.weights, device)?;
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(EMBED_BATCH) {
        out.extend(
            stream
                .embed(chunk, cfg.pooling)?
                .into_iter()
                .map(ExampleText::Vector),
        );
        progress(out.len(), texts.len());
    }
    Ok(PreparedText {
        texts: out,
        width: cfg.width(&stream.config),
        config: stream.config,
        missing,
    })
}

/// The tokenizer of a model folder, truncating to the encoder's positions.
pub fn tokenizer_for(dir: &Path, config: &TextConfig) -> Result<TextTokenizer, String> {
    let offset = if config.family == super::TextFamily::Roberta {
        config.pad_token_id + 1
    } else {
        0
    };
    TextTokenizer::load(dir, config.max_position_embeddings - offset)
}

/// Turns text into an example's text for a trained model: the frozen encoder's vector or the
/// tokens of the encoder inside the model.
pub struct TextEmbedder {
    stream: Option<TextStream>,
    tokenizer: Option<TextTokenizer>,
    pooling: TextPooling,
}

impl TextEmbedder {
    /// For a run's text configuration.
    pub fn load(cfg: &TextFusionConfig, device: &Device) -> Result<Self, String> {
        if cfg.fine_tune {
            let config = TextConfig::load(&cfg.weights)?;
            Ok(Self {
                stream: None,
                tokenizer: Some(tokenizer_for(&cfg.weights, &config)?),
                pooling: cfg.pooling,
            })
        } else {
            Ok(Self {
                stream: Some(TextStream::load(&cfg.weights, device)?),
                tokenizer: None,
                pooling: cfg.pooling,
            })
        }
    }

    /// The example text of `text`.
    pub fn example(&self, text: &str) -> Result<ExampleText, String> {
        if let Some(t) = &self.tokenizer {
            return Ok(ExampleText::Tokens(t.encode(text)?.0));
        }
        let s = self.stream.as_ref().expect("a stream or a tokenizer");
        Ok(ExampleText::Vector(
            s.embed(&[text], self.pooling)?.remove(0),
        ))
    }
}
