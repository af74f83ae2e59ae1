"""The idle guard (``%sm_deploy ... --idle 30m``): an endpoint nobody invoked for that long is deleted.

The limit lives in the endpoint's ``sm_magics:idle-after`` tag (whole seconds), which every surface
reads. Who acts on it differs:

- the local engine deletes idle endpoints itself (``local/sagemaker/idle.py``);
- on AWS nothing of ours may be running then (the laptop is closed), so three AWS resources do it:

  1. a CloudWatch alarm ``sm-magics-idle-<endpoint>`` on the endpoint's ``Invocations`` (Sum per
     period, ``AWS/SageMaker``). A period with no invocation has no data point at all, and an
     endpoint still Creating has none either; so the alarm evaluates the metric-math series
     ``IF(FILL(cpu, -1) >= 0 AND FILL(invocations, 0) <= 0, 1, 0)``: 1 for a period in which the
     endpoint's instances reported CPU (``/aws/sagemaker/Endpoints``, so it is up) and nothing was
     invoked. It goes to ALARM after ``idle`` seconds of such periods (missing data: not breaching,
     so an endpoint that never came up is never deleted by it);
  2. an EventBridge rule on that alarm's state change to ALARM, whose target starts
  3. the SSM Automation document ``sm-magics-DeleteIdleEndpoint`` (one per account and region):
     ``aws:executeAwsApi`` SageMaker ``DeleteEndpoint``, then it removes the rule and the alarm.

  Rule and automation run as one IAM role (``$SM_MAGICS_IDLE_ROLE_ARN``, default
  ``arn:aws:iam::<account>:role/sm-magics-idle``); see ``docs/idle-on-aws.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ..i18n import _
from .session import Backend

IDLE_TAG = "sm_magics:idle-after"
ROLE_ENV = "SM_MAGICS_IDLE_ROLE_ARN"
DEFAULT_ROLE_NAME = "sm-magics-idle"
DOCUMENT = "sm-magics-DeleteIdleEndpoint"
TARGET_ID = "delete-idle-endpoint"
# Bounds of --idle. Below 5 minutes the per-minute metric would delete an endpoint between two cells;
# beyond a day, an expiry (--ttl) says what is meant.
MIN_IDLE = dt.timedelta(minutes=5)
MAX_IDLE = dt.timedelta(days=1)
PERIODS = (3600, 900, 300, 60)  # alarm periods tried, longest first: CloudWatch allows multiples of 60


class IdleError(RuntimeError):
    """The idle guard could not be set on AWS; what this call created was removed. The message says what to fix."""


def check_idle(idle: dt.timedelta | float) -> int:
    """The idle limit (a timedelta or seconds) in whole seconds, or ValueError in one line saying what to give instead."""
    seconds = idle.total_seconds() if isinstance(idle, dt.timedelta) else float(idle)
    if seconds < MIN_IDLE.total_seconds() or seconds > MAX_IDLE.total_seconds():
        raise ValueError(_("--idle {value}: give between 5m and 1d (longer than a day: use --ttl)").format(value=_words(seconds)))
    if seconds % 60:
        raise ValueError(_("--idle {value}: give whole minutes, e.g. 30m or 2h").format(value=_words(seconds)))
    return int(seconds)


def _words(seconds: float) -> str:
    return f"{seconds / 60:.6g}m" if seconds >= 60 else f"{seconds:g}s"


def describe(seconds: float | None) -> str:
    """The guard as the widget, the listings and the panel say it: "idle 30m"."""
    if not seconds:
        return ""
    return _("idle {span}").format(span=_compact(seconds))


def _compact(seconds: float) -> str:
    """30m, 2h, 1h30m: the limit as --idle takes it."""
    minutes = int(seconds // 60)
    hours, rest = divmod(minutes, 60)
    return f"{hours}h{rest:02d}m" if hours and rest else f"{hours}h" if hours else f"{minutes}m"


def idle_of(tags: dict[str, str]) -> float | None:
    """The idle limit from an endpoint's tags (None: no guard, or an unreadable tag)."""
    try:
        seconds = float(tags.get(IDLE_TAG, ""))
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def alarm_period(seconds: int) -> tuple[int, int]:
    """(period, evaluation periods) covering exactly ``seconds``: the longest period that divides it twice or more."""
    for period in PERIODS:
        if seconds % period == 0 and seconds // period >= 2:
            return period, seconds // period
    return 60, seconds // 60


