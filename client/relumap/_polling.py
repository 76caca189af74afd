"""Waiting for a fit: polling with backoff, and a progress bar when someone is watching."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from relumap._optional import available, require
from relumap.errors import FitFailed, Timeout

if TYPE_CHECKING:
    from relumap.models import Model

__all__ = ["wait_for"]

FIRST_DELAY = 0.05
MAX_DELAY = 1.0
GROWTH = 1.5


class _Bar:
    """A tqdm bar showing the model's status and the time waited, or nothing."""

    def __init__(self, show: bool | None, model: Model) -> None:
        if show is None:
            show = available("tqdm") and sys.stderr.isatty()
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
    """Poll ``model`` until its fit ends; see :meth:`Model.wait`."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = FIRST_DELAY
    bar = _Bar(progress, model)
    try:
        while not model.finished:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise Timeout(
                    f"model {model.id} is still {model.status} after {timeout} s; "
                    "call wait() again, or fetch it later with client.model(id)"
                )
            time.sleep(delay if remaining is None else min(delay, remaining))
            delay = min(delay * GROWTH, MAX_DELAY)
            model.refresh()
            bar.update(model.status)
    finally:
        bar.close()
    if model.status == "failed":
        raise FitFailed(model)
    return model
