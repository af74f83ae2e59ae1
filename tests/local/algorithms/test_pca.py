"""SageMaker's built-in PCA (``pca:1``) as a boto3 user meets it.

Training is checked against scikit-learn on real MNIST (the model is the
container's NDArray dict: ``s`` ascending, ``v`` feature_dim x num_components in
the same order, ``mean`` 1 x feature_dim); hosting is checked against numpy
for every response format PCA serves, for a model trained here and for a real
artifact trained by SageMaker; the tutorial flow PCA -> batch transform ->
k-means runs end to end; and the mistakes users make fail the job with a
``ClientError:`` reason.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA as SKPCA

from helpers import (
    BUCKET, FIXTURES, ROLE, Clients, assert_failed_with_client_error, csv_rows, deploy, ensure_bucket, error_of, put, read_s3,
    run_training, training_request, transform_request, unique, upload_model_tar, upload_recordio, wait_transform,
)
from sm_magics.formats import ndarray, recordio
from sm_magics.local.runtime.hosting import unpack_model

PCA_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/pca:1"
REAL_PCA_ARTIFACT = FIXTURES / "pca_model_algo-1"
COMPONENTS = 50


# ----------------------------------------------------------------------------- helpers


def pca_request(name: str, train_uri: str, hyperparameters: dict[str, str]) -> dict[str, Any]:
    return training_request(
        name, train_uri, hyperparameters, AlgorithmSpecification={"TrainingImage": PCA_IMAGE, "TrainingInputMode": "File"}
    )


def model_arrays(aws: Any, job: dict[str, Any]) -> dict[str, np.ndarray]:
    """The job's model.tar.gz, downloaded and read as a user reads it (mx.nd.load of model_algo-1)."""
    members = unpack_model(read_s3(aws, job["ModelArtifacts"]["S3ModelArtifacts"]))
    assert sorted(members) == ["model_algo-1"]
    arrays = ndarray.load(members["model_algo-1"])
    assert isinstance(arrays, dict)
    return arrays


def projection(arrays: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float64) - arrays["mean"].astype(np.float64).reshape(1, -1)) @ arrays["v"].astype(np.float64)


def assert_same_subspace(v: np.ndarray, reference: np.ndarray, threshold: float) -> None:
    cosines = np.cos(subspace_angles(v.astype(np.float64), reference.astype(np.float64)))
    assert cosines.min() > threshold, f"principal angles' cosines go down to {cosines.min():.5f}: {np.sort(cosines)[:5]}"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def train_x(mnist: tuple) -> np.ndarray:
    return mnist[0][0]


@pytest.fixture(scope="module")
def sklearn_pca(train_x: np.ndarray) -> SKPCA:
    return SKPCA(n_components=COMPONENTS, svd_solver="full").fit(train_x.astype(np.float64))


@pytest.fixture(scope="module")
def train_uri(engine_clients: Clients, train_x: np.ndarray) -> str:
    return upload_recordio(engine_clients, train_x, f"data/{unique('pca-mnist')}", shards=2)


def train_pca(engine_clients: Clients, train_uri: str, **extra: str) -> dict[str, Any]:
    name = unique("pca")
    params = {"feature_dim": "784", "num_components": str(COMPONENTS), "mini_batch_size": "500", **extra}
    job = run_training(engine_clients, pca_request(name, train_uri, params))
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return job


@pytest.fixture(scope="module")
def regular_job(engine_clients: Clients, train_uri: str) -> dict[str, Any]:
    return train_pca(engine_clients, train_uri)


@pytest.fixture(scope="module")
def regular_model(engine_clients: Clients, regular_job: dict[str, Any]) -> dict[str, np.ndarray]:
    return model_arrays(engine_clients, regular_job)


@pytest.fixture(scope="module")
def endpoint(engine_clients: Clients, regular_job: dict[str, Any]) -> str:
    return deploy(engine_clients, regular_job["ModelArtifacts"]["S3ModelArtifacts"], image=PCA_IMAGE)


@pytest.fixture(scope="module")
def small_uri(engine_clients: Clients) -> str:
    x = np.random.default_rng(7).normal(size=(40, 6)).astype(np.float32)
    return upload_recordio(engine_clients, x, f"data/{unique('pca-small')}")


# ----------------------------------------------------------------------------- training


