//! What a preset's model is made of, for the block editor: its parameters per block (with each
//! parameter tensor's shape) and the shapes a dummy input takes through it, found by building
//! the model on the CPU and running one example — the same code that trains, so the figures
//! cannot drift from the model.

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;

use super::{InputShape, SerModel};
use crate::features::StreamKind;
use crate::train::Preset;

/// One block (a top-level part of the model).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockInfo {
    /// Field name of the block in the model.
    pub name: String,
    /// Parameters.
    pub params: usize,
    /// Each parameter tensor below it: (path, shape).
    pub tensors: Vec<(String, Vec<usize>)>,
    /// Input → output shape of the block for the dummy example, where the model reports it.
    pub shapes: Option<(Vec<usize>, Vec<usize>)>,
}

/// A built model, block by block.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSummary {
    /// Model name.
    pub model: String,
    /// The dummy input `[batch, frames, bins]`.
    pub input: Vec<usize>,
    /// The utterance embedding the head receives.
    pub embedding: Vec<usize>,
    /// The output (logits).
    pub output: Vec<usize>,
    /// All parameters.
    pub params: usize,
    /// Parameters per block, in the model's order.
    pub blocks: Vec<BlockInfo>,
    /// What the summary assumed about inputs it cannot know from the preset alone.
    pub assumptions: Vec<String>,
}

/// Collects parameter shapes with their module paths.
#[derive(Default)]
struct Shapes {
    path: Vec<String>,
    out: Vec<(Vec<String>, Vec<usize>)>,
}

impl ModuleVisitor for Shapes {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.out
            .push((self.path.clone(), param.val().dims().to_vec()));
    }
}

/// Number of hidden states an `ssl_layers` selection keeps from a base-size encoder (13).
fn selected_layers(spec: &str) -> usize {
    crate::ssl::extract::parse_layers(spec, 13).map_or(13, |l| l.len().max(1))
}

/// The input the preset's stream gives, and what had to be assumed.
pub fn input_of(preset: &Preset) -> (InputShape, Vec<String>) {
    let f = &preset.features;
    let ssl = 768;
    let mut assumed = Vec::new();
    if f.uses_ssl() {
        assumed.push(format!(
            "SSL width {ssl} (base-size HuBERT / wav2vec2 / WavLM); a large encoder has 1024"
        ));
    }
    let shape = |frames, bins, split| InputShape {
        frames,
        bins,
        split,
        text: 0,
    };
    let s = match f.stream {
        StreamKind::LogMel | StreamKind::Mfcc | StreamKind::Functionals => {
            shape(f.max_frames(), f.n_bins(), None)
        }
        StreamKind::Ssl => shape(selected_layers(&f.ssl_layers), ssl, None),
        StreamKind::SslFrames => shape(f.max_frames(), ssl, None),
        StreamKind::LogMelSsl => {
            shape(f.max_frames(), f.logmel.n_mels + ssl, Some(f.logmel.n_mels))
        }
        StreamKind::Waveform => {
            let secs = f.max_secs.min(2.0);
            assumed.push(format!(
                "a {secs} s waveform for the dummy pass (the encoder's shape is read from the weights at training time; HuBERT-base here)"
            ));
            shape((secs * 16_000.0) as usize, 1, None)
        }
    };
    (s, assumed)
}

