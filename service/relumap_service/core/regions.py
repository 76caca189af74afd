"""Exact activation regions and linear regions of a two-input network on a box.

The box is cut layer by layer. At the start of hidden layer ``l`` every
polygon has an affine map from the input to the layer's pre-activations
(fixed, since the patterns of layers ``1..l-1`` are constant on it; see
:mod:`relumap_service.core.layer_maps`). A cheap disc test, then a test at the
vertices, finds which units' zero lines cross which polygons; then each unit
of the layer splits every polygon its line crosses, all polygons at once
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

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap_service.core.adjacency import adjacent_pairs, connected_labels
from relumap_service.core.bounds import serra_bound
from relumap_service.core.clipping import polygon_areas, split_convex
from relumap_service.core.exact import ExactNetwork, Line, shifted_biases
from relumap_service.core.layer_maps import RHO, LayerMaps
from relumap_service.core.layer_maps import UNIT_ROUNDOFF as U
from relumap_service.core.limits import WorkBudget, WorkLimitExceeded
from relumap_service.core.network import Network
from relumap_service.core.polygon_store import PolygonStore
from relumap_service.core.region_map import Box, Certificate, Regions2D
from relumap_service.core.subdivision import Subdivision, shared_vertices

__all__ = ["RegionLimitExceeded", "Regions2D", "regions_2d"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
SignArray = NDArray[np.int8]

# Largest table of a layer's maps held in memory; beyond it they are recomputed
# chunk by chunk (see relumap_service.core.layer_maps).
_TABLE_BYTES = 256 * 2**20
# Error bounds already complete (a per-row scale times a norm of one).
ONE = np.ones(1)
# Bounds are computed in floating point too; this factor covers their own rounding.
_SAFETY = 1.0 + 2.0**-20


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


def _values(
    v: FloatArray, reach: FloatArray, error: FloatArray, m: FloatArray, e: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Affine functions at vertices, and a bound on the error of each function's values.

    ``v`` (n, w, 2) are computed vertices within ``error`` (n,) of the exact
    ones per coordinate, with ``|x|, |y| <= reach`` (n, 2); ``m`` (n, 3)
    computed maps within ``e`` (n, 3) of the exact maps. The bound (n,)
    covers both and the rounding of the evaluation, at every vertex.
    """
    values = v[..., 0] * m[:, 0, None] + v[..., 1] * m[:, 1, None] + m[:, 2, None]
    am = np.abs(m)
    ax, ay = reach[:, 0], reach[:, 1]
    bound = (4 * U) * (am[:, 0] * ax + am[:, 1] * ay + am[:, 2])
    bound += e[:, 0] * ax + e[:, 1] * ay + e[:, 2]
    bound += (am[:, 0] + am[:, 1] + e[:, 0] + e[:, 1]) * error
    return values, bound * _SAFETY


@dataclass
class _Counts:
    """Decisions made, by floating point and by exact arithmetic."""

    float_signs: int = 0
    exact_signs: int = 0
    exact_points: int = 0
    float_maps: int = 0
    exact_maps: int = 0


