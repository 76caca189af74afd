"""`GET /v1/models/{id}/plot.png` and `plot.svg`: pictures of a model's exact pieces.

A succeeded model never changes, so a picture is named by the model, its finish
time and the normalized query: that name is the ETag (`If-None-Match` gets a
304) and the file name in a cache directory under `DATA_DIR`. Renders are
bounded in pixels, regions (2D) or pieces (1D), points and time, and they take
turns with the other heavy work of the process (:mod:`relumap_service.api.heavy_work`),
so a burst of pictures cannot starve the other requests.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate

from relumap_service.api.context import dataset_of, get_model_or_404, services
from relumap_service.api.geometry import default_domain, training_inputs
from relumap_service.api.heavy_work import heavy_turn
from relumap_service.api.models import network_at
from relumap_service.api.schemas import SLICE_TEXT_LENGTH, StrictSchema, Text, snapshot_field
from relumap_service.api.slices import SLICE_KEYS, any_view
from relumap_service.api.transport import PICTURE_SECONDS, not_modified, validator_headers
from relumap_service.core.boundary import decision_boundary
from relumap_service.core.diagnostics import neuron_diagnostics
from relumap_service.core.knots import knots_1d
from relumap_service.core.limits import WorkBudget, WorkLimitExceeded
from relumap_service.core.network import Network
from relumap_service.core.regions import regions_2d
from relumap_service.plotting import Canvas, DataPoints, figure_bytes, knots_figure, regions_figure
from relumap_service.store import ModelRecord

__all__ = ["MAX_PLOT_POINTS", "PlotQuerySchema", "blp"]

# Limits of one picture (candidates for relumap_service.config).
# More points are subsampled (deterministically) and the caption says so.
MAX_PLOT_POINTS = 5_000
MAX_CACHED_PLOTS = 500
# Bump when a picture's drawing changes, so cached files and ETags are not reused.
RENDER_VERSION = "1"

_MIMETYPES = {"png": "image/png", "svg": "image/svg+xml"}

blp = Blueprint(
    "plots", __name__, url_prefix="/v1/models", description="Pictures of a model's exact pieces"
)

_COORD = validate.Range(-1e12, 1e12)


class PlotQuerySchema(StrictSchema):
    """Size, colouring and domain of a picture."""

    width = fields.Integer(strict=False, load_default=800, validate=validate.Range(200, 4000))
    height = fields.Integer(strict=False, load_default=600, validate=validate.Range(150, 4000))
    dpi = fields.Integer(strict=False, load_default=100, validate=validate.Range(50, 300))
    color_by = fields.String(
        load_default="linear_region",
        validate=validate.OneOf(["linear_region", "value", "class"]),
        metadata={"description": "2D: fill by linear region, output value or predicted class"},
    )
    lines = fields.String(
        load_default="none",
        validate=validate.OneOf(["none", "first_layer"]),
        metadata={"description": "2D: first_layer draws where each first-layer neuron switches"},
    )
    lo = fields.Float(validate=_COORD)
    hi = fields.Float(validate=_COORD)
    snapshot = snapshot_field()
    x_min = fields.Float(validate=_COORD)
    x_max = fields.Float(validate=_COORD)
    y_min = fields.Float(validate=_COORD)
    y_max = fields.Float(validate=_COORD)
    # A slice, as on /knots (axis, or start and end) and /regions (axes, or origin, u, v).
    axis = Text(metadata={"description": "draw the line along this feature (index or name)"})
    axes = Text(metadata={"description": "draw the plane of these two features: I,J"})
    at = Text(
        max_length=SLICE_TEXT_LENGTH, metadata={"description": "median, mean, row:K or d numbers"}
    )
    start = Text(max_length=SLICE_TEXT_LENGTH)
    end = Text(max_length=SLICE_TEXT_LENGTH)
    origin = Text(max_length=SLICE_TEXT_LENGTH)
    u = Text(max_length=SLICE_TEXT_LENGTH)
    v = Text(max_length=SLICE_TEXT_LENGTH)


def _domain(
    record: ModelRecord,
    n_inputs: int,
    args: dict[str, Any],
    default: tuple[list[float], list[float]] | None = None,
) -> list[float]:
    """Return `[lo, hi]` or `[x_min, y_min, x_max, y_max]`: the query's, else the default."""
    lo, hi = default or default_domain(record, n_inputs)
    if n_inputs == 1:
        domain = [args.get("lo", lo[0]), args.get("hi", hi[0])]
        if not domain[1] > domain[0]:
            abort(
                422,
                message=f"the domain {domain} is empty: hi must exceed lo",
                errors={"hi": ["must be greater than lo"]},
            )
        return domain
    domain = [
        args.get(key, default)
        for key, default in zip(("x_min", "y_min", "x_max", "y_max"), (*lo, *hi), strict=True)
    ]
    if not (domain[2] > domain[0] and domain[3] > domain[1]):
        abort(
            422,
            message=f"the box {domain} is empty: x_max must exceed x_min and y_max exceed y_min",
            errors={"x_max": ["empty box"]},
        )
    return domain


