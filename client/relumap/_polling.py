"""Waiting for a fit: long-polling requests, and a progress bar when someone is watching."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from relumap._optional import available, require
from relumap.errors import FitFailed, Timeout

if TYPE_CHECKING:
    from relumap.models import Model

__all__ = ["shows_bar", "wait_for"]

# Between requests that came back early without waiting (a service without ?wait).
FIRST_DELAY = 0.05
MAX_DELAY = 1.0
GROWTH = 1.5
# How long each request waits while a progress bar shows the time waited.
BAR_SECONDS = 1.0


def shows_bar(progress: bool | None) -> bool:
    """Whether to show a progress bar: as asked, or when tqdm is there and stderr a terminal."""
    return available("tqdm") and sys.stderr.isatty() if progress is None else progress


class _Bar:
    """A tqdm bar showing the model's status and the time waited, or nothing."""

    def __init__(self, show: bool | None, model: Model) -> None:
        show = shows_bar(show)
        self._bar: Any = None
        if show:
            tqdm = require("tqdm", "a progress bar (progress=True)")
            self._name = f"fit {model.id[:8]}"
            self._bar = tqdm.tqdm(
                total=None,
                desc=f"{self._name}: {model.status}",
                bar_format="{desc} [{elapsed}]",
                file=sys.stderr,
                leave=True,
            )

    def update(self, status: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(f"{self._name}: {status}", refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def wait_for(model: Model, timeout: float | None, progress: bool | None) -> Model:
    """Wait until ``model``'s fit ends; see :meth:`Model.wait`.

    Each request asks the service to hold the answer until the fit ends, up to
    :meth:`Client.longest_wait` seconds (``GET /v1/models/{id}?wait=``), so the
    answer comes the moment the fit does, with one request per wait.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = FIRST_DELAY
    bar = _Bar(progress, model)
    longest = model._client.longest_wait(progress)
    try:
        while not model.finished:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise Timeout(
                    f"model {model.id} is still {model.status} after {timeout} s; "
                    "call wait() again, or fetch it later with client.model(id)"
                )
            chunk = longest if remaining is None else min(longest, remaining)
            asked = time.monotonic()
            model.refresh(wait=chunk)
            bar.update(model.status)
            if not model.finished and time.monotonic() - asked < chunk / 2:
                # The service answered without waiting: poll with backoff instead.
                time.sleep(delay if remaining is None else min(delay, remaining))
                delay = min(delay * GROWTH, MAX_DELAY)
    finally:
        bar.close()
    if model.status == "failed":
        raise FitFailed(model)
    return model