def alarm_name(endpoint: str) -> str:
    return f"sm-magics-idle-{endpoint}"


def rule_name(region: str, endpoint: str) -> str:
    """Rule names are at most 64 characters; endpoint names up to 63, so a digest names them."""
    return "sm-magics-idle-" + hashlib.sha1(f"{region}/{endpoint}".encode()).hexdigest()[:16]


def role_arn(backend: Backend) -> str:
    return os.environ.get(ROLE_ENV) or f"arn:aws:iam::{backend.account}:role/{DEFAULT_ROLE_NAME}"


def document_content() -> dict[str, Any]:
    """The Automation runbook: delete the endpoint, then the rule and alarm that started it."""
    def api(name: str, service: str, call: str, **inputs: Any) -> dict[str, Any]:
        return {"name": name, "action": "aws:executeAwsApi", "inputs": {"Service": service, "Api": call, **inputs}}

    return {
        "schemaVersion": "0.3",
        "description": "sm_magics idle guard: deletes a SageMaker endpoint whose CloudWatch alarm found it idle, "
                       "then the EventBridge rule and the alarm that started this.",
        "assumeRole": "{{ AutomationAssumeRole }}",
        "parameters": {
            "EndpointName": {"type": "String", "description": "the idle endpoint"},
            "RuleName": {"type": "String", "description": "the EventBridge rule that started this"},
            "AlarmName": {"type": "String", "description": "the CloudWatch alarm that found it idle"},
            "AutomationAssumeRole": {"type": "String", "description": "the role this runs as"},
        },
        "mainSteps": [
            api("deleteEndpoint", "sagemaker", "DeleteEndpoint", EndpointName="{{ EndpointName }}"),
            api("removeTarget", "events", "RemoveTargets", Rule="{{ RuleName }}", Ids=[TARGET_ID]),
            api("deleteRule", "events", "DeleteRule", Name="{{ RuleName }}"),
            api("deleteAlarm", "cloudwatch", "DeleteAlarms", AlarmNames=["{{ AlarmName }}"]),
        ],
    }


@dataclass
class IdleGuard:
    endpoint: str
    region: str
    seconds: int
    alarm: str
    rule: str
    created: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "region": self.region, "idle_seconds": self.seconds, "alarm": self.alarm, "rule": self.rule}


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def ensure_document(backend: Backend, region: str) -> bool:
    """Create the runbook in this region if it is not there; True if this call created it."""
    ssm = backend.client("ssm", region)
    try:
        ssm.describe_document(Name=DOCUMENT)
        return False
    except ClientError as error:
        if _code(error) != "InvalidDocument":
            raise
    ssm.create_document(Name=DOCUMENT, Content=json.dumps(document_content()), DocumentType="Automation", DocumentFormat="JSON",
                        Tags=[{"Key": "sm_magics:created-by", "Value": "sm_magics"}])
    return True


