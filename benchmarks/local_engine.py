"""Local engine benchmarks, measured side by side in one run.

1. The boto3 flow with the waiters: upload + fit(50 000 x 784) -> deploy -> predict 100 rows -> delete,
   end to end on the engine, beside scikit-learn KMeans fitting the same data in-process (goal: <= 10 s).
2. One-row InvokeEndpoint latency through boto3, every request's signature verified (goal: p50 <= 3 ms and
   <= 1.3x the floor), beside the same client calling a do-nothing HTTP server (the floor) and moto's canned
   InvokeEndpoint. ``benchmarks/engine_auth.py`` also measures the verification on its own.

The 50 000 rows are the engine's 3 572 real MNIST training digits, repeated with a little Gaussian
noise (sigma 0.02, clipped to [0, 1]), since only 5 000 real digits ship with the package.

Usage: python benchmarks/local_engine.py [--rows N] [--calls N]
"""

from __future__ import annotations

import argparse
import http.server
import json
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import boto3
import numpy as np

from sm_magics.formats import recordio
from sm_magics import launcher
from sm_magics.local import settings
from sm_magics.local.credentials import Credentials
from sm_magics.local.sample_data import mnist_splits

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ANY_KEYS = Credentials("ASIAANYKEYFORFLOORS0", "any-secret", "any-token")  # servers that check no signature


def clients(url: str, keys: Credentials = ANY_KEYS) -> dict:
    session = boto3.Session(**keys.as_boto3(), region_name="us-east-1")
    return {name: session.client(name, endpoint_url=url) for name in ("s3", "sagemaker", "sagemaker-runtime")}


def mnist_rows(rows: int) -> np.ndarray:
    (train, _), _, _ = mnist_splits()
    reps = -(-rows // len(train))
    noise = np.random.default_rng(0).normal(0, 0.02, size=(reps * len(train), train.shape[1])).astype(np.float32)
    return np.clip(np.tile(train, (reps, 1)) + noise, 0, 1)[:rows]


def boto3_flow(c: dict, x: np.ndarray) -> dict[str, float]:
    """The whole user flow; returns seconds per phase."""
    sm, s3, rt = c["sagemaker"], c["s3"], c["sagemaker-runtime"]
    name = f"bench-{int(time.time() * 1000)}"
    marks = {"start": time.perf_counter()}
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="train/data.pbr", Body=recordio.encode_dense(x))
    marks["upload"] = time.perf_counter()
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=settings.ROLE_ARN,
        InputDataConfig=[{"ChannelName": "train", "ContentType": "application/x-recordio-protobuf",
                          "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{name}/train/"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{name}/out"},
        ResourceConfig={"InstanceType": "ml.c4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        HyperParameters={"k": "10", "feature_dim": str(x.shape[1])},
    )
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name)
    job = sm.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    marks["fit"] = time.perf_counter()
    sm.create_model(ModelName=name, ExecutionRoleArn=settings.ROLE_ARN,
                    PrimaryContainer={"Image": IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m4.xlarge"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name)
    marks["deploy"] = time.perf_counter()
    body = "\n".join(",".join(f"{v:.4g}" for v in row) for row in x[:100])
    answer = json.loads(rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body)["Body"].read())
    assert len(answer["predictions"]) == 100
    marks["predict"] = time.perf_counter()
    sm.delete_endpoint(EndpointName=name)
    sm.get_waiter("endpoint_deleted").wait(EndpointName=name)
    sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_model(ModelName=name)
    marks["delete"] = time.perf_counter()
    phases = list(marks)
    return {phase: marks[phase] - marks[prev] for prev, phase in zip(phases, phases[1:])} | {"total": marks["delete"] - marks["start"]}


def p50_ms(call, n: int) -> float:
    for _ in range(20):
        call()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


class _Nothing(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"predictions": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _NothingNoDelay(_Nothing):
    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _serve(handler: type) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def deploy_kmeans(c: dict, x: np.ndarray, prefix: str = "lat") -> str:
    """Train k-means on ``x`` and put it behind an InService endpoint; its name (model, config, endpoint alike)."""
    sm, s3 = c["sagemaker"], c["s3"]
    name = f"{prefix}-{int(time.time() * 1000)}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="train/data.pbr", Body=recordio.encode_dense(x))
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=settings.ROLE_ARN,
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{name}/train/"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{name}/out"},
        ResourceConfig={"InstanceType": "ml.c4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        HyperParameters={"k": "10", "feature_dim": str(x.shape[1])},
    )
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig={"Delay": 1})
    uri = sm.describe_training_job(TrainingJobName=name)["ModelArtifacts"]["S3ModelArtifacts"]
    sm.create_model(ModelName=name, ExecutionRoleArn=settings.ROLE_ARN, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": uri})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m4.xlarge"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1})
    return name


def invoke_latency(url: str, keys: Credentials, x: np.ndarray, calls: int) -> dict[str, float]:
    c = clients(url, keys)
    rt = c["sagemaker-runtime"]
    row = ",".join(f"{v:.4g}" for v in x[0])
    name = deploy_kmeans(c, x[:2000])
    results = {"sm_magics engine (signatures verified)": p50_ms(lambda: rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=row)["Body"].read(), calls)}

    for label, handler in (("do-nothing HTTP server (floor)", _NothingNoDelay), ("same, without TCP_NODELAY", _Nothing)):
        server = _serve(handler)
        other = clients(f"http://127.0.0.1:{server.server_address[1]}")["sagemaker-runtime"]
        results[label] = p50_ms(lambda: other.invoke_endpoint(EndpointName="x", ContentType="text/csv", Body=row)["Body"].read(), calls)
        server.shutdown()

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    moto_port = free_port()
    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto_server.start()
    moto_rt = clients(f"http://127.0.0.1:{moto_port}")["sagemaker-runtime"]
    results["moto server, canned InvokeEndpoint"] = p50_ms(
        lambda: moto_rt.invoke_endpoint(EndpointName="x", ContentType="text/csv", Body=row)["Body"].read(), calls)
    moto_server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    x = mnist_rows(args.rows)
    with tempfile.TemporaryDirectory() as data_dir:
        info = launcher.start(port=free_port(), data_dir=Path(data_dir))
        try:
            phases = boto3_flow(clients(info.url, info.credentials), x)
            latency = invoke_latency(info.url, info.credentials, x, args.calls)
        finally:
            launcher.stop(Path(data_dir))

    from sklearn.cluster import KMeans

    started = time.perf_counter()
    KMeans(n_clusters=10, n_init=1, random_state=0).fit(x)
    sklearn_seconds = time.perf_counter() - started

    print(f"\n1. boto3 flow on the local engine, {len(x)} x {x.shape[1]} float32, k=10 (goal: total <= 10 s)")
    print(f"   {'phase':<34}{'seconds':>9}")
    for phase, seconds in phases.items():
        print(f"   {phase:<34}{seconds:>9.2f}")
    print(f"   {'scikit-learn KMeans fit, in-process':<34}{sklearn_seconds:>9.2f}   (n_init=1, same data)")
    print(f"   engine total / sklearn fit: {phases['total'] / sklearn_seconds:.1f}x")
    print(f"\n2. one-row InvokeEndpoint through boto3, p50 of {args.calls} calls (goal: engine <= 3 ms and <= 1.3x the floor)")
    floor = latency["do-nothing HTTP server (floor)"]
    for label, ms in latency.items():
        print(f"   {label:<38}{ms:>7.2f} ms   {ms / floor:>5.2f}x floor")


if __name__ == "__main__":
    main()
