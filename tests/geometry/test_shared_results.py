"""relumap_geometry: the result types and kernels the client and the core share."""

from __future__ import annotations

import doctest
import importlib
import json
import pkgutil

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import relumap_geometry
from relumap_geometry import (
    AffineMap,
    DecisionBoundary,
    NeuronDiagnostics,
    evaluate_pieces,
    pattern_strings,
    patterns_array,
)

MODULES = sorted(
    m.name for m in pkgutil.iter_modules(relumap_geometry.__path__, "relumap_geometry.")
)


@pytest.mark.parametrize("name", ["relumap_geometry", *MODULES])
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


@given(hnp.arrays(bool, hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=12)))
def test_patterns_round_trip_through_strings(patterns: np.ndarray) -> None:
    strings = pattern_strings(patterns)
    # Independent: one character per bit, written by hand.
    assert strings == ["".join("1" if b else "0" for b in row) for row in patterns.tolist()]
    if patterns.shape[0] and patterns.shape[1]:
        np.testing.assert_array_equal(patterns_array(strings), patterns)


def test_pieces_evaluate_as_the_function_they_were_cut_from() -> None:
    # |x| - 1 on [-2, 3], cut at its kink and at a breakpoint that changes no slope.
    piece_hi = np.array([0.0, 1.0, 3.0])
    slopes = np.array([[-1.0], [1.0], [1.0]])
    intercepts = np.array([[-1.0], [-1.0], [-1.0]])
    x = np.linspace(-2, 3, 101)
    np.testing.assert_allclose(
        evaluate_pieces(piece_hi, slopes, intercepts, x)[:, 0], np.abs(x) - 1, atol=1e-15
    )


@given(
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=6, unique=True),
    st.floats(-1e3, 1e3),
)
def test_pieces_take_the_piece_holding_the_point(ends: list[float], x: float) -> None:
    piece_hi = np.sort(np.array(ends))
    n = piece_hi.shape[0]
    slopes = np.arange(n, dtype=float)[:, None]
    intercepts = np.zeros((n, 1))
    # Independent: the first piece whose right end is at or past x (the last past them all).
    expected = next((p for p in range(n) if x <= piece_hi[p]), n - 1)
    assert evaluate_pieces(piece_hi, slopes, intercepts, [x])[0, 0] == expected * x


def test_boundary_length_and_documents() -> None:
    segments = np.array([[[0.0, 0.0], [3.0, 4.0]], [[1.0, 1.0], [1.0, -1.0]]])
    db = DecisionBoundary(segments, np.array([0, 2]), np.array([[0, 1], [1, 0]]))
    assert db.n_segments == 2 and db.length == pytest.approx(7.0, abs=1e-12)
    again = DecisionBoundary.from_dict(json.loads(json.dumps(db.to_dict())))
    np.testing.assert_array_equal(again.segments, segments)
    assert again.to_dict() == db.to_dict()
    features = db.to_geojson()["features"]
    assert [f["geometry"]["coordinates"] for f in features] == segments.tolist()
    assert [f["properties"]["classes"] for f in features] == [[0, 1], [1, 0]]
    empty = DecisionBoundary.from_dict({"segments": [], "region": [], "classes": []})
    assert empty.n_segments == 0 and empty.length == 0.0


def test_diagnostics_round_trip_and_name_units_by_layer() -> None:
    d = NeuronDiagnostics(
        layer=np.array([1, 1, 1, 2]),
        unit=np.array([0, 1, 2, 0]),
        dead_on_domain=np.array([False, True, False, True]),
        always_active_on_domain=np.array([True, False, False, False]),
        active_fraction=np.array([1.0, 0.0, 0.5, 0.0]),
        dead_on_data=np.array([False, True, False, True]),
        affine_on_domain=AffineMap(np.array([[2.0, -1.0]]), np.array([0.5])),
    )
    assert d.dead_units == [(1, 1), (2, 0)] and d.always_active_units == [(1, 0)]
    document = json.loads(json.dumps(d.to_dict()))
    assert document["dead_units"] == [[1, 1], [2, 0]]
    assert document["affine_on_domain"] == {"gradient": [[2.0, -1.0]], "intercept": [0.5]}
    again = NeuronDiagnostics.from_dict(document)
    assert again.to_dict() == document
    assert repr(again) == (
        "<NeuronDiagnostics: 4 hidden units, 2 dead and 1 always active on the domain, "
        "2 dead on the data>"
    )


def test_affine_map_reads_both_layouts() -> None:
    # scikit-learn's coef is (n_inputs, n_outputs); the API's gradient its transpose.
    coef = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    f = AffineMap.from_dict({"coef": coef, "intercept": [0.0, 1.0]})
    g = AffineMap.from_dict({"gradient": np.array(coef).T.tolist(), "intercept": [0.0, 1.0]})
    X = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])
    expected = X @ np.array(coef) + [0.0, 1.0]
    np.testing.assert_allclose(f(X), expected, rtol=1e-15)
    np.testing.assert_allclose(g(X), expected, rtol=1e-15)
    assert f.gradient.shape == (2, 3)


# Blocks of one vertex (each polygon a block of its own), of 20 (polygons of
# several blocks' worth in one), and the default (one block).
@pytest.mark.parametrize("block", [1, 20, relumap_geometry.regions.BLOCK])
@pytest.mark.parametrize(("centre", "radius"), [(0.0, 1.0), (1e9, 2.0), (0.5, 1e-12), (-3e5, 40.0)])
def test_areas_and_interior_points_of_convex_polygons(
    centre: float, radius: float, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Independent: shapely's area and containment, on convex polygons of 3 to 9 sides
    # scattered in a box far from or near the origin.
    shapely = pytest.importorskip("shapely")
    monkeypatch.setattr(relumap_geometry.regions, "BLOCK", block)
    rng = np.random.default_rng(7)
    polygons = []
    for _ in range(40):
        n = int(rng.integers(3, 10))
        angles = np.sort(rng.uniform(0.0, 2.0 * np.pi, n))
        middle = centre + rng.uniform(-radius, radius, 2)
        size = radius * rng.uniform(0.05, 0.5)
        polygons.append(middle + size * np.stack([np.cos(angles), np.sin(angles)], axis=1))
    vertices = np.concatenate(polygons)
    offsets = np.cumsum([0] + [len(p) for p in polygons])
    box = [[centre - 2 * radius] * 2, [centre + 2 * radius] * 2]
    areas, inside = relumap_geometry.areas_and_interior_points(vertices, offsets, box)
    for polygon, area, point in zip(polygons, areas, inside, strict=True):
        # shapely works in absolute coordinates: compare relative to the polygon's own scale.
        local = shapely.Polygon(polygon - polygon[0])
        np.testing.assert_allclose(area, local.area, rtol=1e-9)
        assert shapely.Polygon(polygon).contains(shapely.Point(point))
        assert area > 0
