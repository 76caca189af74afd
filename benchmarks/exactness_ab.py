"""What exactness costs: today's engine against an earlier commit's, in one process.

The earlier commit's ``relumap_service/core`` (822bdde by default: the engine
before it was made exact, with float tolerances and no certificate) is taken
with ``git archive`` into a scratch directory and imported under another
package name beside this working tree's (or ``--after``'s, taken the same
way), so both run on the same machine at the same moment. Each case
(``benchmarks/run.py``'s He-initialised networks) runs A (before) and B
alternately, one call each, in alternating order
(A B, B A, A B, ...), timed with ``time.process_time`` (CPU seconds of this
process, one BLAS thread), for ``--seconds`` per case. Printed per case: the
median of the pair ratios B / A with its quartiles, and each engine's median
time. Both engines must find the same number of regions or knots.

    .venv/bin/python benchmarks/exactness_ab.py [--before 822bdde] [--after REV] [--seconds 30]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import importlib  # noqa: E402
import io  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import relumap_service.core as today  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "relumap_{}"
CASES: dict[str, tuple[str, tuple[int, ...]]] = {
    "2-64-1": ("regions", (2, 64, 1)),
    "2-64-64-1": ("regions", (2, 64, 64, 1)),
    "2-64-64-64-1": ("regions", (2, 64, 64, 64, 1)),
    "2-128-128-1": ("regions", (2, 128, 128, 1)),
    "knots 1-256-256-256-1": ("knots", (1, 256, 256, 256, 1)),
}


def _import_rev(rev: str, name: str, scratch: Path) -> ModuleType:
    """Import ``rev``'s core package as ``relumap_<name>.core``."""
    package = PACKAGE.format(name)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "service/relumap_service/core"],
        check=True,
        capture_output=True,
    ).stdout
    target = scratch / package
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".py"):
                continue
            extracted = tar.extractfile(member)
            assert extracted is not None
            text = extracted.read().decode().replace("relumap_service", package)
            path = target / Path(member.name).relative_to("service/relumap_service")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    (target / "__init__.py").write_text("")
    if str(scratch) not in sys.path:
        sys.path.insert(0, str(scratch))
    return importlib.import_module(f"{package}.core")


def _he_arrays(sizes: tuple[int, ...]) -> tuple[list[Any], list[Any]]:
    # As benchmarks/run.py's he_network: weights N(0, 2 / n_in), biases N(0, 0.1^2), seed 0.
    rng = np.random.default_rng(0)
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    coefs = [rng.normal(0.0, np.sqrt(2.0 / a), (a, b)) for a, b in pairs]
    intercepts = [rng.normal(0.0, 0.1, b) for b in sizes[1:]]
    return coefs, intercepts


def _call(core: ModuleType, kind: str, sizes: tuple[int, ...]) -> Callable[[], int]:
    coefs, intercepts = _he_arrays(sizes)
    net = core.Network(coefs, intercepts)
    if kind == "knots":
        return lambda: int(core.knots_1d(net, -3.0, 3.0).n_knots)
    return lambda: int(core.regions_2d(net, ((-3, -3), (3, 3)), max_regions=1_000_000).n_regions)


def _cpu(call: Callable[[], int]) -> float:
    start = time.process_time()
    call()
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="822bdde", help="commit of engine A")
    parser.add_argument("--after", help="commit of engine B (default: this working tree)")
    parser.add_argument("--seconds", type=float, default=30.0, help="CPU time per case")
    parser.add_argument("--min-pairs", type=int, default=12)
    parser.add_argument("cases", nargs="*", default=list(CASES), help="case names")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        before = _import_rev(args.before, "before", Path(scratch))
        after = today if args.after is None else _import_rev(args.after, "after", Path(scratch))
        name_b = args.after or "this working tree"
        print(f"A: {args.before}, B: {name_b}; load average {os.getloadavg()[0]:.1f}")
        print(f"{'case':24} {'count':>7} {'pairs':>6} {'A ms':>8} {'B ms':>8} {'B/A':>6} quartiles")
        for name in args.cases:
            kind, sizes = CASES[name]
            a, b = _call(before, kind, sizes), _call(after, kind, sizes)
            count = a()
            if b() != count:
                raise SystemExit(f"{name}: the engines disagree on the count")
            once = _cpu(a) + _cpu(b)
            pairs = max(args.min_pairs, int(args.seconds / max(once, 1e-6)))
            a_times, b_times, ratios = [], [], []
            for i in range(pairs):
                if i % 2:
                    tb, ta = _cpu(b), _cpu(a)
                else:
                    ta, tb = _cpu(a), _cpu(b)
                a_times.append(ta)
                b_times.append(tb)
                ratios.append(tb / ta)
            q1, median, q3 = statistics.quantiles(ratios, n=4)
            print(
                f"{name:24} {count:>7} {pairs:>6} {statistics.median(a_times) * 1e3:>8.1f} "
                f"{statistics.median(b_times) * 1e3:>8.1f} {median:>6.3f} {q1:.3f}-{q3:.3f}",
                flush=True,
            )
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
