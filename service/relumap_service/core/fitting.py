"""Fit a small MLP scikit-learn style and report it in the data's own units.

The fitted network is returned as plain weights. When inputs (and, for
regression, the target) were standardized, the scalers are folded into the first
and last layers, so that prediction, knots and regions need no special case:
with ``x_s = (x - mu) / sigma`` the first layer ``x_s @ W + b`` equals
``x @ (W / sigma[:, None]) + (b - (mu / sigma) @ W)``, and ``y = s * y_s + m``
scales the last layer by ``s`` and shifts its bias by ``m``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from relumap_service.core.fit_error import FitError
from relumap_service.core.metrics import classification_metrics, regression_metrics
from relumap_service.core.network import Network
from relumap_service.core.snapshots import IterateRecorder, Weights
from relumap_service.core.training import (
    RecordingClassifier,
    RecordingRegressor,
    recorded_snapshots,
    stop_reason,
)

__all__ = ["FitError", "FitParams", "fit_network"]

Task = Literal["regression", "classification"]


@dataclass(frozen=True)
class FitParams:
    """Parameters of one fit; names and defaults follow ``MLPRegressor``."""

    hidden_layer_sizes: tuple[int, ...] = (16,)
    activation: Literal["relu", "identity"] = "relu"
    solver: Literal["lbfgs", "adam", "sgd"] = "lbfgs"
    alpha: float = 1e-4
    learning_rate_init: float = 1e-3
    max_iter: int = 1000
    tol: float = 1e-4
    early_stopping: bool = False
    random_state: int | None = 0
    test_fraction: float = 0.2
    n_restarts: int = 1
    standardize: bool = True
    batch_size: int | Literal["auto"] = "auto"
    snapshots: int = 0

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> FitParams:
        """Build from a JSON document, ignoring keys that are not fit parameters."""
        known = {k: v for k, v in params.items() if k in cls.__dataclass_fields__}
        if "hidden_layer_sizes" in known:
            known["hidden_layer_sizes"] = tuple(int(n) for n in known["hidden_layer_sizes"])
        return cls(**known)


def _split(
    X: NDArray[np.float64], y: NDArray[Any], params: FitParams, task: Task
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    indices = np.arange(X.shape[0])
    if params.test_fraction <= 0:
        return indices, indices[:0]
    try:
        train, test = train_test_split(
            indices,
            test_size=params.test_fraction,
            random_state=params.random_state,
            stratify=y if task == "classification" else None,
        )
    except ValueError as exc:
        raise FitError(
            f"cannot hold out test_fraction={params.test_fraction} of {X.shape[0]} samples "
            f"({exc}); lower test_fraction, set it to 0, or add samples"
        ) from None
    return np.sort(train), np.sort(test)


Estimator = RecordingRegressor | RecordingClassifier


def _estimator(params: FitParams, task: Task, seed: int | None) -> Estimator:
    cls = RecordingClassifier if task == "classification" else RecordingRegressor
    return cls(
        hidden_layer_sizes=params.hidden_layer_sizes,
        activation=params.activation,
        solver=params.solver,
        alpha=params.alpha,
        learning_rate_init=params.learning_rate_init,
        max_iter=params.max_iter,
        tol=params.tol,
        early_stopping=params.early_stopping,
        random_state=seed,
        batch_size=params.batch_size,
    )


def _fold_scalers(
    weights: Weights,
    x_mean: NDArray[np.float64],
    x_scale: NDArray[np.float64],
    y_mean: float,
    y_scale: float,
) -> Weights:
    coefs = [np.array(w, dtype=np.float64) for w in weights[0]]
    intercepts = [np.array(b, dtype=np.float64) for b in weights[1]]
    intercepts[0] = intercepts[0] - (x_mean / x_scale) @ coefs[0]
    coefs[0] = coefs[0] / x_scale[:, None]
    coefs[-1] = coefs[-1] * y_scale
    intercepts[-1] = intercepts[-1] * y_scale + y_mean
    return coefs, intercepts


def _n_weights(n_features: int, params: FitParams, n_outputs: int) -> int:
    units = [n_features, *params.hidden_layer_sizes, n_outputs]
    return sum((a + 1) * b for a, b in zip(units[:-1], units[1:], strict=False))


def _scores(
    network_or_model: Any, X: NDArray[np.float64], y: NDArray[Any], task: Task, classes: Any
) -> dict[str, Any] | None:
    if X.shape[0] == 0:
        return None
    if task == "regression":
        return regression_metrics(y, np.asarray(network_or_model(X)).ravel())
    proba = np.asarray(network_or_model(X))
    return classification_metrics(y, proba, classes)


def _baseline_map(baseline: Any, task: Task) -> dict[str, Any]:
    """Return the linear model's weights in the data's units, laid out as a last layer.

    ``coef`` has shape (n_features, n_outputs): one column for regression or
    binary classification (the logit of the second class), one per class else.
    """
    if task == "regression":
        coef = np.asarray(baseline.coef_, dtype=np.float64).reshape(-1, 1)
        intercept = np.atleast_1d(np.asarray(baseline.intercept_, dtype=np.float64))
    else:
        scaler, logistic = baseline[0], baseline[-1]
        weights = np.asarray(logistic.coef_, dtype=np.float64) / scaler.scale_
        coef = weights.T
        intercept = logistic.intercept_ - weights @ scaler.mean_
    return {"coef": coef.tolist(), "intercept": np.asarray(intercept).tolist()}


def fit_network(
    X: NDArray[np.float64],
    y: NDArray[Any],
    params: FitParams,
    task: Task,
    classes: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Fit an MLP, fold its scalers into the weights and score it beside a linear model.

    Warnings raised during the fit (``ConvergenceWarning`` and the like) are
    recorded, not shown; because Python's warning filters are process-global,
    the service calls this in a process of its own.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Regression targets, or class indices into ``classes`` for classification.
    params : FitParams
    task : {"regression", "classification"}
    classes : sequence, optional
        Class labels for classification, in index order.

    Returns
    -------
    dict
        JSON-ready but for ``snapshots``: ``network`` (weights document in the
        data's units), ``n_iter``, ``converged``, ``stop_reason`` (the solver's
        own), ``loss_curve`` (lbfgs: the objective at each iterate),
        ``warnings``, ``metrics`` and ``baseline`` (``train``/``test`` each),
        ``equivalent_linear_map`` for identity networks, ``test_indices``,
        timings, ``n_snapshots`` and ``snapshots``: a list of ``{"iteration",
        "loss", "weights"}``, weights as bytes (``pack_weights``, scalers
        folded in like ``network``), the last being ``network``'s.

    Raises
    ------
    FitError
        If the split or the fit is impossible for these data.
    """
    started = time.perf_counter()
    X = np.asarray(X, dtype=np.float64)
    if task == "classification":
        y = np.asarray(y, dtype=np.int64)
        classes = list(classes) if classes is not None else sorted(set(y.tolist()))
    else:
        y = np.asarray(y, dtype=np.float64)
    train, test = _split(X, y, params, task)
    X_train, y_train = X[train], y[train]
    if task == "classification" and np.unique(y_train).size < 2:
        raise FitError("the training part holds a single class; a classifier needs two or more")

    if params.standardize:
        x_mean, x_scale = X_train.mean(axis=0), X_train.std(axis=0)
        x_scale[x_scale == 0] = 1.0
    else:
        x_mean, x_scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
    y_mean, y_scale = 0.0, 1.0
    if task == "regression" and params.standardize:
        y_mean, y_scale = float(y_train.mean()), float(y_train.std()) or 1.0
    target = (y_train - y_mean) / y_scale if task == "regression" else y_train

    restarts = []
    best: Estimator | None = None
    best_recorder: IterateRecorder | None = None
    n_outputs = 1 if task == "regression" or len(classes or []) <= 2 else len(classes or [])
    n_weights = _n_weights(X.shape[1], params, n_outputs)
    X_std = (X_train - x_mean) / x_scale
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(params.n_restarts):
            seed = None if params.random_state is None else params.random_state + k
            estimator = _estimator(params, task, seed)
            recorder = IterateRecorder.for_network(params.snapshots, n_weights)
            estimator.recorder = recorder
            try:
                estimator.fit(X_std, target)
            except ValueError as exc:
                raise FitError(f"scikit-learn rejected the fit: {exc}") from None
            loss = float(estimator.loss_)
            restarts.append({"random_state": seed, "loss": loss, "n_iter": int(estimator.n_iter_)})
            if best is None or loss < float(best.loss_):
                best, best_recorder = estimator, recorder
    assert best is not None and best_recorder is not None

    def fold(weights: Weights) -> Weights:
        return _fold_scalers(weights, x_mean, x_scale, y_mean, y_scale)

    snapshots = recorded_snapshots(best, best_recorder, X_std, target, fold)
    fit_seconds = time.perf_counter() - started

    network = Network(
        *fold((list(best.coefs_), list(best.intercepts_))),
        hidden_activation=best.activation,
        output_activation=best.out_activation_,
    )
    if task == "regression":
        baseline: Any = LinearRegression().fit(X_train, y_train)
        predict_net, predict_base = network.predict, baseline.predict
    else:
        baseline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            baseline.fit(X_train, y_train)
        predict_net, predict_base = network.predict_proba, baseline.predict_proba

    baseline_map = _baseline_map(baseline, task)
    messages = [
        {"category": w.category.__name__, "message": str(w.message)}
        for w in caught
        if not issubclass(w.category, DeprecationWarning)
    ]
    converged = int(best.n_iter_) < params.max_iter and not any(
        issubclass(w.category, ConvergenceWarning) for w in caught
    )
    equivalent = None
    if not network.is_piecewise_linear:
        weight, bias = network.equivalent_linear_map()
        equivalent = {"coef": weight.tolist(), "intercept": bias.tolist()}
    # lbfgs has no loss curve in scikit-learn: its iterates' objective is one.
    loss_curve = getattr(best, "loss_curve_", None) or best_recorder.losses or None
    return {
        "network": network.to_dict(),
        "classes": list(classes) if classes is not None else None,
        "n_iter": int(best.n_iter_),
        "converged": bool(converged),
        "stop_reason": stop_reason(best),
        "n_snapshots": len(snapshots),
        "snapshots": snapshots,
        "loss": float(best.loss_),
        "loss_curve": [float(v) for v in loss_curve] if loss_curve is not None else None,
        "restarts": restarts,
        "warnings": messages,
        "metrics": {
            "train": _scores(predict_net, X_train, y_train, task, classes),
            "test": _scores(predict_net, X[test], y[test], task, classes),
        },
        "baseline": {
            "model": type(baseline[-1] if task == "classification" else baseline).__name__,
            **baseline_map,
            "train": _scores(predict_base, X_train, y_train, task, classes),
            "test": _scores(predict_base, X[test], y[test], task, classes),
        },
        "equivalent_linear_map": equivalent,
        "n_train": int(train.size),
        "n_test": int(test.size),
        "test_indices": test.tolist(),
        "fit_seconds": fit_seconds,
    }
