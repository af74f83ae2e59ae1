"""Shared fixtures: one real engine process for the session, clients pointed at it.

Every response any test receives from the engine's SageMaker and SageMaker
Runtime APIs is checked against botocore's service model for its operation
(required members present, types right, no empty ``{}`` structures); a
response that does not fit fails the test that got it. ``aws`` is per test;
``engine_clients`` (and ``runtime``, its Runtime client) serve module
fixtures and raise at the call that got a bad response.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.model import StructureShape
from botocore.validate import ParamValidator

from sm_magics.local import launcher, settings

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "sagemaker-artifacts"
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
ROLE = settings.ROLE_ARN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[launcher.EngineInfo]:
    data_dir = tmp_path_factory.mktemp("engine")
    info = launcher.start(port=free_port(), data_dir=data_dir)
    yield info
    launcher.stop(data_dir)


@pytest.fixture(scope="session")
def engine_env(engine: launcher.EngineInfo) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in launcher.CLEARED_ENV}
    env.update(launcher.client_env(engine))
    return env


class ResponseChecker:
    """Validates every SageMaker / Runtime response against the operation's output shape.

    Problems are collected in ``problems``; with ``raise_at_once`` they are raised
    instead, as AssertionError out of the call that got the response.
    """

    def __init__(self, raise_at_once: bool = False) -> None:
        self.raise_at_once = raise_at_once
        self.problems: list[str] = []
        self.seen: set[str] = set()

    def __call__(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if http_response.status_code >= 300 or model.output_shape is None:
            return
        self.seen.add(model.name)
        body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
        found = []
        report = ParamValidator().validate(body, model.output_shape)
        if report.has_errors():
            found.append(f"{model.name}: {report.generate_report()}")
        found += _empty_structures(model.output_shape, body, model.name)
        if found and self.raise_at_once:
            raise AssertionError("a response that does not match botocore's model:\n" + "\n".join(found))
        self.problems.extend(found)


def _empty_structures(shape: Any, value: Any, path: str) -> list[str]:
    found = []
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, item in value.items():
            member = shape.members.get(key)
            if member is None:
                found.append(f"{path}.{key}: not a member of the output shape")
            elif isinstance(member, StructureShape) and item == {}:
                found.append(f"{path}.{key}: empty structure sent (the service omits absent structures)")
            else:
                found += _empty_structures(member, item, f"{path}.{key}")
    elif isinstance(value, list) and getattr(shape, "member", None) is not None:
        for index, item in enumerate(value):
            found += _empty_structures(shape.member, item, f"{path}[{index}]")
    return found


def engine_session(info: launcher.EngineInfo, checker: ResponseChecker | None = None) -> boto3.Session:
    """A boto3 session with the engine's credentials; with a checker, its SageMaker and Runtime answers are validated."""
    session = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1")
    if checker is not None:
        session.events.register("after-call.sagemaker", checker)
        session.events.register("after-call.sagemaker-runtime", checker)
    return session


@pytest.fixture
def checked_session(engine: launcher.EngineInfo, request: pytest.FixtureRequest) -> Iterator[boto3.Session]:
    """A boto3 session bound to the engine; its SageMaker responses are validated."""
    checker = ResponseChecker()
    session = engine_session(engine, checker)
    yield session
    assert not checker.problems, "responses that do not match botocore's model:\n" + "\n".join(checker.problems)


class Clients:
    def __init__(self, session: boto3.Session, url: str) -> None:
        self.session = session
        self.url = url

    def __getattr__(self, service: str) -> Any:
        name = {"runtime": "sagemaker-runtime"}.get(service, service)
        client = self.session.client(name, endpoint_url=self.url)
        setattr(self, service, client)
        return client


@pytest.fixture
def aws(checked_session: boto3.Session, engine: launcher.EngineInfo) -> Clients:
    """Lazily made clients: aws.sagemaker, aws.runtime, aws.s3, aws.logs, aws.sts, aws.iam."""
    return Clients(checked_session, engine.url)


@pytest.fixture(scope="session")
def engine_clients(engine: launcher.EngineInfo) -> Clients:
    """Clients shared by the whole session, for module fixtures and endpoint calls.

    Their SageMaker and Runtime answers are validated as ``aws``'s are, but a bad
    one raises AssertionError at once, in the test (or fixture) that made the call.
    """
    return Clients(engine_session(engine, ResponseChecker(raise_at_once=True)), engine.url)


@pytest.fixture(scope="session")
def runtime(engine_clients: Clients) -> Any:
    """The SageMaker Runtime client of ``engine_clients``: every successful InvokeEndpoint answer is validated."""
    return engine_clients.runtime


@pytest.fixture(scope="session")
def mnist() -> tuple:
    from sm_magics.local.sample_data import mnist_splits

    return mnist_splits()


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable
