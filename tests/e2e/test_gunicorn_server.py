"""The real production server (``relumap-service`` under gunicorn), over loopback HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e

SCRIPT = Path(sys.executable).with_name("relumap-service")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(data_dir: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [str(SCRIPT), "--port", str(port), "--data-dir", str(data_dir), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(url + "/readyz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {process.stderr.read().decode()}")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
            process.stderr.close()


def test_fit_predict_and_restart_over_http(tmp_path: Path) -> None:
    with running_server(tmp_path) as url:
        dataset = requests.post(
            url + "/v1/datasets/generate", json={"kind": "square", "n_samples": 200}, timeout=10
        ).json()
        created = requests.post(
            url + "/v1/models?wait=60",
            json={"dataset_id": dataset["id"], "hidden_layer_sizes": [16]},
            timeout=70,
        )
        assert created.status_code == 201, created.text
        model = created.json()
        assert model["status"] == "succeeded"
        assert model["metrics"]["test"]["r2"] > 0.95
        prediction = requests.post(
            f"{url}/v1/models/{model['id']}/predict", json={"X": [[1.5]]}, timeout=10
        ).json()
        assert abs(prediction["predictions"][0] - 2.25) < 0.2
        bad = requests.post(url + "/v1/datasets", data="x", timeout=10)
        assert bad.status_code == 415
        assert bad.headers["Content-Type"] == "application/problem+json"
        assert requests.get(url + "/docs", timeout=10).status_code == 200

    with running_server(tmp_path) as url:
        again = requests.get(f"{url}/v1/models/{model['id']}", timeout=10).json()
        assert again["status"] == "succeeded"
        assert again["metrics"] == model["metrics"]
        after = requests.post(
            f"{url}/v1/models/{model['id']}/predict", json={"X": [[1.5]]}, timeout=10
        ).json()
        assert after == prediction
        assert requests.get(f"{url}/v1/datasets/{dataset['id']}", timeout=10).status_code == 200
