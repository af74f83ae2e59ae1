"""Bad requests, answered as SageMaker answers them, leaving nothing half-made.

Each test makes one mistake a user makes, checks the error (code, HTTP status,
wording the SDKs and users match on), checks that no resource of that name was
left behind (or that the job exists and is Failed with a ``ClientError:``
reason), and an autouse fixture then checks that the engine still serves both
its control plane and an endpoint.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import numpy as np
import pytest

from helpers import (
    BUCKET, KMEANS_IMAGE, ROLE, Clients, assert_failed_with_client_error, deploy, ensure_bucket, error_of,
    production_variants, put, run_training, training_request, unique, upload_recordio,
)
from sm_magics.local import settings

FEATURES = 5


# ----------------------------------------------------------------------------- helpers


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def job_names(aws: Any, contains: str) -> list[str]:
    return [s["TrainingJobName"] for s in aws.sagemaker.list_training_jobs(NameContains=contains)["TrainingJobSummaries"]]


def assert_no_training_job(aws: Any, name: str) -> None:
    assert job_names(aws, name) == []
    error = error_of(aws.sagemaker.describe_training_job, TrainingJobName=name)
    assert error["Error"]["Code"] == "ValidationException"
    assert error["Error"]["Message"] == "Requested resource not found."


def small_data(rows: int = 40, features: int = FEATURES, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, features)).astype(np.float32)


def csv_body(x: np.ndarray) -> str:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in x)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def train_uri(engine_clients: Clients) -> str:
    return upload_recordio(engine_clients, small_data(), f"data/{unique('bad')}")


@pytest.fixture(scope="module")
def serving(engine_clients: Clients, train_uri: str) -> dict[str, Any]:
    """A good k-means endpoint, trained here, that must keep answering after every bad request."""
    name = unique("good")
    job = run_training(engine_clients, training_request(name, train_uri, {"k": "3", "feature_dim": str(FEATURES)}))
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    model_uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    endpoint = deploy(engine_clients, model_uri)
    return {"job": name, "model_uri": model_uri, "endpoint": endpoint}


@pytest.fixture(autouse=True)
def engine_keeps_serving(aws: Clients, runtime: Any, serving: dict[str, Any]) -> Iterator[None]:
    yield
    # the control plane answers ...
    assert aws.sagemaker.describe_endpoint(EndpointName=serving["endpoint"])["EndpointStatus"] == "InService"
    assert aws.sagemaker.describe_training_job(TrainingJobName=serving["job"])["TrainingJobStatus"] == "Completed"
    # ... and so does the endpoint
    answer = runtime.invoke_endpoint(EndpointName=serving["endpoint"], ContentType="text/csv", Body=csv_body(small_data(2)))
    assert len(json.loads(answer["Body"].read())["predictions"]) == 2


# ----------------------------------------------------------------------------- training jobs: rejected at create


def test_unknown_training_image_is_rejected_at_create(aws: Clients, train_uri: str) -> None:
    name = unique("img")
    request = training_request(name, train_uri, {"k": "3", "feature_dim": str(FEATURES)})
    request["AlgorithmSpecification"]["TrainingImage"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own-algo:latest"
    error = error_of(aws.sagemaker.create_training_job, **request)
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "my-own-algo" in error["Error"]["Message"]
    assert_no_training_job(aws, name)


def test_spot_training_without_max_wait_is_rejected(aws: Clients, train_uri: str) -> None:
    name = unique("spot")
    request = training_request(name, train_uri, {"k": "3", "feature_dim": str(FEATURES)}, EnableManagedSpotTraining=True)
    error = error_of(aws.sagemaker.create_training_job, **request)
    assert error["Error"]["Code"] == "ValidationException"
    assert "MaxWaitTimeInSeconds" in error["Error"]["Message"]
    assert_no_training_job(aws, name)


def test_spot_training_with_max_wait_below_max_runtime_is_rejected(aws: Clients, train_uri: str) -> None:
    name = unique("spot")
    request = training_request(
        name, train_uri, {"k": "3", "feature_dim": str(FEATURES)},
        EnableManagedSpotTraining=True, StoppingCondition={"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 300},
    )
    error = error_of(aws.sagemaker.create_training_job, **request)
    assert error["Error"]["Code"] == "ValidationException"
    assert "MaxWaitTimeInSeconds" in error["Error"]["Message"]
    assert_no_training_job(aws, name)


def test_duplicate_training_job_name_is_resource_in_use(aws: Clients, serving: dict[str, Any], train_uri: str) -> None:
    name = serving["job"]
    before = without_metadata(aws.sagemaker.describe_training_job(TrainingJobName=name))
    request = training_request(name, train_uri, {"k": "4", "feature_dim": str(FEATURES)})
    error = error_of(aws.sagemaker.create_training_job, **request)
    assert error["Error"]["Code"] == "ResourceInUse"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    after = without_metadata(aws.sagemaker.describe_training_job(TrainingJobName=name))
    assert after == before  # the first job is untouched
    assert job_names(aws, name) == [name]


BAD_NAMES = {  # how each breaks the name pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
    "TrainingJobName": lambda tag: f"{tag}_underscore",
    "ModelName": lambda tag: f"{tag}.dot",
    "EndpointConfigName": lambda tag: f"-{tag}",
    "EndpointName": lambda tag: f"{tag} space",
}


@pytest.mark.parametrize("field", list(BAD_NAMES))
def test_name_breaking_the_api_pattern_is_rejected(aws: Clients, train_uri: str, field: str) -> None:
    tag = unique("pat")
    name = BAD_NAMES[field](tag)
    call, kwargs = {
        "TrainingJobName": (aws.sagemaker.create_training_job, training_request(name, train_uri, {"k": "3", "feature_dim": str(FEATURES)})),
        "ModelName": (aws.sagemaker.create_model, {
            "ModelName": name, "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": KMEANS_IMAGE, "ModelDataUrl": "s3://b/m.tar.gz"},
        }),
        "EndpointConfigName": (
            aws.sagemaker.create_endpoint_config, {"EndpointConfigName": name, "ProductionVariants": production_variants("m")}
        ),
        "EndpointName": (aws.sagemaker.create_endpoint, {"EndpointName": name, "EndpointConfigName": "c"}),
    }[field]
    error = error_of(call, **kwargs)
    assert error["Error"]["Code"] == "ValidationException"
    message = error["Error"]["Message"]
    assert message.startswith("1 validation error detected: ")
    assert f"Value '{name}' at '{field[0].lower() + field[1:]}' failed to satisfy constraint" in message
    assert "regular expression pattern" in message
    # nothing of that name exists
    assert job_names(aws, tag) == []
    assert aws.sagemaker.list_models(NameContains=tag)["Models"] == []
    assert aws.sagemaker.list_endpoint_configs(NameContains=tag)["EndpointConfigs"] == []
    assert aws.sagemaker.list_endpoints(NameContains=tag)["Endpoints"] == []


# ----------------------------------------------------------------------------- training jobs: the container fails them

BAD_HYPERPARAMETERS = {
    "missing k": ({"feature_dim": str(FEATURES)}, ["'k'", "required"]),
    "k is zero": ({"k": "0", "feature_dim": str(FEATURES)}, ["'k'", "'0'"]),
    "k is not a number": ({"k": "ten", "feature_dim": str(FEATURES)}, ["'k'", "'ten'"]),
    "tol above 1": ({"k": "3", "feature_dim": str(FEATURES), "local_lloyd_tol": "1.5"}, ["'local_lloyd_tol'", "'1.5'"]),
    "unknown init method": ({"k": "3", "feature_dim": str(FEATURES), "init_method": "best"}, ["'init_method'", "'best'"]),
    "misspelt mini_batch_size": (
        {"k": "3", "feature_dim": str(FEATURES), "mini_batch_siz": "10"},
        ["'mini_batch_siz' was unexpected", "'mini_batch_size'"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_HYPERPARAMETERS))
def test_bad_hyperparameters_fail_the_job_with_a_client_error(aws: Clients, train_uri: str, case: str) -> None:
    hyperparameters, expected = BAD_HYPERPARAMETERS[case]
    name = unique("hp")
    job = run_training(aws, training_request(name, train_uri, hyperparameters))
    assert_failed_with_client_error(aws, job, expected)
    assert job["SecondaryStatus"] == "Failed"
    assert job["SecondaryStatusTransitions"][-1]["Status"] == "Failed"
    assert job_names(aws, name) == [name]


def _nan_data() -> bytes:
    from sm_magics.formats import recordio

    x = small_data()
    x[7, 2] = np.nan
    return recordio.encode_dense(x)


def _recordio(x: np.ndarray) -> bytes:
    from sm_magics.formats import recordio

    return recordio.encode_dense(x)


BAD_DATA = {
    "feature_dim mismatch": (lambda: _recordio(small_data()), {"k": "3", "feature_dim": str(FEATURES + 1)}, ["feature_dim", str(FEATURES + 1), str(FEATURES)]),
    "k larger than the rows": (lambda: _recordio(small_data(rows=8)), {"k": "20", "feature_dim": str(FEATURES)}, ["k (20)", "8"]),
    "NaN in the data": (_nan_data, {"k": "3", "feature_dim": str(FEATURES)}, ["NaN", "'train'"]),
    "malformed RecordIO": (lambda: b"this is not RecordIO-protobuf at all\n" * 4, {"k": "3", "feature_dim": str(FEATURES)}, ["'train'"]),
    "truncated RecordIO": (lambda: _recordio(small_data())[:-7], {"k": "3", "feature_dim": str(FEATURES)}, ["'train'"]),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_training_data_fails_the_job_with_a_client_error(aws: Clients, case: str) -> None:
    make_data, hyperparameters, expected = BAD_DATA[case]
    name = unique("data")
    ensure_bucket(aws)
    put(aws, f"data/{name}/part-0", make_data())
    job = run_training(aws, training_request(name, f"s3://{BUCKET}/data/{name}/", hyperparameters))
    assert_failed_with_client_error(aws, job, expected)
    assert "Uploading" not in [t["Status"] for t in job["SecondaryStatusTransitions"]]


# ----------------------------------------------------------------------------- models, configs, endpoints


def test_duplicate_model_name_is_rejected_and_the_first_kept(aws: Clients, serving: dict[str, Any]) -> None:
    name = serving["endpoint"]  # deploy() names the model, config and endpoint alike
    before = without_metadata(aws.sagemaker.describe_model(ModelName=name))
    error = error_of(
        aws.sagemaker.create_model,
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": "s3://elsewhere/model.tar.gz"},
    )
    assert error["Error"]["Code"] == "ValidationException"
    assert error["Error"]["Message"].startswith("Cannot create already existing model")
    assert before["ModelArn"] in error["Error"]["Message"]
    assert without_metadata(aws.sagemaker.describe_model(ModelName=name)) == before


def test_duplicate_endpoint_config_name_is_rejected_and_the_first_kept(aws: Clients, serving: dict[str, Any]) -> None:
    name = serving["endpoint"]
    before = without_metadata(aws.sagemaker.describe_endpoint_config(EndpointConfigName=name))
    error = error_of(
        aws.sagemaker.create_endpoint_config,
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "Other", "ModelName": name, "InitialInstanceCount": 2, "InstanceType": "ml.c5.xlarge"}],
    )
    assert error["Error"]["Code"] == "ValidationException"
    assert error["Error"]["Message"].startswith("Cannot create already existing endpoint configuration")
    assert without_metadata(aws.sagemaker.describe_endpoint_config(EndpointConfigName=name)) == before


def test_duplicate_endpoint_name_is_rejected_and_the_first_kept(aws: Clients, serving: dict[str, Any]) -> None:
    name = serving["endpoint"]
    other = unique("other")
    aws.sagemaker.create_endpoint_config(EndpointConfigName=other, ProductionVariants=production_variants(name))
    before = aws.sagemaker.describe_endpoint(EndpointName=name)
    error = error_of(aws.sagemaker.create_endpoint, EndpointName=name, EndpointConfigName=other)
    assert error["Error"]["Code"] == "ValidationException"
    assert error["Error"]["Message"].startswith("Cannot create already existing endpoint")
    after = aws.sagemaker.describe_endpoint(EndpointName=name)
    assert after["EndpointConfigName"] == name and after["EndpointStatus"] == "InService"
    assert after["LastModifiedTime"] == before["LastModifiedTime"]
    aws.sagemaker.delete_endpoint_config(EndpointConfigName=other)


def test_endpoint_config_naming_a_missing_model_is_rejected(aws: Clients) -> None:
    name, missing = unique("cfg"), unique("nomodel")
    error = error_of(aws.sagemaker.create_endpoint_config, EndpointConfigName=name, ProductionVariants=production_variants(missing))
    assert error["Error"]["Code"] == "ValidationException"
    assert error["Error"]["Message"] == f'Could not find model "arn:aws:sagemaker:us-east-1:{settings.ACCOUNT_ID}:model/{missing}".'
    assert aws.sagemaker.list_endpoint_configs(NameContains=name)["EndpointConfigs"] == []
    error = error_of(aws.sagemaker.describe_endpoint_config, EndpointConfigName=name)
    assert "Could not find endpoint configuration" in error["Error"]["Message"]


def test_endpoint_naming_a_missing_config_is_rejected(aws: Clients) -> None:
    name = unique("ep")
    error = error_of(aws.sagemaker.create_endpoint, EndpointName=name, EndpointConfigName=unique("nocfg"))
    assert error["Error"]["Code"] == "ValidationException"
    assert "Could not find endpoint configuration" in error["Error"]["Message"]
    assert aws.sagemaker.list_endpoints(NameContains=name)["Endpoints"] == []
    error = error_of(aws.sagemaker.describe_endpoint, EndpointName=name)
    assert "Could not find endpoint" in error["Error"]["Message"]


def test_describe_and_delete_of_unknown_resources(aws: Clients) -> None:
    name = unique("ghost")
    arn = f"arn:aws:sagemaker:us-east-1:{settings.ACCOUNT_ID}:endpoint/{name}"
    for call in (aws.sagemaker.describe_endpoint, aws.sagemaker.delete_endpoint):
        error = error_of(call, EndpointName=name)
        assert error["Error"]["Code"] == "ValidationException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error["Error"]["Message"] == f'Could not find endpoint "{arn}".'
    for call in (aws.sagemaker.describe_model, aws.sagemaker.delete_model):
        assert "Could not find model" in error_of(call, ModelName=name)["Error"]["Message"]
    for call in (aws.sagemaker.describe_endpoint_config, aws.sagemaker.delete_endpoint_config):
        assert "Could not find endpoint configuration" in error_of(call, EndpointConfigName=name)["Error"]["Message"]
    error = error_of(aws.sagemaker.update_endpoint, EndpointName=name, EndpointConfigName=name)
    assert "Could not find endpoint" in error["Error"]["Message"]
    assert error_of(aws.sagemaker.stop_training_job, TrainingJobName=name)["Error"]["Code"] == "ValidationException"


# ----------------------------------------------------------------------------- runtime


def test_invoke_unknown_endpoint_is_a_validation_error(runtime: Any) -> None:
    name = unique("noep")
    error = error_of(runtime.invoke_endpoint, EndpointName=name, ContentType="text/csv", Body=csv_body(small_data(1)))
    assert error["Error"]["Code"] == "ValidationError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"] == f"Endpoint {name} of account {settings.ACCOUNT_ID} not found."


def test_payload_over_6_mb_is_refused_with_413(runtime: Any, serving: dict[str, Any]) -> None:
    row = ",".join(["0.125"] * FEATURES) + "\n"
    body = row * (6 * 1024 * 1024 // len(row) + 1)
    assert len(body) > 6 * 1024 * 1024
    error = error_of(runtime.invoke_endpoint, EndpointName=serving["endpoint"], ContentType="text/csv", Body=body)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_unsupported_content_type_is_a_model_error_415(runtime: Any, serving: dict[str, Any]) -> None:
    endpoint = serving["endpoint"]
    error = error_of(runtime.invoke_endpoint, EndpointName=endpoint, ContentType="image/png", Body=b"\x89PNG\r\n")
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 415
    assert "image/png" in error["OriginalMessage"]
    assert error["Error"]["Message"].startswith("Received client error (415) from primary with message")
    assert error["LogStreamArn"].endswith(f"log-group:/aws/sagemaker/Endpoints/{endpoint}")


def test_wrong_feature_count_is_a_model_error_400(runtime: Any, serving: dict[str, Any]) -> None:
    error = error_of(
        runtime.invoke_endpoint, EndpointName=serving["endpoint"], ContentType="text/csv", Body=csv_body(small_data(2, FEATURES + 2))
    )
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 400
