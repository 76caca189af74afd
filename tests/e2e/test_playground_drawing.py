"""Drawing big maps in a real browser: canvas, picking, zoom, tap, value shading, layout, a11y.

Headless Debian Chromium against the real service (gunicorn) on loopback, as in
test_playground_browser.py. Every answer the page gives is checked against an
independent computation in Python: the region holding a point by a convex
point-in-polygon test over the JSON answer of ``/regions`` and by a forward pass
of the weights, gradients and colours from the regions' affine maps. Screenshots
go to ``test-artifacts/playground/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from tests.conftest import REPO
from tests.e2e.conftest import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    _unavailable,
    playwright_chromium,
)
from tests.e2e.servers import running_service
from tests.e2e.test_playground_browser import forward_pattern

pytestmark = pytest.mark.e2e

AXE_CACHE = REPO / "test-artifacts" / "npm"
# The playground's threshold (plot2d.js SVG_MAX_REGIONS): above it, a canvas.
SVG_MAX_REGIONS = 3000
# viridis at 9 stops and the tint of value shading (palette.js, shading.js).
VIRIDIS = np.array(
    [
        [68, 1, 84],
        [71, 44, 122],
        [59, 81, 139],
        [44, 113, 142],
        [33, 144, 141],
        [39, 173, 129],
        [92, 200, 99],
        [170, 220, 50],
        [253, 231, 37],
    ],
    dtype=float,
)
VALUE_TINT = 0.3


def he_document(sizes: tuple[int, ...], seed: int, half: float) -> dict[str, Any]:
    """A network by hand: He-initialised weights, small biases, the box [-half, half]^2."""
    rng = np.random.default_rng(seed)
    coefs, intercepts = [], []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        coefs.append(rng.normal(0.0, np.sqrt(2.0 / a), (a, b)).tolist())
        intercepts.append(rng.normal(0.0, 0.1, b).tolist())
    return {"coefs": coefs, "intercepts": intercepts, "domain": [[-half, -half], [half, half]]}


# relu(x1) and relu(x2) and a dead unit; then an always-active unit and one that
# switches where relu(x1) - relu(x2) = 0.5: a bent line of two straight pieces.
HAND = {
    "coefs": [
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        [[1.0, 1.0], [1.0, -1.0], [0.0, 0.0]],
        [[1.0], [1.0]],
    ],
    "intercepts": [[0.0, 0.0, -1.0], [5.0, -0.5], [0.0]],
    "domain": [[-2.0, -2.0], [2.0, 2.0]],
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_service(tmp_path_factory.mktemp("drawing"), "--workers", "1") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_chromium() as (chromium, executable):
        launched = chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Any, url: str, **options: Any) -> Any:
    # bypass_csp: Playwright's wait_for_function evaluates with eval, which the CSP forbids.
    context = browser.new_context(bypass_csp=True, **options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url)
    return page


def close(page: Any) -> None:
    errors = page.errors
    page.context.close()
    assert not errors, errors


def network(service: str, document: dict[str, Any]) -> str:
    response = requests.post(service + "/v1/networks", json=document, timeout=120)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


def regions_json(service: str, model_id: str) -> dict[str, Any]:
    response = requests.get(f"{service}/v1/models/{model_id}/regions", timeout=120)
    assert response.status_code == 200, response.text
    return dict(response.json())


def regions_by_npz(service: str, model_id: str) -> dict[str, Any]:
    """The map as the Python client decodes the .npz answer: the page's own request, so
    the server computes the map once and both read the same cached answer."""
    from relumap.regions import NPZ, Regions

    response = requests.get(
        f"{service}/v1/models/{model_id}/regions", headers={"Accept": NPZ}, timeout=120
    )
    assert response.status_code == 200, response.text
    regions = Regions.from_npz(response.content)
    return {
        "n_regions": regions.n_regions,
        "box": regions.box.tolist(),
        "vertices": regions.vertices,
        "offsets": regions.offsets.tolist(),
        "interior_points": regions.interior_points,
    }


def show(page: Any, service: str, model_id: str, color: str = "linear_region") -> None:
    page.goto(f"{service}/?src=manual&model={model_id}&color={color}")
    page.wait_for_selector("#canvas-main svg.map[data-drawn]")


def polygons(regions: dict[str, Any]) -> list[np.ndarray]:
    vertices = np.asarray(regions["vertices"], dtype=float)
    offsets = regions["offsets"]
    return [vertices[offsets[r] : offsets[r + 1]] for r in range(regions["n_regions"])]


def edges(regions: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every polygon edge (start, end) and the region it bounds, counter-clockwise."""
    vertices = np.asarray(regions["vertices"], dtype=float)
    offsets = np.asarray(regions["offsets"])
    owner = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    following = np.arange(len(vertices)) + 1
    last = offsets[1:] - 1
    following[last] = offsets[:-1]
    return vertices, vertices[following], owner


