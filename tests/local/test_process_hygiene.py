"""Process hygiene of the local engine: one engine per data dir, and no training process outlives its job or its engine.

Every test runs real engine processes on free ports in tmp data dirs and looks
at the machine's process table (``ps``, on Linux and macOS alike), as a user
would with ``ps`` after the fact:

* two ``sm-magics local start`` at the same moment on one data dir, on two
  ports: one engine serves, both commands name it, ``status`` names it; a
  second ``serve`` on that dir exits at once and says which engine has it;
* a 2-host k-means job whose non-leader host is killed (kill -9) is Failed
  soon after, with an AlgorithmError that names the host, and none of its
  processes is left;
* kill -9 of the engine during a 2-host job: its hosts, the forkserver and the
  resource tracker all end; started again, the engine reports the job Failed
  because the engine stopped;
* ``sm-magics local stop`` during a 2-host job leaves no process behind;
* the leader's own wait for its peers' results ends when a peer is gone
  without sending one (the supervisor usually fails the job first).

The waits below are generous bounds for a loaded machine, not speed goals;
benchmarks/process_hygiene.py measures how fast these things happen.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterable

import boto3
import numpy as np
import pytest
from helpers import BUCKET, LOG_GROUP, Clients, ensure_bucket, free_port, put, training_request, unique, wait_training

from sm_magics import launcher
from sm_magics.local import datadir_lock, settings
from sm_magics.local.algorithms.base import AlgorithmError
from sm_magics.local.training.container import _gather_partials
from sm_magics.formats import recordio

# ~7 ms an epoch on each host's 500 rows on an idle machine: minutes, far longer than any test here lets the job run
LONG_JOB = {"k": "10", "feature_dim": "784", "mini_batch_size": "100", "epochs": "20000"}
BOUND = 60.0  # seconds: how long a test waits for what should happen in a second or two


# ------------------------------------------------------------------------- processes


def process_table() -> dict[int, tuple[int, str, str, str]]:
    """pid -> (parent pid, state, start time, command line), from ``ps``.

    The start time tells a process from a later one that got its pid back (pids wrap fast on a busy machine).
    """
    listing = subprocess.run(
        ["ps", "-ww", "-A", "-o", "pid=,ppid=,stat=,lstart=,args="], capture_output=True, text=True, check=True
    ).stdout
    table = {}
    for line in listing.splitlines():
        parts = line.split(None, 8)
        if len(parts) >= 8:
            table[int(parts[0])] = (int(parts[1]), parts[2], " ".join(parts[3:8]), parts[8] if len(parts) > 8 else "")
    return table


Process = tuple[int, str]  # (pid, start time)


def descendants(pid: int) -> dict[Process, str]:
    """Every process below ``pid`` (children, their children, ...) with its command line."""
    table = process_table()
    found: dict[Process, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _, started, args) in table.items():
            if ppid == parent and (child, started) not in found:
                found[(child, started)] = args
                frontier.append(child)
    return found


def running(processes: Iterable[Process]) -> list[Process]:
    """Those of ``processes`` that still run (a zombie only waits for its exit status to be read: it runs nothing)."""
    table = process_table()
    return sorted(
        (pid, started) for pid, started in processes
        if pid in table and table[pid][2] == started and not table[pid][1].startswith("Z")
    )


def wait_until_gone(processes: Iterable[Process], limit: float = BOUND) -> list[Process]:
    """What of ``processes`` still runs after at most ``limit`` seconds."""
    processes = list(processes)
    deadline = time.monotonic() + limit
    while (left := running(processes)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def identities(pids: Iterable[int]) -> list[Process]:
    table = process_table()
    return [(pid, table[pid][2]) for pid in pids if pid in table]


def engines_serving(data_dir: Path) -> list[int]:
    """Pids of engine processes (``python -m sm_magics.local serve``) for ``data_dir``."""
    table = process_table()
    return sorted(
        pid for pid, (_, state, _, args) in table.items()
        if "sm_magics.local serve" in args and f"--data-dir {data_dir}" in args and not state.startswith("Z")
    )


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + settings.HEALTH_PATH, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


# ------------------------------------------------------------------------- engines


def user_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_", "SM_MAGICS_"))}


class OwnEngine:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.info: launcher.EngineInfo | None = None

    def start(self) -> Clients:
        self.info = launcher.start(port=self.port, data_dir=self.data_dir)
        session = boto3.Session(**self.info.credentials.as_boto3(), region_name="us-east-1")
        return Clients(session, self.info.url)


@pytest.fixture
def own_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SM_MAGICS_LOCAL_SYNC_SECONDS", "0")  # CreateTrainingJob returns at once
    own = OwnEngine(tmp_path / "engine", free_port())
    yield own
    launcher.stop(own.data_dir)


def start_two_host_job(aws: Clients, x: np.ndarray) -> str:
    """A long 2-host k-means job on two shards; returns once its leader is training."""
    name = unique("hygiene")
    ensure_bucket(aws)
    for index, part in enumerate(np.array_split(x[:1000], 2)):
        put(aws, f"data/{name}/matrix_{index}.pbr", recordio.encode_dense(part))
    request = training_request(name, f"s3://{BUCKET}/data/{name}/", LONG_JOB)
    request["ResourceConfig"]["InstanceCount"] = 2
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "ShardedByS3Key"
    aws.sagemaker.create_training_job(**request)
    deadline = time.monotonic() + BOUND
    while True:
        job = aws.sagemaker.describe_training_job(TrainingJobName=name)
        if job["SecondaryStatus"] == "Training" or job["TrainingJobStatus"] != "InProgress" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert job["TrainingJobStatus"] == "InProgress" and job["SecondaryStatus"] == "Training", (
        job["TrainingJobStatus"], job["SecondaryStatus"], job.get("FailureReason")
    )
    return name


def host_pids(aws: Clients, job_name: str) -> dict[int, int]:
    """{host number: pid}, read where a user reads it: each host's log lines carry its pid (``[... INFO <pid>] ...``)."""
    pids: dict[int, int] = {}
    deadline = time.monotonic() + BOUND
    while len(pids) < 2 and time.monotonic() < deadline:
        for stream in aws.logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=job_name + "/")["logStreams"]:
            host = int(re.search(r"/algo-(\d+)-", stream["logStreamName"])[1])
            events = aws.logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream["logStreamName"], startFromHead=True)["events"]
            for event in events:
                if found := re.match(r"\[[^\]]* INFO (\d+)\]", event["message"]):
                    pids[host] = int(found[1])
                    break
        time.sleep(0.2)
    assert sorted(pids) == [1, 2], f"the hosts' log lines did not show their pids: {pids}"
    return pids


