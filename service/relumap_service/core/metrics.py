"""Error metrics for regression and classification, as plain JSON-ready dicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn import metrics as skm

__all__ = ["classification_metrics", "regression_metrics"]


def regression_metrics(y_true: NDArray[np.float64], y_pred: NDArray[np.float64]) -> dict[str, Any]:
    """Return ``mse``, ``rmse``, ``mae``, ``r2`` and ``max_error`` of one-output predictions.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_samples,)

    Returns
    -------
    dict
        ``r2`` is None when fewer than two samples make it undefined.
    """
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    mse = float(np.mean((y_true - y_pred) ** 2))
    r2 = None
    if y_true.size >= 2:
        total = float(np.sum((y_true - y_true.mean()) ** 2))
        residual = float(np.sum((y_true - y_pred) ** 2))
        # A constant target makes R² undefined unless the fit is perfect.
        r2 = 1.0 - residual / total if total > 0 else (1.0 if residual == 0 else None)
    return {
        "n_samples": int(y_true.size),
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(np.mean(np.abs(y_true - y_pred))),
        "r2": r2,
        "max_error": float(np.max(np.abs(y_true - y_pred))),
    }


def classification_metrics(
    y_true: NDArray[np.int64], proba: NDArray[np.float64], classes: Sequence[Any]
) -> dict[str, Any]:
    """Return accuracy, log loss, macro F1, the confusion matrix and, if binary, ROC AUC.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,)
        Class indices into ``classes``.
    proba : ndarray of shape (n_samples, n_classes)
        Predicted class probabilities.
    classes : sequence
        Class labels as the user gave them; they label the confusion matrix.
    """
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    labels = np.arange(len(classes))
    y_pred = np.argmax(proba, axis=1)
    present = np.unique(y_true)
    roc_auc = None
    if len(classes) == 2 and present.size == 2:
        roc_auc = float(skm.roc_auc_score(y_true, proba[:, 1]))
    return {
        "n_samples": int(y_true.size),
        "accuracy": float(np.mean(y_pred == y_true)),
        "log_loss": float(skm.log_loss(y_true, np.clip(proba, 1e-15, 1.0), labels=labels)),
        "f1": float(skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "confusion_matrix": {
            "labels": list(classes),
            "matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        },
        "roc_auc": roc_auc,
    }
