"""Result objects: frozen, numpy inside, ``to_dict()`` as the service wrote it, ``to_frame()``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import relumap

ABS = ([[[1.0, -1.0]], [[1.0], [1.0]]], [[0.0, 0.0], [0.0]])  # |x| from two ReLUs


def test_knots_to_dict_is_the_services_document(
    square_model: relumap.Model, api: relumap.Client
) -> None:
    raw = api._json("GET", f"/v1/models/{square_model.id}/knots")
    knots = relumap.Knots.from_dict(raw)
    assert knots.to_dict() == raw
    assert relumap.Knots.from_dict(knots.to_dict()).to_dict() == raw
    with pytest.raises(dataclasses.FrozenInstanceError):
        knots.lo = 0.0  # type: ignore[misc]


def test_regions_to_dict_is_the_services_document(
    xor_model: relumap.Model, api: relumap.Client
) -> None:
    raw = api._json("GET", f"/v1/models/{xor_model.id}/regions")
    regions = relumap.Regions.from_dict(raw)
    assert regions.to_dict() == raw
    assert isinstance(regions.decision_boundary, relumap.DecisionBoundary)
    assert isinstance(regions.diagnostics, relumap.NeuronDiagnostics)
    assert regions.patterns.dtype == bool and regions.patterns.shape == (regions.n_regions, 8)


def test_knots_frame_has_one_row_per_piece(square_model: relumap.Model) -> None:
    knots = square_model.knots()
    frame = knots.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == knots.n_pieces
    assert list(frame.columns) == ["lo", "hi", "pattern", "slope", "intercept"]
    np.testing.assert_array_equal(frame["slope"], knots.slopes[:, 0])
    diagnostics = knots.diagnostics.to_frame()
    assert len(diagnostics) == 8 and diagnostics["active_fraction"].between(0, 1).all()


def test_regions_and_boundary_frames(xor_model: relumap.Model) -> None:
    regions = xor_model.regions()
    frame = regions.to_frame()
    assert len(frame) == regions.n_regions
    assert {"pattern", "linear_region", "area", "gradient_x", "gradient_y", "intercept"} <= set(
        frame.columns
    )
    np.testing.assert_allclose(frame["area"].sum(), regions.areas.sum())
    boundary = regions.decision_boundary
    assert boundary is not None
    segments = boundary.to_frame()
    assert list(segments.columns) == ["x0", "y0", "x1", "y1", "region", "left", "right"]
    assert len(segments) == boundary.n_segments


def test_metrics_weights_and_local_affine_frames(xor_model: relumap.Model) -> None:
    metrics = xor_model.metrics
    assert metrics is not None
    frame = metrics.to_frame()
    assert frame.index.names == ["model", "split"] and "accuracy" in frame.columns
    assert metrics.to_dict()["baseline"]["model"] == "LogisticRegression"
    weights = xor_model.weights()
    table = weights.to_frame()
    assert len(table) == 2 * 8 + 8 + 8 * 1 + 1
    assert weights.to_dict()["coefs"][0] == weights.coefs[0].tolist()
    local = xor_model.local_affine([[1.0, 2.0]])
    assert list(local.to_frame().columns) == ["pattern", "gradient_0", "gradient_1", "intercept"]
    assert local.to_dict()["patterns"][0] == "".join("1" if b else "0" for b in local.patterns[0])


def test_manual_network_and_its_knots(api: relumap.Client) -> None:
    model = api.network(*ABS, domain=[-3, 3], name="absolute value")
    assert (model.status, model.source, model.task) == ("succeeded", "manual", "regression")
    knots = model.knots()
    np.testing.assert_allclose(knots.x, [0.0], atol=1e-15)
    np.testing.assert_allclose(knots.slopes[:, 0], [-1.0, 1.0])
    assert (knots.lo, knots.hi) == (-3.0, 3.0)
    np.testing.assert_allclose(model.predict([[-2.0], [0.5]]), [2.0, 0.5])
    assert model.dataset() is None


def test_identity_network_collapses_to_one_affine_map(api: relumap.Client) -> None:
    coefs = [[[2.0, -1.0]], [[1.0], [3.0]]]
    model = api.network(coefs, [[1.0, 0.0], [0.5]], activation="identity")
    linear = model.equivalent_linear_map
    assert isinstance(linear, relumap.AffineMap)
    # W = [[2, -1]] @ [[1], [3]] = [[-1]]; b = [1, 0] @ [[1], [3]] + 0.5 = 1.5
    np.testing.assert_allclose(linear.gradient, [[-1.0]])
    np.testing.assert_allclose(linear.intercept, [1.5])
    np.testing.assert_allclose(linear([[2.0]]), [[-0.5]])
    assert list(linear.to_frame().columns) == ["gradient_0", "intercept"]
    knots = model.knots()
    assert knots.n_knots == 0 and knots.diagnostics.affine_on_domain is not None


def test_weights_round_trip_through_network(api: relumap.Client, xor_model: relumap.Model) -> None:
    copy = api.network(xor_model.weights())
    assert copy.task == "classification" and copy.classes == [0, 1]
    X = np.random.default_rng(1).uniform(-5, 5, size=(40, 2))
    np.testing.assert_array_equal(copy.predict_proba(X), xor_model.predict_proba(X))


def test_torch_layout_and_leaky_relu(api: relumap.Client) -> None:
    torch_coefs = [np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])]  # (n_out, n_in)
    model = api.network(
        torch_coefs,
        [np.zeros(2), np.zeros(1)],
        layout="torch",
        activation="leaky_relu",
        negative_slope=0.1,
    )
    weights = model.weights()
    assert weights.activation == "leaky_relu" and weights.coefs[0].shape == (1, 2)
    X = np.array([[-2.0], [3.0]])
    np.testing.assert_allclose(weights.predict(X), model.predict(X), rtol=1e-15)
    np.testing.assert_allclose(model.predict(X), [1.8, 2.7])


def test_a_bad_network_is_a_validation_error(api: relumap.Client) -> None:
    with pytest.raises(relumap.ValidationError, match="inputs"):
        api.network([[[1.0]] * 65, [[1.0]]], [[0.0], [0.0]])  # over RELUMAP_MAX_FEATURES
    with pytest.raises(relumap.ValidationError, match="intercepts"):
        api.network([[[1.0]]])


def test_compare_answers_the_seed_question(api: relumap.Client, square: relumap.Dataset) -> None:
    comparison = api.compare(square, hidden_layer_sizes=[8], max_iter=2000)
    relu, identity = comparison.relu, comparison.identity
    assert relu.params["activation"] == "relu" and identity.params["activation"] == "identity"
    shared = {k: v for k, v in relu.params.items() if k != "activation"}
    assert shared == {k: v for k, v in identity.params.items() if k != "activation"}
    assert identity.equivalent_linear_map is not None and relu.equivalent_linear_map is None
    frame = comparison.to_frame()
    r2 = frame.loc[("r2", "test")]
    assert r2["relu"] > 0.95 and r2["identity"] < 0.2
    assert abs(r2["identity"] - r2["LinearRegression"]) < 0.05
    assert comparison.to_dict()["metrics"] == comparison.rows()
    with pytest.raises(relumap.ValidationError, match="activation"):
        api.compare(square, activation="relu")
