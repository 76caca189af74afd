"""`POST /v1/networks`: a hand-specified network becomes a model like any fitted one.

This is how users check the networks people draw by hand, such as |x| and x²
built from ReLUs: knots, regions, predict and plots then work on it unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from relumap_service.api.context import services
from relumap_service.api.idempotency import idempotent
from relumap_service.api.models import check_network_limits, model_document
from relumap_service.api.onnx_files import NETWORK_BODY, NetworkQuerySchema, network_arguments
from relumap_service.api.schemas import ModelSchema
from relumap_service.core.network import Network
from relumap_service.core.tabular import DataError, check_feature_names
from relumap_service.store import ModelRecord

blp = Blueprint("networks", __name__, url_prefix="/v1/networks", description="Manual networks")


def _domain(value: Any, n_inputs: int) -> list[Any] | None:
    """Check a domain: `[lo, hi]` in 1D, `[[x_min, y_min], [x_max, y_max]]` in 2D."""
    if value is None:
        return None
    try:
        array = np.asarray(value, dtype=np.float64).reshape(2, n_inputs)
    except (TypeError, ValueError):
        array = None
    if array is None or not np.all(np.isfinite(array)) or not np.all(array[1] > array[0]):
        shape = {1: "[lo, hi]", 2: "[[x_min, y_min], [x_max, y_max]]"}.get(
            n_inputs, f"[[{n_inputs} lower bounds], [{n_inputs} upper bounds]]"
        )
        abort(
            422,
            message=f"domain must be {shape} with finite bounds, each upper bound "
            f"greater than its lower bound; got {value!r}",
            errors={"domain": ["invalid"]},
        )
    assert array is not None
    return [array[0].tolist(), array[1].tolist()] if n_inputs >= 2 else array[:, 0].tolist()


def _classes(network: Network, given: list[Any] | None) -> list[Any] | None:
    if network.output_activation == "identity":
        return None
    n_classes = 2 if network.output_activation == "logistic" else network.n_outputs
    classes = given if given is not None else list(range(n_classes))
    if len(classes) != n_classes or len(set(classes)) != n_classes:
        abort(
            422,
            message=f"a {network.output_activation} network with {network.n_outputs} "
            f"output(s) has {n_classes} classes; got {classes!r}",
            errors={"classes": ["count"]},
        )
    return classes


@blp.route("")
class Networks(MethodView):
    """Hand-specified networks."""

    @idempotent
    @blp.arguments(NetworkQuerySchema(), location="query", as_kwargs=True)
    @blp.doc(requestBody=NETWORK_BODY)
    @blp.response(201, ModelSchema)
    def post(self, name: str | None = None) -> Any:
        """Store a network given by its weights as a `succeeded` model with `source: manual`.

        The body is the JSON weights document of `GET /v1/models/{id}/weights`, or
        an ONNX file (`application/onnx` with `?name=`, or the multipart field
        `file`) of a multilayer perceptron as PyTorch's `torch.onnx.export` and
        skl2onnx write it: Gemm or MatMul + Add layers with Relu, LeakyRelu or
        no activation, Sigmoid or Softmax at the end. Float32 weights are read
        exactly as float64. Another operator, or a graph that is not one chain
        of layers, is a 422 naming the node.
        """
        args = network_arguments(name)
        try:
            network = Network.from_layout(
                args["coefs"],
                args["intercepts"],
                args["layout"],
                hidden_activation=args["activation"],
                output_activation=args["output_activation"],
                negative_slope=args["negative_slope"],
            )
        except ValueError as exc:
            abort(422, message=str(exc), errors={"coefs": [str(exc)]})
        max_features = int(services().config["MAX_FEATURES"])
        if network.n_inputs > max_features:
            abort(
                422,
                message=f"the network takes {network.n_inputs} inputs; relumap takes "
                f"at most {max_features} (RELUMAP_MAX_FEATURES)",
                errors={"coefs": [f"at most {max_features} inputs"]},
            )
        feature_names = args.get("feature_names")
        if feature_names is not None:
            try:
                feature_names = check_feature_names(feature_names, network.n_inputs)
            except DataError as exc:
                abort(422, message=exc.message, errors={exc.field: [exc.message]})
        if network.output_activation == "logistic" and network.n_outputs != 1:
            abort(
                422,
                message="a logistic output has exactly one unit",
                errors={"output_activation": ["one unit"]},
            )
        check_network_limits(list(network.hidden_layer_sizes))
        classes = _classes(network, args.get("classes"))
        result: dict[str, Any] = {
            "network": network.to_dict(),
            "classes": classes,
            "domain": _domain(args.get("domain"), network.n_inputs),
            "equivalent_linear_map": None,
        }
        if not network.is_piecewise_linear:
            weight, bias = network.equivalent_linear_map()
            result["equivalent_linear_map"] = {"coef": weight.tolist(), "intercept": bias.tolist()}
        record = ModelRecord(
            source="manual",
            status="succeeded",
            task="regression" if classes is None else "classification",
            params={
                "name": args.get("name", "manual network"),
                "hidden_layer_sizes": list(network.hidden_layer_sizes),
                "activation": network.hidden_activation,
            },
            result=result,
            feature_names=feature_names,
        )
        services().store.add(record)
        return (
            model_document(record),
            201,
            {"Location": url_for("models.Model", model_id=record.id)},
        )