def arm(backend: Backend, region: str, endpoint: str, seconds: int, variant: str = "AllTraffic",
        tags: list[dict[str, str]] | None = None) -> IdleGuard:
    """Create the alarm, the rule and its target (and the runbook if missing) for one endpoint on AWS.

    On any refusal, the alarm and rule this call made are removed again and IdleError says why.
    """
    cloudwatch, events = backend.client("cloudwatch", region), backend.client("events", region)
    role = role_arn(backend)
    guard = IdleGuard(endpoint, region, seconds, alarm_name(endpoint), rule_name(region, endpoint))
    period, count = alarm_period(seconds)
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    alarm_arn = f"arn:aws:cloudwatch:{region}:{backend.account}:alarm:{guard.alarm}"
    try:
        ensure_document(backend, region)
        cloudwatch.put_metric_alarm(
            AlarmName=guard.alarm,
            AlarmDescription=f"sm_magics idle guard: endpoint {endpoint} is deleted after {_compact(seconds)} without invocations"[:1024],
            ActionsEnabled=True,
            Metrics=[
                {"Id": "invocations", "ReturnData": False,
                 "MetricStat": {"Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Dimensions": dimensions},
                                "Period": period, "Stat": "Sum"}},
                {"Id": "cpu", "ReturnData": False,
                 "MetricStat": {"Metric": {"Namespace": "/aws/sagemaker/Endpoints", "MetricName": "CPUUtilization", "Dimensions": dimensions},
                                "Period": period, "Stat": "SampleCount"}},
                {"Id": "idle", "ReturnData": True, "Label": "up and not invoked",
                 "Expression": "IF(FILL(cpu, -1) >= 0 AND FILL(invocations, 0) <= 0, 1, 0)"},
            ],
            EvaluationPeriods=count, DatapointsToAlarm=count, Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
            Tags=tags or [],
        )
        guard.created.append(guard.alarm)
        events.put_rule(
            Name=guard.rule, State="ENABLED",
            Description=f"sm_magics idle guard of endpoint {endpoint}: its alarm went to ALARM"[:512],
            EventPattern=json.dumps({"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
                                     "resources": [alarm_arn], "detail": {"state": {"value": ["ALARM"]}}}),
            Tags=tags or [],
        )
        guard.created.append(guard.rule)
        answer = events.put_targets(Rule=guard.rule, Targets=[{
            "Id": TARGET_ID,
            "Arn": f"arn:aws:ssm:{region}:{backend.account}:automation-definition/{DOCUMENT}:$DEFAULT",
            "RoleArn": role,
            "Input": json.dumps({"EndpointName": [endpoint], "RuleName": [guard.rule], "AlarmName": [guard.alarm],
                                 "AutomationAssumeRole": [role]}),
        }])
        if answer.get("FailedEntryCount"):
            entry = answer["FailedEntries"][0]
            raise ClientError({"Error": {"Code": entry.get("ErrorCode", "Failed"), "Message": entry.get("ErrorMessage", "")}}, "PutTargets")
    except ClientError as error:
        _remove(backend, region, guard, only=guard.created)
        message = error.response.get("Error", {}).get("Message") or str(error)
        raise IdleError(_("could not set the idle guard of {endpoint} on AWS: {message} "
                          "(it runs as {role}; see docs/idle-on-aws.md, or set {variable})").format(
                            endpoint=endpoint, message=message, role=role, variable=ROLE_ENV)) from None

    return guard


def _remove(backend: Backend, region: str, guard: IdleGuard, only: list[str] | None = None) -> list[str]:
    """Delete the guard's rule (its target first) and alarm; gone ones are fine. Returns what went."""
    events, cloudwatch = backend.client("events", region), backend.client("cloudwatch", region)
    removed: list[str] = []
    if only is None or guard.rule in only:
        try:
            events.remove_targets(Rule=guard.rule, Ids=[TARGET_ID])
            events.delete_rule(Name=guard.rule)
            removed.append(guard.rule)
        except ClientError as error:
            if _code(error) != "ResourceNotFoundException":
                raise
    if only is None or guard.alarm in only:
        cloudwatch.delete_alarms(AlarmNames=[guard.alarm])  # no error for an alarm that is not there
        removed.append(guard.alarm)
    return removed


def disarm(backend: Backend, region: str, endpoint: str) -> list[str]:
    """Remove an endpoint's idle guard on AWS (the endpoint was deleted another way)."""
    return _remove(backend, region, IdleGuard(endpoint, region, 0, alarm_name(endpoint), rule_name(region, endpoint)))