# ------------------------------------------------------------------ one engine per data dir


START_LINE = re.compile(r"local SageMaker engine (started|already running) at (http://127\.0\.0\.1:(\d+)) \(pid (\d+),")


def test_two_starts_at_once_on_one_data_dir_make_one_engine(tmp_path: Path) -> None:
    data_dir = tmp_path / "engine"
    ports = [free_port(), free_port()]
    commands = [
        subprocess.Popen(
            [sys.executable, "-m", "sm_magics.cli", "local", "start", "--port", str(port), "--data-dir", str(data_dir)],
            env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for port in ports
    ]
    try:
        outputs = [command.communicate(timeout=240) for command in commands]
        for command, (out, err) in zip(commands, outputs):
            assert command.returncode == 0, err
        said = [START_LINE.search(out) for out, _ in outputs]
        assert all(said), [out for out, _ in outputs]
        assert sorted(m[1] for m in said) == ["already running", "started"], [out for out, _ in outputs]
        assert said[0][2] == said[1][2] and said[0][4] == said[1][4], "the two commands name different engines"
        url, port, pid = said[0][2], int(said[0][3]), int(said[0][4])
        assert port in ports

        # one engine process for the data dir, answering on its port; nothing on the other
        assert engines_serving(data_dir) == [pid]
        assert answers(url)
        assert not answers(f"http://127.0.0.1:{next(p for p in ports if p != port)}")
        status = subprocess.run([sys.executable, "-m", "sm_magics.cli", "local", "status", "--data-dir", str(data_dir)],
                                env=user_env(), capture_output=True, text=True, timeout=60)
        assert status.returncode == 0 and f"running at {url} (pid {pid}," in status.stdout, status

        # the lock that settled it is there, the user's alone, and names the engine
        lock = data_dir / datadir_lock.LOCK_NAME
        assert lock.is_file() and lock.stat().st_mode & 0o777 == 0o600
        assert json.loads(lock.read_text()) == {"pid": pid, "url": url}
    finally:
        launcher.stop(data_dir)
    assert engines_serving(data_dir) == []


def test_a_second_engine_on_a_served_data_dir_exits_at_once_naming_the_first(own_engine: OwnEngine) -> None:
    own_engine.start()
    info = own_engine.info
    other_port = free_port()
    second = subprocess.run(
        [sys.executable, "-m", "sm_magics.local", "serve", "--port", str(other_port), "--data-dir", str(info.data_dir)],
        env=user_env(), capture_output=True, text=True, timeout=60,
    )
    assert second.returncode == datadir_lock.ALREADY_SERVED_EXIT, second
    message = second.stderr.strip()
    assert len(message.splitlines()) == 1, second.stderr
    assert f"pid {info.pid}" in message and info.url in message and str(info.data_dir) in message, message
    assert not answers(f"http://127.0.0.1:{other_port}")
    assert engines_serving(info.data_dir) == [info.pid]
    assert launcher.status(info.data_dir) == info  # the first engine is untouched


def test_concurrent_launcher_starts_in_threads_get_the_same_engine(tmp_path: Path) -> None:
    data_dir = tmp_path / "engine"
    results: dict[int, Any] = {}

    def start(port: int) -> None:
        try:
            results[port] = launcher.start_or_find(port=port, data_dir=data_dir)
        except Exception as exc:  # reported below, in the test's thread
            results[port] = exc

    threads = [threading.Thread(target=start, args=(free_port(),)) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
        assert all(isinstance(r, tuple) for r in results.values()), results
        (first, first_started), (second, second_started) = results.values()
        assert first == second, "two start calls on one data dir were told about different engines"
        assert sorted([first_started, second_started]) == [False, True]
        assert engines_serving(data_dir) == [first.pid]
        # a later start on yet another port finds it too
        assert launcher.start_or_find(port=free_port(), data_dir=data_dir) == (first, False)
    finally:
        launcher.stop(data_dir)


# ------------------------------------------------------------------ hosts die with their job


def test_a_killed_host_fails_its_job_and_no_host_is_left(own_engine: OwnEngine, mnist) -> None:
    (x, _), _, _ = mnist
    aws = own_engine.start()
    name = start_two_host_job(aws, x)
    hosts = host_pids(aws, name)
    host_processes = identities(hosts.values())
    assert {pid for pid, _ in descendants(own_engine.info.pid)} >= set(hosts.values()), "the hosts are not this engine's"

    os.kill(hosts[2], signal.SIGKILL)
    job = wait_training(aws, name, BOUND)

    assert job["TrainingJobStatus"] == "Failed", (job["TrainingJobStatus"], job.get("FailureReason"))
    assert job["SecondaryStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith("AlgorithmError: ") and "algo-2" in reason and "-9" in reason and "SIGKILL" in reason, reason
    assert "algo-1 exited" not in reason, reason  # the leader was stopped because of algo-2, it did not fail
    left = wait_until_gone(host_processes)
    assert left == [], f"host processes left after the job failed: {left}"
    # the engine serves on, and its forkserver is ready for the next job
    assert launcher.status(own_engine.data_dir) == own_engine.info
    assert any("forkserver" in args for args in descendants(own_engine.info.pid).values())


# ------------------------------------------------------------------ hosts die with their engine


def test_engine_killed_takes_hosts_forkserver_and_tracker_with_it(own_engine: OwnEngine, mnist) -> None:
    (x, _), _, _ = mnist
    aws = own_engine.start()
    name = start_two_host_job(aws, x)
    hosts = host_pids(aws, name)
    time.sleep(1.0)  # the state saver has written the running job (it writes within half a second of a change)
    tree = descendants(own_engine.info.pid)
    assert {pid for pid, _ in tree} >= set(hosts.values())
    kinds = " ".join(tree.values())
    assert "forkserver" in kinds and "resource_tracker" in kinds, tree  # what this test checks is there to check

    os.kill(own_engine.info.pid, signal.SIGKILL)
    left = wait_until_gone(tree)
    assert left == [], "processes of the killed engine still run: " + "; ".join(f"{p[0]} {tree[p]}" for p in left)

    # started again, the engine says what happened to the job
    aws = own_engine.start()
    job = aws.sagemaker.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Failed"
    assert "engine was stopped" in job["FailureReason"], job["FailureReason"]


def test_local_stop_during_a_job_leaves_no_process(own_engine: OwnEngine, mnist) -> None:
    (x, _), _, _ = mnist
    aws = own_engine.start()
    name = start_two_host_job(aws, x)
    hosts = host_pids(aws, name)
    engine = identities([own_engine.info.pid])
    tree = descendants(own_engine.info.pid)
    assert {pid for pid, _ in tree} >= set(hosts.values())

    stop = subprocess.run([sys.executable, "-m", "sm_magics.cli", "local", "stop", "--data-dir", str(own_engine.data_dir)],
                          env=user_env(), capture_output=True, text=True, timeout=120)
    assert stop.returncode == 0 and "stopped" in stop.stdout, stop
    left = wait_until_gone([*engine, *tree])
    assert left == [], "processes left after `local stop`: " + "; ".join(f"{p[0]} {tree.get(p, 'the engine')}" for p in left)


# ------------------------------------------------------------------ the leader's wait


def _ended_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True).stdout)


def test_the_leader_stops_waiting_for_a_peer_that_died_without_its_result() -> None:
    gather = multiprocessing.get_context("spawn").Queue()
    ended = _ended_pid()
    gather.put((2, "algo-2's share"))  # algo-2 sent its result, then ended: that is not a failure
    with pytest.raises(AlgorithmError, match=r"^algo-3 exited before sending its results to algo-1$"):
        _gather_partials(gather, [os.getpid(), ended, ended], 3)


def test_the_leader_takes_results_in_host_order_from_peers_that_ended() -> None:
    gather = multiprocessing.get_context("spawn").Queue()
    ended = _ended_pid()
    gather.put((3, "algo-3's share"))
    gather.put((2, "algo-2's share"))
    assert _gather_partials(gather, [os.getpid(), ended, ended], 3) == ["algo-2's share", "algo-3's share"]
