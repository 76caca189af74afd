"""Marshmallow schemas of the API: validation declared once, and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from relumap_service.core.datasets import KINDS
from relumap_service.core.storable import (
    MAX_TEXT_LENGTH,
    label_problem,
    labels_problem,
    text_problem,
)
from relumap_service.core.tabular import default_feature_names

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
# Largest batch_size: scikit-learn clips it to the samples, but numpy must hold it first.
MAX_INT32 = 2**31 - 1
# A comma list of up to RELUMAP_MAX_FEATURES numbers in a query parameter.
SLICE_TEXT_LENGTH = 4000


class StrictSchema(ma.Schema):
    """Unknown fields are an error, so a typo never passes silently."""

    class Meta:
        unknown = ma.RAISE


class Text(fields.String):
    """A string both databases store and every JSON reader reads back.

    Every text the service takes in goes through this field (or, for data
    that bypass the schemas such as CSV labels, through the same
    `text_problem`): valid Unicode without lone surrogates, no NUL, at most
    `max_length` characters.
    """

    def __init__(self, *, max_length: int = MAX_TEXT_LENGTH, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        # Documents maxLength; text_problem has already refused longer texts.
        self.validators.append(validate.Length(max=max_length))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text, self.max_length)
        if problem is not None:
            raise ma.ValidationError(problem)
        return text


class WholeNumber(fields.Integer):
    """An integer; `100.0` is read as 100 (JSON writers may send it so), 1.5 is refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, float):
            if not value.is_integer():
                raise ma.ValidationError(f"must be a whole number, not {value!r}")
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class BatchSize(fields.Field):
    """``"auto"`` or a whole number >= 1: scikit-learn's ``batch_size`` (adam and sgd)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "oneOf": [
                {"type": "string", "enum": ["auto"]},
                {"type": "integer", "minimum": 1, "maximum": MAX_INT32},
            ],
            "description": "minibatch size of adam and sgd: 'auto' is min(200, n_samples); "
            "larger than the training part means the whole of it",
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value == "auto":
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INT32:
            raise ma.ValidationError(
                f"must be 'auto' or a whole number from 1 to {MAX_INT32}, not {value!r}"
            )
        return value


class Label(fields.Raw):
    """A class label or target value: a finite number, a storable string or a boolean."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        problem = label_problem(value)
        if problem is not None:
            raise ma.ValidationError(problem)
        return value


class Labels(fields.List):
    """Labels of one kind: all numbers, all strings or all booleans."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Label(), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        labels = super()._deserialize(value, attr, data, **kwargs)
        problem = labels_problem(labels)
        if problem is not None:
            raise ma.ValidationError(problem)
        return labels


class DatasetUploadSchema(StrictSchema):
    """A data set uploaded as JSON."""

    name = Text(validate=validate.Length(min=1), load_default="uploaded")
    X = fields.List(fields.List(Number), required=True, metadata={"example": [[0.0], [1.0]]})
    y = Labels(required=True, metadata={"example": [0.0, 1.0]})
    feature_names = fields.List(
        Text(),
        metadata={"description": "one name per column of X", "example": ["age"]},
    )


class DatasetGenerateSchema(StrictSchema):
    """A built-in data set to generate."""

    kind = Text(required=True, validate=validate.OneOf(sorted(KINDS)))
    n_samples = WholeNumber(load_default=200, validate=validate.Range(min=2))
    noise = fields.Float(load_default=0.0, validate=validate.Range(min=0.0, max=10.0))
    random_state = WholeNumber(
        load_default=0, allow_none=True, validate=validate.Range(0, 2**32 - 1)
    )
    name = Text(validate=validate.Length(min=1))


class DatasetQuerySchema(StrictSchema):
    """Options of `GET /v1/datasets/{id}`."""

    include = Text(validate=validate.OneOf(["data"]))


class DeleteDatasetQuerySchema(StrictSchema):
    """Options of `DELETE /v1/datasets/{id}`."""

    cascade = fields.Boolean(load_default=False)


class CsvQuerySchema(StrictSchema):
    """Options of a CSV upload."""

    target = Text(load_default="y", validate=validate.Length(min=1))
    name = Text(validate=validate.Length(min=1))


def _reported_names(record: Any) -> list[str]:
    """Return a data set's feature names: those stored, else `x` or `x1, x2, ...`."""

    def get(key: str) -> Any:
        return record.get(key) if isinstance(record, dict) else getattr(record, key)

    names, n_features = get("feature_names"), get("n_features")
    return list(names) if names else default_feature_names(n_features)


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
    feature_names = fields.Function(
        lambda record: _reported_names(record),
        metadata={
            "description": "as uploaded, else x or x1, x2, ...",
            "type": "array",
            "items": {"type": "string"},
        },
    )


