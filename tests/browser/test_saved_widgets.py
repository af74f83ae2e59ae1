"""A notebook run in JupyterLab, saved, its kernel shut down, reopened: each widget shows its last state.

Reopening starts a fresh kernel, which has none of the widget models the outputs name, and
JupyterLab does not save widget state by default: ipywidgets alone prints "Error displaying widget:
model not found". sm_magics' widgets keep a static rendering of their latest state in their
output (the lab extension's ``widgetfallback.ts`` copies it there while the widget lives, and
shows it when the model is missing); this checks what a user sees after the round trip.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest

from browser.pages import cell, open_notebook, run_all_cells, wait_for_text, widget_in_cell, write_notebook

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext sm_magics\nfrom sm_magics.local.sample_data import mnist_splits\n"
    "(x, y), (vx, vy), (tx, ty) = mnist_splits()\nx = x[:800]",
    "%%sm_train kmeans --as job\nk: 10\nepochs: 2\ntrain: x\ntest: vx[:300]",
    "%sm_deploy job --as predictor --ttl 2h --idle 30m",
    "%%sm_tune kmeans --objective test:msd --max-jobs 3 --max-parallel 2 --as tuner\n"
    "k: 10\nmini_batch_size: 100..500 int\ntrain: x\ntest: vx[:300]",
    "from sm_magics.widgets.confusion import ConfusionMatrix\n"
    "ConfusionMatrix((ty[:200] == 1).astype(int), scores=(tx[:200].mean(axis=1) < 0.1).astype(float), threshold=0.5)",
    "print(job.name, predictor.name, tuner.name)",
]


def shut_down_kernels(server) -> None:
    """What "Shut Down Kernel" does, for every kernel of the server (REST, with the token)."""
    for kernel in server.api("kernels"):
        request = urllib.request.Request(f"{server.url}api/kernels/{kernel['id']}", method="DELETE",
                                         headers={"Authorization": f"token {server.token}"})
        urllib.request.urlopen(request, timeout=30).close()


def saved_outputs(server, name: str) -> list[list[dict]]:
    notebook = json.loads((server.root_dir / name).read_text())
    return [c.get("outputs", []) for c in notebook["cells"]]


def save_until(page, server, name: str, check, timeout: float = 60.0) -> None:
    """Save (Ctrl+S) until the file on disk passes ``check`` (the last widget updates reach the output first)."""
    deadline = time.monotonic() + timeout
    while True:
        cell(page, 0).locator(".jp-InputArea").first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        time.sleep(0.5)
        outputs = saved_outputs(server, name)
        if check(outputs):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the saved notebook does not hold the last states: {json.dumps(outputs)[:3000]}")


def html_of(outputs: list[dict]) -> str:
    """The text/html of a cell's saved outputs (a file holds long strings as lists of lines)."""
    parts = [o.get("data", {}).get("text/html", "") for o in outputs]
    return "".join("".join(p) if isinstance(p, list) else p for p in parts)


def test_a_reopened_notebook_shows_each_widget_as_it_last_was(jupyter_server, engine, page):
    server = jupyter_server("lab", env={"SM_MAGICS_BACKEND": "local", "SM_MAGICS_LOCAL_DATA_DIR": str(engine.data_dir),
                                        "SAGEMAKER_SUPPRESS_V2_WARNING": "1"})
    name = write_notebook(server.root_dir, "saved.ipynb", CELLS)
    open_notebook(page, server, name, collapse_sidebar=True)
    run_all_cells(page)
    job_name, endpoint_name, tuner_name = cell(page, 5).locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stdout']").inner_text().split()

    wait_for_text(widget_in_cell(page, 1), re.compile(r"Completed\s"))
    wait_for_text(widget_in_cell(page, 3), re.compile(r"Completed\s.*Completed 3", re.S), timeout=120)
    endpoint = widget_in_cell(page, 2)
    wait_for_text(endpoint, "InService")
    assert "idle 30m" in endpoint.inner_text()
    endpoint.get_by_role("button", name="Delete").click()
    endpoint.get_by_role("button", name="Yes, delete").click()
    wait_for_text(endpoint, re.compile(r"Deleted\s"))

    def final(outputs: list[list[dict]]) -> bool:
        return ("Completed" in html_of(outputs[1]) and "Deleted" in html_of(outputs[2])
                and "Completed 3" in html_of(outputs[3]) and "<table" in html_of(outputs[4]))

    save_until(page, server, name, final)
    shut_down_kernels(server)
    page.goto("about:blank")

    open_notebook(page, server, name, collapse_sidebar=True)  # a new kernel starts: it has none of those models
    rendering = ".jp-OutputArea-output:not([data-mime-type='application/vnd.jupyter.stdout'])"  # not the cost lines
    job = cell(page, 1).locator(rendering).first
    text = wait_for_text(job, re.compile(r"Completed\s"))
    assert job_name in text and "test:msd" in text and "last seen" in text, text
    assert "$0.115/h" in text, text  # a price, not a formula: MathJax leaves the rendering alone
    text = wait_for_text(cell(page, 2).locator(rendering).first, "final cost")
    assert endpoint_name in text and "Deleted" in text and "InService" not in text, text
    tuner = cell(page, 3).locator(rendering).first
    text = wait_for_text(tuner, "Completed 3")
    assert tuner_name in text and tuner.locator("table tr").count() == 1 + 3, text
    matrix = cell(page, 4).locator(rendering).first
    text = wait_for_text(matrix, "threshold 0.500")
    assert matrix.locator("table").count() == 2, text
    # once the new kernel's widgets are restored nothing turns into ipywidgets' error
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached")
    assert page.locator(".jp-Notebook").inner_text().count("Error displaying widget") == 0
    assert "final cost" in cell(page, 2).inner_text()
