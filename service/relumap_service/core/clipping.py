"""Split many convex polygons by one line each, all at once.

Polygons are held padded: ``verts`` of shape (n_polygons, max_vertices, 2)
with ``counts`` valid vertices per row, counter-clockwise, and the padding
filled with copies of the first vertex, so edges out of padding have length
zero and the shoelace formula needs no mask. Every edge carries an integer
tag (the line it lies on), which is how vertices are known exactly (each is
the meeting point of its two edges' lines) and how neighbouring regions are
found later.

Each polygon is cut along the chord between the two boundary points where
the affine function ``f`` changes sign, as in Sutherland-Hodgman clipping
(I. E. Sutherland and G. W. Hodgman, "Reentrant polygon clipping", CACM 17(1),
1974) but keeping both sides. The caller gives the exact sign of ``f`` at
every vertex; a vertex with sign 0 lies on the line, and if a sign change
passes through such vertices, the first of them is the chord's end. Because
both chord ends are points of the parent's boundary, both children are convex
and together tile the parent exactly.

Examples
--------
>>> import numpy as np
>>> square = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]])
>>> sign = np.sign(square[..., 0] - 0.5).astype(np.int8)
>>> def crossing(rows, at):
...     start = square[rows, at]
...     return np.stack([np.full(len(rows), 0.5), start[:, 1]], axis=1), np.zeros(len(rows))
>>> cut = split_convex(square, np.full((1, 4), -1), np.array([4]), sign, np.array([7]),
...                    crossing)
>>> cut.positive.counts.tolist(), cut.negative.counts.tolist()
([4], [4])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.indexing import take_rows

__all__ = [
    "PaddedPolygons",
    "SplitResult",
    "pad_polygons",
    "polygon_areas",
    "split_convex",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
# Edge tags may be stored in a narrower integer type.
TagArray = NDArray[np.signedinteger[Any]]
BoolArray = NDArray[np.bool_]
SignArray = NDArray[np.int8]
Crossing = Callable[[IntArray, IntArray], tuple[FloatArray, FloatArray]]


@dataclass(frozen=True, eq=False)
class PaddedPolygons:
    """Convex polygons padded to a common number of vertices.

    Attributes
    ----------
    verts : ndarray of shape (n_polygons, max_vertices, 2)
        Counter-clockwise vertices; padding repeats the first vertex.
    tags : ndarray of int of shape (n_polygons, max_vertices)
        Tag of the edge from each vertex to the next.
    counts : ndarray of int of shape (n_polygons,)
        Number of valid vertices of each polygon.
    """

    verts: FloatArray
    tags: TagArray
    counts: IntArray


@dataclass(frozen=True, eq=False)
class SplitResult:
    """Outcome of :func:`split_convex`.

    Attributes
    ----------
    split : ndarray of bool of shape (n_polygons,)
        Polygons the line cuts into two parts of positive area.
    positive_side : ndarray of bool of shape (n_polygons,)
        For polygons not split: True when ``f > 0`` at some vertex.
    positive, negative : PaddedPolygons
        The parts with ``f >= 0`` and ``f <= 0`` of the split polygons, in order.
    chord_start, chord_end : ndarray of shape (n_split, 2)
        The chord, directed so that the positive part lies on its left.
    chord_error : ndarray of shape (n_split,)
        Bound on the coordinate error of the chord's new end points.
    parts : PaddedPolygons
        The positive parts then the negative parts, padded to one width
        (``positive`` and ``negative`` are views of it), to store both at once.
    """

    split: BoolArray
    positive_side: BoolArray
    positive: PaddedPolygons
    negative: PaddedPolygons
    chord_start: FloatArray
    chord_end: FloatArray
    chord_error: FloatArray
    parts: PaddedPolygons


def polygon_areas(verts: FloatArray) -> FloatArray:
    """Signed areas of padded polygons by the shoelace formula.

    Parameters
    ----------
    verts : ndarray of shape (n_polygons, max_vertices, 2)
        Padded with copies of the first vertex.

    Returns
    -------
    ndarray of shape (n_polygons,)
        Positive for counter-clockwise polygons.
    """
    out: FloatArray = np.empty(verts.shape[0])
    # A chunk of rows at a time: the temporaries are several times the
    # polygons' size, the peak of a big map's end.
    for lo in range(0, verts.shape[0], _AREA_CHUNK):
        part = verts[lo : lo + _AREA_CHUNK]
        # Relative to the first vertex, so that boxes far from the origin keep
        # their precision.
        local = part - part[:, :1]
        nxt = np.roll(local, -1, axis=1)
        cross = local[..., 0] * nxt[..., 1] - nxt[..., 0] * local[..., 1]
        out[lo : lo + _AREA_CHUNK] = 0.5 * cross.sum(axis=1)
    return out


_AREA_CHUNK = 1 << 15


def _arc(
    v: FloatArray,
    tags: TagArray,
    rows: IntArray,
    counts: IntArray,
    start: tuple[IntArray, BoolArray, FloatArray],
    end: tuple[IntArray, BoolArray, FloatArray],
    chord: IntArray,
) -> PaddedPolygons:
    """Walk polygons counter-clockwise from one cut point to the other.

    Part ``i`` is cut from polygon ``rows[i]`` of ``v`` (with ``counts[i]``
    vertices), so one call makes the parts of both sides. A cut point is
    ``(at, on_edge, point)``: the vertex ``at`` itself, or a point on the edge
    from vertex ``at`` to the next. The part is the cut point ``start``, the
    vertices after it up to ``end``, then ``end``; its last edge, back to
    ``start``, is the chord and is tagged ``chord``.
    """
    s_at, s_edge, s_point = start
    e_at, e_edge, e_point = end
    first = s_at + s_edge
    n_vertices = (e_at - first) % counts + 1
    lead = s_edge.astype(np.int64)
    sizes = lead + n_vertices + e_edge
    width = int(sizes.max(initial=0))
    k = np.arange(width)
    # Padding repeats column 0, the start point.
    kk = np.where(k >= sizes[:, None], 0, k)
    index = (first[:, None] + kk - lead[:, None]) % counts[:, None]
    # Gather from one flat pool: the vertices, then the start and end points.
    n_verts, n = v.shape[0] * v.shape[1], counts.size
    part = np.arange(n)
    flat = (rows * v.shape[1])[:, None] + index
    out_tags = tags.reshape(-1)[flat]
    flat = np.where((kk == 0) & s_edge[:, None], (n_verts + part)[:, None], flat)
    end_col = lead + n_vertices
    on_edge = np.nonzero(e_edge)[0]
    flat[on_edge, end_col[on_edge]] = n_verts + n + on_edge
    verts = take_rows(np.concatenate([v.reshape(-1, 2), s_point, e_point]), flat)
    # The chord is the edge into the end point, or out of it when it is on an edge.
    out_tags[part, end_col - 1 + e_edge] = chord
    return PaddedPolygons(verts, out_tags, sizes)


def split_convex(
    verts: FloatArray,
    tags: TagArray,
    counts: IntArray,
    sign: SignArray,
    chord: IntArray,
    crossing: Crossing,
    has_pos: BoolArray | None = None,
    split: BoolArray | None = None,
) -> SplitResult:
    """Split each convex polygon by the zero line of an affine function.

    Parameters
    ----------
    verts : ndarray of shape (n_polygons, max_vertices, 2)
        Counter-clockwise vertices, padded with copies of the first vertex.
    tags : ndarray of int of shape (n_polygons, max_vertices)
        Edge tags, kept on the parts of each edge.
    counts : ndarray of int of shape (n_polygons,)
    sign : ndarray of int8 of shape (n_polygons, max_vertices)
        The sign (-1, 0 or 1) of the function at every vertex, exactly; 0 on padding.
    chord : ndarray of int of shape (n_polygons,)
        Tag of the chord that splits each polygon (the same on both parts).
    crossing : callable
        ``crossing(rows, at) -> (points, errors)``: where the line crosses the
        edge from vertex ``at`` to the next of polygon ``rows`` (arrays of equal
        length), and a bound on each point's coordinate error.
    has_pos, split : ndarray of bool of shape (n_polygons,), optional
        Whether ``sign`` is positive somewhere, and both positive and negative
        somewhere, on each polygon, when the caller knows already.

    Returns
    -------
    SplitResult
    """
    if has_pos is None or split is None:
        has_pos = np.asarray((sign > 0).any(axis=1))
        split = has_pos & np.asarray((sign < 0).any(axis=1))
    rows = np.nonzero(split)[0]
    m, width = rows.size, sign.shape[1]
    v, t, cnt = take_rows(verts, rows), take_rows(tags, rows), counts[rows]
    idx = np.arange(m)
    cols = np.arange(width)
    valid = cols < cnt[:, None]
    sg = sign[rows] * valid
    # Sign at the next vertex, cyclically (padding has sign 0).
    s_next = np.zeros_like(sg)
    s_next[:, :-1] = sg[:, 1:]
    s_next[idx, cnt - 1] = sg[:, 0]
    cross = sg * s_next < 0
    start_x = cross & (sg > 0)
    end_x = cross & (sg < 0)
    zero = valid & (sg == 0)
    if zero.any():
        base = (idx * width)[:, None]
        prv = (base + np.where(cols > 0, cols - 1, cnt[:, None] - 1)).ravel()
        s_prev = sg.ravel()[prv].reshape(m, width)
        first_zero = zero & (s_prev != 0)
        # Sign of the next vertex off the line, cyclically.
        ahead = np.where(valid & (sg != 0), cols, width)
        suffix = np.minimum.accumulate(ahead[:, ::-1], axis=1)[:, ::-1]
        later = np.full_like(suffix, width)
        later[:, :-1] = suffix[:, 1:]
        later = np.where(later == width, suffix[:, :1], later)
        s_ahead = np.take_along_axis(sg, later, axis=1)
        # A run of zeros between opposite signs is cut at its first vertex.
        start_v = first_zero & (s_prev > 0) & (s_ahead < 0)
        end_v = first_zero & (s_prev < 0) & (s_ahead > 0)
        marks = np.concatenate([end_v | end_x, start_v | start_x])
    else:
        marks = np.concatenate([end_x, start_x])

    # Both sides at once: the positive part runs from b to a, the negative from a to b.
    rows2 = np.concatenate([idx, idx])
    at = np.argmax(marks, axis=1)
    # Exactly one end and one start per polygon: 2m marks, and one in every row.
    if np.count_nonzero(marks) != 2 * m or not marks[np.arange(2 * m), at].all():
        # Exact signs on a convex polygon change at most twice.
        raise RuntimeError("a polygon's vertex signs change more than twice: it is not convex")
    on_edge = np.concatenate([end_x, start_x])[np.arange(2 * m), at]
    point = take_rows(v.reshape(-1, 2), rows2 * v.shape[1] + at)  # v[rows2, at]
    error = np.zeros(2 * m)
    hit = np.nonzero(on_edge)[0]
    point[hit], error[hit] = crossing(rows[rows2[hit]], at[hit])
    swap = np.concatenate([idx + m, idx])
    cnt2 = cnt[rows2]
    tag = chord[rows][rows2]
    parts = _arc(
        v, t, rows2, cnt2, (at, on_edge, point), (at[swap], on_edge[swap], point[swap]), tag
    )
    w_pos = int(parts.counts[:m].max(initial=0))
    w_neg = int(parts.counts[m:].max(initial=0))
    return SplitResult(
        split=split,
        positive_side=has_pos,
        positive=PaddedPolygons(parts.verts[:m, :w_pos], parts.tags[:m, :w_pos], parts.counts[:m]),
        negative=PaddedPolygons(parts.verts[m:, :w_neg], parts.tags[m:, :w_neg], parts.counts[m:]),
        chord_start=point[m:],
        chord_end=point[:m],
        chord_error=np.maximum(error[:m], error[m:]),
        parts=parts,
    )


def split_by_values(
    verts: FloatArray, tags: TagArray, counts: IntArray, values: FloatArray, tol: FloatArray
) -> SplitResult:
    """Split polygons by a function known only by its values at the vertices.

    A vertex with ``|value| <= tol`` counts as on the line and crossings are
    interpolated along the edges; rounding that leaves a polygon with more than
    two sign changes keeps it whole on the side of its vertex average. For cuts
    whose function is not one of the network's own (class boundaries, value
    bands), which the exact engine does not certify.
    """
    valid = np.arange(values.shape[1]) < counts[:, None]
    sign = ((values > tol[:, None]).view(np.int8) - (values < -tol[:, None]).view(np.int8)) * valid
    # Count sign changes between consecutive non-zero vertices.
    order = np.where(sign != 0, np.arange(sign.shape[1]), -1)
    nonzero = np.where(sign != 0, sign, 0)
    changes = np.zeros(counts.size, dtype=np.int64)
    for row in np.flatnonzero((sign > 0).any(axis=1) & (sign < 0).any(axis=1)):
        seq = nonzero[row][order[row] >= 0]
        changes[row] = int(np.count_nonzero(seq != np.roll(seq, 1)))
    bad = changes > 2
    if bad.any():
        mean = (values[bad] * valid[bad]).sum(axis=1) / counts[bad]
        sign[bad] = np.where(mean > 0, 1, -1)[:, None] * valid[bad]

    def crossing(rows: IntArray, at: IntArray) -> tuple[FloatArray, FloatArray]:
        after = np.where(at + 1 < counts[rows], at + 1, 0)
        f_at, f_next = values[rows, at], values[rows, after]
        point, nxt = verts[rows, at], verts[rows, after]
        frac = f_at / (f_at - f_next)
        return point + frac[:, None] * (nxt - point), np.zeros(rows.size)

    return split_convex(verts, tags, counts, sign, np.zeros(counts.size, np.int64), crossing)


def pad_polygons(vertices: FloatArray, offsets: IntArray) -> tuple[FloatArray, IntArray]:
    """Turn flat polygons into the padded layout.

    Parameters
    ----------
    vertices : ndarray of shape (n_vertices, 2)
    offsets : ndarray of int of shape (n_polygons + 1,)
        Polygon ``i`` is ``vertices[offsets[i]:offsets[i + 1]]``.

    Returns
    -------
    verts : ndarray of shape (n_polygons, max_vertices, 2)
        Padded with copies of each polygon's first vertex.
    counts : ndarray of int of shape (n_polygons,)
    """
    counts = np.diff(offsets).astype(np.int64)
    width = int(counts.max(initial=0))
    cols = np.arange(width)
    index = offsets[:-1, None] + np.where(cols < counts[:, None], cols, 0)
    if vertices.shape[0] == 0:
        return np.zeros((counts.size, width, 2)), counts
    return vertices[index], counts
