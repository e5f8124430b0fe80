"""Browser tests: Debian chromium driven by Playwright against a real `yiju serve` on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

from tests.server_harness import create_key, prepare_home, start_server, stop_server  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A server over the starter KB with curator and reviewer keys."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (make browser-deps)")
    home = tmp_path_factory.mktemp("browser") / "home"
    prepare_home(home)
    keys = {role: create_key(home, role, f"ui-{role}") for role in ("curator", "reviewer", "clinic")}
    proc, base_url = start_server(home)
    try:
        yield {"base_url": base_url, "home": home, "keys": keys}
    finally:
        stop_server(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless chromium for the session (skips when chromium or playwright is missing)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (make browser-deps)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, ui_server) -> Iterator[object]:
    """A fresh page on the app's root (the Gradio screens)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(ui_server["base_url"] + "/")
    pg.wait_for_selector("#chat-question textarea")
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def staff(browser, ui_server) -> Iterator[object]:
    """A wider page in China's time zone, for the staff screens (the review queue shows local time)."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 1100}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(ui_server["base_url"] + "/")
    pg.wait_for_selector("#chat-question textarea")
    try:
        yield pg
    finally:
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test carries every running server's thread stacks and log tail in its report:
    a UI wait that times out in CI then shows where the server was (or that it was idle)."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    from tests.conftest import ARTIFACTS
    from tests.server_harness import RUNNING, dump_stacks

    FAILURE_DIAGNOSTICS.append((f"{item.nodeid}: the failure", report.longreprtext[-3000:]))

    for name in ("page", "staff", "chat"):
        pg = item.funcargs.get(name)
        if pg is not None:
            shot = ARTIFACTS / f"failed-{item.name}-{name}.png"
            try:
                pg.screenshot(path=str(shot), full_page=True)
                report.sections.append(("screenshot", str(shot)))
            except Exception as exc:  # noqa: BLE001 - a closed page must not hide the failure
                report.sections.append(("screenshot", f"not taken: {exc!r}"))
    for proc, home in list(RUNNING):
        title = f"server {proc.pid} ({home}) stacks + log"
        text = dump_stacks(proc, home)
        report.sections.append((title, text))
        FAILURE_DIAGNOSTICS.append((f"{item.nodeid}: {title}", text))


# Diagnostics of every failed attempt, printed at the end of the run even when a rerun then passes
# (--reruns in the Makefile): a flaky stall must stay visible in CI output, not disappear.
FAILURE_DIAGNOSTICS: list[tuple[str, str]] = []


def pytest_terminal_summary(terminalreporter) -> None:
    for title, text in FAILURE_DIAGNOSTICS:
        terminalreporter.write_sep("-", title)
        terminalreporter.write_line(text[-6000:])
