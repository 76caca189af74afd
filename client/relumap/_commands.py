"""What each ``relumap`` command does, and how it prints: tables for people, JSON for machines."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from numpy.typing import NDArray

from relumap._tables import affine_formula, fields, table
from relumap.client import Client
from relumap.comparison import Comparison
from relumap.datasets import Dataset
from relumap.errors import ValidationError
from relumap.models import Model
from relumap.slices import Slice

__all__ = [
    "compare",
    "datasets_delete",
    "datasets_generate",
    "datasets_list",
    "datasets_show",
    "datasets_upload",
    "fit",
    "info",
    "knots",
    "models_delete",
    "models_export",
    "models_list",
    "models_show",
    "network",
    "plot",
    "predict",
    "regions",
]

# Rows a table shows before pointing to --json.
MAX_ROWS = 50


def _dataset_row(d: Dataset) -> dict[str, Any]:
    return {
        "id": d.id,
        "name": d.name,
        "source": d.source,
        "samples": d.n_samples,
        "features": d.n_features,
        "task": d.task_hint,
        "created": d.created_at.strftime("%Y-%m-%d %H:%M") if d.created_at else None,
    }


def _model_row(m: Model) -> dict[str, Any]:
    metrics = m.metrics
    split = (metrics.test or metrics.train) if metrics else {}
    score = split.get("r2" if m.task == "regression" else "accuracy")
    return {
        "id": m.id,
        "status": m.status,
        "task": m.task,
        "activation": m.params.get("activation"),
        "hidden": m.params.get("hidden_layer_sizes"),
        "dataset": m.dataset_id,
        "score": score,
    }


def _model_text(m: Model) -> str:
    parts = [
        fields(
            [
                ("id", m.id),
                ("status", m.status),
                ("task", m.task),
                ("source", m.source),
                ("dataset", m.dataset_id),
                ("features", None if m.feature_names is None else ", ".join(m.feature_names)),
                ("hidden", m.params.get("hidden_layer_sizes")),
                ("activation", m.params.get("activation")),
                ("n_iter", m.n_iter),
                ("converged", m.converged),
                ("loss", m.loss),
                ("error", m.error),
            ]
        )
    ]
    if m.metrics is not None:
        parts.append(table(m.metrics.rows()))
    linear = m.equivalent_linear_map
    if linear is not None:
        parts.append(
            f"one affine map: gradient {linear.gradient.tolist()}, "
            f"intercept {linear.intercept.tolist()}"
        )
    parts += [f"warning: {w.get('category')}: {w.get('message')}" for w in m.warnings]
    return "\n\n".join(parts)


def _emit(args: argparse.Namespace, out: TextIO, document: Any, human: Callable[[], str]) -> None:
    print(json.dumps(document, indent=2) if args.json else human(), file=out)


def info(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    info = client.info()
    _emit(
        args,
        out,
        info,
        lambda: fields(
            [
                ("service", f"{info.get('name')} {info.get('version')}"),
                ("url", client.base_url),
                *sorted(info.get("limits", {}).items()),
            ]
        ),
    )


def datasets_list(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    found = client.datasets(page=args.page, page_size=args.page_size)
    _emit(args, out, [d.to_dict() for d in found], lambda: table(map(_dataset_row, found)))


def _show_dataset(client: Client, args: argparse.Namespace, out: TextIO, d: Dataset) -> None:
    _emit(args, out, d.to_dict(), lambda: fields(_dataset_row(d).items()))


def datasets_show(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    _show_dataset(client, args, out, client.dataset(args.dataset))


def datasets_generate(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    d = client.generate(
        args.kind,
        n_samples=args.n_samples,
        noise=args.noise,
        random_state=args.random_state,
        name=args.name,
    )
    _show_dataset(client, args, out, d)


def datasets_upload(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    _show_dataset(client, args, out, client.upload(args.file, target=args.target, name=args.name))


def datasets_delete(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    client.dataset(args.dataset).delete(cascade=args.cascade)
    _emit(args, out, {"deleted": args.dataset}, lambda: f"deleted dataset {args.dataset}")


def _fit_params(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "hidden_layer_sizes": args.hidden,
        "task": args.task,
        "solver": args.solver,
        "alpha": args.alpha,
        "max_iter": args.max_iter,
        "random_state": args.random_state,
        "test_fraction": args.test_fraction,
        "n_restarts": args.n_restarts,
        "standardize": not args.no_standardize,
    }


def fit(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    wait: bool | float = False if args.wait is None else (True if args.wait < 0 else args.wait)
    model = client.fit(
        args.dataset,
        activation=args.activation,
        wait=wait,
        progress=False if args.no_progress else None,
        **_fit_params(args),
    )
    _emit(args, out, model.to_dict(), lambda: _model_text(model))


def models_list(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    found = client.models(
        dataset=args.dataset, status=args.status, page=args.page, page_size=args.page_size
    )
    _emit(args, out, [m.to_dict() for m in found], lambda: table(map(_model_row, found)))


def models_show(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    model = client.model(args.model)
    _emit(args, out, model.to_dict(), lambda: _model_text(model))


def models_delete(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    client.model(args.model).delete()
    _emit(args, out, {"deleted": args.model}, lambda: f"deleted model {args.model}")


def models_export(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    path = client.model(args.model).save_onnx(args.file)
    size = path.stat().st_size
    _emit(
        args,
        out,
        {"written": str(path), "bytes": size},
        lambda: f"wrote {path} ({size} bytes, ONNX)",
    )


def network(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    model = client.network(args.file, name=args.name)
    _emit(args, out, model.to_dict(), lambda: _model_text(model))


def _units(pairs: list[tuple[int, int]]) -> str | None:
    return ", ".join(f"layer {layer} unit {unit}" for layer, unit in pairs) or None


def _limited(rows: list[dict[str, Any]]) -> str:
    text = table(rows[:MAX_ROWS])
    if len(rows) > MAX_ROWS:
        text += f"\n... {len(rows) - MAX_ROWS} more (use --json for all)"
    return text


def _slice_text(cut: Slice | None) -> str | None:
    """One line saying where a slice lies, for the human-readable output."""
    if cut is None:
        return None
    where = "" if cut.reference is None else f" through {cut.reference.tolist()}"
    return f"{cut.kind} {', '.join(cut.axis_names)}{where}"


def _plane_names(cut: Slice | None, feature_names: list[str] | None) -> list[str]:
    """Names of a region map's two coordinates: the slice's axes, else the features."""
    if cut is not None and len(cut.axis_names) == 2:
        return list(cut.axis_names)
    if feature_names is not None and len(feature_names) == 2:
        return feature_names
    return ["x1", "x2"]


def _output_names(task: str, n_outputs: int) -> list[str]:
    """Name each output of the affine maps: ``y``, or a classifier's logits."""
    if task != "classification":
        return ["y"] if n_outputs == 1 else [f"y{k + 1}" for k in range(n_outputs)]
    return ["logit"] if n_outputs == 1 else [f"logit{k}" for k in range(n_outputs)]