def containing(regions: dict[str, Any], point: np.ndarray) -> list[int]:
    """Regions whose closed convex polygon (counter-clockwise) holds the point."""
    a, b, owner = edges(regions)
    cross = (b[:, 0] - a[:, 0]) * (point[1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (point[0] - a[:, 0])
    outside = np.zeros(regions["n_regions"], dtype=bool)
    np.logical_or.at(outside, owner, cross < -1e-12)
    return [int(r) for r in np.flatnonzero(~outside)]


def client_point(page: Any, point: np.ndarray) -> tuple[float, float]:
    """Screen pixel of an input point, from the drawn frame and the view box the page shows."""
    return tuple(
        page.evaluate(
            """([px, py]) => {
                const svg = document.querySelector('#canvas-main svg.map');
                const frame = svg.querySelector('.frame');
                const [x0, y0, x1, y1] = svg.dataset.viewBox.split(' ').map(Number);
                const p = svg.createSVGPoint();
                p.x = frame.x.baseVal.value + (px - x0) / (x1 - x0) * frame.width.baseVal.value;
                p.y = frame.y.baseVal.value + (y1 - py) / (y1 - y0) * frame.height.baseVal.value;
                const q = p.matrixTransform(svg.getScreenCTM());
                return [q.x, q.y];
            }""",
            [float(point[0]), float(point[1])],
        )
    )


def view_box(page: Any) -> list[float]:
    text = page.get_attribute("#canvas-main svg.map", "data-view-box")
    return [float(v) for v in text.split()]


def pixel_size(page: Any) -> float:
    """Input units per CSS pixel along x in the current view."""
    x0, _, x1, _ = view_box(page)
    width = page.locator("#canvas-main svg.map .frame").bounding_box()["width"]
    return (x1 - x0) / width


def check_hover(page: Any, regions: dict[str, Any], weights: Any, r: int) -> None:
    """Hover region r's interior point: the page names r, with the forward pass's pattern."""
    point = np.asarray(regions["interior_points"][r])
    assert containing(regions, point) == [r]
    page.mouse.move(*client_point(page, point))
    info = page.locator("#info")
    assert (
        info.locator(".info-title")
        .inner_text()
        .startswith(f"Region {r + 1} of {regions['n_regions']}")
    )
    assert info.locator("code").inner_text().replace(" ", "") == forward_pattern(weights, point)


def roomy(regions: dict[str, Any], units_per_pixel: float, inside: Any) -> list[int]:
    """Regions whose interior point is 3 pixels or more from their edges (no rounding doubt)."""
    a, b, owner = edges(regions)
    p = np.asarray(regions["interior_points"], dtype=float)[owner]
    edge = b - a
    t = np.clip(np.einsum("ij,ij->i", p - a, edge) / np.einsum("ij,ij->i", edge, edge), 0, 1)
    distance = np.linalg.norm(a + t[:, None] * edge - p, axis=1)
    gap = np.minimum.reduceat(distance, np.asarray(regions["offsets"][:-1]))
    return [
        r
        for r in np.flatnonzero(gap > 3 * units_per_pixel).tolist()
        if inside(regions["interior_points"][r])
    ]


def test_a_large_map_is_a_canvas_and_picking_names_the_right_region(
    browser: Any, service: str
) -> None:
    model_id = network(service, he_document((2, 72, 72, 1), seed=0, half=3.0))
    regions = regions_by_npz(service, model_id)
    assert regions["n_regions"] > SVG_MAX_REGIONS
    weights = requests.get(f"{service}/v1/models/{model_id}/weights", timeout=30).json()
    page = open_page(browser, service + "/", viewport={"width": 1366, "height": 900})
    show(page, service, model_id)
    svg = page.locator("#canvas-main svg.map")
    assert svg.get_attribute("data-renderer") == "canvas"
    assert page.locator("#canvas-main polygon.region").count() == 0
    raster = page.locator("#canvas-main canvas.map-raster")
    assert raster.count() == 1
    # Dense: filled pixel by pixel (canvas2d.js RASTER_MIN_REGIONS = 8000).
    assert raster.get_attribute("data-mode") == "pixels"
    page.locator("#canvas-main").screenshot(path=str(ARTIFACTS / "20-canvas-9k.png"))

    (x0, y0), (x1, y1) = regions["box"]
    full = lambda p: x0 <= p[0] <= x1 and y0 <= p[1] <= y1  # noqa: E731
    candidates = roomy(regions, pixel_size(page), full)
    rng = np.random.default_rng(1)
    for r in rng.choice(candidates, size=min(6, len(candidates)), replace=False):
        check_hover(page, regions, weights, int(r))

    # Zoom in by wheel about the centre: the view box shrinks around the pointer.
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    page.mouse.move(*client_point(page, centre))
    for _ in range(4):
        page.mouse.wheel(0, -400)
    page.wait_for_function(
        "(() => { const svg = document.querySelector('#canvas-main svg.map');"
        " const [a, , b] = svg.dataset.viewBox.split(' ').map(Number); return b - a < 3; })()"
    )
    vx0, vy0, vx1, vy1 = view_box(page)
    assert vx1 - vx0 < (x1 - x0) / 2 and vx0 < centre[0] < vx1 and vy0 < centre[1] < vy1
    page.locator("#canvas-main").screenshot(path=str(ARTIFACTS / "21-canvas-zoomed.png"))
    assert raster.get_attribute("data-mode") == "paths"  # fewer regions in view: vector paths
    # Regions too small to hover at full view are roomy now, and hovering still names them.
    inside = lambda p: vx0 < p[0] < vx1 and vy0 < p[1] < vy1  # noqa: E731
    zoomed = [r for r in roomy(regions, pixel_size(page), inside) if r not in candidates]
    assert zoomed
    for r in rng.choice(zoomed, size=min(6, len(zoomed)), replace=False):
        check_hover(page, regions, weights, int(r))
    # Drag pans; Reset shows the whole box again.
    start = client_point(page, centre)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 60, start[1] + 20, steps=4)
    page.mouse.up()
    page.wait_for_function(
        f"document.querySelector('#canvas-main svg.map').dataset.viewBox.split(' ')[0] !== '{vx0}'"
    )
    moved = view_box(page)
    assert moved[0] < vx0 and moved[1] > vy0  # the map moved right and down with the pointer
    page.get_by_role("button", name="Reset the zoom").click()
    page.wait_for_function(
        f"document.querySelector('#canvas-main svg.map').dataset.viewBox.split(' ')[0] === '{x0:g}'"
    )
    assert view_box(page) == [x0, y0, x1, y1]
    close(page)


def viridis(t: np.ndarray) -> np.ndarray:
    x = np.clip(t, 0, 1) * 8
    i = np.minimum(np.floor(x).astype(int), 7)
    f = (x - i)[..., None]
    rgb = VIRIDIS[i] + (VIRIDIS[i + 1] - VIRIDIS[i]) * f
    return rgb + (255 - rgb) * VALUE_TINT


def test_value_shading_is_each_regions_affine_map_with_a_legend(browser: Any, service: str) -> None:
    model_id = network(service, he_document((2, 8, 8, 1), seed=1, half=2.0))
    regions = regions_json(service, model_id)
    assert regions["n_regions"] <= SVG_MAX_REGIONS
    polys = polygons(regions)
    gradients = np.asarray(regions["gradients"])[:, 0, :]
    intercepts = np.asarray(regions["intercepts"])[:, 0]
    values = [poly @ g + c for poly, g, c in zip(polys, gradients, intercepts, strict=True)]
    lo, hi = min(v.min() for v in values), max(v.max() for v in values)
    page = open_page(browser, service + "/", viewport={"width": 1366, "height": 900})
    show(page, service, model_id, color="value")
    assert page.get_attribute("#canvas-main svg.map", "data-renderer") == "svg"
    legend = page.locator("#canvas-main .value-legend")
    assert float(legend.get_attribute("data-lo")) == pytest.approx(lo, rel=1e-12, abs=1e-12)
    assert float(legend.get_attribute("data-hi")) == pytest.approx(hi, rel=1e-12, abs=1e-12)
    assert "output value" in legend.inner_text()
    page.locator("#view-main").screenshot(path=str(ARTIFACTS / "22-value-shading.png"))

    # The keyboard zooms too: + by 1.5 about the centre, 0 resets.
    box = [float(v) for row in regions["box"] for v in row]
    page.focus("#canvas-main svg.map")
    page.keyboard.press("+")
    first = "document.querySelector('#canvas-main svg.map').dataset.viewBox.split(' ')[0]"
    page.wait_for_function(f"{first} !== '{box[0]:g}'")
    x0, y0, x1, y1 = view_box(page)
    assert x1 - x0 == pytest.approx((box[2] - box[0]) / 1.5)
    assert (x0 + x1) / 2 == pytest.approx((box[0] + box[2]) / 2)
    page.keyboard.press("0")
    page.wait_for_function(f"{first} === '{box[0]:g}'")

    # Each sloped region's gradient runs from its lowest vertex along its own gradient.
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('#canvas-main polygon.region')].map((p) => {
            const fill = p.getAttribute('fill');
            if (!fill.startsWith('url(')) return null;
            const g = document.querySelector(fill.slice(4, -1));
            return {r: Number(p.dataset.index), units: g.getAttribute('gradientUnits'),
                    a: [g.x1.baseVal.value, g.y1.baseVal.value],
                    b: [g.x2.baseVal.value, g.y2.baseVal.value],
                    stops: [...g.querySelectorAll('stop')].map(
                        (s) => [Number(s.getAttribute('offset')), s.getAttribute('stop-color')])};
        })"""
    )
    frame = page.evaluate(
        "(() => { const f = document.querySelector('#canvas-main svg.map .frame');"
        " return [f.x, f.y, f.width, f.height].map((v) => v.baseVal.value); })()"
    )
    (x0, y0), (x1, y1) = regions["box"]
    kx, ky = frame[2] / (x1 - x0), -frame[3] / (y1 - y0)
    to_input = lambda p: np.array([x0 + (p[0] - frame[0]) / kx, y1 + (p[1] - frame[1]) / ky])  # noqa: E731
    sloped = [d for d in drawn if d is not None]
    assert len(sloped) >= regions["n_regions"] // 2
    for d in sloped:
        r, g, c = d["r"], gradients[d["r"]], intercepts[d["r"]]
        assert d["units"] == "userSpaceOnUse"
        a, b = to_input(d["a"]), to_input(d["b"])
        # Starts at the polygon's minimum, ends where its maximum's level line crosses.
        assert a @ g + c == pytest.approx(values[r].min(), abs=1e-6 * (hi - lo))
        assert b @ g + c == pytest.approx(values[r].max(), abs=1e-6 * (hi - lo))
        direction = b - a
        cosine = direction @ g / (np.linalg.norm(direction) * np.linalg.norm(g))
        assert cosine == pytest.approx(1.0, abs=1e-9)
        # The end stops are the scale's colours of the polygon's extreme values (one 8-bit step).
        for (offset, colour), v in (
            (d["stops"][0], values[r].min()),
            (d["stops"][-1], values[r].max()),
        ):
            rgb = np.array([float(s) for s in colour[4:-1].split(",")])
            assert np.all(np.abs(rgb - viridis(np.array((v - lo) / (hi - lo)))) <= 1.0), (
                offset,
                colour,
            )
    close(page)


def contrast(page: Any, selector: str) -> float:
    """WCAG 2 contrast ratio of an element's text on its background."""
    colours = page.evaluate(
        """(s) => { const st = getComputedStyle(document.querySelector(s));
            return [st.color, st.backgroundColor].map(
                (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number)); }""",
        selector,
    )

    def luminance(rgb: list[float]) -> float:
        c = np.asarray(rgb) / 255
        linear = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(linear @ [0.2126, 0.7152, 0.0722])

    bright, dark = sorted((luminance(colours[0]), luminance(colours[1])), reverse=True)
    return (bright + 0.05) / (dark + 0.05)


