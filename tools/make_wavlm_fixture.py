#!/usr/bin/env python3
"""Tiny random-init WavLM (gated relative position bias) and its reference outputs for
tests/ssl_parity.rs, in tests/fixtures/ssl/wavlm_tiny/ (same files as tools/make_ssl_fixtures.py).

The input is 2 × 1.2 s so that relative distances (up to ~119 frames) pass max_exact = 80 and
use the logarithmic buckets. Run from the repository root: python3 tools/make_wavlm_fixture.py
"""
import json
import pathlib

import numpy as np
import torch
import transformers
from transformers import WavLMConfig, WavLMModel

OUT = pathlib.Path("tests/fixtures/ssl/wavlm_tiny")
OUT.mkdir(parents=True, exist_ok=True)
torch.manual_seed(5)
rng = np.random.default_rng(5)
cfg = WavLMConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                  conv_dim=[32, 32, 32], conv_kernel=[10, 3, 3], conv_stride=[5, 2, 2],
                  num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, layer_norm_eps=1e-5,
                  hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
                  layerdrop=0.0, mask_time_prob=0.0, feat_extract_norm="group", do_stable_layer_norm=False,
                  num_buckets=320, max_bucket_distance=800)
m = WavLMModel(cfg)
with torch.no_grad():
    for _, p in m.named_parameters():
        p.add_(0.1 * torch.randn_like(p))
    # Make the position bias large enough to matter in the outputs.
    m.encoder.layers[0].attention.rel_attn_embed.weight.mul_(20.0)
m.eval()
m.save_pretrained(OUT, safe_serialization=True)
(OUT / "preprocessor_config.json").write_text(json.dumps(
    {"do_normalize": False, "sampling_rate": 16000, "feature_extractor_type": "Wav2Vec2FeatureExtractor"}, indent=2))
x = (0.3 * rng.standard_normal((2, 19200))).astype(np.float32)
with torch.no_grad():
    out = m(torch.from_numpy(x), output_hidden_states=True)
    feats = m.feature_extractor(torch.from_numpy(x)).transpose(1, 2)
hs = torch.stack(out.hidden_states).numpy().astype(np.float32)
np.save(OUT / "input.npy", x)
np.save(OUT / "hidden_states.npy", hs)
np.save(OUT / "last_hidden_state.npy", out.last_hidden_state.numpy().astype(np.float32))
np.save(OUT / "features.npy", feats.numpy().astype(np.float32))
(OUT / "provenance.json").write_text(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__,
                                                 "script": "tools/make_wavlm_fixture.py", "seed": 5}, indent=2) + "\n")
print("wavlm_tiny hidden_states", hs.shape)
