"""Polygon pieces for filling region maps: fan triangles, and regions cut by class.

On a convex region the logits are affine, so each class occupies a convex part
of it: the region clipped by the half-planes where that class's logit is
largest (Sutherland and Hodgman, "Reentrant polygon clipping", CACM 1974, one
half-plane at a time). Regions whose vertices all share a class are kept
whole, which is most of them; only the regions the boundary crosses are cut.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from relumap.regions import Regions

__all__ = ["class_pieces", "clip_half_plane", "fan_triangles"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def fan_triangles(offsets: IntArray) -> IntArray:
    """Triangulate convex polygons stored back to back, as fans from their first vertex.

    Parameters
    ----------
    offsets : ndarray of int of shape (n_polygons + 1,)
        Polygon ``i`` has vertices ``offsets[i]`` to ``offsets[i + 1] - 1``.

    Returns
    -------
    ndarray of int of shape (n_triangles, 3)
        Vertex indices; a polygon of ``k`` vertices gives ``k - 2`` triangles.
    """
    counts = np.diff(offsets)
    n_tri = np.maximum(counts - 2, 0)
    owner = np.repeat(np.arange(counts.shape[0]), n_tri)
    first = np.repeat(np.cumsum(n_tri) - n_tri, n_tri)
    step = np.arange(int(n_tri.sum())) - first + 1
    start = offsets[:-1][owner]
    triangles: IntArray = np.column_stack([start, start + step, start + step + 1])
    return triangles


def clip_half_plane(polygon: FloatArray, normal: FloatArray, offset: float) -> FloatArray | None:
    """Keep the part of a convex polygon where ``normal @ x + offset >= 0``; None if empty."""
    side = polygon @ normal + offset
    inside = side >= 0
    if inside.all():
        return polygon
    if not inside.any():
        return None
    kept = []
    for i in range(polygon.shape[0]):
        j = (i + 1) % polygon.shape[0]
        if inside[i]:
            kept.append(polygon[i])
        if inside[i] != inside[j]:
            t = side[i] / (side[i] - side[j])
            kept.append(polygon[i] + t * (polygon[j] - polygon[i]))
    return np.array(kept) if len(kept) >= 3 else None


def _half_planes(
    gradients: FloatArray, intercepts: FloatArray, k: int
) -> list[tuple[FloatArray, float]]:
    """Half-planes where class ``k`` wins, from one region's logit maps."""
    if gradients.shape[0] == 1:
        sign = 1.0 if k == 1 else -1.0
        return [(sign * gradients[0], sign * float(intercepts[0]))]
    return [
        (gradients[k] - gradients[j], float(intercepts[k] - intercepts[j]))
        for j in range(gradients.shape[0])
        if j != k
    ]


def class_pieces(regions: Regions) -> tuple[list[FloatArray], IntArray]:
    """Cut every region into its per-class parts.

    Returns
    -------
    pieces : list of ndarray of shape (k_i, 2)
    labels : ndarray of int of shape (n_pieces,)
        Class index of each piece.
    """
    owner = np.repeat(np.arange(regions.n_regions), np.diff(regions.offsets))
    logits = regions.evaluate(regions.vertices, owner)
    vertex_class = (
        (logits[:, 0] > 0).astype(np.int64) if logits.shape[1] == 1 else np.argmax(logits, axis=1)
    )
    lowest = np.minimum.reduceat(vertex_class, regions.offsets[:-1])
    highest = np.maximum.reduceat(vertex_class, regions.offsets[:-1])
    n_classes = 2 if logits.shape[1] == 1 else logits.shape[1]
    pieces: list[FloatArray] = []
    labels: list[int] = []
    for r, polygon in enumerate(regions.polygons):
        if lowest[r] == highest[r]:
            pieces.append(polygon)
            labels.append(int(lowest[r]))
            continue
        for k in range(n_classes):
            part: FloatArray | None = polygon
            for normal, offset in _half_planes(regions.gradients[r], regions.intercepts[r], k):
                part = None if part is None else clip_half_plane(part, normal, offset)
            if part is not None:
                pieces.append(part)
                labels.append(k)
    return pieces, np.asarray(labels, dtype=np.int64)
