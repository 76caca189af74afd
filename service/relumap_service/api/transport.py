"""Getting large answers to the client fast: compression, strong ETags, a cache, and .npz.

- **Compression** (flask-compress): JSON, GeoJSON, problem+json (errors
  too), .npz, SVG, HTML, CSS and JavaScript answers of 500 bytes or more are
  sent with zstd, brotli or gzip, as the request's ``Accept-Encoding`` allows
  (ties broken in that order). PNG and ONNX are sent as they are. A strong
  ETag gains the encoding (``"tag"`` becomes ``"tag:gzip"``), as
  flask-compress does; :func:`not_modified` accepts either form, so a client
  that cached the compressed answer gets its 304.
- **ETags**: a region map, a knots document and a picture are functions of
  the model (its id, weights and stored result, which never change once it
  has succeeded), the query, the media type and the API version; the ETag is
  a hash of all of these (:func:`representation_key`). Geometry answers say
  ``Cache-Control: no-cache`` (clients revalidate, cheaply), pictures may be
  reused for an hour.
- **A cache of answers** (:class:`AnswerCache`): the encoded body of each
  recent ``/knots`` and ``/regions`` answer, and its compressed forms, held
  in memory up to ``RELUMAP_GEOMETRY_CACHE_BYTES`` (least recently used
  first out); each web process (gunicorn worker) has its own. Behind it,
  :class:`SharedAnswerCache` keeps the same bodies as files under
  ``DATA_DIR/answers``, up to ``RELUMAP_GEOMETRY_SHARED_CACHE_BYTES``, for
  every web process of the host: a repeat that reaches another worker than
  the first request is still not computed again. A deleted model is never
  served from either: the model is loaded, or 404, before the cache is read.
- **.npz** (:data:`NPZ`): ``GET /regions`` with ``Accept: application/x-npz``
  gives the region map's arrays as a numpy ``.npz`` file (no pickles), which
  ``np.load(..., allow_pickle=False)`` reads (the Python client reads each
  stored member as a view of the body instead). Its members are stored, not
  deflated: the HTTP coding compresses the whole
  file, and zstd does it in a twelfth of deflate's time to nearly the same
  size (2-128-128-1, 33,142 regions: 13 ms and 58.9 bytes per region against
  177 ms and 56.2 for ``np.savez_compressed``; reading, 5 ms against 19).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from flask import Flask, Response, current_app, g, request
from flask_compress import Compress
from prometheus_client import Counter

from relumap_service import __version__
from relumap_service.core.regions import Regions2D
from relumap_service.store import ModelRecord

__all__ = [
    "ANSWERS",
    "NPZ",
    "PICTURE_SECONDS",
    "AnswerCache",
    "SharedAnswerCache",
    "answer_cache",
    "cached_answer",
    "init_transport",
    "not_modified",
    "regions_npz",
    "remember_answer",
    "representation_key",
    "validator_headers",
]

# The binary media type of a region map: numpy's .npz (a zip of .npy arrays).
NPZ = "application/x-npz"
# Bump when a geometry document's content changes for the same model and query,
# so that no client or cache keeps an old answer under the same ETag.
GEOMETRY_FORMAT = "2"
# Seconds a client or proxy may reuse a picture unasked. Geometry answers say
# no-cache instead: revalidating costs a 304, and a deleted model's map is not reused.
PICTURE_SECONDS = 3600
_ENCODINGS = ("zstd", "br", "gzip", "deflate")
_EXTENSION = "relumap_answer_cache"
# Arrays of a region map sent as .npz members; everything else goes in "document".
NPZ_ARRAYS = (
    "points",
    "vertex_ids",
    "offsets",
    "patterns",
    "gradients",
    "intercepts",
    "linear_region",
)
# Neither in the arrays nor in "document": derived from the polygons by the reader.
_JSON_ARRAYS = (*NPZ_ARRAYS, "vertices", "areas", "interior_points")

ANSWERS = Counter(
    "relumap_geometry_answers",
    "Answers of /knots and /regions, by where they came from: not_modified (304), "
    "memory (this process's cache), shared (the cache of all web processes) or missed",
    ["source"],
)
# Keys of cached bodies: an ETag, or "<encoding>;<ETag>" for a compressed form.
_KEY = re.compile(r"(?:([a-z]+);)?([0-9a-f]{8,64})")

COMPRESSED_TYPES = [
    "application/json",
    "application/x-npz",
    "application/problem+json",
    "application/geo+json",
    "image/svg+xml",
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/javascript",
    "application/javascript",
]


class SharedAnswerCache:
    """Encoded answers as files of one directory, shared by the web processes of a host.

    Files are written whole under a temporary name, then renamed, so a
    reader sees a whole answer or none. A read refreshes the file's time;
    a write that brings the directory past ``max_bytes`` removes the files
    used longest ago (any process may write or remove).

    Parameters
    ----------
    directory : Path
        Where the answers live (``DATA_DIR/answers``).
    max_bytes : int
        Bound on the bytes of the files kept; 0 turns the cache off. An
        answer larger than this is not kept.
    """

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        if max_bytes > 0:
            directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path | None:
        found = _KEY.fullmatch(key)
        if found is None or self.max_bytes <= 0:
            return None
        encoding, etag = found.groups()
        return self.directory / f"{etag}.{encoding or 'body'}"

    def get(self, key: str) -> bytes | None:
        """Return the body under ``key``, or None."""
        path = self._path(key)
        if path is None:
            return None
        try:
            body = path.read_bytes()
        except OSError:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: last out
        return body

    def set(self, key: str, value: bytes) -> None:
        """Keep ``value`` under ``key``, then remove the least recently used past the bound."""
        path = self._path(key)
        if path is None or len(value) > self.max_bytes or path.exists():
            return
        try:
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".write-")
            with os.fdopen(handle, "wb") as stream:
                stream.write(value)
            os.replace(temporary, path)
            self.evict()
        except OSError:  # a full disk costs the cache, not the answer
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temporary)

    def evict(self) -> int:
        """Remove the files used longest ago until at most ``max_bytes`` remain; return bytes."""
        files = []
        for entry in os.scandir(self.directory):
            if entry.name.startswith("."):
                continue
            with contextlib.suppress(OSError):
                found = entry.stat()
                files.append((found.st_mtime, found.st_size, entry.path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                total -= size
        return total


class AnswerCache:
    """Encoded answers by key, at most ``max_bytes`` in all, least recently used out first.

    Also the cache of flask-compress's compressed bodies (keys ``"<encoding>;<key>"``);
    a key ending in ``;`` (an answer that is not cached) is neither stored nor found.

    Parameters
    ----------
    max_bytes : int
        Bound on the bytes of the bodies held; 0 turns the cache off. A body
        larger than this is not kept.
    shared : SharedAnswerCache, optional
        Where a body missing here is looked for, and every new body written:
        the cache of all web processes of the host.
    """

    def __init__(self, max_bytes: int, shared: SharedAnswerCache | None = None) -> None:
        self.max_bytes = max_bytes
        self.shared = shared
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def lookup(self, key: str) -> tuple[bytes | None, str]:
        """Return the body under ``key`` and where it was found: memory, shared or nowhere."""
        with self._lock:
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
                return body, "memory"
        if self.shared is None or key.endswith(";"):
            return None, "nowhere"
        body = self.shared.get(key)
        if body is None:
            return None, "nowhere"
        self._keep(key, body)
        return body, "shared"

    def get(self, key: str) -> bytes | None:
        """Return the body under ``key`` (and mark it recently used), or None."""
        return self.lookup(key)[0]

    def set(self, key: str, value: bytes) -> None:
        """Keep ``value`` under ``key`` here and in the shared cache."""
        if key.endswith(";"):
            return
        if self._keep(key, value) and self.shared is not None:
            self.shared.set(key, value)

    def _keep(self, key: str, value: bytes) -> bool:
        """Keep ``value`` in memory, dropping the least recently used beyond the bound.

        Returns False when ``key`` was held already (an answer's key names its body).
        """
        with self._lock:
            if key in self._bodies:
                self._bodies.move_to_end(key)
                return False
            if len(value) > self.max_bytes:
                return True
            self._bodies[key] = value
            self.bytes += len(value)
            while self.bytes > self.max_bytes:
                _, dropped = self._bodies.popitem(last=False)
                self.bytes -= len(dropped)
            return True

    def __len__(self) -> int:
        return len(self._bodies)


def answer_cache() -> AnswerCache:
    """Return the current app's cache of answers."""
    cache: AnswerCache = current_app.extensions[_EXTENSION]
    return cache


def _compression_key(_request: Any) -> str:
    # flask-compress stores "<encoding>;<this>": only answers marked cacheable are kept.
    key: str = g.get("relumap_answer_key", "")
    return key


def init_transport(app: Flask) -> None:
    """Compress the answers of ``app`` and give it its cache of answers.

    Call it before any ``after_request`` function that reads the body (the
    security headers hash the HTML), since Flask runs them last-added first.
    """
    config = app.config["RELUMAP"]
    shared = SharedAnswerCache(
        Path(config["DATA_DIR"]) / "answers", int(config["GEOMETRY_SHARED_CACHE_BYTES"])
    )
    cache = AnswerCache(int(config["GEOMETRY_CACHE_BYTES"]), shared)
    app.extensions[_EXTENSION] = cache
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    app.config.setdefault("COMPRESS_ALGORITHM", list(_ENCODINGS))
    app.config.setdefault("COMPRESS_CACHE_BACKEND", lambda: cache)
    app.config.setdefault("COMPRESS_CACHE_KEY", _compression_key)
    compress = Compress(app)

    def compress_problem(response: Response) -> Response:
        # flask-compress compresses successes only; a problem document listing
        # the errors of thousands of rows is worth compressing too.
        if response.status_code < 400 or response.mimetype != "application/problem+json":
            return response
        status = response.status
        response.status_code = 200
        try:
            return compress.after_request(response)
        finally:
            response.status = status

    app.after_request(compress_problem)


def _result_digest(record: ModelRecord) -> str:
    document = [record.result, record.feature_names, record.dataset_id]
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def representation_key(
    record: ModelRecord, resource: str, media_type: str, query: Mapping[str, Any]
) -> str:
    """Name one answer about a model by everything it depends on.

    Parameters
    ----------
    record : ModelRecord
        A succeeded model: its id, finish time, stored result (weights,
        domain, classes, held-out rows), feature names and data set.
    resource : str
        What is asked (``"regions"``, ``"knots"``, ``"plot.png"``...).
    media_type : str
        The media type of the answer.
    query : mapping
        Every query parameter, as the schema loaded it (defaults included).

    Returns
    -------
    str
        40 hex digits: the strong ETag (without quotes) and the cache key.
    """
    stamp = record.finished_at or record.created_at
    parts = [
        __version__,
        GEOMETRY_FORMAT,
        resource,
        media_type,
        record.id,
        stamp.isoformat() if stamp else "",
        _result_digest(record),
        # orjson refuses integers past 64 bits (a query may hold max_regions=2**70).
        {k: str(v) if isinstance(v, int) and abs(v) >= 2**63 else v for k, v in query.items()},
    ]
    text = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.sha256(text).hexdigest()[:40]


def validator_headers(etag: str, max_age: int | None = None) -> dict[str, str]:
    """Return the ETag and Cache-Control headers of a deterministic answer.

    Parameters
    ----------
    etag : str
        The strong ETag, without quotes.
    max_age : int, optional
        Seconds a client may reuse the answer without asking; by default
        none (``no-cache``: it revalidates with ``If-None-Match`` each time).
    """
    scope = "private" if current_app.config["RELUMAP"].get("API_KEY") else "public"
    reuse = "no-cache" if max_age is None else f"max-age={max_age}"
    return {"ETag": f'"{etag}"', "Cache-Control": f"{scope}, {reuse}"}


def not_modified(etag: str, vary: str | None = None, max_age: int | None = None) -> Response | None:
    """Return a 304 when ``If-None-Match`` names ``etag``, or it with an encoding; else None.

    ``If-None-Match: *`` is not taken as a match: this is called before the
    answer is known to exist (a model still fitting has none).
    """
    match = request.if_none_match
    if match.star_tag:
        return None
    for tag in (etag, *(f"{etag}:{encoding}" for encoding in _ENCODINGS)):
        if match.contains(tag):
            headers = validator_headers(etag, max_age)
            headers["ETag"] = f'"{tag}"'
            if vary:
                headers["Vary"] = vary
            return Response(status=304, headers=headers)
    return None


def cached_answer(etag: str, mimetype: str, vary: str | None = None) -> Response | None:
    """Return a 304 or the cached answer named ``etag``; None when it must be computed."""
    unchanged = not_modified(etag, vary)
    if unchanged is not None:
        ANSWERS.labels("not_modified").inc()
        return unchanged
    body, source = answer_cache().lookup(etag)
    if body is None:
        ANSWERS.labels("missed").inc()  # the caller computes it now
        return None
    ANSWERS.labels(source).inc()
    return _answer(etag, body, mimetype, vary)


def remember_answer(etag: str, body: bytes, mimetype: str, vary: str | None = None) -> Response:
    """Cache ``body`` under ``etag`` and answer it with its validators."""
    answer_cache().set(etag, body)
    return _answer(etag, body, mimetype, vary)


def _answer(etag: str, body: bytes, mimetype: str, vary: str | None) -> Response:
    g.relumap_answer_key = etag  # flask-compress caches its compressed forms too
    response = Response(body, mimetype=mimetype, headers=validator_headers(etag))
    if vary:
        response.headers["Vary"] = vary
    return response


def regions_npz(regions: Regions2D, document: dict[str, Any]) -> bytes:
    """Write a region map as .npz: its arrays, and the rest of its document as JSON.

    Parameters
    ----------
    regions : Regions2D
        The map.
    document : dict
        The JSON document of the same answer without the map's arrays; it is
        stored as the UTF-8 bytes of the member ``document``.

    Returns
    -------
    bytes
        A zip of ``.npy`` members (stored; the HTTP coding compresses it): ``points`` (n_points, 2),
        ``vertex_ids`` and ``offsets`` (int32, or int64 past 2**31 - 1),
        ``patterns`` (``np.packbits`` of the boolean patterns along each
        row; ``document["n_hidden"]`` bits per row are meaningful),
        ``gradients``, ``intercepts``, ``linear_region`` and ``document``. No
        member holds Python objects. ``areas`` and ``interior_points`` are not
        sent: they are each polygon's shoelace area and vertex mean, which the
        reader computes from the vertices (a quarter of the bytes saved).
    """
    index = np.int32 if regions.vertex_ids.shape[0] < 2**31 - 1 else np.int64
    meta = {k: v for k, v in document.items() if k not in _JSON_ARRAYS}
    meta["n_hidden"] = regions.n_hidden
    arrays = {
        "points": regions.points,
        "vertex_ids": regions.vertex_ids.astype(index),
        "offsets": regions.offsets.astype(index),
        "patterns": regions.packed_patterns,
        "gradients": regions.gradients,
        "intercepts": regions.intercepts,
        "linear_region": regions.linear_region.astype(index),
        "document": np.frombuffer(orjson.dumps(meta), dtype=np.uint8),
    }
    stream = io.BytesIO()
    np.savez(stream, **arrays)  # type: ignore[arg-type]
    return stream.getvalue()
