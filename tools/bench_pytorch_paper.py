#!/usr/bin/env python3
"""PyTorch twin of the workbench's `paper-full` model, timed for one training epoch.

Compare with:   ser-workbench bench epoch --utterances 1440
Run:            python3 tools/bench_pytorch_paper.py [--utterances 1440] [--threads 2] [--passes 3]

Same model and step as src/model/{fusion,temporal,dtcn,dtpm,head}.rs + src/train/{fit,adapt}.rs with
presets/paper_full.ron: alpha fusion of 128 log-mel + 768 HuBERT bins to 64 channels, DTCN (k 3,
dilations 1,2,4,8, BN, ReLU, dropout 0.1, residual), DTPM (3 levels, mean, 7 segments), 4-head
self-attention over the segments + LayerNorm + FFN 128, flatten (448), head 128 -> 64 -> 8 with
dropout 0.3; loss = class-weighted cross-entropy + ramped lambda * LMMD (DSAN) between the source
batch's and a target batch's embeddings; AdamW lr 1e-3 wd 1e-4, gradient clipping 5.
Synthetic cached features: N utterances x 125 frames x 896 bins, 8 classes, N target utterances,
batch 32. Only the optimisation steps are timed (features are in memory on both sides); each of
--passes passes (default 3) trains a fresh model for one epoch and the best is reported, as
`bench epoch` does.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class PaperFull(nn.Module):
    def __init__(self, n_logmel=128, n_ssl=768, c=64, classes=8, levels=3):
        super().__init__()
        self.n_logmel = n_logmel
        self.wl = nn.Linear(n_logmel, c)
        self.wh = nn.Linear(n_ssl, c)
        self.alpha_logit = nn.Parameter(torch.zeros(1))
        self.convs = nn.ModuleList(
            [nn.Conv1d(c, c, 3, dilation=d, padding=d) for d in (1, 2, 4, 8)])
        self.bns = nn.ModuleList([nn.BatchNorm1d(c) for _ in range(4)])
        self.drop = nn.Dropout(0.1)
        self.levels = levels
        self.mha = nn.MultiheadAttention(c, 4, dropout=0.1, batch_first=True)
        self.norm1 = nn.LayerNorm(c)
        self.ffn_in = nn.Linear(c, 128)
        self.ffn_out = nn.Linear(128, c)
        self.norm2 = nn.LayerNorm(c)
        n_seg = 2 ** levels - 1
        self.fc1 = nn.Linear(n_seg * c, 128)
        self.fc2 = nn.Linear(128, 64)
        self.out = nn.Linear(64, classes)
        self.head_drop = nn.Dropout(0.3)

    def embed(self, x):
        a = torch.sigmoid(self.alpha_logit)
        h = a * self.wl(x[..., : self.n_logmel]) + (1 - a) * self.wh(x[..., self.n_logmel:])
        h = h.transpose(1, 2)  # [b, c, t]
        for conv, bn in zip(self.convs, self.bns):
            h = self.drop(F.relu(bn(conv(h)))) + h
        t = h.shape[2]
        segs = []
        for lvl in range(self.levels):
            n = 2 ** lvl
            for i in range(n):
                s = min(i * t // n, t - 1)
                e = min(max((i + 1) * t // n, s + 1), t)
                segs.append(h[:, :, s:e].mean(2))
        seg = torch.stack(segs, 1)  # [b, 7, c]
        att, _ = self.mha(seg, seg, seg, need_weights=False)
        h = self.norm1(seg + self.drop(att))
        h = self.norm2(h + self.ffn_out(self.drop(F.relu(self.ffn_in(h)))))
        return h.flatten(1)

    def classify(self, e):
        h = self.head_drop(F.relu(self.fc1(e)))
        h = self.head_drop(F.relu(self.fc2(h)))
        return self.out(h)


def kernel(source, target):
    total = torch.cat([source, target], 0)
    n = total.shape[0]
    l2 = torch.cdist(total, total) ** 2
    bw = l2.detach().sum() / (n * n - n) / 4.0
    return sum(torch.exp(-l2 / (bw * 2.0 ** i)) for i in range(5))


def lmmd(source, target, labels, t_prob, classes):
    b = source.shape[0]
    s_onehot = F.one_hot(labels, classes).float()
    s_sum = s_onehot.sum(0, keepdim=True)
    s_sum[s_sum == 0] = 100
    s_vec = s_onehot / s_sum
    t_sum = t_prob.sum(0, keepdim=True)
    t_sum[t_sum == 0] = 100
    t_vec = t_prob / t_sum
    common = sorted(set(labels.tolist()) & set(t_prob.argmax(1).tolist()))
    if not common:
        return source.sum() * 0
    mask = torch.zeros(classes)
    mask[common] = 1
    s_vec, t_vec = s_vec * mask, t_vec * mask
    k = len(common)
    K = kernel(source, target)
    ss, tt, st = K[:b, :b], K[b:, b:], K[:b, b:]
    return ((s_vec @ s_vec.T / k) * ss).sum() + ((t_vec @ t_vec.T / k) * tt).sum() \
        - 2 * ((s_vec @ t_vec.T / k) * st).sum()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--utterances", type=int, default=1440)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=125)
    ap.add_argument("--passes", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    n, t, bins, classes, batch = args.utterances, args.frames, 896, 8, 32
    x = torch.randn(n, t, bins)
    y = torch.arange(n) % classes
    xt = torch.randn(n, t, bins)
    counts = torch.bincount(y, minlength=classes).float()
    cw = n / (classes * counts)
    steps = math.ceil(n / batch)
    passes = []
    for _ in range(args.passes):
        # Each pass: a fresh model and optimiser, one epoch (as `bench epoch` runs its passes).
        torch.manual_seed(1)
        model = PaperFull(classes=classes)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
        order = torch.randperm(n)
        torder = torch.randperm(n)
        model.train()
        start = time.perf_counter()
        for step in range(steps):
            idx = order[step * batch:(step + 1) * batch]
            tidx = torder[[(step * batch + k) % n for k in range(len(idx))]]
            emb = model.embed(x[idx])
            logits = model.classify(emb)
            loss = F.cross_entropy(logits, y[idx], weight=cw)
            temb = model.embed(xt[tidx])
            tprob = F.softmax(model.classify(temb).detach(), 1)
            p = step / steps
            lam = 0.5 * (2 / (1 + math.exp(-10 * p)) - 1)
            loss = loss + lam * lmmd(emb, temb, y[idx], tprob, classes)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
        passes.append(time.perf_counter() - start)
    secs = min(passes)
    print(f"PyTorch {torch.__version__}, {args.threads} threads: one epoch of {n} utterances "
          f"x {t} frames x {bins} bins + target batches, batch {batch}, {steps} steps")
    print(f"  {secs:.2f} s per epoch, best of {len(passes)} passes "
          f"({', '.join(f'{s:.2f}' for s in passes)}; {secs * 1000 / steps:.1f} ms per step)")
    print(json.dumps({"bench": "epoch-pytorch", "utterances": n, "steps": steps,
                      "threads": args.threads, "secs_per_epoch": secs,
                      "passes": [round(s, 3) for s in passes]}))


if __name__ == "__main__":
    main()
