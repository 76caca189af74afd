"""Slices of a five-input model over HTTP, checked against the network's own forward pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

PROBLEM = "application/problem+json"
NAMES = ["age", "income", "height", "weight", "score"]


def forward(weights: dict[str, Any], X: np.ndarray) -> np.ndarray:
    """The network's logits computed from its weights document."""
    h = np.asarray(X, dtype=np.float64)
    for W, b in zip(weights["coefs"][:-1], weights["intercepts"][:-1], strict=True):
        h = np.maximum(h @ np.asarray(W) + b, 0.0)
    return np.asarray(h @ np.asarray(weights["coefs"][-1]) + weights["intercepts"][-1])


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    """One app for the module: its tests only add models and read the one fitted once."""
    return module_app


@pytest.fixture(scope="module")
def five(app: Flask) -> dict[str, Any]:
    """A fitted regressor of five named inputs, its data and its weights."""
    client = app.test_client()
    rng = np.random.default_rng(5)
    X = rng.normal(size=(160, 5)) * [1.0, 10.0, 0.5, 2.0, 1.0] + [0.0, 50.0, 1.7, 70.0, 0.0]
    y = np.abs(X[:, 0]) + 0.1 * X[:, 1] - X[:, 3] * X[:, 2] / 50 + np.maximum(X[:, 4], 0)
    data = client.post(
        "/v1/datasets", json={"X": X.tolist(), "y": y.tolist(), "feature_names": NAMES}
    ).get_json()
    model = client.post(
        "/v1/models?wait=60",
        json={"dataset_id": data["id"], "hidden_layer_sizes": [12, 12], "max_iter": 300},
    ).get_json()
    assert model["status"] == "succeeded", model
    weights = client.get(f"/v1/models/{model['id']}/weights").get_json()
    return {"X": X, "model": model, "weights": weights, "url": f"/v1/models/{model['id']}"}


def _text(point: np.ndarray) -> str:
    """A point as a query parameter: its coordinates, exactly, separated by commas."""
    return ",".join(repr(float(v)) for v in point)


def _check_line(result: dict[str, Any], weights: dict[str, Any], points_of) -> None:
    """Piece maps in slice and in full coordinates agree with the forward pass."""
    lo, hi = result["lo"], result["hi"]
    s = np.linspace(lo, hi, 2001)
    X = points_of(s)
    piece = np.clip(np.searchsorted(result["piece_hi"], s, side="left"), 0, result["n_pieces"] - 1)
    slopes, intercepts = np.asarray(result["slopes"]), np.asarray(result["intercepts"])
    np.testing.assert_allclose(
        slopes[piece] * s[:, None] + intercepts[piece], forward(weights, X), atol=1e-9, rtol=0
    )
    gradients = np.asarray(result["gradients_full"])
    full = (
        np.einsum("nkd,nd->nk", gradients[piece], X) + np.asarray(result["intercepts_full"])[piece]
    )
    np.testing.assert_allclose(full, forward(weights, X), atol=1e-9, rtol=0)
    # The full-space gradient along the line's direction is the slice's slope.
    direction = np.asarray(result["slice"]["directions"][0])
    np.testing.assert_allclose(gradients @ direction, slopes, atol=1e-10)
    np.testing.assert_allclose(result["knots_full"], points_of(np.asarray(result["knots"])))


def test_many_inputs_need_a_slice(client: FlaskClient, five: dict[str, Any]) -> None:
    for view, word in (("knots", "axis"), ("regions", "axes")):
        response = client.get(f"{five['url']}/{view}")
        assert response.status_code == 409 and response.content_type == PROBLEM
        assert word in response.get_json()["detail"] and "5 input" in response.get_json()["detail"]


def test_line_along_a_feature_through_a_data_row(client: FlaskClient, five: dict[str, Any]) -> None:
    result = client.get(f"{five['url']}/knots?axis=height&at=row:7").get_json()
    row = five["X"][7]
    assert result["axis_names"] == ["height"] and result["feature_names"] == NAMES
    assert result["slice"]["kind"] == "axis" and result["slice"]["axes"] == [2]
    np.testing.assert_array_equal(result["slice"]["reference"], row)
    # The default interval is the feature's data range widened by 10% on each side.
    column = five["X"][:, 2]
    width = column.max() - column.min()
    np.testing.assert_allclose(
        [result["lo"], result["hi"]], [column.min() - 0.1 * width, column.max() + 0.1 * width]
    )

    def points(s: np.ndarray) -> np.ndarray:
        X = np.tile(row, (len(s), 1))
        X[:, 2] = s
        return X

    _check_line(result, five["weights"], points)
    assert result["n_pieces"] > 1
    # By index, the same line.
    same = client.get(f"{five['url']}/knots?axis=2&at=row:7").get_json()
    assert same["knots"] == result["knots"]
    # The data's activity comes from the full inputs: one fraction per hidden unit.
    assert len(result["diagnostics"]["active_fraction"]) == 24


