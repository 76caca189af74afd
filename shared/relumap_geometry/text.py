"""How results are written in words: counts with their noun, affine formulas.

Examples
--------
>>> count(3, "knot")
'3 knots'
>>> affine_formula("y", [0.5, -1.2], 0.3, ["x1", "x2"])
'y = 0.5·x1 − 1.2·x2 + 0.3'
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["DOT", "MINUS", "affine_formula", "count"]

MINUS = "\u2212"
DOT = "\u00b7"


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