/// Builds the preset's model for `n_classes` outputs on the CPU and runs one dummy example.
pub fn summarize(preset: &Preset, n_classes: usize) -> Result<ModelSummary, String> {
    preset.validate()?;
    let (input, mut assumptions) = input_of(preset);
    if preset.text.is_some() {
        assumptions.push("the text stream is left out of the summary".into());
    }
    let device = Device::flex();
    let cfg = preset.with_task_in_model().model.for_fold(0);
    let model = cfg.init(input, n_classes.max(1), &device);
    let mut v = Shapes::default();
    model.visit(&mut v);
    // Group by the first path component below the model variant.
    let mut blocks: Vec<BlockInfo> = Vec::new();
    for (path, shape) in v.out {
        let inner: Vec<&String> = path.iter().skip(1).collect();
        let name = inner
            .first()
            .map_or_else(|| path.join("."), |s| s.to_string());
        let numel: usize = shape.iter().product();
        let tensor = inner
            .iter()
            .skip(1)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(".");
        match blocks.iter_mut().find(|b| b.name == name) {
            Some(b) => {
                b.params += numel;
                b.tensors.push((tensor, shape));
            }
            None => blocks.push(BlockInfo {
                name,
                params: numel,
                tensors: vec![(tensor, shape)],
                shapes: None,
            }),
        }
    }
    let x = Tensor::<3>::zeros([1, input.frames, input.bins], &device);
    if let SerModel::Temporal(t) = &model {
        for (name, i, o) in t.block_shapes(x.clone()) {
            match blocks.iter_mut().find(|b| b.name == name) {
                Some(b) => b.shapes = Some((i, o)),
                None => blocks.push(BlockInfo {
                    name,
                    params: 0,
                    tensors: Vec::new(),
                    shapes: Some((i, o)),
                }),
            }
        }
    }
    let text = crate::text::fusion::TextBatch::None;
    let (logits, emb) = model.forward_with_embedding(x, &text);
    Ok(ModelSummary {
        model: preset.model.name().to_string(),
        input: vec![1, input.frames, input.bins],
        embedding: emb.dims().to_vec(),
        output: logits.dims().to_vec(),
        params: model.num_params(),
        blocks,
        assumptions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The temporal stack of paper-full, counted by hand: 1×1 fusion projections, four DTCN
    /// blocks, attention, the FFN, two layer norms and the 2-hidden-layer head.
    #[test]
    fn paper_full_blocks_add_up() {
        let p = Preset::builtin()
            .into_iter()
            .find(|p| p.name == "demo")
            .expect("demo");
        let s = summarize(&p, 7).expect("summary");
        assert_eq!(s.output, vec![1, 7]);
        assert_eq!(s.params, s.blocks.iter().map(|b| b.params).sum::<usize>());
        assert!(s.params > 0);
        assert_eq!(s.input[0], 1);
    }

    #[test]
    fn temporal_stack_shapes_and_counts() {
        let mut p = Preset::builtin()
            .into_iter()
            .find(|p| p.name == "paper-temporal-logmel")
            .expect("preset");
        // A small known configuration.
        p.features.logmel.n_mels = 8;
        p.features.max_secs = 1.0;
        let crate::model::ModelConfig::TemporalStack(c) = &mut p.model else {
            panic!("temporal")
        };
        c.channels = 4;
        c.attention_heads = 2;
        c.ffn_dim = 6;
        c.pyramid_levels = 2; // 3 segments
        c.dtcn.kernel_size = 3;
        c.dtcn.dilations = vec![1, 2];
        c.head.hidden = [5, 3];
        c.attention_pooling = false;
        let s = summarize(&p, 2).expect("summary");
        let frames = p.features.max_frames();
        assert_eq!(s.input, vec![1, frames, 8]);
        let block = |n: &str| s.blocks.iter().find(|b| b.name == n).expect(n).clone();
        // 1×1 input conv 8 → 4 with bias.
        assert_eq!(block("input").params, 8 * 4 + 4);
        // Attention: q, k, v, out projections 4×4 + bias.
        assert_eq!(block("attention").params, 4 * (4 * 4 + 4));
        assert_eq!(block("ffn_in").params, 4 * 6 + 6);
        assert_eq!(block("ffn_out").params, 6 * 4 + 4);
        // Head: 3 segments × 4 channels → 5 → 3 → 2.
        assert_eq!(block("head").params, 12 * 5 + 5 + 5 * 3 + 3 + 3 * 2 + 2);
        assert_eq!(s.embedding, vec![1, 12]);
        assert_eq!(s.output, vec![1, 2]);
        assert_eq!(
            block("dtcn").shapes,
            Some((vec![1, 4, frames], vec![1, 4, frames]))
        );
        assert_eq!(
            block("pyramid").shapes,
            Some((vec![1, 4, frames], vec![1, 3, 4]))
        );
        assert_eq!(s.params, s.blocks.iter().map(|b| b.params).sum::<usize>());
    }
}
