#!/usr/bin/env python3
"""PyTorch reference for SpeechMLC's label-query decoder (model::label_query) for
tests/model_parity.rs, written from Query2Label's transformer decoder (DETR-derived, self-attention
removed, post-norm) with torch.nn.functional: frames -> Linear to d; keys = frames + 1-D sine
positions, values = frames; per layer q = tgt + query (tgt starts at zero), multi-head
cross-attention with padded key frames masked, add -> LayerNorm -> ReLU FFN -> add -> LayerNorm;
a final LayerNorm; label k's logit = <W_k, h_k> + b_k.

Run from the repository root:  PYTHONPATH=tools python3 tools/make_label_query_fixture.py
(needs torch, numpy, safetensors). Writes tests/fixtures/models/label_query/.
"""
import math

import torch
import torch.nn.functional as F

from make_model_fixtures import EPS_LN, State, write

torch.manual_seed(6)


def sine(t, d):
    pe = torch.zeros(t, d)
    for i in range(d):
        freq = 1.0 / (10000 ** ((2 * (i // 2)) / d))
        a = torch.arange(t, dtype=torch.float64) * freq
        pe[:, i] = (torch.sin(a) if i % 2 == 0 else torch.cos(a)).float()
    return pe


def main():
    s = State()
    b, t, bins, d, heads, ffn, n_layers, labels = 2, 12, 6, 8, 2, 16, 2, 3
    proj = s.linear("input_proj", bins, d)
    queries = s.rand("queries", (labels, d), scale=1.0)
    layers = []
    for i in range(n_layers):
        p = f"layers.{i}"
        layers.append(dict(
            q=s.linear(f"{p}.cross_attn.query", d, d),
            k=s.linear(f"{p}.cross_attn.key", d, d),
            v=s.linear(f"{p}.cross_attn.value", d, d),
            o=s.linear(f"{p}.cross_attn.output", d, d),
            n2=s.layernorm(f"{p}.norm2", d),
            f1=s.linear(f"{p}.ff1", d, ffn),
            f2=s.linear(f"{p}.ff2", ffn, d),
            n3=s.layernorm(f"{p}.norm3", d),
        ))
    final = s.layernorm("final_norm", d)
    hw = s.rand("head_weight", (labels, d), scale=0.3)
    hb = s.rand("head_bias", (labels,), scale=0.1)

    x = torch.randn(b, t, bins)
    x[1, 8:, :] = 0.0  # padding frames of the second item
    pad = (x.abs().sum(-1) == 0)  # [b, t]
    memory = proj(x)
    key = memory + sine(t, d).unsqueeze(0)
    query = queries.unsqueeze(0).expand(b, labels, d)
    tgt = torch.zeros(b, labels, d)
    dk = d // heads
    split = lambda z: z.reshape(b, -1, heads, dk).transpose(1, 2)
    for L in layers:
        qh, kh, vh = split(L["q"](tgt + query)), split(L["k"](key)), split(L["v"](memory))
        scores = qh @ kh.transpose(-1, -2) / math.sqrt(dk)
        scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
        w = torch.softmax(scores, -1)
        ctx = (w @ vh).transpose(1, 2).reshape(b, labels, d)
        tgt = L["n2"](tgt + L["o"](ctx))
        tgt = L["n3"](tgt + L["f2"](F.relu(L["f1"](tgt))))
    hs = final(tgt)
    logits = (hs * hw.unsqueeze(0)).sum(-1) + hb
    write("label_query", s, {"input": x, "embedding": hs.reshape(b, labels * d), "output": logits},
          {"d_model": d, "heads": heads, "ffn_dim": ffn, "layers": n_layers, "labels": labels,
           "eps_ln": EPS_LN})
    print("wrote tests/fixtures/models/label_query")


if __name__ == "__main__":
    main()
