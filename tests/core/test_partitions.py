"""Class areas and value bands against the forward pass and the box's area."""

from __future__ import annotations

import numpy as np
import pytest

from relumap_service.core.network import Network
from relumap_service.core.partitions import class_areas, value_bands
from relumap_service.core.regions import regions_2d

BOX = ((-2.0, -1.0), (3.0, 2.0))
AREA = 15.0


def shoelace(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def network(n_outputs: int, output_activation: str, seed: int) -> Network:
    rng = np.random.default_rng(seed)
    return Network(
        [rng.normal(size=(2, 6)), rng.normal(size=(6, 5)), rng.normal(size=(5, n_outputs))],
        [rng.normal(size=6), rng.normal(size=5), rng.normal(size=n_outputs)],
        output_activation=output_activation,
    )


@pytest.mark.parametrize(("n_outputs", "output"), [(1, "logistic"), (3, "softmax")])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_class_areas_tile_the_box_and_each_part_is_its_class(
    n_outputs: int, output: str, seed: int
) -> None:
    net = network(n_outputs, output, seed)
    polygons, labels = class_areas(regions_2d(net, BOX))
    areas = np.array([shoelace(p) for p in polygons])
    assert np.all(areas > 0)
    np.testing.assert_allclose(areas.sum(), AREA, rtol=1e-9)
    big = areas > 1e-6 * AREA  # a centroid of a sliver may sit on the boundary
    centroids = np.array([p.mean(axis=0) for p, keep in zip(polygons, big, strict=True) if keep])
    predicted = np.argmax(net.predict_proba(centroids), axis=1)
    np.testing.assert_array_equal(predicted, labels[big])


def test_value_bands_hold_values_between_their_levels() -> None:
    net = network(1, "identity", 4)
    levels = np.array([-1.0, 0.0, 0.5, 2.0])
    polygons, bands = value_bands(regions_2d(net, BOX), levels)
    areas = np.array([shoelace(p) for p in polygons])
    np.testing.assert_allclose(areas.sum(), AREA, rtol=1e-9)
    centroids = np.array([p.mean(axis=0) for p in polygons])
    values = net.predict(centroids)[:, 0]
    edges = np.concatenate([[-np.inf], levels, [np.inf]])
    big = areas > 1e-6 * AREA
    assert np.all(values[big] >= edges[bands[big]] - 1e-9)
    assert np.all(values[big] <= edges[bands[big] + 1] + 1e-9)
