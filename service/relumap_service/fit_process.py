"""Fits in processes of their own: killed when one runs too long, is cancelled, or with its parent.

A fit is CPU-bound numpy that cannot be interrupted from within, so it runs in
a process of its own that its requester (a thread of the embedded consumer, or
a Huey process worker) can kill: when ``RELUMAP_FIT_TIMEOUT`` passes, when the
model is deleted, or when the attempt loses its lease. The processes come from
a forkserver that has numpy and the fitting code imported, and has fitted once
already (``relumap_service.fit_warmup``), so its fit starts warm; a process that
runs threads is never forked. Starting one still costs 10-15 ms (the fork, then
the new process setting itself up), and its first fit runs a few milliseconds
slower than the next (copy-on-write faults), so a process that finished a fit
waits for the next one, up to ``FITS_PER_PROCESS`` fits; one is started ahead
of the first fit, and again after a process was killed or retired. A fit that
is killed takes its process with it: the next fit never shares a process with
an interrupted one.

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
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from relumap_service.core.fit_error import FitError

__all__ = [
    "FitCancelled",
    "FitTimeout",
    "die_with_parent",
    "keep_fit_processes",
    "release_fit_processes",
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


def _receive_until_requester_ends(connection: Connection, payloads: queue.SimpleQueue[Any]) -> None:
    try:
        while True:
            payloads.put(connection.recv())
    except (EOFError, OSError):  # the requester ended, or stopped keeping this process
        pass
    os._exit(0)


def _outcome(payload: dict[str, Any]) -> tuple[str, Any]:
    try:
        return ("result", run_fit(payload))
    except FitError as exc:
        return ("fit_error", str(exc))
    except MemoryError:
        return ("fit_error", "the fit ran out of memory; use fewer samples or a smaller network")
    except Exception as exc:
        return ("error", repr(exc))


def _fit_process_main(connection: Connection) -> None:
    die_with_parent()
    # A server started by a process that ignores SIGTERM (a Huey process worker)
    # passes that on through exec; multiprocessing ends a spare with SIGTERM at exit.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # A thread receives, so that the process ends the moment its requester does,
    # even in the middle of a fit; this one fits, in turn.
    payloads: queue.SimpleQueue[Any] = queue.SimpleQueue()
    threading.Thread(
        target=_receive_until_requester_ends, args=(connection, payloads), daemon=True
    ).start()
    while True:
        connection.send(_outcome(payloads.get()))


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


# A fit process takes this many fits in turn, then ends and gives back its memory.
FITS_PER_PROCESS = 100


@dataclass
class _FitProcess:
    """A fit process, the requester's end of its pipe, and how many fits it ran."""

    process: Any
    connection: Connection
    fits: int = 0


_pool_lock = threading.Lock()
_idle: list[_FitProcess] = []  # waiting for a fit; the last one is the warmest
_busy = 0  # running a fit
_pool_size = 0  # how many are kept: the fits the consumers of this process run at once


def _start_fit_process() -> _FitProcess:
    """Start a fit process; it waits for payloads on the returned connection."""
    context = _context()
    ours, theirs = context.Pipe(duplex=True)
    process = context.Process(target=_fit_process_main, args=(theirs,), name="relumap-fit")
    process.daemon = True
    process.start()
    theirs.close()
    return _FitProcess(process, ours)


def _end_fit_process(fit: _FitProcess) -> None:
    if fit.process.is_alive():
        fit.process.kill()
    fit.process.join(10)
    fit.connection.close()


def _refill_pool() -> None:
    """Start a fit process ahead of need, unless one waits or the consumers have enough."""
    with _pool_lock:
        if _idle or _busy >= _pool_size:
            return
    started: _FitProcess | None = _start_fit_process()
    with _pool_lock:
        if not _idle and _busy < _pool_size:
            _idle.append(started)  # type: ignore[arg-type]
            started = None
    if started is not None:  # another thread was quicker, or the consumers stopped meanwhile
        _end_fit_process(started)


def _refill_in_background() -> None:
    threading.Thread(target=_refill_pool, name="relumap-spare", daemon=True).start()


def keep_fit_processes(fits_at_once: int = 1) -> None:
    """Keep fit processes waiting for the fits of a consumer that starts.

    Parameters
    ----------
    fits_at_once : int, default=1
        How many fits the consumer runs at once: as many processes, once
        started, wait for the next fits instead of ending.

    One starts now, in the background: the first one waits for the server's
    imports and warm-up fits, which a starting web process must not wait for.
    """
    global _pool_size
    with _pool_lock:
        _pool_size += max(int(fits_at_once), 1)
    _refill_in_background()


def release_fit_processes(fits_at_once: int = 1) -> None:
    """Stop keeping the fit processes of a consumer that stops; the last one ends them all."""
    global _pool_size
    with _pool_lock:
        _pool_size = max(_pool_size - max(int(fits_at_once), 1), 0)
        extra = _idle[_pool_size:]
        del _idle[_pool_size:]
    for fit in extra:
        _end_fit_process(fit)


def _take_fit_process() -> _FitProcess:
    """Return the warmest waiting fit process, or a new one if none waits."""
    global _busy
    with _pool_lock:
        _busy += 1
    while True:
        with _pool_lock:
            fit = _idle.pop() if _idle else None
        if fit is None:
            try:
                return _start_fit_process()
            except BaseException:
                with _pool_lock:
                    _busy -= 1
                raise
        if fit.process.is_alive():
            return fit
        _end_fit_process(fit)


def _give_back(fit: _FitProcess, reusable: bool) -> None:
    """After a fit: keep its process for the next fit, or end it and start another ahead of need.

    A process is kept after a fit that returned (a result or a fit error), up
    to ``FITS_PER_PROCESS`` fits and as many waiting processes as the consumers
    run fits at once; one that was killed, broke or retires is ended, beside
    the caller, who records the outcome meanwhile.
    """
    global _busy
    fit.fits += 1
    with _pool_lock:
        _busy -= 1
        if reusable and fit.fits < FITS_PER_PROCESS and len(_idle) + _busy < _pool_size:
            _idle.append(fit)
            return
    if fit.process.is_alive():
        fit.process.kill()
    threading.Thread(target=_end_fit_process, args=(fit,), name="relumap-reap", daemon=True).start()
    _refill_in_background()


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
    fit = _take_fit_process()
    ours = fit.connection
    returned = False  # the process answered, and may take the next fit
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
                returned = kind in ("result", "fit_error")
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
        _give_back(fit, returned)
