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

/// A Flex tensor owning `values` (no copy).
fn flex_tensor(values: Vec<f32>, shape: impl Into<burn::prelude::Shape>) -> FlexTensor {
    FlexTensor::from_data(burn::prelude::TensorData::new(values, shape))
}

/// The sum of per-task partial vectors of length `len`, added in task order in f64, so the
/// result does not depend on how the tasks were scheduled.
fn add_in_order<'a>(parts: impl Iterator<Item = &'a [f32]>, len: usize) -> Vec<f64> {
    let mut total = vec![0.0f64; len];
    for part in parts {
        for (t, v) in total.iter_mut().zip(part) {
            *t += *v as f64;
        }
    }
    total
}
