"""Each hidden unit as an affine map on each piece or region (``include=units``).

On a piece (1D) or region (2D) every hidden unit is affine in the input. The
service reports, with ``include_units=True``, each unit's *activation* on the
pieces of :meth:`relumap.Model.knots` and, for the last hidden layer, its
contribution to each output (``W[j, o]`` times the activation), which add up to
the output; and each unit's *pre-activation* on the regions of
:meth:`relumap.Model.regions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from relumap._data import floats

__all__ = ["UnitMaps"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class UnitMaps:
    """The hidden units' affine maps on each of ``n_rows`` pieces or regions.

    Attributes
    ----------
    gradients : tuple of ndarray of shape (n_rows, n_units, n_inputs)
        One per hidden layer: row ``r``, unit ``j`` is the gradient of the
        unit's activation (knots) or pre-activation (regions) on piece ``r``.
    intercepts : tuple of ndarray of shape (n_rows, n_units)
    contribution_gradients : ndarray of shape (n_rows, n_outputs, n_units) or None
        Knots only: the slope of each last-layer unit's share of each output.
    contribution_intercepts : ndarray of shape (n_rows, n_outputs, n_units) or None
    output_bias : ndarray of shape (n_outputs,) or None
        ``contribution_intercepts.sum(axis=2) + output_bias`` is each piece's intercept.
    """

    gradients: tuple[FloatArray, ...]
    intercepts: tuple[FloatArray, ...]
    contribution_gradients: FloatArray | None = None
    contribution_intercepts: FloatArray | None = None
    output_bias: FloatArray | None = None

    @classmethod
    def from_dict(cls, document: dict[str, Any], n_inputs: int) -> UnitMaps | None:
        """Build from a knots or regions document; None when it has no ``units``."""
        units = document.get("units")
        if units is None:
            return None
        n_rows = len(units)
        n_layers = len(units[0]) if n_rows else 0
        gradients = tuple(
            floats([piece[k]["gradient"] for piece in units]).reshape(n_rows, -1, n_inputs)
            for k in range(n_layers)
        )
        intercepts = tuple(
            floats([piece[k]["intercept"] for piece in units]).reshape(n_rows, -1)
            for k in range(n_layers)
        )
        parts = document.get("contributions")
        if parts is None:
            return cls(gradients, intercepts)
        n_outputs = len(document["output_bias"])
        return cls(
            gradients,
            intercepts,
            floats([p["gradient"] for p in parts]).reshape(n_rows, n_outputs, -1),
            floats([p["intercept"] for p in parts]).reshape(n_rows, n_outputs, -1),
            floats(document["output_bias"]),
        )
