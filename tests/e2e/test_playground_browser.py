"""The playground in a real browser: headless Chromium against the real service on loopback.

Chromium is Debian's ``chromium`` package, driven by Playwright for Python through
``executable_path`` (Playwright's own browser downloads are not used). Where it is
missing the test installs it with apt-get when it runs as root; where that is
impossible the tests are skipped with the reason, except under ``CI=true``, where
they fail. Every step saves a screenshot under ``test-artifacts/playground/``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from tests.conftest import REPO

# The browser and the server are shared by every playground test module
# (tests/e2e/conftest.py); these names stay importable from here too.
from tests.e2e.conftest import (  # noqa: F401
    ARTIFACTS,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    _unavailable,
    chromium_or_install,
)

pytestmark = pytest.mark.e2e

PRESETS = REPO / "service" / "relumap_service" / "static" / "playground" / "seed_networks.json"


def shot(page: Any, name: str, full_page: bool = True) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def api(service: str, path: str) -> Any:
    response = requests.get(service + path, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def wait_until_idle(page: Any) -> None:
    """Wait until no request of the page is running (the Fit button is enabled again)."""
    page.wait_for_function("!document.getElementById('fit').disabled")


def fit(page: Any, kind: str, **settings: str) -> None:
    page.check("#source-builtin")
    page.select_option("#kind", kind)
    for control, value in settings.items():
        if control in ("activation", "task"):
            page.select_option(f"#{control}", value)
        else:
            page.fill(f"#{control.replace('_', '-')}", value)
    page.click("#fit")
    wait_until_idle(page)


def forward_pattern(weights: dict[str, Any], point: list[float]) -> str:
    """The activation pattern at a point, by a plain forward pass (layer 1 first)."""
    h = np.asarray(point, dtype=np.float64)
    bits = []
    for W, b in zip(weights["coefs"][:-1], weights["intercepts"][:-1], strict=True):
        pre = h @ np.asarray(W) + np.asarray(b)
        bits += ["1" if v > 0 else "0" for v in pre]
        h = np.maximum(pre, 0.0)
    return "".join(bits)


def affine_terms(formula: str) -> dict[str, float]:
    """Read `y = 1.3·x1 − 0.2·x2 + 0.7 (…)` back into {"x1": 1.3, "x2": -0.2, "": 0.7}."""
    right = formula.split("=", 1)[1].split("(")[0].replace("\u2212", "-").replace(" ", "")
    terms: dict[str, float] = {}
    pattern = r"([+-]?)(\d[\d.]*(?:e[+-]?\d+)?)?(?:\u00b7)?(x\d?)?"
    for sign, number, name in re.findall(pattern, right):
        if not number and not name:
            continue
        value = float(number) if number else 1.0
        terms[name or ""] = -value if sign == "-" else value
    return terms


def test_fit_xor_and_see_every_region_the_api_reports(page: Any, service: str) -> None:
    fit(page, "xor", layers="8, 8")
    shot(page, "01-xor-relu")
    svg = page.locator("#canvas-main svg")
    model_id = svg.get_attribute("data-model-id")
    regions = api(service, f"/v1/models/{model_id}/regions")
    assert page.locator("#canvas-main polygon.region").count() == regions["n_regions"] > 1
    assert page.locator("#canvas-main path.boundary").count() == 1
    count = page.locator("#counts")
    assert count.get_attribute("data-count") == str(regions["n_regions"])
    assert count.get_attribute("data-bound") == str(regions["bound"])

    model = api(service, f"/v1/models/{model_id}")
    cells = page.locator("#metrics-table td[data-metric]")
    assert cells.count() >= 16
    for i in range(cells.count()):
        cell = cells.nth(i)
        source = (
            model["metrics"] if cell.get_attribute("data-model") == "network" else model["baseline"]
        )
        expected = source[cell.get_attribute("data-split")][cell.get_attribute("data-metric")]
        assert float(cell.get_attribute("data-value")) == expected
        shown = float(cell.inner_text().replace("\u2212", "-"))
        assert shown == pytest.approx(expected, rel=5e-4, abs=1e-12)

    # Hover the largest region: its pattern is the one a forward pass gives there.
    largest = int(np.argmax(regions["areas"]))
    point = page.evaluate(
        """(r) => {
            const polygon = document.querySelectorAll('#canvas-main polygon.region')[r];
            const pts = [...polygon.points];
            const p = polygon.ownerSVGElement.createSVGPoint();
            p.x = pts.reduce((s, q) => s + q.x, 0) / pts.length;
            p.y = pts.reduce((s, q) => s + q.y, 0) / pts.length;
            const q = p.matrixTransform(polygon.getScreenCTM());
            return [q.x, q.y];
        }""",
        largest,
    )
    page.mouse.move(*point)
    info = page.locator("#info")
    assert f"Region {largest + 1} of {regions['n_regions']}" in info.inner_text()
    weights = api(service, f"/v1/models/{model_id}/weights")
    expected = forward_pattern(weights, regions["interior_points"][largest])
    assert info.locator("code").inner_text().replace(" ", "") == expected
    formula = info.locator(".formula").inner_text()
    assert formula.startswith("logit = ")
    coefficients = affine_terms(formula)
    gradient, intercept = regions["gradients"][largest][0], regions["intercepts"][largest][0]
    for name, value in (("x1", gradient[0]), ("x2", gradient[1]), ("", intercept)):
        # Three significant digits are shown.
        assert coefficients.get(name, 0.0) == pytest.approx(value, rel=6e-3, abs=1e-9), formula
    shot(page, "02-xor-hover-region", full_page=False)

    # Keyboard: the map takes focus and the arrow keys step through the regions.
    svg.focus()
    page.keyboard.press("Home")
    assert info.inner_text().startswith(f"Region 1 of {regions['n_regions']}")
    page.keyboard.press("ArrowRight")
    assert info.inner_text().startswith(f"Region 2 of {regions['n_regions']}")

    # A first-layer neuron highlights the line where it switches.
    live = [
        (layer, unit)
        for layer, unit, dead, always in zip(
            regions["diagnostics"]["layer"],
            regions["diagnostics"]["unit"],
            regions["diagnostics"]["dead_on_domain"],
            regions["diagnostics"]["always_active_on_domain"],
            strict=True,
        )
        if layer == 1 and not dead and not always
    ]
    layer, unit = live[0]
    page.click(f"button.neuron[data-layer='{layer}'][data-unit='{unit}']")
    assert page.locator("#canvas-main path.neuron-line").count() == 1
    assert "switches along" in page.inner_text("#neuron-note")
    shot(page, "03-xor-neuron", full_page=False)


@pytest.mark.slow
def test_identity_is_one_region_and_compare_shows_both_maps(page: Any, service: str) -> None:
    fit(page, "xor", layers="8, 8", activation="identity")
    assert page.locator("#canvas-main polygon.region").count() == 1
    model_id = page.locator("#canvas-main svg").get_attribute("data-model-id")
    assert api(service, f"/v1/models/{model_id}/regions")["n_regions"] == 1
    assert page.inner_text("#equivalent").startswith("One affine map everywhere: logit = ")
    shot(page, "04-xor-identity")

    # Switching "compare with linear" on after a fit fits the identity network beside it.
    page.select_option("#activation", "relu")
    page.click("#fit")
    wait_until_idle(page)
    assert page.locator("#view-linear").is_hidden()
    page.check("#compare")
    page.wait_for_selector("#canvas-linear polygon.region")
    wait_until_idle(page)
    assert page.locator("#view-linear").is_visible()
    assert page.locator("#canvas-linear polygon.region").count() == 1
    assert page.locator("#canvas-main polygon.region").count() > 1
    linear_id = page.locator("#canvas-linear svg").get_attribute("data-model-id")
    linear = api(service, f"/v1/models/{linear_id}")
    assert linear["params"]["activation"] == "identity"
    assert "It is one affine map: logit = " in page.inner_text("#caption-linear")
    assert page.locator("#metrics-table td[data-model='identity']").count() >= 8
    shot(page, "05-compare-with-linear")


@pytest.mark.slow
def test_a_seed_preset_shows_its_knots(page: Any, service: str) -> None:
    # The knots the forum threads state for these networks (the shipped presets file).
    cases = json.loads((PRESETS).read_text())["cases"]
    expected = {case["name"]: case["expect"].get("knots") for case in cases}
    for name in ("abs_from_two_relus", "square_from_four_relus"):
        knots = expected[name]
        page.select_option("#preset", name)
        page.wait_for_function(
            f"document.querySelector('#canvas-main svg')?.dataset.nKnots === '{len(knots)}'"
        )
        wait_until_idle(page)
        assert page.locator("#canvas-main circle.knot").count() == len(knots)
        titles = page.locator("#canvas-main circle.knot title").all_text_contents()
        assert titles == [f"knot at x = {k:g}".replace("-", "\u2212") for k in knots]
        assert f"preset={name}" in page.url
    # Left of -1: |x| + relu(-2 (x + 1)) = -x - 2 x - 2.
    page.hover("#canvas-main rect.piece >> nth=0")
    assert page.locator("#info .formula").inner_text() == "y = \u22123\u00b7x \u2212 2"
    shot(page, "06-preset-square-from-four-relus")

    # Edit the weights: relu(x - 1) + relu(1 - x) = |x - 1| bends at x = 1, shown as typed.
    shifted = {
        "coefs": [[[1.0, -1.0]], [[1.0], [1.0]]],
        "intercepts": [[-1.0, 1.0], [0.0]],
        "domain": [-3.0, 3.0],
    }
    page.fill("#editor-text", json.dumps(shifted))
    page.wait_for_function(
        "document.querySelector('#canvas-main circle.knot title')?.textContent === 'knot at x = 1'"
    )
    assert page.locator("#canvas-main circle.knot").count() == 1
    assert "preset=" not in page.url and "model=" in page.url

    # Showing a network again reuses its model rather than storing another.
    manual = {m["id"] for m in requests.get(f"{service}/v1/models?page_size=100").json()}
    page.select_option("#preset", "abs_from_two_relus")
    page.wait_for_function("document.querySelector('#canvas-main svg')?.dataset.nKnots === '1'")
    wait_until_idle(page)
    again = {m["id"] for m in requests.get(f"{service}/v1/models?page_size=100").json()}
    assert again == manual


def test_upload_a_csv_through_the_file_input(page: Any, service: str, tmp_path: Path) -> None:
    x = np.linspace(-2, 2, 60)
    csv = tmp_path / "v_shape.csv"
    csv.write_text("x,target\n" + "".join(f"{a:.4f},{abs(a):.4f}\n" for a in x))
    page.check("#source-upload")
    page.fill("#target", "target")
    page.set_input_files("#csv-file", str(csv))
    page.wait_for_function(
        "document.getElementById('upload-status').textContent.includes('60 rows')"
    )
    page.fill("#layers", "4")
    page.click("#fit")
    wait_until_idle(page)
    svg = page.locator("#canvas-main svg")
    model = api(service, f"/v1/models/{svg.get_attribute('data-model-id')}")
    dataset = api(service, f"/v1/datasets/{model['dataset_id']}")
    assert dataset["name"] == "v_shape.csv" and dataset["n_samples"] == 60
    knots = api(service, f"/v1/models/{model['id']}/knots")
    assert svg.get_attribute("data-n-knots") == str(knots["n_knots"])
    assert page.locator("#canvas-main circle.knot").count() == knots["n_knots"]
    assert f"dataset={dataset['id']}" in page.url
    shot(page, "07-uploaded-csv")
    with page.expect_download() as download:
        page.click("#download-weights")
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported == api(service, f"/v1/models/{model['id']}/weights")


def test_a_model_of_four_features_is_seen_through_exact_slices(
    page: Any, service: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(4)
    X = rng.uniform(-2, 2, (120, 4))
    y = np.abs(X[:, 0]) + np.maximum(X[:, 2], 0) - 0.5 * X[:, 3]
    csv = tmp_path / "four.csv"
    rows = [",".join(f"{v:.4f}" for v in (*row, t)) for row, t in zip(X, y, strict=True)]
    csv.write_text("age,bmi,bp,s1,target\n" + "\n".join(rows) + "\n")
    page.check("#source-upload")
    page.fill("#target", "target")
    page.set_input_files("#csv-file", str(csv))
    page.wait_for_function(
        "document.getElementById('upload-status').textContent.includes('120 rows')"
    )
    page.fill("#layers", "8, 8")
    page.click("#fit")
    wait_until_idle(page)
    assert page.locator("#slice-fields").is_visible()
    svg = page.locator("#canvas-main svg")
    model_id = svg.get_attribute("data-model-id")
    # The default: the plane of the first two features through the data's median.
    regions = api(service, f"/v1/models/{model_id}/regions?axes=0,1&at=median")
    assert page.locator("#canvas-main polygon.region").count() == regions["n_regions"] > 1
    assert "age" in page.inner_text("#canvas-main") and "bmi" in page.inner_text("#canvas-main")
    png = page.locator("#plot-links a").first.get_attribute("href")
    assert "axes=0%2C1" in png and "at=median" in png
    shot(page, "08-slice-plane")
    # Another plane, then a line along one feature.
    page.select_option("#slice-y", label="bp")
    wait_until_idle(page)
    other = api(service, f"/v1/models/{model_id}/regions?axes=0,2&at=median")
    assert page.locator("#canvas-main polygon.region").count() == other["n_regions"]
    page.select_option("#slice-y", value="")
    page.select_option("#slice-at", "mean")
    wait_until_idle(page)
    knots = api(service, f"/v1/models/{model_id}/knots?axis=0&at=mean")
    assert page.locator("#canvas-main circle.knot").count() == knots["n_knots"]
    shot(page, "09-slice-line")
    # A slice chosen while the one before still lists its training snapshots:
    # the page stays busy until the new slice is drawn. Snapshot lists answer a
    # second late, the new slice's knots 2.5 s late.
    page.evaluate(
        """() => {
          const original = window.fetch;
          window.fetch = async (input, init) => {
            const url = String(input);
            const late = url.includes("/snapshots") ? 1000 : url.includes("at=mean") ? 2500 : 0;
            await new Promise((resolve) => setTimeout(resolve, late));
            return original(input, init);
          };
        }"""
    )
    median = api(service, f"/v1/models/{model_id}/knots?axis=0&at=median")
    assert median["n_knots"] != knots["n_knots"]
    page.select_option("#slice-at", "median")
    page.wait_for_function(
        f"document.querySelector('#canvas-main svg').dataset.nKnots === '{median['n_knots']}'"
    )
    page.select_option("#slice-at", "mean")
    wait_until_idle(page)
    assert page.locator("#canvas-main circle.knot").count() == knots["n_knots"]


def test_a_validation_error_is_shown_next_to_its_control(page: Any, service: str) -> None:
    page.fill("#layers", "0")
    page.fill("#noise", "99")
    page.click("#fit")
    wait_until_idle(page)
    # The service's own words, placed by the problem document's field errors.
    generated = requests.post(
        service + "/v1/datasets/generate", json={"kind": "xor", "noise": 99}, timeout=30
    ).json()
    assert page.inner_text("#error-noise") == " ".join(generated["errors"]["noise"])
    assert page.get_attribute("#noise", "aria-invalid") == "true"
    page.fill("#noise", "0.1")
    page.click("#fit")
    wait_until_idle(page)
    message = page.inner_text("#error-layers")
    assert "greater than or equal to 1" in message
    assert page.get_attribute("#layers", "aria-invalid") == "true"
    assert page.inner_text("#error-noise") == ""
    shot(page, "08-validation-error")


@pytest.mark.slow
def test_the_url_reloads_the_same_view_and_reads_on_a_phone(
    browser_context: Any, page: Any, service: str
) -> None:
    page.check("#compare")
    fit(page, "moons", layers="6", seed="3")
    first = page.locator("#canvas-main svg").get_attribute("data-n-regions")
    assert page.locator("#canvas-linear polygon.region").count() == 1
    url = page.url
    assert "kind=moons" in url and "seed=3" in url and "layers=6" in url and "compare=1" in url
    again = browser_context.new_page()
    again.set_default_timeout(TIMEOUT_MS)
    again.set_viewport_size({"width": 390, "height": 844})
    again.goto(url)
    again.wait_for_selector("#canvas-main polygon.region")
    wait_until_idle(again)
    assert again.locator("#canvas-main svg").get_attribute("data-n-regions") == first
    again.wait_for_selector("#canvas-linear polygon.region")
    assert again.locator("#canvas-linear polygon.region").count() == 1
    assert again.input_value("#kind") == "moons" and again.input_value("#seed") == "3"
    # Nothing is wider than the phone's screen.
    width = again.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    shot(again, "09-phone")
    again.close()
