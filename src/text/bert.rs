//! BERT-family text encoders in burn (BERT, TinyBERT, RoBERTa, DistilBERT key layouts), loaded
//! from a HuggingFace model folder (`config.json` + `model.safetensors` or `pytorch_model.bin`).
//!
//! ```text
//! token ids → word + position (+ token type) embeddings → LayerNorm → N post-LN transformer layers
//! ```
//!
//! Each layer is the same post-LN block as the SSL encoders' (self-attention → residual →
//! LayerNorm → GELU FFN → residual → LayerNorm), so it reuses [`EncoderLayer`]. RoBERTa numbers
//! positions from `pad_token_id + 1` (transformers' `create_position_ids_from_input_ids`).
//! Tested against transformers on tiny random checkpoints (`tools/make_text_fixtures.py`).

use std::path::Path;

use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ssl::wav2vec2::{Attention, EncoderLayer, FeedForward};
use crate::ssl::weights::{Tensors, layer_norm, linear};

/// Key layout of a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextFamily {
    /// BERT and TinyBERT (`encoder.layer.N.attention.self.query`, …, token types).
    Bert,
    /// RoBERTa (BERT keys, positions offset by the padding id, one token type).
    Roberta,
    /// DistilBERT (`transformer.layer.N.attention.q_lin`, …, no token types).
    DistilBert,
}

/// The architecture read from `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextConfig {
    /// Key layout.
    pub family: TextFamily,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Hidden width.
    pub hidden_size: usize,
    /// Transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// FFN width.
    pub intermediate_size: usize,
    /// Positions.
    pub max_position_embeddings: usize,
    /// Token types (0 = none).
    pub type_vocab_size: usize,
    /// LayerNorm ε.
    pub layer_norm_eps: f64,
    /// Padding token id.
    pub pad_token_id: usize,
}

impl TextConfig {
    /// Reads `config.json` of a model folder; a field that is missing or an activation other
    /// than GELU is an error naming the file.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let p = dir.join("config.json");
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: malformed config: {e}", p.display()))?;
        let model_type = v["model_type"].as_str().unwrap_or("bert");
        let family = match model_type {
            "bert" => TextFamily::Bert,
            "roberta" | "xlm-roberta" | "camembert" => TextFamily::Roberta,
            "distilbert" => TextFamily::DistilBert,
            other => {
                return Err(format!(
                    "{}: model_type '{other}' is not a BERT-family text encoder (bert, roberta, distilbert)",
                    p.display()
                ));
            }
        };
        let distil = family == TextFamily::DistilBert;
        let num = |keys: &[&str]| -> Result<usize, String> {
            keys.iter()
                .find_map(|k| v[*k].as_u64())
                .map(|n| n as usize)
                .ok_or_else(|| format!("{}: missing '{}'", p.display(), keys[0]))
        };
        let act = v[if distil { "activation" } else { "hidden_act" }]
            .as_str()
            .unwrap_or("gelu");
        if act != "gelu" {
            return Err(format!(
                "{}: activation '{act}' is not supported (exact GELU only)",
                p.display()
            ));
        }
        Ok(Self {
            family,
            vocab_size: num(&["vocab_size"])?,
            hidden_size: num(&["hidden_size", "dim"])?,
            num_hidden_layers: num(&["num_hidden_layers", "n_layers"])?,
            num_attention_heads: num(&["num_attention_heads", "n_heads"])?,
            intermediate_size: num(&["intermediate_size", "hidden_dim"])?,
            max_position_embeddings: num(&["max_position_embeddings"])?,
            type_vocab_size: if distil {
                0
            } else {
                v["type_vocab_size"].as_u64().unwrap_or(2) as usize
            },
            layer_norm_eps: if distil {
                1e-12
            } else {
                v["layer_norm_eps"].as_f64().unwrap_or(1e-12)
            },
            pad_token_id: v["pad_token_id"].as_u64().unwrap_or(0) as usize,
        })
    }
}

