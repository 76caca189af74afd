"""Heavy work in a request: its deadline, its turn, and the answers when either runs out.

Exact geometry, plots and large predictions cost CPU and memory in proportion
to what is asked, and a gunicorn ``gthread`` process serves every request,
health checks too, from a few threads. Three bounds keep one request, or a
burst of them, from taking the service down:

- **Work limits** (``max_pieces``, ``max_regions``...), decided before or
  while the engine works: it raises
  :class:`~relumap_service.core.limits.WorkLimitExceeded`, answered here with
  a 422 problem that names the limit.
- **A deadline per request** (``RELUMAP_REQUEST_TIMEOUT`` seconds from the
  request's start), checked by the engine between steps and by chunked
  predictions between chunks: :class:`~relumap_service.core.limits.DeadlineExceeded`
  is answered with a 503 and ``Retry-After``.
- **Turns**: at most ``RELUMAP_MAX_CONCURRENT_GEOMETRY`` heavy computations run
  at once in a process, and at most half its threads (``WEB_THREADS // 2``, at
  least 1) hold heavy requests, running or waiting, so the others are left for
  ``/livez``, ``/readyz`` and light requests. One free thread was not enough:
  light requests that take 0.1-0.3 s under load (queueing a fit writes to the
  database and the queue) queued before a health check for a second. A heavy
  request waits for its turn at most
  ``RELUMAP_GEOMETRY_WAIT_SECONDS`` (and never past its deadline); one that
  cannot get in gets a 503 "busy" with ``Retry-After``. Waiting costs a
  thread, not CPU; running more at once would not finish sooner on a process
  whose Python code holds one interpreter lock.

These exceptions, and :class:`Busy`, are mapped to HTTP here and only here
(:func:`init_heavy_work`).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, NoReturn, TypeVar

from flask import Flask, Response, current_app, g

from relumap_service.api.errors import problem
from relumap_service.core.limits import DeadlineExceeded, WorkBudget, WorkLimitExceeded

__all__ = [
    "RETRY_AFTER_SECONDS",
    "Busy",
    "HeavyWorkTurns",
    "heavy_turn",
    "heavy_view",
    "init_heavy_work",
    "request_budget",
    "work_budget",
    "work_limit",
]

# What a 503 (busy, or past the deadline) asks a client to wait before retrying.
RETRY_AFTER_SECONDS = 5
_EXTENSION = "relumap_heavy_work"

View = TypeVar("View", bound=Callable[..., Any])


class HeavyWorkTurns:
    """Admission of heavy computations in one process.

    Parameters
    ----------
    running : int
        Computations at once.
    admitted : int
        Requests that may run or wait at once (at least ``running``).
    wait_seconds : float
        Longest wait for a turn.
    """

    def __init__(self, running: int, admitted: int, wait_seconds: float) -> None:
        self.running = running
        self.admitted = max(admitted, running)
        self.wait_seconds = wait_seconds
        self._turns = threading.BoundedSemaphore(running)
        self._lock = threading.Lock()
        self._inside = 0

    @contextmanager
    def turn(self, budget: WorkBudget) -> Iterator[None]:
        """Run the block in a turn; answer 503 when none comes in time.

        Raises
        ------
        DeadlineExceeded
            When the request's deadline passes while it waits.
        Busy
            When the process is busy (answered 503 with ``Retry-After``).
        """
        with self._lock:
            admitted = self._inside < self.admitted
            if admitted:
                self._inside += 1
        if not admitted:
            _busy(
                f"{self.admitted} heavy request(s) run or wait in this process, as many as "
                "its threads allow (WEB_THREADS // 2)",
                self.running,
            )
        try:
            left = _seconds_left(budget)
            if not self._turns.acquire(timeout=max(0.0, min(self.wait_seconds, left))):
                if left < self.wait_seconds:
                    raise DeadlineExceeded(budget.seconds or 0.0)
                _busy(f"no turn came within {self.wait_seconds:g} s", self.running)
            try:
                yield
            finally:
                self._turns.release()
        finally:
            with self._lock:
                self._inside -= 1


def _seconds_left(budget: WorkBudget) -> float:
    return float("inf") if budget.deadline is None else budget.deadline - time.monotonic()


class Busy(Exception):
    """No turn at heavy work for this request; answered 503 with ``Retry-After``."""


def _busy(why: str, running: int) -> NoReturn:
    raise Busy(
        f"the service is busy: {why}; {running} heavy computation(s) run at once "
        f"per process (RELUMAP_MAX_CONCURRENT_GEOMETRY); try again in "
        f"{RETRY_AFTER_SECONDS} s"
    )


def request_budget() -> WorkBudget:
    """Return the current request's deadline (``RELUMAP_REQUEST_TIMEOUT`` from its start)."""
    budget = g.get("relumap_budget")
    if budget is None:
        seconds = float(current_app.config["RELUMAP"]["REQUEST_TIMEOUT"])
        budget = g.relumap_budget = WorkBudget(seconds)
    return budget


