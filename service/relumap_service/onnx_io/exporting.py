"""A :class:`Network` as an ONNX model in float64."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from relumap_service import __version__
from relumap_service.core.network import Network

__all__ = ["IR_VERSION", "ONNX_MIMETYPE", "OPSET", "network_to_onnx"]

ONNX_MIMETYPE = "application/onnx"
# Opset 17 with IR version 8 is read by every onnxruntime since 1.13.
OPSET = 17
IR_VERSION = 8


def network_to_onnx(
    network: Network,
    *,
    classes: Sequence[Any] | None = None,
    feature_names: Sequence[str] | None = None,
    name: str = "relumap",
) -> bytes:
    """Serialise a network as an ONNX model in float64.

    Each layer is ``MatMul`` then ``Add``, followed by ``Relu``, by leaky ReLU
    as ``Max(x, Mul(x, slope))`` (exact for ``0 <= slope < 1``, and unlike
    ``LeakyRelu`` its slope is float64), or by nothing (identity). The input
    ``X`` has shape (N, n_inputs), N symbolic.

    Parameters
    ----------
    network : Network
    classes : sequence, optional
        Class labels of a classifier; stored as JSON in the ``classes`` metadata.
    feature_names : sequence of str, optional
        Stored as JSON in the ``feature_names`` metadata.
    name : str, default="relumap"
        The graph's name.

    Returns
    -------
    bytes
        A regressor has one output ``predictions`` of shape (N, n_outputs); a
        classifier has ``probabilities`` (N, n_classes), as ``predict_proba``
        (for a logistic output ``[1 - p, p]``), and ``logits`` (N, n_outputs).
    """
    double = TensorProto.DOUBLE
    nodes: list[onnx.NodeProto] = []
    weights: list[onnx.TensorProto] = []
    tensor = "X"
    last = len(network.coefs) - 1
    for i, (w, b) in enumerate(zip(network.coefs, network.intercepts, strict=True)):
        weights += [
            numpy_helper.from_array(w, f"coef{i}"),
            numpy_helper.from_array(b, f"intercept{i}"),
        ]
        nodes.append(
            helper.make_node(
                "MatMul", [tensor, f"coef{i}"], [f"linear{i}"], name=f"layer{i}/MatMul"
            )
        )
        tensor = "logits" if i == last else f"pre{i}"
        nodes.append(
            helper.make_node("Add", [f"linear{i}", f"intercept{i}"], [tensor], name=f"layer{i}/Add")
        )
        if i < last and network.hidden_activation == "relu":
            nodes.append(helper.make_node("Relu", [tensor], [f"hidden{i}"], name=f"layer{i}/Relu"))
            tensor = f"hidden{i}"
        elif i < last and network.hidden_activation == "leaky_relu":
            # LeakyRelu's alpha is a float32 attribute (0.01 would become
            # 0.0099999998); max(x, slope * x) keeps the slope in float64.
            weights.append(numpy_helper.from_array(np.array(network.negative_slope), f"slope{i}"))
            nodes += [
                helper.make_node(
                    "Mul", [tensor, f"slope{i}"], [f"scaled{i}"], name=f"layer{i}/LeakyRelu/Mul"
                ),
                helper.make_node(
                    "Max", [tensor, f"scaled{i}"], [f"hidden{i}"], name=f"layer{i}/LeakyRelu/Max"
                ),
            ]
            tensor = f"hidden{i}"
    n_out = network.n_outputs
    if network.output_activation == "identity":
        nodes.append(helper.make_node("Identity", ["logits"], ["predictions"], name="output"))
        outputs = [helper.make_tensor_value_info("predictions", double, ["N", n_out])]
    else:
        if network.output_activation == "logistic":
            weights.append(numpy_helper.from_array(np.ones((1, 1)), "one"))
            nodes += [
                helper.make_node("Sigmoid", ["logits"], ["p1"], name="output/Sigmoid"),
                helper.make_node("Sub", ["one", "p1"], ["p0"], name="output/Sub"),
                helper.make_node(
                    "Concat", ["p0", "p1"], ["probabilities"], name="output/Concat", axis=1
                ),
            ]
        else:
            nodes.append(
                helper.make_node(
                    "Softmax", ["logits"], ["probabilities"], name="output/Softmax", axis=1
                )
            )
        n_classes = 2 if network.output_activation == "logistic" else n_out
        outputs = [
            helper.make_tensor_value_info("probabilities", double, ["N", n_classes]),
            helper.make_tensor_value_info("logits", double, ["N", n_out]),
        ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("X", double, ["N", network.n_inputs])],
        outputs,
        initializer=weights,
    )
    model = helper.make_model(
        graph,
        producer_name="relumap",
        producer_version=__version__,
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = IR_VERSION
    metadata = {"classes": classes, "feature_names": feature_names}
    helper.set_model_props(
        model, {key: json.dumps(list(value)) for key, value in metadata.items() if value}
    )
    return bytes(model.SerializeToString())
