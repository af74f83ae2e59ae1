"""Model Monitor's control plane as a boto3 user sees it.

Schedules move Pending -> Scheduled -> Stopped -> Scheduled; the endpoint they
watch cannot be deleted under them; ListMonitoringSchedules filters by
endpoint and pages; job definitions are locked while a schedule uses them;
and no monitoring execution is ever reported, because the engine runs none.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
import pytest

from helpers import BUCKET, MONITOR_IMAGE, ROLE, Clients, deploy, embedded_config, error_of, unique, upload_model_tar
from sm_magics.formats import ndarray
from sm_magics.local.sagemaker.responses import HANDLERS

MONITORING_OPERATIONS = {op for op in HANDLERS if "Monitoring" in op or "JobDefinition" in op}


@pytest.fixture(scope="module")
def model_uri(engine_clients: Clients) -> str:
    centroids = np.array([[0.0, 0.0], [10.0, 0.0]], dtype=np.float32)
    return upload_model_tar(engine_clients, ndarray.save([centroids]), "monitoring")


def data_quality_definition(name: str, endpoint: str) -> dict[str, Any]:
    return {
        "JobDefinitionName": name,
        "DataQualityAppSpecification": {"ImageUri": MONITOR_IMAGE},
        "DataQualityJobInput": {"EndpointInput": {"EndpointName": endpoint, "LocalPath": "/opt/ml/processing/input"}},
        "DataQualityJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {
            "S3Uri": f"s3://{BUCKET}/dq/{name}", "LocalPath": "/opt/ml/processing/output"}}]},
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
        "RoleArn": ROLE,
    }


def teardown(sm: Any, endpoint: str) -> None:
    sm.delete_endpoint(EndpointName=endpoint)
    sm.delete_endpoint_config(EndpointConfigName=endpoint)
    sm.delete_model(ModelName=endpoint)


def test_schedule_lifecycle_and_the_endpoint_it_guards(aws: Clients, model_uri: str) -> None:
    sm = aws.sagemaker
    endpoint = deploy(aws, model_uri)
    name = unique("mon")
    arn = sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig=embedded_config(endpoint),
                                        Tags=[{"Key": "team", "Value": "ml"}])["MonitoringScheduleArn"]
    doc = sm.describe_monitoring_schedule(MonitoringScheduleName=name)
    assert doc["MonitoringScheduleArn"] == arn
    assert doc["MonitoringScheduleStatus"] == "Scheduled"
    assert (doc["EndpointName"], doc["MonitoringType"]) == (endpoint, "DataQuality")
    assert doc["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"] == "cron(0 * ? * * *)"
    assert "LastMonitoringExecutionSummary" not in doc  # nothing ran, so nothing is reported
    assert sm.list_monitoring_executions(MonitoringScheduleName=name)["MonitoringExecutionSummaries"] == []
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]

    sm.stop_monitoring_schedule(MonitoringScheduleName=name)
    assert sm.describe_monitoring_schedule(MonitoringScheduleName=name)["MonitoringScheduleStatus"] == "Stopped"
    assert [s["MonitoringScheduleName"] for s in sm.list_monitoring_schedules(StatusEquals="Stopped", EndpointName=endpoint)[
        "MonitoringScheduleSummaries"]] == [name]
    sm.start_monitoring_schedule(MonitoringScheduleName=name)
    assert sm.describe_monitoring_schedule(MonitoringScheduleName=name)["MonitoringScheduleStatus"] == "Scheduled"

    sm.update_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig=embedded_config(endpoint, "cron(0 0 ? * * *)"))
    updated = sm.describe_monitoring_schedule(MonitoringScheduleName=name)
    assert updated["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"] == "cron(0 0 ? * * *)"
    assert updated["MonitoringScheduleStatus"] == "Scheduled"
    assert updated["LastModifiedTime"] > doc["LastModifiedTime"]

    # SageMaker will not delete an endpoint a schedule still monitors: nothing is removed
    error = error_of(sm.delete_endpoint, EndpointName=endpoint)
    assert error["Error"]["Code"] == "ValidationException"
    assert name in error["Error"]["Message"]
    assert sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"

    sm.delete_monitoring_schedule(MonitoringScheduleName=name)
    error = error_of(sm.describe_monitoring_schedule, MonitoringScheduleName=name)
    assert error["Error"]["Code"] == "ResourceNotFound"  # what SDK 2.x's delete_monitoring_schedule waits for
    assert error_of(sm.list_tags, ResourceArn=arn)["Error"]["Code"] == "ValidationException"
    teardown(sm, endpoint)
    assert error_of(sm.describe_endpoint, EndpointName=endpoint)["Error"]["Code"] == "ValidationException"


def test_bad_schedule_requests_are_refused_and_create_nothing(aws: Clients, model_uri: str) -> None:
    sm = aws.sagemaker
    endpoint = deploy(aws, model_uri)
    missing = unique("no-such-endpoint")
    name = unique("mon-bad")
    error = error_of(sm.create_monitoring_schedule, MonitoringScheduleName=name, MonitoringScheduleConfig=embedded_config(missing))
    assert error["Error"]["Code"] == "ValidationException" and missing in error["Error"]["Message"]
    error = error_of(sm.create_monitoring_schedule, MonitoringScheduleName=name,
                     MonitoringScheduleConfig=embedded_config(endpoint, "every hour"))
    assert "cron(" in error["Error"]["Message"]
    error = error_of(sm.create_monitoring_schedule, MonitoringScheduleName=name,
                     MonitoringScheduleConfig={"MonitoringJobDefinitionName": unique("nodef"), "MonitoringType": "DataQuality"})
    assert error["Error"]["Code"] == "ResourceNotFound"
    error = error_of(sm.create_monitoring_schedule, MonitoringScheduleName="bad_name!", MonitoringScheduleConfig=embedded_config(endpoint))
    assert "regular expression pattern" in error["Error"]["Message"]
    assert error_of(sm.describe_monitoring_schedule, MonitoringScheduleName=name)["Error"]["Code"] == "ResourceNotFound"

    sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig=embedded_config(endpoint))
    error = error_of(sm.create_monitoring_schedule, MonitoringScheduleName=name, MonitoringScheduleConfig=embedded_config(endpoint))
    assert error["Error"]["Code"] == "ResourceInUse"
    for call in (sm.start_monitoring_schedule, sm.stop_monitoring_schedule, sm.delete_monitoring_schedule):
        assert error_of(call, MonitoringScheduleName=unique("ghost"))["Error"]["Code"] == "ResourceNotFound"
    sm.delete_monitoring_schedule(MonitoringScheduleName=name)
    teardown(sm, endpoint)


def test_list_schedules_filters_by_endpoint_and_pages(aws: Clients, model_uri: str) -> None:
    sm = aws.sagemaker
    watched, other = deploy(aws, model_uri), deploy(aws, model_uri)
    prefix = unique("mon-list")
    mine = [f"{prefix}-{i}" for i in range(5)]
    for name in mine:
        sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig=embedded_config(watched))
    elsewhere = f"{prefix}-other"
    sm.create_monitoring_schedule(MonitoringScheduleName=elsewhere, MonitoringScheduleConfig=embedded_config(other))

    pages, token = [], None
    while True:
        page = sm.list_monitoring_schedules(EndpointName=watched, MaxResults=2, SortBy="Name", SortOrder="Ascending",
                                            **({"NextToken": token} if token else {}))
        pages.append([s["MonitoringScheduleName"] for s in page["MonitoringScheduleSummaries"]])
        token = page.get("NextToken")
        if not token:
            break
    assert pages == [mine[0:2], mine[2:4], mine[4:5]]
    listed = sm.list_monitoring_schedules(NameContains=prefix, MaxResults=100)["MonitoringScheduleSummaries"]
    assert {s["MonitoringScheduleName"] for s in listed} == set(mine) | {elsewhere}
    assert {s["EndpointName"] for s in listed} == {watched, other}
    assert sm.list_monitoring_schedules(EndpointName=watched, MonitoringTypeEquals="ModelBias")["MonitoringScheduleSummaries"] == []

    for name in mine + [elsewhere]:
        sm.delete_monitoring_schedule(MonitoringScheduleName=name)
    assert sm.list_monitoring_schedules(EndpointName=watched)["MonitoringScheduleSummaries"] == []
    teardown(sm, watched)
    teardown(sm, other)


def test_job_definitions_are_locked_while_a_schedule_uses_them(aws: Clients, model_uri: str) -> None:
    sm = aws.sagemaker
    endpoint = deploy(aws, model_uri)
    definition = unique("dq")
    definition_arn = sm.create_data_quality_job_definition(**data_quality_definition(definition, endpoint))["JobDefinitionArn"]
    described = sm.describe_data_quality_job_definition(JobDefinitionName=definition)
    assert described["JobDefinitionArn"] == definition_arn
    assert described["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == endpoint
    summaries = sm.list_data_quality_job_definitions(EndpointName=endpoint)["JobDefinitionSummaries"]
    assert [(s["MonitoringJobDefinitionName"], s["EndpointName"]) for s in summaries] == [(definition, endpoint)]
    # each monitoring type has its own definitions
    assert error_of(sm.describe_model_quality_job_definition, JobDefinitionName=definition)["Error"]["Code"] == "ResourceNotFound"
    error = error_of(sm.create_data_quality_job_definition, **data_quality_definition(definition, endpoint))
    assert error["Error"]["Code"] == "ResourceInUse"

    schedule = unique("mon-dq")
    sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinitionName": definition, "MonitoringType": "DataQuality"})
    doc = sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)
    assert (doc["EndpointName"], doc["MonitoringType"]) == (endpoint, "DataQuality")
    listed = sm.list_monitoring_schedules(MonitoringJobDefinitionName=definition)["MonitoringScheduleSummaries"]
    assert [(s["MonitoringScheduleName"], s["MonitoringJobDefinitionName"]) for s in listed] == [(schedule, definition)]

    error = error_of(sm.delete_data_quality_job_definition, JobDefinitionName=definition)
    assert error["Error"]["Code"] == "ResourceInUse" and schedule in error["Error"]["Message"]
    sm.delete_monitoring_schedule(MonitoringScheduleName=schedule)
    sm.delete_data_quality_job_definition(JobDefinitionName=definition)
    assert error_of(sm.describe_data_quality_job_definition, JobDefinitionName=definition)["Error"]["Code"] == "ResourceNotFound"
    teardown(sm, endpoint)


@pytest.mark.parametrize("kind", ["ModelQuality", "ModelBias", "ModelExplainability"])
def test_every_job_definition_kind_round_trips(aws: Clients, model_uri: str, kind: str) -> None:
    """Create/Describe/List/Delete for the other three kinds, in botocore's shapes."""
    sm = aws.sagemaker
    endpoint = deploy(aws, model_uri)
    snake = {"ModelQuality": "model_quality", "ModelBias": "model_bias", "ModelExplainability": "model_explainability"}[kind]
    name = unique(snake.replace("_", "-"))
    job_input: dict[str, Any] = {"EndpointInput": {"EndpointName": endpoint, "LocalPath": "/opt/ml/processing/input"}}
    if kind != "ModelExplainability":
        job_input["GroundTruthS3Input"] = {"S3Uri": f"s3://{BUCKET}/ground-truth"}
    if kind == "ModelQuality":
        job_input["EndpointInput"]["InferenceAttribute"] = "0"
    request = {
        "JobDefinitionName": name,
        f"{kind}AppSpecification": {"ImageUri": MONITOR_IMAGE, **(
            {"ProblemType": "BinaryClassification"} if kind == "ModelQuality" else {"ConfigUri": f"s3://{BUCKET}/analysis.json"})},
        f"{kind}JobInput": job_input,
        f"{kind}JobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{BUCKET}/{name}", "LocalPath": "/opt/ml/processing/output"}}]},
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
        "RoleArn": ROLE,
    }
    arn = getattr(sm, f"create_{snake}_job_definition")(**request)["JobDefinitionArn"]
    assert getattr(sm, f"describe_{snake}_job_definition")(JobDefinitionName=name)["JobDefinitionArn"] == arn
    listed = getattr(sm, f"list_{snake}_job_definitions")(NameContains=name)["JobDefinitionSummaries"]
    assert [s["MonitoringJobDefinitionArn"] for s in listed] == [arn]
    getattr(sm, f"delete_{snake}_job_definition")(JobDefinitionName=name)
    assert getattr(sm, f"list_{snake}_job_definitions")(NameContains=name)["JobDefinitionSummaries"] == []
    teardown(sm, endpoint)


