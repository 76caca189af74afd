"""The scikit-learn estimators, fitted on the live service."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
)

import relumap
from relumap.sklearn import RemoteMLPClassifier, RemoteMLPRegressor

FAST = {"solver": "lbfgs", "max_iter": 2000, "random_state": 0}


def parabola(n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(-2, 2, n)
    return x.reshape(-1, 1), x**2


def quadrants(n: int = 160) -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(0).uniform(-3, 3, size=(n, 2))
    return X, np.where(X[:, 0] * X[:, 1] > 0, "same", "opposite")


def test_parameters_are_stored_unchanged(live_url: str) -> None:
    sizes = [8, 4]  # a list stays a list: scikit-learn's rule
    reg = RemoteMLPRegressor(sizes, "identity", alpha=0.5, base_url=live_url, api_key="k")
    assert reg.hidden_layer_sizes is sizes
    params = reg.get_params()
    assert params["activation"] == "identity" and params["alpha"] == 0.5
    assert params["base_url"] == live_url and params["api_key"] == "k"
    assert set(params) == {
        "hidden_layer_sizes",
        "activation",
        "solver",
        "alpha",
        "batch_size",
        "learning_rate_init",
        "max_iter",
        "tol",
        "early_stopping",
        "random_state",
        "n_restarts",
        "standardize",
        "test_fraction",
        "base_url",
        "api_key",
        "timeout",
        "keep_on_service",
    }
    # The defaults of the parameters MLPRegressor also has are MLPRegressor's.
    from sklearn.neural_network import MLPRegressor

    theirs = MLPRegressor().get_params()
    ours = RemoteMLPRegressor().get_params()
    for name in set(theirs) & set(ours):
        assert ours[name] == theirs[name], name
    check_no_attributes_set_in_init("RemoteMLPRegressor", RemoteMLPRegressor())
    check_parameters_default_constructible("RemoteMLPClassifier", RemoteMLPClassifier())


def test_clone_and_set_params(live_url: str) -> None:
    reg = RemoteMLPRegressor((4,), base_url=live_url, **FAST)
    twin = clone(reg)
    assert twin is not reg and twin.get_params() == reg.get_params()
    assert twin.set_params(alpha=1.0) is twin and twin.alpha == 1.0 and reg.alpha == 0.0001
    assert is_regressor(reg) and is_classifier(RemoteMLPClassifier())


def test_regressor_fits_remotely_and_predicts_locally(live_url: str, api: relumap.Client) -> None:
    X, y = parabola()
    reg = RemoteMLPRegressor((8,), base_url=live_url, keep_on_service=True, **FAST).fit(X, y)
    model = api.model(reg.model_id_)
    assert model.status == "succeeded" and model.task == "regression"
    assert model.params["test_fraction"] == 0.0 and model.params["solver"] == "lbfgs"
    assert [c.shape for c in reg.coefs_] == [(1, 8), (8, 1)]
    assert reg.n_iter_ == model.n_iter and reg.loss_ == model.loss
    assert reg.n_features_in_ == 1 and reg.n_layers_ == 3 and reg.out_activation_ == "identity"
    np.testing.assert_array_equal(reg.knots_, model.knots().x)
    grid = np.linspace(-2.2, 2.2, 301).reshape(-1, 1)
    np.testing.assert_allclose(reg.predict(grid), model.predict(grid), rtol=1e-13, atol=1e-13)
    assert reg.score(X, y) > 0.99
    assert reg.metrics_ is not None and reg.metrics_.test == {}
    with pytest.raises(ValueError, match="expecting 1 features"):
        reg.predict(np.zeros((2, 2)))


def test_classifier_with_string_labels(live_url: str, api: relumap.Client) -> None:
    X, y = quadrants()
    clf = RemoteMLPClassifier((8,), base_url=live_url, keep_on_service=True, **FAST).fit(X, y)
    assert clf.classes_.tolist() == ["opposite", "same"]
    assert clf.n_regions_ == api.model(clf.model_id_).regions().n_regions
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, api.model(clf.model_id_).predict_proba(X), rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), api.model(clf.model_id_).predict(X))
    assert clf.score(X, y) > 0.95


def test_unfitted_estimator_refuses_to_predict() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        RemoteMLPRegressor().predict([[0.0]])


def test_pipeline(live_url: str) -> None:
    X, y = parabola()
    pipe = make_pipeline(StandardScaler(), RemoteMLPRegressor((8,), base_url=live_url, **FAST))
    pipe.fit(X * 100 + 5, y)
    assert isinstance(pipe, Pipeline) and pipe.score(X * 100 + 5, y) > 0.99


def test_cross_val_score(live_url: str) -> None:
    X, y = parabola()
    scores = cross_val_score(
        RemoteMLPRegressor((8,), base_url=live_url, **FAST),
        X,
        y,
        cv=KFold(3, shuffle=True, random_state=0),
    )
    assert scores.shape == (3,) and np.all(scores > 0.95)


def test_grid_search_finds_that_relu_beats_identity(live_url: str) -> None:
    X, y = quadrants(120)
    search = GridSearchCV(
        RemoteMLPClassifier((8,), base_url=live_url, **FAST),
        {"activation": ["relu", "identity"]},
        cv=3,
    )
    search.fit(X, y)
    assert search.best_params_ == {"activation": "relu"}
    relu, identity = search.cv_results_["mean_test_score"]
    assert relu > 0.9 and identity < 0.75
    assert search.best_estimator_.n_regions_ > 1


def test_service_warnings_become_python_warnings(live_url: str) -> None:
    from sklearn.exceptions import ConvergenceWarning

    X, y = parabola(40)
    with pytest.warns(ConvergenceWarning, match="on the service"):
        RemoteMLPRegressor((8,), solver="lbfgs", max_iter=2, base_url=live_url).fit(X, y)


def test_service_errors_reach_the_caller(live_url: str) -> None:
    X, y = parabola(20)
    with pytest.raises(relumap.ValidationError, match="hidden_layer_sizes"):
        RemoteMLPRegressor((0,), base_url=live_url).fit(X, y)
