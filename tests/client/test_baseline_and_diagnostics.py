"""What the client draws and says about a fit agrees with what the service reports.

The 1D plot's dashed line is the linear baseline the service fitted (checked
against scikit-learn's LinearRegression refitted here on the training part),
so an identity network, which is that linear model, draws over it as one line;
and identity units, which pass every input through, are never called dead.
"""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

import relumap  # noqa: E402
from relumap.cli import main  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def identity_model(session_api: relumap.Client, square: relumap.Dataset) -> relumap.Model:
    return session_api.fit(
        square, hidden_layer_sizes=[8], activation="identity", max_iter=5000, progress=False
    )


def training_part(model: relumap.Model) -> tuple[np.ndarray, np.ndarray]:
    X, y = model.dataset().data()  # type: ignore[union-attr]
    held_out = np.zeros(len(y), dtype=bool)
    held_out[model.to_dict()["test_indices"]] = True
    assert 0 < held_out.sum() < len(y)
    return X[~held_out], y[~held_out].astype(float)


def test_baseline_is_the_services_linear_regression(identity_model: relumap.Model) -> None:
    X_train, y_train = training_part(identity_model)
    reference = LinearRegression().fit(X_train, y_train)
    baseline = identity_model.baseline
    assert baseline is not None and baseline.gradient.shape == (1, 1)
    np.testing.assert_allclose(baseline.gradient[0], reference.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(baseline.intercept[0], reference.intercept_, rtol=1e-9)


@pytest.mark.parametrize("which", ["identity", "relu"])
def test_1d_plot_draws_the_reported_baseline(
    which: str, identity_model: relumap.Model, square_model: relumap.Model
) -> None:
    model = identity_model if which == "identity" else square_model
    X_train, y_train = training_part(model)
    reference = LinearRegression().fit(X_train, y_train)
    ax = model.plot()
    drawn = next(line for line in ax.get_lines() if line.get_label() == "linear baseline")
    x, y = (np.asarray(v, dtype=float) for v in drawn.get_data())
    np.testing.assert_allclose(y, reference.predict(x.reshape(-1, 1)), rtol=1e-9, atol=1e-9)
    if which == "identity":
        # One line: the identity network is the linear model, up to the solver's tolerance.
        network = next(line for line in ax.get_lines() if line.get_label() == "network")
        nx, ny = (np.asarray(v, dtype=float) for v in network.get_data())
        np.testing.assert_allclose(ny, reference.predict(nx.reshape(-1, 1)), atol=5e-3)


def test_identity_units_are_always_active_never_dead(
    identity_model: relumap.Model, capsys: pytest.CaptureFixture[str], live_url: str
) -> None:
    # Some unit's input is negative on training points: a ReLU there would be off.
    weights = identity_model.weights()
    X_train, _ = training_part(identity_model)
    pre = X_train @ weights.coefs[0] + weights.intercepts[0]
    assert (pre <= 0).any()
    for result in (identity_model.knots(), identity_model.knots(lo=-1.0, hi=1.0)):
        diagnostics = result.diagnostics
        assert diagnostics.dead_units == []
        assert len(diagnostics.always_active_units) == 8
        assert diagnostics.dead_on_data is not None and not diagnostics.dead_on_data.any()
        np.testing.assert_array_equal(diagnostics.active_fraction, np.ones(8))
    assert main(["--url", live_url, "knots", identity_model.id]) == 0
    out = capsys.readouterr().out
    assert "dead units: -" in " ".join(out.split())


def test_relu_diagnostics_stay_those_of_the_data(square_model: relumap.Model) -> None:
    # ReLU units: on where their input is positive, counted on the training part.
    weights = square_model.weights()
    X_train, _ = training_part(square_model)
    on = (X_train @ weights.coefs[0] + weights.intercepts[0]) > 0
    diagnostics = square_model.knots().diagnostics
    np.testing.assert_allclose(diagnostics.active_fraction, on.mean(axis=0), atol=1e-12)
    np.testing.assert_array_equal(diagnostics.dead_on_data, ~on.any(axis=0))
