//! Domain-adaptation losses (docs/design.md, "Domain adaptation"), differentiable in the features: LMMD as DSAN's code
//! computes it, the LogMel–HuBERT paper's centroid form, plain multi-kernel MMD and CORAL.
//! Reference values: tools/make_adapt_fixtures.py (tests/adapt_losses.rs).

use burn::prelude::*;

/// Pairwise squared Euclidean distances.
///
/// # Shapes
/// - `x`: `[n, d]` → `[n, n]`
fn pairwise_sq(x: Tensor<2>) -> Tensor<2> {
    let [n, _] = x.dims();
    let sq = x.clone().powi_scalar(2).sum_dim(1); // [n, 1]
    let gram = x.clone().matmul(x.transpose());
    (sq.clone() + sq.reshape([1, n]) - gram.mul_scalar(2.0)).clamp_min(0.0)
}

/// Multi-kernel Gaussian matrix over source ∪ target: Σ_i exp(−D/(σ·2^i)), i = −2..2, with σ the
/// mean pairwise squared distance (detached), as in DSAN.
///
/// # Shapes
/// - `source`: `[ns, d]`, `target`: `[nt, d]` → `[ns + nt, ns + nt]`
pub fn gaussian_kernel(source: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
    let total = Tensor::cat(vec![source, target], 0);
    let [n, _] = total.dims();
    let d = pairwise_sq(total);
    let sigma = d.clone().detach().sum().into_scalar::<f32>() as f64 / (n * n - n).max(1) as f64;
    let base = (sigma / 4.0).max(1e-12);
    (0..5)
        .map(|i| d.clone().div_scalar(base * 2f64.powi(i)).neg().exp())
        .reduce(|a, b| a + b)
        .unwrap_or_else(|| d.zeros_like())
}

fn weights(
    source_labels: &[usize],
    target_probs: &[Vec<f32>],
    n_classes: usize,
) -> Option<(Vec<f32>, Vec<f32>, usize)> {
    let (ns, nt) = (source_labels.len(), target_probs.len());
    let mut s = vec![0.0f32; ns * n_classes];
    for (i, &l) in source_labels.iter().enumerate() {
        if l < n_classes {
            s[i * n_classes + l] = 1.0;
        }
    }
    let mut t = vec![0.0f32; nt * n_classes];
    for (i, p) in target_probs.iter().enumerate() {
        for (c, v) in p.iter().enumerate().take(n_classes) {
            t[i * n_classes + c] = *v;
        }
    }
    let normalise = |m: &mut [f32], rows: usize| {
        for c in 0..n_classes {
            let sum: f32 = (0..rows).map(|i| m[i * n_classes + c]).sum();
            let sum = if sum == 0.0 { 100.0 } else { sum };
            for i in 0..rows {
                m[i * n_classes + c] /= sum;
            }
        }
    };
    normalise(&mut s, ns);
    normalise(&mut t, nt);
    let s_set: std::collections::BTreeSet<usize> = source_labels.iter().copied().collect();
    let t_set: std::collections::BTreeSet<usize> = target_probs
        .iter()
        .map(|p| crate::eval::argmax(p))
        .collect();
    let common: Vec<usize> = s_set.intersection(&t_set).copied().collect();
    if common.is_empty() {
        return None;
    }
    for c in 0..n_classes {
        if !common.contains(&c) {
            (0..ns).for_each(|i| s[i * n_classes + c] = 0.0);
            (0..nt).for_each(|i| t[i * n_classes + c] = 0.0);
        }
    }
    Some((s, t, common.len()))
}

