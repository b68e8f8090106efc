#!/usr/bin/env python3
"""numpy references for the dimensional (regression) metrics of src/eval/regression.rs, tested in
tests/metrics_sklearn.rs.

Run from the repository root:  python3 tools/make_regression_fixtures.py   (needs numpy)
CCC (Lin 1989) with population (ddof 0) variances and covariance:
  2·cov(x, y) / (var(x) + var(y) + (mean(x) − mean(y))²);
Pearson r = np.corrcoef; MAE = mean |x − y|; RMSE = sqrt(mean (x − y)²).
"""
import json
import pathlib

import numpy as np

rng = np.random.default_rng(3)
t = rng.uniform(1, 7, 200)
CASES = {
    "random_noisy": (t + rng.normal(0, 1.0, 200), t),
    "biased_scaled": (0.5 * t + 2.0, t),
    "anti_correlated": (-t + rng.normal(0, 0.3, 200), t),
    "small_hand": (np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 4.0, 5.0])),
}


def ccc(x, y):
    mx, my = x.mean(), y.mean()
    cov = ((x - mx) * (y - my)).mean()
    return 2 * cov / (x.var() + y.var() + (mx - my) ** 2)


out = {}
for name, (p, y) in CASES.items():
    out[name] = {
        "pred": p.tolist(),
        "truth": y.tolist(),
        "ccc": ccc(p, y),
        "pearson": float(np.corrcoef(p, y)[0, 1]),
        "mae": float(np.abs(p - y).mean()),
        "rmse": float(np.sqrt(((p - y) ** 2).mean())),
    }
out["_provenance"] = {"script": "tools/make_regression_fixtures.py", "numpy": np.__version__}
pathlib.Path("tests/fixtures/metrics/regression_cases.json").write_text(json.dumps(out, indent=1))
print({k: round(v["ccc"], 4) for k, v in out.items() if not k.startswith("_")})
