"""Exact activation regions of a two-input model, and its decision boundary.

Frozen mirrors of the service's core results (``Regions2D``,
``DecisionBoundary``), built from the document of ``GET /v1/models/{id}/regions``.
"""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

import relumap_geometry
from relumap._data import floats, ints, optional_list
from relumap._optional import require
from relumap._tables import count
from relumap.diagnostics import NeuronDiagnostics, patterns_array
from relumap.slices import Slice, slice_entries
from relumap.units import UnitMaps
from relumap_geometry import (
    RegionMap,
    areas_and_interior_points,
    pack_patterns,
    packed_pattern_strings,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["NPZ", "DecisionBoundary", "Regions"]

# The binary media type of a region map (numpy's .npz), asked for by Model.regions().
NPZ = "application/x-npz"

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _npz_arrays(data: bytes) -> dict[str, NDArray[Any]]:
    """Read an .npz's arrays: views of ``data`` where a member is stored, as the service's are.

    ``np.load`` copies each member twice (out of the zip, then into its
    array): on a million-region map that is most of the reading. A stored
    member's ``.npy`` header is read with numpy's own reader and its array
    is a read-only view of the body. Other members (deflated, or of another
    ``.npy`` version) go through numpy's ``read_array``; no member can hold
    Python objects either way. The zip's CRCs are not checked (``np.load``
    checks them): the body has passed HTTP's checks.
    """
    arrays: dict[str, NDArray[Any]] = {}
    buffer = memoryview(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            if info.compress_type == zipfile.ZIP_STORED:
                # A local file header is 30 bytes, then the name and an extra field.
                lengths = struct.unpack_from("<HH", buffer, info.header_offset + 26)
                start = info.header_offset + 30 + sum(lengths)
                member = io.BytesIO(buffer[start : start + info.file_size])
                header = _HEADERS.get(np.lib.format.read_magic(member))
                if header is not None:
                    shape, fortran, dtype = header(member)
                    if dtype.hasobject:
                        raise ValueError(f"member {name!r} holds Python objects")
                    array = np.frombuffer(
                        buffer, dtype, math.prod(shape), offset=start + member.tell()
                    )
                    arrays[name] = array.reshape(shape, order="F" if fortran else "C")
                    continue
            with archive.open(info) as stream:
                arrays[name] = np.lib.format.read_array(stream, allow_pickle=False)
    return arrays


class DecisionBoundary(relumap_geometry.DecisionBoundary):
    """The exact decision boundary of a two-input classifier, as line segments.

    Attributes
    ----------
    segments : ndarray of shape (n_segments, 2, 2)
        Start and end point of each segment.
    region : ndarray of int of shape (n_segments,)
        Activation region holding each segment.
    classes : ndarray of int of shape (n_segments, 2)
        Class index on the left and on the right of each directed segment.
    """

    def to_frame(self) -> Any:
        """Return one row per segment: ``x0, y0, x1, y1, region, left, right``."""
        pandas = require("pandas", "DecisionBoundary.to_frame()")
        flat = self.segments.reshape(-1, 4)
        return pandas.DataFrame(
            {
                "x0": flat[:, 0],
                "y0": flat[:, 1],
                "x1": flat[:, 2],
                "y1": flat[:, 3],
                "region": self.region,
                "left": self.classes[:, 0],
                "right": self.classes[:, 1],
            }
        )

    def plot(self, ax: Axes | None = None, **style: Any) -> Axes:
        """Draw the segments exactly (a ``LineCollection``)."""
        from relumap import plotting

        return plotting.plot_boundary(self, ax=ax, **style)


def _packed_patterns(found: Any) -> NDArray[np.uint8]:
    """Return activation patterns as bits, given as strings of 0/1 (JSON) or as bits (.npz)."""
    if isinstance(found, np.ndarray) and found.dtype == np.uint8:
        return found
    return pack_patterns(patterns_array(found))


def _n_hidden(document: dict[str, Any]) -> int:
    """Bits per pattern: the .npz says so, the JSON's strings show it."""
    if "n_hidden" in document:
        return int(document["n_hidden"])
    found = document["patterns"]
    return len(found[0]) if len(found) else 0


@dataclass(frozen=True, eq=False)
class Regions(RegionMap):
    """Activation regions of a two-input model on a box, with their affine maps.

    The polygons and their arrays (``vertices``, ``offsets``, ``patterns``,
    ``gradients``, ``intercepts``, ``areas``, ``interior_points``,
    ``linear_region``, ``n_linear_regions``, ``bound``), ``polygons``,
    ``evaluate`` and ``to_geojson`` are :class:`relumap_geometry.RegionMap`'s,
    shared with the service's core.

    Attributes
    ----------
    model_id : str
    box : ndarray of shape (2, 2)
        ``[[x_min, y_min], [x_max, y_max]]``.
    classes : ndarray or None
        Class labels of a classifier.
    decision_boundary : DecisionBoundary or None
    diagnostics : NeuronDiagnostics
    feature_names : tuple of str
        The model's input names.
    slice : Slice or None
        For a model of other than two inputs, the plane the regions lie on (the
        box is in the plane's own coordinates); None for a two-input model.
    certificate, verification : dict or None
        How exact the computation was, and the exact re-derivation asked
        for with ``verify=true``, as the service reported them.
    vertex_ids : ndarray of int of shape (n_vertices,) or None
        Each vertex's index among the map's distinct points: regions meeting
        at a point share it, bit for bit.
    units : UnitMaps or None
        With ``include_units=True``: each hidden unit's pre-activation on each region.
    """

    model_id: str
    box: FloatArray
    classes: NDArray[Any] | None
    decision_boundary: DecisionBoundary | None
    diagnostics: NeuronDiagnostics
    feature_names: tuple[str, ...] = ()
    slice: Slice | None = None
    certificate: dict[str, Any] | None = None
    verification: dict[str, Any] | None = None
    vertex_ids: IntArray | None = None
    units: UnitMaps | None = None

    def __repr__(self) -> str:
        where = "" if self.slice is None else f" on the plane of {', '.join(self.slice.axis_names)}"
        boundary = self.decision_boundary
        return (
            f"<Regions of model {self.model_id}{where}: "
            f"{count(self.n_regions, 'activation region')}, {self.n_linear_regions} linear "
            f"(at most {self.bound}), {count(len(self.diagnostics.dead_units), 'dead unit')}"
            + ("" if boundary is None else f", {count(boundary.n_segments, 'boundary segment')}")
            + ">"
        )

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Regions:
        """Build from the document of ``GET /v1/models/{id}/regions``."""
        n = int(document["n_regions"])
        boundary = document.get("decision_boundary")
        classes = document.get("classes")
        return cls(
            model_id=str(document.get("model_id", "")),
            box=floats(document["box"]).reshape(2, 2),
            vertices=floats(document["vertices"]).reshape(-1, 2),
            offsets=ints(document["offsets"]),
            packed_patterns=_packed_patterns(document["patterns"]),
            n_hidden=_n_hidden(document),
            gradients=floats(document["gradients"]).reshape(n, -1, 2),
            intercepts=floats(document["intercepts"]).reshape(n, -1),
            areas=floats(document["areas"]),
            interior_points=floats(document["interior_points"]).reshape(-1, 2),
            linear_region=ints(document["linear_region"]),
            n_linear_regions=int(document["n_linear_regions"]),
            bound=int(document["bound"]),
            classes=None if classes is None else np.asarray(classes),
            decision_boundary=None if boundary is None else DecisionBoundary.from_dict(boundary),
            diagnostics=NeuronDiagnostics.from_dict(document["diagnostics"]),
            feature_names=tuple(document.get("feature_names") or ()),
            slice=Slice.from_dict(document),
            certificate=document.get("certificate"),
            verification=document.get("verification"),
            vertex_ids=None if document.get("vertex_ids") is None else ints(document["vertex_ids"]),
            units=UnitMaps.from_dict(document, 2),
        )

    @classmethod
    def from_npz(cls, data: bytes) -> Regions:
        """Build from the ``application/x-npz`` answer of ``GET /v1/models/{id}/regions``.

        The archive holds the map's arrays (``points`` once each, and
        ``vertex_ids`` into them; patterns as ``np.packbits`` rows) and the
        rest of the document as JSON in ``document``. Areas and interior
        points are not in it: they are computed here from the vertices
        (:func:`relumap_geometry.areas_and_interior_points`), equal to the
        JSON's up to the rounding of the vertices to float64. No member can
        hold Python objects, so none can run code; the arrays read straight
        from the archive are read-only views of ``data``.

        Parameters
        ----------
        data : bytes
            The body of the answer.

        Returns
        -------
        Regions
            The same object as :meth:`from_dict` builds from the JSON answer.
        """
        arrays = _npz_arrays(data)
        document: dict[str, Any] = json.loads(arrays.pop("document").tobytes())
        document.update(arrays)
        document["vertices"] = arrays["points"][arrays["vertex_ids"]]
        document["areas"], document["interior_points"] = areas_and_interior_points(
            document["vertices"], arrays["offsets"], document["box"]
        )
        return cls.from_dict(document)

    @classmethod
    def from_response(cls, response: Any) -> Regions:
        """Build from a ``requests`` response of ``/regions``: .npz or JSON, as it says."""
        if response.headers.get("Content-Type", "").split(";")[0].strip() == NPZ:
            return cls.from_npz(response.content)
        return cls.from_dict(response.json())

    def to_dict(self) -> dict[str, Any]:
        """Return the service's regions document."""
        return {
            "model_id": self.model_id,
            "box": self.box.tolist(),
            **self.regions_document(),
            **(
                {}
                if self.vertex_ids is None
                else {
                    "n_points": int(self.vertex_ids.max(initial=-1)) + 1,
                    "vertex_ids": self.vertex_ids.tolist(),
                }
            ),
            "classes": optional_list(self.classes),
            "decision_boundary": None
            if self.decision_boundary is None
            else self.decision_boundary.to_dict(),
            "diagnostics": self.diagnostics.to_dict(),
            **slice_entries(self.feature_names, self.slice),
            "certificate": self.certificate,
            "verification": self.verification,
        }

    def to_frame(self) -> Any:
        """Return one row per region: pattern, linear region, area, interior point, map.

        The map of output ``k`` is ``gradient_x_k``, ``gradient_y_k``,
        ``intercept_k`` (without the ``_k`` for a single output).
        """
        pandas = require("pandas", "Regions.to_frame()")
        columns: dict[str, Any] = {
            "pattern": packed_pattern_strings(self.packed_patterns, self.n_hidden),
            "linear_region": self.linear_region,
            "area": self.areas,
            "n_vertices": np.diff(self.offsets),
            "x": self.interior_points[:, 0],
            "y": self.interior_points[:, 1],
        }
        single = self.intercepts.shape[1] == 1
        for k in range(self.intercepts.shape[1]):
            suffix = "" if single else f"_{k}"
            columns["gradient_x" + suffix] = self.gradients[:, k, 0]
            columns["gradient_y" + suffix] = self.gradients[:, k, 1]
            columns["intercept" + suffix] = self.intercepts[:, k]
        return pandas.DataFrame(columns)

    def plot(self, ax: Axes | None = None, *, color_by: str | None = None) -> Axes:
        """Fill every region and draw the decision boundary.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        color_by : {"region", "value", "class"}, optional
            Colour by linear region, by output value (exact: the function is
            linear on each triangle of a region), or by predicted class (each
            region cut exactly along the boundary). The default is ``class``
            for classifiers, ``value`` for regressors.
        """
        from relumap import plotting

        return plotting.plot_regions(self, ax=ax, color_by=color_by)
