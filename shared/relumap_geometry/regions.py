"""Activation regions of a two-input model: convex polygons, each with its affine map.

The service's core computes them exactly
(:class:`relumap_service.core.region_map.Regions2D`); the client reads them back
(:class:`relumap.Regions`). Both extend :class:`RegionMap`, which holds what
they share: the arrays, the polygons, the evaluation from the affine maps, the
regions' part of the document of ``GET /v1/models/{id}/regions``, and GeoJSON.

Examples
--------
>>> import numpy as np
>>> from relumap_geometry.patterns import pack_patterns
>>> square = RegionMap(
...     vertices=np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]),
...     offsets=np.array([0, 4]), packed_patterns=pack_patterns(np.ones((1, 1), dtype=bool)),
...     n_hidden=1,
...     gradients=np.array([[[2.0, -1.0]]]), intercepts=np.array([[0.5]]),
...     areas=np.array([1.0]), interior_points=np.array([[0.5, 0.5]]),
...     linear_region=np.array([0]), n_linear_regions=1, bound=1)
>>> square.n_regions, square.evaluate([[1.0, 1.0]], [0]).tolist(), square.patterns.tolist()
(1, [[1.5]], [[True]])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap_geometry.patterns import packed_pattern_strings, unpack_patterns

__all__ = ["RegionMap", "areas_and_interior_points"]

# Vertices per block of polygons in areas_and_interior_points.
BLOCK = 8192

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class RegionMap:
    """Activation regions on a box, with their affine maps.

    Attributes
    ----------
    vertices : ndarray of shape (n_vertices, 2)
        Vertices of all regions, region after region, each counter-clockwise
        and not repeating its first vertex.
    offsets : ndarray of int of shape (n_regions + 1,)
        Region ``i`` is ``vertices[offsets[i]:offsets[i + 1]]``.
    packed_patterns : ndarray of uint8 of shape (n_regions, ceil(n_hidden / 8))
        Activation pattern of each region (all True for identity activations)
        as bits, ``np.packbits(patterns, axis=1)``: an eighth of the booleans'
        memory, and what the .npz transport sends.
    n_hidden : int
        Hidden units of the network (bits of each pattern).
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
    """

    vertices: FloatArray
    offsets: IntArray
    packed_patterns: NDArray[np.uint8]
    n_hidden: int
    gradients: FloatArray
    intercepts: FloatArray
    areas: FloatArray
    interior_points: FloatArray
    linear_region: IntArray
    n_linear_regions: int
    bound: int

    @property
    def n_regions(self) -> int:
        """Number of activation regions."""
        return int(self.offsets.shape[0] - 1)

    @cached_property
    def patterns(self) -> BoolArray:
        """Activation patterns as booleans, (n_regions, n_hidden) (unpacked on first use, kept).

        One byte per unit per region: a big map's code should read
        ``packed_patterns`` (or :meth:`pattern`) instead.
        """
        return unpack_patterns(self.packed_patterns, self.n_hidden)

    def pattern(self, i: int) -> BoolArray:
        """Activation pattern of region ``i`` as booleans, without unpacking the others."""
        row: BoolArray = unpack_patterns(self.packed_patterns[i : i + 1], self.n_hidden)[0]
        return row

    @cached_property
    def polygons(self) -> list[FloatArray]:
        """Each region as an array of shape (k_i, 2), counter-clockwise (built on first use)."""
        return np.split(self.vertices, self.offsets[1:-1])

    def evaluate(self, X: ArrayLike, region: ArrayLike) -> FloatArray:
        """Evaluate the logits at points from the affine maps of the given regions.

        Parameters
        ----------
        X : array-like of shape (n_points, 2)
        region : array-like of int of shape (n_points,)

        Returns
        -------
        ndarray of shape (n_points, n_outputs)
        """
        points = np.asarray(X, dtype=np.float64).reshape(-1, 2)
        index = np.asarray(region, dtype=np.int64).reshape(-1)
        out: FloatArray = (
            np.einsum("nij,nj->ni", self.gradients[index], points) + self.intercepts[index]
        )
        return out

    def regions_document(self) -> dict[str, Any]:
        """Return the part of the regions document these arrays make, as plain lists.

        Keys: ``n_regions``, ``n_linear_regions``, ``bound``, ``vertices``
        (n_vertices x 2), ``offsets``, ``patterns`` (one string of 0/1 per
        region), ``gradients`` (n_regions x n_outputs x 2), ``intercepts``
        (n_regions x n_outputs), ``areas``, ``interior_points``, ``linear_region``.
        """
        return {
            "n_regions": self.n_regions,
            "n_linear_regions": self.n_linear_regions,
            "bound": self.bound,
            "vertices": self.vertices.tolist(),
            "offsets": self.offsets.tolist(),
            "patterns": packed_pattern_strings(self.packed_patterns, self.n_hidden),
            "gradients": self.gradients.tolist(),
            "intercepts": self.intercepts.tolist(),
            "areas": self.areas.tolist(),
            "interior_points": self.interior_points.tolist(),
            "linear_region": self.linear_region.tolist(),
        }

    def to_geojson(self) -> dict[str, Any]:
        """Return the regions as a GeoJSON ``FeatureCollection`` of ``Polygon`` features.

        Each ring is closed (its first vertex repeated at the end). Properties:
        ``region`` (index), ``pattern`` (string of 0/1), ``gradient``
        (n_outputs x 2), ``intercept`` (n_outputs), ``linear_region`` and ``area``.
        """
        patterns = packed_pattern_strings(self.packed_patterns, self.n_hidden)
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


def areas_and_interior_points(
    vertices: FloatArray, offsets: IntArray, box: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Each convex polygon's area (shoelace formula) and vertex mean.

    What the service computes before it rounds the vertices to float64, here
    from the rounded vertices: the .npz form of a region map does not send
    them. Coordinates are taken relative to the box's centre, and each
    polygon's relative to its first vertex, so that far boxes keep their
    precision.

    Parameters
    ----------
    vertices : ndarray of shape (n_vertices, 2)
        The polygons' vertices, counter-clockwise, one run per polygon.
    offsets : ndarray of int of shape (n_regions + 1,)
        Polygon ``i`` is ``vertices[offsets[i]:offsets[i + 1]]``.
    box : array-like of shape (2, 2)
        ``[[x0, y0], [x1, y1]]``.

    Returns
    -------
    areas : ndarray of shape (n_regions,)
    interior_points : ndarray of shape (n_regions, 2)

    Examples
    --------
    >>> import numpy as np
    >>> square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> areas, inside = areas_and_interior_points(square, np.array([0, 4]), [[0, 0], [1, 1]])
    >>> areas.tolist(), inside.tolist()
    ([1.0], [[0.5, 0.5]])
    """
    offsets = np.asarray(offsets, dtype=np.intp)
    n = offsets.shape[0] - 1
    if n <= 0:
        return np.zeros(0), np.zeros((0, 2))
    cx, cy = np.asarray(box, dtype=np.float64).mean(axis=0)
    v = np.asarray(vertices, dtype=np.float64)
    areas: FloatArray = np.empty(n)
    means: FloatArray = np.empty((n, 2))
    # Polygons in blocks of about BLOCK vertices, column by column: numpy's
    # temporaries then stay small and are reused, where whole-map ones were
    # each handed back to the system and faulted in again (2x slower), and an
    # (n, 2) array's short last axis is several times slower to sweep.
    cuts = np.unique(np.searchsorted(offsets, np.arange(0, offsets[-1], BLOCK), "right") - 1)
    for a, b in zip(cuts.tolist(), [*cuts[1:].tolist(), n], strict=True):
        lo, hi = offsets[a], offsets[b]
        starts, counts = offsets[a:b] - lo, np.diff(offsets[a : b + 1])
        x, y = v[lo:hi, 0] - cx, v[lo:hi, 1] - cy
        lx = x - np.repeat(x[starts], counts)
        ly = y - np.repeat(y[starts], counts)
        # Shoelace terms of consecutive vertices. Relative to its polygon's
        # first vertex (0, 0), a polygon's closing edge adds nothing, and
        # neither does the pair that spans two polygons: no wrap-around is needed.
        cross = np.zeros(hi - lo)
        np.subtract(lx[:-1] * ly[1:], lx[1:] * ly[:-1], out=cross[:-1])
        areas[a:b] = np.add.reduceat(cross, starts)
        np.divide(np.add.reduceat(x, starts), counts, out=means[a:b, 0])
        np.divide(np.add.reduceat(y, starts), counts, out=means[a:b, 1])
    areas *= 0.5
    means[:, 0] += cx
    means[:, 1] += cy
    return areas, means
