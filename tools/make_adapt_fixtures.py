#!/usr/bin/env python3
"""Reference values for the domain-adaptation losses (tests/adapt_losses.rs).

Run from the repository root: python3 tools/make_adapt_fixtures.py   (needs torch, numpy)
The LMMD reference follows DSAN's released code (easezyc/deep-transfer-learning, DSAN/lmmd.py):
Gaussian multi-kernel with 5 bandwidths sigma*2^i (i=-2..2), sigma = mean pairwise squared
distance over source+target; class weights from source one-hot labels and target softmax
predictions, each column divided by its sum (0 -> 100), only classes present in both batches
(target by argmax), divided by the number of such classes. MMD uses the same kernel; CORAL is
Sun & Saenko's ||C_s - C_t||_F^2 / (4 d^2) with unbiased covariances.
"""
import json
import pathlib

import numpy as np
import torch

OUT = pathlib.Path("tests/fixtures/adapt")
OUT.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(3)


def kernel(source, target, kernel_mul=2.0, kernel_num=5):
    n = source.shape[0] + target.shape[0]
    total = torch.cat([source, target], 0)
    l2 = ((total.unsqueeze(0) - total.unsqueeze(1)) ** 2).sum(2)
    bandwidth = l2.detach().sum() / (n * n - n)
    bandwidth = bandwidth / (kernel_mul ** (kernel_num // 2))
    return sum(torch.exp(-l2 / (bandwidth * kernel_mul ** i)) for i in range(kernel_num))


def lmmd(source, target, s_label, t_prob, n_classes):
    bs_s = source.shape[0]
    s_onehot = np.eye(n_classes)[s_label]
    s_sum = s_onehot.sum(0, keepdims=True)
    s_sum[s_sum == 0] = 100
    s_vec = s_onehot / s_sum
    t_arg = t_prob.argmax(1)
    t_sum = t_prob.sum(0, keepdims=True)
    t_sum[t_sum == 0] = 100
    t_vec = t_prob / t_sum
    common = sorted(set(s_label.tolist()) & set(t_arg.tolist()))
    mask = np.zeros(n_classes)
    mask[common] = 1
    s_vec, t_vec = s_vec * mask, t_vec * mask
    k = len(common)
    w_ss = s_vec @ s_vec.T / max(k, 1)
    w_tt = t_vec @ t_vec.T / max(k, 1)
    w_st = s_vec @ t_vec.T / max(k, 1)
    if k == 0:
        return 0.0
    K = kernel(source, target).numpy()
    ss, tt, st = K[:bs_s, :bs_s], K[bs_s:, bs_s:], K[:bs_s, bs_s:]
    # DSAN sums the three weighted matrices elementwise (equal batch sizes); summing each term
    # separately is the same number and also allows unequal source/target batches.
    return float((w_ss * ss).sum() + (w_tt * tt).sum() - 2 * (w_st * st).sum())


def mmd(source, target):
    bs = source.shape[0]
    K = kernel(source, target).numpy()
    return float(K[:bs, :bs].mean() + K[bs:, bs:].mean() - 2 * K[:bs, bs:].mean())


def coral(source, target):
    d = source.shape[1]
    cs = np.cov(source.numpy(), rowvar=False)
    ct = np.cov(target.numpy(), rowvar=False)
    return float(((cs - ct) ** 2).sum() / (4 * d * d))


def centroid(source, target, s_label, t_prob, n_classes):
    s, t = source.numpy(), target.numpy()
    total = 0.0
    for c in range(n_classes):
        m = s_label == c
        w = t_prob[:, c]
        if m.sum() == 0 or w.sum() <= 0:
            continue
        mu_s = s[m].mean(0)
        mu_t = (w[:, None] * t).sum(0) / w.sum()
        total += float(((mu_s - mu_t) ** 2).sum())
    return total


cases = []
for case in range(4):
    ns, nt, d, c = 6, 5, 3, 3
    source = torch.tensor(rng.standard_normal((ns, d)), dtype=torch.float64)
    target = torch.tensor(rng.standard_normal((nt, d)) + 0.5 * case, dtype=torch.float64)
    s_label = rng.integers(0, c, ns)
    logits = rng.standard_normal((nt, c)) * 2
    t_prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    if case == 3:  # no class in common: target predictions all class 2, source has none
        s_label = np.array([0, 1, 0, 1, 0, 1])
        t_prob = np.tile([0.1, 0.1, 0.8], (nt, 1))
    cases.append({
        "source": source.numpy().tolist(), "target": target.numpy().tolist(),
        "source_labels": s_label.tolist(), "target_probs": t_prob.tolist(), "n_classes": c,
        "lmmd": lmmd(source, target, s_label, t_prob, c), "mmd": mmd(source, target),
        "coral": coral(source, target), "centroid_lmmd": centroid(source, target, s_label, t_prob, c),
    })
(OUT / "losses.json").write_text(json.dumps({"generator": "tools/make_adapt_fixtures.py", "torch": torch.__version__, "cases": cases}, indent=1))
print([(round(x["lmmd"], 6), round(x["mmd"], 6), round(x["coral"], 6), round(x["centroid_lmmd"], 6)) for x in cases])
