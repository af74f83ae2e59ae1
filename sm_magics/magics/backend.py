"""Which SageMaker the magics talk to, chosen without holding up ``%load_ext``.

``%load_ext`` must return at once, yet the next cell's plain boto3 call must already see the
backend's environment (the local engine's address and keys). So the choice is made in a thread,
and a ``pre_run_cell`` hook makes the next cell wait for it. Judging whether AWS credentials exist
is done without importing boto3, for the same reason.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from IPython.core.error import UsageError

from ..i18n import _


class BackendChoice:
    """The backend of one kernel's magics: made in the background, switched by ``%sm_backend``."""

    def __init__(self) -> None:
        self.current: Any = None  # a workflow.session.Backend once chosen
        self._error: Exception | None = None
        self._ready = threading.Event()
        self._ready.set()

    def prepare_in_background(self, preference: str | None, profile: str | None, region: str | None) -> None:
        """Choose (and for the local engine, start) the backend in a thread."""
        self._ready.clear()

        def prepare() -> None:
            try:
                self._choose(preference, profile, region)
            except Exception as exc:  # reported by the first magic that needs the backend
                self._error = exc
            finally:
                self._ready.set()

        threading.Thread(target=prepare, daemon=True, name="sm_magics backend").start()

    def wait(self) -> Exception | None:
        """Block until a background choice is made; the error it met, if any (said once)."""
        self._ready.wait()
        return self._error

    def get(self, preference: str | None, profile: str | None, region: str | None) -> Any:
        """The backend, choosing it now if the background choice failed or never ran (one line if it cannot)."""
        self._ready.wait()
        if self.current is None:
            from ..workflow.session import BackendError

            try:
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                self._choose(preference, profile, region)
            except (BackendError, OSError, RuntimeError) as exc:
                raise UsageError(str(exc)) from None
        return self.current

    def switch(self, where: str, profile: str | None, region: str | None) -> Any:
        """``%sm_backend``: the kernel's own AWS environment is restored before the new choice reads it;
        if the new one cannot be had, the previous one stays (and the line says so)."""
        from ..workflow.session import BackendError, choose_backend

        self._ready.wait()  # a choice still being made in the background would land after this one
        previous, self.current = self.current, None
        if previous is not None:
            previous.release()
        try:
            self.current = choose_backend(where, profile, region)
        except BackendError as exc:
            if previous is not None:
                previous.activate()
                self.current = previous
            raise UsageError((_("{error} (still using {backend})").format(error=exc, backend=previous.kind) if previous
                              else _("{error} (no backend chosen yet)").format(error=exc))) from None
        return self.current

    def release(self) -> None:
        """Give the kernel its own environment back (the extension is unloaded or reloaded)."""
        self._ready.wait()
        if self.current is not None:
            self.current.release()

    def _choose(self, preference: str | None, profile: str | None, region: str | None) -> None:
        from ..workflow.session import choose_backend

        self.current = choose_backend(preference, profile, region)


def credentials_hint() -> str | None:
    """Where AWS credentials would come from, judged without importing boto3 (keeps %load_ext fast)."""
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        if os.environ.get(name):
            return _("{variable} is set").format(variable=f"${name}")
    for path in ("~/.aws/credentials", "~/.aws/config"):
        variable = "AWS_SHARED_CREDENTIALS_FILE" if "credentials" in path else "AWS_CONFIG_FILE"
        if os.path.exists(os.path.expanduser(os.environ.get(variable, path))):
            return _("{path} exists").format(path=path)
    return None


def announce(preference: str) -> str:
    """The line ``%load_ext`` prints: which SageMaker, and why."""
    hint = credentials_hint()
    if preference == "local" or (preference == "auto" and hint is None):
        reason = _("chosen explicitly") if preference == "local" else _("no AWS credentials found")
        return _("sm_magics: using the local SageMaker engine ({reason}); it is starting in the background. "
                 "Switch with %sm_backend aws.").format(reason=reason)
    return _("sm_magics: using AWS SageMaker ({reason}). Switch with %sm_backend local.").format(reason=hint or _("chosen explicitly"))


def wait_before_next_cell(shell: Any, choice: BackendChoice) -> None:
    """The next cell runs once the backend is ready, so a plain boto3 call there finds the engine's environment."""

    def wait_for_backend(*_: Any) -> None:
        error = choice.wait()
        shell.events.unregister("pre_run_cell", wait_for_backend)
        if error is not None:
            print(f"sm_magics: {error}")

    shell.events.register("pre_run_cell", wait_for_backend)
