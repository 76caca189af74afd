"""Errors as RFC 9457 problem documents (`application/problem+json`).

Every error leaves the service through :meth:`ProblemApi.handle_http_exception`,
so each has `type`, `title`, `status` and `detail`, and validation errors
also carry the field errors under `errors`.
"""

from __future__ import annotations

import http
import logging
from typing import Any

import marshmallow as ma
from flask import Response, json, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

__all__ = ["PROBLEM_MIMETYPE", "ProblemApi", "ProblemSchema", "problem"]

PROBLEM_MIMETYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://relumap.dev/problems/"

log = logging.getLogger(__name__)


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem document."""

    type = ma.fields.String(metadata={"description": "URI naming the kind of problem"})
    title = ma.fields.String(metadata={"description": "Short summary of the kind of problem"})
    status = ma.fields.Integer(metadata={"description": "HTTP status code"})
    detail = ma.fields.String(metadata={"description": "What went wrong and what to do"})
    instance = ma.fields.String(metadata={"description": "The request path"})
    errors = ma.fields.Dict(metadata={"description": "Field errors, for validation problems"})


def problem(status: int, detail: str, *, errors: Any = None, **extra: Any) -> Response:
    """Build a problem+json response."""
    phrase = http.HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + phrase.lower().replace(" ", "-").replace("'", ""),
        "title": phrase,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    return response


_LOCATIONS = ("json", "query", "form", "files", "headers", "path")


def _first_message(errors: Any) -> str:
    """Flatten nested marshmallow errors into one readable sentence."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key in _LOCATIONS:
                return _first_message(value)
            return f"{key}: {_first_message(value)}"
    if isinstance(errors, list) and errors:
        return _first_message(errors[0])
    return str(errors)


class ProblemApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, answering and documenting errors as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIMETYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (RFC 9457 problem)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIMETYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def _register_pagination_header(self) -> None:
        # The header carries JSON text; documented as an object, OpenAPI's
        # "simple" header style would read it as comma-separated pairs.
        self.spec.components.header(
            "PAGINATION",
            {
                "description": "Pagination metadata as JSON: total, total_pages, first_page, "
                "last_page, page, previous_page, next_page",
                "schema": {"type": "string"},
            },
            lazy=True,
        )

    def handle_http_exception(self, error: HTTPException) -> Response:
        """Turn any HTTP error, including uncaught exceptions, into a problem document."""
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        if isinstance(errors, dict) and len(errors) == 1:
            # webargs nests field errors under their location ("json", "query").
            errors = next(iter(errors.values())) if next(iter(errors)) in _LOCATIONS else errors
        original = getattr(error, "original_exception", None)
        if original is not None:
            log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
            detail = "the service failed to handle this request; the error is logged"
        elif "message" in data:
            detail = data["message"]
        elif errors:
            detail = _first_message(errors)
        else:
            detail = error.description or http.HTTPStatus(status).phrase
        # Field errors are a mapping; webargs reports a bad body as a bare list.
        response = problem(status, detail, errors=errors if isinstance(errors, dict) else None)
        for key, value in (data.get("headers") or {}).items():
            response.headers[key] = value
        if getattr(error, "response", None) is None:
            for key, value in error.get_headers():
                if key.lower() != "content-type":
                    response.headers[key] = value
        return response
