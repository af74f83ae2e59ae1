"""The SageMaker control plane as a boto3 user sees it.

A finished training job's whole Describe document, its CloudWatch logs and its
artifact in S3; models, endpoint configs and endpoints from create to delete;
UpdateEndpoint; tags; the List* filters, sorting and pagination; and one test
that calls every operation the engine serves, so that each answer is checked
against botocore's output shapes by the ``aws`` fixture.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable

import numpy as np
import pytest

from helpers import (
    BUCKET, KMEANS_IMAGE, LOG_GROUP, ROLE, Clients, channel, complete_training, create_model_and_config, error_of,
    log_events, production_variants, read_s3, run_training, training_request, tuning_config, tuning_definition,
    unique, upload_model_tar, upload_recordio, wait_until,
)
from sm_magics.formats import ndarray
from sm_magics.local import settings
from sm_magics.local.runtime.hosting import unpack_model
from sm_magics.local.sagemaker.responses import HANDLERS

TRANSITIONS = ["Starting", "Downloading", "Training", "Uploading", "Completed"]
JOB_TAGS = [{"Key": "project", "Value": "control-plane"}, {"Key": "owner", "Value": "tests"}]

# Two models whose answers tell them apart: the same three centroids in another order.
CENTROIDS_A = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], dtype=np.float32)
CENTROIDS_B = np.array([[0.0, 10.0], [10.0, 0.0], [0.0, 0.0]], dtype=np.float32)


# ----------------------------------------------------------------------------- helpers


def upload_centroids(aws: Any, centroids: np.ndarray) -> str:
    """A model.tar.gz laid out as k-means writes it, holding the given centroids."""
    return upload_model_tar(aws, ndarray.save([np.asarray(centroids, dtype=np.float32)]), "centroids")


def predict(runtime: Any, endpoint: str, rows: list[list[float]]) -> list[dict[str, float]]:
    body = "\n".join(",".join(str(v) for v in row) for row in rows)
    answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="application/json", Body=body)
    assert answer["ContentType"] == "application/json"
    return json.loads(answer["Body"].read())["predictions"]


def walk_pages(call: Callable[..., dict[str, Any]], key: str, name_key: str, **kwargs: Any) -> list[list[str]]:
    """Names on every page of a List* call, following NextToken to the end."""
    pages, token, seen_tokens = [], None, set()
    while True:
        response = call(**kwargs, **({"NextToken": token} if token else {}))
        pages.append([item[name_key] for item in response[key]])
        token = response.get("NextToken")
        if not token:
            return pages
        assert token not in seen_tokens, "NextToken repeats: pagination would never end"
        seen_tokens.add(token)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def jobs(engine_clients: Clients, mnist: tuple) -> dict[str, str]:
    """One completed and one failed k-means job sharing a name prefix."""
    prefix = unique("cp")
    x = mnist[0][0][:300]
    uri = upload_recordio(engine_clients, x, f"data/{prefix}")
    ok, bad = f"{prefix}-ok", f"{prefix}-bad"
    complete_training(engine_clients, training_request(ok, uri, {"k": "5", "feature_dim": str(x.shape[1])}, Tags=JOB_TAGS))
    run_training(engine_clients, training_request(bad, uri, {"feature_dim": str(x.shape[1])}))
    return {"prefix": prefix, "ok": ok, "bad": bad, "train_uri": uri}


# ----------------------------------------------------------------------------- training jobs


def test_completed_job_describes_its_whole_lifecycle(aws: Clients, jobs: dict[str, str]) -> None:
    name = jobs["ok"]
    job = aws.sagemaker.describe_training_job(TrainingJobName=name)

    assert job["TrainingJobName"] == name
    assert job["TrainingJobArn"] == f"arn:aws:sagemaker:us-east-1:{settings.ACCOUNT_ID}:training-job/{name}"
    assert job["TrainingJobStatus"] == "Completed"
    assert job["SecondaryStatus"] == "Completed"
    assert "FailureReason" not in job

    transitions = job["SecondaryStatusTransitions"]
    assert [t["Status"] for t in transitions] == TRANSITIONS
    assert all(t["StatusMessage"] and "StartTime" in t and "EndTime" in t for t in transitions)
    assert transitions[-1]["StatusMessage"] == "Training job completed"

    assert isinstance(job["TrainingTimeInSeconds"], int) and job["TrainingTimeInSeconds"] >= 1
    assert isinstance(job["BillableTimeInSeconds"], int) and job["BillableTimeInSeconds"] == job["TrainingTimeInSeconds"]

    # What the SDKs read back (KeyError in SDK 2.x's attach() without KmsKeyId)
    assert job["OutputDataConfig"]["KmsKeyId"] == ""
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/output"
    assert job["HyperParameters"] == {"k": "5", "feature_dim": "784"}
    assert job["AlgorithmSpecification"]["TrainingImage"] == KMEANS_IMAGE
    assert job["ResourceConfig"]["InstanceCount"] == 1 and job["ResourceConfig"]["InstanceType"] == "ml.c4.xlarge"
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 3600
    assert job["InputDataConfig"][0]["ChannelName"] == "train"
    for flag in ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining"):
        assert job[flag] is False

    # The artifact is really there, at the documented key, and is a model.tar.gz
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{BUCKET}/output/{name}/output/model.tar.gz"
    members = unpack_model(read_s3(aws, artifact))
    assert list(members) == ["model_algo-1"]
    (centroids,) = ndarray.load(members["model_algo-1"])
    assert centroids.shape == (5, 784)

    metrics = {m["MetricName"]: m for m in job["FinalMetricDataList"]}
    assert "train:msd" in metrics
    assert math.isfinite(metrics["train:msd"]["Value"]) and metrics["train:msd"]["Value"] > 0
    defined = {d["Name"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert set(metrics) <= defined


def test_status_transitions_follow_each_other_in_time(aws: Clients, jobs: dict[str, str]) -> None:
    job = aws.sagemaker.describe_training_job(TrainingJobName=jobs["ok"])
    transitions = job["SecondaryStatusTransitions"]
    for transition in transitions:
        assert transition["StartTime"] <= transition["EndTime"], f"{transition['Status']} ends before it starts"
    for earlier, later in zip(transitions, transitions[1:]):
        assert earlier["EndTime"] <= later["StartTime"], f"{later['Status']} starts before {earlier['Status']} ends"
    assert job["CreationTime"] <= job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert transitions[0]["StartTime"] >= job["CreationTime"]
    assert transitions[-1]["EndTime"] <= job["TrainingEndTime"]


def test_training_job_logs_are_in_cloudwatch(aws: Clients, jobs: dict[str, str]) -> None:
    name = jobs["ok"]
    job = aws.sagemaker.describe_training_job(TrainingJobName=name)

    # exactly what SDK 2.x asks for
    streams = aws.logs.describe_log_streams(
        logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/", orderBy="LogStreamName", limit=1
    )["logStreams"]
    assert len(streams) == 1
    match = re.fullmatch(rf"{re.escape(name)}/algo-1-(\d+)", streams[0]["logStreamName"])
    assert match, streams[0]["logStreamName"]
    assert abs(int(match[1]) - job["CreationTime"].timestamp()) < 1

    events = log_events(aws, streams[0]["logStreamName"])
    messages = [event["message"] for event in events]
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    assert any("Final configuration" in m for m in messages)
    # the metric SageMaker reports is the one parsed from the log with the job's own regex
    train_msd = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}["train:msd"]
    regex = {d["Name"]: d["Regex"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}["train:msd"]
    logged = [float(found[1]) for m in messages if (found := re.search(regex, m))]
    assert logged and logged[-1] == pytest.approx(train_msd, rel=1e-6)


def test_stop_training_job_on_finished_job_is_rejected(aws: Clients, jobs: dict[str, str]) -> None:
    error = error_of(aws.sagemaker.stop_training_job, TrainingJobName=jobs["ok"])
    assert error["Error"]["Code"] == "ValidationException"
    assert "Completed" in error["Error"]["Message"]
    job = aws.sagemaker.describe_training_job(TrainingJobName=jobs["ok"])
    assert job["TrainingJobStatus"] == "Completed"
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == TRANSITIONS


def test_training_job_tags_from_create(aws: Clients, jobs: dict[str, str]) -> None:
    arn = aws.sagemaker.describe_training_job(TrainingJobName=jobs["ok"])["TrainingJobArn"]
    tags = aws.sagemaker.list_tags(ResourceArn=arn)["Tags"]
    assert sorted(tags, key=lambda t: t["Key"]) == sorted(JOB_TAGS, key=lambda t: t["Key"])


def test_list_training_jobs_filters_by_status_and_pages(aws: Clients, jobs: dict[str, str]) -> None:
    prefix = jobs["prefix"]
    failed = aws.sagemaker.describe_training_job(TrainingJobName=jobs["bad"])
    assert failed["TrainingJobStatus"] == "Failed"

    def names(**kwargs: Any) -> list[str]:
        return [s["TrainingJobName"] for s in aws.sagemaker.list_training_jobs(NameContains=prefix, **kwargs)["TrainingJobSummaries"]]

    assert sorted(names()) == sorted([jobs["ok"], jobs["bad"]])
    assert names(StatusEquals="Completed") == [jobs["ok"]]
    assert names(StatusEquals="Failed") == [jobs["bad"]]
    assert names(StatusEquals="Stopped") == []
    assert names(SortBy="Name", SortOrder="Ascending") == sorted([jobs["ok"], jobs["bad"]])
    assert names(SortBy="CreationTime", SortOrder="Ascending") == [jobs["ok"], jobs["bad"]]
    assert names(SortBy="CreationTime", SortOrder="Descending") == [jobs["bad"], jobs["ok"]]

    summary = aws.sagemaker.list_training_jobs(NameContains=jobs["ok"])["TrainingJobSummaries"][0]
    assert summary["TrainingJobStatus"] == "Completed"
    assert summary["TrainingJobArn"].endswith(f"training-job/{jobs['ok']}")
    assert "TrainingEndTime" in summary and "CreationTime" in summary

    pages = walk_pages(
        aws.sagemaker.list_training_jobs, "TrainingJobSummaries", "TrainingJobName",
        NameContains=prefix, MaxResults=1, SortBy="Name", SortOrder="Ascending",
    )
    assert pages == [[name] for name in sorted([jobs["ok"], jobs["bad"]])]


# ----------------------------------------------------------------------------- hosting resources


def test_model_config_endpoint_create_describe_list_delete(aws: Clients, runtime: Any) -> None:
    name = unique("crud")
    uri = upload_centroids(aws, CENTROIDS_A)

    model_arn = aws.sagemaker.create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": uri}
    )["ModelArn"]
    assert model_arn == f"arn:aws:sagemaker:us-east-1:{settings.ACCOUNT_ID}:model/{name}"
    model = aws.sagemaker.describe_model(ModelName=name)
    assert model["ModelName"] == name and model["ModelArn"] == model_arn
    assert model["PrimaryContainer"]["Image"] == KMEANS_IMAGE
    assert model["PrimaryContainer"]["ModelDataUrl"] == uri
    assert model["ExecutionRoleArn"] == ROLE
    assert "VpcConfig" not in model  # absent structures are omitted, not {}
    assert [m["ModelName"] for m in aws.sagemaker.list_models(NameContains=name)["Models"]] == [name]

    config_arn = aws.sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=production_variants(name),
    )["EndpointConfigArn"]
    assert config_arn == f"arn:aws:sagemaker:us-east-1:{settings.ACCOUNT_ID}:endpoint-config/{name}"
    config = aws.sagemaker.describe_endpoint_config(EndpointConfigName=name)
    (variant,) = config["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic" and variant["ModelName"] == name
    assert variant["InitialInstanceCount"] == 1 and variant["InstanceType"] == "ml.m4.xlarge"
    assert variant["InitialVariantWeight"] == 1.0
    assert "DataCaptureConfig" not in config
    listed = aws.sagemaker.list_endpoint_configs(NameContains=name)["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in listed] == [name]

    endpoint_arn = aws.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)["EndpointArn"]
    assert endpoint_arn == f"arn:aws:sagemaker:us-east-1:{settings.ACCOUNT_ID}:endpoint/{name}"
    aws.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name)
    endpoint = aws.sagemaker.describe_endpoint(EndpointName=name)
    assert endpoint["EndpointStatus"] == "InService" and endpoint["EndpointConfigName"] == name
    (deployed,) = endpoint["ProductionVariants"]
    assert deployed["VariantName"] == "AllTraffic"
    assert deployed["CurrentInstanceCount"] == 1
    assert deployed["DeployedImages"][0]["SpecifiedImage"] == KMEANS_IMAGE
    listed = aws.sagemaker.list_endpoints(NameContains=name)["Endpoints"]
    assert [(e["EndpointName"], e["EndpointStatus"]) for e in listed] == [(name, "InService")]
    assert aws.sagemaker.list_endpoints(NameContains=name, StatusEquals="InService")["Endpoints"]
    assert aws.sagemaker.list_endpoints(NameContains=name, StatusEquals="Failed")["Endpoints"] == []

    (answer,) = predict(runtime, name, [[9.0, 1.0]])
    assert answer == {"closest_cluster": 1.0, "distance_to_cluster": pytest.approx(math.sqrt(2), rel=1e-6)}

    aws.sagemaker.delete_endpoint(EndpointName=name)
    aws.sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=name)
    error = error_of(aws.sagemaker.describe_endpoint, EndpointName=name)
    assert error["Error"]["Code"] == "ValidationException" and "Could not find endpoint" in error["Error"]["Message"]
    assert aws.sagemaker.list_endpoints(NameContains=name)["Endpoints"] == []
    error = error_of(runtime.invoke_endpoint, EndpointName=name, ContentType="text/csv", Body="1,1")
    assert error["Error"]["Code"] == "ValidationError"

    aws.sagemaker.delete_endpoint_config(EndpointConfigName=name)
    error = error_of(aws.sagemaker.describe_endpoint_config, EndpointConfigName=name)
    assert "Could not find endpoint configuration" in error["Error"]["Message"]
    assert aws.sagemaker.list_endpoint_configs(NameContains=name)["EndpointConfigs"] == []

    aws.sagemaker.delete_model(ModelName=name)
    error = error_of(aws.sagemaker.describe_model, ModelName=name)
    assert error["Error"]["Code"] == "ValidationException" and "Could not find model" in error["Error"]["Message"]
    assert aws.sagemaker.list_models(NameContains=name)["Models"] == []


def test_update_endpoint_switches_to_the_new_config_and_keeps_serving(aws: Clients, runtime: Any) -> None:
    first, second = unique("upd"), unique("upd")
    create_model_and_config(aws, first, upload_centroids(aws, CENTROIDS_A))
    create_model_and_config(aws, second, upload_centroids(aws, CENTROIDS_B))
    endpoint = first
    aws.sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=first)
    aws.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint)
    before = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
    assert predict(runtime, endpoint, [[1.0, 1.0]])[0]["closest_cluster"] == 0.0

    arn = aws.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=second)["EndpointArn"]
    assert arn == before["EndpointArn"]
    status = aws.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"]
    assert status in ("Updating", "InService")
    aws.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint)

    after = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] == second
    assert after["CreationTime"] == before["CreationTime"]
    assert after["LastModifiedTime"] > before["LastModifiedTime"]
    assert "FailureReason" not in after
    # the same point now lands in the new model's cluster 2, at the same distance
    (answer,) = predict(runtime, endpoint, [[1.0, 1.0]])
    assert answer == {"closest_cluster": 2.0, "distance_to_cluster": pytest.approx(math.sqrt(2), rel=1e-6)}
    # both configs still exist; the endpoint is listed once
    assert [e["EndpointName"] for e in aws.sagemaker.list_endpoints(NameContains=endpoint)["Endpoints"]] == [endpoint]
    aws.sagemaker.describe_endpoint_config(EndpointConfigName=first)
    aws.sagemaker.delete_endpoint(EndpointName=endpoint)


def test_tags_on_create_add_list_delete(aws: Clients) -> None:
    name = unique("tags")
    uri = upload_centroids(aws, CENTROIDS_A)
    arn = aws.sagemaker.create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": uri},
        Tags=[{"Key": "team", "Value": "ml"}, {"Key": "stage", "Value": "dev"}],
    )["ModelArn"]

    def tags() -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in aws.sagemaker.list_tags(ResourceArn=arn)["Tags"]}

    assert tags() == {"team": "ml", "stage": "dev"}
    aws.sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "prod"}, {"Key": "cost-center", "Value": "42"}])
    assert tags() == {"team": "ml", "stage": "prod", "cost-center": "42"}
    aws.sagemaker.delete_tags(ResourceArn=arn, TagKeys=["team", "cost-center"])
    assert tags() == {"stage": "prod"}

    # tags of endpoint configs and endpoints given at create
    aws.sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=production_variants(name),
        Tags=[{"Key": "kind", "Value": "config"}],
    )
    config_arn = aws.sagemaker.describe_endpoint_config(EndpointConfigName=name)["EndpointConfigArn"]
    assert aws.sagemaker.list_tags(ResourceArn=config_arn)["Tags"] == [{"Key": "kind", "Value": "config"}]
    endpoint_arn = aws.sagemaker.create_endpoint(
        EndpointName=name, EndpointConfigName=name, Tags=[{"Key": "kind", "Value": "endpoint"}]
    )["EndpointArn"]
    assert aws.sagemaker.list_tags(ResourceArn=endpoint_arn)["Tags"] == [{"Key": "kind", "Value": "endpoint"}]

    unknown = f"arn:aws:sagemaker:us-east-1:{settings.ACCOUNT_ID}:model/{unique('nosuch')}"
    error = error_of(aws.sagemaker.list_tags, ResourceArn=unknown)
    assert error["Error"]["Code"] == "ValidationException"
    error = error_of(aws.sagemaker.add_tags, ResourceArn=unknown, Tags=[{"Key": "a", "Value": "b"}])
    assert error["Error"]["Code"] == "ValidationException"

    aws.sagemaker.delete_endpoint(EndpointName=name)
    aws.sagemaker.delete_endpoint_config(EndpointConfigName=name)
    aws.sagemaker.delete_model(ModelName=name)


# ----------------------------------------------------------------------------- listing


@pytest.fixture
def five_models(aws: Clients) -> tuple[str, list[str]]:
    """Five models under one prefix, created in an order that is not their name order."""
    prefix = unique("lst")
    uri = upload_centroids(aws, CENTROIDS_A)
    names = [f"{prefix}-{letter}" for letter in "caebd"]
    for name in names:
        aws.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": uri})
    return prefix, names


def test_list_models_name_contains_and_sorting(aws: Clients, five_models: tuple[str, list[str]]) -> None:
    prefix, created = five_models

    def names(**kwargs: Any) -> list[str]:
        return [m["ModelName"] for m in aws.sagemaker.list_models(NameContains=prefix, MaxResults=100, **kwargs)["Models"]]

    assert sorted(names()) == sorted(created)
    assert names(SortBy="Name", SortOrder="Ascending") == sorted(created)
    assert names(SortBy="Name", SortOrder="Descending") == sorted(created, reverse=True)
    assert names(SortBy="CreationTime", SortOrder="Ascending") == created
    assert names(SortBy="CreationTime", SortOrder="Descending") == created[::-1]
    assert names() == created[::-1]  # ListModels' documented default: CreationTime, Descending
    # NameContains narrows to a part of the name
    assert [m["ModelName"] for m in aws.sagemaker.list_models(NameContains=f"{prefix}-e")["Models"]] == [f"{prefix}-e"]
    assert aws.sagemaker.list_models(NameContains=f"{prefix}-zz")["Models"] == []


def test_list_models_creation_time_window(aws: Clients, five_models: tuple[str, list[str]]) -> None:
    prefix, created = five_models
    times = [aws.sagemaker.describe_model(ModelName=name)["CreationTime"] for name in created]
    assert times == sorted(times) and len(set(times)) == len(times)
    after = times[1] + (times[2] - times[1]) / 2
    before = times[3] + (times[4] - times[3]) / 2

    def names(**kwargs: Any) -> list[str]:
        models = aws.sagemaker.list_models(NameContains=prefix, SortBy="CreationTime", SortOrder="Ascending", **kwargs)["Models"]
        return [m["ModelName"] for m in models]

    assert names(CreationTimeAfter=after) == created[2:]
    assert names(CreationTimeBefore=before) == created[:4]
    assert names(CreationTimeAfter=after, CreationTimeBefore=before) == created[2:4]
    assert names(CreationTimeAfter=times[-1] + (times[-1] - times[0])) == []


def test_list_models_pages_through_everything_once(aws: Clients, five_models: tuple[str, list[str]]) -> None:
    prefix, created = five_models
    for order in ("Ascending", "Descending"):
        pages = walk_pages(
            aws.sagemaker.list_models, "Models", "ModelName",
            NameContains=prefix, MaxResults=2, SortBy="Name", SortOrder=order,
        )
        assert [len(page) for page in pages] == [2, 2, 1]
        flat = [name for page in pages for name in page]
        assert flat == sorted(created, reverse=order == "Descending")  # no duplicates, nothing left out
    pages = walk_pages(aws.sagemaker.list_models, "Models", "ModelName", NameContains=prefix, MaxResults=5)
    assert len(pages) == 1 and sorted(pages[0]) == sorted(created)


def test_list_endpoint_configs_pages_and_sorts(aws: Clients, five_models: tuple[str, list[str]]) -> None:
    prefix, models = five_models
    for model in models:
        aws.sagemaker.create_endpoint_config(
            EndpointConfigName=model,
            ProductionVariants=production_variants(model),
        )
    pages = walk_pages(
        aws.sagemaker.list_endpoint_configs, "EndpointConfigs", "EndpointConfigName",
        NameContains=prefix, MaxResults=3, SortBy="CreationTime", SortOrder="Ascending",
    )
    assert pages == [models[:3], models[3:]]
    listed = aws.sagemaker.list_endpoint_configs(NameContains=prefix, SortBy="Name", SortOrder="Descending")["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in listed] == sorted(models, reverse=True)


# ----------------------------------------------------------------------------- every operation


def test_every_operation_answers_in_botocore_shape(aws: Clients, runtime: Any, mnist: tuple) -> None:
    """Calls each operation the engine serves; the ``aws`` fixture validates every answer.

    The last assertion fails when the engine gains an operation this test does not call yet.
    """
    called: set[str] = set()

    def record(model: Any, **_: Any) -> None:
        called.add(model.name)

    # registered before the first client exists, so every client carries it
    aws.session.events.register("after-call.sagemaker", record)
    runtime.meta.events.register("after-call.sagemaker-runtime", record)
    sm = aws.sagemaker

    name = unique("every")
    x = mnist[0][0][:60, 400:408]  # pixels near the centre: the corners are all zero
    uri = upload_recordio(aws, x, f"data/{name}")
    job = complete_training(aws, training_request(name, uri, {"k": "3", "feature_dim": "8"}, Tags=[{"Key": "a", "Value": "1"}]))
    assert job["TrainingJobStatus"] == "Completed"
    assert [s["TrainingJobName"] for s in sm.list_training_jobs(NameContains=name)["TrainingJobSummaries"]] == [name]
    assert error_of(sm.stop_training_job, TrainingJobName=name)["Error"]["Code"] == "ValidationException"

    model_uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": model_uri})
    sm.describe_model(ModelName=name)
    sm.list_models(NameContains=name)

    # hyperparameter tuning: two real children, objective read from their test channel
    tuning = f"{name}-hpo"
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning,
        HyperParameterTuningJobConfig=tuning_config(
            "Random", "test:msd", {"IntegerParameterRanges": [{"Name": "k", "MinValue": "2", "MaxValue": "4"}]}, jobs=2, parallel=1
        ),
        TrainingJobDefinition=tuning_definition(KMEANS_IMAGE, [channel("train", uri), channel("test", uri)], {"feature_dim": "8"}),
    )
    tuned = wait_until(lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning), "HyperParameterTuningJobStatus")
    assert tuned["HyperParameterTuningJobStatus"] == "Completed", tuned.get("FailureReason")
    assert tuned["BestTrainingJob"]["TrainingJobName"].startswith(f"{tuning}-")
    listed = sm.list_hyper_parameter_tuning_jobs(NameContains=tuning)["HyperParameterTuningJobSummaries"]
    assert [t["HyperParameterTuningJobName"] for t in listed] == [tuning]
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning)["TrainingJobSummaries"]
    assert len(children) == 2
    error = error_of(sm.stop_hyper_parameter_tuning_job, HyperParameterTuningJobName=tuning)
    assert error["Error"]["Code"] == "ValidationException"

    # batch transform with the trained model
    transform = f"{name}-bt"
    aws.s3.put_object(Bucket=BUCKET, Key=f"batch/{name}/in.csv", Body="\n".join(",".join(f"{v:.4f}" for v in row) for row in x[:5]))
    sm.create_transform_job(
        TransformJobName=transform,
        ModelName=name,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/{name}/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/batch-out/{name}", "Accept": "application/jsonlines", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
    )
    transformed = wait_until(lambda: sm.describe_transform_job(TransformJobName=transform), "TransformJobStatus")
    assert transformed["TransformJobStatus"] == "Completed", transformed.get("FailureReason")
    output = aws.s3.get_object(Bucket=BUCKET, Key=f"batch-out/{name}/in.csv.out")["Body"].read()
    assert len(output.decode().strip().splitlines()) == 5
    assert [t["TransformJobName"] for t in sm.list_transform_jobs(NameContains=transform)["TransformJobSummaries"]] == [transform]
    assert error_of(sm.stop_transform_job, TransformJobName=transform)["Error"]["Code"] == "ValidationException"
    second = f"{name}-2"
    for config in (name, second):
        sm.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=production_variants(name),
        )
    sm.describe_endpoint_config(EndpointConfigName=name)
    sm.list_endpoint_configs(NameContains=name)
    arn = sm.create_endpoint(EndpointName=name, EndpointConfigName=name)["EndpointArn"]
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name)
    sm.describe_endpoint(EndpointName=name)
    sm.list_endpoints(NameContains=name)
    answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=",".join(["0.5"] * 8))
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    assert len(json.loads(answer["Body"].read())["predictions"]) == 1
    sm.update_endpoint(EndpointName=name, EndpointConfigName=second)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name)
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    sm.delete_tags(ResourceArn=arn, TagKeys=["b"])
    sm.delete_endpoint(EndpointName=name)
    sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_endpoint_config(EndpointConfigName=second)
    sm.delete_model(ModelName=name)

    runtime.meta.events.unregister("after-call.sagemaker-runtime", record)
    # the model registry, Search and Model Monitor have their own every-operation tests
    here = {op for op in HANDLERS if not ("ModelPackage" in op or "Monitoring" in op or "JobDefinition" in op or op == "Search")}
    assert here | {"InvokeEndpoint"} <= called, sorted((here | {"InvokeEndpoint"}) - called)
