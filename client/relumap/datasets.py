"""A data set stored by the service: its summary, its points, and what to do with it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from relumap._optional import require

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from relumap.client import Client
    from relumap.models import Model

__all__ = ["Dataset", "parse_time"]


def parse_time(value: Any) -> datetime | None:
    """Parse the service's ISO 8601 timestamps."""
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class Dataset:
    """A handle on a stored data set; :meth:`Client.upload` and :meth:`Client.generate` make one.

    Attributes
    ----------
    id : str
    name : str
    source : {"upload", "generated"}
    n_samples, n_features : int
    task_hint : {"regression", "classification"}
    classes : list or None
        Sorted class labels when the targets look like classes.
    bounds : ndarray of shape (2, n_features)
        The smallest and largest value of each feature.
    generator : dict or None
        ``kind``, ``n_samples``, ``noise``, ``random_state`` of a generated set.
    created_at : datetime
    """

    def __init__(self, client: Client, document: dict[str, Any]) -> None:
        self._client = client
        self._document = dict(document)
        self._points: tuple[NDArray[np.float64], NDArray[Any]] | None = None
        if "X" in document and "y" in document:
            self._points = (np.asarray(document["X"], np.float64), np.asarray(document["y"]))

    def __repr__(self) -> str:
        return (
            f"<Dataset {self.id} {self.name!r}: {self.n_samples} samples, "
            f"{self.n_features} feature(s), {self.task_hint}>"
        )

    @property
    def id(self) -> str:
        """The data set's id (32 hex digits)."""
        return str(self._document["id"])

    @property
    def name(self) -> str:
        """Its name."""
        return str(self._document.get("name"))

    @property
    def source(self) -> str:
        """``upload`` or ``generated``."""
        return str(self._document.get("source"))

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self._document["n_samples"])

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return int(self._document["n_features"])

    @property
    def feature_names(self) -> list[str]:
        """The features' names: as uploaded (CSV header, DataFrame columns), else x1, x2, ..."""
        found = self._document.get("feature_names")
        if found:
            return [str(name) for name in found]
        n = self.n_features
        return ["x"] if n == 1 else [f"x{i + 1}" for i in range(n)]

    @property
    def task_hint(self) -> str:
        """``regression`` or ``classification``, as the targets suggest."""
        return str(self._document.get("task_hint"))

    @property
    def classes(self) -> list[Any] | None:
        """Class labels, or None for regression targets."""
        found = self._document.get("classes")
        return None if found is None else list(found)

    @property
    def bounds(self) -> NDArray[np.float64]:
        """Array of shape (2, n_features): each feature's minimum, then maximum."""
        box = self._document["bounds"]
        return np.array([box["min"], box["max"]], dtype=np.float64)

    @property
    def generator(self) -> dict[str, Any] | None:
        """How a generated set was made, else None."""
        found = self._document.get("generator")
        return None if found is None else dict(found)

    @property
    def created_at(self) -> datetime | None:
        """When it was stored."""
        return parse_time(self._document.get("created_at"))

    def data(self) -> tuple[NDArray[np.float64], NDArray[Any]]:
        """Fetch the points (once; they never change).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Numbers, or the class labels as given.
        """
        if self._points is None:
            document = self._client._json(
                "GET", f"/v1/datasets/{self.id}", params={"include": "data"}
            )
            self._points = (np.asarray(document["X"], np.float64), np.asarray(document["y"]))
        return self._points

    def refresh(self) -> Dataset:
        """Fetch the summary again; return ``self``."""
        self._document = dict(self._client._json("GET", f"/v1/datasets/{self.id}"))
        return self

    def delete(self, *, cascade: bool = False) -> None:
        """Delete it; ``cascade=True`` also deletes the models fitted on it.

        Raises
        ------
        Conflict
            If models use it and ``cascade`` is False.
        """
        params = {"cascade": "true"} if cascade else None
        self._client._request("DELETE", f"/v1/datasets/{self.id}", params=params)

    def fit(self, **params: Any) -> Model:
        """Fit a network on this data set; the parameters are those of :meth:`Client.fit`."""
        return self._client.fit(self, **params)

    def to_dict(self) -> dict[str, Any]:
        """Return the service's document (with ``X`` and ``y`` once fetched)."""
        document = dict(self._document)
        if self._points is not None:
            document["X"], document["y"] = self._points[0].tolist(), self._points[1].tolist()
        return document

    def to_frame(self) -> Any:
        """Return the points as a pandas DataFrame: one column per feature name, then ``y``."""
        pandas = require("pandas", "Dataset.to_frame()")
        X, y = self.data()
        frame = pandas.DataFrame(X, columns=self.feature_names)
        frame["y"] = y
        return frame

    def plot(self, ax: Axes | None = None) -> Axes:
        """Scatter the points: y against x in 1D, coloured by target in 2D."""
        from relumap import plotting

        return plotting.plot_points(self.data(), ax=ax, classes=self.classes)
