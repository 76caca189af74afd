"""Leases on running fits: a heartbeat while a fit runs, a reaper for fits whose worker died.

A worker claims a fit for ``FIT_LEASE_SECONDS`` and a :class:`Heartbeat` thread
renews the lease every third of that while the fit runs in its fit process
(``relumap_service.fit_process``), from the consumer that started it: a thread
of the web server or a Huey process worker. A worker that is killed, or whose machine is gone,
stops renewing; a reaper, run periodically by every consumer, finds the lease
passed and re-queues the fit or, after ``FIT_MAX_ATTEMPTS`` attempts, fails it
with an error naming the lease. A fit therefore never stays ``running`` for
longer than the lease plus one reaper period after its worker died.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from relumap_service.store import Store

__all__ = ["Heartbeat", "PeriodicThread", "reap_interval"]

log = logging.getLogger(__name__)


def reap_interval(lease_seconds: float) -> float:
    """Return how often to look for expired leases: a third of the lease, at most 10 s."""
    return min(max(lease_seconds / 3, 0.05), 10.0)


class PeriodicThread(threading.Thread):
    """Call ``function`` every ``interval`` seconds on a daemon thread until stopped.

    The first call happens at once. Exceptions are logged and the calls go on:
    a database that is briefly unreachable must not end the heartbeat or reaper.
    """

    def __init__(self, name: str, interval: float, function: Callable[[], Any]) -> None:
        super().__init__(name=name, daemon=True)
        self.interval = interval
        self.function = function
        self._stopped = threading.Event()

    def run(self) -> None:
        """Call the function until stopped, or until it returns False."""
        while not self._stopped.is_set():
            try:
                if self.function() is False:
                    return
            except Exception:
                log.exception("%s failed; trying again in %.1f s", self.name, self.interval)
            self._stopped.wait(self.interval)

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to end, and wait up to ``timeout`` seconds for it."""
        self._stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)


class Heartbeat:
    """Renew the lease of one fit attempt while the ``with`` block runs.

    Parameters
    ----------
    store : Store
        Where the lease is kept.
    model_id : str
        The model being fitted.
    attempt : int
        The attempt number of the ``Store.claim_model`` claim (the fencing token).
    lease_seconds : float
        The lease; it is renewed every third of it.

    Attributes
    ----------
    lost : bool
        True once a renewal found the lease taken away (the reaper re-queued or
        failed the fit, or the model was deleted): the result will be discarded.
    """

    def __init__(self, store: Store, model_id: str, attempt: int, lease_seconds: float) -> None:
        self.store = store
        self.model_id = model_id
        self.attempt = attempt
        self.lease_seconds = lease_seconds
        self.lost = False
        self._thread = PeriodicThread(f"heartbeat-{model_id}", lease_seconds / 3, self._renew)
        self._first = True

    def _renew(self) -> bool:
        if self._first:  # the claim itself just set the lease
            self._first = False
            return True
        if self.store.renew_lease(self.model_id, self.lease_seconds, self.attempt):
            return True
        self.lost = True
        log.warning(
            "fit lost its lease",
            extra={"model_id": self.model_id, "attempt": self.attempt},
        )
        return False

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._thread.stop(timeout=self.lease_seconds)
