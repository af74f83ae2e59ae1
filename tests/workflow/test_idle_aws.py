"""The idle guard on AWS: a CloudWatch alarm, an EventBridge rule and an SSM Automation runbook.

No AWS here: botocore's Stubber checks every request (and stubbed answer) against the service
models of CloudWatch, EventBridge and Systems Manager, so what these calls send is what the real
APIs accept in shape; the expected parameters spell out the alarm that fires and what it starts.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import boto3
import pytest
from botocore.stub import ANY, Stubber

from sm_magics.workflow import idle
from sm_magics.workflow.session import Backend

CREDENTIALS = {"aws_access_key_id": "AKIAEXAMPLEEXAMPLE00", "aws_secret_access_key": "secret"}
ACCOUNT = "210987654321"
REGION = "eu-west-1"
ENDPOINT = "kmeans-20261206-0400-ab12"


class AwsBackend(Backend):
    """An AWS backend whose account is known (no STS call to stub)."""

    @property
    def account(self) -> str:  # type: ignore[override]
        return ACCOUNT


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> AwsBackend:
    monkeypatch.delenv(idle.ROLE_ENV, raising=False)
    backend = AwsBackend("aws", REGION, "test")
    backend._session = boto3.Session(region_name=REGION, **CREDENTIALS)
    return backend


def stubbers(backend: Backend) -> dict[str, Stubber]:
    return {name: Stubber(backend.client(name, REGION)) for name in ("ssm", "cloudwatch", "events")}


ROLE = f"arn:aws:iam::{ACCOUNT}:role/sm-magics-idle"
RULE = idle.rule_name(REGION, ENDPOINT)
ALARM = f"sm-magics-idle-{ENDPOINT}"
DIMENSIONS = [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "AllTraffic"}]


def expected_alarm(period: int, count: int) -> dict:
    return {
        "AlarmName": ALARM, "AlarmDescription": ANY, "ActionsEnabled": True,
        "Metrics": [
            {"Id": "invocations", "ReturnData": False,
             "MetricStat": {"Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Dimensions": DIMENSIONS},
                            "Period": period, "Stat": "Sum"}},
            {"Id": "cpu", "ReturnData": False,
             "MetricStat": {"Metric": {"Namespace": "/aws/sagemaker/Endpoints", "MetricName": "CPUUtilization", "Dimensions": DIMENSIONS},
                            "Period": period, "Stat": "SampleCount"}},
            {"Id": "idle", "ReturnData": True, "Label": "up and not invoked",
             "Expression": "IF(FILL(cpu, -1) >= 0 AND FILL(invocations, 0) <= 0, 1, 0)"},
        ],
        "EvaluationPeriods": count, "DatapointsToAlarm": count, "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
        "Tags": [{"Key": "sm_magics:notebook", "Value": "nb.ipynb"}],
    }


def test_arm_makes_the_runbook_the_alarm_the_rule_and_its_target(backend: AwsBackend) -> None:
    stubs = stubbers(backend)
    stubs["ssm"].add_client_error("describe_document", "InvalidDocument", "The specified document does not exist.",
                                  expected_params={"Name": idle.DOCUMENT})
    stubs["ssm"].add_response("create_document", {"DocumentDescription": {"Name": idle.DOCUMENT}},
                              {"Name": idle.DOCUMENT, "Content": ANY, "DocumentType": "Automation", "DocumentFormat": "JSON",
                               "Tags": [{"Key": "sm_magics:created-by", "Value": "sm_magics"}]})
    stubs["cloudwatch"].add_response("put_metric_alarm", {}, expected_alarm(900, 2))
    alarm_arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{ALARM}"
    stubs["events"].add_response("put_rule", {"RuleArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{RULE}"}, {
        "Name": RULE, "State": "ENABLED", "Description": ANY,
        "EventPattern": json.dumps({"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
                                    "resources": [alarm_arn], "detail": {"state": {"value": ["ALARM"]}}}),
        "Tags": [{"Key": "sm_magics:notebook", "Value": "nb.ipynb"}],
    })
    stubs["events"].add_response("put_targets", {"FailedEntryCount": 0, "FailedEntries": []}, {
        "Rule": RULE,
        "Targets": [{"Id": idle.TARGET_ID,
                     "Arn": f"arn:aws:ssm:{REGION}:{ACCOUNT}:automation-definition/{idle.DOCUMENT}:$DEFAULT",
                     "RoleArn": ROLE,
                     "Input": json.dumps({"EndpointName": [ENDPOINT], "RuleName": [RULE], "AlarmName": [ALARM],
                                          "AutomationAssumeRole": [ROLE]})}],
    })
    for stub in stubs.values():
        stub.activate()
    guard = idle.arm(backend, REGION, ENDPOINT, 1800, tags=[{"Key": "sm_magics:notebook", "Value": "nb.ipynb"}])
    for stub in stubs.values():
        stub.assert_no_pending_responses()
    assert (guard.alarm, guard.rule, guard.seconds) == (ALARM, RULE, 1800) and len(RULE) <= 64


def test_the_runbook_deletes_the_endpoint_then_what_started_it() -> None:
    content = idle.document_content()
    assert content["schemaVersion"] == "0.3" and content["assumeRole"] == "{{ AutomationAssumeRole }}"
    steps = [(s["action"], s["inputs"]["Service"], s["inputs"]["Api"]) for s in content["mainSteps"]]
    assert steps == [("aws:executeAwsApi", "sagemaker", "DeleteEndpoint"), ("aws:executeAwsApi", "events", "RemoveTargets"),
                     ("aws:executeAwsApi", "events", "DeleteRule"), ("aws:executeAwsApi", "cloudwatch", "DeleteAlarms")]
    # every {{ parameter }} a step uses is declared (SSM refuses the document otherwise)
    used = set(re.findall(r"\{\{ *(\w+) *\}\}", json.dumps(content["mainSteps"])))
    assert used | {"AutomationAssumeRole"} == set(content["parameters"])


def test_an_existing_runbook_is_kept(backend: AwsBackend) -> None:
    stubs = stubbers(backend)
    stubs["ssm"].add_response("describe_document", {"Document": {"Name": idle.DOCUMENT}}, {"Name": idle.DOCUMENT})
    stubs["ssm"].activate()
    assert idle.ensure_document(backend, REGION) is False
    stubs["ssm"].assert_no_pending_responses()


def test_a_refused_target_removes_the_alarm_and_rule_it_made(backend: AwsBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(idle.ROLE_ENV, "arn:aws:iam::210987654321:role/custom-idle")
    stubs = stubbers(backend)
    stubs["ssm"].add_response("describe_document", {"Document": {"Name": idle.DOCUMENT}}, {"Name": idle.DOCUMENT})
    stubs["cloudwatch"].add_response("put_metric_alarm", {}, None)
    stubs["events"].add_response("put_rule", {"RuleArn": "arn:aws:events:eu-west-1:210987654321:rule/x"}, None)
    stubs["events"].add_client_error("put_targets", "AccessDeniedException", "not authorized to perform: iam:PassRole")
    stubs["events"].add_response("remove_targets", {"FailedEntryCount": 0, "FailedEntries": []}, {"Rule": RULE, "Ids": [idle.TARGET_ID]})
    stubs["events"].add_response("delete_rule", {}, {"Name": RULE})
    stubs["cloudwatch"].add_response("delete_alarms", {}, {"AlarmNames": [ALARM]})
    for stub in stubs.values():
        stub.activate()
    with pytest.raises(idle.IdleError) as caught:
        idle.arm(backend, REGION, ENDPOINT, 600)
    for stub in stubs.values():
        stub.assert_no_pending_responses()
    message = str(caught.value)
    assert "iam:PassRole" in message and "custom-idle" in message and "docs/idle-on-aws.md" in message and "\n" not in message


def test_a_refused_alarm_creates_nothing_else(backend: AwsBackend) -> None:
    stubs = stubbers(backend)
    stubs["ssm"].add_response("describe_document", {"Document": {"Name": idle.DOCUMENT}}, {"Name": idle.DOCUMENT})
    stubs["cloudwatch"].add_client_error("put_metric_alarm", "LimitExceeded", "too many alarms")
    for stub in stubs.values():
        stub.activate()
    with pytest.raises(idle.IdleError, match="too many alarms"):
        idle.arm(backend, REGION, ENDPOINT, 600)
    for stub in stubs.values():
        stub.assert_no_pending_responses()  # no rule, no rollback calls


def test_disarm_removes_rule_and_alarm_and_tolerates_their_absence(backend: AwsBackend) -> None:
    stubs = stubbers(backend)
    stubs["events"].add_client_error("remove_targets", "ResourceNotFoundException", "Rule does not exist")
    stubs["cloudwatch"].add_response("delete_alarms", {}, {"AlarmNames": [ALARM]})
    for stub in stubs.values():
        stub.activate()
    assert idle.disarm(backend, REGION, ENDPOINT) == [ALARM]
    for stub in stubs.values():
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(("seconds", "period", "count"), [(300, 60, 5), (1800, 900, 2), (2700, 900, 3), (7200, 3600, 2),
                                                          (420, 60, 7), (86400, 3600, 24)])
def test_the_alarm_covers_exactly_the_idle_time(seconds: int, period: int, count: int) -> None:
    assert idle.alarm_period(seconds) == (period, count) and period * count == seconds


@pytest.mark.parametrize(("value", "message"), [
    (0, "give between 5m and 1d"), (dt.timedelta(minutes=4), "give between 5m and 1d"),
    (dt.timedelta(days=2), "longer than a day: use --ttl"), (1e15, "give between 5m and 1d"),
    (dt.timedelta(seconds=330), "give whole minutes"),
])
def test_bad_idle_values_are_refused_in_one_line(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        idle.check_idle(value)  # type: ignore[arg-type]
    assert message in str(caught.value) and "\n" not in str(caught.value)
