"""`/v1/datasets`: upload (JSON or CSV), generate, list, fetch and delete data sets."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from relumap_service.api.context import get_dataset_or_404, page_bounds, services
from relumap_service.api.idempotency import idempotent
from relumap_service.api.schemas import (
    CsvQuerySchema,
    DatasetGenerateSchema,
    DatasetQuerySchema,
    DatasetSchema,
    DatasetSummarySchema,
    DatasetUploadSchema,
    DeleteDatasetQuerySchema,
    Text,
)
from relumap_service.core.datasets import generate
from relumap_service.core.tabular import DataError, read_csv, validate_training_data
from relumap_service.store import DatasetRecord

blp = Blueprint("datasets", __name__, url_prefix="/v1/datasets", description="Training data")

_UPLOAD_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": DatasetUploadSchema},
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}


def _store_dataset(
    name: str,
    source: str,
    X: Any,
    y: Any,
    generator: dict[str, Any] | None = None,
    feature_names: list[str] | None = None,
) -> DatasetRecord:
    svc = services()
    try:
        data = validate_training_data(
            X,
            y,
            int(svc.config["MAX_SAMPLES"]),
            max_features=int(svc.config["MAX_FEATURES"]),
            feature_names=feature_names,
        )
    except DataError as exc:
        if exc.field == "limit":
            abort(413, message=exc.message)
        abort(422, message=exc.message, errors={exc.field: [exc.message]})
    # A generated set knows its task: a step function's 0/1 targets are not labels.
    task_hint = generator["task"] if generator else data.task_hint
    record = DatasetRecord(
        name=name,
        source=source,
        n_samples=int(data.X.shape[0]),
        n_features=int(data.X.shape[1]),
        task_hint=task_hint,
        classes=data.classes if task_hint == "classification" else None,
        bounds=data.bounds,
        generator=generator,
        X=data.X.tolist(),
        y=data.y,
        # Only names that were given are kept; unnamed columns stay positional.
        feature_names=None if feature_names is None else data.feature_names,
    )
    svc.store.add(record)
    return record


def _created(record: DatasetRecord) -> tuple[DatasetRecord, int, dict[str, str]]:
    location = url_for("datasets.Dataset", dataset_id=record.id)
    return record, 201, {"Location": location}


def _csv_upload(query: dict[str, Any]) -> DatasetRecord:
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            abort(
                422,
                message="send the CSV in the multipart field 'file'",
                errors={"file": ["missing"]},
            )
        raw = upload.read()
        # The form's fields are checked like the query's: known names, storable texts.
        try:
            form = CsvQuerySchema().load(request.form.to_dict())
        except ma.ValidationError as exc:
            abort(422, errors=exc.messages)
        try:
            file_name = Text().deserialize(upload.filename or "uploaded.csv")
        except ma.ValidationError as exc:
            message = f"the file name {exc.messages[0]}; rename the file or send a 'name'"
            abort(422, message=message, errors={"file": [message]})
        target = form["target"] if "target" in request.form else query["target"]
        name = form.get("name") or query.get("name") or file_name
    else:
        raw = request.get_data()
        target, name = query["target"], query.get("name", "uploaded.csv")
    try:
        text = raw.decode("utf-8-sig")
        table = read_csv(text, target=target)
    except UnicodeDecodeError:
        abort(422, message="the CSV is not UTF-8 text", errors={"file": ["not UTF-8"]})
    except DataError as exc:
        abort(422, message=exc.message, errors={exc.field: [exc.message]})
    return _store_dataset(name, "upload", table.X, table.y, feature_names=table.feature_names)


@blp.route("")
class Datasets(MethodView):
    """The collection of data sets."""

    @blp.response(200, DatasetSummarySchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: Any) -> list[DatasetRecord]:
        """List data sets, newest first (without their points)."""
        offset, limit = page_bounds(pagination_parameters)
        rows, total = services().store.list_datasets(offset, limit)
        pagination_parameters.item_count = total
        return rows

    @idempotent
    @blp.arguments(CsvQuerySchema(), location="query")
    @blp.doc(requestBody=_UPLOAD_BODY)
    @blp.response(201, DatasetSummarySchema)
    def post(self, query: dict[str, Any]) -> Any:
        """Upload a data set as JSON `{name, X, y}` or as CSV with a header row.

        CSV comes as a raw `text/csv` body or a multipart field `file`; the
        target column is `y` unless `target` names another.
        """
        if request.mimetype in ("text/csv", "multipart/form-data"):
            return _created(_csv_upload(query))
        if request.mimetype != "application/json":
            abort(
                415,
                message=f"send application/json, text/csv or multipart/form-data, "
                f"not {request.mimetype or 'no content type'}",
            )
        body = request.get_json(silent=True)
        if body is None:
            abort(400, message="the body is not valid JSON")
        try:
            data = DatasetUploadSchema().load(body)
        except ma.ValidationError as exc:
            abort(422, errors=exc.messages)
        return _created(
            _store_dataset(
                data["name"],
                "upload",
                data["X"],
                data["y"],
                feature_names=data.get("feature_names"),
            )
        )


@blp.route("/generate")
class GeneratedDatasets(MethodView):
    """Built-in data sets."""

    @idempotent
    @blp.arguments(DatasetGenerateSchema())
    @blp.response(201, DatasetSummarySchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Generate a built-in data set; the same `random_state` gives the same data."""
        limit = int(services().config["MAX_SAMPLES"])
        if args["n_samples"] > limit:
            abort(
                413,
                message=f"n_samples={args['n_samples']} exceeds the limit of {limit} "
                "(RELUMAP_MAX_SAMPLES)",
            )
        data = generate(args["kind"], args["n_samples"], args["noise"], args["random_state"])
        generator = {k: args[k] for k in ("kind", "n_samples", "noise", "random_state")}
        generator["task"] = data.task
        y = data.y.tolist()
        name = args.get("name") or args["kind"]
        return _created(_store_dataset(name, "generated", data.X, y, generator))


@blp.route("/<id:dataset_id>")
class Dataset(MethodView):
    """One data set."""

    @blp.arguments(DatasetQuerySchema(), location="query")
    @blp.response(200, DatasetSchema)
    def get(self, args: dict[str, Any], dataset_id: str) -> Any:
        """Fetch a data set; `?include=data` adds its points `X` and `y`."""
        record = get_dataset_or_404(dataset_id)
        if args.get("include") == "data":
            return record
        return {name: getattr(record, name) for name in DatasetSummarySchema().fields}

    @blp.arguments(DeleteDatasetQuerySchema(), location="query")
    @blp.response(204)
    def delete(self, args: dict[str, Any], dataset_id: str) -> None:
        """Delete a data set; `?cascade=true` also deletes the models fitted on it."""
        get_dataset_or_404(dataset_id)
        store = services().store
        n_models = store.count_models_of(dataset_id)
        if n_models and not args["cascade"]:
            abort(
                409,
                message=f"{n_models} model(s) were fitted on dataset {dataset_id}; "
                "delete them first or pass ?cascade=true",
            )
        store.delete_dataset(dataset_id, cascade=args["cascade"])
