//! Prediction from a saved run: every fold's best checkpoint with its own standardiser; the
//! class probabilities (dimensional runs: the predicted dimension values, on the run's target
//! scale) are averaged over folds (each fold model saw different speakers).

use std::path::Path;

use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use burn::tensor::activation::softmax;

use super::data::prepare;
use super::data::{Example, batch_inputs, to_rows};
use super::run::read_resolved;
use crate::features::{FeatureConfig, Normalisation, Standardiser, compute};
use crate::model::SerModel;
use crate::text::{ExampleText, TextBatch};

/// A loaded run, ready to predict.
pub struct Predictor {
    /// Class names in index order.
    pub classes: Vec<String>,
    /// Feature configuration of the run.
    pub features: FeatureConfig,
    /// Preset name.
    pub preset_name: String,
    /// Dimensional runs: the task (then `classes` names the dimensions and every "probability"
    /// row holds the predicted values).
    pub dimensional: Option<super::task::DimensionalTask>,
    /// Multi-label runs: the task (then `classes` names the labels and every row holds
    /// independent per-label probabilities).
    pub multi_label: Option<super::multilabel::MultiLabelTask>,
    folds: Vec<(SerModel, Option<Standardiser>)>,
    device: Device,
    frames: usize,
    bins: usize,
    ssl: Option<crate::ssl::stream::SslStream>,
    /// Runs with a text stream: turns the transcript into the models' text input.
    text: Option<crate::text::fusion::TextEmbedder>,
    /// The transcript predictions read (runs with a text stream; empty when not set).
    transcript: ExampleText,
    /// Per-speaker runs: the current speaker's own statistics, used instead of every fold's
    /// training-set statistics once set (see [`Predictor::set_speaker`]).
    speaker: Option<Standardiser>,
}

impl Predictor {
    /// Loads `config.ron`, `fold<N>.bpk` and `fold<N>.norm.json` from a run folder (CPU).
    pub fn load(run_dir: &Path) -> Result<Self, String> {
        if run_dir.join("ensemble.json").is_file() && !run_dir.join("config.ron").is_file() {
            return Err(format!(
                "{}: an ensemble of other runs (ensemble.json lists them); it holds their votes, not models — predict with a member run",
                run_dir.display()
            ));
        }
        let cfg = read_resolved(run_dir)?;
        let device = Device::flex();
        // The text stream's encoder folder gives the text width (and the tokenizer or the
        // frozen encoder that turns a transcript into the models' input).
        let text = match &cfg.preset.text {
            Some(t) => {
                let tc = crate::text::TextConfig::load(&t.weights)
                    .map_err(|e| format!("the run's text stream: {e}"))?;
                Some((t.clone(), tc))
            }
            None => None,
        };
        let text_width = text.as_ref().map_or(0, |(t, tc)| t.width(tc));
        let mut folds = Vec::new();
        for n in 1..=cfg.folds {
            let ckpt = run_dir.join(format!("fold{n}.bpk"));
            if !ckpt.exists() {
                continue; // a stopped run may hold fewer folds
            }
            let bytes = std::fs::read(&ckpt).map_err(|e| format!("{}: {e}", ckpt.display()))?;
            let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
                .map_err(|e| format!("{}: not a valid checkpoint: {e}", ckpt.display()))?;
            let mut model = cfg.preset.model.for_fold(n - 1).init(
                crate::model::InputShape {
                    frames: cfg.frames,
                    bins: cfg.bins,
                    split: cfg.preset.features.stream_split(),
                    text: text_width,
                },
                cfg.classes.len(),
                &device,
            );
            if let Some((t, tc)) = text.as_ref().filter(|(t, _)| t.fine_tune) {
                model =
                    model.with_text_encoder(crate::text::TextEncoder::new(tc, &device), t.pooling);
            }
            let model = model
                .try_load_record(record)
                .map_err(|e| {
                    format!(
                        "{}: checkpoint does not fit the run's model: {e}",
                        ckpt.display()
                    )
                })?
                .valid();
            // Per-speaker runs: new audio has no speaker statistics until `set_speaker` gives
            // them; the training-set ones stand in (docs/baselines.md).
            let norm = if matches!(
                cfg.preset.features.normalisation,
                Normalisation::TrainingSet | Normalisation::PerSpeaker
            ) {
                let p = run_dir.join(format!("fold{n}.norm.json"));
                let text =
                    std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                Some(
                    serde_json::from_str(&text)
                        .map_err(|e| format!("{}: malformed standardiser: {e}", p.display()))?,
                )
            } else {
                None
            };
            folds.push((model, norm));
        }
        if folds.is_empty() {
            return Err(format!(
                "{}: no fold checkpoints (fold1.bpk …) in this run",
                run_dir.display()
            ));
        }
        let f = &cfg.preset.features;
        let ssl = match (f.uses_ssl(), &f.ssl_weights) {
            (true, Some(w)) => Some(crate::ssl::stream::SslStream::load(w, &f.ssl_layers)?),
            (true, None) => {
                return Err("the run's preset has an SSL stream without ssl_weights".into());
            }
            (false, _) => None,
        };
        let text = match &text {
            Some((t, _)) => Some(
                crate::text::fusion::TextEmbedder::load(t, &device)
                    .map_err(|e| format!("the run's text stream: {e}"))?,
            ),
            None => None,
        };
        let transcript = match &text {
            Some(e) => e.example("")?,
            None => ExampleText::None,
        };
        Ok(Self {
            text,
            transcript,
            classes: cfg.classes,
            dimensional: cfg.preset.task.dimensional().cloned(),
            multi_label: cfg.preset.task.multi_label().cloned(),
            features: cfg.preset.features,
            preset_name: cfg.preset.name,
            folds,
            device,
            frames: cfg.frames,
            bins: cfg.bins,
            ssl,
            speaker: None,
        })
    }

