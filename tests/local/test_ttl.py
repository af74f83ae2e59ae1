"""The TTL guard: the engine itself deletes endpoints whose sm_magics:expires-at time has passed."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from helpers import deploy, train_kmeans


def test_endpoint_past_its_ttl_is_deleted_with_config_and_model(aws, mnist):
    (x, _), _, _ = mnist
    job = train_kmeans(aws, x[:300], k=3)
    name = deploy(aws, job["ModelArtifacts"]["S3ModelArtifacts"])
    keep = deploy(aws, job["ModelArtifacts"]["S3ModelArtifacts"])
    sagemaker = aws.sagemaker
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)).isoformat(timespec="seconds")
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat(timespec="seconds")
    sagemaker.add_tags(ResourceArn=sagemaker.describe_endpoint(EndpointName=name)["EndpointArn"],
                       Tags=[{"Key": "sm_magics:expires-at", "Value": soon}])
    sagemaker.add_tags(ResourceArn=sagemaker.describe_endpoint(EndpointName=keep)["EndpointArn"],
                       Tags=[{"Key": "sm_magics:expires-at", "Value": later}])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if name not in {e["EndpointName"] for e in sagemaker.list_endpoints(MaxResults=100)["Endpoints"]}:
            break
        time.sleep(0.25)
    for call, key in ((sagemaker.describe_endpoint, "EndpointName"), (sagemaker.describe_endpoint_config, "EndpointConfigName"),
                      (sagemaker.describe_model, "ModelName")):
        with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find"):
            call(**{key: name})
    assert sagemaker.describe_endpoint(EndpointName=keep)["EndpointStatus"] == "InService"
    sagemaker.delete_endpoint(EndpointName=keep)
