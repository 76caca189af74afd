"""ONNX in and out: a :class:`Network` as an ONNX graph, and an MLP graph read back.

Export writes float64 (``DOUBLE``) tensors, so onnxruntime reproduces
``Network.predict`` to rounding. Import reads the graphs that PyTorch's
``torch.onnx.export`` and skl2onnx write for multilayer perceptrons: a chain of
``Gemm`` or ``MatMul`` + ``Add`` layers with ``Relu``, ``LeakyRelu`` or no
activation between them, possibly ``Flatten``, ``Identity`` and ``Cast`` on the
way, and ``Sigmoid`` or ``Softmax`` at the end. skl2onnx's label outputs after
the probabilities (``ArgMax``, ``ZipMap``, ...) are recognised and skipped.
Float32 weights become float64 exactly. Anything else raises
:class:`OnnxImportError` naming the node.

Only numpy and onnx are used here, no web framework, so the format is testable
on its own.

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> net = Network([np.array([[1.0, -1.0]]), np.array([[1.0], [1.0]])], [np.zeros(2), np.zeros(1)])
>>> network_from_onnx(network_to_onnx(net)).network.predict(np.array([[-3.0]])).tolist()
[[3.0]]
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from relumap_service import __version__
from relumap_service.core.network import FloatArray, Network

__all__ = [
    "ONNX_MIMETYPE",
    "OPSET",
    "ImportedNetwork",
    "OnnxImportError",
    "network_from_onnx",
    "network_to_onnx",
]

ONNX_MIMETYPE = "application/onnx"
# Opset 17 with IR version 8 is read by every onnxruntime since 1.13.
OPSET = 17
IR_VERSION = 8

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
_DOMAINS = ("", "ai.onnx", "ai.onnx.ml")
_FLOAT_TYPES = (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16)


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


# -- export -------------------------------------------------------------------------------
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


# -- import -------------------------------------------------------------------------------
def _name(text: str, limit: int = 80) -> str:
    """Quote a name from the file, cut short: error messages echo it."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _where(node: onnx.NodeProto) -> str:
    return (
        f"node {_name(node.name) if node.name else '(unnamed)'} ({_name(node.op_type, 40)[1:-1]})"
    )


def _attribute(node: onnx.NodeProto, name: str, default: Any) -> Any:
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _array(tensor: onnx.TensorProto) -> np.ndarray:
    if tensor.data_location == TensorProto.EXTERNAL:
        raise OnnxImportError(
            f"tensor {_name(tensor.name)} is stored in an external file; save the model with its "
            "weights inside (onnx.save_model(..., save_as_external_data=False))"
        )
    try:
        return np.asarray(numpy_helper.to_array(tensor))
    except Exception as exc:
        raise OnnxImportError(f"tensor {_name(tensor.name)} cannot be read: {exc}") from None


def _folded(node: onnx.NodeProto, values: dict[str, np.ndarray]) -> bool:
    """Whether the node only computes a constant (its value is in ``values``)."""
    return (
        node.op_type in ("Constant", "Transpose")
        and node.domain in ("", "ai.onnx")
        and len(node.output) == 1
        and node.output[0] in values
    )


