"""Bounds on the work of one geometry computation: counts and a wall-clock deadline.

The engine checks these while it works, so an over-large request stops early
with an error that names the limit, never with a coarser answer.

Examples
--------
>>> WorkBudget(seconds=None).check()
>>> try:
...     WorkBudget(seconds=0.0).check()
... except DeadlineExceeded as exc:
...     print(exc.seconds)
0.0
"""

from __future__ import annotations

import time

__all__ = ["DeadlineExceeded", "WorkBudget", "WorkLimitExceeded"]


class WorkLimitExceeded(ValueError):
    """A computation would need more of something than its limit allows.

    Attributes
    ----------
    name : str
        The limit, as a request or setting calls it (``max_pieces``, ``max_regions``...).
    count : int
        How much was needed when the computation stopped (a lower bound).
    limit : int
    """

    def __init__(self, name: str, count: int, limit: int, advice: str = "") -> None:
        self.name, self.count, self.limit, self.advice = name, count, limit, advice
        super().__init__(
            f"the computation needs at least {count} {name.removeprefix('max_')}, more than "
            f"{name}={limit}; {advice or f'use a smaller domain or network, or raise {name}'}"
        )

    def __reduce__(self) -> tuple[type[WorkLimitExceeded], tuple[str, int, int, str]]:
        return (type(self), (self.name, self.count, self.limit, self.advice))


class DeadlineExceeded(TimeoutError):
    """A computation ran past its wall-clock deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            f"the computation ran past its deadline of {seconds:g} s; "
            "use a smaller domain or network, or raise the request timeout"
        )

    def __reduce__(self) -> tuple[type[DeadlineExceeded], tuple[float]]:
        return (type(self), (self.seconds,))


class WorkBudget:
    """A wall-clock deadline, checked between steps of a computation.

    Parameters
    ----------
    seconds : float or None
        Time allowed from now; None for no deadline.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def check(self) -> None:
        """Raise :class:`DeadlineExceeded` once the deadline has passed."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineExceeded(self.seconds if self.seconds is not None else 0.0)
