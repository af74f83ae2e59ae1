"""Batch transform with DataProcessing, beside the same transform without it, measured in one run.

100 000 CSV rows through an XGBoost 1.7-1 model (four features, trained here with
the xgboost package), MultiRecord at the default 6 MB MaxPayloadInMB, Accept text/csv:

* plain:   the id-less rows, no DataProcessing;
* filters: the same rows with an id column first, InputFilter "$[1:]", JoinSource Input,
           OutputFilter "$[0,-1]" (the id beside its prediction).

Each is run --repeats times on one engine; the median of the job's own time
(TransformEndTime - TransformStartTime) and of the client's wall time from
CreateTransformJob to Completed are printed side by side. Goal: filters <= 3x plain.

Usage: python benchmarks/transform_filters.py [--rows N] [--repeats N]
"""

from __future__ import annotations

import argparse
import io
import socket
import statistics
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import numpy as np

from sm_magics import launcher
from sm_magics.local import settings

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
BUCKET = "transform-filters-benchmark"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clients(info: launcher.EngineInfo) -> dict:
    session = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1")
    return {name: session.client(name, endpoint_url=info.url) for name in ("s3", "sagemaker")}


def xgboost_model(c: dict) -> str:
    import xgboost

    x = np.random.default_rng(1).normal(size=(2000, 4))
    y = x @ np.array([1.0, -2.0, 0.5, 3.0])
    booster = xgboost.train({"max_depth": 4, "eta": 0.3}, xgboost.DMatrix(x, label=y), 30)
    member = bytes(booster.save_raw("json"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(member)
        tar.addfile(info, io.BytesIO(member))
    c["s3"].put_object(Bucket=BUCKET, Key="model/model.tar.gz", Body=buf.getvalue())
    c["sagemaker"].create_model(
        ModelName="bench-xgb",
        ExecutionRoleArn=settings.ROLE_ARN,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/model/model.tar.gz"},
    )
    return "bench-xgb"


def run_job(c: dict, model: str, key: str, processing: dict[str, str] | None) -> tuple[float, float, bytes]:
    """(job seconds, client wall seconds, output) of one transform job over s3://BUCKET/<key>."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    request = {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{key}"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/out/{name}", "Accept": "text/csv", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    }
    if processing:
        request["DataProcessing"] = processing
    started = time.perf_counter()
    c["sagemaker"].create_transform_job(**request)
    while True:
        job = c["sagemaker"].describe_transform_job(TransformJobName=name)
        if job["TransformJobStatus"] not in ("InProgress", "Stopping"):
            break
        time.sleep(0.02)
    wall = time.perf_counter() - started
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    out = c["s3"].get_object(Bucket=BUCKET, Key=f"out/{name}/{key.rsplit('/', 1)[-1]}.out")["Body"].read()
    return (job["TransformEndTime"] - job["TransformStartTime"]).total_seconds(), wall, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    x = np.round(np.random.default_rng(2).normal(size=(args.rows, 4)), 5)
    plain = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in x).encode()
    with_ids = "".join(f"id-{i}," + ",".join(repr(float(v)) for v in row) + "\n" for i, row in enumerate(x)).encode()
    filters = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}

    results: dict[str, list[tuple[float, float]]] = {"plain": [], "filters": []}
    with tempfile.TemporaryDirectory() as data_dir:
        info = launcher.start(port=free_port(), data_dir=Path(data_dir))
        try:
            c = clients(info)
            c["s3"].create_bucket(Bucket=BUCKET)
            c["s3"].put_object(Bucket=BUCKET, Key="in/plain/rows.csv", Body=plain)
            c["s3"].put_object(Bucket=BUCKET, Key="in/ids/rows.csv", Body=with_ids)
            model = xgboost_model(c)
            run_job(c, model, "in/plain/rows.csv", None)  # warm: the model is loaded once per engine
            for _ in range(args.repeats):
                seconds, wall, plain_out = run_job(c, model, "in/plain/rows.csv", None)
                results["plain"].append((seconds, wall))
                seconds, wall, filtered_out = run_job(c, model, "in/ids/rows.csv", filters)
                results["filters"].append((seconds, wall))
        finally:
            launcher.stop(Path(data_dir))

    # the filtered job answered the same predictions, each beside its id
    predictions = plain_out.decode().splitlines()
    expected = [f"id-{i},{p}" for i, p in enumerate(predictions)]
    assert filtered_out.decode().splitlines() == expected, "the filtered job's output is not id,prediction per row"

    print(f"\nBatch transform of {args.rows} CSV rows, XGBoost 1.7-1, median of {args.repeats} (goal: filters <= 3x plain)")
    print(f"   {'':<66}{'job s':>8}{'wall s':>9}")
    labels = {"plain": "no DataProcessing (id-less rows)", "filters": 'InputFilter "$[1:]" + JoinSource Input + OutputFilter "$[0,-1]"'}
    medians = {}
    for kind, label in labels.items():
        job = statistics.median(s for s, _ in results[kind])
        wall = statistics.median(w for _, w in results[kind])
        medians[kind] = (job, wall)
        print(f"   {label:<66}{job:>8.2f}{wall:>9.2f}")
    print(f"   ratio filters / plain: {medians['filters'][0] / medians['plain'][0]:.2f}x (job), "
          f"{medians['filters'][1] / medians['plain'][1]:.2f}x (wall)")


if __name__ == "__main__":
    main()
