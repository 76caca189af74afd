"""What recording training snapshots costs a fit: A/B against the same fit without them.

Times ``fit_network`` (the service's fit, in one process) on the 1D ``square``
set and the 2D ``xor`` set with ``snapshots=0`` (A) and ``snapshots=40`` (B),
runs alternating A, B, A, B... so that the machine's load hits both alike,
with ``time.process_time`` (CPU seconds of this process). Prints the median
of each and the ratio B / A per case. The fit itself is the same in both
(``tests/core/test_training_snapshots.py`` checks it bit for bit): the extra
time is copying iterates, picking, folding and packing them.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from relumap_service.core.datasets import generate  # noqa: E402
from relumap_service.core.fitting import FitParams, fit_network  # noqa: E402

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("square", "regression", {"hidden_layer_sizes": (16,), "solver": "lbfgs"}),
    ("square", "regression", {"hidden_layer_sizes": (16, 16), "solver": "adam", "max_iter": 300}),
    ("xor", "classification", {"hidden_layer_sizes": (16, 16), "solver": "lbfgs"}),
]


def _seconds(X: Any, y: Any, task: str, params: FitParams) -> tuple[float, int]:
    start = time.process_time()
    result = fit_network(X, y, params, task)  # type: ignore[arg-type]
    return time.process_time() - start, int(result["n_iter"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7, help="runs of each of A and B")
    args = parser.parse_args(argv)
    print(f"{'case':44} {'iters':>6} {'A: 0 (s)':>9} {'B: 40 (s)':>10} {'B / A':>6}")
    for kind, task, extra in CASES:
        data = generate(kind, n_samples=400, noise=0.05, random_state=0)
        X, y = data.X, data.y
        if task == "classification":
            classes = sorted(set(y.tolist()))
            y = [classes.index(v) for v in y.tolist()]
        a_times, b_times = [], []
        n_iter = 0
        for _ in range(args.repeats):
            a, n_iter = _seconds(X, y, task, FitParams(**extra, snapshots=0))
            b, _ = _seconds(X, y, task, FitParams(**extra, snapshots=40))
            a_times.append(a)
            b_times.append(b)
        a_med, b_med = statistics.median(a_times), statistics.median(b_times)
        name = f"{kind} {extra['solver']} {list(extra['hidden_layer_sizes'])}"
        print(f"{name:44} {n_iter:>6} {a_med:>9.3f} {b_med:>10.3f} {b_med / a_med:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
