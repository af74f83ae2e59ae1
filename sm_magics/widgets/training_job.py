"""The live training-job widget: preparation (conversion, upload), status timeline, metrics, log tail, Stop.

It is shown from the cell's start: while the notebook side converts and uploads the data, it says so
(bytes sent of the total, and the rate), from what the handle reports; once the job exists, what
SageMaker describes. The phases the job went through are read from its SecondaryStatusTransitions
(each with its start and end times), so a job that ran through all of them between two describes
still lists each one and how long it took.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
from traitlets import Dict, Float, List, Unicode

from ..i18n import _
from .common import badge, duration, sparkline
from .job_view import StoppableJobView, preparation_line, preparation_of, size  # noqa: F401  (size: re-exported)
from .snapshot import StaticRendering


class TrainingJobWidget(StaticRendering, StoppableJobView, w.VBox):
    """Observes a TrainingJob handle; its traits are the model tests read."""

    job_name = Unicode().tag(sync=True)
    status = Unicode("Pending").tag(sync=True)
    secondary_status = Unicode("").tag(sync=True)
    elapsed_seconds = Float(0).tag(sync=True)
    failure_reason = Unicode("").tag(sync=True)
    model_artifact = Unicode("").tag(sync=True)
    final_metrics = Dict().tag(sync=True)
    timeline = List().tag(sync=True)
    error = Unicode("").tag(sync=True)
    usd_so_far = Float(-1).tag(sync=True)  # -1: no training price known (the Pricing API did not answer)
    spot_savings = Unicode("").tag(sync=True)  # AWS's figure, or (local engine) that savings are shown on AWS only
    # before the job exists: {"step", "channel", "sent", "total", "rate"} as the workflow reports them; {} once created
    preparation = Dict().tag(sync=True)

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self._timeline = w.HTML()
        self._metrics = w.HTML()
        self._log = w.HTML()
        logs = w.Accordion(children=[self._log], titles=(_("Log (last 30 lines)"),))
        logs.selected_index = None
        header = self._job_header()
        super().__init__([header, self._timeline, self._metrics, logs],
                         layout=w.Layout(border="1px solid #d0d7de", padding="6px", width="100%"))
        self.job_name = handle.name
        handle.observe(self._update)
        handle.start_polling()

    def _update(self, handle: Any) -> None:
        doc = handle.description
        self.preparation = preparation_of(handle)
        self.status = handle.status
        self.secondary_status = doc.get("SecondaryStatus", "")
        self.elapsed_seconds = float(handle.elapsed) if doc else 0.0
        self.failure_reason = doc.get("FailureReason", "")
        self.model_artifact = handle.model_artifact or ""
        self.final_metrics = dict(handle.final_metrics)
        self.timeline = [
            {"status": t["Status"], "message": t.get("StatusMessage", ""), "start": t["StartTime"].isoformat(),
             **({"seconds": round((t["EndTime"] - t["StartTime"]).total_seconds(), 3)} if t.get("EndTime") else {})}
            for t in doc.get("SecondaryStatusTransitions", [])
        ]
        self.error = handle.last_error or ""
        cost = handle.cost_so_far
        if cost is not None:
            self.usd_so_far = cost
        self.spot_savings = handle.spot_savings
        self._render()

    def _render(self) -> None:
        handle = self.handle
        resources = handle.description.get("ResourceConfig", {})
        instances = f"{resources.get('InstanceCount', '?')} x {resources.get('InstanceType', '?')}" if resources else ""
        if self.usd_so_far >= 0:
            price = handle.price  # the figure used, and where it comes from, on hover
            rate = f"${price.usd_per_hour:.3f}/h, " if price is not None else ""
            so_far = _("{cost} so far").format(cost=f"${self.usd_so_far:.4f}")
            instances += (f" · <span title='{html.escape(price.said if price is not None else '')}'>{rate}{html.escape(so_far)}</span>"
                          + (" (" + html.escape(_("local engine: not billed")) + ")" if handle.backend.kind == "local" else ""))
        elif resources:
            instances += " · " + html.escape(_("price not in the bundled table"))
        if self.spot_savings:
            instances += f" · {self.spot_savings}"
        model = _("model:")
        self._header.value = (
            "<div style='line-height:1.45'>"
            f"<b>{html.escape(self.job_name)}</b> {badge(self.status)} "
            + (f"<span style='color:#57606a'>{html.escape(self.secondary_status)} · {duration(self.elapsed_seconds)} · {instances}</span>"
               if not self.preparation else "")
            + (f"<div style='color:#57606a'>{html.escape(preparation_line(**self.preparation))}</div>" if self.preparation else "")
            + (f"<div style='color:#cf222e'>{html.escape(self.failure_reason)}</div>" if self.failure_reason else "")
            + (f"<div style='color:#9a6700'>{html.escape(self.error)}</div>" if self.error else "")
            + (f"<div style='color:#57606a'>{html.escape(model)} <code>{html.escape(self.model_artifact)}</code></div>"
               if self.model_artifact else "")
            + "</div>"
        )
        self._stop.disabled = self.status != "InProgress"
        self._stop.layout.display = None if self.status in ("InProgress", "Pending") else "none"  # nothing to stop once it ended
        steps = " → ".join(
            f"<span title='{html.escape(t['message'])}'>{html.escape(t['status'])}"
            + (f" <span style='color:#57606a'>({t['seconds']:.1f} s)</span>" if "seconds" in t and t["status"] != self.status else "")
            + "</span>"
            for t in self.timeline
        )
        self._timeline.value = f"<div style='font-size:90%'>{steps}</div>"
        rows = []
        for name, points in sorted(handle.metrics.items()):
            last = points[-1][1] if points else float("nan")
            rows.append(f"<tr><td><code>{html.escape(name)}</code></td><td>{last:.5g}</td><td>{sparkline(points)}</td></tr>")
        self._metrics.value = f"<table style='font-size:90%'>{''.join(rows)}</table>" if rows else ""
        tail = "\n".join(handle.log_lines[-30:])
        self._log.value = f"<pre style='font-size:80%;max-height:300px;overflow:auto'>{html.escape(tail)}</pre>"
        self.publish_static()

    def static_key(self) -> str:
        step = self.preparation
        return f"{self.status} {self.secondary_status} {self.error} {step.get('step', '')} {step.get('channel', '')}"

    def static_html(self) -> str:
        return self._header.value + self._timeline.value + self._metrics.value

    def static_text(self) -> str:
        return self.handle.summary()

    def close(self) -> None:
        self.handle.unobserve(self._update)
        self.handle.close()
        super().close()
