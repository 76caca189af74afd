"""Inference protocols: MLflow's scoring protocol and the Open Inference Protocol v2.

Both read a request in their own format, turn it into the arguments of
`POST /v1/models/{id}/predict` and predict through the same
:func:`~relumap_service.api.models.predict_document`: names are matched to the
model's feature names, limits are checked and values computed exactly as
`/predict` does.

- MLflow (`POST /v1/models/{id}/invocations`, `GET /ping`): the JSON formats
  `dataframe_split`, `dataframe_records`, `instances` and `inputs`, or a
  `text/csv` body with a header row; `params` is accepted and ignored, as
  MLflow's scikit-learn flavour does. The answer is `{"predictions": [...]}`:
  for a classifier the labels, as MLflow's pyfunc of a scikit-learn classifier
  and `/predict`'s `predictions` give them. Errors stay problem documents, as
  everywhere under `/v1`.
- Open Inference Protocol v2 (KServe v2, Triton) under `/v2`: a model's name
  is its id. Errors are the protocol's `{"error": "..."}`: 404 for an unknown
  model or path, 400 for a bad request (a 409 or 422 of the rest of the API
  becomes 400), other statuses unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import marshmallow as ma
from flask import Response, json, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from relumap_service import __version__
from relumap_service.api.context import get_model_or_404, services
from relumap_service.api.errors import PROBLEM_MIMETYPE, problem_doc
from relumap_service.api.features import feature_names_of
from relumap_service.api.inputs import MAX_JSON_DEPTH, json_depth
from relumap_service.api.models import predict_document, succeeded_network
from relumap_service.api.schemas import PredictSchema
from relumap_service.api.tensors import (
    HealthFlagSchema,
    InferRequestSchema,
    InferResponseSchema,
    ModelMetadataSchema,
    ProtocolErrorSchema,
    ServerMetadataSchema,
    label_datatype,
    output_tensor,
    tensor_args,
)
from relumap_service.store import ModelRecord

__all__ = ["blp"]

blp = Blueprint(
    "inference",
    __name__,
    description="MLflow's scoring protocol and the Open Inference Protocol v2 (KServe, Triton)",
)

MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_ID = re.compile(r"[0-9a-f]{32}")
# Under /v2 every error, 401 and 503 included, is the protocol's {"error": ...}.
_V2_ERROR_CONTENT = {"application/json": {"schema": ProtocolErrorSchema}}
_V2_ERRORS = blp.doc(
    responses={
        "default": {
            "description": "Error: 400 for a bad request, 404 for an unknown model",
            "content": _V2_ERROR_CONTENT,
        }
    }
)
# What the model endpoints answer besides the server-wide errors: the protocol
# has 400 for a model that is not ready and for a bad request, 404 for no model.
_V2_MODEL_ERRORS = blp.doc(
    responses={
        "400": {
            "description": "The model is queued, running or failed, or the request is bad",
            "content": _V2_ERROR_CONTENT,
        },
        "404": {
            "description": "No model of this name (a model's name is its id)",
            "content": _V2_ERROR_CONTENT,
        },
    }
)


class PredictionsSchema(ma.Schema):
    """MLflow's scoring answer."""

    predictions = ma.fields.List(
        ma.fields.Raw(), metadata={"description": "a value or label per row, as /predict gives"}
    )


def _load_predict_args(args: dict[str, Any]) -> dict[str, Any]:
    """Validate translated arguments with `/predict`'s own schema (422 on a bad value)."""
    try:
        loaded: dict[str, Any] = PredictSchema().load(args)
    except ma.ValidationError as error:
        abort(422, errors=error.messages)
    return loaded


# --- MLflow -----------------------------------------------------------------


