"""``relumap-service worker``: Huey consumers in separate processes, for fits at scale.

Fits are CPU-bound, so each of the ``--workers`` consumers is a process of its
own (Huey's process workers, forked from this one), running one fit at a time
with its warnings captured in-process. The main process forks and watches them
(a dead one is replaced within two seconds), reaps expired leases every third
of ``FIT_LEASE_SECONDS`` and serves the workers' Prometheus metrics. SIGTERM
(what ``docker stop`` sends) stops it gracefully: running fits may finish for
``--shutdown-timeout`` seconds, then they are interrupted and re-queued.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from huey.consumer import Consumer
from prometheus_client import start_http_server

from relumap_service.config import native_thread_pools
from relumap_service.jobs import FitQueue
from relumap_service.leases import reap_interval
from relumap_service.store import Store
from relumap_service.telemetry import metrics_registry

__all__ = ["run_worker"]

log = logging.getLogger(__name__)


class _ReapingConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer, whose main loop also reaps expired leases.

    Reaping runs on the main thread, between Huey's own checks, so this process
    starts no thread of its own before it forks a replacement worker.
    """

    def __init__(self, queue: FitQueue, metrics_port: int, **options: Any) -> None:
        super().__init__(queue.huey, **options)
        self.queue = queue
        self.metrics_port = metrics_port
        self._interval = reap_interval(queue.lease_seconds)
        self._next_reap = 0.0

    def start(self) -> None:
        super().start()
        if self.metrics_port:
            # After the first fork, so the workers do not inherit the server's thread.
            start_http_server(self.metrics_port, registry=metrics_registry())

    def loop(self, health_check_ts: float | None = None) -> float | None:
        health_check_ts = super().loop(health_check_ts)
        now = time.monotonic()
        if now >= self._next_reap:
            self._next_reap = now + self._interval
            try:
                self.queue.reap()
            except Exception:  # the database may be briefly unreachable
                log.exception("could not look for expired leases")
        return health_check_ts


def run_worker(
    config: dict[str, Any], workers: int, *, metrics_port: int, shutdown_timeout: float
) -> None:
    """Consume the fit queue with ``workers`` processes until SIGTERM or SIGINT.

    Parameters
    ----------
    config : dict
        The service configuration (``relumap_service.config.load_config``).
    workers : int
        Worker processes; each runs one fit at a time.
    metrics_port : int
        Port of the Prometheus endpoint on all interfaces; 0 for none.
    shutdown_timeout : float
        Seconds running fits may take to finish after SIGTERM.
    """
    store = Store.open(config)
    queue = FitQueue(config, store, isolate=False)

    @queue.huey.on_startup()
    def _start_fit_process() -> None:
        # A forked worker must not share its parent's database sockets.
        store.dispose(close=False)
        log.info("fit process ready", extra={"native_threads": native_thread_pools()})

    consumer = _ReapingConsumer(
        queue,
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
            "queue": config["QUEUE_NAME"],
            "metrics_port": metrics_port,
            "lease_seconds": queue.lease_seconds,
            "max_attempts": config["FIT_MAX_ATTEMPTS"],
        },
    )
    consumer.run()
