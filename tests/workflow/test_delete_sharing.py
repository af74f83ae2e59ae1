"""Deleting an endpoint never breaks another one: shared configs, models and artifacts stay, and the report says why.

On the engine, as a user builds such sharing with boto3: two endpoints on one
endpoint config; two endpoint configs naming one model; two models loading one
model.tar.gz. Each delete goes through the one cascade every surface uses
(panel, ``%sm_delete``, ``sm-magics endpoints delete``), after a plan that the
panel's confirmation shows.
"""

from __future__ import annotations

import pytest

from helpers import KMEANS_IMAGE, ROLE, assert_object_absent, embedded_config, error_of, production_variants, train_kmeans, unique
from sm_magics.workflow.endpoints import delete_endpoint_cascade, plan_deletion
from sm_magics.workflow.session import Backend


@pytest.fixture
def backend(engine):
    return Backend("local", "us-east-1", "test", endpoint_url=engine.url, engine=engine)


@pytest.fixture
def artifact(engine_clients, mnist):
    """A model.tar.gz of its own for each test (a test may delete it)."""
    (x, _), _, _ = mnist
    return train_kmeans(engine_clients, x[:200], k=2)["ModelArtifacts"]["S3ModelArtifacts"]


def model(aws, artifact: str) -> str:
    name = unique("shared-model")
    aws.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": artifact})
    return name


def config(aws, model_name: str) -> str:
    name = unique("shared-config")
    aws.sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=production_variants(model_name))
    return name


def endpoint(aws, config_name: str) -> str:
    name = unique("shared-ep")
    aws.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config_name)
    aws.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1})
    return name


def answers(aws, name: str) -> bool:
    return aws.runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=",".join(["0.5"] * 784))["Body"].read() != b""


def exists(call, **kwargs) -> bool:
    try:
        call(**kwargs)
    except Exception:
        return False
    return True


def test_two_endpoints_on_one_config_keep_it_until_the_last_goes(backend, engine_clients, artifact):
    aws = engine_clients
    shared_config = config(aws, model(aws, artifact))
    first, second = endpoint(aws, shared_config), endpoint(aws, shared_config)

    plan = plan_deletion(backend, first, delete_artifacts=True)
    assert plan.config is None and plan.models == [] and plan.artifacts == []
    assert plan.kept == [f"endpoint config {shared_config} (endpoint {second} uses it)"]
    report = delete_endpoint_cascade(backend, first, delete_artifacts=True)
    assert report.ok and report.deleted == [f"endpoint {first}"] and report.kept == plan.kept
    assert answers(aws, second)  # what it runs on is intact

    last = delete_endpoint_cascade(backend, second, delete_artifacts=True)
    assert last.ok and last.kept == [] and last.deleted[:2] == [f"endpoint {second}", f"endpoint config {shared_config}"]
    assert last.deleted[-1] == artifact
    assert not exists(aws.sagemaker.describe_endpoint_config, EndpointConfigName=shared_config)
    assert_object_absent(aws, artifact)


def test_a_model_named_by_another_config_and_an_artifact_loaded_by_another_model_stay(backend, engine_clients, mnist):
    aws = engine_clients
    (x, _), _, _ = mnist
    artifact = train_kmeans(aws, x[:200], k=2)["ModelArtifacts"]["S3ModelArtifacts"]
    shared_model = model(aws, artifact)
    twin_model = model(aws, artifact)  # another model on the same model.tar.gz
    doomed = endpoint(aws, config(aws, shared_model))
    kept_config = config(aws, shared_model)  # not serving anything, but names the model
    twin = endpoint(aws, config(aws, twin_model))

    report = delete_endpoint_cascade(backend, doomed, delete_artifacts=True)
    assert report.ok and report.deleted[0] == f"endpoint {doomed}" and report.deleted[1].startswith("endpoint config ")
    assert report.kept == [f"model {shared_model} (endpoint config {kept_config} uses it)"]
    assert exists(aws.sagemaker.describe_model, ModelName=shared_model)

    aws.sagemaker.delete_endpoint_config(EndpointConfigName=kept_config)
    second = endpoint(aws, config(aws, shared_model))
    plan = plan_deletion(backend, second, delete_artifacts=True)
    assert plan.models == [shared_model] and plan.artifacts == []
    assert plan.kept == [f"{artifact} (model {twin_model} loads it)"]
    report = delete_endpoint_cascade(backend, second, delete_artifacts=True)
    assert f"model {shared_model}" in report.deleted and artifact not in report.deleted
    assert answers(aws, twin)
    assert aws.s3.head_object(Bucket=artifact[5:].split("/", 1)[0], Key=artifact[5:].split("/", 1)[1])["ContentLength"] > 0
    delete_endpoint_cascade(backend, twin, delete_artifacts=True)
    assert "Could not find endpoint" in error_of(aws.sagemaker.describe_endpoint, EndpointName=twin)["Error"]["Message"]
    assert_object_absent(aws, artifact)


def test_a_watched_endpoint_goes_with_its_monitoring_schedules(backend, engine_clients, artifact):
    """SageMaker refuses to delete an endpoint a Model Monitor schedule watches: the cascade removes the schedules first."""
    aws = engine_clients
    name = endpoint(aws, config(aws, model(aws, artifact)))
    watcher = unique("watcher")
    aws.sagemaker.create_monitoring_schedule(MonitoringScheduleName=watcher, MonitoringScheduleConfig=embedded_config(name))
    plan = plan_deletion(backend, name)
    assert plan.schedules == [watcher]
    report = delete_endpoint_cascade(backend, name)
    assert report.ok and report.deleted[:2] == [f"monitoring schedule {watcher}", f"endpoint {name}"], report
    assert error_of(aws.sagemaker.describe_monitoring_schedule, MonitoringScheduleName=watcher)["Error"]["Code"] == "ResourceNotFound"
    assert "Could not find endpoint" in error_of(aws.sagemaker.describe_endpoint, EndpointName=name)["Error"]["Message"]