    /// Whether the run standardises each speaker with their own statistics
    /// (`normalisation: per_speaker`): new audio then needs the speaker's statistics
    /// ([`Predictor::set_speaker`]); until it has them, the training set's stand in.
    pub fn per_speaker(&self) -> bool {
        self.features.normalisation == Normalisation::PerSpeaker
            && self.features.stream != crate::features::StreamKind::Waveform
    }

    /// Per-speaker runs: the statistics of the speaker whose audio comes next (`None`: the
    /// folds' training-set statistics). Ignored by other runs.
    pub fn set_speaker(&mut self, statistics: Option<Standardiser>) {
        self.speaker = statistics.filter(|_| self.per_speaker());
    }

    /// Whether a speaker's own statistics are in use.
    pub fn has_speaker(&self) -> bool {
        self.speaker.is_some()
    }

    /// The speaker statistics of 16 kHz clips of one speaker: the run's stream over all of
    /// them, per bin.
    pub fn speaker_statistics(&self, clips: &[Vec<f32>]) -> Standardiser {
        let mut acc = crate::features::norm::FrameStatistics::default();
        for c in clips {
            acc.add(&self.stream(c), 0);
        }
        acc.standardiser()
    }

    /// Whether the run's models read a transcript beside the audio.
    pub fn reads_text(&self) -> bool {
        self.text.is_some()
    }

    /// Sets the transcript the next predictions read (runs with a text stream; the empty text
    /// when never set, as for training utterances without a transcript). Ignored by audio-only
    /// runs.
    pub fn set_transcript(&mut self, text: &str) -> Result<(), String> {
        if let Some(e) = &self.text {
            self.transcript = e.example(text)?;
        }
        Ok(())
    }

    /// Output rows: class probabilities, or dimension values.
    fn rows(&self, out: Tensor<2>) -> Vec<Vec<f32>> {
        if self.dimensional.is_some() {
            to_rows(out)
        } else if self.multi_label.is_some() {
            to_rows(burn::tensor::activation::sigmoid(out))
        } else {
            to_rows(softmax(out, 1))
        }
    }

    /// Number of fold models averaged.
    pub fn n_models(&self) -> usize {
        self.folds.len()
    }

    /// The run's stream of 16 kHz samples (no normalisation).
    pub fn stream(&self, samples_16k: &[f32]) -> crate::features::FeatureMatrix {
        match &self.ssl {
            Some(s) => s.stream(samples_16k, &self.features),
            None => compute(samples_16k, &self.features),
        }
    }

