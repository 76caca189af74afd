"""An ONNX multilayer perceptron read back as a :class:`Network` in float64."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto

from relumap_service.core.network import Network
from relumap_service.onnx_io.graph import (
    CHAIN_OPS,
    DOMAINS,
    FLOAT_TYPES,
    LABEL_OPS,
    OnnxImportError,
    constants,
    folded,
    quoted,
    where,
)
from relumap_service.onnx_io.labels import label_outputs, metadata_labels
from relumap_service.onnx_io.layers import Layers, leaky_relu, read_node

__all__ = ["ImportedNetwork", "network_from_onnx"]


@dataclass(frozen=True)
class ImportedNetwork:
    """What an ONNX file holds: the network, and its labels if it names them.

    Attributes
    ----------
    network : Network
    classes : list or None
        Class labels from the graph (skl2onnx's ``ZipMap`` or label table) or
        from the ``classes`` metadata; None when the file names none.
    feature_names : list of str or None
        From the ``feature_names`` metadata.
    precision : {"float32", "float64", "float16"}
        Element type of the graph's input.
    producer : str
        ``producer_name`` and ``producer_version`` of the file.
    """

    network: Network
    classes: list[Any] | None
    feature_names: list[str] | None
    precision: str
    producer: str


def load_model(data: bytes) -> onnx.ModelProto:
    if not data:
        raise OnnxImportError("the body is empty; send the bytes of an .onnx file")
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:
        raise OnnxImportError(
            f"the body is not an ONNX model ({type(exc).__name__}: {exc}); send the bytes "
            "of an .onnx file"
        ) from None
    if not model.HasField("graph") or not model.graph.node:
        raise OnnxImportError(
            "the body holds no ONNX graph with nodes; send the bytes of an .onnx file"
        )
    return model


def graph_input(
    graph: onnx.GraphProto, values: dict[str, np.ndarray]
) -> tuple[str, str, int | None]:
    """Return the input's name, element type and width (None when not declared)."""
    inputs = [value for value in graph.input if value.name not in values]
    if len(inputs) != 1:
        names = ", ".join(quoted(value.name) for value in inputs[:5])
        raise OnnxImportError(
            f"the graph has {len(inputs)} inputs ({names}); relumap imports a network with "
            "one input tensor"
        )
    source = inputs[0]
    tensor_type = source.type.tensor_type
    if not source.type.HasField("tensor_type") or tensor_type.elem_type not in FLOAT_TYPES:
        kind = TensorProto.DataType.Name(tensor_type.elem_type) if tensor_type else "no tensor"
        raise OnnxImportError(
            f"input {quoted(source.name)} holds {kind}; relumap imports networks of float inputs"
        )
    precision = TensorProto.DataType.Name(tensor_type.elem_type).lower()
    precision = {"float": "float32", "double": "float64"}.get(precision, precision)
    dims = list(tensor_type.shape.dim) if tensor_type.HasField("shape") else []
    sizes = [dim.dim_value if dim.HasField("dim_value") else 0 for dim in dims[1:]]
    width = int(np.prod(sizes)) if sizes and all(size > 0 for size in sizes) else None
    return source.name, precision, width


def check_coverage(
    graph: onnx.GraphProto,
    values: dict[str, np.ndarray],
    nodes: list[onnx.NodeProto],
    visited: list[onnx.NodeProto],
    end: str,
    output_activation: str,
) -> None:
    """Every node lies on the chain or its label outputs, and the outputs come from them."""
    produced = {name for node in visited for name in node.output}
    visited_ids = {id(node) for node in visited}
    for node in nodes:
        if folded(node, values) or id(node) in visited_ids:
            continue
        raise OnnxImportError(
            f"{where(node)} is not on the chain from the input to the output; relumap "
            "imports a single chain of layers",
            node,
        )
    outputs = [value.name for value in graph.output]
    stray = [name for name in outputs if name not in produced]
    if stray or not outputs:
        raise OnnxImportError(
            f"graph outputs {', '.join(map(quoted, stray[:5]))} are not computed by the chain "
            "of layers; relumap imports a network whose outputs all follow from its input"
        )
    if output_activation == "identity" and end not in outputs:
        raise OnnxImportError(
            f"the chain ends at tensor {end!r}, which is not an output of the graph"
        )


def network_from_onnx(data: bytes) -> ImportedNetwork:
    """Read an ONNX multilayer perceptron as a :class:`Network` in float64.

    Parameters
    ----------
    data : bytes
        A serialised ``ModelProto`` (an ``.onnx`` file).

    Returns
    -------
    ImportedNetwork

    Raises
    ------
    OnnxImportError
        If the bytes are no ONNX model, an operator is not supported (the
        error names the node and its operator), or the graph is not a single
        chain of layers from its input to its output.
    """
    try:
        # Damaged weights may hold NaN: the network's own checks refuse them.
        with np.errstate(all="ignore"):
            return _read(data)
    except OnnxImportError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError) as exc:
        # A file can be valid protobuf and still break ONNX's rules (a node
        # without outputs, an attribute of the wrong type): that is bad input.
        raise OnnxImportError(
            f"the ONNX model is malformed ({type(exc).__name__}: {str(exc)[:200]}); check it "
            "with onnx.checker.check_model"
        ) from None


