"""One process per fit: killed when it runs too long, when its fit is cancelled, or with its parent.

A fit is CPU-bound numpy that cannot be interrupted from within, so it runs in
a process of its own that its requester (a thread of the embedded consumer, or
a Huey process worker) can kill: when ``RELUMAP_FIT_TIMEOUT`` passes, when the
model is deleted, or when the attempt loses its lease. The processes come from
a forkserver that has numpy and the fitting code imported, and has fitted once
already (``relumap_service.fit_warmup``), so its fit starts warm; a process that
runs threads is never forked. Starting one still costs 10-15 ms (the fork, then
the new process setting itself up), so one is started ahead of need and waits
for its payload: a fit takes that spare, and a new spare is started beside it.

No fit process outlives its requester: each asks Linux for ``SIGKILL`` when its
parent (the forkserver) ends (``PR_SET_PDEATHSIG``), and a thread of it exits
the moment the requester's end of their pipe closes, which the kernel does when
the requester dies, however it dies.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from relumap_service.core.fit_error import FitError

__all__ = [
    "FitCancelled",
    "FitTimeout",
    "die_with_parent",
    "discard_spare_fit_process",
    "prepare_spare_fit_process",
    "run_fit",
    "run_in_fit_process",
    "start_fit_server",
]

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class FitCancelled(Exception):
    """The fit was cancelled (model deleted, lease lost) and its process killed."""


class FitTimeout(FitError):
    """The fit ran longer than ``RELUMAP_FIT_TIMEOUT`` and its process was killed."""


def die_with_parent(sig: int = signal.SIGKILL, parent: int | None = None) -> None:
    """Have Linux send ``sig`` to this process when its parent ends.

    Parameters
    ----------
    sig : int, default=SIGKILL
        The signal (``PR_SET_PDEATHSIG``); the setting is not inherited by forks.
    parent : int, optional
        The pid the parent should have; if it already died (the process was
        re-parented before the call), exit at once.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    except (OSError, AttributeError):  # not Linux: the pipe watch still ends fit processes
        pass
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def run_fit(payload: dict[str, Any]) -> dict[str, Any]:
    """Fit from a JSON-ready payload (data, encoded labels, parameters, task, classes)."""
    # Imported here: only fit processes, forked from a server that preloads it, fit.
    from relumap_service.core.fitting import FitParams, fit_network

    X = np.asarray(payload["X"], dtype=np.float64)
    return fit_network(
        X,
        np.asarray(payload["y"]),
        FitParams.from_dict(payload["params"]),
        payload["task"],
        payload.get("classes"),
    )


def _exit_when_requester_ends(connection: Connection) -> None:
    try:
        connection.recv()  # the requester sends nothing more: this returns on EOF only
    except (EOFError, OSError):
        pass
    os._exit(1)


def _fit_process_main(connection: Connection) -> None:
    die_with_parent()
    # A server started by a process that ignores SIGTERM (a Huey process worker)
    # passes that on through exec; multiprocessing ends a spare with SIGTERM at exit.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        payload = connection.recv()
    except (EOFError, OSError):  # a spare whose requester ended or discarded it
        os._exit(0)
    threading.Thread(target=_exit_when_requester_ends, args=(connection,), daemon=True).start()
    try:
        outcome: tuple[str, Any] = ("result", run_fit(payload))
    except FitError as exc:
        outcome = ("fit_error", str(exc))
    except MemoryError:
        outcome = ("fit_error", "the fit ran out of memory; use fewer samples or a smaller network")
    except Exception as exc:
        outcome = ("error", repr(exc))
    connection.send(outcome)


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    # "__main__" once in the server, or each fit process would run the main
    # script again (the gunicorn or worker entry point, with its imports);
    # fit_warmup makes the server fit once, so that its forks start warm. The
    # same server starts the workers of big region maps
    # (relumap_service.core.parallel_regions): imported once, there.
    context.set_forkserver_preload(
        [
            "__main__",
            "relumap_service.fit_process",
            "relumap_service.core.fitting",
            "relumap_service.fit_warmup",
            "relumap_service.core.parallel_regions",
        ]
    )
    return context


