#!/usr/bin/env python3
"""Multi-label metric cases with scikit-learn's answers, for tests/metrics_sklearn.rs
(eval::multilabel against precision_recall_fscore_support / f1_score / average_precision_score).

Run from the repository root:  python3 tools/make_multilabel_fixtures.py
Needs: pip install scikit-learn numpy   (CI never runs this; the output is committed.)

Writes tests/fixtures/metrics/multilabel_cases.json: per case the probabilities (rounded to
float32-exact values), 0/1 truth, per-label thresholds, and sklearn's per-label precision,
recall, F1 (zero_division=0), support, average precision (null where a label has no positive),
macro F1 and micro precision/recall/F1. Cases include a label never true, a label never
predicted, tied scores and per-label thresholds.
"""
import json
import pathlib

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, precision_recall_fscore_support

OUT = pathlib.Path("tests/fixtures/metrics/multilabel_cases.json")
rng = np.random.default_rng(7)


def case(name, probs, truth, thresholds):
    probs = np.asarray(probs, dtype=np.float32)
    truth = np.asarray(truth, dtype=np.int64)
    th = np.asarray(thresholds, dtype=np.float32)
    pred = (probs >= th[None, :]).astype(np.int64)
    p, r, f, s = precision_recall_fscore_support(truth, pred, average=None, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(truth, pred, average="micro", zero_division=0)
    ap = [float(average_precision_score(truth[:, k], probs[:, k])) if truth[:, k].any() else None
          for k in range(truth.shape[1])]
    return {
        "name": name,
        "probs": probs.astype(float).tolist(),
        "truth": truth.tolist(),
        "thresholds": th.astype(float).tolist(),
        "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(),
        "support": s.tolist(), "average_precision": ap,
        "macro_f1": float(f1_score(truth, pred, average="macro", zero_division=0)),
        "micro_precision": float(mp), "micro_recall": float(mr), "micro_f1": float(mf),
    }


cases = []
n, k = 60, 5
truth = (rng.random((n, k)) < [0.5, 0.3, 0.1, 0.0, 0.6]).astype(int)
probs = np.clip(0.35 * truth + 0.65 * rng.random((n, k)), 0, 1)
probs[:, 4] = np.round(probs[:, 4] * 4) / 4  # ties
cases.append(case("random with an absent label and ties", probs, truth, [0.5] * k))
probs2 = probs.copy()
probs2[:, 1] = 0.1  # never predicted
cases.append(case("a label never predicted, per-label thresholds", probs2, truth,
                  [0.3, 0.5, 0.6, 0.5, 0.45]))
OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps({"cases": cases}, indent=1))
print(f"wrote {OUT}: {len(cases)} cases")
