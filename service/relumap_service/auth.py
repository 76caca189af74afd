"""An optional API key for ``/v1``, and CORS for browsers on other origins.

With ``RELUMAP_API_KEY`` set, every request under ``/v1`` needs
``Authorization: Bearer <key>`` (RFC 6750); any other answer is a 401 problem
document. Health (``/livez``, ``/readyz``), the docs, the OpenAPI document and
``/metrics`` stay open, so probes and scrapers need no secret: keep ``/metrics``
on a private network. CORS is off unless ``RELUMAP_CORS_ORIGINS`` names origins.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Flask, Response, current_app, request
from flask_cors import CORS

from relumap_service.api.errors import problem

__all__ = ["SECURITY_SCHEME", "init_auth", "spec_options"]

SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "The service's API key (RELUMAP_API_KEY), when one is set",
}
# Headers a browser on another origin may send and read.
_ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"]
_EXPOSE_HEADERS = ["Location", "X-Pagination", "X-Request-ID", "Idempotent-Replayed", "Retry-After"]


def _protected(path: str) -> bool:
    # The Open Inference Protocol's model routes read models as /v1 does.
    return path == "/v1" or path.startswith(("/v1/", "/v2/models"))


def _unauthorized(detail: str, error: str | None) -> Response:
    response = problem(401, detail)
    challenge = 'Bearer realm="relumap"'
    if error:
        challenge += f', error="{error}"'
    response.headers["WWW-Authenticate"] = challenge
    return response


def _check_api_key() -> Response | None:
    key: str = current_app.config["RELUMAP"]["API_KEY"]
    # A CORS preflight carries no credentials by design; it reveals nothing.
    if not key or request.method == "OPTIONS" or not _protected(request.path):
        return None
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return _unauthorized(
            "this service needs an API key: send the header 'Authorization: Bearer <key>'", None
        )
    # Constant time, so the answer's timing does not reveal how much of the key matched.
    if not hmac.compare_digest(given.strip().encode(), key.encode()):
        return _unauthorized(
            "the API key in the Authorization header is not valid", "invalid_token"
        )
    return None


def spec_options(config: dict[str, Any]) -> dict[str, Any]:
    """Return OpenAPI options that document the bearer key when one is required."""
    if not config["API_KEY"]:
        # No key: every operation is open, said explicitly (an empty requirement).
        return {"security": [{}]}
    return {
        "components": {"securitySchemes": {"apiKey": SECURITY_SCHEME}},
        "security": [{"apiKey": []}],
    }


def cors_origins(config: dict[str, Any]) -> list[str]:
    """Return the allowed origins from ``CORS_ORIGINS`` (comma-separated; ``*`` for any)."""
    return [origin.strip() for origin in config["CORS_ORIGINS"].split(",") if origin.strip()]


def init_auth(app: Flask) -> None:
    """Require the API key on ``/v1`` when one is configured, and set up CORS if asked."""
    config = app.config["RELUMAP"]
    app.before_request(_check_api_key)
    origins = cors_origins(config)
    if origins:
        CORS(
            app,
            resources={r"/v1(/.*)?": {"origins": origins}, "/openapi.json": {"origins": origins}},
            allow_headers=_ALLOW_HEADERS,
            expose_headers=_EXPOSE_HEADERS,
            max_age=600,
        )
