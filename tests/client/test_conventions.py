"""The client keeps its promises: scikit-learn's conventions, one error root, one layout.

``hidden_layer_sizes=16`` means one layer as in scikit-learn; every error is a
:class:`relumap.RelumapError`; every affine map of the results is a
``gradient`` of shape (n_outputs, n_inputs) and an ``intercept``, checked
against finite differences of the service's predictions; reprs give the key
figures and no arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neural_network import MLPRegressor

import relumap
from relumap.sklearn import RemoteMLPRegressor


def test_one_int_is_one_hidden_layer_as_in_scikit_learn(
    api: relumap.Client, square: relumap.Dataset, live_url: str
) -> None:
    X, y = square.data()
    theirs = MLPRegressor(hidden_layer_sizes=16, max_iter=50, random_state=0)
    with pytest.warns(Warning):  # ConvergenceWarning in 50 iterations
        theirs.fit(X, y)
    model = api.fit(square, hidden_layer_sizes=16, max_iter=200, progress=False)
    assert model.params["hidden_layer_sizes"] == [16]
    assert model.weights().hidden_layer_sizes == tuple(c.shape[1] for c in theirs.coefs_[:-1])
    reg = RemoteMLPRegressor(np.int64(6), solver="lbfgs", base_url=live_url).fit(X, y)
    assert [c.shape for c in reg.coefs_] == [(1, 6), (6, 1)]


@pytest.mark.parametrize("bad", ["16", 16.5, [8, "4"], True, None])
def test_other_layer_sizes_are_refused_before_any_request(bad: object) -> None:
    # No service at this address: the client must refuse without asking.
    with relumap.Client("http://127.0.0.1:9", timeout=(0.5, 0.5), retries=0) as client:
        with pytest.raises(relumap.ValidationError, match="hidden_layer_sizes must be an int"):
            client.fit("0" * 32, hidden_layer_sizes=bad)  # type: ignore[arg-type]


def test_predict_proba_of_a_regressor_is_a_relumap_error(square_model: relumap.Model) -> None:
    for call in (square_model.predict_proba, square_model.weights().predict_proba):
        with pytest.raises(relumap.WrongTask, match="regressor") as caught:
            call([[0.0]])
        assert isinstance(caught.value, relumap.RelumapError)
        assert isinstance(caught.value, ValueError)


def jacobian(model: relumap.Model, point: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central differences of the service's predictions: shape (n_outputs, n_inputs)."""
    steps = np.eye(point.size) * h
    up = model.predict(point + steps).reshape(point.size, -1)
    down = model.predict(point - steps).reshape(point.size, -1)
    return ((up - down) / (2 * h)).T


def test_every_affine_map_is_a_gradient_of_outputs_by_inputs(api: relumap.Client) -> None:
    # An identity network, 2 inputs to 1 output: one affine map everywhere.
    X = np.random.default_rng(3).uniform(-2, 2, size=(80, 2))
    y = 3.0 * X[:, 0] - 0.5 * X[:, 1] + 1.0
    model = api.fit((X, y), hidden_layer_sizes=[4], activation="identity", progress=False)
    point = np.array([0.3, -0.7])
    expected = jacobian(model, point)
    np.testing.assert_allclose(expected, [[3.0, -0.5]], atol=1e-3)
    maps = {
        "equivalent_linear_map": model.equivalent_linear_map,
        "baseline": model.baseline,
        "affine_on_domain": model.regions().diagnostics.affine_on_domain,
    }
    for name, found in maps.items():
        assert found is not None, name
        assert found.gradient.shape == (1, 2), name
        np.testing.assert_allclose(found.gradient, expected, atol=1e-3, err_msg=name)
        np.testing.assert_allclose(found(point), model.predict([point]).reshape(1, 1), atol=1e-3)
    local = model.local_affine([point])
    assert local.gradients.shape == (1, 1, 2)
    np.testing.assert_allclose(local.gradients[0], expected, atol=1e-6)
    regions = model.regions()
    assert regions.gradients.shape == (regions.n_regions, 1, 2)
    np.testing.assert_allclose(regions.gradients[0], expected, atol=1e-6)


def test_reprs_give_key_figures_and_no_arrays(
    square_model: relumap.Model, xor_model: relumap.Model, api: relumap.Client
) -> None:
    metrics = square_model.metrics
    assert metrics is not None
    r2 = metrics.test["r2"]
    knots = square_model.knots()
    regions = xor_model.regions()
    assert regions.decision_boundary is not None
    sliced = xor_model.knots(axis=0)
    assert sliced.slice is not None
    shown = {
        "model": (square_model, ["regression", "relu [8]", f"test r2 {r2:.4g}", "1 input"]),
        "metrics": (metrics, [f"test r2 {r2:.4g}", "LinearRegression"]),
        "knots": (knots, [f"{knots.n_knots} knots", f"{knots.n_pieces} pieces"]),
        "regions": (regions, [f"{regions.n_regions} activation regions", "linear"]),
        "boundary": (regions.decision_boundary, [f"{regions.decision_boundary.n_segments} seg"]),
        "weights": (square_model.weights(), ["1 -> 8 -> 1", "relu"]),
        "diagnostics": (knots.diagnostics, ["8 hidden units", "dead"]),
        "local": (square_model.local_affine([[0.0], [0.5]]), ["2 points"]),
        "slice": (sliced.slice, ["axis"]),
        "dataset": (square_model.dataset(), ["160 samples"]),
    }
    for name, (obj, needles) in shown.items():
        text = repr(obj)
        assert "array(" not in text and "\n" not in text and len(text) < 240, (name, text)
        for needle in needles:
            assert needle in text, (name, text)
    identity = api.network([[[2.0]], [[1.0]]], [[0.0], [0.5]], activation="identity")
    assert repr(identity.equivalent_linear_map) == "<AffineMap y = 2·x + 0.5>"
