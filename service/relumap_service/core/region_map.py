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
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from relumap_geometry import pattern_strings

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
class Regions2D:
    """Activation regions of a two-input network on a box.

    Attributes
    ----------
    box : ((float, float), (float, float))
        ``((x_min, y_min), (x_max, y_max))``.
    vertices : ndarray of shape (n_vertices, 2)
        Vertices of all regions, region after region, each counter-clockwise
        and not repeating its first vertex: ``points[vertex_ids]``. Every
        point of the map where a region's boundary passes is one of its
        vertices (corners of neighbours along its edges included), so
        neighbours share bit-identical vertices along every shared edge and
        the regions form a valid polygonal coverage.
    offsets : ndarray of int of shape (n_regions + 1,)
        Region ``i`` is ``vertices[offsets[i]:offsets[i + 1]]``.
    points : ndarray of shape (n_points, 2)
        Every vertex of the map once (the planar subdivision's vertex table).
    vertex_ids : ndarray of int of shape (n_vertices,)
        Each region vertex as an index into ``points``.
    patterns : ndarray of bool of shape (n_regions, n_hidden_total)
        Activation pattern of each region (all True for identity activations).
    gradients : ndarray of shape (n_regions, n_outputs, 2)
        On region ``i`` the logits are ``gradients[i] @ x + intercepts[i]``.
    intercepts : ndarray of shape (n_regions, n_outputs)
    areas : ndarray of shape (n_regions,)
        Positive areas; they sum to the box's area.
    interior_points : ndarray of shape (n_regions, 2)
        A point strictly inside each region (the average of its vertices).
    linear_region : ndarray of int of shape (n_regions,)
        Linear region of each activation region, numbered from 0: neighbours
        (sharing an edge) whose affine maps agree belong to the same one.
    n_linear_regions : int
    bound : int
        Serra et al.'s upper bound on the number of regions (1 for an identity
        network).
    hidden_layer_sizes : tuple of int
    certificate : Certificate
    """

    box: Box
    vertices: FloatArray
    offsets: IntArray
    points: FloatArray
    vertex_ids: IntArray
    patterns: BoolArray
    gradients: FloatArray
    intercepts: FloatArray
    areas: FloatArray
    interior_points: FloatArray
    linear_region: IntArray
    n_linear_regions: int
    bound: int
    hidden_layer_sizes: tuple[int, ...]
    certificate: Certificate

    @property
    def n_regions(self) -> int:
        """Number of activation regions."""
        return int(self.offsets.shape[0] - 1)

    @cached_property
    def polygons(self) -> list[FloatArray]:
        """Each region as an array of shape (k_i, 2), counter-clockwise (built on first use)."""
        return np.split(self.vertices, self.offsets[1:-1])

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary of plain lists.

        Keys: ``box``, ``n_regions``, ``n_linear_regions``, ``bound``,
        ``vertices`` (n_vertices x 2), ``offsets``, ``n_points`` and
        ``vertex_ids`` (each vertex's index in the map's table of distinct
        points, ``n_points`` long), ``patterns`` (one string of
        0/1 per region), ``gradients`` (n_regions x n_outputs x 2),
        ``intercepts`` (n_regions x n_outputs), ``areas``, ``interior_points``,
        ``linear_region``, ``certificate``.
        """
        return {
            "box": [list(self.box[0]), list(self.box[1])],
            "n_regions": self.n_regions,
            "n_linear_regions": self.n_linear_regions,
            "bound": self.bound,
            "vertices": self.vertices.tolist(),
            "offsets": self.offsets.tolist(),
            "n_points": int(self.points.shape[0]),
            "vertex_ids": self.vertex_ids.tolist(),
            "patterns": pattern_strings(self.patterns),
            "gradients": self.gradients.tolist(),
            "intercepts": self.intercepts.tolist(),
            "areas": self.areas.tolist(),
            "interior_points": self.interior_points.tolist(),
            "linear_region": self.linear_region.tolist(),
            "certificate": self.certificate.to_dict(),
        }

    def to_geojson(self) -> dict[str, Any]:
        """Return the regions as a GeoJSON ``FeatureCollection`` of ``Polygon`` features.

        Each ring is closed (its first vertex repeated at the end). Properties:
        ``region`` (index), ``pattern`` (string of 0/1), ``gradient``
        (n_outputs x 2), ``intercept`` (n_outputs), ``linear_region`` and ``area``.
        """
        patterns = pattern_strings(self.patterns)
        vertices = self.vertices.tolist()
        offsets = self.offsets.tolist()
        gradients = self.gradients.tolist()
        intercepts = self.intercepts.tolist()
        labels = self.linear_region.tolist()
        areas = self.areas.tolist()
        features = []
        for i in range(self.n_regions):
            ring = vertices[offsets[i] : offsets[i + 1]]
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                    "properties": {
                        "region": i,
                        "pattern": patterns[i],
                        "gradient": gradients[i],
                        "intercept": intercepts[i],
                        "linear_region": labels[i],
                        "area": areas[i],
                    },
                }
            )
        return {"type": "FeatureCollection", "features": features}
