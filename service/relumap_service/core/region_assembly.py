"""The end of a region map's computation: maps, linear regions, shared vertices, certificate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.adjacency import adjacent_pairs, connected_labels
from relumap_service.core.bits import LayerPatterns, bit_at
from relumap_service.core.bounds import serra_bound
from relumap_service.core.clipping import polygon_areas
from relumap_service.core.indexing import take_rows
from relumap_service.core.layer_maps import UNIT_ROUNDOFF as U
from relumap_service.core.layer_maps import LayerMaps
from relumap_service.core.polygon_store import PolygonStore
from relumap_service.core.region_lines import SAFETY, SignEngine
from relumap_service.core.region_map import Box, Certificate, Regions2D
from relumap_service.core.subdivision import Subdivision, shared_vertices

__all__ = ["assemble"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class _Corners:
    """Every polygon's valid corners, polygon after polygon, with their neighbours' places."""

    offsets: IntArray  # (n_polygons + 1,)
    polygon: IntArray  # (n_corners,) the polygon of each corner
    nxt: IntArray  # (n_corners,) the next corner of the same polygon
    line: IntArray  # (n_corners,) the line of the edge from each corner to the next
    before: IntArray  # (n_corners,) the line of the edge into each corner

    @classmethod
    def of(cls, tags: NDArray[np.int32], counts: IntArray, valid: BoolArray) -> _Corners:
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        polygon = np.repeat(np.arange(counts.size), counts)
        n = int(offsets[-1])
        at = np.arange(n)
        position = at - offsets[polygon]
        last = offsets[polygon + 1] - 1
        nxt = np.where(at < last, at + 1, offsets[polygon])
        prv = np.where(position > 0, at - 1, last)
        line = tags[valid].astype(np.int64)
        return cls(offsets, polygon, nxt, line, line[prv])


def _box_coordinates(
    verts: FloatArray, corners: _Corners, box: Box, origin: FloatArray
) -> FloatArray:
    """Corners (n_corners, 2) in the input's coordinates: inside the box, on its sides exactly.

    A vertex on a side of the box (one of its two edges lies on it) takes the
    side's coordinate as given; rounding can move no vertex out of the box.
    """
    (x0, y0), (x1, y1) = box
    out = verts + origin
    np.maximum(out, np.array([x0, y0]), out=out)
    np.minimum(out, np.array([x1, y1]), out=out)
    sides = np.array([x0, y0, x1, y1])
    on_side = np.nonzero(corners.line < 4)[0]
    side = corners.line[on_side]
    # An edge on a side puts both its ends on it.
    for at in (on_side, corners.nxt[on_side]):
        out[at, side % 2] = sides[side]
    return out


def _subdivision(
    engine: SignEngine,
    points: FloatArray,
    corners: _Corners,
    error: FloatArray,
    reach: float,
    history: LayerPatterns,
) -> tuple[Subdivision, NDArray[np.int8]]:
    """Share every vertex among the polygons that meet there (see core/subdivision).

    Also return the side of each edge's line its polygon lies on (1 positive,
    -1 negative, 0 on a side of the box).

    A polygon lies on the positive side of a unit's line exactly where the
    unit is active on it, so its pattern (``history``) gives the side of each
    of its edges on a unit's line.
    """
    lines = engine.lines
    first_line, second_line = corners.before, corners.line
    corner_error = error[corners.polygon] + 2 * U * reach

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
    on_unit = np.nonzero(second_line >= 4)[0]
    layer, unit = lines.source[:2, second_line[on_unit]]
    active = bit_at(history.bits, corners.polygon[on_unit], lines.layer_starts[layer] + unit)
    side = np.zeros(second_line.size, np.int8)
    side[on_unit] = np.where(active, 1, -1)
    sub = shared_vertices(
        points, second_line, corners.offsets, corner_error, same_point, directions, side
    )
    return sub, side


def assemble(
    engine: SignEngine, store: PolygonStore, maps: LayerMaps, history: LayerPatterns, box: Box
) -> Regions2D:
    """Finish a cut box: affine maps, linear regions (maps compared exactly), shared vertices.

    ``history`` holds every polygon's pattern as bits; the map keeps them so.
    """
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

    interior = (verts * valid[..., None]).sum(axis=1) / counts[:, None] + origin
    corners = _Corners.of(tags, counts, valid)
    points = _box_coordinates(verts[valid], corners, box, origin)
    reach = float(np.abs(points).max(initial=0.0))
    subdivision, side = _subdivision(engine, points, corners, store.error[:size], reach, history)
    # Neighbours across an edge of a unit's line (tags from 4 on), and whether
    # their maps agree: differences beyond both error bounds are certain,
    # the others are compared exactly.
    if subdivision.twin is not None:
        # Every such edge coincides with one on the other side, ends and all.
        edge = np.nonzero((side > 0) & (subdivision.twin >= 0))[0]
        a, b = corners.polygon[edge], corners.polygon[subdivision.twin[edge]]
    else:
        chord_tags = np.where(tags >= 4, tags - 4, -1)
        coef = lines.coef[4 : lines.size]
        directions = np.stack([coef[:, 1], -coef[:, 0]], axis=1)
        directions /= np.hypot(directions[:, 0], directions[:, 1])[:, None]
        a, b = adjacent_pairs(verts, chord_tags, counts, directions, store.error[:size])
    gap = np.abs(take_rows(table, a) - take_rows(table, b))
    differ = (gap > (take_rows(errors, a) + take_rows(errors, b)) * SAFETY).any(axis=(1, 2))
    unsure = np.flatnonzero(~differ)
    engine.counts.float_maps += int(np.count_nonzero(differ))
    engine.counts.exact_maps += unsure.size
    same = np.zeros(a.size, dtype=bool)
    if unsure.size:
        last = len(network.coefs) - 1
        for i in unsure.tolist():
            map_a = engine.exact_network.layer_map(last, history.row(int(a[i])))
            map_b = engine.exact_network.layer_map(last, history.row(int(b[i])))
            same[i] = bool(np.all(map_a == map_b))
    labels = connected_labels(size, a[same], b[same])
    piecewise = network.hidden_activation != "identity"
    sizes = network.hidden_layer_sizes
    bound = serra_bound(sizes, 2, rank_drop=network.hidden_activation == "relu") if piecewise else 1
    c = engine.counts
    return Regions2D(
        box=box,
        vertices=take_rows(subdivision.points, subdivision.index),
        offsets=subdivision.offsets,
        points=subdivision.points,
        vertex_ids=subdivision.index,
        packed_patterns=history.bits,
        n_hidden=int(sum(sizes)),
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
