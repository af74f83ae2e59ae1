"""Listing endpoints across an AWS account's regions, with the calls AWS would see.

Multi-region accounts, refused permissions and the TTL schedules are AWS-only
paths, so botocore's Stubber plays AWS here; it checks each request and
response against the service model, so these are the real API's shapes.
"""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from sm_magics.workflow import idle, ttl
from sm_magics.workflow.endpoints import delete_endpoint_cascade
from sm_magics.workflow.fleet import Fleet
from sm_magics.workflow.pricing import PriceBook
from sm_magics.workflow.session import Backend

CREDENTIALS = {"aws_access_key_id": "AKIAEXAMPLEEXAMPLE00", "aws_secret_access_key": "secret"}
ACCOUNT = "123456789012"
CREATED = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone.utc)
NOW = CREATED + dt.timedelta(hours=2)


# Test data in the bundled table's shape (not SageMaker's prices): us-east-1 hosting only.
PRICES = {"sources": {"t": {"label": "test table", "stated_date": "2001-02-03"}}, "prices": [
    {"region": "us-east-1", "use": "Hosting", "instance_type": "ml.c5.xlarge", "usd_per_hour": 0.5, "source": "t"},
    {"region": "us-east-1", "use": "Hosting", "instance_type": "ml.m5.large", "usd_per_hour": 0.25, "source": "t"}]}


def aws_backend(region: str = "us-east-1") -> Backend:
    backend = Backend("aws", region, "test")
    backend._session = boto3.Session(region_name=region, **CREDENTIALS)
    backend._prices = PriceBook(None, table=PRICES)  # a table of test figures; the Price List API has its own tests
    return backend


def arn(region: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:endpoint/{name}"


def stub_region(backend: Backend, region: str, endpoints: dict[str, str], *, cold: bool, tagging_denied: bool = False) -> list[Stubber]:
    """Queue what one refresh of `region` asks: the list, the tags, and (cold) each endpoint's config."""
    sagemaker, tagging = Stubber(backend.client("sagemaker", region)), Stubber(backend.client("resourcegroupstaggingapi", region))
    summaries = [{"EndpointName": n, "EndpointArn": arn(region, n), "CreationTime": CREATED, "LastModifiedTime": CREATED,
                  "EndpointStatus": "InService"} for n in endpoints]
    sagemaker.add_response("list_endpoints", {"Endpoints": summaries}, {"MaxResults": 100})
    if tagging_denied:
        tagging.add_client_error("get_resources", "AccessDeniedException", "not authorized to perform: tag:GetResources")
    else:
        tagging.add_response("get_resources", {"PaginationToken": "", "ResourceTagMappingList": [
            {"ResourceARN": arn(region, n), "Tags": [{"Key": "sm_magics:notebook", "Value": f"{n}.ipynb"}]} for n in endpoints]},
            {"ResourceTypeFilters": ["sagemaker:endpoint"], "ResourcesPerPage": 100})
    for name, instance in endpoints.items():
        if tagging_denied:
            sagemaker.add_response("list_tags", {"Tags": [{"Key": "sm_magics:notebook", "Value": f"{name}.ipynb"}]}, {"ResourceArn": arn(region, name)})
        if cold:
            sagemaker.add_response("describe_endpoint", {"EndpointName": name, "EndpointArn": arn(region, name), "EndpointConfigName": f"{name}-cfg",
                                                         "EndpointStatus": "InService", "CreationTime": CREATED, "LastModifiedTime": CREATED},
                                   {"EndpointName": name})
            sagemaker.add_response("describe_endpoint_config", {
                "EndpointConfigName": f"{name}-cfg", "EndpointConfigArn": f"arn:aws:sagemaker:{region}:{ACCOUNT}:endpoint-config/{name}-cfg",
                "CreationTime": CREATED, "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": f"{name}-model",
                                                                 "InstanceType": instance, "InitialInstanceCount": 2}]},
                {"EndpointConfigName": f"{name}-cfg"})
    sagemaker.activate()
    tagging.activate()
    return [sagemaker, tagging]


