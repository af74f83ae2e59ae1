"""The jupyter_server extension behind the lab panel: a REST API over ``workflow.fleet``.

Loaded by jupyter_server through ``_jupyter_server_extension_points`` in the
package root (enabled by the ``jupyter-config`` file the wheel installs). It
imports nothing heavy until the first request, so server start-up is not
slowed for people who never open the panel.
"""

from __future__ import annotations

from typing import Any


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from .handlers import setup_handlers

    setup_handlers(serverapp)
