//! The multi-task head of the metadata paper ("Metadata-Enhanced Speech Emotion Recognition:
//! Augmented Residual Integration and Co-Attention in Two-Stage Fine-Tuning"): it reads the
//! outputs of an SSL encoder's transformer layers and predicts emotion together with
//! auxiliary metadata tasks (gender, speaker, style, … and characters through CTC).
//!
//! The exact forms (the paper gives no equations; docs/design.md, "Multi-task fine-tuning",
//! says why each was chosen):
//! - **ARI** (augmented residual integration): `y = h_N + Σ_{i<N} softmax_i(W)[i, c] · h_i`
//!   with a learned matrix `W: [N − 1, d]` (the paper's "weighted matrix": one weight per lower
//!   layer and channel, softmax over the layers, zero at start = the mean of the lower layers).
//!   The ablation `WeightedSum` is s3prl's `Σ_{i≤N} softmax(w)_i · h_i` with `w: [N]`; `Last`
//!   uses `h_N` alone.
//! - **Auxiliary heads**: `a_k = relu(hidden_k(p))`, `logits_k = output_k(a_k)` on the masked
//!   mean `p` of `y` over frames; the CTC head works per frame, `z_t = relu(hidden(y_t))`,
//!   `logits_t = output(z_t)`, and offers the masked mean of `z` as its hidden state.
//! - **Co-attention**: each frame of `y` queries the tasks' hidden states
//!   `A = [a_1 … a_K]`: `α = softmax_k(query(y) · key(A)ᵀ / √h)`, and the emotion features are
//!   re-weighted by a gate from what they attended, `ẽ = y ⊙ σ(α · value(A))`.
//! - **SER classifier**: masked mean of `ẽ`, concatenated with `A`, → FC → ReLU → dropout → FC
//!   (the paper's "mean pooling + two FC with dropout"); without co-attention the classifier
//!   reads `p` alone.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid, softmax};
use serde::{Deserialize, Serialize};

/// How the transformer layers' outputs become the features of every head.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayerIntegration {
    /// ARI: the last layer plus a channel-wise softmax-weighted mix of the lower layers.
    #[default]
    Ari,
    /// s3prl's weighted sum of all layers (one scalar weight per layer): the paper's ablation.
    WeightedSum,
    /// The last layer alone.
    Last,
}

/// One auxiliary task of a multi-task preset and the weight of its loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuxTask {
    /// A task `inspect` lists: `gender`, `speaker`, `style`, `intensity`, a CSV column, or
    /// `asr` (character CTC on the transcripts).
    pub task: String,
    /// Weight of its loss in the sum.
    pub weight: f32,
}

/// The two fine-tuning stages of the metadata paper.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TwoStage {
    /// Epochs of stage 1 (the auxiliary losses alone, every transformer layer trainable); the
    /// run's remaining epochs are stage 2 (SER plus the auxiliary losses).
    pub stage1_epochs: usize,
    /// Transformer layers frozen (with the CNN) in stage 2.
    pub stage2_freeze_layers: usize,
}

impl Default for TwoStage {
    fn default() -> Self {
        Self {
            stage1_epochs: 1,
            stage2_freeze_layers: 4,
        }
    }
}

/// The classes a fold's auxiliary tasks were given (from its training part only): the value
/// names of each classification task, or the characters of the CTC vocabulary (after the
/// blank) for `asr`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FoldTasks {
    /// Per task (in the preset's order), its class names or characters.
    pub classes: Vec<Vec<String>>,
}

/// What a multi-task fine-tuning preset asks for (the metadata paper's method; its ablations
/// switch `integration`, `co_attention`, `tasks` and `stages`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MultiTaskSpec {
    /// Auxiliary tasks with their loss weights.
    pub tasks: Vec<AuxTask>,
    /// Weight of the SER loss (stage 2, or the single stage).
    pub ser_weight: f32,
    /// Layer integration (ARI, or the ablations).
    pub integration: LayerIntegration,
    /// Co-attention between the emotion features and the tasks' hidden states.
    pub co_attention: bool,
    /// Hidden width of each auxiliary head and of the co-attention.
    pub hidden: usize,
    /// Hidden width of the SER classifier.
    pub ser_hidden: usize,
    /// Dropout of the SER classifier.
    pub dropout: f64,
    /// Two-stage fine-tuning (`None`: one stage, SER plus auxiliary losses throughout).
    pub stages: Option<TwoStage>,
    /// Per fold, the classes of each task: filled in when a run starts so that the run folder
    /// alone rebuilds every fold's model (leave empty in presets).
    pub fold_tasks: Vec<FoldTasks>,
    /// The fold whose classes [`Self::head_config`] builds (set before building a fold model).
    #[serde(skip)]
    pub fold: usize,
}

