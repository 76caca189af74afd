"""The polygon table's locality order: a Hilbert curve through the polygons' centres."""

from __future__ import annotations

import numpy as np
import pytest

from relumap_service.core.polygon_store import PolygonStore


def _store_with_centres(centres: np.ndarray) -> PolygonStore:
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    store = PolygonStore(corners, [1, 2, 3, 0], 0.0, 8, centres.shape[0])
    store.reserve(centres.shape[0], 8)
    store.centre[: centres.shape[0]] = centres
    store.size = centres.shape[0]
    return store


@pytest.mark.parametrize("side", [2, 8, 32])
def test_the_locality_order_steps_from_each_cell_of_a_grid_to_a_neighbour(side: int) -> None:
    # A Hilbert curve visits a 2^k x 2^k grid one edge-neighbour at a time; a
    # Z-order jumps (from (1, 1) to (2, 0) already on a 4 x 4 grid).
    rng = np.random.default_rng(side)
    ij = np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="ij"), -1).reshape(-1, 2)
    shuffled = ij[rng.permutation(ij.shape[0])]
    store = _store_with_centres(-5.0 + 0.25 * shuffled)
    steps = np.abs(np.diff(shuffled[store.locality_order()], axis=0)).sum(axis=1)
    assert steps.tolist() == [1] * (side * side - 1)


def test_the_locality_order_of_one_point_or_equal_points_is_their_order() -> None:
    assert _store_with_centres(np.array([[3.0, -1.0]])).locality_order().tolist() == [0]
    same = _store_with_centres(np.full((5, 2), 2.5))
    assert same.locality_order().tolist() == [0, 1, 2, 3, 4]
