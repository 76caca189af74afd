"""The forward pass of an MLP: hidden activations and output probabilities.

The service computes predictions with these (``relumap_service.core.network``)
and the client with the same functions on fetched weights
(:class:`relumap.Weights`), so both give the same floats on the same platform:
``h @ W + b`` per layer, ``max(h, 0)`` for ReLU, ``(1 + tanh(z / 2)) / 2`` for
the logistic output and a max-shifted softmax.

Examples
--------
>>> import numpy as np
>>> activate(np.array([-2.0, 3.0]), "leaky_relu", 0.5).tolist()
[-1.0, 3.0]
>>> output_probabilities(np.array([[0.0]]), "logistic").tolist()
[[0.5, 0.5]]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["activate", "output_probabilities"]

FloatArray = NDArray[np.float64]


def activate(pre: FloatArray, activation: str, negative_slope: float) -> FloatArray:
    """Apply a hidden activation to pre-activations.

    Parameters
    ----------
    pre : ndarray of any shape
    activation : {"relu", "leaky_relu", "identity"}
    negative_slope : float
        Slope of ``leaky_relu`` below zero.

    Returns
    -------
    ndarray of the shape of ``pre``
    """
    if activation == "relu":
        return np.maximum(pre, 0.0)
    if activation == "leaky_relu":
        return np.where(pre > 0.0, pre, negative_slope * pre)
    return pre


def output_probabilities(logits: FloatArray, output_activation: str) -> FloatArray:
    """Class probabilities from logits, one column per class.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_outputs)
    output_activation : {"logistic", "softmax"}
        ``logistic`` has one output, the logit of the second of two classes.

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
    """
    if output_activation == "logistic":
        p = 0.5 * (1.0 + np.tanh(0.5 * logits[:, 0]))
        return np.column_stack([1.0 - p, p])
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    out: FloatArray = shifted / shifted.sum(axis=1, keepdims=True)
    return out