/// LMMD (DSAN): Σ W_ss⊙K_ss + Σ W_tt⊙K_tt − 2 Σ W_st⊙K_st with class weights from source labels and
/// the (detached) target softmax; only classes present in both batches (target by argmax) count,
/// and the weights are divided by their number. Zero when no class is shared.
pub fn lmmd(
    source: Tensor<2>,
    target: Tensor<2>,
    source_labels: &[usize],
    target_probs: &[Vec<f32>],
    n_classes: usize,
) -> Tensor<1> {
    let device = source.device();
    let [ns, _] = source.dims();
    let [nt, _] = target.dims();
    let Some((s, t, k)) = weights(source_labels, target_probs, n_classes) else {
        return Tensor::zeros([1], &device);
    };
    let sv = Tensor::<2>::from_data(TensorData::new(s, [ns, n_classes]), &device);
    let tv = Tensor::<2>::from_data(TensorData::new(t, [nt, n_classes]), &device);
    let scale = 1.0 / k as f64;
    let w_ss = sv.clone().matmul(sv.clone().transpose()).mul_scalar(scale);
    let w_tt = tv.clone().matmul(tv.clone().transpose()).mul_scalar(scale);
    let w_st = sv.matmul(tv.transpose()).mul_scalar(scale);
    let kern = gaussian_kernel(source, target);
    let k_ss = kern.clone().slice([0..ns, 0..ns]);
    let k_tt = kern.clone().slice([ns..ns + nt, ns..ns + nt]);
    let k_st = kern.slice([0..ns, ns..ns + nt]);
    (w_ss * k_ss).sum() + (w_tt * k_tt).sum() - (w_st * k_st).sum().mul_scalar(2.0)
}

/// Multi-kernel MMD: mean K_ss + mean K_tt − 2 mean K_st.
pub fn mmd(source: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    let [ns, _] = source.dims();
    let [nt, _] = target.dims();
    let k = gaussian_kernel(source, target);
    k.clone().slice([0..ns, 0..ns]).mean() + k.clone().slice([ns..ns + nt, ns..ns + nt]).mean()
        - k.slice([0..ns, ns..ns + nt]).mean().mul_scalar(2.0)
}

/// CORAL: ‖C_s − C_t‖²_F / (4 d²) with unbiased covariances.
pub fn coral(source: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    let [_, d] = source.dims();
    let cov = |x: Tensor<2>| {
        let [n, _] = x.dims();
        let c = x.clone() - x.mean_dim(0);
        c.clone()
            .transpose()
            .matmul(c)
            .div_scalar((n.max(2) - 1) as f64)
    };
    (cov(source) - cov(target))
        .powi_scalar(2)
        .sum()
        .div_scalar((4 * d * d) as f64)
}

/// The paper's centroid form: Σ_c ‖μ_s^c − μ_t^c‖² over source classes in the batch, with target
/// centroids weighted by the (detached) soft predictions.
pub fn centroid_lmmd(
    source: Tensor<2>,
    target: Tensor<2>,
    source_labels: &[usize],
    target_probs: &[Vec<f32>],
    n_classes: usize,
) -> Tensor<1> {
    let device = source.device();
    let [ns, _] = source.dims();
    let [nt, _] = target.dims();
    let mut total: Option<Tensor<1>> = None;
    for c in 0..n_classes {
        let count = source_labels.iter().filter(|&&l| l == c).count();
        let mass: f32 = target_probs
            .iter()
            .map(|p| p.get(c).copied().unwrap_or(0.0))
            .sum();
        if count == 0 || mass <= 0.0 {
            continue;
        }
        let ws: Vec<f32> = source_labels
            .iter()
            .map(|&l| if l == c { 1.0 / count as f32 } else { 0.0 })
            .collect();
        let wt: Vec<f32> = target_probs
            .iter()
            .map(|p| p.get(c).copied().unwrap_or(0.0) / mass)
            .collect();
        let ws = Tensor::<2>::from_data(TensorData::new(ws, [1, ns]), &device);
        let wt = Tensor::<2>::from_data(TensorData::new(wt, [1, nt]), &device);
        let diff = ws.matmul(source.clone()) - wt.matmul(target.clone());
        let term = diff.powi_scalar(2).sum();
        total = Some(match total {
            Some(t) => t + term,
            None => term,
        });
    }
    total.unwrap_or_else(|| Tensor::zeros([1], &device))
}
