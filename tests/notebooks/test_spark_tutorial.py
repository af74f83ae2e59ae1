"""Tutorial 6 (PCA then k-means from a Spark DataFrame), run for real in each of its three languages.

nbclient executes each notebook top to bottom in a real kernel pointed at the session's engine, with a
real local Spark; the assertions are about what a reader sees (the digits read from the sample bucket,
the projection, the clusters' purity, the gallery) and what is left afterwards (no model, no endpoint).
The translations must hold exactly the English code cells, with text of their own. Without pyspark or
Java the runs are skipped, saying why; the static checks run everywhere.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from kernel import kernel_env  # tests/kernel.py
from tutorial_notebooks import LANGUAGES, cells, read  # tests/

NAME = "06_spark_pca_kmeans.ipynb"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_notebook_is_the_spark_pipeline_with_spark_words_translated(language: str) -> None:
    """The structure and translation checks every tutorial gets are in test_tutorials.py; these are this one's own."""
    notebook = read(language, NAME)
    code = "\n".join(cells(notebook, "code"))
    assert 'spark.read.format("libsvm")' in code and "%sm_transform" in code and "%sm_cleanup -f" in cells(notebook, "code")[-1]
    text = "\n".join(cells(notebook, "markdown"))
    if language == "fr":
        assert "point de terminaison" in text and "exécuteur" in text
    elif language == "zh-TW":
        assert "端點" in text and "執行器" in text


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (the optional `spark` extra: pip install -e '.[spark]')"
    if shutil.which("java") is None:
        return "Spark needs Java and `java` is not on PATH (Debian: apt-get install default-jre-headless)"
    return None


def text_of(notebook: Any, starts_with: str) -> str:
    found = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.startswith(starts_with)]
    assert len(found) == 1, f"no single code cell starting with {starts_with!r}"
    parts = []
    for output in found[0].outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("display_data", "execute_result"):
            parts.append(output.data.get("text/plain", ""))
    return "\n".join(parts)


def models(sagemaker: Any) -> set[str]:
    return {m["ModelName"] for page in sagemaker.get_paginator("list_models").paginate() for m in page["Models"]}


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_tutorial_runs_end_to_end(language: str, engine: Any, tmp_path: Path) -> None:
    missing = _spark_missing()
    if missing:
        pytest.skip(missing)
    pytest.importorskip("nbclient")
    from nbclient import NotebookClient

    notebook = read(language, NAME)
    client = NotebookClient(notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}})
    sagemaker = boto3.client("sagemaker", endpoint_url=engine.url, region_name="us-east-1", **engine.credentials.as_boto3())
    models_before = models(sagemaker)
    started = time.monotonic()
    client.execute(env=kernel_env(engine, f"tutorials/{language}/{NAME}"))  # a cell that raises fails here, naming it
    seconds = time.monotonic() - started
    assert "using the local SageMaker engine" in text_of(notebook, "%load_ext")
    assert "train: 3572 digits in 4 partitions; test: 714 digits" in text_of(notebook, "import os")
    assert "features: vector" in text_of(notebook, "import os")
    trained = text_of(notebook, "%%sm_train pca")
    assert "the local engine bills nothing" in trained and re.search(r"^training job pca-\S+: Completed", trained, re.M), trained
    projected = text_of(notebook, "train_projected = %sm_transform")
    assert "transform job pca-transform-" in projected and "|label|" in projected.replace(" ", "")
    clusters = text_of(notebook, "test_projected = %sm_transform")
    assert "closest_cluster" in clusters and "distance_to_cluster" in clusters
    headline = re.search(r"(\d+) clusters of 714 test digits, purity (\d+)%", text_of(notebook, "sizes = clusters"))
    assert headline, text_of(notebook, "sizes = clusters")
    assert int(headline[1]) == 10 and int(headline[2]) > 45  # well above chance (10%), as k-means on raw pixels is
    gallery = text_of(notebook, "import numpy as np")
    assert re.match(r"10 clusters · 714 images · overall purity [\d.]+%", gallery), gallery
    assert "nothing to clean up" in text_of(notebook, "%sm_cleanup -f")
    # the transform jobs' models were deleted when the jobs ended
    assert models(sagemaker) <= models_before
    print(f"{language}: {seconds:.0f} s")
