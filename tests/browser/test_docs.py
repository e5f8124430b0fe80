"""API docs in a real browser, offline (issue 13 item 5): /docs and /redoc render the OpenAPI document the
server emits (3.1) and list its operations, with every script and style served by yiju itself (no CDN)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture
def offline_page(browser, ui_server) -> Iterator[tuple[object, list[str]]]:
    """A page that may only reach the yiju server; every other request is recorded and refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    outside: list[str] = []

    def only_yiju(route) -> None:
        url = route.request.url
        if url.startswith(ui_server["base_url"]) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", only_yiju)
    try:
        yield page, outside
    finally:
        context.close()


def test_swagger_ui_lists_the_ask_operation(offline_page, ui_server, artifacts_dir: Path) -> None:
    page, outside = offline_page
    response = page.goto(ui_server["base_url"] + "/docs")
    assert "default-src 'self'" in (response.headers.get("content-security-policy") or "")
    page.locator(".opblock-summary-path[data-path='/v1/ask']").first.wait_for()
    assert page.locator(".opblock-post .opblock-summary-path[data-path='/v1/ask']").count() >= 1
    assert "Unable to render this definition" not in page.content()
    page.screenshot(path=str(artifacts_dir / "docs.png"))
    assert not outside, outside


def test_redoc_lists_the_ask_operation(offline_page, ui_server) -> None:
    page, outside = offline_page
    response = page.goto(ui_server["base_url"] + "/redoc")
    # The page may fetch nothing but from this server (ReDoc's footer logo would come from a CDN).
    assert "img-src 'self' data:" in (response.headers.get("content-security-policy") or "")
    # The operation's heading in the middle column, and its endpoint (POST /v1/ask) on the right.
    page.locator("h2", has_text="Ask a question; structured answer").first.wait_for()
    assert page.get_by_text("/v1/ask", exact=True).count() >= 1
    assert not outside, outside
