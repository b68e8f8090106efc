//! Loading HuggingFace `model.safetensors` or `pytorch_model.bin` (PyTorch's zip/pickle
//! format, read by burn's pytorch-reader without Python) into [`Wav2Vec2Encoder`] by
//! checkpoint key names.
//!
//! - An optional `hubert.` / `wav2vec2.` / `wavlm.` prefix is stripped.
//! - The weight-normed positional conv is accepted under both spellings
//!   (`conv.weight_g`/`weight_v` and `conv.parametrizations.weight.original0/original1`) and
//!   folded: W[o,i,k] = g[0,0,k] · v[o,i,k] / ‖v[:,:,k]‖₂ (norm over dims 0 and 1, "dim=2").
//! - PyTorch Linear weights `[out, in]` are transposed to burn's `[in, out]`.
//! - A missing or mis-shaped tensor is an error naming the key and both shapes; keys the encoder
//!   does not use (quantizer, heads, masked_spec_embed) are reported, not errors.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::prelude::*;

use super::config::EncoderConfig;
use super::conv::FrameConv;
use super::wav2vec2::Wav2Vec2Encoder;

/// What loading found.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Tensors used.
    pub used: usize,
    /// Keys present in the file but not used (after prefix stripping).
    pub unused: Vec<String>,
    /// Which weight-norm spelling the file had.
    pub weight_norm_keys: String,
}

/// The tensors of a checkpoint by key (model prefix stripped), taken one by one.
pub(crate) struct Tensors {
    pub(crate) file: String,
    pub(crate) map: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    used: std::collections::BTreeSet<String>,
}

/// Strips the model prefix of a checkpoint key.
fn strip_prefix(name: &str) -> String {
    // HF base-model prefixes (`base_model_prefix` of each *PreTrainedModel class).
    [
        "hubert.",
        "wav2vec2.",
        "wavlm.",
        "unispeech_sat.",
        "unispeech.",
        "model.",
        // Text encoders (BERT family).
        "bert.",
        "roberta.",
        "distilbert.",
    ]
    .iter()
    .find_map(|p| name.strip_prefix(p))
    .unwrap_or(name)
    .to_string()
}

impl Tensors {
    /// Reads a safetensors or PyTorch file.
    pub(crate) fn read(path: &Path) -> Result<Self, String> {
        let is_torch = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "bin" | "pt" | "pth"));
        if is_torch {
            return Self::read_torch(path);
        }
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| format!("{}: not a safetensors file: {e}", path.display()))?;
        let mut map = BTreeMap::new();
        for (name, view) in st.tensors() {
            let data: Vec<f32> = match view.dtype() {
                safetensors::Dtype::F32 => view
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                safetensors::Dtype::F16 => view
                    .data()
                    .chunks_exact(2)
                    .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
                safetensors::Dtype::BF16 => view
                    .data()
                    .chunks_exact(2)
                    .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
                other => {
                    return Err(format!(
                        "{}: tensor '{name}' has unsupported dtype {other:?}",
                        path.display()
                    ));
                }
            };
            map.insert(strip_prefix(&name), (view.shape().to_vec(), data));
        }
        Ok(Self {
            file: path.display().to_string(),
            map,
            used: Default::default(),
        })
    }

    /// A PyTorch checkpoint (`torch.save` of a state dict: zip + pickle, or the legacy format).
    fn read_torch(path: &Path) -> Result<Self, String> {
        use burn::store::pytorch_reader::{DType, PytorchReader};
        let reader = PytorchReader::new(path)
            .map_err(|e| format!("{}: not a readable PyTorch checkpoint: {e}", path.display()))?;
        let mut map = BTreeMap::new();
        for (name, t) in reader.into_tensors() {
            let bytes = t.read().map_err(|e| format!("{}: {e}", path.display()))?;
            let data: Vec<f32> = match t.dtype() {
                DType::F32 => bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                DType::F16 => bytes
                    .chunks_exact(2)
                    .map(|c| half::f16::from_ne_bytes([c[0], c[1]]).to_f32())
                    .collect(),
                DType::BF16 => bytes
                    .chunks_exact(2)
                    .map(|c| half::bf16::from_ne_bytes([c[0], c[1]]).to_f32())
                    .collect(),
                DType::F64 => bytes
                    .chunks_exact(8)
                    .map(|c| {
                        f64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                    })
                    .collect(),
                // Integer buffers (e.g. num_batches_tracked) are not weights of the encoder.
                _ => continue,
            };
            map.insert(strip_prefix(&name), (t.shape().to_vec(), data));
        }
        Ok(Self {
            file: path.display().to_string(),
            map,
            used: Default::default(),
        })
    }

    /// Moves a tensor out of the map (no copy: peak memory stays near one copy of the weights).
    pub(crate) fn take(&mut self, key: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let (s, _) = self.map.get(key).ok_or_else(|| {
            format!(
                "{}: missing tensor '{key}' (expected shape {shape:?})",
                self.file
            )
        })?;
        if s != shape {
            return Err(format!(
                "{}: tensor '{key}' has shape {s:?}, the config needs {shape:?}",
                self.file
            ));
        }
        self.used.insert(key.to_string());
        Ok(self.map.remove(key).map(|(_, d)| d).unwrap_or_default())
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }
}

