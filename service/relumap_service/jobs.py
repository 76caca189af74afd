"""The fit queue: Huey storage chosen by URL, the fit task, and the embedded consumer.

A fit never runs inside an HTTP request. The API stores a ``queued`` model and
enqueues its id; a consumer claims it (``queued`` -> ``running``), fits, and
stores the outcome. Python's warning filters are process-global, so a fit must
have its process to itself for its warnings to be captured without touching
anyone else's: Huey's process workers give that; the consumer embedded in the
web process runs its threads' fits in a small process pool instead.

Whoever runs a fit holds a lease on it (see ``relumap_service.leases``): a fit
whose worker dies is re-queued or failed, never left ``running``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from relumap_service.core.fitting import FitError, FitParams, fit_network
from relumap_service.leases import Heartbeat, PeriodicThread, reap_interval
from relumap_service.store import ExpiredLease, ModelRecord, Store
from relumap_service.telemetry import FIT_DURATION, FITS_FINISHED, FITS_STARTED, LEASES_EXPIRED

__all__ = ["FitQueue", "make_huey", "run_fit", "worker_name"]

log = logging.getLogger(__name__)

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def make_huey(queue_url: str, name: str) -> Huey:
    """Create Huey for ``sqlite:///path`` or ``redis://host:port/db`` storage."""
    scheme = urlparse(queue_url).scheme
    if scheme == "sqlite":
        path = Path(queue_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), results=False)
    if scheme in ("redis", "rediss"):
        return RedisHuey(name, url=queue_url, results=False)
    raise ValueError(f"RELUMAP_QUEUE_URL={queue_url!r}: use sqlite:///path or redis://host:port/db")


def run_fit(payload: dict[str, Any]) -> dict[str, Any]:
    """Fit from a JSON-ready payload; the unit of work sent to a fit process."""
    X = np.asarray(payload["X"], dtype=np.float64)
    return fit_network(
        X,
        np.asarray(payload["y"]),
        FitParams.from_dict(payload["params"]),
        payload["task"],
        payload.get("classes"),
    )


def _fit_pool(max_workers: int) -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # forkserver: never fork a process that runs threads (the consumer's).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["relumap_service.jobs"])
            _pool = ProcessPoolExecutor(max_workers=max_workers, mp_context=context)
        return _pool


