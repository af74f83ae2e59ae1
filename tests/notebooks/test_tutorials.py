"""The tutorial notebooks: the English ones run for real, the translations keep their code.

Each English notebook is executed top to bottom by nbclient, as "Run All Cells" would, in a
real kernel pointed at the session's local engine; the assertions are about what a reader
sees in the outputs (purity, F1 and accuracy, the cleanup deleting the endpoint) and about
what is left in the engine afterwards (nothing the notebook deployed). The French and
Traditional Chinese notebooks must hold exactly the English code cells, with translated text.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import boto3
import nbformat
import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from kernel import kernel_env  # tests/kernel.py (on the path: pyproject pythonpath)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LANGUAGES = ("en", "fr", "zh-TW")
NAMES = ("01_kmeans_mnist.ipynb", "02_linear_learner_zero_or_not.ipynb")
WIDGET = "application/vnd.jupyter.widget-view+json"
# Simplified-only forms of characters these texts use; Taiwan writes 這個們為時練訓點組態數據將會對說與應發現實
SIMPLIFIED = set("这个们为时练训点组态数据将会对说与应发现实")


def read(language: str, name: str) -> Any:
    return nbformat.read(NOTEBOOKS / language / name, as_version=4)


def cells(notebook: Any, kind: str) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == kind]


# ----------------------------------------------------------------------------- every notebook


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_valid_and_committed_without_outputs(language: str, name: str) -> None:
    notebook = read(language, name)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{language}/{name}: a cell was saved with its outputs"
    code = "\n".join(cells(notebook, "code"))
    assert code.startswith("%load_ext sm_magics")
    assert "%sm_cleanup -f" in code  # the endpoint is always deleted at the end...
    deploys = re.findall(r"^%sm_deploy .*$", code, re.MULTILINE)
    assert deploys and all("--ttl" in line for line in deploys)  # ...and expires anyway if that cell never runs


def test_the_readme_lists_every_notebook() -> None:
    readme = (NOTEBOOKS / "README.md").read_text()
    for language in LANGUAGES:
        for name in NAMES:
            assert f"({language}/{name})" in readme
    assert {path.name for path in (NOTEBOOKS / "en").glob("*.ipynb")} == set(NAMES)


@pytest.mark.parametrize("language", ("fr", "zh-TW"))
@pytest.mark.parametrize("name", NAMES)
def test_translation_has_the_english_code_and_its_own_text(language: str, name: str) -> None:
    english, translated = read("en", name), read(language, name)
    assert [c.cell_type for c in translated.cells] == [c.cell_type for c in english.cells]
    assert cells(translated, "code") == cells(english, "code")
    for theirs, ours in zip(cells(translated, "markdown"), cells(english, "markdown")):
        assert theirs != ours, f"{language}/{name}: an untranslated cell: {ours[:60]!r}"
    text = "\n".join(cells(translated, "markdown"))
    if language == "fr":
        assert re.search(r"[éèàç]", text) and "point de terminaison" in text
    else:
        assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 300 and "端點" in text
        assert not SIMPLIFIED & set(text), f"Simplified characters in a Traditional Chinese text: {SIMPLIFIED & set(text)}"


# ----------------------------------------------------------------------------- the English ones, run


@pytest.fixture(scope="module")
def sagemaker(engine: Any) -> Any:
    return boto3.client("sagemaker", endpoint_url=engine.url, region_name="us-east-1", **engine.credentials.as_boto3())


class Run:
    """An executed notebook: each code cell's source and what a reader sees under it."""

    def __init__(self, notebook: Any, seconds: float) -> None:
        self.notebook, self.seconds = notebook, seconds

    def outputs(self, starts_with: str) -> list[dict[str, Any]]:
        found = [cell.outputs for cell in self.notebook.cells if cell.cell_type == "code" and cell.source.startswith(starts_with)]
        assert len(found) == 1, f"no single code cell starting with {starts_with!r}"
        return found[0]

    def text(self, starts_with: str) -> str:
        """Printed text and the text/plain of displayed values, as nbconvert or a reader without widgets sees them."""
        parts = []
        for output in self.outputs(starts_with):
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type in ("display_data", "execute_result"):
                parts.append(output.data.get("text/plain", ""))
        return "\n".join(parts)

    def shows_widget(self, starts_with: str) -> bool:
        return any(WIDGET in output.get("data", {}) for output in self.outputs(starts_with))

    def widget(self, key: str) -> dict[str, Any]:
        """The last state of the one widget model holding ``key`` (what a front end showed when the run ended)."""
        saved = self.notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
        found = [model["state"] for model in saved.values() if key in model["state"]]
        assert len(found) == 1, f"{len(found)} widget models hold {key!r}"
        return found[0]


def execute(name: str, engine: Any, workdir: Path) -> Run:
    from nbclient import NotebookClient

    notebook = read("en", name)
    client = NotebookClient(notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(workdir)}})
    started = time.monotonic()
    client.execute(env=kernel_env(engine, f"tutorials/en/{name}"))  # a cell that raises fails here, naming it
    run = Run(notebook, time.monotonic() - started)
    assert run.seconds < 90, f"{name} took {run.seconds:.0f} s; a tutorial should run in well under a minute"
    return run


def endpoints_of(sagemaker: Any, notebook: str) -> list[str]:
    """Endpoints the engine still holds that carry this notebook's tag."""
    mine = []
    summaries = [e for page in sagemaker.get_paginator("list_endpoints").paginate() for e in page["Endpoints"]]
    for summary in summaries:
        tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=summary["EndpointArn"])["Tags"]}
        if tags.get("sm_magics:notebook") == notebook:
            mine.append(summary["EndpointName"])
    return mine