def _constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Return the initializers and the outputs of ``Constant`` nodes, by name.

    A ``Transpose`` of a constant is folded too: PyTorch's dynamo exporter
    writes ``nn.Linear`` as ``MatMul(x, Transpose(weight))`` + ``Add``.
    """
    found = {tensor.name: tensor for tensor in graph.initializer}
    values = {name: _array(tensor) for name, tensor in found.items()}
    for node in graph.node:
        if node.domain not in ("", "ai.onnx") or len(node.output) != 1:
            continue
        if node.op_type == "Transpose" and len(node.input) == 1 and node.input[0] in values:
            array = values[node.input[0]]
            perm = _attribute(node, "perm", None)
            values[node.output[0]] = np.transpose(array, None if perm is None else list(perm))
        if node.op_type == "Constant":
            value = _attribute(node, "value", None)
            if value is None:
                for key in ("value_float", "value_floats", "value_int", "value_ints"):
                    value = _attribute(node, key, value)
                if value is None:
                    raise OnnxImportError(f"{_where(node)} holds no numeric value", node)
                values[node.output[0]] = np.asarray(value)
            else:
                values[node.output[0]] = _array(value)
    return values


def _weights(values: dict[str, np.ndarray], name: str, node: onnx.NodeProto) -> FloatArray:
    if name not in values:
        raise OnnxImportError(
            f"{_where(node)} multiplies or adds {_name(name)}, which is not a constant; relumap "
            "imports a chain of layers with constant weights, without branches or residual "
            "connections",
            node,
        )
    array = values[name]
    if array.dtype.kind not in "fiu":
        raise OnnxImportError(f"{_where(node)} has {array.dtype} weights {_name(name)}", node)
    # float16 and float32 to float64 is exact.
    return np.asarray(array, dtype=np.float64)


def _bias(array: FloatArray, node: onnx.NodeProto) -> FloatArray:
    if array.ndim > 2 or (array.ndim == 2 and array.shape[0] != 1):
        raise OnnxImportError(
            f"{_where(node)} adds a tensor of shape {list(array.shape)}; a bias has shape "
            "(n_out,) or (1, n_out)",
            node,
        )
    return array.reshape(-1)


class _Layers:
    """The steps read along the chain, then folded into a network's layers.

    Products and biases between two activations compose into one affine map.
    A network with no activation at all keeps one layer per product instead,
    so an identity network comes back with the layers it was exported with.
    """

    def __init__(self) -> None:
        self.steps: list[tuple[str, Any, onnx.NodeProto]] = []

    def multiply(self, matrix: FloatArray, node: onnx.NodeProto) -> None:
        if matrix.ndim != 2:
            raise OnnxImportError(
                f"{_where(node)} multiplies by a tensor of shape {list(matrix.shape)}; "
                "a layer's weights are a matrix",
                node,
            )
        self.steps.append(("product", matrix, node))

    def add(self, vector: FloatArray, node: onnx.NodeProto) -> None:
        self.steps.append(("bias", _bias(vector, node), node))

    def activate(self, kind: str, slope: float, node: onnx.NodeProto) -> None:
        self.steps.append(("activation", (kind, slope), node))

    @property
    def open(self) -> bool:
        """Whether an affine map has begun since the last activation."""
        return bool(self.steps) and self.steps[-1][0] != "activation"

    def reshape(self, columns: int, node: onnx.NodeProto) -> None:
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
                        f"{_where(node)} reshapes {width} columns into {value}; relumap "
                        "accepts a Reshape only where it keeps the shape (n_samples, width)",
                        node,
                    )
            elif kind == "product":
                if width is not None and value.shape[0] != width:
                    raise OnnxImportError(
                        f"{_where(node)} multiplies {width} units by a matrix of shape "
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
                        f"{_where(node)} adds {value.shape[0]} values to {width} units", node
                    )
                if width is not None:
                    value = np.broadcast_to(value, (width,))
                bias = value.copy() if bias is None else bias + value
            elif weight is None:
                raise OnnxImportError(
                    f"{_where(node)} follows no Gemm or MatMul layer; relumap imports "
                    "affine layers with one activation after each hidden layer",
                    node,
                )
            elif value != activations[0]:
                assert first is not None
                raise OnnxImportError(
                    f"{_where(node)} differs from the first hidden activation, "
                    f"{_where(first)}; relumap's networks use one activation in every "
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


def _load(data: bytes) -> onnx.ModelProto:
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


def _source(graph: onnx.GraphProto, values: dict[str, np.ndarray]) -> tuple[str, str, int | None]:
    """Return the input's name, element type and width (None when not declared)."""
    inputs = [value for value in graph.input if value.name not in values]
    if len(inputs) != 1:
        names = ", ".join(_name(value.name) for value in inputs[:5])
        raise OnnxImportError(
            f"the graph has {len(inputs)} inputs ({names}); relumap imports a network with "
            "one input tensor"
        )
    source = inputs[0]
    tensor_type = source.type.tensor_type
    if not source.type.HasField("tensor_type") or tensor_type.elem_type not in _FLOAT_TYPES:
        kind = TensorProto.DataType.Name(tensor_type.elem_type) if tensor_type else "no tensor"
        raise OnnxImportError(
            f"input {_name(source.name)} holds {kind}; relumap imports networks of float inputs"
        )
    precision = TensorProto.DataType.Name(tensor_type.elem_type).lower()
    precision = {"float": "float32", "double": "float64"}.get(precision, precision)
    dims = list(tensor_type.shape.dim) if tensor_type.HasField("shape") else []
    sizes = [dim.dim_value if dim.HasField("dim_value") else 0 for dim in dims[1:]]
    width = int(np.prod(sizes)) if sizes and all(size > 0 for size in sizes) else None
    return source.name, precision, width


def _labels(value: Any) -> list[Any]:
    labels = np.asarray(value).ravel().tolist()
    return [v.decode() if isinstance(v, bytes) else v for v in labels]


def _metadata(model: onnx.ModelProto, key: str) -> list[Any] | None:
    for prop in model.metadata_props:
        if prop.key == key:
            try:
                found = json.loads(prop.value)
            except ValueError:
                found = None
            if not isinstance(found, list) or not all(
                isinstance(v, str | int | float | bool) for v in found
            ):
                raise OnnxImportError(
                    f"metadata {key!r} must be a JSON list of labels, got {prop.value[:80]!r}"
                )
            return found
    return None


