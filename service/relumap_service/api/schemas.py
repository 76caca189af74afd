"""Marshmallow schemas of the API: validation declared once, and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from relumap_service.core.datasets import KINDS

__all__ = [
    "DatasetGenerateSchema",
    "DatasetQuerySchema",
    "DatasetSchema",
    "DatasetSummarySchema",
    "DatasetUploadSchema",
    "FitSchema",
    "ModelListQuerySchema",
    "ModelSchema",
    "PredictSchema",
    "WaitQuerySchema",
    "WeightsSchema",
]

Number = fields.Float(allow_nan=False)


class StrictSchema(ma.Schema):
    """Unknown fields are an error, so a typo never passes silently."""

    class Meta:
        unknown = ma.RAISE


class Label(fields.Raw):
    """A class label or target value: a number, a string or a boolean."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, int | float | str | bool):
            raise ma.ValidationError("must be a number, a string or a boolean")
        return value


class DatasetUploadSchema(StrictSchema):
    """A data set uploaded as JSON."""

    name = fields.String(validate=validate.Length(1, 200), load_default="uploaded")
    X = fields.List(fields.List(Number), required=True, metadata={"example": [[0.0], [1.0]]})
    y = fields.List(Label(), required=True, metadata={"example": [0.0, 1.0]})


class DatasetGenerateSchema(StrictSchema):
    """A built-in data set to generate."""

    kind = fields.String(required=True, validate=validate.OneOf(sorted(KINDS)))
    n_samples = fields.Integer(strict=True, load_default=200, validate=validate.Range(min=2))
    noise = fields.Float(load_default=0.0, validate=validate.Range(min=0.0, max=10.0))
    random_state = fields.Integer(
        strict=True, load_default=0, allow_none=True, validate=validate.Range(0, 2**32 - 1)
    )
    name = fields.String(validate=validate.Length(1, 200))


class DatasetQuerySchema(StrictSchema):
    """Options of ``GET /v1/datasets/{id}``."""

    include = fields.String(validate=validate.OneOf(["data"]))


class DeleteDatasetQuerySchema(StrictSchema):
    """Options of ``DELETE /v1/datasets/{id}``."""

    cascade = fields.Boolean(load_default=False)


class CsvQuerySchema(StrictSchema):
    """Options of a CSV upload."""

    target = fields.String(load_default="y", validate=validate.Length(1, 200))
    name = fields.String(validate=validate.Length(1, 200))


class BoundsSchema(ma.Schema):
    """The bounding box of the inputs."""

    min = fields.List(fields.Float())
    max = fields.List(fields.Float())


class DatasetSummarySchema(ma.Schema):
    """A stored data set, without its points."""

    id = fields.String()
    name = fields.String()
    source = fields.String()
    n_samples = fields.Integer(strict=True)
    n_features = fields.Integer(strict=True)
    task_hint = fields.String()
    classes = fields.List(Label(), allow_none=True)
    bounds = fields.Nested(BoundsSchema)
    generator = fields.Dict(allow_none=True)
    created_at = fields.DateTime()


class DatasetSchema(DatasetSummarySchema):
    """A stored data set with its points."""

    X = fields.List(fields.List(fields.Float()))
    y = fields.List(Label())


class FitSchema(StrictSchema):
    """Fit parameters; names follow scikit-learn's MLPRegressor and MLPClassifier."""

    dataset_id = fields.String(required=True, validate=validate.Length(1, 64))
    task = fields.String(
        load_default="auto", validate=validate.OneOf(["auto", "regression", "classification"])
    )
    hidden_layer_sizes = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1)),
        load_default=[16],
        validate=validate.Length(min=1),
    )
    activation = fields.String(load_default="relu", validate=validate.OneOf(["relu", "identity"]))
    solver = fields.String(load_default="lbfgs", validate=validate.OneOf(["lbfgs", "adam", "sgd"]))
    alpha = fields.Float(load_default=1e-4, validate=validate.Range(min=0.0, max=1e6))
    learning_rate_init = fields.Float(
        load_default=1e-3, validate=validate.Range(min=0.0, max=10.0, min_inclusive=False)
    )
    max_iter = fields.Integer(strict=True, load_default=1000, validate=validate.Range(min=1))
    tol = fields.Float(load_default=1e-4, validate=validate.Range(min=0.0, max=1.0))
    early_stopping = fields.Boolean(load_default=False)
    random_state = fields.Integer(
        strict=True, load_default=0, allow_none=True, validate=validate.Range(0, 2**31 - 1)
    )
    test_fraction = fields.Float(load_default=0.2, validate=validate.Range(min=0.0, max=0.9))
    n_restarts = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1))
    standardize = fields.Boolean(load_default=True)


