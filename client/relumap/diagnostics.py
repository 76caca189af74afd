"""Small results shared by 1D and 2D geometry: affine maps, neuron diagnostics, patterns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from relumap._optional import require
from relumap._tables import affine_formula, count

__all__ = ["AffineMap", "LocalAffine", "NeuronDiagnostics", "pattern_strings", "patterns_array"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def patterns_array(strings: Sequence[str]) -> BoolArray:
    """Turn activation patterns ``["0101", ...]`` into a bool array of shape (n, n_hidden)."""
    width = len(strings[0]) if strings else 0
    joined = np.frombuffer("".join(strings).encode("ascii"), dtype=np.uint8)
    result: BoolArray = joined.reshape(len(strings), width) == ord("1")
    return result


def pattern_strings(patterns: BoolArray) -> list[str]:
    """Turn a bool array of shape (n, n_hidden) back into strings of 0 and 1."""
    return ["".join("1" if bit else "0" for bit in row) for row in patterns]


def _optional_array(value: Any, dtype: Any) -> NDArray[Any] | None:
    return None if value is None else np.asarray(value, dtype=dtype)


@dataclass(frozen=True, eq=False)
class AffineMap:
    """One affine map ``gradient @ x + intercept`` of the logits.

    Attributes
    ----------
    gradient : ndarray of shape (n_outputs, n_inputs)
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
    def from_dict(cls, document: dict[str, Any]) -> AffineMap:
        """Build from ``{"gradient", "intercept"}`` or an equivalent linear map ``{"coef", ...}``.

        ``equivalent_linear_map.coef`` has scikit-learn's layout (n_inputs, n_outputs).
        """
        if "coef" in document:
            gradient = np.asarray(document["coef"], dtype=np.float64).T
        else:
            gradient = np.asarray(document["gradient"], dtype=np.float64)
        return cls(gradient, np.asarray(document["intercept"], dtype=np.float64))

    def __call__(self, X: Any) -> FloatArray:
        """Evaluate at ``X`` of shape (n_samples, n_inputs); return (n_samples, n_outputs)."""
        array = np.asarray(X, dtype=np.float64).reshape(-1, self.gradient.shape[1])
        out: FloatArray = array @ self.gradient.T + self.intercept
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"gradient": ..., "intercept": ...}`` as lists."""
        return {"gradient": self.gradient.tolist(), "intercept": self.intercept.tolist()}

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


@dataclass(frozen=True, eq=False)
class NeuronDiagnostics:
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

    layer: IntArray
    unit: IntArray
    dead_on_domain: BoolArray
    always_active_on_domain: BoolArray
    active_fraction: FloatArray | None
    dead_on_data: BoolArray | None
    affine_on_domain: AffineMap | None

    def __repr__(self) -> str:
        text = (
            f"<NeuronDiagnostics: {count(self.layer.shape[0], 'hidden unit')}, "
            f"{int(self.dead_on_domain.sum())} dead and "
            f"{int(self.always_active_on_domain.sum())} always active on the domain"
        )
        if self.dead_on_data is not None:
            text += f", {int(self.dead_on_data.sum())} dead on the data"
        return text + ">"

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> NeuronDiagnostics:
        """Build from the ``diagnostics`` of a knots or regions document."""
        affine = document.get("affine_on_domain")
        return cls(
            layer=np.asarray(document["layer"], dtype=np.int64),
            unit=np.asarray(document["unit"], dtype=np.int64),
            dead_on_domain=np.asarray(document["dead_on_domain"], dtype=bool),
            always_active_on_domain=np.asarray(document["always_active_on_domain"], dtype=bool),
            active_fraction=_optional_array(document.get("active_fraction"), np.float64),
            dead_on_data=_optional_array(document.get("dead_on_data"), bool),
            affine_on_domain=None if affine is None else AffineMap.from_dict(affine),
        )

    def _pairs(self, mask: BoolArray) -> list[tuple[int, int]]:
        return [(int(a), int(b)) for a, b in zip(self.layer[mask], self.unit[mask], strict=True)]

    @property
    def dead_units(self) -> list[tuple[int, int]]:
        """``(layer, unit)`` of every unit dead on the domain."""
        return self._pairs(self.dead_on_domain)

    @property
    def always_active_units(self) -> list[tuple[int, int]]:
        """``(layer, unit)`` of every unit always active on the domain."""
        return self._pairs(self.always_active_on_domain)

    def to_dict(self) -> dict[str, Any]:
        """Return the service's ``diagnostics`` document."""
        return {
            "layer": self.layer.tolist(),
            "unit": self.unit.tolist(),
            "dead_on_domain": self.dead_on_domain.tolist(),
            "always_active_on_domain": self.always_active_on_domain.tolist(),
            "active_fraction": None
            if self.active_fraction is None
            else self.active_fraction.tolist(),
            "dead_on_data": None if self.dead_on_data is None else self.dead_on_data.tolist(),
            "dead_units": [list(p) for p in self.dead_units],
            "always_active_units": [list(p) for p in self.always_active_units],
            "affine_on_domain": None
            if self.affine_on_domain is None
            else self.affine_on_domain.to_dict(),
        }

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
