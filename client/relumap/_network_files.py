"""Networks from files: an ONNX model or a JSON weights document for ``POST /v1/networks``.

An ``.onnx`` file goes as an ``application/onnx`` body; a ``.json`` file (say
from ``GET /v1/models/{id}/weights``) as JSON. Without either extension the
content decides: a JSON document starts with ``{``, an ONNX file never does
(its first byte is a protobuf field tag).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from relumap._data import as_array, as_labels
from relumap.errors import ValidationError

__all__ = ["ONNX_MIMETYPE", "NetworkSource", "network_request"]

ONNX_MIMETYPE = "application/onnx"

NetworkSource = bytes | bytearray | str | os.PathLike[str] | Mapping[str, Any]


def _looks_like_json(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _json_document(data: bytes, where: str) -> dict[str, Any]:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"{where} is not a JSON weights document: {exc}") from None
    if not isinstance(document, dict):
        raise ValidationError(f"{where} must hold a JSON object (a weights document)")
    return document


def network_request(
    source: NetworkSource,
    *,
    classes: Any = None,
    domain: Any = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Return the keyword arguments of the ``POST /v1/networks`` request for ``source``.

    Parameters
    ----------
    source : bytes, str, path or mapping
        ONNX bytes; the path of an ONNX or JSON file; or a weights document.
    classes, domain : optional
        Override those of a weights document; an ONNX file carries its own.
    name : str, optional
        The model's name.

    Raises
    ------
    ValidationError
        If the file cannot be read or is no JSON object, or ``classes`` or
        ``domain`` are given with an ONNX model.
    OSError
        If the file cannot be opened.
    """
    if isinstance(source, Mapping):
        document: dict[str, Any] | None = dict(source)
        data = b""
    else:
        data = bytes(source) if isinstance(source, bytes | bytearray) else Path(source).read_bytes()
        suffix = "" if isinstance(source, bytes | bytearray) else Path(source).suffix.lower()
        where = "the bytes" if not suffix and isinstance(source, bytes | bytearray) else str(source)
        is_json = suffix == ".json" or (suffix != ".onnx" and _looks_like_json(data))
        document = _json_document(data, where) if is_json else None
    if document is None:
        if classes is not None or domain is not None:
            raise ValidationError(
                "an ONNX model carries its own classes and has no domain; pass only name with it"
            )
        return {
            "data": data,
            "content_type": ONNX_MIMETYPE,
            "params": {"name": name},
        }
    if classes is not None:
        document["classes"] = as_labels(classes, "classes")
    if domain is not None:
        document["domain"] = as_array(domain, "domain").tolist()
    if name is not None:
        document["name"] = name
    return {"json": document}