class _Lines:
    """Every line an edge lies on: computed coefficients, error bounds and provenance.

    Coefficients ``(a, b, c)`` are of ``a u_x + b u_y + c`` in coordinates
    ``u = x - origin``. Lines 0-3 are the box's sides ``x = x_min``,
    ``y = y_min``, ``x = x_max``, ``y = y_max``; later ones are a hidden unit's
    zero line on a root polygon, recorded as (layer, unit, root) with the
    patterns of the earlier layers of every root of that layer.
    """

    def __init__(self, box: Box, origin: FloatArray, exact: ExactNetwork) -> None:
        (x0, y0), (x1, y1) = box
        sides = [x0 - origin[0], y0 - origin[1], x1 - origin[0], y1 - origin[1]]
        self.coef = np.zeros((64, 3))
        # The largest error of a line's three coefficients, and their 1-norm.
        self.err = np.zeros(64)
        self.norm = np.zeros(64)
        for i, side in enumerate(sides):
            self.coef[i, i % 2] = 1.0
            self.coef[i, 2] = -side
            self.err[i] = U * abs(side)
            self.norm[i] = 1.0 + abs(side)
        self.size = 4
        # (layer, unit, root) of every unit's line.
        self.source = np.zeros((3, 64), np.int64)
        self.histories: list[list[BoolArray]] = []
        # The same patterns as one array per layer (rows: that layer's roots),
        # and where each layer's units start in it.
        self.full_histories: list[BoolArray] = []
        self.layer_starts = np.zeros(1, np.int64)
        self.exact_network = exact
        self._exact: dict[int, Line] = {}
        self.origin = origin

    def add(
        self, coef: FloatArray, err: FloatArray, layer: int, unit: int, roots: IntArray
    ) -> IntArray:
        """Record the zero lines of ``unit`` on ``roots`` and return their ids."""
        n = roots.size
        if self.size + n > self.coef.shape[0]:
            grow = max(n, self.coef.shape[0])
            self.coef = np.concatenate([self.coef, np.zeros((grow, 3))])
            self.err = np.concatenate([self.err, np.zeros(grow)])
            self.norm = np.concatenate([self.norm, np.zeros(grow)])
            self.source = np.concatenate([self.source, np.zeros((3, grow), np.int64)], axis=1)
        ids = np.arange(self.size, self.size + n)
        self.coef[ids], self.err[ids] = coef, err.max(axis=1)
        self.norm[ids] = np.abs(coef).sum(axis=1)
        self.source[0, ids] = layer
        self.source[1, ids] = unit
        self.source[2, ids] = roots
        self.size += n
        return ids

    def exact(self, line: int) -> Line:
        """Return the line's exact integer coefficients, in the input's own coordinates."""
        out = self._exact.get(line)
        if out is None:
            if line < 4:
                out = self.exact_network.box_line(line)
            else:
                layer, unit, root = (int(v) for v in self.source[:, line])
                history = [block[root] for block in self.histories[layer]]
                out = self.exact_network.unit_line(layer, unit, history)
            self._exact[line] = out
        return out

    def bends(self, first: IntArray, second: IntArray) -> BoolArray:
        """Which pairs of corners are one point where a unit's zero line bends, provably.

        ``first`` and ``second`` (n, 2) are the two lines through each corner.
        A unit's pre-activation is continuous: on two roots whose activation
        patterns differ only in the unit whose line ``E`` separates them, its
        maps differ by a multiple of that unit's pre-activation, which is zero
        on ``E``. So the unit's lines on the two roots meet ``E`` at the same
        point, exactly, with no arithmetic needed.
        """
        out = np.zeros(first.shape[0], dtype=bool)
        match = first[:, :, None] == second[:, None, :]
        single = match.sum(axis=(1, 2)) == 1
        rows = np.flatnonzero(single)
        if rows.size == 0:
            return out
        at_first, at_second = (
            np.nonzero(match[rows].any(axis=2))[1],
            np.nonzero(match[rows].any(axis=1))[1],
        )
        edge = first[rows, at_first]
        one, other = first[rows, 1 - at_first], second[rows, 1 - at_second]
        layer, unit, root = self.source[:, one]
        ok = (edge >= 4) & (one >= 4) & (other >= 4) & (one != other)
        ok &= (layer == self.source[0, other]) & (unit == self.source[1, other])
        for level in np.unique(layer[ok]).tolist():
            history = self.full_histories[level]
            pick = np.flatnonzero(ok & (layer == level))
            if history.shape[1] == 0:
                ok[pick] = False
                continue
            differ = history[root[pick]] != history[self.source[2, other[pick]]]
            sizes = self.layer_starts
            column = sizes[self.source[0, edge[pick]]] + self.source[1, edge[pick]]
            ok[pick] = (differ.sum(axis=1) == 1) & differ[np.arange(pick.size), column]
        out[rows] = ok
        return out

    def intersect(
        self, first: IntArray, second: IntArray, counts: _Counts
    ) -> tuple[FloatArray, FloatArray]:
        """Meeting points of pairs of lines (local coordinates) and their error bounds.

        Cramer's rule in floating point: ``x = n_x / d``, ``y = n_y / d`` with
        ``d``, ``n_x``, ``n_y`` 2x2 determinants of the coefficients. With each
        line's coefficients within ``e`` of the exact ones and ``n`` their
        1-norm, every determinant is within ``E = e1 n2 + e2 n1 + 2 e1 e2 +
        2u n1 n2`` of its exact value, so each coordinate is within
        ``(1 + |x|) E / (|d| - E)`` plus its rounding. A vertex's error
        depends only on its two lines, never on earlier vertices. Where ``|d|``
        is not safely above ``E`` (nearly parallel lines), the point is computed
        exactly and rounded.
        """
        c1, c2 = self.coef[first], self.coef[second]
        e1, e2 = self.err[first], self.err[second]
        n1, n2 = self.norm[first], self.norm[second]
        a1, b1, k1 = c1[:, 0], c1[:, 1], c1[:, 2]
        a2, b2, k2 = c2[:, 0], c2[:, 1], c2[:, 2]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            det = a1 * b2 - a2 * b1
            x = (b1 * k2 - b2 * k1) / det
            y = (k1 * a2 - k2 * a1) / det
            bound = e1 * n2
            bound += e2 * n1
            bound += 2 * e1 * e2 + (2 * U) * (n1 * n2)
            ad = np.abs(det)
            size = np.maximum(np.abs(x), np.abs(y)) * (1 + 4 * U)
            error = (size + 1.0) * bound / (ad - bound) + (2 * U) * size
            error *= _SAFETY
        bad = np.flatnonzero(~((ad > 2 * bound) & np.isfinite(error)))
        points = np.stack([x, y], axis=1)
        counts.exact_points += bad.size
        for i in bad.tolist():
            gx, gy = self.exact_network.meeting_point(
                self.exact(int(first[i])), self.exact(int(second[i]))
            )
            points[i] = float(gx - Fraction(self.origin[0])), float(gy - Fraction(self.origin[1]))
            error[i] = 2 * U * float(np.abs(points[i]).max())
        return points, error


