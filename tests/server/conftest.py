"""A real jupyter_server (pytest-jupyter, in-process) with the sm_magics extension, on the test engine.

pytest-jupyter's fixtures are imported here rather than registered as a
plugin for the whole suite: they come with autouse event-loop fixtures that
only these tests want.
"""

from __future__ import annotations

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403  (jp_serverapp, jp_fetch, ...)


@pytest.fixture
def jp_server_config(engine):
    return {"ServerApp": {"jpserver_extensions": {"sm_magics": True}}, "SMMagicsPanel": {"regions": "us-east-1,eu-west-1"}}


@pytest.fixture(autouse=True)
def _local_engine_env(engine, monkeypatch):
    """The server picks its backend as the magics do: here, the session's engine."""
    monkeypatch.setenv("SM_MAGICS_BACKEND", "local")
    monkeypatch.setenv("SM_MAGICS_LOCAL_DATA_DIR", str(engine.data_dir))