def test_regular_mode_matches_scikit_learn(
    aws: Clients, regular_job: dict[str, Any], regular_model: dict[str, np.ndarray], train_x: np.ndarray, sklearn_pca: SKPCA
) -> None:
    job = aws.sagemaker.describe_training_job(TrainingJobName=regular_job["TrainingJobName"])
    assert job["AlgorithmSpecification"]["TrainingImage"] == PCA_IMAGE
    s, v, mean = regular_model["s"], regular_model["v"], regular_model["mean"]
    assert list(regular_model) == ["s", "v", "mean"]  # the container's key order
    assert s.shape == (COMPONENTS,) and v.shape == (784, COMPONENTS) and mean.shape == (1, 784)
    assert s.dtype == v.dtype == mean.dtype == np.float32
    assert np.all(np.diff(s) >= 0), "s must be ascending (least significant component first)"
    np.testing.assert_allclose(s, sklearn_pca.singular_values_[::-1], rtol=0.01)
    assert_same_subspace(v, sklearn_pca.components_.T, 0.99)
    # column by column too: the most significant components are well separated, so each matches its own
    for j in range(5):
        assert abs(float(v[:, -1 - j] @ sklearn_pca.components_[j])) > 0.99, f"component {j} differs"
    np.testing.assert_allclose(mean.ravel(), train_x.astype(np.float64).mean(axis=0), atol=1e-5)


def test_randomized_mode_is_close_to_scikit_learn(
    engine_clients: Clients, train_uri: str, train_x: np.ndarray, sklearn_pca: SKPCA
) -> None:
    arrays = model_arrays(engine_clients, train_pca(engine_clients, train_uri, algorithm_mode="randomized"))
    s, v, mean = arrays["s"], arrays["v"], arrays["mean"]
    assert s.shape == (COMPONENTS,) and v.shape == (784, COMPONENTS) and mean.shape == (1, 784)
    assert np.all(np.diff(s) >= 0)
    np.testing.assert_allclose(s, sklearn_pca.singular_values_[::-1], rtol=0.01)
    assert_same_subspace(v, sklearn_pca.components_.T, 0.99)
    assert abs(float(v[:, -1] @ sklearn_pca.components_[0])) > 0.99
    np.testing.assert_allclose(mean.ravel(), train_x.astype(np.float64).mean(axis=0), atol=1e-5)


# ----------------------------------------------------------------------------- hosting


def test_hosted_json_answers_are_the_projection(
    runtime: Any, endpoint: str, regular_model: dict[str, np.ndarray], mnist: tuple
) -> None:
    x = mnist[2][0][:6]
    expected = projection(regular_model, x)
    body = json.dumps({"instances": [{"features": row.tolist()} for row in x]})
    answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="application/json", Accept="application/json", Body=body)
    assert answer["ContentType"] == "application/json"
    doc = json.loads(answer["Body"].read())
    assert list(doc) == ["projections"] and len(doc["projections"]) == 6
    assert all(list(item) == ["projection"] for item in doc["projections"])
    got = np.array([item["projection"] for item in doc["projections"]])
    np.testing.assert_allclose(got, expected, atol=1e-4)
    # CSV requests are answered the same way
    answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="application/json", Body=csv_rows(x))
    got = np.array([item["projection"] for item in json.loads(answer["Body"].read())["projections"]])
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_hosted_json_lines_answers_are_the_projection(
    runtime: Any, endpoint: str, regular_model: dict[str, np.ndarray], mnist: tuple
) -> None:
    x = mnist[2][0][6:11]
    body = "\n".join(json.dumps({"features": row.tolist()}) for row in x)
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint, ContentType="application/jsonlines", Accept="application/jsonlines", Body=body
    )
    assert answer["ContentType"] == "application/jsonlines"
    lines = [json.loads(line) for line in answer["Body"].read().decode().splitlines() if line.strip()]
    assert len(lines) == 5 and all(list(line) == ["projection"] for line in lines)
    np.testing.assert_allclose(np.array([line["projection"] for line in lines]), projection(regular_model, x), atol=1e-4)


def test_hosted_recordio_answers_are_the_projection(
    runtime: Any, endpoint: str, regular_model: dict[str, np.ndarray], mnist: tuple
) -> None:
    x = mnist[2][0][11:15].astype(np.float64)  # SDK2's RecordSerializer sends float64 tensors
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint,
        ContentType="application/x-recordio-protobuf",
        Accept="application/x-recordio-protobuf",
        Body=recordio.encode_dense(x),
    )
    assert answer["ContentType"] == "application/x-recordio-protobuf"
    records = recordio.read_records(answer["Body"].read())
    assert len(records) == 4
    assert all(sorted(record.label) == ["projection"] for record in records)
    got = np.array([np.asarray(record.label["projection"].values, dtype=np.float64) for record in records])
    assert got.shape == (4, COMPONENTS)
    np.testing.assert_allclose(got, projection(regular_model, x), atol=1e-4)


def test_csv_accept_is_refused_with_406(runtime: Any, endpoint: str, mnist: tuple) -> None:
    error = error_of(
        runtime.invoke_endpoint, EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=csv_rows(mnist[2][0][:2])
    )
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 406
    # and the endpoint still answers
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Accept="application/json", Body=csv_rows(mnist[2][0][:1])
    )
    assert len(json.loads(answer["Body"].read())["projections"]) == 1


