"""Bounded heavy work: work limits (422), the request deadline (503) and turns (503 busy).

The expensive network is a zig-zag: one input and hidden layers of six units,
each layer the sawtooth map of [0, 1] onto itself with six monotone teeth, so
``L`` layers cut [0, 1] into exactly ``6**L`` pieces of slope ``±6**L`` (a
closed form the tests check on small depths). Eight layers hold 48 units, 5%
of the default unit limit, and 6**8 = 1,679,616 pieces.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from relumap_service.api.heavy_work import heavy_turn
from relumap_service.config import DEFAULTS

PROBLEM = "application/problem+json"
TEETH = 6
# A sanity bound, not a benchmark: the limits stop these requests in well under a second.
QUICK_SECONDS = 10.0


def zigzag(layers: int, teeth: int = TEETH) -> dict[str, Any]:
    """The weights document of ``layers`` composed sawtooth maps, on the domain [0, 1].

    Unit k of a layer is ``relu(s - k / teeth)`` of the previous layer's sawtooth
    ``s``; the output ``sum_k c_k relu(s - k / teeth)`` rises with slope ``teeth``
    on the first tooth and alternates after it.
    """
    knots = [k / teeth for k in range(teeth)]
    c = [float(teeth)] + [2.0 * teeth * (-1) ** k for k in range(1, teeth)]
    coefs = [[[1.0] * teeth]] + [[[ck] * teeth for ck in c] for _ in range(layers - 1)]
    coefs.append([[ck] for ck in c])
    intercepts = [[-t for t in knots] for _ in range(layers)] + [[0.0]]
    return {"coefs": coefs, "intercepts": intercepts, "domain": [0.0, 1.0]}


def post_network(client: FlaskClient, document: dict[str, Any]) -> str:
    response = client.post("/v1/networks", json=document)
    assert response.status_code == 201, response.get_json()
    model_id: str = response.get_json()["id"]
    return model_id


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.content_type == PROBLEM
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    return body


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_the_zigzag_network_has_6_to_the_depth_pieces(client: FlaskClient, layers: int) -> None:
    model_id = post_network(client, zigzag(layers))
    result = client.get(f"/v1/models/{model_id}/knots").get_json()
    # The teeth are equally wide: 6**L pieces of 1 / 6**L. The weights k / 6 are
    # rounded to float64, and exactly, on those weights, a few teeth also touch
    # zero over a sliver of about 1e-16 (tests/core/exact_oracle.py agrees).
    widths = np.subtract(result["piece_hi"], result["piece_lo"])
    wide = widths > 1e-12
    assert np.count_nonzero(wide) == TEETH**layers
    assert result["n_pieces"] - TEETH**layers <= 2 ** (layers - 1) - 1
    np.testing.assert_allclose(widths[wide], 1.0 / TEETH**layers, rtol=1e-6)
    slopes = np.abs(np.ravel(result["slopes"]))[wide]
    np.testing.assert_allclose(slopes, TEETH**layers, rtol=1e-9)


def test_the_deep_zigzag_answers_422_for_knots_and_plots_quickly(client: FlaskClient) -> None:
    model_id = post_network(client, zigzag(8))
    # The work the refusal costs, in this process's CPU seconds: a loaded machine
    # stretches wall time, not the work done (about 1 s; the full map, hours).
    started = time.process_time()
    knots = client.get(f"/v1/models/{model_id}/knots")
    knots_seconds = time.process_time() - started
    body = assert_problem(knots, 422)
    limit = DEFAULTS["MAX_PIECES"]
    assert f"max_pieces={limit}" in body["detail"]
    assert "max_pieces" in body["errors"] and body["limit"] == "max_pieces"
    assert body["maximum"] == limit < body["needed_at_least"] <= TEETH**8
    assert knots_seconds < QUICK_SECONDS

    for picture in ("plot.png", "plot.svg"):
        started = time.process_time()
        plot = client.get(f"/v1/models/{model_id}/{picture}")
        plot_seconds = time.process_time() - started
        body = assert_problem(plot, 422)
        drawn = DEFAULTS["MAX_PLOT_REGIONS"]
        assert body["limit"] == "max_plot_regions" and body["maximum"] == drawn
        assert "RELUMAP_MAX_PLOT_REGIONS" in body["detail"] and "lo and hi" in body["detail"]
        assert plot_seconds < QUICK_SECONDS


def test_max_pieces_query_parameter_is_capped_by_the_setting(
    app_factory: Callable[..., Flask],
) -> None:
    client = app_factory(MAX_PIECES=300).test_client()
    model_id = post_network(client, zigzag(3))  # 216 teeth (218 pieces exactly)
    pieces = client.get(f"/v1/models/{model_id}/knots").get_json()["n_pieces"]
    exact = client.get(f"/v1/models/{model_id}/knots?max_pieces={pieces}").get_json()
    assert exact["n_pieces"] == pieces
    body = assert_problem(client.get(f"/v1/models/{model_id}/knots?max_pieces={pieces - 1}"), 422)
    assert f"max_pieces={pieces - 1}" in body["detail"]
    # Asking for more than the setting allows gets the setting.
    deeper = post_network(client, zigzag(4))  # 1296 pieces
    body = assert_problem(client.get(f"/v1/models/{deeper}/knots?max_pieces=100000"), 422)
    assert "max_pieces=300" in body["detail"] and body["maximum"] == 300
    bad = assert_problem(client.get(f"/v1/models/{model_id}/knots?max_pieces=0"), 422)
    assert "max_pieces" in bad["errors"]


def test_region_limit_is_answered_by_the_same_handler(client: FlaskClient) -> None:
    rng = np.random.default_rng(1)
    document = {
        "coefs": [rng.normal(size=(2, 12)).tolist(), rng.normal(size=(12, 1)).tolist()],
        "intercepts": [rng.normal(size=12).tolist(), [0.0]],
        "domain": [[-3.0, -3.0], [3.0, 3.0]],
    }
    model_id = post_network(client, document)
    full = client.get(f"/v1/models/{model_id}/regions").get_json()
    assert full["n_regions"] > 10
    body = assert_problem(client.get(f"/v1/models/{model_id}/regions?max_regions=10"), 422)
    assert body["limit"] == "max_regions" and "max_regions" in body["errors"]
    assert body["maximum"] == 10 < body["needed_at_least"] <= full["n_regions"]


def wide_network(inputs: int, width: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "coefs": [
            rng.normal(size=(inputs, width)).tolist(),
            (rng.normal(size=(width, width)) / np.sqrt(width)).tolist(),
            rng.normal(size=(width, 1)).tolist(),
        ],
        "intercepts": [rng.normal(size=width).tolist(), np.zeros(width).tolist(), [0.0]],
    }


def test_past_the_deadline_is_503_with_retry_after(app_factory: Callable[..., Flask]) -> None:
    client = app_factory(REQUEST_TIMEOUT=1e-6).test_client()
    one = post_network(client, zigzag(3))
    two = post_network(client, {**wide_network(2, 8), "domain": [[-1, -1], [1, 1]]})
    wide = post_network(client, wide_network(1, 512))
    rows = {"X": np.linspace(-1, 1, 4000)[:, None].tolist()}
    for response in (
        client.get(f"/v1/models/{one}/knots"),
        client.get(f"/v1/models/{two}/regions"),
        client.get(f"/v1/models/{one}/plot.png"),
        client.get(f"/v1/models/{two}/plot.svg"),
        # 4000 rows of a 263,168-weight network: two chunks, the deadline checked between.
        client.post(f"/v1/models/{wide}/predict", json=rows),
        client.post(f"/v1/models/{wide}/predict?include=pattern", json=rows),
    ):
        body = assert_problem(response, 503)
        assert response.headers["Retry-After"].isdigit()
        assert body["limit"] == "request_timeout"
        assert "RELUMAP_REQUEST_TIMEOUT" in body["detail"]
    # Light work has no deadline to miss: one row is one chunk.
    small = client.post(f"/v1/models/{wide}/predict", json={"X": [[0.5]]})
    assert small.status_code == 200


def test_chunked_predictions_equal_the_forward_pass(client: FlaskClient) -> None:
    document = wide_network(1, 512)
    model_id = post_network(client, document)
    # Two chunks of predictions, four of patterns and local maps.
    X = np.linspace(-2, 2, 4000)[:, None]
    body = client.post(f"/v1/models/{model_id}/predict?include=pattern", json={"X": X.tolist()})
    assert body.status_code == 200
    result = body.get_json()
    W = [np.asarray(w) for w in document["coefs"]]
    b = [np.asarray(v) for v in document["intercepts"]]
    h1 = X @ W[0] + b[0]
    h2 = np.maximum(h1, 0) @ W[1] + b[1]
    expected = np.maximum(h2, 0) @ W[2] + b[2]
    np.testing.assert_allclose(result["predictions"], expected[:, 0], rtol=1e-9, atol=1e-9)
    bits = np.concatenate([h1 > 0, h2 > 0], axis=1)
    assert result["patterns"] == ["".join("1" if v else "0" for v in row) for row in bits]
    # The local map: the chain rule through the active units, and the value at x.
    slope = (((h1 > 0) * W[0][0]) @ W[1] * (h2 > 0)) @ W[2]
    np.testing.assert_allclose(np.reshape(result["gradients"], (-1, 1)), slope, rtol=1e-9)
    np.testing.assert_allclose(
        np.reshape(result["intercepts"], (-1, 1)), expected - slope * X, rtol=1e-9, atol=1e-9
    )


def test_pattern_answers_are_bounded_in_cells(app_factory: Callable[..., Flask]) -> None:
    client = app_factory(MAX_PATTERN_CELLS=1000).test_client()
    model_id = post_network(client, zigzag(3))  # 18 hidden units + 1 x 1 gradient: 19 per row
    url = f"/v1/models/{model_id}/predict?include=pattern"
    fits = client.post(url, json={"X": [[0.5]] * 52})  # 988 cells
    assert fits.status_code == 200 and len(fits.get_json()["patterns"]) == 52
    body = assert_problem(client.post(url, json={"X": [[0.5]] * 53}), 422)  # 1007 cells
    assert body["limit"] == "max_pattern_cells" and body["needed_at_least"] == 1007
    assert "at most 52 rows" in body["detail"] and "RELUMAP_MAX_PATTERN_CELLS" in body["detail"]
    # Without patterns the same rows are fine.
    plain = client.post(f"/v1/models/{model_id}/predict", json={"X": [[0.5]] * 53})
    assert plain.status_code == 200


def test_a_busy_process_answers_503_after_a_short_wait(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(MAX_CONCURRENT_GEOMETRY=1, GEOMETRY_WAIT_SECONDS=0.3, WEB_THREADS=4)
    client = app.test_client()
    model_id = post_network(client, zigzag(2))
    url = f"/v1/models/{model_id}/knots"
    with app.test_request_context(), heavy_turn():
        started = time.monotonic()
        response = client.get(url)
        waited = time.monotonic() - started
        body = assert_problem(response, 503)
        assert response.headers["Retry-After"].isdigit()
        assert "RELUMAP_MAX_CONCURRENT_GEOMETRY" in body["detail"]
        assert body["limit"] == "max_concurrent_geometry"
        assert 0.3 <= waited < QUICK_SECONDS
        # Health and light requests do not take turns.
        assert client.get("/livez").status_code == 200
        assert client.get(f"/v1/models/{model_id}").status_code == 200
    assert client.get(url).status_code == 200


def test_waiting_for_a_turn_ends_at_the_deadline(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(REQUEST_TIMEOUT=0.3, GEOMETRY_WAIT_SECONDS=30.0, WEB_THREADS=4)
    client = app.test_client()
    model_id = post_network(client, zigzag(2))
    with app.test_request_context(), heavy_turn():
        # Wrong requests are answered without waiting for a turn...
        wrong = assert_problem(client.get(f"/v1/models/{model_id}/regions"), 409)
        assert "/knots" in wrong["detail"]
        assert_problem(client.get(f"/v1/models/{model_id}/knots?lo=1&hi=0"), 422)
        assert_problem(client.get(f"/v1/models/{'0' * 32}/knots"), 404)
        # ...and a wait for one ends at the request's deadline, not after 30 s.
        started = time.monotonic()
        body = assert_problem(client.get(f"/v1/models/{model_id}/knots"), 503)
        waited = time.monotonic() - started
    assert body["limit"] == "request_timeout"
    assert waited < QUICK_SECONDS


def test_heavy_requests_never_take_the_last_thread(app_factory: Callable[..., Flask]) -> None:
    # Two threads: one may run or wait for heavy work, the other stays for the rest
    # (four threads: two and two).
    app = app_factory(MAX_CONCURRENT_GEOMETRY=4, GEOMETRY_WAIT_SECONDS=60.0, WEB_THREADS=2)
    client = app.test_client()
    model_id = post_network(client, zigzag(2))
    with app.test_request_context(), heavy_turn():
        started = time.monotonic()
        body = assert_problem(client.get(f"/v1/models/{model_id}/plot.png"), 503)
        assert time.monotonic() - started < QUICK_SECONDS  # refused at once, not after 60 s
        assert "WEB_THREADS // 2" in body["detail"]
    # A request that stopped on a limit or a bad query gives its place back.
    for _ in range(3):
        assert client.get(f"/v1/models/{model_id}/knots?max_pieces=2").status_code == 422
        assert client.get(f"/v1/models/{model_id}/knots?lo=1&hi=0").status_code == 422
    assert client.get(f"/v1/models/{model_id}/knots").status_code == 200


def test_service_info_reports_the_new_limits(app_factory: Callable[..., Flask]) -> None:
    client = app_factory(REQUEST_TIMEOUT=12.5, MAX_PIECES=777).test_client()
    limits = client.get("/v1").get_json()["limits"]
    assert limits["request_timeout"] == 12.5
    assert limits["pieces"] == 777
    assert limits["pattern_cells"] == DEFAULTS["MAX_PATTERN_CELLS"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("REQUEST_TIMEOUT", "0"), ("MAX_CONCURRENT_GEOMETRY", "0"), ("GEOMETRY_WAIT_SECONDS", "-1")],
)
def test_bad_settings_are_refused_at_start(key: str, value: str) -> None:
    from relumap_service.config import load_config

    with pytest.raises(ValueError, match=f"RELUMAP_{key}"):
        load_config(environ={f"RELUMAP_{key}": value})
