"""Prometheus metrics of the web and worker processes (no web framework needed here).

Under gunicorn several
processes count requests, so ``PROMETHEUS_MULTIPROC_DIR`` is set (by
``relumap_service.gunicorn_conf``) before any process imports
``prometheus_client`` and the endpoint adds up all processes' files. The
numbers of models in each status and of fits waiting in the queue are read from
the database and the queue at scrape time: they hold for the whole deployment,
whichever process scrapes. Fit counters and durations are counted where fits
run: in the API process with the embedded consumer, else on each
``relumap-service worker``'s own endpoint (``RELUMAP_WORKER_METRICS_PORT``).
``prometheus_client`` reads ``PROMETHEUS_MULTIPROC_DIR`` when it is first
imported, so entry points set it before importing this module.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from relumap_service.jobs import FitQueue
    from relumap_service.store import Store

__all__ = [
    "CONTENT_TYPE_LATEST",
    "FITS_FINISHED",
    "FITS_STARTED",
    "FIT_DURATION",
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "LEASES_EXPIRED",
    "deployment_registry",
    "exposition",
    "metrics_registry",
]

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "relumap_http_requests",
    "HTTP requests answered, by method, route and status",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "relumap_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
FITS_STARTED = Counter("relumap_fits_started", "Fit attempts started by this consumer")
FITS_FINISHED = Counter(
    "relumap_fits_finished",
    "Fit attempts ended, by outcome: succeeded, failed, or discarded "
    "(the lease was lost or the model deleted meanwhile)",
    ["outcome"],
)
FIT_DURATION = Histogram(
    "relumap_fit_duration_seconds",
    "Wall time of a fit attempt, by outcome",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
LEASES_EXPIRED = Counter(
    "relumap_fit_leases_expired",
    "Running fits whose worker stopped renewing the lease, by what was done: requeued or failed",
    ["action"],
)


class _DeploymentCollector(Collector):
    """Models by status and fits waiting, read from the store and the queue at scrape time."""

    def __init__(self, store: Store, queue: FitQueue) -> None:
        self.store = store
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        try:
            counts = self.store.count_models_by_status()
            pending = self.queue.pending()
        except Exception:  # a scrape must not fail because a dependency is down
            log.warning("metrics: the database or the queue is unreachable", exc_info=True)
            return
        models = GaugeMetricFamily(
            "relumap_models", "Models in the store, by status", labels=["status"]
        )
        for status, count in counts.items():
            models.add_metric([status], count)
        yield models
        yield GaugeMetricFamily(
            "relumap_queue_pending", "Fits waiting in the queue for a consumer", value=pending
        )


def metrics_registry() -> CollectorRegistry:
    """Return the registry of this process, or of all processes in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def deployment_registry(store: Store, queue: FitQueue) -> CollectorRegistry:
    """Return a registry of the gauges read from ``store`` and ``queue`` at scrape time."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_DeploymentCollector(store, queue))
    return registry


def exposition(*extra: CollectorRegistry) -> bytes:
    """Return this process's (or all processes') metrics and ``extra``'s, in text format."""
    return b"".join(generate_latest(r) for r in (metrics_registry(), *extra))