class DatasetSchema(DatasetSummarySchema):
    """A stored data set with its points."""

    X = fields.List(fields.List(fields.Float()))
    y = fields.List(Label())


class FitSchema(StrictSchema):
    """Fit parameters; names follow scikit-learn's MLPRegressor and MLPClassifier."""

    dataset_id = Text(required=True, validate=validate.Length(1, 64))
    task = fields.String(
        load_default="auto", validate=validate.OneOf(["auto", "regression", "classification"])
    )
    hidden_layer_sizes = fields.List(
        WholeNumber(validate=validate.Range(min=1)),
        load_default=[16],
        validate=validate.Length(min=1),
    )
    activation = fields.String(load_default="relu", validate=validate.OneOf(["relu", "identity"]))
    solver = fields.String(load_default="lbfgs", validate=validate.OneOf(["lbfgs", "adam", "sgd"]))
    alpha = fields.Float(load_default=1e-4, validate=validate.Range(min=0.0, max=1e6))
    learning_rate_init = fields.Float(
        load_default=1e-3, validate=validate.Range(min=0.0, max=10.0, min_inclusive=False)
    )
    max_iter = WholeNumber(load_default=1000, validate=validate.Range(min=1))
    tol = fields.Float(load_default=1e-4, validate=validate.Range(min=0.0, max=1.0))
    early_stopping = fields.Boolean(load_default=False)
    random_state = WholeNumber(
        load_default=0, allow_none=True, validate=validate.Range(0, 2**31 - 1)
    )
    test_fraction = fields.Float(load_default=0.2, validate=validate.Range(min=0.0, max=0.9))
    n_restarts = WholeNumber(load_default=1, validate=validate.Range(min=1))
    standardize = fields.Boolean(load_default=True)
    batch_size = BatchSize(load_default="auto")
    snapshots = WholeNumber(
        load_default=0,
        validate=validate.Range(min=0),
        metadata={
            "description": "record the network at this many iterations of the fit, spread "
            "geometrically from the first to the last (the stored model); at most "
            "RELUMAP_MAX_SNAPSHOTS. See GET /v1/models/{id}/snapshots."
        },
    )


class WaitQuerySchema(StrictSchema):
    """`?wait=SECONDS`: wait for the fit to finish, up to the configured bound."""

    wait = fields.Float(load_default=0.0, validate=validate.Range(min=0.0))


class ModelListQuerySchema(StrictSchema):
    """Filters of `GET /v1/models`."""

    dataset_id = Text(validate=validate.Length(1, 64))
    status = Text(validate=validate.OneOf(["queued", "running", "succeeded", "failed"]))


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
    feature_names = fields.List(fields.String(), allow_none=True)
    classes = fields.List(Label(), allow_none=True)
    n_iter = fields.Integer(strict=True, allow_none=True)
    converged = fields.Boolean(allow_none=True)
    stop_reason = fields.String(
        allow_none=True,
        metadata={
            "description": "the solver's own reason for stopping: L-BFGS-B's message "
            "(CONVERGENCE: ..., ABNORMAL: ..., STOP: ...), 'max_iter reached', or adam/sgd's "
            "'Training loss (Validation score) did not improve ...'"
        },
    )
    n_snapshots = fields.Integer(strict=True, allow_none=True)
    loss = fields.Float(allow_none=True)
    loss_curve = fields.List(fields.Float(), allow_none=True)
    restarts = fields.List(
        fields.Dict(), allow_none=True, metadata={"description": "loss of each random restart"}
    )
    warnings = fields.List(fields.Dict(), allow_none=True)
    n_train = fields.Integer(strict=True, allow_none=True)
    n_test = fields.Integer(strict=True, allow_none=True)
    test_indices = fields.List(
        fields.Integer(),
        allow_none=True,
        metadata={"description": "rows of the dataset held out for the test metrics"},
    )
    metrics = fields.Dict(allow_none=True, metadata={"description": "train and test metrics"})
    baseline = fields.Dict(
        allow_none=True,
        metadata={
            "description": "the best linear model on the same split: model, train, test, "
            "gradient (n_outputs x n_features) and intercept, in the data's units; coef "
            "(n_features x n_outputs) is a deprecated alias of the gradient, to be removed"
        },
    )
    equivalent_linear_map = fields.Dict(
        allow_none=True,
        metadata={
            "description": "an identity network's one affine map: gradient (n_outputs x "
            "n_features) and intercept; coef is a deprecated alias, as in baseline"
        },
    )
    timings = fields.Dict()


