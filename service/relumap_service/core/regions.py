"""Exact activation regions and linear regions of a two-input network on a box.

The box is cut layer by layer. At the start of hidden layer ``l`` every
polygon has an affine map from the input to the layer's pre-activations
(fixed, since the patterns of layers ``1..l-1`` are constant on it; see
:mod:`relumap_service.core.layer_maps`). A cheap disc test, then a test at the
vertices, finds which units' zero lines cross which polygons; then the lines
split the polygons in rounds: round ``k`` splits every polygon by the ``k``-th
line crossing its root, all polygons at once
(:func:`relumap_service.core.clipping.split_convex`).
The resulting pieces have constant activation pattern, are convex, and the
network is affine on each. Neighbours across a chord whose affine maps agree
are merged into one *linear region* (:mod:`relumap_service.core.adjacency`).

Every decision is the one exact arithmetic on the float64 weights and box
gives. The work is done in float64, relative to the box's centre, with a
rigorous bound on every rounding error: each vertex is the meeting point of
the lines of its two edges (known by their tags), its coordinates carry an
error bound, and each map carries one (:class:`LayerMaps`). A sign is taken
from floating point only when the value exceeds its bound; otherwise, and for
lines too nearly parallel to intersect reliably, the decision is made with
integers (:class:`relumap_service.core.exact.ExactNetwork`). The result's
``certificate`` says how many decisions each way.

The number of regions is at most Serra et al.'s bound
(:func:`relumap_service.core.bounds.serra_bound`), which for one hidden layer
is Zaslavsky's ``1 + n + n (n - 1) / 2``.

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> net = Network([np.array([[1.0, 1.0], [1.0, -1.0]]), np.array([[1.0], [2.0]])],
...               [np.zeros(2), np.zeros(1)])
>>> r = regions_2d(net, ((-1, -1), (1, 1)))
>>> r.n_regions, r.areas.tolist()
(4, [1.0, 1.0, 1.0, 1.0])
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap_service.core.bits import (
    BitColumns,
    Bits,
    LayerPatterns,
    append_bits,
    bit_at,
    n_bytes,
    set_bits_at,
    set_column,
    unpack_columns,
)
from relumap_service.core.clipping import split_convex
from relumap_service.core.exact import shifted_biases
from relumap_service.core.flip_tree import FlipTree, flip_tree
from relumap_service.core.indexing import nonzero_2d, take_rows
from relumap_service.core.layer_maps import FLIP_MIN_WEIGHTS, RHO, LayerMaps
from relumap_service.core.layer_maps import UNIT_ROUNDOFF as U
from relumap_service.core.limits import WorkBudget, WorkLimitExceeded
from relumap_service.core.network import Network
from relumap_service.core.polygon_store import PolygonStore
from relumap_service.core.region_assembly import assemble
from relumap_service.core.region_lines import SAFETY, LineTable, SignEngine
from relumap_service.core.region_map import Box, Regions2D

__all__ = ["RegionLimitExceeded", "Regions2D", "regions_2d"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
SignArray = NDArray[np.int8]

# Largest table of a layer's maps held in memory; beyond it they are recomputed
# chunk by chunk (see relumap_service.core.layer_maps).
_TABLE_BYTES = 256 * 2**20
# Polygons handled at a time at the end of a layer (their patterns combined,
# the output's maps summed).
_END_CHUNK = 1 << 16


class RegionLimitExceeded(WorkLimitExceeded):
    """The region map would hold more polygons than allowed.

    Attributes
    ----------
    count : int
        Number of regions reached when the computation stopped.
    limit : int
        The ``max_regions`` that was exceeded.
    layer : int
        Hidden layer (from 1) being cut when the limit was reached.
    """

    def __init__(self, count: int, limit: int, layer: int) -> None:
        super().__init__(
            "max_regions",
            count,
            limit,
            f"reached in hidden layer {layer}; use a smaller box, a smaller network, "
            "or raise max_regions",
        )
        self.layer = layer

    def __reduce__(self) -> tuple[type[RegionLimitExceeded], tuple[int, int, int]]:  # type: ignore[override]
        # Keep the exception picklable (task queues send it between processes).
        return (type(self), (self.count, self.limit, self.layer))


def _check_box(box: ArrayLike) -> Box:
    array = np.asarray(box, dtype=np.float64)
    if array.shape != (2, 2):
        raise ValueError(
            f"box must be ((x_min, y_min), (x_max, y_max)), got an array of shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"box must be finite, got {array.tolist()}")
    (x0, y0), (x1, y1) = array.tolist()
    if not (x1 > x0 and y1 > y0):
        raise ValueError(
            f"box {array.tolist()} has width {x1 - x0} and height {y1 - y0}; "
            "both must be positive (x_max > x_min and y_max > y_min)"
        )
    if not (np.isfinite(x1 - x0) and np.isfinite(y1 - y0)):
        raise ValueError(f"box {array.tolist()} is wider than the float64 range")
    return ((x0, y0), (x1, y1))


# Columns of a (root, unit) pair's row: the map (x-gradient, y-gradient,
# offset), then the terms of its zero line's intersection bound (so the first
# columns are the line's row of the LineTable, and recording a line is one
# copy), then the terms of the pair's own rigorous bounds (see _pair_rows).
M0, M1, M2, _, _, _, GNORM, P_EXTENT, P_CONST = range(9)
LINE_ROW = slice(0, LineTable.WIDTH)
N_COLUMNS = 9


def _pair_rows(m: FloatArray, e: FloatArray) -> FloatArray:
    """Rows of the (root, unit) pairs with maps ``m`` (n, 3) within ``e`` (n, 3) of the exact ones.

    For a polygon whose exact and computed vertices and disc centre ``c``
    have ``|x|, |y| <= X`` (the store's ``extent``), the exact value of the
    pair's function ``f*`` at an exact vertex ``v*`` is within

    - ``GNORM * spread + S`` of the computed ``f(c)``, ``spread`` bounding
      ``|v* - c|`` (the disc test), and
    - ``S + GNORM * 1.5 * error`` of the computed ``f(v)`` at the computed
      vertex (the vertex test; ``|v - v*| <= sqrt(2) error``),

    with ``S = P_EXTENT * X + P_CONST`` covering the rounding of the
    evaluation (``4u (|g| X + |k|)``) and the maps' own error
    (``(e_x + e_y) X + e_k``). Every term carries the ``SAFETY`` factor for
    the rounding of the bounds themselves.
    """
    a = np.abs(m)
    out = np.empty((m.shape[0], N_COLUMNS))
    out[:, :3] = m
    gnorm = m[:, 0] * m[:, 0]
    gnorm += m[:, 1] * m[:, 1]
    np.sqrt(gnorm, out=gnorm)
    gnorm *= (1 + 4 * U) * SAFETY
    out[:, GNORM] = gnorm
    out[:, P_EXTENT] = ((4 * U) * (a[:, 0] + a[:, 1]) + e[:, 0] + e[:, 1]) * SAFETY
    out[:, P_CONST] = ((4 * U) * a[:, 2] + e[:, 2]) * SAFETY
    # The largest error and the 1-norm column by column: numpy reduces a
    # short last axis row by row, slowly (the same sums, in the same order).
    largest_error = np.maximum(e[:, 0], e[:, 1])
    np.maximum(largest_error, e[:, 2], out=largest_error)
    norm = a[:, 0] + a[:, 1]
    norm += a[:, 2]
    LineTable.bound_terms(largest_error, norm, out[:, 3:6])
    return out


class _Crossings:
    """Rows (see :func:`_pair_rows`) of the (root, unit) pairs whose zero line crosses the root.

    By root, then by unit: root ``r``'s pairs are ``start[r]:start[r + 1]``,
    ``count[r]`` of them, its units in increasing order.
    """

    def __init__(self, root: IntArray, unit: IntArray, rows: FloatArray, n_roots: int) -> None:
        order = np.lexsort((unit, root))
        self.unit, self.rows = unit[order], np.ascontiguousarray(rows[order])
        self.start = np.searchsorted(root[order], np.arange(n_roots + 1))
        self.count = np.diff(self.start)


def _vertex_signs(
    store: PolygonStore, cand: IntArray, v: FloatArray, rows: FloatArray, slack: FloatArray
) -> SignArray:
    """Signs at the vertices ``v`` of polygons ``cand``, 0 where floating point cannot tell.

    ``rows`` and ``slack`` are the pairs' rows and ``S`` (see :func:`_pair_rows`).
    """
    values = v[..., 0] * rows[:, M0, None]
    values += v[..., 1] * rows[:, M1, None]
    values += rows[:, M2, None]
    bound = store.error[cand] * 1.5
    bound *= rows[:, GNORM]
    bound += slack
    column = bound[:, None]
    sign: SignArray = (values > column).view(np.int8)
    sign -= (values < -column).view(np.int8)
    return sign


class _Bases:
    """The last layer's share of the output's maps, one row per root (see :func:`_output_maps`).

    ``maps[r]`` (3, n_out) sums the terms of the units whose lines miss root
    ``r``, each with its one sign there; ``largest`` and ``scale`` (n, 3) are
    the root's largest map entry over the units and its bound's per-row part.
    """

    def __init__(self, n_rows: int, n_out: int) -> None:
        self.maps = np.empty((n_rows, 3, n_out))
        self.largest = np.empty((n_rows, 3))
        self.scale = np.empty((n_rows, 3))


def _layer_signs(
    engine: SignEngine,
    store: PolygonStore,
    maps: LayerMaps,
    layer: int,
    history: LayerPatterns,
    budget: WorkBudget | None,
    bases: _Bases | None = None,
    out_w: FloatArray | None = None,
    units: IntArray | None = None,
) -> tuple[Bits, Bits, _Crossings]:
    """Which units' zero lines cross each polygon, and which are positive on it.

    Both as packed bits, one row per polygon (:mod:`relumap_service.core.bits`).
    With ``bases`` (the last hidden layer), each root's share of the output's
    maps is filled in too, from the same maps, weighted by ``out_w``. With
    ``units``, the maps' columns are those units of the layer (the bits are
    by column, the crossings name the units).

    A unit whose value at the centre of the disc around a polygon exceeds its
    margin cannot change sign on it; only the remaining pairs are evaluated at
    every vertex. Each value is first compared with the polygon's margin for
    its largest gradient, then the pairs within it with their own. The
    margin's small terms are bounded per polygon over all
    units (:meth:`LayerMaps.largest`, the per-row scale and the largest
    column norm), looser than per pair by a few roundings, so a pair in doubt
    goes on to the vertex test.
    """
    n_poly = store.size
    crosses = np.empty((n_poly, n_bytes(maps.n_units)), dtype=np.uint8)
    positive = np.empty((n_poly, n_bytes(maps.n_units)), dtype=np.uint8)
    found: list[tuple[IntArray, IntArray, FloatArray]] = []
    extent = store.extent
    colnorm_max = float(maps.colnorm.max(initial=0.0))
    for index, m, scale, largest in maps.chunks():
        if budget is not None:
            budget.check()
        # Each unit's value at the disc's centre: (x, y, 1) times the row's maps,
        # as one product (three elementwise passes with their temporaries took
        # ten times as long).
        centre = np.ones((index.size, 1, 3))
        centre[:, 0, :2] = take_rows(store.centre, index)
        at_centre = np.matmul(centre, m)[:, 0]
        # S of _pair_rows with the largest |map| and error of the row's units.
        err = scale * colnorm_max + RHO * largest
        slack = (4 * U) * (largest[:, 0] + largest[:, 1]) + err[:, 0] + err[:, 1]
        slack *= extent
        slack += (4 * U) * largest[:, 2] + err[:, 2]
        slack *= SAFETY
        spread = store.spread[index] * ((1 + 4 * U) * SAFETY)
        # Each unit's gradient is at most the row's largest in each coordinate:
        # the row's margin, rounded the same way (sqrt of the sum of squares, in
        # place: np.hypot is several times slower), is never below a unit's, and
        # dismisses most pairs without their own norms.
        row_margin = largest[:, 0] * largest[:, 0]
        row_margin += largest[:, 1] * largest[:, 1]
        np.sqrt(row_margin, out=row_margin)
        row_margin *= spread
        row_margin += slack
        sure_pos = at_centre > row_margin[:, None]
        poly, unit = nonzero_2d(np.abs(at_centre) <= row_margin[:, None])
        value = at_centre[poly, unit]
        gx, gy = m[poly, 0, unit], m[poly, 1, unit]
        margin = gx * gx
        margin += gy * gy
        np.sqrt(margin, out=margin)
        margin *= spread[poly]
        margin += slack[poly]
        sure_pos[poly, unit] = value > margin
        unsure = np.abs(value) <= margin
        engine.counts.float_signs += int(at_centre.size - np.count_nonzero(unsure))
        poly, unit = poly[unsure], unit[unsure]
        rows = index[poly]
        pair_maps = m[poly, :, unit]
        pair = _pair_rows(pair_maps, maps.errors(pair_maps, scale[poly], unit))
        slack = pair[:, P_EXTENT] * extent + pair[:, P_CONST]
        sign = _vertex_signs(store, rows, take_rows(store.verts, rows), pair, slack)
        of_layer = unit if units is None else units[unit]
        sign = engine.settle(
            sign, take_rows(store.tags, rows), store.counts[rows], (layer, of_layer, rows, history)
        )
        columns = np.ascontiguousarray(sign.T)
        pos = columns.max(axis=0) > 0
        cross = pos & (columns.min(axis=0) < 0)
        crosses_block = np.zeros(at_centre.shape, dtype=bool)
        crosses_block[poly, unit] = cross
        sure_pos[poly, unit] = pos
        crosses[index] = np.packbits(crosses_block, axis=1)
        positive[index] = np.packbits(sure_pos, axis=1)
        if bases is not None:
            assert out_w is not None
            fixed = maps.network.branch_slopes(sure_pos)
            fixed[poly[cross], unit[cross]] = 0.0
            # Slopes times output weights first: a third of the products of
            # scaling the maps (the same roundings, in another order).
            bases.maps[index] = np.matmul(m, fixed[:, :, None] * out_w)
            bases.largest[index], bases.scale[index] = largest, scale
        found.append((rows[cross], of_layer[cross], pair[cross]))
    root, unit, pair_rows = (np.concatenate(parts) for parts in zip(*found, strict=True))
    return crosses, positive, _Crossings(root, unit, pair_rows, n_poly)


def _output_maps(
    store: PolygonStore,
    maps: LayerMaps,
    bases: _Bases,
    crossings: _Crossings,
    on: BitColumns,
    w: FloatArray,
    b: FloatArray,
) -> LayerMaps:
    """Return the output's maps on every polygon, not computing the last layer's maps again.

    A polygon's output map is its root's share (the units whose lines miss
    the root) plus, for each unit whose line crosses the root, that unit's
    map on the root (kept in ``crossings``) scaled by its slope on the
    polygon, times the unit's output weights, plus the biases: the sum
    :meth:`LayerMaps.rows` takes, in another order. Its bound is the
    product's (``gamma`` times the root's largest entry, plus the root's own
    error) and ``2u`` times the root's largest entry for each added term and
    the two last sums.
    """
    size = store.size
    root = store.root[:size].copy()
    table = bases.maps[root]
    pair_unit, pair_map, first = crossings.unit, crossings.rows[:, :3], crossings.start
    count = crossings.count[root]
    on_slope, off_slope = maps.network.branch_slopes(np.array([True, False]))
    for lo in range(0, size, _END_CHUNK):
        n = count[lo : lo + _END_CHUNK]
        if not n.any():
            continue
        polygon = np.repeat(np.arange(lo, lo + n.size), n)
        start = np.cumsum(n) - n
        pair = first[root[polygon]] + np.arange(polygon.size) - np.repeat(start, n)
        j = pair_unit[pair]
        slope = np.where(bit_at(store.patterns, polygon, j), on_slope, off_slope)
        terms = (pair_map[pair] * slope[:, None])[:, :, None] * w[j][:, None, :]
        some = n > 0
        table[lo + np.flatnonzero(some)] += np.add.reduceat(terms, start[some], axis=0)
    table[:, 2] += b
    out = LayerMaps(maps.network, None, root, on, w, b, table)
    largest = bases.largest[root]
    out.scale = out.gamma * largest + bases.scale[root] * float(maps.colnorm.max(initial=0.0))
    out.scale += (count[:, None] + 2) * (2 * U) * largest
    return out


def _cut_near(
    engine: SignEngine,
    store: PolygonStore,
    cand: IntArray,
    units: IntArray,
    pair: FloatArray,
    slack: FloatArray,
    roots: IntArray,
    layer: int,
    blocks: LayerPatterns,
    line_of_root: IntArray,
    max_regions: int,
    unit_lines: IntArray | None = None,
) -> BoolArray:
    """Split polygons ``cand`` by their unit's zero line where it crosses them.

    ``units`` and ``pair`` are each polygon's unit and its pair's row on the
    polygon's root ``roots``; at most one unit per root. A split polygon
    keeps its positive part and the negative part is appended, with the
    polygon's pattern. Returns whether each polygon is (or keeps) the
    positive side. ``line_of_root`` is scratch space of one entry per root.
    With ``unit_lines`` (the first layer's line of each unit, -1 until it is
    recorded), a unit's line is one line on every root.
    """
    cand_verts = take_rows(store.verts, cand)
    cand_tags = take_rows(store.tags, cand)
    cand_counts = store.counts[cand]
    sign = engine.settle(
        _vertex_signs(store, cand, cand_verts, pair, slack),
        cand_tags,
        cand_counts,
        (layer, units, roots, blocks),
    )
    # Each row's extreme signs: numpy reduces the first axis of the
    # transpose far faster than the short last axis.
    columns = np.ascontiguousarray(sign.T)
    has_pos: BoolArray = columns.max(axis=0) > 0
    splits: BoolArray = has_pos & (columns.min(axis=0) < 0)
    lines = engine.lines
    split_rows = splits.nonzero()[0]
    chord = np.full(cand.size, -1, np.int64)
    if unit_lines is None:
        # One line per root whose polygons are split: mark each root once.
        line_of_root[roots[split_rows]] = split_rows
        first = split_rows[line_of_root[roots[split_rows]] == split_rows]
        ids = lines.add(pair[first, LINE_ROW], layer, units[first], roots[first])
        line_of_root[roots[first]] = ids
        chord[split_rows] = line_of_root[roots[split_rows]]
    else:
        split_units, at = np.unique(units[split_rows], return_index=True)
        first = split_rows[at[unit_lines[split_units] < 0]]
        unit_lines[units[first]] = lines.add(
            pair[first, LINE_ROW], layer, units[first], roots[first]
        )
        chord[split_rows] = unit_lines[units[split_rows]]
    extent = store.extent

    def crossing(rows: IntArray, at: IntArray) -> tuple[FloatArray, FloatArray]:
        edge = cand_tags[rows, at].astype(np.int64)
        return lines.intersect(edge, chord[rows], extent, engine.counts)

    cut = split_convex(cand_verts, cand_tags, cand_counts, sign, chord, crossing, has_pos, splits)
    rows = cand[cut.split]
    n_new = rows.size
    if n_new == 0:
        return has_pos
    size = store.size
    if size + n_new > max_regions:
        raise RegionLimitExceeded(size + n_new, max_regions, layer + 1)
    parts = cut.parts
    store.reserve(size + n_new, parts.verts.shape[1])
    new = np.arange(size, size + n_new)
    error = np.maximum(store.error[rows], cut.chord_error)
    store.put(
        np.concatenate([rows, new]),
        parts.verts,
        parts.tags,
        parts.counts,
        np.concatenate([error, error]),
    )
    store.root[new] = store.root[rows]
    store.copy_patterns(new, rows)
    store.size = size + n_new
    return has_pos


def _cut_round(
    engine: SignEngine,
    store: PolygonStore,
    crossings: _Crossings,
    k: int,
    one_root: bool,
    layer: int,
    blocks: LayerPatterns,
    line_of_root: IntArray,
    max_regions: int,
    unit_lines: IntArray | None = None,
    budget: WorkBudget | None = None,
) -> None:
    """Cut every polygon by the ``k``-th line (by unit) that crosses its root, if any.

    With one root (the first layer's box) every polygon is a candidate and
    shares its one row. Each polygon's bit of its unit is set where it lies
    on the positive side. ``budget``'s deadline is checked first.
    """
    if budget is not None:
        budget.check()
    size = store.size
    root = store.root[:size]
    if one_root:
        # One line for all: its values at the centres are one matrix-vector
        # product, its slack one number.
        cand = np.arange(size)
        unit = int(crossings.unit[k])
        row = crossings.rows[k]
        at_centre = store.centre[:size] @ row[M0:M2]
        at_centre += row[M2]
        slack_all = row[P_EXTENT] * store.extent + row[P_CONST]
        margin = store.spread[:size] * row[GNORM]
        margin += slack_all
    else:
        cand = (crossings.count[root] > k).nonzero()[0]
        at = crossings.start[root[cand]] + k
        units, pair = crossings.unit[at], take_rows(crossings.rows, at)
        # The line crosses the root, but most of its polygons lie off it.
        centre = store.centre[cand]
        at_centre = centre[:, 0] * pair[:, M0]
        at_centre += centre[:, 1] * pair[:, M1]
        at_centre += pair[:, M2]
        slack = pair[:, P_EXTENT] * store.extent
        slack += pair[:, P_CONST]
        margin = pair[:, GNORM] * store.spread[cand]
        margin += slack
    positive_side = at_centre > 0
    near = (np.abs(at_centre) <= margin).nonzero()[0]
    engine.counts.float_signs += cand.size - near.size
    if near.size:
        if one_root:
            near_units = np.full(near.size, unit)
            near_pair: FloatArray = np.broadcast_to(row, (near.size, N_COLUMNS))
            near_slack = np.full(near.size, slack_all)
        else:
            near_units, near_pair, near_slack = units[near], pair[near], slack[near]
        positive_side[near] = _cut_near(
            engine,
            store,
            cand[near],
            near_units,
            near_pair,
            near_slack,
            root[cand[near]],
            layer,
            blocks,
            line_of_root,
            max_regions,
            unit_lines,
        )
    # Every candidate's bit of its unit was clear: a new part copied its
    # polygon's pattern before this, and stays on the negative side.
    if one_root:
        set_column(store.patterns, unit, positive_side)
    else:
        set_bits_at(store.patterns, cand[positive_side], units[positive_side])


def _next_history(
    history: Bits,
    n_history: int,
    root: IntArray,
    patterns: Bits,
    n_units: int,
    signs: tuple[Bits, Bits] | None,
) -> Bits:
    """Return the finished layers' patterns of every polygon: its root's, then the layer's own.

    ``signs`` (crosses, positive) of each root: where a unit's line misses
    the root, the unit has the sign ``positive`` on all of it; elsewhere the
    polygon's own bit in ``patterns`` holds. All on packed rows, chunk by
    chunk, with no boolean copy of the layer.
    """
    size = root.size
    out = np.empty((size, n_bytes(n_history + n_units)), np.uint8)
    for lo in range(0, size, _END_CHUNK):
        hi = min(lo + _END_CHUNK, size)
        roots = root[lo:hi]
        block = patterns[lo:hi]
        if signs is not None:
            crosses, positive = take_rows(signs[0], roots), take_rows(signs[1], roots)
            block = (block & crosses) | (positive & ~crosses)
        out[lo:hi] = append_bits(take_rows(history, roots), n_history, block, n_units)
    return out


# After this many of the first layer's lines, its cells become roots of their own.
FIRST_LAYER_ROOT_LINES = 64


def _first_layer_roots(
    engine: SignEngine,
    store: PolygonStore,
    maps: LayerMaps,
    signs: tuple[Bits, Bits],
    cut: IntArray,
    blocks: LayerPatterns,
    budget: WorkBudget | None,
) -> tuple[Bits, Bits, _Crossings]:
    """Make the first layer's cells roots for its lines not yet cut (units not in ``cut``).

    A round of the box's one root tests every polygon against its line,
    though a line crosses few of them. As roots, the cells of the first
    lines meet only the lines that cross them, in rounds of their own (each
    root still meets its lines in the units' order). Every
    polygon becomes its own root; returned are the crosses and positive bits
    of every unit on each (the units cut so far keep each polygon's own bit,
    the lines that miss the box their one sign) and the crossings of the
    rest.
    """
    size, n_units = store.size, maps.n_units
    store.root[:size] = np.arange(size)
    assert maps.table is not None and maps.scale is not None
    box_crosses = unpack_columns(signs[0], 0, n_units)[0]
    rest = np.setdiff1d(np.flatnonzero(box_crosses), cut)
    # The one map of the first layer, seen from every root (a view, no copies).
    table = np.broadcast_to(maps.table[:, :, rest], (size, 3, rest.size))
    scale = np.broadcast_to(maps.scale, (size, 3))
    roots = LayerMaps(
        maps.network,
        None,
        np.zeros(size, np.int64),
        maps.on,
        maps.w[:, rest],
        maps.b[rest],
        table,
        scale,
    )
    crosses, positive, crossings = _layer_signs(engine, store, roots, 0, blocks, budget, units=rest)
    cross = np.zeros((size, n_units), bool)
    cross[:, cut] = True
    cross[:, rest] = unpack_columns(crosses, 0, rest.size)
    on = np.repeat(unpack_columns(signs[1], 0, n_units), size, axis=0)
    on[:, rest] = unpack_columns(positive, 0, rest.size)
    return np.packbits(cross, axis=1), np.packbits(on, axis=1), crossings


def _edge_flip_tree(store: PolygonStore, lines: LineTable, patterns: Bits) -> FlipTree:
    """Return the first layer's polygons as a flip tree over their edges' units.

    Polygons on the two sides of an edge on a unit's zero line differ in
    that unit alone (:func:`relumap_service.core.flip_tree.flip_tree`). The
    root is the polygon nearest the box's centre: the tree has the fewest
    levels from there.
    """
    size = store.size
    tags = store.tags[:size]
    slot = np.arange(tags.shape[1])
    rows, at = nonzero_2d((tags >= 4) & (slot < store.counts[:size, None]))
    units = lines.source[1][tags[rows, at]]
    centre = store.centre[:size]
    root = int(np.argmin(np.abs(centre[:, 0]) + np.abs(centre[:, 1])))
    return flip_tree(patterns, rows, units, root)


def regions_2d(
    network: Network,
    box: ArrayLike,
    max_regions: int = 200_000,
    *,
    budget: WorkBudget | None = None,
) -> Regions2D:
    """Compute the exact activation regions of a two-input network on a box.

    Parameters
    ----------
    network : Network
        A network with ``n_inputs == 2``.
    box : array-like of shape (2, 2)
        ``((x_min, y_min), (x_max, y_max))``, finite with positive width and height.
    max_regions : int, default=200_000
        Stop and raise :class:`RegionLimitExceeded` rather than hold more regions.
    budget : WorkBudget, optional
        A deadline, checked after every round of cuts and every chunk of a layer's maps.

    Returns
    -------
    Regions2D
        Its ``certificate`` counts the decisions settled in floating point and
        exactly.

    Raises
    ------
    ValueError
        If the network does not have two inputs or the box is empty or not finite.
    RegionLimitExceeded
        If more than ``max_regions`` regions would be needed.
    DeadlineExceeded
        If ``budget``'s deadline passes.

    Examples
    --------
    >>> import numpy as np
    >>> from relumap_service.core.network import Network
    >>> k = np.arange(8)
    >>> net = Network([np.stack([np.cos(np.pi * k / 8), np.sin(np.pi * k / 8)]),
    ...                np.ones((8, 1))], [-np.ones(8), np.zeros(1)])
    >>> regions_2d(net, ((-6, -6), (6, 6))).n_regions
    37
    """
    if network.n_inputs != 2:
        raise ValueError(
            f"regions_2d needs a network with two inputs, this one has {network.n_inputs}; "
            "use knots_1d for one input"
        )
    if max_regions < 1:
        raise ValueError(f"max_regions must be at least 1, got {max_regions}")
    box = _check_box(box)
    engine = SignEngine(network, box)
    lines, origin = engine.lines, engine.origin
    lines.layer_starts = np.concatenate([[0], np.cumsum(network.hidden_layer_sizes)]).astype(
        np.int64
    )
    (x0, y0), (x1, y1) = box
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) - origin
    corner_error = 2 * U * float(np.abs(corners).max())
    sizes = network.hidden_layer_sizes
    # Edges run from each corner to the next: on y = y_min, x = x_max, y = y_max, x = x_min.
    store = PolygonStore(corners, [1, 2, 3, 0], corner_error, sizes[0] if sizes else 0, max_regions)
    # Patterns of all finished layers as bits, one row per root of the current layer.
    history = np.zeros((1, 0), dtype=np.uint8)
    n_history = 0
    piecewise = network.hidden_activation != "identity"
    maps = LayerMaps.first(network, shifted_biases(network.coefs[0], network.intercepts[0], origin))
    for layer, (w, b) in enumerate(zip(network.coefs[1:], network.intercepts[1:], strict=True)):
        n_units = w.shape[0]
        store.start_layer(n_units)
        maps = maps.as_table(_TABLE_BYTES)
        blocks = LayerPatterns(history, sizes[:layer])
        lines.histories.append(blocks)
        if not piecewise:
            store.patterns[: store.size] = np.packbits(np.ones(n_units, dtype=bool))
        else:
            # Below the last hidden layer, the output's maps are built from each root's
            # (not below the first: its one root is crossed by every unit's line).
            last = 0 < layer == len(network.coefs) - 2
            bases = _Bases(store.size, w.shape[1]) if last else None
            crosses, positive, crossings = _layer_signs(
                engine, store, maps, layer, blocks, budget, bases, w
            )
            # Scratch space: the line of each root (or a row that splits it).
            line_of_root = np.zeros(store.size, np.int64)
        # Round k cuts every polygon by the k-th line (by unit) that crosses its
        # root: each root meets its lines in the units' order, as one unit at a
        # time would, with one pass over the polygons a round instead of a unit.
        rounds = int(crossings.count.max(initial=0)) if piecewise else 0
        one_root = store.size == 1
        # The first layer's cells after its first lines become roots (see
        # _first_layer_roots) when many lines are left.
        reroot = layer == 0 and one_root and rounds > 2 * FIRST_LAYER_ROOT_LINES
        first = FIRST_LAYER_ROOT_LINES if reroot else rounds
        for k in range(first):
            _cut_round(
                engine,
                store,
                crossings,
                k,
                one_root,
                layer,
                blocks,
                line_of_root,
                max_regions,
                None,
                budget,
            )
        if reroot:
            crosses, positive, crossings = _first_layer_roots(
                engine, store, maps, (crosses, positive), crossings.unit[:first], blocks, budget
            )
            history = np.zeros((store.size, 0), np.uint8)  # no finished layers, per root
            line_of_root = np.zeros(store.size, np.int64)
            # A first-layer unit's line is the same on every root: one line each.
            unit_lines = np.full(n_units, -1, np.int64)
            for k in range(int(crossings.count.max(initial=0))):
                _cut_round(
                    engine,
                    store,
                    crossings,
                    k,
                    False,
                    layer,
                    blocks,
                    line_of_root,
                    max_regions,
                    unit_lines,
                    budget,
                )
        size = store.size
        root = store.root[:size]
        signs = (crosses, positive) if piecewise else None
        history = _next_history(history, n_history, root, store.patterns, n_units, signs)
        if layer == 0:
            root = np.zeros(size, np.int64)  # every polygon's parent is the one first map
        on = BitColumns(history, n_history, n_units)
        if piecewise and bases is not None:
            maps = _output_maps(store, maps, bases, crossings, on, w, b)
        else:
            # Below the first layer, rows share one parent map: neighbours' maps follow.
            flips = layer == 0 and w.size >= FLIP_MIN_WEIGHTS and piecewise
            # The tree serves the sweeps over all rows; rows asked for by a
            # deeper layer's product follow the locality order.
            deeper = layer + 1 < len(network.coefs) - 2
            order = store.locality_order() if flips and deeper else None
            tree = _edge_flip_tree(store, lines, history) if flips else None
            maps = LayerMaps(network, maps, root.copy(), on, w, b, order=order, tree=tree)
        n_history += n_units
        if piecewise:
            del crosses, positive, crossings, signs

    table = maps.as_table()
    # The loop's views into the store's tables would keep them alive.
    maps = root = None  # type: ignore[assignment]
    store.finish()
    return assemble(engine, store, table, LayerPatterns(history, sizes), box)