/// How token states become one vector per text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextPooling {
    /// Mean over the real (non-padding) tokens.
    #[default]
    Mean,
    /// The first token (`[CLS]` / `<s>`).
    Cls,
    /// The mean and the maximum over the real tokens, concatenated (twice the hidden size: the
    /// distilled audio-textual paper's pooling block).
    MeanMax,
}

impl TextPooling {
    /// Width of the pooled vector of an encoder with `hidden` units.
    pub fn width(self, hidden: usize) -> usize {
        match self {
            TextPooling::MeanMax => 2 * hidden,
            TextPooling::Mean | TextPooling::Cls => hidden,
        }
    }

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            TextPooling::Mean => "mean",
            TextPooling::Cls => "cls",
            TextPooling::MeanMax => "mean+max",
        }
    }
}

/// A BERT-family encoder.
#[derive(Module, Debug)]
pub struct TextEncoder {
    /// `embeddings.word_embeddings`.
    pub word_embeddings: Embedding,
    /// `embeddings.position_embeddings`.
    pub position_embeddings: Embedding,
    /// `embeddings.token_type_embeddings` (absent in DistilBERT).
    pub token_type_embeddings: Option<Embedding>,
    /// `embeddings.LayerNorm`.
    pub embeddings_norm: LayerNorm,
    /// The transformer layers.
    pub layers: Vec<EncoderLayer>,
    /// RoBERTa: positions start at `pad + 1`.
    pub roberta_positions: bool,
    /// Padding id.
    pub pad_token_id: usize,
}

impl TextEncoder {
    /// Random weights of `cfg`'s shapes.
    pub fn new(cfg: &TextConfig, device: &Device) -> Self {
        let d = cfg.hidden_size;
        let ln = || {
            LayerNormConfig::new(d)
                .with_epsilon(cfg.layer_norm_eps)
                .init(device)
        };
        let lin = |i: usize, o: usize| LinearConfig::new(i, o).init(device);
        Self {
            word_embeddings: EmbeddingConfig::new(cfg.vocab_size, d).init(device),
            position_embeddings: EmbeddingConfig::new(cfg.max_position_embeddings, d).init(device),
            token_type_embeddings: (cfg.type_vocab_size > 0)
                .then(|| EmbeddingConfig::new(cfg.type_vocab_size, d).init(device)),
            embeddings_norm: ln(),
            layers: (0..cfg.num_hidden_layers)
                .map(|_| EncoderLayer {
                    attention: Attention {
                        q_proj: lin(d, d),
                        k_proj: lin(d, d),
                        v_proj: lin(d, d),
                        out_proj: lin(d, d),
                        n_heads: cfg.num_attention_heads,
                        rel: None,
                    },
                    layer_norm: ln(),
                    feed_forward: FeedForward {
                        intermediate_dense: lin(d, cfg.intermediate_size),
                        output_dense: lin(cfg.intermediate_size, d),
                    },
                    final_layer_norm: ln(),
                    pre_ln: false,
                })
                .collect(),
            roberta_positions: cfg.family == TextFamily::Roberta,
            pad_token_id: cfg.pad_token_id,
        }
    }

