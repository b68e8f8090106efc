#!/usr/bin/env python3
"""PyTorch + transformers reference timing for `ser-workbench bench ssl` (same workload):
random-init HuBERT-base, all hidden states, 4 s utterances, batch 1 (3 repetitions) and batch N.

Run: python3 tools/bench_pytorch_ssl.py [--batch 8] [--threads 2]
"""
import argparse
import json
import time

import torch
from transformers import HubertConfig, HubertModel

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=8)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
m = HubertModel(HubertConfig()).eval()
secs, n = 4.0, 64000


def measure(b, reps):
    x = torch.sin(torch.arange(b * n, dtype=torch.float32) * 0.013).reshape(b, n) * 0.1
    with torch.no_grad():
        m(x, output_hidden_states=True)
        t = time.perf_counter()
        for _ in range(reps):
            m(x, output_hidden_states=True)
    return b * reps * secs / (time.perf_counter() - t)


b1 = measure(1, 3)
bn = measure(a.batch, 1)
print(f"torch {torch.__version__}, {a.threads} threads: batch 1 {b1:.2f} s/s, batch {a.batch} {bn:.2f} s/s")
print(json.dumps({"bench": "ssl-pytorch", "threads": a.threads, "batch1_audio_secs_per_sec": round(b1, 2), "batch": a.batch, "audio_secs_per_sec": round(bn, 2)}))