@contextmanager
def heavy_turn() -> Iterator[WorkBudget]:
    """Wait for this process's turn at heavy work; yield the request's deadline.

    Examples
    --------
    ::

        with heavy_turn() as budget:
            knots = knots_1d(network, lo, hi, max_pieces=limit, budget=budget)
    """
    budget = request_budget()
    turns: HeavyWorkTurns = current_app.extensions[_EXTENSION]
    with turns.turn(budget):
        yield budget


def work_limit(args: dict[str, Any], name: str) -> int:
    """Return the query's ``name`` (``max_pieces``...), at most the setting ``RELUMAP_<NAME>``."""
    setting = int(current_app.config["RELUMAP"][name.upper()])
    return min(int(args.get(name, setting)), setting)


def heavy_view(view: View) -> View:
    """Mark a view as heavy work (decorate it innermost).

    The view takes its turn by calling :func:`work_budget` just before the
    heavy part, so a missing model or a bad query is answered without waiting;
    the turn lasts until the view returns.
    """

    @functools.wraps(view)
    def in_turn(*args: Any, **kwargs: Any) -> Any:
        with ExitStack() as turn:
            g.relumap_heavy_view = turn
            try:
                return view(*args, **kwargs)
            finally:
                g.pop("relumap_heavy_view", None)

    return in_turn  # type: ignore[return-value]


def work_budget() -> WorkBudget:
    """Take the turn of a :func:`heavy_view` (once); return the request's deadline.

    Examples
    --------
    ::

        knots = knots_1d(network, lo, hi, max_pieces=limit, budget=work_budget())
    """
    budget = request_budget()
    view: ExitStack | None = g.get("relumap_heavy_view")
    if view is not None and not g.get("relumap_in_turn"):
        turns: HeavyWorkTurns = current_app.extensions[_EXTENSION]
        view.enter_context(turns.turn(budget))
        view.callback(g.pop, "relumap_in_turn", None)
        g.relumap_in_turn = True
    return budget


def _start_deadline() -> None:
    request_budget()


def _work_limit_exceeded(error: WorkLimitExceeded) -> Response:
    detail = str(error)
    return problem(
        422,
        detail,
        errors={error.name: [detail]},
        limit=error.name,
        maximum=error.limit,
        needed_at_least=error.count,
    )


def _busy_answer(error: Busy) -> Response:
    response = problem(503, str(error), limit="max_concurrent_geometry")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _deadline_exceeded(error: DeadlineExceeded) -> Response:
    seconds = current_app.config["RELUMAP"]["REQUEST_TIMEOUT"]
    response = problem(
        503,
        f"{error} (RELUMAP_REQUEST_TIMEOUT={seconds:g} s): ask for less, "
        "or try again when the service is less busy",
        limit="request_timeout",
        maximum=seconds,
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_heavy_work(app: Flask) -> None:
    """Give `app` its turns, a deadline per request and the 422/503 answers."""
    config: dict[str, Any] = app.config["RELUMAP"]
    admitted = max(1, int(config["WEB_THREADS"]) // 2)
    app.extensions[_EXTENSION] = HeavyWorkTurns(
        running=min(int(config["MAX_CONCURRENT_GEOMETRY"]), admitted),
        admitted=admitted,
        wait_seconds=float(config["GEOMETRY_WAIT_SECONDS"]),
    )
    # The deadline counts from the request's start: loading the model and
    # waiting for a turn use it up too.
    app.before_request(_start_deadline)
    app.register_error_handler(WorkLimitExceeded, _work_limit_exceeded)
    app.register_error_handler(DeadlineExceeded, _deadline_exceeded)
    app.register_error_handler(Busy, _busy_answer)
