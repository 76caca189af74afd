"""Per hidden unit facts: dead or always active on the domain, activity on the data.

A hidden unit is *dead on the domain* when it is off on every piece (1-D) or
region (2-D) of the exact partition, and *always active* when it is on
everywhere. The service computes these
(:func:`relumap_service.core.diagnostics.neuron_diagnostics`); the client reads
them back from the ``diagnostics`` of a knots or regions document.

Examples
--------
>>> import numpy as np
>>> d = NeuronDiagnostics(layer=np.array([1, 1]), unit=np.array([0, 1]),
...                       dead_on_domain=np.array([True, False]),
...                       always_active_on_domain=np.array([False, True]),
...                       active_fraction=None, dead_on_data=None, affine_on_domain=None)
>>> d.dead_units, d.always_active_units
([(1, 0)], [(1, 1)])
>>> NeuronDiagnostics.from_dict(d.to_dict()).dead_units
[(1, 0)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray

from relumap_geometry.affine import AffineMap
from relumap_geometry.text import count

__all__ = ["NeuronDiagnostics"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def _optional_array(value: Any, dtype: Any) -> NDArray[Any] | None:
    return None if value is None else np.asarray(value, dtype=dtype)


@dataclass(frozen=True, eq=False)
class NeuronDiagnostics:
    """Per hidden unit: dead or always active on the domain, and activity on the data.

    Attributes
    ----------
    layer, unit : ndarray of int of shape (n_hidden_total,)
        Each unit's hidden layer (from 1) and index in the layer (from 0).
    dead_on_domain : ndarray of bool of shape (n_hidden_total,)
        Off on every piece or region: the unit never contributes.
    always_active_on_domain : ndarray of bool of shape (n_hidden_total,)
        On on every piece or region: the unit acts linearly.
    active_fraction : ndarray of shape (n_hidden_total,) or None
        Fraction of training points where the unit is on.
    dead_on_data : ndarray of bool of shape (n_hidden_total,) or None
        On at no training point.
    affine_on_domain : AffineMap or None
        The network's single affine map when it has one linear region on the
        domain (always for identity activations), else None.
    """

    # The class :meth:`from_dict` builds ``affine_on_domain`` with; a subclass
    # that extends AffineMap names its own here.
    affine_map_type: ClassVar[type[AffineMap]] = AffineMap

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
    def from_dict(cls, document: dict[str, Any]) -> Self:
        """Build from the ``diagnostics`` of a knots or regions document."""
        affine = document.get("affine_on_domain")
        return cls(
            layer=np.asarray(document["layer"], dtype=np.int64),
            unit=np.asarray(document["unit"], dtype=np.int64),
            dead_on_domain=np.asarray(document["dead_on_domain"], dtype=bool),
            always_active_on_domain=np.asarray(document["always_active_on_domain"], dtype=bool),
            active_fraction=_optional_array(document.get("active_fraction"), np.float64),
            dead_on_data=_optional_array(document.get("dead_on_data"), bool),
            affine_on_domain=None if affine is None else cls.affine_map_type.from_dict(affine),
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
        """Return the ``diagnostics`` document: a JSON-ready dictionary of lists.

        Keys: ``layer``, ``unit``, ``dead_on_domain``, ``always_active_on_domain``,
        ``active_fraction``, ``dead_on_data`` (None without data),
        ``dead_units`` and ``always_active_units`` (lists of ``[layer, unit]``),
        ``affine_on_domain`` (None or ``{"gradient", "intercept"}``).
        """
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
