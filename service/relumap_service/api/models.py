"""`/v1/models`: fit on the queue, then read status, metrics and weights, predict, delete."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from relumap_geometry import pattern_strings
from relumap_service.api.context import get_model_or_404, page_bounds, services
from relumap_service.api.errors import problem_doc
from relumap_service.api.features import feature_names_of, prediction_rows
from relumap_service.api.heavy_work import heavy_turn
from relumap_service.api.idempotency import idempotent
from relumap_service.api.schemas import (
    FitSchema,
    ModelListQuerySchema,
    ModelSchema,
    PredictionSchema,
    PredictQuerySchema,
    PredictSchema,
    WaitQuerySchema,
    WeightsQuerySchema,
    WeightsSchema,
)
from relumap_service.core.limits import WorkLimitExceeded
from relumap_service.core.network import Network
from relumap_service.core.snapshots import unpack_weights
from relumap_service.store import ModelRecord

blp = Blueprint("models", __name__, url_prefix="/v1/models", description="Fitted networks")

FINISHED = ("succeeded", "failed")


def _seconds(start: Any, end: Any) -> float | None:
    return (end - start).total_seconds() if start and end else None


def with_gradient(affine: dict[str, Any] | None) -> dict[str, Any] | None:
    """Give an affine map stored as ``coef`` its ``gradient`` too.

    Every affine map the API reports is ``gradient`` (n_outputs x n_inputs) and
    ``intercept``, as in `/regions` and `/knots`; the stored ``coef`` (n_inputs x
    n_outputs, scikit-learn's layout) stays beside it as a deprecated alias for
    one version.
    """
    if not affine or "coef" not in affine:
        return affine
    return {**affine, "gradient": np.asarray(affine["coef"], dtype=np.float64).T.tolist()}


def model_document(record: ModelRecord) -> dict[str, Any]:
    """Everything reported about a model, as the `Model` schema expects it."""
    result = record.result or {}
    network = result.get("network")
    return {
        "id": record.id,
        "dataset_id": record.dataset_id,
        "source": record.source,
        "status": record.status,
        "task": record.task,
        "params": record.params,
        "error": record.error,
        "created_at": record.created_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "attempts": record.attempts,
        "n_features": len(network["coefs"][0]) if network else None,
        "feature_names": (
            feature_names_of(record.feature_names, len(network["coefs"][0]))
            if network
            else record.feature_names
        ),
        **{
            key: result.get(key)
            for key in (
                "classes",
                "n_iter",
                "converged",
                "stop_reason",
                "loss",
                "loss_curve",
                "restarts",
                "warnings",
                "metrics",
                "n_train",
                "n_test",
                "test_indices",
            )
        },
        # Results stored before snapshots existed have none.
        "n_snapshots": result.get("n_snapshots", 0) if record.result else None,
        "baseline": with_gradient(result.get("baseline")),
        "equivalent_linear_map": with_gradient(result.get("equivalent_linear_map")),
        "timings": {
            "queued_seconds": _seconds(record.created_at, record.started_at),
            "run_seconds": _seconds(record.started_at, record.finished_at),
            "fit_seconds": result.get("fit_seconds"),
        },
    }


def check_network_limits(sizes: list[int]) -> None:
    """Answer 422 when hidden layers exceed the configured limits."""
    config = services().config
    if len(sizes) > config["MAX_LAYERS"]:
        message = f"{len(sizes)} hidden layers exceed the limit of {config['MAX_LAYERS']}"
    elif sum(sizes) > config["MAX_HIDDEN_UNITS"]:
        message = (
            f"{sum(sizes)} hidden units in all exceed the limit of {config['MAX_HIDDEN_UNITS']}"
        )
    else:
        return
    abort(422, message=message, errors={"hidden_layer_sizes": [message]})


def _check_limits(args: dict[str, Any]) -> None:
    config = services().config
    check_network_limits(args["hidden_layer_sizes"])
    errors = {
        field: [f"{args[field]} exceeds the limit of {config[key]}"]
        for field, key in (
            ("max_iter", "MAX_ITER"),
            ("n_restarts", "MAX_RESTARTS"),
            ("snapshots", "MAX_SNAPSHOTS"),
        )
        if args[field] > config[key]
    }
    if errors:
        abort(422, errors=errors)


def _resolve_task(args: dict[str, Any]) -> tuple[str, list[str] | None]:
    dataset = services().store.get_dataset(args["dataset_id"], points=False)
    if dataset is None:
        abort(404, message=f"no dataset with id {args['dataset_id']!r}")
    assert dataset is not None
    task: str = dataset.task_hint if args["task"] == "auto" else args["task"]
    if task == "classification":
        n_classes = len(set(dataset.y))
        if n_classes < 2:
            abort(
                422,
                message=f"dataset {dataset.id} holds a single class; "
                "a classifier needs two or more",
                errors={"task": ["single class"]},
            )
    elif any(isinstance(v, str | bool) for v in dataset.y):
        abort(
            422,
            message=f"dataset {dataset.id} has text labels; fit it with task 'classification'",
            errors={"task": ["labels are not numbers"]},
        )
    return task, dataset.feature_names


def _check_wait(wait: float) -> None:
    """Answer 422 for a ``?wait`` longer than ``RELUMAP_MAX_WAIT_SECONDS``."""
    bound = services().config["MAX_WAIT_SECONDS"]
    if wait > bound:
        abort(422, errors={"wait": [f"at most {bound} seconds (RELUMAP_MAX_WAIT_SECONDS)"]})


def _wait_for(model_id: str, seconds: float) -> ModelRecord | None:
    """Return the model once settled, or as it is after ``seconds``.

    The request sleeps until the fit's event wakes it (``FitQueue.events``),
    re-reading the store only after an event, and every
    ``FIT_WAIT_RECHECK_SECONDS`` in case an event was lost.
    """
    svc = services()
    recheck = float(svc.config["FIT_WAIT_RECHECK_SECONDS"])
    deadline = time.monotonic() + seconds
    with svc.queue.events.watch(model_id) as settled:
        while True:
            settled.clear()  # before the read: an event after it wakes the wait below
            record = svc.store.get_model(model_id)
            remaining = deadline - time.monotonic()
            if record is None or record.status in FINISHED or remaining <= 0:
                return record
            settled.wait(min(remaining, recheck))


@blp.route("")
class Models(MethodView):
    """The collection of models."""

    @blp.arguments(ModelListQuerySchema(), location="query")
    @blp.response(200, ModelSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
        """List models, newest first; filter by `dataset_id` and `status`."""
        offset, limit = page_bounds(pagination_parameters)
        rows, total = services().store.list_models(offset, limit, **args)
        pagination_parameters.item_count = total
        return [model_document(row) for row in rows]

    @idempotent
    @blp.arguments(FitSchema())
    @blp.arguments(WaitQuerySchema(), location="query", as_kwargs=True)
    @blp.response(202, ModelSchema, headers={"Location": {"schema": {"type": "string"}}})
    @blp.alt_response(
        201, schema=ModelSchema, success=True, description="The fit finished within ?wait seconds"
    )
    def post(self, args: dict[str, Any], wait: float) -> Any:
        """Fit a network on the queue; 202 at once, or 201 if it finished within `?wait`."""
        svc = services()
        _check_wait(wait)
        _check_limits(args)
        task, feature_names = _resolve_task(args)
        params = {key: value for key, value in args.items() if key not in ("dataset_id", "task")}
        record = ModelRecord(
            dataset_id=args["dataset_id"],
            source="fit",
            status="queued",
            task=task,
            params=params,
            feature_names=feature_names,
        )
        svc.store.add(record)
        try:
            svc.queue.submit(record.id)
        except Exception:
            svc.store.delete_model(record.id)
            abort(
                503,
                message="the fit queue is unreachable; try again later",
                headers={"Retry-After": "5"},
            )
        if wait > 0:
            record = _wait_for(record.id, wait) or record
        status = 201 if record.status in FINISHED else 202
        location = url_for("models.Model", model_id=record.id)
        return model_document(record), status, {"Location": location}


@blp.route("/<id:model_id>")
class Model(MethodView):
    """One model."""

    @blp.arguments(WaitQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, ModelSchema)
    @blp.alt_response(404, **problem_doc("No model with this id"))
    def get(self, model_id: str, wait: float) -> dict[str, Any]:
        """Fetch a model: status, parameters, timings, warnings and metrics.

        With `?wait=SECONDS` a queued or running fit is waited for, up to that
        long: the answer comes as soon as it has succeeded or failed.
        """
        _check_wait(wait)
        record = get_model_or_404(model_id)
        if wait > 0 and record.status not in FINISHED:
            record = _wait_for(model_id, wait) or get_model_or_404(model_id)
        return model_document(record)

    @blp.response(204)
    @blp.alt_response(404, **problem_doc("No model with this id"))
    def delete(self, model_id: str) -> None:
        """Delete a model; a fit still queued or running is dropped."""
        if not services().store.delete_model(model_id):
            abort(404, message=f"no model with id {model_id!r}")
        services().queue.events.settled(model_id)  # a request waiting for it returns now


def succeeded_network(record: ModelRecord) -> Network:
    """Return the network of a succeeded model, or answer 409."""
    if record.status != "succeeded" or not record.result:
        detail = f"model {record.id} is {record.status}"
        if record.error:
            detail += f": {record.error}"
        abort(409, message=detail + "; only a succeeded model has weights")
    assert record.result is not None
    return Network.from_dict(record.result["network"])


def network_at(record: ModelRecord, snapshot: int | None) -> Network:
    """Return a succeeded model's network, or that of its snapshot ``snapshot``.

    Answers 409 for a model that is not succeeded and 422, naming the valid
    range, for an index it does not have.
    """
    network = succeeded_network(record)
    if snapshot is None:
        return network
    count = int((record.result or {}).get("n_snapshots", 0))
    # Checked before the query: an index past int64 never reaches the database.
    found = services().store.get_snapshot(record.id, snapshot) if snapshot < count else None
    if found is None:
        valid = f"0 to {count - 1}" if count else "none: fit it with snapshots=N"
        message = f"model {record.id} has no snapshot {snapshot}; valid indices: {valid}"
        abort(422, message=message, errors={"snapshot": [message]})
    assert found is not None
    return unpack_weights(found.weights, network)


@blp.route("/<id:model_id>/weights")
class Weights(MethodView):
    """The weights of a model."""

    @blp.arguments(WeightsQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, WeightsSchema)
    @blp.alt_response(404, **problem_doc("No model with this id"))
    @blp.alt_response(409, **problem_doc("The model is queued, running or failed: no weights"))
    def get(self, model_id: str, snapshot: int | None = None) -> dict[str, Any]:
        """Export the weights in scikit-learn's layout; `POST /v1/networks` takes them back.

        `?snapshot=INDEX` exports those of a training snapshot instead.
        """
        record = get_model_or_404(model_id)
        network = network_at(record, snapshot)
        assert record.result is not None
        return {
            **network.to_dict(),
            "classes": record.result.get("classes"),
            "task": record.task,
            "n_features": network.n_inputs,
            "feature_names": feature_names_of(record.feature_names, network.n_inputs),
        }


# Multiply-adds of one chunk of rows (0.2-0.5 s on one core): memory stays small
# on wide networks, and a prediction needing several chunks is heavy work, which
# takes a turn and checks its deadline between chunks. Chunks of under about a
# thousand rows would make numpy's stacked products several times slower.
CHUNK_MULTIPLY_ADDS = 1_000_000_000

Chunk = TypeVar("Chunk")


def _in_chunks(
    compute: Callable[[np.ndarray], Chunk], X: np.ndarray, cost_per_row: int
) -> list[Chunk]:
    """Apply `compute` to consecutive row blocks of `X` of about CHUNK_MULTIPLY_ADDS each."""
    rows = max(1, CHUNK_MULTIPLY_ADDS // max(1, cost_per_row))
    if X.shape[0] <= rows:
        return [compute(X)]
    with heavy_turn() as budget:
        results = []
        for start in range(0, X.shape[0], rows):
            budget.check()
            results.append(compute(X[start : start + rows]))
        return results


def _weights(network: Network) -> int:
    return sum(int(w.size) for w in network.coefs)


def _check_pattern_cells(network: Network, n_rows: int) -> None:
    """Refuse `?include=pattern` answers larger than RELUMAP_MAX_PATTERN_CELLS.

    A row's answer holds a character per hidden unit and a gradient entry per
    input and output, and computing it costs about (inputs + 2) passes.
    """
    per_row = sum(network.hidden_layer_sizes) + network.n_inputs * network.n_outputs
    limit = int(services().config["MAX_PATTERN_CELLS"])
    _refuse_over_cells(
        n_rows * per_row,
        f"with this model ({per_row} cells per row) send at most {limit // per_row} "
        "rows per request with include=pattern, or leave include=pattern out",
    )


def check_units_cells(network: Network, n_rows: int) -> None:
    """Refuse ``?include=units`` answers larger than RELUMAP_MAX_PATTERN_CELLS.

    Each piece or region then holds (inputs + 1) numbers per hidden unit.
    """
    per_row = sum(network.hidden_layer_sizes) * (network.n_inputs + 1)
    per_row += network.n_outputs * network.hidden_layer_sizes[-1] * 2 if per_row else 0
    _refuse_over_cells(
        n_rows * per_row,
        f"{n_rows} pieces or regions with {per_row} numbers each: ask a smaller "
        "domain or leave include=units out",
    )


def _refuse_over_cells(cells: int, advice: str) -> None:
    """422 (max_pattern_cells) when an answer would hold more than RELUMAP_MAX_PATTERN_CELLS."""
    limit = int(services().config["MAX_PATTERN_CELLS"])
    if cells > limit:
        raise WorkLimitExceeded(
            "max_pattern_cells", cells, limit, f"{advice} (RELUMAP_MAX_PATTERN_CELLS)"
        )


def _local_geometry(network: Network, X: np.ndarray) -> dict[str, Any]:
    """Patterns and local affine maps, in chunks to bound memory on wide networks."""

    def chunk(part: np.ndarray) -> tuple[list[str], Any, Any]:
        _, layers = network.forward(part, return_patterns=True)
        bits = np.concatenate(layers, axis=1) if layers else np.zeros((len(part), 0), bool)
        slope, offset = network.local_affine(part)
        return pattern_strings(bits), slope.tolist(), offset.tolist()

    patterns: list[str] = []
    gradients: list[Any] = []
    intercepts: list[Any] = []
    for bits, slope, offset in _in_chunks(chunk, X, _weights(network) * (network.n_inputs + 2)):
        patterns += bits
        gradients += slope
        intercepts += offset
    return {"patterns": patterns, "gradients": gradients, "intercepts": intercepts}


def _require_finite(values: np.ndarray, what: str) -> None:
    """Answer 422 where the network's outputs overflow float64 (JSON has no Infinity)."""
    bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        message = (
            f"row {row}: the network's {what} are not finite at this input (a value "
            "overflows float64, beyond ±1.8e308); send inputs of smaller magnitude"
        )
        abort(422, message=message, errors={"X": {str(row): [message]}})


@blp.route("/<id:model_id>/predict")
class Predict(MethodView):
    """Predictions of a model."""

    @blp.arguments(PredictSchema())
    @blp.arguments(PredictQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, PredictionSchema)
    def post(self, args: dict[str, Any], model_id: str, include: str | None = None) -> Any:
        """Predict `{"X": [[...]]}`, or MLflow's `inputs`, `dataframe_split`, `dataframe_records`.

        Columns of `dataframe_split`, keys of `dataframe_records` and of `inputs`
        given as `{name: [values]}` are matched to the model's feature names, in
        any order; a missing or unknown name is a 422 listing them. Rows (`X`,
        `inputs` as a list) are taken in the model's feature order.

        `?include=pattern` adds each point's activation pattern (which names its
        activation region) and the affine map of the logits there.
        """
        return predict_document(get_model_or_404(model_id), args, include)


def predict_document(
    record: ModelRecord, args: dict[str, Any], include: str | None = None
) -> dict[str, Any]:
    """Predict the rows of a loaded `PredictSchema` with a succeeded model.

    Shared by `/predict` and the inference protocols (`api/inference.py`), so
    that every way in matches names, checks limits and predicts alike.

    Returns
    -------
    dict
        `predictions` (labels for a classifier), and for a classifier
        `probabilities` and `classes`; with `include="pattern"` the local geometry.
    """
    network = succeeded_network(record)
    rows = prediction_rows(args, record.feature_names)
    limit = services().config["MAX_PREDICT_ROWS"]
    if len(rows) > limit:
        abort(
            413,
            message=f"{len(rows)} rows exceed the limit of {limit} per request "
            "(RELUMAP_MAX_PREDICT_ROWS); send them in smaller batches",
        )
    widths = {len(row) for row in rows}
    if rows and widths != {network.n_inputs}:
        abort(
            422,
            message=f"the model takes {network.n_inputs} feature(s) per row, "
            f"got rows of length {sorted(widths)}",
            errors={"X": ["dimension mismatch"]},
        )
    X = np.asarray(rows, dtype=np.float64).reshape(len(rows), network.n_inputs)
    if include == "pattern":
        _check_pattern_cells(network, len(rows))
    if record.task == "regression":
        with np.errstate(over="ignore", invalid="ignore"):
            output = np.concatenate(_in_chunks(network.predict, X, _weights(network)))
        _require_finite(output, "outputs")
        # One value per point for a single output, a row per point for several.
        values = output[:, 0] if network.n_outputs == 1 else output
        body: dict[str, Any] = {"predictions": values.tolist()}
    else:
        assert record.result is not None
        classes = record.result["classes"]
        with np.errstate(over="ignore", invalid="ignore"):
            proba = np.concatenate(_in_chunks(network.predict_proba, X, _weights(network)))
        _require_finite(proba, "class probabilities")
        body = {
            "predictions": [classes[i] for i in np.argmax(proba, axis=1)],
            "probabilities": proba.tolist(),
            "classes": classes,
        }
    if include == "pattern":
        body.update(_local_geometry(network, X))
    return body