impl Default for MultiTaskSpec {
    fn default() -> Self {
        Self {
            tasks: Vec::new(),
            ser_weight: 1.0,
            integration: LayerIntegration::Ari,
            co_attention: true,
            hidden: 256,
            ser_hidden: 256,
            dropout: 0.1,
            stages: None,
            fold_tasks: Vec::new(),
            fold: 0,
        }
    }
}

impl MultiTaskSpec {
    /// Checks the settings; every problem names the field.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for t in &self.tasks {
            if t.task.trim().is_empty() || t.task == "emotion" {
                return Err(format!(
                    "multi-task: {:?} is not an auxiliary task (emotion is the main task)",
                    t.task
                ));
            }
            if !seen.insert(t.task.as_str()) {
                return Err(format!("multi-task: task {:?} is listed twice", t.task));
            }
            if !(t.weight.is_finite() && t.weight >= 0.0) {
                return Err(format!(
                    "multi-task: the weight of {:?} must be finite and ≥ 0, got {}",
                    t.task, t.weight
                ));
            }
        }
        if !(self.ser_weight.is_finite() && self.ser_weight >= 0.0) {
            return Err(format!(
                "multi-task: ser_weight must be finite and ≥ 0, got {}",
                self.ser_weight
            ));
        }
        if self.hidden == 0 || self.ser_hidden == 0 {
            return Err("multi-task: hidden and ser_hidden must be ≥ 1".into());
        }
        if self.co_attention && self.tasks.is_empty() {
            return Err("multi-task: co-attention needs at least one auxiliary task".into());
        }
        if self.stages.is_some() && self.tasks.is_empty() {
            return Err(
                "multi-task: stage 1 trains the auxiliary tasks alone; list at least one task"
                    .into(),
            );
        }
        super::check_dropout("multi-task: dropout", self.dropout)
    }

    /// Index of the `asr` task, if listed.
    pub fn asr_index(&self) -> Option<usize> {
        self.tasks.iter().position(|t| t.task == "asr")
    }

    /// The head of fold [`Self::fold`] on `layers` transformer layers of width `dim`. Without
    /// resolved fold classes each task gets 2 classes (an architecture for loading into).
    pub fn head_config(&self, layers: usize, dim: usize, classes: usize) -> MultiTaskHeadConfig {
        let fold = self.fold_tasks.get(self.fold);
        let count = |k: usize| fold.and_then(|f| f.classes.get(k)).map_or(2, Vec::len);
        let asr = self.asr_index();
        MultiTaskHeadConfig {
            layers,
            dim,
            hidden: self.hidden,
            ser_hidden: self.ser_hidden,
            classes,
            aux_classes: (0..self.tasks.len())
                .filter(|&k| Some(k) != asr)
                .map(|k| count(k).max(2))
                .collect(),
            // The vocabulary: its characters plus the blank.
            ctc_vocab: asr.map(|k| count(k) + 1),
            integration: self.integration,
            co_attention: self.co_attention,
            dropout: self.dropout,
        }
    }

    /// One line for logs.
    pub fn describe(&self) -> String {
        let tasks: Vec<String> = self
            .tasks
            .iter()
            .map(|t| format!("{} × {}", t.task, t.weight))
            .collect();
        format!(
            "SER × {} + [{}], {:?} integration, co-attention {}, {}",
            self.ser_weight,
            tasks.join(", "),
            self.integration,
            if self.co_attention { "on" } else { "off" },
            match &self.stages {
                Some(s) => format!(
                    "two stages (stage 1: {} epochs of auxiliary losses; stage 2: CNN + first {} layers frozen)",
                    s.stage1_epochs, s.stage2_freeze_layers
                ),
                None => "one stage".into(),
            }
        )
    }
}

