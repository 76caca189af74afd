"""A region map as a planar subdivision: one table of points shared by every polygon.

The engine computes each polygon's corners on their own; neighbours meet at
the same exact points but may carry roundings of them computed from different
pairs of lines, and a corner of one polygon can lie inside an edge of its
neighbour (a T-junction). Geometry tools that check a coverage (GEOS's
``CoverageValidator``, shapely's ``coverage_is_valid``) need neighbours to
share bit-identical vertices along every shared edge. This module

1. gives every exactly equal point one float representative (candidates are
   points within their error bounds of each other, all of them; equality is
   decided by the caller, exactly), and
2. inserts into every edge the points of the subdivision lying inside it: the
   ends of the other edges on the same line (every corner on a line is an end
   of some edge along that line), ordered along the line. Such a point is an
   end on one side of a line that the other side lacks; given each edge's
   side, one integer sort finds the lines where the sides differ, and only
   those are searched (on the benchmark networks, none is).

Examples
--------
>>> import numpy as np
>>> # Two unit squares side by side and one on top of both: a T-junction at (1, 1).
>>> pts = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [1, 0], [2, 0], [2, 1], [1, 1],
...                 [0, 1], [2, 1], [2, 2], [0, 2]], dtype=float)
>>> lines = np.array([0, 1, 2, 3, 0, 4, 2, 1, 2, 4, 5, 3])
>>> sub = shared_vertices(pts, lines, np.array([0, 4, 8, 12]), np.zeros(12),
...                       lambda i, j: i < 0, np.array([[1.0, 0], [0, 1], [1, 0], [0, 1],
...                                                      [0, 1], [1, 0]]))
>>> sub.offsets.tolist()
[0, 4, 8, 13]
>>> sub.points[sub.index[8:]].tolist()  # the top square gains the corner (1, 1)
[[0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [2.0, 2.0], [0.0, 2.0]]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.adjacency import connected_labels

__all__ = ["Subdivision", "shared_vertices"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
SideArray = NDArray[np.int8]


@dataclass(frozen=True, eq=False)
class Subdivision:
    """Polygons as runs of indices into one table of points.

    Attributes
    ----------
    points : ndarray of shape (n_points, 2)
        Every vertex of the map once.
    index : ndarray of int of shape (n_vertices,)
        The polygons' vertices, polygon after polygon, as indices into ``points``.
    offsets : ndarray of int of shape (n_polygons + 1,)
        Polygon ``i`` is ``points[index[offsets[i]:offsets[i + 1]]]``.
    twin : ndarray of int of shape (n_edges,) or None
        When every line's two sides are cut at the same points (no point lies
        inside an edge): for each input edge on a two-sided line, the input
        edge on the other side with the same ends, -1 elsewhere. None otherwise.
    """

    points: FloatArray
    index: IntArray
    offsets: IntArray
    twin: IntArray | None = None


def _distinct_points(points: FloatArray) -> tuple[IntArray, IntArray]:
    """Order ``points`` by x then y; return the order and a group id (equal bits) per position.

    One unstable sort by x, then a sort by y inside the few runs of equal x
    whose y differ (vertices on a vertical side of the box): several times
    faster than a two-key ``lexsort`` of every point.
    """
    order = np.argsort(points[:, 0])
    xs, ys = points[order, 0], points[order, 1]
    same_x = xs[1:] == xs[:-1]
    mixed = same_x & (ys[1:] != ys[:-1])
    if mixed.any():
        run = np.concatenate([[0], np.cumsum(~same_x)])
        is_mixed = np.zeros(int(run[-1]) + 1, dtype=bool)
        is_mixed[run[1:][mixed]] = True
        members = np.flatnonzero(is_mixed[run])
        # Members are whole runs, so sorting them by (run, y) keeps each run in place.
        by_y = members[np.lexsort((ys[members], run[members]))]
        order[members] = order[by_y]
        ys[members] = ys[by_y]
    new = np.ones(order.size, dtype=bool)
    new[1:] = ~same_x | (ys[1:] != ys[:-1])
    return order, np.cumsum(new) - 1


# Candidates are found along a direction in which the points of a map's lines
# rarely line up (sorting by x alone would put every vertex of a vertical line
# between two copies of one of them).
_SWEEP = np.array([1.0, 0.6180339887498949])


def _candidate_pairs(points: FloatArray, error: FloatArray) -> IntArray:
    """Every pair of points within their error bounds of each other, shape (n_pairs, 2).

    Points are ordered by ``u = x + 0.618 y`` and each is compared with the
    following ones while ``u`` may still be within reach: two points whose
    coordinates differ by at most ``e`` differ in ``u`` by at most ``1.618 e``,
    plus the rounding of ``u`` itself. The error bounds are far smaller than the
    distance between distinct vertices of a map, so this walk is short.
    """
    n = points.shape[0]
    u = points @ _SWEEP
    order = np.argsort(u)
    u, e = u[order], error[order]
    slack = 4 * np.finfo(float).eps * np.abs(u)
    most = float(e.max(initial=0.0))
    found = [np.zeros((0, 2), np.int64)]
    active = np.arange(n - 1)
    shift = 1
    while active.size:
        j = active + shift
        reach = e[active] + e[j]
        near = u[j] - u[active] <= _SWEEP.sum() * reach + slack[active] + slack[j]
        a, b = order[active[near]], order[j[near]]
        close = (np.abs(points[b, 0] - points[a, 0]) <= reach[near]) & (
            np.abs(points[b, 1] - points[a, 1]) <= reach[near]
        )
        found.append(np.stack([a[close], b[close]], axis=1))
        # Points further on are further along u: stop where even the largest bound cannot reach.
        going = u[j] - u[active] <= _SWEEP.sum() * (e[active] + most) + slack[active] + slack[j]
        active = active[going]
        shift += 1
        active = active[active + shift < n]
    return np.concatenate(found)


def _twin_edges(
    lines: IntArray, start: IntArray, end: IntArray, side: SideArray, n_points: int
) -> IntArray | None:
    """Pair every edge on a two-sided line with the edge on the other side with the same ends.

    Return None when some edge has no such twin (a point inside an edge), or
    when the integer keys would overflow. One integer sort of the edges by
    (line, lower end, higher end): when the two sides of every line are cut at
    the same points, equal keys come in pairs, one from each side.
    """
    two = np.flatnonzero(side != 0)
    if two.size % 2 or (int(lines.max(initial=0)) + 1) * max(n_points, 1) ** 2 >= 2**62:
        return None
    s, e = start[two], end[two]
    key = lines[two].astype(np.int64) * n_points
    key += np.minimum(s, e)
    key *= n_points
    key += np.maximum(s, e)
    order = np.argsort(key)
    ordered = key[order]
    one, other = order[0::2], order[1::2]
    if not np.array_equal(ordered[0::2], ordered[1::2]):
        return None
    # Each key exactly twice, once per side.
    if np.any(ordered[2::2] == ordered[1:-1:2]) or np.any(side[two[one]] == side[two[other]]):
        return None
    twin = np.full(start.size, -1, np.int64)
    twin[two[one]] = two[other]
    twin[two[other]] = two[one]
    return twin


def _unbalanced_edges(
    lines: IntArray, start: IntArray, end: IntArray, side: SideArray, n_points: int
) -> IntArray:
    """Edges on a line whose two sides are not cut at the same points.

    Along a line with polygons on both sides, the edges of each side tile the
    same segment. A point of the map lies inside an edge (a T-junction) only
    where one side's tiling has an end the other's lacks, so a line whose
    edge ends, counted per point, are the same on both sides has none: one
    integer sort of the edge ends shows it. Lines with polygons on one side
    only (``side`` 0: the box's sides) have none either, since edges on one
    side of a line do not overlap.
    """
    two = np.flatnonzero(side != 0)
    n_keys = (int(lines.max(initial=0)) + 1) * max(n_points, 1)
    if n_keys >= 2**62:
        return two
    base = lines[two].astype(np.int64) * n_points
    keys = np.concatenate([base + start[two], base + end[two]])
    positive = np.concatenate([side[two], side[two]]) > 0
    if np.array_equal(np.sort(keys[positive]), np.sort(keys[~positive])):
        return np.zeros(0, np.int64)
    unique, inverse = np.unique(keys, return_inverse=True)
    balance = np.bincount(inverse, np.where(positive, 1.0, -1.0), unique.size)
    bad_lines = np.unique(unique[balance != 0] // n_points)
    return two[np.isin(lines[two], bad_lines)]


def _insert_junctions(
    table: FloatArray,
    lines: IntArray,
    start: IntArray,
    end: IntArray,
    directions: FloatArray,
    side: SideArray | None,
) -> tuple[IntArray, IntArray]:
    """Every edge as its start and the points inside it; return the indices and their offsets.

    The points on each line are ordered along it (one sort of the ends of the
    edges searched), each distinct (line, point) gets its rank along its line,
    and an edge gains the points ranked strictly between its ends.
    """
    n = start.size
    searched = (
        np.arange(n) if side is None else _unbalanced_edges(lines, start, end, side, table.shape[0])
    )
    inner = np.zeros(n, np.int64)
    m = searched.size
    if m:
        line = lines[searched]
        ends_line = np.concatenate([line, line])
        ends_point = np.concatenate([start[searched], end[searched]])
        along = (table[ends_point] * directions[ends_line]).sum(axis=1)
        order = np.lexsort((ends_point, along, ends_line))
        ordered_line, ordered_point = ends_line[order], ends_point[order]
        new = np.ones(order.size, dtype=bool)
        new[1:] = (ordered_line[1:] != ordered_line[:-1]) | (
            ordered_point[1:] != ordered_point[:-1]
        )
        rank = np.empty(order.size, np.int64)
        rank[order] = np.cumsum(new) - 1
        on_line = ordered_point[new]
        r_start, r_end = rank[:m], rank[m:]
        inner[searched] = np.maximum(np.abs(r_end - r_start) - 1, 0)
    out_offsets = np.concatenate([[0], np.cumsum(1 + inner)])
    index = np.empty(int(out_offsets[-1]), dtype=np.int64)
    index[out_offsets[:-1]] = start
    extra = np.flatnonzero(inner[searched] > 0)
    if extra.size:
        # Points strictly between an edge's ends, walked from its start to its end.
        step = np.sign(r_end[extra] - r_start[extra])
        counts_extra = inner[searched[extra]]
        owner = np.repeat(np.arange(extra.size), counts_extra)
        k = np.arange(owner.size) - np.repeat(np.cumsum(counts_extra) - counts_extra, counts_extra)
        ranks = r_start[extra][owner] + step[owner] * (k + 1)
        slots = out_offsets[searched[extra]][owner] + 1 + k
        index[slots] = on_line[ranks]
    return index, out_offsets


def shared_vertices(
    points: FloatArray,
    lines: IntArray,
    offsets: IntArray,
    error: FloatArray,
    same_point: Callable[[IntArray, IntArray], NDArray[np.bool_]],
    directions: FloatArray,
    side: SideArray | None = None,
) -> Subdivision:
    """Turn polygons with their own corners into a planar subdivision.

    Parameters
    ----------
    points : ndarray of shape (n_vertices, 2)
        Every polygon's corners, polygon after polygon, counter-clockwise.
    lines : ndarray of int of shape (n_vertices,)
        The line the edge from each corner to the next lies on.
    offsets : ndarray of int of shape (n_polygons + 1,)
    error : ndarray of shape (n_vertices,)
        Bound on each corner's coordinate error.
    same_point : callable
        ``same_point(i, j)`` for arrays of corner indices: whether each pair
        is the same exact point; asked only for corners within their error
        bounds of each other.
    directions : ndarray of shape (n_lines, 2)
        A direction along each line.
    side : ndarray of int8 of shape (n_vertices,), optional
        Which side of its line the polygon of each edge lies on (1 or -1,
        the same sign for all polygons on one side), or 0 for a line with
        polygons on one side only. With it, only lines whose two sides are
        cut at different points are searched for points inside edges;
        without it, every line is.

    Returns
    -------
    Subdivision
    """
    n = points.shape[0]
    # 1. One representative per exact point: equal bits first, then near points.
    order, group = _distinct_points(points)
    n_groups = int(group[-1]) + 1 if n else 0
    first = np.zeros(n_groups, np.int64)
    first[group[::-1]] = order[::-1]
    pairs = _candidate_pairs(points[first], error[first])
    same = same_point(first[pairs[:, 0]], first[pairs[:, 1]])
    label = connected_labels(n_groups, pairs[same, 0], pairs[same, 1])
    # Labels are numbered in order of first point, so each table entry is one of them.
    corner = np.empty(n, np.int64)
    corner[order] = label[group]
    representative = np.zeros(int(label.max(initial=-1)) + 1, np.int64)
    representative[label[::-1]] = first[::-1]
    table = points[representative]
    # 2. Edges: from each corner to the next one of its polygon.
    counts = np.diff(offsets)
    polygon = np.repeat(np.arange(counts.size), counts)
    position = np.arange(n) - offsets[polygon]
    nxt = np.where(position + 1 < counts[polygon], np.arange(n) + 1, offsets[polygon])
    start, end = corner, corner[nxt]
    # A big map's peak is here: let the tables of one entry per corner go.
    del order, group, first, pairs, same, label, polygon, position, nxt
    twin = None if side is None else _twin_edges(lines, start, end, side, table.shape[0])
    if twin is not None:
        return Subdivision(points=table, index=start, offsets=offsets.astype(np.int64), twin=twin)
    index, out_offsets = _insert_junctions(table, lines, start, end, directions, side)
    polygon_offsets = out_offsets[offsets]
    return Subdivision(points=table, index=index, offsets=polygon_offsets.astype(np.int64))
