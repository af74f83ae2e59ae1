"""The idle guard: the engine deletes an endpoint tagged ``sm_magics:idle-after`` that nobody invoked for that long.

The session's engine honours any positive number of seconds in the tag (the magics refuse less
than minutes; the engine is not the magics). The restart test runs its own engine with
``SM_MAGICS_IDLE_SCALE`` so that minutes pass as seconds. No assertion on time: each waits with
a deadline for what a user would see (the endpoint gone, or still serving).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest

from helpers import deploy, train_kmeans
from sm_magics.local import launcher
from sm_magics.local.sagemaker.idle import IDLE_TAG, LAST_INVOCATION, SCALE_ENV
from sm_magics.local.store import Store


def names(sagemaker: Any) -> set[str]:
    return {e["EndpointName"] for page in sagemaker.get_paginator("list_endpoints").paginate() for e in page["Endpoints"]}


def tag(sagemaker: Any, endpoint: str, value: str) -> None:
    arn = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": IDLE_TAG, "Value": value}])


def invoke(runtime: Any, endpoint: str, x: np.ndarray) -> None:
    body = "\n".join(",".join(f"{v:.4g}" for v in row) for row in x[:2])
    runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=body)


def test_an_idle_endpoint_is_deleted_and_a_used_one_is_not(aws, runtime, mnist):
    (x, _), _, _ = mnist
    job = train_kmeans(aws, x[:300], k=3)
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    idle, used, untagged = (deploy(aws, artifact) for _ in range(3))
    sagemaker = aws.sagemaker
    tag(sagemaker, idle, "3")
    tag(sagemaker, used, "3")
    deadline = time.monotonic() + 60
    while idle in names(sagemaker) and time.monotonic() < deadline:
        invoke(runtime, used, x)  # kept busy: never 3 s without an invocation
        time.sleep(0.3)
    for call, key in ((sagemaker.describe_endpoint, "EndpointName"), (sagemaker.describe_endpoint_config, "EndpointConfigName"),
                      (sagemaker.describe_model, "ModelName")):
        with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find"):
            call(**{key: idle})
    assert sagemaker.describe_endpoint(EndpointName=used)["EndpointStatus"] == "InService"
    invoke(runtime, used, x)  # it still answers
    # left alone now, the used one goes too; the untagged one stays
    deadline = time.monotonic() + 60
    while used in names(sagemaker) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert used not in names(sagemaker)
    assert sagemaker.describe_endpoint(EndpointName=untagged)["EndpointStatus"] == "InService"
    sagemaker.delete_endpoint(EndpointName=untagged)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clients(info: launcher.EngineInfo) -> tuple[Any, Any, Any]:
    session = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1")
    return tuple(session.client(s, endpoint_url=info.url) for s in ("sagemaker", "sagemaker-runtime", "s3"))  # type: ignore[return-value]


def test_the_idle_guard_survives_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mnist) -> None:
    """The tag and the last invocation time are kept: after a stop and a start, the engine still deletes it."""
    (x, _), _, _ = mnist
    monkeypatch.setenv(SCALE_ENV, "0.01")  # 1 000 s of idle-after is 10 s on this engine
    data_dir, port = tmp_path / "engine", free_port()
    info = launcher.start(port=port, data_dir=data_dir)
    try:
        sagemaker, runtime, s3 = clients(info)

        class Clients:  # what helpers.train_kmeans / deploy expect
            pass

        aws = Clients()
        aws.sagemaker, aws.s3, aws.runtime = sagemaker, s3, runtime  # type: ignore[attr-defined]
        job = train_kmeans(aws, x[:300], k=3)
        endpoint = deploy(aws, job["ModelArtifacts"]["S3ModelArtifacts"])
        tag(sagemaker, endpoint, "1000")
        invoke(runtime, endpoint, x)
    finally:
        assert launcher.stop(data_dir)
    stored = Store(data_dir)
    stored.open()
    try:
        record = stored.records()["us-east-1"]["endpoint"][endpoint]
    finally:
        stored.close()
    assert isinstance(record.get(LAST_INVOCATION), (int, float)), "the last invocation time was saved at the stop"
    info = launcher.start(port=port, data_dir=data_dir)
    try:
        sagemaker, _, _ = clients(info)
        tags = sagemaker.list_tags(ResourceArn=sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointArn"])["Tags"]
        assert {"Key": IDLE_TAG, "Value": "1000"} in tags
        deadline = time.monotonic() + 90
        while endpoint in names(sagemaker) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert endpoint not in names(sagemaker)
    finally:
        launcher.stop(data_dir)
