import json

import numpy as np
import pytest
from geometry_oracles import he_network

from relumap_service.core.boundary import decision_boundary
from relumap_service.core.network import Network
from relumap_service.core.regions import regions_2d

BOX = ((-3.0, -3.0), (3.0, 3.0))


def normals(seg):
    d = seg[:, 1] - seg[:, 0]
    length = np.hypot(d[:, 0], d[:, 1])
    return np.stack([-d[:, 1], d[:, 0]], axis=1) / length[:, None], length


def crossings_of_horizontal(seg, y):
    """Number of segments crossing the line at height y (proper crossings)."""
    y0, y1 = seg[:, 0, 1], seg[:, 1, 1]
    return int(np.sum((np.minimum(y0, y1) < y) & (np.maximum(y0, y1) > y)))


@pytest.mark.parametrize(
    ("sizes", "seed"), [((2, 16, 16, 1), 0), ((2, 10, 10, 10, 1), 2), ((2, 32, 1), 2)]
)
def test_binary_boundary_separates_signs(sizes, seed):
    net = he_network(sizes, seed, output_activation="logistic", bias_std=0.5)
    db = decision_boundary(regions_2d(net, BOX), net)
    assert db.n_segments > 0
    seg = db.segments
    n, length = normals(seg)
    keep = length > 1e-6
    mid = 0.5 * (seg[keep, 0] + seg[keep, 1])
    step = 1e-7
    left = net.logits(mid + step * n[keep])[:, 0]
    right = net.logits(mid - step * n[keep])[:, 0]
    assert np.all(left > 0) and np.all(right < 0)
    assert np.all(db.classes == [1, 0])
    # Along many horizontal lines, the sign changes of a dense sample match the crossings.
    xs = np.linspace(-3, 3, 20_001)
    ys = np.linspace(-2.95, 2.95, 37) + 1e-4
    dense = exact = 0
    for y in ys:
        z = net.logits(np.stack([xs, np.full_like(xs, y)], axis=1))[:, 0]
        dense += int(np.sum(np.sign(z[1:]) != np.sign(z[:-1])))
        exact += crossings_of_horizontal(seg, y)
    assert exact > 0
    assert abs(dense - exact) <= 0.02 * exact + 1


@pytest.mark.parametrize(("sizes", "seed"), [((2, 12, 12, 3), 3), ((2, 16, 4), 4)])
def test_softmax_boundary_is_between_the_top_two(sizes, seed):
    net = he_network(sizes, seed, output_activation="softmax", bias_std=0.5)
    db = decision_boundary(regions_2d(net, BOX), net)
    assert db.n_segments > 0
    seg = db.segments
    n, length = normals(seg)
    keep = length > 1e-6
    mid = 0.5 * (seg[keep, 0] + seg[keep, 1])
    z = net.logits(mid)
    a, b = db.classes[keep, 0], db.classes[keep, 1]
    rows = np.arange(mid.shape[0])
    scale = 1 + np.abs(z).max()
    np.testing.assert_allclose(z[rows, a], z[rows, b], atol=1e-9 * scale)
    others = z.copy()
    others[rows, a] = -np.inf
    others[rows, b] = -np.inf
    assert np.all(z[rows, a] >= others.max(axis=1) - 1e-9 * scale)
    step = 1e-7
    np.testing.assert_array_equal(np.argmax(net.logits(mid + step * n[keep]), axis=1), a)
    np.testing.assert_array_equal(np.argmax(net.logits(mid - step * n[keep]), axis=1), b)


def test_boundary_along_region_edges():
    # The logit relu(x) - relu(-x) - ... is zero on the whole line x = 0, which is also
    # the line of the hidden units: the boundary runs along region edges.
    net = Network(
        [np.array([[1.0, -1.0], [0.0, 0.0]]), np.array([[1.0], [-1.0]])],
        [np.zeros(2), np.zeros(1)],
        output_activation="logistic",
    )
    db = decision_boundary(regions_2d(net, ((-1, -1), (1, 1))), net)
    assert db.n_segments == 1
    np.testing.assert_allclose(db.length, 2.0)
    np.testing.assert_allclose(db.segments[0, :, 0], 0.0, atol=1e-12)


def test_regressor_is_refused():
    net = he_network((2, 3, 1), 0)
    with pytest.raises(ValueError, match="classifier"):
        decision_boundary(regions_2d(net, BOX), net)


def test_serialisations():
    net = he_network((2, 8, 1), 5, output_activation="logistic")
    db = decision_boundary(regions_2d(net, BOX), net)
    doc = json.loads(json.dumps(db.to_dict()))
    assert set(doc) == {"n_segments", "segments", "region", "classes"}
    geo = json.loads(json.dumps(db.to_geojson()))
    assert len(geo["features"]) == db.n_segments
