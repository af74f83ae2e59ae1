"""Shared fixtures: one real engine process for the session, clients pointed at it.

The building blocks (``Clients``, ``ResponseChecker``, ``engine_session``, ``free_port``) live in
``helpers.py``; tests import them from there, never from this file.

Every response any test receives from the engine's SageMaker and SageMaker
Runtime APIs is checked against botocore's service model for its operation
(required members present, types right, no empty ``{}`` structures); a
response that does not fit fails the test that got it. ``aws`` is per test;
``engine_clients`` (and ``runtime``, its Runtime client) serve module
fixtures and raise at the call that got a bad response.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Iterator

import boto3
import pytest
from botocore.client import ClientCreator
from helpers import Clients, ResponseChecker, engine_session, free_port

from sm_magics import launcher


@pytest.fixture(autouse=True)
def _restore_process_aws_setup() -> Iterator[None]:
    """Whatever a test does to the process's AWS setup is undone after it, so order never matters:
    ``os.environ`` (AWS_* variables, the engine's address), boto3's default session, and the
    botocore redirect a local backend installs (the patched client factory, or its pending hook)."""
    environ = dict(os.environ)
    default_session = boto3.DEFAULT_SESSION
    factory = ClientCreator.create_client
    factory_state = dict(vars(factory))  # a redirect keeps its target URL on its function
    pending = [finder for finder in sys.meta_path if type(finder).__name__ == "_PatchOnImport"]
    yield
    if dict(os.environ) != environ:
        os.environ.clear()
        os.environ.update(environ)
    boto3.DEFAULT_SESSION = default_session
    ClientCreator.create_client = factory
    if vars(factory) != factory_state:
        vars(factory).clear()
        vars(factory).update(factory_state)
    sys.meta_path[:] = [
        finder for finder in sys.meta_path if type(finder).__name__ != "_PatchOnImport" or finder in pending
    ]


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


@pytest.fixture
def checked_session(engine: launcher.EngineInfo, request: pytest.FixtureRequest) -> Iterator[boto3.Session]:
    """A boto3 session bound to the engine; its SageMaker responses are validated."""
    checker = ResponseChecker()
    session = engine_session(engine, checker)
    yield session
    assert not checker.problems, "responses that do not match botocore's model:\n" + "\n".join(checker.problems)


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


@pytest.fixture
def lab_settings(tmp_path, monkeypatch):
    """A JupyterLab user-settings folder of the test's own, the locale saying nothing; call it with a locale
    ("fr_FR", "zh_TW", "default") to choose JupyterLab's language. The kernel's override is cleared around it."""
    from helpers import write_lab_language
    from sm_magics import i18n

    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(tmp_path))
    for variable in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    i18n.set_language(None)
    yield lambda locale: write_lab_language(tmp_path, locale)
    i18n.set_language(None)
