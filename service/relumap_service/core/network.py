"""A multilayer perceptron held as plain arrays, in scikit-learn's layout.

``coefs[i]`` has shape ``(n_in, n_out)`` and ``intercepts[i]`` shape ``(n_out,)``,
exactly as ``MLPRegressor.coefs_`` and ``MLPRegressor.intercepts_``. Every hidden
layer uses the same piecewise-linear activation; the output activation only
maps logits to probabilities, so all geometry works on the logits.

Examples
--------
>>> import numpy as np
>>> net = Network([np.array([[1.0, -1.0]]), np.array([[1.0], [1.0]])],
...               [np.zeros(2), np.zeros(1)])
>>> net.predict(np.array([[-2.0], [3.0]])).ravel().tolist()
[2.0, 3.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap_geometry.forward import activate, output_probabilities

__all__ = [
    "HIDDEN_ACTIVATIONS",
    "OUTPUT_ACTIVATIONS",
    "Network",
]

HIDDEN_ACTIVATIONS = ("relu", "identity", "leaky_relu")
OUTPUT_ACTIVATIONS = ("identity", "logistic", "softmax")

HiddenActivation = Literal["relu", "identity", "leaky_relu"]
OutputActivation = Literal["identity", "logistic", "softmax"]
Layout = Literal["sklearn", "torch"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _as_matrix(value: ArrayLike, name: str) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _as_vector(value: ArrayLike, name: str) -> FloatArray:
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


@dataclass(frozen=True, eq=False)
class Network:
    """A fully connected network with piecewise-linear hidden activations.

    Parameters
    ----------
    coefs : sequence of array-like, each of shape (n_in, n_out)
        Weight matrices, first layer first (scikit-learn's layout).
    intercepts : sequence of array-like, each of shape (n_out,)
        Bias vectors, one per weight matrix.
    hidden_activation : {"relu", "identity", "leaky_relu"}, default="relu"
        Activation of every hidden layer.
    output_activation : {"identity", "logistic", "softmax"}, default="identity"
        Applied to the logits by :meth:`predict`; geometry ignores it.
    negative_slope : float, default=0.01
        Slope of ``leaky_relu`` for negative inputs.

    Raises
    ------
    ValueError
        If shapes do not chain, values are not finite or an activation is unknown.
    """

    coefs: tuple[FloatArray, ...]
    intercepts: tuple[FloatArray, ...]
    hidden_activation: HiddenActivation = "relu"
    output_activation: OutputActivation = "identity"
    negative_slope: float = field(default=0.01)

    def __init__(
        self,
        coefs: Sequence[ArrayLike],
        intercepts: Sequence[ArrayLike],
        hidden_activation: str = "relu",
        output_activation: str = "identity",
        negative_slope: float = 0.01,
    ) -> None:
        if len(coefs) == 0 or len(coefs) != len(intercepts):
            raise ValueError(
                f"need one intercept vector per weight matrix and at least one layer, "
                f"got {len(coefs)} weight matrices and {len(intercepts)} intercept vectors"
            )
        weights = tuple(_as_matrix(c, f"coefs[{i}]") for i, c in enumerate(coefs))
        biases = tuple(_as_vector(b, f"intercepts[{i}]") for i, b in enumerate(intercepts))
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            if b.shape[0] != w.shape[1]:
                raise ValueError(
                    f"intercepts[{i}] has {b.shape[0]} entries but coefs[{i}] has "
                    f"{w.shape[1]} output units"
                )
            if i > 0 and weights[i - 1].shape[1] != w.shape[0]:
                raise ValueError(
                    f"coefs[{i}] expects {w.shape[0]} inputs but layer {i - 1} has "
                    f"{weights[i - 1].shape[1]} units"
                )
        if hidden_activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"hidden_activation must be one of {HIDDEN_ACTIVATIONS}, got {hidden_activation!r}"
            )
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"output_activation must be one of {OUTPUT_ACTIVATIONS}, got {output_activation!r}"
            )
        if not (np.isfinite(negative_slope) and 0.0 <= negative_slope < 1.0):
            raise ValueError(f"negative_slope must lie in [0, 1), got {negative_slope}")
        for array in (*weights, *biases):
            array.setflags(write=False)
        object.__setattr__(self, "coefs", weights)
        object.__setattr__(self, "intercepts", biases)
        object.__setattr__(self, "hidden_activation", hidden_activation)
        object.__setattr__(self, "output_activation", output_activation)
        object.__setattr__(self, "negative_slope", float(negative_slope))

    # -- construction -----------------------------------------------------------------
    @classmethod
    def from_layout(
        cls,
        coefs: Sequence[ArrayLike],
        intercepts: Sequence[ArrayLike],
        layout: Layout = "sklearn",
        **kwargs: Any,
    ) -> Network:
        """Build from weights in scikit-learn's or PyTorch's layout.

        ``torch.nn.Linear.weight`` has shape ``(n_out, n_in)``; it is transposed here.
        """
        if layout == "torch":
            coefs = [np.asarray(c, dtype=np.float64).T for c in coefs]
        elif layout != "sklearn":
            raise ValueError(f"layout must be 'sklearn' or 'torch', got {layout!r}")
        return cls(coefs, intercepts, **kwargs)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Network:
        """Build from a weights document as written by :meth:`to_dict`."""
        return cls.from_layout(
            document["coefs"],
            document["intercepts"],
            document.get("layout", "sklearn"),
            hidden_activation=document.get("activation", "relu"),
            output_activation=document.get("output_activation", "identity"),
            negative_slope=document.get("negative_slope", 0.01),
        )

    @classmethod
    def from_sklearn(cls, estimator: Any) -> Network:
        """Build from a fitted ``MLPRegressor`` or ``MLPClassifier``."""
        activation = estimator.activation
        if activation not in ("relu", "identity"):
            raise ValueError(
                f"only piecewise-linear hidden activations are supported, got {activation!r}"
            )
        return cls(
            estimator.coefs_,
            estimator.intercepts_,
            hidden_activation=activation,
            output_activation=estimator.out_activation_,
        )

    # -- shape ------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        """Number of input features."""
        return int(self.coefs[0].shape[0])

    @property
    def n_outputs(self) -> int:
        """Number of outputs (logits)."""
        return int(self.coefs[-1].shape[1])

    @property
    def hidden_layer_sizes(self) -> tuple[int, ...]:
        """Width of each hidden layer."""
        return tuple(int(w.shape[1]) for w in self.coefs[:-1])

    @property
    def is_piecewise_linear(self) -> bool:
        """False when every hidden layer is the identity, so the network is affine."""
        return self.hidden_activation != "identity" and len(self.coefs) > 1

    # -- evaluation -------------------------------------------------------------------
    def activate(self, pre: FloatArray) -> FloatArray:
        """Apply the hidden activation to pre-activations."""
        return activate(pre, self.hidden_activation, self.negative_slope)

    def branch_slopes(self, on: BoolArray) -> FloatArray:
        """Slope of the hidden activation on the branch each unit is on.

        Parameters
        ----------
        on : ndarray of bool, any shape
            Activation pattern.

        Returns
        -------
        ndarray of float, same shape as ``on``
            1 where the unit is on; 0 (ReLU), ``negative_slope`` (leaky ReLU) or 1
            (identity) where it is off.
        """
        if self.hidden_activation == "identity":
            return np.ones(np.shape(on))
        on = np.asarray(on, dtype=bool)
        if self.hidden_activation == "relu":
            return on.astype(np.float64)  # a tenth of np.where's time
        slopes: FloatArray = np.take(np.array([self.negative_slope, 1.0]), on.view(np.uint8))
        return slopes

    def forward(
        self, X: ArrayLike, *, return_patterns: bool = False
    ) -> FloatArray | tuple[FloatArray, list[BoolArray]]:
        """Compute the logits, and optionally the activation pattern of each point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_inputs)
        return_patterns : bool, default=False
            Also return, per hidden layer, a boolean array of shape
            (n_samples, n_units) that is True where the unit's pre-activation is
            strictly positive (the unit is on the identity branch).

        Returns
        -------
        logits : ndarray of shape (n_samples, n_outputs)
        patterns : list of ndarray, only when ``return_patterns`` is True
        """
        h = self._check_input(X)
        patterns: list[BoolArray] = []
        for w, b in zip(self.coefs[:-1], self.intercepts[:-1], strict=True):
            pre = h @ w + b
            if return_patterns:
                patterns.append(pre > 0.0)
            h = self.activate(pre)
        logits: FloatArray = h @ self.coefs[-1] + self.intercepts[-1]
        if return_patterns:
            return logits, patterns
        return logits

    def logits(self, X: ArrayLike) -> FloatArray:
        """Compute the logits of shape (n_samples, n_outputs)."""
        out = self.forward(X)
        assert isinstance(out, np.ndarray)
        return out

    def predict(self, X: ArrayLike) -> FloatArray:
        """Apply the output activation to the logits.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
            Regression values, or class probabilities for ``logistic`` (the
            probability of the positive class) and ``softmax``.
        """
        z = self.logits(X)
        if self.output_activation == "logistic":
            out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
            return out
        if self.output_activation == "softmax":
            return output_probabilities(z, "softmax")
        return z

    def predict_proba(self, X: ArrayLike) -> FloatArray:
        """Class probabilities, one column per class, for a classifier.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            For a binary (``logistic``) network, ``n_classes`` is 2.

        Raises
        ------
        ValueError
            If the output activation is ``identity``.
        """
        if self.output_activation == "identity":
            raise ValueError("a network with identity output is a regressor; use predict")
        return output_probabilities(self.logits(X), self.output_activation)

    def local_affine(self, X: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Return the affine map of the logits on the activation region of each point.

        Near a point whose pre-activations are all non-zero the network equals
        ``gradient @ x + intercept``; this is that map.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_inputs)

        Returns
        -------
        gradients : ndarray of shape (n_samples, n_outputs, n_inputs)
        intercepts : ndarray of shape (n_samples, n_outputs)
        """
        X = self._check_input(X)
        n = X.shape[0]
        slope = np.broadcast_to(np.eye(self.n_inputs), (n, self.n_inputs, self.n_inputs))
        offset = np.zeros((n, self.n_inputs))
        x = X
        for i, (w, b) in enumerate(zip(self.coefs, self.intercepts, strict=True)):
            pre = x @ w + b
            slope, offset = slope @ w, offset @ w + b
            if i < len(self.coefs) - 1:
                gain = self.branch_slopes(pre > 0.0)
                slope, offset = slope * gain[:, None, :], offset * gain
                x = self.activate(pre)
        return np.transpose(slope, (0, 2, 1)), offset

    def equivalent_linear_map(self) -> tuple[FloatArray, FloatArray]:
        """Collapse an identity network into one affine map ``X @ W + b``.

        Returns
        -------
        W : ndarray of shape (n_inputs, n_outputs)
        b : ndarray of shape (n_outputs,)

        Raises
        ------
        ValueError
            If the hidden activation is not the identity.
        """
        if self.is_piecewise_linear:
            raise ValueError(
                f"a {self.hidden_activation} network is not one affine map; "
                "use knots_1d or regions_2d to get its pieces"
            )
        weight = np.eye(self.n_inputs)
        bias = np.zeros(self.n_inputs)
        for w, b in zip(self.coefs, self.intercepts, strict=True):
            weight = weight @ w
            bias = bias @ w + b
        return weight, bias

    def to_dict(self, layout: Layout = "sklearn") -> dict[str, Any]:
        """Return a JSON-ready weights document."""
        coefs = [w.T if layout == "torch" else w for w in self.coefs]
        return {
            "layout": layout,
            "coefs": [c.tolist() for c in coefs],
            "intercepts": [b.tolist() for b in self.intercepts],
            "activation": self.hidden_activation,
            "output_activation": self.output_activation,
            "negative_slope": self.negative_slope,
        }

    def _check_input(self, X: ArrayLike) -> FloatArray:
        array = np.asarray(X, dtype=np.float64)
        if array.ndim == 1 and self.n_inputs == 1:
            array = array.reshape(-1, 1)
        if array.ndim != 2 or array.shape[1] != self.n_inputs:
            raise ValueError(f"X must have shape (n_samples, {self.n_inputs}), got {array.shape}")
        return array
