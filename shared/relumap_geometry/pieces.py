"""A one-input piecewise-affine model: its knots, breakpoints and pieces.

The service's core computes them exactly
(:class:`relumap_service.core.knots.Knots1D`); the client reads them back
(:class:`relumap.Knots`). Both extend :class:`Pieces1D`, which holds what they
share: the arrays, their counts, the evaluation from the pieces and the
document of ``GET /v1/models/{id}/knots``.

Examples
--------
>>> import numpy as np
>>> evaluate_pieces(np.array([0.0, 1.0]), np.array([[-1.0], [1.0]]),
...                 np.zeros((2, 1)), [-0.5, 0.5]).ravel().tolist()
[0.5, 0.5]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap_geometry.patterns import pattern_strings

__all__ = ["Pieces1D", "evaluate_pieces"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


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


@dataclass(frozen=True, eq=False)
class Pieces1D:
    """Knots, breakpoints and affine pieces of a one-input model on ``[lo, hi]``.

    Attributes
    ----------
    lo, hi : float
        The domain.
    x : ndarray of shape (n_knots,)
        Sorted knots strictly inside ``(lo, hi)``: points where the slope of at
        least one output changes.
    breakpoints : ndarray of shape (n_events,)
        Every point where a hidden unit switches on or off, once per switching
        unit, sorted by position then by unit (so a position repeats when
        several units switch there). Includes switches that leave every slope
        unchanged, so the knots are a subset of these positions.
    breakpoint_layer, breakpoint_unit : ndarray of int of shape (n_events,)
        The switching unit: hidden layer numbered from 1, unit from 0.
    piece_lo, piece_hi : ndarray of shape (n_pieces,)
        Consecutive intervals of constant activation pattern covering
        ``[lo, hi]`` exactly (``piece_lo[0] == lo``, ``piece_hi[-1] == hi``).
    slopes, intercepts : ndarray of shape (n_pieces, n_outputs)
        The logits on piece ``p`` are ``slopes[p] * x + intercepts[p]``.
    patterns : ndarray of bool of shape (n_pieces, n_hidden_total)
        Activation pattern of each piece (all True for identity activations).
    bound : int
        Theoretical maximum number of knots, ``prod_l (n_l + 1) - 1`` (0 for
        an identity network).
    class_changes : ndarray of shape (n_changes,) or None
        For a binary ``logistic`` classifier, where the logit changes sign; for
        ``softmax``, where the largest logit changes. None for regressors.
    classes : ndarray of int of shape (n_changes + 1,) or None
        Predicted class index on each interval between consecutive class changes.
    """

    lo: float
    hi: float
    x: FloatArray
    breakpoints: FloatArray
    breakpoint_layer: IntArray
    breakpoint_unit: IntArray
    piece_lo: FloatArray
    piece_hi: FloatArray
    slopes: FloatArray
    intercepts: FloatArray
    patterns: BoolArray
    bound: int
    class_changes: FloatArray | None
    classes: IntArray | None

    @property
    def n_knots(self) -> int:
        """Number of knots."""
        return int(self.x.shape[0])

    @property
    def n_pieces(self) -> int:
        """Number of pieces of constant activation pattern."""
        return int(self.piece_lo.shape[0])

    def evaluate(self, x: ArrayLike) -> FloatArray:
        """Evaluate the logits from the pieces.

        Parameters
        ----------
        x : array-like of shape (n_samples,)
            Points in ``[lo, hi]``.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
        """
        return evaluate_pieces(self.piece_hi, self.slopes, self.intercepts, x)

    def pieces_document(self) -> dict[str, Any]:
        """Return the part of the knots document these arrays make, as plain lists.

        Keys: ``lo``, ``hi``, ``n_knots``, ``n_pieces``, ``bound``, ``knots``,
        ``breakpoints``, ``breakpoint_layer``, ``breakpoint_unit``, ``piece_lo``,
        ``piece_hi``, ``slopes``, ``intercepts``, ``patterns`` (one string of 0/1
        per piece), ``class_changes`` and ``classes`` (None for regressors).
        """
        return {
            "lo": self.lo,
            "hi": self.hi,
            "n_knots": self.n_knots,
            "n_pieces": self.n_pieces,
            "bound": self.bound,
            "knots": self.x.tolist(),
            "breakpoints": self.breakpoints.tolist(),
            "breakpoint_layer": self.breakpoint_layer.tolist(),
            "breakpoint_unit": self.breakpoint_unit.tolist(),
            "piece_lo": self.piece_lo.tolist(),
            "piece_hi": self.piece_hi.tolist(),
            "slopes": self.slopes.tolist(),
            "intercepts": self.intercepts.tolist(),
            "patterns": pattern_strings(self.patterns),
            "class_changes": None if self.class_changes is None else self.class_changes.tolist(),
            "classes": None if self.classes is None else self.classes.tolist(),
        }
