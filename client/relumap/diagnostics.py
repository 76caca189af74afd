"""Small results shared by 1D and 2D geometry: affine maps, neuron diagnostics, patterns.

Affine maps, neuron diagnostics and activation patterns are
:mod:`relumap_geometry`'s, which the service's core uses too; the client adds
data frames (``to_frame()``) to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

import relumap_geometry
from relumap._optional import require
from relumap_geometry import pattern_strings, patterns_array
from relumap_geometry.text import count

__all__ = ["AffineMap", "LocalAffine", "NeuronDiagnostics", "pattern_strings", "patterns_array"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class AffineMap(relumap_geometry.AffineMap):
    """One affine map ``gradient @ x + intercept`` of the logits.

    Attributes
    ----------
    gradient : ndarray of shape (n_outputs, n_inputs)
    intercept : ndarray of shape (n_outputs,)
    """

    def to_frame(self) -> Any:
        """Return one row per output: ``gradient_0`` (``_1``), ``intercept``."""
        pandas = require("pandas", "AffineMap.to_frame()")
        columns = {f"gradient_{j}": self.gradient[:, j] for j in range(self.gradient.shape[1])}
        return pandas.DataFrame({**columns, "intercept": self.intercept})


@dataclass(frozen=True, eq=False)
class LocalAffine:
    """Each point's activation pattern and the affine map of the logits there.

    Attributes
    ----------
    patterns : ndarray of bool of shape (n_samples, n_hidden_total)
        True where a hidden unit is active; the pattern names the point's
        activation region.
    gradients : ndarray of shape (n_samples, n_outputs, n_inputs)
    intercepts : ndarray of shape (n_samples, n_outputs)
    """

    patterns: BoolArray
    gradients: FloatArray
    intercepts: FloatArray

    def __repr__(self) -> str:
        n = self.patterns.shape[0]
        distinct = len({row.tobytes() for row in self.patterns})
        return f"<LocalAffine: {count(n, 'point')} in {count(distinct, 'activation region')}>"

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> LocalAffine:
        """Build from a predict response with ``?include=pattern``."""
        return cls(
            patterns_array(document["patterns"]),
            np.asarray(document["gradients"], dtype=np.float64),
            np.asarray(document["intercepts"], dtype=np.float64),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return ``patterns`` (0/1 strings), ``gradients`` and ``intercepts`` as lists."""
        return {
            "patterns": pattern_strings(self.patterns),
            "gradients": self.gradients.tolist(),
            "intercepts": self.intercepts.tolist(),
        }

    def to_frame(self) -> Any:
        """Return one row per point: ``pattern``, then gradient and intercept of output 0."""
        pandas = require("pandas", "LocalAffine.to_frame()")
        columns = {f"gradient_{j}": self.gradients[:, 0, j] for j in range(self.gradients.shape[2])}
        return pandas.DataFrame(
            {
                "pattern": pattern_strings(self.patterns),
                **columns,
                "intercept": self.intercepts[:, 0],
            }
        )


class NeuronDiagnostics(relumap_geometry.NeuronDiagnostics):
    """Per hidden unit: dead or always active on the domain, and activity on the data.

    Attributes
    ----------
    layer, unit : ndarray of int of shape (n_hidden_total,)
        Hidden layer (from 1) and index in the layer (from 0) of each unit.
    dead_on_domain : ndarray of bool of shape (n_hidden_total,)
        Off on every piece or region: the unit never contributes.
    always_active_on_domain : ndarray of bool of shape (n_hidden_total,)
        On everywhere: the unit acts linearly.
    active_fraction : ndarray of shape (n_hidden_total,) or None
        Fraction of training points where the unit is on.
    dead_on_data : ndarray of bool of shape (n_hidden_total,) or None
        On at no training point.
    affine_on_domain : AffineMap or None
        The network's one affine map when it has a single linear region.
    """

    affine_map_type: ClassVar[type[relumap_geometry.AffineMap]] = AffineMap

    def to_frame(self) -> Any:
        """Return one row per hidden unit."""
        pandas = require("pandas", "NeuronDiagnostics.to_frame()")
        n = self.layer.shape[0]
        return pandas.DataFrame(
            {
                "layer": self.layer,
                "unit": self.unit,
                "dead_on_domain": self.dead_on_domain,
                "always_active_on_domain": self.always_active_on_domain,
                "active_fraction": np.full(n, np.nan)
                if self.active_fraction is None
                else self.active_fraction,
                "dead_on_data": [None] * n if self.dead_on_data is None else self.dead_on_data,
            }
        )
