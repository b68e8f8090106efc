#!/usr/bin/env python3
"""scikit-learn references for the classification report (src/eval/metrics.rs, tested in
tests/metrics_sklearn.rs).

Run from the repository root:  python3 tools/make_metric_fixtures.py   (needs scikit-learn)
Every macro average is sklearn's with labels = the run's classes (0..k-1), so a class that is
absent from the truth counts (with F1 0, recall 0); UA is balanced_accuracy_score, which averages
recall over the classes present in the truth only; WA is accuracy_score.
"""
import json
import pathlib
import warnings

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, f1_score,
                             precision_recall_fscore_support, precision_score, recall_score)

warnings.filterwarnings("ignore")  # zero-division warnings are the cases under test
rng = np.random.default_rng(7)
CASES = [
    ("hand_three_class", 3, [0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2]),
    ("majority_classifier", 2, [0] * 8 + [1] * 2, [0] * 10),
    ("absent_class_never_predicted", 3, [0, 1, 1, 0], [0, 1, 0, 0]),
    ("absent_class_predicted", 3, [0, 0, 1, 1, 1], [0, 2, 1, 2, 1]),
    ("class_never_predicted", 4, [0, 1, 2, 3, 3, 2, 1], [0, 1, 1, 0, 0, 1, 1]),
    ("random_7_class", 7, rng.integers(0, 7, 120).tolist(), rng.integers(0, 7, 120).tolist()),
    ("random_4_class_missing_truth", 4, rng.integers(0, 3, 50).tolist(),
     rng.integers(0, 4, 50).tolist()),
]


def main():
    out = {"sklearn": sklearn.__version__, "script": "tools/make_metric_fixtures.py", "cases": []}
    for name, k, truth, pred in CASES:
        labels = list(range(k))
        p, r, f, s = precision_recall_fscore_support(truth, pred, labels=labels, zero_division=0)
        out["cases"].append({
            "name": name,
            "n_classes": k,
            "truth": truth,
            "pred": pred,
            "wa": accuracy_score(truth, pred),
            "ua": balanced_accuracy_score(truth, pred),
            "macro_f1": f1_score(truth, pred, labels=labels, average="macro"),
            "macro_precision": precision_score(truth, pred, labels=labels, average="macro"),
            "macro_recall": recall_score(truth, pred, labels=labels, average="macro"),
            "weighted_f1": f1_score(truth, pred, labels=labels, average="weighted"),
            "precision": p.tolist(),
            "recall": r.tolist(),
            "f1": f.tolist(),
            "support": s.tolist(),
        })
    path = pathlib.Path("tests/fixtures/metrics/sklearn_cases.json")
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
