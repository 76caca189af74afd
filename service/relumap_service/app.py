"""The application factory."""

from __future__ import annotations

import atexit
from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import abort

from relumap_service import __version__
from relumap_service.api import init_api
from relumap_service.api.context import Services
from relumap_service.api.headers import init_security_headers
from relumap_service.api.inputs import BoundedRequest, check_json_depth, check_query_names
from relumap_service.api.transport import init_transport
from relumap_service.auth import init_auth, spec_options
from relumap_service.config import load_config
from relumap_service.jobs import FitQueue
from relumap_service.observability import init_observability
from relumap_service.store import Store

__all__ = ["create_app"]

DESCRIPTION = """Fit small ReLU or linear MLPs and see exactly what they compute.

A linear (identity) network collapses to one affine map; a ReLU network is
piecewise linear. relumap reports every piece: knots in 1D, linear regions in
2D, and error metrics beside the best linear model. Errors are RFC 9457
problem documents (`application/problem+json`).
"""

# Views that read a body other than JSON themselves.
_NON_JSON_ENDPOINTS = {
    "datasets.Datasets",
    "networks.Networks",
    # MLflow's protocol takes text/csv; tritonclient sends JSON with no content type.
    "inference.Invocations",
    "inference.ModelInfer",
}


def _require_json() -> None:
    """Answer 415 to a body that a JSON endpoint cannot read."""
    if request.method not in ("POST", "PUT", "PATCH") or request.endpoint in _NON_JSON_ENDPOINTS:
        return
    if (request.content_length or request.headers.get("Transfer-Encoding")) and (
        request.mimetype != "application/json"
    ):
        abort(
            415,
            message=f"send the body as application/json, "
            f"not {request.mimetype or 'no content type'}",
        )


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing to write NaN or Infinity, which no strict JSON reader accepts.

    The API checks its inputs and outputs so that none arises; should one
    slip through, the answer is a logged 500 rather than a body that the
    caller's JSON parser rejects.
    """

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialize ``obj`` to strict JSON."""
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the relumap service.

    Parameters
    ----------
    test_config : mapping, optional
        Settings that override the defaults and ``RELUMAP_*`` environment
        variables (see ``relumap_service.config.DEFAULTS``).

    Returns
    -------
    Flask
        The app; ``app.extensions["relumap"]`` holds its store and queue.
    """
    config = load_config(test_config)
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.request_class = BoundedRequest
    app.json = StrictJSONProvider(app)
    app.config.update(
        API_TITLE="relumap",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        # Shipped with the package, so the docs page works without internet.
        OPENAPI_SWAGGER_UI_URL="/static/swagger-ui/",
        API_SPEC_OPTIONS={
            "info": {
                "description": DESCRIPTION,
                "license": {"name": "MIT", "identifier": "MIT"},
                "contact": {"name": "relumap maintainers"},
            },
            # Relative to the document: the service that serves /openapi.json.
            "servers": [{"url": "/", "description": "This service"}],
            **spec_options(config),
        },
        MAX_CONTENT_LENGTH=int(config["MAX_REQUEST_BYTES"]),
        RELUMAP=config,
    )
    store = Store.open(config)
    queue = FitQueue(config, store)
    app.extensions["relumap"] = Services(config=config, store=store, queue=queue)
    # Request ids and timing first, so that every answer, a 401 too, is logged.
    init_observability(app, store, queue)
    # Compression runs after every later after_request function (the security
    # headers read the HTML it would compress).
    init_transport(app)
    init_auth(app)
    app.before_request(_require_json)
    app.before_request(check_json_depth)
    app.before_request(check_query_names)
    init_security_headers(app)
    init_api(app)
    if config["EMBEDDED_WORKER"]:
        queue.start_embedded_consumer()
        atexit.register(queue.stop)
    return app
