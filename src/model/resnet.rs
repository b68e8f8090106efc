//! ResNet with basic blocks on the time × frequency plane of a spectrogram (SpeechMLC's
//! baseline, seed 001: ResNet-34, blocks [3, 4, 6, 3], on 80-band log-mel), as torchvision's
//! `resnet34` with one input channel: conv 7×7 stride 2 → BN → ReLU → max-pool 3×3 stride 2 →
//! four stages of basic blocks (conv 3×3 → BN → ReLU → conv 3×3 → BN, plus the input or a
//! 1×1 stride-2 conv + BN where the shape changes, → ReLU) → global average → linear. The input
//! `[batch, time, bins]` is the image `[batch, 1, time, bins]`.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

/// Configuration of [`ResNet`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResNetConfig {
    /// Basic blocks per stage ([3, 4, 6, 3] = ResNet-34, [2, 2, 2, 2] = ResNet-18).
    pub blocks: Vec<usize>,
    /// Channels of the first stage (doubled at every later stage; 64 in torchvision).
    pub width: usize,
    /// Dropout before the linear layer.
    pub dropout: f64,
}

impl Default for ResNetConfig {
    fn default() -> Self {
        Self {
            blocks: vec![3, 4, 6, 3],
            width: 64,
            dropout: 0.0,
        }
    }
}

impl ResNetConfig {
    /// Checks the stages and the width.
    pub fn validate(&self) -> Result<(), String> {
        if self.blocks.is_empty() || self.blocks.contains(&0) || self.width == 0 {
            return Err(format!(
                "ResNet: blocks must list ≥ 1 block per stage and width must be ≥ 1, got {:?} and {}",
                self.blocks, self.width
            ));
        }
        super::check_dropout("ResNet: dropout", self.dropout)
    }

    /// Builds the module.
    pub fn init(&self, n_outputs: usize, device: &Device) -> ResNet {
        let conv = |c_in: usize, c_out: usize, k: usize, stride: usize, pad: usize| {
            Conv2dConfig::new([c_in, c_out], [k, k])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .with_bias(false)
                .init(device)
        };
        let bn = |c: usize| BatchNormConfig::new(c).init(device);
        let mut stages = Vec::new();
        let mut c_in = self.width;
        for (s, &n) in self.blocks.iter().enumerate() {
            let c = self.width << s;
            let mut blocks = Vec::new();
            for b in 0..n {
                let stride = if s > 0 && b == 0 { 2 } else { 1 };
                let down = (stride != 1 || c_in != c).then(|| Downsample {
                    conv: conv(c_in, c, 1, stride, 0),
                    bn: bn(c),
                });
                blocks.push(BasicBlock {
                    conv1: conv(c_in, c, 3, stride, 1),
                    bn1: bn(c),
                    conv2: conv(c, c, 3, 1, 1),
                    bn2: bn(c),
                    down,
                });
                c_in = c;
            }
            stages.push(blocks);
        }
        ResNet {
            conv1: conv(1, self.width, 7, 2, 3),
            bn1: bn(self.width),
            pool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            stages,
            dropout: DropoutConfig::new(self.dropout).init(),
            fc: LinearConfig::new(c_in, n_outputs).init(device),
        }
    }
}

/// 1×1 conv (stride 2) + BN on the shortcut where a block changes the shape.
#[derive(Module, Debug)]
pub struct Downsample {
    conv: Conv2d,
    bn: BatchNorm,
}

/// conv 3×3 → BN → ReLU → conv 3×3 → BN, + shortcut, → ReLU.
#[derive(Module, Debug)]
pub struct BasicBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    down: Option<Downsample>,
}

impl BasicBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = relu(self.bn1.forward(self.conv1.forward(x.clone())));
        let h = self.bn2.forward(self.conv2.forward(h));
        let shortcut = match &self.down {
            Some(d) => d.bn.forward(d.conv.forward(x)),
            None => x,
        };
        relu(h + shortcut)
    }
}

/// ResNet over a spectrogram.
#[derive(Module, Debug)]
pub struct ResNet {
    conv1: Conv2d,
    bn1: BatchNorm,
    pool: MaxPool2d,
    stages: Vec<Vec<BasicBlock>>,
    dropout: Dropout,
    fc: Linear,
}

impl ResNet {
    /// The globally averaged last stage `[batch, channels]`.
    ///
    /// # Shapes
    /// - `x`: `[batch, time, bins]`
    pub fn embed(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, t, f] = x.dims();
        let mut h = self.pool.forward(relu(
            self.bn1
                .forward(self.conv1.forward(x.reshape([b, 1, t, f]))),
        ));
        for stage in &self.stages {
            for block in stage {
                h = block.forward(h);
            }
        }
        let [_, c, _, _] = h.dims();
        h.mean_dims(&[2, 3]).reshape([b, c])
    }

    /// Outputs from an embedding.
    pub fn classify(&self, emb: Tensor<2>) -> Tensor<2> {
        self.fc.forward(super::ops::dropout(&self.dropout, emb))
    }
}
