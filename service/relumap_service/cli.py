"""``relumap-service``: serve the API, run fit workers, migrate the database.

``relumap-service [serve]``
    The API under gunicorn (``relumap_service.gunicorn_conf``), with a queue
    consumer embedded in each process unless ``--no-embedded-worker``.
``relumap-service worker --workers N``
    Queue consumers in N separate processes (``relumap_service.worker``).
``relumap-service migrate``
    Upgrade the database to the newest schema (``--check`` only reports).

Command-line options are written to the ``RELUMAP_*`` environment before
anything else is imported, so every process reads the same settings through the
one configuration path (``relumap_service.config``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

COMMANDS = ("serve", "worker", "migrate")
# What the commands import; installed by the "service" extra, absent from a client install.
SERVICE_MODULES = ("flask", "flask_smorest", "sqlalchemy", "alembic", "huey", "gunicorn", "sklearn")


def _missing_service_modules() -> list[str]:
    return [name for name in SERVICE_MODULES if importlib.util.find_spec(name) is None]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relumap-service",
        description="Serve the relumap API, run fit workers, or migrate the database. "
        "Settings come from RELUMAP_* environment variables; options override them.",
    )
    commands = parser.add_subparsers(dest="command", metavar="{serve,worker,migrate}")
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--data-dir", help="where the SQLite database and queue live (./var)")

    serve = commands.add_parser(
        "serve", parents=[shared], help="serve the API with gunicorn (the default command)"
    )
    serve.add_argument("--host", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (8000)")
    serve.add_argument("--workers", type=int, help="gunicorn worker processes (2)")
    serve.add_argument("--threads", type=int, help="threads per worker process (4)")
    serve.add_argument(
        "--no-embedded-worker",
        action="store_true",
        help="serve the API only; fits run in `relumap-service worker` processes",
    )
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not upgrade the database at start-up"
    )

    worker = commands.add_parser(
        "worker", parents=[shared], help="consume the fit queue in separate processes"
    )
    worker.add_argument(
        "--workers",
        type=int,
        help="worker processes, each running one fit at a time (RELUMAP_FIT_WORKERS, 1)",
    )
    worker.add_argument(
        "--metrics-port",
        type=int,
        help="port of this worker's Prometheus endpoint, 0 for none "
        "(RELUMAP_WORKER_METRICS_PORT, 9100)",
    )
    worker.add_argument(
        "--metrics-host",
        help="address of this worker's Prometheus endpoint (RELUMAP_WORKER_METRICS_HOST, "
        "127.0.0.1)",
    )
    worker.add_argument(
        "--shutdown-timeout",
        type=float,
        default=60.0,
        help="seconds running fits may take to finish after SIGTERM (60)",
    )
    worker.add_argument(
        "--no-migrate", action="store_true", help="do not upgrade the database at start-up"
    )

    migrate = commands.add_parser(
        "migrate", parents=[shared], help="upgrade the database schema to the newest revision"
    )
    migrate.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 if the database is not at the newest revision",
    )
    return parser


def _set(name: str, value: object) -> None:
    if value is not None:
        os.environ["RELUMAP_" + name] = str(value)


def _serve(args: argparse.Namespace) -> None:
    from relumap_service.config import load_config

    if args.host is not None or args.port is not None:
        host, _, port = load_config()["BIND"].rpartition(":")
        _set("BIND", f"{args.host or host}:{args.port or port}")
    _set("WEB_WORKERS", args.workers)
    _set("WEB_THREADS", args.threads)
    if args.no_embedded_worker:
        _set("EMBEDDED_WORKER", "false")
    from gunicorn.app.wsgiapp import WSGIApplication

    sys.argv = ["relumap-service", "-c", "python:relumap_service.gunicorn_conf"]
    WSGIApplication("%(prog)s serve [OPTIONS]").run()


def _worker(args: argparse.Namespace) -> int:
    _set("FIT_WORKERS", args.workers)
    _set("WORKER_METRICS_HOST", args.metrics_host)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
    else:
        # One directory per worker main process: its endpoint adds up its own workers.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="relumap-worker-")
    from relumap_service.config import load_config
    from relumap_service.logs import configure_logging

    config = load_config()
    configure_logging(config["LOG_FORMAT"], config["LOG_LEVEL"])
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from relumap_service.worker import WorkerStartError, run_worker

    port = args.metrics_port if args.metrics_port is not None else config["WORKER_METRICS_PORT"]
    try:
        return run_worker(
            config,
            config["FIT_WORKERS"],
            metrics_port=port,
            metrics_host=config["WORKER_METRICS_HOST"],
            shutdown_timeout=args.shutdown_timeout,
        )
    except WorkerStartError as exc:
        print(f"relumap-service worker: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        where = make_url(config["DATABASE_URL"]).render_as_string(hide_password=True)
        first = str(exc.orig or exc).strip().splitlines()[0]
        print(f"relumap-service worker: cannot open the database {where}: {first}", file=sys.stderr)
        return 1


def _migrate(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from relumap_service.config import load_config
    from relumap_service.logs import configure_logging
    from relumap_service.migrations import current_revision, head_revision
    from relumap_service.store import Store

    config = load_config()
    configure_logging(config["LOG_FORMAT"], config["LOG_LEVEL"])
    Path(config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    store = Store(config["DATABASE_URL"])
    try:
        head = head_revision()
        if args.check:
            current = current_revision(store.engine)
            print(f"database at revision {current or 'none'}; newest is {head}")
            return 0 if current == head else 1
        before = store.migrate()
        print(f"database at revision {head} (was {before or 'empty'})")
        return 0
    except OperationalError as exc:
        # A missing database or server is the operator's to fix: one line, not a traceback.
        where = make_url(config["DATABASE_URL"]).render_as_string(hide_password=True)
        first = str(exc.orig or exc).strip().splitlines()[0]
        print(
            f"relumap-service migrate: cannot open the database {where}: {first} "
            "(create it first, e.g. with createdb)",
            file=sys.stderr,
        )
        return 1
    finally:
        store.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; without one, ``serve``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["serve", *argv]
    args = _parser().parse_args(argv)
    missing = _missing_service_modules()
    if missing:
        print(
            f"relumap-service needs the service extra ({', '.join(missing)} not installed): "
            "pip install 'relumap[service]'",
            file=sys.stderr,
        )
        return 1
    from relumap_service.config import limit_native_threads

    limit_native_threads()  # before anything imports numpy
    if args.data_dir:
        _set("DATA_DIR", Path(args.data_dir).resolve())
    if getattr(args, "no_migrate", False):
        _set("MIGRATE_ON_START", "false")
    if args.command == "worker":
        return _worker(args)
    elif args.command == "migrate":
        return _migrate(args)
    else:
        _serve(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