def deployed_endpoint(run: Run) -> str:
    match = re.search(r"endpoint (\S+):", run.text("%sm_deploy"))
    assert match, run.text("%sm_deploy")
    return match[1]


def assert_cleaned_up(run: Run, sagemaker: Any, name: str) -> None:
    endpoint = deployed_endpoint(run)
    cleanup = run.text("%sm_cleanup -f")
    assert f"{endpoint}: deleted endpoint {endpoint}, endpoint config {endpoint}, model {endpoint}" in cleanup
    assert endpoint not in run.text("%sm_endpoints")
    with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find"):
        sagemaker.describe_endpoint(EndpointName=endpoint)
    assert endpoints_of(sagemaker, f"tutorials/en/{name}") == []


def test_kmeans_tutorial_runs_end_to_end(engine: Any, sagemaker: Any, tmp_path: Path) -> None:
    name = "01_kmeans_mnist.ipynb"
    run = execute(name, engine, tmp_path)
    assert "using the local SageMaker engine" in run.text("%load_ext")
    assert run.text("from sm_magics.local.sample_data") == "train (3572, 784), validation (714, 784), test (714, 784)\n"
    assert run.shows_widget("%%sm_train") and re.search(r"^training job kmeans-", run.text("%%sm_train"), re.MULTILINE)
    assert run.text("%%sm_train").startswith("sm_magics: on AWS this training job would cost at most $")  # said before it starts
    job = run.widget("job_name")
    assert job["status"] == "Completed" and {"train:msd", "test:msd"} <= set(job["final_metrics"])
    assert run.shows_widget("%sm_deploy") and "(1 x ml.m5.large)" in run.text("%sm_deploy")
    endpoint = run.widget("endpoint_name")  # the endpoint's widget: what it cost per hour, then deleted (no TTL left to count)
    assert endpoint["usd_per_hour"] == pytest.approx(0.115) and endpoint["ttl_seconds_left"] == -1
    assert endpoint["status"] == "Deleted" and endpoint["usd_so_far"] > 0
    first = run.text("answer = predictor.predict").splitlines()
    assert first[0].split() == ["closest_cluster", "distance_to_cluster"] and len(first) == 6
    # the gallery: one panel per cluster, with each cluster's majority digit and purity
    gallery = run.text("gallery = predictor.gallery")
    headline = re.match(r"10 clusters · 714 images · overall purity ([\d.]+)% · adjusted Rand index ([\d.]+)", gallery)
    assert headline, gallery
    assert float(headline[1]) > 45 and float(headline[2]) > 0.25  # k-means on raw pixels: well above chance, below perfect
    assert len(re.findall(r"^Cluster \d+ · \d+ images · majority \d · purity \d+%", gallery, re.MULTILINE)) >= 9
    assert any("image/png" in output.get("data", {}) for output in run.outputs("gallery = predictor.gallery"))
    assert_cleaned_up(run, sagemaker, name)


def test_linear_learner_tutorial_runs_end_to_end(engine: Any, sagemaker: Any, tmp_path: Path) -> None:
    name = "02_linear_learner_zero_or_not.ipynb"
    run = execute(name, engine, tmp_path)
    assert run.text("from sm_magics.local.sample_data") == "354 zeros among 3572 training digits (10%)\n"
    assert "on AWS this tuning job would cost at most $" in run.text("%%sm_tune")
    tuning = re.search(r"^tuning job (\S+):", run.text("%%sm_tune"), re.MULTILINE)
    assert tuning and run.shows_widget("%%sm_tune")
    leaderboard = run.widget("tuning_job_name")
    assert leaderboard["status"] == "Completed" and len(leaderboard["leaderboard"]) == 6
    described = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning[1])
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 6
    assert deployed_endpoint(run).startswith("linear-learner-")
    assert run.widget("endpoint_name")["status"] == "Deleted" and run.widget("endpoint_name")["usd_per_hour"] > 0
    first = run.text("answer = predictor.predict").splitlines()
    assert first[0].split() == ["score", "predicted_label", "digit"] and len(first) == 6
    # the confusion matrix and the figures a reader reads off it
    matrix = run.text("matrix = predictor.confusion")
    assert matrix.startswith("Confusion matrix (rows: true, columns: predicted)") and "not a zero" in matrix
    figures = re.fullmatch(r"threshold ([\d.]+): accuracy ([\d.]+)%, F1 ([\d.]+) \(precision ([\d.]+), recall ([\d.]+)\)\n",
                           run.text("def figures"))
    assert figures, run.text("def figures")
    accuracy, f1, recall = float(figures[2]), float(figures[3]), float(figures[5])
    assert accuracy > 95 and f1 > 0.8  # a linear model finds zeros well (always "not a zero" would score 89%, F1 0)
    lowered = re.fullmatch(r"threshold 0\.10: accuracy ([\d.]+)%, F1 ([\d.]+) \(precision ([\d.]+), recall ([\d.]+)\)\n",
                           run.text("matrix.threshold = 0.1"))
    assert lowered, run.text("matrix.threshold = 0.1")
    if float(figures[1]) >= 0.1:
        assert float(lowered[4]) >= recall  # a lower threshold finds at least as many zeros
    assert_cleaned_up(run, sagemaker, name)
