#!/usr/bin/env python3
"""A `pytorch_model.bin` twin of tests/fixtures/ssl/hubert_tiny_oldkeys (the same tensors, saved
with torch.save as older HuggingFace checkpoints are: zip container + pickle, `hubert.` prefix,
weight_g/weight_v), with its config and reference outputs copied, for tests/ssl_parity.rs.

Run from the repository root after tools/make_ssl_fixtures.py:
    python3 tools/make_ssl_bin_fixture.py          (needs torch, safetensors)
"""
import pathlib
import shutil

import torch
from safetensors.torch import load_file

SRC = pathlib.Path("tests/fixtures/ssl/hubert_tiny_oldkeys")
OUT = pathlib.Path("tests/fixtures/ssl/hubert_tiny_bin")
OUT.mkdir(parents=True, exist_ok=True)
sd = load_file(SRC / "model.safetensors")
# An integer buffer as real checkpoints carry (must be skipped, not loaded).
sd["hubert.encoder.layers.0.num_batches_tracked_example"] = torch.tensor(3, dtype=torch.int64)
torch.save(sd, OUT / "pytorch_model.bin")
for name in ["config.json", "preprocessor_config.json", "input.npy", "hidden_states.npy",
             "last_hidden_state.npy", "features.npy"]:
    shutil.copy(SRC / name, OUT / name)
print("wrote", OUT / "pytorch_model.bin", len(sd), "tensors")
