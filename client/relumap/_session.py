"""The HTTP session: retries with backoff, ``Retry-After``, and the client's identity.

Retries follow urllib3's :class:`~urllib3.util.Retry`, mounted on the session
as requests recommends. Every request the client sends is safe to repeat:
GET and DELETE by nature, predict because it changes nothing, and every POST
that creates something carries an ``Idempotency-Key`` that the service honours
(a repeated key returns the first response, never a second model). So POST is
retried like the others, on connection errors and on 429, 502, 503 and 504.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from relumap._version import __version__
from relumap.errors import ValidationError

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_URL",
    "IN_PROGRESS_RETRIES",
    "RETRY_STATUSES",
    "build_session",
    "resource_id",
    "retry_after",
    "retry_policy",
    "timed_out",
    "user_agent",
]

DEFAULT_URL = "http://127.0.0.1:8000"
# (connect, read) seconds; 3.05 is just over a multiple of TCP's 3 s retransmission
# window, as requests' documentation advises.
DEFAULT_TIMEOUT = (3.05, 60.0)
RETRY_STATUSES = (429, 502, 503, 504)
RETRIED_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "POST"})
# Times to resend a POST while the service still runs its first attempt (409).
IN_PROGRESS_RETRIES = 10
MAX_RETRY_AFTER = 10.0


def user_agent() -> str:
    """Return the ``User-Agent``: relumap's and requests' versions."""
    return f"relumap/{__version__} python-requests/{requests.__version__}"


def retry_after(value: str) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds form), at most 10."""
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return 1.0


def retry_policy(retries: int | Retry) -> Retry:
    """Return the retry policy for ``retries`` attempts after the first.

    Parameters
    ----------
    retries : int or urllib3.util.Retry
        How many times to retry a failed request; a ``Retry`` is used as given.

    Returns
    -------
    urllib3.util.Retry
        Exponential backoff (0.25 s, 0.5 s, 1 s, ...), ``Retry-After`` honoured,
        and the last error response returned rather than raised, so its
        problem document reaches the caller.
    """
    if isinstance(retries, Retry):
        return retries
    if retries < 0:
        raise ValidationError(f"retries must be 0 or more, got {retries}")
    return Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=0.25,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=RETRIED_METHODS,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def build_session(retries: int | Retry) -> requests.Session:
    """Return a session with the retry policy mounted for http and https."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry_policy(retries))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def resource_id(value: Any, kind: str) -> str:
    """Return the id of a :class:`Dataset` or :class:`Model`, or the string given."""
    found = getattr(value, "id", value)
    if not isinstance(found, str) or not found:
        raise ValidationError(f"expected a {kind} or its id, got {value!r}")
    return quote(found, safe="")


def timed_out(exc: requests.ConnectionError) -> bool:
    """Whether a connection error is a timeout that urllib3's retries wrapped."""
    if isinstance(exc, requests.Timeout):
        return True
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    # urllib3 2 makes NewConnectionError (connection refused) a ConnectTimeoutError.
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return False
    return isinstance(reason, urllib3.exceptions.TimeoutError)