def snapshot_field() -> fields.Integer:
    """Return the ``snapshot=INDEX`` query parameter of geometry and pictures."""
    return fields.Integer(
        validate=validate.Range(min=0, max=MAX_INT32),
        metadata={"description": "use the weights of this training snapshot (its index)"},
    )


class WeightsQuerySchema(StrictSchema):
    """`?snapshot=INDEX`: the weights of a training snapshot."""

    snapshot = snapshot_field()


class WeightsSchema(ma.Schema):
    """The weights document: scikit-learn's layout, `coefs[i]` of shape (n_in, n_out)."""

    layout = fields.String()
    coefs = fields.List(fields.List(fields.List(fields.Float())))
    intercepts = fields.List(fields.List(fields.Float()))
    activation = fields.String()
    output_activation = fields.String()
    negative_slope = fields.Float()
    classes = fields.List(Label(), allow_none=True)
    task = fields.String()
    n_features = fields.Integer(strict=True)
    feature_names = fields.List(fields.String())


class DataframeSplitSchema(StrictSchema):
    """MLflow's `dataframe_split` orientation."""

    columns = fields.List(Text())
    index = fields.List(fields.Raw())
    data = fields.List(fields.List(Number), required=True)


class PredictSchema(StrictSchema):
    """Points to predict: `X`, or MLflow's `inputs` or `dataframe_split`."""

    X = fields.List(fields.List(Number))
    inputs = fields.Raw(
        metadata={"description": "rows, or a dict of columns {feature name: [values]}"}
    )
    dataframe_split = fields.Nested(DataframeSplitSchema)
    dataframe_records = fields.List(
        fields.Dict(keys=fields.String(), values=fields.Raw()),
        metadata={"description": "one {feature name: value} per row"},
    )

    @ma.validates_schema
    def _one_input(self, data: dict[str, Any], **kwargs: Any) -> None:
        inputs = ("X", "inputs", "dataframe_split", "dataframe_records")
        given = [key for key in inputs if key in data]
        if len(given) != 1:
            raise ma.ValidationError(
                "give exactly one of 'X', 'inputs', 'dataframe_split' or 'dataframe_records'",
                field_name="X",
            )


class PredictQuerySchema(StrictSchema):
    """`?include=pattern` adds each point's activation pattern and local affine map."""

    include = Text(validate=validate.OneOf(["pattern"]))


class PredictionSchema(ma.Schema):
    """Predictions, and class probabilities for classifiers (columns follow `classes`)."""

    predictions = fields.List(
        fields.Raw(),
        metadata={
            "description": "a value or label per point; a list per point for several outputs"
        },
    )
    probabilities = fields.List(fields.List(fields.Float()))
    classes = fields.List(Label())
    patterns = fields.List(
        fields.String(),
        metadata={"description": "0/1 per hidden unit; it names the point's activation region"},
    )
    gradients = fields.List(
        fields.List(fields.List(fields.Float())),
        metadata={"description": "point x output x input: the logits' affine map there"},
    )
    intercepts = fields.List(fields.List(fields.Float()))


class ServiceInfoSchema(ma.Schema):
    """What `GET /v1` reports."""

    name = fields.String()
    version = fields.String()
    # Counts are integers; durations (request_timeout, fit_timeout) are seconds,
    # reported unrounded.
    limits = fields.Dict(keys=fields.String(), values=fields.Raw(metadata={"type": "number"}))
    dataset_kinds = fields.Dict()
    links = fields.Dict(keys=fields.String(), values=fields.String())


