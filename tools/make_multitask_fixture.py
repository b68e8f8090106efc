#!/usr/bin/env python3
"""PyTorch reference for the multi-task head of the metadata paper (model::multitask) for
tests/model_parity.rs: ARI over the transformer layers' outputs, auxiliary heads (classification
and a per-frame CTC head), co-attention and the SER classifier, written with
torch.nn.functional from the forms documented in docs/design.md ("Multi-task fine-tuning"):

  ARI (residual):   y = h_N + sum_{i<N} softmax_i(W)[i, c] * h_i      W: [N-1, d]
  weighted sum:     y = sum_{i<=N} softmax(w)_i * h_i                 w: [N]
  pooled:           p = masked mean over frames of y
  aux head k:       a_k = relu(hidden_k(p)),  logits_k = output_k(a_k)
  CTC head:         z_t = relu(hidden(y_t)),  logits_t = output(z_t),  a_ctc = masked mean of z
  co-attention:     A = [a_1..a_K(, a_ctc)]   alpha = softmax_k(query(y) key(A)^T / sqrt(h))
                    E~ = y * sigmoid(alpha value(A))
  SER:              fc2(relu(fc1([masked mean of E~, a_1, ..., a_K(, a_ctc)])))   (dropout off)
  without co-attention: fc2(relu(fc1(p)))

Run from the repository root:  PYTHONPATH=tools python3 tools/make_multitask_fixture.py
(needs torch, numpy, safetensors). Writes tests/fixtures/models/multitask{,_ablation}/.
"""
import math

import torch
import torch.nn.functional as F

from make_model_fixtures import State, write

torch.manual_seed(11)


def case(name, residual, co_attention):
    s = State()
    n_layers, b, t, d, h, hc, classes = 4, 2, 6, 8, 5, 6, 4
    aux_classes, vocab = [2, 3], 7
    if residual:
        ari_w = s.rand("ari_weights", (n_layers - 1, d), scale=1.0)
    else:
        ari_w = s.rand("ari_weights", (n_layers, 1), scale=1.0)
    heads = [
        (s.linear(f"aux.{k}.hidden", d, h), s.linear(f"aux.{k}.output", h, c))
        for k, c in enumerate(aux_classes)
    ]
    ctc_hidden, ctc_out = s.linear("ctc.hidden", d, h), s.linear("ctc.output", h, vocab)
    n_tasks = len(aux_classes) + 1
    if co_attention:
        q, k_, v = s.linear("co.query", d, h), s.linear("co.key", h, h), s.linear("co.value", h, d)
        fc1 = s.linear("fc1", d + n_tasks * h, hc)
    else:
        fc1 = s.linear("fc1", d, hc)
    fc2 = s.linear("fc2", hc, classes)

    hidden = torch.randn(n_layers, b, t, d)
    mask = torch.ones(b, t)
    mask[1, 4:] = 0.0
    m3 = mask.unsqueeze(-1)

    def pool(x):
        return (x * m3).sum(1) / m3.sum(1)

    if residual:
        w = torch.softmax(ari_w, 0)  # [N-1, d]
        y = hidden[-1] + (w[:, None, None, :] * hidden[:-1]).sum(0)
    else:
        w = torch.softmax(ari_w[:, 0], 0)
        y = (w[:, None, None, None] * hidden).sum(0)
    p = pool(y)
    hiddens, aux_logits = [], []
    for hid, out in heads:
        a = F.relu(hid(p))
        hiddens.append(a)
        aux_logits.append(out(a))
    z = F.relu(ctc_hidden(y))
    ctc_logits = ctc_out(z)
    hiddens.append(pool(z))
    if co_attention:
        A = torch.stack(hiddens, 1)  # [b, K, h]
        alpha = torch.softmax(q(y) @ k_(A).transpose(1, 2) / math.sqrt(h), -1)  # [b, t, K]
        e = y * torch.sigmoid(alpha @ v(A))
        ser_in = torch.cat([pool(e)] + hiddens, 1)
    else:
        ser_in = p
    ser = fc2(F.relu(fc1(ser_in)))
    arrays = {"input": hidden, "mask": mask, "ari": y, "ser": ser, "ctc": ctc_logits}
    for k, lg in enumerate(aux_logits):
        arrays[f"aux{k}"] = lg
    write(name, s, arrays, {"layers": n_layers, "d": d, "hidden": h, "ser_hidden": hc,
                            "classes": classes, "aux_classes": aux_classes, "vocab": vocab,
                            "residual": residual, "co_attention": co_attention})
    print(f"wrote tests/fixtures/models/{name}")


if __name__ == "__main__":
    case("multitask", residual=True, co_attention=True)
    case("multitask_ablation", residual=False, co_attention=False)
