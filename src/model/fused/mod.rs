//! Custom autodiff operations for the DTCN's training step on the Flex (CPU) backend
//! (docs/perf/cpu.md, item 10): each replaces a chain of tensor ops — each a pass over memory, a
//! fresh buffer and a graph node — by one forward and one backward written against the Flex
//! buffers. [`conv`]: the dilated "same" convolution as tap products accumulated into the output
//! rows (no im2col copy, no scatter in the backward); [`tail`]: BatchNorm + ReLU + dropout + the
//! residual sum in two passes each way. Both compute the same function and gradients as the tensor
//! ops (tests in each module), which remain the path everywhere else (GPUs, frozen layers).

use burn::backend::flex::FlexTensor;

pub mod conv;
pub mod tail;

pub use conv::conv1d_rows_fused;
pub use tail::bn_relu_dropout_add;

/// `t` with a contiguous layout (no copy when it already has one).
pub(crate) fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// The values of a contiguous f32 Flex tensor.
pub(crate) fn f32s(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("a contiguous f32 tensor (training runs in f32)")
}