def _plane_args(args: argparse.Namespace) -> dict[str, Any]:
    axes = None if args.axes is None else tuple(a.strip() for a in args.axes.split(","))
    return {"axes": axes, "at": args.at, "origin": args.origin, "u": args.u, "v": args.v}


def knots(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    knots = client.model(args.model).knots(
        args.lo, args.hi, axis=args.axis, at=args.at, start=args.start, end=args.end
    )

    def human() -> str:
        head = fields(
            [
                ("slice", _slice_text(knots.slice)),
                ("interval", [knots.lo, knots.hi]),
                ("knots", knots.x.tolist()),
                ("pieces", knots.n_pieces),
                ("bound", knots.bound),
                (
                    "class changes",
                    None if knots.class_changes is None else knots.class_changes.tolist(),
                ),
                ("dead units", _units(knots.diagnostics.dead_units)),
            ]
        )
        pieces: list[dict[str, Any]] = []
        single = knots.slopes.shape[1] == 1
        for p in range(knots.n_pieces):
            row: dict[str, Any] = {"lo": float(knots.piece_lo[p]), "hi": float(knots.piece_hi[p])}
            for k in range(knots.slopes.shape[1]):
                suffix = "" if single else f"_{k}"
                row["slope" + suffix] = float(knots.slopes[p, k])
                row["intercept" + suffix] = float(knots.intercepts[p, k])
            row["pattern"] = "".join("1" if bit else "0" for bit in knots.patterns[p])
            pieces.append(row)
        return head + "\n\n" + _limited(pieces)

    _emit(args, out, knots.to_dict(), human)


def regions(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    model = client.model(args.model)
    box = None if args.box is None else [args.box[:2], args.box[2:]]
    if args.geojson is not None:
        collection = model.geojson(box, max_regions=args.max_regions, **_plane_args(args))
        Path(args.geojson).write_text(json.dumps(collection))
        n = len(collection["features"])
        _emit(
            args,
            out,
            {"written": args.geojson, "features": n},
            lambda: f"wrote {n} features to {args.geojson}",
        )
        return
    regions = model.regions(box, max_regions=args.max_regions, **_plane_args(args))

    def human() -> str:
        boundary = regions.decision_boundary
        head = fields(
            [
                ("slice", _slice_text(regions.slice)),
                ("box", regions.box.ravel().tolist()),
                ("regions", regions.n_regions),
                ("linear regions", regions.n_linear_regions),
                ("bound", regions.bound),
                ("boundary segments", None if boundary is None else boundary.n_segments),
                ("dead units", _units(regions.diagnostics.dead_units)),
            ]
        )
        names = _plane_names(regions.slice, model.feature_names)
        outputs = _output_names(model.task, regions.gradients.shape[1])
        rows = [
            {
                "region": i,
                "linear": int(lin),
                "area": float(a),
                "vertices": int(k),
                "pattern": p,
                "formula": "; ".join(
                    affine_formula(out, regions.gradients[i, j], regions.intercepts[i, j], names)
                    for j, out in enumerate(outputs)
                ),
            }
            for i, (lin, a, k, p) in enumerate(
                zip(
                    regions.linear_region,
                    regions.areas,
                    np.diff(regions.offsets),
                    regions.to_dict()["patterns"],
                    strict=True,
                )
            )
        ]
        return head + "\n\n" + _limited(rows)

    _emit(args, out, regions.to_dict(), human)


def _read_points(path: str) -> NDArray[np.float64]:
    handle = sys.stdin if path == "-" else open(path, newline="")
    with handle:
        rows = [row for row in csv.reader(handle) if row]
    try:
        [float(v) for v in rows[0]]
    except ValueError:
        rows = rows[1:]  # a header row
    except IndexError:
        raise ValidationError(f"{path} holds no points") from None
    try:
        return np.array([[float(v) for v in row] for row in rows], dtype=np.float64)
    except ValueError as exc:
        raise ValidationError(f"{path}: every value must be a number ({exc})") from None


def predict(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    model = client.model(args.model)
    X = _read_points(args.points)
    labels = model.predict(X)
    document: dict[str, Any] = {"predictions": labels.tolist()}
    proba = model.predict_proba(X) if model.task == "classification" else None
    if proba is not None:
        document["probabilities"], document["classes"] = proba.tolist(), model.classes

    def human() -> str:
        names = ["x"] if X.shape[1] == 1 else [f"x{i + 1}" for i in range(X.shape[1])]
        rows = []
        for i, row in enumerate(X):
            entry: dict[str, Any] = {n: float(v) for n, v in zip(names, row, strict=True)}
            entry["prediction"] = labels[i].item()
            if proba is not None:
                for label, p in zip(model.classes or [], proba[i], strict=True):
                    entry[f"P({label})"] = float(p)
            rows.append(entry)
        return table(rows)

    _emit(args, out, document, human)


def plot(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    from relumap._optional import require

    figure = require("matplotlib.figure", "relumap plot")
    model = client.model(args.model)
    fig = figure.Figure(figsize=(8, 6), layout="constrained")
    model.plot(fig.subplots(), color_by=args.color_by)
    fig.savefig(args.output, dpi=args.dpi)
    _emit(args, out, {"written": args.output}, lambda: f"wrote {args.output}")


def compare(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    comparison: Comparison = client.compare(
        args.dataset, progress=False if args.no_progress else None, **_fit_params(args)
    )
    _emit(
        args,
        out,
        comparison.to_dict(),
        lambda: (
            fields([("relu", comparison.relu.id), ("identity", comparison.identity.id)])
            + "\n\n"
            + table(comparison.rows())
        ),
    )
