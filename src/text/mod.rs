//! Text streams: BERT-family encoders and their tokenizers, for transcripts beside the audio
//! (the distilled audio-textual paper's SSL_T; docs/design.md, "Text stream").

pub mod bert;
pub mod fusion;
pub mod tokenizer;

use std::path::Path;

use burn::prelude::*;

pub use bert::{TextConfig, TextEncoder, TextFamily, TextPooling};
pub use fusion::{ExampleText, TextBatch, TextFusionConfig};
pub use tokenizer::TextTokenizer;

/// An encoder with its tokenizer: text → one pooled vector.
pub struct TextStream {
    /// The encoder.
    pub encoder: TextEncoder,
    /// Its architecture.
    pub config: TextConfig,
    /// Its tokenizer.
    pub tokenizer: TextTokenizer,
    device: Device,
}

impl TextStream {
    /// Loads a model folder with `tokenizer.json` on `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, String> {
        let (encoder, config) = TextEncoder::load(dir, device)?;
        let tokenizer = fusion::tokenizer_for(dir, &config)?;
        Ok(Self {
            encoder,
            config,
            tokenizer,
            device: device.clone(),
        })
    }

    /// The pooled embedding of each text (`[texts, hidden]` as rows).
    pub fn embed(&self, texts: &[&str], pooling: TextPooling) -> Result<Vec<Vec<f32>>, String> {
        let mut ids = Vec::with_capacity(texts.len());
        let mut mask = Vec::with_capacity(texts.len());
        for t in texts {
            let (i, m) = self.tokenizer.encode(t)?;
            ids.push(i);
            mask.push(m);
        }
        let pooled = self.encoder.pooled(&ids, &mask, pooling, &self.device);
        let d = pooling.width(self.config.hidden_size);
        Ok(crate::tensor::read_f32(pooled)
            .chunks(d)
            .map(<[f32]>::to_vec)
            .collect())
    }
}
