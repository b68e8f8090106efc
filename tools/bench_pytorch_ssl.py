#!/usr/bin/env python3
"""PyTorch + transformers reference timing for `ser-workbench bench ssl` (same workload):
random-init HuBERT-base, all hidden states, 4 s utterances, batch 1 (3 forward passes per timing)
and batch N (one), best of --passes timings each, and the conv feature encoder's share of the best
time (timed on its own), as the Rust benchmark reports them.

Run: python3 tools/bench_pytorch_ssl.py [--batch 4] [--threads 2] [--passes 3]
"""
import argparse
import json
import time

import torch
from transformers import HubertConfig, HubertModel

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=8)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--passes", type=int, default=3)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
m = HubertModel(HubertConfig()).eval()
secs, n = 4.0, 64000


def measure(b, reps):
    """Seconds per forward pass for each timing, and the best conv-encoder time."""
    x = torch.sin(torch.arange(b * n, dtype=torch.float32) * 0.013).reshape(b, n) * 0.1
    times, conv = [], float("inf")
    with torch.no_grad():
        m(x, output_hidden_states=True)
        for _ in range(a.passes):
            t = time.perf_counter()
            for _ in range(reps):
                m(x, output_hidden_states=True)
            times.append((time.perf_counter() - t) / reps)
            t = time.perf_counter()
            m.feature_extractor(x)
            conv = min(conv, time.perf_counter() - t)
    return times, conv


def rate(b, t):
    return b * secs / t


t1, c1 = measure(1, 3)
tn, cn = measure(a.batch, 1)
b1, bn = rate(1, min(t1)), rate(a.batch, min(tn))
print(f"torch {torch.__version__}, {a.threads} threads, best of {a.passes} passes:")
print(f"  batch 1: {b1:.2f} s/s (passes: {', '.join(f'{rate(1, t):.2f}' for t in t1)}; conv encoder {100 * c1 / min(t1):.0f} % of the best)")
print(f"  batch {a.batch}: {bn:.2f} s/s (passes: {', '.join(f'{rate(a.batch, t):.2f}' for t in tn)}; conv encoder {100 * cn / min(tn):.0f} % of the best)")
print(json.dumps({"bench": "ssl-pytorch", "threads": a.threads, "passes": a.passes, "batch1_audio_secs_per_sec": round(b1, 2), "batch": a.batch, "audio_secs_per_sec": round(bn, 2)}))
