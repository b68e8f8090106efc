//! Headless commands over the same engine as the GUI, one file per command. Script-facing names
//! are stable.

pub mod ablation;
pub mod bench;
pub mod demo_corpus;
pub mod download;
pub mod ensemble;
pub mod features;
pub mod gui;
pub mod inspect;
pub mod layer_weights;
pub mod live;
pub mod predict;
pub mod probe;
pub mod runs;
pub mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// SER Workbench — speech emotion recognition experiments (GUI when run without a command).
#[derive(Parser, Debug)]
#[command(name = "ser-workbench", version, about)]
pub struct Cli {
    /// Command; without one the GUI starts.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the GUI.
    Gui(gui::GuiArgs),
    /// Write the synthetic demo corpus (EMODB- and RAVDESS-named) into DIR.
    DemoCorpus(demo_corpus::DemoCorpusArgs),
    /// Show corpus type, utterances per class and speaker, skipped files.
    Inspect(inspect::InspectArgs),
    /// Train and evaluate a preset on a corpus; writes a run folder.
    Train(train::TrainArgs),
    /// Run several presets (× seeds) under one protocol on one corpus (or source → target) and
    /// write a comparison table (ablation.md / .csv / .json) like the LogMel–HuBERT paper's
    /// Figures 4 and 5.
    Ablation(ablation::AblationArgs),
    /// Combine finished runs that share their test utterances by hard (majority) or soft
    /// voting into a new run folder (report with members, runtime and size).
    Ensemble(ensemble::EnsembleArgs),
    /// The run folders as a list (`runs list`), or 2–6 runs side by side (`runs compare`).
    Runs(runs::RunsArgs),
    /// Download an SSL model folder from the HuggingFace hub (resumable, SHA-256 verified) into
    /// the model cache; prints the folder to use as --weights / ssl_weights.
    DownloadModel(download::DownloadModelArgs),
    /// Class probabilities of WAV files from a trained run (dimensional runs: the predicted
    /// arousal, valence, dominance).
    Predict(predict::PredictArgs),
    /// Learned layer-weight profiles of several runs side by side (per dimension where learned
    /// per dimension), as text, CSV and SVG.
    LayerWeights(layer_weights::LayerWeightsArgs),
    /// A multi-label run applied to a categorical emotion corpus: the mean probability of each
    /// style label per emotion class (SpeechMLC's unseen-corpus probe).
    Probe(probe::ProbeArgs),
    /// Feed an audio file through the live streaming path of a trained run; one line per hop,
    /// then latency statistics as one JSON line.
    Live(live::LiveArgs),
    /// Write features as float32 .npy: logmel/mfcc [frames, bins]; ssl [layers, frames, dim];
    /// logmel+ssl [frames, mels + dim] (or [frames, dim] for one layer).
    Features(features::FeaturesArgs),
    /// Benchmarks; each ends with one JSON line.
    Bench(bench::BenchArgs),
}

impl Default for Command {
    /// The GUI, as without a command.
    fn default() -> Self {
        Command::Gui(gui::GuiArgs::default())
    }
}

/// Runs a CLI command.
pub fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Gui(a) => gui::run(a),
        Command::DemoCorpus(a) => demo_corpus::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Train(a) => train::run(a),
        Command::Ablation(a) => ablation::run(a),
        Command::Ensemble(a) => ensemble::run(a),
        Command::Runs(a) => runs::run(a),
        Command::DownloadModel(a) => download::run(a),
        Command::Predict(a) => predict::run(a),
        Command::LayerWeights(a) => layer_weights::run(a),
        Command::Probe(a) => probe::run(a),
        Command::Live(a) => live::run(a),
        Command::Features(a) => features::run(a),
        Command::Bench(a) => bench::run(a),
    }
}
