"""Request ids, one access log line per request, HTTP metrics and ``GET /metrics``.

Every request gets an id (the caller's ``X-Request-ID`` if it is a sane token,
else a new one), echoed in the response and carried by every log line written
while the request is served. Each response writes one access log line
(``method``, ``path``, ``status``, ``duration_ms``) and counts in
``relumap_http_requests_total`` and ``relumap_http_request_duration_seconds``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from relumap_service.jobs import FitQueue
from relumap_service.store import Store
from relumap_service.telemetry import (
    CONTENT_TYPE_LATEST,
    HTTP_DURATION,
    HTTP_REQUESTS,
    deployment_registry,
    exposition,
)

__all__ = ["REQUEST_ID_HEADER", "init_observability", "method_label"]

log = logging.getLogger("relumap_service.requests")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# A client may send any token as the method; as a metrics label it would add
# series without bound, so methods outside HTTP's registered set count as "other".
_METHOD_LABELS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


def method_label(method: str) -> str:
    """Return the metrics label of an HTTP method: the method, or "other"."""
    return method if method in _METHOD_LABELS else "other"


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"


def _start_request() -> None:
    g.started = time.perf_counter()
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _end_request(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    route = _route()
    method = method_label(request.method)
    HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    log.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 3),
            "remote_addr": request.remote_addr,
        },
    )
    return response


def init_observability(app: Flask, store: Store, queue: FitQueue) -> None:
    """Add request ids, access log lines, HTTP metrics and ``GET /metrics`` to ``app``.

    Call it before any other ``before_request`` function is added, so that
    every answer, a 401 included, is timed, logged and carries its request id.
    ``/metrics`` is a plain route, outside ``/v1`` and the OpenAPI document.
    """
    deployment = deployment_registry(store, queue)

    def metrics() -> Response:
        return Response(exposition(deployment), content_type=CONTENT_TYPE_LATEST)

    app.before_request(_start_request)
    app.after_request(_end_request)
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
