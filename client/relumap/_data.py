"""Turn what users hold (numpy arrays, lists, pandas objects) into the JSON the API takes.

Inputs are checked here only as far as JSON needs (numbers, finite, a table);
the service validates the rest and its errors come back as
:class:`~relumap.ValidationError`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from relumap.errors import ValidationError
from relumap.weights import Weights

__all__ = [
    "as_array",
    "as_labels",
    "as_points",
    "as_rows",
    "csv_upload",
    "floats",
    "ints",
    "is_frame",
    "json_upload",
    "layer_sizes",
    "network_document",
    "optional_list",
    "pagination",
    "split_target",
]


def layer_sizes(given: Any) -> list[int]:
    """Return hidden layer widths as a list, accepting one int as scikit-learn does.

    ``MLPRegressor(hidden_layer_sizes=16)`` means one layer of 16 units; so
    does ``16`` here. The service checks the widths' range.

    Examples
    --------
    >>> layer_sizes(16), layer_sizes((8, 4)), layer_sizes(np.int64(3))
    ([16], [8, 4], [3])
    """
    values = [given] if not hasattr(given, "__iter__") or isinstance(given, str) else list(given)
    if not all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in values):
        raise ValidationError(
            f"hidden_layer_sizes must be an int or a sequence of ints (one width per hidden "
            f"layer), got {given!r}; say hidden_layer_sizes=16 or hidden_layer_sizes=(16, 8)"
        )
    return [int(n) for n in values]


def _is_frame(value: Any) -> bool:
    # Duck-typed so pandas is never imported here.
    return hasattr(value, "columns") and hasattr(value, "to_numpy")


is_frame = _is_frame


def as_points(X: Any, name: str = "X") -> NDArray[np.float64]:
    """Return ``X`` as a float64 array of shape (n_samples, n_features).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples,)
        A numpy array, nested lists or a pandas DataFrame or Series. A 1-D
        ``X`` is one feature: ``[0.0, 0.5]`` means ``[[0.0], [0.5]]``.
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    ndarray of shape (n_samples, n_features)

    Raises
    ------
    ValidationError
        If ``X`` is not a table of finite numbers.
    """
    raw = X.to_numpy() if hasattr(X, "to_numpy") else X
    try:
        array = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be a table of numbers: {exc}") from None
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise ValidationError(
            f"{name} must have shape (n_samples, n_features), got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        row = int(np.argwhere(~np.isfinite(array))[0][0])
        raise ValidationError(f"{name} holds NaN or infinity in row {row}; drop or fill it")
    return array


def as_array(value: Any, name: str) -> NDArray[np.float64]:
    """Return ``value`` as a float64 array of finite numbers, keeping its shape."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must hold numbers only: {exc}") from None
    if not np.all(np.isfinite(array)):
        raise ValidationError(f"{name} holds NaN or infinity")
    return array


def as_rows(X: Any, name: str = "X") -> list[list[float]]:
    """Return ``X`` as JSON rows (see :func:`as_points`)."""
    rows: list[list[float]] = as_points(X, name).tolist()
    return rows


def as_labels(y: Any, name: str = "y") -> list[Any]:
    """Return targets as a JSON list of numbers, strings or booleans.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        A numpy array, list or pandas Series; a column vector is flattened.

    Returns
    -------
    list

    Raises
    ------
    ValidationError
        If ``y`` is not one-dimensional or holds NaN.
    """
    raw = y.to_numpy() if hasattr(y, "to_numpy") else y
    array = np.asarray(raw)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValidationError(f"{name} must be one-dimensional, got shape {array.shape}")
    values = [v.item() if isinstance(v, np.generic) else v for v in array.tolist()]
    for i, v in enumerate(values):
        if isinstance(v, float) and not np.isfinite(v):
            raise ValidationError(f"{name} holds NaN or infinity at position {i}")
    return values


def split_target(X: Any, y: Any, target: str | None) -> tuple[Any, Any]:
    """Split a data frame into inputs and target when only ``target`` names the column."""
    if y is not None:
        if target is not None:
            raise ValidationError("give either y or target=, not both")
        return X, y
    if target is None:
        raise ValidationError("give the targets y, or target= naming a column of X")
    if not _is_frame(X) or target not in X.columns:
        raise ValidationError(f"target={target!r} is not a column of X")
    return X.drop(columns=[target]), X[target]


def pagination(header: str | None) -> dict[str, Any]:
    """Parse the ``X-Pagination`` header (JSON: total, page, next_page, ...)."""
    try:
        meta = json.loads(header) if header else {}
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def floats(value: Any) -> NDArray[np.float64]:
    """Return ``value`` as a float64 array."""
    return np.asarray(value, dtype=np.float64)


def ints(value: Any) -> NDArray[np.int64]:
    """Return ``value`` as an int64 array."""
    return np.asarray(value, dtype=np.int64)


def optional_list(value: NDArray[Any] | None) -> Any:
    """Return ``value.tolist()``, or None."""
    return None if value is None else value.tolist()


def csv_upload(path: Path, target: str | None, name: str | None) -> dict[str, Any]:
    """Return the request that uploads a CSV file as it is (the service parses it)."""
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read the CSV file {str(path)!r}: {exc}") from exc
    return {
        "params": {"target": target, "name": name or path.name},
        "data": body,
        "content_type": "text/csv",
    }


def json_upload(
    X: Any,
    y: Any,
    target: str | None,
    name: str | None,
    feature_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Return the request that uploads arrays, lists or pandas objects as JSON."""
    inputs, targets = split_target(X, y, target)
    payload: dict[str, Any] = {"X": as_rows(inputs), "y": as_labels(targets)}
    if feature_names is not None:
        payload["feature_names"] = [str(n) for n in feature_names]
    elif _is_frame(inputs):
        # The columns' names travel with the data: the model keeps them.
        payload["feature_names"] = [str(c) for c in inputs.columns]
    if name is not None:
        payload["name"] = name
    return {"json": payload}


def network_document(
    coefs: Sequence[Any] | Weights,
    intercepts: Sequence[Any] | None,
    *,
    layout: str,
    activation: str,
    output_activation: str,
    negative_slope: float,
    classes: Sequence[Any] | None,
    domain: Any,
    name: str | None,
) -> dict[str, Any]:
    """Return the body of ``POST /v1/networks``; a :class:`Weights` gives every field."""
    if isinstance(coefs, Weights):
        document = coefs.to_dict()
        classes = document.pop("classes") if classes is None else classes
        for key in ("task", "n_features"):
            document.pop(key)
    else:
        if intercepts is None:
            raise ValidationError("give the intercepts with the coefs")
        document = {
            "coefs": [as_array(c, f"coefs[{i}]").tolist() for i, c in enumerate(coefs)],
            "intercepts": [
                as_array(b, f"intercepts[{i}]").ravel().tolist() for i, b in enumerate(intercepts)
            ],
            "layout": layout,
            "activation": activation,
            "output_activation": output_activation,
            "negative_slope": negative_slope,
        }
    if classes is not None:
        document["classes"] = as_labels(classes, "classes")
    if domain is not None:
        document["domain"] = as_array(domain, "domain").tolist()
    if name is not None:
        document["name"] = name
    return document
