"""Starting, stopping and finding the engine process, from the client side (CLI, kernel, panel).

The engine runs as its own background process (a new session, so closing the
terminal or restarting a kernel does not take it down) and announces itself
in ``<data-dir>/engine.json``. One engine serves a data dir: the engine
process holds the dir's lock (``datadir_lock``) for its life, so concurrent
starts end with one engine and every caller is told about that one. Clients
reach it only over HTTP, with the environment ``client_env`` describes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import constants
from .i18n import _
from .local import credentials, datadir_lock
from .local.credentials import Credentials

DATA_DIR_ENV = "SM_MAGICS_LOCAL_DATA_DIR"
PORT_ENV = "SM_MAGICS_LOCAL_PORT"

SDK_CONFIG = """\
# Written by sm_magics: keeps the SageMaker SDK's telemetry on this machine
# while it talks to the local engine.
SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""


class EngineError(RuntimeError):
    """The engine could not be started or reached; the message says what to do."""


@dataclass(frozen=True)
class EngineInfo:
    url: str
    port: int
    pid: int
    data_dir: Path
    credentials: Credentials


def default_data_dir() -> Path:
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    import platformdirs

    return platformdirs.user_cache_path("sm_magics") / "local"


def default_port() -> int:
    return int(os.environ.get(PORT_ENV, constants.DEFAULT_PORT))


