"""Evaluate a one-input piecewise-affine model from its pieces.

Examples
--------
>>> import numpy as np
>>> evaluate_pieces(np.array([0.0, 1.0]), np.array([[-1.0], [1.0]]),
...                 np.zeros((2, 1)), [-0.5, 0.5]).ravel().tolist()
[0.5, 0.5]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["evaluate_pieces"]

FloatArray = NDArray[np.float64]


def evaluate_pieces(
    piece_hi: FloatArray, slopes: FloatArray, intercepts: FloatArray, x: ArrayLike
) -> FloatArray:
    """Evaluate ``slopes[p] * x + intercepts[p]`` on the piece ``p`` holding each point.

    Parameters
    ----------
    piece_hi : ndarray of shape (n_pieces,)
        Right ends of consecutive pieces, sorted.
    slopes, intercepts : ndarray of shape (n_pieces, n_outputs)
    x : array-like of shape (n_samples,)
        Points; one on a piece end takes the piece to its left, one outside
        the pieces the nearest end piece.

    Returns
    -------
    ndarray of shape (n_samples, n_outputs)
    """
    points = np.asarray(x, dtype=np.float64).reshape(-1)
    piece = np.clip(np.searchsorted(piece_hi, points, side="left"), 0, piece_hi.shape[0] - 1)
    out: FloatArray = slopes[piece] * points[:, None] + intercepts[piece]
    return out