class HealthSchema(ma.Schema):
    """Health: `ok`, with per-dependency checks for readiness."""

    status = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.String())


# Domains may lie anywhere in the float64 range (finite); the engine works
# relative to the domain, so far and tiny domains are as exact as others.
VERIFY_DESCRIPTION = (
    "re-derive every piece's pattern and affine map at an exact interior point with "
    "rational arithmetic (at most RELUMAP_MAX_VERIFY_REGIONS regions or pieces)"
)


class KnotsQuerySchema(StrictSchema):
    """The interval `[lo, hi]`; by default the data's interval widened by 10%."""

    lo = fields.Float(metadata={"description": "any finite float64"})
    hi = fields.Float(metadata={"description": "any finite float64"})
    snapshot = snapshot_field()
    include = Text(
        validate=validate.OneOf(["units"]),
        metadata={"description": "units: each hidden unit's activation and contribution per piece"},
    )
    verify = fields.Boolean(load_default=False, metadata={"description": VERIFY_DESCRIPTION})
    max_pieces = fields.Integer(
        validate=validate.Range(min=1),
        metadata={
            "description": "stop with a 422 beyond this many pieces (at most RELUMAP_MAX_PIECES)"
        },
    )
    axis = Text(metadata={"description": "slice along this feature (index or name)"})
    at = Text(
        max_length=SLICE_TEXT_LENGTH,
        metadata={"description": "reference point: median, mean, row:K or d numbers"},
    )
    start = Text(max_length=SLICE_TEXT_LENGTH, metadata={"description": "segment start"})
    end = Text(max_length=SLICE_TEXT_LENGTH, metadata={"description": "segment end"})


class RegionsQuerySchema(StrictSchema):
    """The box; by default the data's bounding box widened by 10% on each side."""

    x_min = fields.Float(metadata={"description": "any finite float64"})
    x_max = fields.Float(metadata={"description": "any finite float64"})
    y_min = fields.Float(metadata={"description": "any finite float64"})
    y_max = fields.Float(metadata={"description": "any finite float64"})
    snapshot = snapshot_field()
    include = Text(
        validate=validate.OneOf(["units"]),
        metadata={"description": "units: each hidden unit's pre-activation map per region"},
    )
    max_regions = fields.Integer(validate=validate.Range(min=1))
    verify = fields.Boolean(load_default=False, metadata={"description": VERIFY_DESCRIPTION})
    format = Text(load_default="json", validate=validate.OneOf(["json", "geojson"]))
    axes = Text(metadata={"description": "slice along these two features: I,J"})
    at = Text(
        max_length=SLICE_TEXT_LENGTH,
        metadata={"description": "reference point: median, mean, row:K or d numbers"},
    )
    origin = Text(max_length=SLICE_TEXT_LENGTH, metadata={"description": "plane origin"})
    u = Text(max_length=SLICE_TEXT_LENGTH, metadata={"description": "first direction"})
    v = Text(max_length=SLICE_TEXT_LENGTH, metadata={"description": "second direction"})


class CertificateSchema(ma.Schema):
    """How every combinatorial decision was settled; see the README's "What exact means"."""

    exact = fields.Boolean(
        metadata={"description": "every decision equals exact rational arithmetic's"}
    )
    float_decisions = fields.Integer(
        metadata={"description": "settled in float64 beyond a rigorous error bound"}
    )
    exact_decisions = fields.Integer(metadata={"description": "settled with exact integers"})
    exact_vertices = fields.Integer(
        metadata={"description": "points computed exactly and rounded (nearly parallel lines)"}
    )
    max_vertex_error = fields.Float(
        metadata={"description": "bound on any reported coordinate's distance from the exact one"}
    )


class VerificationSchema(ma.Schema):
    """The outcome of `?verify=true`: an exact re-derivation at interior points."""

    checked = fields.Integer()
    patterns_agree = fields.Integer()
    on_boundary = fields.Integer()
    max_map_error = fields.Float()
    agree = fields.Boolean()


class DiagnosticsSchema(ma.Schema):
    """Per hidden unit: layer (from 1), unit, activity on the data and on the domain."""

    layer = fields.List(fields.Integer())
    unit = fields.List(fields.Integer())
    dead_on_domain = fields.List(fields.Boolean())
    always_active_on_domain = fields.List(fields.Boolean())
    active_fraction = fields.List(fields.Float(), allow_none=True)
    dead_on_data = fields.List(fields.Boolean(), allow_none=True)
    dead_units = fields.List(fields.List(fields.Integer()))
    always_active_units = fields.List(fields.List(fields.Integer()))
    affine_on_domain = fields.Dict(allow_none=True)


