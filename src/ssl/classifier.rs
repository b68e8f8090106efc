//! A fine-tunable SSL encoder with transformers' sequence-classification head
//! (`HubertForSequenceClassification`, `Wav2Vec2ForSequenceClassification`, …):
//!
//! ```text
//! waveform → encoder → last hidden state (or softmax-weighted sum of all hidden states)
//!          → projector (Linear hidden → proj) → mean over valid frames → classifier (Linear)
//! ```
//!
//! or, with [`FineTuneHead::AvgMaxTanh`], the head of the distilled audio-textual paper for
//! dimensional emotion: projector → mean and max over valid frames, concatenated → Linear → tanh
//! → Linear (one output per dimension). With one set of layer weights per output, each output
//! reads its own weighted sum of hidden states (layer importance per dimension).
//!
//! With a text stream (the paper's figure 1b), the pooled transcript vector joins the pooled
//! audio before the head's first layer: given as a fixed vector (frozen text encoder) or computed
//! by the model's own [`TextEncoder`] from token ids (fine-tuned text encoder).
//!
//! What stays frozen, the learning rates and the training-time regularisation are set by
//! [`FineTuneConfig`] (docs/design.md, "Fine-tuning" and "Dimensional emotion").

use std::path::Path;

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{softmax, tanh};
use serde::{Deserialize, Serialize};

use super::config::{EncoderConfig, FeatExtractNorm};
use super::extract::conv_frames;
use super::wav2vec2::{TimeMask, TrainAugment, Wav2Vec2Encoder};
use crate::text::{TextBatch, TextEncoder, TextPooling};

/// How a preset fine-tunes its SSL encoder (the model folder is `features.ssl_weights`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FineTuneConfig {
    /// Keep the convolutional feature encoder frozen (transformers' `freeze_feature_encoder`).
    pub freeze_feature_encoder: bool,
    /// Keep the feature projection (LayerNorm + Linear) frozen.
    pub freeze_feature_projection: bool,
    /// Keep the first N transformer layers (and the positional conv when N > 0) frozen.
    pub freeze_layers: usize,
    /// Keep only the first N transformer layers ("pruned" encoder); `None` = all.
    pub keep_layers: Option<usize>,
    /// Learning rate of the encoder; `None` = `training.learning_rate`.
    pub encoder_learning_rate: Option<f64>,
    /// Learning rate of the head (projector, classifier, layer weights); `None` =
    /// `training.learning_rate`.
    pub head_learning_rate: Option<f64>,
    /// Layer-drop probability in training; `None` = the checkpoint's `layerdrop`.
    pub layer_drop: Option<f64>,
    /// Time-masking probability in training; `None` = the checkpoint's `mask_time_prob` when its
    /// config has `apply_spec_augment` (0 turns masking off).
    pub mask_time_prob: Option<f64>,
    /// Training utterances longer than this are randomly cropped to it, seconds.
    pub max_train_secs: f32,
    /// Evaluation encodes full utterances in chunks of at most this many seconds.
    pub eval_chunk_secs: f32,
    /// Micro-batches whose gradients are summed before each optimiser step.
    pub grad_accumulation: usize,
    /// Length-bucketed batching: batches are formed from utterances of similar length (sorted
    /// within windows of 50 batches, then the batches shuffled).
    pub length_buckets: bool,
    /// Head reads the softmax-weighted sum of all hidden states; `None` = the checkpoint's
    /// `use_weighted_layer_sum`.
    pub weighted_layer_sum: Option<bool>,
    /// Projector width; `None` = the checkpoint's `classifier_proj_size`.
    pub projector_size: Option<usize>,
    /// The head after the encoder.
    pub head: FineTuneHead,
    /// Freeze every encoder parameter (only the head trains: the frozen-encoder baseline;
    /// the encoder still runs on every batch).
    pub freeze_encoder: bool,
    /// One set of layer weights per output (dimensional runs with per-dimension layer
    /// importance; set from the task when a run starts). Needs the weighted layer sum.
    pub per_output_layer_weights: bool,
    /// The encoder architecture, filled in when a run starts so that the run folder alone
    /// rebuilds the model (leave unset in presets).
    pub encoder: Option<EncoderConfig>,
}

impl Default for FineTuneConfig {
    fn default() -> Self {
        Self {
            freeze_feature_encoder: true,
            freeze_feature_projection: false,
            freeze_layers: 0,
            keep_layers: None,
            encoder_learning_rate: None,
            head_learning_rate: None,
            layer_drop: None,
            mask_time_prob: None,
            max_train_secs: 6.0,
            eval_chunk_secs: 20.0,
            grad_accumulation: 1,
            length_buckets: true,
            weighted_layer_sum: None,
            projector_size: None,
            head: FineTuneHead::Sequence,
            freeze_encoder: false,
            per_output_layer_weights: false,
            encoder: None,
        }
    }
}

