"""The real production server (``relumap-service`` under gunicorn), over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.e2e.servers import running_service

pytestmark = pytest.mark.e2e


def test_fit_predict_and_restart_over_http(tmp_path: Path) -> None:
    # One web process (several are the scale-out and load tests' concern).
    with running_service(tmp_path, "--workers", "1") as url:
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

    with running_service(tmp_path, "--workers", "1") as url:
        again = requests.get(f"{url}/v1/models/{model['id']}", timeout=10).json()
        assert again["status"] == "succeeded"
        assert again["metrics"] == model["metrics"]
        after = requests.post(
            f"{url}/v1/models/{model['id']}/predict", json={"X": [[1.5]]}, timeout=10
        ).json()
        assert after == prediction
        assert requests.get(f"{url}/v1/datasets/{dataset['id']}", timeout=10).status_code == 200
