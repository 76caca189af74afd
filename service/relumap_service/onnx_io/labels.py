"""Class labels: skl2onnx's label outputs after the probabilities, and the metadata."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import onnx

from relumap_service.onnx_io.graph import LABEL_OPS, OnnxImportError, attribute, where

__all__ = ["label_outputs", "metadata_labels"]


def label_list(value: Any) -> list[Any]:
    labels = np.asarray(value).ravel().tolist()
    return [v.decode() if isinstance(v, bytes) else v for v in labels]


def metadata_labels(model: onnx.ModelProto, key: str) -> list[Any] | None:
    """Return the JSON list in metadata ``key`` (``classes``, ``feature_names``), if any."""
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


def label_outputs(
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
            here = where(node)
            if node.op_type not in LABEL_OPS:
                raise OnnxImportError(
                    f"{here} comes after the output activation; relumap accepts only the "
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
                        f"{here} is not 1 - p after the Sigmoid; relumap cannot tell which "
                        "output holds the probabilities",
                        node,
                    )
                complement = node.output[0]
            if node.op_type == "Concat" and (
                complement is None
                or list(node.input) != [complement, probabilities]
                or attribute(node, "axis", 0) not in (1, -1)
            ):
                raise OnnxImportError(
                    f"{here} does not build [1 - p, p] along axis 1; relumap cannot tell "
                    "which output holds the probabilities",
                    node,
                )
            if node.op_type == "ZipMap":
                for key in ("classlabels_int64s", "classlabels_strings"):
                    found = attribute(node, key, None)
                    labels = label_list(found) if found else labels
            if node.op_type == "ArrayFeatureExtractor" and node.input[0] in values:
                labels = labels or label_list(values[node.input[0]])
            seen.append(node)
            seen_ids.add(id(node))
            queue += [name for name in node.output if name]
    return seen, labels