def _check_query(args: dict[str, Any], network: Network) -> None:
    max_pixels = int(services().config["MAX_PLOT_PIXELS"])
    if args["width"] * args["height"] > max_pixels:
        message = (
            f"{args['width']}x{args['height']} pixels exceed the limit of "
            f"{max_pixels} per picture (RELUMAP_MAX_PLOT_PIXELS); ask for a smaller width "
            "or height"
        )
        abort(422, message=message, errors={"width": [message]})
    if network.n_inputs == 2 and args["color_by"] != "linear_region":
        if network.output_activation == "identity" and args["color_by"] == "class":
            abort(
                422,
                message="a regression model has no classes: use color_by=linear_region or value",
                errors={"color_by": ["regression model"]},
            )
        if args["color_by"] == "value" and network.n_outputs > 1:
            abort(
                422,
                message=f"color_by=value shows one output; this model has "
                f"{network.n_outputs}: use class or linear_region",
                errors={"color_by": ["several outputs"]},
            )


def _etag(record: ModelRecord, fmt: str, args: dict[str, Any]) -> str:
    stamp = record.finished_at or record.created_at
    key = [
        record.id,
        stamp.isoformat() if stamp else "",
        fmt,
        args,
        RENDER_VERSION,
        matplotlib.__version__,
    ]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:40]


def _data(record: ModelRecord, n_inputs: int) -> DataPoints | None:
    """Return the model's data, held-out rows marked, classes as indices into `classes`."""
    dataset = dataset_of(record)
    if dataset is None or record.result is None:
        return None
    X = np.asarray(dataset.X, dtype=np.float64).reshape(-1, n_inputs)
    classes = record.result.get("classes")
    if classes is None:
        y = np.asarray(dataset.y, dtype=np.float64)
    else:
        index = {json.dumps(label): k for k, label in enumerate(classes)}
        y = np.array([index.get(json.dumps(label), -1) for label in dataset.y], dtype=np.float64)
    held_out = np.zeros(X.shape[0], dtype=bool)
    held_out[record.result.get("test_indices") or []] = True
    return DataPoints(X, y, held_out, int(X.shape[0]))


def _drawn(data: DataPoints | None) -> DataPoints | None:
    """Subsample (deterministically) to at most MAX_PLOT_POINTS points."""
    if data is None or data.X.shape[0] <= MAX_PLOT_POINTS:
        return data
    rng = np.random.default_rng(0)
    keep = np.sort(rng.choice(data.X.shape[0], MAX_PLOT_POINTS, replace=False))
    return DataPoints(data.X[keep], data.y[keep], data.held_out[keep], data.n_total)


def _train_part(data: DataPoints | None) -> np.ndarray | None:
    return None if data is None or data.held_out.all() else data.X[~data.held_out]


