//! Text → token ids with the checkpoint's own `tokenizer.json` (HuggingFace `tokenizers`:
//! WordPiece for BERT/DistilBERT/TinyBERT, byte-level BPE for RoBERTa), special tokens added,
//! truncated to the encoder's positions. A BERT-family folder with only `vocab.txt` (as many hub
//! checkpoints, e.g. TinyBERT, ship) gets the WordPiece tokenizer transformers' `BertTokenizerFast`
//! builds from it: BERT normalisation (lower-casing per `tokenizer_config.json`'s
//! `do_lower_case`, default on), BERT pre-tokenisation, `[CLS] … [SEP]`.

use std::path::Path;

/// A loaded tokenizer.
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    /// Longest sequence the encoder accepts (special tokens included).
    pub max_len: usize,
}

impl TextTokenizer {
    /// Reads `<dir>/tokenizer.json` (else builds the WordPiece tokenizer of `<dir>/vocab.txt`);
    /// `max_len` caps every encoding.
    pub fn load(dir: &Path, max_len: usize) -> Result<Self, String> {
        let p = dir.join("tokenizer.json");
        if !p.is_file() {
            if dir.join("vocab.txt").is_file() {
                return Ok(Self {
                    inner: wordpiece_from_vocab(dir)?,
                    max_len,
                });
            }
            return Err(format!(
                "{}: no tokenizer.json or vocab.txt (save the tokenizer with the model: tokenizer.save_pretrained)",
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

/// BERT's WordPiece tokenizer from `vocab.txt` (one token per line, the id is the line number).
fn wordpiece_from_vocab(dir: &Path) -> Result<tokenizers::Tokenizer, String> {
    use tokenizers::models::wordpiece::WordPiece;
    use tokenizers::normalizers::BertNormalizer;
    use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
    use tokenizers::processors::bert::BertProcessing;
    let vocab = dir.join("vocab.txt");
    let lowercase = std::fs::read_to_string(dir.join("tokenizer_config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["do_lower_case"].as_bool())
        .unwrap_or(true);
    let model = WordPiece::from_file(&vocab.to_string_lossy())
        .unk_token("[UNK]".into())
        .build()
        .map_err(|e| format!("{}: not a WordPiece vocabulary: {e}", vocab.display()))?;
    let mut t = tokenizers::Tokenizer::new(model);
    let special = |t: &tokenizers::Tokenizer, s: &str| {
        t.token_to_id(s)
            .ok_or_else(|| format!("{}: no {s} token", vocab.display()))
    };
    let (cls, sep) = (special(&t, "[CLS]")?, special(&t, "[SEP]")?);
    t.with_normalizer(Some(BertNormalizer::new(true, true, None, lowercase)))
        .map_err(|e| format!("{}: {e}", vocab.display()))?;
    t.with_pre_tokenizer(Some(BertPreTokenizer));
    t.with_post_processor(Some(BertProcessing::new(
        ("[SEP]".into(), sep),
        ("[CLS]".into(), cls),
    )));
    Ok(t)
}
