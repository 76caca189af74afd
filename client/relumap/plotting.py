"""Plots drawn locally from the service's exact geometry (extra ``plot``: matplotlib).

Nothing is sampled where the geometry is exact: a 1D fit is drawn as the
polyline through its piece ends, a 2D region map as its polygons, a regression
surface by Gouraud shading of each region's triangles (exact, since the network
is linear on each triangle), classes by cutting each region along its own
boundary line, and the decision boundary as its segments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from relumap._optional import require
from relumap._regionfill import class_pieces, fan_triangles
from relumap.errors import ValidationError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from relumap.comparison import Comparison
    from relumap.knots import Knots
    from relumap.models import Model
    from relumap.regions import DecisionBoundary, Regions

__all__ = [
    "plot_boundary",
    "plot_comparison",
    "plot_knots",
    "plot_model",
    "plot_points",
    "plot_regions",
]

FloatArray = NDArray[np.float64]
SHADE = "#e8e8e8"
LINE = "#1f4e9c"
KNOT = "#d62728"
CLASS_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3")
COLOR_BY = ("region", "value", "class")


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    plt = require("matplotlib.pyplot", "plotting")
    _, new = plt.subplots(figsize=(7, 5), layout="constrained")
    found: Axes = new
    return found


def _class_color(index: int) -> str:
    return CLASS_COLORS[index % len(CLASS_COLORS)]


def _class_index(y: NDArray[Any], classes: list[Any] | None) -> NDArray[np.int64]:
    labels = list(classes) if classes is not None else sorted(set(y.tolist()))
    lookup = {label: i for i, label in enumerate(labels)}
    return np.array([lookup.get(v, 0) for v in y.tolist()], dtype=np.int64)


def plot_points(
    data: tuple[FloatArray, NDArray[Any]],
    ax: Axes | None = None,
    *,
    classes: list[Any] | None = None,
    **style: Any,
) -> Axes:
    """Scatter data: ``y`` against ``x`` in 1D; in 2D coloured by class (or by value)."""
    X, y = data
    if X.shape[1] > 2:
        raise ValidationError(
            f"the data have {X.shape[1]} features; a scatter plot shows 1 or 2: "
            "plot two columns of to_frame(), or a model's slice"
        )
    ax = _axes(ax)
    options = {"s": 14, "zorder": 5, "edgecolors": "black", "linewidths": 0.4, **style}
    if X.shape[1] == 1:
        values = y if classes is None else _class_index(y, classes)
        ax.scatter(X[:, 0], values, color="#555555", label="data", **options)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        return ax
    if classes is not None:
        index = _class_index(y, classes)
        for k, label in enumerate(classes):
            mask = index == k
            ax.scatter(X[mask, 0], X[mask, 1], color=_class_color(k), label=str(label), **options)
    else:
        ax.scatter(X[:, 0], X[:, 1], c=y.astype(float), cmap="viridis", label="data", **options)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    return ax


def _shade_pieces(ax: Axes, knots: Knots) -> None:
    # Every other piece, from the second, so a single piece stays unshaded.
    for p in range(1, knots.n_pieces, 2):
        ax.axvspan(knots.piece_lo[p], knots.piece_hi[p], color=SHADE, zorder=0, lw=0)


def plot_knots(knots: Knots, ax: Axes | None = None, *, output: int | None = None) -> Axes:
    """Draw the logits as the polyline through the piece ends, knots marked, pieces shaded."""
    ax = _axes(ax)
    _shade_pieces(ax, knots)
    xs = np.append(knots.piece_lo, knots.hi)
    values = knots.evaluate(xs)
    outputs = range(values.shape[1]) if output is None else [output]
    for k in outputs:
        label = "network" if values.shape[1] == 1 else f"output {k}"
        color = LINE if values.shape[1] == 1 else _class_color(k)
        ax.plot(xs, values[:, k], color=color, lw=2, label=label, zorder=3)
        ax.scatter(
            knots.x,
            knots.evaluate(knots.x)[:, k],
            s=36,
            facecolors="white",
            edgecolors=KNOT,
            linewidths=1.5,
            zorder=6,
            label=f"knots ({knots.n_knots})" if k == next(iter(outputs)) else None,
        )
    for change in [] if knots.class_changes is None else knots.class_changes:
        ax.axvline(change, color="black", ls=":", lw=1.2, zorder=2)
    ax.set_xlim(knots.lo, knots.hi)
    ax.set_xlabel("x")
    ax.set_ylabel("logit" if knots.classes is not None else "y")
    ax.set_title(_knots_summary(knots), fontsize="medium")
    return ax


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _knots_summary(knots: Knots) -> str:
    return (
        f"{_count(knots.n_knots, 'knot')}, {_count(knots.n_pieces, 'piece')} "
        f"(at most {_count(knots.bound, 'knot')})"
    )


def _regions_summary(regions: Regions) -> str:
    return (
        f"{_count(regions.n_regions, 'activation region')}, "
        f"{regions.n_linear_regions} linear (at most {regions.bound})"
    )


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


def _plot_model_1d(model: Model, ax: Axes) -> Axes:
    knots = model.knots()
    dataset = model.dataset()
    data = None if dataset is None else dataset.data()
    if model.task == "regression":
        plot_knots(knots, ax, output=0)
        if data is not None:
            plot_points(data, ax)
        # The service's own baseline, not a refit here: an identity network then
        # draws over it as one line, as its metrics say.
        baseline = model.baseline
        if baseline is not None:
            ends = np.array([knots.lo, knots.hi])
            ax.plot(
                ends,
                baseline(ends.reshape(-1, 1))[:, 0],
                "--",
                color="#444444",
                lw=1.3,
                label="linear baseline",
                zorder=4,
            )
    else:
        # Probabilities bend between knots, so sample densely and add the knots.
        weights = model.weights()
        xs = np.union1d(np.linspace(knots.lo, knots.hi, 801), knots.x)
        proba = weights.predict_proba(xs.reshape(-1, 1))
        _shade_pieces(ax, knots)
        labels = model.classes or list(range(proba.shape[1]))
        shown = [1] if proba.shape[1] == 2 else range(proba.shape[1])
        for k in shown:
            ax.plot(xs, proba[:, k], color=_class_color(k), lw=2, label=f"P({labels[k]})")
            ax.scatter(
                knots.x,
                weights.predict_proba(knots.x.reshape(-1, 1))[:, k],
                s=30,
                facecolors="white",
                edgecolors=KNOT,
                zorder=6,
                label=f"knots ({knots.n_knots})" if k == shown[0] else None,
            )
        for change in [] if knots.class_changes is None else knots.class_changes:
            ax.axvline(change, color="black", ls=":", lw=1.2)
        if data is not None:
            plot_points(data, ax, classes=model.classes, alpha=0.6)
        baseline = model.baseline
        if baseline is not None and proba.shape[1] == 2:
            line = _sigmoid(baseline(xs.reshape(-1, 1))[:, 0])
            ax.plot(xs, line, "--", color="#444444", lw=1.3, label="logistic baseline")
        ax.set_xlim(knots.lo, knots.hi)
        ax.set_ylabel("probability" if proba.shape[1] != 2 else f"P({labels[1]}) / class")
        ax.set_title(_knots_summary(knots), fontsize="medium")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_boundary(boundary: DecisionBoundary, ax: Axes | None = None, **style: Any) -> Axes:
    """Draw the decision boundary's segments as they are."""
    collections = require("matplotlib.collections", "plotting")
    ax = _axes(ax)
    options = {"colors": "black", "linewidths": 2.2, "zorder": 4, "label": "decision boundary"}
    ax.add_collection(collections.LineCollection(boundary.segments, **{**options, **style}))
    ax.autoscale_view()
    return ax