def test_reference_points_median_mean_and_numbers(
    client: FlaskClient, five: dict[str, Any]
) -> None:
    model = five["model"]
    train = np.delete(five["X"], model["test_indices"], axis=0)
    default = client.get(f"{five['url']}/knots?axis=0").get_json()
    np.testing.assert_allclose(default["slice"]["reference"], np.median(train, axis=0))
    assert default["slice"]["at"] == "median"
    mean = client.get(f"{five['url']}/knots?axis=0&at=mean").get_json()
    np.testing.assert_allclose(mean["slice"]["reference"], train.mean(axis=0))
    given = client.get(f"{five['url']}/knots?axis=score&at=1,50,1.7,70,0&lo=-3&hi=3").get_json()
    assert (given["lo"], given["hi"]) == (-3.0, 3.0)
    np.testing.assert_allclose(given["slice"]["origin"], [1, 50, 1.7, 70, 0])

    def points(s: np.ndarray) -> np.ndarray:
        X = np.tile([1.0, 50.0, 1.7, 70.0, 0.0], (len(s), 1))
        X[:, 4] = s
        return X

    _check_line(given, five["weights"], points)


def test_segment_between_two_points(client: FlaskClient, five: dict[str, Any]) -> None:
    start, end = five["X"][3], five["X"][90]
    query = f"start={_text(start)}&end={_text(end)}"
    result = client.get(f"{five['url']}/knots?{query}").get_json()
    assert (result["lo"], result["hi"]) == (0.0, 1.0) and result["axis_names"] == ["t"]
    assert result["slice"]["kind"] == "segment"
    _check_line(result, five["weights"], lambda t: start + t[:, None] * (end - start))


def _owner(result: dict[str, Any], points: np.ndarray) -> np.ndarray:
    """The region holding each point, -1 on an edge (convex counter-clockwise polygons)."""
    vertices, offsets = np.asarray(result["vertices"]), result["offsets"]
    owner = np.full(len(points), -1)
    for i in range(result["n_regions"]):
        poly = vertices[offsets[i] : offsets[i + 1]]
        edges = np.roll(poly, -1, axis=0) - poly
        rel = points[:, None, :] - poly[None, :, :]
        cross = edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0]
        owner[np.all(cross > 1e-12, axis=1)] = i
    return owner


def _check_plane(result: dict[str, Any], weights: dict[str, Any], points_of, seed: int) -> None:
    (x0, y0), (x1, y1) = result["box"]
    st = np.random.default_rng(seed).uniform([x0, y0], [x1, y1], (3000, 2))
    owner = _owner(result, st)
    keep = owner >= 0
    assert keep.mean() > 0.99
    st, owner, X = st[keep], owner[keep], points_of(st[keep])
    expected = forward(weights, X)
    gradients, intercepts = np.asarray(result["gradients"]), np.asarray(result["intercepts"])
    on_slice = np.einsum("nkd,nd->nk", gradients[owner], st) + intercepts[owner]
    np.testing.assert_allclose(on_slice, expected, atol=1e-9, rtol=0)
    full_g = np.asarray(result["gradients_full"])
    full = np.einsum("nkd,nd->nk", full_g[owner], X) + np.asarray(result["intercepts_full"])[owner]
    np.testing.assert_allclose(full, expected, atol=1e-9, rtol=0)
    directions = np.asarray(result["slice"]["directions"])
    np.testing.assert_allclose(full_g @ directions.T, gradients, atol=1e-10)


def test_plane_through_features_0_and_3_at_a_data_row(
    client: FlaskClient, five: dict[str, Any]
) -> None:
    result = client.get(f"{five['url']}/regions?axes=0,3&at=row:11").get_json()
    row = five["X"][11]
    assert result["axis_names"] == ["age", "weight"] and result["slice"]["axes"] == [0, 3]
    assert result["n_regions"] > 3

    def points(st: np.ndarray) -> np.ndarray:
        X = np.tile(row, (len(st), 1))
        X[:, 0], X[:, 3] = st[:, 0], st[:, 1]
        return X

    _check_plane(result, five["weights"], points, seed=11)
    # The box is the two features' data ranges widened by 10%; x_min and co. override it.
    lo, hi = five["X"].min(axis=0), five["X"].max(axis=0)
    margin = 0.1 * (hi - lo)
    np.testing.assert_allclose(
        result["box"],
        [[lo[0] - margin[0], lo[3] - margin[3]], [hi[0] + margin[0], hi[3] + margin[3]]],
    )
    small = client.get(f"{five['url']}/regions?axes=age,weight&at=row:11&x_min=0&x_max=1")
    assert small.get_json()["box"][0][0] == 0.0 and small.get_json()["box"][1][0] == 1.0
    geojson = client.get(f"{five['url']}/regions?axes=0,3&format=geojson")
    assert geojson.status_code == 200 and geojson.mimetype == "application/geo+json"