def test_neuron_highlight_counts_lines_and_a_pressed_dead_neuron_is_readable(
    browser: Any, service: str
) -> None:
    model_id = network(service, HAND)
    page = open_page(browser, service + "/", viewport={"width": 1366, "height": 900})
    show(page, service, model_id)
    note = page.locator("#neuron-note")
    line = page.locator("#canvas-main path.neuron-line")

    page.click("button.neuron[data-layer='1'][data-unit='0']")
    assert "one straight line" in note.inner_text()
    d = line.get_attribute("d")
    assert d.count("M") == 1  # x1 = 0 across the box: one segment, not one per region edge
    xs = [float(v.split(",")[0]) for v in d[1:].split("L")]
    assert xs[0] == pytest.approx(xs[1], abs=0.01)

    page.click("button.neuron[data-layer='2'][data-unit='0']")
    assert "active everywhere" in note.inner_text() and "none is drawn" in note.inner_text()
    assert line.count() == 0

    page.click("button.neuron[data-layer='2'][data-unit='1']")
    assert "bent line of 2 straight pieces" in note.inner_text()

    dead = "button.neuron[data-layer='1'][data-unit='2']"
    page.click(dead)
    assert page.get_attribute(dead, "aria-pressed") == "true"
    assert "dead" in note.inner_text() and line.count() == 0
    assert contrast(page, dead) >= 4.5
    page.locator("aside.side").screenshot(path=str(ARTIFACTS / "23-dead-neuron-pressed.png"))
    close(page)


