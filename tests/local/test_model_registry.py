"""The model registry as a boto3 user sees it: groups, numbered versions, approval, deploying a version.

Flows follow the SageMaker API reference (CreateModelPackageGroup,
CreateModelPackage with an InferenceSpecification, UpdateModelPackage to
approve, CreateModel with ``Containers=[{"ModelPackageName": arn}]``); every
answer is checked against botocore's output shapes by the ``aws`` fixture.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from helpers import KMEANS_IMAGE, ROLE, Clients, error_of, production_variants, unique, upload_model_tar
from sm_magics.formats import ndarray
from sm_magics.local import settings
from sm_magics.local.sagemaker.responses import HANDLERS

REGISTRY_OPERATIONS = {op for op in HANDLERS if "ModelPackage" in op} | {"Search"}
CENTROIDS = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], dtype=np.float32)


def inference_spec(model_uri: str) -> dict[str, Any]:
    return {
        "Containers": [{"Image": KMEANS_IMAGE, "ModelDataUrl": model_uri}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["application/json"],
        "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"],
        "SupportedTransformInstanceTypes": ["ml.m5.large"],
    }


@pytest.fixture(scope="module")
def model_uri(engine_clients: Clients) -> str:
    return upload_model_tar(engine_clients, ndarray.save([CENTROIDS]), "registry")


def arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{settings.DEFAULT_REGION}:{settings.ACCOUNT_ID}:{kind}/{name.lower()}"


def test_versions_are_numbered_per_group_and_never_reused(aws: Clients, model_uri: str) -> None:
    sm = aws.sagemaker
    group, other = unique("Reg-Group"), unique("reg-other")
    group_arn = sm.create_model_package_group(ModelPackageGroupName=group, ModelPackageGroupDescription="k-means models")[
        "ModelPackageGroupArn"
    ]
    assert group_arn == arn("model-package-group", group)
    sm.create_model_package_group(ModelPackageGroupName=other)
    described = sm.describe_model_package_group(ModelPackageGroupName=group)
    assert described["ModelPackageGroupStatus"] == "Completed"
    assert described["ModelPackageGroupDescription"] == "k-means models"
    assert described["CreatedBy"]["IamIdentity"]["Arn"].startswith(f"arn:aws:sts::{settings.ACCOUNT_ID}:assumed-role/")

    first = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference_spec(model_uri))
    second = sm.create_model_package(ModelPackageGroupName=group_arn, InferenceSpecification=inference_spec(model_uri),
                                     ModelApprovalStatus="Approved")
    in_other = sm.create_model_package(ModelPackageGroupName=other, InferenceSpecification=inference_spec(model_uri))
    assert first["ModelPackageArn"] == f"{group_arn.replace('model-package-group', 'model-package')}/1"
    assert second["ModelPackageArn"].endswith("/2")
    assert in_other["ModelPackageArn"].endswith(f"{other}/1")

    doc = sm.describe_model_package(ModelPackageName=first["ModelPackageArn"])
    assert (doc["ModelPackageName"], doc["ModelPackageGroupName"], doc["ModelPackageVersion"]) == (group, group, 1)
    assert doc["ModelApprovalStatus"] == "PendingManualApproval"
    assert doc["ModelPackageStatus"] == "Completed"
    assert doc["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == model_uri
    assert sm.describe_model_package(ModelPackageName=second["ModelPackageArn"])["ModelApprovalStatus"] == "Approved"

    # a deleted version's number is not handed out again
    sm.delete_model_package(ModelPackageName=second["ModelPackageArn"])
    third = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference_spec(model_uri))
    assert third["ModelPackageArn"].endswith("/3")
    error = error_of(sm.describe_model_package, ModelPackageName=second["ModelPackageArn"])
    assert error["Error"]["Code"] == "ValidationException"
    assert second["ModelPackageArn"] in error["Error"]["Message"]

    # a group with versions cannot go; once empty it can
    error = error_of(sm.delete_model_package_group, ModelPackageGroupName=group)
    assert error["Error"]["Code"] == "ValidationException"
    assert "DeleteModelPackage" in error["Error"]["Message"]
    for package in (first, third):
        sm.delete_model_package(ModelPackageName=package["ModelPackageArn"])
    sm.delete_model_package_group(ModelPackageGroupName=group)
    assert error_of(sm.describe_model_package_group, ModelPackageGroupName=group)["Error"]["Code"] == "ValidationException"
    sm.delete_model_package(ModelPackageName=in_other["ModelPackageArn"])
    sm.delete_model_package_group(ModelPackageGroupName=other)


def test_bad_registry_requests_are_refused_and_create_nothing(aws: Clients, model_uri: str) -> None:
    sm = aws.sagemaker
    group = unique("reg-bad")
    sm.create_model_package_group(ModelPackageGroupName=group)
    error = error_of(sm.create_model_package_group, ModelPackageGroupName=group)
    assert error["Error"]["Code"] == "ValidationException"
    missing = unique("reg-missing")
    error = error_of(sm.create_model_package, ModelPackageGroupName=missing, InferenceSpecification=inference_spec(model_uri))
    assert error["Error"]["Code"] == "ValidationException"
    assert arn("model-package-group", missing) in error["Error"]["Message"]
    error = error_of(sm.create_model_package, ModelPackageGroupName=group, ModelPackageName=unique("both"))
    assert "Cannot determine which one to use" in error["Error"]["Message"]
    error = error_of(sm.create_model_package, InferenceSpecification=inference_spec(model_uri))
    assert "ModelPackageGroupName" in error["Error"]["Message"]
    error = error_of(sm.create_model_package, ModelPackageGroupName=group, ModelApprovalStatus="Maybe")
    assert "Member must satisfy enum value set" in error["Error"]["Message"]
    error = error_of(
        sm.create_model_package,
        ModelPackageGroupName=group,
        InferenceSpecification=inference_spec(model_uri),
        ValidationSpecification={
            "ValidationRole": ROLE,
            "ValidationProfiles": [{"ProfileName": "p", "TransformJobDefinition": {
                "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}},
                "TransformOutput": {"S3OutputPath": "s3://b/out"},
                "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
            }}],
        },
    )
    assert "SkipModelValidation='All'" in error["Error"]["Message"]
    bad_url = {"Containers": [{"Image": KMEANS_IMAGE, "ModelDataUrl": "https://example.com/model.tar.gz"}]}
    error = error_of(sm.create_model_package, ModelPackageGroupName=group, InferenceSpecification=bad_url)
    assert "ModelDataUrl" in error["Error"]["Message"]
    # none of the refused requests left a version behind
    assert sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"] == []
    first = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference_spec(model_uri))
    assert first["ModelPackageArn"].endswith("/1")
    error = error_of(sm.update_model_package, ModelPackageArn=first["ModelPackageArn"], ModelApprovalStatus="Sure")
    assert error["Error"]["Code"] == "ValidationException"
    sm.delete_model_package(ModelPackageName=first["ModelPackageArn"])
    sm.delete_model_package_group(ModelPackageGroupName=group)


def test_list_model_packages_filters_sorts_and_pages(aws: Clients, model_uri: str) -> None:
    sm = aws.sagemaker
    group = unique("reg-list")
    sm.create_model_package_group(ModelPackageGroupName=group)
    arns = [
        sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference_spec(model_uri),
                                ModelApprovalStatus=status)["ModelPackageArn"]
        for status in ("Approved", "Rejected", "PendingManualApproval", "Approved")
    ]
    unversioned = unique("reg-unversioned")
    loose = sm.create_model_package(ModelPackageName=unversioned, InferenceSpecification=inference_spec(model_uri))["ModelPackageArn"]
    assert loose == arn("model-package", unversioned)
    assert "ModelApprovalStatus" not in sm.describe_model_package(ModelPackageName=unversioned)

    listed = sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    assert [p["ModelPackageVersion"] for p in listed] == [4, 3, 2, 1]  # newest first by default
    assert all(p["ModelPackageGroupName"] == group and "ModelPackageName" not in p for p in listed)
    approved = sm.list_model_packages(ModelPackageGroupName=group, ModelApprovalStatus="Approved", SortOrder="Ascending")
    assert [p["ModelPackageArn"] for p in approved["ModelPackageSummaryList"]] == [arns[0], arns[3]]
    pages, token = [], None
    while True:
        page = sm.list_model_packages(ModelPackageGroupName=group, MaxResults=3, SortOrder="Ascending",
                                      **({"NextToken": token} if token else {}))
        pages.append([p["ModelPackageVersion"] for p in page["ModelPackageSummaryList"]])
        token = page.get("NextToken")
        if not token:
            break
    assert pages == [[1, 2, 3], [4]]
    # without a group: unversioned packages by default, versions on request
    default = [p["ModelPackageArn"] for p in sm.list_model_packages(NameContains="reg-")["ModelPackageSummaryList"]]
    assert loose in default and not set(arns) & set(default)
    versioned = sm.list_model_packages(ModelPackageType="Versioned", NameContains=group, MaxResults=100)
    assert {p["ModelPackageArn"] for p in versioned["ModelPackageSummaryList"]} == set(arns)
    both = sm.list_model_packages(ModelPackageType="Both", NameContains="reg-", MaxResults=100)["ModelPackageSummaryList"]
    assert set(arns) | {loose} <= {p["ModelPackageArn"] for p in both}

    groups = sm.list_model_package_groups(NameContains=group)["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == [group]

    for package in arns + [loose]:
        sm.delete_model_package(ModelPackageName=package)
    sm.delete_model_package_group(ModelPackageGroupName=group)


def test_approval_gates_create_model_and_the_approved_version_serves(aws: Clients, runtime: Any, model_uri: str) -> None:
    sm = aws.sagemaker
    group = unique("reg-deploy")
    sm.create_model_package_group(ModelPackageGroupName=group, Tags=[{"Key": "team", "Value": "ml"}])
    package = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference_spec(model_uri))["ModelPackageArn"]
    name = unique("reg-model")

    error = error_of(sm.create_model, ModelName=name, ExecutionRoleArn=ROLE, Containers=[{"ModelPackageName": package}])
    assert error["Error"]["Code"] == "ValidationException"
    assert "PendingManualApproval" in error["Error"]["Message"]
    assert error_of(sm.describe_model, ModelName=name)["Error"]["Code"] == "ValidationException"

    sm.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved", ApprovalDescription="looks good",
                            CustomerMetadataProperties={"stage": "prod"})
    approved = sm.describe_model_package(ModelPackageName=package)
    assert (approved["ModelApprovalStatus"], approved["ApprovalDescription"]) == ("Approved", "looks good")
    assert approved["CustomerMetadataProperties"] == {"stage": "prod"}
    assert approved["LastModifiedTime"] >= approved["CreationTime"]

    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, Containers=[{"ModelPackageName": package}])
    container = sm.describe_model(ModelName=name)["PrimaryContainer"]
    assert (container["ModelPackageName"], container["Image"], container["ModelDataUrl"]) == (package, KMEANS_IMAGE, model_uri)
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=production_variants(name))
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name)
    answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Accept="application/json", Body="9.5,0.5\n0.2,9.9")
    clusters = [p["closest_cluster"] for p in json.loads(answer["Body"].read())["predictions"]]
    assert clusters == [1.0, 2.0]  # the package's centroids answer, not some other model's

    # tags on the registry's ARNs
    group_arn = sm.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
    assert sm.list_tags(ResourceArn=group_arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    sm.add_tags(ResourceArn=package, Tags=[{"Key": "stage", "Value": "prod"}])
    assert sm.list_tags(ResourceArn=package)["Tags"] == [{"Key": "stage", "Value": "prod"}]
    sm.delete_tags(ResourceArn=package, TagKeys=["stage"])
    assert sm.list_tags(ResourceArn=package)["Tags"] == []

    # a rejected version can no longer back a new model; the running endpoint is unaffected
    sm.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Rejected")
    error = error_of(sm.create_model, ModelName=unique("reg-late"), ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": package})
    assert "Rejected" in error["Error"]["Message"]

    sm.delete_endpoint(EndpointName=name)
    sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_model(ModelName=name)
    sm.delete_model_package(ModelPackageName=package)
    assert error_of(sm.list_tags, ResourceArn=package)["Error"]["Code"] == "ValidationException"
    sm.delete_model_package_group(ModelPackageGroupName=group)


def test_search_finds_a_group_by_name_as_sdk_register_asks(aws: Clients, model_uri: str) -> None:
    sm = aws.sagemaker
    group = unique("reg-search")
    sm.create_model_package_group(ModelPackageGroupName=group)
    package = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference_spec(model_uri))["ModelPackageArn"]
    by_name = {"Filters": [{"Name": "ModelPackageGroupName", "Value": group, "Operator": "Equals"}]}
    found = sm.search(Resource="ModelPackageGroup", SearchExpression=by_name)["Results"]
    assert [r["ModelPackageGroup"]["ModelPackageGroupName"] for r in found] == [group]
    nothing = {"Filters": [{"Name": "ModelPackageGroupName", "Value": group + "x", "Operator": "Equals"}]}
    assert sm.search(Resource="ModelPackageGroup", SearchExpression=nothing)["Results"] == []
    pending = {"Filters": [{"Name": "ModelPackageGroupName", "Value": group}, {"Name": "ModelApprovalStatus", "Value": "PendingManualApproval"}]}
    hits = sm.search(Resource="ModelPackage", SearchExpression=pending)["Results"]
    assert [r["ModelPackage"]["ModelPackageArn"] for r in hits] == [package]
    error = error_of(sm.search, Resource="Pipeline")
    assert error["Error"]["Code"] == "ValidationException" and "ModelPackageGroup" in error["Error"]["Message"]
    sm.delete_model_package(ModelPackageName=package)
    sm.delete_model_package_group(ModelPackageGroupName=group)


def test_every_registry_operation_answers_in_botocore_shape(aws: Clients, model_uri: str) -> None:
    """Calls each registry operation the engine serves once; the ``aws`` fixture validates every answer."""
    called: set[str] = set()
    aws.session.events.register("after-call.sagemaker", lambda model, **_: called.add(model.name))
    sm = aws.sagemaker
    group = unique("reg-every")
    sm.create_model_package_group(ModelPackageGroupName=group)
    sm.describe_model_package_group(ModelPackageGroupName=group)
    sm.list_model_package_groups(NameContains=group)
    package = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference_spec(model_uri))["ModelPackageArn"]
    sm.describe_model_package(ModelPackageName=package)
    sm.list_model_packages(ModelPackageGroupName=group)
    sm.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    sm.search(Resource="ModelPackage", SearchExpression={"Filters": [{"Name": "ModelPackageGroupName", "Value": group}]})
    sm.search(Resource="TrainingJob", MaxResults=1)
    sm.delete_model_package(ModelPackageName=package)
    sm.delete_model_package_group(ModelPackageGroupName=group)
    assert REGISTRY_OPERATIONS <= called, sorted(REGISTRY_OPERATIONS - called)