/// The head of a fine-tuned encoder.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum FineTuneHead {
    /// transformers' sequence-classification head: projector → mean over valid frames →
    /// classifier.
    #[default]
    Sequence,
    /// The distilled audio-textual paper's regression head: projector → [mean ‖ max] over valid
    /// frames → Linear(2·projector → hidden) → tanh → Linear(hidden → outputs).
    AvgMaxTanh {
        /// Width of the tanh layer.
        hidden: usize,
    },
    /// The metadata paper's multi-task head (ARI over the transformer layers' outputs,
    /// auxiliary heads, co-attention, SER classifier; [`crate::model::multitask`]).
    MultiTask(crate::model::multitask::MultiTaskSpec),
}

impl FineTuneConfig {
    /// Checks the settings; every problem names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("layer_drop", self.layer_drop),
            ("mask_time_prob", self.mask_time_prob),
        ] {
            if let Some(p) = v
                && !(0.0..1.0).contains(&p)
            {
                return Err(format!("fine-tune {name} must be in [0, 1), got {p}"));
            }
        }
        for (name, v) in [
            ("encoder_learning_rate", self.encoder_learning_rate),
            ("head_learning_rate", self.head_learning_rate),
        ] {
            if let Some(lr) = v
                && !(lr >= 0.0 && lr.is_finite())
            {
                return Err(format!(
                    "fine-tune {name} must be a finite rate ≥ 0, got {lr}"
                ));
            }
        }
        let positive = |x: f32| x.is_finite() && x > 0.0;
        if !positive(self.max_train_secs) || !positive(self.eval_chunk_secs) {
            return Err(format!(
                "fine-tune max_train_secs and eval_chunk_secs must be > 0 (got {} and {})",
                self.max_train_secs, self.eval_chunk_secs
            ));
        }
        if self.grad_accumulation == 0 {
            return Err("fine-tune grad_accumulation must be at least 1".into());
        }
        if self.keep_layers == Some(0) {
            return Err("fine-tune keep_layers must be at least 1 (or absent for all)".into());
        }
        if self.projector_size == Some(0) {
            return Err("fine-tune projector_size must be at least 1".into());
        }
        if self.head == (FineTuneHead::AvgMaxTanh { hidden: 0 }) {
            return Err("fine-tune head AvgMaxTanh: hidden must be at least 1".into());
        }
        if let FineTuneHead::MultiTask(spec) = &self.head {
            spec.validate()?;
            if self.per_output_layer_weights {
                return Err("the multi-task head predicts emotion classes: per-dimension layer weights do not apply".into());
            }
        }
        if self.per_output_layer_weights && self.weighted_layer_sum == Some(false) {
            return Err("per-dimension layer weights need the weighted layer sum (weighted_layer_sum: Some(true) or absent)".into());
        }
        Ok(())
    }

    /// The multi-task settings when the head is the multi-task head.
    pub fn multitask(&self) -> Option<&crate::model::multitask::MultiTaskSpec> {
        match &self.head {
            FineTuneHead::MultiTask(s) => Some(s),
            _ => None,
        }
    }

    /// What stage 2 of two-stage multi-task fine-tuning freezes: the CNN and the first
    /// `stage2_freeze_layers` transformer layers (at least the preset's own `freeze_layers`);
    /// `None` without two stages.
    pub fn stage2(&self) -> Option<FineTuneConfig> {
        let st = self.multitask()?.stages.as_ref()?;
        Some(FineTuneConfig {
            freeze_feature_encoder: true,
            freeze_layers: self.freeze_layers.max(st.stage2_freeze_layers),
            ..self.clone()
        })
    }

    /// The same settings building fold `fold`'s multi-task head (its auxiliary classes).
    pub fn for_fold(&self, fold: usize) -> Self {
        let mut out = self.clone();
        if let FineTuneHead::MultiTask(s) = &mut out.head {
            s.fold = fold;
        }
        out
    }

    /// Layer-drop probability for `enc`.
    pub fn layer_drop_for(&self, enc: &EncoderConfig) -> f64 {
        self.layer_drop.unwrap_or(enc.layerdrop)
    }

    /// Time masking for `enc` (None = off).
    pub fn time_mask_for(&self, enc: &EncoderConfig) -> Option<TimeMask> {
        let prob = match self.mask_time_prob {
            Some(p) => p,
            None if enc.apply_spec_augment => enc.mask_time_prob,
            None => 0.0,
        };
        (prob > 0.0).then_some(TimeMask {
            prob,
            length: enc.mask_time_length,
            min_masks: enc.mask_time_min_masks,
        })
    }
}

