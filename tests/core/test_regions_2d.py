import json

import numpy as np
import pytest
from geometry_oracles import check_partition, he_network

from relumap_service.core.bounds import serra_bound
from relumap_service.core.network import Network
from relumap_service.core.regions import RegionLimitExceeded, regions_2d

BOX = ((-3.0, -3.0), (3.0, 3.0))
DEEP = [
    ((2, 8, 1), 0, "relu"),
    ((2, 16, 16, 1), 1, "relu"),
    ((2, 10, 10, 10, 2), 2, "relu"),
    ((2, 6, 6, 6, 6, 1), 3, "relu"),
    ((2, 12, 12, 3), 4, "leaky_relu"),
    ((2, 24, 24, 1), 5, "relu"),
]


@pytest.mark.parametrize(("sizes", "seed", "activation"), DEEP)
def test_random_deep_networks_partition_the_box(sizes, seed, activation):
    net = he_network(sizes, seed, activation=activation)
    r = regions_2d(net, BOX)
    check_partition(net, BOX, r, seed=seed)
    assert r.bound == serra_bound(sizes[1:-1], 2, rank_drop=activation == "relu")
    # Distinct patterns: regions are the activation regions, not fragments.
    assert len({p.tobytes() for p in r.patterns}) == r.n_regions


def _tangent_lines(n, seed):
    """n lines tangent to the unit circle, directions spread over [0, pi - 0.3]."""
    rng = np.random.default_rng(seed)
    theta = np.sort(rng.uniform(0, np.pi - 0.3, n))
    coefs = np.stack([np.cos(theta), np.sin(theta)])
    return coefs, -np.ones(n)


@pytest.mark.parametrize("n", [1, 2, 5, 13, 30])
def test_general_position_lines_reach_zaslavsky_count(n):
    w, b = _tangent_lines(n, n)
    # Every crossing of two tangents lies within 1 / sin(0.15) < 7 of the origin.
    net = Network([w, np.ones((n, 1))], [b, np.zeros(1)])
    box = ((-8.0, -8.0), (8.0, 8.0))
    r = regions_2d(net, box)
    assert r.n_regions == 1 + n + n * (n - 1) // 2 == r.bound
    check_partition(net, box, r, n_points=500)


@pytest.mark.parametrize(
    ("sizes", "seed"), [((2, 5, 5, 1), s) for s in range(4)] + [((2, 3, 3, 3, 1), 9)]
)
def test_deep_networks_never_exceed_serra_bound(sizes, seed):
    net = he_network(sizes, seed, bias_std=1.0)
    r = regions_2d(net, ((-20.0, -20.0), (20.0, 20.0)))
    assert r.n_regions <= serra_bound(sizes[1:-1], 2)


def test_units_without_output_weight_do_not_split_linear_regions():
    n, silent = 9, 4
    w, b = _tangent_lines(n, 3)
    out = np.ones((n, 1))
    out[:silent] = 0.0
    net = Network([w, out], [b, np.zeros(1)])
    r = regions_2d(net, ((-8.0, -8.0), (8.0, 8.0)))
    k = n - silent
    assert r.n_regions == 1 + n + n * (n - 1) // 2
    assert r.n_linear_regions == 1 + k + k * (k - 1) // 2
    # Regions merged into one linear region really share one affine map.
    for label in range(r.n_linear_regions):
        members = r.linear_region == label
        np.testing.assert_allclose(
            r.gradients[members], r.gradients[members][:1].repeat(members.sum(), 0), atol=1e-12
        )


def test_region_limit_stops_early_with_clear_message():
    net = he_network((2, 32, 32, 1), 0)
    with pytest.raises(RegionLimitExceeded) as info:
        regions_2d(net, BOX, max_regions=100)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.limit == 100 and err.count > 100
    msg = str(err)
    assert "max_regions=100" in msg and str(err.count) in msg
    assert "smaller box" in msg and "raise max_regions" in msg


@pytest.mark.parametrize(
    "box",
    [
        ((0.0, 0.0), (0.0, 1.0)),
        ((0.0, 0.0), (1.0, 0.0)),
        ((1.0, 0.0), (0.0, 1.0)),
        ((0.0, np.nan), (1.0, 1.0)),
        ((0.0, 0.0), (np.inf, 1.0)),
    ],
)
def test_degenerate_boxes_raise(box):
    with pytest.raises(ValueError, match="box"):
        regions_2d(he_network((2, 3, 1), 0), box)


def test_wrong_input_dimension_raises():
    with pytest.raises(ValueError, match="two inputs"):
        regions_2d(he_network((1, 3, 1), 0), BOX)


def test_serialisations_are_compact_and_closed():
    net = he_network((2, 6, 6, 2), 1)
    r = regions_2d(net, BOX)
    doc = json.loads(json.dumps(r.to_dict()))
    assert set(doc) == {
        "box",
        "n_regions",
        "n_linear_regions",
        "bound",
        "vertices",
        "offsets",
        "patterns",
        "gradients",
        "intercepts",
        "areas",
        "interior_points",
        "linear_region",
        "certificate",
        "n_points",
        "vertex_ids",
    }
    assert np.asarray(doc["vertices"]).shape == r.vertices.shape
    assert np.asarray(doc["gradients"]).shape == (r.n_regions, 2, 2)
    assert all(len(p) == 12 for p in doc["patterns"])
    geo = json.loads(json.dumps(r.to_geojson()))
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == r.n_regions
    for feature, area in zip(geo["features"], r.areas, strict=True):
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and ring[0] == ring[-1]
        props = feature["properties"]
        assert set(props) >= {"pattern", "gradient", "intercept", "linear_region", "area"}
        assert props["area"] == pytest.approx(area)


def test_region_limit_error_survives_pickling():
    import pickle

    err = pickle.loads(pickle.dumps(RegionLimitExceeded(101, 100, 2)))
    assert (err.count, err.limit, err.layer) == (101, 100, 2)
    assert "max_regions=100" in str(err)


@pytest.mark.parametrize(("sizes", "seed"), [((2, 12, 12, 12, 2), 8), ((2, 20, 20, 1), 9)])
def test_maps_recomputed_on_demand_match_held_tables(monkeypatch, sizes, seed):
    # Wide layers over many polygons are not held as tables; force that path.
    import relumap_service.core.regions as regions_module

    net = he_network(sizes, seed)
    held = regions_2d(net, BOX)
    monkeypatch.setattr(regions_module, "_TABLE_BYTES", 0)
    lazy = regions_2d(net, BOX)
    assert lazy.n_regions == held.n_regions
    np.testing.assert_array_equal(lazy.patterns, held.patterns)
    np.testing.assert_allclose(lazy.gradients, held.gradients, rtol=1e-12, atol=1e-12)
    check_partition(net, BOX, lazy, n_points=1000, seed=seed)
