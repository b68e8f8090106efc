//! SER Workbench: a desktop experiment workbench for speech emotion recognition.
//!
//! Layers (dependencies point down): `app` (egui) and `cli` use `train`; `train` uses `model`,
//! `features`, `corpus` and `eval`; `audio`, `corpus`, `features` and `eval` use neither burn
//! nor egui.

pub mod app;
pub mod audio;
pub mod blas;
pub mod cli;
pub mod corpus;
pub mod eval;
pub mod fastmath;
pub mod features;
pub mod fsutil;
pub mod live;
pub mod model;
pub mod paths;
pub mod rng;
pub mod ssl;
pub mod tensor;
pub mod text;
pub mod train;