def plot_regions(regions: Regions, ax: Axes | None = None, *, color_by: str | None = None) -> Axes:
    """Fill every region by linear region, output value or class; draw the boundary."""
    mpl_collections = require("matplotlib.collections", "plotting")
    tri = require("matplotlib.tri", "plotting")
    ax = _axes(ax)
    classifier = regions.classes is not None
    color_by = color_by or ("class" if classifier else "value")
    if color_by not in COLOR_BY:
        raise ValidationError(f"color_by must be one of {COLOR_BY}, got {color_by!r}")
    if color_by == "class" and not classifier:
        raise ValidationError("color_by='class' needs a classifier; use 'value' or 'region'")
    edges = {"edgecolors": "white", "linewidths": 0.5}
    if color_by == "region":
        cmap = require("matplotlib", "plotting").colormaps["tab20"]
        colors = cmap(regions.linear_region % 20)
        ax.add_collection(
            mpl_collections.PolyCollection(regions.polygons, facecolors=colors, alpha=0.6, **edges)
        )
    elif color_by == "value":
        triangles = fan_triangles(regions.offsets)
        owner = np.repeat(np.arange(regions.n_regions), np.diff(regions.offsets))
        values = regions.evaluate(regions.vertices, owner)[:, 0]
        grid = tri.Triangulation(regions.vertices[:, 0], regions.vertices[:, 1], triangles)
        if classifier:
            # Logits: a diverging map centred on 0, where the class changes.
            colors = require("matplotlib.colors", "plotting")
            reach = float(np.abs(values).max()) or 1.0
            norm = colors.TwoSlopeNorm(0.0, -reach, reach)
            mappable = ax.tripcolor(grid, values, shading="gouraud", cmap="RdBu_r", norm=norm)
        else:
            mappable = ax.tripcolor(grid, values, shading="gouraud", cmap="viridis")
        ax.figure.colorbar(mappable, ax=ax, label="logit" if classifier else "y")
        ax.add_collection(
            mpl_collections.PolyCollection(
                regions.polygons, facecolors="none", edgecolors="white", linewidths=0.4, alpha=0.7
            )
        )
    else:
        pieces, labels = class_pieces(regions)
        colors = [_class_color(int(k)) for k in labels]
        ax.add_collection(
            mpl_collections.PolyCollection(pieces, facecolors=colors, alpha=0.35, linewidths=0)
        )
        ax.add_collection(
            mpl_collections.PolyCollection(
                regions.polygons, facecolors="none", edgecolors="#777777", linewidths=0.4
            )
        )
    if regions.decision_boundary is not None:
        plot_boundary(regions.decision_boundary, ax)
    (x_min, y_min), (x_max, y_max) = regions.box
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(_regions_summary(regions), fontsize="medium")
    return ax


