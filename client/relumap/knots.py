"""Exact knots, breakpoints and affine pieces of a one-input model.

A frozen mirror of the service's core result (``Knots1D``), built from the
document of ``GET /v1/models/{id}/knots``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from relumap._data import floats, ints, optional_list
from relumap._optional import require
from relumap._tables import count
from relumap.diagnostics import NeuronDiagnostics, pattern_strings, patterns_array
from relumap.slices import Slice, slice_entries
from relumap.units import UnitMaps
from relumap_geometry import Pieces1D

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Knots"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Knots(Pieces1D):
    """Knots, breakpoints and affine pieces of a one-input model on ``[lo, hi]``.

    The arrays (``lo``, ``hi``, ``x``, ``breakpoints``, ``breakpoint_layer``,
    ``breakpoint_unit``, ``piece_lo``, ``piece_hi``, ``slopes``, ``intercepts``,
    ``patterns``, ``bound``, ``class_changes``, ``classes``) and ``evaluate``
    are :class:`relumap_geometry.Pieces1D`'s, shared with the service's core.

    Attributes
    ----------
    model_id : str
    interval_labels : ndarray or None
        The class labels of ``classes``.
    diagnostics : NeuronDiagnostics
    feature_names : tuple of str
        The model's input names.
    slice : Slice or None
        For a model of several inputs, the line the knots lie on (``x`` is the
        line's own coordinate); None for a one-input model.
    certificate, verification : dict or None
        How exact the computation was, and the exact re-derivation asked
        for with ``verify=true``, as the service reported them.
    units : UnitMaps or None
        With ``include_units=True``: each hidden unit's activation on each
        piece, and the last layer's contributions to the output.
    """

    model_id: str
    interval_labels: NDArray[Any] | None
    diagnostics: NeuronDiagnostics
    feature_names: tuple[str, ...] = ()
    slice: Slice | None = None
    certificate: dict[str, Any] | None = None
    verification: dict[str, Any] | None = None
    units: UnitMaps | None = None

    def __repr__(self) -> str:
        where = "" if self.slice is None else f" along {', '.join(self.slice.axis_names)}"
        return (
            f"<Knots of model {self.model_id}{where}: {count(self.n_knots, 'knot')}, "
            f"{count(self.n_pieces, 'piece')} on [{self.lo:.4g}, {self.hi:.4g}] "
            f"(at most {count(self.bound, 'knot')}), "
            f"{count(len(self.diagnostics.dead_units), 'dead unit')}>"
        )

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Knots:
        """Build from the document of ``GET /v1/models/{id}/knots``."""
        n_pieces = len(document["piece_lo"])
        labels = document.get("interval_labels")
        return cls(
            model_id=str(document.get("model_id", "")),
            lo=float(document["lo"]),
            hi=float(document["hi"]),
            x=floats(document["knots"]),
            breakpoints=floats(document["breakpoints"]),
            breakpoint_layer=ints(document["breakpoint_layer"]),
            breakpoint_unit=ints(document["breakpoint_unit"]),
            piece_lo=floats(document["piece_lo"]),
            piece_hi=floats(document["piece_hi"]),
            slopes=floats(document["slopes"]).reshape(n_pieces, -1),
            intercepts=floats(document["intercepts"]).reshape(n_pieces, -1),
            patterns=patterns_array(document["patterns"]),
            bound=int(document["bound"]),
            class_changes=None
            if document.get("class_changes") is None
            else floats(document["class_changes"]),
            classes=None if document.get("classes") is None else ints(document["classes"]),
            interval_labels=None if labels is None else np.asarray(labels),
            diagnostics=NeuronDiagnostics.from_dict(document["diagnostics"]),
            feature_names=tuple(document.get("feature_names") or ()),
            slice=Slice.from_dict(document),
            certificate=document.get("certificate"),
            verification=document.get("verification"),
            units=UnitMaps.from_dict(document, 1),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the service's knots document."""
        return {
            "model_id": self.model_id,
            **self.pieces_document(),
            "interval_labels": optional_list(self.interval_labels),
            "diagnostics": self.diagnostics.to_dict(),
            **slice_entries(self.feature_names, self.slice),
            "certificate": self.certificate,
            "verification": self.verification,
        }

    def to_frame(self) -> Any:
        """Return one row per piece: ``lo``, ``hi``, ``pattern``, ``slope``, ``intercept``.

        With several outputs the columns are ``slope_0``, ``intercept_0``, ...
        """
        pandas = require("pandas", "Knots.to_frame()")
        columns: dict[str, Any] = {
            "lo": self.piece_lo,
            "hi": self.piece_hi,
            "pattern": pattern_strings(self.patterns),
        }
        single = self.slopes.shape[1] == 1
        for k in range(self.slopes.shape[1]):
            suffix = "" if single else f"_{k}"
            columns["slope" + suffix] = self.slopes[:, k]
            columns["intercept" + suffix] = self.intercepts[:, k]
        return pandas.DataFrame(columns)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the logits piece by piece, knots marked and pieces shaded alternately."""
        from relumap import plotting

        return plotting.plot_knots(self, ax=ax)
