"""ONNX over HTTP: `GET /v1/models/{id}/model.onnx`, and ONNX bodies of `POST /v1/networks`.

The format itself (building and reading graphs) is `relumap_service.onnx_io`;
this module only moves bytes between it and the requests.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from flask_smorest.arguments import ArgumentsMixin

from relumap_service.api.context import get_model_or_404
from relumap_service.api.errors import problem_doc
from relumap_service.api.models import model_document, succeeded_network
from relumap_service.api.schemas import NetworkInSchema, StrictSchema, Text
from relumap_service.onnx_io import (
    ONNX_MIMETYPE,
    OnnxImportError,
    network_from_onnx,
    network_to_onnx,
)

__all__ = ["NETWORK_BODY", "NetworkQuerySchema", "blp", "network_arguments"]

blp = Blueprint(
    "onnx", __name__, url_prefix="/v1/models", description="Models as ONNX files, out and in"
)

_BINARY = {"type": "string", "format": "binary"}

NETWORK_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": NetworkInSchema},
        ONNX_MIMETYPE: {"schema": _BINARY},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": _BINARY, "name": {"type": "string"}},
                "required": ["file"],
            }
        },
    },
}


class NetworkQuerySchema(StrictSchema):
    """Options of `POST /v1/networks`."""

    name = Text(
        validate=ma.validate.Length(min=1),
        metadata={"description": "Name of a network sent as an `application/onnx` body"},
    )


def _onnx_arguments(data: bytes, name: str | None) -> dict[str, Any]:
    """Read an ONNX model into the fields of a JSON weights document."""
    try:
        found = network_from_onnx(data)
    except OnnxImportError as exc:
        errors: dict[str, Any] = {"file": [str(exc)]}
        if exc.node is not None:
            errors["node"] = {"name": exc.node, "op_type": exc.op_type}
        abort(422, message=str(exc), errors=errors)
    network = found.network
    args: dict[str, Any] = {
        **{key: network.to_dict()[key] for key in ("coefs", "intercepts", "layout")},
        "activation": network.hidden_activation,
        "output_activation": network.output_activation,
        "negative_slope": network.negative_slope,
        "classes": found.classes,
        "domain": None,
        "name": name or f"ONNX network ({_printable(found.producer) or 'unknown producer'})",
    }
    if found.feature_names is not None:
        args["feature_names"] = found.feature_names
    # Labels and names from the file get the checks a JSON body gets.
    try:
        checked: dict[str, Any] = NetworkInSchema().load(args)
    except ma.ValidationError as exc:
        abort(422, errors=exc.messages)
    return checked


def _printable(text: str) -> str:
    return "".join(c for c in text if c.isprintable())[:100]


def network_arguments(name: str | None = None) -> dict[str, Any]:
    """Return the body of `POST /v1/networks`: JSON weights, or an ONNX file read into them.

    An ONNX file comes as an `application/onnx` body (named by `name`, from
    `?name=`) or as the multipart field `file` (named by the field `name`).
    """
    if request.mimetype == ONNX_MIMETYPE:
        return _onnx_arguments(request.get_data(), name)
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            abort(
                422,
                message="send the ONNX model in the multipart field 'file'",
                errors={"file": ["missing"]},
            )
        return _onnx_arguments(upload.read(), request.form.get("name") or name)
    if request.mimetype != "application/json":
        abort(
            415,
            message=f"send the weights as application/json, or an ONNX model as "
            f"{ONNX_MIMETYPE} or multipart/form-data, not {request.mimetype or 'no content type'}",
        )
    parsed: dict[str, Any] = ArgumentsMixin.ARGUMENTS_PARSER.parse(
        NetworkInSchema, request, location="json"
    )
    return parsed


@blp.route("/<id:model_id>/model.onnx")
class ModelOnnx(MethodView):
    """A model as an ONNX file."""

    @blp.response(
        200,
        _BINARY,
        content_type=ONNX_MIMETYPE,
        description="An ONNX model (opset 17, float64): input `X` of shape (N, n_features); "
        "output `predictions` (N, n_outputs) for a regressor, `probabilities` "
        "(N, n_classes) and `logits` (N, n_outputs) for a classifier",
    )
    @blp.alt_response(404, **problem_doc("No model with this id"))
    @blp.alt_response(409, **problem_doc("The model is queued, running or failed: no weights"))
    def get(self, model_id: str) -> Response:
        """Export a succeeded model as ONNX, to run it in onnxruntime or elsewhere.

        The weights are the stored ones (input scaling folded in), as float64
        tensors, so onnxruntime gives `POST /v1/models/{id}/predict`'s values
        and probabilities to rounding. Class labels and feature names are in
        the metadata (`classes`, `feature_names`, JSON). `POST /v1/networks`
        takes the file back.
        """
        record = get_model_or_404(model_id)
        network = succeeded_network(record)
        document = model_document(record)
        data = network_to_onnx(
            network,
            classes=document.get("classes"),
            feature_names=document.get("feature_names"),
            name=f"relumap model {record.id}",
        )
        disposition = f'attachment; filename="relumap-{record.id}.onnx"'
        return Response(data, mimetype=ONNX_MIMETYPE, headers={"Content-Disposition": disposition})
