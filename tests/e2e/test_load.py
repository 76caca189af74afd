"""Heavy geometry must not starve health checks: a bounded load test on loopback.

The real server (gunicorn, 2 processes of 4 threads, the embedded fit consumer)
gets 8 maximal `/regions` requests at once (a network whose map exceeds
`RELUMAP_MAX_REGIONS`, so each computes up to the limit) while 40 fits are
queued, and `/livez` and `/readyz` are polled throughout. Each heavy request
computes up to the limit (422), runs out of time (503, `request_timeout`) or
is turned away busy (503); both 503s carry `Retry-After`. Every health check
answers within a second. The limits are lowered (50,000 regions, 10 s) to keep
the test short on a shared 2-core machine; the default 200,000-region limit
behaves the same, only slower.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from tests.e2e.servers import running_service

pytestmark = pytest.mark.e2e

HEAVY_REQUESTS = 8
FITS = 40
POLL_SECONDS = 0.05
HEALTH_LIMIT_SECONDS = 1.0


def he_network(sizes: tuple[int, ...], seed: int = 0) -> dict[str, Any]:
    """Weights N(0, 2 / n_in), biases N(0, 0.1^2): benchmarks/run.py's networks."""
    rng = np.random.default_rng(seed)
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    return {
        "coefs": [rng.normal(0.0, np.sqrt(2.0 / a), (a, b)).tolist() for a, b in pairs],
        "intercepts": [rng.normal(0.0, 0.1, b).tolist() for b in sizes[1:]],
        "domain": [[-3.0, -3.0], [3.0, 3.0]],
    }


class HealthPoller(threading.Thread):
    """Poll `/livez` and `/readyz` in turn until stopped; keep every latency."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.latencies: dict[str, list[float]] = {"/livez": [], "/readyz": []}
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        # A new connection per poll, as a load balancer's checks come: a kept-alive
        # one would stay with one process and miss the other one's queue.
        while not self.stop.is_set():
            for path, latencies in self.latencies.items():
                started = time.monotonic()
                try:
                    response = requests.get(
                        self.url + path, timeout=60, headers={"Connection": "close"}
                    )
                except requests.RequestException as exc:
                    self.failures.append(f"{path}: {exc}")
                    continue
                latencies.append(time.monotonic() - started)
                if response.status_code != 200:
                    self.failures.append(f"{path}: {response.status_code}")
            time.sleep(POLL_SECONDS)


@pytest.mark.slow
def test_health_checks_stay_fast_under_maximal_geometry_and_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELUMAP_MAX_REGIONS", "50000")
    monkeypatch.setenv("RELUMAP_REQUEST_TIMEOUT", "10")
    with running_service(tmp_path, "--workers", "2", "--threads", "4") as url:
        limits = requests.get(url + "/v1", timeout=10).json()["limits"]
        network = requests.post(url + "/v1/networks", json=he_network((2, 200, 200, 1)), timeout=30)
        assert network.status_code == 201, network.text
        regions_url = f"{url}/v1/models/{network.json()['id']}/regions"
        dataset = requests.post(
            url + "/v1/datasets/generate", json={"kind": "xor", "n_samples": 200}, timeout=10
        ).json()

        def heavy(_: int) -> tuple[str, float, str]:
            started = time.monotonic()
            response = requests.get(regions_url, timeout=60)
            seconds = time.monotonic() - started
            outcome = str(response.status_code)
            if response.status_code in (422, 503):
                outcome += ":" + response.json()["limit"]
            return outcome, seconds, response.headers.get("Retry-After", "")

        def fit(_: int) -> int:
            body = {"dataset_id": dataset["id"], "hidden_layer_sizes": [8], "max_iter": 300}
            return requests.post(url + "/v1/models", json=body, timeout=30).status_code

        poller = HealthPoller(url)
        poller.start()
        started = time.monotonic()
        with ThreadPoolExecutor(HEAVY_REQUESTS + 4) as pool:
            heavy_results = [pool.submit(heavy, k) for k in range(HEAVY_REQUESTS)]
            fit_results = [pool.submit(fit, k) for k in range(FITS)]
            outcomes = [future.result() for future in heavy_results]
            fits = [future.result() for future in fit_results]
        load_seconds = time.monotonic() - started
        time.sleep(0.5)  # a few polls after the load too
        poller.stop.set()
        poller.join(timeout=15)

    worst = {path: max(values) for path, values in poller.latencies.items()}
    print(
        f"\nload: {load_seconds:.1f} s; heavy answers {sorted(o[0] for o in outcomes)} after "
        f"{[round(o[1], 1) for o in outcomes]} s; health polls "
        f"{ {path: len(values) for path, values in poller.latencies.items()} }, "
        f"worst latency {worst}"
    )
    assert not poller.failures, poller.failures[:5]
    assert all(len(values) >= 20 for values in poller.latencies.values())
    assert all(status in (201, 202) for status in fits), fits
    kinds = [kind for kind, _, _ in outcomes]
    busy = "503:max_concurrent_geometry"
    assert set(kinds) <= {"422:max_regions", "503:request_timeout", busy}, kinds
    # Heavy work did run beside the health checks; what could not run was refused.
    assert any(kind != busy for kind in kinds), kinds
    assert all(retry.isdigit() for kind, _, retry in outcomes if kind.startswith("503"))
    # Each answer came near its deadline at the latest (the engine checks it between cuts).
    assert max(seconds for _, seconds, _ in outcomes) < limits["request_timeout"] + 10
    assert max(worst.values()) < HEALTH_LIMIT_SECONDS, worst
