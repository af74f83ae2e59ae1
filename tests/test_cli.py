"""``sm-magics local ...`` as a user types it: start/stop/status, env, run.

Every command runs as a real subprocess (``python -m sm_magics.cli``) in an
environment without the caller's AWS variables, plus a deliberately wrong
``AWS_PROFILE`` and keys where the CLI is expected to take over. Tests that
start or stop engines use their own data dir and port; the others reuse the
session's engine through its data dir and port.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import free_port

from sm_magics import launcher
from sm_magics.local import settings

ASSUMED_ROLE = re.compile(r"arn:aws:sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+")


def user_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_", "SM_MAGICS_"))}
    env.update(extra)
    return env


# what a user might have in their shell that must not take the engine's clients elsewhere
STRAY_AWS = {
    "AWS_PROFILE": "production-account-that-does-not-exist",
    "AWS_ACCESS_KEY_ID": "AKIAREALLOOKINGKEY00",
    "AWS_SECRET_ACCESS_KEY": "not-the-engine-secret",
    "AWS_DEFAULT_REGION": "eu-central-1",
}


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sm_magics.cli", "local", *args],
        env=env if env is not None else user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def where(engine: launcher.EngineInfo) -> list[str]:
    return ["--data-dir", str(engine.data_dir), "--port", str(engine.port)]


def _sdk_major() -> int | None:
    try:
        return int(importlib.metadata.version("sagemaker").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None


# ------------------------------------------------------------------ start / status / stop


@pytest.fixture
def own_data_dir(tmp_path: Path):
    data_dir = tmp_path / "engine"
    yield data_dir
    launcher.stop(data_dir)


def test_start_is_idempotent_and_status_follows(own_data_dir: Path) -> None:
    port = str(free_port())
    stopped = cli("status", "--data-dir", str(own_data_dir))
    assert stopped.returncode == 1, stopped
    assert "not running" in stopped.stdout

    first = cli("start", "--data-dir", str(own_data_dir), "--port", port)
    assert first.returncode == 0, first.stderr
    match = re.search(r"engine started at (http://127\.0\.0\.1:(\d+)) \(pid (\d+)", first.stdout)
    assert match, first.stdout
    url, pid = match[1], match[3]
    assert match[2] == port

    second = cli("start", "--data-dir", str(own_data_dir), "--port", port)
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stdout, second.stdout
    assert f"(pid {pid}," in second.stdout and url in second.stdout

    # a bare `start` for the same data dir (no --port) finds it too
    third = cli("start", "--data-dir", str(own_data_dir))
    assert third.returncode == 0 and "already running" in third.stdout and f"(pid {pid}," in third.stdout, third

    running = cli("status", "--data-dir", str(own_data_dir))
    assert running.returncode == 0, running
    assert f"running at {url} (pid {pid}" in running.stdout

    stop = cli("stop", "--data-dir", str(own_data_dir))
    assert stop.returncode == 0 and "stopped" in stop.stdout, stop
    after = cli("status", "--data-dir", str(own_data_dir))
    assert after.returncode == 1 and "not running" in after.stdout, after
    again = cli("stop", "--data-dir", str(own_data_dir))
    assert again.returncode == 0 and "no local SageMaker engine is running" in again.stdout, again


def test_start_on_a_port_another_engine_serves_says_what_to_do(engine: launcher.EngineInfo, tmp_path: Path) -> None:
    other = cli("start", "--data-dir", str(tmp_path / "other"), "--port", str(engine.port))
    assert other.returncode == 2, other
    assert "already serves a local engine" in other.stderr and "--port" in other.stderr, other.stderr
    assert "Traceback" not in other.stderr
    assert launcher.status(tmp_path / "other") is None
    assert launcher.status(engine.data_dir) is not None  # the engine on that port is untouched


# ----------------------------------------------------------------------------------- env


def test_env_prints_exports_that_point_boto3_at_the_engine(engine: launcher.EngineInfo) -> None:
    printed = cli("env", *where(engine))
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert lines[0].startswith("unset ") and "AWS_PROFILE" in lines[0].split()
    exports = {}
    for line in lines[1:]:
        assert line.startswith("export "), line
        key, _, value = line[len("export ") :].partition("=")
        exports[key] = shlex.split(value)[0]
    assert exports["AWS_ENDPOINT_URL"] == engine.url
    assert exports["AWS_DEFAULT_REGION"] == "us-east-1" and exports["AWS_REGION"] == "us-east-1"
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert exports.get(key), key
    config = Path(exports["SAGEMAKER_USER_CONFIG_OVERRIDE"])
    assert re.search(r"TelemetryOptOut:\s*true", config.read_text())

    # applied in a shell that has stray AWS settings, boto3 reaches the engine as an assumed role
    probe = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn']); print(len(boto3.client('sagemaker').list_training_jobs()['TrainingJobSummaries']) >= 0)"
    shell = f'eval "$({shlex.join([sys.executable, "-m", "sm_magics.cli", "local", "env", *where(engine)])})" && {shlex.quote(sys.executable)} -c {shlex.quote(probe)}'
    applied = subprocess.run(["bash", "-c", shell], env=user_env(**STRAY_AWS), capture_output=True, text=True, timeout=120)
    assert applied.returncode == 0, applied.stderr
    arn, listed = applied.stdout.split()
    assert ASSUMED_ROLE.fullmatch(arn), arn
    assert arn.startswith(f"arn:aws:sts::{settings.ACCOUNT_ID}:assumed-role/")
    assert listed == "True"


# ----------------------------------------------------------------------------------- run

CHILD = textwrap.dedent(
    """
    import json, os
    import boto3
    sts = boto3.client("sts")
    print(json.dumps({
        "env": {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "SAGEMAKER_USER_CONFIG_OVERRIDE")},
        "arn": sts.get_caller_identity()["Arn"],
        "buckets": [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]],
        "endpoints": boto3.client("sagemaker").list_endpoints()["Endpoints"] is not None,
    }))
    """
)


def test_run_gives_the_command_the_engine(engine: launcher.EngineInfo) -> None:
    ran = cli("run", *where(engine), "--", sys.executable, "-c", CHILD, env=user_env(**STRAY_AWS))
    assert ran.returncode == 0, ran.stderr
    child = json.loads(ran.stdout.strip().splitlines()[-1])
    assert child["env"]["AWS_ENDPOINT_URL"] == engine.url
    assert child["env"]["AWS_REGION"] == "us-east-1" and child["env"]["AWS_DEFAULT_REGION"] == "us-east-1"
    assert child["env"]["AWS_PROFILE"] is None
    assert child["env"]["AWS_ACCESS_KEY_ID"] == engine.credentials.access_key_id
    assert Path(child["env"]["SAGEMAKER_USER_CONFIG_OVERRIDE"]).is_file()
    assert ASSUMED_ROLE.fullmatch(child["arn"]), child["arn"]
    assert "sagemaker-sample-files" in child["buckets"]  # the engine's seeded public sample bucket
    assert child["endpoints"] is True


def test_run_passes_the_exit_code_and_output_through(engine: launcher.EngineInfo) -> None:
    ran = cli("run", *where(engine), "--", sys.executable, "-c", "import sys; print('hello from the child'); sys.exit(3)")
    assert ran.returncode == 3
    assert ran.stdout.strip() == "hello from the child"


@pytest.mark.sdk2
@pytest.mark.skipif(_sdk_major() != 2, reason="needs the SageMaker SDK 2.x in this interpreter; run in .venv")
def test_run_child_sdk2_default_bucket_and_role(engine: launcher.EngineInfo) -> None:
    """SDK 2 pins STS to https://sts.<region>.amazonaws.com: the redirect must carry it to the engine."""
    code = "import json, sagemaker; s = sagemaker.Session(); print(json.dumps([s.default_bucket(), sagemaker.get_execution_role()]))"
    ran = cli("run", *where(engine), "--", sys.executable, "-c", code, env=user_env(**STRAY_AWS))
    assert ran.returncode == 0, ran.stderr[-3000:]
    bucket, role = json.loads(ran.stdout.strip().splitlines()[-1])
    assert bucket == f"sagemaker-us-east-1-{settings.ACCOUNT_ID}"
    assert re.fullmatch(rf"arn:aws:iam::{settings.ACCOUNT_ID}:role/[\w+=,.@/-]+", role), role


@pytest.mark.parametrize("args", [[], ["--"]], ids=["nothing", "bare-dashes"])
def test_run_without_a_command_says_so_in_one_line(tmp_path: Path, args: list[str]) -> None:
    data_dir = tmp_path / "engine"
    ran = cli("run", "--data-dir", str(data_dir), "--port", str(free_port()), *args)
    assert ran.returncode != 0
    message = ran.stderr.strip()
    assert len(message.splitlines()) == 1, ran.stderr
    assert "sm-magics local run" in message and "command" in message and "--" in message, message
    assert ran.stdout == ""
    assert launcher.status(data_dir) is None  # no engine was started for nothing


def test_run_with_an_unknown_command_says_so(engine: launcher.EngineInfo) -> None:
    ran = cli("run", *where(engine), "--", "sm-magics-no-such-command-xyz")
    assert ran.returncode != 0
    message = ran.stderr.strip()
    assert len(message.splitlines()) == 1 and "command not found: sm-magics-no-such-command-xyz" in message, ran.stderr
