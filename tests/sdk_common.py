"""What the SDK 2.x and 3.x script tests share: running a user's script through ``sm-magics local run``.

The script runs in a clean environment (no AWS variables of the caller's) with a
network guard that records and refuses every connection to a host other than
the loopback; its last printed line is a JSON summary. Imported by
``tests/sdk2`` (in ``.venv``) and ``tests/sdk3`` (in ``.venv-sdk3``).
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError


def sdk_major() -> int | None:
    try:
        return int(importlib.metadata.version("sagemaker").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None


def needs_sdk(major: int, how_to_run: str) -> list[pytest.MarkDecorator]:
    """The ``pytestmark`` of a module that needs SageMaker SDK ``major``.x in this interpreter."""
    return [
        getattr(pytest.mark, f"sdk{major}"),
        pytest.mark.skipif(
            sdk_major() != major,
            reason=f"needs the SageMaker SDK {major}.x in this interpreter (found: {sdk_major() or 'none'}); {how_to_run}",
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

    def succeeded(self) -> dict[str, Any]:
        """The summary of a script that exited 0 without trying to leave the machine."""
        assert self.process.returncode == 0, self.explain()
        assert self.off_machine == [], f"the script tried to leave the machine: {self.off_machine}"
        return self.summary


def run_user_script(engine: Any, script: Path, workdir: Path, timeout: float = 300) -> ScriptRun:
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
        "--", sys.executable, str(script),
    ]  # fmt: skip
    process = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    return ScriptRun(process, network_log)


def check_clusters(clusters: list[float], distances: list[float], rows: int) -> None:
    """k-means (k=10) answers for ``rows`` MNIST digits: cluster ids, and finite distances inside the pixel cube."""
    assert len(clusters) == rows and len(distances) == rows
    for cluster in clusters:
        assert float(cluster).is_integer() and 0 <= cluster <= 9, f"closest_cluster {cluster!r} is not a cluster id of k=10"
    assert len({int(c) for c in clusters}) >= 5, f"100 digits fell into only {sorted(set(clusters))}"
    for distance in distances:
        assert math.isfinite(distance) and distance >= 0, f"distance_to_cluster {distance!r}"
    # MNIST pixels are in [0, 1]: no digit is further than sqrt(784) = 28 from a centroid inside that cube
    assert max(distances) < 28


def assert_default_identity(result: dict[str, Any]) -> None:
    """The role and default bucket the SDK found, as it finds them on AWS."""
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@/-]+", result["role"]), result["role"]
    assert result["bucket"] == "sagemaker-us-east-1-123456789012"


def completed_job(aws: Any, result: dict[str, Any]) -> dict[str, Any]:
    """The script's training job as boto3 describes it: Completed, its model artifact in S3 where the script says."""
    job = aws.sagemaker.describe_training_job(TrainingJobName=result["job_name"])
    assert job["TrainingJobStatus"] == "Completed"
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == result["model_data"]
    bucket, key = result["model_data"][len("s3://") :].split("/", 1)
    assert aws.s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    return job


def assert_gone(call: Any, **kwargs: Any) -> None:
    """A Describe* of a deleted resource: ValidationException, "Could not find ..."."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Could not find" in caught.value.response["Error"]["Message"]


def assert_deleted(aws: Any, endpoint: str, endpoint_config: str, model: str | None = None) -> None:
    """The endpoint and its config (and the model, when named) that the script deleted are gone."""
    assert_gone(aws.sagemaker.describe_endpoint, EndpointName=endpoint)
    assert_gone(aws.sagemaker.describe_endpoint_config, EndpointConfigName=endpoint_config)
    if model is not None:
        assert_gone(aws.sagemaker.describe_model, ModelName=model)


# ------------------------------------------------------- algorithms acceptance (issue 3)


def all_children(aws, tuning_job: str) -> list[dict]:
    summaries, token = [], None
    while True:
        page = aws.sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=tuning_job, MaxResults=100, **({"NextToken": token} if token else {})
        )
        summaries += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            return summaries


def most_at_once(summaries: list[dict]) -> int:
    """The largest number of training jobs whose [start, end] intervals overlap."""
    events = []
    for s in summaries:
        events += [(s["TrainingStartTime"], 1), (s["TrainingEndTime"] + timedelta(microseconds=1), -1)]
    running = most = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        running += step
        most = max(most, running)
    return most


def check_projections(projections: np.ndarray, digits: np.ndarray) -> None:
    """The digits' coordinates on their top 50 principal axes, row for row (the script sent 6 significant digits)."""
    assert projections.shape == (len(digits), 50) and np.isfinite(projections).all()
    assert np.abs(projections.mean(axis=0)).max() < 1e-3, "PCA subtracts the mean by default"
    centred = digits.astype(np.float64) - digits.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / len(digits))
    top = eigenvalues[::-1][:50]
    np.testing.assert_allclose(np.sort(projections.var(axis=0))[::-1], top, rtol=1e-3)
    # row order: the column with the largest variance is each digit's coordinate on the first axis (up to sign)
    first = projections[:, np.argmax(projections.var(axis=0))]
    expected = centred @ eigenvectors[:, -1]
    assert abs(np.corrcoef(first, expected)[0, 1]) > 0.9999


def read_s3(aws, uri: str) -> bytes:
    bucket, key = uri[len("s3://") :].split("/", 1)
    return aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def check_zero_classifier(result: dict, test_labels: np.ndarray, run: "ScriptRun", record_property: Any) -> None:
    """What the user computed from the endpoint's answers: a full confusion matrix of "is it a zero?", F1 >= 0.9."""
    assert result["predictions"] == len(test_labels)
    confusion = np.array(result["confusion"])
    assert confusion.sum() == len(test_labels)
    assert confusion[1].sum() == int((test_labels == 0).sum()), "row 1 of the confusion matrix is not the test set's zeros"
    record_property("f1", result["f1"])  # the figure, for --junitxml reports
    assert result["f1"] >= 0.9, f"F1 of the positive class {result['f1']:.4f} (confusion {result['confusion']})\n" + run.explain()
