#!/usr/bin/env python3
"""Times librosa's log-mel on the same workload as `ser-workbench bench logmel`.

Run: python3 tools/bench_librosa.py [--audio-secs 600]
Same signal recipe (3 s files of a harmonic tone with wandering pitch + noise, 16 kHz), same
parameters (n_fft 2048, hop 512, 128 Slaney mels, fmax 8 kHz, power_to_db top_db 80), one process.
Two modes, as `bench logmel` reports them: single utterances (files one after another) and a batch
of files (librosa on a [batch, samples] array, which it transforms in one call; power_to_db per
file, as the workbench clamps each file to its own peak). Each mode: the best of `--passes` passes (3 by
default), as `bench logmel --passes` reports. Prints audio seconds per second and one JSON line.
"""
import argparse
import json
import time

import librosa
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--audio-secs", type=float, default=600.0)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--passes", type=int, default=3, help="passes per mode, the best reported (as `bench logmel --passes`)")
a = p.parse_args()
SR = 16000
file_secs = 3.0
n_files = max(1, int(np.ceil(a.audio_secs / file_secs)))


def sig(seed):
    rng = np.random.default_rng(seed)
    n = int(file_secs * SR)
    t = np.arange(n) / SR
    f0 = 140 + 40 * np.sin(t * 3.0)
    ph = 2 * np.pi * np.cumsum(f0) / SR
    return (0.3 * np.sin(ph) + 0.15 * np.sin(2 * ph) + 0.08 * np.sin(3 * ph) + 0.02 * rng.standard_normal(n)).astype(np.float32)


files = [sig(i) for i in range(n_files)]


def logmel(y):
    S = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=2048, hop_length=512, n_mels=128, fmax=8000.0)
    return librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80.0)


PASSES = max(1, a.passes)
logmel(files[0])  # warm-up: filterbank cache, FFT plans
rates = []
for _ in range(PASSES):
    t = time.perf_counter()
    for y in files:
        logmel(y)
    rates.append(n_files * file_secs / (time.perf_counter() - t))
rate = max(rates)
print(f"librosa {librosa.__version__}: {n_files} files x {file_secs} s, best of {PASSES}: {rate:.1f} s of audio per second (passes: {', '.join(f'{r:.0f}' for r in rates)})")

batches = [np.stack(files[i : i + a.batch]) for i in range(0, n_files, a.batch)]
rates_b = []
for _ in range(PASSES):
    t = time.perf_counter()
    for b in batches:
        S = librosa.feature.melspectrogram(y=b, sr=SR, n_fft=2048, hop_length=512, n_mels=128, fmax=8000.0)
        for s in S:
            librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=80.0)
    rates_b.append(n_files * file_secs / (time.perf_counter() - t))
rate_b = max(rates_b)
print(f"librosa, batches of {a.batch}, best of {PASSES}: {rate_b:.1f} s of audio per second (passes: {', '.join(f'{r:.0f}' for r in rates_b)})")
print(json.dumps({"bench": "logmel-librosa", "threads": 1, "audio_secs_per_sec": round(rate, 1),
                  "batch": a.batch, "batch_audio_secs_per_sec": round(rate_b, 1)}))
