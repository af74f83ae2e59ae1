"""The one error the notebook shows as a single line.

A failure the user can act on (an endpoint that is gone, a request it refused)
is not a bug in their code: IPython prints ``_render_traceback_``'s lines
instead of a traceback, so the cell shows one line that says what to do.
"""

from __future__ import annotations


class SageMakerError(RuntimeError):
    """SageMaker (or the local engine) could not do what the call asked; the message says what to do."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]
