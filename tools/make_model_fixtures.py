#!/usr/bin/env python3
"""PyTorch references for every model block (tests/model_parity.rs) and one optimiser step
(tests/optim_parity.rs).

Run from the repository root:  python3 tools/make_model_fixtures.py   (needs torch, numpy,
safetensors). CI never runs it: the outputs are committed under tests/fixtures/models/.

Each case writes a folder with
  weights.safetensors  fixed random weights under the burn module paths and layouts (Linear
                       weights as [in, out]; BatchNorm gamma/beta/running_mean/running_var;
                       Conv weights as PyTorch's [out, in/groups, k...]), loaded into the burn
                       module with burn-store;
  input.npy            the input batch;
  output.npy (+ more)  what the PyTorch reference computes in evaluation mode (dropout off,
                       BatchNorm on running statistics).
The references are written with torch.nn.functional from the blocks' definitions (docs/design.md,
the module docs in src/model/), independently of the burn code.
"""
import json
import math
import pathlib

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file

OUT = pathlib.Path("tests/fixtures/models")
torch.manual_seed(0)
torch.set_default_dtype(torch.float32)
EPS_BN = 1e-5
EPS_LN = 1e-5


class State:
    """Collects burn-path → tensor and hands out the torch tensors."""

    def __init__(self):
        self.t = {}

    def rand(self, path, shape, scale=0.3):
        v = torch.randn(*shape) * scale
        self.t[path] = v
        return v

    def linear(self, path, d_in, d_out):
        w = torch.randn(d_in, d_out) * (1.0 / math.sqrt(d_in))  # burn layout [in, out]
        b = torch.randn(d_out) * 0.1
        self.t[f"{path}.weight"] = w
        self.t[f"{path}.bias"] = b
        return lambda x: x @ w + b

    def conv1d(self, path, c_in, c_out, k, dilation=1, pad=(0, 0)):
        w = torch.randn(c_out, c_in, k) * (1.0 / math.sqrt(c_in * k))
        b = torch.randn(c_out) * 0.1
        self.t[f"{path}.weight"] = w
        self.t[f"{path}.bias"] = b
        return lambda x: F.conv1d(F.pad(x, pad), w, b, dilation=dilation)

    def conv2d_same3(self, path, c_in, c_out):
        w = torch.randn(c_out, c_in, 3, 3) * (1.0 / math.sqrt(c_in * 9))
        b = torch.randn(c_out) * 0.1
        self.t[f"{path}.weight"] = w
        self.t[f"{path}.bias"] = b
        return lambda x: F.conv2d(x, w, b, padding=1)

    def batchnorm(self, path, c):
        g = 1.0 + torch.randn(c) * 0.2
        be = torch.randn(c) * 0.2
        rm = torch.randn(c) * 0.3
        rv = torch.rand(c) + 0.5
        self.t[f"{path}.gamma"] = g
        self.t[f"{path}.beta"] = be
        self.t[f"{path}.running_mean"] = rm
        self.t[f"{path}.running_var"] = rv
        return lambda x: F.batch_norm(x, rm, rv, g, be, training=False, eps=EPS_BN)

    def layernorm(self, path, c):
        g = 1.0 + torch.randn(c) * 0.2
        be = torch.randn(c) * 0.2
        self.t[f"{path}.gamma"] = g
        self.t[f"{path}.beta"] = be
        return lambda x: F.layer_norm(x, (c,), g, be, eps=EPS_LN)

    def save(self, folder):
        save_file(
            {k: v.detach().numpy().astype(np.float32) for k, v in self.t.items()},
            str(folder / "weights.safetensors"),
        )


def write(case, state, arrays, meta):
    folder = OUT / case
    folder.mkdir(parents=True, exist_ok=True)
    state.save(folder)
    for name, v in arrays.items():
        np.save(folder / f"{name}.npy", v.detach().numpy().astype(np.float32))
    (folder / "case.json").write_text(json.dumps(meta, indent=1) + "\n")


# ----------------------------------------------------------------------------- blocks


