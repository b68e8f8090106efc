#!/usr/bin/env python3
"""Tiny random-init wav2vec2-family models and their reference outputs for tests/ssl_parity.rs.

Run from the repository root:  python3 tools/make_ssl_fixtures.py
Needs: pip install torch transformers safetensors numpy   (CI never runs this; outputs are committed.)

For each model in tests/fixtures/ssl/<name>/: config.json, preprocessor_config.json,
model.safetensors (as transformers saves it), input.npy [batch, samples] float32,
hidden_states.npy [layers+1, batch, frames, hidden] (transformers ≥ 5: for stable-layer-norm models
the last entry is before the final LayerNorm), last_hidden_state.npy [batch, frames, hidden] and features.npy [batch, frames, conv_dim]
(`model.feature_extractor` output, transposed), computed in float32 with the model in eval mode.
"""
import json
import pathlib

import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import HubertConfig, HubertModel, Wav2Vec2Config, Wav2Vec2Model

OUT = pathlib.Path("tests/fixtures/ssl")
torch.manual_seed(0)
rng = np.random.default_rng(0)

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            conv_dim=[32, 32, 32], conv_kernel=[10, 3, 3], conv_stride=[5, 2, 2],
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, layer_norm_eps=1e-5,
            hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
            layerdrop=0.0, mask_time_prob=0.0)


def perturb(model):
    """Random init gives LayerNorm/GroupNorm weight 1 and bias 0: make every tensor non-trivial
    so that a swapped or ignored parameter shows in the outputs."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(0.1 * torch.randn_like(p))


def dump(name, model, do_normalize, rename=None):
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)
    (d / "preprocessor_config.json").write_text(json.dumps({"do_normalize": do_normalize, "sampling_rate": 16000,
                                                            "feature_extractor_type": "Wav2Vec2FeatureExtractor"}, indent=2))
    if rename is not None:
        sd = load_file(d / "model.safetensors")
        save_file({rename(k): v.contiguous() for k, v in sd.items()}, d / "model.safetensors", metadata={"format": "pt"})
    x = (0.3 * rng.standard_normal((2, 4000))).astype(np.float32)
    with torch.no_grad():
        out = model(torch.from_numpy(x), output_hidden_states=True)
    hs = torch.stack(out.hidden_states).numpy().astype(np.float32)
    np.save(d / "input.npy", x)
    np.save(d / "hidden_states.npy", hs)
    np.save(d / "last_hidden_state.npy", out.last_hidden_state.numpy().astype(np.float32))
    with torch.no_grad():
        feats = model.feature_extractor(torch.from_numpy(x)).transpose(1, 2)
    np.save(d / "features.npy", feats.numpy().astype(np.float32))
    print(name, "hidden_states", hs.shape, "keys", sorted(load_file(d / "model.safetensors").keys())[:3], "...")


# HuBERT-base graph (group norm, post-LN), weight norm saved with the new parametrization keys.
m = HubertModel(HubertConfig(**TINY, feat_extract_norm="group", do_stable_layer_norm=False, feat_proj_layer_norm=True))
perturb(m)
dump("hubert_tiny", m, do_normalize=False)

# The same graph with the OLD weight-norm spelling (weight_g / weight_v) and a `hubert.` prefix,
# as older checkpoints and *ForCTC heads store it.
def old_style(k):
    k = k.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1", "weight_v")
    return "hubert." + k
m2 = HubertModel(HubertConfig(**TINY, feat_extract_norm="group", do_stable_layer_norm=False, feat_proj_layer_norm=True))
perturb(m2)
dump("hubert_tiny_oldkeys", m2, do_normalize=False, rename=old_style)

# DistilHuBERT-style: no LayerNorm before the feature projection.
m3 = HubertModel(HubertConfig(**TINY, feat_extract_norm="group", do_stable_layer_norm=False, feat_proj_layer_norm=False))
perturb(m3)
dump("distilhubert_tiny", m3, do_normalize=False)

# Stable-layer-norm wav2vec2 (large / XLSR graph): LayerNorm after every conv, conv bias, pre-LN.
m4 = Wav2Vec2Model(Wav2Vec2Config(**TINY, feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True))
perturb(m4)
dump("wav2vec2_stable_tiny", m4, do_normalize=True)

(OUT / "provenance.json").write_text(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__,
                                                 "script": "tools/make_ssl_fixtures.py", "dtype": "float32", "seed": 0}, indent=2) + "\n")
