"""gunicorn settings for the relumap API, read from the ``RELUMAP_*`` environment.

``relumap-service serve`` uses this file; plain gunicorn can too::

    gunicorn -c python:relumap_service.gunicorn_conf

Any gunicorn setting can still be overridden on gunicorn's command line or in
``GUNICORN_CMD_ARGS``. Workers are threaded (``gthread``): requests are short,
because a fit never runs inside a request (it runs on the queue), and the
longest request, ``POST /v1/models?wait=N``, is bounded by
``RELUMAP_MAX_WAIT_SECONDS``, well under ``timeout``. gunicorn's timeout
therefore never kills a fit.

Errors gunicorn answers itself, before the app sees the request (a request
line over ``limit_request_line``, 414; too many or too large header fields,
431; a malformed request line or chunk, 400), are written as RFC 9457
problem documents like every other error of the service, not as gunicorn's
HTML page: :func:`write_problem` replaces ``gunicorn.util.write_error``.
The limits stay gunicorn's defaults (4094 bytes for the request line), so
such requests are refused before any of them reaches a worker thread.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn import util

from relumap_service.config import limit_native_threads, load_config
from relumap_service.logs import logging_dict

# Before any worker imports numpy: forked workers and threaded BLAS deadlock.
limit_native_threads()

_config = load_config()

wsgi_app = "relumap_service.app:create_app()"
bind = [_config["BIND"]]
workers = int(_config["WEB_WORKERS"])
worker_class = "gthread"
threads = int(_config["WEB_THREADS"])
# A worker silent this long is restarted; a shutdown lets requests finish this long.
timeout = max(int(_config["WEB_TIMEOUT"]), int(_config["MAX_WAIT_SECONDS"]) + 10)
graceful_timeout = timeout
keepalive = 5
# The worker heartbeat file on tmpfs: on a container's overlay disk a slow write
# could stall a worker until gunicorn kills it.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
# The app writes one JSON line per request (with its request id); no second access log.
accesslog = None
errorlog = "-"
logconfig_dict = logging_dict(_config["LOG_FORMAT"], _config["LOG_LEVEL"])
# gunicorn >= 25.1 opens a control socket at one path per user ($HOME/.gunicorn/
# gunicorn.ctl): a second server on the host takes it over and either one removes
# it on exit. Nothing here uses gunicornc; older gunicorns ignore the setting.
control_socket_disable = True


def write_problem(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Write one of gunicorn's own errors as ``application/problem+json``.

    Parameters
    ----------
    sock : socket
        The client's connection; gunicorn closes it afterwards.
    status_int : int
    reason : str
        The status phrase, such as ``URI Too Long``.
    mesg : str
        What gunicorn found, such as ``Request Line is too large (5000 > 4094)``.
    """
    slug = reason.lower().replace(" ", "-").replace("'", "")
    body = json.dumps(
        {
            # The request's host is unknown here: a reference relative to the
            # service, which serves /problems/<name> (api/problem_types.py).
            "type": f"/problems/{slug}",
            "title": reason,
            "status": status_int,
            "detail": f"{mesg or reason} (refused by the HTTP server before the API)",
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


# The workers are forked from this process and inherit the replacement.
util.write_error = write_problem


def on_starting(server: Any) -> None:
    """Give the workers one fresh directory for their Prometheus metrics files.

    prometheus_client reads ``PROMETHEUS_MULTIPROC_DIR`` when first imported;
    the master imports it never, and forks the workers after this hook.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        # Files of a previous run would add old counts to the new ones.
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
        Path(directory).mkdir(parents=True, exist_ok=True)
    else:
        directory = tempfile.mkdtemp(prefix="relumap-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        server.relumap_metrics_dir = directory


def post_worker_init(worker: Any) -> None:
    """Once the app is loaded: freeze its objects out of the garbage collector, log.

    The app's imports (numpy, scikit-learn, SQLAlchemy, marshmallow...) leave
    several hundred thousand objects that live as long as the process, and
    every full collection walked them all: 112-115 ms, added to whatever
    request ran then (two in thirty region maps of about 55 ms). Frozen
    (``gc.freeze``), they are skipped: a full collection takes 0.4-0.7 ms.
    The log line says how many were frozen, and the native thread pools.
    """
    from relumap_service.config import native_thread_pools

    gc.freeze()
    logging.getLogger("relumap_service.web").info(
        "web process ready",
        extra={"native_threads": native_thread_pools(), "gc_frozen": gc.get_freeze_count()},
    )


def child_exit(server: Any, worker: Any) -> None:
    """Drop the live gauges of a worker that exited."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """Remove the metrics directory this master created."""
    directory = getattr(server, "relumap_metrics_dir", None)
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
