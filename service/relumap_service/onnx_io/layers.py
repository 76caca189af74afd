"""The layer chain of an ONNX graph: each node read, then the steps folded into layers."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto

from relumap_service.core.network import FloatArray
from relumap_service.onnx_io.graph import (
    CHAIN_OPS,
    FLOAT_TYPES,
    OnnxImportError,
    attribute,
    bias_vector,
    weight_matrix,
    where,
)

__all__ = ["Layers", "leaky_relu", "read_node"]


class Layers:
    """The steps read along the chain, then folded into a network's layers.

    Products and biases between two activations compose into one affine map.
    A network with no activation at all keeps one layer per product instead,
    so an identity network comes back with the layers it was exported with.
    """

    def __init__(self) -> None:
        self.steps: list[tuple[str, Any, onnx.NodeProto]] = []

    def multiply(self, matrix: FloatArray, node: onnx.NodeProto) -> None:
        """Record ``x @ matrix``."""
        if matrix.ndim != 2:
            raise OnnxImportError(
                f"{where(node)} multiplies by a tensor of shape {list(matrix.shape)}; "
                "a layer's weights are a matrix",
                node,
            )
        self.steps.append(("product", matrix, node))

    def add(self, vector: FloatArray, node: onnx.NodeProto) -> None:
        """Record ``x + vector``."""
        self.steps.append(("bias", bias_vector(vector, node), node))

    def activate(self, kind: str, slope: float, node: onnx.NodeProto) -> None:
        """Record a hidden activation (``relu`` or ``leaky_relu`` with its slope)."""
        self.steps.append(("activation", (kind, slope), node))

    @property
    def open(self) -> bool:
        """Whether an affine map has begun since the last activation."""
        return bool(self.steps) and self.steps[-1][0] != "activation"

    def reshape(self, columns: int, node: onnx.NodeProto) -> None:
        """Record a Reshape to (-1, columns), to check it keeps the shape."""
        self.steps.append(("reshape", columns, node))

    def fold(self, n_inputs: int | None) -> tuple[list[FloatArray], list[FloatArray], str, float]:
        """Return coefs, intercepts, hidden activation and negative slope."""
        activations = [value for kind, value, _ in self.steps if kind == "activation"]
        first = next((node for kind, _, node in self.steps if kind == "activation"), None)
        coefs: list[FloatArray] = []
        intercepts: list[FloatArray] = []
        weight: FloatArray | None = None  # with bias, the open affine map; None: identity
        bias: FloatArray | None = None

        def close() -> None:
            nonlocal weight, bias
            assert weight is not None
            coefs.append(weight)
            intercepts.append(np.zeros(weight.shape[1]) if bias is None else bias)
            weight, bias = None, None

        for kind, value, node in self.steps:
            if weight is not None:
                width: int | None = int(weight.shape[1])
            elif bias is not None:
                width = int(bias.shape[0])
            else:
                width = int(coefs[-1].shape[1]) if coefs else n_inputs
            if kind == "reshape":
                if value != width:
                    raise OnnxImportError(
                        f"{where(node)} reshapes {width} columns into {value}; relumap "
                        "accepts a Reshape only where it keeps the shape (n_samples, width)",
                        node,
                    )
            elif kind == "product":
                if width is not None and value.shape[0] != width:
                    raise OnnxImportError(
                        f"{where(node)} multiplies {width} units by a matrix of shape "
                        f"{list(value.shape)}",
                        node,
                    )
                if weight is not None and not activations:
                    close()
                weight = value if weight is None else weight @ value
                bias = None if bias is None else bias @ value
            elif kind == "bias":
                if width is not None and value.shape[0] not in (1, width):
                    raise OnnxImportError(
                        f"{where(node)} adds {value.shape[0]} values to {width} units", node
                    )
                if width is not None:
                    value = np.broadcast_to(value, (width,))
                bias = value.copy() if bias is None else bias + value
            elif weight is None:
                raise OnnxImportError(
                    f"{where(node)} follows no Gemm or MatMul layer; relumap imports "
                    "affine layers with one activation after each hidden layer",
                    node,
                )
            elif value != activations[0]:
                assert first is not None
                raise OnnxImportError(
                    f"{where(node)} differs from the first hidden activation, "
                    f"{where(first)}; relumap's networks use one activation in every "
                    "hidden layer",
                    node,
                )
            else:
                close()
        if weight is None:
            raise OnnxImportError(
                "the chain does not end with a Gemm or MatMul layer; relumap's output layer "
                "is affine, optionally followed by Sigmoid or Softmax"
            )
        close()
        kind, slope = activations[0] if activations else ("identity", 0.01)
        return coefs, intercepts, kind, slope


def leaky_relu(
    tensor: str, users: list[onnx.NodeProto], values: dict[str, np.ndarray]
) -> tuple[float, onnx.NodeProto, onnx.NodeProto] | None:
    """Recognise ``Max(x, Mul(x, a))`` with one constant ``0 <= a < 1``: leaky ReLU.

    relumap writes leaky ReLU so, as ``LeakyRelu`` holds its slope in float32.
    Return the slope, the ``Mul`` and the ``Max`` node, or None.
    """
    if len(users) != 2:
        return None
    mul, top = sorted(users, key=lambda node: node.op_type != "Mul")
    if (mul.op_type, top.op_type) != ("Mul", "Max") or len(mul.input) != 2:
        return None
    other = [name for name in mul.input if name != tensor]
    slope = values.get(other[0]) if len(other) == 1 else None
    if slope is None or slope.size != 1 or not 0.0 <= float(slope.ravel()[0]) < 1.0:
        return None
    if sorted(top.input) != sorted([tensor, mul.output[0]]):
        return None
    return float(np.float64(slope.ravel()[0])), mul, top


def read_node(
    node: onnx.NodeProto, tensor: str, layers: Layers, values: dict[str, np.ndarray]
) -> str:
    """Read one node of the chain; return the output activation it starts, else identity."""
    op, here = node.op_type, where(node)
    if op not in CHAIN_OPS:
        raise OnnxImportError(
            f"{here} comes before any Sigmoid or Softmax; relumap accepts it only among "
            "the label outputs of a classifier",
            node,
        )
    if op in ("Mul", "Max"):
        raise OnnxImportError(
            f"{here} is supported only as leaky ReLU, Max(x, Mul(x, a)) with one constant "
            "0 <= a < 1",
            node,
        )
    if op == "Add":
        others = [name for name in node.input if name != tensor]
        if len(others) != 1:
            raise OnnxImportError(f"{here} adds the chain to itself", node)
        layers.add(weight_matrix(values, others[0], node), node)
        return "identity"
    if list(node.input[:1]) != [tensor]:
        raise OnnxImportError(
            f"{here} takes the chain as input {list(node.input).index(tensor)}, not as its "
            "first input; relumap reads layers as x @ W + b",
            node,
        )
    if op == "Gemm":
        if attribute(node, "transA", 0):
            raise OnnxImportError(f"{here} transposes its input (transA=1)", node)
        matrix = weight_matrix(values, node.input[1], node)
        alpha, beta = attribute(node, "alpha", 1.0), attribute(node, "beta", 1.0)
        layers.multiply(alpha * (matrix.T if attribute(node, "transB", 0) else matrix), node)
        if len(node.input) > 2 and node.input[2]:
            layers.add(beta * weight_matrix(values, node.input[2], node), node)
    elif op == "MatMul":
        layers.multiply(weight_matrix(values, node.input[1], node), node)
    elif op == "Relu":
        layers.activate("relu", 0.0, node)
    elif op == "LeakyRelu":
        layers.activate("leaky_relu", float(attribute(node, "alpha", 0.01)), node)
    elif op == "Flatten" and attribute(node, "axis", 1) != 1:
        raise OnnxImportError(f"{here} flattens from axis {attribute(node, 'axis', 1)}", node)
    elif op == "Cast" and attribute(node, "to", 0) not in FLOAT_TYPES:
        kind = TensorProto.DataType.Name(attribute(node, "to", 0))
        raise OnnxImportError(f"{here} casts the chain to {kind}", node)
    elif op == "Reshape":
        shape = values.get(node.input[1]) if len(node.input) > 1 else None
        if shape is None or shape.shape != (2,) or int(shape[0]) not in (-1, 0) or shape[1] < 1:
            target = None if shape is None else shape.tolist()
            raise OnnxImportError(
                f"{here} reshapes to {target}; relumap accepts a Reshape to (-1, width) "
                "that keeps the shape",
                node,
            )
        layers.reshape(int(shape[1]), node)
    elif op in ("Sigmoid", "Softmax"):
        if not layers.open:
            raise OnnxImportError(f"{here} follows no Gemm or MatMul layer", node)
        if op == "Softmax" and attribute(node, "axis", -1) not in (1, -1):
            raise OnnxImportError(f"{here} normalises along axis 0, not per sample", node)
        return "logistic" if op == "Sigmoid" else "softmax"
    return "identity"