def test_all_regions_are_listed_with_cost_and_a_warm_refresh_costs_two_calls_per_region():
    backend = aws_backend()
    ec2 = Stubber(backend.client("ec2"))
    ec2.add_response("describe_regions", {"Regions": [{"RegionName": "eu-west-1"}, {"RegionName": "us-east-1"}]}, {})
    ec2.activate()
    stubs = stub_region(backend, "us-east-1", {"big": "ml.c5.xlarge", "small": "ml.m5.large"}, cold=True)
    stubs += stub_region(backend, "eu-west-1", {"far": "ml.m5.large"}, cold=True, tagging_denied=True)
    fleet = Fleet(backend, workers=1)
    listing = fleet.endpoints("all", now=NOW)
    for stub in stubs + [ec2]:
        stub.assert_no_pending_responses()
    assert listing.regions == ["eu-west-1", "us-east-1"] and listing.region_errors == []
    rows = {(r.region, r.name): r for r in listing.rows}
    big = rows[("us-east-1", "big")]
    assert (big.instance_type, big.instance_count, big.config_name, big.models, big.notebook) == ("ml.c5.xlarge", 2, "big-cfg", ["big-model"], "big.ipynb")
    assert big.usd_per_hour == pytest.approx(2 * 0.5) and big.usd_so_far == pytest.approx(2 * 0.5 * 2)  # two hours, two instances
    assert rows[("eu-west-1", "far")].usd_per_hour is None  # no price in the table for eu-west-1, and no Price List API here
    assert rows[("eu-west-1", "far")].notebook == "far.ipynb"  # tags through ListTags where tag:GetResources is refused
    assert [r.name for r in listing.rows] == ["big", "small", "far"]  # most expensive first, unknown prices last
    assert listing.calls == 1 + 1 + 2 * 2 + 1 + 1 + 2  # us-east-1: list, tags, 2 x (describe, config); eu-west-1: list, list_tags, describes

    for stub in stubs:
        stub.deactivate()
    warm = stub_region(backend, "us-east-1", {"big": "ml.c5.xlarge", "small": "ml.m5.large"}, cold=False)
    again = fleet.endpoints(["us-east-1"], now=NOW)
    for stub in warm:
        stub.assert_no_pending_responses()
    assert again.calls == 2 and [r.name for r in again.rows] == ["big", "small"]


def test_a_region_that_refuses_is_reported_and_the_others_still_listed():
    backend = aws_backend()
    denied = Stubber(backend.client("sagemaker", "ap-east-1"))
    denied.add_client_error("list_endpoints", "AccessDeniedException", "User is not authorized to perform: sagemaker:ListEndpoints")
    denied.activate()
    stubs = stub_region(backend, "us-east-1", {"ok": "ml.m5.large"}, cold=True)
    listing = Fleet(backend, workers=1).endpoints(["us-east-1", "ap-east-1"], now=NOW)
    assert [r.name for r in listing.rows] == ["ok"]
    assert listing.region_errors == [{"region": "ap-east-1", "message": "access denied: User is not authorized to perform: sagemaker:ListEndpoints"
                                                                        " — your role needs the SageMaker permission named there"}]
    for stub in stubs + [denied]:
        stub.assert_no_pending_responses()


def _describe_for_ttl(stub: Stubber, name: str, region: str = "us-east-1") -> None:
    stub.add_response("describe_endpoint", {"EndpointName": name, "EndpointArn": arn(region, name), "EndpointConfigName": name,
                                            "EndpointStatus": "InService", "CreationTime": CREATED, "LastModifiedTime": CREATED},
                      {"EndpointName": name})