def _csv_args(body: bytes) -> dict[str, Any]:
    """Read a CSV body with a header row, as MLflow does (`pandas.read_csv`)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        abort(400, message=f"the CSV body is not UTF-8 ({error}); send it as UTF-8")
    lines = [row for row in csv.reader(io.StringIO(text)) if row]
    if not lines:
        abort(422, message="the CSV body is empty; send a header row of feature names, then rows")
    header, data = [name.strip() for name in lines[0]], []
    for number, row in enumerate(lines[1:], start=1):
        if len(row) != len(header):
            abort(422, message=f"CSV row {number} has {len(row)} values for {len(header)} columns")
        values = []
        for name, cell in zip(header, row, strict=True):
            try:
                values.append(float(cell))
            except ValueError:
                abort(422, message=f"CSV row {number}, column {name!r}: {cell!r} is no number")
        data.append(values)
    return {"dataframe_split": {"columns": header, "data": data}}


def _mlflow_args() -> dict[str, Any]:
    """Return the `/predict` arguments of an MLflow scoring request."""
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        abort(415, message=f"send the body as UTF-8, not {charset}")
    if request.mimetype == "text/csv":
        return _csv_args(request.get_data())
    if request.mimetype != "application/json":
        abort(
            415,
            message="send application/json (dataframe_split, dataframe_records, instances "
            f"or inputs) or text/csv, not {request.mimetype or 'no content type'}",
        )
    payload = request.get_json()
    keys = list(payload) if isinstance(payload, dict) else []
    given = [key for key in keys if key in MLFLOW_FORMATS]
    unknown = [key for key in keys if key not in (*MLFLOW_FORMATS, "params")]
    if len(given) != 1 or unknown:
        abort(
            422,
            message=f"send a JSON object with exactly one of {list(MLFLOW_FORMATS)} and "
            f"optionally 'params'; got keys {keys}",
        )
    if not isinstance(payload.get("params", {}), dict):
        abort(422, message="params must be an object {name: value}")
    key = given[0]
    value = payload[key]
    if key == "instances":
        # TF Serving's row format: rows of values, or one {name: value} per row.
        is_records = isinstance(value, list) and value and all(isinstance(r, dict) for r in value)
        key = "dataframe_records" if is_records else "inputs"
    return {key: value}


@blp.route("/v1/models/<id:model_id>/invocations")
class Invocations(MethodView):
    """MLflow's scoring protocol."""

    @blp.doc(
        requestBody={
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "exactly one of dataframe_split, dataframe_records, "
                        "instances or inputs; params is accepted and ignored",
                    },
                    "example": {"dataframe_split": {"columns": ["x1", "x2"], "data": [[0, 1]]}},
                },
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "x1,x2\n0,1\n",
                },
            },
        }
    )
    @blp.response(200, PredictionsSchema)
    @blp.alt_response(400, **problem_doc("The body is not valid JSON, or the CSV not UTF-8"))
    @blp.alt_response(404, **problem_doc("No model with this id"))
    @blp.alt_response(409, **problem_doc("The model is queued, running or failed: no predictions"))
    @blp.alt_response(
        415, **problem_doc("Neither application/json nor text/csv, or a charset but UTF-8")
    )
    @blp.alt_response(
        422, **problem_doc("No or several input formats, or rows that do not fit the model")
    )
    def post(self, model_id: str) -> dict[str, Any]:
        """Predict with MLflow's scoring protocol: `{"predictions": [...]}`.

        The body is what `mlflow models serve` takes: JSON with one of
        `dataframe_split`, `dataframe_records`, `instances` or `inputs` (rows, or
        a dict of columns), or CSV with a header row. Names are matched to the
        model's feature names as `/predict` does. A classifier answers labels.
        """
        record = get_model_or_404(model_id)
        args = _load_predict_args(_mlflow_args())
        return {"predictions": predict_document(record, args)["predictions"]}


@blp.route("/ping")
class Ping(MethodView):
    """MLflow's health check."""

    @blp.doc(security=[])
    @blp.response(200, {"type": "string"}, content_type="text/plain", description="A newline")
    def get(self) -> Response:
        """Answer 200 with a newline while the process serves, as `mlflow models serve` does.

        MLflow labels its newline `application/json`, which it is not; this is `text/plain`.
        """
        return Response("\n", status=200, mimetype="text/plain")


# --- Open Inference Protocol v2 ------------------------------------------------


def _v2_record(model_name: str) -> ModelRecord:
    """Return the model named `model_name` (its id), or answer 404."""
    if not _ID.fullmatch(model_name):
        abort(
            404,
            message=f"no model named {model_name[:100]!r}: a model's name is its id "
            "(32 lowercase hex digits); list them with GET /v1/models",
        )
    return get_model_or_404(model_name)


def _metadata(record: ModelRecord) -> dict[str, Any]:
    network = succeeded_network(record)
    names = feature_names_of(record.feature_names, network.n_inputs)
    outputs: list[dict[str, Any]]
    if record.task == "regression":
        shape = [-1] if network.n_outputs == 1 else [-1, network.n_outputs]
        outputs = [{"name": "predictions", "datatype": "FP64", "shape": shape}]
    else:
        classes = (record.result or {})["classes"]
        outputs = [
            {"name": "predictions", "datatype": label_datatype(classes), "shape": [-1]},
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, len(classes)]},
        ]
    return {
        "name": record.id,
        "versions": ["1"],
        "platform": "relumap",
        "inputs": [{"name": "input", "datatype": "FP64", "shape": [-1, network.n_inputs]}],
        "outputs": outputs,
        "parameters": {"feature_names": names, "task": record.task},
    }


@blp.route("/v2")
class ServerMetadata(MethodView):
    """The server, as the Open Inference Protocol describes it."""

    @_V2_ERRORS
    @blp.doc(security=[])
    @blp.response(200, ServerMetadataSchema)
    def get(self) -> dict[str, Any]:
        """Server name, version and protocol extensions (none)."""
        return {"name": "relumap", "version": __version__, "extensions": []}


