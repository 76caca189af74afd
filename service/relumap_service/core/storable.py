r"""What the service can store and send back: texts and labels both databases keep.

One rule for every name, label and text parameter, so SQLite and PostgreSQL
(whose text and jsonb types reject ``\u0000``) hold the same things, and
every JSON reader can read them back: valid Unicode without lone surrogates,
no NUL character, bounded length; finite numbers only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["MAX_TEXT_LENGTH", "label_problem", "labels_problem", "text_problem"]

# Longest name, label or other text the service stores.
MAX_TEXT_LENGTH = 200


def text_problem(value: str, max_length: int = MAX_TEXT_LENGTH) -> str | None:
    r"""Say why a text cannot be stored, or return None if it can.

    Parameters
    ----------
    value : str
    max_length : int, default=MAX_TEXT_LENGTH

    Returns
    -------
    str or None
        What is wrong and what to do, or None.

    Examples
    --------
    >>> text_problem("moons") is None
    True
    >>> text_problem("a\x00b")
    'contains a NUL character (\\u0000) at position 1; remove it'
    """
    if len(value) > max_length:
        return f"is {len(value)} characters long; send at most {max_length}"
    position = value.find("\x00")
    if position >= 0:
        return f"contains a NUL character (\\u0000) at position {position}; remove it"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"contains a lone surrogate (\\u{ord(value[exc.start]):04x}) at position "
            f"{exc.start}; send valid Unicode text"
        )
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def label_problem(value: Any) -> str | None:
    """Say why a class label or target cannot be stored, or return None if it can.

    A label is a finite number (an integer within float64's range), a boolean
    or a storable text (see `text_problem`).

    Examples
    --------
    >>> label_problem(float("nan"))
    'must be a finite number, not nan'
    >>> label_problem(True) is None
    True
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, int | float):
        try:
            finite = math.isfinite(float(value))
        except OverflowError:
            finite = False
        return None if finite else f"must be a finite number, not {str(value)[:40]}"
    return "must be a number, a string or a boolean"


def labels_problem(labels: Sequence[Any]) -> str | None:
    """Say why labels are not all numbers, all strings or all booleans, or return None.

    Mixed kinds have no order, and a string ``"true"`` beside a boolean
    ``true`` is almost certainly a mistake in the data.

    Examples
    --------
    >>> labels_problem(["a", True])[:25]
    'mixes bool and str values'
    """
    kinds = {"number" if _is_number(v) else type(v).__name__ for v in labels}
    if len(kinds) > 1:
        return (
            f"mixes {' and '.join(sorted(kinds))} values; send all numbers "
            "(regression or class ids), all strings or all booleans (class labels)"
        )
    return None