    /// Loads a model folder (or a weights file with `config.json` beside it).
    pub fn load(path: &Path, device: &Device) -> Result<(Self, TextConfig), String> {
        let (dir, file) = crate::ssl::weights::weights_file(path)?;
        let cfg = TextConfig::load(&dir)?;
        let mut ts = Tensors::read(&file)?;
        let mut enc = Self::new(&cfg, device);
        let d = cfg.hidden_size;
        let emb = |ts: &mut Tensors, key: &str, n: usize| -> Result<Embedding, String> {
            let w = ts.take(key, &[n, d])?;
            Ok(Embedding {
                weight: burn::module::Param::from_tensor(Tensor::from_data(
                    TensorData::new(w, [n, d]),
                    device,
                )),
            })
        };
        enc.word_embeddings = emb(&mut ts, "embeddings.word_embeddings.weight", cfg.vocab_size)?;
        enc.position_embeddings = emb(
            &mut ts,
            "embeddings.position_embeddings.weight",
            cfg.max_position_embeddings,
        )?;
        if cfg.type_vocab_size > 0 {
            enc.token_type_embeddings = Some(emb(
                &mut ts,
                "embeddings.token_type_embeddings.weight",
                cfg.type_vocab_size,
            )?);
        }
        // Old BERT checkpoints spell LayerNorm parameters gamma/beta.
        rename_gamma_beta(&mut ts);
        layer_norm(
            &mut ts,
            "embeddings.LayerNorm",
            d,
            &mut enc.embeddings_norm,
            device,
        )?;
        let ffn = cfg.intermediate_size;
        for (i, layer) in enc.layers.iter_mut().enumerate() {
            let lin = |ts: &mut Tensors, k: &str, a: usize, b: usize| -> Result<Linear, String> {
                linear(ts, k, a, b, device)
            };
            if cfg.family == TextFamily::DistilBert {
                let p = format!("transformer.layer.{i}");
                layer.attention.q_proj = lin(&mut ts, &format!("{p}.attention.q_lin"), d, d)?;
                layer.attention.k_proj = lin(&mut ts, &format!("{p}.attention.k_lin"), d, d)?;
                layer.attention.v_proj = lin(&mut ts, &format!("{p}.attention.v_lin"), d, d)?;
                layer.attention.out_proj = lin(&mut ts, &format!("{p}.attention.out_lin"), d, d)?;
                layer_norm(
                    &mut ts,
                    &format!("{p}.sa_layer_norm"),
                    d,
                    &mut layer.layer_norm,
                    device,
                )?;
                layer.feed_forward.intermediate_dense =
                    lin(&mut ts, &format!("{p}.ffn.lin1"), d, ffn)?;
                layer.feed_forward.output_dense = lin(&mut ts, &format!("{p}.ffn.lin2"), ffn, d)?;
                layer_norm(
                    &mut ts,
                    &format!("{p}.output_layer_norm"),
                    d,
                    &mut layer.final_layer_norm,
                    device,
                )?;
            } else {
                let p = format!("encoder.layer.{i}");
                layer.attention.q_proj = lin(&mut ts, &format!("{p}.attention.self.query"), d, d)?;
                layer.attention.k_proj = lin(&mut ts, &format!("{p}.attention.self.key"), d, d)?;
                layer.attention.v_proj = lin(&mut ts, &format!("{p}.attention.self.value"), d, d)?;
                layer.attention.out_proj =
                    lin(&mut ts, &format!("{p}.attention.output.dense"), d, d)?;
                layer_norm(
                    &mut ts,
                    &format!("{p}.attention.output.LayerNorm"),
                    d,
                    &mut layer.layer_norm,
                    device,
                )?;
                layer.feed_forward.intermediate_dense =
                    lin(&mut ts, &format!("{p}.intermediate.dense"), d, ffn)?;
                layer.feed_forward.output_dense =
                    lin(&mut ts, &format!("{p}.output.dense"), ffn, d)?;
                layer_norm(
                    &mut ts,
                    &format!("{p}.output.LayerNorm"),
                    d,
                    &mut layer.final_layer_norm,
                    device,
                )?;
            }
        }
        Ok((enc, cfg))
    }

