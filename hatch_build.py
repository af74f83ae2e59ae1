"""Build hook: a source build without Node.js stops with one line that says so, not a traceback.

The JupyterLab panel (TypeScript in ``labextension/``) is compiled by the ``jupyter-builder`` hook
that runs after this one, through ``jlpm``, which needs Node.js; without it that hook fails deep in
a subprocess. This hook runs first and checks only what it must: nothing when the panel is already
built (a wheel made from an sdist, or a second build) or when the panel's build is switched off
(``SKIP_JUPYTER_BUILDER``, as ``./scripts/demo`` does).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

NODE_MAJOR = 20  # what JupyterLab 4's build tools ask for (jupyterlab/staging/package.json "engines")


class NodeCheck(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name not in ("wheel", "sdist") or os.environ.get("SKIP_JUPYTER_BUILDER"):
            return
        if Path(self.root, "sm_magics", "labextension", "static", "style.js").is_file():
            return
        problem = _node_problem()
        if problem:
            sys.stderr.write(f"sm_magics: building from source compiles the JupyterLab panel, which needs Node.js {NODE_MAJOR} "
                             f"or later ({problem}); install it (Debian/Ubuntu: apt install nodejs), or install sm_magics "
                             f"from its wheel\n")
            raise SystemExit(1)


def _node_problem() -> str | None:
    node = shutil.which("node")
    if node is None:
        return "no `node` on PATH"
    try:
        found = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`node --version` failed: {exc}"
    match = re.match(r"v(\d+)\.", found)
    if match and int(match[1]) < NODE_MAJOR:
        return f"found {found}"
    return None
