//! Reading tensors back to the host, shared by the models, the SSL encoders and the training
//! loop (below all of them, so that none imports a sibling for it).

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