/// Configuration of [`MultiTaskHead`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultiTaskHeadConfig {
    /// Transformer layers whose outputs are integrated (`N`).
    pub layers: usize,
    /// Width of the layers' outputs.
    pub dim: usize,
    /// Width of every auxiliary head's hidden state (`h`).
    pub hidden: usize,
    /// Hidden width of the SER classifier.
    pub ser_hidden: usize,
    /// Emotion classes.
    pub classes: usize,
    /// Classes of each auxiliary classification head, in task order.
    pub aux_classes: Vec<usize>,
    /// CTC head: its vocabulary size (characters + blank).
    pub ctc_vocab: Option<usize>,
    /// Layer integration.
    pub integration: LayerIntegration,
    /// Co-attention between the emotion features and the tasks' hidden states.
    pub co_attention: bool,
    /// Dropout of the SER classifier.
    pub dropout: f64,
}

impl MultiTaskHeadConfig {
    /// Checks the widths.
    pub fn validate(&self) -> Result<(), String> {
        if self.layers == 0 || self.dim == 0 || self.hidden == 0 || self.ser_hidden == 0 {
            return Err("multi-task head: layers, dim, hidden and ser_hidden must be ≥ 1".into());
        }
        if self.aux_classes.iter().any(|&c| c < 2) || self.ctc_vocab.is_some_and(|v| v < 2) {
            return Err("multi-task head: every auxiliary task needs ≥ 2 classes".into());
        }
        if self.co_attention && self.aux_classes.is_empty() && self.ctc_vocab.is_none() {
            return Err("multi-task head: co-attention needs at least one auxiliary task".into());
        }
        super::check_dropout("multi-task head: dropout", self.dropout)
    }

    fn tasks(&self) -> usize {
        self.aux_classes.len() + usize::from(self.ctc_vocab.is_some())
    }

    /// Builds the head (integration weights at zero: equal weights).
    pub fn init(&self, device: &Device) -> MultiTaskHead {
        let (d, h) = (self.dim, self.hidden);
        let ari_weights = match self.integration {
            LayerIntegration::Ari => Some(Param::from_tensor(Tensor::zeros(
                [self.layers.saturating_sub(1).max(1), d],
                device,
            ))),
            LayerIntegration::WeightedSum => {
                Some(Param::from_tensor(Tensor::zeros([self.layers, 1], device)))
            }
            LayerIntegration::Last => None,
        };
        let ser_in = if self.co_attention {
            d + self.tasks() * h
        } else {
            d
        };
        MultiTaskHead {
            ari_weights,
            aux: self
                .aux_classes
                .iter()
                .map(|&c| AuxHead {
                    hidden: LinearConfig::new(d, h).init(device),
                    output: LinearConfig::new(h, c).init(device),
                })
                .collect(),
            ctc: self.ctc_vocab.map(|v| AuxHead {
                hidden: LinearConfig::new(d, h).init(device),
                output: LinearConfig::new(h, v).init(device),
            }),
            co: self.co_attention.then(|| CoAttention {
                query: LinearConfig::new(d, h).init(device),
                key: LinearConfig::new(h, h).init(device),
                value: LinearConfig::new(h, d).init(device),
            }),
            fc1: LinearConfig::new(ser_in, self.ser_hidden).init(device),
            fc2: LinearConfig::new(self.ser_hidden, self.classes).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            integration: self.integration,
        }
    }
}

/// One auxiliary head: hidden layer (its ReLU output is the task's hidden state) → logits.
#[derive(Module, Debug)]
pub struct AuxHead {
    /// Features → hidden state.
    pub hidden: Linear,
    /// Hidden state → logits.
    pub output: Linear,
}

/// Co-attention projections.
#[derive(Module, Debug)]
pub struct CoAttention {
    /// Emotion frames → queries.
    pub query: Linear,
    /// Task hidden states → keys.
    pub key: Linear,
    /// Task hidden states → values (feature width, for the gate).
    pub value: Linear,
}

/// ARI, auxiliary heads, co-attention and the SER classifier.
#[derive(Module, Debug)]
pub struct MultiTaskHead {
    /// Integration logits: `[N − 1, d]` (ARI) or `[N, 1]` (weighted sum).
    pub ari_weights: Option<Param<Tensor<2>>>,
    /// Auxiliary classification heads, in task order.
    pub aux: Vec<AuxHead>,
    /// The per-frame CTC head.
    pub ctc: Option<AuxHead>,
    /// Co-attention (absent in the ablation).
    pub co: Option<CoAttention>,
    /// SER classifier, first layer.
    pub fc1: Linear,
    /// SER classifier, output layer.
    pub fc2: Linear,
    /// Dropout between them.
    pub dropout: Dropout,
    /// How the layers are integrated.
    #[module(skip)]
    pub integration: LayerIntegration,
}