def _reset_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def fit_payload(store: Store, model: ModelRecord) -> dict[str, Any]:
    """Gather what a fit needs from the store: data, encoded labels and parameters."""
    dataset = store.get_dataset(model.dataset_id or "")
    if dataset is None:
        raise FitError(f"dataset {model.dataset_id} was deleted before the fit started")
    y: list[Any] = dataset.y
    classes = None
    if model.task == "classification":
        classes = dataset.classes or sorted(set(y))
        index = {label: i for i, label in enumerate(classes)}
        y = [index[label] for label in y]
    return {"X": dataset.X, "y": y, "params": model.params, "task": model.task, "classes": classes}


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A Huey consumer that lives in a thread of the web process.

    The web server owns the process's signals, so this consumer sets none.
    """

    def _set_signal_handlers(self) -> None:
        pass


def worker_name() -> str:
    """Return ``host:pid``, which names this process in the store and the logs."""
    return f"{socket.gethostname()}:{os.getpid()}"


class FitQueue:
    """Submit fits to Huey, run them under a lease, and reap fits whose worker died.

    Parameters
    ----------
    config : mapping
        The service configuration (``QUEUE_URL``, ``QUEUE_NAME``, ``FIT_WORKERS``,
        ``FIT_LEASE_SECONDS``, ``FIT_MAX_ATTEMPTS``).
    store : Store
        Where models and datasets live.
    isolate : bool, default=True
        Run each fit in a pool process (needed in the web process, whose
        threads share warning filters); False in Huey's process workers, which
        run one fit at a time and cannot have pool children (they are daemonic).
    """

    def __init__(self, config: dict[str, Any], store: Store, *, isolate: bool = True) -> None:
        self.config = config
        self.store = store
        self.isolate = isolate
        self.lease_seconds = float(config["FIT_LEASE_SECONDS"])
        self.huey = make_huey(config["QUEUE_URL"], config["QUEUE_NAME"])
        self._task = self.huey.task(name="relumap.fit")(self.execute)
        self._consumer: _EmbeddedConsumer | None = None
        self._reaper: PeriodicThread | None = None

    def submit(self, model_id: str) -> None:
        """Enqueue the fit of a stored ``queued`` model."""
        self._task(model_id)

    def ping(self) -> None:
        """Raise if the queue's storage is unreachable."""
        self.huey.pending_count()

    def pending(self) -> int:
        """Return how many fits wait in the queue."""
        return int(self.huey.pending_count())

    def start_embedded_consumer(self) -> None:
        """Start thread workers, and a lease reaper, inside the current process."""
        if self._consumer is None:
            self._consumer = _EmbeddedConsumer(
                self.huey,
                workers=int(self.config["FIT_WORKERS"]),
                worker_type="thread",
                periodic=False,
                check_worker_health=False,
                max_delay=1.0,
            )
            self._consumer.start()
            self._reaper = PeriodicThread(
                "relumap-reaper", reap_interval(self.lease_seconds), self.reap
            )
            self._reaper.start()

    def stop(self) -> None:
        """Stop the embedded consumer and reaper, if any, and let their threads end."""
        if self._reaper is not None:
            self._reaper.stop(timeout=5)
            self._reaper = None
        if self._consumer is not None:
            self._consumer.stop(graceful=False)
            self._consumer = None

    def reap(self) -> list[ExpiredLease]:
        """Re-queue or fail the running fits whose worker stopped renewing the lease."""
        max_attempts = int(self.config["FIT_MAX_ATTEMPTS"])
        expired = self.store.expire_leases(max_attempts, self.lease_seconds)
        for lease in expired:
            LEASES_EXPIRED.labels(lease.action).inc()
            log.warning(
                "fit lease expired: %s",
                lease.action,
                extra={
                    "model_id": lease.model_id,
                    "attempt": lease.attempt,
                    "lost_worker": lease.worker,
                    "action": lease.action,
                },
            )
            if lease.action == "requeued":
                try:
                    self.submit(lease.model_id)
                except Exception as exc:
                    self.store.fail_queued_model(
                        lease.model_id,
                        f"the fit lost its worker and could not be queued again ({exc!r}); "
                        "fit the model again",
                    )
                    log.exception("could not re-queue fit %s", lease.model_id)
        return expired

    def execute(self, model_id: str) -> None:
        """Claim, fit and record one model; the body of the Huey task."""
        attempt = self.store.claim_model(model_id, self.lease_seconds, worker_name())
        if attempt is None:
            log.info("fit not claimed: deleted or taken", extra={"model_id": model_id})
            return
        started = time.monotonic()
        FITS_STARTED.inc()
        log.info("fit started", extra={"model_id": model_id, "attempt": attempt})
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            with Heartbeat(self.store, model_id, attempt, self.lease_seconds):
                model = self.store.get_model(model_id)
                if model is None:  # deleted since the claim: the outcome is discarded
                    raise FitError(f"model {model_id} was deleted")
                result = self._run(fit_payload(self.store, model))
        except FitError as exc:
            error = str(exc)
        except BrokenProcessPool:
            _reset_pool()
            error = "the fit process died (out of memory or killed); try again"
        except KeyboardInterrupt:
            # Huey interrupts a running task when a shutdown's timeout elapses.
            self.store.requeue_model(model_id, attempt)
            self.submit(model_id)
            log.warning("fit interrupted: re-queued", extra={"model_id": model_id})
            raise
        except Exception as exc:  # the model must end failed, whatever broke
            log.exception("fit failed with an internal error", extra={"model_id": model_id})
            error = f"internal error during the fit: {exc!r}"
        recorded = self.store.finish_model(model_id, attempt, result=result, error=error)
        outcome = ("failed" if error is not None else "succeeded") if recorded else "discarded"
        seconds = time.monotonic() - started
        FITS_FINISHED.labels(outcome).inc()
        FIT_DURATION.labels(outcome).observe(seconds)
        log.info(
            "fit %s",
            outcome,
            extra={
                "model_id": model_id,
                "attempt": attempt,
                "outcome": outcome,
                "duration_seconds": round(seconds, 3),
                "error": error,
            },
        )

    def _run(self, payload: dict[str, Any]) -> dict[str, Any]:
        if not self.isolate:
            return run_fit(payload)
        pool = _fit_pool(int(self.config["FIT_WORKERS"]))
        return pool.submit(run_fit, payload).result()
