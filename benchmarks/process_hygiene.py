"""How fast the local engine cleans up after a dead training host and after its own death.

1. A 2-host k-means job (ShardedByS3Key) is training; its non-leader host (algo-2) is killed with
   SIGKILL. Measured: seconds until DescribeTrainingJob says Failed, and until no host process runs.
2. A 2-host job is training; the engine is killed with SIGKILL. Measured: seconds until every host
   has ended, and until every process the engine had (hosts, forkserver, resource tracker) has ended.

Each scenario runs --rounds times on its own engine (a free port, a tmp data dir); the table shows
every round, then the median. Before this work, scenario 1 ran until MaxRuntimeInSeconds (the leader
waited an hour for algo-2), and in scenario 2 the hosts trained on to the end of the job.

Usage: python benchmarks/process_hygiene.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import numpy as np

from sm_magics.formats import recordio
from sm_magics import launcher
from sm_magics.local import settings
from sm_magics.local.sample_data import mnist_splits

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
BUCKET = "sm-magics-bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, start time); the start time tells a process from a later one with its pid."""
    listing = subprocess.run(["ps", "-ww", "-A", "-o", "pid=,ppid=,stat=,lstart="], capture_output=True, text=True, check=True).stdout
    rows = (line.split(None, 3) for line in listing.splitlines())
    return {int(pid): (int(ppid), state, started.strip()) for pid, ppid, state, started in rows}


def running(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    now = table()
    return {(pid, started) for pid, started in processes if pid in now and now[pid][2] == started and not now[pid][1].startswith("Z")}


def descendants(pid: int) -> set[tuple[int, str]]:
    now = table()
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _, started) in now.items():
            if ppid == parent and (child, started) not in found:
                found.add((child, started))
                frontier.append(child)
    return found


class Engine:
    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="sm-magics-hygiene-")
        self.data_dir = Path(self.tmp.name) / "engine"
        self.info = launcher.start(port=free_port(), data_dir=self.data_dir)
        session = boto3.Session(**self.info.credentials.as_boto3(), region_name="us-east-1")
        self.sm, self.s3, self.logs = (session.client(n, endpoint_url=self.info.url) for n in ("sagemaker", "s3", "logs"))

    def two_host_job(self, x: np.ndarray) -> tuple[str, dict[int, int]]:
        """Start a long 2-host job; return its name and {host: pid} once its leader is training."""
        name = f"hygiene-{uuid.uuid4().hex[:8]}"
        if BUCKET not in {b["Name"] for b in self.s3.list_buckets()["Buckets"]}:
            self.s3.create_bucket(Bucket=BUCKET)
        for index, part in enumerate(np.array_split(x, 2)):
            self.s3.put_object(Bucket=BUCKET, Key=f"{name}/matrix_{index}.pbr", Body=recordio.encode_dense(part))
        source = {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{name}/", "S3DataDistributionType": "ShardedByS3Key"}
        self.sm.create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            RoleArn=settings.ROLE_ARN,
            InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": source}, "ContentType": "application/x-recordio-protobuf"}],
            OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output"},
            ResourceConfig={"InstanceType": "ml.c4.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 10},
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
            HyperParameters={"k": "10", "feature_dim": "784", "mini_batch_size": "100", "epochs": "20000"},
        )
        while self.sm.describe_training_job(TrainingJobName=name)["SecondaryStatus"] != "Training":
            time.sleep(0.1)
        pids: dict[int, int] = {}
        while len(pids) < 2:
            for stream in self.logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=name + "/")["logStreams"]:
                host = int(re.search(r"/algo-(\d+)-", stream["logStreamName"])[1])
                for event in self.logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream["logStreamName"], startFromHead=True)["events"]:
                    if found := re.match(r"\[[^\]]* INFO (\d+)\]", event["message"]):
                        pids[host] = int(found[1])
                        break
            time.sleep(0.1)
        return name, pids

    def close(self) -> None:
        launcher.stop(self.data_dir)
        self.tmp.cleanup()


def host_killed(x: np.ndarray) -> tuple[float, float, str]:
    engine = Engine()
    try:
        name, hosts = engine.two_host_job(x)
        host_processes = {p for p in descendants(engine.info.pid) if p[0] in hosts.values()}
        os.kill(hosts[2], signal.SIGKILL)
        killed = time.monotonic()
        while (job := engine.sm.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] == "InProgress":
            time.sleep(0.02)
        failed = time.monotonic() - killed
        while running(host_processes):
            time.sleep(0.02)
        return failed, time.monotonic() - killed, job.get("FailureReason", "")
    finally:
        engine.close()


def engine_killed(x: np.ndarray) -> tuple[float, float]:
    engine = Engine()
    try:
        _, hosts = engine.two_host_job(x)
        tree = descendants(engine.info.pid)
        host_processes = {p for p in tree if p[0] in hosts.values()}
        os.kill(engine.info.pid, signal.SIGKILL)
        killed = time.monotonic()
        hosts_gone = None
        while left := running(tree):
            if hosts_gone is None and not left & host_processes:
                hosts_gone = time.monotonic() - killed
            time.sleep(0.02)
        everything = time.monotonic() - killed
        return hosts_gone if hosts_gone is not None else everything, everything
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    (train, _), _, _ = mnist_splits()
    x = train[:1000]

    print("1. algo-2 of a 2-host job killed (SIGKILL)")
    print(f"{'round':>5}  {'job Failed after':>16}  {'hosts gone after':>16}")
    rows = [host_killed(x) for _ in range(args.rounds)]
    for index, (failed, gone, _) in enumerate(rows, 1):
        print(f"{index:>5}  {failed:>14.2f} s  {gone:>14.2f} s")
    print(f"{'median':>5}  {statistics.median(r[0] for r in rows):>14.2f} s  {statistics.median(r[1] for r in rows):>14.2f} s")
    print(f"FailureReason: {rows[-1][2]}")

    print("\n2. the engine killed (SIGKILL) during a 2-host job")
    print(f"{'round':>5}  {'hosts gone after':>16}  {'all its processes gone after':>28}")
    rows2 = [engine_killed(x) for _ in range(args.rounds)]
    for index, (hosts, everything) in enumerate(rows2, 1):
        print(f"{index:>5}  {hosts:>14.2f} s  {everything:>26.2f} s")
    print(f"{'median':>5}  {statistics.median(r[0] for r in rows2):>14.2f} s  {statistics.median(r[1] for r in rows2):>26.2f} s")


if __name__ == "__main__":
    main()
