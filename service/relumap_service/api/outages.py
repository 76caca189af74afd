"""Outages of the database or the queue: a 503 with ``Retry-After``, never a 500.

A database that is unreachable (the network, a restart), full (a disk with no
room left), or read-only, and a Redis that is unreachable, are the same thing
to a client: the service cannot answer now and will later. Each route that
meets one answers ``503 Service Unavailable`` as a problem document with
``Retry-After``; the transaction in progress is rolled back, so nothing is half
stored; and the pool's pre-ping reconnects once the database is back.
"""

from __future__ import annotations

import logging
import sqlite3

from flask import Flask, Response, request
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from relumap_service.api.errors import problem

__all__ = ["RETRY_AFTER_SECONDS", "init_outages", "is_outage"]

log = logging.getLogger(__name__)

# What a 503 asks a client to wait before retrying.
RETRY_AFTER_SECONDS = 5

# SQLAlchemy's, and sqlite3's own for the embedded queue (Huey's SQLite storage).
_OUTAGES = (
    OperationalError,
    PoolTimeoutError,
    sqlite3.OperationalError,
    RedisConnectionError,
    RedisTimeoutError,
)


def is_outage(error: BaseException) -> bool:
    """Return True if ``error`` means the database or the queue is out of reach or full."""
    if isinstance(error, _OUTAGES):
        return True
    # psycopg reports a connection dropped mid-query as other DBAPI errors too.
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def _answer_outage(error: Exception) -> Response:
    if not is_outage(error):
        raise error
    what = (
        "the queue"
        if isinstance(error, RedisConnectionError | RedisTimeoutError)
        else ("the database")
    )
    log.error(
        "%s is unavailable on %s %s: %s",
        what,
        request.method,
        request.path,
        str(error).splitlines()[0] if str(error) else type(error).__name__,
    )
    response = problem(
        503,
        f"{what} of the service is unavailable (unreachable, full or read-only); "
        f"nothing was changed; retry in {RETRY_AFTER_SECONDS} seconds",
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_outages(app: Flask) -> None:
    """Answer database and queue outages on every route of ``app`` with a 503."""
    for error in (*_OUTAGES, DBAPIError):
        app.register_error_handler(error, _answer_outage)
