//! Feature configuration (part of every preset).

use serde::{Deserialize, Serialize};

/// Which stream feeds the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamKind {
    /// Log-mel spectrogram in dB.
    LogMel,
    /// MFCC (DCT-II ortho of the log-mel), optionally with deltas.
    Mfcc,
    /// Self-supervised encoder embeddings (HuBERT / wav2vec2), mean-pooled over time per hidden
    /// state: one `[layers, dim]` matrix per utterance (the "utterance vector" variants).
    Ssl,
    /// Log-mel and SSL frame embeddings side by side on the log-mel time axis: each frame is
    /// `[log-mel bins | SSL dim]`, the SSL frames linearly interpolated onto the log-mel frame
    /// centres (or the utterance-mean SSL vector repeated, see [`SslPooling`]). The input of the
    /// LogMel–HuBERT fusion models.
    #[serde(rename = "logmel_ssl")]
    LogMelSsl,
    /// The 16 kHz waveform itself (`[samples, 1]`), for models that fine-tune an SSL encoder
    /// end to end. Never cached: decoding is cheap next to the encoder.
    Waveform,
    /// SSL frame embeddings on the encoder's own time axis (50 per second for HuBERT and
    /// wav2vec2), the selected hidden states averaged per frame: `[frames, dim]` (SpeechMLC's
    /// HuBERT layer 6 with `ssl_layers: "6"`).
    #[serde(rename = "ssl_frames")]
    SslFrames,
    /// Acoustic functionals: one named vector per utterance (statistics of log-mel, MFCC,
    /// energy, zero-crossing rate and F0 over time; `features::functionals`), `[1, values]`.
    /// The input of the classic linear baselines.
    Functionals,
}

/// How the SSL part of the fused `logmel_ssl` stream is laid over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SslPooling {
    /// Frame embeddings (50 fps for HuBERT) interpolated onto the log-mel frames; the selected
    /// layers are averaged per frame.
    Frames,
    /// The utterance-mean vector repeated on every log-mel frame (the seed code's features).
    UtteranceMean,
}

impl std::str::FromStr for StreamKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "logmel" => Ok(StreamKind::LogMel),
            "mfcc" => Ok(StreamKind::Mfcc),
            "ssl" => Ok(StreamKind::Ssl),
            "logmel+ssl" | "logmel_ssl" => Ok(StreamKind::LogMelSsl),
            "waveform" => Ok(StreamKind::Waveform),
            "ssl_frames" | "ssl-frames" => Ok(StreamKind::SslFrames),
            "functionals" => Ok(StreamKind::Functionals),
            _ => Err(format!(
                "unknown stream '{s}' (known: logmel, mfcc, ssl, ssl_frames, logmel+ssl, waveform, functionals)"
            )),
        }
    }
}

/// Log-mel parameters with librosa's conventions. Defaults are the LogMel–HuBERT paper's code:
/// 16 kHz, n_fft 2048, hop 512, Hann, center with zero padding, power 2, 128 Slaney mel bands
/// with Slaney norm, fmin 0, fmax 8 kHz, `power_to_db` with top_db 80.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogMelConfig {
    /// Sample rate of the input (always 16 kHz after loading).
    pub sample_rate_hz: u32,
    /// FFT size = window length, samples.
    pub n_fft: usize,
    /// Hop between STFT frames, samples.
    pub hop_length_samples: usize,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest filter edge, Hz.
    pub fmin_hz: f32,
    /// Highest filter edge, Hz (`None` = Nyquist).
    pub fmax_hz: Option<f32>,
    /// Dynamic range below the utterance maximum kept by `power_to_db` (`None` = no clamp).
    pub top_db: Option<f32>,
}

impl Default for LogMelConfig {
    fn default() -> Self {
        Self {
            sample_rate_hz: 16_000,
            n_fft: 2048,
            hop_length_samples: 512,
            n_mels: 128,
            fmin_hz: 0.0,
            fmax_hz: Some(8000.0),
            top_db: Some(80.0),
        }
    }
}

