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

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap_service.core.clipping import split_convex
from relumap_service.core.exact import shifted_biases
from relumap_service.core.layer_maps import RHO, LayerMaps
from relumap_service.core.layer_maps import UNIT_ROUNDOFF as U
from relumap_service.core.limits import WorkBudget, WorkLimitExceeded
from relumap_service.core.network import Network
from relumap_service.core.polygon_store import PolygonStore
from relumap_service.core.region_assembly import assemble, split_history
from relumap_service.core.region_lines import SAFETY, SignEngine
from relumap_service.core.region_map import Box, Regions2D

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
    margin *= SAFETY
    return at_centre, margin


def _layer_signs(
    engine: SignEngine,
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
    # Patterns of all finished layers, one row per root of the current layer.
    history = np.zeros((1, 0), dtype=bool)
    piecewise = network.hidden_activation != "identity"
    maps = LayerMaps.first(network, shifted_biases(network.coefs[0], network.intercepts[0], origin))
    for layer, (w, b) in enumerate(zip(network.coefs[1:], network.intercepts[1:], strict=True)):
        n_units = w.shape[0]
        store.start_layer(n_units)
        maps = maps.as_table(_TABLE_BYTES)
        blocks = split_history(history, sizes[:layer])
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

    return assemble(engine, store, maps.as_table(), history, box)
