"""Compact text progress for front ends without widgets (terminal IPython, nbconvert)."""

from __future__ import annotations

import sys
from typing import Any


class TextProgress:
    """Prints one line each time the handle's status changes."""

    def __init__(self, handle: Any, stream: Any = None) -> None:
        self.handle = handle
        self.stream = stream or sys.stdout
        self._last = ""
        handle.observe(self._update)

    def _update(self, handle: Any) -> None:
        line = handle.summary()
        if handle.last_error:
            line += f" [{handle.last_error}]"
        if line != self._last:
            self._last = line
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        self.handle.unobserve(self._update)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.handle.summary())
