"""The live batch-transform widget: status, instances and cost so far, where the output goes, Stop."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
from traitlets import Float, Unicode

from ..i18n import _, ngettext
from .common import SummaryFallback, badge, duration
from .job_view import StoppableJobView


class TransformJobWidget(SummaryFallback, StoppableJobView, w.VBox):
    """Observes a TransformJob handle (``workflow.transform``); its traits are the model tests read."""

    job_name = Unicode().tag(sync=True)
    status = Unicode("Pending").tag(sync=True)
    elapsed_seconds = Float(0).tag(sync=True)
    failure_reason = Unicode("").tag(sync=True)
    output_uri = Unicode("").tag(sync=True)
    error = Unicode("").tag(sync=True)
    usd_so_far = Float(-1).tag(sync=True)  # -1: no transform price known

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        header = self._job_header()
        super().__init__([header], layout=w.Layout(border="1px solid #d0d7de", padding="6px", width="100%"))
        self.job_name = handle.name
        self.output_uri = handle.output_uri
        handle.observe(self._update)
        handle.start_polling()

    def _update(self, handle: Any) -> None:
        self.status = handle.status
        self.elapsed_seconds = float(handle.elapsed)
        self.failure_reason = handle.description.get("FailureReason", "")
        self.error = handle.last_error or ""
        cost = handle.cost_so_far
        if cost is not None:
            self.usd_so_far = cost
        self._render()

    def _render(self) -> None:
        handle = self.handle
        data = handle.input
        what = (ngettext("{n} row", "{n} rows", data.rows).format(n=data.rows) + " x "
                + ngettext("{n} feature", "{n} features", data.features).format(n=data.features)) if data.rows else (data.s3_uri or "")
        instances = f"{handle.instance_count} x {handle.instance_type}"
        if self.usd_so_far >= 0:
            instances += " · " + _("${cost} so far").format(cost=f"{self.usd_so_far:.4f}") + (
                _(" (local engine: not billed)") if handle.backend.kind == "local" else "")
        kind = _("batch transform ({algorithm})").format(algorithm=handle.algorithm)
        output = _("output:")
        self._header.value = (
            "<div style='line-height:1.45'>"
            f"<b>{html.escape(self.job_name)}</b> {badge(self.status)} "
            f"<span style='color:#57606a'>{html.escape(kind)} · {html.escape(what)} · "
            f"{duration(self.elapsed_seconds)} · {html.escape(instances)}</span>"
            + (f"<div style='color:#cf222e'>{html.escape(self.failure_reason)}</div>" if self.failure_reason else "")
            + (f"<div style='color:#9a6700'>{html.escape(self.error)}</div>" if self.error else "")
            + f"<div style='color:#57606a'>{html.escape(output)} <code>{html.escape(self.output_uri)}</code></div>"
            + "</div>"
        )
        self._stop.disabled = self.status != "InProgress"
        self._stop.layout.display = None if self.status in ("InProgress", "Pending") else "none"

    def close(self) -> None:
        self.handle.unobserve(self._update)
        self.handle.close()
        super().close()
