"""The flip tree (one unit between a row and its parent) and the maps computed along it."""

from __future__ import annotations

from collections import deque
from fractions import Fraction as F

import numpy as np
import pytest

from relumap_service.core import flip_tree as flip_tree_module
from relumap_service.core import layer_maps
from relumap_service.core.flip_tree import FlipTree, flip_tree
from relumap_service.core.layer_maps import LayerMaps
from relumap_service.core.network import Network
from tests.core.exact_oracle import _next_maps, _weights


def _grid_patterns(side: int, n_units: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells of a side x side grid of lines: unit i < side is on left of column a
    (i < a), unit side + j on below row b; the other units are fixed at random.

    Returns the patterns and the candidate flips (each cell's four sides).
    """
    rng = np.random.default_rng(seed)
    rest = rng.random(n_units) > 0.5
    on = np.tile(rest, (side * side, 1))
    a, b = np.divmod(np.arange(side * side), side)
    on[:, :side] = np.arange(side) < a[:, None]
    on[:, side : 2 * side] = np.arange(side) < b[:, None]
    rows, units = [], []
    for r in range(side * side):
        for unit in (a[r] - 1, a[r], side + b[r] - 1, side + b[r]):
            rows.append(r)
            units.append(unit % n_units)  # the grid's outer sides name units that lead nowhere
    return on, np.array(rows), np.array(units)


def _check_flips(tree: FlipTree, on: np.ndarray) -> None:
    """Every row once; each row but the roots one unit from its parent in the level before."""
    assert sorted(tree.rows.tolist()) == list(range(on.shape[0]))
    assert np.all(tree.parent[: tree.starts[1]] == -1)
    for level in range(1, tree.n_levels):
        lo, hi = tree.starts[level], tree.starts[level + 1]
        previous = tree.rows[tree.starts[level - 1] : lo]
        for at in range(lo, hi):
            if tree.parent[at] == -1:
                continue
            child, parent = tree.rows[at], previous[tree.parent[at]]
            assert np.flatnonzero(on[child] != on[parent]).tolist() == [tree.unit[at]]
            assert tree.on[at] == on[child, tree.unit[at]]


def _check_tree(
    tree: FlipTree, on: np.ndarray, rows: np.ndarray, units: np.ndarray, root: int
) -> None:
    """Check a tree against the patterns and a breadth-first search in plain Python."""
    _check_flips(tree, on)
    n = on.shape[0]
    neighbours: dict[int, set[int]] = {r: set() for r in range(n)}
    key = {on[r].tobytes(): r for r in range(n)}
    for r, u in zip(rows.tolist(), units.tolist(), strict=True):
        flipped = on[r].copy()
        flipped[u] ^= True
        other = key.get(flipped.tobytes())
        if other is not None:
            neighbours[r].add(other)
            neighbours[other].add(r)
    level_of = np.empty(n, int)
    for level in range(tree.n_levels):
        level_of[tree.rows[tree.starts[level] : tree.starts[level + 1]]] = level
    roots = tree.rows[tree.parent == -1]
    assert root in roots.tolist() and np.all(level_of[roots] == 0)
    # Distances from the roots in the flip graph are the levels.
    distance = {int(r): 0 for r in roots}
    queue = deque(distance)
    while queue:
        r = queue.popleft()
        for other in neighbours[r]:
            if other not in distance:
                distance[other] = distance[r] + 1
                queue.append(other)
    assert all(distance[r] == level_of[r] for r in range(n))
    # One root per part the flips connect.
    assert len({min(_part(neighbours, int(r))) for r in roots}) == roots.size


def _part(neighbours: dict[int, set[int]], start: int) -> set[int]:
    seen, todo = {start}, [start]
    while todo:
        for other in neighbours[todo.pop()]:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


@pytest.mark.parametrize(("side", "n_units"), [(6, 20), (9, 23), (12, 40)])
def test_the_tree_is_a_breadth_first_search_over_one_unit_flips(side: int, n_units: int) -> None:
    on, rows, units = _grid_patterns(side, n_units, seed=side)
    root = (side // 2) * side + side // 2
    tree = flip_tree(np.packbits(on, axis=1), rows, units, root)
    _check_tree(tree, on, rows, units, root)
    assert tree.n_levels == 2 * (side // 2) + 1  # the grid's farthest corner


def test_parts_the_flips_do_not_join_get_roots_of_their_own() -> None:
    on, rows, units = _grid_patterns(6, 20, seed=1)
    # Cut the grid between its fourth and fifth columns, and cut off cell 0 (its
    # neighbours are cells 6 and 1, across units 0 and 6).
    keep = ~(
        (units == 3) | (rows == 0) | ((rows == 6) & (units == 0)) | ((rows == 1) & (units == 6))
    )
    tree = flip_tree(np.packbits(on, axis=1), rows[keep], units[keep], root=14)
    _check_tree(tree, on, rows[keep], units[keep], 14)
    assert tree.parent.tolist().count(-1) == 3


def test_hashes_that_collide_never_join_rows_that_differ_in_more_than_the_unit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With every hash equal, each lookup finds the same row: the bytes reject
    # it, and rows whose flip is lost become roots.
    def equal_hashes(bits: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(bits.shape[1] * 8, np.uint64), np.zeros(bits.shape[0], np.uint64)

    monkeypatch.setattr(flip_tree_module, "_hashes", equal_hashes)
    monkeypatch.setattr(flip_tree_module, "_VERIFY_CHUNK", 7)  # pairs checked in many chunks
    on, rows, units = _grid_patterns(5, 12, seed=2)
    tree = flip_tree(np.packbits(on, axis=1), rows, units, root=12)
    _check_flips(tree, on)
    assert 12 in tree.rows[tree.parent == -1]


N1 = 64


def _network(seed: int, activation: str) -> Network:
    rng = np.random.default_rng(seed)
    coefs = [rng.normal(0, 1, (2, N1)) * 3.0, rng.normal(0, 1, (N1, 6)), np.ones((6, 1))]
    intercepts = [rng.normal(0, 1, N1), rng.normal(0, 2.0**20, 6), np.zeros(1)]
    return Network(coefs, intercepts, hidden_activation=activation)


@pytest.mark.parametrize("row_by_row", [0, 1 << 30], ids=["rows", "chunks"])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_maps_along_the_tree_are_within_their_bound_of_the_exact_maps(
    activation: str, row_by_row: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of 8 rows: small levels share a chunk, larger ones are cut; levels
    # of over 16 rows are not kept (the next comes from the product), and every
    # 5th level restarts from the product. Rows are summed one by one or a
    # chunk at a time.
    monkeypatch.setattr(layer_maps, "FLIP_MIN_WEIGHTS", 0)
    monkeypatch.setattr(layer_maps, "ROW_BY_ROW", row_by_row)
    monkeypatch.setattr(layer_maps, "CHUNK", 8 * 3 * N1)
    monkeypatch.setattr(layer_maps, "KEEP_ROWS", 2)
    monkeypatch.setattr(layer_maps, "RUN", 5)
    side = 13
    on, rows, units = _grid_patterns(side, N1, seed=4)
    tree = flip_tree(np.packbits(on, axis=1), rows, units, root=side * side // 2)
    net = _network(5, activation)
    first = LayerMaps.first(net, net.intercepts[0])
    n = side * side
    second = LayerMaps(
        net, first, np.zeros(n, np.int64), on, net.coefs[1], net.intercepts[1], tree=tree
    )
    by_product: list[int] = []
    product_rows = LayerMaps._product_rows

    def spy(self: LayerMaps, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        by_product.extend(index.tolist())
        return product_rows(self, index)

    monkeypatch.setattr(LayerMaps, "_product_rows", spy)
    seen, sizes = [], []
    maps = np.empty((n, 3, 6))
    bound = np.empty((n, 3, 6))
    for index, m, scale, largest in second.chunks():
        seen.extend(index.tolist())
        sizes.append(index.size)
        maps[index] = m
        bound[index] = second.errors(m, scale)
        np.testing.assert_array_equal(largest, np.abs(m).max(axis=2))
    assert sorted(seen) == list(range(n)) and max(sizes) <= 8
    level_sizes = np.diff(tree.starts)
    # The root's level, each 5th after the last one by the product, and each
    # after a level not kept.
    expected, since = set(), None
    for level, size in enumerate(level_sizes.tolist()):
        since = 0 if since is None or since + 1 == 5 else since + 1
        if since == 0:
            expected.add(level)
        if size > 16:
            since = None
    assert expected - {0, 5, 10} and {0, 5} <= expected
    product_levels = {
        level
        for level in range(tree.n_levels)
        if set(tree.rows[tree.starts[level] : tree.starts[level + 1]].tolist()) <= set(by_product)
    }
    assert product_levels == expected and len(by_product) == sum(level_sizes[sorted(expected)])

    coefs, biases, off = _weights(net)
    first_maps = [(coefs[0][0][k], coefs[0][1][k], biases[0][k]) for k in range(N1)]
    for r in range(0, n, 5):
        exact = _next_maps(first_maps, on[r].tolist(), coefs[1], biases[1], off)
        for j, row in enumerate(exact):
            for i, value in enumerate(row):
                assert abs(F(float(maps[r, i, j])) - value) <= F(float(bound[r, i, j])), (r, i, j)
