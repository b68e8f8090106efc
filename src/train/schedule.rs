//! Learning-rate schedules, as multipliers of the base rate per optimiser step (the formulas of
//! transformers' `get_linear_schedule_with_warmup` / `get_cosine_schedule_with_warmup` and
//! PyTorch's `StepLR`). Step `s` counts the optimiser steps already taken (0 for the first), so
//! with warm-up the first step's rate is 0, as in transformers.

use serde::{Deserialize, Serialize};

/// A learning-rate schedule of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum LrSchedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Linear warm-up from 0, then linear decay to 0 at the last step.
    WarmupLinear(Warmup),
    /// Linear warm-up from 0, then half a cosine down to 0 at the last step.
    WarmupCosine(Warmup),
    /// The rate times `gamma` every `every_epochs` epochs.
    Step {
        /// Epochs between decays.
        every_epochs: usize,
        /// Factor per decay.
        gamma: f64,
    },
}

/// Warm-up length: `steps` when given, else `ratio` of all optimiser steps (rounded up, as
/// transformers' `warmup_ratio`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Warmup {
    /// Warm-up steps (overrides `ratio`).
    pub steps: Option<usize>,
    /// Share of all steps.
    pub ratio: f64,
}

impl Default for Warmup {
    fn default() -> Self {
        Self {
            steps: None,
            ratio: 0.1,
        }
    }
}

impl Warmup {
    fn steps_of(&self, total: usize) -> usize {
        self.steps
            .unwrap_or_else(|| (self.ratio * total as f64).ceil() as usize)
    }
}

impl LrSchedule {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            LrSchedule::Constant => Ok(()),
            LrSchedule::WarmupLinear(w) | LrSchedule::WarmupCosine(w) => {
                if (0.0..=1.0).contains(&w.ratio) {
                    Ok(())
                } else {
                    Err(format!(
                        "lr_schedule warm-up ratio must be in [0, 1], got {}",
                        w.ratio
                    ))
                }
            }
            LrSchedule::Step {
                every_epochs,
                gamma,
            } => {
                if *every_epochs == 0 || gamma.is_nan() || *gamma <= 0.0 {
                    Err(format!(
                        "lr_schedule Step needs every_epochs ≥ 1 and gamma > 0, got {every_epochs} and {gamma}"
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Multiplier of the base rate at optimiser step `step` (0-based) of `total`, in epoch
    /// `epoch` (1-based).
    pub fn factor(&self, step: usize, total: usize, epoch: usize) -> f64 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::WarmupLinear(w) => {
                let warm = w.steps_of(total);
                if step < warm {
                    step as f64 / warm.max(1) as f64
                } else {
                    ((total as f64 - step as f64) / (total.saturating_sub(warm)).max(1) as f64)
                        .max(0.0)
                }
            }
            LrSchedule::WarmupCosine(w) => {
                let warm = w.steps_of(total);
                if step < warm {
                    step as f64 / warm.max(1) as f64
                } else {
                    let p = (step - warm) as f64 / (total.saturating_sub(warm)).max(1) as f64;
                    (0.5 * (1.0 + (std::f64::consts::PI * p).cos())).max(0.0)
                }
            }
            LrSchedule::Step {
                every_epochs,
                gamma,
            } => gamma.powi((epoch.saturating_sub(1) / (*every_epochs).max(1)) as i32),
        }
    }

    /// Short description for logs.
    pub fn describe(&self) -> String {
        match self {
            LrSchedule::Constant => "constant".into(),
            LrSchedule::WarmupLinear(w) => {
                format!("linear warm-up ({}) then linear decay", warm_text(w))
            }
            LrSchedule::WarmupCosine(w) => {
                format!("linear warm-up ({}) then cosine decay", warm_text(w))
            }
            LrSchedule::Step {
                every_epochs,
                gamma,
            } => format!("×{gamma} every {every_epochs} epochs"),
        }
    }
}

fn warm_text(w: &Warmup) -> String {
    match w.steps {
        Some(s) => format!("{s} steps"),
        None => format!("{:.0}% of steps", w.ratio * 100.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand values of transformers' formulas: 10 steps, 2 warm-up steps.
    #[test]
    fn warmup_linear_and_cosine_match_hand_values() {
        let w = Warmup {
            steps: Some(2),
            ratio: 0.0,
        };
        let lin = LrSchedule::WarmupLinear(w.clone());
        let got: Vec<f64> = (0..10).map(|s| lin.factor(s, 10, 1)).collect();
        let want = [0.0, 0.5, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125];
        for (g, e) in got.iter().zip(want) {
            assert!((g - e).abs() < 1e-12, "{got:?}");
        }
        let cos = LrSchedule::WarmupCosine(w);
        // step 6: progress (6-2)/8 = 0.5 → 0.5·(1 + cos(π/2)) = 0.5
        assert!((cos.factor(6, 10, 1) - 0.5).abs() < 1e-12);
        // step 4: progress 0.25 → 0.5·(1 + cos(π/4)) = 0.853553…
        assert!((cos.factor(4, 10, 1) - 0.853_553_390_593_273_8).abs() < 1e-12);
        assert_eq!(cos.factor(1, 10, 1), 0.5);
    }

    #[test]
    fn warmup_ratio_rounds_up_and_step_decay_counts_epochs() {
        let lin = LrSchedule::WarmupLinear(Warmup {
            steps: None,
            ratio: 0.1,
        });
        // 25 steps · 0.1 = 2.5 → 3 warm-up steps.
        assert!((lin.factor(1, 25, 1) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(lin.factor(3, 25, 1), 1.0);
        let step = LrSchedule::Step {
            every_epochs: 2,
            gamma: 0.5,
        };
        let f: Vec<f64> = (1..=5).map(|e| step.factor(0, 1, e)).collect();
        assert_eq!(f, vec![1.0, 1.0, 0.5, 0.5, 0.25]);
        assert_eq!(LrSchedule::Constant.factor(7, 10, 3), 1.0);
        assert!(
            LrSchedule::Step {
                every_epochs: 0,
                gamma: 0.5
            }
            .validate()
            .is_err()
        );
    }
}
