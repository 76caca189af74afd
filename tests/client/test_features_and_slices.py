"""Feature names from DataFrames, scikit-learn's name checks, and slices from the client."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

import relumap
from relumap.cli import main
from relumap.sklearn import RemoteMLPRegressor

NAMES = ["rooms", "area", "age", "floor"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    X = rng.uniform(-2, 2, size=(120, 4))
    y = np.abs(X[:, 0]) + X[:, 1] * X[:, 2] - 0.5 * X[:, 3]
    return pd.DataFrame({**dict(zip(NAMES, X.T, strict=True)), "price": y})


@pytest.fixture(scope="module")
def fitted(session_api: relumap.Client, frame: pd.DataFrame) -> relumap.Model:
    dataset = session_api.upload(frame, target="price", name="houses")
    assert dataset.feature_names == NAMES and dataset.n_features == 4
    assert list(dataset.to_frame().columns) == [*NAMES, "y"]
    return session_api.fit(
        dataset, hidden_layer_sizes=[10, 10], solver="lbfgs", max_iter=500, progress=False
    )


def test_a_frame_keeps_its_names_and_predicts_by_name(
    fitted: relumap.Model, frame: pd.DataFrame
) -> None:
    assert fitted.feature_names == NAMES
    weights = fitted.weights()
    assert weights.feature_names == tuple(NAMES)
    assert relumap.Weights.from_dict(weights.to_dict()).feature_names == tuple(NAMES)
    X = frame[NAMES].iloc[:8]
    expected = weights.predict(X.to_numpy())
    np.testing.assert_allclose(fitted.predict(X), expected, rtol=1e-12)
    # Reordered columns are matched by name, not taken by position.
    np.testing.assert_allclose(fitted.predict(X[NAMES[::-1]]), expected, rtol=1e-12)
    with pytest.raises(relumap.ValidationError, match=r"missing feature\(s\) \['floor'\]"):
        fitted.predict(X[NAMES[:3]])


def test_knots_along_a_feature_through_a_data_row(
    fitted: relumap.Model, frame: pd.DataFrame
) -> None:
    knots = fitted.knots(axis="area", at=9)
    assert knots.slice is not None and knots.slice.kind == "axis"
    assert knots.slice.axis_names == ("area",) and knots.feature_names == tuple(NAMES)
    row = frame[NAMES].to_numpy()[9]
    np.testing.assert_array_equal(knots.slice.reference, row)
    s = np.linspace(knots.lo, knots.hi, 501)
    points = knots.slice.points(s[:, None])
    np.testing.assert_allclose(points[:, [0, 2, 3]], np.tile(row[[0, 2, 3]], (501, 1)))
    np.testing.assert_allclose(
        knots.evaluate(s)[:, 0], fitted.weights().predict(points), atol=1e-9, rtol=0
    )
    # The same line given as a segment from its two ends, t in [0, 1].
    ends = knots.slice.points([[knots.lo], [knots.hi]])
    segment = fitted.knots(start=ends[0], end=ends[1])
    np.testing.assert_allclose(
        knots.lo + segment.x * (knots.hi - knots.lo), knots.x, atol=1e-9 * (knots.hi - knots.lo)
    )


def test_regions_on_the_plane_of_two_features(fitted: relumap.Model, frame: pd.DataFrame) -> None:
    regions = fitted.regions(axes=("rooms", "age"), at="mean")
    assert regions.slice is not None and regions.slice.axis_names == ("rooms", "age")
    # The mean of the rows the model was trained on: the held-out ones are left out.
    held_out = fitted.to_dict()["test_indices"]
    train = np.delete(frame[NAMES].to_numpy(), held_out, axis=0)
    assert 0 < len(held_out) < len(frame)
    np.testing.assert_allclose(regions.slice.reference, train.mean(axis=0))
    # Each region's map, in the plane and in all four inputs, is the network at its inside.
    inside = regions.slice.points(regions.interior_points)
    expected = fitted.weights().predict(inside)
    on_plane = np.einsum("nkd,nd->nk", regions.gradients, regions.interior_points)
    np.testing.assert_allclose((on_plane + regions.intercepts)[:, 0], expected, atol=1e-9)
    full = np.einsum("nkd,nd->nk", regions.slice.gradients_full, inside)
    np.testing.assert_allclose((full + regions.slice.intercepts_full)[:, 0], expected, atol=1e-9)
    again = relumap.Regions.from_dict(json.loads(json.dumps(regions.to_dict())))
    assert again.slice is not None and again.slice.axis_names == ("rooms", "age")
    geojson = fitted.geojson(axes=(0, 2), at="mean")
    assert geojson["type"] == "FeatureCollection"
    with pytest.raises(relumap.ValidationError, match="axes"):
        fitted.regions(axes=("rooms",))


def test_cli_slice_options(
    capsys: pytest.CaptureFixture[str], live_url: str, fitted: relumap.Model
) -> None:
    code = main(["--url", live_url, "models", "show", fitted.id])
    out, _ = capsys.readouterr()
    assert code == 0 and "rooms, area, age, floor" in out
    code = main(["--url", live_url, "knots", fitted.id, "--axis", "area", "--at", "row:9"])
    out, _ = capsys.readouterr()
    assert code == 0 and "axis area through" in out
    code = main(["--url", live_url, "--json", "regions", fitted.id, "--axes", "rooms,age"])
    out, _ = capsys.readouterr()
    document: dict[str, Any] = json.loads(out)
    assert code == 0 and document["axis_names"] == ["rooms", "age"]
    assert document["slice"]["kind"] == "axes"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_estimator_checks_names_as_scikit_learn_does(
    live_url: str, frame: pd.DataFrame
) -> None:
    reg = RemoteMLPRegressor(
        (6,), solver="lbfgs", max_iter=300, random_state=0, base_url=live_url, keep_on_service=True
    )
    X = frame[NAMES]
    reg.fit(X, frame["price"])
    assert list(reg.feature_names_in_) == NAMES and reg.n_features_in_ == 4
    assert relumap.Client(live_url).model(reg.model_id_).feature_names == NAMES
    expected = reg.predict(X.iloc[:5])
    with pytest.raises(ValueError, match="feature names should match"):
        reg.predict(X[NAMES[::-1]].iloc[:5])
    with pytest.raises(ValueError, match="feature names should match"):
        reg.predict(X[NAMES[:3]].iloc[:5])
    with (
        pytest.warns(UserWarning, match="does not have valid feature names"),
        pytest.raises(ValueError, match="3 features, but RemoteMLPRegressor is expecting 4"),
    ):
        reg.predict(X.to_numpy()[:5, :3])
    np.testing.assert_allclose(reg.predict(X.iloc[:5]), expected)


def test_pictures_of_a_many_input_model_are_of_its_slices(
    fitted: relumap.Model, session_api: relumap.Client
) -> None:
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match=r"model.regions\(axes=\(i, j\)\).plot\(\)"):
        fitted.plot()
    with pytest.raises(ValueError, match="4 features"):
        session_api.dataset(fitted.dataset_id).plot()
    ax = fitted.regions(axes=("rooms", "age")).plot()
    assert len(ax.collections) > 0
    ax = fitted.knots(axis="area").plot()
    assert len(ax.lines) > 0