class _Engine:
    """State of one region-map computation."""

    def __init__(self, network: Network, box: Box) -> None:
        (x0, y0), (x1, y1) = box
        self.network = network
        self.origin = np.array([x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2])
        self.exact_network = ExactNetwork(network, [x0, y0, x1, y1])
        self.lines = _Lines(box, self.origin, self.exact_network)
        self.counts = _Counts()

    def signs(
        self,
        v: FloatArray,
        tags: NDArray[np.int32],
        counts: IntArray,
        reach: FloatArray,
        error: FloatArray,
        m: FloatArray,
        e: FloatArray,
        line_of: tuple[int, IntArray, IntArray, list[BoolArray]],
    ) -> SignArray:
        """Exact signs of affine functions (one per polygon) at the polygons' vertices.

        ``line_of = (layer, units, roots, history)`` names each function's unit
        and root polygon, for the exact fallback.
        """
        values, bound = _values(v, reach, error, m, e)
        column = bound[:, None]
        sign = (values > column).view(np.int8) - (values < -column).view(np.int8)
        # Padding repeats the first vertex, so only the valid vertices need a look.
        n_valid = int(counts.sum())
        self.counts.float_signs += n_valid
        if np.count_nonzero(sign) == sign.size:
            return sign
        valid = np.arange(v.shape[1]) < counts[:, None]
        unsure_row, unsure_col = np.nonzero((sign == 0) & valid)
        self.counts.float_signs -= unsure_row.size
        self.counts.exact_signs += unsure_row.size
        if unsure_row.size:
            layer, units, roots, history = line_of
            cache: dict[tuple[int, int], Line] = {}
            for r, k in zip(unsure_row.tolist(), unsure_col.tolist(), strict=True):
                key = (int(units[r]), int(roots[r]))
                f = cache.get(key)
                if f is None:
                    f = self.exact_network.unit_line(layer, key[0], [h[key[1]] for h in history])
                    cache[key] = f
                before = int(tags[r, k - 1 if k > 0 else counts[r] - 1])
                after = int(tags[r, k])
                sign[r, k] = self.exact_network.sign_at(
                    f, self.lines.exact(before), self.lines.exact(after)
                )
            # Padding repeats the first vertex's sign.
            sign[~valid] = np.repeat(sign[:, 0], v.shape[1] - counts)
        return sign


