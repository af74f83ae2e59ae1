"""SageMaker SDK 2.x users' scripts, unmodified, run through ``sm-magics local run`` against the engine.

Each script is a plain tutorial-style program (``scripts/``) that knows nothing
of the engine; the CLI alone points boto3 and the SDK at it. The tests check
what the user sees: the exit code, the results the script prints (its last
line is a JSON summary), the resources it left behind as boto3 describes them,
and that nothing it did left the machine (every connection attempt to a host
other than the loopback is recorded and refused).
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def _sdk_major() -> int | None:
    try:
        return int(importlib.metadata.version("sagemaker").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None


pytestmark = [
    pytest.mark.sdk2,
    pytest.mark.skipif(
        _sdk_major() != 2,
        reason=f"needs the SageMaker SDK 2.x in this interpreter (found: {_sdk_major() or 'none'}); run in .venv",
    ),
]

# Written into PYTHONPATH for the script's interpreter: the engine's redirect
# sitecustomize runs first and then chains to this one, which refuses (and
# records) every connection to a host other than the loopback.
NETWORK_GUARD = '''
import os as _os
import socket as _socket

_LOG = _os.environ.get("SM_TEST_NETWORK_LOG")
_LOCAL = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def _leaves(host):
    if host is None:
        return False
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return str(host) not in _LOCAL


def _refuse(what):
    with open(_LOG, "a") as log:
        log.write(what + "\\n")
    raise OSError(101, "network is unreachable (test guard: only 127.0.0.1 may be reached): " + what)


if _LOG:
    _getaddrinfo = _socket.getaddrinfo
    _connect = _socket.socket.connect
    _connect_ex = _socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):
        if _leaves(host):
            _refuse(f"getaddrinfo {host!r}")
        return _getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        if self.family in (_socket.AF_INET, _socket.AF_INET6) and _leaves(address[0]):
            _refuse(f"connect {address!r}")
        return _connect(self, address)

    def connect_ex(self, address):
        if self.family in (_socket.AF_INET, _socket.AF_INET6) and _leaves(address[0]):
            _refuse(f"connect_ex {address!r}")
        return _connect_ex(self, address)

    _socket.getaddrinfo = getaddrinfo
    _socket.socket.connect = connect
    _socket.socket.connect_ex = connect_ex
'''


class ScriptRun:
    def __init__(self, process: subprocess.CompletedProcess, network_log: Path) -> None:
        self.process = process
        self.stdout: str = process.stdout
        self.stderr: str = process.stderr
        self.off_machine = network_log.read_text().splitlines() if network_log.exists() else []

    def explain(self) -> str:
        return f"exit code {self.process.returncode}\n--- stdout (tail) ---\n{self.stdout[-4000:]}\n--- stderr (tail) ---\n{self.stderr[-6000:]}"

    @property
    def summary(self) -> dict[str, Any]:
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        assert lines, "the script printed nothing\n" + self.explain()
        return json.loads(lines[-1])


def run_user_script(engine: Any, script: str, workdir: Path, timeout: float = 300) -> ScriptRun:
    """``sm-magics local run -- python <script>`` in a clean environment (no AWS variables of the caller's)."""
    guard = workdir / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD)
    network_log = workdir / "off-machine.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_", "SM_MAGICS_"))}
    env.update(PYTHONPATH=str(guard), SM_TEST_NETWORK_LOG=str(network_log), HOME=str(workdir), PYTHONUNBUFFERED="1")
    command = [
        sys.executable, "-m", "sm_magics.cli", "local", "run",
        "--data-dir", str(engine.data_dir), "--port", str(engine.port),
        "--", sys.executable, str(SCRIPTS / script),
    ]  # fmt: skip
    process = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    return ScriptRun(process, network_log)


