"""The IPython magics: a line and a cell become a spec for the workflow layer; a handle comes back to be shown.

``options`` reads the magic line, ``backend`` chooses which SageMaker (without holding up
``%load_ext``), ``tracked`` runs a cell of the user's own SDK code and shows what it creates,
``commands`` holds the magics themselves. Nothing here talks to AWS directly.
"""

from __future__ import annotations

import os
from typing import Any

from . import tracebacks
from .backend import announce, wait_before_next_cell
from .commands import SMMagics

__all__ = ["SMMagics", "load"]


def load(shell: Any) -> None:
    """``%load_ext sm_magics``: register the magics, say which backend, prepare it in the background."""
    magics = SMMagics(shell=shell, parent=shell)
    shell.register_magics(magics)
    shell.configurables.append(magics)  # %config SMMagics.region = "eu-west-1"
    preference = (os.environ.get("SM_MAGICS_BACKEND") or magics.backend_name).lower()
    print(announce(preference))
    magics.prepare_backend_in_background()
    wait_before_next_cell(shell, magics.choice)
    tracebacks.install(shell)