    /// Hidden states: the embeddings' output, then every layer's.
    ///
    /// # Shapes
    /// - `ids`: `[batch, tokens]` token ids; `mask`: `[batch, tokens]`, 1 = real token
    /// - returns `layers + 1` tensors `[batch, tokens, hidden]`
    pub fn forward(&self, ids: &[Vec<u32>], mask: &[Vec<u32>], device: &Device) -> Vec<Tensor<3>> {
        let b = ids.len();
        let l = ids.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut flat_ids = vec![self.pad_token_id as i64; b * l];
        let mut flat_pos = vec![0i64; b * l];
        let mut flat_mask = vec![0.0f32; b * l];
        for (r, (row, m)) in ids.iter().zip(mask).enumerate() {
            let mut seen = 0i64;
            for (t, (&id, &mk)) in row.iter().zip(m).enumerate() {
                flat_ids[r * l + t] = id as i64;
                flat_mask[r * l + t] = mk as f32;
                flat_pos[r * l + t] = if self.roberta_positions {
                    if mk > 0 && id as usize != self.pad_token_id {
                        seen += 1;
                        self.pad_token_id as i64 + seen
                    } else {
                        self.pad_token_id as i64
                    }
                } else {
                    t as i64
                };
            }
            if self.roberta_positions {
                for t in row.len()..l {
                    flat_pos[r * l + t] = self.pad_token_id as i64;
                }
            } else {
                for (t, p) in flat_pos[r * l + row.len()..(r + 1) * l]
                    .iter_mut()
                    .enumerate()
                {
                    *p = (row.len() + t) as i64;
                }
            }
        }
        let ids_t = Tensor::<2, Int>::from_data(TensorData::new(flat_ids, [b, l]), device);
        let pos_t = Tensor::<2, Int>::from_data(TensorData::new(flat_pos, [b, l]), device);
        let mask_t = Tensor::<2>::from_data(TensorData::new(flat_mask, [b, l]), device);
        let mut h = self.word_embeddings.forward(ids_t) + self.position_embeddings.forward(pos_t);
        if let Some(tt) = &self.token_type_embeddings {
            h = h + tt.forward(Tensor::<2, Int>::zeros([b, l], device));
        }
        let mut h = self.embeddings_norm.forward(h);
        let mut states = vec![h.clone()];
        for layer in &self.layers {
            h = layer.forward(h, Some(&mask_t), None);
            states.push(h.clone());
        }
        states
    }

    /// One vector per text from the last hidden state.
    ///
    /// # Shapes
    /// - returns `[batch, hidden]`
    pub fn pooled(
        &self,
        ids: &[Vec<u32>],
        mask: &[Vec<u32>],
        pooling: TextPooling,
        device: &Device,
    ) -> Tensor<2> {
        let states = self.forward(ids, mask, device);
        let last = states.into_iter().last().expect("embeddings output");
        let [b, l, d] = last.dims();
        match pooling {
            TextPooling::Cls => last.narrow(1, 0, 1).reshape([b, d]),
            TextPooling::Mean | TextPooling::MeanMax => {
                let mut m = vec![0.0f32; b * l];
                for (r, row) in mask.iter().enumerate() {
                    for (t, &v) in row.iter().enumerate() {
                        m[r * l + t] = v as f32;
                    }
                }
                let m = Tensor::<2>::from_data(TensorData::new(m, [b, l]), device);
                let count = m.clone().sum_dim(1).clamp_min(1.0); // [b, 1]
                let m3 = m.reshape([b, l, 1]);
                let mean = (last.clone() * m3.clone()).sum_dim(1).reshape([b, d]) / count;
                if pooling == TextPooling::Mean {
                    return mean;
                }
                // Padding tokens can never be the maximum.
                let max = (last + m3.sub_scalar(1.0).mul_scalar(1e30))
                    .max_dim(1)
                    .reshape([b, d]);
                Tensor::cat(vec![mean, max], 1)
            }
        }
    }
}

/// `LayerNorm.gamma` / `.beta` → `.weight` / `.bias`.
fn rename_gamma_beta(ts: &mut Tensors) {
    let old: Vec<String> = ts
        .map
        .keys()
        .filter(|k| k.ends_with("LayerNorm.gamma") || k.ends_with("LayerNorm.beta"))
        .cloned()
        .collect();
    for k in old {
        if let Some(v) = ts.map.remove(&k) {
            let new = k
                .replace("LayerNorm.gamma", "LayerNorm.weight")
                .replace("LayerNorm.beta", "LayerNorm.bias");
            ts.map.insert(new, v);
        }
    }
}
