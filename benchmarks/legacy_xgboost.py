"""Legacy XGBoost hosting on the local engine, measured side by side in one run.

1. The one-time side environment build (``python -m venv`` + ``pip install xgboost-cpu==3.0.5``) in a fresh
   cache dir, by the engine's own builder (``runtime.legacy_xgboost.side_python``). pip's wheel cache makes a
   second machine-wide build faster than the very first; the number printed is this run's.
2. Endpoint cold start, CreateEndpoint -> InService as DescribeEndpoint reports it, with the side environment
   already built: a legacy model (XGBoost's ``binf`` binary format, as the 1.3-1 ... 1.7-1 containers saved it,
   written by the side environment's xgboost; its own host process starts per endpoint) beside a current-format
   model (UBJSON, loaded in the engine's process). Goal for the legacy one: <= 5 s.
3. One-row InvokeEndpoint latency of both (through boto3), for the cost of the pipe hop.

Usage: python benchmarks/legacy_xgboost.py [--repeats N] [--calls N]
"""

from __future__ import annotations

import argparse
import sys
import io
import socket
import statistics
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import boto3
import numpy as np

from sm_magics import launcher
from sm_magics.local.runtime import legacy_xgboost

XGB = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "bench-legacy-xgboost"

TRAIN = """
import sys, numpy as np, xgboost as xgb
rng = np.random.default_rng(0)
x = rng.random((2000, 20), dtype=np.float32)
y = (x[:, 0] + x[:, 1] > 1).astype(np.float32)
booster = xgb.train({"objective": "binary:logistic", "max_depth": 6}, xgb.DMatrix(x, label=y), 100)
open(sys.argv[1], "wb").write(bytes(booster.save_raw(sys.argv[2])))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def model_tar(member: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(member)
        tar.addfile(info, io.BytesIO(member))
    return buf.getvalue()


def make_model(python: str, fmt: str, path: Path) -> bytes:
    subprocess.run([python, "-c", TRAIN, str(path), fmt], check=True, capture_output=True)
    return path.read_bytes()


def cold_start(sm, name: str) -> float:
    """CreateEndpoint -> InService, seconds (the model and config exist already)."""
    started = time.perf_counter()
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    while True:
        status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
        if status == "InService":
            return time.perf_counter() - started
        if status == "Failed":
            raise RuntimeError(sm.describe_endpoint(EndpointName=name)["FailureReason"])
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="cold starts of each kind (default 5)")
    parser.add_argument("--calls", type=int, default=200, help="one-row invocations of each kind (default 200)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-legacy-xgb-") as tmp:
        data_dir = Path(tmp) / "engine"
        legacy_xgboost.configure(data_dir / "cache")
        started = time.perf_counter()
        side = str(legacy_xgboost.side_python())
        build = time.perf_counter() - started

        legacy = make_model(side, "deprecated", Path(tmp) / "legacy")  # binf, as save_model wrote it up to 1.7-1
        assert legacy[:4] == b"binf"
        current = make_model(sys.executable, "ubj", Path(tmp) / "current")

        info = launcher.start(port=free_port(), data_dir=data_dir)
        try:
            session = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1")
            sm = session.client("sagemaker", endpoint_url=info.url)
            s3 = session.client("s3", endpoint_url=info.url)
            rt = session.client("sagemaker-runtime", endpoint_url=info.url)
            s3.create_bucket(Bucket=BUCKET)
            times: dict[str, list[float]] = {"legacy (binf, side host)": [], "current (UBJSON, in-engine)": []}
            latency: dict[str, list[float]] = {k: [] for k in times}
            row = ",".join(f"{v:.4f}" for v in np.random.default_rng(1).random(20))
            for kind, member, image in (
                ("legacy (binf, side host)", legacy, f"{XGB}:1.7-1"),
                ("current (UBJSON, in-engine)", current, f"{XGB}:3.0-5"),
            ):
                for index in range(args.repeats + 1):
                    name = f"bench-{'legacy' if 'legacy' in kind else 'current'}-{index}"
                    s3.put_object(Bucket=BUCKET, Key=f"{name}/model.tar.gz", Body=model_tar(member))
                    sm.create_model(
                        ModelName=name, ExecutionRoleArn=ROLE,
                        PrimaryContainer={"Image": image, "ModelDataUrl": f"s3://{BUCKET}/{name}/model.tar.gz"},
                    )  # fmt: skip
                    sm.create_endpoint_config(
                        EndpointConfigName=name,
                        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
                    )  # fmt: skip
                    seconds = cold_start(sm, name)
                    if index:  # the first of each kind warms imports and the OS page cache
                        times[kind].append(seconds)
                    if index == args.repeats:
                        for _ in range(args.calls):
                            t0 = time.perf_counter()
                            rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=row)["Body"].read()
                            latency[kind].append(time.perf_counter() - t0)
                    sm.delete_endpoint(EndpointName=name)
        finally:
            launcher.stop(data_dir)

    print(f"side environment build (one time, xgboost {legacy_xgboost.SIDE_XGBOOST}): {build:6.1f} s")
    print(f"{'endpoint cold start, CreateEndpoint -> InService':52s} {'median':>8s} {'min':>8s} {'max':>8s}")
    for kind, values in times.items():
        print(f"  {kind:50s} {statistics.median(values):7.2f}s {min(values):7.2f}s {max(values):7.2f}s")
    print(f"{'one-row InvokeEndpoint latency':52s} {'p50':>8s} {'p90':>8s}")
    for kind, values in latency.items():
        values.sort()
        print(f"  {kind:50s} {values[len(values) // 2] * 1000:6.2f}ms {values[int(len(values) * 0.9)] * 1000:6.2f}ms")
    legacy_median = statistics.median(times["legacy (binf, side host)"])
    print(f"goal: legacy cold start <= 5 s: {'met' if legacy_median <= 5 else 'NOT met'} ({legacy_median:.2f} s)")


if __name__ == "__main__":
    main()
