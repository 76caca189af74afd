"""ONNX graphs laid out as PyTorch and skl2onnx write them, and onnxruntime to run them.

torch is not installed here (too heavy for a test dependency), so
:func:`torch_style_mlp` writes with ``onnx.helper`` what ``torch.onnx.export``
(TorchScript exporter, opset 17) writes for an ``nn.Sequential`` of
``nn.Flatten``, ``nn.Linear`` and ``nn.ReLU`` / ``nn.LeakyReLU``: one
``Gemm(alpha=1, beta=1, transB=1)`` per Linear whose weight keeps PyTorch's
(out, in) shape and is an initializer named ``<index>.weight``, nodes named
``/<index>/<Op>``, outputs ``/<index>/<Op>_output_0``, a float32 input
``input`` with the symbolic batch dimension ``batch_size``, IR version 8.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def run(model: bytes | onnx.ModelProto, X: np.ndarray) -> list[Any]:
    """Run a model in onnxruntime on its one input; return every output."""
    data = model if isinstance(model, bytes) else model.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


def torch_style_mlp(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    *,
    activation: str = "relu",
    negative_slope: float = 0.01,
    final: str | None = None,
    flatten: bool = False,
    dtype: Any = np.float32,
) -> onnx.ModelProto:
    """An MLP as ``torch.onnx.export(nn.Sequential(...), x, input_names=["input"], ...)``.

    ``weights[i]`` has PyTorch's shape (out, in). ``flatten`` puts ``nn.Flatten``
    first, and the input then has shape (batch_size, 1, in). ``final`` is
    None, ``"Sigmoid"`` or ``"Softmax"``.
    """
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    index = 0
    tensor = "input"
    n_in = weights[0].shape[1]
    if flatten:
        nodes.append(
            helper.make_node(
                "Flatten", [tensor], ["/0/Flatten_output_0"], name="/0/Flatten", axis=1
            )
        )
        tensor, index = "/0/Flatten_output_0", 1
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        inits += [
            numpy_helper.from_array(np.asarray(w, dtype), f"{index}.weight"),
            numpy_helper.from_array(np.asarray(b, dtype), f"{index}.bias"),
        ]
        out = f"/{index}/Gemm_output_0"
        nodes.append(
            helper.make_node(
                "Gemm",
                [tensor, f"{index}.weight", f"{index}.bias"],
                [out],
                name=f"/{index}/Gemm",
                alpha=1.0,
                beta=1.0,
                transB=1,
            )
        )
        tensor, index = out, index + 1
        if i < len(weights) - 1:
            op = {"relu": "Relu", "leaky_relu": "LeakyRelu"}[activation]
            extra = {"alpha": negative_slope} if op == "LeakyRelu" else {}
            out = f"/{index}/{op}_output_0"
            nodes.append(helper.make_node(op, [tensor], [out], name=f"/{index}/{op}", **extra))
            tensor, index = out, index + 1
    if final is not None:
        extra = {"axis": 1} if final == "Softmax" else {}
        nodes.append(
            helper.make_node(final, [tensor], ["output"], name=f"/{index}/{final}", **extra)
        )
    else:
        nodes[-1].output[0] = "output"
    n_out = weights[-1].shape[0]
    shape: list[Any] = ["batch_size", 1, n_in] if flatten else ["batch_size", n_in]
    graph = helper.make_graph(
        nodes,
        "main_graph",
        [helper.make_tensor_value_info("input", elem, shape)],
        [helper.make_tensor_value_info("output", elem, ["batch_size", n_out])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        producer_name="pytorch",
        producer_version="2.5.1",
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def random_layers(
    sizes: Sequence[int], seed: int = 0, torch_layout: bool = True
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Random weights and biases for layer widths ``sizes`` (inputs first)."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(size=(b, a) if torch_layout else (a, b)) / np.sqrt(a)
        for a, b in zip(sizes[:-1], sizes[1:], strict=False)
    ]
    biases = [rng.normal(size=b) * 0.5 for b in sizes[1:]]
    return weights, biases


def fit_quietly(estimator: Any, X: np.ndarray, y: np.ndarray) -> Any:
    """Fit without the convergence warning a short test fit gives."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y)


def sklearn_onnx(estimator: Any, n_features: int, dtype: Any = np.float64, **options: Any) -> bytes:
    """Export a fitted scikit-learn MLP with skl2onnx in float32 or float64."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    kind = DoubleTensorType if dtype == np.float64 else FloatTensorType
    model = to_onnx(
        estimator,
        initial_types=[("X", kind([None, n_features]))],
        options={id(estimator): options} if options else None,
    )
    return bytes(model.SerializeToString())
