"""What the real-browser tests share: real Jupyter servers, and working with a notebook in a page.

The fixtures that use these are in this folder's ``conftest.py``. Helpers (``from browser.pages import ...``):
:class:`JupyterServers`,
:func:`write_notebook`, :func:`open_notebook`, :func:`collapse_left_sidebar`, :func:`click_menu_command`,
:func:`run_all_cells`, :func:`cell`, :func:`widget_in_cell`, :func:`wait_for_text`, :func:`wait_for_images`,
:func:`screenshot` (``build/screenshots/``; also ``docs/screenshots/`` with ``SM_MAGICS_UPDATE_SCREENSHOTS=1``),
:func:`assert_not_blank`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}
SCREENSHOTS = REPO / "build" / "screenshots"
DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
UPDATE_ENV = "SM_MAGICS_UPDATE_SCREENSHOTS"

# JupyterLab user settings every server gets (the tests' overrides are merged over them, plugin by plugin):
# no news / update toasts over the pictures, and every cell in the DOM (no windowed notebook), so that
# outputs below the fold can be found and photographed.
DEFAULT_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {"checkForUpdates": False, "fetchNews": "false"},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}

# Nothing that reaches out to the internet (news feed, update check, PyPI extension manager).
QUIET_ARGS = {
    "lab": ["--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
    "notebook": [],
}


# ----------------------------------------------------------------------------- Jupyter servers


@dataclass
class JupyterServer:
    """One running server. ``url`` ends with ``/``; every URL helper adds ``?token=``."""

    app: str  # "lab" or "notebook"
    url: str
    token: str
    root_dir: Path
    settings_dir: Path
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def with_token(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.url}{path.lstrip('/')}{sep}token={self.token}"

    def lab_url(self, notebook: str) -> str:
        return self.with_token(f"lab/tree/{notebook}")

    def notebook7_url(self, notebook: str) -> str:
        return self.with_token(f"notebooks/{notebook}")

    def document_url(self, notebook: str) -> str:
        """The notebook in this server's own UI: JupyterLab for "lab", Notebook 7 for "notebook"."""
        return self.lab_url(notebook) if self.app == "lab" else self.notebook7_url(notebook)

    def api(self, path: str, timeout: float = 5.0) -> Any:
        """GET ``/api/<path>`` with the token; the decoded JSON."""
        request = urllib.request.Request(f"{self.url}api/{path.lstrip('/')}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read())

    def log(self, last: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-last:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (the server shuts its kernels down), then SIGKILL if it does not end."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        self.wait_stopped(timeout)

    def wait_stopped(self, timeout: float = 15.0) -> None:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: the server and what it spawned there
            except ProcessLookupError:
                pass
            self.process.wait(5)


def _settings_file(settings_dir: Path, plugin: str) -> Path:
    """``@scope/pkg:plugin`` (the plugin id) or ``@scope/pkg/plugin`` -> its ``.jupyterlab-settings`` file."""
    package, _, name = plugin.rpartition(":") if ":" in plugin else plugin.rpartition("/")
    return settings_dir / package / f"{name}.jupyterlab-settings"


class JupyterServers:
    """Factory behind the ``jupyter_server`` fixture; call it to start a server::

        server = jupyter_server("lab", env={...}, settings={...}, files={"a.ipynb": text})

    ``app``: ``"lab"`` (``python -m jupyterlab``) or ``"notebook"`` (Notebook 7, ``python -m notebook``).
    The server listens on 127.0.0.1 on a free port with a random token and its own root folder
    (``root_dir``, a new temporary folder unless given; ``files`` maps relative names to text or bytes
    written there first).

    Environment: the test process's, less every ``AWS_*`` / ``SM_MAGICS_*`` variable (a developer's AWS
    set-up must not leak into kernels) and ``LC_ALL`` / ``LC_MESSAGES``, with ``LANG=C.UTF-8`` (English
    widget strings); then ``env`` (e.g. the local engine's ``SM_MAGICS_BACKEND`` / ``SM_MAGICS_LOCAL_DATA_DIR``
    or ``AWS_*`` from ``launcher.client_env``) on top. Kernels inherit it. Only the per-user state is
    isolated in temporary folders: ``JUPYTER_CONFIG_DIR``, ``JUPYTER_DATA_DIR``, ``JUPYTER_RUNTIME_DIR``,
    ``JUPYTERLAB_SETTINGS_DIR``, ``JUPYTERLAB_WORKSPACES_DIR`` and ``IPYTHONDIR``; what the environment
    installed is still found: lab extensions (ipywidgets' manager included) in ``sys.prefix/share/jupyter``,
    server extensions enabled in ``sys.prefix/etc/jupyter``, language packs (Python packages).

    ``settings``: JupyterLab user settings by plugin id, merged over :data:`DEFAULT_SETTINGS`, e.g.
    ``{"@jupyterlab/translation-extension:plugin": {"locale": "fr_FR"}}`` -> ``<settings dir>/@jupyterlab/
    translation-extension/plugin.jupyterlab-settings``. ``args``: more command-line options.

    Returns a :class:`JupyterServer` once ``/api/status`` answers; every server started is stopped
    (SIGTERM, then SIGKILL) when the fixture ends.
    """

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self.started: list[JupyterServer] = []

    def __call__(self, app: str = "lab", *, env: dict[str, str] | None = None, settings: dict[str, dict[str, Any]] | None = None,
                 files: dict[str, str | bytes] | None = None, root_dir: Path | None = None, args: list[str] | None = None,
                 timeout: float = 90.0) -> JupyterServer:
        if app not in ("lab", "notebook"):
            raise ValueError(f"app must be 'lab' or 'notebook', not {app!r}")
        home = self._tmp.mktemp(f"jupyter-{app}")
        root = Path(root_dir) if root_dir is not None else home / "root"
        root.mkdir(parents=True, exist_ok=True)
        for name, content in (files or {}).items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode())
        dirs = {name: home / folder for name, folder in (
            ("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython"))}
        for folder in dirs.values():
            folder.mkdir()
        merged = {plugin: dict(values) for plugin, values in DEFAULT_SETTINGS.items()}
        for plugin, values in (settings or {}).items():
            merged.setdefault(plugin, {}).update(values)
        for plugin, values in merged.items():
            target = _settings_file(dirs["JUPYTERLAB_SETTINGS_DIR"], plugin)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values, indent=2))

        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("AWS_", "SM_MAGICS_")) and k not in ("LC_ALL", "LC_MESSAGES", "JUPYTER_TOKEN")}
        full_env["LANG"] = "C.UTF-8"
        full_env.update({name: str(folder) for name, folder in dirs.items()})
        full_env.update(env or {})
        token = secrets.token_hex(16)
        module = "jupyterlab" if app == "lab" else "notebook"
        log_path = home / "server.log"
        last_error = ""
        for _attempt in range(3):  # the free port may be taken between choosing and binding it
            port = free_port()
            command = [sys.executable, "-m", module, "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                       "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
                       "--ServerApp.open_browser=False", *QUIET_ARGS[app], *(["--allow-root"] if os.geteuid() == 0 else []),
                       *(args or [])]
            with log_path.open("ab") as log:
                process = subprocess.Popen(command, cwd=root, env=full_env, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
            server = JupyterServer(app, f"http://127.0.0.1:{port}/", token, root, dirs["JUPYTERLAB_SETTINGS_DIR"], log_path, process)
            self.started.append(server)
            deadline = time.monotonic() + timeout
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    server.api("status", timeout=2.0)
                    return server
                except (urllib.error.URLError, OSError, ValueError):
                    time.sleep(0.2)
            code = process.poll()
            server.stop()
            last_error = (f"exited with code {code}" if code is not None else f"no answer within {timeout:.0f} s") + "; its log:\n" + server.log()
            if "already in use" not in last_error:
                break
        raise RuntimeError(f"jupyter {app} did not answer /api/status: {last_error}")

    def stop_all(self) -> None:
        """SIGTERM to every server at once, then wait for each (SIGKILL after 15 s)."""
        running = [server for server in self.started if server.process.poll() is None]
        for server in running:
            server.process.send_signal(signal.SIGTERM)
        for server in running:
            server.wait_stopped()


# ----------------------------------------------------------------------------- notebooks in the page


def write_notebook(folder: Path, name: str, cells: list[str]) -> str:
    """A Python 3 notebook (nbformat 4.5) of code cells in ``folder``; its name (relative to a server's root)."""
    notebook = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
                     "language_info": {"name": "python"}},
        "cells": [{"id": f"cell-{index}", "cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                   "source": source} for index, source in enumerate(cells)],
    }
    (folder / name).write_text(json.dumps(notebook, indent=1))
    return name


def open_notebook(page: Any, server: JupyterServer, name: str, *, collapse_sidebar: bool = False, timeout: float = 90_000) -> None:
    """Open ``name`` in the server's UI and wait until its kernel is idle (widget manager connected).
    ``collapse_sidebar``: fold JupyterLab's left sidebar away, so the notebook gets the page's width."""
    page.goto(server.document_url(name), wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached", timeout=timeout)
    if collapse_sidebar:
        collapse_left_sidebar(page)


def collapse_left_sidebar(page: Any) -> None:
    """Fold JupyterLab's left sidebar (clicking its open tab, as a user does); nothing if it is folded."""
    current = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if current.count():
        current.first.click()
        current.first.wait_for(state="detached")
        page.locator("#jp-left-stack").wait_for(state="hidden")


def click_menu_command(page: Any, *commands: str) -> None:
    """Click the main-menu entry of the first of ``commands`` (JupyterLab command ids) found, in any UI
    language: Lumino menus carry each entry's command in ``data-command``; each top menu is opened in turn."""
    entry = page.locator(", ".join(f".lm-Menu .lm-Menu-item[data-command='{c}']:not(.lm-mod-disabled)" for c in commands))
    bar = page.locator(".lm-MenuBar .lm-MenuBar-item")
    bar.first.wait_for()
    for index in range(bar.count()):
        bar.nth(index).click()
        if entry.count() and entry.first.is_visible():
            entry.first.click()
            return
        page.keyboard.press("Escape")
    raise AssertionError(f"no enabled main-menu entry runs any of {commands}")


def run_all_cells(page: Any, timeout: float = 120.0) -> None:
    """Run > Run All Cells, then wait until every code cell has run; a cell that failed fails with its error text."""
    page.locator(".jp-Notebook .jp-Cell").first.click()  # the notebook is the current document
    click_menu_command(page, "runmenu:run-all", "notebook:run-all-cells")
    try:  # every queued cell shows [*] at once; tolerate having missed it (a notebook that runs in an instant)
        page.wait_for_selector(".jp-InputPrompt:text-is('[*]:')", state="attached", timeout=5_000)
    except Exception:
        pass
    deadline = time.monotonic() + timeout
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt")
    while True:
        texts = [t.strip() for t in prompts.all_inner_texts()]
        if not any("*" in t for t in texts):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"cells still running after {timeout:.0f} s: prompts {texts}")
        time.sleep(0.25)
    if not all(t[1:-2].isdigit() for t in texts):  # "[3]:"; a failed cell stops the rest, which keep "[ ]:"
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
        raise AssertionError(f"not every cell ran (prompts {texts}); error outputs:\n" + "\n---\n".join(errors)[-4000:])


def cell(page: Any, index: int) -> Any:
    """The ``index``-th cell of the open notebook (a Playwright locator)."""
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def widget_in_cell(page: Any, index: int, selector: str = ".widget-box", timeout: float = 60_000) -> Any:
    """The outermost rendered ipywidget in the output of cell ``index`` (waits for it to render).

    A cell whose output stays a text repr (no widget manager, a kernel-side error) fails with that text.
    """
    outputs = cell(page, index).locator(".jp-OutputArea-output")
    widget = outputs.locator(selector).first
    try:
        widget.wait_for(state="visible", timeout=timeout)
    except Exception as exc:
        raise AssertionError(f"no rendered widget ({selector}) in cell {index}; its output: "
                             f"{outputs.all_inner_texts()!r}"[:3000]) from exc
    return widget


def wait_for_text(locator: Any, pattern: Any, timeout: float = 60.0) -> str:
    """The locator's text once ``pattern`` (a str or compiled regex) is in it; AssertionError with the text otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        text = locator.inner_text()
        if (pattern.search(text) if hasattr(pattern, "search") else pattern in text):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{pattern!r} not shown within {timeout:.0f} s; the widget shows:\n{text}")
        time.sleep(0.25)


def wait_for_images(locator: Any, timeout: float = 30_000) -> int:
    """Wait until every <img> in the locator has loaded and decoded; how many there are."""
    handle = locator.element_handle()
    page = handle.owner_frame().page
    page.wait_for_function(
        "el => [...el.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)", arg=handle, timeout=timeout)
    return locator.locator("img").count()


def screenshot(locator: Any, name: str) -> Path:
    """A picture of the element, cropped to it, as ``build/screenshots/<name>.png`` (also copied to
    ``docs/screenshots/`` when ``SM_MAGICS_UPDATE_SCREENSHOTS=1``); checked non-blank; its path.

    Notebook outputs scroll inside the notebook panel, which clips what lies outside it; so the page is
    made tall enough for the whole element for the picture (then set back), and the element centred."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    page = locator.page
    viewport = page.viewport_size
    box = locator.bounding_box()
    needed = int(box["height"]) + 320 if box else 0  # room for the menu, toolbar and status bar
    try:
        if viewport and needed > viewport["height"]:
            page.set_viewport_size({"width": viewport["width"], "height": needed})
        page.mouse.move(0, 0)  # no hover highlight or tooltip on the picture
        locator.evaluate("el => el.scrollIntoView({block: 'center'})")
        page.evaluate("() => document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))")
        locator.screenshot(path=str(target), animations="disabled", caret="hide")
    finally:
        if viewport and page.viewport_size != viewport:
            page.set_viewport_size(viewport)
    assert_not_blank(target)
    if os.environ.get(UPDATE_ENV) == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, DOCS_SCREENSHOTS / target.name)
    return target


def assert_not_blank(png: Path | str, min_colours: int = 100, min_share: float = 0.05, min_size: tuple[int, int] = (120, 40)) -> None:
    """The picture has real content: at least ``min_size`` pixels, ``min_colours`` distinct colours, and at
    least ``min_share`` of its pixels differ from its most common (background) colour. A white or
    single-colour box, or one with only a frame, fails. (The widgets' pictures have hundreds of colours,
    anti-aliased text and images, and 13-28% of non-background pixels.)"""
    import numpy as np
    from PIL import Image

    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"))
    height, width = pixels.shape[:2]
    assert width >= min_size[0] and height >= min_size[1], f"{png}: {width} x {height} pixels, too small to show a widget"
    flat = pixels.reshape(-1, 3).astype(np.uint32)
    codes = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    values, counts = np.unique(codes, return_counts=True)
    share = 1.0 - counts.max() / codes.size
    assert len(values) >= min_colours, f"{png}: only {len(values)} distinct colours (blank?)"
    assert share >= min_share, f"{png}: only {share:.1%} of the pixels differ from the background colour #{int(values[counts.argmax()]):06x}"
