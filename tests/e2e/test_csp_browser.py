"""The Content-Security-Policy in a real browser: the playground and Swagger UI break nothing.

A policy that blocks something the pages need shows as a "Content Security
Policy" console error and as a page that does not finish; both are checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM_ARGS, TIMEOUT_MS, playwright_chromium

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def enforcing_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A browser that enforces the policy (the playground tests bypass it to run their probes)."""
    with playwright_chromium() as (chromium, executable):
        context = chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-csp-profile")),
            executable_path=executable,
            args=CHROMIUM_ARGS,
            headless=True,
            bypass_csp=False,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def console(enforcing_context: Any) -> Iterator[tuple[Any, list[str]]]:
    page = enforcing_context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    yield page, messages
    page.close()


def csp_violations(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m or m.startswith("pageerror")]


@pytest.mark.slow
def test_the_playground_runs_under_its_policy(
    console: tuple[Any, list[str]],
    service: str,  # noqa: F811
) -> None:
    page, messages = console
    response = page.goto(service + "/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("body[data-ready=true]")
    page.click("#fit")
    # Locators only: a string predicate would be eval'd in the page, which the policy forbids.
    page.wait_for_selector("#canvas-main svg[data-model-id]")
    page.wait_for_selector("#fit:enabled")
    assert page.locator("#canvas-main svg").count() == 1
    assert csp_violations(messages) == []


@pytest.mark.slow
def test_swagger_ui_runs_under_its_policy(
    console: tuple[Any, list[str]],
    service: str,  # noqa: F811
) -> None:
    page, messages = console
    response = page.goto(service + "/docs")
    assert "script-src 'self' 'sha256-" in response.headers["content-security-policy"]
    # Swagger UI fetched /openapi.json and rendered the operations.
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() > 10
    page.locator(".swagger-ui .opblock-summary").first.click()
    page.wait_for_selector(".swagger-ui .opblock-body")
    assert csp_violations(messages) == []
