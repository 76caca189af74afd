"""Fixtures of the browser tests: Debian's Chromium through Playwright, and the
production server (gunicorn) on a loopback port, shared by every playground module.

Chromium is Debian's ``chromium`` package, driven by Playwright for Python through
``executable_path`` (Playwright's own browser downloads are not used). Where it is
missing it is installed with apt-get when the tests run as root; where that is
impossible the tests are skipped with the reason, except under ``CI=true``, where
they fail. The server starts once per session (starting it is much of a browser
test's time); the browser once per module, as test_csp_browser.py starts its own.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.e2e.servers import running_service

ARTIFACTS = REPO / "test-artifacts" / "playground"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Without the background-networking flags Chromium dials out, which a closed network refuses.
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
TIMEOUT_MS = 60_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


def _chromium() -> str | None:
    for candidate in (*CHROMIUM_CANDIDATES, shutil.which("chromium") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def chromium_or_install() -> str:
    """Return Debian's Chromium, installing it with apt-get first if it is missing."""
    found = _chromium()
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        _unavailable("Chromium is not installed and apt-get cannot install it (not root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Parallel test processes (pytest -n) take turns: apt-get refuses to run twice at
    # once, and the second one finds Chromium installed by the first.
    with open(Path(tempfile.gettempdir()) / "relumap-tests-apt.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _chromium()
        if found:
            return found
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "chromium"],
        ):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
            if done.returncode != 0:
                _unavailable(f"`{' '.join(command)}` failed: {done.stderr.strip()[-500:]}")
    found = _chromium()
    if found is None:
        _unavailable("apt-get installed chromium but no chromium executable was found")
    assert found is not None
    return found


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The production server (gunicorn) on a free loopback port, with its own data dir."""
    with running_service(tmp_path_factory.mktemp("playground"), "--workers", "1") as url:
        yield url


@contextmanager
def playwright_chromium() -> Iterator[tuple[Any, str]]:
    """Playwright's Chromium launcher and Debian's Chromium to launch (skip, or fail under CI)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[dev]')")
    executable = chromium_or_install()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        yield playwright.chromium, executable


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with playwright_chromium() as (chromium, executable):
        context = chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=executable,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1366, "height": 900},
            # Playwright evaluates wait_for_function's predicates with eval, which the
            # page's Content-Security-Policy forbids; test_csp_browser.py enforces it.
            bypass_csp=True,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: Any, service: str) -> Iterator[Any]:
    page = browser_context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(service + "/")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    page.close()
    assert not errors, errors
