#!/usr/bin/env python3
"""Writes the golden fixtures of tests/baselines.rs: the functionals stream against librosa,
and the Linear model's solvers against scikit-learn.

Run from the repository root:  python3 tools/make_baseline_fixtures.py
Needs: pip install librosa scikit-learn numpy   (CI never runs this; the outputs are committed.)

Functionals (docs/baselines.md): librosa computes every frame-level descriptor (log-mel, MFCC
and deltas, RMS in dB, zero-crossing rate, YIN F0 and YIN's "trough below threshold" flag);
numpy computes the voicing rule and the functionals exactly as documented. Files in
tests/fixtures/baselines/ are float32 .npy (the Rust reader's type); provenance.json records
the versions and calls.
"""
import json
import pathlib

import librosa
import numpy as np
import sklearn
from librosa.core.pitch import _cumulative_mean_normalized_difference
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

OUT = pathlib.Path("tests/fixtures/baselines")
OUT.mkdir(parents=True, exist_ok=True)
SR = 16000
N_FFT, HOP, N_MELS, N_MFCC = 400, 160, 40, 13
FMIN, FMAX, YIN_FRAME, YIN_THR, VOICING_DB = 60.0, 500.0, 1024, 0.1, 35.0


def save(name, arr):
    np.save(OUT / f"{name}.npy", np.ascontiguousarray(np.asarray(arr, dtype=np.float32)))


def signal():
    """0.3 s near-silence, 0.8 s of a gliding harmonic voice, 0.25 s of noise, 0.25 s voice."""
    rng = np.random.default_rng(7)

    def voice(secs, f_from, f_to):
        n = int(secs * SR)
        f0 = np.linspace(f_from, f_to, n)
        phase = 2 * np.pi * np.cumsum(f0) / SR
        x = sum(0.5 / k * np.sin(k * phase) for k in range(1, 12))
        return x * np.hanning(n) ** 0.3

    parts = [
        1e-4 * rng.standard_normal(int(0.3 * SR)),
        voice(0.8, 120, 190),
        0.05 * rng.standard_normal(int(0.25 * SR)),
        voice(0.25, 220, 210),
    ]
    return np.concatenate(parts).astype(np.float32)


def stats(v, t):
    if len(v) == 0:
        return [0.0] * 6
    v, t = np.asarray(v, np.float64), np.asarray(t, np.float64)
    tc = t - t.mean()
    slope = float((tc * (v - v.mean())).sum() / (tc**2).sum()) if (tc**2).sum() > 0 else 0.0
    p20, p50, p80 = np.percentile(v, [20, 50, 80])
    return [v.mean(), v.std(), p20, p50, p80, slope]


