#!/usr/bin/env python3
"""Writes tests/fixtures/ctc/cases.json: PyTorch's CTC loss on fixed logits and targets, with
its gradient with respect to the logits, for the CTC head of the multi-task fine-tuning
(metadata paper, ASR auxiliary task).

    python3 tools/make_ctc_fixture.py     # needs torch

Cases cover blanks (index 0), repeated characters (which need a blank between them), a target
as long as the input allows, an empty target, different input lengths in one batch (frames
past a sample's length are ignored) and an impossible alignment (infinite loss, and
zero_infinity). Logits are log-softmaxed over classes as the loss expects.
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "ctc", "cases.json")


def case(name, T, C, targets, input_lengths, seed, zero_infinity=False):
    g = torch.Generator().manual_seed(seed)
    N = len(targets)
    logits = torch.randn(N, T, C, generator=g, dtype=torch.float64) * 2.0
    logits.requires_grad_(True)
    log_probs = F.log_softmax(logits, dim=2)
    S = max(1, max(len(t) for t in targets))
    padded = torch.zeros(N, S, dtype=torch.long)
    for i, t in enumerate(targets):
        padded[i, : len(t)] = torch.tensor(t, dtype=torch.long)
    target_lengths = torch.tensor([len(t) for t in targets])
    il = torch.tensor(input_lengths)
    per = F.ctc_loss(log_probs.transpose(0, 1), padded, il, target_lengths, blank=0,
                     reduction="none", zero_infinity=zero_infinity)
    mean = F.ctc_loss(log_probs.transpose(0, 1), padded, il, target_lengths, blank=0,
                      reduction="mean", zero_infinity=zero_infinity)
    logits.grad = None
    mean.backward()
    return {
        "name": name,
        "batch": N,
        "frames": T,
        "classes": C,
        "logits": logits.detach().flatten().tolist(),
        "targets": targets,
        "input_lengths": input_lengths,
        "zero_infinity": zero_infinity,
        "loss_none": [x if torch.isfinite(torch.tensor(x)) else None for x in per.tolist()],
        "loss_mean": mean.item() if torch.isfinite(mean) else None,
        "grad_mean": logits.grad.flatten().tolist(),
    }


def main():
    cases = [
        case("simple", 6, 5, [[1, 2], [3]], [6, 6], 1),
        case("repeats_need_blanks", 8, 4, [[2, 2, 2], [1, 1]], [8, 5], 2),
        case("tight_fit", 5, 4, [[1, 2, 3], [1, 1, 2]], [5, 5], 3),
        case("empty_target", 4, 3, [[], [2]], [4, 3], 4),
        case("longer_batch", 30, 12, [[5, 3, 3, 7, 1, 11, 2], [4, 4, 9], [10]], [30, 22, 9], 5),
        case("impossible_zero_infinity", 3, 4, [[1, 1, 2], [2]], [3, 3], 6, zero_infinity=True),
    ]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f)
    print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
