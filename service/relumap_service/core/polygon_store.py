"""A growable table of padded convex polygons, used while a box is being cut.

Rows hold the polygon's vertices (padded with copies of its first vertex, see
:mod:`relumap_service.core.clipping`), a bound on their coordinates' rounding
error, edge tags (the line each edge lies on), vertex count, the index of
its ancestor at the start of the current layer (its *root*) and the activation
pattern of the current layer's units, packed into bits
(:mod:`relumap_service.core.bits`; earlier layers' patterns are those of the
root). A disc
around each polygon and its *spread* (how far an exact vertex can be from the
disc's centre) let a line that misses the disc be dismissed at once. Capacity
grows by half as needed but never exceeds the region limit, so memory stays
bounded by ``limit * max_vertices``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.bits import n_bytes

__all__ = ["PolygonStore"]

U = 2.0**-53

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class PolygonStore:
    """Padded polygons with their tags, roots and activation patterns.

    Parameters
    ----------
    corners : ndarray of shape (4, 2)
        The first polygon, counter-clockwise.
    tags : sequence of int
        The line of each of its edges.
    error : float
        Bound on the rounding error of its corners' coordinates.
    n_units : int
        Number of units of the first layer (pattern columns).
    limit : int
        Largest number of rows ever allocated.
    """

    def __init__(
        self, corners: FloatArray, tags: list[int], error: float, n_units: int, limit: int
    ) -> None:
        cap = min(limit, 1024)
        self.limit = limit
        self.verts = np.empty((cap, 8, 2))
        self.verts[0, :4] = corners
        self.verts[0, 4:] = self.verts[0, 0]
        self.tags = np.full((cap, 8), -1, dtype=np.int32)
        self.tags[0, :4] = tags
        self.error = np.zeros(cap)
        self.error[0] = error
        self.counts = np.zeros(cap, dtype=np.int64)
        self.counts[0] = 4
        self.root = np.zeros(cap, dtype=np.int64)
        # Per row: the layer's packed pattern.
        self.bits = np.zeros((cap, n_bytes(n_units)), dtype=np.uint8)
        # A disc around each polygon: a line missing it misses the polygon.
        self.centre = np.zeros((cap, 2))
        self.spread = np.zeros(cap)
        self.size = 1
        # Every exact vertex lies in the box, so within ``corner_reach`` of the
        # origin in each coordinate; computed ones within their error of that.
        self.corner_reach = float(np.abs(corners).max()) * (1 + 2 * U)
        self.max_error = 0.0
        self.put(
            np.zeros(1, np.int64),
            self.verts[:1, :4],
            self.tags[:1, :4],
            self.counts[:1],
            np.array([error]),
        )

    def reserve(self, size: int, width: int) -> None:
        """Make room for ``size`` polygons of up to ``width`` vertices."""
        cap, old_width = self.verts.shape[:2]
        if size > cap:
            new_cap = min(max(size, cap + cap // 2), self.limit)
            # Rows past ``size`` are written before they are read (put, copy_patterns).
            for name in ("verts", "tags", "counts", "root", "error", "centre", "spread", "bits"):
                old = getattr(self, name)
                grown = np.empty((new_cap, *old.shape[1:]), old.dtype)
                grown[:cap] = old
                setattr(self, name, grown)
        if width > old_width:
            extra = width - old_width + 2
            first = np.repeat(self.verts[:, :1], extra, axis=1)
            self.verts = np.concatenate([self.verts, first], axis=1)
            pad = np.full((self.tags.shape[0], extra), -1, np.int32)
            self.tags = np.concatenate([self.tags, pad], axis=1)

    def put(
        self,
        rows: IntArray,
        verts: FloatArray,
        tags: NDArray[np.integer[Any]],
        counts: IntArray,
        error: FloatArray,
    ) -> None:
        """Overwrite ``rows`` with padded polygons (narrower than the table is fine).

        ``error`` (len(rows),) bounds the coordinate error of each polygon's vertices.
        """
        width = verts.shape[1]
        self.verts[rows, :width] = verts
        self.verts[rows, width:] = verts[:, :1]
        self.tags[rows, :width] = tags
        self.tags[rows, width:] = -1
        self.counts[rows] = counts
        # The disc around the bounding box; padding repeats a vertex, so needs no mask.
        # Reducing over the middle axis of (n, width, 2) is slow; over the first
        # axis numpy reduces whole rows at a time.
        columns = np.ascontiguousarray(verts.transpose(1, 0, 2))
        low, high = columns.min(axis=0), columns.max(axis=0)
        self.centre[rows] = 0.5 * (low + high)
        high -= low
        # The disc's radius, its computed centre within a few roundings of the
        # true one; an exact vertex is within sqrt(2) error of a computed one.
        radius = np.hypot(high[:, 0], high[:, 1])
        radius *= 0.5 * (1 + 8 * U)
        radius += 1.5 * error
        self.spread[rows] = radius
        self.error[rows] = error
        self.max_error = max(self.max_error, float(error.max(initial=0.0)))

    @property
    def extent(self) -> float:
        """Bound on ``|x|`` and ``|y|`` of every vertex and disc centre, computed or exact."""
        return (self.corner_reach + self.max_error) * (1 + 2 * U)

    def locality_order(self) -> IntArray:
        """Return the rows sorted along a Hilbert curve through their centres.

        Rows close in this order are close in the plane, so their patterns
        differ in few units (:class:`relumap_service.core.layer_maps.LayerMaps`);
        unlike a Z-order, the curve never jumps across the box (on a
        2-800-800-1 strip: 5.2 units apart on average against 6.3, and no
        jump over a hundred units against 148).
        """
        centre = self.centre[: self.size]
        low = centre.min(axis=0)
        side = 1 << 16
        with np.errstate(all="ignore"):  # a box near float's limits: any order is correct
            width = np.maximum(centre.max(axis=0) - low, np.finfo(float).tiny)
            scaled = np.nan_to_num((centre - low) / width * (side - 1), nan=0.0, posinf=side - 1)
        cell = np.clip(scaled, 0, side - 1).astype(np.int64)
        x, y = cell[:, 0], cell[:, 1]
        code = np.zeros(self.size, np.int64)
        s = side >> 1
        while s:  # the curve's quadrant at each scale, the rest turned to match
            rx, ry = (x & s) > 0, (y & s) > 0
            code += s * s * ((3 * rx) ^ ry)
            flip = rx & ~ry
            x = np.where(flip, s - 1 - x, x)
            y = np.where(flip, s - 1 - y, y)
            x, y = np.where(ry, x, y), np.where(ry, y, x)
            s >>= 1
        order: IntArray = np.argsort(code, kind="stable")
        return order

    def finish(self) -> None:
        """Keep only what the assembly reads, at the polygons' count: the cutting is over.

        Drops the roots, discs and patterns (the finished patterns are in the
        history) and the spare capacity (up to half the rows), before the
        assembly's own tables are built.
        """
        size = self.size
        self.verts, self.tags = self.verts[:size].copy(), self.tags[:size].copy()
        self.counts, self.error = self.counts[:size].copy(), self.error[:size].copy()
        self.root, self.centre, self.spread = np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros(0)
        self.bits = np.zeros((0, 0), np.uint8)

    def start_layer(self, n_units: int) -> None:
        """Make every polygon a root and clear the pattern for a new layer."""
        self.root[: self.size] = np.arange(self.size)
        self.bits = np.zeros((self.root.shape[0], n_bytes(n_units)), dtype=np.uint8)

    @property
    def patterns(self) -> NDArray[np.uint8]:
        """The current layer's packed patterns, one row per polygon (a view)."""
        return self.bits

    def copy_patterns(self, new: IntArray, rows: IntArray) -> None:
        """Give polygons ``new`` the current layer's pattern of ``rows``."""
        self.bits[new] = self.bits[rows]
