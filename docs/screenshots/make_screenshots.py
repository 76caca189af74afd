"""Regenerate the README's screenshots: the playground, and a 1D and a 2D server plot.

Run with ``make screenshots``. It starts ``relumap-service`` on a free loopback
port with a throw-away data directory, fits the networks shown, saves the
service's own ``plot.png`` pictures, and photographs the playground with
Debian's headless Chromium (driven by Playwright, never a downloaded browser).
Every picture is reduced to a 256-colour palette so the committed files stay small.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from PIL import Image

HERE = Path(__file__).resolve().parent
SERVICE = Path(sys.executable).with_name("relumap-service")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PLAYGROUND = (
    "/?src=builtin&kind=xor&n=200&noise=0.1&dseed=0&task=auto&act=relu&layers=8,8"
    "&alpha=0.0001&iter=1000&seed=0&compare=1&color=linear_region"
)


def save_small(png: bytes, name: str) -> None:
    """Save a picture here, reduced to a 256-colour palette."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(HERE / name, optimize=True)
    print(f"wrote {HERE / name} ({(HERE / name).stat().st_size // 1024} KiB)")


def chromium() -> str:
    """Return Debian's Chromium, installing it with apt-get as root if it is missing."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, check=True)
        return "/usr/bin/chromium"
    sys.exit("Chromium is missing: install Debian's package with `apt-get install chromium`")


def start_service(data_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start relumap-service on a free loopback port; return the process and its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [str(SERVICE), "--port", str(port), "--data-dir", data_dir, "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/readyz", timeout=5).ok:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    sys.exit("relumap-service did not start")


def fitted(url: str, kind: str, layers: list[int]) -> str:
    """Generate a built-in data set, fit a ReLU network to it and return the model id."""
    data = requests.post(
        url + "/v1/datasets/generate", json={"kind": kind, "noise": 0.1}, timeout=30
    ).json()
    model = requests.post(
        url + "/v1/models?wait=60",
        json={"dataset_id": data["id"], "hidden_layer_sizes": layers},
        timeout=90,
    ).json()
    assert model["status"] == "succeeded", model
    return str(model["id"])


def plots(url: str) -> None:
    """Save the service's own pictures of a 1D and a 2D fit."""
    one = fitted(url, "square", [8])
    save_small(
        requests.get(f"{url}/v1/models/{one}/plot.png?width=720&height=420", timeout=60).content,
        "plot-1d.png",
    )
    two = fitted(url, "xor", [8, 8])
    picture = requests.get(f"{url}/v1/models/{two}/plot.png?width=720&height=540", timeout=60)
    save_small(picture.content, "plot-2d.png")


def playground(url: str) -> None:
    """Photograph the playground comparing a ReLU and an identity network on xor."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium(),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 860},
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url + PLAYGROUND)
        page.wait_for_selector("#canvas-linear polygon.region")
        page.wait_for_function("!document.getElementById('fit').disabled")
        # Hover a large region so the picture shows its pattern and formula.
        point = page.evaluate(
            """() => {
                const polygons = [...document.querySelectorAll('#canvas-main polygon.region')];
                const box = (p) => p.getBBox().width * p.getBBox().height;
                const polygon = polygons.reduce((a, b) => (box(b) > box(a) ? b : a));
                const pts = [...polygon.points];
                const p = polygon.ownerSVGElement.createSVGPoint();
                p.x = pts.reduce((s, q) => s + q.x, 0) / pts.length;
                p.y = pts.reduce((s, q) => s + q.y, 0) / pts.length;
                const q = p.matrixTransform(polygon.getScreenCTM());
                return [q.x, q.y];
            }"""
        )
        page.mouse.move(*point)
        save_small(page.screenshot(), "playground.png")
        context.close()


def main() -> None:
    """Regenerate every screenshot."""
    with tempfile.TemporaryDirectory() as data_dir:
        process, url = start_service(data_dir)
        try:
            plots(url)
            playground(url)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
