//! The training engine: presets, the worker thread and its messages, the training loop, runs on
//! disk and prediction from a saved run.

pub mod ablation;
pub mod adapt;
pub mod augment;
pub mod backend;
pub mod control;
pub mod ctc;
pub mod data;
pub mod dim_report;
pub mod ensemble;
pub mod extract;
pub mod feature_weights;
pub mod finetune;
pub mod fit;
pub mod fold_record;
pub mod layer_profiles;
pub mod linear_fit;
pub mod messages;
pub mod ml_report;
pub mod multilabel;
pub mod multitask;
pub mod objective;
pub mod optim;
pub mod predict;
pub mod preset;
pub mod preset_edit;
pub mod probe;
pub mod run;
pub mod run_dir;
pub mod run_metrics;
pub mod runs;
pub mod schedule;
pub mod slurm;
pub mod spec_augment;
pub mod task;
pub mod worker;

pub use backend::{BackendChoice, BackendInfo};
pub use messages::{Control, EpochMetrics, Event, FoldScope, RunPlan, RunRequest, RunState};
pub use preset::{OptimizerKind, Preset, TrainingConfig};
pub use worker::{TrainHandle, spawn_training};
