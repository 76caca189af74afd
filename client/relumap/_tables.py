"""Plain-text tables and key-value blocks for the command line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MINUS = "\u2212"
DOT = "\u00b7"

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


def affine_formula(
    output: str, gradient: Sequence[float], intercept: float, names: Sequence[str]
) -> str:
    """Write ``output = g1·name1 + g2·name2 + b`` with 4 significant digits.

    Zero coefficients are left out, so a flat region reads ``y = b``.

    Examples
    --------
    >>> affine_formula("y", [0.5, -1.2], 0.3, ["x1", "x2"])
    'y = 0.5·x1 − 1.2·x2 + 0.3'
    >>> affine_formula("y", [0.0, 0.0], -2.0, ["x1", "x2"])
    'y = −2'
    """
    terms = [(float(g), f"{DOT}{name}") for g, name in zip(gradient, names, strict=True) if g]
    if float(intercept) or not terms:
        terms.append((float(intercept), ""))
    text = ""
    for i, (value, suffix) in enumerate(terms):
        magnitude = f"{abs(value):.4g}{suffix}"
        if i == 0:
            text = (MINUS if value < 0 else "") + magnitude
        else:
            text += f" {MINUS if value < 0 else '+'} {magnitude}"
    return f"{output} = {text}"


def count(n: int, word: str) -> str:
    """Return ``"1 knot"``, ``"3 knots"``: a count with its noun.

    Examples
    --------
    >>> count(1, "knot"), count(3, "knot")
    ('1 knot', '3 knots')
    """
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


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