def _baseline(record: ModelRecord, lo: float, hi: float, classifier: bool) -> Any:
    """Return the reported linear baseline (the model's ``baseline``) on ``[lo, hi]``, as (x, y).

    The model the service fitted on the training part and scores beside the
    network, so the picture and the metrics show the same line: ordinary least
    squares for regression, P(class 1) of the logistic regression for a binary
    classifier. None for a manual network, a slice or several classes.
    """
    stored = (record.result or {}).get("baseline") or {}
    if "coef" not in stored:
        return None
    coef = np.asarray(stored["coef"], dtype=np.float64)
    intercept = np.asarray(stored["intercept"], dtype=np.float64).reshape(-1)
    if coef.shape != (1, 1):
        return None
    grid = np.linspace(lo, hi, 200 if classifier else 2)
    logit = coef[0, 0] * grid + intercept[0]
    return grid, _sigmoid(logit) if classifier else logit


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0))))


def _title(record: ModelRecord, network: Network) -> str:
    sizes = list(network.hidden_layer_sizes)
    name = f"{network.hidden_activation} network {sizes}"
    if record.source == "manual":
        return f"{name}, given by hand: {record.params.get('name', 'manual network')}"
    dataset = dataset_of(record)
    return f"{name} fitted to '{dataset.name}'" if dataset else name


def _drawn_limit(network: Network) -> tuple[str, int]:
    """Return the limit on pieces (1D) or regions (2D) a picture may draw, and its name.

    Drawing is slower than computing. The name is the setting that binds:
    ``max_plot_regions``, or the computation's own (``max_pieces``,
    ``max_regions``) when that is lower.
    """
    config = services().config
    computed = "max_pieces" if network.n_inputs == 1 else "max_regions"
    limits = {
        "max_plot_regions": int(config["MAX_PLOT_REGIONS"]),
        computed: int(config[computed.upper()]),
    }
    name = min(limits, key=lambda key: limits[key])
    return name, limits[name]


def _too_many_to_draw(exc: WorkLimitExceeded, name: str, limit: int, n_inputs: int) -> Exception:
    what, domain, source = (
        ("pieces", "interval with lo and hi", "/knots")
        if n_inputs == 1
        else ("regions", "box with x_min, x_max, y_min, y_max", "/regions")
    )
    return WorkLimitExceeded(
        name,
        exc.count,
        limit,
        f"a picture draws at most {limit} {what} (RELUMAP_{name.upper()}): plot a smaller "
        f"{domain}, or read the {what} from {source}",
    )


def _render(
    record: ModelRecord, network: Network, args: dict[str, Any], fmt: str, budget: WorkBudget
) -> bytes:
    canvas = Canvas(args["width"], args["height"], args["dpi"], fmt)  # type: ignore[arg-type]
    # The data do not lie on a slice: a slice's picture shows the network alone.
    data = None if args.get("slice") else _data(record, network.n_inputs)
    title = _title(record, network)
    if args.get("snapshot") is not None:
        title += f", training snapshot {args['snapshot']}"
    if args.get("slice"):
        title += f", slice along {', '.join(args['slice']['axis_names'])}"
    classes = (record.result or {}).get("classes")
    labels = None if classes is None else [str(c) for c in classes]
    domain = args["domain"]
    name, limit = _drawn_limit(network)
    if network.n_inputs == 1:
        try:
            knots = knots_1d(network, domain[0], domain[1], max_pieces=limit, budget=budget)
        except WorkLimitExceeded as exc:
            raise _too_many_to_draw(exc, name, limit, 1) from exc
        diagnostics = neuron_diagnostics(network, knots, _train_part(data))
        figure = knots_figure(
            knots,
            diagnostics,
            canvas,
            title=title,
            data=_drawn(data),
            baseline=None
            if args.get("slice")
            else _baseline(record, domain[0], domain[1], labels is not None),
            classes=labels,
            output_activation=network.output_activation,
        )
    else:
        box = ((domain[0], domain[1]), (domain[2], domain[3]))
        try:
            regions = regions_2d(network, box, max_regions=limit, budget=budget)
        except WorkLimitExceeded as exc:
            raise _too_many_to_draw(exc, name, limit, 2) from exc
        boundary = None
        if network.output_activation != "identity":
            boundary = decision_boundary(regions, network)
        first_layer = None
        if args["lines"] == "first_layer":
            first_layer = (network.coefs[0], network.intercepts[0])
        figure = regions_figure(
            regions,
            neuron_diagnostics(network, regions, _train_part(data)),
            canvas,
            title=title,
            color_by=args["color_by"],
            boundary=boundary,
            data=_drawn(data),
            classes=labels,
            first_layer=first_layer,
        )
    budget.check()  # before the drawing, the slowest part, which cannot stop half-way
    return figure_bytes(figure, canvas)


