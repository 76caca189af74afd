"""The playground page at `/`: plain HTML, CSS and ES modules shipped in the package.

The page is static (no build step, no CDN): it lives in
`relumap_service/static/playground/` and talks to the API with `fetch`, so
it works offline on the machine that runs the service. It is no API resource,
so it is a plain Flask blueprint outside the OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

__all__ = ["PLAYGROUND_DIR", "bp"]

PLAYGROUND_DIR = Path(__file__).resolve().parents[1] / "static" / "playground"

bp = Blueprint("playground", __name__)


@bp.get("/")
def index() -> Response:
    """Serve the playground page; revalidated on every load, so an upgrade shows at once."""
    response = send_from_directory(PLAYGROUND_DIR, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