class _Crossings:
    """Maps and error bounds of the (root, unit) pairs whose zero line crosses the root."""

    def __init__(
        self, root: IntArray, unit: IntArray, maps: FloatArray, err: FloatArray, n_units: int
    ) -> None:
        order = np.argsort(unit, kind="stable")
        self.root, self.maps, self.err = root[order], maps[order], err[order]
        self.start = np.searchsorted(unit[order], np.arange(n_units + 1))

    def maps_of(self, j: int, roots: IntArray) -> tuple[FloatArray, FloatArray]:
        """Return the maps (len(roots), 3) of unit ``j`` on ``roots``, and their error bounds."""
        lo, hi = self.start[j], self.start[j + 1]
        at = lo + np.searchsorted(self.root[lo:hi], roots)
        return self.maps[at], self.err[at]


def _disc_margin(
    centre: FloatArray,
    radius: FloatArray,
    error: FloatArray,
    m: FloatArray,
    scale: FloatArray,
    colnorm: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Values at the centres of the polygons' discs and how far they can move on the disc.

    ``m`` are (n, 3, n_units) maps, or (n, 3) with one unit each; their error
    bounds are ``scale`` (n, 3) times ``colnorm`` (n_units,, or (n,)) plus
    ``RHO |m|`` (see :class:`LayerMaps`). ``centre`` (n, 2), ``radius`` and
    ``error`` (n,) describe each polygon's disc and the error bound of its
    vertices. A value beyond its margin has that sign on the whole exact polygon.
    """
    wide = m.ndim == 3
    column = (slice(None), None) if wide else (slice(None),)
    cx, cy = centre[:, 0], centre[:, 1]
    if wide:
        cx, cy = cx[:, None], cy[:, None]
    at_centre = cx * m[:, 0] + cy * m[:, 1] + m[:, 2]
    reach = radius * (1 + 8 * U) + 1.5 * error
    norm = np.sqrt(m[:, 0] * m[:, 0] + m[:, 1] * m[:, 1])
    # |g_x c_x| + |g_y c_y| <= |g| |c|: the rounding of at_centre is within (4u) of
    # |g| |c| + |c_0|.
    c_norm = np.sqrt(centre[:, 0] ** 2 + centre[:, 1] ** 2) * (1 + 4 * U)
    margin = norm * (reach * (1 + 2 * RHO) + (4 * U + RHO) * c_norm)[column]
    margin += (4 * U + RHO) * np.abs(m[:, 2])
    per_row = (scale[:, 0] + scale[:, 1]) * reach
    per_row += scale[:, 0] * np.abs(centre[:, 0]) + scale[:, 1] * np.abs(centre[:, 1])
    per_row += scale[:, 2]
    margin += per_row[column] * colnorm
    margin *= _SAFETY
    return at_centre, margin


def _layer_signs(
    engine: _Engine,
    store: PolygonStore,
    maps: LayerMaps,
    layer: int,
    history: list[BoolArray],
    budget: WorkBudget | None,
) -> tuple[BoolArray, BoolArray, _Crossings]:
    """Which units' zero lines cross each polygon, and which are positive on it.

    A unit whose value at the centre of the disc around a polygon exceeds its
    margin cannot change sign on it; only the remaining pairs are evaluated at
    every vertex.
    """
    n_poly = store.size
    crosses = np.empty((n_poly, maps.n_units), dtype=bool)
    positive = np.empty((n_poly, maps.n_units), dtype=bool)
    found: list[tuple[IntArray, IntArray, FloatArray, FloatArray]] = []
    for lo, m, scale in maps.chunks():
        if budget is not None:
            budget.check()
        hi = lo + m.shape[0]
        at_centre, margin = _disc_margin(
            store.centre[lo:hi], store.radius[lo:hi], store.error[lo:hi], m, scale, maps.colnorm
        )
        sure_pos = at_centre > margin
        unsure = np.abs(at_centre) <= margin
        engine.counts.float_signs += int(unsure.size - np.count_nonzero(unsure))
        poly, unit = np.nonzero(unsure)
        rows = lo + poly
        pair = m[poly, :, unit]
        pair_err = maps.errors(pair, scale[poly], unit)
        sign = engine.signs(
            store.verts[rows],
            store.tags[rows],
            store.counts[rows],
            store.reach(rows),
            store.error[rows],
            pair,
            pair_err,
            line_of=(layer, unit, rows, history),
        )
        pos = (sign > 0).any(axis=1)
        cross = pos & (sign < 0).any(axis=1)
        crosses_block = np.zeros(unsure.shape, dtype=bool)
        crosses_block[poly, unit] = cross
        sure_pos[poly, unit] = pos
        crosses[lo:hi] = crosses_block
        positive[lo:hi] = sure_pos
        found.append((rows[cross], unit[cross], pair[cross], pair_err[cross]))
    root, unit, pair_maps, pair_err = (np.concatenate(parts) for parts in zip(*found, strict=True))
    crossings = _Crossings(
        root, unit, pair_maps.reshape(-1, 3), pair_err.reshape(-1, 3), maps.n_units
    )
    return crosses, positive, crossings


def _split_history(history: BoolArray, sizes: tuple[int, ...]) -> list[BoolArray]:
    return np.split(history, np.cumsum(sizes)[:-1], axis=1) if sizes else []


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
        A deadline, checked after every unit's cut and every chunk of a layer's maps.

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
    engine = _Engine(network, box)
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
    # Patterns of all finished layers, one row per root of the current layer.
    history = np.zeros((1, 0), dtype=bool)
    piecewise = network.hidden_activation != "identity"
    maps = LayerMaps.first(network, shifted_biases(network.coefs[0], network.intercepts[0], origin))
    for layer, (w, b) in enumerate(zip(network.coefs[1:], network.intercepts[1:], strict=True)):
        n_units = w.shape[0]
        store.start_layer(n_units)
        maps = maps.as_table(_TABLE_BYTES)
        blocks = _split_history(history, sizes[:layer])
        lines.histories.append(blocks)
        lines.full_histories.append(history)
        if not piecewise:
            store.patterns[: store.size] = True
        else:
            crosses, positive, crossings = _layer_signs(engine, store, maps, layer, blocks, budget)
            # Scratch space: the line of each root (or a row that splits it).
            line_of_root = np.zeros(store.size, np.int64)
        for j in range(n_units if piecewise else 0):
            if budget is not None:
                budget.check()
            size = store.size
            root = store.root[:size]
            cand = np.flatnonzero(crosses[root, j])
            if cand.size == 0:
                continue
            pair, err = crossings.maps_of(j, root[cand])
            # The line crosses the root, but most of its polygons lie off it.
            at_centre, margin = _disc_margin(
                store.centre[cand], store.radius[cand], store.error[cand], pair, err, ONE
            )
            near = np.abs(at_centre) <= margin
            engine.counts.float_signs += int(near.size - np.count_nonzero(near))
            store.patterns[cand, j] = at_centre > 0
            cand, pair, err = cand[near], pair[near], err[near]
            if cand.size == 0:
                continue
            roots = store.root[cand]
            cand_verts = store.verts[cand]
            sign = engine.signs(
                cand_verts,
                store.tags[cand],
                store.counts[cand],
                store.reach(cand),
                store.error[cand],
                pair,
                err,
                line_of=(layer, np.full(cand.size, j), roots, blocks),
            )
            has_pos: BoolArray = np.asarray((sign > 0).any(axis=1))
            splits: BoolArray = has_pos & np.asarray((sign < 0).any(axis=1))
            # One line per root whose polygons this unit splits: mark each root once.
            split_rows = np.flatnonzero(splits)
            line_of_root[roots[split_rows]] = split_rows
            first = split_rows[line_of_root[roots[split_rows]] == split_rows]
            ids = lines.add(pair[first], err[first], layer, j, roots[first])
            line_of_root[roots[first]] = ids
            chord = np.full(cand.size, -1, np.int64)
            chord[split_rows] = line_of_root[roots[split_rows]]
            cand_tags = store.tags[cand]

            def crossing(
                rows: IntArray,
                at: IntArray,
                cand_tags: NDArray[np.int32] = cand_tags,
                chord: IntArray = chord,
            ) -> tuple[FloatArray, FloatArray]:
                edge = cand_tags[rows, at].astype(np.int64)
                return lines.intersect(edge, chord[rows], engine.counts)

            cut = split_convex(
                cand_verts, cand_tags, store.counts[cand], sign, chord, crossing, has_pos, splits
            )
            store.patterns[cand, j] = cut.positive_side
            rows = cand[cut.split]
            n_new = rows.size
            if n_new == 0:
                continue
            if size + n_new > max_regions:
                raise RegionLimitExceeded(size + n_new, max_regions, layer + 1)
            parts = cut.parts
            store.reserve(size + n_new, parts.verts.shape[1])
            new = np.arange(size, size + n_new)
            error = np.maximum(store.error[rows], cut.chord_error)
            store.put(np.concatenate([rows, new]), parts.verts, parts.tags, parts.counts)
            store.error[rows] = error
            store.error[new] = error
            store.root[new] = store.root[rows]
            store.patterns[new] = store.patterns[rows]
            store.patterns[rows, j] = True
            store.patterns[new, j] = False
            store.size = size + n_new
        size = store.size
        root = store.root[:size]
        block = store.patterns[:size]
        if piecewise:
            # Units whose line misses a polygon's root have one sign on all of it.
            block = np.where(crosses[root], block, positive[root])
        history = np.concatenate([history[root], block], axis=1)
        maps = LayerMaps(network, maps, root.copy(), block, w, b)

    return _assemble(engine, store, maps.as_table(), history, box)


def _box_coordinates(
    verts: FloatArray, tags: NDArray[np.int32], counts: IntArray, box: Box, origin: FloatArray
) -> FloatArray:
    """Vertices in the input's coordinates: inside the box, on its sides exactly.

    A vertex on a side of the box (one of its two edges lies on it) takes the
    side's coordinate as given; rounding can move no vertex out of the box.
    """
    (x0, y0), (x1, y1) = box
    out = np.clip(verts + origin, [x0, y0], [x1, y1])
    sides = np.array([x0, y0, x1, y1])
    valid = np.arange(tags.shape[1]) < counts[:, None]
    poly, col = np.nonzero((tags >= 0) & (tags < 4) & valid)
    nxt = np.where(col + 1 < counts[poly], col + 1, 0)
    side = tags[poly, col].astype(np.int64)
    # An edge on a side puts both its ends on it.
    for at in (col, nxt):
        out[poly, at, side % 2] = sides[side]
    return out


def _subdivision(
    engine: _Engine,
    corners: FloatArray,
    tags: NDArray[np.int32],
    counts: IntArray,
    error: FloatArray,
    reach: float,
) -> Subdivision:
    """Share every vertex among the polygons that meet there (see core/subdivision)."""
    lines = engine.lines
    width = tags.shape[1]
    valid = np.arange(width) < counts[:, None]
    cols = np.arange(width)
    before = np.take_along_axis(tags, np.where(cols > 0, cols - 1, counts[:, None] - 1), axis=1)
    first_line, second_line = before[valid].astype(np.int64), tags[valid].astype(np.int64)
    corner_error = np.repeat(error, counts) + 2 * U * reach

    def same_point(i: IntArray, j: IntArray) -> BoolArray:
        pair_i = np.stack([first_line[i], second_line[i]], axis=1)
        pair_j = np.stack([first_line[j], second_line[j]], axis=1)
        same = lines.bends(pair_i, pair_j)
        point = engine.exact_network.meeting_point
        for k in np.flatnonzero(~same).tolist():
            a = point(lines.exact(int(pair_i[k, 0])), lines.exact(int(pair_i[k, 1])))
            b = point(lines.exact(int(pair_j[k, 0])), lines.exact(int(pair_j[k, 1])))
            same[k] = a == b
        return same

    coef = lines.coef[: lines.size]
    directions = np.stack([coef[:, 1], -coef[:, 0]], axis=1)
    directions /= np.hypot(directions[:, 0], directions[:, 1])[:, None]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return shared_vertices(corners, second_line, offsets, corner_error, same_point, directions)


def _assemble(
    engine: _Engine, store: PolygonStore, maps: LayerMaps, history: BoolArray, box: Box
) -> Regions2D:
    network, lines, origin = engine.network, engine.lines, engine.origin
    size = store.size
    verts = store.verts[:size]
    counts = store.counts[:size]
    tags = store.tags[:size]
    width = verts.shape[1]
    valid = np.arange(width) < counts[:, None]
    assert maps.table is not None and maps.scale is not None
    table = maps.table
    errors = maps.errors(table, maps.scale)
    gradients = np.ascontiguousarray(np.transpose(table[:, :2], (0, 2, 1)))
    intercepts = table[:, 2] - table[:, 0] * origin[0] - table[:, 1] * origin[1]

    # Neighbours across an edge of a unit's line (tags from 4 on), and whether
    # their maps agree: differences beyond both error bounds are certain,
    # the others are compared exactly.
    chord_tags = np.where(tags >= 4, tags - 4, -1)
    coef = lines.coef[4 : lines.size]
    directions = np.stack([coef[:, 1], -coef[:, 0]], axis=1)
    directions /= np.hypot(directions[:, 0], directions[:, 1])[:, None]
    a, b = adjacent_pairs(verts, chord_tags, counts, directions, store.error[:size])
    differ = (np.abs(table[a] - table[b]) > (errors[a] + errors[b]) * _SAFETY).any(axis=(1, 2))
    unsure = np.flatnonzero(~differ)
    engine.counts.float_maps += int(np.count_nonzero(differ))
    engine.counts.exact_maps += unsure.size
    same = np.zeros(a.size, dtype=bool)
    if unsure.size:
        sizes = network.hidden_layer_sizes
        last = len(network.coefs) - 1
        blocks = _split_history(history, sizes)
        for i in unsure.tolist():
            map_a = engine.exact_network.layer_map(last, [h[a[i]] for h in blocks])
            map_b = engine.exact_network.layer_map(last, [h[b[i]] for h in blocks])
            same[i] = bool(np.all(map_a == map_b))
    labels = connected_labels(size, a[same], b[same])

    interior = (verts * valid[..., None]).sum(axis=1) / counts[:, None] + origin
    corners = _box_coordinates(verts, tags, counts, box, origin)[valid]
    reach = float(np.abs(corners).max(initial=0.0))
    subdivision = _subdivision(engine, corners, tags, counts, store.error[:size], reach)
    piecewise = network.hidden_activation != "identity"
    sizes = network.hidden_layer_sizes
    bound = serra_bound(sizes, 2, rank_drop=network.hidden_activation == "relu") if piecewise else 1
    c = engine.counts
    return Regions2D(
        box=box,
        vertices=subdivision.points[subdivision.index],
        offsets=subdivision.offsets,
        points=subdivision.points,
        vertex_ids=subdivision.index,
        patterns=history,
        gradients=gradients,
        intercepts=intercepts,
        areas=polygon_areas(verts),
        interior_points=interior,
        linear_region=labels,
        n_linear_regions=int(labels.max(initial=-1)) + 1,
        bound=bound,
        hidden_layer_sizes=sizes,
        certificate=Certificate(
            exact=True,
            float_decisions=c.float_signs + c.float_maps,
            exact_decisions=c.exact_signs + c.exact_maps,
            exact_vertices=c.exact_points,
            max_vertex_error=float(store.error[:size].max(initial=0.0)) + U * reach,
        ),
    )