/// The head of [`SslClassifier`] (trained with the head learning rate).
#[derive(Module, Debug)]
pub struct ClassifierHead {
    /// `layer_weights` `[hidden states]` (weighted-layer-sum models).
    pub layer_weights: Option<Param<Tensor<1>>>,
    /// One set of layer weights per output `[outputs, hidden states]` (instead of
    /// `layer_weights`).
    pub output_layer_weights: Option<Param<Tensor<2>>>,
    /// `projector`.
    pub projector: Linear,
    /// The tanh layer of the mean-and-max head (absent: the sequence-classification head).
    pub hidden: Option<Linear>,
    /// `classifier`.
    pub classifier: Linear,
    /// The multi-task head; with it, `projector` (`hidden → 1`) and `classifier` (`1 →
    /// classes`) are unused placeholders that keep the head's shape.
    pub multitask: Option<crate::model::multitask::MultiTaskHead>,
}

impl ClassifierHead {
    /// Softmax layer weights: one row (shared) or one per output; `None` without a weighted sum.
    pub fn layer_weight_rows(&self) -> Option<Vec<Vec<f32>>> {
        if let Some(mt) = &self.multitask {
            return mt.layer_weights().map(|rows| vec![layer_shares(&rows)]);
        }
        if let Some(w) = &self.output_layer_weights {
            let [g, n] = w.dims();
            let v = crate::tensor::read_f32(softmax(w.val(), 1));
            return Some((0..g).map(|k| v[k * n..(k + 1) * n].to_vec()).collect());
        }
        self.layer_weights
            .as_ref()
            .map(|w| vec![crate::tensor::read_f32(softmax(w.val(), 0))])
    }

    /// Groups of head input (1, or one per output).
    fn groups(&self) -> usize {
        self.output_layer_weights
            .as_ref()
            .map_or(1, |w| w.dims()[0])
    }

    /// Outputs from pooled features `[groups, batch, E]` (E = projector width, doubled for the
    /// mean-and-max head) and the text vector `[batch, T]` when there is one (one group then):
    /// each output reads its own group when there are several.
    ///
    /// # Shapes
    /// - `pooled`: `[groups, batch, E]`, `text`: `[batch, T]` → `[batch, outputs]`
    pub fn finish(&self, pooled: Tensor<3>, text: Option<Tensor<2>>) -> Tensor<2> {
        let pooled = match text {
            Some(t) => Tensor::cat(vec![pooled, t.unsqueeze_dim(0)], 2),
            None => pooled,
        };
        let [g, b, _] = pooled.dims();
        let y = match &self.hidden {
            Some(h) => self.classifier.forward(tanh(h.forward(pooled))),
            None => self.classifier.forward(pooled),
        }; // [g, b, out]
        let out = y.dims()[2];
        if g == 1 {
            return y.reshape([b, out]);
        }
        // Output k from group k: multiply by the identity and sum over groups.
        let eye: Tensor<2> = Tensor::eye(g, &y.device());
        (y * eye.reshape([g, 1, out])).sum_dim(0).reshape([b, out])
    }
}

/// One share per layer from the multi-task head's integration weights: ARI's `[N − 1][d]`
/// rows (each channel's softmax over the lower layers) become each lower layer's mean share
/// over the channels; the weighted sum's single row stays as it is. The shares sum to 1.
pub fn layer_shares(rows: &[Vec<f32>]) -> Vec<f32> {
    if rows.len() == 1 {
        return rows[0].clone();
    }
    rows.iter()
        .map(|r| r.iter().sum::<f32>() / r.len().max(1) as f32)
        .collect()
}

/// Encoder + sequence-classification head.
#[derive(Module, Debug)]
pub struct SslClassifier {
    /// The encoder (its frozen parts do not require gradients).
    pub encoder: Wav2Vec2Encoder,
    /// The head.
    pub head: ClassifierHead,
    /// The conv feature encoder is frozen (its output is detached).
    pub freeze_conv: bool,
    /// The conv stack gives frames for mask and pooling: kernels.
    pub conv_kernel: Vec<usize>,
    /// Strides of the conv stack.
    pub conv_stride: Vec<usize>,
    /// Layer-norm feature extractor (padding is masked in attention).
    pub uses_attention_mask: bool,
    /// Evaluation chunk, samples (a multiple of the conv stride).
    pub eval_chunk_samples: usize,
    /// A fine-tuned text encoder (the text stream with `fine_tune`).
    pub text_encoder: Option<TextEncoder>,
    /// Its pooling over tokens.
    #[module(skip)]
    pub text_pooling: TextPooling,
}

/// What building an [`SslClassifier`] found and set.
#[derive(Clone, Debug, Default)]
pub struct BuildReport {
    /// Whether the checkpoint's sequence-classification head (projector + classifier of the
    /// right shapes) was loaded.
    pub head_loaded: bool,
    /// Why a head present in the checkpoint was not used.
    pub head_note: Option<String>,
    /// Parameters in total.
    pub params: usize,
    /// Parameters that train.
    pub trainable: usize,
}

