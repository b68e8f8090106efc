#!/usr/bin/env python3
"""Times librosa's log-mel on the same workload as `ser-workbench bench logmel`.

Run: python3 tools/bench_librosa.py [--audio-secs 600]
Same signal recipe (3 s files of a harmonic tone with wandering pitch + noise, 16 kHz), same
parameters (n_fft 2048, hop 512, 128 Slaney mels, fmax 8 kHz, power_to_db top_db 80), one process.
Two modes, as `bench logmel` reports them: single utterances (files one after another) and a batch
of files (librosa on a [batch, samples] array, which it transforms in one call; power_to_db per
file, as the workbench clamps each file to its own peak). Each mode: the best of `--passes` passes (3 by
default), as `bench logmel --passes` reports. Prints audio seconds per second and one JSON line.

With `--against PATH` (the `ser-workbench` binary) it runs `--rounds` rounds instead, each one
`PATH bench logmel --passes P` followed by librosa's passes, and reports the ratio of every round
and their medians: this VM's speed drifts by ±20 % within minutes, so ratios taken from runs
minutes apart say little, and alternating the two many times is what gives a steady figure.
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
p.add_argument("--against", help="ser-workbench binary: alternate it with librosa for --rounds rounds")
p.add_argument("--rounds", type=int, default=9, help="rounds with --against")
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
batches = [np.stack(files[i : i + a.batch]) for i in range(0, n_files, a.batch)]


def one_at_a_time():
    rates = []
    for _ in range(PASSES):
        t = time.perf_counter()
        for y in files:
            logmel(y)
        rates.append(n_files * file_secs / (time.perf_counter() - t))
    return rates


def in_batches():
    rates = []
    for _ in range(PASSES):
        t = time.perf_counter()
        for b in batches:
            S = librosa.feature.melspectrogram(y=b, sr=SR, n_fft=2048, hop_length=512, n_mels=128, fmax=8000.0)
            for s in S:
                librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=80.0)
        rates.append(n_files * file_secs / (time.perf_counter() - t))
    return rates


if a.against:
    import statistics
    import subprocess

    rows = []
    print("| round | ours 1 thread | librosa one file | ratio | ours batch | librosa batches | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in range(1, a.rounds + 1):
        out = subprocess.run([a.against, "bench", "logmel", "--passes", str(PASSES), "--audio-secs", str(a.audio_secs)],
                             check=True, capture_output=True, text=True).stdout
        ours = json.loads(out.strip().splitlines()[-1])
        single, batch = max(one_at_a_time()), max(in_batches())
        row = (ours["single_thread_audio_secs_per_sec"], single, ours["audio_secs_per_sec"], batch)
        rows.append(row)
        print(f"| {r} | {row[0]:.0f} | {row[1]:.0f} | {row[0] / row[1]:.1f}x | {row[2]:.0f} | {row[3]:.0f} | {row[2] / row[3]:.1f}x |", flush=True)
    med_1 = statistics.median(o / l for o, l, _, _ in rows)
    med_b = statistics.median(o / l for _, _, o, l in rows)
    print(f"median ratio over {len(rows)} rounds: one file at a time {med_1:.1f}x, batch of files {med_b:.1f}x")
    print(json.dumps({"bench": "logmel-vs-librosa", "rounds": len(rows), "median_ratio_single": round(med_1, 2),
                      "median_ratio_batch": round(med_b, 2)}))
    raise SystemExit(0)

rates = one_at_a_time()
rate = max(rates)
print(f"librosa {librosa.__version__}: {n_files} files x {file_secs} s, best of {PASSES}: {rate:.1f} s of audio per second (passes: {', '.join(f'{r:.0f}' for r in rates)})")
rates_b = in_batches()
rate_b = max(rates_b)
print(f"librosa, batches of {a.batch}, best of {PASSES}: {rate_b:.1f} s of audio per second (passes: {', '.join(f'{r:.0f}' for r in rates_b)})")
print(json.dumps({"bench": "logmel-librosa", "threads": 1, "audio_secs_per_sec": round(rate, 1),
                  "batch": a.batch, "batch_audio_secs_per_sec": round(rate_b, 1)}))