def _title(model: Model) -> str:
    params = model.params
    text = f"{params.get('activation', '?')} {params.get('hidden_layer_sizes', '')}"
    metrics = model.metrics
    if metrics is not None:
        split = metrics.test or metrics.train
        name = "r2" if model.task == "regression" else "accuracy"
        if name in split:
            which = "test" if metrics.test else "train"
            text += f" - {which} {name} {split[name]:.3f}"
            base = (metrics.baseline_test if metrics.test else metrics.baseline_train).get(name)
            if base is not None:
                text += f" (linear {base:.3f})"
    return text


def plot_model(model: Model, ax: Axes | None = None, *, color_by: str | None = None) -> Axes:
    """Draw a model from its knots (1D) or regions (2D), with its data; see :meth:`Model.plot`."""
    if (model.n_features or 0) > 2:
        raise ValidationError(
            f"model {model.id} has {model.n_features} inputs; draw a slice of it: "
            "model.regions(axes=(i, j)).plot() or model.knots(axis=j).plot()"
        )
    ax = _axes(ax)
    if model.n_features == 1:
        _plot_model_1d(model, ax)
    else:
        regions = model.regions()
        plot_regions(regions, ax, color_by=color_by)
        dataset = model.dataset()
        if dataset is not None:
            plot_points(dataset.data(), ax, classes=model.classes)
        ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    ax.set_title(f"{_title(model)}\n{ax.get_title()}", fontsize="medium")
    return ax


def plot_comparison(comparison: Comparison, axes: Any = None) -> Any:
    """Draw the ReLU and the identity network of a :class:`Comparison` side by side."""
    if axes is None:
        plt = require("matplotlib.pyplot", "plotting")
        _, axes = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
    for ax, model in zip(axes, (comparison.relu, comparison.identity), strict=True):
        plot_model(model, ax)
    return axes
