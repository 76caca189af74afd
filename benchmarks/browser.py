"""The playground's drawing in headless Chromium: from the /regions answer to the map on screen.

For each seeded He network (~10k, ~30k, ~100k regions on [-3, 3]^2) the page
fetches the .npz answer (already in the server's cache, so the server's time is
not in it), decodes it and draws it with the playground's own modules
(``regionmap.js``, ``plot2d.js``), as a fit's answer is shown. Timed in the page:

- ``response→drawn``: from the answer's last byte to the frame after drawing
  (``requestAnimationFrame`` then a task), decoding included;
- ``decode``: the part of it spent decoding the .npz;
- ``hover``: from a mouse move's event time to the region's formula shown, over
  30 moves to random points of the plot;
- ``core``: the engine's time for the same map in the benchmark's process
  (``regions_2d``), and drawing's time as a multiple of it.

Medians over ``repeats`` page loads. Run with ``make bench`` (skip with
``--no-browser``) or ``.venv/bin/python benchmarks/run.py --browser-only``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import requests

BROWSER_CASES: list[tuple[int, ...]] = [(2, 64, 64, 1), (2, 128, 128, 1), (2, 224, 224, 1)]
HOVERS = 30

# Fetch, decode and draw one model's map the way the page shows a fit's answer.
DRAW = """async ([id, colorBy]) => {
  const { fetchRegionMap } = await import('/static/playground/js/regionmap.js');
  const { drawRegions } = await import('/static/playground/js/plot2d.js');
  const [model, weights] = await Promise.all([`/v1/models/${id}`, `/v1/models/${id}/weights`]
    .map((path) => fetch(path).then((r) => r.json())));
  const regions = await fetchRegionMap(id);
  const figure = document.getElementById('canvas-main');
  const onInfo = (info) => { document.getElementById('info').textContent = info.title; };
  drawRegions(figure, { regions, weights, model, dataset: null, colorBy, label: 'bench', onInfo });
  const svg = figure.querySelector('svg.map');
  while (!svg.dataset.drawn) await new Promise((resolve) => setTimeout(resolve, 5));
  return { n: regions.n_regions, bytes: regions.timing.bytes,
           decode: regions.timing.decodedAt - regions.timing.receivedAt,
           drawn: Number(svg.dataset.responseToDrawnMs) };
}"""


def _document(sizes: tuple[int, ...]) -> dict[str, Any]:
    from benchmarks.run import BOX, he_network

    net = he_network(sizes)
    return {
        "coefs": [w.tolist() for w in net.coefs],
        "intercepts": [b.tolist() for b in net.intercepts],
        "domain": [list(BOX[0]), list(BOX[1])],
    }


def _core_ms(sizes: tuple[int, ...], repeats: int) -> float:
    """The engine's time for the same map in this process (``regions_2d``), median, in ms."""
    from benchmarks.run import BOX, _median_time, he_network

    from relumap_service.core import regions_2d

    net = he_network(sizes)
    return 1e3 * _median_time(lambda: regions_2d(net, BOX, max_regions=200_000), repeats)


def _measure(context: Any, url: str, model_id: str, repeats: int, color: str) -> dict[str, Any]:
    drawn, decode, hover = [], [], []
    result: dict[str, Any] = {}
    rng = np.random.default_rng(0)
    for _ in range(repeats):
        page = context.new_page()
        page.set_default_timeout(600_000)
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]")
        result = page.evaluate(DRAW, [model_id, color])
        drawn.append(result["drawn"])
        decode.append(result["decode"])
        frame = page.locator("#canvas-main svg.map .frame").bounding_box()
        for _ in range(HOVERS):
            x = frame["x"] + rng.uniform(0, frame["width"])
            y = frame["y"] + rng.uniform(0, frame["height"])
            page.mouse.move(x, y)
            hover.append(float(page.get_attribute("#canvas-main svg.map", "data-hover-ms")))
        page.close()
    return {
        "count": result["n"],
        "color": color,
        "npz_bytes_per_region": result["bytes"] / result["n"],
        "response_to_drawn_ms": statistics.median(drawn),
        "decode_ms": statistics.median(decode),
        "hover_median_ms": statistics.median(hover),
        "hover_max_ms": max(hover),
        "runs": repeats,
    }


def browser_rows(repeats: int) -> list[dict[str, Any]]:
    """Time drawing and hovering each case in headless Chromium against one gunicorn worker."""
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, chromium_or_install
    from tests.e2e.servers import running_service

    rows = []
    with tempfile.TemporaryDirectory() as data_dir:
        with running_service(Path(data_dir), "--workers", "1", timeout=300) as url:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium_or_install(), args=CHROMIUM_ARGS, headless=True
                )
                context = browser.new_context(viewport={"width": 1366, "height": 900})
                for sizes in BROWSER_CASES:
                    created = requests.post(url + "/v1/networks", json=_document(sizes), timeout=60)
                    model_id = created.json()["id"]
                    # Computed once and cached by the server: the page's clock starts at the answer.
                    warm = requests.get(
                        f"{url}/v1/models/{model_id}/regions",
                        headers={"Accept": "application/x-npz"},
                        timeout=1200,
                    )
                    warm.raise_for_status()
                    core = _core_ms(sizes, repeats)
                    for color in ("linear_region", "value"):
                        row = _measure(context, url, model_id, repeats, color)
                        rows.append({"network": "-".join(map(str, sizes)), "core_ms": core, **row})
                browser.close()
    return rows


def browser_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'network':14} {'regions':>7} {'colour':>13} {'.npz B/r':>8} {'core ms':>8} "
        f"{'response→drawn ms':>18} {'x core':>6} {'decode ms':>9} {'hover ms':>8} {'hover max':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['network']:14} {r['count']:>7} {r['color']:>13} {r['npz_bytes_per_region']:>8.1f} "
            f"{r['core_ms']:>8.0f} {r['response_to_drawn_ms']:>18.0f} "
            f"{r['response_to_drawn_ms'] / r['core_ms']:>6.2f} {r['decode_ms']:>9.0f} "
            f"{r['hover_median_ms']:>8.1f} {r['hover_max_ms']:>9.1f}"
        )
    return "\n".join(lines)
