"""Plain-text tables and key-value blocks for the command line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from relumap_geometry.text import affine_formula, count

__all__ = ["affine_formula", "cell", "count", "fields", "score_text", "table"]


def cell(value: Any) -> str:
    """Format one value: floats to 4 significant digits, None as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return " ".join(cell(v) for v in value) if value else "-"
    return str(value)


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Align ``rows`` under a header; numbers right-aligned, text left-aligned.

    Examples
    --------
    >>> print(table([{"a": 1, "b": "x"}, {"a": 22.5, "b": "yy"}]))
       a  b
       1  x
    22.5  yy
    """
    rows = list(rows)
    if not rows:
        return "(none)"
    columns = list(columns or rows[0].keys())
    text = [[cell(row.get(c)) for c in columns] for row in rows]
    numeric = [
        all(
            isinstance(row.get(c), int | float)
            and not isinstance(row.get(c), bool)
            or row.get(c) is None
            for row in rows
        )
        for c in columns
    ]
    widths = [max(len(c), *(len(r[i]) for r in text)) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(columns), *(line(r) for r in text)])


def fields(pairs: Iterable[tuple[str, Any]]) -> str:
    """Format ``name: value`` lines with the names aligned."""
    pairs = list(pairs)
    width = max((len(name) for name, _ in pairs), default=0)
    return "\n".join(f"{name + ':':<{width + 1}} {cell(value)}" for name, value in pairs)


def score_text(task: str, train: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    """Return the headline score, ``"test r2 0.987"``, or None before a fit.

    R² for a regressor and accuracy for a classifier, on the held-out part
    when there is one, else on the training part.
    """
    name = "r2" if task == "regression" else "accuracy"
    for split, values in (("test", test), ("train", train)):
        if values.get(name) is not None:
            return f"{split} {name} {float(values[name]):.4g}"
    return None
