//! `ser-workbench features`: one file's features as a float32 .npy, or a text's embedding from
//! a BERT-family encoder (`--stream text --weights DIR --text "…"`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use crate::features::{FeatureConfig, StreamKind};
use crate::train::Preset;

/// Which features `features` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StreamArg {
    /// Log-mel spectrogram [frames, mels].
    Logmel,
    /// MFCC (+ deltas as the preset says) [frames, coefficients].
    Mfcc,
    /// SSL hidden states [layers, frames, dim] ([frames, dim] for one layer).
    Ssl,
    /// Log-mel and SSL frames side by side, the SSL frames interpolated onto the log-mel
    /// frames [frames, mels + dim].
    #[value(name = "logmel+ssl")]
    LogmelSsl,
    /// A text's pooled embedding from a BERT-family encoder [hidden] (needs --text).
    Text,
    /// Acoustic functionals of the whole file [1, values] (log-mel, MFCC, energy, ZCR and F0
    /// statistics; docs/baselines.md); `--out F.csv` writes `name,value` rows instead of .npy.
    Functionals,
}

/// Options of `features`.
#[derive(Args, Debug)]
pub struct FeaturesArgs {
    /// Stream.
    #[arg(long, value_enum, default_value = "logmel")]
    pub stream: StreamArg,
    /// ssl: model folder (config.json + model.safetensors or pytorch_model.bin) or weights file.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// ssl: hidden states to keep: all, last, N, or a,b,c.
    #[arg(long, default_value = "all")]
    pub layers: String,
    /// Take feature parameters from this preset (default: the LogMel–HuBERT paper's log-mel,
    /// docs/design.md "Features").
    #[arg(long)]
    pub preset: Option<PathBuf>,
    /// text: the text to embed.
    #[arg(long)]
    pub text: Option<String>,
    /// text: pooling of the last hidden state: mean (over tokens), cls (the first token) or
    /// mean-max (mean and maximum concatenated, the distilled audio-textual paper's pooling).
    #[arg(long, default_value = "mean")]
    pub pooling: String,
    /// Input WAV (audio streams).
    pub file: Option<PathBuf>,
    /// Output .npy (audio streams: required; text: optional, the vector is printed).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Writes the .npy and prints its shape.
pub fn run(a: FeaturesArgs) -> Result<()> {
    if a.stream == StreamArg::Text {
        return text_features(&a);
    }
    let (Some(file), Some(out)) = (a.file.clone(), a.out.clone()) else {
        anyhow::bail!("audio streams need an input file and --out F.npy");
    };
    let a = FeaturesArgs {
        file: Some(file.clone()),
        out: Some(out.clone()),
        ..a
    };
    let (file, out) = (&file, &out);
    let stream = match a.stream {
        StreamArg::Ssl => {
            let w = a.weights.ok_or_else(|| {
                anyhow::anyhow!("--stream ssl needs --weights PATH (model folder or .safetensors)")
            })?;
            return ssl_features(&w, &a.layers, file, out);
        }
        StreamArg::Logmel => StreamKind::LogMel,
        StreamArg::Mfcc => StreamKind::Mfcc,
        StreamArg::LogmelSsl => StreamKind::LogMelSsl,
        StreamArg::Functionals => StreamKind::Functionals,
        StreamArg::Text => unreachable!("handled above"),
    };
    features(stream, a.preset.as_deref(), a.weights.as_deref(), file, out)
}

/// Embeds `--text` with the encoder in `--weights`; prints the tokens and the vector.
fn text_features(a: &FeaturesArgs) -> Result<()> {
    let w = a.weights.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "--stream text needs --weights DIR (config.json, model.safetensors, tokenizer.json)"
        )
    })?;
    let text = a
        .text
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("--stream text needs --text \"…\""))?;
    let pooling = match a.pooling.as_str() {
        "mean" => crate::text::TextPooling::Mean,
        "cls" => crate::text::TextPooling::Cls,
        "mean-max" => crate::text::TextPooling::MeanMax,
        other => anyhow::bail!("--pooling must be mean, cls or mean-max, got '{other}'"),
    };
    let device = burn::prelude::Device::flex();
    let stream = crate::text::TextStream::load(w, &device).map_err(anyhow::Error::msg)?;
    let (ids, _) = stream.tokenizer.encode(text).map_err(anyhow::Error::msg)?;
    let v = stream
        .embed(&[text], pooling)
        .map_err(anyhow::Error::msg)?
        .remove(0);
    println!(
        "{:?} encoder, {} layers, hidden {}; {} tokens: {:?}",
        stream.config.family,
        stream.config.num_hidden_layers,
        stream.config.hidden_size,
        ids.len(),
        ids
    );
    println!(
        "{} pooled embedding [{}]: {}",
        a.pooling,
        v.len(),
        v.iter()
            .map(|x| format!("{x:.5}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if let Some(out) = &a.out {
        crate::features::npy::write(out, &[v.len()], &v)
            .with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn ssl_features(weights: &Path, layers: &str, file: &Path, out: &Path) -> Result<()> {
    use burn::prelude::Device;
    let device = Device::flex();
    let (enc, cfg, report) =
        crate::ssl::load_encoder(weights, &device).map_err(|e| anyhow::anyhow!(e))?;
    if !report.unused.is_empty() {
        eprintln!(
            "note: {} tensor(s) in the checkpoint are not part of the encoder (e.g. {})",
            report.unused.len(),
            report.unused[0]
        );
    }
    let keep = crate::ssl::extract::parse_layers(layers, cfg.n_hidden_states())
        .map_err(|e| anyhow::anyhow!(e))?;
    let x = crate::audio::load_mono_16k(file)?;
    let chunking = crate::ssl::extract::Chunking::default_for(cfg.total_stride());
    let (shape, v) = crate::ssl::extract::encode_utterance(
        &enc,
        &cfg.conv_kernel,
        &cfg.conv_stride,
        &x,
        chunking,
        &device,
    );
    let (t, d) = (shape[1], shape[2]);
    let mut data = Vec::with_capacity(keep.len() * t * d);
    for &l in &keep {
        data.extend_from_slice(&v[l * t * d..(l + 1) * t * d]);
    }
    let out_shape = if keep.len() == 1 {
        vec![t, d]
    } else {
        vec![keep.len(), t, d]
    };
    crate::features::npy::write(out, &out_shape, &data)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{}: {:?} float32 ({} hidden state(s) of {}, {} frames at {:.0} per second)",
        out.display(),
        out_shape,
        keep.len(),
        cfg.model_type,
        t,
        16_000.0 / cfg.total_stride() as f64
    );
    Ok(())
}

fn features(
    stream: StreamKind,
    preset: Option<&Path>,
    weights: Option<&Path>,
    file: &Path,
    out: &Path,
) -> Result<()> {
    let mut cfg = match preset {
        Some(p) => Preset::load(p)?.features,
        None => FeatureConfig::default(),
    };
    cfg.stream = stream;
    if let Some(w) = weights {
        cfg.ssl_weights = Some(w.to_path_buf());
    }
    let m = if stream == StreamKind::LogMelSsl {
        // [log-mel frames, n_mels + dim]: the SSL frames interpolated onto the log-mel frames.
        let w = cfg.ssl_weights.clone().ok_or_else(|| {
            anyhow::anyhow!("--stream logmel+ssl needs --weights PATH or a preset with ssl_weights")
        })?;
        let s = crate::ssl::stream::SslStream::load(&w, &cfg.ssl_layers)
            .map_err(|e| anyhow::anyhow!(e))?;
        let x = crate::audio::load_mono_16k(file)?;
        s.fused(&x, &cfg)
    } else {
        crate::features::extract_file(file, &cfg)?
    };
    if stream == StreamKind::Functionals && out.extension().is_some_and(|e| e == "csv") {
        let names = crate::features::functionals::names(&cfg);
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["name", "value"])?;
        for (n, v) in names.iter().zip(&m.data) {
            w.write_record([n.as_str(), &v.to_string()])?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::fsutil::write_atomic(out, &bytes)
            .with_context(|| format!("writing {}", out.display()))?;
        println!(
            "{}: {} named values ({})",
            out.display(),
            names.len(),
            cfg.extractor_key()
        );
        return Ok(());
    }
    crate::features::npy::write(out, &[m.n_frames, m.n_bins], &m.data)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{}: [{}, {}] float32 ({})",
        out.display(),
        m.n_frames,
        m.n_bins,
        cfg.extractor_key()
    );
    Ok(())
}
