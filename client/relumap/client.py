"""The client: one ``requests.Session``, one private ``_request()`` every call goes through.

Examples
--------
>>> import relumap
>>> with relumap.Client("http://127.0.0.1:8000") as client:  # doctest: +SKIP
...     data = client.generate("square", n_samples=200, noise=0.05)
...     model = client.fit(data, hidden_layer_sizes=[16])
...     model.knots().x
array([-1.53..., -0.71..., ...])
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import requests
from urllib3.util import Retry

from relumap import _data
from relumap._network_files import NetworkSource, network_request
from relumap._polling import BAR_SECONDS, shows_bar
from relumap._session import (
    DEFAULT_TIMEOUT,
    DEFAULT_URL,
    IN_PROGRESS_RETRIES,
    build_session,
    resource_id,
    retry_after,
    timed_out,
    user_agent,
)
from relumap.comparison import Comparison
from relumap.datasets import Dataset
from relumap.errors import (
    ConnectionFailed,
    RelumapError,
    Timeout,
    ValidationError,
    error_from_response,
)
from relumap.models import Model
from relumap.weights import Weights

__all__ = ["Client"]

TimeoutSpec = float | tuple[float, float]


class Client:
    """A connection to a relumap service.

    Parameters
    ----------
    base_url : str, optional
        The service's address; else ``RELUMAP_URL``, else ``http://127.0.0.1:8000``.
    api_key : str, optional
        Sent as ``Authorization: Bearer <key>``; else ``RELUMAP_API_KEY``, if set.
    timeout : float or (float, float), default=(3.05, 60)
        Connect and read timeout of every request, in seconds; there is
        always one, so a stalled service never hangs the caller.
    retries : int or urllib3.util.Retry, default=3
        Retries, with exponential backoff and ``Retry-After`` honoured, after a
        connection error or a 429, 502, 503 or 504 answer. Creating POSTs carry
        an ``Idempotency-Key``, so a retry never creates a second resource.
    session : requests.Session, optional
        A session to use as it is (its adapters decide about retries); by
        default the client makes one with the retry policy above.

    Examples
    --------
    >>> client = Client("http://127.0.0.1:8000", timeout=10)  # doctest: +SKIP
    >>> client.info()["version"]  # doctest: +SKIP
    '0.1.0'
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: TimeoutSpec = DEFAULT_TIMEOUT,
        retries: int | Retry = 3,
        session: requests.Session | None = None,
    ) -> None:
        url = base_url or os.environ.get("RELUMAP_URL") or DEFAULT_URL
        self.base_url = url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("RELUMAP_API_KEY")
        if timeout is None or not all(t > 0 for t in np.atleast_1d(timeout)):
            raise ValidationError(
                f"timeout must be positive seconds or (connect, read), got {timeout!r}"
            )
        self.timeout = timeout
        self._limits: dict[str, int] | None = None
        self._owns_session = session is None
        self.session = build_session(retries) if session is None else session

    # -- lifecycle --------------------------------------------------------------------
    def close(self) -> None:
        """Close the session, if the client made it."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"

    # -- HTTP -------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        idempotent: bool = False,
        accept: str = "application/json",
    ) -> requests.Response:
        """Send one request; raise a :class:`RelumapError` for anything but success.

        ``idempotent`` adds an ``Idempotency-Key``, the same on every retry of
        this call, to a POST that creates something. ``accept`` is the
        ``Accept`` header (the region map's arrays come as .npz when asked).
        """
        url = self.base_url + path
        headers = {"User-Agent": user_agent(), "Accept": accept}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if idempotent:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        if content_type is not None:
            headers["Content-Type"] = content_type
        query = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(IN_PROGRESS_RETRIES + 1):
            response = self._send(method, url, query, json, data, headers)
            # A retried POST whose first attempt the service is still running gets
            # 409 with Retry-After; once that one ends, the same key replays it.
            busy = idempotent and response.status_code == 409 and "Retry-After" in response.headers
            if not busy or attempt == IN_PROGRESS_RETRIES:
                break
            time.sleep(retry_after(response.headers["Retry-After"]))
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _send(
        self,
        method: str,
        url: str,
        query: Mapping[str, Any],
        json: Any,
        data: bytes | None,
        headers: Mapping[str, str],
    ) -> requests.Response:
        """Send through the session; map requests' exceptions to relumap's."""
        try:
            return self.session.request(
                method,
                url,
                params=query,
                json=json,
                data=data,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.ConnectionError as exc:
            if timed_out(exc):
                raise Timeout(
                    f"{method} {url} timed out (timeout={self.timeout} s): {exc}", url=url
                ) from exc
            raise ConnectionFailed(
                f"could not reach the relumap service at {url}: {exc}; "
                "is it running, and is RELUMAP_URL right?",
                url=url,
            ) from exc
        except requests.Timeout as exc:
            raise Timeout(
                f"{method} {url} timed out (timeout={self.timeout} s): {exc}", url=url
            ) from exc
        except requests.RequestException as exc:
            raise RelumapError(f"{method} {url} failed: {exc}", url=url) from exc

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise RelumapError(
                f"the service answered {method} {path} with a body that is not JSON: "
                f"{response.text[:200]!r}",
                status=response.status_code,
                response=response,
                url=response.url,
            ) from None

    def limit(self, name: str, default: int) -> int:
        """Return a limit in force on the service (``GET /v1``, fetched once), or ``default``."""
        if self._limits is None:
            info = self.info()
            found = info.get("limits") if isinstance(info, Mapping) else None
            self._limits = dict(found) if isinstance(found, Mapping) else {}
        value = self._limits.get(name, default)
        return value if isinstance(value, int) and value > 0 else default

    def longest_wait(self, progress: bool | None = None) -> float:
        """Return the seconds one request may wait for a fit to end (``?wait``).

        Within the service's ``wait_seconds`` limit and well within the read
        timeout; one second while a progress bar shows the time waited.
        """
        read = self.timeout[1] if isinstance(self.timeout, tuple) else self.timeout
        longest = min(self.limit("wait_seconds", 60), 0.8 * read)
        return float(min(longest, BAR_SECONDS) if shows_bar(progress) else longest)

    def _pages(
        self, path: str, params: Mapping[str, Any], page: int | None, page_size: int | None
    ) -> Iterator[dict[str, Any]]:
        """Yield the items of one page, or of every page following ``X-Pagination``."""
        if page_size is None:
            page_size = self.limit("page_size", 100)
        number = page or 1
        while True:
            response = self._request(
                "GET", path, params={**params, "page": number, "page_size": page_size}
            )
            yield from response.json()
            meta = _data.pagination(response.headers.get("X-Pagination"))
            if page is not None or not meta.get("next_page"):
                return
            number = int(meta["next_page"])

    # -- service ----------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Return ``GET /v1``: name, version, limits in force and data set kinds."""
        found: dict[str, Any] = self._json("GET", "/v1")
        return found

    # -- datasets ---------------------------------------------------------------------
    def upload(
        self,
        X: Any,
        y: Any = None,
        name: str | None = None,
        *,
        target: str | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> Dataset:
        """Upload training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), DataFrame, or path
            Inputs (numpy, lists or pandas; up to the service's ``features``
            limit), or the path of a CSV file with a header row. A DataFrame's
            columns, like a CSV header, name the features.
        y : array-like of shape (n_samples,), optional
            Targets: numbers, or class labels (strings allowed). Leave it out
            for a CSV path, or for a DataFrame ``X`` with ``target=``.
        name : str, optional
            A name for the data set.
        target : str, optional
            The target column of a CSV file (default ``y``) or DataFrame.
        feature_names : sequence of str, optional
            Names of the columns of an array ``X`` (a DataFrame's are its columns).

        Returns
        -------
        Dataset

        Examples
        --------
        >>> client.upload([[0.0], [1.0], [2.0]], [0.0, 1.0, 4.0], name="tiny")  # doctest: +SKIP
        >>> client.upload("data.csv", target="price")  # doctest: +SKIP
        """
        if isinstance(X, str | os.PathLike):
            if y is not None:
                raise ValidationError("a CSV file holds its targets; name the column with target=")
            request = _data.csv_upload(Path(X), target, name)
        else:
            request = _data.json_upload(X, y, target, name, feature_names)
        return Dataset(self, self._json("POST", "/v1/datasets", idempotent=True, **request))

    def generate(
        self,
        kind: str,
        *,
        n_samples: int = 200,
        noise: float = 0.0,
        random_state: int | None = 0,
        name: str | None = None,
    ) -> Dataset:
        """Generate a built-in data set (``square``, ``xor``, ``spiral``, ...; see :meth:`info`).

        The same ``random_state`` gives the same data.
        """
        payload: dict[str, Any] = {
            "kind": kind,
            "n_samples": n_samples,
            "noise": noise,
            "random_state": random_state,
        }
        if name is not None:
            payload["name"] = name
        document = self._json("POST", "/v1/datasets/generate", json=payload, idempotent=True)
        return Dataset(self, document)

    def datasets(self, *, page: int | None = None, page_size: int | None = None) -> list[Dataset]:
        """List data sets, newest first: every page, or only ``page``.

        ``page_size`` defaults to the largest the service allows.
        """
        return [Dataset(self, d) for d in self._pages("/v1/datasets", {}, page, page_size)]

    def dataset(self, dataset_id: str) -> Dataset:
        """Fetch one data set (without its points; see :meth:`Dataset.data`)."""
        path = f"/v1/datasets/{resource_id(dataset_id, 'dataset')}"
        return Dataset(self, self._json("GET", path))

    # -- models -----------------------------------------------------------------------
    def fit(
        self,
        data: Dataset | str | tuple[Any, Any],
        *,
        hidden_layer_sizes: int | Sequence[int] = (16,),
        activation: str = "relu",
        task: str = "auto",
        solver: str = "lbfgs",
        alpha: float = 1e-4,
        learning_rate_init: float = 1e-3,
        max_iter: int = 1000,
        tol: float = 1e-4,
        early_stopping: bool = False,
        random_state: int | None = 0,
        test_fraction: float = 0.2,
        n_restarts: int = 1,
        standardize: bool = True,
        batch_size: int | str = "auto",
        snapshots: int = 0,
        wait: bool | float = True,
        progress: bool | None = None,
    ) -> Model:
        """Fit a network on the service's queue.

        Parameters
        ----------
        data : Dataset, str or (X, y)
            A data set, its id, or arrays to upload first.
        hidden_layer_sizes, activation, solver, alpha, learning_rate_init, max_iter, tol, \
early_stopping, random_state
            As in scikit-learn's ``MLPRegressor``; ``activation`` is ``"relu"``
            or ``"identity"``.
        task : {"auto", "regression", "classification"}, default="auto"
        test_fraction : float, default=0.2
            Held out to measure the test metrics (stratified for classifiers).
        n_restarts : int, default=1
            Fits from different seeds; the lowest training loss is kept.
        standardize : bool, default=True
            Standardize for training; the scalers are folded into the weights.
        batch_size : int or "auto", default="auto"
            Minibatch size of adam and sgd, as in scikit-learn.
        snapshots : int, default=0
            Keep the network at this many iterations of the fit, spread
            geometrically from the first to the last (the model itself); see
            :meth:`Model.snapshots`. At most the service's ``snapshots`` limit.
        wait : bool or float, default=True
            Wait for the fit to end, at most ``wait`` seconds if it is a
            number; ``False`` returns the queued model at once. The service
            answers the moment the fit ends (``?wait``; see :meth:`Model.wait`).
        progress : bool, optional
            Show a progress bar while waiting. By default one is shown when
            tqdm is installed and stderr is a terminal.

        Returns
        -------
        Model

        Raises
        ------
        FitFailed
            If the fit ends ``failed`` (waiting only).
        Timeout
            If it has not ended within ``wait`` seconds.
        """
        if isinstance(data, tuple):
            data = self.upload(*data)
        payload = {
            "dataset_id": resource_id(data, "dataset"),
            "task": task,
            "hidden_layer_sizes": _data.layer_sizes(hidden_layer_sizes),
            "activation": activation,
            "solver": solver,
            "alpha": alpha,
            "learning_rate_init": learning_rate_init,
            "max_iter": max_iter,
            "tol": tol,
            "early_stopping": early_stopping,
            "random_state": random_state,
            "test_fraction": test_fraction,
            "n_restarts": n_restarts,
            "standardize": standardize,
            "batch_size": batch_size,
            "snapshots": snapshots,
        }
        if wait is False:
            return Model(self, self._json("POST", "/v1/models", json=payload, idempotent=True))
        timeout = None if wait is True else float(wait)
        started = time.monotonic()
        first = self.longest_wait(progress)
        if timeout is not None:
            first = min(first, timeout)
        params = {"wait": round(first, 3)}
        model = Model(
            self, self._json("POST", "/v1/models", params=params, json=payload, idempotent=True)
        )
        left = None if timeout is None else max(timeout - (time.monotonic() - started), 0.0)
        return model.wait(left, progress=progress)

    def models(
        self,
        *,
        dataset: Dataset | str | None = None,
        status: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> list[Model]:
        """List models, newest first, optionally of one data set or with one status.

        Every page, or only ``page``; ``page_size`` defaults to the largest allowed.
        """
        params = {
            "dataset_id": None if dataset is None else resource_id(dataset, "dataset"),
            "status": status,
        }
        return [Model(self, m) for m in self._pages("/v1/models", params, page, page_size)]

    def model(self, model_id: str) -> Model:
        """Fetch one model."""
        return Model(self, self._json("GET", f"/v1/models/{resource_id(model_id, 'model')}"))

    def network(
        self,
        coefs: Sequence[Any] | Weights | NetworkSource,
        intercepts: Sequence[Any] | None = None,
        *,
        layout: str = "sklearn",
        activation: str = "relu",
        output_activation: str = "identity",
        negative_slope: float = 0.01,
        classes: Sequence[Any] | None = None,
        domain: Any = None,
        name: str | None = None,
    ) -> Model:
        """Store a hand-specified network as a model, to map its knots or regions.

        Parameters
        ----------
        coefs : sequence of array-like, Weights, mapping, bytes, str or path
            Weight matrices; ``coefs[i]`` has shape (n_in, n_out) in
            scikit-learn's layout, (n_out, n_in) in PyTorch's. A
            :class:`Weights` (say from ``model.weights()``) or a weights
            document (a mapping) gives everything. Bytes are an ONNX model
            (as ``torch.onnx.export``, skl2onnx or :meth:`Model.onnx` write
            it); a str or path names an ONNX file or a JSON weights document,
            told apart by the extension (``.onnx``, ``.json``), else by content.
            Only ``classes``, ``domain`` (not for ONNX) and ``name`` go with these.
        intercepts : sequence of array-like
            Bias vectors.
        layout : {"sklearn", "torch"}, default="sklearn"
        activation : {"relu", "identity", "leaky_relu"}, default="relu"
        output_activation : {"identity", "logistic", "softmax"}, default="identity"
        negative_slope : float, default=0.01
        classes : sequence, optional
            Class labels of a classifier.
        domain : [lo, hi] or [[x_min, y_min], [x_max, y_max]], optional
            Default interval or box for knots and regions.
        name : str, optional

        Returns
        -------
        Model
            Already ``succeeded``.

        Examples
        --------
        >>> absolute = client.network([[[1.0, -1.0]], [[1.0], [1.0]]],  # doctest: +SKIP
        ...                           [[0.0, 0.0], [0.0]], domain=[-2, 2])
        >>> absolute.knots().x  # doctest: +SKIP
        array([0.])
        """
        if isinstance(coefs, bytes | bytearray | str | os.PathLike | Mapping):
            defaults = {
                "intercepts": intercepts is None,
                "layout": layout == "sklearn",
                "activation": activation == "relu",
                "output_activation": output_activation == "identity",
                "negative_slope": negative_slope == 0.01,
            }
            given = [key for key, default in defaults.items() if not default]
            if given:
                raise ValidationError(
                    f"a network file, ONNX bytes or weights document holds the whole "
                    f"network; leave out {', '.join(given)}"
                )
            request = network_request(coefs, classes=classes, domain=domain, name=name)
            return Model(self, self._json("POST", "/v1/networks", idempotent=True, **request))
        document = _data.network_document(
            coefs,
            intercepts,
            layout=layout,
            activation=activation,
            output_activation=output_activation,
            negative_slope=negative_slope,
            classes=classes,
            domain=domain,
            name=name,
        )
        return Model(self, self._json("POST", "/v1/networks", json=document, idempotent=True))

    def compare(
        self,
        data: Dataset | str | tuple[Any, Any],
        *,
        wait: bool | float = True,
        progress: bool | None = None,
        **params: Any,
    ) -> Comparison:
        """Fit a ReLU and an identity network with the same settings, side by side.

        This answers the seed question in one call: the identity network is one
        affine map, no better than the linear baseline; the ReLU network bends.

        Parameters
        ----------
        data : Dataset, str or (X, y)
        wait, progress
            As in :meth:`fit`.
        **params
            Fit parameters shared by both, as in :meth:`fit` (not ``activation``).

        Returns
        -------
        Comparison
        """
        if "activation" in params:
            raise ValidationError("compare() fits both activations; do not pass activation=")
        if isinstance(data, tuple):
            data = self.upload(*data)
        queued = [
            self.fit(data, activation=activation, wait=False, **params)
            for activation in ("relu", "identity")
        ]
        if wait is not False:
            limit = None if wait is True else float(wait)
            for model in queued:
                model.wait(limit, progress=progress)
        return Comparison(relu=queued[0], identity=queued[1])