def start_fit_server() -> None:
    """Start the forkserver now, so the first fit does not wait for its imports."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


_spare_lock = threading.Lock()
_spare: tuple[Any, Connection] | None = None
_spare_keepers = 0  # consumers of this process that keep a spare


def _start_fit_process() -> tuple[Any, Connection]:
    """Start a fit process; it waits for its payload on the returned connection."""
    context = _context()
    ours, theirs = context.Pipe(duplex=True)
    process = context.Process(target=_fit_process_main, args=(theirs,), name="relumap-fit")
    process.daemon = True
    process.start()
    theirs.close()
    return process, ours


def _end_fit_process(process: Any, connection: Connection) -> None:
    if process.is_alive():
        process.kill()
    process.join(10)
    connection.close()


def _refill_spare() -> None:
    """Start a spare fit process, unless one waits or no consumer keeps one."""
    global _spare
    with _spare_lock:
        if _spare is not None or not _spare_keepers:
            return
    started: tuple[Any, Connection] | None = _start_fit_process()
    with _spare_lock:
        if _spare is None and _spare_keepers:
            _spare, started = started, None
    if started is not None:  # another thread was quicker, or the consumers stopped meanwhile
        _end_fit_process(*started)


def prepare_spare_fit_process() -> None:
    """Keep a fit process started ahead of the next fit (a consumer that starts).

    It starts in the background: the first one waits for the server's imports
    and warm-up fits, which a starting web process must not wait for.
    """
    global _spare_keepers
    with _spare_lock:
        _spare_keepers += 1
    _refill_in_background()


def _refill_in_background() -> None:
    threading.Thread(target=_refill_spare, name="relumap-spare", daemon=True).start()


def discard_spare_fit_process() -> None:
    """Stop keeping a spare fit process (a consumer that stops); the last one ends it."""
    global _spare, _spare_keepers
    spare = None
    with _spare_lock:
        _spare_keepers = max(_spare_keepers - 1, 0)
        if not _spare_keepers:
            spare, _spare = _spare, None
    if spare is not None:
        _end_fit_process(*spare)


def _take_fit_process() -> tuple[Any, Connection]:
    """Return the waiting fit process, or a new one; a new spare starts in the background."""
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is None or not spare[0].is_alive():
        if spare is not None:
            _end_fit_process(*spare)
        spare = _start_fit_process()
    _refill_in_background()
    return spare


def run_in_fit_process(
    payload: dict[str, Any],
    *,
    timeout: float,
    cancelled: Callable[[], bool],
    poll_seconds: float = 0.5,
) -> dict[str, Any]:
    """Run one fit in a process of its own and return its result.

    Parameters
    ----------
    payload : dict
        What :func:`run_fit` takes.
    timeout : float
        Seconds the fit may run; then its process is killed (``RELUMAP_FIT_TIMEOUT``).
    cancelled : callable
        Called every ``poll_seconds``; when it returns True the process is killed.
    poll_seconds : float, default=0.5
        How often to ask ``cancelled``.

    Returns
    -------
    dict
        The fit's result, as :func:`relumap_service.core.fitting.fit_network` returns it.

    Raises
    ------
    FitError
        The fit failed, timed out (:class:`FitTimeout`) or its process died.
    FitCancelled
        ``cancelled`` returned True.
    """
    process, ours = _take_fit_process()
    started = time.monotonic()
    try:
        try:
            ours.send(payload)
        except OSError:
            raise FitError("the fit process died before it started; try again") from None
        next_check = started + poll_seconds
        while True:
            now = time.monotonic()
            wait = max(min(next_check, started + timeout) - now, 0.0)
            if ours.poll(wait):
                try:
                    kind, value = ours.recv()
                except (EOFError, OSError):
                    raise FitError(
                        "the fit process died (out of memory or killed); try again"
                    ) from None
                if kind == "result":
                    result: dict[str, Any] = value
                    return result
                if kind == "fit_error":
                    raise FitError(value)
                raise RuntimeError(value)
            now = time.monotonic()
            if now - started >= timeout:
                raise FitTimeout(
                    f"the fit ran longer than {timeout:g} s (RELUMAP_FIT_TIMEOUT) and was "
                    "stopped; fit fewer samples, fewer iterations (max_iter), fewer "
                    "restarts or a smaller network"
                )
            if now >= next_check:
                next_check = now + poll_seconds
                if cancelled():
                    raise FitCancelled
    finally:
        # Killed at once; reaped beside the caller, who records the outcome meanwhile.
        if process.is_alive():
            process.kill()
        threading.Thread(
            target=_end_fit_process, args=(process, ours), name="relumap-reap", daemon=True
        ).start()