impl SslClassifier {
    /// An architecture with random weights (for loading a saved checkpoint into).
    pub fn new(
        enc_cfg: &EncoderConfig,
        ft: &FineTuneConfig,
        n_classes: usize,
        device: &Device,
    ) -> Self {
        Self::with_encoder(
            Wav2Vec2Encoder::new(enc_cfg, device),
            enc_cfg,
            ft,
            n_classes,
            device,
        )
    }

    /// `encoder` (pruned to `keep_layers`, given a mask embedding when it has none) with a new
    /// head.
    fn with_encoder(
        mut encoder: Wav2Vec2Encoder,
        enc_cfg: &EncoderConfig,
        ft: &FineTuneConfig,
        n_classes: usize,
        device: &Device,
    ) -> Self {
        if let Some(n) = ft.keep_layers {
            encoder.keep_layers(n);
        }
        encoder.ensure_mask_embedding(device);
        let d = enc_cfg.hidden_size;
        let proj = ft.projector_size.unwrap_or(enc_cfg.classifier_proj_size);
        let weighted = ft
            .weighted_layer_sum
            .unwrap_or(enc_cfg.use_weighted_layer_sum);
        let n_states = encoder.layers.len() + 1;
        let per_output =
            ft.per_output_layer_weights && (weighted || ft.weighted_layer_sum.is_none());
        let multitask = ft.multitask().map(|spec| {
            spec.head_config(encoder.layers.len(), d, n_classes)
                .init(device)
        });
        let (weighted, per_output, proj) = if multitask.is_some() {
            (false, false, 1)
        } else {
            (weighted, per_output, proj)
        };
        let (hidden, width) = match ft.head {
            FineTuneHead::Sequence | FineTuneHead::MultiTask(_) => (None, proj),
            FineTuneHead::AvgMaxTanh { hidden } => (
                Some(LinearConfig::new(2 * proj, hidden).init(device)),
                hidden,
            ),
        };
        let head = ClassifierHead {
            // transformers initialises the weights to 1/N (a plain mean before training).
            layer_weights: (weighted && !per_output).then(|| {
                Param::from_tensor(Tensor::ones([n_states], device).div_scalar(n_states as f32))
            }),
            output_layer_weights: per_output.then(|| {
                Param::from_tensor(
                    Tensor::ones([n_classes, n_states], device).div_scalar(n_states as f32),
                )
            }),
            projector: LinearConfig::new(d, proj).init(device),
            hidden,
            classifier: LinearConfig::new(width, n_classes).init(device),
            multitask,
        };
        let stride: usize = enc_cfg.conv_stride.iter().product();
        let chunk = ((ft.eval_chunk_secs as f64 * 16_000.0) as usize / stride).max(1) * stride;
        Self {
            encoder,
            head,
            freeze_conv: ft.freeze_feature_encoder,
            conv_kernel: enc_cfg.conv_kernel.clone(),
            conv_stride: enc_cfg.conv_stride.clone(),
            uses_attention_mask: enc_cfg.feat_extract_norm == FeatExtractNorm::Layer,
            eval_chunk_samples: chunk,
            text_encoder: None,
            text_pooling: TextPooling::default(),
        }
    }

    /// Widens the head's first layer by `text` inputs for the text vector (a new, randomly
    /// initialised layer: a checkpoint's head never takes text). `0` leaves the model as it is.
    pub fn with_text_width(mut self, text: usize, device: &Device) -> Self {
        if text == 0 {
            return self;
        }
        let widen = |l: &Linear| {
            let [d_in, d_out] = l.weight.dims();
            LinearConfig::new(d_in + text, d_out).init(device)
        };
        match &self.head.hidden {
            Some(h) => self.head.hidden = Some(widen(h)),
            None => self.head.classifier = widen(&self.head.classifier),
        }
        self
    }

    /// Adds a text encoder that trains with the model (the text batch then carries token ids).
    pub fn with_text_encoder(mut self, encoder: TextEncoder, pooling: TextPooling) -> Self {
        self.text_encoder = Some(encoder);
        self.text_pooling = pooling;
        self
    }

    /// The pooled text vector `[batch, width]` of token ids through the model's text encoder
    /// (`None` without one).
    pub fn text_vector(&self, ids: &[Vec<u32>]) -> Option<Tensor<2>> {
        let enc = self.text_encoder.as_ref()?;
        let mask: Vec<Vec<u32>> = ids.iter().map(|r| vec![1; r.len()]).collect();
        let device = self.head.projector.weight.device();
        Some(enc.pooled(ids, &mask, self.text_pooling, &device))
    }

    /// The text vector of a batch's text.
    fn batch_text(&self, text: &TextBatch) -> Option<Tensor<2>> {
        match text {
            TextBatch::None => None,
            TextBatch::Vectors(v) => Some(v.clone()),
            TextBatch::Tokens(ids) => self.text_vector(ids),
        }
    }

