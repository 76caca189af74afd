"""Split many convex polygons by one line each, all at once.

Polygons are held padded: ``verts`` of shape (n_polygons, max_vertices, 2)
with ``counts`` valid vertices per row, counter-clockwise, and the padding
filled with copies of the first vertex, so edges out of padding have length
zero and the shoelace formula needs no mask. Every edge carries an integer
tag (the chord that created it, or -1 for the box), which is how neighbouring
regions are found later.

Each polygon is cut along the chord between the two boundary points where
the affine function ``f`` changes sign, as in Sutherland-Hodgman clipping
(I. E. Sutherland and G. W. Hodgman, "Reentrant polygon clipping", CACM 17(1),
1974) but keeping both sides. A vertex with ``|f| <= tol`` is taken to lie on
the line; if a sign change passes through such vertices, the first of them
is the chord's end. Because both chord ends are points of the parent's
boundary, both children are convex and together tile the parent exactly, even
when the line passes through vertices, along edges or within ``tol`` of them.

Examples
--------
>>> import numpy as np
>>> square = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]])
>>> f = square[..., 0] - 0.5
>>> cut = split_convex(square, np.full((1, 4), -1), np.array([4]), f, np.array([1e-12]), 0)
>>> cut.positive.counts.tolist(), cut.negative.counts.tolist()
([4], [4])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "LineTolerance",
    "PaddedPolygons",
    "SplitResult",
    "pad_polygons",
    "polygon_areas",
    "row_extremes",
    "split_convex",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
# Edge tags may be stored in a narrower integer type.
TagArray = NDArray[np.signedinteger[Any]]
BoolArray = NDArray[np.bool_]


class LineTolerance:
    """How close to zero an affine function ``g . x + c`` counts as zero on a box.

    The tolerance is ``rtol`` times the function's scale on the box,
    ``|g_x| w / 2 + |g_y| h / 2 + |f(centre)|`` (``w, h`` the box's width and
    height), plus ``rtol`` times ``floor`` (a fraction of the largest such scale
    in the layer, so that rounding noise of a unit that is zero everywhere is
    not read as a sign), plus ``1e-12`` times ``|g_x| X + |g_y| Y + |c|`` with
    ``X, Y`` the largest coordinates on the box, which bounds the rounding
    error of evaluating ``f`` (it matters for boxes far from the origin).

    Parameters
    ----------
    box : ((float, float), (float, float))
    rtol : float
    floor : float, default=0.0

    Examples
    --------
    >>> tol = LineTolerance(((-1.0, -1.0), (1.0, 1.0)), 1e-10)
    >>> tol(np.array([[1.0, 0.0, 0.0]])).tolist()
    [1.01e-10]
    """

    def __init__(
        self, box: tuple[tuple[float, float], tuple[float, float]], rtol: float, floor: float = 0.0
    ) -> None:
        (x0, y0), (x1, y1) = box
        self.centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        self.half = np.array([(x1 - x0) / 2, (y1 - y0) / 2])
        self.reach = np.array([max(abs(x0), abs(x1)), max(abs(y0), abs(y1))])
        self.rtol, self.floor = rtol, floor

    def scale(self, m: FloatArray) -> FloatArray:
        """Scale on the box of maps ``m`` of shape (n, 3, ...): rows g_x, g_y, c."""
        at_centre = m[:, 0] * self.centre[0] + m[:, 1] * self.centre[1] + m[:, 2]
        out: FloatArray = np.abs(m[:, 0]) * self.half[0] + np.abs(m[:, 1]) * self.half[1]
        out += np.abs(at_centre)
        return out

    def __call__(self, m: FloatArray, scale: FloatArray | None = None) -> FloatArray:
        """Tolerance for maps ``m`` of shape (n, 3, ...), given their scale if known."""
        out: FloatArray = np.abs(m[:, 0]) * (1e-12 * self.reach[0])
        out += np.abs(m[:, 1]) * (1e-12 * self.reach[1])
        out += np.abs(m[:, 2]) * 1e-12
        out += self.rtol * ((self.scale(m) if scale is None else scale) + self.floor)
        return out


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
        For polygons not split: True when ``f > tol`` somewhere on it.
    positive, negative : PaddedPolygons
        The parts with ``f >= 0`` and ``f <= 0`` of the split polygons, in order.
    chord_start, chord_end : ndarray of shape (n_split, 2)
        The chord, directed so that the positive part lies on its left.
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
    # Relative to the first vertex, so that boxes far from the origin keep
    # their precision.
    local = verts - verts[:, :1]
    nxt = np.roll(local, -1, axis=1)
    cross = local[..., 0] * nxt[..., 1] - nxt[..., 0] * local[..., 1]
    out: FloatArray = 0.5 * cross.sum(axis=1)
    return out


def row_extremes(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Largest and smallest entry of each row of ``values`` (n, width).

    numpy reduces a narrow last axis row by row, slowly; reducing the first
    axis of the transpose goes over whole columns at a time.
    """
    columns = np.ascontiguousarray(values.T)
    high: FloatArray = columns.max(axis=0)
    low: FloatArray = columns.min(axis=0)
    return high, low


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
    on_edge = np.flatnonzero(e_edge)
    flat[on_edge, end_col[on_edge]] = n_verts + n + on_edge
    verts = np.concatenate([v.reshape(-1, 2), s_point, e_point])[flat]
    # The chord is the edge into the end point, or out of it when it is on an edge.
    out_tags[part, end_col - 1 + e_edge] = chord
    return PaddedPolygons(verts, out_tags, sizes)


