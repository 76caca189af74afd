"""What the playground's learning view costs in the browser: playback steps and unit maps.

Starts ``relumap-service`` (gunicorn) on a loopback port and Debian's headless
Chromium through Playwright, as the browser tests do, fits each case from the
page with 20 snapshots and measures:

- **step, cold**: press "step ▶" until the map shows the next snapshot, loaded for
  the first time (``/regions?snapshot=i&include=units`` and ``/weights?snapshot=i``,
  then drawing); wall clock from the click to the page's ``data-shown`` changing,
  read by polling every animation frame, so it includes up to one frame of wait.
  The page fetches the next snapshot while one is shown, so "cold" is often
  partly prefetched, as it is for a user stepping at that pace.
- **step, warm**: the same steps again, every snapshot from the page's cache.
- **unit maps**: building the "every hidden unit" thumbnails in the page
  (``drawUnitMaps``, ``performance.now()`` around it), repeated on the fitted
  model's answer; the browser paints afterwards.

Prints medians in milliseconds. Wall clock on a shared machine: quote medians,
and compare runs made together.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.conftest import CHROMIUM_ARGS, chromium_or_install  # noqa: E402
from tests.e2e.servers import running_service  # noqa: E402

CASES = [("xor", "8"), ("spiral", "16, 16")]
SNAPSHOTS = 20


def _shown(page: Any) -> int:
    return int(page.locator("#training").get_attribute("data-shown"))


def _step_times(page: Any, count: int) -> list[float]:
    """Milliseconds from each "step ▶" click to the next snapshot on the map."""
    times = []
    for _ in range(count):
        target = _shown(page) + 1
        start = time.perf_counter()
        page.click("#train-forward")
        page.wait_for_function(
            f"document.querySelector('#training').dataset.shown === '{target}'", polling="raf"
        )
        times.append(1000 * (time.perf_counter() - start))
    return times


def _unit_map_times(page: Any, model_id: str, repeats: int) -> tuple[int, int, list[float]]:
    n_regions, elements, times = page.evaluate(
        """async ([id, repeats]) => {
            const { drawUnitMaps } = await import('/static/playground/js/units.js');
            const get = async (path) => (await fetch(`/v1/models/${id}/${path}`)).json();
            const regions = await get('regions?include=units');
            const weights = await get('weights');
            const grid = document.createElement('div');
            const times = [];
            for (let i = 0; i < repeats; i++) {
                const t = performance.now();
                drawUnitMaps(grid, { regions, weights });
                times.push(performance.now() - t);
            }
            return [regions.n_regions, grid.querySelectorAll('*').length, times];
        }""",
        [model_id, repeats],
    )
    return n_regions, elements, times


def _case(page: Any, kind: str, layers: str, repeats: int) -> str:
    page.select_option("#kind", kind)
    page.fill("#layers", layers)
    page.fill("#snapshots", str(SNAPSHOTS))
    page.click("#fit")
    page.wait_for_function("!document.getElementById('fit').disabled")
    page.wait_for_selector("#training:not([hidden])")
    model_id = page.locator("#canvas-main svg").get_attribute("data-model-id")
    # A fit of fewer iterations than snapshots asked for records fewer.
    steps = int(page.locator("#train-slider").get_attribute("max"))
    medians = []
    for _ in ("cold", "warm"):
        page.click("#train-first")
        page.wait_for_function("document.querySelector('#training').dataset.shown === '0'")
        medians.append(statistics.median(_step_times(page, steps)))
    n_regions, elements, builds = _unit_map_times(page, model_id, repeats)
    medians.append(statistics.median(builds))
    cells = " ".join(f"{v:>10.1f}" for v in medians)
    return f"{kind + ' [' + layers + ']':22} {n_regions:>10} {steps:>10} {cells} {elements:>10}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7, help="unit-map builds per case")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    executable = chromium_or_install()
    columns = ("regions", "steps", "step cold", "step warm", "unit maps", "elements")
    print(f"{'case':22} " + " ".join(f"{c:>10}" for c in columns))
    print(f"{'':44} {'(median ms)':>32}")
    with (
        tempfile.TemporaryDirectory() as data,
        running_service(Path(data), "--workers", "1") as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900}, bypass_csp=True)
        page.set_default_timeout(120_000)
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.locator("#training-options").evaluate("(d) => { d.open = true; }")
        for kind, layers in CASES:
            print(_case(page, kind, layers, args.repeats), flush=True)
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
