"""Security headers: what a browser may do with the service's answers.

Every answer says ``X-Content-Type-Options: nosniff``, so a JSON or CSV body
is never run as a script or rendered as HTML. HTML pages (the playground at
``/`` and the API docs at ``/docs``) also get a Content-Security-Policy that
allows only the service's own scripts, styles, images and API, may not be
framed (``X-Frame-Options: DENY``, ``frame-ancestors 'none'``) and send no
referrer to other sites.

The docs page of flask-smorest starts Swagger UI with an inline script; the
policy allows that script by its SHA-256 hash, computed from the page itself,
rather than allowing every inline script.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response

__all__ = ["content_security_policy", "init_security_headers"]

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)


def content_security_policy(html: bytes) -> str:
    """Return the policy of an HTML page: its own origin only, its inline scripts by hash.

    Parameters
    ----------
    html : bytes
        The page as sent.

    Returns
    -------
    str
        The value of the ``Content-Security-Policy`` header.
    """
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    script_src = f"'self' {hashes}".strip()
    # Swagger UI sets style attributes and shows its logo and the models' SVG as
    # data: URLs; the playground draws into canvases and SVG it builds itself.
    return (
        "default-src 'self'; "
        f"script-src {script_src}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; "
        "connect-src 'self'; "
        "font-src 'self' data:; "
        "object-src 'none'; "
        "base-uri 'none'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )


def _add_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        # A page sent from a file (the playground) has no inline script to allow.
        html = b"" if response.is_streamed or response.direct_passthrough else response.get_data()
        response.headers.setdefault("Content-Security-Policy", content_security_policy(html))
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def init_security_headers(app: Flask) -> None:
    """Add the security headers to every answer of ``app``."""
    app.after_request(_add_headers)
