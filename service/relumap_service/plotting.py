"""Server-rendered pictures of a network's exact pieces (matplotlib, Agg, no pyplot).

Only matplotlib's object-oriented API is used (a :class:`~matplotlib.figure.Figure`
with its own Agg canvas per render, never pyplot's global state), so renders in
different threads do not share a figure. Everything drawn comes from the exact
geometry of :mod:`relumap_service.core`: a 1D curve is drawn through its exact
knots, and 2D regions, class areas and value bands are exact polygons (the
regions clipped along the zero lines of affine functions with
:func:`relumap_service.core.clipping.split_convex`), never a sampled raster.

Colours survive colour-blindness: classes use the Okabe-Ito palette and a
marker shape each, values use viridis (perceptually uniform).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import BoundaryNorm, Normalize, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import NDArray

from relumap_geometry import DecisionBoundary, NeuronDiagnostics
from relumap_geometry.forward import output_probabilities
from relumap_service.core.knots import Knots1D
from relumap_service.core.partitions import class_areas, first_layer_segments, value_bands
from relumap_service.core.region_map import Regions2D

__all__ = [
    "CLASS_COLORS",
    "Canvas",
    "DataPoints",
    "figure_bytes",
    "knots_figure",
    "regions_figure",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ColorBy = Literal["linear_region", "value", "class"]

# Okabe & Ito, "Color Universal Design" (2008): distinguishable with any colour vision.
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
CLASS_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_VALUE_CMAP = colormaps["viridis"]
_GOLDEN = 0.6180339887498949
_N_VALUE_BANDS = 12
# Pieces up to which a 1D legend searches for the emptiest place (see knots_figure).
LEGEND_SEARCH_PIECES = 500


@dataclass(frozen=True)
class Canvas:
    """Size and format of a picture: ``width`` x ``height`` pixels at ``dpi``."""

    width: int
    height: int
    dpi: int
    fmt: Literal["png", "svg"]


@dataclass(frozen=True, eq=False)
class DataPoints:
    """Points drawn over a picture.

    Attributes
    ----------
    X : ndarray of shape (n_points, n_inputs)
    y : ndarray of shape (n_points,)
        Targets, or class indices for a classifier.
    held_out : ndarray of bool of shape (n_points,)
        Points of the test split, drawn hollow.
    n_total : int
        Points in the data set (more than ``n_points`` when subsampled).
    """

    X: FloatArray
    y: FloatArray
    held_out: NDArray[np.bool_]
    n_total: int


def _new_figure(canvas: Canvas) -> Figure:
    size = (canvas.width / canvas.dpi, canvas.height / canvas.dpi)
    figure = Figure(figsize=size, dpi=canvas.dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def figure_bytes(figure: Figure, canvas: Canvas) -> bytes:
    """Encode a figure as PNG or SVG bytes (no timestamps, so a render is reproducible)."""
    buffer = io.BytesIO()
    metadata = {"Date": None} if canvas.fmt == "svg" else {"Software": None}
    figure.savefig(buffer, format=canvas.fmt, dpi=canvas.dpi, metadata=metadata)
    return buffer.getvalue()


def _tint(color: Any, amount: float) -> tuple[float, float, float]:
    """Mix a colour with white: 0 keeps it, 1 gives white."""
    r, g, b = to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _unit_names(pairs: list[tuple[int, int]]) -> str:
    return ", ".join(f"L{layer} u{unit}" for layer, unit in pairs) or "none"


def _caption(diagnostics: NeuronDiagnostics, data: DataPoints | None) -> str:
    text = (
        f"dead neurons: {_unit_names(diagnostics.dead_units)}   "
        f"always active: {_unit_names(diagnostics.always_active_units)}"
    )
    if data is not None and data.X.shape[0] < data.n_total:
        text += f"   ({data.X.shape[0]} of {data.n_total} points drawn)"
    return text


def _draw_classes(ax: Axes, data: DataPoints, classes: list[str]) -> None:
    """Scatter labelled points: one Okabe-Ito colour and one marker per class.

    In 1D a point of class ``k`` is drawn at height ``k / (n_classes - 1)``, so a
    binary classifier's points sit at 0 and 1 beside its probability curve.
    """
    heights = data.y / max(len(classes) - 1, 1)
    for held_out, split in ((False, "train"), (True, "held out")):
        for k, name in enumerate(classes):
            part = (data.held_out == held_out) & (data.y == k)
            if not part.any():
                continue
            color = CLASS_COLORS[k % len(CLASS_COLORS)]
            ys = data.X[part, 1] if data.X.shape[1] == 2 else heights[part]
            ax.scatter(
                data.X[part, 0],
                ys,
                s=18,
                marker=CLASS_MARKERS[k % len(CLASS_MARKERS)],
                facecolors="white" if held_out else color,
                edgecolors=color if held_out else "black",
                linewidths=1.2 if held_out else 0.6,
                zorder=5,
                label=f"class {name} ({split})",
            )


def knots_figure(
    knots: Knots1D,
    diagnostics: NeuronDiagnostics,
    canvas: Canvas,
    *,
    title: str,
    data: DataPoints | None = None,
    baseline: tuple[FloatArray, FloatArray] | None = None,
    classes: list[str] | None = None,
    output_activation: str = "identity",
) -> Figure:
    """Draw a one-input network: data, fitted function, knots, pieces and baseline.

    Parameters
    ----------
    knots : Knots1D
        Exact pieces on ``[knots.lo, knots.hi]``.
    diagnostics : NeuronDiagnostics
        Dead and always-active neurons, listed in the caption.
    canvas : Canvas
    title : str
    data : DataPoints, optional
        ``X`` of shape (n, 1).
    baseline : (ndarray, ndarray), optional
        ``(x, y)`` of the linear baseline, drawn dashed.
    classes : list of str, optional
        Class labels of a classifier, whose probabilities are drawn.
    output_activation : {"identity", "logistic", "softmax"}

    Returns
    -------
    Figure
    """
    figure = _new_figure(canvas)
    ax = figure.add_subplot()
    edges = np.concatenate([[knots.lo], knots.piece_hi])
    # Alternate pieces shaded: the intervals on which the network is one affine map.
    bands = [
        [(lo, 0.0), (hi, 0.0), (hi, 1.0), (lo, 1.0)]
        for lo, hi in zip(knots.piece_lo[1::2], knots.piece_hi[1::2], strict=True)
    ]
    ax.add_collection(
        PolyCollection(
            bands, facecolors="#e9e9f2", edgecolors="none", transform=ax.get_xaxis_transform()
        )
    )
    if classes is None:
        # Piecewise linear: the polyline through the piece ends is exact.
        values = knots.evaluate(edges)
        for k in range(values.shape[1]):
            ax.plot(edges, values[:, k], color="#0072B2", lw=2, label="network", zorder=3)
        marks = knots.evaluate(knots.x)[:, 0] if knots.n_knots else np.zeros(0)
        ylabel = "y"
    else:
        grid = np.union1d(np.linspace(knots.lo, knots.hi, 400), edges)
        probabilities = output_probabilities(knots.evaluate(grid), output_activation)
        shown = range(1, 2) if probabilities.shape[1] == 2 else range(probabilities.shape[1])
        for k in shown:
            color = CLASS_COLORS[k % len(CLASS_COLORS)]
            ax.plot(grid, probabilities[:, k], color=color, lw=2, label=f"P(class {classes[k]})")
        first = shown[0]
        marks = output_probabilities(knots.evaluate(knots.x), output_activation)[:, first]
        ylabel = "probability"
    if knots.n_knots:
        ax.scatter(
            knots.x,
            marks,
            s=36,
            marker="o",
            facecolors="#D55E00",
            edgecolors="black",
            linewidths=0.8,
            zorder=6,
            label=f"knots ({knots.n_knots})",
        )
        ax.vlines(knots.x, 0, 0.035, colors="#D55E00", transform=ax.get_xaxis_transform())
    if baseline is not None:
        ax.plot(*baseline, color="#444444", lw=1.5, ls="--", label="linear baseline", zorder=2)
    if data is not None:
        if classes is None:
            for held_out, label in ((False, "train"), (True, "held out")):
                mask = data.held_out == held_out
                if mask.any():
                    ax.scatter(
                        data.X[mask, 0],
                        data.y[mask],
                        s=12,
                        zorder=4,
                        label=f"data ({label})",
                        facecolors="white" if held_out else "#999999",
                        edgecolors="#333333",
                        linewidths=0.5,
                    )
        else:
            _draw_classes(ax, data, classes)
    ax.set_xlim(knots.lo, knots.hi)
    ax.set_xlabel("x")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    # "best" tests every drawn vertex against each candidate place: most of the
    # time of a picture with thousands of pieces. Beyond a few hundred, a fixed corner.
    corner = "best" if knots.n_pieces <= LEGEND_SEARCH_PIECES else "upper left"
    ax.legend(loc=corner, fontsize=7, framealpha=0.85)
    bound = (
        f"{_count(knots.n_knots, 'knot')} (at most {knots.bound}), "
        f"{_count(knots.n_pieces, 'piece')}"
    )
    figure.supxlabel(f"{bound}\n{_caption(diagnostics, data)}", x=0.01, ha="left", fontsize=8)
    return figure


def regions_figure(
    regions: Regions2D,
    diagnostics: NeuronDiagnostics,
    canvas: Canvas,
    *,
    title: str,
    color_by: ColorBy,
    boundary: DecisionBoundary | None = None,
    data: DataPoints | None = None,
    classes: list[str] | None = None,
    first_layer: tuple[FloatArray, FloatArray] | None = None,
) -> Figure:
    """Draw a two-input network: every exact region filled, boundary, neuron lines, data.

    Parameters
    ----------
    regions : Regions2D
    diagnostics : NeuronDiagnostics
    canvas : Canvas
    title : str
    color_by : {"linear_region", "value", "class"}
        Fill by linear region, by output value (exact bands of output 0, or of
        the logit of a binary classifier) or by predicted class (exact areas).
    boundary : DecisionBoundary, optional
        Drawn as a thick line.
    data : DataPoints, optional
    classes : list of str, optional
        Class labels of a classifier.
    first_layer : (ndarray of shape (2, n_units), ndarray of shape (n_units,)), optional
        First-layer weights and biases, whose switching lines are drawn.

    Returns
    -------
    Figure
    """
    figure = _new_figure(canvas)
    ax = figure.add_subplot()
    (x0, y0), (x1, y1) = regions.box
    value_norm: Normalize | None = None
    if color_by == "linear_region":
        # Golden-ratio steps through viridis, so neighbouring linear regions differ.
        hues = 0.15 + 0.85 * ((regions.linear_region * _GOLDEN) % 1.0)
        colors = [_tint(c, 0.55) for c in _VALUE_CMAP(hues)]
        ax.add_collection(
            PolyCollection(regions.polygons, facecolors=colors, edgecolors="white", linewidths=0.5)
        )
    else:
        if color_by == "class":
            polygons, index = class_areas(regions)
            colors = [_tint(CLASS_COLORS[k % len(CLASS_COLORS)], 0.55) for k in index]
        else:
            polygons, colors, value_norm = _value_fill(regions, classifier=classes is not None)
        ax.add_collection(PolyCollection(polygons, facecolors=colors, edgecolors="none"))
        # The regions themselves, as thin outlines over the fills.
        ax.add_collection(
            PolyCollection(regions.polygons, facecolors="none", edgecolors="white", linewidths=0.4)
        )
    if first_layer is not None:
        segments, units = first_layer_segments(*first_layer, regions.box)
        ax.add_collection(
            LineCollection(list(segments), colors="#555555", linewidths=0.9, linestyles=(0, (4, 3)))
        )
        for (start, _), unit in zip(segments, units, strict=True):
            ax.annotate(f"u{unit}", start, fontsize=6, color="#333333")
    if boundary is not None and boundary.n_segments:
        for width, color in ((3.5, "white"), (1.8, "black")):
            ax.add_collection(
                LineCollection(list(boundary.segments), colors=color, linewidths=width)
            )
        ax.plot([], [], color="black", lw=1.8, label="decision boundary")
    if data is not None:
        if classes is not None:
            _draw_classes(ax, data, classes)
        else:
            norm = value_norm or Normalize(float(data.y.min()), float(data.y.max()))
            for held_out, label in ((False, "train"), (True, "held out")):
                mask = data.held_out == held_out
                if mask.any():
                    ax.scatter(
                        data.X[mask, 0],
                        data.X[mask, 1],
                        c=data.y[mask],
                        cmap=_VALUE_CMAP,
                        norm=norm,
                        s=16,
                        edgecolors="black",
                        linewidths=0.5 if not held_out else 1.2,
                        marker="o" if not held_out else "D",
                        zorder=5,
                        label=f"data ({label})",
                    )
    if value_norm is not None:
        colorbar = figure.colorbar(
            ScalarMappable(norm=value_norm, cmap=_VALUE_CMAP), ax=ax, shrink=0.9
        )
        label = f"P(class {classes[-1]})" if classes is not None else "y"
        colorbar.set_label(label)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ratio = (y1 - y0) / (x1 - x0)
    if 1 / 3 <= ratio <= 3:
        ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title, fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        figure.legend(loc="outside right upper", fontsize=7, framealpha=0.9)
    counts = (
        f"{_count(regions.n_regions, 'region')} (Serra et al.'s bound {regions.bound}), "
        f"{_count(regions.n_linear_regions, 'linear region')}"
    )
    figure.supxlabel(f"{counts}\n{_caption(diagnostics, data)}", x=0.01, ha="left", fontsize=8)
    return figure


def _value_fill(
    regions: Regions2D, *, classifier: bool
) -> tuple[list[FloatArray], list[Any], Normalize]:
    """Exact bands of output 0 (of P(class 1) for a binary classifier) and their colours."""
    if classifier:
        # The sigmoid is monotone: probability bands are logit bands, exactly.
        probabilities = np.array([0.02, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.98])
        polygons, index = value_bands(regions, np.log(probabilities / (1 - probabilities)))
        edges = np.concatenate([[0.0], probabilities, [1.0]])
    else:
        # Output 0 at every vertex: its extremes on the box are among them.
        owner = np.repeat(np.arange(regions.n_regions), np.diff(regions.offsets))
        values = np.einsum("ij,ij->i", regions.gradients[owner, 0], regions.vertices)
        values = values + regions.intercepts[owner, 0]
        low, high = float(values.min()), float(values.max())
        if high <= low:
            high = low + 1.0
        levels = np.asarray(MaxNLocator(_N_VALUE_BANDS).tick_values(low, high), dtype=np.float64)
        levels = levels[(levels > low) & (levels < high)]
        polygons, index = value_bands(regions, levels)
        edges = np.concatenate([[low], levels, [high]])
    norm = BoundaryNorm(edges, _VALUE_CMAP.N)
    middle = 0.5 * (edges[:-1] + edges[1:])
    return polygons, [_tint(c, 0.25) for c in _VALUE_CMAP(norm(middle[index]))], norm
