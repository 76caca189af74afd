"""The Open Inference Protocol's documents: their schemas, and tensors in and out.

A request's input tensors become the arguments of `/predict`
(`api/inference.py` predicts with them); predictions become output tensors.
See https://github.com/kserve/open-inference-protocol (REST, "v2").
"""

from __future__ import annotations

import math
from typing import Any

import marshmallow as ma
import numpy as np
from flask_smorest import abort

__all__ = [
    "HealthFlagSchema",
    "InferRequestSchema",
    "InferResponseSchema",
    "ModelMetadataSchema",
    "ProtocolErrorSchema",
    "ServerMetadataSchema",
    "label_datatype",
    "output_tensor",
    "tensor_args",
]

_NUMERIC = {"FP64", "FP32", "FP16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32"}


class ProtocolErrorSchema(ma.Schema):
    """The Open Inference Protocol's error."""

    error = ma.fields.String(metadata={"description": "What went wrong and what to do"})


class TensorMetadataSchema(ma.Schema):
    """A tensor a model takes or gives."""

    name = ma.fields.String()
    datatype = ma.fields.String(metadata={"description": "FP64, or BYTES for text labels"})
    shape = ma.fields.List(ma.fields.Integer(), metadata={"description": "-1: any size"})


class TensorSchema(TensorMetadataSchema):
    """A tensor's values, row-major; nested lists are accepted on input."""

    data = ma.fields.List(ma.fields.Raw())
    parameters = ma.fields.Dict()


class RequestedOutputSchema(ma.Schema):
    """An output the caller wants."""

    name = ma.fields.String(required=True)
    parameters = ma.fields.Dict()


class InferRequestSchema(ma.Schema):
    """An Open Inference Protocol request."""

    id = ma.fields.String()
    parameters = ma.fields.Dict()
    inputs = ma.fields.List(ma.fields.Nested(TensorSchema), required=True)
    outputs = ma.fields.List(ma.fields.Nested(RequestedOutputSchema))


class InferResponseSchema(ma.Schema):
    """An Open Inference Protocol answer."""

    model_name = ma.fields.String()
    model_version = ma.fields.String()
    id = ma.fields.String()
    outputs = ma.fields.List(ma.fields.Nested(TensorSchema))


class ModelMetadataSchema(ma.Schema):
    """A model's name, versions, platform and tensors."""

    name = ma.fields.String()
    versions = ma.fields.List(ma.fields.String())
    platform = ma.fields.String()
    inputs = ma.fields.List(ma.fields.Nested(TensorMetadataSchema))
    outputs = ma.fields.List(ma.fields.Nested(TensorMetadataSchema))
    parameters = ma.fields.Dict(metadata={"description": "feature_names and task"})


class ServerMetadataSchema(ma.Schema):
    """The server's name, version and protocol extensions."""

    name = ma.fields.String()
    version = ma.fields.String()
    extensions = ma.fields.List(ma.fields.String())


class HealthFlagSchema(ma.Schema):
    """`live` or `ready`, and the model's name for a model's readiness."""

    live = ma.fields.Boolean()
    ready = ma.fields.Boolean()
    name = ma.fields.String()


def label_datatype(classes: list[Any]) -> str:
    """Return the datatype of a classifier's labels: FP64 for numbers, else BYTES."""
    numeric = all(isinstance(c, int | float) and not isinstance(c, bool) for c in classes)
    return "FP64" if numeric else "BYTES"


def read_tensor(entry: Any, index: int) -> tuple[str, np.ndarray]:
    """One input tensor as float64 in its declared shape; 400 naming what is wrong."""
    if not isinstance(entry, dict) or not {"name", "shape", "datatype", "data"} <= set(entry):
        abort(400, message=f"inputs[{index}] needs name, shape, datatype and data")
    name, shape, datatype = entry["name"], entry["shape"], entry["datatype"]
    if datatype not in _NUMERIC:
        abort(400, message=f"input {name!r}: datatype {datatype!r} is not numeric; send FP64")
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        abort(400, message=f"input {name!r}: shape {shape!r} must be a list of sizes")
    try:
        values = np.asarray(entry["data"], dtype=np.float64).ravel()
    except (TypeError, ValueError):
        abort(400, message=f"input {name!r}: data must be numbers, flat or nested as the shape")
    if values.size != math.prod(shape):
        abort(400, message=f"input {name!r}: {values.size} values for shape {shape}")
    if not np.isfinite(values).all():
        abort(400, message=f"input {name!r}: values must be finite numbers")
    return str(name), values.reshape(shape)


def tensor_args(payload: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """`/predict` arguments from the input tensors: one `[n, features]`, or one per feature."""
    entries = payload.get("inputs")
    if not isinstance(entries, list) or not entries:
        abort(
            400, message="inputs must be a non-empty list of tensors {name, shape, datatype, data}"
        )
    tensors = [read_tensor(entry, i) for i, entry in enumerate(entries)]
    if len(tensors) == 1 and tensors[0][0] not in names:
        values = tensors[0][1]
        if values.ndim == 1 and len(names) == 1:
            values = values.reshape(-1, 1)
        if values.ndim != 2:
            abort(
                400,
                message=f"input {tensors[0][0]!r}: shape {list(values.shape)} must be "
                f"[rows, {len(names)}]",
            )
        return {"inputs": values.tolist()}
    given = [name for name, _ in tensors]
    if sorted(given) != sorted(names) or len(set(given)) != len(given):
        abort(
            400,
            message=f"send one tensor [rows, {len(names)}], or one tensor per feature "
            f"named {names}; got {given}",
        )
    columns = {name: values.reshape(-1) for name, values in tensors}
    if len({len(c) for c in columns.values()}) != 1:
        abort(400, message="the feature tensors must have the same number of rows")
    return {
        "dataframe_split": {
            "columns": names,
            "data": np.column_stack([columns[n] for n in names]).tolist(),
        }
    }


def output_tensor(name: str, values: Any, datatype: str) -> dict[str, Any]:
    """Return `values` as an output tensor: FP64 numbers, or BYTES as text, row-major."""
    array = np.asarray(values, dtype=np.float64 if datatype == "FP64" else object)
    data = array.ravel().tolist() if datatype == "FP64" else [str(v) for v in array.ravel()]
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": data}
