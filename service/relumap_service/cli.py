"""``relumap-service``: run the production server (gunicorn) with the embedded defaults.

Command-line options are written to the ``RELUMAP_*`` environment before the
server starts, so each gunicorn worker's ``create_app()`` reads the same
settings through the one configuration path.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

__all__ = ["main"]


class _Server(BaseApplication):  # type: ignore[misc]
    """gunicorn running ``create_app()`` in each worker."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from relumap_service.app import create_app

        return create_app()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relumap-service",
        description="Serve the relumap API with gunicorn (SQLite store and queue by default).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    parser.add_argument("--data-dir", help="where the SQLite database and queue live (./var)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument(
        "--no-embedded-worker",
        action="store_true",
        help="serve the API only; fits run in separate queue consumers",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the server until interrupted."""
    args = _parser().parse_args(argv)
    if args.data_dir:
        os.environ["RELUMAP_DATA_DIR"] = str(Path(args.data_dir).resolve())
    if args.no_embedded_worker:
        os.environ["RELUMAP_EMBEDDED_WORKER"] = "false"
    # Forked workers and threaded BLAS deadlock; fits are small anyway.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    options = {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 20,
        "accesslog": "-",
    }
    if Path("/dev/shm").is_dir():
        options["worker_tmp_dir"] = "/dev/shm"
    _Server(options).run()


if __name__ == "__main__":
    main()
