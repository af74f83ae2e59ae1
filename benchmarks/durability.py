"""What "acknowledged means durable" costs: the engine's write rates with fsync on and off, and its start time.

One run prints, side by side:
- durable PutObject of 1 MB objects per second (goal >= 50/s) and CreateModel per second (goal >= 200/s),
  for SQLite ``synchronous=FULL`` (the engine's default), ``NORMAL`` and with every fsync off
  (``SM_MAGICS_LOCAL_FSYNC=0``, benchmark only: that engine would lose acknowledged writes on a power cut);
- the engine's start time (launch to answering) on a data dir holding 500 InService endpoints and
  10 000 S3 objects (goal <= 2 s), beside an empty data dir, and the first InvokeEndpoint after it.

Rates are for one client (one request in flight: per-request latency) and, for PutObject, 4 clients at once.

Usage: python benchmarks/durability.py [--puts N] [--models N] [--endpoints N] [--objects N]
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3

from sm_magics import launcher
from sm_magics.local import settings
from sm_magics.local.sagemaker.models import to_jsonable
from sm_magics.local.store import FSYNC_ENV, SYNCHRONOUS_ENV, ObjectRow, Store

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "sagemaker-artifacts" / "kmeans_model.tar.gz"
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
MODES = {
    "durable (synchronous=FULL, default)": {},
    "durable (synchronous=NORMAL)": {SYNCHRONOUS_ENV: "NORMAL"},
    "fsync off (benchmark only)": {FSYNC_ENV: "0"},
}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clients(info: launcher.EngineInfo) -> tuple[Any, Any]:
    session = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1")
    return session.client("s3", endpoint_url=info.url), session.client("sagemaker", endpoint_url=info.url)


def start(data_dir: Path, env: dict[str, str]) -> tuple[launcher.EngineInfo, float]:
    saved = {key: os.environ.get(key) for key in (FSYNC_ENV, SYNCHRONOUS_ENV)}
    os.environ.update(env)
    try:
        began = time.perf_counter()
        info = launcher.start(port=free_port(), data_dir=data_dir)
        return info, time.perf_counter() - began
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def write_rates(root: Path, env: dict[str, str], puts: int, models: int) -> tuple[float, float, float]:
    data_dir = root / f"rates-{len(list(root.iterdir()))}"
    info, _ = start(data_dir, env)
    try:
        s3, sm = clients(info)
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="warm", Body=b"x")
        sm.create_model(ModelName="warm", ExecutionRoleArn=settings.ROLE_ARN, PrimaryContainer={"Image": IMAGE})
        bodies = [os.urandom(1024 * 1024) for _ in range(8)]
        began = time.perf_counter()
        for n in range(puts):
            s3.put_object(Bucket="bench", Key=f"one-mb/{n}", Body=bodies[n % len(bodies)] + n.to_bytes(4, "big"))
        put_rate = puts / (time.perf_counter() - began)

        def client_puts(c: int) -> None:
            own, _ = clients(info)
            for n in range(puts // 4):
                own.put_object(Bucket="bench", Key=f"parallel/{c}/{n}", Body=bodies[n % len(bodies)] + bytes([c]))

        threads = [threading.Thread(target=client_puts, args=(c,)) for c in range(4)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        parallel_rate = 4 * (puts // 4) / (time.perf_counter() - began)
        began = time.perf_counter()
        for n in range(models):
            sm.create_model(ModelName=f"m-{n}", ExecutionRoleArn=settings.ROLE_ARN, PrimaryContainer={"Image": IMAGE})
        model_rate = models / (time.perf_counter() - began)
    finally:
        launcher.stop(data_dir)
    return put_rate, parallel_rate, model_rate


def populate(data_dir: Path, endpoints: int, objects: int) -> str:
    """One real endpoint made through the API, then its records cloned and the objects written through the store."""
    info, _ = start(data_dir, {})
    s3, sm = clients(info)
    s3.create_bucket(Bucket="bench")
    s3.put_object(Bucket="bench", Key="model/model.tar.gz", Body=FIXTURE.read_bytes())
    sm.create_model(ModelName="ep-0", ExecutionRoleArn=settings.ROLE_ARN,
                    PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://bench/model/model.tar.gz"})
    variants = [{"VariantName": "AllTraffic", "ModelName": "ep-0", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]
    sm.create_endpoint_config(EndpointConfigName="ep-0", ProductionVariants=variants)
    sm.create_endpoint(EndpointName="ep-0", EndpointConfigName="ep-0")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="ep-0", WaiterConfig={"Delay": 0.5})
    docs = {
        "model": sm.describe_model(ModelName="ep-0"),
        "endpoint-config": sm.describe_endpoint_config(EndpointConfigName="ep-0"),
        "endpoint": sm.describe_endpoint(EndpointName="ep-0"),
    }
    launcher.stop(data_dir)
    for doc in docs.values():
        doc.pop("ResponseMetadata", None)
    store = Store(data_dir, fsync=False)
    store.open()
    arn = f"arn:aws:sagemaker:us-east-1:{settings.ACCOUNT_ID}"
    with store.transaction("benchmark data"):
        for n in range(1, endpoints):
            name = f"ep-{n}"
            model = copy.deepcopy(docs["model"]) | {"ModelName": name, "ModelArn": f"{arn}:model/{name}"}
            config = copy.deepcopy(docs["endpoint-config"]) | {"EndpointConfigName": name, "EndpointConfigArn": f"{arn}:endpoint-config/{name}"}
            config["ProductionVariants"][0]["ModelName"] = name
            endpoint = copy.deepcopy(docs["endpoint"]) | {"EndpointName": name, "EndpointArn": f"{arn}:endpoint/{name}", "EndpointConfigName": name}
            for kind, doc in (("model", model), ("endpoint-config", config), ("endpoint", endpoint)):
                store.put_record("us-east-1", kind, name, to_jsonable(doc))
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat()
        for n in range(objects):
            data = os.urandom(4096)
            digest = store.write_blob(data)
            store.put_object(ObjectRow("bench", f"objects/{n:05d}", digest, len(data), hashlib.md5(data).hexdigest(), {"Content-Type": "binary/octet-stream"}, now))
    store.close()
    return "ep-0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puts", type=int, default=150)
    parser.add_argument("--models", type=int, default=600)
    parser.add_argument("--endpoints", type=int, default=500)
    parser.add_argument("--objects", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sm-magics-durability-") as tmp:
        root = Path(tmp)
        print(f"{'mode':40} {'PutObject 1 MB/s':>17} {'(4 clients)':>12} {'CreateModel/s':>14}")
        for label, env in MODES.items():
            put_rate, parallel_rate, model_rate = write_rates(root, env, args.puts, args.models)
            print(f"{label:40} {put_rate:17.1f} {parallel_rate:12.1f} {model_rate:14.1f}")
        print("goals: PutObject 1 MB >= 50/s, CreateModel >= 200/s (durable)")

        empty = root / "empty"
        start(empty, {})  # first start seeds the sample data; time the second
        launcher.stop(empty)
        _, empty_start = start(empty, {})
        launcher.stop(empty)
        full = root / "full"
        populate(full, args.endpoints, args.objects)
        info, full_start = start(full, {})
        try:
            _, sm = clients(info)
            runtime = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1").client("sagemaker-runtime", endpoint_url=info.url)
            described = sm.describe_endpoint(EndpointName=f"ep-{args.endpoints - 1}")["EndpointStatus"]
            began = time.perf_counter()
            runtime.invoke_endpoint(EndpointName=f"ep-{args.endpoints - 1}", ContentType="text/csv", Body=",".join(["0.5"] * 5))
            first_invoke = time.perf_counter() - began
        finally:
            launcher.stop(full)
        print()
        print(f"{'engine start (launch to answering)':40} {'seconds':>17}")
        print(f"{'empty data dir':40} {empty_start:17.2f}")
        print(f"{f'{args.endpoints} endpoints + {args.objects} S3 objects':40} {full_start:17.2f}   (goal <= 2 s)")
        print(f"{'  then first InvokeEndpoint (' + described + ')':40} {first_invoke:17.3f}")


if __name__ == "__main__":
    main()
