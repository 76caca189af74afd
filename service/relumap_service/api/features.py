"""Input feature names: what a data set or model calls its columns, and prediction by name.

A data set keeps the names it came with (a CSV header, JSON `feature_names`) and
a model keeps those of its data set or its uploaded network. Where none were
given, documents report `x` (one feature) or `x1, x2, ...` and prediction stays
positional. Where names were given, MLflow's `dataframe_split` (with `columns`),
`dataframe_records` and `inputs` as a dict are matched to them by name; a
missing or unknown name is a 422 that lists them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from flask_smorest import abort

from relumap_service.core.tabular import default_feature_names

__all__ = ["feature_names_of", "prediction_rows"]


def feature_names_of(stored: Sequence[str] | None, n_features: int) -> list[str]:
    """Return the names to report: those stored, else `x` or `x1, x2, ...`."""
    if stored is not None and len(stored) == n_features:
        return list(stored)
    return default_feature_names(n_features)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        message = f"{where} must be a finite number, got {value!r}"
        abort(422, message=message, errors={where.split("[")[0]: [message]})
    return float(value)


def _match(given: Sequence[str], names: Sequence[str] | None, field: str) -> list[int]:
    """Column of each model feature in `given`; 422 naming missing and unknown names."""
    if names is None:
        # No names were kept with the model: columns are taken in order.
        return list(range(len(given)))
    missing = [n for n in names if n not in given]
    unknown = [n for n in given if n not in names]
    repeated = sorted({n for n in given if list(given).count(n) > 1})
    if missing or unknown or repeated:
        parts = []
        if missing:
            parts.append(f"missing feature(s) {missing}")
        if unknown:
            parts.append(f"unknown feature(s) {unknown}")
        if repeated:
            parts.append(f"repeated feature(s) {repeated}")
        message = f"{'; '.join(parts)}: the model takes {list(names)}"
        abort(422, message=message, errors={field: [message]})
    return [list(given).index(n) for n in names]


def _by_columns(
    columns: Mapping[str, Any], names: Sequence[str] | None, field: str
) -> list[list[float]]:
    """Rows from `{name: [values]}` (or `{name: value}` for one row)."""
    order = _match(list(columns), names, field)
    keys = list(columns)
    values = [columns[k] if isinstance(columns[k], list) else [columns[k]] for k in keys]
    lengths = sorted({len(v) for v in values})
    if len(lengths) > 1:
        message = f"the columns of {field} have different lengths {lengths}"
        abort(422, message=message, errors={field: [message]})
    n_rows = lengths[0] if lengths else 0
    return [
        [_number(values[j][i], f"{field}[{keys[j]!r}][{i}]") for j in order] for i in range(n_rows)
    ]


def prediction_rows(args: dict[str, Any], names: Sequence[str] | None) -> list[list[Any]]:
    """Return the rows to predict, in the model's feature order.

    Parameters
    ----------
    args : dict
        The loaded `PredictSchema`: one of `X`, `inputs` (rows, or a dict of
        columns), `dataframe_split` (`columns` optional) or `dataframe_records`.
    names : sequence of str or None
        The model's stored feature names; None matches columns by position.
    """
    if "X" in args:
        rows: list[list[Any]] = args["X"]
        return rows
    if "dataframe_split" in args:
        split = args["dataframe_split"]
        data: list[list[Any]] = split["data"]
        if split.get("columns") is None:
            return data
        columns = list(split["columns"])
        order = _match(columns, names, "dataframe_split")
        bad = {len(row) for row in data} - {len(columns)}
        if bad:
            message = (
                f"rows of dataframe_split have {sorted(bad)} values for {len(columns)} columns"
            )
            abort(422, message=message, errors={"dataframe_split": [message]})
        return [[row[j] for j in order] for row in data]
    if "dataframe_records" in args:
        records: list[dict[str, Any]] = args["dataframe_records"]
        keys = list(records[0]) if records else []
        if any(list(r) != keys and set(r) != set(keys) for r in records):
            message = "every record of dataframe_records must have the same names"
            abort(422, message=message, errors={"dataframe_records": [message]})
        order = _match(keys, names, "dataframe_records")
        return [
            [_number(r[keys[j]], f"dataframe_records[{i}][{keys[j]!r}]") for j in order]
            for i, r in enumerate(records)
        ]
    inputs = args["inputs"]
    if isinstance(inputs, dict):
        return _by_columns(inputs, names, "inputs")
    if not isinstance(inputs, list) or not all(isinstance(row, list) for row in inputs):
        message = "inputs must be a list of rows or a dict of columns {name: [values]}"
        abort(422, message=message, errors={"inputs": [message]})
    return [[_number(v, f"inputs[{i}]") for v in row] for i, row in enumerate(inputs)]