class SliceSchema(ma.Schema):
    """The line or plane a slice lies on: `origin + coords @ directions` in input space."""

    kind = fields.String(metadata={"description": "axis, segment, axes or plane"})
    origin = fields.List(fields.Float())
    directions = fields.List(fields.List(fields.Float()))
    reference = fields.List(
        fields.Float(), allow_none=True, metadata={"description": "the point of ?at="}
    )
    at = fields.String(allow_none=True)
    axes = fields.List(fields.Integer(), allow_none=True)


SLICE_FIELDS = {
    "feature_names": fields.List(fields.String()),
    "axis_names": fields.List(
        fields.String(), metadata={"description": "name of each slice coordinate"}
    ),
    "slice": fields.Nested(SliceSchema, allow_none=True),
    "gradients_full": fields.List(
        fields.List(fields.List(fields.Float())),
        allow_none=True,
        metadata={"description": "piece x output x feature: the map in all inputs"},
    ),
    "intercepts_full": fields.List(fields.List(fields.Float()), allow_none=True),
}


class AffineUnitsSchema(ma.Schema):
    """The units of one hidden layer as affine maps: ``gradient`` n_units x n_inputs."""

    gradient = fields.List(fields.List(fields.Float()))
    intercept = fields.List(fields.Float(), metadata={"description": "one per unit"})


class ContributionsSchema(ma.Schema):
    """Each last-layer unit's share of each output on one piece (n_outputs x n_units)."""

    gradient = fields.List(
        fields.List(fields.Float()), metadata={"description": "n_outputs x n_last_units"}
    )
    intercept = fields.List(
        fields.List(fields.Float()), metadata={"description": "n_outputs x n_last_units"}
    )


class SnapshotEntrySchema(ma.Schema):
    """One training snapshot: exactly one of ``n_pieces`` (1 input) and ``n_regions`` (2)."""

    index = fields.Integer()
    iteration = fields.Integer(metadata={"description": "the solver's iteration or epoch"})
    loss = fields.Float(
        allow_none=True,
        metadata={"description": "training objective at these weights (standardized units)"},
    )
    n_pieces = fields.Integer(metadata={"description": "1 input: pieces on the default domain"})
    n_regions = fields.Integer(metadata={"description": "2 inputs: regions in the default box"})


class SnapshotsSchema(ma.Schema):
    """The training snapshots of a model, in order; the last is the stored model."""

    model_id = fields.String()
    snapshots = fields.List(fields.Nested(SnapshotEntrySchema))


class KnotsSchema(ma.Schema.from_dict(SLICE_FIELDS)):  # type: ignore[misc]
    """Knots, breakpoints and affine pieces on `[lo, hi]`: of one input, or of a line slice."""

    knots_full = fields.List(
        fields.List(fields.Float()),
        metadata={"description": "on a slice: each knot as a point of input space"},
    )

    model_id = fields.String()
    lo = fields.Float()
    hi = fields.Float()
    n_knots = fields.Integer()
    n_pieces = fields.Integer()
    bound = fields.Integer(metadata={"description": "most knots a network of this shape has"})
    knots = fields.List(fields.Float(), metadata={"description": "where some slope changes"})
    breakpoints = fields.List(fields.Float(), metadata={"description": "where any unit switches"})
    breakpoint_layer = fields.List(fields.Integer())
    breakpoint_unit = fields.List(fields.Integer())
    certificate = fields.Nested(CertificateSchema)
    verification = fields.Nested(VerificationSchema, allow_none=True)
    piece_lo = fields.List(fields.Float())
    piece_hi = fields.List(fields.Float())
    slopes = fields.List(fields.List(fields.Float()), metadata={"description": "piece x output"})
    intercepts = fields.List(fields.List(fields.Float()))
    patterns = fields.List(fields.String(), metadata={"description": "0/1 per hidden unit"})
    class_changes = fields.List(
        fields.Float(),
        allow_none=True,
        metadata={"description": "where the predicted class changes"},
    )
    classes = fields.List(
        fields.Integer(), allow_none=True, metadata={"description": "class index per interval"}
    )
    interval_labels = fields.List(Label(), allow_none=True)
    diagnostics = fields.Nested(DiagnosticsSchema)
    units = fields.List(
        fields.List(fields.Nested(AffineUnitsSchema)),
        metadata={
            "description": "?include=units: per piece, per hidden layer, each unit's "
            "ACTIVATION as an affine map of the plotted input"
        },
    )
    contributions = fields.List(
        fields.Nested(ContributionsSchema),
        metadata={
            "description": "?include=units: per piece, W_last[j, o] x activation of last-layer "
            "unit j; summed over j, plus output_bias, they are output o on the piece"
        },
    )
    output_bias = fields.List(fields.Float(), metadata={"description": "?include=units"})


