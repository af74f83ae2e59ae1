"""The panel's list call with hundreds of live endpoints, measured side by side in one run.

A real ``jupyter server`` with the sm_magics extension, a local engine holding N endpoints
(default 500, one region), and the panel's ``GET /sm-magics/api/endpoints`` timed over HTTP:

1. cold: the server's first list (nothing cached; every endpoint's config is described once);
2. warm: the next lists (median of 5) — what the panel's 30 s refresh costs;
3. the naive listing the first version did (ListEndpoints, then ListTags + DescribeEndpoint +
   DescribeEndpointConfig per endpoint, one after the other), for comparison;
4. warm with regions=all (every region the engine's EC2 lists), to show the cost of the default.

The AWS calls each list made are the server's own count (``calls`` in the answer).
Goals (issue 6): cold <= 2 s, warm <= 0.3 s.

Usage: python benchmarks/panel_api.py [--endpoints N]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sm_magics.formats.recordio import encode_dense  # noqa: E402
from sm_magics import launcher  # noqa: E402
from sm_magics.local import settings  # noqa: E402

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


KEYS: list = []  # the engine's credentials, set by main() once it has started


def session() -> boto3.Session:
    return boto3.Session(**KEYS[0].as_boto3(), region_name="us-east-1")


def populate(url: str, count: int) -> None:
    """One small k-means model, then `count` endpoints (model + config + endpoint each), tagged as the magics tag."""
    s = session()
    sm, s3 = s.client("sagemaker", endpoint_url=url), s.client("s3", endpoint_url=url)
    s3.create_bucket(Bucket="bench")
    x = np.random.default_rng(0).random((200, 8), dtype=np.float32)
    s3.put_object(Bucket="bench", Key="train/data", Body=encode_dense(x))
    sm.create_training_job(
        TrainingJobName="bench-km", RoleArn=settings.ROLE_ARN,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        HyperParameters={"k": "3", "feature_dim": "8"},
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/train/"}},
                          "ContentType": "application/x-recordio-protobuf"}],
        OutputDataConfig={"S3OutputPath": "s3://bench/out"}, ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 600})
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="bench-km", WaiterConfig={"Delay": 1})
    artifact = sm.describe_training_job(TrainingJobName="bench-km")["ModelArtifacts"]["S3ModelArtifacts"]
    types = ["ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge", "ml.g4dn.xlarge"]

    def make(i: int) -> None:
        name = f"bench-ep-{i:04d}"
        tags = [{"Key": "sm_magics:notebook", "Value": f"nb-{i % 7}.ipynb"}]
        sm.create_model(ModelName=name, ExecutionRoleArn=settings.ROLE_ARN, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": artifact})
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": name, "InstanceType": types[i % len(types)], "InitialInstanceCount": 1}])
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(make, range(count)))


def naive_list(url: str) -> tuple[float, int]:
    """What listing cost before the fleet cache: 1 + 3 calls per endpoint, one after the other."""
    sm = session().client("sagemaker", endpoint_url=url)
    start = time.perf_counter()
    calls = 0
    rows = []
    for page in sm.get_paginator("list_endpoints").paginate():
        calls += 1
        for summary in page["Endpoints"]:
            tags = sm.list_tags(ResourceArn=summary["EndpointArn"])["Tags"]
            config_name = sm.describe_endpoint(EndpointName=summary["EndpointName"])["EndpointConfigName"]
            config = sm.describe_endpoint_config(EndpointConfigName=config_name)
            rows.append((summary, tags, config))
            calls += 3
    return time.perf_counter() - start, calls


def start_server(env: dict[str, str], root: Path) -> tuple[subprocess.Popen, str, str]:
    port, token = free_port(), secrets.token_hex(16)
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--ServerApp.jpserver_extensions=sm_magics=True", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
            return process, base, token
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("jupyter server did not start")


def timed_get(base: str, token: str, regions: str) -> tuple[float, dict]:
    request = urllib.request.Request(f"{base}/sm-magics/api/endpoints?regions={regions}", headers={"Authorization": f"token {token}"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        document = json.loads(response.read())
    return time.perf_counter() - start, document


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "engine"
        info = launcher.start(port=free_port(), data_dir=data_dir)
        KEYS[:] = [info.credentials]
        try:
            t0 = time.perf_counter()
            populate(info.url, args.endpoints)
            print(f"created {args.endpoints} endpoints in {time.perf_counter() - t0:.1f} s")
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_",))}
            env.update(SM_MAGICS_BACKEND="local", SM_MAGICS_LOCAL_DATA_DIR=str(data_dir), JUPYTER_RUNTIME_DIR=str(Path(tmp) / "rt"))
            process, base, token = start_server(env, Path(tmp))
            try:
                cold, first = timed_get(base, token, "us-east-1")
                assert len(first["endpoints"]) == args.endpoints, len(first["endpoints"])
                warm_runs = [timed_get(base, token, "us-east-1") for _ in range(5)]
                warm = statistics.median(t for t, _ in warm_runs)
                timed_get(base, token, "all")  # prime the region list and the other regions
                all_runs = [timed_get(base, token, "all") for _ in range(3)]
                all_warm = statistics.median(t for t, _ in all_runs)
            finally:
                process.terminate()
                process.wait(timeout=30)
            naive, naive_calls = naive_list(info.url)
        finally:
            launcher.stop(data_dir)
    n = args.endpoints
    print(f"\npanel list of {n} endpoints (one region), over HTTP from a real jupyter server:")
    print(f"  {'':34} {'seconds':>8} {'AWS calls':>10}   goal")
    print(f"  {'cold (first list)':34} {cold:8.3f} {first['calls']:10d}   <= 2 s")
    print(f"  {'warm (median of 5)':34} {warm:8.3f} {warm_runs[-1][1]['calls']:10d}   <= 0.3 s")
    print(f"  {'naive: 1 + 3 calls per endpoint':34} {naive:8.3f} {naive_calls:10d}")
    print(f"  {'warm, regions=all (%d regions)' % len(all_runs[-1][1]['regions']):34} {all_warm:8.3f} {all_runs[-1][1]['calls']:10d}")
    print(f"\n  cold vs naive: {naive / cold:.1f}x faster; warm vs naive: {naive / warm:.0f}x faster, "
          f"{naive_calls / max(warm_runs[-1][1]['calls'], 1):.0f}x fewer calls")


if __name__ == "__main__":
    main()