def test_a_tap_on_a_phone_shows_the_formula(browser: Any, service: str) -> None:
    model_id = network(service, HAND)
    regions = regions_json(service, model_id)
    page = open_page(
        browser,
        service + "/",
        viewport={"width": 390, "height": 844},
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )
    show(page, service, model_id)
    page.locator("#canvas-main svg.map").scroll_into_view_if_needed()
    largest = int(np.argmax(regions["areas"]))
    point = np.asarray(regions["interior_points"][largest])
    assert containing(regions, point) == [largest]
    page.touchscreen.tap(*client_point(page, point))
    info = page.locator("#info")
    assert info.locator(".info-title").inner_text().startswith(f"Region {largest + 1} of ")
    g, c = regions["gradients"][largest][0], regions["intercepts"][largest][0]
    formula = info.locator(".formula").inner_text()
    assert formula.startswith("y = ")
    assert page.get_attribute("#canvas-main svg.map", "data-tapped") == str(largest)
    assert np.isfinite(g).all() and np.isfinite(c)
    page.screenshot(path=str(ARTIFACTS / "24-phone-tap.png"))

    # Pinch: two fingers moving apart about the box's centre zoom in about it.
    (x0, y0), (x1, y1) = regions["box"]
    cx, cy = client_point(page, np.array([(x0 + x1) / 2, (y0 + y1) / 2]))
    cdp = page.context.new_cdp_session(page)

    def fingers(kind: str, spread: float) -> None:
        points = [{"x": cx - spread, "y": cy, "id": 1}, {"x": cx + spread, "y": cy, "id": 2}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    fingers("touchStart", 20)
    for spread in (30, 45, 60, 80):
        fingers("touchMove", spread)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_function(
        "(() => { const [a, , b] = document.querySelector('#canvas-main svg.map')"
        ".dataset.viewBox.split(' ').map(Number); return b - a < 3.9; })()"
    )
    vx0, vy0, vx1, vy1 = view_box(page)
    assert (vx1 - vx0) == pytest.approx((x1 - x0) / 4, rel=0.1)  # the fingers spread 4 times
    assert (vx0 + vx1) / 2 == pytest.approx((x0 + x1) / 2, abs=0.05)
    assert page.get_attribute("#canvas-main svg.map", "data-tapped") == str(largest)  # no tap
    close(page)


def test_a_shared_url_with_compare_does_not_shift_the_layout(browser: Any, service: str) -> None:
    page = open_page(browser, "about:blank", viewport={"width": 1366, "height": 900})
    page.add_init_script(
        """window.__shifts = [];
        new PerformanceObserver((list) => {
            for (const entry of list.getEntries()) {
                if (!entry.hadRecentInput) window.__shifts.push(entry.value);
            }
        }).observe({type: 'layout-shift', buffered: true});"""
    )
    page.goto(f"{service}/?src=builtin&kind=xor&n=100&layers=6&iter=300&seed=3&compare=1")
    page.wait_for_selector("#canvas-linear svg.map[data-drawn]")
    page.wait_for_function("!document.getElementById('fit').disabled")
    page.wait_for_timeout(300)
    shifts = page.evaluate("window.__shifts")
    assert sum(shifts) < 0.1, shifts
    page.screenshot(path=str(ARTIFACTS / "25-compare-from-url.png"))
    close(page)


def axe_script() -> Path:
    """axe-core's axe.min.js (MPL-2.0) from the npm registry, cached under test-artifacts/."""
    script = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is not installed: it fetches axe-core for the accessibility check")
    done = subprocess.run(
        [
            npm,
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(AXE_CACHE),
            "axe-core@4",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not script.exists():
        _unavailable(f"npm could not install axe-core: {done.stderr.strip()[-400:]}")
    return script


def test_axe_finds_no_serious_violation_on_a_drawn_map(browser: Any, service: str) -> None:
    script = axe_script()
    model_id = network(service, HAND)
    page = open_page(browser, service + "/", viewport={"width": 1366, "height": 900})
    show(page, service, model_id, color="value")
    page.click("button.neuron[data-layer='1'][data-unit='2']")
    page.add_script_tag(path=str(script))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, json.dumps(serious, indent=1)
    close(page)