def test_every_monitoring_operation_answers_in_botocore_shape(aws: Clients, model_uri: str) -> None:
    """Calls each monitoring operation the engine serves once; the ``aws`` fixture validates every answer."""
    called: set[str] = set()
    aws.session.events.register("after-call.sagemaker", lambda model, **_: called.add(model.name))
    sm = aws.sagemaker
    endpoint = deploy(aws, model_uri)
    schedule = unique("mon-every")
    sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig=embedded_config(endpoint))
    sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)
    sm.list_monitoring_schedules(EndpointName=endpoint)
    sm.stop_monitoring_schedule(MonitoringScheduleName=schedule)
    sm.start_monitoring_schedule(MonitoringScheduleName=schedule)
    sm.update_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig=embedded_config(endpoint))
    sm.list_monitoring_executions(MonitoringScheduleName=schedule)
    sm.delete_monitoring_schedule(MonitoringScheduleName=schedule)
    for kind, snake in (("DataQuality", "data_quality"), ("ModelQuality", "model_quality"), ("ModelBias", "model_bias"),
                        ("ModelExplainability", "model_explainability")):
        name = unique(snake.replace("_", "-"))
        request = data_quality_definition(name, endpoint)
        request = {key.replace("DataQuality", kind): value for key, value in request.items()}
        if kind == "ModelQuality":
            request["ModelQualityAppSpecification"]["ProblemType"] = "Regression"
            request["ModelQualityJobInput"]["GroundTruthS3Input"] = {"S3Uri": f"s3://{BUCKET}/gt"}
            request["ModelQualityJobInput"]["EndpointInput"]["InferenceAttribute"] = "0"
        elif kind != "DataQuality":
            request[f"{kind}AppSpecification"]["ConfigUri"] = f"s3://{BUCKET}/analysis.json"
            if kind == "ModelBias":
                request["ModelBiasJobInput"]["GroundTruthS3Input"] = {"S3Uri": f"s3://{BUCKET}/gt"}
        getattr(sm, f"create_{snake}_job_definition")(**request)
        getattr(sm, f"describe_{snake}_job_definition")(JobDefinitionName=name)
        getattr(sm, f"list_{snake}_job_definitions")(EndpointName=endpoint)
        getattr(sm, f"delete_{snake}_job_definition")(JobDefinitionName=name)
    teardown(sm, endpoint)
    assert MONITORING_OPERATIONS <= called, sorted(MONITORING_OPERATIONS - called)


def test_an_expired_endpoint_goes_with_its_schedules(aws: Clients, model_uri: str) -> None:
    """The engine's TTL guard deletes what the owner asked it to, schedules first, as a user's clean-up would."""
    sm = aws.sagemaker
    endpoint = deploy(aws, model_uri)
    schedule = unique("mon-ttl")
    sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig=embedded_config(endpoint))
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)).isoformat(timespec="seconds")
    sm.add_tags(ResourceArn=sm.describe_endpoint(EndpointName=endpoint)["EndpointArn"],
                Tags=[{"Key": "sm_magics:expires-at", "Value": past}])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and sm.list_endpoints(NameContains=endpoint)["Endpoints"]:
        time.sleep(0.25)
    assert error_of(sm.describe_endpoint, EndpointName=endpoint)["Error"]["Code"] == "ValidationException"
    assert error_of(sm.describe_monitoring_schedule, MonitoringScheduleName=schedule)["Error"]["Code"] == "ResourceNotFound"
