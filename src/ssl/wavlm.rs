//! WavLM's gated relative position bias (transformers' `modeling_wavlm.py`): layer 0 owns an
//! embedding of 320 relative-position buckets per head; the bias `[heads, t, t]` is computed once
//! and every layer gates it per query frame and head:
//!
//! ```text
//! g = sigmoid(sum over 4 of Linear_{head_dim→8}(h_{b,head,t}).view(2, 4))   → (g_a, g_b)
//! gate = g_a · (g_b · const_head − 1) + 2;   scores += gate · bias
//! ```
//!
//! Buckets (T5-style, bidirectional): half of the 320 for keys after the query; distances below
//! 80 are exact, longer ones logarithmic up to 800 frames, clamped to the last bucket.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

/// Bucket of a relative position `key − query`, computed in f32 like transformers.
pub fn relative_bucket(rel: i64, num_buckets: usize, max_distance: usize) -> usize {
    let half = (num_buckets / 2) as i64;
    let mut bucket = if rel > 0 { half } else { 0 };
    let a = rel.abs();
    let max_exact = half / 2;
    if a < max_exact {
        bucket += a;
    } else {
        let x = (a as f32 / max_exact as f32).ln()
            / ((max_distance as f32 / max_exact as f32).ln())
            * (half - max_exact) as f32;
        let large = ((max_exact as f32 + x) as i64).min(half - 1);
        bucket += large;
    }
    bucket as usize
}

/// The shared bias `[heads, t, t]` from layer 0's bucket embedding `[buckets, heads]`.
pub fn position_bias(embed: &Tensor<2>, t: usize, max_distance: usize) -> Tensor<3> {
    let [buckets, heads] = embed.dims();
    let idx: Vec<i64> = (0..t as i64)
        .flat_map(|q| {
            (0..t as i64).map(move |k| relative_bucket(k - q, buckets, max_distance) as i64)
        })
        .collect();
    let device = embed.device();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [t * t]), &device);
    embed
        .clone()
        .select(0, idx) // [t·t, heads]
        .reshape([t, t, heads])
        .permute([2, 0, 1])
}

/// The per-layer gate of the relative position bias.
#[derive(Module, Debug)]
pub struct GatedRelPos {
    /// `gru_rel_pos_const` `[1, heads, 1, 1]`.
    pub gru_rel_pos_const: Param<Tensor<4>>,
    /// `gru_rel_pos_linear`: head_dim → 8.
    pub gru_rel_pos_linear: Linear,
}

impl GatedRelPos {
    /// Gate `[b, heads, t, 1]` from the layer input `[b, t, d]`.
    pub fn gate(&self, x: Tensor<3>, heads: usize) -> Tensor<4> {
        let [b, t, d] = x.dims();
        let hd = d / heads;
        let per_head = x.reshape([b, t, heads, hd]).swap_dims(1, 2); // [b, h, t, hd]
        let proj = self
            .gru_rel_pos_linear
            .forward(per_head) // [b, h, t, 8]
            .reshape([b, heads, t, 2, 4])
            .sum_dim(4)
            .reshape([b, heads, t, 2]);
        let g = sigmoid(proj);
        let ga = g.clone().narrow(3, 0, 1);
        let gb = g.narrow(3, 1, 1);
        ga * (gb * self.gru_rel_pos_const.val() - 1.0) + 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed with transformers' formula: num_buckets 320 (160 per side), max_exact 80,
    /// max_distance 800: 80 + ⌊ln(a/80)/ln 10 · 80⌋ for a ≥ 80, clamped at 159.
    #[test]
    fn buckets_match_transformers() {
        assert_eq!(relative_bucket(0, 320, 800), 0);
        assert_eq!(relative_bucket(-5, 320, 800), 5);
        assert_eq!(relative_bucket(5, 320, 800), 165);
        assert_eq!(relative_bucket(-79, 320, 800), 79);
        assert_eq!(relative_bucket(-80, 320, 800), 80);
        // ln(160/80)/ln(10)·80 = 24.08 → 104.
        assert_eq!(relative_bucket(-160, 320, 800), 104);
        assert_eq!(relative_bucket(160, 320, 800), 264);
        assert_eq!(relative_bucket(-799, 320, 800), 159);
        assert_eq!(relative_bucket(-5000, 320, 800), 159);
    }
}
