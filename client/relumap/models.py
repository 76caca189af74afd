"""A model on the service: status and metrics, predictions, weights, knots and regions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from relumap import _data
from relumap._polling import wait_for
from relumap._tables import count, score_text
from relumap.datasets import Dataset, parse_time
from relumap.diagnostics import AffineMap, LocalAffine
from relumap.errors import ValidationError, WrongTask
from relumap.knots import Knots
from relumap.metrics import Metrics
from relumap.regions import NPZ, Regions
from relumap.slices import slice_params
from relumap.snapshots import Snapshot
from relumap.weights import Weights

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from relumap.client import Client

__all__ = ["Model"]

FINISHED = ("succeeded", "failed")
# Rows per predict request at most; less when the service's limit is lower.
PREDICT_BATCH = 20_000


def _box_params(box: Any) -> dict[str, float]:
    if box is None:
        return {}
    array = _data.as_array(box, "box")
    if array.shape != (2, 2):
        raise ValidationError(
            f"box must be [[x_min, y_min], [x_max, y_max]], got shape {array.shape}"
        )
    (x_min, y_min), (x_max, y_max) = array.tolist()
    return {"x_min": x_min, "y_min": y_min, "x_max": x_max, "y_max": y_max}


class Model:
    """A handle on a model: fitted by :meth:`Client.fit` or given by :meth:`Client.network`.

    Its attributes reflect the service's document as last fetched;
    :meth:`refresh` fetches it again and :meth:`wait` until the fit ends.

    Attributes
    ----------
    id : str
    status : {"queued", "running", "succeeded", "failed"}
    task : {"regression", "classification"}
    params : dict
        The fit parameters.
    metrics : Metrics or None
        Train and test metrics, and the linear baseline's, once succeeded.
    error : str or None
        Why a failed fit failed.
    """

    def __init__(self, client: Client, document: dict[str, Any]) -> None:
        self._client = client
        self._document = dict(document)
        self._weights: Weights | None = None

    def __repr__(self) -> str:
        sizes = self.params.get("hidden_layer_sizes")
        activation = self.params.get("activation")
        text = f"<Model {self.id} {self.status}: {self.task}, {activation} {sizes}"
        if self.n_features is not None:
            text += f", {count(self.n_features, 'input')}"
        metrics = self.metrics
        if metrics is not None:
            network = score_text(self.task, metrics.train, metrics.test)
            baseline = score_text(self.task, metrics.baseline_train, metrics.baseline_test)
            if network is not None:
                text += f", {network}"
            if baseline is not None:
                text += f" (linear {baseline.rsplit(' ', 1)[-1]})"
        if self.n_iter is not None:
            text += f", {count(self.n_iter, 'iteration')}"
        return text + ">"

    # -- the document -----------------------------------------------------------------
    def _get(self, key: str) -> Any:
        return self._document.get(key)

    @property
    def id(self) -> str:
        """The model's id (32 hex digits)."""
        return str(self._document["id"])

    @property
    def status(self) -> str:
        """``queued``, ``running``, ``succeeded`` or ``failed``."""
        return str(self._get("status"))

    @property
    def finished(self) -> bool:
        """Whether the fit has ended, well or not."""
        return self.status in FINISHED

    @property
    def task(self) -> str:
        """``regression`` or ``classification``."""
        return str(self._get("task"))

    @property
    def source(self) -> str:
        """``fit`` or ``manual`` (from :meth:`Client.network`)."""
        return str(self._get("source"))

    @property
    def dataset_id(self) -> str | None:
        """The data set it was fitted on, None for a manual network."""
        found = self._get("dataset_id")
        return None if found is None else str(found)

    @property
    def params(self) -> dict[str, Any]:
        """The fit parameters."""
        return dict(self._get("params") or {})

    @property
    def error(self) -> str | None:
        """Why the fit failed, else None."""
        found = self._get("error")
        return None if found is None else str(found)

    @property
    def classes(self) -> list[Any] | None:
        """Class labels of a classifier."""
        found = self._get("classes")
        return None if found is None else list(found)

    @property
    def n_features(self) -> int | None:
        """Number of inputs, once fitted."""
        found = self._get("n_features")
        return None if found is None else int(found)

    @property
    def feature_names(self) -> list[str] | None:
        """Names of the inputs, once fitted: those of the data, else x1, x2, ..."""
        found = self._get("feature_names")
        return None if found is None else [str(name) for name in found]

    @property
    def n_iter(self) -> int | None:
        """Iterations of the solver."""
        found = self._get("n_iter")
        return None if found is None else int(found)

    @property
    def converged(self) -> bool | None:
        """Whether the solver converged within ``max_iter``."""
        found = self._get("converged")
        return None if found is None else bool(found)

    @property
    def stop_reason(self) -> str | None:
        """The solver's own reason for stopping (L-BFGS-B's message, "max_iter reached"...)."""
        found = self._get("stop_reason")
        return None if found is None else str(found)

    @property
    def n_snapshots(self) -> int:
        """How many training snapshots the fit kept (``snapshots=`` of :meth:`Client.fit`)."""
        return int(self._get("n_snapshots") or 0)

    @property
    def loss(self) -> float | None:
        """The final training loss."""
        found = self._get("loss")
        return None if found is None else float(found)

    @property
    def loss_curve(self) -> NDArray[np.float64] | None:
        """Loss per iteration: per epoch for adam and sgd, at each iterate for lbfgs."""
        found = self._get("loss_curve")
        return None if found is None else np.asarray(found, dtype=np.float64)

    @property
    def warnings(self) -> list[dict[str, str]]:
        """Warnings raised during the fit: ``{"category", "message"}``."""
        return list(self._get("warnings") or [])

    @property
    def metrics(self) -> Metrics | None:
        """Train and test metrics beside the linear baseline's, once succeeded."""
        return Metrics.from_model(self._document)

    @property
    def equivalent_linear_map(self) -> AffineMap | None:
        """The single affine map an identity network collapses to, else None."""
        found = self._get("equivalent_linear_map")
        return None if found is None else AffineMap.from_dict(found)

    @property
    def baseline(self) -> AffineMap | None:
        """The linear baseline the service fitted beside the network, once succeeded.

        ``LinearRegression`` for a regressor; for a classifier the logits of
        ``LogisticRegression`` (one output for two classes: the second class's
        logit), in the data's units. Its scores are in :attr:`metrics`.
        """
        found = self._get("baseline") or {}
        if "coef" not in found or "intercept" not in found:
            return None
        return AffineMap.from_dict(found)

    @property
    def created_at(self) -> datetime | None:
        """When it was queued."""
        return parse_time(self._get("created_at"))

    @property
    def finished_at(self) -> datetime | None:
        """When its fit ended."""
        return parse_time(self._get("finished_at"))

    def to_dict(self) -> dict[str, Any]:
        """Return the service's model document as last fetched."""
        return dict(self._document)

    # -- lifecycle --------------------------------------------------------------------
    def refresh(self, *, wait: float | None = None) -> Model:
        """Fetch the document again; return ``self``.

        Parameters
        ----------
        wait : float, optional
            Seconds the service may hold the answer while the fit runs; it
            answers the moment the fit ends (``?wait``).
        """
        params = None if not wait else {"wait": round(wait, 3)}
        self._document = dict(self._client._json("GET", f"/v1/models/{self.id}", params=params))
        return self

    def wait(self, timeout: float | None = None, *, progress: bool | None = None) -> Model:
        """Wait for the fit to end; return ``self``.

        The service answers the moment the fit ends: each request waits there
        up to :meth:`Client.longest_wait` seconds.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most; no limit by default.
        progress : bool, optional
            Show a progress bar; by default when tqdm is installed and stderr
            is a terminal.

        Raises
        ------
        FitFailed
            If the fit ended ``failed``.
        Timeout
            If it has not ended within ``timeout``.
        """
        return wait_for(self, timeout, progress)

    def delete(self) -> None:
        """Delete the model (a queued or running fit is dropped)."""
        self._client._request("DELETE", f"/v1/models/{self.id}")

    def dataset(self) -> Dataset | None:
        """Fetch the data set it was fitted on; None for a manual network."""
        return None if self.dataset_id is None else self._client.dataset(self.dataset_id)

    # -- what it computes -------------------------------------------------------------
    def _predict(self, X: Any, include: str | None = None) -> dict[str, list[Any]]:
        rows = _data.as_rows(X)
        # A DataFrame's columns go with it, so the service matches them by name.
        columns = [str(c) for c in X.columns] if _data.is_frame(X) else None
        batch = min(PREDICT_BATCH, self._client.limit("predict_rows", PREDICT_BATCH))
        merged: dict[str, list[Any]] = {}
        for start in range(0, max(len(rows), 1), batch):
            chunk = rows[start : start + batch]
            body: dict[str, Any] = (
                {"X": chunk}
                if columns is None
                else {"dataframe_split": {"columns": columns, "data": chunk}}
            )
            part = self._client._json(
                "POST", f"/v1/models/{self.id}/predict", params={"include": include}, json=body
            )
            for key, value in part.items():
                if key == "classes":
                    merged[key] = value
                else:
                    merged.setdefault(key, []).extend(value)
        return merged

    def predict(self, X: Any) -> NDArray[Any]:
        """Predict on the service.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            Values for a regressor, class labels for a classifier.
        """
        return np.asarray(self._predict(X)["predictions"])

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Class probabilities, one column per label of :attr:`classes`.

        Raises
        ------
        WrongTask
            If the model is a regressor (also a ``ValueError``).
        """
        if self.task != "classification":
            raise WrongTask(
                f"model {self.id} is a regressor, which has no class probabilities; "
                "use predict for its values"
            )
        found = self._predict(X)["probabilities"]
        return np.asarray(found, dtype=np.float64).reshape(len(found), -1)

    def local_affine(self, X: Any) -> LocalAffine:
        """Each point's activation pattern and the affine map of the logits there."""
        return LocalAffine.from_dict(self._predict(X, include="pattern"))

    def weights(self, snapshot: int | None = None) -> Weights:
        """Fetch the weights (once), to compute predictions locally.

        ``snapshot=INDEX`` fetches those of a training snapshot (not cached).
        """
        if snapshot is not None:
            params = {"snapshot": snapshot}
            path = f"/v1/models/{self.id}/weights"
            return Weights.from_dict(self._client._json("GET", path, params=params))
        if self._weights is None:
            self._weights = Weights.from_dict(
                self._client._json("GET", f"/v1/models/{self.id}/weights")
            )
        return self._weights

    def snapshots(self) -> list[Snapshot]:
        """List the training snapshots of the fit, first iteration to last.

        The last is the model itself. Each has its iteration, loss and the
        pieces (one input) or regions (two inputs) it has; pass its ``index``
        as ``snapshot=`` to :meth:`knots`, :meth:`regions` or :meth:`weights`.

        Examples
        --------
        >>> model = client.fit(data, snapshots=20)  # doctest: +SKIP
        >>> [(s.iteration, s.n_pieces) for s in model.snapshots()]  # doctest: +SKIP
        """
        document = self._client._json("GET", f"/v1/models/{self.id}/snapshots")
        return [Snapshot.from_dict(entry) for entry in document["snapshots"]]

    def onnx(self) -> bytes:
        """Download the model as an ONNX file, to run it in onnxruntime or elsewhere.

        Returns
        -------
        bytes
            An ONNX model in float64 with input ``X`` of shape (N, n_features);
            its output ``predictions`` (N, n_outputs) for a regressor, or
            ``probabilities`` (N, n_classes) and ``logits`` for a classifier,
            equal :meth:`predict` and :meth:`predict_proba` to rounding. Class
            labels and feature names are in its metadata (``classes``,
            ``feature_names``, as JSON).

        Examples
        --------
        >>> import onnxruntime  # doctest: +SKIP
        >>> session = onnxruntime.InferenceSession(model.onnx())  # doctest: +SKIP
        >>> session.run(None, {"X": [[0.5]]})[0]  # doctest: +SKIP
        array([[0.24...]])
        """
        return self._client._request("GET", f"/v1/models/{self.id}/model.onnx").content

    def save_onnx(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`onnx` to ``path``; ``client.network(path)`` reads it back."""
        target = Path(path)
        target.write_bytes(self.onnx())
        return target

    def knots(
        self,
        lo: float | None = None,
        hi: float | None = None,
        *,
        max_pieces: int | None = None,
        axis: int | str | None = None,
        at: Any = None,
        start: Any = None,
        end: Any = None,
        snapshot: int | None = None,
        include_units: bool = False,
    ) -> Knots:
        """Exact knots and pieces of a one-input model, or of any model along a line.

        Parameters
        ----------
        lo, hi : float, optional
            The interval in the line's own coordinate: the feature's value along
            ``axis``, ``t`` in [0, 1] from ``start`` to ``end``. By default the
            training data's interval widened by 10% on each side.
        max_pieces : int, optional
            Fail (422) rather than compute more pieces than this (the service
            allows at most its ``pieces`` limit, see :meth:`Client.info`).
        axis : int or str, optional
            Cut along this feature (index or name) through ``at``.
        at : {"median", "mean"}, int, "row:K" or array-like of shape (n_features,)
            The reference point: the training data's median (default) or mean,
            a row of the data set, or a point.
        start, end : array-like of shape (n_features,), optional
            Cut along the segment between two points instead.
        snapshot : int, optional
            Use the weights of this training snapshot (see :meth:`snapshots`).
        include_units : bool, default=False
            Also report each hidden unit's activation on each piece and each
            last-layer unit's contribution to the output (``Knots.units``).

        Examples
        --------
        >>> model.knots(axis="age", at="median").x  # doctest: +SKIP
        """
        params = {
            "lo": lo,
            "hi": hi,
            "max_pieces": max_pieces,
            "snapshot": snapshot,
            "include": "units" if include_units else None,
            **slice_params(axis=axis, at=at, start=start, end=end),
        }
        document = self._client._json("GET", f"/v1/models/{self.id}/knots", params=params)
        return Knots.from_dict(document)

    def regions(
        self,
        box: Any = None,
        *,
        max_regions: int | None = None,
        axes: Sequence[int | str] | None = None,
        at: Any = None,
        origin: Any = None,
        u: Any = None,
        v: Any = None,
        snapshot: int | None = None,
        include_units: bool = False,
    ) -> Regions:
        """Exact activation regions of a two-input model, or of any model on a plane.

        Parameters
        ----------
        box : [[x_min, y_min], [x_max, y_max]], optional
            In the plane's own coordinates (the two features' values for
            ``axes``, ``s, t`` for ``origin, u, v``). By default the training
            data's bounding box widened by 10% per side, or [0, 1]² for ``u, v``.
        max_regions : int, optional
            Fail (422) rather than compute more regions than this.
        axes : pair of int or str, optional
            Cut the plane spanned by these two features through ``at``.
        at : {"median", "mean"}, int, "row:K" or array-like of shape (n_features,)
            The reference point (see :meth:`knots`).
        origin, u, v : array-like of shape (n_features,), optional
            Cut the plane ``origin + s u + t v`` instead.
        snapshot : int, optional
            Use the weights of this training snapshot (see :meth:`snapshots`).
        include_units : bool, default=False
            Also report each hidden unit's pre-activation on each region
            (``Regions.units``).

        Examples
        --------
        >>> model.regions(axes=("age", "income"), at=17).n_regions  # doctest: +SKIP
        """
        params: dict[str, Any] = {
            **_box_params(box),
            "max_regions": max_regions,
            "snapshot": snapshot,
            "include": "units" if include_units else None,
            **slice_params(axes=axes, at=at, origin=origin, u=u, v=v),
        }
        # The arrays as .npz (about a seventh of the JSON's bytes, no parsing of
        # numbers); a service that does not offer it answers JSON.
        response = self._client._request(
            "GET",
            f"/v1/models/{self.id}/regions",
            params=params,
            accept=f"{NPZ}, application/json;q=0.5",
        )
        return Regions.from_response(response)

    def geojson(
        self,
        box: Any = None,
        *,
        max_regions: int | None = None,
        axes: Sequence[int | str] | None = None,
        at: Any = None,
        origin: Any = None,
        u: Any = None,
        v: Any = None,
    ) -> dict[str, Any]:
        """Return the regions (and decision boundary) as a GeoJSON ``FeatureCollection``.

        The slice arguments are those of :meth:`regions`.
        """
        params: dict[str, Any] = {
            **_box_params(box),
            "max_regions": max_regions,
            "format": "geojson",
            **slice_params(axes=axes, at=at, origin=origin, u=u, v=v),
        }
        found: dict[str, Any] = self._client._json(
            "GET", f"/v1/models/{self.id}/regions", params=params
        )
        return found

    def plot(self, ax: Axes | None = None, *, color_by: str | None = None) -> Axes:
        """Draw what the model computes, from the service's exact geometry.

        1D: the data, the fitted function with its knots marked and its pieces
        shaded alternately, and the service's linear baseline (:attr:`baseline`)
        dashed. 2D: every region filled (see :meth:`Regions.plot` for ``color_by``), the decision
        boundary drawn exactly, and the data on top.
        """
        from relumap import plotting

        return plotting.plot_model(self, ax=ax, color_by=color_by)
