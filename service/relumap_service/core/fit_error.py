"""The error of a fit that cannot be done.

Apart from ``core.fitting``, which imports scikit-learn, so that web processes,
which queue fits but never run them, need not import it.
"""

from __future__ import annotations

__all__ = ["FitError"]


class FitError(ValueError):
    """The data or parameters make a fit impossible; the message says why."""