class WaitQuerySchema(StrictSchema):
    """``?wait=SECONDS``: wait for the fit to finish, up to the configured bound."""

    wait = fields.Float(load_default=0.0, validate=validate.Range(min=0.0))


class ModelListQuerySchema(StrictSchema):
    """Filters of ``GET /v1/models``."""

    dataset_id = fields.String(validate=validate.Length(1, 64))
    status = fields.String(validate=validate.OneOf(["queued", "running", "succeeded", "failed"]))


class ModelSchema(ma.Schema):
    """A model: its fit parameters, status and, once fitted, everything measured."""

    id = fields.String()
    dataset_id = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "'fit' or 'manual'"})
    status = fields.String(metadata={"description": "queued, running, succeeded or failed"})
    task = fields.String()
    params = fields.Dict()
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    attempts = fields.Integer(strict=True)
    n_features = fields.Integer(strict=True, allow_none=True)
    classes = fields.List(Label(), allow_none=True)
    n_iter = fields.Integer(strict=True, allow_none=True)
    converged = fields.Boolean(allow_none=True)
    loss = fields.Float(allow_none=True)
    loss_curve = fields.List(fields.Float(), allow_none=True)
    restarts = fields.List(
        fields.Dict(), allow_none=True, metadata={"description": "loss of each random restart"}
    )
    warnings = fields.List(fields.Dict(), allow_none=True)
    n_train = fields.Integer(strict=True, allow_none=True)
    n_test = fields.Integer(strict=True, allow_none=True)
    metrics = fields.Dict(allow_none=True, metadata={"description": "train and test metrics"})
    baseline = fields.Dict(
        allow_none=True, metadata={"description": "the best linear model on the same split"}
    )
    equivalent_linear_map = fields.Dict(allow_none=True)
    timings = fields.Dict()


class WeightsSchema(ma.Schema):
    """The weights document: scikit-learn's layout, ``coefs[i]`` of shape (n_in, n_out)."""

    layout = fields.String()
    coefs = fields.List(fields.List(fields.List(fields.Float())))
    intercepts = fields.List(fields.List(fields.Float()))
    activation = fields.String()
    output_activation = fields.String()
    negative_slope = fields.Float()
    classes = fields.List(Label(), allow_none=True)
    task = fields.String()
    n_features = fields.Integer(strict=True)


class DataframeSplitSchema(StrictSchema):
    """MLflow's ``dataframe_split`` orientation."""

    columns = fields.List(fields.String())
    index = fields.List(fields.Raw())
    data = fields.List(fields.List(Number), required=True)


class PredictSchema(StrictSchema):
    """Points to predict: ``X``, or MLflow's ``inputs`` or ``dataframe_split``."""

    X = fields.List(fields.List(Number))
    inputs = fields.List(fields.List(Number))
    dataframe_split = fields.Nested(DataframeSplitSchema)

    @ma.validates_schema
    def _one_input(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [key for key in ("X", "inputs", "dataframe_split") if key in data]
        if len(given) != 1:
            raise ma.ValidationError(
                "give exactly one of 'X', 'inputs' or 'dataframe_split'", field_name="X"
            )


class PredictionSchema(ma.Schema):
    """Predictions, and class probabilities for classifiers (columns follow ``classes``)."""

    predictions = fields.List(Label())
    probabilities = fields.List(fields.List(fields.Float()))
    classes = fields.List(Label())


class ServiceInfoSchema(ma.Schema):
    """What ``GET /v1`` reports."""

    name = fields.String()
    version = fields.String()
    limits = fields.Dict(keys=fields.String(), values=fields.Integer(strict=True))
    dataset_kinds = fields.Dict()
    links = fields.Dict(keys=fields.String(), values=fields.String())


class HealthSchema(ma.Schema):
    """Health: ``ok``, with per-dependency checks for readiness."""

    status = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.String())
