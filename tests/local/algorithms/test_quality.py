"""The built-in algorithms give the quality their libraries give on the same data.

Each algorithm is trained through the real engine, as a boto3 user trains it,
on the 5 000-digit MNIST sample the engine seeds (``mnist_splits()``: 3 572
train, 714 validation, 714 test), and its result is set beside the library's
on the same split with the same hyperparameters:

* Linear Learner, "is it a zero?", tuned with the classic tutorial's own
  ranges (wd 1e-7..1 log, learning_rate 1e-4..0.1, mini_batch_size
  100..2000; validation:binary_f_beta, 6 jobs, 2 at a time, 10 epochs); the
  best job deployed answers the test digits. Reference: scikit-learn's
  LogisticRegression with C chosen on the same validation digits by the same
  F1. The engine's F1 of the positive class on the test digits is within 0.02.
  The run is reproducible: the tuning job's request seeds the Bayesian
  search and a Linear Learner job is seeded by its request (this one
  scores 0.951 here). With RandomSeed 1 to 10 the best job's test F1 was
  0.933, 0.950, 0.933, 0.956, 0.938, 0.945, 0.919, 0.955, 0.956, 0.938
  (benchmarks/linear_learner_tuning.py, through the engine): 9 of 10 within
  0.02 of scikit-learn's 0.950. Each tuning child trains one model
  (num_models is 1 under tuning, as the guide says).
* k-means, k = 10, the container's defaults: the sum of squared distances of
  the training digits to their nearest centre (the job's ``test:msd`` with
  the training digits as its test channel, times their count) is within 2 %
  of scikit-learn's KMeans (k-means++). The fair reference is one k-means++
  run on the data (scikit-learn's default ``n_init='auto'``): the container
  seeds once and passes over the data once; its ten local Lloyd's trials
  run on the k x extra_center_factor weighted centres, not on the data (ten
  full runs of scikit-learn are only 0.06 % better on this data). The job
  has a fixed name, which seeds its random initial centres; over 15 other
  seeds the engine's sum was 0.7 to 1.9 % above scikit-learn's.
* PCA, 50 components, regular and randomized mode: the share of the training
  digits' variance that the model's projection keeps is within 2 % of
  scikit-learn's PCA with the same number of components.
* XGBoost 1.7-1, the tutorial's hyperparameters on "is it a zero?" with a
  validation channel: the ``validation:auc`` and ``validation:logloss`` the job
  reports are ``xgboost.train``'s on the same rows with the same parameters
  and rounds (within 2 %; the log prints five decimals).

Everything trained once per module; the library references are small fits.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest

from helpers import (
    BUCKET, Clients, channel, csv_rows, deploy, ensure_bucket, final_metrics, job_request, put, read_s3, run_training,
    unique, wait_until,
)
from sm_magics.formats import ndarray, recordio
from sm_magics.local.runtime.hosting import unpack_model

LL_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
PCA_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/pca:1"
XGB_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
# the classic "is it a zero?" tuning tutorial's own ranges
TUTORIAL_RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "wd", "MinValue": "0.0000001", "MaxValue": "1", "ScalingType": "Logarithmic"},
        {"Name": "learning_rate", "MinValue": "0.0001", "MaxValue": "0.1", "ScalingType": "Auto"},
    ],
    "IntegerParameterRanges": [{"Name": "mini_batch_size", "MinValue": "100", "MaxValue": "2000", "ScalingType": "Auto"}],
    "CategoricalParameterRanges": [],
}
XGB_TUTORIAL = {
    "max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.8",
    "objective": "binary:logistic", "num_round": "40",
}  # fmt: skip


def is_zero(labels: np.ndarray) -> np.ndarray:
    return (labels == 0).astype(np.float32)


def f1_of_positive(predicted: np.ndarray, truth: np.ndarray) -> float:
    tp = float(((predicted == 1) & (truth == 1)).sum())
    return 2 * tp / max(float((predicted == 1).sum() + (truth == 1).sum()), 1.0)


def model_arrays(aws: Any, job: dict[str, Any]) -> Any:
    """The NDArray(s) in a first-party algorithm's model.tar.gz (member ``model_algo-1``)."""
    members = unpack_model(read_s3(aws, job["ModelArtifacts"]["S3ModelArtifacts"]))
    return ndarray.load(members["model_algo-1"])


def recordio_prefix(aws: Any, name: str, x: np.ndarray, y: np.ndarray | None = None) -> str:
    ensure_bucket(aws)
    put(aws, f"quality/{name}/data.pbr", recordio.encode_dense(x.astype(np.float32), y))
    return f"s3://{BUCKET}/quality/{name}/"