    /// Each fold model with its input `[1, frames, bins]` (the stream normalised by that
    /// fold's standardiser and cropped/padded).
    fn fold_inputs<'a>(
        &'a self,
        m: &'a crate::features::FeatureMatrix,
    ) -> impl Iterator<Item = (&'a SerModel, Tensor<3>)> + 'a {
        // Fine-tuned encoders read the whole waveform (encoded in chunks), not a fixed crop.
        let frames = if self.features.stream == crate::features::StreamKind::Waveform {
            m.n_frames
        } else {
            self.frames
        };
        self.folds.iter().map(move |(model, norm)| {
            let norm = self.speaker.as_ref().or(norm.as_ref());
            let ex = Example {
                values: prepare(m, &self.features, norm, frames),
                label: 0,
                target: Vec::new(),
                text: ExampleText::None,
                ..Default::default()
            };
            (model, batch_inputs(&[&ex], frames, self.bins, &self.device))
        })
    }

    /// The text input of one prediction.
    fn text_batch(&self) -> TextBatch {
        TextBatch::of([&self.transcript], &self.device)
    }

    /// Class probabilities of 16 kHz mono samples (mean over fold models).
    pub fn predict_samples(&self, samples_16k: &[f32]) -> Vec<f32> {
        self.predict_stream(&self.stream(samples_16k))
    }

    /// Class probabilities of a stream matrix from [`Predictor::stream`] (mean over fold
    /// models).
    pub fn predict_stream(&self, m: &crate::features::FeatureMatrix) -> Vec<f32> {
        let mut acc = vec![0.0f32; self.classes.len()];
        for (model, x) in self.fold_inputs(m) {
            let p = self.rows(model.forward(x, &self.text_batch()));
            add_mean(&mut acc, p.first().map(Vec::as_slice), self.folds.len());
        }
        acc
    }

    /// Frames per model input (utterances are cropped/padded to this).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Probabilities with the models' attention over the input frames and the fusion gate per
    /// frame (each averaged over the fold models; `None` where the model has none).
    pub fn trace_samples(&self, samples_16k: &[f32]) -> Trace {
        let m = self.stream(samples_16k);
        let n = self.folds.len();
        let mut out = Trace {
            probabilities: vec![0.0; self.classes.len()],
            attention: None,
            gate: None,
            label_attention: None,
            valid_frames: m.n_frames.min(self.frames),
            seconds: samples_16k.len() as f64 / 16_000.0,
            frames_per_sec: m.n_frames as f64 * 16_000.0 / samples_16k.len().max(1) as f64,
            // Longer utterances are centre-cropped (see `fit_length`).
            start_frame: if self.features.stream == crate::features::StreamKind::Waveform {
                0
            } else {
                m.n_frames.saturating_sub(self.frames) / 2
            },
        };
        let add = |acc: &mut Option<Vec<f32>>, t: Option<Tensor<2>>| {
            if let Some(row) = t.and_then(|t| to_rows(t).into_iter().next()) {
                add_mean(
                    acc.get_or_insert_with(|| vec![0.0; row.len()]),
                    Some(&row[..]),
                    n,
                );
            }
        };
        for (model, x) in self.fold_inputs(&m) {
            let (logits, trace) = model.forward_traced(x, &self.text_batch());
            add_mean(
                &mut out.probabilities,
                self.rows(logits).first().map(Vec::as_slice),
                n,
            );
            add(&mut out.attention, trace.attention);
            add(&mut out.gate, trace.gate);
            if let Some(a) = trace.label_attention {
                let [_, labels, time] = a.dims();
                let v = crate::tensor::read_f32(a);
                let acc = out
                    .label_attention
                    .get_or_insert_with(|| vec![vec![0.0; time]; labels]);
                for (k, row) in acc.iter_mut().enumerate() {
                    add_mean(row, Some(&v[k * time..(k + 1) * time]), n);
                }
            }
        }
        out
    }

    /// [`Predictor::trace_samples`] of an audio file.
    pub fn trace_file(&self, path: &Path) -> Result<Trace, String> {
        let x = crate::audio::load_mono_16k(path).map_err(|e| e.to_string())?;
        Ok(self.trace_samples(&x))
    }

    /// Class probabilities of 16 kHz mono samples from each fold model (in fold order; a
    /// stopped run's missing folds are absent).
    pub fn predict_samples_per_fold(&self, samples_16k: &[f32]) -> Vec<Vec<f32>> {
        let m = self.stream(samples_16k);
        self.fold_inputs(&m)
            .map(|(model, x)| {
                self.rows(model.forward(x, &self.text_batch()))
                    .into_iter()
                    .next()
                    .expect("one row per input")
            })
            .collect()
    }

    /// [`Predictor::predict_samples_per_fold`] of an audio file.
    pub fn predict_file_per_fold(&self, path: &Path) -> Result<Vec<Vec<f32>>, String> {
        let x = crate::audio::load_mono_16k(path).map_err(|e| e.to_string())?;
        Ok(self.predict_samples_per_fold(&x))
    }

    /// Class probabilities of an audio file.
    pub fn predict_file(&self, path: &Path) -> Result<Vec<f32>, String> {
        let x = crate::audio::load_mono_16k(path).map_err(|e| e.to_string())?;
        Ok(self.predict_samples(&x))
    }
}

/// Adds `row / n` into `acc` (one model's share of a mean over `n` models).
fn add_mean(acc: &mut [f32], row: Option<&[f32]>, n: usize) {
    if let Some(row) = row {
        for (a, v) in acc.iter_mut().zip(row) {
            *a += v / n as f32;
        }
    }
}

/// One utterance through a run's models, with what they attend to.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Trace {
    /// Class probabilities (mean over fold models).
    pub probabilities: Vec<f32>,
    /// Attention received per input frame (sums to 1), models with attention.
    pub attention: Option<Vec<f32>>,
    /// Fusion gate per input frame (share of the log-mel stream), gated fusion.
    pub gate: Option<Vec<f32>>,
    /// Label-query models: per label (output order), its query's attention per input frame
    /// (each row sums to 1 over the frames holding audio).
    pub label_attention: Option<Vec<Vec<f32>>>,
    /// Frames holding audio (the rest is padding).
    pub valid_frames: usize,
    /// Length of the audio in seconds.
    pub seconds: f64,
    /// Stream frames per second of audio (frame `i` starts near `i / frames_per_sec` s).
    pub frames_per_sec: f64,
    /// The stream frame the model's first input frame is (centre crop of a long utterance).
    pub start_frame: usize,
}
