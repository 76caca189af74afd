"""The playground's learning view in a real browser: the training controls, playback
over the recorded snapshots, "how it adds up" in 1D and every hidden unit in 2D.

Same setting as ``test_playground_browser.py`` (headless Debian Chromium through
Playwright, the production server on loopback; fixtures in ``conftest.py``). Every
number the page draws is checked against the API's own answers or a closed form.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from tests.e2e.test_playground_browser import api, shot, wait_until_idle

pytestmark = pytest.mark.e2e


def fit_from_page(page: Any, kind: str, **controls: str) -> dict[str, Any]:
    """Fill the fit form, press Fit and return the JSON body the page posted."""
    bodies: list[dict[str, Any]] = []

    def record(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/v1/models"):
            bodies.append(json.loads(request.post_data))

    page.on("request", record)
    page.locator("#training-options").evaluate("(details) => { details.open = true; }")
    page.check("#source-builtin")
    page.select_option("#kind", kind)
    for control, value in controls.items():
        if control in ("solver", "activation", "task"):
            page.select_option(f"#{control}", value)
        else:
            page.fill(f"#{control.replace('_', '-')}", value)
    page.click("#fit")
    wait_until_idle(page)
    page.remove_listener("request", record)
    assert len(bodies) == 1, bodies
    return bodies[0]


def polyline_xy(locator: Any) -> np.ndarray:
    """The exact (x, value) pairs a drawn curve carries in its data-xy attribute."""
    text = locator.get_attribute("data-xy")
    return np.array([[float(v) for v in pair.split(",")] for pair in text.split()])


def test_the_training_controls_reach_the_fit_request(page: Any, service: str) -> None:
    body = fit_from_page(
        page,
        "xor",
        n_samples="120",
        layers="6",
        solver="adam",
        learning_rate="0.01",
        batch_size="32",
        train_percent="70",
        snapshots="4",
        max_iter="40",
    )
    assert body["solver"] == "adam"
    assert body["learning_rate_init"] == 0.01
    assert body["batch_size"] == 32
    assert body["test_fraction"] == pytest.approx(0.3)
    assert body["snapshots"] == 4
    assert body["max_iter"] == 40

    model_id = page.locator("#canvas-main svg").get_attribute("data-model-id")
    model = api(service, f"/v1/models/{model_id}")
    assert model["params"]["solver"] == "adam" and model["n_test"] == 36
    # The solver's own reason for stopping, not advice to raise the iterations.
    assert model["stop_reason"] and model["stop_reason"].rstrip(". ") in page.inner_text("#status")
    assert "raise max iterations" not in page.inner_text("#status")

    # Test data shown hollow (white fill), one marker per held-out row; or not at all.
    hollow = page.locator("#canvas-main .points [fill='#fff']")
    assert hollow.count() == len(model["test_indices"]) == 36
    assert page.locator("#canvas-main .points .point").count() == 120
    page.uncheck("#show-test")
    page.wait_for_function("document.querySelectorAll('#canvas-main .points .point').length === 84")
    assert hollow.count() == 0
    page.check("#show-test")

    # The class legend names the model's classes in order.
    legend = page.locator("#class-legend li")
    assert [legend.nth(k).get_attribute("data-class") for k in range(legend.count())] == [
        str(c) for c in model["classes"]
    ]
    shot(page, "learn-01-controls-adam")

    # lbfgs does not use the learning rate or the batch size: they are disabled.
    page.select_option("#solver", "lbfgs")
    assert page.locator("#learning-rate").is_disabled()
    assert page.locator("#batch-size").is_disabled()


def test_play_the_xor_training_and_see_the_regions_change(page: Any, service: str) -> None:
    fit_from_page(page, "xor", n_samples="120", layers="8", solver="lbfgs", snapshots="10")
    page.wait_for_selector("#training:not([hidden])")
    model_id = page.locator("#canvas-main svg").get_attribute("data-model-id")
    model = api(service, f"/v1/models/{model_id}")
    snapshots = api(service, f"/v1/models/{model_id}/snapshots")["snapshots"]
    assert len(snapshots) == model["n_snapshots"] == 10
    section = page.locator("#training")
    assert section.get_attribute("data-shown") == "9"
    # The loss curve has one vertex per iteration of the recorded curve.
    loss = page.locator("#train-chart polyline.loss-curve").get_attribute("points").split()
    assert len(loss) == len(model["loss_curve"])
    drawn_counts = page.locator("#train-chart polyline.count-curve").get_attribute("data-counts")
    assert drawn_counts == ",".join(str(s["n_regions"]) for s in snapshots)

    # Step from the first snapshot: the map shows each snapshot's own regions.
    page.click("#train-first")
    seen = []
    for index, snapshot in enumerate(snapshots):
        if index:
            page.click("#train-forward")
        page.wait_for_function(
            f"document.querySelector('#training').dataset.shown === '{index}'"
            " && !document.querySelector('#training').hasAttribute('aria-busy')"
        )
        count = int(page.locator("#counts").get_attribute("data-count"))
        assert count == snapshot["n_regions"], (index, count, snapshot)
        assert f"iteration {snapshot['iteration']} of" in page.inner_text("#train-counter")
        seen.append(count)
        if index == 0:
            shot(page, "learn-02-xor-first-snapshot")
    assert len(set(seen)) > 1, seen
    first = api(service, f"/v1/models/{model_id}/regions?snapshot=0")
    assert first["n_regions"] == seen[0]

    # Play from three snapshots back: it runs to the last (the fitted model) and stops.
    for _ in range(3):
        page.click("#train-back")
    page.wait_for_function("document.querySelector('#training').dataset.shown === '6'")
    page.click("#train-play")
    assert page.locator("#train-play").get_attribute("aria-pressed") == "true"
    page.wait_for_function(
        "document.querySelector('#training').dataset.shown === '9'"
        " && document.querySelector('#train-play').getAttribute('aria-pressed') === 'false'",
        timeout=30_000,
    )
    final = api(service, f"/v1/models/{model_id}/regions")
    assert int(page.locator("#counts").get_attribute("data-count")) == final["n_regions"]
    shot(page, "learn-03-xor-played")

    # Every hidden unit has its own map; a unit that switches in the box shows where:
    # on its line w . x + b = 0 from the weights.
    thumbs = page.locator("#unit-maps-grid button.unit-thumb")
    assert thumbs.count() == 8
    diagnostics = final["diagnostics"]
    weights = api(service, f"/v1/models/{model_id}/weights")
    w, b = np.array(weights["coefs"][0]), np.array(weights["intercepts"][0])
    for k in range(8):
        svg = thumbs.nth(k).locator("svg")
        switches = not (
            diagnostics["dead_on_domain"][k] or diagnostics["always_active_on_domain"][k]
        )
        zero = svg.locator("path.unit-zero")
        assert (zero.count() == 1) == switches, k
        if switches:
            x0, x1, px0, px1 = map(float, svg.get_attribute("data-x-scale").split(","))
            y0, y1, py0, py1 = map(float, svg.get_attribute("data-y-scale").split(","))
            pixels = np.array(re.findall(r"(-?[\d.]+),(-?[\d.]+)", zero.get_attribute("d")), float)
            points = np.column_stack(
                [
                    x0 + (pixels[:, 0] - px0) * (x1 - x0) / (px1 - px0),
                    y0 + (pixels[:, 1] - py0) * (y1 - y0) / (py1 - py0),
                ]
            )
            # Two decimals of a pixel: within 0.01 pixel of the line.
            distance = np.abs(points @ w[:, k] + b[k]) / np.linalg.norm(w[:, k])
            assert distance.max() < 0.01 * (x1 - x0) / (px1 - px0), (k, distance.max())
        # Exact shading: an active unit is drawn with gradients, one per region at most.
        assert svg.locator("linearGradient").count() <= final["n_regions"]
    shot(page, "learn-04-xor-unit-maps")


def test_the_square_preset_adds_up_to_its_output(page: Any, service: str) -> None:
    page.select_option("#preset", "square_from_four_relus")
    page.wait_for_selector("#adds-up:not([hidden]) polyline.sum-curve")
    wait_until_idle(page)
    model_id = page.locator("#canvas-main svg").get_attribute("data-model-id")
    knots = api(service, f"/v1/models/{model_id}/knots")
    chart = page.locator("#adds-up-chart svg")
    curves = chart.locator("polyline.unit-curve")
    assert curves.count() == 4

    # The drawn contributions plus the output bias equal the output /knots reports.
    bias = float(chart.get_attribute("data-output-bias"))
    xs = np.linspace(knots["lo"], knots["hi"], 97)
    drawn = [polyline_xy(curves.nth(j)) for j in range(4)]
    total = bias + sum(np.interp(xs, c[:, 0], c[:, 1]) for c in drawn)
    pieces = np.clip(np.searchsorted(knots["piece_hi"], xs), 0, knots["n_pieces"] - 1)
    output = np.array(knots["slopes"])[pieces, 0] * xs + np.array(knots["intercepts"])[pieces, 0]
    np.testing.assert_allclose(total, output, rtol=0, atol=1e-9)
    sum_curve = polyline_xy(chart.locator("polyline.sum-curve"))
    np.testing.assert_allclose(np.interp(xs, sum_curve[:, 0], sum_curve[:, 1]), output, atol=1e-9)
    # The preset equals x^2 at the integers (the forum's construction), and x^2 is drawn.
    at_integers = np.interp(np.arange(-2, 3), sum_curve[:, 0], sum_curve[:, 1])
    np.testing.assert_allclose(at_integers, np.arange(-2, 3) ** 2, atol=1e-12)
    target = polyline_xy(chart.locator("polyline.target-curve"))
    np.testing.assert_allclose(target[:, 1], target[:, 0] ** 2, atol=1e-12)

    # The pixels drawn are those values through the chart's scales.
    x0, x1, px0, px1 = map(float, chart.get_attribute("data-x-scale").split(","))
    y0, y1, py0, py1 = map(float, chart.get_attribute("data-y-scale").split(","))
    pixels = np.array(
        [
            [float(v) for v in p.split(",")]
            for p in chart.locator("polyline.sum-curve").get_attribute("points").split()
        ]
    )
    expected = np.column_stack(
        [
            px0 + (sum_curve[:, 0] - x0) * (px1 - px0) / (x1 - x0),
            py0 + (sum_curve[:, 1] - y0) * (py1 - py0) / (y1 - y0),
        ]
    )
    np.testing.assert_allclose(pixels, expected, atol=0.006)
    shot(page, "learn-05-square-adds-up")

    page.select_option("#adds-up-mode", "stacked")
    last = polyline_xy(chart.locator("polyline.unit-curve").nth(3))
    on_sum = np.interp(last[:, 0], sum_curve[:, 0], sum_curve[:, 1])
    np.testing.assert_allclose(last[:, 1], on_sum, atol=1e-9)
    shot(page, "learn-06-square-stacked")