def test_ttl_on_aws_schedules_deleting_endpoint_config_and_model(monkeypatch):
    monkeypatch.setenv(ttl.ROLE_ENV, f"arn:aws:iam::{ACCOUNT}:role/sm-magics-ttl")
    backend = aws_backend()
    sagemaker, scheduler = Stubber(backend.client("sagemaker")), Stubber(backend.client("scheduler"))
    expires = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(hours=3)
    prefix = ttl.schedule_prefix("us-east-1", "ep")
    _describe_for_ttl(sagemaker, "ep")  # set_expiry: the ARN to tag
    scheduler.add_response("list_schedules", {"Schedules": []}, {"NamePrefix": prefix, "GroupName": "default"})
    _describe_for_ttl(sagemaker, "ep")  # what the schedules delete
    sagemaker.add_response("describe_endpoint_config", {"EndpointConfigName": "ep", "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/ep",
                                                        "CreationTime": CREATED, "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "ep-model",
                                                                                                         "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]},
                           {"EndpointConfigName": "ep"})
    expected = [("endpoint", "deleteEndpoint", {"EndpointName": "ep"}, expires),
                ("config", "deleteEndpointConfig", {"EndpointConfigName": "ep"}, expires + ttl.CLEANUP_DELAY),
                ("model0", "deleteModel", {"ModelName": "ep-model"}, expires + ttl.CLEANUP_DELAY)]
    for suffix, action, payload, when in expected:
        scheduler.add_response("create_schedule", {"ScheduleArn": f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/default/{prefix}-{suffix}"}, {
            "Name": f"{prefix}-{suffix}", "GroupName": "default",
            "ScheduleExpression": f"at({when.replace(tzinfo=None).isoformat()})", "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"}, "ActionAfterCompletion": "DELETE", "State": "ENABLED", "Description": ANY,
            "Target": {"Arn": f"arn:aws:scheduler:::aws-sdk:sagemaker:{action}", "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/sm-magics-ttl",
                       "Input": json.dumps(payload), "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600}}})
    sagemaker.add_response("add_tags", {"Tags": []}, {"ResourceArn": arn("us-east-1", "ep"),
                                                      "Tags": [{"Key": "sm_magics:expires-at", "Value": expires.isoformat()}]})
    with sagemaker, scheduler:
        state = ttl.set_expiry(backend, "us-east-1", "ep", expires)
        sagemaker.assert_no_pending_responses()
        scheduler.assert_no_pending_responses()
    assert state.schedules == [f"{prefix}-endpoint", f"{prefix}-config", f"{prefix}-model0"]


def test_ttl_that_cannot_be_scheduled_changes_nothing_and_says_why(monkeypatch):
    monkeypatch.setenv(ttl.ROLE_ENV, f"arn:aws:iam::{ACCOUNT}:role/missing")
    backend = aws_backend()
    sagemaker, scheduler = Stubber(backend.client("sagemaker")), Stubber(backend.client("scheduler"))
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    prefix = ttl.schedule_prefix("us-east-1", "ep")
    _describe_for_ttl(sagemaker, "ep")
    scheduler.add_response("list_schedules", {"Schedules": []}, {"NamePrefix": prefix, "GroupName": "default"})
    _describe_for_ttl(sagemaker, "ep")
    sagemaker.add_client_error("describe_endpoint_config", "ValidationException", "Could not find endpoint configuration")
    scheduler.add_client_error("create_schedule", "ValidationException", "The execution role you provide must allow AWS EventBridge Scheduler to assume the role.")
    with sagemaker, scheduler:  # no add_tags queued: a tag change here would fail the stub
        with pytest.raises(ttl.TtlError, match=r"could not schedule the deletion of ep on AWS: The execution role .* see docs/ttl-on-aws.md"):
            ttl.set_expiry(backend, "us-east-1", "ep", expires)
        sagemaker.assert_no_pending_responses()


def test_deleting_on_aws_also_removes_the_ttl_schedules_and_the_idle_guard():
    backend = aws_backend()
    sagemaker, scheduler = Stubber(backend.client("sagemaker")), Stubber(backend.client("scheduler"))
    events, cloudwatch = Stubber(backend.client("events")), Stubber(backend.client("cloudwatch"))
    prefix = ttl.schedule_prefix("us-east-1", "ep")
    _describe_for_ttl(sagemaker, "ep")
    sagemaker.add_response("list_monitoring_schedules", {"MonitoringScheduleSummaries": []}, {"EndpointName": "ep"})
    sagemaker.add_client_error("describe_endpoint_config", "ValidationException", "Could not find endpoint configuration \"ep\".")
    sagemaker.add_response("delete_endpoint", {}, {"EndpointName": "ep"})
    sagemaker.add_client_error("delete_endpoint_config", "ValidationException", "Could not find endpoint configuration \"ep\".")
    scheduler.add_response("list_schedules", {"Schedules": [{"Name": f"{prefix}-endpoint", "GroupName": "default"}]},
                           {"NamePrefix": prefix, "GroupName": "default"})
    scheduler.add_response("delete_schedule", {}, {"Name": f"{prefix}-endpoint", "GroupName": "default"})
    rule = idle.rule_name("us-east-1", "ep")  # this endpoint had no idle guard: nothing to find, no error
    events.add_client_error("remove_targets", "ResourceNotFoundException", f"Rule {rule} does not exist.",
                            expected_params={"Rule": rule, "Ids": [idle.TARGET_ID]})
    cloudwatch.add_response("delete_alarms", {}, {"AlarmNames": ["sm-magics-idle-ep"]})
    with sagemaker, scheduler, events, cloudwatch:
        report = delete_endpoint_cascade(backend, "ep")
        scheduler.assert_no_pending_responses()
        events.assert_no_pending_responses()
        cloudwatch.assert_no_pending_responses()
    assert report.ok and report.deleted == ["endpoint ep"]  # its config was already gone: not an error


def test_delete_refused_by_iam_touches_nothing_else():
    backend = aws_backend()
    sagemaker = Stubber(backend.client("sagemaker"))
    config = {"EndpointConfigName": "ep", "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/ep",
              "CreationTime": CREATED, "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "ep",
                                                               "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]}
    _describe_for_ttl(sagemaker, "ep")
    sagemaker.add_response("list_monitoring_schedules", {"MonitoringScheduleSummaries": []}, {"EndpointName": "ep"})
    sagemaker.add_response("describe_endpoint_config", config, {"EndpointConfigName": "ep"})
    # who else uses its config and model: the region's endpoints and endpoint configs (one page each)
    sagemaker.add_response("list_endpoints", {"Endpoints": [{"EndpointName": "ep", "EndpointArn": arn("us-east-1", "ep"), "CreationTime": CREATED,
                                                             "LastModifiedTime": CREATED, "EndpointStatus": "InService"}]})
    _describe_for_ttl(sagemaker, "ep")
    sagemaker.add_response("describe_endpoint_config", config, {"EndpointConfigName": "ep"})
    sagemaker.add_response("list_endpoint_configs", {"EndpointConfigs": [{k: config[k] for k in ("EndpointConfigName", "EndpointConfigArn", "CreationTime")}]})
    sagemaker.add_client_error("delete_endpoint", "AccessDeniedException", "User is not authorized to perform: sagemaker:DeleteEndpoint")
    with sagemaker:  # no delete_endpoint_config / delete_model queued: calling them would fail the stub
        report = delete_endpoint_cascade(backend, "ep")
        sagemaker.assert_no_pending_responses()
    assert not report.ok and report.deleted == []
    assert report.errors == ["endpoint ep: access denied: User is not authorized to perform: sagemaker:DeleteEndpoint"
                             " — your role needs the SageMaker permission named there"]
