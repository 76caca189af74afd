"""A model's weights, and the forward pass computed locally from them.

The arithmetic is the service's: both use :mod:`relumap_geometry.forward`, so
local predictions equal the service's to the last bit on the same platform:
``h @ W + b`` per layer, ``max(h, 0)`` for ReLU, ``(1 + tanh(z / 2)) / 2`` for
the logistic output and a max-shifted softmax.

Examples
--------
>>> import numpy as np
>>> w = Weights(coefs=(np.array([[1.0, -1.0]]), np.array([[1.0], [1.0]])),
...             intercepts=(np.zeros(2), np.zeros(1)))
>>> w.predict(np.array([[-2.0], [3.0]])).tolist()
[2.0, 3.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap._optional import require
from relumap.errors import ValidationError, WrongTask
from relumap_geometry.forward import activate, output_probabilities

__all__ = ["Weights"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Weights:
    """Weights in scikit-learn's layout: ``coefs[i]`` of shape (n_in, n_out).

    Attributes
    ----------
    coefs : tuple of ndarray, each of shape (n_in, n_out)
    intercepts : tuple of ndarray, each of shape (n_out,)
    activation : {"relu", "identity", "leaky_relu"}
        Activation of every hidden layer.
    output_activation : {"identity", "logistic", "softmax"}
    negative_slope : float
        Slope of ``leaky_relu`` below zero.
    classes : ndarray or None
        Class labels of a classifier, in the order of ``predict_proba``'s columns.
    task : {"regression", "classification"}
    feature_names : tuple of str
        The model's input names, as the service reports them (empty if none).
    """

    coefs: tuple[FloatArray, ...]
    intercepts: tuple[FloatArray, ...]
    activation: str = "relu"
    output_activation: str = "identity"
    negative_slope: float = 0.01
    classes: NDArray[Any] | None = None
    task: str = "regression"
    feature_names: tuple[str, ...] = ()

    def __repr__(self) -> str:
        widths = " -> ".join(
            str(n) for n in (self.n_features, *self.hidden_layer_sizes, self.n_outputs)
        )
        return (
            f"<Weights {widths}: {self.task}, {self.activation}, {self.output_activation} output>"
        )

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Weights:
        """Build from the weights document of ``GET /v1/models/{id}/weights``."""
        coefs = [np.asarray(c, dtype=np.float64) for c in document["coefs"]]
        if document.get("layout", "sklearn") == "torch":
            coefs = [c.T for c in coefs]
        classes = document.get("classes")
        return cls(
            coefs=tuple(coefs),
            intercepts=tuple(np.asarray(b, dtype=np.float64) for b in document["intercepts"]),
            activation=document.get("activation", "relu"),
            output_activation=document.get("output_activation", "identity"),
            negative_slope=float(document.get("negative_slope", 0.01)),
            classes=None if classes is None else np.asarray(classes),
            task=document.get("task", "regression" if classes is None else "classification"),
            feature_names=tuple(document.get("feature_names") or ()),
        )

    @property
    def n_features(self) -> int:
        """Number of inputs."""
        return int(self.coefs[0].shape[0])

    @property
    def n_outputs(self) -> int:
        """Number of outputs (logits)."""
        return int(self.coefs[-1].shape[1])

    @property
    def hidden_layer_sizes(self) -> tuple[int, ...]:
        """Width of each hidden layer."""
        return tuple(int(c.shape[1]) for c in self.coefs[:-1])

    def _check(self, X: ArrayLike) -> FloatArray:
        array = np.asarray(X, dtype=np.float64)
        if array.ndim == 1 and self.n_features == 1:
            array = array.reshape(-1, 1)
        if array.ndim != 2 or array.shape[1] != self.n_features:
            raise ValidationError(
                f"X must have shape (n_samples, {self.n_features}), got {array.shape}"
            )
        return array

    def logits(self, X: ArrayLike) -> FloatArray:
        """Return the outputs before the output activation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
        """
        h = self._check(X)
        for w, b in zip(self.coefs[:-1], self.intercepts[:-1], strict=True):
            h = activate(h @ w + b, self.activation, self.negative_slope)
        out: FloatArray = h @ self.coefs[-1] + self.intercepts[-1]
        return out

    def predict_proba(self, X: ArrayLike) -> FloatArray:
        """Return class probabilities of shape (n_samples, n_classes) for a classifier."""
        if self.output_activation in ("logistic", "softmax"):
            return output_probabilities(self.logits(X), self.output_activation)
        raise WrongTask(
            "these are the weights of a regressor, which has no class probabilities; use predict"
        )

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Predict as the service does: values for a regressor, class labels for a classifier.

        Returns
        -------
        ndarray of shape (n_samples,), or (n_samples, n_outputs) for a
        regressor with several outputs.
        """
        if self.output_activation == "identity":
            z = self.logits(X)
            return z[:, 0] if z.shape[1] == 1 else z
        index = np.argmax(self.predict_proba(X), axis=1)
        labels = np.arange(self.n_outputs) if self.classes is None else self.classes
        result: NDArray[Any] = np.asarray(labels)[index]
        return result

    def to_dict(self) -> dict[str, Any]:
        """Return the weights document, as ``POST /v1/networks`` takes it back."""
        return {
            "layout": "sklearn",
            "coefs": [c.tolist() for c in self.coefs],
            "intercepts": [b.tolist() for b in self.intercepts],
            "activation": self.activation,
            "output_activation": self.output_activation,
            "negative_slope": self.negative_slope,
            "classes": None if self.classes is None else self.classes.tolist(),
            "task": self.task,
            "n_features": self.n_features,
            **({"feature_names": list(self.feature_names)} if self.feature_names else {}),
        }

    def to_frame(self) -> Any:
        """Return one row per weight and bias: ``layer``, ``input``, ``output``, ``value``.

        Layers are numbered from 1; a bias has ``input`` equal to -1.
        """
        pandas = require("pandas", "Weights.to_frame()")
        rows: list[tuple[int, int, int, float]] = []
        for layer, (w, b) in enumerate(zip(self.coefs, self.intercepts, strict=True), start=1):
            rows += [(layer, i, o, float(w[i, o])) for i, o in np.ndindex(*w.shape)]
            rows += [(layer, -1, o, float(value)) for o, value in enumerate(b)]
        return pandas.DataFrame(rows, columns=["layer", "input", "output", "value"])
