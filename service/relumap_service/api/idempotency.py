"""`Idempotency-Key`: a retried POST returns the first response instead of acting twice.

The key is reserved before the view runs, so two concurrent requests with the
same key cannot both create something; the second gets 409 until the first ends,
then the first response. A request that fails releases its key, so a retry runs.
A request killed before it could do either (its process died) holds the key for
``IDEMPOTENCY_LEASE_SECONDS`` only; a retry after that runs.

Keys are scoped by the credentials that sent them (a hash of the
``Authorization`` header is part of the stored key), and a request is recognised
by its meaning: the fingerprint of a JSON body is taken on the parsed document,
so the same JSON with other spacing or key order is the same request, and of
the query on its sorted parameters, without ``wait`` (waiting for a fit or not
asks for the same fit).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, json, request
from flask_smorest import abort

from relumap_service.api.context import services

__all__ = ["idempotent"]

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
REPLAYED_HEADERS = ("Location", "Content-Type")


def _body_for_fingerprint() -> bytes:
    if request.mimetype == "application/json":
        try:
            document = json.loads(request.get_data())
        except ValueError:
            return request.get_data()
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return request.get_data()


# Query parameters that say how to answer, not what to create.
ANSWER_HINTS = frozenset({"wait"})


def _query_for_fingerprint() -> str:
    """Return the query's parameters, sorted, without hints that only shape the answer."""
    pairs = sorted((k, v) for k, v in request.args.items(multi=True) if k not in ANSWER_HINTS)
    return "&".join(f"{k}={v}" for k, v in pairs)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, _query_for_fingerprint(), _body_for_fingerprint()):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _stored_key(key: str) -> str:
    """Return the key as stored: scoped by the credentials of the request, hashed."""
    scope = hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()
    return hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()


def _replay(key: str, stored_key: str, fingerprint: str) -> Response:
    record = services().store.get_idempotent(stored_key)
    if record is None:  # released by a failed first attempt between our two reads
        abort(409, message=f"the request with {HEADER} {key!r} failed; send it again")
    assert record is not None
    if record.fingerprint != fingerprint:
        abort(
            422,
            message=f"{HEADER} {key!r} was used for a different request; "
            "use a new key for each new request",
        )
    if record.status_code == 0:
        abort(
            409,
            message=f"a request with {HEADER} {key!r} is still in progress; retry soon",
            headers={"Retry-After": "1"},
        )
    body = "" if record.body is None else json.dumps(record.body)
    response = Response(body, status=record.status_code, headers=record.headers)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Make a creating POST view honour `Idempotency-Key`; put it outermost."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not key or len(key) > MAX_KEY_LENGTH:
            abort(400, message=f"{HEADER} must have 1 to {MAX_KEY_LENGTH} characters")
        svc = services()
        store = svc.store
        fingerprint = _fingerprint()
        stored_key = _stored_key(key)
        lease = float(svc.config["IDEMPOTENCY_LEASE_SECONDS"])
        if not store.reserve_idempotent(stored_key, fingerprint, lease):
            return _replay(key, stored_key, fingerprint)
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            store.release_idempotent(stored_key)
            raise
        if response.status_code >= 400:
            store.release_idempotent(stored_key)
            return response
        headers = {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
        store.complete_idempotent(stored_key, response.status_code, response.get_json(), headers)
        return response

    return wrapper
