//! Text → token ids with the checkpoint's own `tokenizer.json` (HuggingFace `tokenizers`:
//! WordPiece for BERT/DistilBERT/TinyBERT, byte-level BPE for RoBERTa), special tokens added,
//! truncated to the encoder's positions.

use std::path::Path;

/// A loaded tokenizer.
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    /// Longest sequence the encoder accepts (special tokens included).
    pub max_len: usize,
}

impl TextTokenizer {
    /// Reads `<dir>/tokenizer.json`; `max_len` caps every encoding.
    pub fn load(dir: &Path, max_len: usize) -> Result<Self, String> {
        let p = dir.join("tokenizer.json");
        if !p.is_file() {
            return Err(format!(
                "{}: no tokenizer.json (save the tokenizer with the model: tokenizer.save_pretrained)",
                dir.display()
            ));
        }
        let inner = tokenizers::Tokenizer::from_file(&p)
            .map_err(|e| format!("{}: not a readable tokenizer: {e}", p.display()))?;
        Ok(Self { inner, max_len })
    }

    /// Token ids and attention mask of one text (special tokens included, truncated to
    /// `max_len` keeping the final special token).
    pub fn encode(&self, text: &str) -> Result<(Vec<u32>, Vec<u32>), String> {
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| format!("tokenising '{text}': {e}"))?;
        let mut ids = enc.get_ids().to_vec();
        let mut mask = enc.get_attention_mask().to_vec();
        if ids.len() > self.max_len && self.max_len >= 2 {
            let last = *ids.last().expect("non-empty");
            ids.truncate(self.max_len - 1);
            ids.push(last);
            mask.truncate(self.max_len);
        }
        Ok((ids, mask))
    }
}
