"""The engine's HTTP front keeps clients' connections open, and many connections do not exhaust it.

Against a real engine process of its own (a tmp data dir, a free port):

* an SDK client's connection is kept between calls: two signed requests on one
  TCP connection are both answered, neither with ``Connection: close``;
* a local process that opens many more connections than the engine keeps
  (``http_front.MAX_CONNECTIONS``) and sends nothing on them does not take the
  engine down: while they are all open, a signed call is answered, and the
  engine runs no more threads than it did before (one thread per connection
  would be hundreds);
* a request whose headers are over ``MAX_HEADER_BYTES`` is refused (413) and
  the engine goes on serving;
* connections that send a few bytes of a request line and then stall hold a
  worker thread only until ``IDLE_TIMEOUT``: with twice as many of them as
  there are workers, a signed call is still answered.
"""

from __future__ import annotations

import http.client
import os
import socket
import sys
from pathlib import Path
from typing import Iterator

import boto3
import pytest
from botocore.config import Config
from helpers import free_port

from sm_magics import launcher
from sm_magics.local import http_front

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts the engine's threads in /proc")


@pytest.fixture(scope="module")
def own_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[launcher.EngineInfo]:
    info = launcher.start(port=free_port(), data_dir=tmp_path_factory.mktemp("connections"))
    try:
        yield info
    finally:
        launcher.stop(info.data_dir)


def sagemaker(info: launcher.EngineInfo, timeout: float = 120.0) -> object:
    session = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1")
    config = Config(read_timeout=timeout, connect_timeout=timeout, retries={"max_attempts": 1})
    return session.client("sagemaker", endpoint_url=info.url, config=config)


def threads_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def open_connections(port: int, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sockets.append(sock)
    return sockets


def test_a_client_connection_is_kept_between_calls(own_engine: launcher.EngineInfo) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", own_engine.port, timeout=30)
    sockets = []
    for _ in range(3):
        conn.request("GET", "/_sm_magics/health", headers={"Host": f"127.0.0.1:{own_engine.port}"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        assert (response.getheader("Connection") or "").lower() != "close"
        sockets.append(conn.sock)  # http.client drops its socket when the server closes the connection
    conn.close()
    assert sockets[0] is not None and all(sock is sockets[0] for sock in sockets)


def test_many_idle_connections_neither_block_calls_nor_add_threads(own_engine: launcher.EngineInfo) -> None:
    sm = sagemaker(own_engine)
    sm.list_training_jobs()
    before = threads_of(own_engine.pid)
    count = http_front.MAX_CONNECTIONS * 2 + http_front.QUEUED_REQUESTS
    sockets = open_connections(own_engine.port, count)
    try:
        assert sm.list_training_jobs()["TrainingJobSummaries"] == []
        during = threads_of(own_engine.pid)
        # werkzeug's threaded server ran one thread per connection: here, hundreds more
        assert during <= before + 4, f"{count} idle connections took the engine from {before} to {during} threads"
    finally:
        for sock in sockets:
            sock.close()
    assert sm.list_training_jobs()["TrainingJobSummaries"] == []


def test_stalled_requests_free_their_workers(own_engine: launcher.EngineInfo) -> None:
    sm = sagemaker(own_engine)
    sockets = open_connections(own_engine.port, http_front.WORKER_THREADS * 2)
    try:
        for sock in sockets:
            sock.sendall(b"POST / HT")  # a request line that never ends: a worker waits on it
        # answered once the stalled ones time out (IDLE_TIMEOUT), well inside this client's timeout
        assert sm.list_training_jobs()["TrainingJobSummaries"] == []
        assert threads_of(own_engine.pid) < 100
    finally:
        for sock in sockets:
            sock.close()


def test_an_oversized_header_is_refused_and_the_engine_keeps_serving(own_engine: launcher.EngineInfo) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", own_engine.port, timeout=60)
    try:
        conn.request("GET", "/_sm_magics/health", headers={"Host": f"127.0.0.1:{own_engine.port}", "X-Pad": "a" * (http_front.MAX_HEADER_BYTES + 1)})
        response = conn.getresponse()
        assert response.status == 413
    except (ConnectionResetError, BrokenPipeError):
        pass  # refused before the whole header was sent: the same outcome
    finally:
        conn.close()
    assert sagemaker(own_engine).list_training_jobs()["TrainingJobSummaries"] == []
