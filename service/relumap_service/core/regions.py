"""Exact activation regions and linear regions of a two-input network on a box.

The box is cut layer by layer. At the start of hidden layer ``l`` every
polygon has an affine map from the input to the layer's pre-activations
(fixed, since the patterns of layers ``1..l-1`` are constant on it; see
:mod:`relumap_service.core.layer_maps`). A cheap disc test, then an exact test
at the vertices, finds which units' zero lines cross which polygons; then each
unit of the layer splits every polygon its line crosses, all polygons at once
(:func:`relumap_service.core.clipping.split_convex`).
The resulting pieces have constant activation pattern, are convex, and the
network is affine on each. Neighbours across a chord whose affine maps agree
are merged into one *linear region* (:mod:`relumap_service.core.adjacency`).

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

from relumap_service.core.adjacency import linear_region_labels
from relumap_service.core.bounds import serra_bound
from relumap_service.core.clipping import (
    LineTolerance,
    polygon_areas,
    row_extremes,
    split_convex,
)
from relumap_service.core.layer_maps import LayerMaps
from relumap_service.core.limits import WorkBudget, WorkLimitExceeded
from relumap_service.core.network import Network
from relumap_service.core.polygon_store import PolygonStore
from relumap_service.core.region_map import Box, Regions2D

__all__ = ["RegionLimitExceeded", "Regions2D", "regions_2d"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

# Largest table of a layer's maps held in memory; beyond it they are recomputed
# chunk by chunk (see relumap_service.core.layer_maps).
_TABLE_BYTES = 128 * 2**20


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

    def __reduce__(self) -> tuple[type[RegionLimitExceeded], tuple[int, int, int]]:
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
    return ((x0, y0), (x1, y1))


class _Crossings:
    """Maps and tolerances of the (root, unit) pairs whose zero line crosses the root."""

    def __init__(
        self, root: IntArray, unit: IntArray, maps: FloatArray, tol: FloatArray, n_units: int
    ) -> None:
        order = np.argsort(unit, kind="stable")
        self.root, self.maps, self.tol = root[order], maps[order], tol[order]
        self.start = np.searchsorted(unit[order], np.arange(n_units + 1))

    def maps_of(self, j: int, roots: IntArray) -> tuple[FloatArray, FloatArray]:
        """Return the maps (len(roots), 3) of unit ``j`` on ``roots``, and their tolerances."""
        lo, hi = self.start[j], self.start[j + 1]
        at = lo + np.searchsorted(self.root[lo:hi], roots)
        return self.maps[at], self.tol[at]


def _layer_signs(
    store: PolygonStore,
    maps: LayerMaps,
    tolerance: LineTolerance,
    table_scale: FloatArray | None = None,
) -> tuple[BoolArray, BoolArray, _Crossings, float]:
    """Which units' zero lines cross each polygon, and which are positive on it.

    A unit whose value at the centre of the disc around a polygon exceeds its
    gradient's norm times the disc's radius (plus the tolerance) cannot change
    sign on it; only the remaining pairs are evaluated at every vertex. Also
    returns the largest scale of the layer's maps on the box. ``table_scale``,
    when the maps are held as a table, is their scale, already computed.
    """
    n_poly = store.size
    crosses = np.empty((n_poly, maps.n_units), dtype=bool)
    positive = np.empty((n_poly, maps.n_units), dtype=bool)
    found: list[tuple[IntArray, IntArray, FloatArray, FloatArray]] = []
    largest = 0.0
    for lo, m in maps.chunks():
        hi = lo + m.shape[0]
        verts = store.verts[lo:hi]
        centre, radius = store.centre[lo:hi], store.radius[lo:hi]
        at_centre = centre[:, 0, None] * m[:, 0] + centre[:, 1, None] * m[:, 1] + m[:, 2]
        scale = tolerance.scale(m) if table_scale is None else table_scale[lo:hi]
        largest = max(largest, float(scale.max(initial=0.0)))
        tol = tolerance(m, scale)
        margin = np.sqrt(m[:, 0] ** 2 + m[:, 1] ** 2) * radius[:, None] + tol
        sure_pos = at_centre > margin
        unsure = np.abs(at_centre) <= margin
        poly, unit = np.nonzero(unsure)
        v = verts[poly]
        pair = m[poly, :, unit]
        values = v[..., 0] * pair[:, 0, None] + v[..., 1] * pair[:, 1, None] + pair[:, 2, None]
        t = tolerance(pair)
        high, low = row_extremes(values)
        pos = high > t
        cross = pos & (low < -t)
        crosses_block = np.zeros(unsure.shape, dtype=bool)
        crosses_block[poly, unit] = cross
        sure_pos[poly, unit] = pos
        crosses[lo:hi] = crosses_block
        positive[lo:hi] = sure_pos
        found.append((lo + poly[cross], unit[cross], pair[cross], t[cross]))
    root, unit, pair_maps, pair_tol = (np.concatenate(parts) for parts in zip(*found, strict=True))
    crossings = _Crossings(root, unit, pair_maps.reshape(-1, 3), pair_tol, maps.n_units)
    return crosses, positive, crossings, largest


def regions_2d(
    network: Network,
    box: ArrayLike,
    max_regions: int = 200_000,
    *,
    rtol: float = 1e-10,
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
    rtol : float, default=1e-10
        A vertex lies on a unit's line when the unit's pre-activation there is
        within ``rtol`` times the pre-activation's scale on the box (see
        :class:`relumap_service.core.clipping.LineTolerance`).
    budget : WorkBudget, optional
        A deadline, checked after every unit's cut.

    Returns
    -------
    Regions2D

    Raises
    ------
    ValueError
        If the network does not have two inputs or the box is empty or not finite.
    RegionLimitExceeded
        If more than ``max_regions`` regions would be needed.

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
    (x0, y0), (x1, y1) = box
    reach = np.array([max(abs(x0), abs(x1)), max(abs(y0), abs(y1))])
    sizes = network.hidden_layer_sizes
    store = PolygonStore(box, sizes[0] if sizes else 0, max_regions)
    # Patterns of all finished layers, one row per root of the current layer.
    history = np.zeros((1, 0), dtype=bool)
    piecewise = network.hidden_activation != "identity"
    # Maps from the input to the current layer's pre-activations, per root.
    maps = LayerMaps.first(network)
    parent_scale = 0.0
    chords: list[FloatArray] = []
    n_chords = 0
    for layer, (w, b) in enumerate(zip(network.coefs[1:], network.intercepts[1:], strict=True)):
        n_units = w.shape[0]
        store.start_layer(n_units)
        maps = maps.as_table(_TABLE_BYTES)
        if not piecewise:
            store.patterns[: store.size] = True
        else:
            table_scale = None
            if maps.table is not None:
                table_scale = LineTolerance(box, rtol).scale(maps.table)
                largest = float(table_scale.max(initial=0.0))
            else:
                # Computing every map twice would cost more than a looser floor.
                largest = maps.scale_bound(parent_scale)
            tolerance = LineTolerance(box, rtol, floor=1e-3 * largest)
            crosses, positive, crossings, parent_scale = _layer_signs(
                store, maps, tolerance, table_scale
            )
        for j in range(n_units if piecewise else 0):
            if budget is not None:
                budget.check()
            size = store.size
            root = store.root[:size]
            cand = np.flatnonzero(crosses[root, j])
            if cand.size == 0:
                continue
            pair, tol = crossings.maps_of(j, root[cand])
            # The line crosses the root, but most of its polygons lie off it.
            centre = store.centre[cand]
            at_centre = centre[:, 0] * pair[:, 0] + centre[:, 1] * pair[:, 1] + pair[:, 2]
            reach_j = np.sqrt(pair[:, 0] ** 2 + pair[:, 1] ** 2) * store.radius[cand] + tol
            near = np.abs(at_centre) <= reach_j
            store.patterns[cand, j] = at_centre > 0
            cand, pair, tol = cand[near], pair[near], tol[near]
            if cand.size == 0:
                continue
            v = store.verts[cand]
            values = v[..., 0] * pair[:, 0, None] + v[..., 1] * pair[:, 1, None] + pair[:, 2, None]
            cut = split_convex(v, store.tags[cand], store.counts[cand], values, tol, n_chords)
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
            store.put(np.concatenate([rows, new]), parts.verts, parts.tags, parts.counts)
            store.root[new] = store.root[rows]
            store.patterns[new] = store.patterns[rows]
            store.patterns[rows, j] = True
            store.patterns[new, j] = False
            direction = cut.chord_end - cut.chord_start
            direction /= np.hypot(direction[:, 0], direction[:, 1])[:, None]
            chords.append(direction)
            n_chords += n_new
            store.size = size + n_new
        size = store.size
        root = store.root[:size]
        block = store.patterns[:size]
        if piecewise:
            # Units whose line misses a polygon's root have one sign on all of it.
            block = np.where(crosses[root], block, positive[root])
        history = np.concatenate([history[root], block], axis=1)
        maps = LayerMaps(network, maps, root.copy(), block, w, b)

    size = store.size
    verts = store.verts[:size]
    counts = store.counts[:size]
    width = verts.shape[1]
    valid = np.arange(width) < counts[:, None]
    table = maps.as_table().table
    assert table is not None
    gradients = np.ascontiguousarray(np.transpose(table[:, :2], (0, 2, 1)))
    intercepts = np.ascontiguousarray(table[:, 2])
    chord_dirs = np.concatenate(chords) if chords else np.zeros((0, 2))
    labels = linear_region_labels(
        verts, store.tags[:size], counts, chord_dirs, gradients, intercepts, reach
    )
    interior = (verts * valid[..., None]).sum(axis=1) / counts[:, None]
    if piecewise:
        bound = serra_bound(sizes, 2, rank_drop=network.hidden_activation == "relu")
    else:
        bound = 1
    return Regions2D(
        box=box,
        vertices=verts[valid],
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        patterns=history,
        gradients=gradients,
        intercepts=intercepts,
        areas=polygon_areas(verts),
        interior_points=interior,
        linear_region=labels,
        n_linear_regions=int(labels.max(initial=-1)) + 1,
        bound=bound,
        hidden_layer_sizes=sizes,
    )
