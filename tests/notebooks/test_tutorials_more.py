"""Tutorials 03-05 (boto3 k-means, PCA then k-means, XGBoost on Caravan), in every language, run for real.

Each notebook is executed top to bottom by nbclient, as "Run All Cells" would, in a real kernel
pointed at the session's local engine, once per language (the three hold the same code, and a
reader may open any of them). The assertions are about what a reader sees in the outputs
(cluster purity against a scikit-learn baseline, the classification rate against xgboost trained
here on the notebook's own split, the transform output counts) and about what the engine holds
afterwards: no endpoint, endpoint config, model, S3 object or bucket the notebook created.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from kernel import kernel_env  # tests/kernel.py (on the path: pyproject pythonpath)
from tutorial_notebooks import LANGUAGES, ExecutedNotebook, read  # tests/ (the structure checks of every notebook are in test_tutorials.py)

LOW_LEVEL, PCA_KMEANS, XGBOOST = "03_kmeans_boto3_low_level.ipynb", "04_pca_then_kmeans.ipynb", "05_xgboost_will_the_customer_buy.ipynb"
NAMES = (LOW_LEVEL, PCA_KMEANS, XGBOOST)


# ----------------------------------------------------------------------------- run


class Run(ExecutedNotebook):
    """An executed tutorial: the text a reader sees under each cell, every stream included."""

    def text(self, starts_with: str) -> str:
        """Printed text and the text/plain of displayed values, as nbconvert or a reader without widgets sees them."""
        parts = []
        for output in self.outputs(starts_with):
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type in ("display_data", "execute_result"):
                parts.append(output.data.get("text/plain", ""))
        return "\n".join(parts)


def execute(language: str, name: str, engine: Any, workdir: Path) -> Run:
    from nbclient import NotebookClient

    notebook = read(language, name)
    client = NotebookClient(notebook, kernel_name="python3", timeout=180, resources={"metadata": {"path": str(workdir)}})
    started = time.monotonic()
    client.execute(env=kernel_env(engine, f"tutorials/{language}/{name}"))  # a cell that raises fails here, naming it
    return Run(notebook, time.monotonic() - started)


@pytest.fixture(scope="module")
def clients(engine: Any) -> dict[str, Any]:
    session = boto3.Session(**engine.credentials.as_boto3(), region_name="us-east-1")
    return {service: session.client(service, endpoint_url=engine.url) for service in ("sagemaker", "s3")}


def assert_gone(sagemaker: Any, *, endpoint: str | None = None, config: str | None = None, models: tuple[str, ...] = ()) -> None:
    if endpoint:
        with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find"):
            sagemaker.describe_endpoint(EndpointName=endpoint)
    if config:
        with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find"):
            sagemaker.describe_endpoint_config(EndpointConfigName=config)
    for model in models:
        with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find"):
            sagemaker.describe_model(ModelName=model)


def keys_under(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def tagged_endpoints(sagemaker: Any, notebook: str) -> list[str]:
    """Endpoints the engine still holds that carry this notebook's tag."""
    mine = []
    for page in sagemaker.get_paginator("list_endpoints").paginate():
        for summary in page["Endpoints"]:
            tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=summary["EndpointArn"])["Tags"]}
            if tags.get("sm_magics:notebook") == notebook:
                mine.append(summary["EndpointName"])
    return mine


def gallery_headline(text: str) -> tuple[float, float]:
    headline = re.match(r"10 clusters · 714 images · overall purity ([\d.]+)% · adjusted Rand index ([\d.]+)", text)
    assert headline, text
    assert len(re.findall(r"^Cluster \d+ · \d+ images · majority \d · purity \d+%", text, re.MULTILINE)) >= 9
    return float(headline[1]), float(headline[2])


def purity(clusters: np.ndarray, labels: np.ndarray) -> float:
    """Share of images whose cluster's most common label is their own, in percent."""
    right = sum(np.bincount(labels[clusters == c]).max() for c in np.unique(clusters))
    return 100.0 * right / len(labels)