def train_job(aws: Any, image: str, channels: list[dict[str, Any]], hyperparameters: dict[str, str], name: str) -> dict[str, Any]:
    job = run_training(aws, job_request(name, image, channels, hyperparameters))
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return job


# ----------------------------------------------------------------------------- Linear Learner


TUTORIAL_STATIC = {
    "feature_dim": "784",
    "predictor_type": "binary_classifier",
    "binary_classifier_model_selection_criteria": "f_beta",
    "epochs": "10",
}


def tune_zero_or_not(aws: Clients, runtime: Any, mnist: tuple, name: str, static: dict[str, str],
                     ranges: dict[str, Any]) -> dict[str, Any]:
    """A Bayesian tuning job on "is it a zero?" (6 jobs, 2 at a time, validation:binary_f_beta), as a boto3 user
    sends it, its best job deployed and asked for every test digit. ``name`` is fixed by the caller: the search is
    seeded by it, so the run is reproducible."""
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = mnist
    stem = unique(name)
    train_uri = recordio_prefix(aws, f"{stem}/train", x_train, is_zero(y_train))
    valid_uri = recordio_prefix(aws, f"{stem}/validation", x_valid, is_zero(y_valid))
    aws.sagemaker.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:binary_f_beta"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": ranges,
        },
        TrainingJobDefinition={
            "StaticHyperParameters": static,
            "AlgorithmSpecification": {"TrainingImage": LL_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": job_request("", LL_IMAGE, [], {})["RoleArn"],
            "InputDataConfig": [channel("train", train_uri), channel("validation", valid_uri)],
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/quality/{stem}/output"},
            "ResourceConfig": {"InstanceType": "ml.c4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    )
    tuning = wait_until(
        lambda: aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        "HyperParameterTuningJobStatus",
        timeout=600,
    )
    assert tuning["HyperParameterTuningJobStatus"] == "Completed", tuning.get("FailureReason")
    assert tuning["TrainingJobStatusCounters"]["Completed"] == 6
    best = aws.sagemaker.describe_training_job(TrainingJobName=tuning["BestTrainingJob"]["TrainingJobName"])
    endpoint = deploy(aws, best["ModelArtifacts"]["S3ModelArtifacts"], image=LL_IMAGE)
    try:
        predicted: list[int] = []
        for rows in np.array_split(x_test, 4):
            answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="application/json", Body=csv_rows(rows))
            predicted += [p["predicted_label"] for p in json.loads(answer["Body"].read())["predictions"]]
    finally:
        aws.sagemaker.delete_endpoint(EndpointName=endpoint)
    return {"best": best, "f1": f1_of_positive(np.array(predicted), is_zero(y_test)), "tuned": best["HyperParameters"]}


@pytest.fixture(scope="module")
def tuned_linear_learner(engine_clients: Clients, runtime: Any, mnist: tuple) -> dict[str, Any]:
    """The classic tutorial's tuning job on the engine."""
    return tune_zero_or_not(engine_clients, runtime, mnist, "q-ll-tutorial-ranges", TUTORIAL_STATIC, TUTORIAL_RANGES)


def sklearn_zero_f1(mnist: tuple) -> tuple[float, float]:
    """LogisticRegression on the same split, C chosen by the validation digits' F1: (C, test F1)."""
    from sklearn.linear_model import LogisticRegression

    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = mnist
    best: tuple[float, float, float] | None = None
    for c in (0.01, 0.1, 1.0, 10.0, 100.0):
        model = LogisticRegression(C=c, max_iter=2000).fit(x_train, is_zero(y_train))
        score = f1_of_positive(model.predict(x_valid), is_zero(y_valid))
        if best is None or score > best[0]:
            best = (score, c, f1_of_positive(model.predict(x_test), is_zero(y_test)))
    assert best is not None
    return best[1], best[2]


def test_linear_learner_tuned_with_the_tutorials_ranges_scores_like_scikit_learn(
    tuned_linear_learner: dict[str, Any], mnist: tuple, record_property: Any
) -> None:
    c, reference = sklearn_zero_f1(mnist)
    engine_f1 = tuned_linear_learner["f1"]
    record_property("engine_f1", engine_f1)
    record_property("sklearn_f1", reference)
    print(f"\nLinear Learner tuned F1 {engine_f1:.4f} ({tuned_linear_learner['tuned']}); scikit-learn C={c:g}: {reference:.4f}")
    assert reference > 0.9, "the reference itself is off: the data split changed?"
    assert engine_f1 >= reference - 0.02, (
        f"the tuned Linear Learner's test F1 {engine_f1:.4f} is more than 0.02 below scikit-learn's {reference:.4f} "
        f"(best job's hyperparameters {tuned_linear_learner['tuned']})"
    )
    # the tuning job's objective is the F1 the best job measured on the validation digits
    objective = tuned_linear_learner["best"]["FinalMetricDataList"]
    assert any(m["MetricName"] == "validation:binary_f_beta" and 0.85 < m["Value"] <= 1 for m in objective)


# the tutorial notebook 02's own %%sm_tune cell (notebooks/en/02_linear_learner_zero_or_not.ipynb), as the magic sends it
NOTEBOOK_02_STATIC = {"feature_dim": "784", "predictor_type": "binary_classifier", "epochs": "5"}
NOTEBOOK_02_RANGES = {
    "ContinuousParameterRanges": [{"Name": "learning_rate", "MinValue": "0.0001", "MaxValue": "1", "ScalingType": "Logarithmic"}],
    "IntegerParameterRanges": [{"Name": "mini_batch_size", "MinValue": "100", "MaxValue": "1000", "ScalingType": "Auto"}],
    "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["sgd", "adam"]}],
}


@pytest.fixture(scope="module")
def notebook_02_tuning(engine_clients: Clients, runtime: Any, mnist: tuple) -> dict[str, Any]:
    """Notebook 02's tuning job, its ranges and fixed hyperparameters as the magic sends them."""
    return tune_zero_or_not(engine_clients, runtime, mnist, "q-ll-notebook-02", NOTEBOOK_02_STATIC, NOTEBOOK_02_RANGES)


def test_linear_learner_tuned_as_notebook_02_tunes_it_scores_like_scikit_learn(notebook_02_tuning: dict[str, Any], mnist: tuple) -> None:
    """The tutorial's ranges unmodified (learning_rate 1e-4..1 log, mini_batch_size 100..1000, sgd|adam, 5 epochs).
    This fixed request scores 0.949. Over other RandomSeeds the best job's test F1 still varies: 0.940, 0.902,
    0.927, 0.935, 0.938, 0.936, 0.886, 0.937, 0.935, 0.943 for RandomSeed 1 to 10 (benchmarks/linear_learner_tuning.py,
    7 of 10 within 0.02): each child trains the single model it was proposed (num_models 1 under tuning), and
    where the best of six is Adam at a learning rate of 0.2 or more its margins span hundreds of logits, yet the
    714 validation digits rank it level with good children."""
    c, reference = sklearn_zero_f1(mnist)
    engine_f1 = notebook_02_tuning["f1"]
    print(f"\nLinear Learner as notebook 02 tunes it: test F1 {engine_f1:.4f} ({notebook_02_tuning['tuned']}); scikit-learn C={c:g}: {reference:.4f}")
    assert engine_f1 >= reference - 0.02, (
        f"notebook 02's tuned Linear Learner's test F1 {engine_f1:.4f} is more than 0.02 below scikit-learn's {reference:.4f}"
    )


# ----------------------------------------------------------------------------- k-means


@pytest.fixture(scope="module")
def kmeans_job(engine_clients: Clients, mnist: tuple) -> dict[str, Any]:
    aws = engine_clients
    x_train = mnist[0][0]
    uri = recordio_prefix(aws, unique("q-km"), x_train)
    return train_job(
        aws, KMEANS_IMAGE, [channel("train", uri), channel("test", uri)], {"k": "10", "feature_dim": "784"},
        "q-kmeans-mnist-k10",  # a fixed name: the job's random initial centres are seeded by it
    )


def test_kmeans_within_sum_of_squares_is_scikit_learns(engine_clients: Clients, kmeans_job: dict[str, Any], mnist: tuple, record_property: Any) -> None:
    from sklearn.cluster import KMeans

    x_train = mnist[0][0].astype(np.float64)
    wcss_engine = final_metrics(kmeans_job)["test:msd"] * len(x_train)
    reference = KMeans(n_clusters=10, init="k-means++", n_init=1, random_state=0).fit(x_train).inertia_
    record_property("wcss_ratio", wcss_engine / reference)
    # the reported metric is the model's: the centres in the artifact give the same sum
    (centres,) = model_arrays(engine_clients, kmeans_job)
    distances = ((x_train[:, None, :] - np.asarray(centres, dtype=np.float64)[None, :, :]) ** 2).sum(axis=2).min(axis=1)
    assert distances.sum() == pytest.approx(wcss_engine, rel=1e-4)
    print(f"\nk-means WCSS engine {wcss_engine:.1f}, scikit-learn {reference:.1f} (ratio {wcss_engine / reference:.4f})")
    assert wcss_engine <= 1.02 * reference


# ----------------------------------------------------------------------------- PCA


@pytest.fixture(scope="module")
def pca_jobs(engine_clients: Clients, mnist: tuple) -> dict[str, dict[str, Any]]:
    aws = engine_clients
    uri = recordio_prefix(aws, unique("q-pca"), mnist[0][0])
    common = {"feature_dim": "784", "num_components": "50", "mini_batch_size": "500"}
    return {
        mode: train_job(aws, PCA_IMAGE, [channel("train", uri)], {**common, "algorithm_mode": mode}, unique("q-pca"))
        for mode in ("regular", "randomized")
    }


@pytest.mark.parametrize("mode", ["regular", "randomized"])
def test_pca_projection_keeps_the_variance_scikit_learns_keeps(engine_clients: Clients, pca_jobs: dict[str, Any], mnist: tuple, mode: str) -> None:
    from sklearn.decomposition import PCA

    x_train = mnist[0][0].astype(np.float64)
    model = model_arrays(engine_clients, pca_jobs[mode])
    v, mean = np.asarray(model["v"], dtype=np.float64), np.asarray(model["mean"], dtype=np.float64).reshape(-1)
    assert v.shape == (784, 50)
    projection = (x_train - mean) @ v
    total = ((x_train - x_train.mean(axis=0)) ** 2).sum(axis=0).sum() / (len(x_train) - 1)
    kept = projection.var(axis=0, ddof=1).sum() / total
    reference = PCA(n_components=50, svd_solver="full").fit(x_train).explained_variance_ratio_.sum()
    print(f"\nPCA {mode}: engine keeps {kept:.4f} of the variance, scikit-learn {reference:.4f}")
    assert kept >= 0.98 * reference
    assert kept <= reference + 1e-6, "no 50 directions keep more than the top 50 principal axes"


# ----------------------------------------------------------------------------- XGBoost


@pytest.fixture(scope="module")
def xgboost_job(engine_clients: Clients, mnist: tuple) -> dict[str, Any]:
    aws = engine_clients
    (x_train, y_train), (x_valid, y_valid), _ = mnist
    stem = unique("q-xgb")
    ensure_bucket(aws)
    for name, x, y in (("train", x_train, y_train), ("validation", x_valid, y_valid)):
        put(aws, f"quality/{stem}/{name}/data.csv", _csv(is_zero(y), x))
    channels = [channel(name, f"s3://{BUCKET}/quality/{stem}/{name}/", "text/csv") for name in ("train", "validation")]
    return train_job(aws, XGB_IMAGE, channels, {**XGB_TUTORIAL, "eval_metric": "logloss,auc"}, unique("q-xgb"))


def _csv(y: np.ndarray, x: np.ndarray) -> str:
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([y, x]), fmt="%.9g", delimiter=",")
    return buf.getvalue()


def test_xgboost_validation_metrics_are_xgboost_trains(xgboost_job: dict[str, Any], mnist: tuple) -> None:
    import xgboost as xgb

    (x_train, y_train), (x_valid, y_valid), _ = mnist
    # the rows as the job read them: the CSV's numbers, as float32
    train = np.loadtxt(io.StringIO(_csv(is_zero(y_train), x_train)), delimiter=",", dtype=np.float32)
    valid = np.loadtxt(io.StringIO(_csv(is_zero(y_valid), x_valid)), delimiter=",", dtype=np.float32)
    params = {k: float(v) if k != "objective" else v for k, v in XGB_TUTORIAL.items() if k != "num_round"}
    params["max_depth"] = int(params["max_depth"])
    params["eval_metric"] = ["logloss", "auc"]
    history: dict[str, Any] = {}
    xgb.train(
        params,
        xgb.DMatrix(train[:, 1:], label=train[:, 0]),
        num_boost_round=int(XGB_TUTORIAL["num_round"]),
        evals=[(xgb.DMatrix(valid[:, 1:], label=valid[:, 0]), "validation")],
        evals_result=history,
        verbose_eval=False,
    )
    metrics = final_metrics(xgboost_job)
    for name in ("auc", "logloss"):
        expected = history["validation"][name][-1]
        print(f"\nXGBoost validation:{name} engine {metrics[f'validation:{name}']:.5f}, xgboost.train {expected:.5f}")
        assert metrics[f"validation:{name}"] == pytest.approx(expected, rel=0.02, abs=1e-5)
    assert metrics["validation:auc"] > 0.99
