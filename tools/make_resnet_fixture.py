#!/usr/bin/env python3
"""PyTorch reference for the ResNet baseline (SpeechMLC's ResNet-34 on log-mel; a small stack
with the same structure here) for tests/model_parity.rs: torchvision's resnet written with
torch.nn.functional (conv 7x7/2 pad 3 no bias -> BN -> ReLU -> max-pool 3x3/2 pad 1 -> basic
blocks with 1x1/2 conv + BN shortcuts where the shape changes -> global average -> linear), one
input channel, the spectrogram [batch, time, bins] as the image [batch, 1, time, bins].

Run from the repository root:  PYTHONPATH=tools python3 tools/make_resnet_fixture.py   (needs torch, numpy,
safetensors). Writes tests/fixtures/models/resnet/ with the helpers of make_model_fixtures.py
(burn module paths and layouts; BatchNorm on running statistics).
"""
import math

import torch
import torch.nn.functional as F

from make_model_fixtures import EPS_BN, State, write

torch.manual_seed(34)


def conv(s, path, c_in, c_out, k):
    w = torch.randn(c_out, c_in, k, k) * (1.0 / math.sqrt(c_in * k * k))
    s.t[f"{path}.weight"] = w
    return w


def main():
    s = State()
    blocks, width, n_out = [2, 1, 1], 4, 3
    w1 = conv(s, "conv1", 1, width, 7)
    bn1 = s.batchnorm("bn1", width)
    stages = []
    c_in = width
    for si, n in enumerate(blocks):
        c = width << si
        stage = []
        for b in range(n):
            stride = 2 if si > 0 and b == 0 else 1
            p = f"stages.{si}.{b}"
            cw1 = conv(s, f"{p}.conv1", c_in, c, 3)
            b1 = s.batchnorm(f"{p}.bn1", c)
            cw2 = conv(s, f"{p}.conv2", c, c, 3)
            b2 = s.batchnorm(f"{p}.bn2", c)
            down = None
            if stride != 1 or c_in != c:
                dw = conv(s, f"{p}.down.conv", c_in, c, 1)
                db = s.batchnorm(f"{p}.down.bn", c)
                down = (dw, db)
            stage.append((cw1, b1, cw2, b2, down, stride))
            c_in = c
        stages.append(stage)
    fc = s.linear("fc", c_in, n_out)

    x = torch.randn(2, 37, 20)  # [batch, time, bins]
    h = x.unsqueeze(1)
    h = F.max_pool2d(F.relu(bn1(F.conv2d(h, w1, stride=2, padding=3))), 3, stride=2, padding=1)
    for stage in stages:
        for cw1, b1, cw2, b2, down, stride in stage:
            y = F.relu(b1(F.conv2d(h, cw1, stride=stride, padding=1)))
            y = b2(F.conv2d(y, cw2, padding=1))
            sc = h if down is None else down[1](F.conv2d(h, down[0], stride=stride))
            h = F.relu(y + sc)
    emb = h.mean((2, 3))
    write("resnet", s, {"input": x, "output": fc(emb), "embedding": emb},
          {"blocks": blocks, "width": width, "outputs": n_out, "eps_bn": EPS_BN})
    print("wrote tests/fixtures/models/resnet")


if __name__ == "__main__":
    main()
