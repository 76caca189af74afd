"""The result of :func:`relumap_service.core.regions.regions_2d` and its serialisations.

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> from relumap_service.core.regions import regions_2d
>>> net = Network([np.array([[1.0], [0.0]]), np.ones((1, 1))], [np.zeros(1), np.zeros(1)])
>>> doc = regions_2d(net, ((-1, -1), (1, 1))).to_geojson()
>>> len(doc["features"]), doc["features"][0]["properties"]["pattern"]
(2, '1')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from relumap_geometry import RegionMap

__all__ = ["Box", "Certificate", "Regions2D"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Box = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Certificate:
    """How the combinatorial decisions of an exact computation were settled.

    Attributes
    ----------
    exact : bool
        Every decision (the side of a line a vertex lies on, whether two
        neighbours share an affine map, whether a breakpoint is a knot) equals
        what exact rational arithmetic on the float64 weights and domain gives.
    float_decisions : int
        Decisions settled in float64, their value exceeding its rigorous error bound.
    exact_decisions : int
        Decisions settled with exact integer arithmetic.
    exact_vertices : int
        Vertices (or breakpoints) computed exactly and rounded, where float64
        could not bound their error well.
    max_vertex_error : float
        Bound on the difference between any reported coordinate and the exact one.
    """

    exact: bool
    float_decisions: int
    exact_decisions: int
    exact_vertices: int
    max_vertex_error: float

    def to_dict(self) -> dict[str, Any]:
        """Return the certificate as a JSON-ready dictionary."""
        return {
            "exact": self.exact,
            "float_decisions": self.float_decisions,
            "exact_decisions": self.exact_decisions,
            "exact_vertices": self.exact_vertices,
            "max_vertex_error": self.max_vertex_error,
        }


@dataclass(frozen=True, eq=False)
class Regions2D(RegionMap):
    """Activation regions of a two-input network on a box.

    The polygons, patterns, affine maps, areas and linear regions are
    :class:`relumap_geometry.RegionMap`'s, which the client reads them back into.
    Every point of the map where a region's boundary passes is one of its
    vertices (corners of neighbours along its edges included), so neighbours
    share bit-identical vertices along every shared edge and the regions form a
    valid polygonal coverage.

    Attributes
    ----------
    box : ((float, float), (float, float))
        ``((x_min, y_min), (x_max, y_max))``.
    points : ndarray of shape (n_points, 2)
        Every vertex of the map once (the planar subdivision's vertex table).
    vertex_ids : ndarray of int of shape (n_vertices,)
        Each region vertex as an index into ``points``: ``vertices`` is
        ``points[vertex_ids]``.
    hidden_layer_sizes : tuple of int
    certificate : Certificate
    """

    box: Box
    points: FloatArray
    vertex_ids: IntArray
    hidden_layer_sizes: tuple[int, ...]
    certificate: Certificate

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary of plain lists.

        Keys: ``box``, those of :meth:`RegionMap.regions_document`, ``n_points``
        and ``vertex_ids`` (each vertex's index in the map's table of distinct
        points, ``n_points`` long), ``certificate``.
        """
        return {
            "box": [list(self.box[0]), list(self.box[1])],
            **self.regions_document(),
            "n_points": int(self.points.shape[0]),
            "vertex_ids": self.vertex_ids.tolist(),
            "certificate": self.certificate.to_dict(),
        }