def test_real_sagemaker_pca_artifact_is_hosted_and_projects(engine_clients: Clients, runtime: Any) -> None:
    member = REAL_PCA_ARTIFACT.read_bytes()
    arrays = ndarray.load(member)
    assert isinstance(arrays, dict) and arrays["v"].shape == (34, 33) and arrays["mean"].shape == (1, 34)
    endpoint = deploy(engine_clients, upload_model_tar(engine_clients, member, "pca"), image=PCA_IMAGE)
    x = np.random.default_rng(3).uniform(0.0, 1.0, size=(7, 34))
    expected = projection(arrays, x)
    answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="application/json", Body=csv_rows(x))
    got = np.array([item["projection"] for item in json.loads(answer["Body"].read())["projections"]])
    assert got.shape == (7, 33)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint,
        ContentType="application/x-recordio-protobuf",
        Accept="application/x-recordio-protobuf",
        Body=recordio.encode_dense(x.astype(np.float32)),
    )
    got = np.array([np.asarray(r.label["projection"].values, dtype=np.float64) for r in recordio.read_records(answer["Body"].read())])
    np.testing.assert_allclose(got, projection(arrays, x.astype(np.float32)), rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- acceptance: PCA -> batch transform -> k-means


def test_pca_projections_by_batch_transform_feed_kmeans(
    engine_clients: Clients, aws: Clients, regular_job: dict[str, Any], regular_model: dict[str, np.ndarray], mnist: tuple
) -> None:
    x, labels = mnist[0]
    name = unique("pca-tr")
    ensure_bucket(engine_clients)
    put(engine_clients, f"transform/{name}/in/train.csv", csv_rows(x).encode())
    aws.sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": PCA_IMAGE, "ModelDataUrl": regular_job["ModelArtifacts"]["S3ModelArtifacts"]},
    )
    request = transform_request(name, name, f"s3://{BUCKET}/transform/{name}/in/", f"transform/{name}/out")
    aws.sagemaker.create_transform_job(**request)
    job = wait_transform(aws, name)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    text = read_s3(engine_clients, f"s3://{BUCKET}/transform/{name}/out/train.csv.out").decode()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(lines) == len(x)
    projected = np.array([line["projection"] for line in lines], dtype=np.float32)
    assert projected.shape == (len(x), COMPONENTS)
    np.testing.assert_allclose(projected, projection(regular_model, x), atol=1e-3)  # CSV keeps 6 digits

    km = unique("pca-km")
    uri = upload_recordio(engine_clients, projected, f"data/{km}")
    trained = run_training(engine_clients, training_request(km, uri, {"k": "10", "feature_dim": str(COMPONENTS)}))
    assert trained["TrainingJobStatus"] == "Completed", trained.get("FailureReason")
    members = unpack_model(read_s3(engine_clients, trained["ModelArtifacts"]["S3ModelArtifacts"]))
    centroids = ndarray.load(members["model_algo-1"])[0].astype(np.float64)
    assert centroids.shape == (10, COMPONENTS)
    distances = ((projected[:, None, :].astype(np.float64) - centroids[None, :, :]) ** 2).sum(axis=2)
    clusters = distances.argmin(axis=1)
    majority = sum(np.bincount(labels[clusters == c]).max() for c in np.unique(clusters))
    purity = majority / len(labels)
    # Majority-label purity of 10 clusters of MNIST digits: about 0.1 by chance, 0.50-0.62 for k-means on
    # these projections depending on its seed (the job name); 0.4 leaves room for the seed and none for chance.
    assert purity > 0.4, f"k-means on the PCA projections gives clusters of purity {purity:.3f}"


# ----------------------------------------------------------------------------- bad requests


BAD_HYPERPARAMETERS = {
    "missing num_components": ({"feature_dim": "6", "mini_batch_size": "10"}, "num_components"),
    "num_components above feature_dim": ({"feature_dim": "6", "mini_batch_size": "10", "num_components": "7"}, "num_components"),
    "bad algorithm_mode": (
        {"feature_dim": "6", "mini_batch_size": "10", "num_components": "2", "algorithm_mode": "fastest"},
        "algorithm_mode",
    ),
    "feature_dim mismatch": ({"feature_dim": "8", "mini_batch_size": "10", "num_components": "2"}, "feature_dim"),
    "missing mini_batch_size": ({"feature_dim": "6", "num_components": "2"}, "mini_batch_size"),
    "non-numeric mini_batch_size": ({"feature_dim": "6", "mini_batch_size": "ten", "num_components": "2"}, "mini_batch_size"),
}


@pytest.mark.parametrize("case", list(BAD_HYPERPARAMETERS))
def test_bad_requests_fail_the_job_with_a_client_error(aws: Clients, small_uri: str, case: str) -> None:
    params, culprit = BAD_HYPERPARAMETERS[case]
    name = unique("pca-bad")
    job = run_training(aws, pca_request(name, small_uri, params))
    assert_failed_with_client_error(aws, job, [culprit], prefix="ClientError:")  # and no model is written