@pytest.fixture(scope="module")
def mnist_sets() -> tuple:
    from sm_magics.local.sample_data import mnist_splits

    return mnist_splits()


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
def test_low_level_kmeans_runs_and_leaves_nothing(language: str, engine: Any, clients: dict[str, Any], mnist_sets: tuple,
                                                 tmp_path: Path) -> None:
    from sklearn.cluster import KMeans

    run = execute(language, LOW_LEVEL, engine, tmp_path)
    sagemaker, s3 = clients["sagemaker"], clients["s3"]
    assert "using the local SageMaker engine" in run.text("%load_ext")
    assert run.text("from sm_magics.local.sample_data") == "train (3572, 784), validation (714, 784), test (714, 784)\n"
    setup = re.match(r"region us-east-1, bucket (\S+), role (arn:aws:iam::\d+:role/\S+)\n", run.text("import boto3"))
    assert setup, run.text("import boto3")
    bucket = setup[1]
    trained = re.match(r"(kmeans-lowlevel-\S+): Completed", run.text("import time"))
    assert trained, run.text("import time")
    job = sagemaker.describe_training_job(TrainingJobName=trained[1])
    assert job["TrainingJobStatus"] == "Completed" and job["RoleArn"] == setup[2]
    assert "'test:msd'" in run.text("import time")
    assert run.text("endpoint_name = job_name") == f"endpoint {trained[1]}: InService\n"
    answers = run.text("import io").splitlines()
    assert len(answers) == 5 and all(re.fullmatch(r"digit \d: cluster \d, distance [\d.]+", line) for line in answers)
    # the clusters, against scikit-learn's k-means with the same k on the same pixels
    shown, ari = gallery_headline(run.text("from sm_magics.widgets.gallery"))
    (x_train, _), _, (x_test, y_test) = mnist_sets
    baseline = purity(KMeans(10, n_init=1, random_state=0).fit(x_train).predict(x_test), y_test)
    assert shown > 45 and ari > 0.25 and shown > baseline - 10, (shown, baseline)
    # all three parts gone (the classic notebook leaves the config and the model), and the data
    assert run.text("sagemaker.delete_endpoint").startswith(f"deleted endpoint {trained[1]}, endpoint config {trained[1]}, model {trained[1]}")
    assert_gone(sagemaker, endpoint=trained[1], config=trained[1], models=(trained[1],))
    assert keys_under(s3, bucket, "tutorials/kmeans-lowlevel/") == []
    assert trained[1] not in run.text("%sm_endpoints")


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
def test_pca_then_kmeans_runs_by_batch_transform_and_leaves_nothing(language: str, engine: Any, clients: dict[str, Any],
                                                                    mnist_sets: tuple, tmp_path: Path) -> None:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    run = execute(language, PCA_KMEANS, engine, tmp_path)
    sagemaker, s3 = clients["sagemaker"], clients["s3"]
    pca_job = re.search(r"^training job (pca-\S+):", run.text("%%sm_train pca"), re.M)
    kmeans_job = re.search(r"^training job (kmeans-\S+):", run.text("%%sm_train kmeans"), re.M)
    assert pca_job and kmeans_job, (run.text("%%sm_train pca"), run.text("%%sm_train kmeans"))
    # the projections came from one transform job with two input files, one output line per digit
    projected = run.text("projected = batch_transform")
    assert f"transform job {pca_job[1]}: Completed" in projected
    assert re.search(r"/output/train\.csv\.out: 3572 lines", projected) and re.search(r"/output/test\.csv\.out: 714 lines", projected)
    assert "projections: train (3572, 50), test (714, 50)" in projected
    assigned = run.text("clusters = batch_transform")
    assert f"transform job {kmeans_job[1]}: Completed" in assigned and re.search(r"/output/test\.csv\.out: 714 lines", assigned)
    for job in (pca_job[1], kmeans_job[1]):
        described = sagemaker.describe_transform_job(TransformJobName=job)
        assert described["TransformJobStatus"] == "Completed" and described["TransformOutput"]["Accept"] == "application/jsonlines"
    assert sagemaker.describe_training_job(TrainingJobName=kmeans_job[1])["HyperParameters"]["feature_dim"] == "50"
    # the clusters, against scikit-learn's PCA(50) then k-means on the same digits
    shown, ari = gallery_headline(run.text("from sm_magics.widgets.gallery"))
    (x_train, _), _, (x_test, y_test) = mnist_sets
    pca = PCA(50, random_state=0).fit(x_train)
    baseline = purity(KMeans(10, n_init=1, random_state=0).fit(pca.transform(x_train)).predict(pca.transform(x_test)), y_test)
    assert shown > 45 and ari > 0.25 and shown > baseline - 10, (shown, baseline)
    # no endpoint ever; the models and every S3 object the notebook wrote are gone
    assert "nothing to clean up: no endpoint of this notebook is running" in run.text("%sm_cleanup")
    assert tagged_endpoints(sagemaker, f"tutorials/{language}/{PCA_KMEANS}") == []
    assert_gone(sagemaker, models=(pca_job[1], kmeans_job[1]))
    deleted = run.text("deleted = []")
    bucket = re.search(r"s3://([^/]+)/", deleted)[1]
    for job in (pca_job[1], kmeans_job[1]):
        assert f"model {job}" in deleted and f"/tutorials/pca-kmeans/{job}/output/test.csv.out" in deleted
        assert keys_under(s3, bucket, f"tutorials/pca-kmeans/{job}/") == [] and keys_under(s3, bucket, f"sm_magics/{job}/") == []


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
def test_xgboost_caravan_runs_and_its_clean_up_deletes_everything(language: str, engine: Any, clients: dict[str, Any],
                                                                    tmp_path: Path) -> None:
    import xgboost

    run = execute(language, XGBOOST, engine, tmp_path)
    sagemaker, s3 = clients["sagemaker"], clients["s3"]
    assert run.text("from sm_magics.datasets").startswith("5822 customers, 85 columns; bought a caravan policy: 348\n")
    assert run.text("import pandas") == "133 feature columns after one-hot encoding\n"
    assert run.text("shuffled = ") == "train: 4075 customers, 250 buyers; test: 1747 customers, 98 buyers\n"
    trained = re.search(r"^training job (xgboost-\S+):", run.text("%%sm_train xgboost"), re.M)
    assert trained, run.text("%%sm_train xgboost")
    job = sagemaker.describe_training_job(TrainingJobName=trained[1])
    assert job["TrainingJobStatus"] == "Completed" and job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 900, "MaxWaitTimeInSeconds": 1800}
    assert [c["DataSource"]["S3DataSource"]["S3Uri"].rsplit("/", 1)[-1] for c in job["InputDataConfig"]] == ["train.csv", "test.csv"]
    endpoint = re.search(r"^endpoint (\S+): \w+ \(1 x ml\.m5\.large\)", run.text("%sm_deploy"), re.M)  # after the cost line
    assert endpoint, run.text("%sm_deploy")
    first = run.text("answer = predictor.predict").splitlines()
    assert first[0].split() == ["score", "bought"] and len(first) == 6
    assert run.text("matrix = predictor.confusion").startswith("Confusion matrix (rows: true, columns: predicted)")

    # the classification rate, against xgboost trained here on the notebook's own split with its own hyperparameters
    namespace: dict[str, Any] = {}
    for start in ("from sm_magics.datasets", "import pandas", "shuffled = "):
        exec(run.code(start), namespace)
    hyperparameters = dict(line.split(": ", 1) for line in run.code("%%sm_train xgboost").splitlines()[1:]
                           if not line.startswith(("train:", "validation:")))
    rounds = int(hyperparameters.pop("num_round"))
    booster = xgboost.train(hyperparameters, xgboost.DMatrix(namespace["x_train"].to_numpy(np.float32), label=namespace["y_train"]), rounds)
    scores = booster.predict(xgboost.DMatrix(namespace["x_test"].to_numpy(np.float32)))
    y_test = namespace["y_test"].to_numpy()
    figures = re.fullmatch(r"threshold 0\.50: classification rate ([\d.]+)%, buyers found (\d+)% \(precision (\d+)%\)\n"
                           r"always answering no: ([\d.]+)%\n", run.text("def figures"))
    assert figures, run.text("def figures")
    assert float(figures[1]) == pytest.approx(100 * ((scores > 0.5) == y_test).mean(), abs=1.0)
    assert float(figures[4]) == pytest.approx(100 * (1 - y_test.mean()), abs=0.05)
    lowered = re.fullmatch(r"threshold 0\.20: classification rate ([\d.]+)%, buyers found (\d+)% \(precision (\d+)%\)\n",
                           run.text("matrix.threshold = 0.2"))
    assert lowered, run.text("matrix.threshold = 0.2")
    assert float(lowered[1]) == pytest.approx(100 * ((scores > 0.2) == y_test).mean(), abs=1.0)
    assert int(lowered[2]) >= int(figures[2])  # a lower threshold finds at least as many buyers...
    assert int(lowered[3]) > 100 * y_test.mean()  # ...and the customers it picks buy more often than customers at large

    # one cell deleted the endpoint, its config, its model, the model file, the data and the bucket
    cleanup = run.text("print(predictor.delete")
    name = endpoint[1]
    assert cleanup.startswith(f"{name}: deleted endpoint {name}, endpoint config {name}, model {name}, s3://"), cleanup
    assert_gone(sagemaker, endpoint=name, config=name, models=(name,))
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    bucket, key = artifact[len("s3://"):].split("/", 1)
    assert keys_under(s3, bucket, key) == []
    caravan_bucket = re.search(r"deleted bucket (\S+)", cleanup)[1]
    assert caravan_bucket.startswith("sm-magics-caravan-")
    with pytest.raises(s3.exceptions.ClientError, match="404|Not Found|NoSuchBucket"):
        s3.head_bucket(Bucket=caravan_bucket)
    assert "nothing to clean up: no endpoint of this notebook is running" in run.text("%sm_cleanup")
    assert tagged_endpoints(sagemaker, f"tutorials/{language}/{XGBOOST}") == []