def _health(url: str, timeout: float = 2.0) -> dict | None:
    try:
        with urllib.request.urlopen(url + constants.HEALTH_PATH, timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def status(data_dir: Path | None = None) -> EngineInfo | None:
    """The engine serving ``data_dir``, if one is running and answering."""
    data_dir = (data_dir or default_data_dir()).expanduser().resolve()
    try:
        announced = json.loads((data_dir / "engine.json").read_text())
    except (OSError, ValueError):
        return None
    health = _health(announced["url"])
    if not health or Path(health.get("data_dir", "")) != data_dir:
        return None
    # the pid the engine answering gives, not the file's: after a kill -9 the file is the dead engine's
    # until the new one (already answering on the same port) has written its own
    pid = int(health.get("pid") or announced["pid"])
    return EngineInfo(announced["url"], int(announced["port"]), pid, data_dir, credentials.load_or_create(data_dir))


def start(port: int | None = None, data_dir: Path | None = None, timeout: float = 120.0) -> EngineInfo:
    """Start the engine in the background, or return the one already serving ``data_dir`` (on whatever port)."""
    return start_or_find(port, data_dir, timeout)[0]


def start_or_find(port: int | None = None, data_dir: Path | None = None, timeout: float = 120.0) -> tuple[EngineInfo, bool]:
    """The engine serving ``data_dir``, and whether this call started it.

    Which engine serves a data dir is settled by the engine processes, not
    here: each takes the dir's lock (``datadir_lock``) first, and one that
    finds it taken exits at once. So two starts at the same time (threads,
    processes, different ports) both launch an engine, one of them serves,
    and both callers are told about that one.
    """
    data_dir = (data_dir or default_data_dir()).expanduser().resolve()
    running = status(data_dir)
    if running is not None:
        return running, False
    port = port or default_port()
    other = _health(f"http://{constants.HOST}:{port}", timeout=1.0)
    if other is not None and Path(other.get("data_dir", "")) != data_dir:
        raise EngineError(_("port {port} already serves a local engine for {data_dir}; use that data dir, stop it with {command}, "
                            "or pass {option}").format(port=port, data_dir=other.get("data_dir"), option="--port",
                                                       command=f"`sm-magics local stop --data-dir {other.get('data_dir')}`"))
    credentials.load_or_create(data_dir)  # also makes the data dir, 0700
    log_path = data_dir / "engine.log"
    process = _launch(port, data_dir, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = status(data_dir)
        if info is not None:
            return info, info.pid == process.pid
        code = process.poll()
        if code == datadir_lock.ALREADY_SERVED_EXIT:
            # another engine has the data dir: wait for it to answer, or launch again if it died starting
            if datadir_lock.read_holder(data_dir, wait=0.5) is None:
                process = _launch(port, data_dir, log_path)
        elif code is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise EngineError(_("the local engine exited at start (code {code}): {log}").format(code=code, log=" | ".join(tail)))
        time.sleep(0.05)  # a health check is a local HTTP call: a short poll returns the engine sooner
    if process.poll() is None:
        process.terminate()
    raise EngineError(_("the local engine did not answer within {seconds} s; see {log}").format(seconds=f"{timeout:.0f}", log=log_path))


def _launch(port: int, data_dir: Path, log_path: Path) -> subprocess.Popen:
    """An engine process for ``data_dir`` in a session of its own, its output appended to ``engine.log``."""
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "sm_magics.local", "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


@dataclass(frozen=True)
class StopOutcome:
    """What ``stop_engine`` found: whether an engine was running, and what it said it could not save."""

    was_running: bool
    problems: tuple[str, ...] = ()


def durability(info: EngineInfo) -> dict:
    """The engine's own account of its data: ``unsaved`` changes, refused writes, ``recovery`` findings at start.

    It names buckets and keys, so it is asked for like any API call: signed with the data dir's keys.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as Keys

    request = AWSRequest(method="GET", url=info.url + constants.DURABILITY_PATH)
    keys = info.credentials
    SigV4Auth(Keys(keys.access_key_id, keys.secret_access_key, keys.session_token), "sagemaker", constants.DEFAULT_REGION).add_auth(request)
    try:
        with urllib.request.urlopen(urllib.request.Request(request.url, headers=dict(request.headers)), timeout=5) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return {}


def stop_engine(data_dir: Path | None = None, timeout: float = 60.0) -> StopOutcome:
    """Stop the engine serving ``data_dir`` and report truthfully what it could not save.

    Every change the engine acknowledged is already on disk (it saves before it
    answers); what can be missing is background progress (a job's status, log
    lines) it could not write, and requests it refused for that reason. Both are
    asked of the engine just before the stop signal. Returns once the engine's process
    has ended (its training hosts end before it does): its pid is gone, or its data
    dir's lock is free (the kernel drops it as the process ends; a process that started
    the engine and never reaps it keeps it as a zombie, which holds nothing).
    """
    info = status(data_dir)
    if info is None:
        return StopOutcome(False)
    report = durability(info)
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _ended(info.pid) or datadir_lock.is_free(info.data_dir):
            break
        time.sleep(0.1)
    else:
        raise EngineError(_("the local engine (pid {pid}) did not stop within {seconds} s").format(pid=info.pid, seconds=f"{timeout:.0f}"))
    problems = [f"could not write {item}" for item in report.get("unsaved", [])]
    refused = report.get("refused_s3_writes", 0)
    if report.get("last_refusal"):
        problems.append(
            f"refused {refused or 'some'} request(s) it could not save (nothing of them was applied); last: {report['last_refusal']}"
        )
    return StopOutcome(True, tuple(problems))


def stop(data_dir: Path | None = None, timeout: float = 60.0) -> bool:
    """Stop the engine serving ``data_dir``. False if none was running (``stop_engine`` also says what was not saved)."""
    return stop_engine(data_dir, timeout).was_running


def _ended(pid: int) -> bool:
    try:  # an engine this process started stays a zombie until it is reaped here
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:  # not our child: someone else reaps it
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def client_env(info: EngineInfo, region: str | None = None) -> dict[str, str]:
    """Environment variables that point boto3 and both SageMaker SDK majors at the engine."""
    from .redirect import FOLDER

    region = region or constants.DEFAULT_REGION
    config = info.data_dir / "sagemaker-sdk-config.yaml"
    if not config.exists() or config.read_text() != SDK_CONFIG:
        config.write_text(SDK_CONFIG)
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != FOLDER]
    return {
        "AWS_ENDPOINT_URL": info.url,
        "AWS_ACCESS_KEY_ID": info.credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": info.credentials.secret_access_key,
        "AWS_SESSION_TOKEN": info.credentials.session_token,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
        "SM_MAGICS_LOCAL_ENDPOINT": info.url,
        "PYTHONPATH": os.pathsep.join([FOLDER, *rest]),
    }


# Variables that would take the SDKs away from the engine (a named profile wins over key variables).
CLEARED_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
