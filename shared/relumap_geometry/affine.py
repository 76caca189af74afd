"""One affine map of a network's logits, ``gradient @ x + intercept``.

The layout is the API's: ``gradient`` of shape (n_outputs, n_inputs), one row
per output, as in a Jacobian. scikit-learn's layout (``coef`` of shape
(n_inputs, n_outputs)) is read too, for ``equivalent_linear_map``.

Examples
--------
>>> import numpy as np
>>> f = AffineMap(np.array([[2.0]]), np.array([0.5]))
>>> f
<AffineMap y = 2·x + 0.5>
>>> f([[1.0], [3.0]]).ravel().tolist()
[2.5, 6.5]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap_geometry.text import affine_formula, count

__all__ = ["AffineMap"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class AffineMap:
    """The logits as one affine map ``gradient @ x + intercept``.

    Attributes
    ----------
    gradient : ndarray of shape (n_outputs, n_inputs)
        For one input, ``gradient[:, 0]`` is the slope of each output.
    intercept : ndarray of shape (n_outputs,)
    """

    gradient: FloatArray
    intercept: FloatArray

    def __repr__(self) -> str:
        n_out, n_in = self.gradient.shape
        if n_out == 1 and n_in <= 4:
            names = ["x"] if n_in == 1 else [f"x{j + 1}" for j in range(n_in)]
            return f"<AffineMap {affine_formula('y', self.gradient[0], self.intercept[0], names)}>"
        return f"<AffineMap: {count(n_in, 'input')} to {count(n_out, 'output')}>"

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Self:
        """Build from ``{"gradient", "intercept"}`` or an equivalent linear map ``{"coef", ...}``.

        ``equivalent_linear_map.coef`` has scikit-learn's layout (n_inputs, n_outputs).
        """
        if "coef" in document:
            gradient = np.asarray(document["coef"], dtype=np.float64).T
        else:
            gradient = np.asarray(document["gradient"], dtype=np.float64)
        return cls(gradient, np.asarray(document["intercept"], dtype=np.float64))

    def __call__(self, X: ArrayLike) -> FloatArray:
        """Evaluate at ``X`` of shape (n_samples, n_inputs); return (n_samples, n_outputs)."""
        array = np.asarray(X, dtype=np.float64).reshape(-1, self.gradient.shape[1])
        out: FloatArray = array @ self.gradient.T + self.intercept
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"gradient": ..., "intercept": ...}`` as lists."""
        return {"gradient": self.gradient.tolist(), "intercept": self.intercept.tolist()}
