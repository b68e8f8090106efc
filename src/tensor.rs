//! Reading tensors back to the host (and the Flex buffers the host kernels read), shared by the
//! models, the SSL encoders and the training loop (below all of them, so that none imports a
//! sibling for it).

use burn::backend::flex::FlexTensor;
use burn::prelude::*;

/// The values of a float tensor as `f32`, row-major.
///
/// # Panics
/// When the read-back fails (a backend error): a training worker turns the panic into a
/// `Failed` event with this message; a default value is never passed off as a result.
pub fn read_f32<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_else(|e| panic!("reading a tensor back from the device failed: {e:?}"))
}

/// The values of an integer tensor as `i64`, row-major (panics like [`read_f32`]).
pub fn read_i64<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    t.into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .unwrap_or_else(|e| panic!("reading a tensor back from the device failed: {e:?}"))
}

/// `t` with a contiguous layout (no copy when it already has one).
pub(crate) fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// The values of a contiguous f32 Flex tensor (the host kernels' inputs; callers check the
/// layout first, through [`contiguous`] or `as_slice`).
pub(crate) fn f32s(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("a contiguous f32 Flex tensor (checked by the caller)")
}

/// GELU, exact (erf) form. On the Flex (CPU) backend outside autodiff it is one vectorised pass
/// over the tensor's own buffer ([`crate::fastmath::gelu_in_place`], max abs error 1.5e-6;
/// Flex hands an unshared contiguous buffer over without copying); everywhere else, and for
/// tensors that take part in a gradient, burn's `gelu`. Flex's own GELU calls scalar `erff`
/// per value (docs/perf/cpu.md).
pub fn gelu<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    let device = t.device();
    if device.is_autodiff() || device != Device::flex() {
        return burn::tensor::activation::gelu(t);
    }
    let mut data = t.into_data();
    match data.as_mut_slice::<f32>() {
        Ok(v) => crate::fastmath::gelu_in_place(v),
        Err(_) => {
            return burn::tensor::activation::gelu(Tensor::from_data(data, &device));
        }
    }
    Tensor::from_data(data, &device)
}
