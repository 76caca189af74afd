"""Checks on what every request brings, before any view reads it.

- The body is bounded whatever its framing. Werkzeug enforces
  ``MAX_CONTENT_LENGTH`` on a ``Content-Length`` header, but a chunked body
  (no length; the server sets ``wsgi.input_terminated``) goes through a
  ``LimitedStream`` whose ``readall`` stops *at* the limit without looking
  further: the body was silently cut, and a truncated CSV was stored.
  :class:`BoundedRequest` reads through :class:`BoundedBody`, which reads one
  byte past the limit and answers 413 if it arrives.
- A JSON body nests at most :data:`MAX_JSON_DEPTH` levels; Python's parser
  would otherwise raise ``RecursionError`` (a 500) at about 1,000.
- A query names only parameters the endpoint declares; a typo such as
  ``?low=`` for ``?lo=`` is a 422 with a suggestion, not silently ignored.
"""

from __future__ import annotations

import difflib
import functools
import io
import re
from collections.abc import Callable
from typing import IO, Any

import numpy as np
from flask import Request, current_app, request
from flask_smorest import abort
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import get_input_stream

__all__ = [
    "MAX_JSON_DEPTH",
    "BoundedBody",
    "BoundedRequest",
    "check_json_depth",
    "check_query_names",
    "json_depth",
    "unknown_query_errors",
]

# The deepest JSON body accepted; the deepest document of the API nests 4 levels.
MAX_JSON_DEPTH = 32
_CHUNK = 64 * 1024
# A JSON string, escapes included: brackets inside it do not nest anything.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
# +1 for an opening bracket, -1 for a closing one, 0 for every other byte.
_BRACKET_STEP = np.zeros(256, dtype=np.int8)
_BRACKET_STEP[[ord("["), ord("{")]] = 1
_BRACKET_STEP[[ord("]"), ord("}")]] = -1


def _too_large(limit: int) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(
        f"the request body is larger than the limit of {limit} bytes "
        f"(RELUMAP_MAX_REQUEST_BYTES={limit}); send less data or raise the limit"
    )


class BoundedBody(io.RawIOBase):
    """A request body that raises 413 as soon as more than ``limit`` bytes arrive.

    Parameters
    ----------
    stream : binary file
        The body as the server gives it, already ended by ``Content-Length``
        or by the server's own de-chunking.
    limit : int
        The most bytes accepted (``RELUMAP_MAX_REQUEST_BYTES``).
    """

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__()
        self._stream = stream
        self._limit = limit
        self._pos = 0

    def readable(self) -> bool:
        """Return True: a body is read, never written."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer``; raise 413 once the body passes the limit."""
        # One byte more than what is left, so that a body over the limit shows.
        data = self._stream.read(min(len(buffer), self._limit - self._pos + 1))
        self._pos += len(data)
        if self._pos > self._limit:
            raise _too_large(self._limit)
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        """Read the whole body, in chunks larger than io's default."""
        chunks = []
        while data := self.read(_CHUNK):
            chunks.append(data)
        return b"".join(chunks)


class BoundedRequest(Request):
    """Flask's request, whose body can never exceed ``max_content_length`` unnoticed."""

    @cached_property
    def stream(self) -> IO[bytes]:
        """Return the body, bounded by ``Content-Length`` and by ``max_content_length``."""
        if self.shallow:
            raise RuntimeError("this request was created with shallow=True; it has no body")
        limit = self.max_content_length
        if limit is not None and (self.content_length or 0) > limit:
            raise _too_large(limit)
        # Without a limit here, werkzeug wraps a chunked body in a LimitedStream
        # that truncates at the limit; BoundedBody enforces it instead.
        stream = get_input_stream(self.environ, max_content_length=None)
        return stream if limit is None else BoundedBody(stream, limit)


def json_depth(data: bytes) -> int:
    """Return how deep arrays and objects nest in a JSON text, without parsing it.

    Brackets inside strings do not count. Vectorised over the bytes, so it
    costs a fraction of parsing the text.

    Parameters
    ----------
    data : bytes
        The JSON text; invalid JSON gives some number, and fails to parse later.

    Returns
    -------
    int
        0 for a scalar, 1 for ``[1, 2]``, 2 for ``{"X": [1]}``.

    Examples
    --------
    >>> json_depth(b'{"a": [[1], "]]]"]}')
    3
    """
    opened = data.count(b"[") + data.count(b"{")
    if opened <= MAX_JSON_DEPTH:
        return opened
    if b"\\" in data:
        # Escaped quotes: drop whole strings (a slower, exact pass; rare in numeric data).
        data = _JSON_STRING.sub(b'""', data)
    codes = np.frombuffer(data, dtype=np.uint8)
    steps = _BRACKET_STEP[codes]
    # Without escapes every quote opens or closes a string: odd counts are inside one.
    inside = (np.cumsum(codes == ord('"'), dtype=np.int32) & 1).astype(bool)
    steps[inside] = 0
    return int(np.cumsum(steps, dtype=np.int32).max(initial=0))


def check_json_depth() -> None:
    """Answer 400 to a JSON body nested deeper than `MAX_JSON_DEPTH` (a ``before_request``).

    Reading the body here also bounds it (413) before any view runs.
    """
    if not request.is_json or request.method not in ("POST", "PUT", "PATCH"):
        return
    depth = json_depth(request.get_data(cache=True))
    if depth > MAX_JSON_DEPTH:
        abort(
            400,
            message=f"the JSON body nests {depth} levels deep; at most {MAX_JSON_DEPTH} "
            "(arrays and objects) are accepted",
        )


@functools.cache
def _query_names(view: Callable[..., Any]) -> frozenset[str] | None:
    """Return the query parameters a view declares, or None if it is no API view."""
    apidoc = getattr(view, "_apidoc", None)
    if apidoc is None:
        return None
    declared = [
        entry
        for entry in apidoc.get("arguments", {}).get("parameters", [])
        if entry.get("in") == "query"
    ]
    if "pagination" in apidoc:
        declared.append(apidoc["pagination"]["parameters"])
    names: set[str] = set()
    for entry in declared:
        schema = entry["schema"]
        schema = schema() if isinstance(schema, type) else schema
        names.update(field.data_key or name for name, field in schema.fields.items())
    return frozenset(names)


def _view_method() -> Callable[..., Any] | None:
    if request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return view
    method = request.method.lower()
    if method == "head":
        method = "get"
    found: Callable[..., Any] | None = getattr(view_class, method, None)
    return found


def unknown_query_errors(given: list[str], known: frozenset[str]) -> dict[str, list[str]]:
    """Field errors for query parameters not in ``known``, each with a suggestion.

    Examples
    --------
    >>> unknown_query_errors(["low"], frozenset({"lo", "hi"}))
    {'low': ["unknown query parameter; did you mean 'lo'? known: hi, lo"]}
    """
    listed = f"known: {', '.join(sorted(known))}" if known else "this endpoint takes none"
    errors: dict[str, list[str]] = {}
    for name in given:
        if name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        errors[name[:200]] = [f"unknown query parameter; {hint}{listed}"]
    return errors


def check_query_names() -> None:
    """Answer 422 to a query parameter the endpoint does not declare (a ``before_request``).

    One check for every API view: the known names are those of the view's
    query schemas (its arguments and its pagination), as the OpenAPI
    document lists them.
    """
    if not request.args:
        return
    view = _view_method()
    known = _query_names(view) if view is not None else None
    if known is None:
        return
    errors = unknown_query_errors(list(request.args), known)
    if errors:
        name, messages = next(iter(errors.items()))
        abort(422, message=f"{name}: {messages[0]}", errors=errors)
