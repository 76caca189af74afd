"""Server-rendered plots (PNG and SVG) and the playground's static files, over HTTP.

Pictures are checked by what a person would see: their size in pixels, that
they are not blank (pixel statistics), that a classifier's class areas cover
the share of the box that dense sampling of ``/predict`` gives, and by the text
matplotlib keeps in the SVG (axis ticks, legend, caption).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from relumap_service.api import plots
from relumap_service.config import DEFAULTS
from relumap_service.plotting import CLASS_COLORS
from tests.conftest import SHARED_SEED_NETWORKS, close_app, make_app

PROBLEM = "application/problem+json"
STATIC = Path(plots.__file__).resolve().parents[1] / "static" / "playground"


@pytest.fixture(scope="module")
def plot_app(module_app: Flask) -> Flask:
    return module_app


@pytest.fixture(scope="module")
def models(plot_app: Flask) -> dict[str, dict[str, Any]]:
    """One fitted model per kind of picture, fitted once for the module."""
    client = plot_app.test_client()
    out = {}
    for name, kind, layers in (
        ("1d_regression", "square", [8]),
        ("2d_regression", "bump", [8]),
        ("2d_classification", "xor", [8, 8]),
    ):
        data = client.post(
            "/v1/datasets/generate", json={"kind": kind, "n_samples": 160, "noise": 0.05}
        ).get_json()
        model = client.post(
            "/v1/models?wait=60", json={"dataset_id": data["id"], "hidden_layer_sizes": layers}
        ).get_json()
        assert model["status"] == "succeeded", model
        out[name] = {"model": model, "dataset": data}
    return out


@pytest.fixture
def http(plot_app: Flask) -> FlaskClient:
    return plot_app.test_client()


def pixels(body: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB"), dtype=np.float64)


def svg_texts(body: bytes) -> list[str]:
    """The strings matplotlib drew: it writes each text as a comment beside its glyphs."""
    return [text.strip() for text in re.findall(r"<!-- (.*?) -->", body.decode(), re.S)]


@pytest.mark.parametrize("name", ["1d_regression", "2d_regression", "2d_classification"])
def test_png_has_the_asked_size_caching_headers_and_is_not_blank(
    http: FlaskClient, models: dict[str, Any], name: str
) -> None:
    model_id = models[name]["model"]["id"]
    response = http.get(f"/v1/models/{model_id}/plot.png?width=640&height=480&dpi=80")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "image/png"
    assert response.headers["ETag"].startswith('"')
    assert "max-age=" in response.headers["Cache-Control"]
    image = pixels(response.data)
    assert image.shape == (480, 640, 3)
    non_white = (image < 245).any(axis=2).mean()
    distinct = np.unique(image.reshape(-1, 3), axis=0).shape[0]
    # A blank or near-blank figure is mostly white with few colours.
    assert non_white > 0.15, non_white
    assert image.std() > 20 and distinct > 50, (image.std(), distinct)


@pytest.mark.parametrize("name", ["1d_regression", "2d_regression", "2d_classification"])
def test_svg_has_the_asked_size_the_data_and_the_counts(
    http: FlaskClient, models: dict[str, Any], name: str
) -> None:
    model = models[name]["model"]
    response = http.get(f"/v1/models/{model['id']}/plot.svg?width=800&height=500&dpi=100")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(response.data)
    # matplotlib sizes SVG in points: 72 per inch, and the figure is width / dpi inches.
    assert root.get("width") == "576pt" and root.get("height") == "360pt"
    texts = svg_texts(response.data)
    if name.startswith("1d"):
        knots = http.get(f"/v1/models/{model['id']}/knots").get_json()
        assert f"knots ({knots['n_knots']})" in texts or knots["n_knots"] == 0
        assert "linear baseline" in texts
        count = f"{knots['n_knots']} knot"
    else:
        regions = http.get(f"/v1/models/{model['id']}/regions").get_json()
        count = f"{regions['n_regions']} regions (Serra et al.'s bound {regions['bound']})"
    assert any(text.startswith(count) for text in texts), texts
    # Every data point is one marker (<use>) on the picture.
    assert response.data.count(b"<use ") >= models[name]["dataset"]["n_samples"]


def test_class_areas_cover_the_share_of_the_box_that_sampling_predicts(
    http: FlaskClient, models: dict[str, Any]
) -> None:
    model = models["2d_classification"]["model"]
    # Off-centre, so class 1 (x1 * x2 >= 0) holds about 80% of it and a swap shows.
    box = "x_min=0.5&x_max=4&y_min=-1&y_max=4"
    body = http.get(
        f"/v1/models/{model['id']}/plot.png?color_by=class&width=900&height=700&{box}"
    ).data
    image = pixels(body)
    # Pixels of each class's fill: its Okabe-Ito colour mixed 55% with white.
    fills = []
    for hex_color in CLASS_COLORS[:2]:
        rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
        fill = rgb + (255 - rgb) * 0.55
        fills.append((np.abs(image - fill).max(axis=2) <= 3).sum())
    X = np.array([[a, b] for a in np.linspace(0.5, 4, 71) for b in np.linspace(-1, 4, 101)])
    predicted = http.post(f"/v1/models/{model['id']}/predict", json={"X": X.tolist()}).get_json()
    share = np.mean([label == model["classes"][1] for label in predicted["predictions"]])
    assert min(fills) > 1000
    assert share > 0.7
    assert abs(fills[1] / sum(fills) - share) < 0.05, (fills, share)


def test_value_colouring_and_first_layer_lines(http: FlaskClient, models: dict[str, Any]) -> None:
    regression = models["2d_regression"]["model"]["id"]
    classifier = models["2d_classification"]["model"]["id"]
    value = http.get(f"/v1/models/{regression}/plot.svg?color_by=value")
    assert value.status_code == 200 and "y" in svg_texts(value.data)  # the colour bar's label
    lines = http.get(f"/v1/models/{classifier}/plot.svg?lines=first_layer")
    labels = {text for text in svg_texts(lines.data) if re.fullmatch(r"u\d+", text)}
    weights = http.get(f"/v1/models/{classifier}/weights").get_json()
    # Each first-layer unit whose line crosses the box is labelled; at most all of them.
    assert 0 < len(labels) <= len(weights["intercepts"][0])
    proba = http.get(f"/v1/models/{classifier}/plot.png?color_by=value")
    assert proba.status_code == 200
    wrong = http.get(f"/v1/models/{regression}/plot.png?color_by=class")
    assert wrong.status_code == 422 and "color_by" in wrong.get_json()["errors"]


def test_etag_revalidation_and_the_render_cache(
    http: FlaskClient, models: dict[str, Any], plot_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_id = models["2d_classification"]["model"]["id"]
    url = f"/v1/models/{model_id}/plot.png?width=500&height=400"
    first = http.get(url)
    etag = first.headers["ETag"]
    again = http.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    # Query order and defaults spelled out do not change the picture's name.
    same = http.get(f"/v1/models/{model_id}/plot.png?height=400&width=500&dpi=100")
    assert same.headers["ETag"] == etag
    other = http.get(f"/v1/models/{model_id}/plot.png?width=501&height=400")
    assert other.headers["ETag"] != etag
    assert http.get(f"/v1/models/{model_id}/plot.svg?width=500&height=400").headers["ETag"] != etag
    cache = Path(plot_app.extensions["relumap"].config["DATA_DIR"]) / "plots"
    assert (cache / f"{etag.strip(chr(34))}.png").read_bytes() == first.data

    def no_render(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("a cached picture was drawn again")

    monkeypatch.setattr(plots, "_render", no_render)
    cached = http.get(url)
    assert cached.status_code == 200 and cached.data == first.data


def test_bounds_answer_422_with_the_limit_named(http: FlaskClient, models: dict[str, Any]) -> None:
    model_id = models["2d_classification"]["model"]["id"]
    big = http.get(f"/v1/models/{model_id}/plot.png?width=4000&height=4000")
    assert big.status_code == 422 and big.content_type == PROBLEM
    assert str(DEFAULTS["MAX_PLOT_PIXELS"]) in big.get_json()["detail"]
    tiny = http.get(f"/v1/models/{model_id}/plot.png?width=10")
    assert tiny.status_code == 422 and "width" in tiny.get_json()["errors"]
    empty = http.get(f"/v1/models/{model_id}/plot.png?x_min=1&x_max=0")
    assert empty.status_code == 422
    assert http.get(f"/v1/models/{'0' * 32}/plot.png").status_code == 404


def test_too_many_regions_to_draw_is_a_clear_422(tmp_path: Path) -> None:
    app = make_app(tmp_path, MAX_REGIONS=20)
    try:
        client = app.test_client()
        data = client.post("/v1/datasets/generate", json={"kind": "xor"}).get_json()
        model = client.post(
            "/v1/models?wait=60", json={"dataset_id": data["id"], "hidden_layer_sizes": [16]}
        ).get_json()
        response = client.get(f"/v1/models/{model['id']}/plot.png")
        assert response.status_code == 422
        body = response.get_json()
        assert "max_regions=20" in body["detail"] and "smaller box" in body["detail"]
    finally:
        close_app(app)


def test_a_queued_model_has_no_picture_yet(tmp_path: Path) -> None:
    app = make_app(tmp_path, EMBEDDED_WORKER=False)
    try:
        client = app.test_client()
        data = client.post("/v1/datasets/generate", json={"kind": "square"}).get_json()
        model = client.post("/v1/models", json={"dataset_id": data["id"]}).get_json()
        response = client.get(f"/v1/models/{model['id']}/plot.svg")
        assert response.status_code == 409 and "queued" in response.get_json()["detail"]
    finally:
        close_app(app)


def test_a_manual_network_plots_over_its_stored_domain_or_the_one_given(
    http: FlaskClient,
) -> None:
    # One dead unit (bias -10) and two always active on [-4, 4], as in seed thread 003.
    network = {
        "coefs": [[[1.0, 1.0, 1.0]], [[1.0], [1.0], [1.0]]],
        "intercepts": [[-10.0, 10.0, 10.0], [0.0]],
        "domain": [-4.0, 4.0],
        "name": "dead and always active",
    }
    model = http.post("/v1/networks", json=network).get_json()
    stored = svg_texts(http.get(f"/v1/models/{model['id']}/plot.svg").data)
    assert {"\u22124", "4"} <= set(stored)  # tick labels at the domain's ends
    caption = next(text for text in stored if "dead neurons" in text)
    assert "dead neurons: L1 u0" in caption and "always active: L1 u1, L1 u2" in caption
    assert any(text.startswith("0 knots (at most 3)") for text in stored)
    given = svg_texts(http.get(f"/v1/models/{model['id']}/plot.svg?lo=-12&hi=12").data)
    assert "\u221210" in given and any(text.startswith("2 knots") for text in given)


def test_the_plot_endpoints_are_in_the_openapi_document(http: FlaskClient) -> None:
    paths = http.get("/openapi.json").get_json()["paths"]
    for suffix, mimetype in (("png", "image/png"), ("svg", "image/svg+xml")):
        operation = paths[f"/v1/models/{{model_id}}/plot.{suffix}"]["get"]
        assert mimetype in operation["responses"]["200"]["content"]
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert {"width", "height", "dpi", "color_by", "lines"} <= names


# -- the playground's files -------------------------------------------------------------


def test_the_playground_page_and_its_modules_are_served_without_a_cdn(
    http: FlaskClient,
) -> None:
    with http.get("/") as page:
        assert page.status_code == 200 and page.mimetype == "text/html"
        html = page.get_data(as_text=True)
    assert '<script type="module" src="/static/playground/js/main.js">' in html
    assets = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))
    for module in STATIC.glob("js/*.js"):
        text = module.read_text()
        assets |= {
            f"/static/playground/js/{Path(name).name}"
            for name in re.findall(r'from "(\./[^"]+)"', text)
        }
        # No network besides the service itself: no absolute URLs in code.
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), module.name
    assert len(assets) >= 10
    for asset in assets:
        with http.get(asset) as response:
            assert response.status_code == 200, asset
    assert not re.search(r'(?:src|href)="https?://', html)


@pytest.mark.skipif(
    not SHARED_SEED_NETWORKS.exists(), reason=f"no seed networks at {SHARED_SEED_NETWORKS}"
)
def test_the_shipped_presets_equal_the_shared_seed_networks() -> None:
    shipped = json.loads((STATIC / "seed_networks.json").read_text())
    assert shipped == json.loads(SHARED_SEED_NETWORKS.read_text())


def test_the_1d_baseline_drawn_is_the_one_the_model_reports(http: FlaskClient) -> None:
    data = http.post("/v1/datasets/generate", json={"kind": "abs", "n_samples": 80}).get_json()
    model = http.post(
        "/v1/models?wait=60", json={"dataset_id": data["id"], "hidden_layer_sizes": [4]}
    ).get_json()
    reported = model["baseline"]
    record = SimpleNamespace(result={"baseline": reported})
    x, y = plots._baseline(record, -2.0, 3.0, classifier=False)
    coef, intercept = reported["coef"][0][0], reported["intercept"][0]
    np.testing.assert_allclose(y, coef * x + intercept, rtol=1e-12)
    assert x.tolist() == [-2.0, 3.0]
    x, p = plots._baseline(record, -2.0, 3.0, classifier=True)
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(coef * x + intercept))), rtol=1e-12)
    # A manual network has no baseline, a multi-class one no single curve.
    assert plots._baseline(SimpleNamespace(result={}), 0.0, 1.0, classifier=False) is None
    wide = SimpleNamespace(result={"baseline": {"coef": [[1.0, 2.0, 3.0]], "intercept": [0, 0, 0]}})
    assert plots._baseline(wide, 0.0, 1.0, classifier=True) is None


def test_a_1d_classifier_draws_probabilities_and_its_baseline(http: FlaskClient) -> None:
    x = np.linspace(-3, 3, 80)
    labels = ["low" if abs(v) < 1.2 else "high" for v in x]
    data = http.post(
        "/v1/datasets", json={"name": "band", "X": [[v] for v in x], "y": labels}
    ).get_json()
    model = http.post(
        "/v1/models?wait=60",
        json={"dataset_id": data["id"], "task": "classification", "hidden_layer_sizes": [6]},
    ).get_json()
    assert model["status"] == "succeeded", model
    texts = svg_texts(http.get(f"/v1/models/{model['id']}/plot.svg").data)
    assert f"P(class {model['classes'][1]})" in texts and "linear baseline" in texts
    assert {f"class {label} (train)" for label in model["classes"]} <= set(texts)
    image = pixels(http.get(f"/v1/models/{model['id']}/plot.png").data)
    assert image.std() > 20


def test_a_classifier_whose_one_class_wins_everywhere_still_plots(http: FlaskClient) -> None:
    # The logit is 5 on the whole box: no region is cut by the decision boundary.
    document = {
        "coefs": [[[1.0], [0.0]], [[0.0]]],
        "intercepts": [[0.0], [5.0]],
        "output_activation": "logistic",
        "domain": [[-1.0, -1.0], [1.0, 1.0]],
    }
    model = http.post("/v1/networks", json=document).get_json()
    for color_by in ("class", "value"):
        response = http.get(f"/v1/models/{model['id']}/plot.png?color_by={color_by}")
        assert response.status_code == 200, response.get_json()
