"""Watch a scikit-learn MLP learn: its true iterates, and why its solver stopped.

:class:`RecordingRegressor` and :class:`RecordingClassifier` are scikit-learn's
``MLPRegressor`` and ``MLPClassifier`` with two hooks and no other change, so a
fit gives bit for bit the weights the plain estimator gives:

- lbfgs: scikit-learn calls ``scipy.optimize.minimize`` without a callback, so
  ``_fit_lbfgs`` is the same call with one: it sees every accepted iterate of
  L-BFGS-B (``intermediate_result.x`` and ``.fun``, the solver's objective).
- adam and sgd: ``_update_no_improvement_count`` runs once at the end of every
  epoch, after the weights were updated; the hook copies them there.

Iterates are kept by a :class:`relumap_service.core.snapshots.IterateRecorder`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.optimize
from numpy.typing import NDArray
from scipy.special import xlogy
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.neural_network._multilayer_perceptron import _pack
from sklearn.utils.optimize import _check_optimize_result

from relumap_service.core.snapshots import IterateRecorder, Weights, pack_weights

try:  # scikit-learn >= 1.6 passes iprint only to SciPy versions that take it
    from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
except ImportError:  # pragma: no cover - older scikit-learn

    def _get_additional_lbfgs_options_dict(key: str, value: Any) -> dict[str, Any]:
        return {key: value}


__all__ = [
    "RecordingClassifier",
    "RecordingRegressor",
    "recorded_snapshots",
    "stop_reason",
    "training_loss",
]

FloatArray = NDArray[np.float64]


class _Recording:
    """The hooks shared by the recording regressor and classifier."""

    recorder: IterateRecorder | None = None

    def _fit_lbfgs(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        activations: Any,
        deltas: Any,
        coef_grads: Any,
        intercept_grads: Any,
        layer_units: Any,
    ) -> None:
        # scikit-learn's own _fit_lbfgs (1.9), plus the callback.
        est: Any = self
        est._coef_indptr = []
        est._intercept_indptr = []
        start = 0
        for i in range(est.n_layers_ - 1):
            n_fan_in, n_fan_out = layer_units[i], layer_units[i + 1]
            end = start + (n_fan_in * n_fan_out)
            est._coef_indptr.append((start, end, (n_fan_in, n_fan_out)))
            start = end
        for i in range(est.n_layers_ - 1):
            end = start + layer_units[i + 1]
            est._intercept_indptr.append((start, end))
            start = end
        iprint = 1 if est.verbose is True or est.verbose >= 1 else -1

        def callback(intermediate_result: scipy.optimize.OptimizeResult) -> None:
            recorder = self.recorder
            if recorder is None:
                return
            coefs: list[FloatArray] = []
            intercepts: list[FloatArray] = []
            if recorder.n_snapshots > 0:  # else only the loss is kept
                coefs, intercepts = self._unpacked(intermediate_result.x)
            count = len(recorder.losses) + 1
            recorder.record(count, coefs, intercepts, float(intermediate_result.fun))

        opt_res = scipy.optimize.minimize(
            est._loss_grad_lbfgs,
            _pack(est.coefs_, est.intercepts_),
            method="L-BFGS-B",
            jac=True,
            options={
                "maxfun": est.max_fun,
                "maxiter": est.max_iter,
                "gtol": est.tol,
                **_get_additional_lbfgs_options_dict("iprint", iprint),
            },
            args=(X, y, sample_weight, activations, deltas, coef_grads, intercept_grads),
            callback=callback,
        )
        est.n_iter_ = _check_optimize_result("lbfgs", opt_res, est.max_iter)
        est.loss_ = opt_res.fun
        est._unpack(opt_res.x)
        est.stop_message_ = str(opt_res.message)

    def _unpacked(self, packed: FloatArray) -> Weights:
        est: Any = self
        coefs = [np.reshape(packed[s:e], shape).copy() for s, e, shape in est._coef_indptr]
        intercepts = [packed[s:e].copy() for s, e in est._intercept_indptr]
        return coefs, intercepts

    def _update_no_improvement_count(self, early_stopping: Any, X: Any, y: Any, *rest: Any) -> None:
        super()._update_no_improvement_count(early_stopping, X, y, *rest)  # type: ignore[misc]
        if self.recorder is not None:
            est: Any = self
            self.recorder.record(est.n_iter_, est.coefs_, est.intercepts_)


class RecordingRegressor(_Recording, MLPRegressor):  # type: ignore[misc]
    """``MLPRegressor`` that shows its iterates to ``recorder``; see the module."""


class RecordingClassifier(_Recording, MLPClassifier):  # type: ignore[misc]
    """``MLPClassifier`` that shows its iterates to ``recorder``; see the module."""


def stop_reason(estimator: Any) -> str:
    """Return the solver's own reason for stopping a fitted recording estimator.

    lbfgs: SciPy's L-BFGS-B message (``"CONVERGENCE: ..."``, ``"ABNORMAL: ..."``
    for a failed line search, ``"STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"``).
    adam and sgd: scikit-learn's no-improvement message, or ``"max_iter reached"``.
    """
    if estimator.solver == "lbfgs":
        return str(getattr(estimator, "stop_message_", "unknown"))
    if estimator._no_improvement_count > estimator.n_iter_no_change:
        what = "Validation score" if estimator.early_stopping else "Training loss"
        return (
            f"{what} did not improve more than tol={estimator.tol:f} for "
            f"{estimator.n_iter_no_change} consecutive epochs."
        )
    if estimator.n_iter_ >= estimator.max_iter:
        return "max_iter reached"
    return "unknown"


def training_loss(
    coefs: list[FloatArray],
    intercepts: list[FloatArray],
    X: FloatArray,
    Y: FloatArray,
    *,
    alpha: float,
    activation: str,
    output_activation: str,
) -> float:
    """Return scikit-learn's MLP objective: mean loss plus ``alpha / 2n`` times the squared weights.

    Parameters
    ----------
    coefs, intercepts : list of ndarray
        Weights in scikit-learn's layout (as the solver sees them: standardized units).
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
        Targets; for a classifier the label-binarized classes (one column for two).
    alpha : float
        The L2 penalty.
    activation : {"relu", "identity"}
    output_activation : {"identity", "logistic", "softmax"}
        ``identity``: half the mean squared error; else the log-loss.
    """
    a = X
    for k, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
        a = a @ w + b
        if k < len(coefs) - 1 and activation == "relu":
            a = np.maximum(a, 0.0)
    if output_activation == "identity":
        loss = 0.5 * float(np.mean(np.mean((Y - a) ** 2, axis=0)))
    else:
        if output_activation == "logistic":
            p = 1.0 / (1.0 + np.exp(-a))
            p = np.column_stack([1.0 - p[:, 0], p[:, 0]])
            Y = np.column_stack([1.0 - Y[:, 0], Y[:, 0]])
        else:
            e = np.exp(a - a.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
        eps = np.finfo(np.float64).eps
        p = np.clip(p, eps, 1 - eps)
        loss = -float(np.mean(xlogy(Y, p), axis=0).sum())
    penalty = sum(float(np.dot(w.ravel(), w.ravel())) for w in coefs)
    return float(loss + 0.5 * alpha * penalty / X.shape[0])


def recorded_snapshots(
    best: Any,
    recorder: IterateRecorder,
    X_std: FloatArray,
    target: NDArray[Any],
    fold: Callable[[Weights], Weights],
) -> list[dict[str, Any]]:
    """Pick the recorded iterates of a fitted recording estimator, fold and pack them.

    Parameters
    ----------
    best : RecordingRegressor or RecordingClassifier
        Fitted, with ``recorder`` its recorder.
    recorder : IterateRecorder
    X_std : ndarray of shape (n_samples, n_features)
        The training inputs as the solver saw them.
    target : ndarray of shape (n_samples,)
        The solver's targets (standardized values, or class indices).
    fold : callable
        Maps the solver's weights to the data's units (scalers folded in).

    Returns
    -------
    list of dict
        ``iteration``, ``loss`` and ``weights`` (:func:`pack_weights` bytes).

    Notes
    -----
    The last is the stored model. Early stopping restores the weights of the
    epoch with the best validation score: the snapshots then end at that epoch.
    For adam and sgd the loss is computed at each snapshot's weights (their
    loss curve averages the mini-batches of an epoch, as the weights move);
    for lbfgs it is the solver's objective at the iterate.
    """
    n_last = int(best.n_iter_)
    if best.solver != "lbfgs" and best.early_stopping and best.validation_scores_:
        n_last = int(np.argmax(best.validation_scores_)) + 1
        recorder.truncate(n_last)
    final: Weights = (list(best.coefs_), list(best.intercepts_))
    final_loss = float(best.loss_) if best.solver == "lbfgs" else None
    # The solver's targets: label-binarized classes (one column for two), or y as a column.
    if isinstance(best, RecordingClassifier):
        Y = (target[:, None] == np.asarray(best.classes_)[None, :]).astype(np.float64)
        Y = Y[:, 1:] if Y.shape[1] == 2 else Y
    else:
        Y = np.asarray(target, dtype=np.float64).reshape(-1, 1)
    found = []
    for iteration, weights, loss in recorder.select(n_last, final, final_loss):
        if loss is None:
            loss = training_loss(
                weights[0],
                weights[1],
                X_std,
                Y,
                alpha=best.alpha,
                activation=best.activation,
                output_activation=best.out_activation_,
            )
        found.append(
            {"iteration": iteration, "loss": loss, "weights": pack_weights(*fold(weights))}
        )
    return found