def test_plane_through_an_origin_along_two_directions(
    client: FlaskClient, five: dict[str, Any]
) -> None:
    origin, u, v = five["X"][0], five["X"][1] - five["X"][0], five["X"][2] - five["X"][0]
    query = f"origin={_text(origin)}&u={_text(u)}&v={_text(v)}"
    result = client.get(f"{five['url']}/regions?{query}").get_json()
    assert result["box"] == [[0.0, 0.0], [1.0, 1.0]] and result["axis_names"] == ["s", "t"]
    _check_plane(result, five["weights"], lambda st: origin + st @ np.stack([u, v]), seed=2)


BAD = (
    ("knots", "axis=colour", "axis", "not a feature"),
    ("knots", "axis=7", "axis", "index 0..4"),
    ("knots", "axis=\u00b2", "axis", "not a feature"),  # a digit to str.isdigit, not to int
    ("knots", "axis=0&at=row:\u00b2", "at", "rows 0..159"),
    ("knots", "axis=0&at=1,2", "at", "5 finite numbers"),
    ("knots", "axis=0&at=row:999", "at", "rows 0..159"),
    ("knots", "axis=0&at=middle", "at", "median, mean, row:K"),
    ("knots", "at=mean", "axis", "needs axis"),
    ("knots", "start=0,0,0,0,0", "end", "both start and end"),
    ("knots", "start=1,1,1,1,1&end=1,1,1,1,1", "end", "same point"),
    ("knots", "axis=0&start=0,0,0,0,0&end=1,1,1,1,1", "axis", "not both"),
    ("knots", "axis=0&at=1,2,nan,4,5", "at", "finite"),
    ("regions", "axes=0", "axes", "two features"),
    ("regions", "axes=age,0", "axes", "twice"),
    ("regions", "origin=0,0,0,0,0&u=1,0,0,0,0", "v", "missing ['v']"),
    ("regions", "origin=0,0,0,0,0&u=1,0,0,0,0&v=2,0,0,0,0", "v", "parallel"),
)


def test_bad_slices_are_422_naming_the_parameter(client: FlaskClient, five: dict[str, Any]) -> None:
    # One fitted model for all cases: a fit per case would take most of the test's time.
    for view, query, field, fragment in BAD:
        response = client.get(f"{five['url']}/{view}?{query}")
        assert response.status_code == 422 and response.content_type == PROBLEM, query
        body = response.get_json()
        assert fragment in body["detail"] and field in body["errors"], (query, body)


def test_a_two_input_model_can_be_cut_too_and_keeps_its_defaults(client: FlaskClient) -> None:
    data = client.post("/v1/datasets/generate", json={"kind": "bump", "n_samples": 120}).get_json()
    model = client.post(
        "/v1/models?wait=60", json={"dataset_id": data["id"], "hidden_layer_sizes": [8]}
    ).get_json()
    url = f"/v1/models/{model['id']}"
    own = client.get(f"{url}/regions").get_json()
    assert own["slice"] is None and own["gradients_full"] is None
    assert own["axis_names"] == own["feature_names"] == ["x1", "x2"]
    swapped = client.get(f"{url}/regions?axes=x2,x1").get_json()
    assert swapped["axis_names"] == ["x2", "x1"] and swapped["n_regions"] == own["n_regions"]
    weights = client.get(f"{url}/weights").get_json()
    _check_plane(swapped, weights, lambda st: st[:, ::-1], seed=4)
    line = client.get(f"{url}/knots?axis=x1&at=0,0.5").get_json()
    assert line["slice"]["origin"] == [0.0, 0.5]

    def points(s: np.ndarray) -> np.ndarray:
        return np.column_stack([s, np.full_like(s, 0.5)])

    _check_line(line, weights, points)


