//! Live prediction (docs/design.md, "Live"): 16 kHz samples from the microphone or a WAV file → sliding windows
//! (e.g. 2 s every 0.5 s) → energy gate → the run's feature pipeline and model → moving average of
//! the posteriors. The same path serves the GUI's Live panel and `ser-workbench live`.

pub mod stream;
pub mod worker;

pub use stream::{LiveConfig, LiveFrame, StreamingPredictor};
pub use worker::{LiveControl, LiveEvent, LiveHandle, LiveInput, spawn_live};
