"""Plots drawn from the exact geometry, saved as PNGs under test-artifacts/client/.

Each test checks what was drawn against the geometry it came from (one polygon
per region, the boundary's segments as they are, the polyline through the
piece ends), and saves the figure so a person can look at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402

import relumap  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def save(ax: Axes, artifacts: Path, name: str) -> Path:
    path = artifacts / f"{name}.png"
    ax.figure.savefig(path, dpi=90)
    assert path.stat().st_size > 10_000
    return path


def test_model_plot_1d_regression(square_model: relumap.Model, artifacts: Path) -> None:
    ax = square_model.plot()
    knots = square_model.knots()
    network = next(line for line in ax.get_lines() if line.get_label() == "network")
    x, y = network.get_data()
    np.testing.assert_allclose(x, np.append(knots.piece_lo, knots.hi))
    np.testing.assert_allclose(y, square_model.weights().predict(np.asarray(x)), atol=1e-9)
    baseline = next(line for line in ax.get_lines() if line.get_label() == "linear baseline")
    assert baseline.get_linestyle() == "--"
    shaded = [p for p in ax.patches if p.get_facecolor()[:3] != (1.0, 1.0, 1.0)]
    assert len(shaded) == knots.n_pieces // 2
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"data", "network", f"knots ({knots.n_knots})", "linear baseline"} <= labels
    save(ax, artifacts, "model_1d_square")


def test_knots_plot_alone(api: relumap.Client, artifacts: Path) -> None:
    # |x| + relu(x - 1) + relu(-x - 1): slopes -2, -1, 1, 2, knots at -1, 0 and 1.
    model = api.network(
        [[[1.0, -1.0, 1.0, -1.0]], [[1.0], [1.0], [1.0], [1.0]]],
        [[0.0, 0.0, -1.0, -1.0], [0.0]],
        domain=[-2, 2],
    )
    knots = model.knots()
    np.testing.assert_allclose(knots.x, [-1.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(knots.slopes[:, 0], [-2.0, -1.0, 1.0, 2.0], atol=1e-12)
    ax = knots.plot()
    markers = ax.collections[-1].get_offsets()
    np.testing.assert_allclose(np.asarray(markers)[:, 0], [-1.0, 0.0, 1.0], atol=1e-12)
    save(ax, artifacts, "knots_manual_network")


def test_model_plot_1d_classifier(api: relumap.Client, artifacts: Path) -> None:
    x = np.linspace(-3, 3, 120)
    data = api.upload(x, np.where(np.abs(x) < 1.2, "inside", "outside"))
    model = api.fit(data, hidden_layer_sizes=[8], max_iter=2000, n_restarts=4, test_fraction=0.0)
    knots = model.knots()
    assert knots.class_changes is not None
    np.testing.assert_allclose(knots.class_changes, [-1.2, 1.2], atol=0.1)
    ax = model.plot()
    drawn = {line.get_label() for line in ax.get_lines()}
    assert {"P(outside)", "logistic baseline"} <= drawn
    save(ax, artifacts, "model_1d_classifier")


@pytest.mark.parametrize("color_by", ["class", "region", "value"])
def test_model_plot_2d_classifier(xor_model: relumap.Model, artifacts: Path, color_by: str) -> None:
    ax = xor_model.plot(color_by=color_by)
    regions = xor_model.regions()
    boundary = regions.decision_boundary
    assert boundary is not None
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(lines) == 1
    np.testing.assert_array_equal(np.asarray(lines[0].get_segments()), boundary.segments)
    outlines = [c for c in ax.collections if type(c) is PolyCollection]
    assert len(outlines[-1].get_paths()) == regions.n_regions
    np.testing.assert_allclose([ax.get_xlim(), ax.get_ylim()], regions.box.T)
    save(ax, artifacts, f"model_2d_xor_by_{color_by}")


def test_class_fill_covers_the_box_by_class(xor_model: relumap.Model) -> None:
    from relumap._regionfill import class_pieces

    regions = xor_model.regions()
    pieces, labels = class_pieces(regions)
    area = sum(
        0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1)))
        for p in pieces
    )
    np.testing.assert_allclose(area, regions.areas.sum(), rtol=1e-9)
    # Each piece's centroid is predicted as the piece's class.
    centroids = np.array([p.mean(axis=0) for p in pieces])
    proba = xor_model.weights().predict_proba(centroids)
    np.testing.assert_array_equal(proba.argmax(axis=1), labels)


def test_model_plot_2d_regression(api: relumap.Client, artifacts: Path) -> None:
    data = api.generate("bump", n_samples=300, noise=0.0, random_state=0)
    model = api.fit(data, hidden_layer_sizes=[10, 10], max_iter=2000)
    ax = model.plot()
    assert ax.figure.axes[-1].get_ylabel() == "y"  # the colour bar
    save(ax, artifacts, "model_2d_bump_by_value")
    ax = model.regions().plot(color_by="region")
    save(ax, artifacts, "regions_2d_bump_by_region")


def test_softmax_regions_by_class(api: relumap.Client, artifacts: Path) -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    X = np.concatenate([c + rng.normal(0, 0.7, size=(60, 2)) for c in centres])
    y = np.repeat(["a", "b", "c"], 60)
    model = api.fit((X, y), hidden_layer_sizes=[6], max_iter=2000)
    regions = model.regions()
    assert regions.decision_boundary is not None
    assert set(regions.decision_boundary.classes.ravel().tolist()) == {0, 1, 2}
    save(model.plot(), artifacts, "model_2d_softmax_by_class")


def test_comparison_plot(api: relumap.Client, square: relumap.Dataset, artifacts: Path) -> None:
    comparison = api.compare(square, hidden_layer_sizes=[8], max_iter=2000)
    axes = comparison.plot()
    assert len(axes) == 2
    assert axes[0].get_title().startswith("relu") and axes[1].get_title().startswith("identity")
    save(axes[0], artifacts, "compare_square")


def test_plotting_into_given_axes(xor_model: relumap.Model) -> None:
    fig, (left, right) = plt.subplots(1, 2)
    assert xor_model.plot(ax=left) is left
    regions = xor_model.regions()
    assert regions.decision_boundary is not None
    assert regions.decision_boundary.plot(ax=right, colors="red") is right
    with pytest.raises(ValueError, match="color_by"):
        regions.plot(color_by="height")
