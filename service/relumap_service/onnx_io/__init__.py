"""ONNX in and out: a :class:`Network` as an ONNX graph, and an MLP graph read back.

Export writes float64 (``DOUBLE``) tensors, so onnxruntime reproduces
``Network.predict`` to rounding. Import reads the graphs that PyTorch's
``torch.onnx.export`` and skl2onnx write for multilayer perceptrons: a chain of
``Gemm`` or ``MatMul`` + ``Add`` layers (a ``Transpose`` of a weight is
folded) with ``Relu``, ``LeakyRelu`` or no activation between them, possibly
``Flatten``, ``Identity`` and ``Cast`` on the way, and ``Sigmoid`` or
``Softmax`` at the end. skl2onnx's label outputs after
the probabilities (``ArgMax``, ``ZipMap``, ...) are recognised and skipped.
Float32 weights become float64 exactly. Anything else raises
:class:`OnnxImportError` naming the node.

Only numpy and onnx are used here, no web framework, so the format is testable
on its own. ``exporting`` writes models; ``reading`` reads them with
``graph`` (constants, attributes, error messages), ``layers`` (the chain of
layers) and ``labels`` (class labels and label outputs).

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> net = Network([np.array([[1.0, -1.0]]), np.array([[1.0], [1.0]])], [np.zeros(2), np.zeros(1)])
>>> network_from_onnx(network_to_onnx(net)).network.predict(np.array([[-3.0]])).tolist()
[[3.0]]
"""

from relumap_service.onnx_io.exporting import IR_VERSION, ONNX_MIMETYPE, OPSET, network_to_onnx
from relumap_service.onnx_io.graph import OnnxImportError
from relumap_service.onnx_io.reading import ImportedNetwork, network_from_onnx

__all__ = [
    "IR_VERSION",
    "ONNX_MIMETYPE",
    "OPSET",
    "ImportedNetwork",
    "OnnxImportError",
    "network_from_onnx",
    "network_to_onnx",
]
