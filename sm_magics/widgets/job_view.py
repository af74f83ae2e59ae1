"""What the job widgets (training, tuning, batch transform) share: a header line with a Stop button, and
the line that says what the notebook side does before a job exists (conversion, upload: bytes and rate).

Stop asks the handle, which asks SageMaker; a refusal (already ended, access denied) is shown in the
widget as its error, never raised into the kernel from a button callback where nobody would see it.
"""

from __future__ import annotations

from typing import Any, Callable

import ipywidgets as w

from ..i18n import N_, _

# what a job's view says while nothing exists yet, by the kind of job the cell is making
PREPARING = {"training": N_("Preparing the training job"), "tuning": N_("Preparing the hyperparameter tuning job")}
CREATING = {"training": N_("Creating the training job"), "tuning": N_("Creating the hyperparameter tuning job")}


def size(count: float) -> str:
    """Bytes as a person reads them: 512 B, 3.4 kB, 12.0 MB (powers of 1000, as S3's console shows sizes)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{int(count)} B"


def preparation_line(step: str, channel: str, sent: int, total: int, rate: float, job: str = "training") -> str:
    """What the notebook side is doing before the job (``job``: "training" or "tuning") exists, in the kernel's language."""
    if step == "converting":
        return _("Converting channel {channel} to the algorithm's format").format(channel=channel)
    if step == "uploading" and total:
        return _("Uploading {channel}: {sent} of {total} · {rate}/s").format(
            channel=channel, sent=size(sent), total=size(total), rate=size(rate))
    if step == "uploading":
        return _("Uploading {channel}").format(channel=channel)
    if step == "creating":
        return _(CREATING[job])
    return _(PREPARING[job])


def preparation_of(handle: Any) -> dict[str, Any]:
    """The handle's preparation step as a widget's synced ``preparation`` trait: {} once the job exists."""
    step = handle.preparation
    if step is None or handle.description:
        return {}
    return {"step": step.step, "channel": step.channel, "sent": step.sent, "total": step.total, "rate": round(step.rate, 1)}


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