def split_convex(
    verts: FloatArray,
    tags: TagArray,
    counts: IntArray,
    values: FloatArray,
    tol: FloatArray,
    first_chord: int,
) -> SplitResult:
    """Split each convex polygon by the zero line of an affine function.

    Parameters
    ----------
    verts : ndarray of shape (n_polygons, max_vertices, 2)
        Counter-clockwise vertices, padded with copies of the first vertex.
    tags : ndarray of int of shape (n_polygons, max_vertices)
        Edge tags, kept on the parts of each edge.
    counts : ndarray of int of shape (n_polygons,)
    values : ndarray of shape (n_polygons, max_vertices)
        The affine function at every vertex (so padding repeats the first value).
    tol : ndarray of shape (n_polygons,)
        Values with ``|f| <= tol`` count as zero.
    first_chord : int
        Tag of the first chord; the ``i``-th split polygon's chord gets
        ``first_chord + i`` on both parts.

    Returns
    -------
    SplitResult
    """
    high, low = row_extremes(values)
    has_pos = high > tol
    split = has_pos & (low < -tol)
    positive_side = has_pos
    rows = np.flatnonzero(split)
    m, width = rows.size, values.shape[1]
    f, v, t, cnt = values[rows], verts[rows], tags[rows], counts[rows]
    tol_rows = tol[rows, None]
    idx = np.arange(m)
    cols = np.arange(width)
    valid = cols < cnt[:, None]
    sign = (f > tol_rows).view(np.int8) - (f < -tol_rows).view(np.int8)
    sign *= valid
    # Sign at the next vertex, cyclically (padding has sign 0).
    s_next = np.zeros_like(sign)
    s_next[:, :-1] = sign[:, 1:]
    s_next[idx, cnt - 1] = sign[:, 0]
    cross = sign * s_next < 0
    pos, neg = sign > 0, sign < 0
    start_x = cross & pos
    end_x = cross & neg
    zero = valid & (sign == 0)
    if zero.any():
        base = (idx * width)[:, None]
        prv = (base + np.where(cols > 0, cols - 1, cnt[:, None] - 1)).ravel()
        s_prev = sign.ravel()[prv].reshape(m, width)
        first_zero = zero & (s_prev != 0)
        # Sign of the next vertex off the line, cyclically.
        ahead = np.where(valid & (sign != 0), cols, width)
        suffix = np.minimum.accumulate(ahead[:, ::-1], axis=1)[:, ::-1]
        later = np.full_like(suffix, width)
        later[:, :-1] = suffix[:, 1:]
        later = np.where(later == width, suffix[:, :1], later)
        s_ahead = np.take_along_axis(sign, later, axis=1)
        # A run of zeros between opposite signs is cut at its first vertex.
        start_v = first_zero & (s_prev > 0) & (s_ahead < 0)
        end_v = first_zero & (s_prev < 0) & (s_ahead > 0)
        n_start = start_v.sum(axis=1) + start_x.sum(axis=1)
        n_end = end_v.sum(axis=1) + end_x.sum(axis=1)
    else:
        start_v = end_v = np.zeros_like(pos)
        n_start = start_x.sum(axis=1)
        n_end = n_start
    # Rounding can leave a polygon with more than one sign change each way;
    # such a polygon is kept whole on the side of its vertex average.
    good = (n_start == 1) & (n_end == 1)
    if not good.all():
        bad = rows[~good]
        mean = (values[bad] * valid[~good]).sum(axis=1) / counts[bad]
        positive_side = positive_side.copy()
        positive_side[bad] = mean > 0
        split = split.copy()
        split[bad] = False
        keep = np.flatnonzero(good)
        rows, m = rows[keep], keep.size
        f, v, t, cnt = f[keep], v[keep], t[keep], cnt[keep]
        start_v, end_v = start_v[keep], end_v[keep]
        start_x, end_x = start_x[keep], end_x[keep]

    # Both sides at once: the positive part runs from b to a, the negative from a to b.
    idx = np.arange(m)
    rows2 = np.concatenate([idx, idx])
    marks = np.concatenate([end_v | end_x, start_v | start_x])
    at = np.argmax(marks, axis=1)
    on_edge = np.concatenate([end_x, start_x])[np.arange(2 * m), at]
    # The crossing point on the edge from vertex ``at`` to the next.
    cnt2 = cnt[rows2]
    after_at = np.where(at + 1 < cnt2, at + 1, 0)
    point, f_at = v[rows2, at], f[rows2, at]
    frac = f_at / np.where(on_edge, f_at - f[rows2, after_at], 1.0)
    crossing = point + frac[:, None] * (v[rows2, after_at] - point)
    point = np.where(on_edge[:, None], crossing, point)
    swap = np.concatenate([idx + m, idx])
    chord = first_chord + rows2
    parts = _arc(
        v, t, rows2, cnt2, (at, on_edge, point), (at[swap], on_edge[swap], point[swap]), chord
    )
    w_pos = int(parts.counts[:m].max(initial=0))
    w_neg = int(parts.counts[m:].max(initial=0))
    return SplitResult(
        split=split,
        positive_side=positive_side,
        positive=PaddedPolygons(parts.verts[:m, :w_pos], parts.tags[:m, :w_pos], parts.counts[:m]),
        negative=PaddedPolygons(parts.verts[m:, :w_neg], parts.tags[m:, :w_neg], parts.counts[m:]),
        chord_start=point[m:],
        chord_end=point[:m],
        parts=parts,
    )


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