    /// Loads the encoder (and a saved classification head of the right shapes) from a model
    /// folder and marks the frozen parts; returns the model with `ft.encoder` filled in.
    pub fn load(
        weights: &Path,
        ft: &FineTuneConfig,
        n_classes: usize,
        device: &Device,
    ) -> Result<(Self, FineTuneConfig, BuildReport), String> {
        let (enc, enc_cfg, _, rest) = super::weights::load_encoder_with_rest(weights, device)?;
        if let Some(n) = ft.keep_layers
            && n > enc_cfg.num_hidden_layers
        {
            return Err(format!(
                "{}: keep_layers {n} but the encoder has {} transformer layers",
                weights.display(),
                enc_cfg.num_hidden_layers
            ));
        }
        if ft.freeze_layers > ft.keep_layers.unwrap_or(enc_cfg.num_hidden_layers) {
            return Err(format!(
                "{}: freeze_layers {} exceeds the encoder's {} transformer layers",
                weights.display(),
                ft.freeze_layers,
                ft.keep_layers.unwrap_or(enc_cfg.num_hidden_layers)
            ));
        }
        let layers = ft.keep_layers.unwrap_or(enc_cfg.num_hidden_layers);
        if let Some(st) = ft.multitask().and_then(|m| m.stages.as_ref())
            && st.stage2_freeze_layers > layers
        {
            return Err(format!(
                "{}: stage2_freeze_layers {} exceeds the encoder's {layers} transformer layers",
                weights.display(),
                st.stage2_freeze_layers
            ));
        }
        let mut model = Self::with_encoder(enc, &enc_cfg, ft, n_classes, device);
        let mut report = BuildReport::default();
        let (d, proj) = (enc_cfg.hidden_size, model.head.projector.weight.dims()[1]);
        let sequence_head = ft.head == FineTuneHead::Sequence;
        match (
            sequence_head,
            rest.linear("projector", d, proj, device),
            rest.linear("classifier", proj, n_classes, device),
        ) {
            (true, Some(p), Some(c)) => {
                model.head.projector = p;
                model.head.classifier = c;
                if let (Some(w), Some(v)) = (
                    model.head.layer_weights.as_mut(),
                    rest.vector("layer_weights", model.encoder.layers.len() + 1),
                ) {
                    let n = v.len();
                    *w = Param::from_tensor(Tensor::from_data(TensorData::new(v, [n]), device));
                }
                report.head_loaded = true;
            }
            (true, ..) if rest.tensors.contains_key("classifier.weight") => {
                report.head_note = Some(format!(
                    "{}: the checkpoint's classification head does not fit ({} classes, projector {proj}): a new head is trained",
                    rest.file, n_classes
                ));
            }
            (false, ..) if rest.tensors.contains_key("classifier.weight") => {
                report.head_note = Some(format!(
                    "{}: the checkpoint's sequence-classification head is not used by this preset's head: a new head is trained",
                    rest.file
                ));
            }
            _ => {}
        }
        let model = model.freeze(ft);
        report.params = model.num_params();
        report.trainable = model.trainable_params();
        let mut resolved = ft.clone();
        resolved.encoder = Some(enc_cfg);
        Ok((model, resolved, report))
    }

    /// Replaces the encoder, the head and the text encoder by what `f` makes of them (an
    /// optimiser step takes modules by value); the other fields stay.
    pub fn map_parts(
        self,
        f: impl FnOnce(
            Wav2Vec2Encoder,
            ClassifierHead,
            Option<TextEncoder>,
        ) -> (Wav2Vec2Encoder, ClassifierHead, Option<TextEncoder>),
    ) -> Self {
        let Self {
            encoder,
            head,
            freeze_conv,
            conv_kernel,
            conv_stride,
            uses_attention_mask,
            eval_chunk_samples,
            text_encoder,
            text_pooling,
        } = self;
        let (encoder, head, text_encoder) = f(encoder, head, text_encoder);
        Self {
            encoder,
            head,
            freeze_conv,
            conv_kernel,
            conv_stride,
            uses_attention_mask,
            eval_chunk_samples,
            text_encoder,
            text_pooling,
        }
    }