def _cache_dir() -> Path:
    path = Path(services().config["DATA_DIR"]) / "plots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _store(path: Path, body: bytes) -> None:
    """Write atomically (other processes may read the same file), then bound the cache."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".render-")
    with os.fdopen(handle, "wb") as stream:
        stream.write(body)
    os.replace(temporary, path)
    cached = [entry for entry in os.scandir(path.parent) if not entry.name.startswith(".")]
    if len(cached) > MAX_CACHED_PLOTS:
        cached.sort(key=lambda entry: entry.stat().st_mtime)
        for entry in cached[: len(cached) - MAX_CACHED_PLOTS]:
            Path(entry.path).unlink(missing_ok=True)


def plot_response(model_id: str, args: dict[str, Any], fmt: str) -> Response:
    """Answer a picture request: 304, a cached file, or a fresh render."""
    record = get_model_or_404(model_id)
    full = network_at(record, args.get("snapshot"))
    slicing = any(args.get(name) is not None for name in SLICE_KEYS)
    X_train = training_inputs(record) if slicing else None
    view = any_view(record, full, args, default_domain(record, full.n_inputs), X_train)
    network = view.network
    _check_query(args, network)
    key = {name: args[name] for name in ("width", "height", "dpi")}
    key["snapshot"] = args.get("snapshot")
    key["domain"] = _domain(record, network.n_inputs, args, (view.lo, view.hi))
    if view.cut is not None:
        key["slice"] = {
            "origin": view.cut.origin.tolist(),
            "directions": view.cut.directions.tolist(),
            "axis_names": view.axis_names,
        }
    if network.n_inputs == 2:
        key.update(color_by=args["color_by"], lines=args["lines"])
    etag = _etag(record, fmt, key)
    headers = validator_headers(etag, PICTURE_SECONDS)
    # The SVG's ETag may carry its encoding (":gzip").
    unchanged = not_modified(etag, max_age=PICTURE_SECONDS)
    if unchanged is not None:
        return unchanged
    path = _cache_dir() / f"{etag}.{fmt}"
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        with heavy_turn() as budget:
            body = _render(record, network, {**args, **key}, fmt, budget)
        _store(path, body)
    return Response(body, mimetype=_MIMETYPES[fmt], headers=headers)


_DOC = {
    "description": "A picture; ETag and Cache-Control let clients and proxies reuse it",
    "headers": {
        "ETag": {"schema": {"type": "string"}},
        "Cache-Control": {"schema": {"type": "string"}},
    },
}
_BINARY = {"type": "string", "format": "binary"}
_SVG_TEXT = {"type": "string"}
_NOT_MODIFIED = {"description": "Not modified: the If-None-Match ETag is current"}


@blp.route("/<id:model_id>/plot.png")
class PlotPng(MethodView):
    """A PNG picture of a model."""

    @blp.arguments(PlotQuerySchema(), location="query")
    @blp.response(200, _BINARY, content_type="image/png", **_DOC)
    @blp.alt_response(304, **_NOT_MODIFIED)
    def get(self, args: dict[str, Any], model_id: str) -> Response:
        """Draw the model's exact pieces as PNG.

        1D: data, fitted function, knots, alternately shaded pieces, the linear
        baseline dashed; 2D: every exact region filled, the decision boundary,
        optional first-layer lines, the data. Dead neurons are in the caption.
        """
        return plot_response(model_id, args, "png")


@blp.route("/<id:model_id>/plot.svg")
class PlotSvg(MethodView):
    """An SVG picture of a model."""

    @blp.arguments(PlotQuerySchema(), location="query")
    @blp.response(200, _SVG_TEXT, content_type="image/svg+xml", **_DOC)
    @blp.alt_response(304, **_NOT_MODIFIED)
    def get(self, args: dict[str, Any], model_id: str) -> Response:
        """Draw the model's exact pieces as SVG (the same picture as `plot.png`)."""
        return plot_response(model_id, args, "svg")