def _check_clusters(clusters: list[float], distances: list[float], rows: int) -> None:
    assert len(clusters) == rows and len(distances) == rows
    for cluster in clusters:
        assert float(cluster).is_integer() and 0 <= cluster <= 9, f"closest_cluster {cluster!r} is not a cluster id of k=10"
    assert len({int(c) for c in clusters}) >= 5, f"100 digits fell into only {sorted(set(clusters))}"
    for distance in distances:
        assert math.isfinite(distance) and distance >= 0, f"distance_to_cluster {distance!r}"
    # MNIST pixels are in [0, 1]: no digit is further than sqrt(784) = 28 from a centroid inside that cube
    assert max(distances) < 28


def _assert_gone(call: Any, **kwargs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Could not find" in caught.value.response["Error"]["Message"]


def test_kmeans_estimator_tutorial(engine, aws, tmp_path: Path) -> None:
    """KMeans(...).fit(record_set) -> deploy -> predict -> delete_endpoint, as the tutorial notebook does it."""
    run = run_user_script(engine, "kmeans_highlevel.py", tmp_path)
    assert run.process.returncode == 0, run.explain()
    assert run.off_machine == [], f"the script tried to leave the machine: {run.off_machine}"
    result = run.summary

    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@/-]+", result["role"]), result["role"]
    assert result["bucket"] == "sagemaker-us-east-1-123456789012"
    assert result["region"] == "us-east-1"
    assert 0 <= result["single"] <= 9
    _check_clusters(result["clusters"], result["distances"], 100)

    # what fit() printed: the job's CloudWatch logs and the SDK's closing lines
    assert "Completed - Training job completed" in run.stdout, run.explain()
    assert re.search(r"Training seconds: \d+", run.stdout), run.explain()
    assert re.search(r"Billable seconds: \d+", run.stdout), run.explain()

    job = aws.sagemaker.describe_training_job(TrainingJobName=result["job_name"])
    assert job["TrainingJobStatus"] == "Completed"
    assert job["ResourceConfig"]["InstanceCount"] == 2
    assert job["HyperParameters"]["k"] == "10" and job["HyperParameters"]["feature_dim"] == "784"
    channel = job["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert channel["S3DataType"] == "ManifestFile" and channel["S3DataDistributionType"] == "ShardedByS3Key"
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == result["model_data"]
    assert result["model_data"].startswith(f"s3://{result['bucket']}/kmeans_example/output/{result['job_name']}/")
    bucket, key = result["model_data"][len("s3://") :].split("/", 1)
    assert aws.s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0

    # both hosts wrote a log stream, which fit(logs=True) printed from
    streams = aws.logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=result["job_name"] + "/")
    assert len(streams["logStreams"]) == 2

    # delete_endpoint() removed the endpoint and its config
    _assert_gone(aws.sagemaker.describe_endpoint, EndpointName=result["endpoint_name"])
    _assert_gone(aws.sagemaker.describe_endpoint_config, EndpointConfigName=result["endpoint_name"])


def test_kmeans_boto3_low_level(engine, aws, tmp_path: Path) -> None:
    """create_training_job + waiters + create_model/endpoint_config/endpoint + invoke_endpoint(text/csv) + deletes."""
    run = run_user_script(engine, "kmeans_boto3.py", tmp_path)
    assert run.process.returncode == 0, run.explain()
    assert run.off_machine == [], f"the script tried to leave the machine: {run.off_machine}"
    result = run.summary

    assert result["status"] == "Completed" and result["secondary_status"] == "Completed"
    assert result["endpoint_status"] == "InService"
    assert result["response_content_type"].startswith("application/json")
    _check_clusters(result["clusters"], result["distances"], 100)

    job = aws.sagemaker.describe_training_job(TrainingJobName=result["job_name"])
    assert job["TrainingJobStatus"] == "Completed"
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == result["model_data"]
    bucket, key = result["model_data"][len("s3://") :].split("/", 1)
    assert aws.s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0

    _assert_gone(aws.sagemaker.describe_endpoint, EndpointName=result["endpoint_name"])
    _assert_gone(aws.sagemaker.describe_endpoint_config, EndpointConfigName=result["config_name"])
    _assert_gone(aws.sagemaker.describe_model, ModelName=result["model_name"])
