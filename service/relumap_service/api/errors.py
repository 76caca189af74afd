"""Errors as RFC 9457 problem documents (`application/problem+json`).

Every error leaves the service through :meth:`ProblemApi.handle_http_exception`,
so each has `type`, `title`, `status` and `detail`, and validation errors
also carry the field errors under `errors`. `type` is the absolute URL of the
problem type's page on this service, `/problems/<name>` (api/problem_types.py).

:class:`ProblemApi` also gives every operation of the OpenAPI document a stable
`operationId` (``getModels``, ``postPredict``: the method and the view's class)
and a description, in one place rather than on each view.
"""

from __future__ import annotations

import http
import logging
import re
from typing import Any

import marshmallow as ma
from flask import Flask, Response, current_app, json, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.routing.exceptions import HTTPException as RoutingHTTPException

from relumap_service.api.problem_types import problem_slug

__all__ = [
    "PROBLEM_MIMETYPE",
    "ProblemApi",
    "ProblemSchema",
    "operation_id",
    "problem",
    "problem_doc",
]

PROBLEM_MIMETYPE = "application/problem+json"

log = logging.getLogger(__name__)


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem document."""

    type = ma.fields.String(
        metadata={
            "description": "URL of the problem type's page on this service, /problems/<name>: "
            "what it means and what to do",
            "example": "http://127.0.0.1:8000/problems/not-found",
        }
    )
    title = ma.fields.String(metadata={"description": "Short summary of the kind of problem"})
    status = ma.fields.Integer(metadata={"description": "HTTP status code"})
    detail = ma.fields.String(metadata={"description": "What went wrong and what to do"})
    instance = ma.fields.String(metadata={"description": "The request path"})
    errors = ma.fields.Dict(metadata={"description": "Field errors, for validation problems"})


def problem(status: int, detail: str, *, errors: Any = None, **extra: Any) -> Response:
    """Build a problem+json response."""
    phrase = http.HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": f"{request.root_url}problems/{problem_slug(status)}",
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


# Stands in for a malformed id to find the route the caller meant.
_SOME_ID = "0" * 32
_PATH_SEGMENT = re.compile(r"[^/]+")


def _malformed_id_detail(path: str) -> str | None:
    """Say which resource a path with a malformed id meant, as for an unknown id.

    ``/v1/models/xyz`` matches no route (ids are 32 hex digits), but
    ``/v1/models/<32 hex digits>`` would: answer as for a model that does
    not exist, naming the id and where to list the existing ones.
    """
    adapter = current_app.url_map.bind("localhost")
    segments = path.split("/")
    for index in range(len(segments) - 1, 0, -1):
        if not _PATH_SEGMENT.fullmatch(segments[index]):
            continue
        trial = "/".join([*segments[:index], _SOME_ID, *segments[index + 1 :]])
        try:
            _, arguments = adapter.match(trial, method=request.method)
        except (RequestRedirect, RoutingHTTPException):
            continue
        names = [name for name, value in arguments.items() if value == _SOME_ID]
        if len(names) == 1 and names[0].endswith("_id"):
            resource = names[0].removesuffix("_id")
            collection = "/".join(segments[:index])
            return (
                f"no {resource} with id {segments[index][:100]!r} (an id is 32 lowercase hex "
                f"digits); list them with GET {collection}"
            )
    return None


def _exclusive_range(
    converter: Any, field: ma.fields.Field, ret: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    """Document an exclusive bound of a Range as OpenAPI 3.1's exclusiveMinimum/Maximum.

    apispec writes ``minimum: 0`` for ``Range(min=0, min_inclusive=False)``,
    which would promise that 0 is accepted.
    """
    for validator in field.validators:
        if not isinstance(validator, ma.validate.Range):
            continue
        if validator.min is not None and not validator.min_inclusive and "minimum" in ret:
            ret["exclusiveMinimum"] = ret.pop("minimum")
        if validator.max is not None and not validator.max_inclusive and "maximum" in ret:
            ret["exclusiveMaximum"] = ret.pop("maximum")
    return {}


def operation_id(method: str, endpoint: str) -> str:
    """Return the stable camelCase operationId of a view: `getModels`, `postPredict`.

    ``endpoint`` is flask-smorest's endpoint name, the view's class name, which
    is unique in this API (the OpenAPI test checks the ids are).
    """
    return method.lower() + endpoint[:1].upper() + endpoint[1:]


def problem_doc(description: str) -> dict[str, Any]:
    """Document an error answer: ``@blp.alt_response(404, **problem_doc("No model with this id"))``.

    Operations document the 4xx answers they give (the linters' rule
    ``operation-4xx-response``), each as a problem document saying when.
    """
    return {"schema": ProblemSchema, "content_type": PROBLEM_MIMETYPE, "description": description}


class ProblemApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, answering and documenting errors as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def register_blueprint(self, blp: Any, **options: Any) -> None:
        """Register `blp`, giving each operation an operationId and a description.

        A view may set its own with ``@blp.doc(operationId=...)``; otherwise the
        id is derived from the method and the view's class, and a docstring of a
        single line is the description as well as the summary.
        """
        for endpoint, views in blp._docs.items():
            for method, info in views.items():
                if method == "parameters":
                    continue
                manual = info.setdefault("manual_doc", {})
                manual.setdefault("operationId", operation_id(method, endpoint))
                docstring = info.get("docstring") or {}
                if "description" not in docstring and "summary" in docstring:
                    manual.setdefault("description", docstring["summary"])
        super().register_blueprint(blp, **options)

    def init_app(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        """Set up the API on `app`, documenting exclusive ranges as they are checked."""
        super().init_app(app, *args, **kwargs)
        self.ma_plugin.converter.add_attribute_function(_exclusive_range)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
                if status >= 400:
                    response["example"] = {
                        "type": f"http://127.0.0.1:8000/problems/{problem_slug(status)}",
                        "title": status.phrase,
                        "status": int(status),
                        "detail": "what went wrong and what to do",
                    }
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
        elif isinstance(error, NotFound) and request.url_rule is None:
            detail = _malformed_id_detail(request.path) or error.description or "Not Found"
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
