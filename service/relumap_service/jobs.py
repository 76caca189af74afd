"""The fit queue: Huey storage chosen by URL, the fit task, and the embedded consumer.

A fit never runs inside an HTTP request. The API stores a ``queued`` model and
enqueues its id; a consumer claims it (``queued`` -> ``running``), runs the fit
in a process of its own (``relumap_service.fit_process``), and stores the
outcome. That process is killed when the fit passes ``FIT_TIMEOUT``, when the
model is deleted (``DELETE`` cancels a running fit) or when the attempt lost its
lease, so the consumer is free again at once.

Whoever runs a fit holds a lease on it (see ``relumap_service.leases``): a fit
whose worker dies is re-queued or failed, never left ``running``. A fit whose
queue message was lost (a Redis restart) is found by the sweep and queued again.

Messages are JSON (``relumap_service.queue_json``), and the queue's name carries
the identity of the database (``Store.deployment_id``): a worker of another
deployment sharing the same Redis never sees, let alone takes, this one's fits.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from huey import Huey, RedisHuey
from huey.consumer import Consumer, Worker
from huey.storage import SqliteStorage

from relumap_service.core.fit_error import FitError
from relumap_service.fit_events import Channel, FitEvents, LocalChannel, RedisChannel
from relumap_service.fit_process import (
    FitCancelled,
    keep_fit_processes,
    release_fit_processes,
    run_in_fit_process,
    start_fit_server,
)
from relumap_service.leases import Heartbeat, PeriodicThread, reap_interval
from relumap_service.queue_json import JSONSerializer
from relumap_service.store import DatasetRecord, ExpiredLease, ModelRecord, Store
from relumap_service.telemetry import FIT_DURATION, FITS_FINISHED, FITS_STARTED, LEASES_EXPIRED

__all__ = ["FitQueue", "make_huey", "queue_name", "worker_name"]

log = logging.getLogger(__name__)

# How often a running fit checks that it is still wanted (not deleted, lease held).
CANCEL_POLL_SECONDS = 0.5


class _QueueFileStorage(SqliteStorage):  # type: ignore[misc]
    """Huey's SQLite storage, committing without waiting for the disk (``synchronous=NORMAL``).

    With its write-ahead log, a commit survives any crash of a process, and an
    operating system crash or power loss can only undo the last commits. The
    queue's messages are a copy: the store holds every queued model, and the
    sweep (:meth:`FitQueue.sweep`) queues again a fit left with no message, and
    a message delivered twice finds its model claimed. Not waiting for the disk
    saves about 1 ms at each submit and each take of a fit.
    """

    def _create_connection(self) -> Any:
        connection = super()._create_connection()
        connection.execute("pragma synchronous=NORMAL")
        return connection


def make_huey(queue_url: str, name: str) -> Huey:
    """Create Huey, with JSON messages, for ``sqlite:///path`` or ``redis://host:port/db``."""
    scheme = urlparse(queue_url).scheme
    if scheme == "sqlite":
        path = Path(queue_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return Huey(
            name,
            storage_class=_QueueFileStorage,
            filename=str(path),
            results=False,
            serializer=JSONSerializer(),
        )
    if scheme in ("redis", "rediss"):
        # Blocking: an idle consumer waits in BRPOP, and takes a new fit the moment it comes.
        return RedisHuey(
            name, url=queue_url, results=False, serializer=JSONSerializer(), blocking=True
        )
    raise ValueError(f"RELUMAP_QUEUE_URL={queue_url!r}: use sqlite:///path or redis://host:port/db")


def queue_name(config: dict[str, Any], store: Store) -> str:
    """Return the queue's name: ``QUEUE_NAME`` and the identity of the database."""
    return f"{config['QUEUE_NAME']}.{store.deployment_id()[:12]}"


def fit_payload(model: ModelRecord, dataset: DatasetRecord | None) -> dict[str, Any]:
    """Gather what a fit needs: data, encoded labels and parameters."""
    if dataset is None:
        raise FitError(f"dataset {model.dataset_id} was deleted before the fit started")
    y: list[Any] = dataset.y
    classes = None
    if model.task == "classification":
        classes = dataset.classes or sorted(set(y))
        index = {label: i for i, label in enumerate(classes)}
        y = [index[label] for label in y]
    return {"X": dataset.X, "y": y, "params": model.params, "task": model.task, "classes": classes}


def event_channel(huey: Huey, queue_url: str) -> Channel:
    """Return how fit events reach the other processes that share this queue."""
    if urlparse(queue_url).scheme == "sqlite":
        path = Path(queue_url.removeprefix("sqlite:///"))
        return LocalChannel(path.with_name(f"{path.name}.{huey.name}.listeners"))
    return RedisChannel(huey.storage.conn, f"{huey.name}.events")


class _WakeableWorker(Worker):  # type: ignore[misc]
    """A Huey worker thread that sleeps until a fit is queued, not for a polling delay.

    ``wakeup`` is set by :meth:`FitQueue.submit` (and by the events of other
    processes). It is cleared before each look at the queue, so a fit queued
    after the look wakes the sleep that follows it. The polling delay stays
    as a bound, for a fit whose event was lost.
    """

    def __init__(self, *args: Any, wakeup: threading.Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wakeup = wakeup

    def loop(self, now: Any = None) -> None:
        self.wakeup.clear()
        super().loop(now)

    def sleep(self) -> None:
        self.delay = min(self.delay, self.max_delay)
        self.wakeup.wait(self.delay)
        self.delay *= self.backoff


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A Huey consumer that lives in a thread of the web process.

    The web server owns the process's signals, so this consumer sets none.
    Its idle threads are woken by ``wakeup`` when a fit is queued.
    """

    def __init__(self, huey: Huey, wakeup: threading.Event, **options: Any) -> None:
        self.wakeup = wakeup
        super().__init__(huey, **options)

    def _create_worker(self) -> Worker:
        return _WakeableWorker(
            huey=self.huey,
            stop_flag=self.stop_flag,
            default_delay=self.default_delay,
            max_delay=self.max_delay,
            backoff=self.backoff,
            max_tasks=self.max_tasks,
            wakeup=self.wakeup,
        )

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
        ``FIT_LEASE_SECONDS``, ``FIT_MAX_ATTEMPTS``, ``FIT_TIMEOUT``).
    store : Store
        Where models and datasets live; its identity names the queue.
    """

    def __init__(self, config: dict[str, Any], store: Store) -> None:
        self.config = config
        self.store = store
        self.lease_seconds = float(config["FIT_LEASE_SECONDS"])
        self.timeout = float(config["FIT_TIMEOUT"])
        self.huey = make_huey(config["QUEUE_URL"], queue_name(config, store))
        self._task = self.huey.task(name="relumap.fit")(self.execute)
        self.events = FitEvents(event_channel(self.huey, config["QUEUE_URL"]))
        self._consumer: _EmbeddedConsumer | None = None
        self._reaper: PeriodicThread | None = None
        self._next_sweep = 0.0
        # Set by stop(): running fits are killed and queued again, not left to a lease.
        self._stopping = threading.Event()
        self._fitting: set[threading.Thread] = set()

    def submit(self, model_id: str) -> None:
        """Enqueue the fit of a stored ``queued`` model, and wake an idle consumer."""
        self._task(model_id)
        self.events.queued(model_id)

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
                self.events.work_queued,
                workers=int(self.config["FIT_WORKERS"]),
                worker_type="thread",
                periodic=False,
                check_worker_health=False,
                max_delay=1.0,
            )
            self._consumer.start()
            start_fit_server()
            keep_fit_processes(int(self.config["FIT_WORKERS"]))
            self.events.listen()  # fits queued by other processes wake this consumer too
            self._reaper = PeriodicThread(
                "relumap-reaper", reap_interval(self.lease_seconds), self.reap
            )
            self._reaper.start()

    def stop(self) -> None:
        """Stop the embedded consumer and reaper, if any, and let their threads end.

        Running fits are stopped and queued again at once, for another consumer.
        """
        self._stopping.set()
        self.events.stop()  # also wakes idle consumer threads, which then see the stop
        if self._reaper is not None:
            self._reaper.stop(timeout=5)
            self._reaper = None
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            consumer.stop(graceful=False)
            deadline = time.monotonic() + 5
            for thread in list(self._fitting):  # idle threads end by themselves
                thread.join(max(deadline - time.monotonic(), 0))
            release_fit_processes(int(self.config["FIT_WORKERS"]))

    def reap(self) -> list[ExpiredLease]:
        """Re-queue or fail the running fits whose worker stopped renewing the lease.

        Once per lease it also sweeps: queued fits with no message are queued again.
        """
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
                self._submit_again(lease.model_id, "the fit lost its worker")
            else:
                self.events.settled(lease.model_id)
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.lease_seconds
            self.sweep()
        return expired

    def sweep(self) -> list[str]:
        """Queue again the fits ``queued`` for over a lease with no message in the queue.

        A message lost by the queue's storage (a Redis restart without persistence)
        would leave its model queued for ever. Submitting twice is harmless: only
        one consumer can claim a queued model.

        Returns
        -------
        list of str
            The models queued again.
        """
        stale = self.store.stale_queued_models(self.lease_seconds)
        if not stale:
            return []
        waiting = {str(task.args[0]) for task in self.huey.pending() if task.args}
        lost = [model_id for model_id in stale if model_id not in waiting]
        for model_id in lost:
            log.warning(
                "queued fit had no queue message: queued again", extra={"model_id": model_id}
            )
            self._submit_again(model_id, "the fit's queue message was lost")
        return lost

    def _submit_again(self, model_id: str, why: str) -> None:
        try:
            self.submit(model_id)
        except Exception as exc:
            self.store.fail_queued_model(
                model_id, f"{why} and could not be queued again ({exc!r}); fit the model again"
            )
            log.exception("could not re-queue fit %s", model_id)
            self.events.settled(model_id)

    def execute(self, model_id: str) -> None:
        """Claim, fit and record one model; the body of the Huey task."""
        self._fitting.add(threading.current_thread())
        try:
            self._execute(model_id)
        finally:
            self._fitting.discard(threading.current_thread())

    def _execute(self, model_id: str) -> None:
        claim = self.store.claim_model(model_id, self.lease_seconds, worker_name())
        if claim is None:
            log.info("fit not claimed: deleted or taken", extra={"model_id": model_id})
            return
        attempt = claim.attempt
        started = time.monotonic()
        FITS_STARTED.inc()
        log.info("fit started", extra={"model_id": model_id, "attempt": attempt})
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            with Heartbeat(self.store, model_id, attempt, self.lease_seconds) as heartbeat:

                def cancelled() -> bool:
                    if heartbeat.lost or self._stopping.is_set():
                        return True
                    try:
                        return not self.store.holds_attempt(model_id, attempt)
                    except Exception:  # a database blip must not kill the fit; the lease decides
                        log.warning("could not check the fit", extra={"model_id": model_id})
                        return False

                result = self._run(fit_payload(claim.model, claim.dataset), cancelled)
        except FitCancelled:
            if self._stopping.is_set() and self.store.requeue_model(model_id, attempt):
                self.submit(model_id)
                log.warning("fit stopped by shutdown: re-queued", extra={"model_id": model_id})
                return
            error = "cancelled"  # nothing is recorded: the attempt no longer holds the model
        except FitError as exc:
            error = str(exc)
        except KeyboardInterrupt:
            # Huey interrupts a running task when a shutdown's timeout elapses.
            self.store.requeue_model(model_id, attempt)
            self.submit(model_id)
            log.warning("fit interrupted: re-queued", extra={"model_id": model_id})
            raise
        except Exception as exc:  # the model must end failed, whatever broke
            log.exception("fit failed with an internal error", extra={"model_id": model_id})
            error = f"internal error during the fit: {exc!r}"
        # Snapshots (weights as bytes) go to a table of their own, not the JSON result.
        snapshots = result.pop("snapshots", None) if result is not None else None
        recorded = self.store.finish_model(
            model_id, attempt, result=result, error=error, snapshots=snapshots
        )
        self.events.settled(model_id)  # wakes the request waiting for it, if any
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

    def _run(self, payload: dict[str, Any], cancelled: Any) -> dict[str, Any]:
        return run_in_fit_process(
            payload, timeout=self.timeout, cancelled=cancelled, poll_seconds=CANCEL_POLL_SECONDS
        )