def functionals(y):
    S = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS,
                                       fmin=0.0, fmax=8000.0, center=True, pad_mode="constant",
                                       power=2.0, htk=False, norm="slaney")
    logmel = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80.0)
    mf = librosa.feature.mfcc(S=logmel, n_mfcc=N_MFCC, dct_type=2, norm="ortho")
    d1 = librosa.feature.delta(mf, width=9, order=1)
    d2 = librosa.feature.delta(mf, width=9, order=2)
    rms = librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP, center=True, pad_mode="constant")[0]
    rms_db = librosa.amplitude_to_db(rms, ref=1.0, amin=1e-5, top_db=80.0)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP, center=True)[0]
    f0 = librosa.yin(y, fmin=FMIN, fmax=FMAX, sr=SR, frame_length=YIN_FRAME, hop_length=HOP,
                     trough_threshold=YIN_THR, center=True, pad_mode="constant")
    # YIN's "a trough below the threshold exists" per frame, from librosa's own internals.
    frames = librosa.util.frame(np.pad(y, YIN_FRAME // 2), frame_length=YIN_FRAME, hop_length=HOP)
    min_p, max_p = int(np.floor(SR / FMAX)), min(int(np.ceil(SR / FMIN)), YIN_FRAME - 1)
    cmnd = _cumulative_mean_normalized_difference(frames, min_p, max_p)
    trough = librosa.util.localmin(cmnd, axis=-2)
    trough[0, :] = cmnd[0, :] < cmnd[1, :]
    periodic = np.any(trough & (cmnd < YIN_THR), axis=0)
    voiced = periodic & (rms_db >= rms_db.max() - VOICING_DB)
    n = logmel.shape[1]
    times = np.arange(n) * HOP / SR
    out, names = [], []
    llds = [(f"logmel{i}", logmel[i]) for i in range(N_MELS)]
    llds += [(f"mfcc{k}", mf[k]) for k in range(N_MFCC)]
    llds += [(f"mfcc{k}_d", d1[k]) for k in range(N_MFCC)]
    llds += [(f"mfcc{k}_dd", d2[k]) for k in range(N_MFCC)]
    llds += [("rms_db", rms_db), ("zcr", zcr)]
    for name, v in llds:
        out += stats(v, times)
        names += [f"{name}_{s}" for s in ["mean", "std", "p20", "p50", "p80", "slope"]]
    st = 12 * np.log2(f0[voiced] / 27.5)
    out += stats(st, times[voiced])
    names += [f"f0_st_{s}" for s in ["mean", "std", "p20", "p50", "p80", "slope"]]
    # Utterance level: duration, voiced ratio, voiced segments per second, mean voiced and
    # unvoiced segment lengths.
    runs = []
    for v in voiced:
        if runs and runs[-1][0] == v:
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
    spf = HOP / SR

    def mean_len(want):
        lens = [r[1] for r in runs if r[0] == want]
        return float(np.mean(lens)) * spf if lens else 0.0

    dur = len(y) / SR
    out += [dur, voiced.mean(), sum(1 for r in runs if r[0]) / dur, mean_len(True), mean_len(False)]
    names += ["duration_s", "voiced_ratio", "voiced_segments_per_s", "voiced_segment_mean_s",
              "unvoiced_segment_mean_s"]
    return dict(f0=f0, periodic=periodic, voiced=voiced, rms_db=rms_db, zcr=zcr,
                vector=np.array(out), names=names)


y = signal()
save("input", y)
f = functionals(y)
for k in ["f0", "periodic", "voiced", "rms_db", "zcr", "vector"]:
    save(k, f[k])
(OUT / "names.json").write_text(json.dumps(f["names"]))

# Solvers: three Gaussian classes in 6 dimensions, standardised.
rng = np.random.default_rng(3)
centres = rng.normal(0, 1.2, (3, 6))
y_cls = np.repeat(np.arange(3), 40)
X = centres[y_cls] + rng.normal(0, 1.0, (120, 6))
X = (X - X.mean(0)) / X.std(0)
save("solver_x", X)
save("solver_y", y_cls)
lr = LogisticRegression(C=0.5, tol=1e-10, max_iter=10000).fit(X, y_cls)
save("logreg_proba", lr.predict_proba(X))
save("logreg_coef", lr.coef_.T)  # [inputs, classes] as the Rust module stores it
save("logreg_intercept", lr.intercept_)
# One-vs-rest linear SVMs (SVC, linear kernel, C = 0.1): the decision value per class.
dec = np.stack([SVC(kernel="linear", C=0.1, tol=1e-6).fit(X, y_cls == k).decision_function(X)
                for k in range(3)], axis=1)
save("svm_decision", dec)

(OUT / "provenance.json").write_text(json.dumps({
    "librosa": librosa.__version__, "numpy": np.__version__, "sklearn": sklearn.__version__,
    "functionals": f"melspectrogram(n_fft={N_FFT}, hop={HOP}, n_mels={N_MELS}, fmax=8000, slaney) + power_to_db(top_db=80); "
                   f"mfcc(n_mfcc={N_MFCC}, ortho) + delta(width=9, order=1,2); rms(frame_length={N_FFT}) + amplitude_to_db(amin=1e-5, top_db=80); "
                   f"zero_crossing_rate(frame_length={N_FFT}); yin(fmin={FMIN}, fmax={FMAX}, frame_length={YIN_FRAME}, trough_threshold={YIN_THR}); "
                   f"voiced = periodic & rms_db >= max - {VOICING_DB}",
    "logreg": "LogisticRegression(C=0.5, tol=1e-10, max_iter=10000) (multinomial, lbfgs)",
    "svm": "SVC(kernel='linear', C=0.1, tol=1e-6) per class against the rest",
}, indent=1))
print("names:", len(f["names"]), "voiced frames:", int(f["voiced"].sum()), "of", len(f["voiced"]))
