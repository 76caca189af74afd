"""Models through the client: fit and wait, list, predict, weights, knots, regions, delete.

Results are checked against independent computations: the forward pass from
the fetched weights, dense sampling, a polygon area formula.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import relumap


def test_fit_waits_and_reports_metrics_beside_the_baseline(square_model: relumap.Model) -> None:
    model = square_model
    assert model.status == "succeeded" and model.finished
    assert (model.task, model.source, model.n_features) == ("regression", "fit", 1)
    assert model.params["hidden_layer_sizes"] == [8] and model.params["max_iter"] == 2000
    metrics = model.metrics
    assert isinstance(metrics, relumap.Metrics)
    assert metrics.test["r2"] > 0.95 and metrics.baseline_test["r2"] < 0.2
    assert metrics.baseline_model == "LinearRegression"
    # rmse is the square root of mse: a closed form the service must respect.
    np.testing.assert_allclose(metrics.train["rmse"] ** 2, metrics.train["mse"], rtol=1e-12)
    assert metrics.names == ("r2", "mse", "rmse", "mae", "max_error")
    assert [(r["model"], r["split"]) for r in metrics.rows()] == [
        ("network", "train"),
        ("network", "test"),
        ("LinearRegression", "train"),
        ("LinearRegression", "test"),
    ]
    assert model.n_iter and model.n_iter > 0 and model.converged is True
    assert model.loss is not None and model.loss > 0
    assert model.equivalent_linear_map is None
    assert model.created_at is not None and model.finished_at is not None


def test_fit_without_wait_returns_at_once_then_waits(
    api: relumap.Client, square: relumap.Dataset
) -> None:
    model = api.fit(square, hidden_layer_sizes=[3], wait=False)
    assert model.status in ("queued", "running")
    assert model.metrics is None
    assert model.wait() is model
    assert model.status == "succeeded" and model.metrics is not None


def _recording_client(url: str) -> tuple[relumap.Client, list[str]]:
    """A client whose session notes each request as "METHOD path?query"."""
    from urllib.parse import urlsplit

    from relumap._session import build_session

    seen: list[str] = []
    session = build_session(3)

    def note(response: Any, *args: Any, **kwargs: Any) -> None:
        parts = urlsplit(response.request.url)
        seen.append(f"{response.request.method} {parts.path}?{parts.query}")

    session.hooks["response"].append(note)
    return relumap.Client(url, timeout=(3.05, 60), session=session), seen


def test_fit_and_wait_ask_the_service_to_answer_when_the_fit_ends(
    live_url: str, square: relumap.Dataset
) -> None:
    client, seen = _recording_client(live_url)
    with client:
        model = client.fit(square, hidden_layer_sizes=[3], progress=False)
        assert model.status == "succeeded"
        # One POST that waited (after GET /v1 for the wait limit), no polling.
        assert [r for r in seen if r.startswith("POST")] == ["POST /v1/models?wait=48.0"]
        assert not [r for r in seen if r.startswith("GET /v1/models")]
        seen.clear()
        queued = client.fit(square, hidden_layer_sizes=[3], wait=False)
        queued.wait(timeout=60, progress=False)
        assert queued.status == "succeeded"
        polls = [r for r in seen if r.startswith("GET /v1/models")]
        assert 1 <= len(polls) <= 2 and all("wait=" in r for r in polls), polls


def test_wait_times_out_while_the_fit_is_queued(
    api: relumap.Client, square: relumap.Dataset
) -> None:
    model = api.fit(square, hidden_layer_sizes=[3], wait=False)
    with pytest.raises(relumap.Timeout, match="still queued") as info:
        model.wait(timeout=0)
    assert isinstance(info.value, TimeoutError)
    model.wait(timeout=60)


def test_a_failed_fit_raises_fit_failed_with_the_error(api: relumap.Client) -> None:
    # Stratifying a held-out half is impossible with a class of one sample.
    data = api.upload([[0.0], [1.0], [2.0], [3.0]], [0, 0, 0, 1])
    with pytest.raises(relumap.FitFailed, match="test_fraction") as info:
        api.fit(data, task="classification", test_fraction=0.5, progress=False)
    failed = info.value.model
    assert failed.status == "failed" and "test_fraction" in (failed.error or "")
    with pytest.raises(relumap.Conflict, match="only a succeeded model"):
        failed.weights()


def test_fit_uploads_arrays_first(api: relumap.Client) -> None:
    x = np.linspace(-1, 1, 40)
    model = api.fit((x.reshape(-1, 1), np.abs(x)), hidden_layer_sizes=[4], test_fraction=0.0)
    dataset = model.dataset()
    assert dataset is not None and dataset.n_samples == 40
    np.testing.assert_array_equal(dataset.data()[0][:, 0], x)
    assert model.metrics is not None and model.metrics.test == {}


def test_models_lists_filters_and_fetches(
    api: relumap.Client, square: relumap.Dataset, square_model: relumap.Model
) -> None:
    data = api.generate("abs", n_samples=30)
    mine = [api.fit(data, hidden_layer_sizes=[2], wait=False) for _ in range(3)]
    for model in mine:
        model.wait()
    listed = api.models(dataset=data, page_size=2)
    assert sorted(m.id for m in listed) == sorted(m.id for m in mine)
    assert all(m.status == "succeeded" for m in api.models(dataset=data.id, status="succeeded"))
    assert api.models(dataset=data, status="failed") == []
    assert square_model.id in {m.id for m in api.models(dataset=square)}
    fetched = api.model(square_model.id)
    assert fetched.to_dict() == square_model.to_dict()
    assert repr(fetched).startswith(f"<Model {square_model.id} succeeded")


def test_predict_matches_the_forward_pass_of_the_weights(square_model: relumap.Model) -> None:
    X = np.linspace(-2.5, 2.5, 101).reshape(-1, 1)
    weights = square_model.weights()
    assert weights.hidden_layer_sizes == (8,) and weights.coefs[0].shape == (1, 8)
    # An independent forward pass, written out here.
    hidden = np.maximum(X @ weights.coefs[0] + weights.intercepts[0], 0.0)
    expected = (hidden @ weights.coefs[1] + weights.intercepts[1])[:, 0]
    predicted = square_model.predict(X)
    assert predicted.shape == (101,)
    np.testing.assert_allclose(predicted, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(weights.predict(X), predicted)
    np.testing.assert_allclose(square_model.predict(X[:, 0]), predicted, rtol=0)  # 1-D input
    with pytest.raises(ValueError, match="regressor"):
        square_model.predict_proba(X)


def test_classifier_predicts_labels_and_probabilities(
    xor_model: relumap.Model, xor: relumap.Dataset
) -> None:
    X, y = xor.data()
    labels = xor_model.predict(X)
    proba = xor_model.predict_proba(X)
    assert proba.shape == (200, 2) and xor_model.classes == [0, 1]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(labels, np.array(xor_model.classes)[proba.argmax(axis=1)])
    np.testing.assert_array_equal(xor_model.weights().predict(X), labels)
    np.testing.assert_allclose(xor_model.weights().predict_proba(X), proba, rtol=1e-12)
    assert (labels == y).mean() > 0.9
    assert (
        xor_model.metrics is not None and xor_model.metrics.baseline_model == "LogisticRegression"
    )


def test_local_affine_reproduces_the_logits(xor_model: relumap.Model) -> None:
    X = np.random.default_rng(0).uniform(-5, 5, size=(50, 2))
    local = xor_model.local_affine(X)
    assert local.patterns.shape == (50, 8) and local.gradients.shape == (50, 1, 2)
    logits = np.einsum("noi,ni->no", local.gradients, X) + local.intercepts
    np.testing.assert_allclose(logits, xor_model.weights().logits(X), rtol=1e-9, atol=1e-9)
    w = xor_model.weights()
    np.testing.assert_array_equal(local.patterns, (X @ w.coefs[0] + w.intercepts[0]) > 0)


def test_knots_agree_with_dense_sampling(square_model: relumap.Model) -> None:
    knots = square_model.knots()
    weights = square_model.weights()
    assert knots.model_id == square_model.id and knots.lo < -2 and knots.hi > 2
    assert 1 <= knots.n_knots <= knots.bound == 8
    assert knots.n_pieces == knots.slopes.shape[0] == knots.patterns.shape[0]
    xs = np.linspace(knots.lo, knots.hi, 4001)
    np.testing.assert_allclose(knots.evaluate(xs), weights.logits(xs), rtol=1e-9, atol=1e-9)
    # The slope differs on either side of each knot, and is constant between knots.
    eps = 1e-6
    left = (weights.logits(knots.x) - weights.logits(knots.x - eps))[:, 0] / eps
    right = (weights.logits(knots.x + eps) - weights.logits(knots.x))[:, 0] / eps
    assert np.all(np.abs(right - left) > 1e-3)
    np.testing.assert_array_equal(knots.piece_lo[1:], knots.piece_hi[:-1])
    assert knots.diagnostics.layer.tolist() == [1] * 8


def test_knots_on_a_given_interval(square_model: relumap.Model) -> None:
    knots = square_model.knots(lo=0.0, hi=1.0)
    assert (knots.lo, knots.hi) == (0.0, 1.0)
    assert np.all((knots.x > 0) & (knots.x < 1))
    with pytest.raises(relumap.ValidationError, match="hi must exceed lo"):
        square_model.knots(lo=1.0, hi=0.0)


def test_knots_stop_at_max_pieces(square_model: relumap.Model) -> None:
    n_pieces = square_model.knots().n_pieces
    assert square_model.knots(max_pieces=n_pieces).n_pieces == n_pieces
    with pytest.raises(relumap.ValidationError, match=f"max_pieces={n_pieces - 1}") as caught:
        square_model.knots(max_pieces=n_pieces - 1)
    assert caught.value.problem["limit"] == "max_pieces"


def test_regions_tile_the_box_and_carry_the_exact_maps(xor_model: relumap.Model) -> None:
    regions = xor_model.regions()
    weights = xor_model.weights()
    (x0, y0), (x1, y1) = regions.box
    assert regions.n_regions == len(regions.polygons) == regions.areas.shape[0]
    assert 1 <= regions.n_regions <= regions.bound
    # Shoelace areas of the polygons, computed here, sum to the box.
    shoelace = [
        0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1)))
        for p in regions.polygons
    ]
    np.testing.assert_allclose(shoelace, regions.areas, rtol=1e-9)
    np.testing.assert_allclose(sum(shoelace), (x1 - x0) * (y1 - y0), rtol=1e-9)
    at_interior = regions.evaluate(regions.interior_points, np.arange(regions.n_regions))
    np.testing.assert_allclose(at_interior, weights.logits(regions.interior_points), atol=1e-9)
    boundary = regions.decision_boundary
    assert boundary is not None and boundary.n_segments > 0 and boundary.length > 0
    ends = boundary.segments.reshape(-1, 2)
    np.testing.assert_allclose(weights.logits(ends)[:, 0], 0.0, atol=1e-7)
    assert regions.classes is not None and regions.classes.tolist() == [0, 1]


def test_regions_on_a_given_box_and_geojson(xor_model: relumap.Model) -> None:
    regions = xor_model.regions(box=[[0, 0], [1, 2]])
    np.testing.assert_array_equal(regions.box, [[0, 0], [1, 2]])
    np.testing.assert_allclose(regions.areas.sum(), 2.0, rtol=1e-12)
    collection = xor_model.geojson(box=[[0, 0], [1, 2]])
    assert collection["type"] == "FeatureCollection"
    polygons = [f for f in collection["features"] if f["geometry"]["type"] == "Polygon"]
    assert len(polygons) == regions.n_regions
    with pytest.raises(relumap.ValidationError, match="max_regions"):
        xor_model.regions(max_regions=1) if regions.n_regions > 1 else xor_model.regions(
            max_regions=0
        )


def test_knots_of_a_2d_model_is_a_conflict(xor_model: relumap.Model) -> None:
    with pytest.raises(relumap.Conflict, match="use /regions"):
        xor_model.knots()


def test_delete_removes_the_model(api: relumap.Client, square: relumap.Dataset) -> None:
    model = api.fit(square, hidden_layer_sizes=[2], wait=False)
    model.delete()
    with pytest.raises(relumap.NotFound):
        api.model(model.id)


def test_progress_bar_shows_status_on_stderr(
    api: relumap.Client, square: relumap.Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    api.fit(square, hidden_layer_sizes=[3], random_state=5, progress=True)
    err = capsys.readouterr().err
    assert "fit " in err and "succeeded" in err


def test_progress_is_silent_when_stderr_is_not_a_terminal(
    api: relumap.Client, square: relumap.Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    api.fit(square, hidden_layer_sizes=[3], random_state=6)
    assert capsys.readouterr().err == ""
