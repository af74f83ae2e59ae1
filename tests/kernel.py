"""A real Jupyter kernel driven as a front end drives it, for tests of the magics and widgets."""

from __future__ import annotations

import os
import queue
import sys
import time
from typing import Any

import jupyter_client


def kernel_env(engine: Any, notebook: str) -> dict[str, str]:
    """The kernel's environment: pointed at the session's local engine, nothing of the caller's AWS setup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_MAGICS_"))}
    env.update(SM_MAGICS_BACKEND="local", SM_MAGICS_LOCAL_DATA_DIR=str(engine.data_dir), SAGEMAKER_SUPPRESS_V2_WARNING="1",
               JPY_SESSION_NAME=notebook)
    return env


class Kernel:
    """A kernel plus what a front end would know: outputs of each cell and the widget models' state."""

    def __init__(self, env: dict[str, str], cwd: str) -> None:
        self.manager = jupyter_client.KernelManager(kernel_name="python3")
        self.manager.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        self.env, self.cwd = env, cwd
        self.models: dict[str, dict[str, Any]] = {}
        self.start()

    def start(self) -> None:
        self.manager.start_kernel(env=self.env, cwd=self.cwd)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def restart(self) -> None:
        self.client.stop_channels()
        self.manager.restart_kernel(now=True)
        self.models.clear()
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def _absorb(self, message: dict[str, Any]) -> None:
        kind, content = message["msg_type"], message["content"]
        if kind == "comm_open":
            self.models[content["comm_id"]] = dict(content["data"].get("state", {}))
        elif kind == "comm_msg" and content["data"].get("method") in ("update", "echo_update"):
            self.models.setdefault(content["comm_id"], {}).update(content["data"].get("state", {}))

    def run(self, code: str, timeout: float = 180) -> str:
        """Execute a cell; its printed text. A cell error fails with the kernel's one-line message."""
        msg_id = self.client.execute(code)
        text, error = [], None
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"cell did not finish in {timeout} s: {code[:80]!r}") from None
            self._absorb(message)
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                text.append(content["text"])
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                break
        if error:
            raise AssertionError(f"cell failed: {error}\n{''.join(text)}")
        return "".join(text)

    def drain(self, seconds: float) -> None:
        """Take in what background threads sent (widget updates) for a while."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self._absorb(self.client.get_iopub_msg(timeout=0.1))
            except queue.Empty:
                pass

    def widget(self, **match: Any) -> dict[str, Any]:
        found = [state for state in self.models.values() if all(state.get(k) == v for k, v in match.items())]
        assert found, f"no widget model with {match}; models: {[{k: s.get(k) for k in match} for s in self.models.values()]}"
        return found[-1]

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def wait_for_widget(kernel: Kernel, seconds: float, **match: Any) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        kernel.drain(0.5)
        try:
            return kernel.widget(**match)
        except AssertionError:
            if time.monotonic() > deadline:
                raise


