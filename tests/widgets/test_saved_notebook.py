"""A notebook run, saved and read back without its widgets shows each widget's last state.

nbclient runs the cells as "Run All" would, in a real kernel on the session's engine; the saved
outputs must carry, next to each widget view, a ``text/html`` and ``text/plain`` rendering of the
state the widget ended in (Completed with its cost, the tuning leaderboard, the endpoint Deleted
with its final cost, the confusion matrix at the threshold last set). Then the notebook is
converted to HTML by nbconvert with the widget state removed (what nbviewer shows for a notebook
saved by JupyterLab, which does not save widget state by default): the last states are there, and
no "Error displaying widget".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

pytest.importorskip("nbclient")

from kernel import kernel_env  # tests/kernel.py

WIDGET = "application/vnd.jupyter.widget-view+json"

CELLS = [
    "%load_ext sm_magics\nfrom sm_magics.local.sample_data import mnist_splits\n"
    "(x, y), (vx, vy), (tx, ty) = mnist_splits()\nx, y = x[:600], y[:600]",
    "%%sm_train kmeans --as job\nk: 10\nepochs: 2\ntrain: x\ntest: vx[:300]\n",
    "job.wait(120); print('trained')",
    "%%sm_tune kmeans --objective test:msd --max-jobs 3 --max-parallel 2 --as tuner\n"
    "k: 10\nmini_batch_size: 100..500 int\ntrain: x\ntest: vx[:300]\n",
    "tuner.wait(180); print('tuned')",
    "%sm_deploy job --as predictor --ttl 1h",
    "predictor.wait(120); answer = predictor.predict(tx[:50]); print('predicted')",
    "from sm_magics.widgets.confusion import ConfusionMatrix\n"
    "import numpy as np\n"
    "cm = ConfusionMatrix((ty[:50] == 1).astype(int), scores=(answer['closest_cluster'] == answer['closest_cluster'][0]).astype(float) * 0.6)\n"
    "cm",
    "cm.threshold = 0.7",
    "%sm_cleanup -f",
]


def outputs(notebook: Any, starts_with: str) -> list[dict[str, Any]]:
    found = [c.outputs for c in notebook.cells if c.cell_type == "code" and c.source.startswith(starts_with)]
    assert len(found) == 1
    return found[0]


def widget_output(notebook: Any, starts_with: str) -> dict[str, Any]:
    """The one output of the cell that shows a widget; it must carry the static rendering too."""
    shown = [o for o in outputs(notebook, starts_with) if WIDGET in o.get("data", {})]
    assert len(shown) == 1, f"{len(shown)} widget outputs under {starts_with!r}"
    data = shown[0]["data"]
    assert "text/html" in data and "text/plain" in data, f"no static rendering under {starts_with!r}: {sorted(data)}"
    return data


@pytest.fixture(scope="module")
def saved(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nbclient import NotebookClient

    workdir = tmp_path_factory.mktemp("saved")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(notebook, kernel_name="python3", timeout=240, resources={"metadata": {"path": str(workdir)}})
    client.execute(env=kernel_env(engine, "saved-state.ipynb"))
    path = workdir / "saved-state.ipynb"
    nbformat.write(notebook, path)
    return path


def test_saved_outputs_hold_the_final_state(saved: Path) -> None:
    notebook = nbformat.read(saved, as_version=4)

    job = widget_output(notebook, "%%sm_train")
    assert "Completed" in job["text/html"] and "Completed" in job["text/plain"]
    assert "test:msd" in job["text/html"] and "model.tar.gz" in job["text/html"]  # final metric and artifact
    assert "Uploading" in job["text/html"]  # the timeline of its phases
    assert "InProgress" not in job["text/html"] and "last seen" in job["text/plain"]

    tuning = widget_output(notebook, "%%sm_tune")
    assert "Completed" in tuning["text/html"]
    tuner_jobs = re.findall(r"<tr[^>]*><td>(\d)</td><td>([^<]+)</td><td>Completed</td>", tuning["text/html"])
    assert [rank for rank, _ in tuner_jobs] == ["1", "2", "3"], "the leaderboard of all three jobs"
    assert all(name in tuning["text/plain"] for _, name in tuner_jobs)

    endpoint = widget_output(notebook, "%sm_deploy")
    assert "Deleted" in endpoint["text/html"] and "final cost" in endpoint["text/html"]
    assert "InService" not in endpoint["text/html"] and "final cost" in endpoint["text/plain"]

    matrix = widget_output(notebook, "from sm_magics.widgets.confusion")
    assert "<table" in matrix["text/html"] and "0.700" in matrix["text/html"] and "0.700" in matrix["text/plain"]
    assert "0.600" not in matrix["text/html"]


def test_converted_without_widget_state_shows_the_last_state(saved: Path) -> None:
    """nbconvert (nbviewer) skips a widget view whose model is not saved, and shows the rendering."""
    from nbconvert import HTMLExporter

    notebook = nbformat.read(saved, as_version=4)
    notebook.metadata.pop("widgets", None)
    body, _ = HTMLExporter().from_notebook_node(notebook)
    assert "Error displaying widget" not in body
    for needle in ("Completed", "Deleted", "final cost", "0.700"):
        assert needle in body, needle
    assert body.count("last seen") >= 3  # the training job, the tuning job, the endpoint
