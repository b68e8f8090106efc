//! A linear classifier on one vector per utterance (the functionals stream, or SSL utterance
//! vectors flattened): logits = W·x + b. Its weights are not trained by gradient steps but
//! fitted by a convex solver (`train::linear_fit`: multinomial logistic regression or a
//! one-vs-rest linear SVM, through linfa) and then stored in this burn module, so that
//! checkpoints, prediction, the live view and reports work as for every other model
//! (docs/baselines.md).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// The solver that fits the weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinearSolver {
    /// Multinomial logistic regression with an L2 penalty (scikit-learn's
    /// `LogisticRegression(C=…)`: loss Σ −log p_y + ‖W‖²/(2C)), fitted by L-BFGS.
    LogisticRegression,
    /// One linear SVM per class against the rest (soft margin C, SMO), scores as logits.
    LinearSvm,
}

impl LinearSolver {
    /// Name for messages and tables.
    pub fn name(self) -> &'static str {
        match self {
            LinearSolver::LogisticRegression => "logistic regression (L2)",
            LinearSolver::LinearSvm => "linear SVM (one-vs-rest)",
        }
    }
}

/// Configuration of [`LinearClassifier`] and its solver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinearClassifierConfig {
    /// Solver.
    pub solver: LinearSolver,
    /// Inverse regularisation strengths C tried, in order; the one with the best validation
    /// figure (the preset's `select_by`) is kept. Without a validation part the first is used.
    pub c_grid: Vec<f64>,
    /// L-BFGS iterations at most (logistic regression; the SVM's SMO runs to its tolerance).
    pub max_iterations: u64,
}

impl Default for LinearClassifierConfig {
    fn default() -> Self {
        Self {
            solver: LinearSolver::LogisticRegression,
            c_grid: vec![0.01, 0.1, 1.0, 10.0],
            max_iterations: 300,
        }
    }
}

impl LinearClassifierConfig {
    /// Checks the grid and the iteration count.
    pub fn validate(&self) -> Result<(), String> {
        if self.c_grid.is_empty() {
            return Err("linear: c_grid needs at least one C".into());
        }
        if let Some(c) = self.c_grid.iter().find(|c| !(c.is_finite() && **c > 0.0)) {
            return Err(format!("linear: every C in c_grid must be > 0, got {c}"));
        }
        if self.max_iterations == 0 {
            return Err("linear: max_iterations must be ≥ 1".into());
        }
        Ok(())
    }

    /// The module for `[batch, frames, bins]` inputs (flattened) and `n_classes` outputs; the
    /// weights start at zero until the solver fills them.
    pub fn init(
        &self,
        frames: usize,
        bins: usize,
        n_classes: usize,
        device: &Device,
    ) -> LinearClassifier {
        LinearClassifier {
            linear: LinearConfig::new(frames * bins, n_classes)
                .with_initializer(burn::nn::Initializer::Zeros)
                .init(device),
        }
    }
}

/// logits = W·flatten(x) + b.
#[derive(Module, Debug)]
pub struct LinearClassifier {
    /// `weight`: `[inputs, classes]`, `bias`: `[classes]`.
    pub linear: Linear,
}

impl LinearClassifier {
    /// The flattened input.
    ///
    /// # Shapes
    /// - `x`: `[batch, frames, bins]` → `[batch, frames·bins]`
    pub fn embed(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, t, n] = x.dims();
        x.reshape([b, t * n])
    }

    /// Logits.
    ///
    /// # Shapes
    /// - `emb`: `[batch, inputs]` → `[batch, classes]`
    pub fn classify(&self, emb: Tensor<2>) -> Tensor<2> {
        self.linear.forward(emb)
    }

    /// The module with weights `w` (row-major `[inputs, classes]`) and bias `b` (`[classes]`).
    pub fn with_weights(mut self, w: &[f32], b: &[f32]) -> Self {
        let [inputs, classes] = self.linear.weight.dims();
        assert_eq!(w.len(), inputs * classes, "weight size");
        assert_eq!(b.len(), classes, "bias size");
        let device = self.linear.weight.device();
        self.linear.weight = burn::module::Param::from_tensor(Tensor::<2>::from_data(
            TensorData::new(w.to_vec(), [inputs, classes]),
            &device,
        ));
        self.linear.bias = Some(burn::module::Param::from_tensor(Tensor::<1>::from_data(
            TensorData::new(b.to_vec(), [classes]),
            &device,
        )));
        self
    }

    /// Weights `[inputs, classes]` row-major and bias.
    pub fn weights(&self) -> (Vec<f32>, Vec<f32>) {
        let w = self
            .linear
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let b = self
            .linear
            .bias
            .as_ref()
            .map(|b| b.val().into_data().try_to_vec::<f32>().unwrap_or_default())
            .unwrap_or_default();
        (w, b)
    }
}