impl LogMelConfig {
    /// The 25 ms / 10 ms preset (n_fft 400, hop 160) with `n_mels` bands.
    pub fn short_window(n_mels: usize) -> Self {
        Self {
            n_fft: 400,
            hop_length_samples: 160,
            n_mels,
            ..Self::default()
        }
    }

    /// STFT frames per second.
    pub fn frames_per_sec(&self) -> f64 {
        self.sample_rate_hz as f64 / self.hop_length_samples as f64
    }
}

/// Per-stream normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalisation {
    /// Raw values.
    None,
    /// Per-utterance mean and variance normalisation of every bin (CMVN).
    PerUtterance,
    /// Per-bin standardisation with mean/std fitted on the training part only.
    TrainingSet,
    /// Per-bin standardisation with each speaker's own mean/std, fitted on all of that
    /// speaker's utterances in the run: their audio, never their labels (speaker-level
    /// normalisation; it removes a voice's base pitch, loudness and timbre). Test speakers'
    /// statistics come from their own test audio, which a deployed system also has once it has
    /// heard a speaker for a while. Utterances without a speaker id, and prediction on new audio,
    /// use the training-set statistics instead (docs/baselines.md).
    PerSpeaker,
}

/// Everything that defines a feature stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureConfig {
    /// Stream kind.
    pub stream: StreamKind,
    /// Log-mel parameters (MFCC is computed from this log-mel).
    pub logmel: LogMelConfig,
    /// Number of MFCC coefficients.
    pub n_mfcc: usize,
    /// Append delta and delta-delta coefficients to MFCC.
    pub mfcc_deltas: bool,
    /// Normalisation.
    pub normalisation: Normalisation,
    /// Utterances are cropped (centre) or zero-padded to this many seconds for batching.
    pub max_secs: f32,
    /// SSL stream: model folder (HF `config.json` + `model.safetensors`).
    pub ssl_weights: Option<std::path::PathBuf>,
    /// SSL stream: hidden states to use: `all`, `last`, `N` or `a,b,c`.
    pub ssl_layers: String,
    /// Fused `logmel_ssl` stream: frame-aligned SSL embeddings or the repeated utterance mean.
    pub ssl_pooling: SslPooling,
    /// Functionals stream: F0 search, voicing and which descriptors are summarised (the
    /// log-mel and MFCC settings above apply too).
    pub functionals: super::functionals::FunctionalsConfig,
    /// Log-mel and MFCC streams: three prosody values appended to every frame (YIN F0 in
    /// semitones on voiced frames, the voicing flag, RMS energy in dB; the F0 search and
    /// voicing settings of `functionals` apply).
    pub prosody: bool,
    /// With `prosody`: the F0 column continuous — unvoiced frames take the F0 linearly
    /// interpolated between the voiced frames around them (held before the first and after
    /// the last; 0 when nothing is voiced) instead of 0, so statistics over it describe the
    /// pitch contour rather than the voicing pattern.
    pub prosody_continuous_f0: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            stream: StreamKind::LogMel,
            logmel: LogMelConfig::default(),
            n_mfcc: 20,
            mfcc_deltas: false,
            normalisation: Normalisation::TrainingSet,
            max_secs: 4.0,
            ssl_weights: None,
            ssl_layers: "all".into(),
            ssl_pooling: SslPooling::Frames,
            functionals: Default::default(),
            prosody: false,
            prosody_continuous_f0: false,
        }
    }
}

impl FeatureConfig {
    /// Leading log-mel bins of a two-stream (`logmel_ssl`) input.
    pub fn stream_split(&self) -> Option<usize> {
        (self.stream == StreamKind::LogMelSsl).then_some(self.logmel.n_mels)
    }

    /// Whether the stream needs an SSL encoder.
    pub fn uses_ssl(&self) -> bool {
        matches!(
            self.stream,
            StreamKind::Ssl | StreamKind::LogMelSsl | StreamKind::SslFrames
        )
    }

    /// The log-mel-only configuration behind a fused stream (same log-mel parameters).
    pub fn logmel_part(&self) -> FeatureConfig {
        FeatureConfig {
            stream: StreamKind::LogMel,
            ..self.clone()
        }
    }