def _read(data: bytes) -> ImportedNetwork:
    model = load_model(data)
    graph = model.graph
    values = constants(graph)
    source, precision, n_inputs = graph_input(graph, values)
    nodes = list(graph.node)
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in nodes:
        if folded(node, values):
            continue
        if node.domain not in DOMAINS or node.op_type not in CHAIN_OPS + LABEL_OPS:
            domain = f" in domain {node.domain!r}" if node.domain not in DOMAINS else ""
            raise OnnxImportError(
                f"{where(node)}{domain} is not supported: relumap imports multilayer "
                "perceptrons made of Gemm, MatMul, Add, Relu, LeakyRelu, Identity, Sigmoid, "
                "Softmax and Flatten",
                node,
            )
        for name in node.input:
            if name:
                consumers[name].append(node)
    layers = Layers()
    output_activation = "identity"
    chain: list[onnx.NodeProto] = []
    chain_ids: set[int] = set()
    tensor = source
    while output_activation == "identity" and consumers.get(tensor):
        users = consumers[tensor]
        leaky = leaky_relu(tensor, users, values)
        if leaky is not None:
            layers.activate("leaky_relu", leaky[0], leaky[2])
            chain += leaky[1:]
            chain_ids.update(id(node) for node in leaky[1:])
            tensor = leaky[2].output[0]
            continue
        if len(users) > 1:
            named = ", ".join(where(user) for user in users[:5])
            raise OnnxImportError(
                f"tensor {quoted(tensor)} feeds {len(users)} nodes ({named}); relumap imports a "
                "chain of layers, without branches or residual connections",
                users[1],
            )
        node = users[0]
        if id(node) in chain_ids:
            raise OnnxImportError(f"{where(node)} is part of a cycle", node)
        output_activation = read_node(node, tensor, layers, values)
        chain.append(node)
        chain_ids.add(id(node))
        tensor = node.output[0]
    labels_nodes, labels = label_outputs(tensor, output_activation, consumers, values)
    check_coverage(graph, values, nodes, chain + labels_nodes, tensor, output_activation)
    coefs, intercepts, hidden, slope = layers.fold(n_inputs)
    try:
        network = Network(coefs, intercepts, hidden, output_activation, negative_slope=slope)
    except ValueError as exc:
        raise OnnxImportError(f"the weights do not form a network: {exc}") from None
    if n_inputs is not None and n_inputs != network.n_inputs:
        raise OnnxImportError(
            f"input {quoted(source)} has {n_inputs} features but the first layer takes "
            f"{network.n_inputs}"
        )
    if output_activation == "logistic" and network.n_outputs != 1:
        raise OnnxImportError(
            f"the Sigmoid applies to {network.n_outputs} outputs (several yes/no labels); "
            "relumap takes a Sigmoid over one output (two classes) or a Softmax"
        )
    if output_activation == "softmax" and network.n_outputs < 2:
        raise OnnxImportError("the Softmax applies to one output, which it maps to 1")
    n_classes = 2 if output_activation == "logistic" else network.n_outputs
    classes = labels if labels is not None else metadata_labels(model, "classes")
    if output_activation == "identity":
        classes = None
    elif classes is not None and len(classes) != n_classes:
        raise OnnxImportError(
            f"the graph names {len(classes)} classes {classes[:10]} for {n_classes} probabilities"
        )
    names = metadata_labels(model, "feature_names")
    if names is not None and len(names) != network.n_inputs:
        raise OnnxImportError(
            f"metadata 'feature_names' has {len(names)} names for {network.n_inputs} features"
        )
    return ImportedNetwork(
        network=network,
        classes=classes,
        feature_names=None if names is None else [str(name) for name in names],
        precision=precision,
        producer=f"{model.producer_name} {model.producer_version}".strip(),
    )
