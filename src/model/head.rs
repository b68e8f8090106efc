//! Classifier head of the LogMel–HuBERT paper: FC → ReLU → Dropout → FC → ReLU → Dropout → FC
//! (tanh instead of ReLU for the distilled audio-textual paper's regression head).

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, tanh};
use serde::{Deserialize, Serialize};

/// Configuration of [`MlpHead`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MlpHeadConfig {
    /// Widths of the two hidden layers.
    pub hidden: [usize; 2],
    /// Dropout after each hidden layer.
    pub dropout: f64,
    /// Activation of the hidden layers.
    pub activation: Activation,
}

/// Activation of the head's hidden layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// ReLU.
    #[default]
    Relu,
    /// tanh.
    Tanh,
}

impl Default for MlpHeadConfig {
    fn default() -> Self {
        Self {
            hidden: [128, 64],
            dropout: 0.3,
            activation: Activation::Relu,
        }
    }
}

impl MlpHeadConfig {
    /// Checks the widths and dropout.
    pub fn validate(&self) -> Result<(), String> {
        if self.hidden.contains(&0) {
            return Err(format!(
                "head: hidden widths must be ≥ 1, got {:?}",
                self.hidden
            ));
        }
        super::check_dropout("head: dropout", self.dropout)
    }

    /// Builds the head for `d_in` inputs and `n_classes` outputs.
    pub fn init(&self, d_in: usize, n_classes: usize, device: &Device) -> MlpHead {
        MlpHead {
            fc1: LinearConfig::new(d_in, self.hidden[0]).init(device),
            fc2: LinearConfig::new(self.hidden[0], self.hidden[1]).init(device),
            out: LinearConfig::new(self.hidden[1], n_classes).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            tanh: self.activation == Activation::Tanh,
        }
    }
}

/// Three-layer MLP classifier.
#[derive(Module, Debug)]
pub struct MlpHead {
    fc1: Linear,
    fc2: Linear,
    out: Linear,
    dropout: Dropout,
    tanh: bool,
}

impl MlpHead {
    /// # Shapes
    /// - `x`: `[batch, d_in]` → logits `[batch, classes]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward_hidden(x).0
    }

    /// Logits and the two hidden activations (after ReLU, before dropout).
    pub fn forward_hidden(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let act = |t: Tensor<2>| if self.tanh { tanh(t) } else { relu(t) };
        let h1 = act(self.fc1.forward(x));
        let h2 = act(self
            .fc2
            .forward(super::ops::dropout(&self.dropout, h1.clone())));
        let logits = self
            .out
            .forward(super::ops::dropout(&self.dropout, h2.clone()));
        (logits, h1, h2)
    }
}
