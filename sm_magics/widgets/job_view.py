"""What the job widgets (training, tuning, batch transform) share: a header line with a Stop button.

Stop asks the handle, which asks SageMaker; a refusal (already ended, access denied) is shown in the
widget as its error, never raised into the kernel from a button callback where nobody would see it.
"""

from __future__ import annotations

from typing import Any, Callable

import ipywidgets as w

from ..i18n import _


class StoppableJobView:
    """Mixin for a job widget (before the ipywidgets class); the widget has ``handle``, ``error`` and ``_render``."""

    handle: Any
    error: str
    _render: Callable[[], None]  # each widget draws itself

    def _job_header(self) -> w.HBox:
        """``self._header`` (HTML the widget fills) beside ``self._stop``, as one row."""
        self._header = w.HTML()
        self._stop = w.Button(description=_("Stop"), icon="stop", button_style="warning", layout=w.Layout(width="90px"))
        self._stop.on_click(self._on_stop)
        return w.HBox([self._header, self._stop], layout=w.Layout(justify_content="space-between", align_items="flex-start"))

    def _on_stop(self, _button: Any) -> None:
        try:
            self.handle.stop()
            self.error = ""
        except Exception as exc:  # shown, not raised into the kernel
            self.error = str(exc)
        self._render()
