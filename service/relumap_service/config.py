"""Service configuration: defaults, then ``RELUMAP_*`` environment variables, then test config.

Every setting has a default here, so the service starts with no configuration at
all: an SQLite database and an SQLite-backed Huey queue under ``DATA_DIR``, and a
queue consumer embedded in the service. Scaling out changes settings, not code:
``DATABASE_URL`` names PostgreSQL, ``QUEUE_URL`` names Redis, and the API runs
with ``EMBEDDED_WORKER=false`` beside ``relumap-service worker`` processes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULTS",
    "LIMIT_KEYS",
    "database_url",
    "limit_native_threads",
    "load_config",
    "native_thread_pools",
]

ENV_PREFIX = "RELUMAP_"

DEFAULTS: dict[str, Any] = {
    # Where the embedded SQLite database and queue live.
    "DATA_DIR": "./var",
    # SQLAlchemy URL; empty means sqlite:///<DATA_DIR>/relumap.db.
    "DATABASE_URL": "",
    # Huey storage: empty means SQLite at <DATA_DIR>/queue.db; redis://... for scale-out.
    "QUEUE_URL": "",
    "QUEUE_NAME": "relumap",
    # Run a queue consumer inside the service process.
    "EMBEDDED_WORKER": True,
    # Fits run at once by one consumer: threads of the embedded consumer, or
    # processes of `relumap-service worker`.
    "FIT_WORKERS": 1,
    # A running fit renews its lease every third of this; a fit whose worker stops
    # renewing it (killed, machine gone) is re-queued or failed by the reaper.
    "FIT_LEASE_SECONDS": 30.0,
    # Attempts a fit gets in all: a lost lease re-queues it until this many ran.
    "FIT_MAX_ATTEMPTS": 2,
    # Seconds one fit may run; then its process is killed and the model fails.
    "FIT_TIMEOUT": 300.0,
    # A request waiting for a fit (POST /v1/models?wait=N) is woken by the fit's
    # event; it also re-reads the model this often, in case an event was lost.
    "FIT_WAIT_RECHECK_SECONDS": 2.0,
    # Seconds an Idempotency-Key stays reserved by a request that never ended
    # (its process was killed); a retry after that runs. Longer than any request.
    "IDEMPOTENCY_LEASE_SECONDS": 120.0,
    # Upgrade the database schema to the newest migration when a process starts.
    "MIGRATE_ON_START": True,
    # When set, every /v1 request needs "Authorization: Bearer <API_KEY>".
    "API_KEY": "",
    # Comma-separated origins allowed by CORS ("*" for any); empty turns CORS off.
    "CORS_ORIGINS": "",
    # Logs: "json" (one object per line) or "text"; and the level.
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "INFO",
    # The web server (gunicorn): address, processes, threads per process, and the
    # seconds a silent worker or a shutdown may take.
    "BIND": "127.0.0.1:8000",
    "WEB_WORKERS": 2,
    "WEB_THREADS": 4,
    "WEB_TIMEOUT": 90,
    # Port of the Prometheus endpoint of a `relumap-service worker`; 0 turns it off.
    "WORKER_METRICS_PORT": 9100,
    # Address that endpoint binds; 0.0.0.0 to be scraped from other machines.
    "WORKER_METRICS_HOST": "127.0.0.1",
    # Limits on what a client may ask for; reported by GET /v1.
    "MAX_SAMPLES": 100_000,
    # Input features (columns of X) of a data set or network.
    "MAX_FEATURES": 64,
    "MAX_HIDDEN_UNITS": 1024,
    "MAX_LAYERS": 8,
    "MAX_ITER": 5000,
    "MAX_RESTARTS": 10,
    # Training snapshots a fit may record (the `snapshots` fit parameter).
    "MAX_SNAPSHOTS": 40,
    "MAX_PREDICT_ROWS": 100_000,
    "MAX_REQUEST_BYTES": 16 * 1024 * 1024,
    "MAX_WAIT_SECONDS": 60,
    "MAX_REGIONS": 200_000,
    "MAX_PAGE_SIZE": 100,
    # A server-rendered plot: pixels (width x height) and regions drawn.
    "MAX_PLOT_PIXELS": 4_000_000,
    "MAX_PLOT_REGIONS": 20_000,
    # Pieces of a 1D partition (/knots and 1D plots).
    "MAX_PIECES": 100_000,
    # Regions (or pieces) re-derived with rational arithmetic by ?verify=true.
    "MAX_VERIFY_REGIONS": 2_000,
    # Rows x (hidden units + inputs x outputs) of a predict with ?include=pattern.
    "MAX_PATTERN_CELLS": 10_000_000,
    # Seconds a request's heavy work (geometry, plots, large predictions) may take.
    "REQUEST_TIMEOUT": 30.0,
    # Heavy computations at once per web process, and how long another waits for
    # its turn before a 503; at most WEB_THREADS // 2 wait or run, so threads
    # stay free for health checks and light requests.
    "MAX_CONCURRENT_GEOMETRY": 1,
    "GEOMETRY_WAIT_SECONDS": 5.0,
    # Worker processes of one big region map (networks of 256 hidden units or
    # more): the box is cut into that many strips, mapped at once; 1 maps in the
    # web process itself.
    "GEOMETRY_PROCESSES": 1,
    # Bytes of recent /knots and /regions answers (and their compressed forms)
    # kept in memory by each web process; 0 turns the cache off.
    "GEOMETRY_CACHE_BYTES": 128 * 1024 * 1024,
    # Bytes of the same answers kept as files under DATA_DIR/answers for every web
    # process of the host (least recently used out first); 0 turns it off.
    "GEOMETRY_SHARED_CACHE_BYTES": 512 * 1024 * 1024,
}

# Settings that bound client requests, reported as "limits" by GET /v1.
LIMIT_KEYS = (
    "MAX_SAMPLES",
    "MAX_FEATURES",
    "MAX_HIDDEN_UNITS",
    "MAX_LAYERS",
    "MAX_ITER",
    "MAX_RESTARTS",
    "MAX_SNAPSHOTS",
    "MAX_PREDICT_ROWS",
    "MAX_REQUEST_BYTES",
    "MAX_WAIT_SECONDS",
    "MAX_REGIONS",
    "MAX_PAGE_SIZE",
    "MAX_PLOT_PIXELS",
    "MAX_PLOT_REGIONS",
    "MAX_PIECES",
    "MAX_VERIFY_REGIONS",
    "MAX_PATTERN_CELLS",
    "REQUEST_TIMEOUT",
    "FIT_TIMEOUT",
    "GEOMETRY_CACHE_BYTES",
    "GEOMETRY_SHARED_CACHE_BYTES",
    "GEOMETRY_PROCESSES",
)

# Environment variables that size the thread pools of BLAS and OpenMP.
BLAS_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _coerce(key: str, raw: str, default: Any) -> Any:
    """Convert an environment string to the type of the default."""
    if isinstance(default, bool):
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ValueError(f"{ENV_PREFIX}{key}={raw!r} is not a boolean; use true or false")
    if isinstance(default, int):
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{key}={raw!r} is not an integer") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{key}={raw!r} is not a number") from None
    return raw


def load_config(
    test_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Merge defaults, ``RELUMAP_*`` environment variables and ``test_config``, in that order.

    Parameters
    ----------
    test_config : mapping, optional
        Highest-precedence overrides, as given to ``create_app``.
    environ : mapping, optional
        Environment to read; ``os.environ`` by default.

    Returns
    -------
    dict
        The settings, with ``DATABASE_URL`` and ``QUEUE_URL`` resolved against ``DATA_DIR``.
    """
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        raw = environ.get(ENV_PREFIX + key)
        if raw is not None:
            config[key] = _coerce(key, raw, default)
    config.update(test_config or {})

    data_dir = Path(config["DATA_DIR"]).expanduser().resolve()
    config["DATA_DIR"] = str(data_dir)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{data_dir / 'relumap.db'}"
    if not config["QUEUE_URL"]:
        config["QUEUE_URL"] = f"sqlite:///{data_dir / 'queue.db'}"
    config["DATABASE_URL"] = database_url(config["DATABASE_URL"])
    if config["LOG_FORMAT"] not in ("json", "text"):
        raise ValueError(f"{ENV_PREFIX}LOG_FORMAT={config['LOG_FORMAT']!r}: use json or text")
    positive = (
        "FIT_LEASE_SECONDS",
        "FIT_MAX_ATTEMPTS",
        "FIT_TIMEOUT",
        "FIT_WAIT_RECHECK_SECONDS",
        "IDEMPOTENCY_LEASE_SECONDS",
    )
    for key in positive:
        if not config[key] > 0:
            raise ValueError(f"{ENV_PREFIX}{key}={config[key]!r} must be positive")
    for key in (
        "REQUEST_TIMEOUT",
        "MAX_CONCURRENT_GEOMETRY",
        "MAX_PIECES",
        "MAX_PATTERN_CELLS",
        "GEOMETRY_PROCESSES",
    ):
        if not config[key] > 0:
            raise ValueError(f"{ENV_PREFIX}{key}={config[key]!r} must be positive")
    for key in ("GEOMETRY_CACHE_BYTES", "GEOMETRY_SHARED_CACHE_BYTES"):
        if not config[key] >= 0:
            raise ValueError(f"{ENV_PREFIX}{key}={config[key]!r} must be 0 (no cache) or more")
    if not config["GEOMETRY_WAIT_SECONDS"] >= 0:
        raise ValueError(
            f"{ENV_PREFIX}GEOMETRY_WAIT_SECONDS={config['GEOMETRY_WAIT_SECONDS']!r} "
            "must be 0 or more"
        )
    return config


def database_url(url: str) -> str:
    """Name psycopg 3 as the driver of a PostgreSQL URL that names none.

    ``postgres://`` and ``postgresql://`` (as hosting platforms hand them out)
    would make SQLAlchemy look for psycopg2, which relumap does not install.

    Examples
    --------
    >>> database_url("postgres://u@db/relumap")
    'postgresql+psycopg://u@db/relumap'
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def limit_native_threads() -> None:
    """Give BLAS and OpenMP one thread each, unless the environment says otherwise.

    Forked processes and threaded BLAS deadlock (a fork copies a pool's lock but
    not its threads), and a fit is small, so web and worker processes run one
    thread each. numpy reads these variables when first imported: call this
    before that, at a process's entry point.
    """
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")


def native_thread_pools() -> dict[str, int]:
    """Return the threads of each BLAS/OpenMP pool loaded in this process, by library API.

    Logged when a web or fit process starts, so the setting above can be seen to hold.
    """
    from threadpoolctl import threadpool_info  # installed with scikit-learn

    return {pool["internal_api"]: int(pool["num_threads"]) for pool in threadpool_info()}
