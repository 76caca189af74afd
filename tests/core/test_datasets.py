"""Tests for relumap_service.core.datasets, checked against closed forms and geometry."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relumap_service.core.datasets import KINDS, GeneratedData, generate

ALL_KINDS = sorted(KINDS)
CLASSIFICATION = [k for k in ALL_KINDS if KINDS[k].task == "classification"]
REGRESSION = [k for k in ALL_KINDS if KINDS[k].task == "regression"]
# Kinds built as two fixed-size classes (every kind but xor, whose label is a rule).
TWO_GROUPS = [k for k in CLASSIFICATION if k != "xor"]

# Written out again here, independently of the module, from the kinds' descriptions.
CLOSED_FORMS = {
    "square": lambda X: X[:, 0] ** 2,
    "abs": lambda X: np.abs(X[:, 0]),
    "sine": lambda X: np.sin(X[:, 0]),
    "step": lambda X: (X[:, 0] >= 0).astype(float),
    "sawtooth": lambda X: np.mod(X[:, 0], 1.0),
    "plane": lambda X: 0.5 * X[:, 0] - X[:, 1] + 1.0,
    "bump": lambda X: np.exp(-(X[:, 0] ** 2 + X[:, 1] ** 2) / 2.0),
}


def test_the_expected_kinds_are_offered() -> None:
    assert set(KINDS) == {
        *("square", "abs", "sine", "step", "sawtooth", "plane", "bump"),
        *("circle", "xor", "gauss", "spiral", "moons", "flower"),
    }
    assert set(CLOSED_FORMS) == set(REGRESSION)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_spec_is_consistent(kind: str) -> None:
    spec = KINDS[kind]
    assert spec.n_features in (1, 2)
    assert len(spec.domain) == spec.n_features
    assert all(low < high for low, high in spec.domain)
    assert spec.description and spec.noise
    assert (spec.n_classes is None) == (spec.task == "regression")


def test_kinds_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        KINDS["new"] = KINDS["square"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        KINDS["square"].task = "classification"  # type: ignore[misc]


@pytest.mark.parametrize("n_samples", [2, 3, 7, 200])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_shape_dtype_and_task(kind: str, n_samples: int) -> None:
    data = generate(kind, n_samples=n_samples, noise=0.1, random_state=3)
    spec = KINDS[kind]
    assert isinstance(data, GeneratedData)
    assert data.X.shape == (n_samples, spec.n_features)
    assert data.X.dtype == np.float64
    assert data.y.shape == (n_samples,)
    assert (data.task, data.kind, data.description) == (spec.task, kind, spec.description)
    assert np.all(np.isfinite(data.X))
    if spec.task == "regression":
        assert data.y.dtype == np.float64
        assert np.all(np.isfinite(data.y))
    else:
        assert np.issubdtype(data.y.dtype, np.integer)
        assert set(np.unique(data.y).tolist()) <= set(range(spec.n_classes or 0))


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_result_is_read_only(kind: str) -> None:
    data = generate(kind, n_samples=10)
    with pytest.raises(ValueError, match="read-only"):
        data.X[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        data.y[0] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.kind = "other"  # type: ignore[misc]


@pytest.mark.parametrize("noise", [0.0, 0.2])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_same_seed_same_data_other_seed_other_data(kind: str, noise: float) -> None:
    first = generate(kind, n_samples=50, noise=noise, random_state=11)
    again = generate(kind, n_samples=50, noise=noise, random_state=11)
    other = generate(kind, n_samples=50, noise=noise, random_state=12)
    np.testing.assert_array_equal(first.X, again.X)
    np.testing.assert_array_equal(first.y, again.y)
    assert not np.array_equal(first.X, other.X)


@pytest.mark.parametrize("kind", REGRESSION)
def test_noise_free_regression_is_the_closed_form(kind: str) -> None:
    data = generate(kind, n_samples=300, noise=0.0, random_state=5)
    np.testing.assert_allclose(data.y, CLOSED_FORMS[kind](data.X), rtol=0, atol=1e-12)
    for column, (low, high) in zip(data.X.T, KINDS[kind].domain, strict=True):
        assert low <= column.min() and column.max() <= high
        # the samples spread over the whole window, not a corner of it
        assert column.max() - column.min() > 0.8 * (high - low)


@pytest.mark.parametrize("kind", REGRESSION)
def test_regression_noise_is_gaussian_with_that_std(kind: str) -> None:
    data = generate(kind, n_samples=4000, noise=0.3, random_state=2)
    residual = data.y - CLOSED_FORMS[kind](data.X)
    # mean and standard deviation of 4000 draws: errors ~0.005 and ~1 %
    assert abs(residual.mean()) < 0.03
    np.testing.assert_allclose(residual.std(), 0.3, rtol=0.06)


@pytest.mark.parametrize("n_samples", [2, 9, 200])
@pytest.mark.parametrize("kind", TWO_GROUPS)
def test_two_class_kinds_are_balanced(kind: str, n_samples: int) -> None:
    y = generate(kind, n_samples=n_samples, random_state=1).y
    assert np.bincount(y, minlength=2).tolist() == [n_samples // 2, n_samples - n_samples // 2]


@pytest.mark.parametrize("seed", range(5))
def test_xor_is_roughly_balanced(seed: int) -> None:
    y = generate("xor", n_samples=400, random_state=seed).y
    # Binomial(400, 1/2) stays within 0.35..0.65 with probability 1 - 1e-9
    assert 0.35 < y.mean() < 0.65


@pytest.mark.parametrize("kind", CLASSIFICATION)
def test_two_class_kinds_are_shuffled(kind: str) -> None:
    y = generate(kind, n_samples=200, random_state=4).y
    assert 0.3 < y[:100].mean() < 0.7


def test_noise_free_circle_label_is_set_by_radius() -> None:
    data = generate("circle", n_samples=500, noise=0.0, random_state=7)
    radius = np.hypot(data.X[:, 0], data.X[:, 1])
    np.testing.assert_array_equal(data.y, (radius < 2.5).astype(int))
    # Playground leaves a gap between the disc and the ring
    assert not np.any((radius >= 2.5) & (radius < 3.5))
    assert radius.max() <= 5.0


def test_circle_noise_moves_where_the_label_is_read_not_the_point() -> None:
    # Playground reads the label at X + U(-5, 5)**2 * noise and keeps X itself.
    noisy = generate("circle", n_samples=500, noise=0.1, random_state=7)
    radius = np.hypot(noisy.X[:, 0], noisy.X[:, 1])
    assert radius.max() <= 5.0
    reach = 5.0 * 0.1 * math.sqrt(2)  # the largest shift at noise 0.1
    np.testing.assert_array_equal(noisy.y[radius < 2.5 - reach], 1)
    np.testing.assert_array_equal(noisy.y[radius > 2.5 + reach], 0)


def test_circle_label_noise_matches_a_monte_carlo_estimate() -> None:
    data = generate("circle", n_samples=4000, noise=0.5, random_state=7)
    shifts = np.random.default_rng(123).uniform(-2.5, 2.5, size=(400, 1, 2))
    moved = data.X[None, :, :] + shifts
    p_inside = (np.hypot(moved[..., 0], moved[..., 1]) < 2.5).mean(axis=0)
    # y is a sum of 4000 Bernoulli(p_inside) draws; allow 5 standard deviations
    sd = math.sqrt(np.sum(p_inside * (1.0 - p_inside)))
    assert abs(data.y.sum() - p_inside.sum()) < 5.0 * sd + 1.0
    assert 0.1 < np.mean(data.y != (np.hypot(data.X[:, 0], data.X[:, 1]) < 2.5)) < 0.5


def test_noise_free_xor_label_is_the_sign_of_the_product() -> None:
    data = generate("xor", n_samples=500, noise=0.0, random_state=8)
    x1, x2 = data.X.T
    np.testing.assert_array_equal(data.y, (x1 * x2 >= 0).astype(int))
    # coordinates padded 0.3 away from the axes, so both classes are separated
    assert np.abs(data.X).min() >= 0.3
    assert np.abs(data.X).max() <= 5.3
    noisy = generate("xor", n_samples=500, noise=0.5, random_state=8)
    assert np.any(noisy.y != (noisy.X[:, 0] * noisy.X[:, 1] >= 0))


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_gauss_classes_sit_on_opposite_sides(noise: float) -> None:
    data = generate("gauss", n_samples=20000, noise=noise, random_state=9)
    mean0 = data.X[data.y == 0].mean(axis=0)
    mean1 = data.X[data.y == 1].mean(axis=0)
    np.testing.assert_allclose(mean0, [-2.0, -2.0], atol=0.1)
    np.testing.assert_allclose(mean1, [2.0, 2.0], atol=0.1)
    # Playground's variance scale: 0.5 at noise 0, 4 at noise 0.5. Each of these
    # four variances comes from 10000 draws, so its relative error is about 1.4 %.
    for label in (0, 1):
        variance = data.X[data.y == label].var(axis=0)
        np.testing.assert_allclose(variance, 0.5 + 7.0 * noise, rtol=0.06)


def test_noise_free_spiral_arms_are_mirror_images() -> None:
    data = generate("spiral", n_samples=200, noise=0.0, random_state=10)
    arm0, arm1 = data.X[data.y == 0], data.X[data.y == 1]
    # class 0 is Playground's arm turned by pi, i.e. class 1 reflected through 0
    np.testing.assert_allclose(np.sort(arm0, axis=0), np.sort(-arm1, axis=0), rtol=0, atol=1e-12)
    radius = np.hypot(arm1[:, 0], arm1[:, 1])
    np.testing.assert_allclose(np.sort(radius), 5.0 * np.arange(100) / 100, rtol=0, atol=1e-12)
    # Playground's arm: angle t = 1.75 turns * r / 5, the point at (r sin t, r cos t)
    t = 1.75 * 2 * np.pi * radius / 5.0
    np.testing.assert_allclose(
        arm1, np.column_stack([radius * np.sin(t), radius * np.cos(t)]), rtol=0, atol=1e-9
    )


def test_noisy_spiral_stays_near_its_arms() -> None:
    data = generate("spiral", n_samples=400, noise=0.5, random_state=10)
    assert np.abs(data.X).max() <= 5.0 + 0.5
    assert set(np.unique(data.y).tolist()) == {0, 1}


def test_noise_free_moons_lie_on_their_half_circles() -> None:
    data = generate("moons", n_samples=101, noise=0.0, random_state=0)
    upper, lower = data.X[data.y == 0], data.X[data.y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert upper[:, 1].min() >= -1e-12 and lower[:, 1].max() <= 0.5 + 1e-12
    (xlow, xhigh), (ylow, yhigh) = KINDS["moons"].domain
    assert xlow <= data.X[:, 0].min() and data.X[:, 0].max() <= xhigh
    assert ylow <= data.X[:, 1].min() and data.X[:, 1].max() <= yhigh


def test_moons_noise_is_gaussian_on_x() -> None:
    clean = generate("moons", n_samples=3000, noise=0.0, random_state=0)
    noisy = generate("moons", n_samples=3000, noise=0.1, random_state=0)
    radius = np.hypot(*noisy.X[noisy.y == 0].T)
    assert np.abs(radius - 1.0).std() > 0.03
    assert np.abs(noisy.X).max() < np.abs(clean.X).max() + 1.0


def test_noise_free_flower_lies_on_the_rose_with_alternate_petals() -> None:
    data = generate("flower", n_samples=400, noise=0.0, random_state=0)
    x1, x2 = data.X.T
    # points are (r sin t, r cos t); the angle of a point is t or t + pi, and
    # |sin 4t| is the same for both, so the rose gives |X| from the angle alone
    angle = np.arctan2(x1, x2) % (2 * np.pi)
    np.testing.assert_allclose(np.hypot(x1, x2), 4.0 * np.abs(np.sin(4.0 * angle)), atol=1e-9)
    # eight petals of width pi/4; away from the centre each belongs to one class
    petal = (angle // (np.pi / 4)).astype(int)
    away = np.hypot(x1, x2) > 0.5
    for k in range(8):
        classes = np.unique(data.y[away & (petal == k)])
        assert len(classes) == 1, f"petal {k} holds classes {classes}"
    assert set(data.y[away].tolist()) == {0, 1}


def test_flower_noise_jitters_points_off_the_rose() -> None:
    data = generate("flower", n_samples=400, noise=0.2, random_state=0)
    x1, x2 = data.X.T
    angle = np.arctan2(x1, x2)
    off = np.abs(np.hypot(x1, x2) - 4.0 * np.abs(np.sin(4.0 * angle)))
    assert off.max() > 0.1
    assert np.abs(data.X).max() < 5.0  # within the documented window for the original 0.2
    assert np.bincount(data.y).tolist() == [200, 200]


@pytest.mark.parametrize("kind", ["nope", "Circle", ""])
def test_unknown_kind_is_named_with_the_allowed_ones(kind: str) -> None:
    with pytest.raises(ValueError, match="unknown kind") as info:
        generate(kind)
    assert repr(kind) in str(info.value)
    assert all(name in str(info.value) for name in ALL_KINDS)


@pytest.mark.parametrize("n_samples", [1, 0, -5])
def test_too_few_samples_is_rejected(n_samples: int) -> None:
    with pytest.raises(ValueError, match=rf"n_samples must be an integer >= 2, got {n_samples}"):
        generate("square", n_samples=n_samples)


def test_non_integer_sample_count_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        generate("square", n_samples=2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("noise", [-0.1, math.nan, math.inf, -math.inf])
def test_bad_noise_is_rejected(noise: float) -> None:
    with pytest.raises(ValueError, match="noise must be a finite number >= 0") as info:
        generate("circle", noise=noise)
    assert repr(noise) in str(info.value)


def test_numpy_integers_are_accepted() -> None:
    data = generate("xor", n_samples=np.int64(5), noise=np.float64(0.1))  # type: ignore[arg-type]
    assert data.X.shape == (5, 2)


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(ALL_KINDS),
    n_samples=st.integers(2, 60),
    noise=st.floats(0.0, 2.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_valid_arguments_give_finite_data_of_the_right_size(
    kind: str, n_samples: int, noise: float, seed: int
) -> None:
    data = generate(kind, n_samples=n_samples, noise=noise, random_state=seed)
    assert data.X.shape == (n_samples, KINDS[kind].n_features)
    assert np.all(np.isfinite(data.X)) and np.all(np.isfinite(data.y))
