"""Structured logs: one JSON object per line, with the request id of the request being served.

Processes configure logging once, at their entry point (the gunicorn
configuration, ``relumap-service worker``, ``relumap-service migrate``);
``create_app`` never touches the root logger, so tests and embedding
applications keep their own. Fields passed as ``extra={...}`` become keys of the
JSON object, e.g. ``log.info("fit finished", extra={"model_id": ..., "outcome": ...})``.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFormatter", "configure_logging", "logging_dict"]

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _request_id() -> str | None:
    try:
        from flask import g, has_request_context
    except ImportError:  # a worker process without the web stack
        return None
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON: time, level, logger, message and extra fields.

    Examples
    --------
    >>> record = logging.makeLogRecord({"msg": "fit finished", "outcome": "succeeded"})
    >>> sorted(json.loads(JsonFormatter().format(record)))
    ['level', 'logger', 'message', 'outcome', 'pid', 'ts']
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON object on one line."""
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        request_id = _request_id()
        if request_id is not None:
            body["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = value
        if record.exc_info:
            body["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            body["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(body, default=str)


def logging_dict(fmt: str = "json", level: str = "INFO") -> dict[str, Any]:
    """Return a ``logging.config.dictConfig`` mapping that writes to stderr.

    gunicorn's own loggers (``gunicorn.error``, ``gunicorn.access``) are routed
    through the same handler, so a process writes one format only.

    Parameters
    ----------
    fmt : {"json", "text"}
        JSON lines, or plain text for a terminal.
    level : str
        The level of the root logger (``INFO``, ``DEBUG``, ...).
    """
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"relumap": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "relumap",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            # The app logs each request itself, with its request id and duration.
            "gunicorn.access": {"handlers": [], "propagate": False},
            # Alembic narrates every connection it inspects; the upgrade itself is logged by
            # relumap_service.migrations.
            "alembic": {"level": "WARNING"},
        },
    }


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    """Send every log record of this process to stderr in ``fmt``."""
    logging.config.dictConfig(logging_dict(fmt, level))
