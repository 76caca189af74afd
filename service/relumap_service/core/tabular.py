"""Validate training data and read it from CSV.

Data come from users, so every check names the bad value and what to do.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.storable import label_problem, labels_problem, text_problem

__all__ = [
    "CsvTable",
    "DataError",
    "TrainingData",
    "check_feature_names",
    "default_feature_names",
    "parse_csv",
    "read_csv",
    "validate_training_data",
]

# Integer-valued targets with at most this many distinct values suggest classes.
MAX_HINT_CLASSES = 10
# The default of RELUMAP_MAX_FEATURES.
MAX_FEATURES = 64
# Longest feature name kept.
MAX_NAME_LENGTH = 200


class DataError(ValueError):
    """Invalid training data; ``field`` names the part at fault (``X``, ``y``, ``file``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class TrainingData:
    """Checked training data and what they suggest.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite float64 inputs.
    y : list
        Targets as given: numbers, or labels (strings allowed).
    task_hint : {"regression", "classification"}
    classes : list or None
        Sorted distinct labels when the hint is classification.
    feature_names : list of str
        One distinct name per column of ``X``: as given, else
        :func:`default_feature_names`.
    """

    X: NDArray[np.float64]
    y: list[Any]
    task_hint: Literal["regression", "classification"]
    classes: list[Any] | None
    feature_names: list[str]

    @property
    def bounds(self) -> dict[str, list[float]]:
        """The bounding box of the inputs."""
        return {"min": self.X.min(axis=0).tolist(), "max": self.X.max(axis=0).tolist()}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def default_feature_names(n_features: int) -> list[str]:
    """Names of unnamed features: ``x`` for one, else ``x1, x2, ...``.

    Examples
    --------
    >>> default_feature_names(1), default_feature_names(3)
    (['x'], ['x1', 'x2', 'x3'])
    """
    return ["x"] if n_features == 1 else [f"x{i + 1}" for i in range(n_features)]


def check_feature_names(names: Sequence[Any], n_features: int) -> list[str]:
    """Check one distinct, non-empty name per feature; return them without outer spaces.

    Raises
    ------
    DataError
        With field ``"feature_names"``.
    """
    if len(names) != n_features:
        raise DataError(
            "feature_names",
            f"{len(names)} feature names {list(names)} for {n_features} feature columns; "
            "give one name per column of X",
        )
    bad = [
        n
        for n in names
        if not isinstance(n, str) or not n.strip() or text_problem(n, MAX_NAME_LENGTH) is not None
    ]
    if bad:
        raise DataError(
            "feature_names",
            f"feature names must be non-empty strings of at most {MAX_NAME_LENGTH} "
            f"characters, valid Unicode without NUL; got {bad[:5]}",
        )
    stripped = [n.strip() for n in names]
    repeated = sorted({n for n in stripped if stripped.count(n) > 1})
    if repeated:
        raise DataError(
            "feature_names", f"feature names {repeated} repeat; give every column its own name"
        )
    return stripped


def validate_training_data(
    X: Any,
    y: Sequence[Any],
    max_samples: int,
    *,
    max_features: int = MAX_FEATURES,
    feature_names: Sequence[Any] | None = None,
) -> TrainingData:
    """Check inputs and targets and infer the task.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Numbers, all rows of the same length, ``n_features <= max_features``.
    y : sequence of length n_samples
        All numbers (regression or integer labels) or all strings/booleans (labels).
    max_samples : int
        The configured limit; more samples raise ``DataError`` with field ``"limit"``.
    max_features : int, default=64
        The configured limit on the columns of ``X`` (``RELUMAP_MAX_FEATURES``).
    feature_names : sequence of str, optional
        One distinct name per column; default :func:`default_feature_names`.

    Returns
    -------
    TrainingData

    Raises
    ------
    DataError
    """
    if not isinstance(X, list | tuple | np.ndarray) or len(X) == 0:
        raise DataError("X", "X must be a non-empty list of rows, e.g. [[0.5], [1.0]]")
    if len(X) > max_samples:
        raise DataError(
            "limit", f"{len(X)} samples exceed the limit of {max_samples} (RELUMAP_MAX_SAMPLES)"
        )
    widths = {len(row) if isinstance(row, list | tuple | np.ndarray) else -1 for row in X}
    if -1 in widths:
        raise DataError("X", "every row of X must be a list of numbers, e.g. [[0.5], [1.0]]")
    if len(widths) != 1:
        raise DataError("X", f"rows of X have different lengths {sorted(widths)}; X is ragged")
    n_features = widths.pop()
    if not 1 <= n_features <= max_features:
        raise DataError(
            "X",
            f"X has {n_features} feature columns; relumap takes 1 to {max_features} "
            "(RELUMAP_MAX_FEATURES)",
        )
    names = (
        default_feature_names(n_features)
        if feature_names is None
        else check_feature_names(feature_names, n_features)
    )
    if any(not _is_number(v) for row in X for v in row) and not isinstance(X, np.ndarray):
        raise DataError("X", "X must contain numbers only")
    array = np.asarray(X, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        row = int(np.argwhere(~np.isfinite(array))[0][0])
        raise DataError("X", f"X contains a non-finite value (NaN or infinity) in row {row}")
    if array.shape[0] < 2:
        raise DataError("X", f"need at least 2 samples, got {array.shape[0]}")
    if len(y) != array.shape[0]:
        raise DataError("y", f"y has {len(y)} values but X has {array.shape[0]} rows")
    labels = list(y)
    for row, value in enumerate(labels):
        problem = label_problem(value)
        if problem is not None:
            raise DataError("y", f"y[{row}] {problem}")
    mixed = labels_problem(labels)
    if mixed is not None:
        raise DataError("y", f"y {mixed}")
    numeric = [_is_number(v) for v in labels]
    if all(numeric):
        values = np.asarray(labels, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise DataError("y", "y contains a non-finite value (NaN or infinity)")
        distinct = np.unique(values)
        if np.all(values == np.round(values)) and distinct.size <= MAX_HINT_CLASSES:
            classes = [int(v) if float(v).is_integer() else float(v) for v in distinct]
            return TrainingData(array, [int(v) for v in values], "classification", classes, names)
        return TrainingData(array, values.tolist(), "regression", None, names)
    return TrainingData(array, labels, "classification", sorted(set(labels)), names)


def _number_or_label(text: str) -> float | str:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and math.isfinite(value) else value


class CsvTable(NamedTuple):
    """A CSV read into feature names, feature rows and targets."""

    feature_names: list[str]
    X: list[list[float]]
    y: list[Any]


def parse_csv(text: str, target: str = "y") -> tuple[list[list[float]], list[Any]]:
    """Read a CSV with a header row into feature rows and targets (see :func:`read_csv`)."""
    table = read_csv(text, target)
    return table.X, table.y


def read_csv(text: str, target: str = "y") -> CsvTable:
    r"""Read a CSV with a header row into feature names, feature rows and targets.

    Parameters
    ----------
    text : str
        CSV text; the first row names the columns.
    target : str, default="y"
        Name of the target column; every other column is a feature.

    Returns
    -------
    CsvTable
        ``feature_names``: the header's other columns, in order; ``X``: list of
        list of float; ``y``: numbers where every target parses as a number,
        else the labels as strings.

    Raises
    ------
    DataError

    Examples
    --------
    >>> read_csv("age,income,y\n30,2.5,1\n40,3.0,0\n")
    CsvTable(feature_names=['age', 'income'], X=[[30.0, 2.5], [40.0, 3.0]], y=[1, 0])
    """
    try:
        # newline="" lets the csv module read \r, \n and \r\n line ends alike.
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise DataError("file", f"the CSV cannot be read: {exc}") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError("file", "the CSV is empty; it needs a header row and data rows")
    header = [name.strip() for name in rows[0]]
    if target not in header:
        raise DataError(
            "target",
            f"no target column {target!r} in the CSV header {header}; "
            "name it with the 'target' parameter",
        )
    column = header.index(target)
    features = [i for i in range(len(header)) if i != column]
    X: list[list[float]] = []
    raw_y: list[str] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(
                "file", f"CSV line {line} has {len(row)} cells but the header has {len(header)}"
            )
        try:
            X.append([float(row[i]) for i in features])
        except ValueError:
            raise DataError("file", f"CSV line {line} has a non-numeric feature: {row}") from None
        raw_y.append(row[column].strip())
    parsed = [_number_or_label(v) for v in raw_y]
    names = [header[i] for i in features]
    if any(isinstance(v, str) for v in parsed):
        return CsvTable(names, X, raw_y)
    return CsvTable(names, X, parsed)