class DecisionBoundarySchema(ma.Schema):
    """Segments where the predicted class changes."""

    n_segments = fields.Integer()
    segments = fields.List(fields.List(fields.List(fields.Float())))
    region = fields.List(fields.Integer())
    classes = fields.List(fields.List(fields.Integer()))


class RegionsSchema(ma.Schema.from_dict(SLICE_FIELDS)):  # type: ignore[misc]
    """Activation regions: polygons (`vertices` sliced by `offsets`) and affine maps."""

    model_id = fields.String()
    box = fields.List(fields.List(fields.Float()))
    n_regions = fields.Integer()
    n_linear_regions = fields.Integer()
    bound = fields.Integer(metadata={"description": "Serra et al.'s bound on the count"})
    vertices = fields.List(
        fields.List(fields.Float()),
        metadata={"description": "region after region, counter-clockwise; shared bit for bit"},
    )
    offsets = fields.List(fields.Integer())
    n_points = fields.Integer(metadata={"description": "distinct points of the map"})
    vertex_ids = fields.List(
        fields.Integer(), metadata={"description": "each vertex's index among the distinct points"}
    )
    certificate = fields.Nested(CertificateSchema)
    verification = fields.Nested(VerificationSchema, allow_none=True)
    patterns = fields.List(fields.String())
    gradients = fields.List(fields.List(fields.List(fields.Float())))
    intercepts = fields.List(fields.List(fields.Float()))
    areas = fields.List(fields.Float())
    interior_points = fields.List(fields.List(fields.Float()))
    linear_region = fields.List(fields.Integer())
    classes = fields.List(Label(), allow_none=True)
    decision_boundary = fields.Nested(DecisionBoundarySchema, allow_none=True)
    diagnostics = fields.Nested(DiagnosticsSchema)
    units = fields.List(
        fields.List(fields.Nested(AffineUnitsSchema)),
        metadata={
            "description": "?include=units: per region, per hidden layer, each unit's "
            "PRE-ACTIVATION as an affine map of (x, y)"
        },
    )


class NetworkInSchema(StrictSchema):
    """A hand-specified network: the weights document of `GET /v1/models/{id}/weights`."""

    coefs = fields.List(fields.List(fields.List(Number)), required=True)
    intercepts = fields.List(fields.List(Number), required=True)
    layout = fields.String(
        load_default="sklearn",
        validate=validate.OneOf(["sklearn", "torch"]),
        metadata={"description": "sklearn: coefs[i] is (n_in, n_out); torch: (n_out, n_in)"},
    )
    activation = fields.String(
        load_default="relu", validate=validate.OneOf(["relu", "identity", "leaky_relu"])
    )
    output_activation = fields.String(
        load_default="identity", validate=validate.OneOf(["identity", "logistic", "softmax"])
    )
    negative_slope = fields.Float(
        load_default=0.01, validate=validate.Range(0.0, 1.0, max_inclusive=False)
    )
    classes = Labels(allow_none=True)
    domain = fields.List(
        fields.Raw(),
        allow_none=True,
        metadata={
            "description": "[lo, hi] for one input, [[x_min, y_min], [x_max, y_max]] for two, "
            "[[lower bounds], [upper bounds]] for more"
        },
    )
    name = Text(validate=validate.Length(min=1))
    task = Text(validate=validate.OneOf(["regression", "classification"]))
    n_features = WholeNumber()
    feature_names = fields.List(Text(), metadata={"description": "one name per input"})
