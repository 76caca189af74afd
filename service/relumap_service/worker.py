"""``relumap-service worker``: Huey consumers in separate processes, for fits at scale.

Each of the ``--workers`` consumers is a process of its own (Huey's process
workers, forked from this one) that runs one fit at a time, in a fit process it
can kill (``relumap_service.fit_process``). The main process forks and watches
them (a dead one is replaced within two seconds), reaps expired leases and
sweeps lost queue messages every third of ``FIT_LEASE_SECONDS``, checks that
the database is still the one it opened, and serves the workers' Prometheus
metrics. SIGTERM (what ``docker stop`` sends) stops it gracefully: running fits
may finish for ``--shutdown-timeout`` seconds, then they are interrupted and
re-queued.

No process outlives the main one: its children ask Linux for ``SIGKILL`` when it
ends (``PR_SET_PDEATHSIG``), and fit processes end with their requester. A
metrics port already in use is a one-line fatal error (exit code 2) before
anything is forked: two workers on one host need two ports.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import signal
import socket
import time
from typing import Any

from huey.consumer import Consumer, ConsumerStopped
from prometheus_client import start_http_server

from relumap_service.config import native_thread_pools
from relumap_service.fit_process import (
    die_with_parent,
    keep_fit_processes,
    start_fit_server,
)
from relumap_service.jobs import FitQueue
from relumap_service.leases import reap_interval
from relumap_service.store import Store
from relumap_service.telemetry import metrics_registry

__all__ = ["WorkerStartError", "check_port_free", "run_worker"]

log = logging.getLogger(__name__)


class WorkerStartError(RuntimeError):
    """The worker cannot start; the message says why and what to do, in one line."""


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`WorkerStartError` if ``host:port`` cannot be bound."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            why = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise WorkerStartError(
                f"cannot serve worker metrics on {host}:{port} ({why}): give each worker on "
                "this host its own port with --metrics-port or RELUMAP_WORKER_METRICS_PORT, "
                "or 0 for none"
            ) from None


class _ReapingConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer, whose main loop also reaps expired leases and checks the database.

    Reaping runs on the main thread, between Huey's own checks, so this process
    starts no thread of its own before it forks a replacement worker.
    """

    def __init__(
        self, queue: FitQueue, metrics_host: str, metrics_port: int, **options: Any
    ) -> None:
        super().__init__(queue.huey, **options)
        self.queue = queue
        self.metrics_host = metrics_host
        self.metrics_port = metrics_port
        self._interval = reap_interval(queue.lease_seconds)
        self._next_reap = 0.0
        self.fatal: str | None = None

    def _create_process(self, process: Any, name: str) -> Any:
        child = super()._create_process(process, name)
        parent = os.getpid()
        run = child._target

        def run_with_parent() -> None:
            # Ended with this process, however it ends: SIGKILL leaves no orphan.
            die_with_parent(signal.SIGKILL, parent)
            # Huey's children are daemonic, and daemonic processes may not start
            # children; a fit process ends with its requester anyway.
            multiprocessing.current_process().daemon = False
            run()

        child._target = run_with_parent
        return child

    def start(self) -> None:
        super().start()
        if self.metrics_port:
            # After the first fork, so the workers do not inherit the server's thread.
            try:
                start_http_server(self.metrics_port, self.metrics_host, registry=metrics_registry())
            except OSError as exc:  # taken since check_port_free: stop what was started
                self.stop(graceful=False)
                raise WorkerStartError(
                    f"cannot serve worker metrics on {self.metrics_host}:{self.metrics_port} "
                    f"({exc.strerror}): give each worker on this host its own port with "
                    "--metrics-port or RELUMAP_WORKER_METRICS_PORT, or 0 for none"
                ) from None

    def loop(self, health_check_ts: float | None = None) -> float | None:
        health_check_ts = super().loop(health_check_ts)
        now = time.monotonic()
        if now >= self._next_reap:
            self._next_reap = now + self._interval
            try:
                self.queue.store.check_same_database()
            except RuntimeError as exc:
                # Fits taken now would be written where nobody reads them.
                self.fatal = f"{exc}; stopping so that no fit is lost"
                log.error(self.fatal)
                self.stop(graceful=True)
                raise ConsumerStopped from None
            except Exception:
                log.exception("could not check the database")
            try:
                self.queue.reap()
            except Exception:  # the database may be briefly unreachable
                log.exception("could not look for expired leases")
        return health_check_ts


def run_worker(
    config: dict[str, Any],
    workers: int,
    *,
    metrics_port: int,
    shutdown_timeout: float,
    metrics_host: str = "127.0.0.1",
) -> int:
    """Consume the fit queue with ``workers`` processes until SIGTERM or SIGINT.

    Parameters
    ----------
    config : dict
        The service configuration (``relumap_service.config.load_config``).
    workers : int
        Worker processes; each runs one fit at a time.
    metrics_port : int
        Port of the Prometheus endpoint; 0 for none.
    shutdown_timeout : float
        Seconds running fits may take to finish after SIGTERM.
    metrics_host : str, default="127.0.0.1"
        Address of the Prometheus endpoint (``WORKER_METRICS_HOST``).

    Returns
    -------
    int
        The exit status: 0 after a requested stop, 1 if the database went away.

    Raises
    ------
    WorkerStartError
        The metrics port cannot be bound.
    """
    if metrics_port:
        check_port_free(metrics_host, metrics_port)
    store = Store.open(config)
    queue = FitQueue(config, store)

    @queue.huey.on_startup()
    def _start_fit_process() -> None:
        # A forked worker must not share its parent's database sockets.
        store.dispose(close=False)
        start_fit_server()
        keep_fit_processes()
        log.info("fit process ready", extra={"native_threads": native_thread_pools()})

    consumer = _ReapingConsumer(
        queue,
        metrics_host,
        metrics_port,
        workers=workers,
        worker_type="process",
        periodic=False,
        check_worker_health=True,
        health_check_interval=2,
        max_delay=1.0,
        graceful_signal="TERM",
        shutdown_timeout=shutdown_timeout,
    )
    log.info(
        "fit worker starting",
        extra={
            "workers": workers,
            "queue": queue.huey.name,
            "metrics": f"{metrics_host}:{metrics_port}" if metrics_port else None,
            "lease_seconds": queue.lease_seconds,
            "max_attempts": config["FIT_MAX_ATTEMPTS"],
            "fit_timeout": queue.timeout,
        },
    )
    consumer.run()
    return 1 if consumer.fatal else 0
