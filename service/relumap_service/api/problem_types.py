"""`/problems/{name}`: a page for each problem type that error documents name.

Every problem document's `type` is the absolute URL of one of these pages on
the service that answered (``https://host/problems/not-found``), so a reader
can follow it to what the problem means in relumap and what to do. The page is
HTML, or JSON for a client that asks for `application/json`.
"""

from __future__ import annotations

import http
from html import escape
from typing import Any

import marshmallow as ma
from flask import Response, json, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

__all__ = ["PROBLEM_TYPES", "blp", "problem_slug"]

blp = Blueprint(
    "problems", __name__, url_prefix="/problems", description="What each problem type means"
)


def problem_slug(status: int) -> str:
    """Return the name of the problem type for an HTTP status: `not-found` for 404."""
    return http.HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")


# What relumap means by the statuses it answers, and what the caller can do.
_MEANINGS = {
    400: "The request could not be read: malformed JSON, a body nested too deeply, or "
    "(under /v2) a tensor that does not fit the Open Inference Protocol. `detail` says "
    "which; fix the request and send it again.",
    401: "An API key is set (RELUMAP_API_KEY) and the request carried none or a wrong one. "
    "Send `Authorization: Bearer <key>`.",
    404: "No resource has this id, or no route this path. `detail` names the id and where "
    "to list the existing ones (GET /v1/models, GET /v1/datasets).",
    405: "The path exists but not with this method; the `Allow` header lists the methods.",
    409: "The model is not in a state for this request: it is still queued or running, or "
    "its fit failed. Wait for `status: succeeded` (GET /v1/models/{id}?wait=...).",
    413: "The body, the number of rows or the answer would exceed a configured limit "
    "(RELUMAP_MAX_*). `detail` names the limit; send less or raise it.",
    415: "The body's content type is not one this endpoint reads (usually it wants "
    "application/json). `detail` lists the accepted types.",
    422: "The request was read but a value is invalid: a field out of range, a missing or "
    "unknown feature name, an unknown query parameter, or a work limit (the document's "
    "`limit` member names it). `errors` maps each field to its messages.",
    429: "Too many requests; wait for the number of seconds in `Retry-After`.",
    500: "The service failed on this request; the error is logged with the request's "
    "X-Request-ID. Report it with that id.",
    503: "The service is busy, past its request deadline, or its database or queue is "
    "unreachable; nothing was changed. Retry after `Retry-After` seconds, or ask for less.",
}

PROBLEM_TYPES: dict[str, int] = {
    problem_slug(status): int(status) for status in http.HTTPStatus if status >= 400
}


class ProblemTypeSchema(ma.Schema):
    """A problem type: its name, status and meaning."""

    type = ma.fields.String(metadata={"description": "The problem type's URI (this page)"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    description = ma.fields.String()


def _describe(name: str) -> dict[str, Any]:
    status = PROBLEM_TYPES[name]
    phrase = http.HTTPStatus(status)
    return {
        "type": request.base_url,
        "title": phrase.phrase,
        "status": status,
        "description": _MEANINGS.get(status, phrase.description + "."),
    }


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - relumap problem type</title></head>
<body><h1>{title}</h1>
<p>HTTP status <b>{status}</b>. Problem type <code>{type}</code>.</p>
<p>{description}</p>
<p>relumap answers errors as RFC 9457 problem documents (<code>application/problem+json</code>)
with <code>type</code>, <code>title</code>, <code>status</code>, <code>detail</code> (what went
wrong and what to do) and <code>instance</code> (the request path); see
<a href="/docs">the API documentation</a>.</p>
</body></html>
"""


@blp.route("/<name>")
class ProblemType(MethodView):
    """A problem type."""

    @blp.doc(security=[])
    @blp.response(200, ProblemTypeSchema)
    @blp.alt_response(
        200,
        schema={"type": "string"},
        content_type="text/html",
        description="The page, for a browser",
        success=True,
    )
    # The problem document's schema is registered as the component response
    # NOT_FOUND (api/errors.py imports this module, so not the other way round).
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, name: str) -> Any:
        """Describe a problem type: HTML, or JSON with `Accept: application/json`.

        `name` is the status phrase in lowercase with hyphens, as in the `type`
        of a problem document: `not-found`, `unprocessable-content`.
        """
        if name not in PROBLEM_TYPES:
            abort(
                404,
                message=f"no problem type {name[:100]!r}; types are HTTP status phrases such "
                "as 'not-found' or 'unprocessable-content'",
            )
        document = _describe(name)
        best = request.accept_mimetypes.best_match(["text/html", "application/json"])
        if best == "application/json":
            return Response(json.dumps(document), mimetype="application/json")
        page = _PAGE.format(**{key: escape(str(value)) for key, value in document.items()})
        return Response(page, mimetype="text/html")