def mlp_head(s, path, d_in, hidden, n_classes):
    fc1 = s.linear(f"{path}.fc1", d_in, hidden[0])
    fc2 = s.linear(f"{path}.fc2", hidden[0], hidden[1])
    out = s.linear(f"{path}.out", hidden[1], n_classes)

    def f(x):
        h1 = F.relu(fc1(x))
        h2 = F.relu(fc2(h1))
        return out(h2), h1, h2

    return f


def fusion(s, path, mode, bins, split, channels):
    """mode: alpha | concat | gated; split = log-mel bins (None: one stream)."""
    if split is None or mode == "concat":
        wl = s.linear(f"{path}.wl", bins, channels)
        s.t[f"{path}.alpha_logit"] = torch.zeros(1)
        return lambda x: (wl(x), None)
    wl = s.linear(f"{path}.wl", split, channels)
    wh = s.linear(f"{path}.wh", bins - split, channels)
    if mode == "alpha":
        a_logit = torch.tensor([0.9])  # α = sigmoid(0.9) ≈ 0.711: swapped streams differ
        s.t[f"{path}.alpha_logit"] = a_logit

        def f(x):
            a = torch.sigmoid(a_logit)
            return a * wl(x[..., :split]) + (1 - a) * wh(x[..., split:]), None

        return f
    gate = s.linear(f"{path}.gate", 2 * channels, 1)
    s.t[f"{path}.alpha_logit"] = torch.zeros(1)

    def g(x):
        l, h = wl(x[..., :split]), wh(x[..., split:])
        gt = torch.sigmoid(gate(torch.cat([l, h], -1)))
        return l * gt + h * (1 - gt), gt.squeeze(-1)

    return g


