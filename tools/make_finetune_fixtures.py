#!/usr/bin/env python3
"""Tiny random sequence-classification checkpoints and their reference logits for
tests/finetune.rs (SslClassifier against transformers' *ForSequenceClassification).

Run from the repository root:  python3 tools/make_finetune_fixtures.py
Needs: pip install torch transformers safetensors numpy   (CI never runs this; outputs are committed.)

For each model in tests/fixtures/finetune/<name>/: config.json, preprocessor_config.json,
model.safetensors (keys as transformers saves them: `hubert.` / `unispeech.` / `unispeech_sat.`
prefixes, `projector.*`, `classifier.*`, `layer_weights`), input.npy [2, 4000] float32 and
logits.npy [2, num_labels] (eval mode, no attention mask: the head means over all frames).
"""
import json
import pathlib

import numpy as np
import torch
import transformers
from transformers import (HubertConfig, HubertForSequenceClassification, UniSpeechConfig,
                          UniSpeechForSequenceClassification, UniSpeechSatConfig,
                          UniSpeechSatForSequenceClassification)

OUT = pathlib.Path("tests/fixtures/finetune")
torch.manual_seed(0)
rng = np.random.default_rng(0)

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            conv_dim=[32, 32, 32], conv_kernel=[10, 3, 3], conv_stride=[5, 2, 2],
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, layer_norm_eps=1e-5,
            hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
            final_dropout=0.0, layerdrop=0.0, mask_time_prob=0.05, classifier_proj_size=16, num_labels=3)


def perturb(model):
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(0.1 * torch.randn_like(p))


def dump(name, model, do_normalize):
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)
    (d / "preprocessor_config.json").write_text(json.dumps(
        {"do_normalize": do_normalize, "sampling_rate": 16000,
         "feature_extractor_type": "Wav2Vec2FeatureExtractor"}, indent=2))
    x = (0.3 * rng.standard_normal((2, 4000))).astype(np.float32)
    xin = torch.from_numpy(x)
    if do_normalize:
        xin = (xin - xin.mean(-1, keepdim=True)) / torch.sqrt(xin.var(-1, keepdim=True, unbiased=False) + 1e-7)
    with torch.no_grad():
        logits = model(xin).logits
    np.save(d / "input.npy", x)
    np.save(d / "logits.npy", logits.numpy().astype(np.float32))
    from safetensors.torch import load_file
    keys = sorted(load_file(d / "model.safetensors").keys())
    print(name, logits.shape, [k for k in keys if not k.split(".")[0] in ("hubert", "unispeech", "unispeech_sat")][:6], keys[0])


# HuBERT-base graph (group norm, post-LN), last hidden state → projector → mean → classifier.
m = HubertForSequenceClassification(HubertConfig(**TINY, feat_extract_norm="group", do_stable_layer_norm=False))
perturb(m)
dump("hubert_cls_tiny", m, do_normalize=False)

# UniSpeech (the wav2vec2 encoder under `unispeech.`), group norm, normalised input.
m = UniSpeechForSequenceClassification(UniSpeechConfig(**TINY, feat_extract_norm="group", do_stable_layer_norm=False))
perturb(m)
dump("unispeech_cls_tiny", m, do_normalize=True)

# UniSpeech-SAT large-style (layer norm, stable layer norm) with a weighted layer sum.
m = UniSpeechSatForSequenceClassification(UniSpeechSatConfig(**TINY, feat_extract_norm="layer", do_stable_layer_norm=True,
                                                             use_weighted_layer_sum=True))
perturb(m)
dump("unispeech_sat_cls_tiny", m, do_normalize=True)

(OUT / "provenance.json").write_text(json.dumps({
    "script": "tools/make_finetune_fixtures.py",
    "transformers": transformers.__version__,
    "torch": torch.__version__,
}, indent=2))