def _post_processing(
    probabilities: str,
    output_activation: str,
    consumers: dict[str, list[onnx.NodeProto]],
    values: dict[str, np.ndarray],
) -> tuple[list[onnx.NodeProto], list[Any] | None]:
    """Check the nodes after the probabilities only derive labels; return them and the labels.

    skl2onnx writes ``Sub(1, p)`` and ``Concat([1 - p, p])`` after a binary
    ``Sigmoid``, then ``ArgMax``, ``ArrayFeatureExtractor`` over the class
    table, ``ZipMap``, ``Reshape`` and ``Cast``: none changes a probability.
    """
    seen: list[onnx.NodeProto] = []
    seen_ids: set[int] = set()
    labels: list[Any] | None = None
    complement: str | None = None
    queue = [probabilities]
    while queue:
        for node in consumers.get(queue.pop(), []):
            if id(node) in seen_ids:
                continue
            where = _where(node)
            if node.op_type not in LABEL_OPS:
                raise OnnxImportError(
                    f"{where} comes after the output activation; relumap accepts only the "
                    "label outputs there (ArgMax, ZipMap, ArrayFeatureExtractor, Reshape, "
                    "Cast, Identity, and [1 - p, p] after a Sigmoid)",
                    node,
                )
            if node.op_type == "Sub":
                one = values.get(node.input[0])
                if (
                    output_activation != "logistic"
                    or list(node.input[1:]) != [probabilities]
                    or one is None
                    or one.size != 1
                    or float(one.ravel()[0]) != 1.0
                ):
                    raise OnnxImportError(
                        f"{where} is not 1 - p after the Sigmoid; relumap cannot tell which "
                        "output holds the probabilities",
                        node,
                    )
                complement = node.output[0]
            if node.op_type == "Concat" and (
                complement is None
                or list(node.input) != [complement, probabilities]
                or _attribute(node, "axis", 0) not in (1, -1)
            ):
                raise OnnxImportError(
                    f"{where} does not build [1 - p, p] along axis 1; relumap cannot tell "
                    "which output holds the probabilities",
                    node,
                )
            if node.op_type == "ZipMap":
                for key in ("classlabels_int64s", "classlabels_strings"):
                    found = _attribute(node, key, None)
                    labels = _labels(found) if found else labels
            if node.op_type == "ArrayFeatureExtractor" and node.input[0] in values:
                labels = labels or _labels(values[node.input[0]])
            seen.append(node)
            seen_ids.add(id(node))
            queue += [name for name in node.output if name]
    return seen, labels


