"""The model registry and monitoring schedules are still there after ``local stop`` / ``local start``.

One engine of its own on a tmp data dir: register two versions into a group
(delete one), approve the other, put a schedule (stopped) and a job
definition on an endpoint, tag them; restart on the same data dir. The
documents come back as they were, the version counter goes on where it
stopped (a deleted number is not reused after a restart either), the stopped
schedule is still Stopped and still guards its endpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import boto3
import numpy as np
import pytest
from helpers import (
    BUCKET, KMEANS_IMAGE, ROLE, Clients, ResponseChecker, error_of, free_port, production_variants, unique,
    upload_model_tar,
)

from sm_magics.formats import ndarray
from sm_magics import launcher


class Engine:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port, self.checker = data_dir, free_port(), ResponseChecker()

    def start(self) -> Clients:
        info = launcher.start(port=self.port, data_dir=self.data_dir)
        session = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1")
        session.events.register("after-call.sagemaker", self.checker)
        return Clients(session, info.url)


@pytest.fixture
def engine_here(tmp_path: Path) -> Iterator[Engine]:
    own = Engine(tmp_path / "engine")
    yield own
    launcher.stop(own.data_dir)
    assert not own.checker.problems, "responses that do not match botocore's model:\n" + "\n".join(own.checker.problems)


def _doc(document: dict[str, Any]) -> dict[str, Any]:
    document.pop("ResponseMetadata", None)
    return document


def test_registry_and_schedules_survive_a_restart(engine_here: Engine) -> None:
    aws = engine_here.start()
    sm = aws.sagemaker
    model_uri = upload_model_tar(aws, ndarray.save([np.array([[0.0, 0.0], [5.0, 5.0]], dtype=np.float32)]), "restart")
    spec = {"Containers": [{"Image": KMEANS_IMAGE, "ModelDataUrl": model_uri}], "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"]}
    group = unique("restart-group")
    sm.create_model_package_group(ModelPackageGroupName=group, Tags=[{"Key": "team", "Value": "ml"}])
    first = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec)["ModelPackageArn"]
    second = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec)["ModelPackageArn"]
    sm.delete_model_package(ModelPackageName=second)
    sm.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Approved", ApprovalDescription="ok")

    endpoint = unique("restart-ep")
    sm.create_model(ModelName=endpoint, ExecutionRoleArn=ROLE, Containers=[{"ModelPackageName": first}])
    sm.create_endpoint_config(EndpointConfigName=endpoint, ProductionVariants=production_variants(endpoint))
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint)
    definition = unique("restart-dq")
    sm.create_data_quality_job_definition(
        JobDefinitionName=definition,
        DataQualityAppSpecification={"ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"},
        DataQualityJobInput={"EndpointInput": {"EndpointName": endpoint, "LocalPath": "/opt/ml/processing/input"}},
        DataQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{BUCKET}/dq", "LocalPath": "/opt/ml/processing/output"}}]},
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
        RoleArn=ROLE,
    )
    schedule = unique("restart-mon")
    schedule_arn = sm.create_monitoring_schedule(
        MonitoringScheduleName=schedule,
        MonitoringScheduleConfig={"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                                  "MonitoringJobDefinitionName": definition, "MonitoringType": "DataQuality"},
        Tags=[{"Key": "kind", "Value": "dq"}],
    )["MonitoringScheduleArn"]
    sm.stop_monitoring_schedule(MonitoringScheduleName=schedule)

    before = {
        "group": _doc(sm.describe_model_package_group(ModelPackageGroupName=group)),
        "package": _doc(sm.describe_model_package(ModelPackageName=first)),
        "schedule": _doc(sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)),
        "definition": _doc(sm.describe_data_quality_job_definition(JobDefinitionName=definition)),
        "model": _doc(sm.describe_model(ModelName=endpoint)),
    }
    launcher.stop(engine_here.data_dir)

    aws = engine_here.start()
    sm = aws.sagemaker
    after = {
        "group": _doc(sm.describe_model_package_group(ModelPackageGroupName=group)),
        "package": _doc(sm.describe_model_package(ModelPackageName=first)),
        "schedule": _doc(sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)),
        "definition": _doc(sm.describe_data_quality_job_definition(JobDefinitionName=definition)),
        "model": _doc(sm.describe_model(ModelName=endpoint)),
    }
    assert after == before
    assert after["schedule"]["MonitoringScheduleStatus"] == "Stopped"
    assert sm.list_tags(ResourceArn=schedule_arn)["Tags"] == [{"Key": "kind", "Value": "dq"}]
    group_arn = after["group"]["ModelPackageGroupArn"]
    assert sm.list_tags(ResourceArn=group_arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert error_of(sm.describe_model_package, ModelPackageName=second)["Error"]["Code"] == "ValidationException"
    third = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec)["ModelPackageArn"]
    assert third.endswith("/3")  # version 2 was issued (then deleted) before the restart
    # the schedule still guards the endpoint, which is serving again
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert error_of(sm.delete_endpoint, EndpointName=endpoint)["Error"]["Code"] == "ValidationException"
    assert [s["MonitoringScheduleName"] for s in sm.list_monitoring_schedules(EndpointName=endpoint)["MonitoringScheduleSummaries"]] == [schedule]
