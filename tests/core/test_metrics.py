from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from relumap_service.core.metrics import classification_metrics, regression_metrics

RNG = np.random.default_rng(3)


def test_regression_metrics_agree_with_scikit_learn() -> None:
    y, pred = RNG.normal(size=40), RNG.normal(size=40)
    got = regression_metrics(y, pred)
    np.testing.assert_allclose(got["mse"], skm.mean_squared_error(y, pred), rtol=1e-12)
    np.testing.assert_allclose(got["rmse"], np.sqrt(skm.mean_squared_error(y, pred)), rtol=1e-12)
    np.testing.assert_allclose(got["mae"], skm.mean_absolute_error(y, pred), rtol=1e-12)
    np.testing.assert_allclose(got["r2"], skm.r2_score(y, pred), rtol=1e-12)
    np.testing.assert_allclose(got["max_error"], skm.max_error(y, pred), rtol=1e-12)


def test_r2_of_a_constant_target() -> None:
    assert regression_metrics(np.ones(3), np.ones(3))["r2"] == 1.0
    assert regression_metrics(np.ones(3), np.zeros(3))["r2"] is None
    assert regression_metrics(np.ones(1), np.zeros(1))["r2"] is None


def test_classification_metrics_with_labels_and_a_missing_class() -> None:
    proba = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1]])
    y = np.array([0, 1, 1, 1])  # class "c" never occurs
    got = classification_metrics(y, proba, ["a", "b", "c"])
    assert got["accuracy"] == 0.75
    assert got["confusion_matrix"] == {
        "labels": ["a", "b", "c"],
        "matrix": [[1, 0, 0], [1, 2, 0], [0, 0, 0]],
    }
    np.testing.assert_allclose(got["log_loss"], -np.mean(np.log([0.9, 0.7, 0.3, 0.8])))
    assert got["roc_auc"] is None


def test_binary_roc_auc() -> None:
    proba1 = np.array([0.1, 0.4, 0.35, 0.8])
    y = np.array([0, 0, 1, 1])
    got = classification_metrics(y, np.column_stack([1 - proba1, proba1]), [0, 1])
    assert got["roc_auc"] == 0.75  # of the 4 (negative, positive) pairs, 3 are ordered