def _leaky_relu(
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


def _step(node: onnx.NodeProto, tensor: str, layers: _Layers, values: dict[str, np.ndarray]) -> str:
    """Read one node of the chain; return the output activation it starts, else identity."""
    op, where = node.op_type, _where(node)
    if op not in CHAIN_OPS:
        raise OnnxImportError(
            f"{where} comes before any Sigmoid or Softmax; relumap accepts it only among "
            "the label outputs of a classifier",
            node,
        )
    if op in ("Mul", "Max"):
        raise OnnxImportError(
            f"{where} is supported only as leaky ReLU, Max(x, Mul(x, a)) with one constant "
            "0 <= a < 1",
            node,
        )
    if op == "Add":
        others = [name for name in node.input if name != tensor]
        if len(others) != 1:
            raise OnnxImportError(f"{where} adds the chain to itself", node)
        layers.add(_weights(values, others[0], node), node)
        return "identity"
    if list(node.input[:1]) != [tensor]:
        raise OnnxImportError(
            f"{where} takes the chain as input {list(node.input).index(tensor)}, not as its "
            "first input; relumap reads layers as x @ W + b",
            node,
        )
    if op == "Gemm":
        if _attribute(node, "transA", 0):
            raise OnnxImportError(f"{where} transposes its input (transA=1)", node)
        matrix = _weights(values, node.input[1], node)
        alpha, beta = _attribute(node, "alpha", 1.0), _attribute(node, "beta", 1.0)
        layers.multiply(alpha * (matrix.T if _attribute(node, "transB", 0) else matrix), node)
        if len(node.input) > 2 and node.input[2]:
            layers.add(beta * _weights(values, node.input[2], node), node)
    elif op == "MatMul":
        layers.multiply(_weights(values, node.input[1], node), node)
    elif op == "Relu":
        layers.activate("relu", 0.0, node)
    elif op == "LeakyRelu":
        layers.activate("leaky_relu", float(_attribute(node, "alpha", 0.01)), node)
    elif op == "Flatten" and _attribute(node, "axis", 1) != 1:
        raise OnnxImportError(f"{where} flattens from axis {_attribute(node, 'axis', 1)}", node)
    elif op == "Cast" and _attribute(node, "to", 0) not in _FLOAT_TYPES:
        kind = TensorProto.DataType.Name(_attribute(node, "to", 0))
        raise OnnxImportError(f"{where} casts the chain to {kind}", node)
    elif op == "Reshape":
        shape = values.get(node.input[1]) if len(node.input) > 1 else None
        if shape is None or shape.shape != (2,) or int(shape[0]) not in (-1, 0) or shape[1] < 1:
            target = None if shape is None else shape.tolist()
            raise OnnxImportError(
                f"{where} reshapes to {target}; relumap accepts a Reshape to (-1, width) "
                "that keeps the shape",
                node,
            )
        layers.reshape(int(shape[1]), node)
    elif op in ("Sigmoid", "Softmax"):
        if not layers.open:
            raise OnnxImportError(f"{where} follows no Gemm or MatMul layer", node)
        if op == "Softmax" and _attribute(node, "axis", -1) not in (1, -1):
            raise OnnxImportError(f"{where} normalises along axis 0, not per sample", node)
        return "logistic" if op == "Sigmoid" else "softmax"
    return "identity"


def _check_coverage(
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
        if _folded(node, values) or id(node) in visited_ids:
            continue
        raise OnnxImportError(
            f"{_where(node)} is not on the chain from the input to the output; relumap "
            "imports a single chain of layers",
            node,
        )
    outputs = [value.name for value in graph.output]
    stray = [name for name in outputs if name not in produced]
    if stray or not outputs:
        raise OnnxImportError(
            f"graph outputs {', '.join(map(_name, stray[:5]))} are not computed by the chain "
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
    model = _load(data)
    graph = model.graph
    values = _constants(graph)
    source, precision, n_inputs = _source(graph, values)
    nodes = list(graph.node)
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in nodes:
        if _folded(node, values):
            continue
        if node.domain not in _DOMAINS or node.op_type not in CHAIN_OPS + LABEL_OPS:
            domain = f" in domain {node.domain!r}" if node.domain not in _DOMAINS else ""
            raise OnnxImportError(
                f"{_where(node)}{domain} is not supported: relumap imports multilayer "
                "perceptrons made of Gemm, MatMul, Add, Relu, LeakyRelu, Identity, Sigmoid, "
                "Softmax and Flatten",
                node,
            )
        for name in node.input:
            if name:
                consumers[name].append(node)
    layers = _Layers()
    output_activation = "identity"
    chain: list[onnx.NodeProto] = []
    chain_ids: set[int] = set()
    tensor = source
    while output_activation == "identity" and consumers.get(tensor):
        users = consumers[tensor]
        leaky = _leaky_relu(tensor, users, values)
        if leaky is not None:
            layers.activate("leaky_relu", leaky[0], leaky[2])
            chain += leaky[1:]
            chain_ids.update(id(node) for node in leaky[1:])
            tensor = leaky[2].output[0]
            continue
        if len(users) > 1:
            named = ", ".join(_where(user) for user in users[:5])
            raise OnnxImportError(
                f"tensor {_name(tensor)} feeds {len(users)} nodes ({named}); relumap imports a "
                "chain of layers, without branches or residual connections",
                users[1],
            )
        node = users[0]
        if id(node) in chain_ids:
            raise OnnxImportError(f"{_where(node)} is part of a cycle", node)
        output_activation = _step(node, tensor, layers, values)
        chain.append(node)
        chain_ids.add(id(node))
        tensor = node.output[0]
    labels_nodes, labels = _post_processing(tensor, output_activation, consumers, values)
    _check_coverage(graph, values, nodes, chain + labels_nodes, tensor, output_activation)
    coefs, intercepts, hidden, slope = layers.fold(n_inputs)
    try:
        network = Network(coefs, intercepts, hidden, output_activation, negative_slope=slope)
    except ValueError as exc:
        raise OnnxImportError(f"the weights do not form a network: {exc}") from None
    if n_inputs is not None and n_inputs != network.n_inputs:
        raise OnnxImportError(
            f"input {_name(source)} has {n_inputs} features but the first layer takes "
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
    classes = labels if labels is not None else _metadata(model, "classes")
    if output_activation == "identity":
        classes = None
    elif classes is not None and len(classes) != n_classes:
        raise OnnxImportError(
            f"the graph names {len(classes)} classes {classes[:10]} for {n_classes} probabilities"
        )
    names = _metadata(model, "feature_names")
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
