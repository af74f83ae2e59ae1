"""Keep sm_magics' one-line errors one line after another library takes over IPython's tracebacks.

``import sagemaker`` (SDK 2.x, through sagemaker-core) installs rich's traceback handler, which
replaces the shell's ``_showtraceback`` and draws every error as a framed traceback, ignoring the
``_render_traceback_`` our errors (``SageMakerError``, ``DataError``) use to be one line that says
what to fix. Before each cell, a handler someone else installed is wrapped so that errors which
render themselves are shown as they ask, and everything else still as that library draws it.
"""

from __future__ import annotations

from typing import Any


def keep_one_liners(shell: Any) -> None:
    """Wrap the shell's current traceback display unless it is IPython's own or already wrapped."""
    current = shell.__dict__.get("_showtraceback")
    if current is None or getattr(current, "sm_magics_wrapped", False):
        return  # IPython's own display honours _render_traceback_ already
    own = type(shell)._showtraceback

    def showtraceback(etype: Any, evalue: Any, stb: Any) -> Any:
        if hasattr(evalue, "_render_traceback_"):
            return own(shell, etype, evalue, stb)  # stb is what the error asked to show
        return current(etype, evalue, stb)

    showtraceback.sm_magics_wrapped = True  # type: ignore[attr-defined]
    shell._showtraceback = showtraceback


def install(shell: Any) -> None:
    """Check before every cell: the library may be imported by any cell, at any time."""
    shell.events.register("pre_run_cell", lambda *_: keep_one_liners(shell))
