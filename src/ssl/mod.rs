//! Self-supervised speech encoders in burn: the wav2vec2 family (HuBERT, DistilHuBERT, WavLM,
//! wav2vec2-base, and the stable-layer-norm large variants) from HuggingFace checkpoints, with
//! every hidden state as output. Follows transformers' `modeling_hubert.py` /
//! `modeling_wav2vec2.py`; field names mirror the checkpoint keys.

pub mod classifier;
pub mod config;
pub mod conv;
pub mod extract;
pub mod host;
pub mod hub;
pub mod stream;
pub mod wav2vec2;
pub mod wavlm;
pub mod weights;

pub use config::{EncoderConfig, FeatExtractNorm};
pub use wav2vec2::{EncoderOutput, Wav2Vec2Encoder};
pub use weights::{LoadReport, load_encoder};