def test_a_manual_network_of_three_named_inputs(client: FlaskClient) -> None:
    # f(a, b, c) = relu(a - b) + relu(c): on the line along b through (1, ., -2), one knot at b = 1.
    network = {
        "coefs": [[[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]], [[1.0], [1.0]]],
        "intercepts": [[0.0, 0.0], [0.0]],
        "feature_names": ["a", "b", "c"],
    }
    model = client.post("/v1/networks", json=network).get_json()
    assert model["feature_names"] == ["a", "b", "c"] and model["n_features"] == 3
    result = client.get(f"/v1/models/{model['id']}/knots?axis=b&at=1,0,-2&lo=-4&hi=4").get_json()
    assert result["knots"] == [1.0]
    np.testing.assert_allclose(result["slopes"], [[-1.0], [0.0]])
    np.testing.assert_allclose(result["gradients_full"], [[[1.0, -1.0, 0.0]], [[0.0, 0.0, 0.0]]])
    # Without data the default reference is the middle of [-1, 1]^3.
    middle = client.get(f"/v1/models/{model['id']}/knots?axis=c").get_json()
    assert middle["slice"]["reference"] == [0.0, 0.0, 0.0]
    assert (middle["lo"], middle["hi"]) == (-1.0, 1.0)
    no_rows = client.get(f"/v1/models/{model['id']}/knots?axis=c&at=row:0")
    assert no_rows.status_code == 422 and "no data set" in no_rows.get_json()["detail"]


def test_pictures_of_slices(client: FlaskClient, five: dict[str, Any]) -> None:
    url = five["url"]
    refused = client.get(f"{url}/plot.png")
    assert refused.status_code == 409 and "axes=I,J" in refused.get_json()["detail"]
    plane = client.get(f"{url}/plot.png?axes=age,weight&at=row:11&width=400&height=300")
    assert plane.status_code == 200 and plane.mimetype == "image/png"
    assert plane.data.startswith(b"\x89PNG")
    line = client.get(f"{url}/plot.svg?axis=height&at=mean&width=400&height=300")
    assert line.status_code == 200 and b"slice along height" in line.data
    # Another reference point is another picture.
    other = client.get(f"{url}/plot.png?axes=age,weight&at=row:12&width=400&height=300")
    assert other.headers["ETag"] != plane.headers["ETag"]
    both = client.get(f"{url}/plot.png?axis=0&axes=0,1")
    assert both.status_code == 422 and both.content_type == PROBLEM


def test_a_stored_domain_of_three_inputs_is_the_default_of_its_slices(
    client: FlaskClient,
) -> None:
    network = {
        "coefs": [[[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]], [[1.0], [1.0]]],
        "intercepts": [[0.0, 0.0], [0.0]],
        "domain": [[-2.0, -3.0, -4.0], [2.0, 3.0, 4.0]],
    }
    model = client.post("/v1/networks", json=network).get_json()
    url = f"/v1/models/{model['id']}"
    line = client.get(f"{url}/knots?axis=x3").get_json()
    assert (line["lo"], line["hi"]) == (-4.0, 4.0) and line["feature_names"] == ["x1", "x2", "x3"]
    plane = client.get(f"{url}/regions?axes=0,1").get_json()
    assert plane["box"] == [[-2.0, -3.0], [2.0, 3.0]]
    bad = client.post("/v1/networks", json={**network, "domain": [[0, 0, 0], [1, 1, 0]]})
    assert (
        bad.status_code == 422
        and "[[3 lower bounds], [3 upper bounds]]" in bad.get_json()["detail"]
    )


def test_a_classifier_slice_has_its_exact_decision_boundary(client: FlaskClient) -> None:
    rng = np.random.default_rng(8)
    network = {
        "coefs": [rng.normal(size=(3, 6)).tolist(), rng.normal(size=(6, 1)).tolist()],
        "intercepts": [rng.normal(size=6).tolist(), [0.1]],
        "output_activation": "logistic",
        "classes": ["no", "yes"],
        "feature_names": ["p", "q", "r"],
        "domain": [[-2, -2, -2], [2, 2, 2]],
    }
    model = client.post("/v1/networks", json=network).get_json()
    result = client.get(f"/v1/models/{model['id']}/regions?axes=p,r&at=0,0.3,0").get_json()
    segments = np.asarray(result["decision_boundary"]["segments"]).reshape(-1, 2)
    assert len(segments) > 0 and result["classes"] == ["no", "yes"]
    # Every end of every segment is where the logit is zero, in all three inputs.
    points = np.column_stack([segments[:, 0], np.full(len(segments), 0.3), segments[:, 1]])
    np.testing.assert_allclose(forward(network, points)[:, 0], 0.0, atol=1e-9)