    /// Marks the parts `ft` freezes as not requiring gradients.
    pub fn freeze(mut self, ft: &FineTuneConfig) -> Self {
        if ft.freeze_encoder {
            self.encoder = self.encoder.no_grad();
            return self;
        }
        if ft.freeze_feature_encoder {
            let conv = std::mem::take(&mut self.encoder.conv_layers);
            self.encoder.conv_layers = conv.into_iter().map(|c| c.no_grad()).collect();
        }
        if ft.freeze_feature_projection {
            self.encoder.feature_projection_layer_norm = self
                .encoder
                .feature_projection_layer_norm
                .take()
                .map(|n| n.no_grad());
            self.encoder.feature_projection = self.encoder.feature_projection.clone().no_grad();
        }
        if ft.freeze_layers > 0 {
            self.encoder.pos_conv = self.encoder.pos_conv.clone().no_grad();
            if !self.encoder.stable_layer_norm {
                // Post-LN models normalise before layer 0: part of the frozen bottom.
                self.encoder.encoder_layer_norm = self.encoder.encoder_layer_norm.clone().no_grad();
            }
            let layers = std::mem::take(&mut self.encoder.layers);
            self.encoder.layers = layers
                .into_iter()
                .enumerate()
                .map(|(i, l)| if i < ft.freeze_layers { l.no_grad() } else { l })
                .collect();
        }
        self
    }

    /// Parameters `ft` leaves trainable (the same parts [`SslClassifier::freeze`] marks; also
    /// valid for a validation snapshot, which no longer carries the flags).
    pub fn trainable_under(&self, ft: &FineTuneConfig) -> usize {
        let e = &self.encoder;
        if ft.freeze_encoder {
            return self.head.num_params() + self.text_encoder.num_params();
        }
        let mut frozen = 0;
        if ft.freeze_feature_encoder {
            frozen += e.conv_layers.num_params();
        }
        if ft.freeze_feature_projection {
            frozen +=
                e.feature_projection_layer_norm.num_params() + e.feature_projection.num_params();
        }
        if ft.freeze_layers > 0 {
            frozen += e.pos_conv.num_params();
            if !e.stable_layer_norm {
                frozen += e.encoder_layer_norm.num_params();
            }
            frozen += e
                .layers
                .iter()
                .take(ft.freeze_layers)
                .map(|l| l.num_params())
                .sum::<usize>();
        }
        self.num_params() - frozen
    }

