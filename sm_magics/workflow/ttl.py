"""Endpoint expiry ("TTL"): the endpoint is deleted, with its config and model, when the time passes.

The expiry lives in the endpoint's ``sm_magics:expires-at`` tag, which every
surface reads. Who acts on it differs:

- the local engine deletes expired endpoints itself (its saver thread);
- on AWS nothing of ours may be running then (the laptop is closed), so a
  one-time EventBridge Scheduler schedule per resource calls SageMaker's
  ``DeleteEndpoint`` at the expiry, then ``DeleteEndpointConfig`` and
  ``DeleteModel`` a minute later, and deletes itself after running
  (``ActionAfterCompletion=DELETE``). The schedules assume an IAM role that
  EventBridge Scheduler may assume and that may delete those resources; see
  ``docs/ttl-on-aws.md``. Its ARN is ``$SM_MAGICS_TTL_ROLE_ARN``, or
  ``arn:aws:iam::<account>:role/sm-magics-ttl`` by default.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..i18n import _
from .fleet import TAG_EXPIRES, now_utc, parse_expiry
from .session import Backend

ROLE_ENV = "SM_MAGICS_TTL_ROLE_ARN"
DEFAULT_ROLE_NAME = "sm-magics-ttl"
SCHEDULE_GROUP = "default"
CLEANUP_DELAY = dt.timedelta(minutes=1)  # config and model go after the endpoint has started deleting


class TtlError(RuntimeError):
    """The expiry could not be set; nothing was changed. The message says what to fix."""


@dataclass
class TtlState:
    name: str
    region: str
    expires_at: dt.datetime | None
    schedules: list[str]

    def to_json(self) -> dict[str, Any]:
        left = (self.expires_at - now_utc()).total_seconds() if self.expires_at else None
        return {"name": self.name, "region": self.region, "expires_at": self.expires_at.isoformat() if self.expires_at else None,
                "ttl_seconds_left": left, "schedule": self.schedules[0] if self.schedules else None, "schedules": self.schedules}


def schedule_prefix(region: str, endpoint: str) -> str:
    """Schedule names are at most 64 characters; endpoint names up to 63, so a digest names them."""
    return "sm-magics-ttl-" + hashlib.sha1(f"{region}/{endpoint}".encode()).hexdigest()[:16]


def role_arn(backend: Backend) -> str:
    return os.environ.get(ROLE_ENV) or f"arn:aws:iam::{backend.account}:role/{DEFAULT_ROLE_NAME}"


def _at(when: dt.datetime) -> str:
    return "at(" + when.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds") + ")"


def _resources(backend: Backend, region: str, endpoint: str) -> list[tuple[str, str, dict[str, str], dt.timedelta]]:
    """(suffix, SDK action, input, delay) for the endpoint, its config and its models."""
    sagemaker = backend.client("sagemaker", region)
    config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    steps = [("endpoint", "deleteEndpoint", {"EndpointName": endpoint}, dt.timedelta(0)),
             ("config", "deleteEndpointConfig", {"EndpointConfigName": config_name}, CLEANUP_DELAY)]
    try:
        variants = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]
    except ClientError:
        variants = []
    for index, variant in enumerate(variants):
        steps.append((f"model{index}", "deleteModel", {"ModelName": variant["ModelName"]}, CLEANUP_DELAY))
    return steps


def _schedule_names(backend: Backend, region: str, endpoint: str) -> list[str]:
    scheduler = backend.client("scheduler", region)
    prefix = schedule_prefix(region, endpoint)
    names: list[str] = []
    for page in scheduler.get_paginator("list_schedules").paginate(NamePrefix=prefix, GroupName=SCHEDULE_GROUP):
        names += [s["Name"] for s in page["Schedules"]]
    return names


def schedule_deletion(backend: Backend, region: str, endpoint: str, expires_at: dt.datetime) -> list[str]:
    """Create (or move) the one-time schedules that delete the endpoint at ``expires_at`` on AWS."""
    scheduler = backend.client("scheduler", region)
    role = role_arn(backend)
    prefix = schedule_prefix(region, endpoint)
    created: list[str] = []
    existing = set(_schedule_names(backend, region, endpoint))
    try:
        for suffix, action, payload, delay in _resources(backend, region, endpoint):
            name = f"{prefix}-{suffix}"
            request = {
                "Name": name, "GroupName": SCHEDULE_GROUP,
                "ScheduleExpression": _at(expires_at + delay), "ScheduleExpressionTimezone": "UTC",
                "FlexibleTimeWindow": {"Mode": "OFF"}, "ActionAfterCompletion": "DELETE", "State": "ENABLED",
                "Description": f"sm_magics TTL: {action} for endpoint {endpoint}"[:512],
                "Target": {"Arn": f"arn:aws:scheduler:::aws-sdk:sagemaker:{action}", "RoleArn": role, "Input": json.dumps(payload),
                           "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600}},
            }
            if name in existing:
                scheduler.update_schedule(**request)
            else:
                scheduler.create_schedule(**request)
            created.append(name)
    except ClientError as error:
        for name in (n for n in created if n not in existing):  # remove only what this call created
            try:
                scheduler.delete_schedule(Name=name, GroupName=SCHEDULE_GROUP)
            except ClientError:
                pass
        message = error.response.get("Error", {}).get("Message", str(error))
        raise TtlError(_("could not schedule the deletion of {endpoint} on AWS: {message} "
                         "(the schedules run as {role}; see docs/ttl-on-aws.md, or set {variable})").format(
                           endpoint=endpoint, message=message, role=role, variable=ROLE_ENV)) from None
    return created


def unschedule(backend: Backend, region: str, endpoint: str) -> list[str]:
    """Remove the endpoint's TTL schedules (already-gone ones are fine)."""
    scheduler = backend.client("scheduler", region)
    removed = []
    for name in _schedule_names(backend, region, endpoint):
        try:
            scheduler.delete_schedule(Name=name, GroupName=SCHEDULE_GROUP)
            removed.append(name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
    return removed


def current_expiry(backend: Backend, region: str, endpoint: str) -> dt.datetime | None:
    sagemaker = backend.client("sagemaker", region)
    arn = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn).get("Tags", [])}
    return parse_expiry(tags.get(TAG_EXPIRES))


