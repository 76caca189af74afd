"""Network against scikit-learn's own predictions, finite differences and hand algebra."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier, MLPRegressor

from relumap_service.core.network import Network

RNG = np.random.default_rng(0)


def random_network(sizes: tuple[int, ...], activation: str = "relu", **kwargs: object) -> Network:
    coefs = [RNG.normal(size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    intercepts = [RNG.normal(size=b) for b in sizes[1:]]
    return Network(coefs, intercepts, hidden_activation=activation, **kwargs)


def fitted(estimator: MLPRegressor | MLPClassifier, X: np.ndarray, y: np.ndarray) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y)


@pytest.mark.parametrize("activation", ["relu", "identity"])
def test_from_sklearn_regressor_predicts_like_scikit_learn(activation: str) -> None:
    X = RNG.uniform(-2, 2, size=(60, 2))
    estimator = fitted(
        MLPRegressor(hidden_layer_sizes=(5, 4), activation=activation, max_iter=50, random_state=0),
        X,
        X[:, 0] * X[:, 1],
    )
    network = Network.from_sklearn(estimator)
    np.testing.assert_allclose(network.predict(X)[:, 0], estimator.predict(X), rtol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_from_sklearn_classifier_probabilities(n_classes: int) -> None:
    X = RNG.normal(size=(90, 2))
    y = np.arange(90) % n_classes
    estimator = fitted(MLPClassifier(hidden_layer_sizes=(6,), max_iter=50, random_state=0), X, y)
    network = Network.from_sklearn(estimator)
    expected_output = "logistic" if n_classes == 2 else "softmax"
    assert network.output_activation == expected_output
    np.testing.assert_allclose(network.predict_proba(X), estimator.predict_proba(X), rtol=1e-9)


def test_from_sklearn_rejects_smooth_activations() -> None:
    X = RNG.normal(size=(20, 1))
    smooth = MLPRegressor(hidden_layer_sizes=(3,), activation="tanh", max_iter=5)
    estimator = fitted(smooth, X, X[:, 0])
    with pytest.raises(ValueError, match="piecewise-linear"):
        Network.from_sklearn(estimator)


def test_torch_layout_is_the_transpose() -> None:
    net = random_network((2, 3, 1))
    torch_coefs = [w.T for w in net.coefs]
    again = Network.from_layout(torch_coefs, net.intercepts, layout="torch")
    X = RNG.normal(size=(10, 2))
    np.testing.assert_array_equal(again.logits(X), net.logits(X))
    assert Network.from_dict(net.to_dict(layout="torch")).to_dict() == net.to_dict()


@pytest.mark.parametrize(
    ("coefs", "intercepts", "kwargs", "fragment"),
    [
        ([np.ones((1, 2)), np.ones((3, 1))], [np.zeros(2), np.zeros(1)], {}, "expects 3 inputs"),
        ([np.ones((1, 2))], [np.zeros(3)], {}, "has 3 entries"),
        ([np.ones((1, 2))], [], {}, "one intercept vector"),
        ([np.full((1, 1), np.nan)], [np.zeros(1)], {}, "NaN"),
        ([np.ones((1, 1))], [np.zeros(1)], {"hidden_activation": "tanh"}, "hidden_activation"),
        ([np.ones((1, 1))], [np.zeros(1)], {"output_activation": "relu"}, "output_activation"),
        ([np.ones((1, 1))], [np.zeros(1)], {"negative_slope": 1.5}, "negative_slope"),
    ],
)
def test_invalid_networks_say_what_is_wrong(
    coefs: list[np.ndarray], intercepts: list[np.ndarray], kwargs: dict[str, object], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        Network(coefs, intercepts, **kwargs)  # type: ignore[arg-type]


def test_patterns_are_the_signs_of_the_pre_activations() -> None:
    net = random_network((2, 4, 3, 1))
    X = RNG.normal(size=(50, 2))
    _, patterns = net.forward(X, return_patterns=True)
    pre1 = X @ net.coefs[0] + net.intercepts[0]
    pre2 = np.maximum(pre1, 0) @ net.coefs[1] + net.intercepts[1]
    np.testing.assert_array_equal(patterns[0], pre1 > 0)
    np.testing.assert_array_equal(patterns[1], pre2 > 0)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "identity"])
def test_local_affine_map_matches_finite_differences(activation: str) -> None:
    net = random_network((2, 6, 5, 2), activation, negative_slope=0.2)
    X = RNG.normal(size=(40, 2))
    gradients, intercepts = net.local_affine(X)
    h = 1e-6
    for k in range(2):
        step = np.zeros(2)
        step[k] = h
        numeric = (net.logits(X + step) - net.logits(X - step)) / (2 * h)
        np.testing.assert_allclose(gradients[:, :, k], numeric, atol=1e-5)
    values = np.einsum("noi,ni->no", gradients, X) + intercepts
    np.testing.assert_allclose(values, net.logits(X), atol=1e-12)


def test_identity_network_collapses_to_the_product_of_its_layers() -> None:
    net = random_network((2, 4, 3, 2), "identity")
    weight, bias = net.equivalent_linear_map()
    W1, W2, W3 = net.coefs
    b1, b2, b3 = net.intercepts
    np.testing.assert_allclose(weight, W1 @ W2 @ W3, rtol=1e-12)
    np.testing.assert_allclose(bias, (b1 @ W2 + b2) @ W3 + b3, rtol=1e-12)
    with pytest.raises(ValueError, match="not one affine map"):
        random_network((2, 3, 1)).equivalent_linear_map()