    /// Bins per frame of a spectral stream (for SSL the encoder's width, known once loaded).
    pub fn n_bins(&self) -> usize {
        match self.stream {
            StreamKind::LogMel => self.logmel.n_mels + self.prosody_bins(),
            StreamKind::Mfcc => {
                self.n_mfcc * if self.mfcc_deltas { 3 } else { 1 } + self.prosody_bins()
            }
            StreamKind::Ssl | StreamKind::LogMelSsl | StreamKind::SslFrames => 0,
            StreamKind::Waveform => 1,
            StreamKind::Functionals => super::functionals::names(self).len(),
        }
    }

    /// Prosody values appended to each frame (0 or 3).
    pub fn prosody_bins(&self) -> usize {
        if self.prosody && matches!(self.stream, StreamKind::LogMel | StreamKind::Mfcc) {
            super::functionals::PROSODY_NAMES.len()
        } else {
            0
        }
    }

    /// Frames per utterance after crop/pad (samples for the waveform stream).
    pub fn max_frames(&self) -> usize {
        let rate = match self.stream {
            StreamKind::Waveform => 16_000.0,
            // The conv feature encoders of HuBERT / wav2vec2 / WavLM stride 320 samples.
            StreamKind::SslFrames => 50.0,
            // One vector per utterance.
            StreamKind::Functionals => return 1,
            _ => self.logmel.frames_per_sec(),
        };
        ((self.max_secs as f64 * rate).ceil() as usize).max(1)
    }

    /// Stable text that identifies the extractor and all its parameters (cache key). The
    /// normalisation and crop length are applied after the cache and are excluded.
    pub fn extractor_key(&self) -> String {
        let l = &self.logmel;
        let base = format!(
            "logmel-v1 sr={} n_fft={} hop={} n_mels={} fmin={} fmax={:?} top_db={:?} window=hann center=zeros power=2 mel=slaney norm=slaney",
            l.sample_rate_hz,
            l.n_fft,
            l.hop_length_samples,
            l.n_mels,
            l.fmin_hz,
            l.fmax_hz,
            l.top_db
        );
        let prosody = if self.prosody_bins() > 0 {
            let f = &self.functionals;
            format!(
                " + prosody-v1 f0=[{},{}] yin_frame={} yin_threshold={} voicing_range_db={}{}",
                f.f0_min_hz,
                f.f0_max_hz,
                f.yin_frame_length,
                f.yin_threshold,
                f.voicing_range_db,
                if self.prosody_continuous_f0 {
                    " continuous_f0"
                } else {
                    ""
                }
            )
        } else {
            String::new()
        };
        match self.stream {
            StreamKind::LogMel => format!("{base}{prosody}"),
            StreamKind::Mfcc => format!(
                "mfcc-v1 n_mfcc={} deltas={} dct=2-ortho of [{base}]{prosody}",
                self.n_mfcc, self.mfcc_deltas
            ),
            // The weights hash is added by the caller (it needs the file).
            StreamKind::Ssl => format!("ssl-utterance-mean-v1 layers={}", self.ssl_layers),
            StreamKind::LogMelSsl => format!(
                "logmel+ssl-v1 pooling={:?} layers={} of [{base}]",
                self.ssl_pooling, self.ssl_layers
            ),
            StreamKind::Waveform => "waveform-16k-v1".into(),
            StreamKind::SslFrames => format!("ssl-frames-v1 layers={}", self.ssl_layers),
            StreamKind::Functionals => {
                let f = &self.functionals;
                format!(
                    "functionals-v1 n_mfcc={} deltas={} f0=[{},{}] yin_frame={} yin_threshold={} voicing_range_db={} mel_bands={} mel_deltas={} of [{base}]",
                    self.n_mfcc,
                    self.mfcc_deltas,
                    f.f0_min_hz,
                    f.f0_max_hz,
                    f.yin_frame_length,
                    f.yin_threshold,
                    f.voicing_range_db,
                    f.mel_bands,
                    f.mel_deltas
                )
            }
        }
    }
}
