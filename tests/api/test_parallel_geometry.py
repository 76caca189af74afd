"""/regions on worker processes (RELUMAP_GEOMETRY_PROCESSES): the same answer, no process left."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from test_parallel_regions import _descendants, _spare_pids  # noqa: E402

from relumap_service.api.geometry import PARALLEL_HIDDEN_UNITS  # noqa: E402


def wide_network() -> dict[str, Any]:
    """PARALLEL_HIDDEN_UNITS units, a dozen of them with a line through [-1, 1]²."""
    rng = np.random.default_rng(7)
    n = PARALLEL_HIDDEN_UNITS
    w = rng.normal(size=(2, n))
    b = np.full(n, 50.0)
    b[:12] = rng.uniform(-0.5, 0.5, 12)
    v = rng.normal(size=(n, 1))
    return {"coefs": [w.tolist(), v.tolist()], "intercepts": [b.tolist(), [0.0]]}


def regions_of(app: Any, document: dict[str, Any]) -> dict[str, Any]:
    client = app.test_client()
    model_id = client.post("/v1/networks", json=document).get_json()["id"]
    response = client.get(f"/v1/models/{model_id}/regions")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    body: dict[str, Any] = response.get_json()
    return body


def by_pattern(body: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    offsets = body["offsets"]
    return {
        pattern: (body["gradients"][i], offsets[i + 1] - offsets[i], round(body["areas"][i], 9))
        for i, pattern in enumerate(body["patterns"])
    }


@pytest.mark.slow
def test_worker_processes_answer_as_one_process(app_factory):
    before, spares = _descendants(), _spare_pids()
    # A generous deadline: the first map starts the forkserver, which imports the engine.
    one = regions_of(app_factory(GEOMETRY_PROCESSES=1), wide_network())
    app = app_factory(GEOMETRY_PROCESSES=2, REQUEST_TIMEOUT=300.0)
    assert app.test_client().get("/v1").get_json()["limits"]["geometry_processes"] == 2
    two = regions_of(app, wide_network())
    assert one["n_regions"] == two["n_regions"] > 12
    assert one["n_linear_regions"] == two["n_linear_regions"]
    assert one["n_points"] == two["n_points"]
    assert by_pattern(one).keys() == by_pattern(two).keys()
    for key, (gradient, count, area) in by_pattern(one).items():
        other = by_pattern(two)[key]
        np.testing.assert_allclose(other[0], gradient, rtol=1e-12, atol=1e-12)
        assert (other[1], other[2]) == (count, area)
    # The fit consumer keeps a fit process forked ahead of the next fit (it
    # ends when the consumer stops); only the map's workers must be gone.
    spares |= _spare_pids()
    assert _descendants().keys() - spares == before.keys() - spares


@pytest.mark.parametrize("value", ["0", "-2"])
def test_geometry_processes_must_be_positive(value, monkeypatch, tmp_path):
    from relumap_service.config import load_config

    with pytest.raises(ValueError, match="GEOMETRY_PROCESSES"):
        load_config({"DATA_DIR": str(tmp_path)}, {"RELUMAP_GEOMETRY_PROCESSES": value})
