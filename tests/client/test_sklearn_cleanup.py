"""Estimator fits leave nothing on the service unless asked to keep it.

A grid search fits many times; each fit used to leave a data set and a model
behind. The service's own listings are the witness here.
"""

from __future__ import annotations

import numpy as np
import pytest

import relumap
from relumap.sklearn import RemoteMLPClassifier, RemoteMLPRegressor

FAST = {"solver": "lbfgs", "max_iter": 500, "random_state": 0}


def held(api: relumap.Client) -> tuple[set[str], set[str]]:
    return {d.id for d in api.datasets()}, {m.id for m in api.models()}


def parabola(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(-2, 2, n)
    return x.reshape(-1, 1), x**2


def test_fitting_twice_leaves_no_data_set_and_no_model(api: relumap.Client, live_url: str) -> None:
    datasets, models = held(api)
    X, y = parabola()
    reg = RemoteMLPRegressor((4,), base_url=live_url, **FAST)
    reg.fit(X, y)
    first = reg.predict(X)
    reg.fit(X, y)
    labels = np.where(X[:, 0] > 0, "right", "left")
    clf = RemoteMLPClassifier((4,), base_url=live_url, **FAST).fit(X, labels)
    assert held(api) == (datasets, models)
    # Everything the estimators need was fetched before the deletion.
    np.testing.assert_array_equal(reg.predict(X), first)
    assert reg.knots_.size > 0 and reg.metrics_ is not None and reg.model_id_ is None
    assert clf.score(X, labels) > 0.9 and clf.dataset_id_ is None


def test_a_refused_fit_leaves_its_upload_behind_neither(api: relumap.Client, live_url: str) -> None:
    datasets, models = held(api)
    X, y = parabola(20)
    with pytest.raises(relumap.ValidationError, match="hidden_layer_sizes"):
        RemoteMLPRegressor((0,), base_url=live_url).fit(X, y)
    assert held(api) == (datasets, models)


def test_keep_on_service_keeps_one_of_each(api: relumap.Client, live_url: str) -> None:
    datasets, models = held(api)
    X, y = parabola()
    reg = RemoteMLPRegressor((4,), base_url=live_url, keep_on_service=True, **FAST).fit(X, y)
    now_datasets, now_models = held(api)
    assert now_datasets - datasets == {reg.dataset_id_}
    assert now_models - models == {reg.model_id_}
    np.testing.assert_array_equal(api.model(reg.model_id_).knots().x, reg.knots_)
    api.dataset(reg.dataset_id_).delete(cascade=True)
    assert held(api) == (datasets, models)
