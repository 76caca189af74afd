"""Built-in data sets: small 1-D and 2-D problems to fit and to look at.

Every kind is generated from ``numpy.random.default_rng(random_state)`` alone, so
the same arguments always give the same arrays. Each kind returns exactly
``n_samples`` rows; two-class kinds give class 0 ``n_samples // 2`` points and
class 1 the rest (the split of scikit-learn's ``make_moons``), and are shuffled.

What ``noise`` does depends on the kind (``KINDS[kind].noise`` says it in one line):

- regression kinds (``square``, ``abs``, ``sine``, ``step``, ``sawtooth``,
  ``plane``, ``bump``): Gaussian noise of standard deviation ``noise`` on ``y``;
- ``circle``, ``xor``, ``gauss``, ``spiral`` follow TensorFlow Playground's
  ``src/dataset.ts`` (``classifyCircleData``, ``classifyXORData``,
  ``classifyTwoGaussData``, ``classifySpiralData``), where ``noise`` lies in
  [0, 0.5] (the UI's 0-50 %); larger values are extrapolated the same way. Labels
  are mapped from Playground's {-1, 1} to {0, 1};
- ``moons``: Gaussian noise of standard deviation ``noise`` on ``X``, as
  ``sklearn.datasets.make_moons``;
- ``flower``: ``noise`` is the standard deviation of both Gaussian terms of
  ``load_planar_dataset`` (angle and radius), so ``noise=0.2`` reproduces the
  original and ``noise=0`` puts every point on the rose ``r = 4 sin 4t``.

Examples
--------
>>> data = generate("circle", n_samples=6, random_state=0)
>>> data.X.shape, sorted(data.y.tolist()), data.task
((6, 2), [0, 0, 0, 1, 1, 1], 'classification')
>>> KINDS["circle"].domain
((-6.0, 6.0), (-6.0, 6.0))
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "KINDS",
    "GeneratedData",
    "KindSpec",
    "generate",
]

Task = Literal["regression", "classification"]
FloatArray = NDArray[np.float64]
LabelArray = NDArray[np.int64]
Sampler = Callable[[np.random.Generator, int, float], tuple[FloatArray, FloatArray | LabelArray]]

_PLAYGROUND = ((-6.0, 6.0), (-6.0, 6.0))  # Playground's plotting window, radius 5 plus margin
_GAUSSIAN_ON_Y = "Gaussian noise of this standard deviation added to y"


@dataclass(frozen=True)
class KindSpec:
    """What one kind of data set is.

    Parameters
    ----------
    n_features : {1, 2}
        Number of input features, the width of ``X``.
    task : {"regression", "classification"}
        Whether ``y`` is a real target or a class label.
    n_classes : int or None
        Number of classes for classification, None for regression.
    description : str
        One line saying what the data look like.
    noise : str
        One line saying what the ``noise`` argument does for this kind.
    domain : tuple of (low, high) pairs, one per feature
        A window that holds the noise-free samples, for plotting and for sampling
        the fitted network.
    """

    n_features: int
    task: Task
    n_classes: int | None
    description: str
    noise: str
    domain: tuple[tuple[float, float], ...]


@dataclass(frozen=True, eq=False)
class GeneratedData:
    """A generated data set.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), dtype float64
        Inputs; read-only.
    y : ndarray of shape (n_samples,)
        float64 targets for regression, int64 labels ``0 .. n_classes - 1`` for
        classification; read-only.
    task : {"regression", "classification"}
        As ``KINDS[kind].task``.
    kind : str
        The key of ``KINDS`` it was generated from.
    description : str
        As ``KINDS[kind].description``.
    """

    X: FloatArray
    y: FloatArray | LabelArray
    task: Task
    kind: str
    description: str

    def __post_init__(self) -> None:
        self.X.setflags(write=False)
        self.y.setflags(write=False)


# -- 1-D regression: y = f(x) on a fixed interval -------------------------------------------


def _curve(f: Callable[[FloatArray], FloatArray], low: float, high: float) -> Sampler:
    def sample(rng: np.random.Generator, n: int, noise: float) -> tuple[FloatArray, FloatArray]:
        x = rng.uniform(low, high, size=n)
        return x[:, None], f(x) + rng.normal(0.0, noise, size=n)

    return sample


def _sawtooth(x: FloatArray) -> FloatArray:
    return x - np.floor(x)


def _step(x: FloatArray) -> FloatArray:
    return np.where(x >= 0.0, 1.0, 0.0)


# -- 2-D regression -------------------------------------------------------------------------


def _surface(f: Callable[[FloatArray, FloatArray], FloatArray], half_width: float) -> Sampler:
    def sample(rng: np.random.Generator, n: int, noise: float) -> tuple[FloatArray, FloatArray]:
        X = rng.uniform(-half_width, half_width, size=(n, 2))
        return X, f(X[:, 0], X[:, 1]) + rng.normal(0.0, noise, size=n)

    return sample


def _plane(x1: FloatArray, x2: FloatArray) -> FloatArray:
    return 0.5 * x1 - x2 + 1.0


def _bump(x1: FloatArray, x2: FloatArray) -> FloatArray:
    return np.exp(-0.5 * (x1**2 + x2**2))


# -- 2-D classification ---------------------------------------------------------------------


def _class_sizes(n: int) -> tuple[int, int]:
    return n // 2, n - n // 2


def _shuffled(
    rng: np.random.Generator, X0: FloatArray, X1: FloatArray, y: LabelArray | None = None
) -> tuple[FloatArray, LabelArray]:
    """Stack class 0 over class 1 (or use the given labels) and shuffle the rows."""
    X = np.concatenate([X0, X1])
    if y is None:
        y = np.repeat(np.array([0, 1], dtype=np.int64), [len(X0), len(X1)])
    order = rng.permutation(len(X))
    return X[order], y[order]


def _polar(r: FloatArray, t: FloatArray) -> FloatArray:
    # Playground and the planar data set both put sin on the first axis.
    return np.column_stack([r * np.sin(t), r * np.cos(t)])


def _circle(rng: np.random.Generator, n: int, noise: float) -> tuple[FloatArray, LabelArray]:
    # Inside radius 2.5 is class 1, the annulus 3.5..5 class 0; noise moves the point
    # at which the label is read, never the point itself (Playground's rule).
    n_out, n_in = _class_sizes(n)
    inner = _polar(rng.uniform(0.0, 2.5, n_in), rng.uniform(0.0, 2 * np.pi, n_in))
    outer = _polar(rng.uniform(3.5, 5.0, n_out), rng.uniform(0.0, 2 * np.pi, n_out))
    X = np.concatenate([outer, inner])
    shifted = X + rng.uniform(-5.0, 5.0, size=X.shape) * noise
    y = (np.hypot(shifted[:, 0], shifted[:, 1]) < 2.5).astype(np.int64)
    return _shuffled(rng, outer, inner, y)


def _xor(rng: np.random.Generator, n: int, noise: float) -> tuple[FloatArray, LabelArray]:
    # Each coordinate is pushed 0.3 away from its axis so that noise-free classes
    # are separated by a gap, as in Playground.
    X = rng.uniform(-5.0, 5.0, size=(n, 2))
    X += np.where(X > 0.0, 0.3, -0.3)
    shifted = X + rng.uniform(-5.0, 5.0, size=X.shape) * noise
    # sign product rather than x1 * x2, which could overflow for huge noise
    y = (np.sign(shifted[:, 0]) * np.sign(shifted[:, 1]) >= 0.0).astype(np.int64)
    return X, y


def _gauss(rng: np.random.Generator, n: int, noise: float) -> tuple[FloatArray, LabelArray]:
    # Playground maps noise in [0, 0.5] linearly to a variance in [0.5, 4].
    std = math.sqrt(0.5 + 7.0 * noise)
    n0, n1 = _class_sizes(n)
    return _shuffled(rng, rng.normal(-2.0, std, (n0, 2)), rng.normal(2.0, std, (n1, 2)))


def _spiral(rng: np.random.Generator, n: int, noise: float) -> tuple[FloatArray, LabelArray]:
    def arm(m: int, delta_t: float) -> FloatArray:
        s = np.arange(m) / m
        clean = _polar(5.0 * s, 1.75 * 2 * np.pi * s + delta_t)
        return clean + rng.uniform(-1.0, 1.0, size=(m, 2)) * noise

    n0, n1 = _class_sizes(n)
    return _shuffled(rng, arm(n0, np.pi), arm(n1, 0.0))


def _moons(rng: np.random.Generator, n: int, noise: float) -> tuple[FloatArray, LabelArray]:
    n_out, n_in = _class_sizes(n)
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    outer = np.column_stack([np.cos(t_out), np.sin(t_out)])
    inner = np.column_stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)])
    X, y = _shuffled(rng, outer, inner)
    return X + rng.normal(0.0, noise, size=X.shape), y


def _flower(rng: np.random.Generator, n: int, noise: float) -> tuple[FloatArray, LabelArray]:
    # load_planar_dataset: class j sweeps theta over [3.12 j, 3.12 (j + 1)] along the
    # rose r = 4 sin(4 theta); the two sweeps land on alternate petals.
    def petals(m: int, j: int) -> FloatArray:
        t = np.linspace(j * 3.12, (j + 1) * 3.12, m) + rng.normal(0.0, noise, m)
        r = 4.0 * np.sin(4.0 * t) + rng.normal(0.0, noise, m)
        return _polar(r, t)

    n0, n1 = _class_sizes(n)
    return _shuffled(rng, petals(n0, 0), petals(n1, 1))


# -- registry -------------------------------------------------------------------------------


def _regression(n_features: int, description: str, half_width: float) -> KindSpec:
    domain = ((-half_width, half_width),) * n_features
    return KindSpec(n_features, "regression", None, description, _GAUSSIAN_ON_Y, domain)


def _binary(description: str, noise: str, domain: tuple[tuple[float, float], ...]) -> KindSpec:
    return KindSpec(2, "classification", 2, description, noise, domain)


_LABEL_NOISE = "Playground noise in [0, 0.5]: labels read at a point moved by U(-5, 5) * noise"

_KINDS: dict[str, tuple[KindSpec, Sampler]] = {
    "square": (_regression(1, "y = x**2 on [-2, 2]", 2.0), _curve(np.square, -2.0, 2.0)),
    "abs": (_regression(1, "y = |x| on [-2, 2]", 2.0), _curve(np.abs, -2.0, 2.0)),
    "sine": (_regression(1, "y = sin(x) on [-pi, pi]", np.pi), _curve(np.sin, -np.pi, np.pi)),
    "step": (_regression(1, "y = 1 if x >= 0 else 0 on [-2, 2]", 2.0), _curve(_step, -2.0, 2.0)),
    "sawtooth": (
        _regression(1, "y = x - floor(x), four teeth on [-2, 2]", 2.0),
        _curve(_sawtooth, -2.0, 2.0),
    ),
    "plane": (
        _regression(2, "y = 0.5 x1 - x2 + 1 on [-6, 6]^2", 6.0),
        _surface(_plane, 6.0),
    ),
    "bump": (
        _regression(2, "y = exp(-(x1**2 + x2**2) / 2) on [-3, 3]^2", 3.0),
        _surface(_bump, 3.0),
    ),
    "circle": (
        _binary(
            "disc of radius 2.5 (class 1) inside a ring 3.5..5 (class 0)", _LABEL_NOISE, _PLAYGROUND
        ),
        _circle,
    ),
    "xor": (
        _binary(
            "class 1 where x1 * x2 >= 0, class 0 elsewhere, on [-5.3, 5.3]^2",
            _LABEL_NOISE,
            _PLAYGROUND,
        ),
        _xor,
    ),
    "gauss": (
        _binary(
            "two Gaussian blobs at (-2, -2) (class 0) and (2, 2) (class 1)",
            "Playground noise in [0, 0.5]: blob variance 0.5 + 7 * noise",
            _PLAYGROUND,
        ),
        _gauss,
    ),
    "spiral": (
        _binary(
            "two interleaved spirals of radius 5",
            "Playground noise in [0, 0.5]: points moved by U(-1, 1) * noise",
            _PLAYGROUND,
        ),
        _spiral,
    ),
    "moons": (
        _binary(
            "two interleaving half circles, as sklearn's make_moons",
            "Gaussian noise of this standard deviation added to X",
            ((-1.5, 2.5), (-1.0, 1.5)),
        ),
        _moons,
    ),
    "flower": (
        _binary(
            "eight-petal rose r = 4 sin(4 t), alternate petals per class",
            "standard deviation of angle and radius jitter; 0.2 is the original",
            ((-5.0, 5.0), (-5.0, 5.0)),
        ),
        _flower,
    ),
}

KINDS: Mapping[str, KindSpec] = MappingProxyType({k: spec for k, (spec, _) in _KINDS.items()})
"""Every kind :func:`generate` accepts, by name."""


def generate(
    kind: str, n_samples: int = 200, noise: float = 0.0, random_state: int | None = 0
) -> GeneratedData:
    """Generate one of the built-in data sets.

    Parameters
    ----------
    kind : str
        A key of :data:`KINDS`.
    n_samples : int, default=200
        Number of rows, at least 2.
    noise : float, default=0.0
        Non-negative; its meaning depends on the kind (see the module docstring and
        ``KINDS[kind].noise``). With 0 every regression target is exactly its formula.
    random_state : int or None, default=0
        Seed for ``numpy.random.default_rng``; None draws fresh entropy.

    Returns
    -------
    GeneratedData
        ``X`` of shape (n_samples, n_features) and ``y`` of shape (n_samples,).

    Raises
    ------
    ValueError
        If ``kind`` is unknown, ``n_samples < 2`` or ``noise`` is negative or not finite.
    TypeError
        If ``n_samples`` is not an integer.

    Examples
    --------
    >>> data = generate("square", n_samples=4, random_state=1)
    >>> data.X.shape, data.y.shape
    ((4, 1), (4,))
    >>> bool((data.y == data.X[:, 0] ** 2).all())
    True
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(sorted(_KINDS))}")
    n = operator.index(n_samples)
    if n < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    if not (math.isfinite(noise) and noise >= 0.0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    spec, sample = _KINDS[kind]
    X, y = sample(np.random.default_rng(random_state), n, float(noise))
    return GeneratedData(X, y, spec.task, kind, spec.description)