def set_expiry(backend: Backend, region: str, endpoint: str, expires_at: dt.datetime | None) -> TtlState:
    """Set, move or clear an endpoint's expiry: the schedule first (on AWS), then the tag every surface reads."""
    if expires_at is not None and expires_at.tzinfo is None:
        raise TtlError(_("the expiry needs a time zone, e.g. 2026-11-30T18:00:00+00:00"))
    if expires_at is not None and expires_at <= now_utc():
        raise TtlError(_("the expiry is in the past: give a later time, or delete the endpoint now"))
    sagemaker = backend.client("sagemaker", region)
    arn = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    schedules: list[str] = []
    if backend.kind == "aws" and expires_at is not None:
        schedules = schedule_deletion(backend, region, endpoint, expires_at)
    elif backend.kind == "aws":
        unschedule(backend, region, endpoint)
    if expires_at is None:
        sagemaker.delete_tags(ResourceArn=arn, TagKeys=[TAG_EXPIRES])
    else:
        sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": TAG_EXPIRES, "Value": expires_at.astimezone(dt.timezone.utc).isoformat(timespec="seconds")}])
    return TtlState(endpoint, region, expires_at, schedules)


def extend(backend: Backend, region: str, endpoint: str, minutes: float) -> TtlState:
    """Push the expiry back by ``minutes`` (from now if the endpoint had none, or it already passed)."""
    if minutes <= 0:
        raise TtlError(_("extend by a positive number of minutes"))

    current = current_expiry(backend, region, endpoint)
    base = max(current or now_utc(), now_utc())
    return set_expiry(backend, region, endpoint, base + dt.timedelta(minutes=minutes))