@blp.route("/v2/health/live")
class ServerLive(MethodView):
    """Liveness, as the Open Inference Protocol asks."""

    @_V2_ERRORS
    @blp.doc(security=[])
    @blp.response(200, HealthFlagSchema)
    def get(self) -> dict[str, Any]:
        """Answer 200 `{"live": true}` while the process serves requests."""
        return {"live": True}


@blp.route("/v2/health/ready")
class ServerReady(MethodView):
    """Readiness, as the Open Inference Protocol asks."""

    @_V2_ERRORS
    @blp.doc(security=[])
    @blp.response(200, HealthFlagSchema)
    def get(self) -> dict[str, Any]:
        """Answer 200 `{"ready": true}` when the database answers, else 503."""
        try:
            services().store.ping()
        except Exception as exc:
            abort(503, message=f"not ready: database unreachable ({type(exc).__name__})")
        return {"ready": True}


@blp.route("/v2/models/<model_name>")
class ModelMetadata(MethodView):
    """A model, as the Open Inference Protocol describes it."""

    @_V2_MODEL_ERRORS
    @_V2_ERRORS
    @blp.response(200, ModelMetadataSchema)
    def get(self, model_name: str) -> dict[str, Any]:
        """Name, versions, platform and input and output tensors of a succeeded model.

        The input is one FP64 (or FP32) tensor `input` of shape `[rows, features]`;
        one tensor per feature named after it, of shape `[rows]`, is accepted too.
        """
        return _metadata(_v2_record(model_name))


@blp.route("/v2/models/<model_name>/ready")
class ModelReady(MethodView):
    """Whether a model can predict."""

    @_V2_MODEL_ERRORS
    @_V2_ERRORS
    @blp.response(200, HealthFlagSchema)
    def get(self, model_name: str) -> dict[str, Any]:
        """Answer 200 for a succeeded model; 400 while it is queued or running, or failed."""
        record = _v2_record(model_name)
        succeeded_network(record)
        return {"name": record.id, "ready": True}


@blp.route("/v2/models/<model_name>/infer")
class ModelInfer(MethodView):
    """Predictions with the Open Inference Protocol."""

    @_V2_MODEL_ERRORS
    @_V2_ERRORS
    @blp.doc(
        requestBody={
            "required": True,
            "content": {"application/json": {"schema": InferRequestSchema}},
        }
    )
    @blp.response(200, InferResponseSchema)
    def post(self, model_name: str) -> dict[str, Any]:
        """Predict: tensors in, FP64 `predictions` (and `probabilities` for a classifier) out.

        JSON tensors only: the binary tensor extension is answered with 400.
        """
        record = _v2_record(model_name)
        if "Inference-Header-Content-Length" in request.headers:
            abort(
                400,
                message="binary tensor data is not supported; send JSON tensors "
                "(tritonclient: binary_data=False)",
            )
        if request.mimetype not in ("", "application/json"):
            abort(415, message=f"send the request as application/json, not {request.mimetype}")
        body = request.get_data()
        if json_depth(body) > MAX_JSON_DEPTH:
            abort(400, message=f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
        try:
            payload = json.loads(body)
        except ValueError as error:
            abort(400, message=f"the body is not JSON: {error}")
        if not isinstance(payload, dict):
            abort(400, message="the body must be an object {inputs: [...]}")
        network = succeeded_network(record)
        names = feature_names_of(record.feature_names, network.n_inputs)
        predicted = predict_document(record, _load_predict_args(tensor_args(payload, names)))
        labels = "FP64" if record.task == "regression" else label_datatype(predicted["classes"])
        outputs = {"predictions": output_tensor("predictions", predicted["predictions"], labels)}
        if record.task != "regression":
            outputs["probabilities"] = output_tensor(
                "probabilities", predicted["probabilities"], "FP64"
            )
        wanted = payload.get("outputs")
        if wanted is not None:
            requested = [o.get("name") if isinstance(o, dict) else o for o in wanted]
            missing = [name for name in requested if name not in outputs]
            if missing:
                abort(400, message=f"unknown output(s) {missing}; this model has {list(outputs)}")
            outputs = {name: outputs[name] for name in requested}
        answer: dict[str, Any] = {
            "model_name": record.id,
            "model_version": "1",
            "outputs": list(outputs.values()),
        }
        if "id" in payload:
            answer["id"] = payload["id"]
        return answer


@blp.after_app_request
def _protocol_errors(response: Response) -> Response:
    """Answer errors under `/v2` as the protocol's `{"error": "..."}`."""
    if not request.path.startswith("/v2") or response.mimetype != PROBLEM_MIMETYPE:
        return response
    if "Content-Encoding" in response.headers:
        return response  # already compressed: left a problem document
    problem = json.loads(response.get_data())
    response.set_data(json.dumps({"error": problem.get("detail") or problem.get("title")}))
    response.mimetype = "application/json"
    if response.status_code in (409, 422):
        response.status_code = 400
    return response
