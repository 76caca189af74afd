"""Service configuration: defaults, then ``RELUMAP_*`` environment variables, then test config.

Every setting has a default here, so the service starts with no configuration at
all: an SQLite database and an SQLite-backed Huey queue under ``DATA_DIR``, and a
queue consumer embedded in the service.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["DEFAULTS", "LIMIT_KEYS", "load_config"]

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
    # Fits run at once by one consumer.
    "FIT_WORKERS": 1,
    # A running fit whose worker stops renewing its lease for this long is failed.
    "FIT_LEASE_SECONDS": 30,
    # Limits on what a client may ask for; reported by GET /v1.
    "MAX_SAMPLES": 100_000,
    "MAX_HIDDEN_UNITS": 1024,
    "MAX_LAYERS": 8,
    "MAX_ITER": 5000,
    "MAX_RESTARTS": 10,
    "MAX_PREDICT_ROWS": 100_000,
    "MAX_REQUEST_BYTES": 16 * 1024 * 1024,
    "MAX_WAIT_SECONDS": 60,
    "MAX_REGIONS": 200_000,
    "MAX_PAGE_SIZE": 100,
}

# Settings that bound client requests, reported as "limits" by GET /v1.
LIMIT_KEYS = (
    "MAX_SAMPLES",
    "MAX_HIDDEN_UNITS",
    "MAX_LAYERS",
    "MAX_ITER",
    "MAX_RESTARTS",
    "MAX_PREDICT_ROWS",
    "MAX_REQUEST_BYTES",
    "MAX_WAIT_SECONDS",
    "MAX_REGIONS",
    "MAX_PAGE_SIZE",
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
    for key in ("API_KEY", "CORS_ORIGINS"):
        if ENV_PREFIX + key in environ:
            config[key] = environ[ENV_PREFIX + key]
    config.update(test_config or {})

    data_dir = Path(config["DATA_DIR"]).expanduser().resolve()
    config["DATA_DIR"] = str(data_dir)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{data_dir / 'relumap.db'}"
    if not config["QUEUE_URL"]:
        config["QUEUE_URL"] = f"sqlite:///{data_dir / 'queue.db'}"
    return config
