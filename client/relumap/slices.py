"""The line or plane through input space that a model's knots or regions were computed on.

A model of more than two inputs is mapped on slices: ``model.knots(axis="age")``
cuts it along one feature through a reference point, ``model.regions(axes=("age",
"income"))`` along two. The service restricts the network to the slice exactly;
:class:`Slice` says where the slice lies and gives each piece's affine map in all
inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap._data import floats
from relumap._tables import count
from relumap.errors import ValidationError

__all__ = ["Slice", "slice_entries", "slice_params"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Slice:
    """Where a slice lies: ``x = origin + coords @ directions``.

    Attributes
    ----------
    kind : {"axis", "segment", "axes", "plane"}
    origin : ndarray of shape (n_features,)
    directions : ndarray of shape (k, n_features)
        ``k`` 1 for a line, 2 for a plane.
    axis_names : tuple of str
        Name of each slice coordinate: the features' names, or ``t`` / ``s, t``.
    reference : ndarray of shape (n_features,) or None
        The point ``at=`` named (``axis`` and ``axes`` slices).
    gradients_full : ndarray of shape (n_pieces, n_outputs, n_features)
        On each piece or region, the gradient of the logits in all inputs.
    intercepts_full : ndarray of shape (n_pieces, n_outputs)
    """

    kind: str
    origin: FloatArray
    directions: FloatArray
    axis_names: tuple[str, ...]
    reference: FloatArray | None
    gradients_full: FloatArray
    intercepts_full: FloatArray

    def __repr__(self) -> str:
        return (
            f"<Slice {self.kind} {', '.join(self.axis_names)} "
            f"in {count(self.origin.shape[0], 'input')}>"
        )

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Slice | None:
        """Build from a knots or regions document; None when it maps the model's own inputs."""
        found = document.get("slice")
        if found is None:
            return None
        origin = floats(found["origin"])
        directions = floats(found["directions"]).reshape(-1, origin.shape[0])
        n = len(document["patterns"])
        reference = found.get("reference")
        return cls(
            kind=str(found["kind"]),
            origin=origin,
            directions=directions,
            axis_names=tuple(document.get("axis_names") or ()),
            reference=None if reference is None else floats(reference),
            gradients_full=floats(document["gradients_full"]).reshape(n, -1, origin.shape[0]),
            intercepts_full=floats(document["intercepts_full"]).reshape(n, -1),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the ``slice`` entry of the service's document."""
        return {
            "kind": self.kind,
            "origin": self.origin.tolist(),
            "directions": self.directions.tolist(),
            "reference": None if self.reference is None else self.reference.tolist(),
        }

    def points(self, coords: ArrayLike) -> FloatArray:
        """Map slice coordinates, shape (n_points, k), to inputs, shape (n_points, n_features)."""
        c = np.asarray(coords, dtype=np.float64).reshape(-1, self.directions.shape[0])
        out: FloatArray = self.origin + c @ self.directions
        return out


def slice_entries(feature_names: Sequence[str], cut: Slice | None) -> dict[str, Any]:
    """Return the names and slice entries of a knots or regions document."""
    return {
        "feature_names": list(feature_names),
        "axis_names": list(cut.axis_names) if cut is not None else list(feature_names),
        "slice": None if cut is None else cut.to_dict(),
        "gradients_full": None if cut is None else cut.gradients_full.tolist(),
        "intercepts_full": None if cut is None else cut.intercepts_full.tolist(),
    }


def _point(value: Any, name: str) -> str:
    """Write a reference point or direction as the service's comma list."""
    if isinstance(value, str):
        return value
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValidationError(f"{name} holds NaN or infinity")
    return ",".join(repr(float(v)) for v in array)


def slice_params(**given: Any) -> dict[str, str]:
    """Query parameters of a slice: ``axis``/``axes`` by index or name, points as comma lists.

    ``at`` is ``"median"``, ``"mean"``, ``"row:K"``, an int ``K`` (a data row) or a
    point; ``start``, ``end``, ``origin``, ``u`` and ``v`` are points.
    """
    params: dict[str, str] = {}
    for key, value in given.items():
        if value is None:
            continue
        if key == "axes":
            if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
                raise ValidationError(
                    f"axes must be two features (indices or names), got {value!r}"
                )
            params[key] = ",".join(str(v) for v in value)
        elif key == "axis":
            params[key] = str(value)
        elif key == "at" and isinstance(value, int | np.integer) and not isinstance(value, bool):
            params[key] = f"row:{int(value)}"
        else:
            params[key] = _point(value, key)
    return params