/// What one pass of [`MultiTaskHead`] gives.
#[derive(Debug)]
pub struct MultiTaskOutput {
    /// Emotion logits `[batch, classes]`.
    pub ser: Tensor<2>,
    /// Logits of each auxiliary classification task `[batch, classes_k]`.
    pub aux: Vec<Tensor<2>>,
    /// CTC logits per frame `[batch, frames, vocab]` (not log-softmaxed).
    pub ctc: Option<Tensor<3>>,
    /// The integrated features `[batch, frames, dim]`.
    pub features: Tensor<3>,
}

/// Mean over the frames where `mask` is 1.
///
/// # Shapes
/// - `x`: `[batch, frames, dim]`, `mask`: `[batch, frames]` → `[batch, dim]`
fn masked_mean(x: Tensor<3>, mask: &Tensor<2>) -> Tensor<2> {
    let [b, t, _] = x.dims();
    let m = mask.clone().reshape([b, t, 1]);
    let n = m.clone().sum_dim(1).clamp_min(1.0); // [b, 1, 1]
    let [_, _, d] = x.dims();
    (x * m).sum_dim(1).div(n).reshape([b, d])
}

impl MultiTaskHead {
    /// The integrated features of the layers' outputs (`layers` in order, the last one last).
    ///
    /// # Shapes
    /// - each of `layers`: `[batch, frames, dim]` → `[batch, frames, dim]`
    pub fn integrate(&self, layers: &[Tensor<3>]) -> Tensor<3> {
        let n = layers.len();
        let last = layers[n - 1].clone();
        match (&self.ari_weights, self.integration) {
            (Some(w), LayerIntegration::Ari) if n > 1 => {
                let [_, d] = w.dims();
                let w = softmax(w.val(), 0); // [N − 1, d]
                let mut y = last;
                for (i, h) in layers[..n - 1].iter().enumerate() {
                    y = y + h.clone() * w.clone().narrow(0, i, 1).reshape([1, 1, d]);
                }
                y
            }
            (Some(w), LayerIntegration::WeightedSum) => {
                let w = softmax(w.val().reshape([n]), 0);
                let mut y: Option<Tensor<3>> = None;
                for (i, h) in layers.iter().enumerate() {
                    let term = h.clone() * w.clone().narrow(0, i, 1).reshape([1, 1, 1]);
                    y = Some(match y {
                        Some(acc) => acc + term,
                        None => term,
                    });
                }
                y.expect("at least one layer")
            }
            _ => last,
        }
    }

    /// The learned layer weights: ARI `[N − 1][d]` rows (each channel's softmax over the lower
    /// layers), weighted sum one row of `N`; `None` for `Last`.
    pub fn layer_weights(&self) -> Option<Vec<Vec<f32>>> {
        let w = self.ari_weights.as_ref()?;
        let [rows, cols] = w.dims();
        let v = crate::tensor::read_f32(match self.integration {
            LayerIntegration::WeightedSum => softmax(w.val().reshape([1, rows]), 1),
            _ => softmax(w.val(), 0),
        });
        Some(match self.integration {
            LayerIntegration::WeightedSum => vec![v],
            _ => v.chunks(cols).map(<[f32]>::to_vec).collect(),
        })
    }

    /// Every head on the layers' outputs; `mask` is 1 on frames holding audio.
    ///
    /// # Shapes
    /// - each of `layers`: `[batch, frames, dim]`; `mask`: `[batch, frames]`
    pub fn forward(&self, layers: &[Tensor<3>], mask: Tensor<2>) -> MultiTaskOutput {
        let (ser_in, mut out) = self.ser_input(layers, mask);
        out.ser = self.classify(ser_in);
        out
    }

    /// The SER classifier on its input (see [`Self::ser_input`]).
    ///
    /// # Shapes
    /// - `ser_in`: `[batch, dim (+ tasks · hidden)]` → `[batch, classes]`
    pub fn classify(&self, ser_in: Tensor<2>) -> Tensor<2> {
        self.fc2.forward(super::ops::dropout(
            &self.dropout,
            relu(self.fc1.forward(ser_in)),
        ))
    }

