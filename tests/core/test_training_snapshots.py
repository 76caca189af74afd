"""Recording estimators, snapshot choice and unit maps, against scikit-learn and numpy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from relumap_service.core.network import Network
from relumap_service.core.snapshots import (
    IterateRecorder,
    pack_weights,
    snapshot_iterations,
    unpack_weights,
)
from relumap_service.core.training import (
    RecordingClassifier,
    RecordingRegressor,
    stop_reason,
    training_loss,
)
from relumap_service.core.unit_maps import contributions, unit_maps


@pytest.mark.parametrize(
    ("n_last", "k"), [(1, 1), (5, 5), (7, 40), (29, 10), (1000, 4), (5000, 40)]
)
def test_snapshot_iterations_are_distinct_and_geometric(n_last: int, k: int) -> None:
    chosen = snapshot_iterations(n_last, k)
    assert len(chosen) == min(n_last, k)
    assert chosen[0] == 1 and chosen[-1] == n_last
    assert all(b > a for a, b in zip(chosen, chosen[1:], strict=False))
    if n_last >= 10 * k:
        # Far from the bottom the grid is geometric: ratios of n_last ** (1 / (k - 1)).
        ratio = n_last ** (1 / (k - 1))
        tail = np.asarray(chosen[k // 2 :], dtype=float)
        np.testing.assert_allclose(tail[1:] / tail[:-1], ratio, rtol=0.2)


def test_a_thinned_recorder_still_ends_with_the_final_weights() -> None:
    recorder = IterateRecorder(n_snapshots=5, capacity=12)
    weights = [np.zeros((1, 1))], [np.zeros(1)]
    for i in range(1, 301):
        recorder.record(i, [weights[0][0] + i], [weights[1][0] + i], float(i))
    assert len(recorder.iterates) <= 13
    final = ([np.full((1, 1), -1.0)], [np.full(1, -1.0)])
    picked = recorder.select(300, final, 0.5)
    iterations = [p[0] for p in picked]
    assert iterations[-1] == 300 and picked[-1][1] is final and len(picked) <= 5
    assert iterations[0] == 1 and iterations == sorted(set(iterations))
    # Each earlier snapshot holds the weights recorded at its own iteration.
    for iteration, (coefs, _), loss in picked[:-1]:
        assert coefs[0][0, 0] == iteration == loss


def _data(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, X[:, 0] ** 2 - X[:, 1]


@pytest.mark.parametrize(
    ("solver", "classify", "early_stopping"),
    [("lbfgs", False, False), ("adam", False, False), ("sgd", False, False), ("adam", True, True)],
)
def test_recording_changes_nothing_in_the_fit(
    solver: str, classify: bool, early_stopping: bool
) -> None:
    X, y = _data()
    target = (y > np.median(y)).astype(int) if classify else y
    params = {
        "hidden_layer_sizes": (5,),
        "solver": solver,
        "max_iter": 15,
        "random_state": 1,
        "early_stopping": early_stopping,
    }
    plain_cls, recording_cls = (
        (MLPClassifier, RecordingClassifier) if classify else (MLPRegressor, RecordingRegressor)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = plain_cls(**params).fit(X, target)
        recording = recording_cls(**params)
        recording.recorder = IterateRecorder(n_snapshots=3, capacity=100)
        recording.fit(X, target)
    assert recording.n_iter_ == plain.n_iter_
    got = recording.coefs_ + recording.intercepts_
    for a, b in zip(got, plain.coefs_ + plain.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
    kept = recording.recorder.iterates
    assert sorted(kept) == list(range(1, plain.n_iter_ + 1))
    if early_stopping:  # the restored weights are those recorded at the best epoch
        best = int(np.argmax(plain.validation_scores_)) + 1
        np.testing.assert_array_equal(kept[best][0][0][0], plain.coefs_[0])
        return
    np.testing.assert_array_equal(kept[plain.n_iter_][0][0][0], plain.coefs_[0])
    expected = "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT" if solver == "lbfgs" else None
    assert stop_reason(recording) == (expected or "max_iter reached")


@pytest.mark.parametrize("n_classes", [2, 3])
def test_training_loss_is_scikit_learns_objective(n_classes: int) -> None:
    X, y = _data(90, seed=2)
    labels = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # lbfgs's loss_ is its objective at the final weights (adam's is an epoch's average).
        common = {"alpha": 0.3, "max_iter": 20, "solver": "lbfgs", "random_state": 0}
        clf = MLPClassifier(hidden_layer_sizes=(6, 4), **common).fit(X, labels)
        reg = MLPRegressor(hidden_layer_sizes=(6,), **common).fit(X, y)
    Y = (labels[:, None] == clf.classes_[None, :]).astype(float)
    Y = Y[:, 1:] if n_classes == 2 else Y
    got = training_loss(
        clf.coefs_,
        clf.intercepts_,
        X,
        Y,
        alpha=0.3,
        activation="relu",
        output_activation=clf.out_activation_,
    )
    np.testing.assert_allclose(got, clf.loss_, rtol=1e-12)
    regression = training_loss(
        reg.coefs_,
        reg.intercepts_,
        X,
        y[:, None],
        alpha=0.3,
        activation="relu",
        output_activation="identity",
    )
    np.testing.assert_allclose(regression, reg.loss_, rtol=1e-12)


def test_weights_survive_packing_bit_for_bit() -> None:
    rng = np.random.default_rng(4)
    net = Network([rng.normal(size=(2, 3)), rng.normal(size=(3, 1))], [rng.normal(size=3), [0.5]])
    again = unpack_weights(pack_weights(list(net.coefs), list(net.intercepts)), net)
    for a, b in zip(again.coefs + again.intercepts, net.coefs + net.intercepts, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="holds 3 numbers"):
        unpack_weights(np.zeros(3).tobytes(), net)


def test_unit_maps_and_contributions_match_a_forward_pass() -> None:
    rng = np.random.default_rng(5)
    net = Network(
        [rng.normal(size=(2, 5)), rng.normal(size=(5, 4)), rng.normal(size=(4, 2))],
        [rng.normal(size=5), rng.normal(size=4), rng.normal(size=2)],
    )
    X = rng.normal(size=(200, 2))
    _, layers = net.forward(X, return_patterns=True)
    maps = unit_maps(net, np.concatenate(layers, axis=1))
    h = X
    for m, w, b in zip(maps, net.coefs, net.intercepts, strict=False):
        z = h @ w + b
        np.testing.assert_allclose(
            np.einsum("rui,ri->ru", m.gradient, X) + m.intercept, z, atol=1e-12
        )
        h = np.maximum(z, 0.0)
        got = np.einsum("rui,ri->ru", m.activation_gradient, X) + m.activation_intercept
        np.testing.assert_allclose(got, h, atol=1e-12)
    parts = contributions(net, maps[-1])
    slope, offset = net.local_affine(X)
    np.testing.assert_allclose(parts.gradient.sum(axis=2), slope, atol=1e-12)
    np.testing.assert_allclose(parts.intercept.sum(axis=2) + parts.output_bias, offset, atol=1e-12)
