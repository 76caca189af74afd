"""Exact partitions of a region map: where each class wins, and bands of an output.

Each activation region is cut along the zero lines of affine functions (the
difference of two logits, or an output minus a level) with
:func:`relumap_service.core.clipping.split_convex`, so the parts are exact convex
polygons, not a sampled raster. The plots draw them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.clipping import pad_polygons, split_by_values
from relumap_service.core.region_map import Regions2D

__all__ = ["class_areas", "first_layer_segments", "value_bands"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _vertex_values(verts: FloatArray, grad: FloatArray, offset: FloatArray) -> FloatArray:
    """``grad @ v + offset`` at every padded vertex; grad (n, 2), offset (n,)."""
    out: FloatArray = verts[..., 0] * grad[:, 0, None] + verts[..., 1] * grad[:, 1, None]
    return out + offset[:, None]


def _cut(
    verts: FloatArray, counts: IntArray, grad: FloatArray, offset: FloatArray
) -> tuple[tuple[FloatArray, IntArray, IntArray], tuple[FloatArray, IntArray, IntArray]]:
    """Split polygons by ``grad @ x + offset = 0``: (parts where >= 0, parts where <= 0).

    Each side is ``(verts, counts, source)``, ``source`` indexing the input rows.
    """
    values = _vertex_values(verts, grad, offset)
    tol = 1e-10 * (np.abs(values).max(axis=1) + 1e-300)
    cut = split_by_values(verts, np.full(verts.shape[:2], -1, np.int64), counts, values, tol)
    whole = ~cut.split
    split_rows = np.flatnonzero(cut.split)
    sides = []
    for keep, part in (
        (whole & cut.positive_side, cut.positive),
        (whole & ~cut.positive_side, cut.negative),
    ):
        rows = np.flatnonzero(keep)
        sides.append(
            (
                _concat_padded(verts[rows], part.verts),
                np.concatenate([counts[rows], part.counts]),
                np.concatenate([rows, split_rows]),
            )
        )
    return sides[0], sides[1]


def _concat_padded(first: FloatArray, second: FloatArray) -> FloatArray:
    """Stack two padded polygon arrays, padding the narrower with its first vertex."""
    width = max(first.shape[1], second.shape[1])

    def pad(a: FloatArray) -> FloatArray:
        if a.shape[0] == 0:
            return np.zeros((0, width, 2))
        extra = np.repeat(a[:, :1], width - a.shape[1], axis=1)
        return np.concatenate([a, extra], axis=1)

    return np.concatenate([pad(first), pad(second)])


def class_areas(regions: Regions2D) -> tuple[list[FloatArray], IntArray]:
    """Return the exact areas where each class wins: polygons and their class index."""
    verts, counts = pad_polygons(regions.vertices, regions.offsets)
    grads, offs = regions.gradients, regions.intercepts
    if grads.shape[1] == 1:
        pos, neg = _cut(verts, counts, grads[:, 0], offs[:, 0])
        polys, labels = _unpad(*pos[:2]), [np.ones(pos[1].size, np.int64)]
        polys += _unpad(*neg[:2])
        labels.append(np.zeros(neg[1].size, np.int64))
        return polys, np.concatenate(labels)
    polys, labels = [], []
    for c in range(grads.shape[1]):
        v, n, owner = verts, counts, np.arange(counts.size)
        for d in range(grads.shape[1]):
            if d != c and n.size:
                (v, n, source), _ = _cut(
                    v, n, grads[owner, c] - grads[owner, d], offs[owner, c] - offs[owner, d]
                )
                owner = owner[source]
        polys += _unpad(v, n)
        labels.append(np.full(n.size, c, np.int64))
    return polys, np.concatenate(labels)


def value_bands(regions: Regions2D, levels: FloatArray) -> tuple[list[FloatArray], IntArray]:
    """Return exact filled contours of output 0: band ``i`` lies below ``levels[i]``."""
    verts, counts = pad_polygons(regions.vertices, regions.offsets)
    owner = np.arange(counts.size)
    grads, offs = regions.gradients[:, 0], regions.intercepts[:, 0]
    polys, bands = [], []
    for i, level in enumerate(levels):
        if not counts.size:
            break
        (verts, counts, up), (below, n_below, _) = _cut(
            verts, counts, grads[owner], offs[owner] - level
        )
        polys += _unpad(below, n_below)
        bands.append(np.full(n_below.size, i, np.int64))
        owner = owner[up]
    polys += _unpad(verts, counts)
    bands.append(np.full(counts.size, levels.size, np.int64))
    return polys, np.concatenate(bands)


def _unpad(verts: FloatArray, counts: IntArray) -> list[FloatArray]:
    return [verts[i, : counts[i]] for i in range(counts.size)]


def first_layer_segments(
    weights: FloatArray, biases: FloatArray, box: tuple[tuple[float, float], tuple[float, float]]
) -> tuple[FloatArray, IntArray]:
    """Where each first-layer unit ``w @ x + b = 0`` crosses the box: segments and unit ids."""
    (x0, y0), (x1, y1) = box
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    square = np.broadcast_to(corners, (weights.shape[1], 4, 2)).copy()
    cut = split_by_values(
        square,
        np.full((weights.shape[1], 4), -1, np.int64),
        np.full(weights.shape[1], 4, np.int64),
        _vertex_values(square, weights.T, biases),
        1e-12 * (np.abs(weights).sum(axis=0) * max(abs(x0), abs(x1), abs(y0), abs(y1)) + 1.0),
    )
    segments = np.stack([cut.chord_start, cut.chord_end], axis=1)
    return segments, np.flatnonzero(cut.split)