    /// Width of the SER classifier's input.
    pub fn ser_input_width(&self) -> usize {
        self.fc1.weight.dims()[0]
    }

    /// The SER classifier's input (the utterance embedding) and every auxiliary output; the
    /// returned output's `ser` is empty until [`Self::classify`] fills it.
    ///
    /// # Shapes
    /// - each of `layers`: `[batch, frames, dim]`; `mask`: `[batch, frames]` →
    ///   `[batch, dim (+ tasks · hidden)]`
    pub fn ser_input(&self, layers: &[Tensor<3>], mask: Tensor<2>) -> (Tensor<2>, MultiTaskOutput) {
        let y = self.integrate(layers);
        let pooled = masked_mean(y.clone(), &mask);
        let mut hiddens = Vec::new();
        let mut aux = Vec::new();
        for head in &self.aux {
            let a = relu(head.hidden.forward(pooled.clone()));
            aux.push(head.output.forward(a.clone()));
            hiddens.push(a);
        }
        let ctc = self.ctc.as_ref().map(|head| {
            let z = relu(head.hidden.forward(y.clone()));
            hiddens.push(masked_mean(z.clone(), &mask));
            head.output.forward(z)
        });
        let ser_in = match &self.co {
            Some(co) => {
                let h = hiddens[0].dims()[1];
                let a = Tensor::stack::<3>(hiddens.clone(), 1); // [b, K, h]
                let q = co.query.forward(y.clone()); // [b, t, h]
                let keys = co.key.forward(a.clone()); // [b, K, h]
                let alpha = softmax(
                    q.matmul(keys.swap_dims(1, 2)).div_scalar((h as f32).sqrt()),
                    2,
                ); // [b, t, K]
                let gate = sigmoid(alpha.matmul(co.value.forward(a))); // [b, t, d]
                let e = y.clone() * gate;
                let mut parts = vec![masked_mean(e, &mask)];
                parts.extend(hiddens);
                Tensor::cat(parts, 1)
            }
            None => pooled,
        };
        let b = ser_in.dims()[0];
        let device = ser_in.device();
        (
            ser_in,
            MultiTaskOutput {
                ser: Tensor::zeros([b, 0], &device),
                aux,
                ctc,
                features: y,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(integration: LayerIntegration) -> MultiTaskHeadConfig {
        MultiTaskHeadConfig {
            layers: 5,
            dim: 3,
            hidden: 2,
            ser_hidden: 4,
            classes: 4,
            aux_classes: vec![2],
            ctc_vocab: None,
            integration,
            co_attention: true,
            dropout: 0.0,
        }
    }

    /// At start ARI adds the plain mean of the lower layers to the last one (equal weights),
    /// and the padding frames do not move the pooled features.
    #[test]
    fn ari_starts_as_last_plus_mean_of_lower_layers() {
        let device = Device::flex();
        let m = config(LayerIntegration::Ari).init(&device);
        let w = m.layer_weights().expect("weights");
        assert_eq!((w.len(), w[0].len()), (4, 3));
        assert!(w.iter().flatten().all(|v| (v - 0.25).abs() < 1e-6));
        let layers: Vec<Tensor<3>> = (0..5)
            .map(|i| Tensor::<3>::full([1, 2, 3], i as f32, &device))
            .collect();
        // 4 + mean(0, 1, 2, 3) = 5.5 everywhere.
        let y = crate::tensor::read_f32(m.integrate(&layers));
        assert!(y.iter().all(|v| (v - 5.5).abs() < 1e-6), "{y:?}");
        let x = Tensor::<3>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 100.0, 100.0, 100.0], [1, 2, 3]),
            &device,
        );
        let mask = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0], [1, 2]), &device);
        assert_eq!(
            crate::tensor::read_f32(masked_mean(x, &mask)),
            vec![1.0, 2.0, 3.0]
        );
        let ws = config(LayerIntegration::WeightedSum).init(&device);
        assert_eq!(ws.layer_weights().expect("weights"), vec![vec![0.2; 5]]);
        assert!(
            config(LayerIntegration::Last)
                .init(&device)
                .layer_weights()
                .is_none()
        );
        let mut bad = config(LayerIntegration::Ari);
        bad.aux_classes.clear();
        assert!(bad.validate().unwrap_err().contains("co-attention"));
    }
}