    /// Parameters that require gradients.
    pub fn trainable_params(&self) -> usize {
        struct Count(usize);
        impl burn::module::ModuleVisitor for Count {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if param.is_require_grad() {
                    self.0 += param.shape().num_elements();
                }
            }
        }
        let mut c = Count(0);
        self.visit(&mut c);
        c.0
    }

    /// Conv frames of `samples` input samples.
    pub fn frames_of(&self, samples: usize) -> usize {
        conv_frames(&self.conv_kernel, &self.conv_stride, samples)
    }

    /// Head input per frame and group: the last hidden state, the weighted sum of all of them,
    /// or one weighted sum per output.
    ///
    /// # Shapes
    /// - `states`: hidden states `[batch, frames, hidden]` each → `[groups, batch, frames, hidden]`
    fn head_input(&self, states: Vec<Tensor<3>>, last: Tensor<3>) -> Tensor<4> {
        match (&self.head.output_layer_weights, &self.head.layer_weights) {
            (Some(w), _) => {
                let [g, n] = w.dims();
                let w = softmax(w.val(), 1).reshape([g, n, 1, 1, 1]);
                let stacked = Tensor::stack::<4>(states, 0).unsqueeze_dim::<5>(0); // [1, n, b, t, d]
                let summed = (stacked * w).sum_dim(1); // [g, 1, b, t, d]
                let [_, _, b, t, d] = summed.dims();
                summed.reshape([g, b, t, d])
            }
            (None, Some(w)) => {
                let n = states.len();
                let w = softmax(w.val(), 0);
                let stacked = Tensor::stack::<4>(states, 0); // [n, b, t, d]
                (stacked * w.reshape([n, 1, 1, 1])).sum_dim(0)
            }
            (None, None) => last.unsqueeze_dim(0),
        }
    }

    /// Projected frames summed over valid frames `[groups, batch, proj]`, and their maximum over
    /// valid frames where the head pools the maximum too.
    ///
    /// # Shapes
    /// - `x`: `[batch, samples]` normalised per utterance where the checkpoint asks for it,
    ///   zero-padded; `valid_frames`: real frames per item
    pub fn pooled_parts(
        &self,
        x: Tensor<2>,
        valid_frames: &[usize],
        augment: Option<TrainAugment>,
    ) -> (Tensor<3>, Option<Tensor<3>>) {
        let device = x.device();
        let [b, l] = x.dims();
        let t = self.frames_of(l);
        let mut m = vec![0.0f32; b * t];
        for (row, &v) in valid_frames.iter().enumerate().take(b) {
            m[row * t..row * t + v.min(t)]
                .iter_mut()
                .for_each(|x| *x = 1.0);
        }
        let mask = Tensor::<2>::from_data(TensorData::new(m, [b, t]), &device);
        let all_states =
            self.head.layer_weights.is_some() || self.head.output_layer_weights.is_some();
        let (states, last) = self.encoder.forward_finetune(
            x,
            self.uses_attention_mask.then(|| mask.clone()),
            valid_frames,
            self.freeze_conv,
            augment,
            all_states,
        );
        let h = self.head.projector.forward(self.head_input(states, last)); // [g, b, t, p]
        let [g, _, _, p] = h.dims();
        let mask4 = mask.reshape([1, b, t, 1]);
        let max = self.head.hidden.is_some().then(|| {
            // Padding frames can never be the maximum.
            (h.clone() + mask4.clone().sub_scalar(1.0).mul_scalar(1e30))
                .max_dim(2)
                .reshape([g, b, p])
        });
        let sum = (h * mask4).sum_dim(2).reshape([g, b, p]);
        (sum, max)
    }

    /// The pooled features `[groups, batch, E]` from summed frames, counts and maxima.
    fn pooled(sum: Tensor<3>, frames: Tensor<3>, max: Option<Tensor<3>>) -> Tensor<3> {
        let mean = sum / frames;
        match max {
            Some(m) => Tensor::cat(vec![mean, m], 2),
            None => mean,
        }
    }

    /// Outputs of a padded batch (pooled over valid frames).
    ///
    /// # Shapes
    /// - `x`: `[batch, samples]` (prepared as for [`Self::pooled_parts`]) → `[batch, outputs]`
    pub fn forward_batch(
        &self,
        x: Tensor<2>,
        valid_frames: &[usize],
        text: &TextBatch,
        augment: Option<TrainAugment>,
    ) -> Tensor<2> {
        if self.head.multitask.is_some() {
            return self.forward_multitask(x, valid_frames, augment).ser;
        }
        let device = x.device();
        let b = valid_frames.len();
        let counts: Vec<f32> = valid_frames.iter().map(|&v| v.max(1) as f32).collect();
        let counts = Tensor::<3>::from_data(TensorData::new(counts, [1, b, 1]), &device);
        let (sum, max) = self.pooled_parts(x, valid_frames, augment);
        self.head
            .finish(Self::pooled(sum, counts, max), self.batch_text(text))
    }

    /// The pooled head input of raw (not yet normalised) utterances of equal length, encoded in
    /// chunks of at most `eval_chunk_samples`, flattened to `[batch, groups · E]`: each chunk's
    /// frames are summed (and their maximum kept) and the sum divided by all frames (the pooling
    /// is a mean and a max, so this equals one pass up to the missing context at chunk edges).
    ///
    /// # Shapes
    /// - `x`: `[batch, samples]` → `[batch, groups · E]`
    pub fn embed_chunked(&self, x: Tensor<2>) -> Tensor<2> {
        if let Some(mt) = &self.head.multitask {
            let (layers, mask) = self.layers_chunked(x);
            return mt.ser_input(&layers, mask).0;
        }
        let [b, l] = x.dims();
        let x = self.encoder.preprocess(x);
        let mut sum: Option<Tensor<3>> = None;
        let mut max: Option<Tensor<3>> = None;
        let mut frames = 0usize;
        for (start, len, f) in self.chunk_spans(l) {
            let (s, m) = self.pooled_parts(x.clone().narrow(1, start, len), &vec![f; b], None);
            sum = Some(match sum {
                Some(acc) => acc + s,
                None => s,
            });
            max = match (max, m) {
                (Some(acc), Some(m)) => Some(acc.max_pair(m)),
                (None, m) => m,
                (acc, None) => acc,
            };
            frames += f;
        }
        let g = self.head.groups();
        let p = self.head.projector.weight.dims()[1];
        let device = x.device();
        let sum = sum.unwrap_or_else(|| Tensor::zeros([g, b, p], &device));
        let counts = Tensor::<3>::ones([1, 1, 1], &device).mul_scalar(frames.max(1) as f32);
        let max = match (self.head.hidden.is_some(), max) {
            (true, None) => Some(Tensor::zeros([g, b, p], &device)),
            (_, m) => m,
        };
        let pooled = Self::pooled(sum, counts, max); // [g, b, E]
        let e = pooled.dims()[2];
        pooled.swap_dims(0, 1).reshape([b, g * e])
    }

    /// Outputs from an embedding of [`Self::embed_chunked`] (followed by the text vector when
    /// there is text: one group then).
    ///
    /// # Shapes
    /// - `emb`: `[batch, groups · E (+ T)]` → `[batch, outputs]`
    pub fn classify_embedding(&self, emb: Tensor<2>) -> Tensor<2> {
        if let Some(mt) = &self.head.multitask {
            return mt.classify(emb);
        }
        let [b, ge] = emb.dims();
        let g = self.head.groups();
        let pooled = emb.reshape([b, g, ge / g]).swap_dims(0, 1);
        self.head.finish(pooled, None)
    }

    /// The evaluation chunks of `samples` samples: (start, length, frames) of each chunk of at
    /// most `eval_chunk_samples` that gives frames; a short tail joins the previous chunk when
    /// it would give no frames of its own.
    fn chunk_spans(&self, samples: usize) -> Vec<(usize, usize, usize)> {
        let chunk = self.eval_chunk_samples.max(1);
        let mut spans = Vec::new();
        let mut start = 0;
        while start < samples {
            let mut len = chunk.min(samples - start);
            if self.frames_of(samples - start - len) == 0 {
                len = samples - start;
            }
            let f = self.frames_of(len);
            if f > 0 {
                spans.push((start, len, f));
            }
            start += len;
        }
        spans
    }

    /// The frame mask `[batch, frames]` of a padded batch of `samples` samples.
    fn frame_mask(&self, valid_frames: &[usize], samples: usize, device: &Device) -> Tensor<2> {
        let b = valid_frames.len();
        let t = self.frames_of(samples);
        let mut m = vec![0.0f32; b * t];
        for (row, &v) in valid_frames.iter().enumerate() {
            m[row * t..row * t + v.min(t)]
                .iter_mut()
                .for_each(|x| *x = 1.0);
        }
        Tensor::from_data(TensorData::new(m, [b, t]), device)
    }

    /// Every head of the multi-task model on a padded batch (prepared as for
    /// [`Self::pooled_parts`]); `None` without the multi-task head.
    ///
    /// # Shapes
    /// - `x`: `[batch, samples]` → SER `[batch, classes]`, auxiliary `[batch, classes_k]`, CTC
    ///   `[batch, frames, vocab]`
    pub fn forward_multitask(
        &self,
        x: Tensor<2>,
        valid_frames: &[usize],
        augment: Option<TrainAugment>,
    ) -> crate::model::multitask::MultiTaskOutput {
        let mt = self
            .head
            .multitask
            .as_ref()
            .expect("forward_multitask needs the multi-task head");
        let mask = self.frame_mask(valid_frames, x.dims()[1], &x.device());
        let (states, _) = self.encoder.forward_finetune(
            x,
            self.uses_attention_mask.then(|| mask.clone()),
            valid_frames,
            self.freeze_conv,
            augment,
            true,
        );
        // states[0] is the transformer's input; 1..=N the layers' outputs.
        mt.forward(&states[1..], mask)
    }

    /// Every transformer layer's output of raw (not yet normalised) utterances of equal length,
    /// encoded in chunks of at most `eval_chunk_samples` and joined along time, with the mask
    /// of their frames (all real).
    ///
    /// # Shapes
    /// - `x`: `[batch, samples]` → N × `[batch, frames, hidden]`, `[batch, frames]`
    pub fn layers_chunked(&self, x: Tensor<2>) -> (Vec<Tensor<3>>, Tensor<2>) {
        let [b, l] = x.dims();
        let device = x.device();
        let x = self.encoder.preprocess(x);
        let mut parts: Vec<Vec<Tensor<3>>> = Vec::new();
        for (start, len, f) in self.chunk_spans(l) {
            let ones = Tensor::<2>::ones([b, f], &device);
            let (states, _) = self.encoder.forward_finetune(
                x.clone().narrow(1, start, len),
                self.uses_attention_mask.then_some(ones),
                &vec![f; b],
                self.freeze_conv,
                None,
                true,
            );
            parts.push(states.into_iter().skip(1).collect());
        }
        let n = self.encoder.layers.len();
        let d = self.head.projector.weight.dims()[0];
        if parts.is_empty() {
            // Shorter than one frame: a single zero frame.
            return (
                vec![Tensor::zeros([b, 1, d], &device); n],
                Tensor::ones([b, 1], &device),
            );
        }
        let layers: Vec<Tensor<3>> = (0..n)
            .map(|k| Tensor::cat(parts.iter().map(|p| p[k].clone()).collect(), 1))
            .collect();
        let t = layers[0].dims()[1];
        (layers, Tensor::ones([b, t], &device))
    }

    /// Every head of the multi-task model on raw utterances of equal length (chunked as
    /// [`Self::layers_chunked`]).
    pub fn multitask_chunked(&self, x: Tensor<2>) -> crate::model::multitask::MultiTaskOutput {
        let mt = self
            .head
            .multitask
            .as_ref()
            .expect("multitask_chunked needs the multi-task head");
        let (layers, mask) = self.layers_chunked(x);
        mt.forward(&layers, mask)
    }

    /// Outputs of raw utterances of equal length (evaluation and prediction).
    pub fn forward_chunked(&self, x: Tensor<2>, text: &TextBatch) -> Tensor<2> {
        let emb = self.embed_chunked(x);
        let emb = match self.batch_text(text) {
            Some(t) => Tensor::cat(vec![emb, t], 1),
            None => emb,
        };
        self.classify_embedding(emb)
    }
}
