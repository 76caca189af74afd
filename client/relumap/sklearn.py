"""scikit-learn estimators that fit on a relumap service (extra ``sklearn``).

:class:`RemoteMLPRegressor` and :class:`RemoteMLPClassifier` take the
parameters of ``MLPRegressor`` and ``MLPClassifier`` that the service
supports, with the same names and defaults, plus where the service is.
``fit`` uploads the data and fits remotely; ``predict`` then runs locally on
the fetched weights, with the service's arithmetic, so it needs no round trip
and returns what the service would. They follow scikit-learn's estimator rules
(``__init__`` stores its arguments unchanged, learned state ends in ``_``), so
``clone``, ``Pipeline``, ``cross_val_score`` and ``GridSearchCV`` work.

Examples
--------
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from relumap.sklearn import RemoteMLPRegressor
>>> pipe = make_pipeline(StandardScaler(), RemoteMLPRegressor((16,), solver="lbfgs"))
>>> pipe.fit(X, y).predict(X[:3])  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

try:
    from sklearn.base import (
        BaseEstimator,
        ClassifierMixin,
        RegressorMixin,
    )
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "relumap.sklearn needs scikit-learn, which is not installed; "
        "install it with: pip install 'relumap[sklearn]'"
    ) from exc

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - scikit-learn < 1.6 has it as a method

    def validate_data(estimator: Any, *args: Any, **kwargs: Any) -> Any:
        """Check X (and y), and set or check ``n_features_in_`` and ``feature_names_in_``."""
        return estimator._validate_data(*args, **kwargs)


from relumap._data import layer_sizes
from relumap.client import Client
from relumap.errors import ValidationError
from relumap.weights import Weights

__all__ = ["RemoteMLPClassifier", "RemoteMLPRegressor"]


class _RemoteMLP(BaseEstimator):  # type: ignore[misc]
    """Parameters and fitting shared by the regressor and the classifier."""

    _task = "regression"

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate_init: float = 0.001,
        max_iter: int = 200,
        tol: float = 1e-4,
        early_stopping: bool = False,
        random_state: int | None = None,
        n_restarts: int = 1,
        standardize: bool = True,
        test_fraction: float = 0.0,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | tuple[float, float] | None = None,
        keep_on_service: bool = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.random_state = random_state
        self.n_restarts = n_restarts
        self.standardize = standardize
        self.test_fraction = test_fraction
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self.keep_on_service = keep_on_service

    def _client(self) -> Client:
        if self.timeout is None:
            return Client(self.base_url, api_key=self.api_key)
        return Client(self.base_url, api_key=self.api_key, timeout=self.timeout)

    def _fit(self, X: Any, y: Any) -> Any:
        # scikit-learn's own check: it sets n_features_in_, and feature_names_in_
        # for a DataFrame with string column names, which predict then enforces.
        X, y = validate_data(
            self, X, y, reset=True, dtype=np.float64, y_numeric=self._task == "regression"
        )
        if self._task == "classification":
            # scikit-learn's message for a continuous target: "Unknown label type: ..."
            check_classification_targets(y)
        if X.shape[0] < 2:
            # Said here, in scikit-learn's words, rather than after an upload.
            raise ValidationError(
                f"{type(self).__name__} needs at least 2 samples to fit, got n_samples={X.shape[0]}"
            )
        sizes = layer_sizes(self.hidden_layer_sizes)
        names = getattr(self, "feature_names_in_", None)
        with self._client() as client:
            dataset = client.upload(
                X,
                y,
                name=type(self).__name__,
                feature_names=None if names is None else [str(n) for n in names],
            )
            try:
                model = client.fit(
                    dataset,
                    task=self._task,
                    hidden_layer_sizes=sizes,
                    activation=self.activation,
                    solver=self.solver,
                    alpha=self.alpha,
                    batch_size=self.batch_size,
                    learning_rate_init=self.learning_rate_init,
                    max_iter=self.max_iter,
                    tol=self.tol,
                    early_stopping=self.early_stopping,
                    random_state=self.random_state,
                    test_fraction=self.test_fraction,
                    n_restarts=self.n_restarts,
                    standardize=self.standardize,
                    progress=False,
                )
                weights = model.weights()
                geometry: dict[str, Any] = {}
                if X.shape[1] == 1:
                    geometry["knots_"] = model.knots().x
                elif X.shape[1] == 2:
                    geometry["n_regions_"] = model.regions().n_regions
            finally:
                # Everything the estimator needs is fetched by now; a grid search
                # would otherwise leave one data set and model per fit behind.
                if not self.keep_on_service:
                    dataset.delete(cascade=True)
        for warning in model.warnings:
            category = (
                ConvergenceWarning
                if warning.get("category") == "ConvergenceWarning"
                else UserWarning
            )
            warnings.warn(f"on the service: {warning.get('message')}", category, stacklevel=3)
        self.model_id_ = model.id if self.keep_on_service else None
        self.dataset_id_ = dataset.id if self.keep_on_service else None
        self.coefs_ = list(weights.coefs)
        self.intercepts_ = list(weights.intercepts)
        self.n_layers_ = len(self.coefs_) + 1
        self.n_outputs_ = weights.n_outputs
        self.out_activation_ = weights.output_activation
        self.n_iter_ = model.n_iter
        self.loss_ = model.loss
        curve = model.loss_curve
        self.loss_curve_ = None if curve is None else curve.tolist()
        self.stop_reason_ = model.stop_reason
        self.metrics_ = model.metrics
        for name, value in geometry.items():
            setattr(self, name, value)
        if weights.classes is not None:
            self.classes_ = weights.classes
        return self

    def _weights(self) -> Weights:
        check_is_fitted(self, "coefs_")
        return Weights(
            coefs=tuple(self.coefs_),
            intercepts=tuple(self.intercepts_),
            activation=self.activation,
            output_activation=self.out_activation_,
            classes=getattr(self, "classes_", None),
            task=self._task,
        )

    def _inputs(self, X: Any) -> NDArray[np.float64]:
        check_is_fitted(self, "coefs_")
        # Raises scikit-learn's errors for a wrong width or reordered or missing names.
        array: NDArray[np.float64] = validate_data(self, X, reset=False, dtype=np.float64)
        return array

    def predict(self, X: Any) -> NDArray[Any]:
        """Predict locally from the fetched weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            Values for the regressor, labels from ``classes_`` for the classifier.
        """
        return self._weights().predict(self._inputs(X))


class RemoteMLPRegressor(RegressorMixin, _RemoteMLP):  # type: ignore[misc]
    """A multilayer perceptron regressor fitted on a relumap service.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer; one int is one layer, as in scikit-learn.
    activation : {"relu", "identity"}, default="relu"
    solver : {"lbfgs", "adam", "sgd"}, default="adam"
    alpha, batch_size, learning_rate_init, max_iter, tol, early_stopping, random_state
        As in ``sklearn.neural_network.MLPRegressor``.
    n_restarts : int, default=1
        Fits from successive seeds; the lowest training loss is kept.
    standardize : bool, default=True
        Standardize inputs and target for training; the scalers are folded
        into the weights, so ``coefs_`` work on raw inputs.
    test_fraction : float, default=0.0
        Held out on the service for its test metrics (``metrics_``); 0 trains
        on all of ``X`` as scikit-learn does.
    base_url, api_key : str, optional
        Where the service is; default ``RELUMAP_URL`` and ``RELUMAP_API_KEY``.
    timeout : float or (float, float), optional
        Timeout of each request; the client's default otherwise.
    keep_on_service : bool, default=False
        Keep the uploaded data set and the model on the service. By default
        both are deleted once ``fit`` has fetched the weights, metrics and
        geometry, so that fits (a grid search makes many) leave nothing behind.

    Attributes
    ----------
    model_id_, dataset_id_ : str or None
        The model and data set on the service with ``keep_on_service=True``;
        None otherwise, since they were deleted.
    coefs_, intercepts_ : list of ndarray
        The weights in scikit-learn's layout.
    n_iter_ : int
    loss_ : float
    loss_curve_ : list of float or None
        Loss per iteration (per epoch for adam and sgd, at each iterate for lbfgs).
    stop_reason_ : str or None
        The solver's own reason for stopping (L-BFGS-B's message, "max_iter reached"...).
    metrics_ : relumap.Metrics
        Train (and test) metrics beside the linear baseline's.
    knots_ : ndarray of shape (n_knots,)
        Exact knots of a one-feature fit.
    n_regions_ : int
        Number of activation regions of a two-feature fit.
    n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_
        As in ``MLPRegressor``: a DataFrame's column names are kept (and sent
        to the service), and ``predict`` refuses columns reordered or missing.

    Examples
    --------
    >>> reg = RemoteMLPRegressor((16,), solver="lbfgs", max_iter=2000)  # doctest: +SKIP
    >>> reg.fit(X, y).knots_  # doctest: +SKIP
    """

    _task = "regression"

    def fit(self, X: Any, y: Any) -> RemoteMLPRegressor:
        """Upload ``X`` and ``y`` and fit remotely; return ``self``."""
        fitted: RemoteMLPRegressor = self._fit(X, y)
        return fitted


class RemoteMLPClassifier(ClassifierMixin, _RemoteMLP):  # type: ignore[misc]
    """A multilayer perceptron classifier fitted on a relumap service.

    Parameters are those of :class:`RemoteMLPRegressor`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the order of ``predict_proba``'s columns.
    model_id_, dataset_id_, coefs_, intercepts_, n_iter_, loss_, loss_curve_, stop_reason_, \
metrics_, knots_, n_regions_
        As in :class:`RemoteMLPRegressor`.
    """

    _task = "classification"

    def fit(self, X: Any, y: Any) -> RemoteMLPClassifier:
        """Upload ``X`` and ``y`` and fit remotely; return ``self``."""
        fitted: RemoteMLPClassifier = self._fit(X, y)
        return fitted

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Class probabilities of shape (n_samples, n_classes), computed locally."""
        return self._weights().predict_proba(self._inputs(X))
