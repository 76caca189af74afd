"""What an ONNX graph holds: its constants, node attributes, and names for error messages."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from relumap_service.core.network import FloatArray

__all__ = [
    "CHAIN_OPS",
    "DOMAINS",
    "FLOAT_TYPES",
    "LABEL_OPS",
    "OnnxImportError",
    "attribute",
    "bias_vector",
    "constants",
    "folded",
    "quoted",
    "tensor_array",
    "weight_matrix",
    "where",
]

# Operators of the layer chain, and those skl2onnx puts after the probabilities
# to produce labels; nothing else is imported.
CHAIN_OPS = (
    "Gemm",
    "MatMul",
    "Add",
    "Relu",
    "LeakyRelu",
    "Identity",
    "Sigmoid",
    "Softmax",
    "Flatten",
    "Cast",
    "Reshape",
    "Mul",
    "Max",
)
LABEL_OPS = (
    "Sub",
    "Concat",
    "ArgMax",
    "ZipMap",
    "ArrayFeatureExtractor",
    "Cast",
    "Reshape",
    "Identity",
)
DOMAINS = ("", "ai.onnx", "ai.onnx.ml")
FLOAT_TYPES = (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16)


class OnnxImportError(ValueError):
    """An ONNX model relumap cannot read as a multilayer perceptron.

    Attributes
    ----------
    node : str or None
        Name of the offending node, when one is to blame.
    op_type : str or None
        Its operator.
    """

    def __init__(self, message: str, node: Any = None) -> None:
        super().__init__(message)
        self.node: str | None = None if node is None else str(node.name)[:200]
        self.op_type: str | None = None if node is None else str(node.op_type)[:200]


def quoted(text: str, limit: int = 80) -> str:
    """Quote a name from the file, cut short: error messages echo it."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def where(node: onnx.NodeProto) -> str:
    """Name a node and its operator for an error message."""
    return (
        f"node {quoted(node.name) if node.name else '(unnamed)'} ({quoted(node.op_type, 40)[1:-1]})"
    )


def attribute(node: onnx.NodeProto, name: str, default: Any) -> Any:
    """Return the value of a node's attribute, or ``default``."""
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def tensor_array(tensor: onnx.TensorProto) -> np.ndarray:
    """Return a tensor stored in the file as an array."""
    if tensor.data_location == TensorProto.EXTERNAL:
        raise OnnxImportError(
            f"tensor {quoted(tensor.name)} is stored in an external file; save the model with its "
            "weights inside (onnx.save_model(..., save_as_external_data=False))"
        )
    try:
        return np.asarray(numpy_helper.to_array(tensor))
    except Exception as exc:
        raise OnnxImportError(f"tensor {quoted(tensor.name)} cannot be read: {exc}") from None


def folded(node: onnx.NodeProto, values: dict[str, np.ndarray]) -> bool:
    """Whether the node only computes a constant (its value is in ``values``)."""
    return (
        node.op_type in ("Constant", "Transpose")
        and node.domain in ("", "ai.onnx")
        and len(node.output) == 1
        and node.output[0] in values
    )


def constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Return the initializers and the outputs of ``Constant`` nodes, by name.

    A ``Transpose`` of a constant is folded too: PyTorch's dynamo exporter
    writes ``nn.Linear`` as ``MatMul(x, Transpose(weight))`` + ``Add``.
    """
    found = {tensor.name: tensor for tensor in graph.initializer}
    values = {name: tensor_array(tensor) for name, tensor in found.items()}
    for node in graph.node:
        if node.domain not in ("", "ai.onnx") or len(node.output) != 1:
            continue
        if node.op_type == "Transpose" and len(node.input) == 1 and node.input[0] in values:
            array = values[node.input[0]]
            perm = attribute(node, "perm", None)
            values[node.output[0]] = np.transpose(array, None if perm is None else list(perm))
        if node.op_type == "Constant":
            value = attribute(node, "value", None)
            if value is None:
                for key in ("value_float", "value_floats", "value_int", "value_ints"):
                    value = attribute(node, key, value)
                if value is None:
                    raise OnnxImportError(f"{where(node)} holds no numeric value", node)
                values[node.output[0]] = np.asarray(value)
            else:
                values[node.output[0]] = tensor_array(value)
    return values


def weight_matrix(values: dict[str, np.ndarray], name: str, node: onnx.NodeProto) -> FloatArray:
    """Return the constant ``name`` that ``node`` multiplies or adds, in float64."""
    if name not in values:
        raise OnnxImportError(
            f"{where(node)} multiplies or adds {quoted(name)}, which is not a constant; relumap "
            "imports a chain of layers with constant weights, without branches or residual "
            "connections",
            node,
        )
    array = values[name]
    if array.dtype.kind not in "fiu":
        raise OnnxImportError(f"{where(node)} has {array.dtype} weights {quoted(name)}", node)
    # float16 and float32 to float64 is exact.
    return np.asarray(array, dtype=np.float64)


def bias_vector(array: FloatArray, node: onnx.NodeProto) -> FloatArray:
    """Return a bias of shape (n_out,) or (1, n_out) as a vector."""
    if array.ndim > 2 or (array.ndim == 2 and array.shape[0] != 1):
        raise OnnxImportError(
            f"{where(node)} adds a tensor of shape {list(array.shape)}; a bias has shape "
            "(n_out,) or (1, n_out)",
            node,
        )
    return array.reshape(-1)
