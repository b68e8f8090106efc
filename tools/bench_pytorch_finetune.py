#!/usr/bin/env python3
"""PyTorch twin of `ser-workbench bench finetune` (same workload): a wav2vec2-family encoder with
transformers' sequence-classification head, conv feature encoder frozen, AdamW (lr 1e-4), batch
B of S-second random crops, 8 classes; dropout, layer drop and time masking off on both sides
(the Rust model has no dropout; the others are random and would make the step cost vary).
Times optimiser steps (forward + backward + update) after one warm-up step.

Run:
  python3 tools/bench_pytorch_finetune.py --write-random /tmp/hubert-base-random   # once
  python3 tools/bench_pytorch_finetune.py --weights /tmp/hubert-base-random --batch 4 --secs 4
  [--threads 2] [--steps 5] [--device cuda]
"""
import argparse
import json
import pathlib
import time

import torch
from transformers import AutoConfig, AutoModelForAudioClassification, HubertConfig, HubertModel

p = argparse.ArgumentParser()
p.add_argument("--weights")
p.add_argument("--write-random")
p.add_argument("--batch", type=int, default=4)
p.add_argument("--secs", type=float, default=4.0)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--device", default="cpu")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

if a.write_random:
    d = pathlib.Path(a.write_random)
    d.mkdir(parents=True, exist_ok=True)
    HubertModel(HubertConfig()).save_pretrained(d, safe_serialization=True)
    (d / "preprocessor_config.json").write_text(json.dumps({"do_normalize": False, "sampling_rate": 16000}))
    print(f"random-init HuBERT-base written to {d}")
    raise SystemExit(0)

cfg = AutoConfig.from_pretrained(a.weights, num_labels=8, hidden_dropout=0.0, attention_dropout=0.0,
                                 activation_dropout=0.0, feat_proj_dropout=0.0, final_dropout=0.0,
                                 layerdrop=0.0, mask_time_prob=0.0)
m = AutoModelForAudioClassification.from_pretrained(a.weights, config=cfg).to(a.device)
m.freeze_feature_encoder()
m.train()
opt = torch.optim.AdamW([q for q in m.parameters() if q.requires_grad], lr=1e-4)
n = int(a.secs * 16000)
g = torch.Generator().manual_seed(1)
x = (0.1 * torch.randn(a.batch, n, generator=g)).to(a.device)
y = torch.randint(0, 8, (a.batch,), generator=g).to(a.device)


def step():
    out = m(x, labels=y)
    out.loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return out.loss.item()


step()
if a.device.startswith("cuda"):
    torch.cuda.synchronize()
t = time.perf_counter()
for _ in range(a.steps):
    step()
if a.device.startswith("cuda"):
    torch.cuda.synchronize()
secs = time.perf_counter() - t
sps = a.steps / secs
trainable = sum(q.numel() for q in m.parameters() if q.requires_grad)
print(f"torch {torch.__version__} ({a.device}, {a.threads} threads): {sps:.3f} optimiser steps/s, "
      f"batch {a.batch} x {a.secs} s, {trainable} trainable parameters")
print(json.dumps({"bench": "finetune-pytorch", "device": a.device, "threads": a.threads, "batch": a.batch,
                  "secs": a.secs, "steps_per_sec": round(sps, 4), "trainable_params": trainable}))
