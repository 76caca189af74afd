"""Knots, regions, manual networks and patterns over HTTP, checked by sampling the network."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

PROBLEM = "application/problem+json"


def fitted(client: FlaskClient, kind: str, **params: Any) -> dict[str, Any]:
    data = client.post("/v1/datasets/generate", json={"kind": kind, "n_samples": 150}).get_json()
    model = client.post("/v1/models?wait=60", json={"dataset_id": data["id"], **params}).get_json()
    assert model["status"] == "succeeded", model
    return {"model": model, "dataset": data}


def forward(weights: dict[str, Any], X: np.ndarray) -> np.ndarray:
    h = X
    for W, b in zip(weights["coefs"][:-1], weights["intercepts"][:-1], strict=True):
        h = np.maximum(h @ np.asarray(W) + b, 0.0)
    return np.asarray(h @ np.asarray(weights["coefs"][-1]) + weights["intercepts"][-1])


def test_knots_of_a_fitted_model_cover_the_widened_data_interval(client: FlaskClient) -> None:
    fit = fitted(client, "square", hidden_layer_sizes=[6, 6])
    model, data = fit["model"], fit["dataset"]
    result = client.get(f"/v1/models/{model['id']}/knots").get_json()
    lo, hi = data["bounds"]["min"][0], data["bounds"]["max"][0]
    width = hi - lo
    np.testing.assert_allclose([result["lo"], result["hi"]], [lo - 0.1 * width, hi + 0.1 * width])
    assert result["n_knots"] <= result["bound"] == 48  # (6 + 1)^2 - 1
    weights = client.get(f"/v1/models/{model['id']}/weights").get_json()
    # Each piece's affine map equals the network at its ends, and slopes change at knots.
    ends = np.column_stack([result["piece_lo"], result["piece_hi"]])
    values = forward(weights, ends.reshape(-1, 1))[:, 0].reshape(-1, 2)
    slopes = np.asarray(result["slopes"])[:, 0]
    intercepts = np.asarray(result["intercepts"])[:, 0]
    np.testing.assert_allclose(values, slopes[:, None] * ends + intercepts[:, None], atol=1e-9)
    diagnostics = result["diagnostics"]
    assert len(diagnostics["active_fraction"]) == 12
    assert all(0.0 <= f <= 1.0 for f in diagnostics["active_fraction"])


def test_knots_accept_a_domain_and_reject_an_empty_one(client: FlaskClient) -> None:
    model = fitted(client, "abs", hidden_layer_sizes=[4])["model"]
    result = client.get(f"/v1/models/{model['id']}/knots?lo=-10&hi=10").get_json()
    assert (result["lo"], result["hi"]) == (-10.0, 10.0)
    assert result["piece_lo"][0] == -10.0 and result["piece_hi"][-1] == 10.0
    empty = client.get(f"/v1/models/{model['id']}/knots?lo=1&hi=1")
    assert empty.status_code == 422 and empty.content_type == PROBLEM
    wrong = client.get(f"/v1/models/{model['id']}/regions")
    assert wrong.status_code == 409 and "/knots" in wrong.get_json()["detail"]


def test_regions_of_a_classifier_with_boundary_and_geojson(client: FlaskClient) -> None:
    model = fitted(client, "xor", hidden_layer_sizes=[8, 8])["model"]
    url = f"/v1/models/{model['id']}/regions?x_min=-6&x_max=6&y_min=-6&y_max=6"
    result = client.get(url).get_json()
    assert result["box"] == [[-6.0, -6.0], [6.0, 6.0]]
    np.testing.assert_allclose(sum(result["areas"]), 144.0, rtol=1e-9)
    assert len(result["offsets"]) == result["n_regions"] + 1 <= result["bound"] + 1
    assert result["classes"] == [0, 1]
    segments = np.asarray(result["decision_boundary"]["segments"])
    assert segments.shape[1:] == (2, 2) and len(segments) > 0
    # Both ends of every boundary segment have a logit of 0, by an independent forward pass.
    weights = client.get(f"/v1/models/{model['id']}/weights").get_json()
    np.testing.assert_allclose(forward(weights, segments.reshape(-1, 2))[:, 0], 0.0, atol=1e-7)
    # Sampled points: the region holding them (by pattern) has their logit as its affine map.
    rng = np.random.default_rng(0)
    X = rng.uniform(-6, 6, size=(200, 2))
    local = client.post(
        f"/v1/models/{model['id']}/predict?include=pattern", json={"X": X.tolist()}
    ).get_json()
    index = {pattern: i for i, pattern in enumerate(result["patterns"])}
    regions = [index[p] for p in local["patterns"]]
    gradients = np.asarray(result["gradients"])[regions, 0]
    intercepts = np.asarray(result["intercepts"])[regions, 0]
    np.testing.assert_allclose(
        np.sum(gradients * X, axis=1) + intercepts, forward(weights, X)[:, 0], atol=1e-9
    )
    np.testing.assert_allclose(np.asarray(local["gradients"])[:, 0], gradients, atol=1e-12)
    geo = client.get(url + "&format=geojson")
    assert geo.content_type == "application/geo+json"
    features = geo.get_json()["features"]
    polygons = [f for f in features if f["geometry"]["type"] == "Polygon"]
    assert len(polygons) == result["n_regions"]
    assert all(
        f["geometry"]["coordinates"][0][0] == f["geometry"]["coordinates"][0][-1] for f in polygons
    )
    lines = [f for f in features if f["properties"].get("kind") == "decision_boundary"]
    assert len(lines) == len(segments)


def test_region_limit_and_empty_box_are_clear_422s(client: FlaskClient) -> None:
    model = fitted(client, "gauss", hidden_layer_sizes=[8])["model"]
    limited = client.get(f"/v1/models/{model['id']}/regions?max_regions=3")
    assert limited.status_code == 422
    assert "max_regions=3" in limited.get_json()["detail"]
    assert "smaller box" in limited.get_json()["detail"]
    empty = client.get(f"/v1/models/{model['id']}/regions?x_min=2&x_max=1")
    assert empty.status_code == 422 and "empty" in empty.get_json()["detail"]
    assert client.get(f"/v1/models/{model['id']}/knots").status_code == 409


def test_torch_layout_and_leaky_relu_networks(client: FlaskClient) -> None:
    # torch's Linear stores (n_out, n_in): this is |x| with a leaky slope of 0.5 off-branch.
    document = {
        "layout": "torch",
        "coefs": [[[1.0], [-1.0]], [[1.0, 1.0]]],
        "intercepts": [[0.0, 0.0], [0.0]],
        "activation": "leaky_relu",
        "negative_slope": 0.5,
        "domain": [-2, 2],
    }
    model = client.post("/v1/networks", json=document).get_json()
    weights = client.get(f"/v1/models/{model['id']}/weights").get_json()
    assert weights["layout"] == "sklearn" and np.shape(weights["coefs"][0]) == (1, 2)
    result = client.get(f"/v1/models/{model['id']}/knots").get_json()
    assert result["knots"] == [0.0]
    # slope left: -1 + 0.5 * 1 = -0.5; right: 1 - 0.5 = 0.5
    np.testing.assert_allclose(np.ravel(result["slopes"]), [-0.5, 0.5])


def test_weights_round_trip_through_networks(client: FlaskClient) -> None:
    model = fitted(client, "moons", hidden_layer_sizes=[5])["model"]
    weights = client.get(f"/v1/models/{model['id']}/weights").get_json()
    copy = client.post("/v1/networks", json=weights).get_json()
    assert copy["task"] == "classification" and copy["classes"] == model["classes"]
    X = {"X": [[0.0, 0.5], [1.0, -0.5], [-1.0, 1.0]]}
    original = client.post(f"/v1/models/{model['id']}/predict", json=X).get_json()
    again = client.post(f"/v1/models/{copy['id']}/predict", json=X).get_json()
    assert original == again


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"coefs": [[[1.0, 2.0]], [[1.0]]], "intercepts": [[0.0, 0.0], [0.0]]}, "expects 1"),
        ({"coefs": [[[1.0]] * 65, [[1.0]]], "intercepts": [[0.0], [0.0]]}, "65 inputs"),
        ({"coefs": [[[1.0]]], "intercepts": [[0.0], [0.0]]}, "one intercept vector"),
        (
            {"coefs": [[[1.0]], [[1.0]]], "intercepts": [[0.0], [0.0]], "domain": [1, 0]},
            "domain",
        ),
        (
            {
                "coefs": [[[1.0]], [[1.0, 1.0]]],
                "intercepts": [[0.0], [0.0, 0.0]],
                "output_activation": "softmax",
                "classes": ["a"],
            },
            "2 classes",
        ),
        (
            {"coefs": [[[1.0] * 2000], [[1.0]] * 2000], "intercepts": [[0.0] * 2000, [0.0]]},
            "limit",
        ),
    ],
)
def test_bad_networks_are_422(client: FlaskClient, document: dict[str, Any], fragment: str) -> None:
    response = client.post("/v1/networks", json=document)
    assert response.status_code == 422, response.get_json()
    assert fragment in response.get_json()["detail"]
    assert client.get("/v1/models").get_json() == []