pub(crate) fn t1(v: Vec<f32>, device: &Device) -> Param<Tensor<1>> {
    let n = v.len();
    Param::from_tensor(Tensor::from_data(TensorData::new(v, [n]), device))
}

pub(crate) fn linear(
    ts: &mut Tensors,
    key: &str,
    d_in: usize,
    d_out: usize,
    device: &Device,
) -> Result<Linear, String> {
    let w = ts.take(&format!("{key}.weight"), &[d_out, d_in])?;
    let b = ts.take(&format!("{key}.bias"), &[d_out])?;
    Ok(torch_linear(&w, b, d_in, d_out, device))
}

/// A PyTorch Linear (`weight` `[d_out, d_in]` row-major, `bias`) as burn's `[d_in, d_out]`.
fn torch_linear(w: &[f32], b: Vec<f32>, d_in: usize, d_out: usize, device: &Device) -> Linear {
    // burn keeps `[d_in, d_out]`; transpose on the host so the weight is contiguous (a transposed
    // view would be copied into place on every forward call).
    let mut wt = vec![0.0f32; w.len()];
    for (o, row) in w.chunks_exact(d_in).enumerate() {
        for (i, &v) in row.iter().enumerate() {
            wt[i * d_out + o] = v;
        }
    }
    let w: Tensor<2> = Tensor::from_data(TensorData::new(wt, [d_in, d_out]), device);
    Linear {
        weight: Param::from_tensor(w),
        bias: Some(t1(b, device)),
    }
}

pub(crate) fn layer_norm(
    ts: &mut Tensors,
    key: &str,
    n: usize,
    into: &mut LayerNorm,
    device: &Device,
) -> Result<(), String> {
    into.gamma = t1(ts.take(&format!("{key}.weight"), &[n])?, device);
    into.beta = Some(t1(ts.take(&format!("{key}.bias"), &[n])?, device));
    Ok(())
}

/// The model folder and weights file of `path`: a folder holds `model.safetensors` (preferred)
/// or `pytorch_model.bin`; a file (`.safetensors`, `.bin`, `.pt`, `.pth`) has its `config.json`
/// beside it.
pub fn weights_file(path: &Path) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    if !path.exists() {
        return Err(format!(
            "{}: no such model folder or file (expected a folder with config.json and model.safetensors or pytorch_model.bin)",
            path.display()
        ));
    }
    if path.is_dir() {
        for name in ["model.safetensors", "pytorch_model.bin"] {
            if path.join(name).is_file() {
                return Ok((path.to_path_buf(), path.join(name)));
            }
        }
        return Err(format!(
            "{}: no model.safetensors or pytorch_model.bin here",
            path.display()
        ));
    }
    Ok((
        path.parent().map(Path::to_path_buf).unwrap_or_default(),
        path.to_path_buf(),
    ))
}