def segments(time, levels):
    out = []
    for lvl in range(levels):
        n = 1 << lvl
        for i in range(n):
            start = min(i * time // n, max(time - 1, 0))
            end = min(max((i + 1) * time // n, start + 1), max(time, 1))
            out.append((start, end))
    return out


def pyramid(x, levels, pool):
    """x [b, c, t] -> [b, segments, c]"""
    parts = []
    for a, b in segments(x.shape[2], levels):
        seg = x[:, :, a:b]
        parts.append(seg.mean(2) if pool == "mean" else seg.amax(2))
    return torch.stack(parts, 1)


def dtcn(s, path, channels, k, dilations):
    blocks = []
    for i, d in enumerate(dilations):
        pad = d * (k - 1) // 2
        conv = s.conv1d(f"{path}.blocks.{i}.conv", channels, channels, k, d, (pad, pad))
        bn = s.batchnorm(f"{path}.blocks.{i}.bn", channels)
        blocks.append((conv, bn))

    def f(x):
        for conv, bn in blocks:
            x = F.relu(bn(conv(x))) + x
        return x

    return f


def mha(s, path, d, heads):
    q = s.linear(f"{path}.query", d, d)
    k = s.linear(f"{path}.key", d, d)
    v = s.linear(f"{path}.value", d, d)
    o = s.linear(f"{path}.output", d, d)
    dk = d // heads

    def f(x):
        b, n, _ = x.shape
        split = lambda t: t.reshape(b, n, heads, dk).transpose(1, 2)
        qh, kh, vh = split(q(x)), split(k(x)), split(v(x))
        w = torch.softmax(qh @ kh.transpose(-1, -2) / math.sqrt(dk), -1)
        ctx = (w @ vh).transpose(1, 2).reshape(b, n, d)
        return o(ctx), w

    return f


def temporal_stack(s, bins, split, n_classes, c, k, dilations, levels, pool, heads, ffn,
                   fusion_mode, attention_pooling):
    two = split is not None
    if two:
        fus = fusion(s, "fusion", fusion_mode, bins, split, c)
    else:
        inp = s.conv1d("input", bins, c, 1)
    score = s.linear("pool_score", c, 1) if attention_pooling else None
    dt = dtcn(s, "dtcn", c, k, dilations)
    att = mha(s, "attention", c, heads)
    n1 = s.layernorm("norm1", c)
    f_in = s.linear("ffn_in", c, ffn)
    f_out = s.linear("ffn_out", ffn, c)
    n2 = s.layernorm("norm2", c)
    n_seg = (1 << levels) - 1
    head = mlp_head(s, "head", c if attention_pooling else n_seg * c, (12, 8), n_classes)

    def f(x):
        if two:
            h, _ = fus(x)
            h = h.transpose(1, 2)
        else:
            h = inp(x.transpose(1, 2))
        h = dt(h)
        seg = pyramid(h, levels, pool)
        ctx, _ = att(seg)
        h = n1(seg + ctx)
        h = n2(h + f_out(F.relu(f_in(h))))
        b = h.shape[0]
        if attention_pooling:
            w = torch.softmax(score(h), 1)
            emb = (h * w).sum(1)
        else:
            emb = h.reshape(b, -1)
        return head(emb)[0], emb

    return f


def timnet(s, bins, n_classes, c, k, dilations):
    inp = s.conv1d("input", bins, c, 1)
    rinp = s.conv1d("reverse_input", bins, c, 1)

    def direction(name):
        blocks = []
        for i, d in enumerate(dilations):
            pad = ((k - 1) * d, 0)  # causal
            c1 = s.conv1d(f"{name}.{i}.conv1", c, c, k, d, pad)
            b1 = s.batchnorm(f"{name}.{i}.bn1", c)
            c2 = s.conv1d(f"{name}.{i}.conv2", c, c, k, d, pad)
            b2 = s.batchnorm(f"{name}.{i}.bn2", c)
            blocks.append((c1, b1, c2, b2))
        return blocks

    fwd, rev = direction("forward_blocks"), direction("reverse_blocks")
    logits = s.rand("block_logits", (len(dilations),), 0.8)
    head = mlp_head(s, "head", c, (12, 8), n_classes)

    def gated(x, blk):
        c1, b1, c2, b2 = blk
        h = F.relu(b1(c1(x)))
        h = F.relu(b2(c2(h)))
        return x * torch.sigmoid(h)

    def f(x):
        x = x.transpose(1, 2)
        fh, rh = inp(x), rinp(torch.flip(x, [2]))
        pooled = []
        for fb, rb in zip(fwd, rev):
            fh, rh = gated(fh, fb), gated(rh, rb)
            pooled.append((fh + rh).mean(2))
        stacked = torch.stack(pooled, 1)
        w = torch.softmax(logits, 0).reshape(1, -1, 1)
        emb = (stacked * w).sum(1)
        return head(emb)[0], emb

    return f


def conv_blocks(s, channels):
    blocks = []
    c_in = 1
    for i, c in enumerate(channels):
        conv = s.conv2d_same3(f"blocks.{i}.conv", c_in, c)
        bn = s.batchnorm(f"blocks.{i}.bn", c)
        blocks.append((conv, bn))
        c_in = c

    def f(x):
        b, t, m = x.shape
        h = x.reshape(b, 1, t, m)
        for conv, bn in blocks:
            h = F.max_pool2d(F.relu(bn(conv(h))), 2, 2)
        return h

    return f


# ----------------------------------------------------------------------------- cases


def case_head():
    s = State()
    head = mlp_head(s, "", 10, (12, 8), 4)
    s.t = {k.lstrip("."): v for k, v in s.t.items()}
    x = torch.randn(3, 10)
    logits, h1, h2 = head(x)
    write("head", s, {"input": x, "output": logits, "hidden1": h1, "hidden2": h2},
          {"d_in": 10, "hidden": [12, 8], "classes": 4})


def case_fusion(mode):
    s = State()
    f = fusion(s, "", mode, 9, 4, 6)
    s.t = {k.lstrip("."): v for k, v in s.t.items()}
    x = torch.randn(2, 5, 9)
    y, gate = f(x)
    arrays = {"input": x, "output": y}
    if gate is not None:
        arrays["gate"] = gate
    write(f"fusion_{mode}", s, arrays, {"mode": mode, "bins": 9, "split": 4, "channels": 6})


def case_dtcn():
    s = State()
    f = dtcn(s, "", 5, 3, [1, 2, 4])
    s.t = {k.lstrip("."): v for k, v in s.t.items()}
    x = torch.randn(2, 5, 13)
    write("dtcn", s, {"input": x, "output": f(x)},
          {"channels": 5, "kernel_size": 3, "dilations": [1, 2, 4]})


def case_dtpm():
    x = torch.randn(2, 3, 11)  # 11 frames: uneven segments
    arrays = {"input": x}
    for pool in ["mean", "max"]:
        for levels in [1, 3]:
            arrays[f"output_{pool}_{levels}"] = pyramid(x, levels, pool)
    write("dtpm", State(), arrays, {"levels": [1, 3], "pools": ["mean", "max"]})


def case_temporal(name, **kw):
    s = State()
    f = temporal_stack(s, **kw)
    b, t = 2, 14
    x = torch.randn(b, t, kw["bins"])
    logits, emb = f(x)
    write(name, s, {"input": x, "output": logits, "embedding": emb}, kw)


def case_timnet():
    s = State()
    kw = dict(bins=7, n_classes=3, c=6, k=2, dilations=[1, 2, 4])
    f = timnet(s, **kw)
    x = torch.randn(2, 12, 7)
    logits, emb = f(x)
    write("timnet", s, {"input": x, "output": logits, "embedding": emb}, kw)


def case_cnn():
    s = State()
    blocks = conv_blocks(s, [4, 6])
    cls = s.linear("classifier", 6, 3)
    x = torch.randn(2, 12, 10)
    h = blocks(x)
    emb = h.mean((2, 3))
    write("cnn", s, {"input": x, "output": cls(emb), "embedding": emb},
          {"channels": [4, 6], "classes": 3})


def case_cnn_gru():
    s = State()
    blocks = conv_blocks(s, [4])
    bins, hidden = 8, 5
    d_in = (bins // 2) * 4
    gates = {}
    for g in ["reset_gate", "update_gate", "new_gate"]:
        gates[g] = (s.linear(f"gru.{g}.input_transform", d_in, hidden),
                    s.linear(f"gru.{g}.hidden_transform", hidden, hidden))
    cls = s.linear("classifier", hidden, 3)
    x = torch.randn(2, 10, bins)
    h = blocks(x)  # [b, c, t, f]
    b, c, t, fq = h.shape
    seq = h.permute(0, 2, 1, 3).reshape(b, t, c * fq)
    state = torch.zeros(b, hidden)
    outs = []
    for i in range(t):
        xt = seq[:, i]
        r = torch.sigmoid(gates["reset_gate"][0](xt) + gates["reset_gate"][1](state))
        z = torch.sigmoid(gates["update_gate"][0](xt) + gates["update_gate"][1](state))
        n = torch.tanh(gates["new_gate"][0](xt) + r * gates["new_gate"][1](state))
        state = (1 - z) * n + z * state
        outs.append(state)
    emb = torch.stack(outs, 1).mean(1)
    # Cross-check the hand-written GRU against torch.nn.GRU (gate order r, z, n).
    gru = torch.nn.GRU(d_in, hidden, batch_first=True)
    with torch.no_grad():
        for k, g in enumerate(["reset_gate", "update_gate", "new_gate"]):
            gru.weight_ih_l0[k * hidden:(k + 1) * hidden] = s.t[f"gru.{g}.input_transform.weight"].T
            gru.bias_ih_l0[k * hidden:(k + 1) * hidden] = s.t[f"gru.{g}.input_transform.bias"]
            gru.weight_hh_l0[k * hidden:(k + 1) * hidden] = s.t[f"gru.{g}.hidden_transform.weight"].T
            gru.bias_hh_l0[k * hidden:(k + 1) * hidden] = s.t[f"gru.{g}.hidden_transform.bias"]
        assert torch.allclose(gru(seq)[0].mean(1), emb, atol=1e-6)
    write("cnn_gru", s, {"input": x, "output": cls(emb), "embedding": emb},
          {"channels": [4], "gru_hidden": hidden, "bins": bins, "classes": 3})


def case_pooled_fc():
    s = State()
    fus = fusion(s, "fusion", "gated", 9, 4, 6)
    score = s.linear("score", 6, 1)
    head = mlp_head(s, "head", 6, (12, 8), 3)
    x = torch.randn(2, 7, 9)
    h, _ = fus(x)
    h = F.relu(h)
    w = torch.softmax(score(h), 1)
    emb = (h * w).sum(1)
    write("pooled_fc_gated_attention", s,
          {"input": x, "output": head(emb)[0], "pool_weights": w.squeeze(-1)},
          {"bins": 9, "split": 4, "channels": 6})


def case_layer_weighted():
    s = State()
    logits = s.rand("layer_logits", (4,), 1.0)
    fc1 = s.linear("fc1", 6, 8)
    out = s.linear("out", 8, 3)
    x = torch.randn(2, 4, 6) * 2 + 1
    arrays = {"input": x}
    for ln in [False, True]:
        h = F.layer_norm(x, (6,), eps=1e-5) if ln else x
        emb = (h * torch.softmax(logits, 0).reshape(1, 4, 1)).sum(1)
        arrays[f"output_ln{int(ln)}"] = out(F.relu(fc1(emb)))
    write("layer_weighted", s, arrays, {"layers": 4, "dim": 6, "hidden": 8})


# ----------------------------------------------------------------------------- optimisers


def optimiser_steps():
    """Two steps of each optimiser on one weight matrix with given gradients."""
    torch.manual_seed(1)
    w0 = torch.randn(3, 4)
    grads = [torch.randn(3, 4), torch.randn(3, 4) * 3]
    cases = {
        "adam": lambda p: torch.optim.Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8,
                                           weight_decay=0.01),
        "adamw": lambda p: torch.optim.AdamW([p], lr=0.01, betas=(0.8, 0.99), eps=1e-8,
                                             weight_decay=0.05),
        "sgd": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.0,
                                         weight_decay=0.01),
    }
    out = {"w0": w0.flatten().tolist(), "shape": [3, 4],
           "grads": [g.flatten().tolist() for g in grads], "cases": {}}
    for name, make in cases.items():
        p = torch.nn.Parameter(w0.clone())
        opt = make(p)
        steps = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            steps.append(p.detach().flatten().tolist())
        group = opt.param_groups[0]
        out["cases"][name] = {
            "lr": group["lr"],
            "weight_decay": group["weight_decay"],
            "betas": list(group.get("betas", (0.0, 0.0))),
            "eps": group.get("eps", 0.0),
            "momentum": group.get("momentum", 0.0),
            "after_step": steps,
        }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "optimiser_steps.json").write_text(json.dumps(out, indent=1) + "\n")


def main():
    case_head()
    for mode in ["alpha", "concat", "gated"]:
        case_fusion(mode)
    case_dtcn()
    case_dtpm()
    common = dict(n_classes=3, c=8, k=3, dilations=[1, 2], levels=3, heads=2, ffn=16)
    case_temporal("temporal_logmel_maxpool_attnpool", bins=10, split=None, pool="max",
                  fusion_mode="alpha", attention_pooling=True, **common)
    case_temporal("temporal_alpha_fusion_flatten", bins=10, split=4, pool="mean",
                  fusion_mode="alpha", attention_pooling=False, **common)
    case_timnet()
    case_cnn()
    case_cnn_gru()
    case_pooled_fc()
    case_layer_weighted()
    optimiser_steps()
    (OUT / "provenance.json").write_text(json.dumps({
        "torch": torch.__version__,
        "numpy": np.__version__,
        "script": "tools/make_model_fixtures.py",
        "dtype": "float32",
        "seed": 0,
    }, indent=1) + "\n")


if __name__ == "__main__":
    main()
