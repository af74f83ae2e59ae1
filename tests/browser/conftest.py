"""Real-browser fixtures: Debian's chromium driven by Playwright against real Jupyter servers.

Fixtures
    ``chromium``        (module) a headless Playwright ``Browser`` on ``/usr/bin/chromium``; Playwright
                        never downloads a browser. Without that file the browser tests are skipped.
    ``page``            a fresh page (own browser context, 1280 x 900, English) per test. When the test
                        fails, a picture of the whole page goes to ``build/screenshots/failed-<test>.png``
                        and the browser's console errors are added to the report.
    ``jupyter_server``  a factory that starts real Jupyter servers (JupyterLab or Notebook 7); see
                        :class:`browser.pages.JupyterServers` for its arguments.

The helpers the tests call are in ``browser/pages.py``.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from browser.pages import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, VIEWPORT, JupyterServers


# ----------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright's Python API.

    Module scope, not session: Playwright's sync API keeps an asyncio loop running in this thread
    while it lives, which would break later tests that run their own loop (pytest-jupyter's)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); the browser tests need Debian's chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the test extra) is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new page in its own context (1280 x 900, en-US); on failure: a full-page picture and the console errors."""
    context = chromium.new_context(viewport=VIEWPORT, locale="en-US", device_scale_factor=1)
    context.set_default_timeout(30_000)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"failed-{request.node.name}.png"
        try:
            page.screenshot(path=str(target), full_page=True)
            report.sections.append(("browser", f"page picture: {target}"))
        except Exception as exc:  # the page may be gone; the report still gets the console
            report.sections.append(("browser", f"no page picture: {exc}"))
        report.sections.append(("browser console", "\n".join(console[-40:]) or "(nothing)"))
    context.close()


# ----------------------------------------------------------------------------- Jupyter servers


@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServers]:
    """Start real Jupyter servers (see :class:`JupyterServers`); all are stopped at the end of the module."""
    servers = JupyterServers(tmp_path_factory)
    yield servers
    servers.stop_all()