/// Reads `config.json`, `preprocessor_config.json` and the weights (`model.safetensors` or
/// `pytorch_model.bin`) from a folder (or a weights file with its config beside it) into an
/// encoder on `device`.
pub fn load_encoder(
    path: &Path,
    device: &Device,
) -> Result<(Wav2Vec2Encoder, EncoderConfig, LoadReport), String> {
    let (enc, cfg, report, _) = load_encoder_with_rest(path, device)?;
    Ok((enc, cfg, report))
}

/// Checkpoint tensors the encoder did not use (e.g. a `*ForSequenceClassification` head), by
/// key after prefix stripping: (PyTorch shape, values).
#[derive(Debug, Default)]
pub struct Rest {
    /// The weights file, for messages.
    pub file: String,
    /// Unused tensors.
    pub tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Rest {
    /// A PyTorch `Linear` stored as `{key}.weight` `[out, in]` + `{key}.bias`, as burn's
    /// `[in, out]` Linear; `None` when absent or of another shape.
    pub fn linear(&self, key: &str, d_in: usize, d_out: usize, device: &Device) -> Option<Linear> {
        let (ws, w) = self.tensors.get(&format!("{key}.weight"))?;
        let (bs, b) = self.tensors.get(&format!("{key}.bias"))?;
        if ws != &[d_out, d_in] || bs != &[d_out] {
            return None;
        }
        Some(torch_linear(w, b.clone(), d_in, d_out, device))
    }

    /// A 1-D tensor of length `n`.
    pub fn vector(&self, key: &str, n: usize) -> Option<Vec<f32>> {
        let (s, v) = self.tensors.get(key)?;
        (s == &[n]).then(|| v.clone())
    }
}

/// [`load_encoder`], also returning the tensors the encoder did not use.
pub fn load_encoder_with_rest(
    path: &Path,
    device: &Device,
) -> Result<(Wav2Vec2Encoder, EncoderConfig, LoadReport, Rest), String> {
    let (dir, file) = weights_file(path)?;
    let cfg = EncoderConfig::load(&dir)?;
    let mut ts = Tensors::read(&file)?;
    let mut enc = Wav2Vec2Encoder::new(&cfg, device);
    let mut c_in = 1;
    for (i, layer) in enc.conv_layers.iter_mut().enumerate() {
        let (c, k) = (cfg.conv_dim[i], cfg.conv_kernel[i]);
        let w = ts.take(
            &format!("feature_extractor.conv_layers.{i}.conv.weight"),
            &[c, c_in, k],
        )?;
        let bias = match cfg.conv_bias {
            true => Some(ts.take(
                &format!("feature_extractor.conv_layers.{i}.conv.bias"),
                &[c],
            )?),
            false => None,
        };
        let stride = cfg.conv_stride[i];
        layer.conv = FrameConv::from_torch(&w, [c, c_in, k], bias, 1, stride, 0, device);
        let norm_key = format!("feature_extractor.conv_layers.{i}.layer_norm");
        if let Some(g) = layer.group_norm.as_mut() {
            g.gamma = Some(t1(ts.take(&format!("{norm_key}.weight"), &[c])?, device));
            g.beta = Some(t1(ts.take(&format!("{norm_key}.bias"), &[c])?, device));
        }
        if let Some(n) = layer.layer_norm.as_mut() {
            layer_norm(&mut ts, &norm_key, c, n, device)?;
        }
        c_in = c;
    }
    let d = cfg.hidden_size;
    if let Some(n) = enc.feature_projection_layer_norm.as_mut() {
        layer_norm(&mut ts, "feature_projection.layer_norm", c_in, n, device)?;
    }
    enc.feature_projection = linear(&mut ts, "feature_projection.projection", c_in, d, device)?;

    // Positional conv with weight norm over dim 2.
    let k = cfg.num_conv_pos_embeddings;
    let groups = cfg.num_conv_pos_embedding_groups;
    let (gk, vk, spelling) = if ts.has("encoder.pos_conv_embed.conv.weight_g") {
        (
            "encoder.pos_conv_embed.conv.weight_g",
            "encoder.pos_conv_embed.conv.weight_v",
            "weight_g/weight_v",
        )
    } else {
        (
            "encoder.pos_conv_embed.conv.parametrizations.weight.original0",
            "encoder.pos_conv_embed.conv.parametrizations.weight.original1",
            "parametrizations.weight.original0/original1",
        )
    };
    let g = ts.take(gk, &[1, 1, k])?;
    let v = ts.take(vk, &[d, d / groups, k])?;
    let per_k = d * (d / groups);
    let mut w = v.clone();
    for kk in 0..k {
        let norm = (0..per_k)
            .map(|j| (v[j * k + kk] as f64).powi(2))
            .sum::<f64>()
            .sqrt()
            .max(1e-12);
        let scale = (g[kk] as f64 / norm) as f32;
        for j in 0..per_k {
            w[j * k + kk] = v[j * k + kk] * scale;
        }
    }
    let bias = ts.take("encoder.pos_conv_embed.conv.bias", &[d])?;
    enc.pos_conv =
        FrameConv::from_torch(&w, [d, d / groups, k], Some(bias), groups, 1, k / 2, device);
    layer_norm(
        &mut ts,
        "encoder.layer_norm",
        d,
        &mut enc.encoder_layer_norm,
        device,
    )?;

    if let Some(e) = enc.rel_attn_embed.as_mut() {
        let (nb, h) = (cfg.num_buckets, cfg.num_attention_heads);
        let key = "encoder.layers.0.attention.rel_attn_embed.weight";
        *e = Param::from_tensor(Tensor::from_data(
            TensorData::new(ts.take(key, &[nb, h])?, [nb, h]),
            device,
        ));
    }
    for (i, layer) in enc.layers.iter_mut().enumerate() {
        let p = format!("encoder.layers.{i}");
        layer.attention.q_proj = linear(&mut ts, &format!("{p}.attention.q_proj"), d, d, device)?;
        layer.attention.k_proj = linear(&mut ts, &format!("{p}.attention.k_proj"), d, d, device)?;
        layer.attention.v_proj = linear(&mut ts, &format!("{p}.attention.v_proj"), d, d, device)?;
        layer.attention.out_proj =
            linear(&mut ts, &format!("{p}.attention.out_proj"), d, d, device)?;
        if let Some(rel) = layer.attention.rel.as_mut() {
            let h = cfg.num_attention_heads;
            rel.gru_rel_pos_const = Param::from_tensor(Tensor::from_data(
                TensorData::new(
                    ts.take(&format!("{p}.attention.gru_rel_pos_const"), &[1, h, 1, 1])?,
                    [1, h, 1, 1],
                ),
                device,
            ));
            rel.gru_rel_pos_linear = linear(
                &mut ts,
                &format!("{p}.attention.gru_rel_pos_linear"),
                d / h,
                8,
                device,
            )?;
        }
        layer_norm(
            &mut ts,
            &format!("{p}.layer_norm"),
            d,
            &mut layer.layer_norm,
            device,
        )?;
        layer.feed_forward.intermediate_dense = linear(
            &mut ts,
            &format!("{p}.feed_forward.intermediate_dense"),
            d,
            cfg.intermediate_size,
            device,
        )?;
        layer.feed_forward.output_dense = linear(
            &mut ts,
            &format!("{p}.feed_forward.output_dense"),
            cfg.intermediate_size,
            d,
            device,
        )?;
        layer_norm(
            &mut ts,
            &format!("{p}.final_layer_norm"),
            d,
            &mut layer.final_layer_norm,
            device,
        )?;
    }
    // The learned vector that replaces time-masked frames in fine-tuning (pre-trained
    // checkpoints have it; HF initialises it uniformly in [0, 1) otherwise).
    if ts.has("masked_spec_embed") {
        enc.masked_spec_embed = Some(t1(ts.take("masked_spec_embed", &[d])?, device));
    }
    let unused: Vec<String> = ts
        .map
        .keys()
        .filter(|k| !ts.used.contains(*k))
        .cloned()
        .collect();
    let report = LoadReport {
        used: ts.used.len(),
        unused,
        weight_norm_keys: spelling.into(),
    };
    let rest = Rest {
        file: ts.file.clone(),
        tensors: std::mem::take(&mut ts.map),
    };
    Ok((enc, cfg, report, rest))
}
