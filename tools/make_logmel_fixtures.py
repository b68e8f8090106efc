#!/usr/bin/env python3
"""Writes the log-mel / MFCC golden fixtures used by tests/feature_parity.rs.

Run from the repository root:  python3 tools/make_logmel_fixtures.py
Needs: pip install librosa numpy   (CI never runs this; the outputs are committed.)

Every fixture is a float32 .npy in tests/fixtures/logmel/, time-major ([frames, bins]) to match
the Rust layout (librosa returns [bins, frames]; we transpose). provenance.json records the
library versions and the exact calls.
"""
import json
import pathlib

import librosa
import numpy as np

OUT = pathlib.Path("tests/fixtures/logmel")
OUT.mkdir(parents=True, exist_ok=True)
SR = 16000


def signal_speechlike(secs=1.3, seed=1):
    rng = np.random.default_rng(seed)
    n = int(secs * SR)
    t = np.arange(n) / SR
    f0 = 120 + 60 * np.sin(2 * np.pi * 1.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(0.4 / k * np.sin(k * phase) for k in range(1, 20))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t) ** 2
    x = x * env + 0.01 * rng.standard_normal(n)
    x[: SR // 10] *= 0.001  # a quiet lead-in exercises the top_db clamp
    return x.astype(np.float32)


def signal_short(seed=2):
    rng = np.random.default_rng(seed)
    return (0.2 * rng.standard_normal(int(0.2 * SR))).astype(np.float32)


def save(name, arr):
    np.save(OUT / f"{name}.npy", np.ascontiguousarray(arr.astype(np.float32)))


calls = {}
signals = {"speech": signal_speechlike(), "short": signal_short()}
for sname, y in signals.items():
    save(f"{sname}_input", y)
    # The workbench default (docs/design.md, "Features"): n_fft 2048, hop 512, 128 Slaney mels, fmax 8 kHz, power_to_db top_db 80.
    S = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=2048, hop_length=512, n_mels=128, fmin=0.0, fmax=8000.0,
                                       center=True, pad_mode="constant", power=2.0, htk=False, norm="slaney")
    db = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80.0)
    save(f"{sname}_mel_power_default", S.T)
    save(f"{sname}_logmel_default", db.T)
    # 25 ms / 10 ms preset: n_fft 400, hop 160, 64 mels.
    S2 = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=400, hop_length=160, n_mels=64, fmin=0.0, fmax=8000.0,
                                        center=True, pad_mode="constant", power=2.0, htk=False, norm="slaney")
    save(f"{sname}_logmel_short", librosa.power_to_db(S2, ref=1.0, amin=1e-10, top_db=80.0).T)
    # MFCC on the default log-mel, 20 coefficients, DCT-II ortho, and deltas (width 9, interp).
    mf = librosa.feature.mfcc(S=db, n_mfcc=20, dct_type=2, norm="ortho")
    save(f"{sname}_mfcc_default", mf.T)
    if mf.shape[1] >= 9:
        save(f"{sname}_mfcc_delta1", librosa.feature.delta(mf, width=9, order=1, mode="interp").T)
        save(f"{sname}_mfcc_delta2", librosa.feature.delta(mf, width=9, order=2, mode="interp").T)

save("filterbank_16k_2048_128", librosa.filters.mel(sr=SR, n_fft=2048, n_mels=128, fmin=0.0, fmax=8000.0, htk=False, norm="slaney"))
calls = {
    "librosa": librosa.__version__,
    "numpy": np.__version__,
    "mel_power_default": "librosa.feature.melspectrogram(y, sr=16000, n_fft=2048, hop_length=512, n_mels=128, fmin=0, fmax=8000, center=True, pad_mode='constant', power=2, htk=False, norm='slaney').T",
    "logmel_default": "librosa.power_to_db(mel_power_default, ref=1.0, amin=1e-10, top_db=80).T",
    "logmel_short": "as logmel_default with n_fft=400, hop_length=160, n_mels=64",
    "mfcc_default": "librosa.feature.mfcc(S=logmel_default.T, n_mfcc=20, dct_type=2, norm='ortho').T",
    "mfcc_delta1/2": "librosa.feature.delta(mfcc, width=9, order=1|2, mode='interp').T",
    "filterbank": "librosa.filters.mel(sr=16000, n_fft=2048, n_mels=128, fmin=0, fmax=8000, htk=False, norm='slaney')",
}
(OUT / "provenance.json").write_text(json.dumps(calls, indent=2) + "\n")
print("wrote", sorted(p.name for p in OUT.iterdir()))
