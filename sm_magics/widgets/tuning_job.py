"""The live tuning-job widget: status counts and a leaderboard of its training jobs, best highlighted.

Shown from the cell's start, like the training widget: while the notebook side converts and uploads the
channels it says so (bytes sent of the total, and the rate: ``job_view.preparation_line``), then what
SageMaker describes once the tuning job exists.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
from traitlets import Dict, List, Unicode

from ..i18n import _
from .common import badge
from .job_view import StoppableJobView, preparation_line, preparation_of
from .snapshot import StaticRendering


class TuningJobWidget(StaticRendering, StoppableJobView, w.VBox):
    tuning_job_name = Unicode().tag(sync=True)
    status = Unicode("Pending").tag(sync=True)
    counters = Dict().tag(sync=True)
    leaderboard = List().tag(sync=True)  # [{name, status, objective, hyperparameters}], best first
    best = Unicode("").tag(sync=True)
    error = Unicode("").tag(sync=True)
    # before the job exists: {"step", "channel", "sent", "total", "rate"} as the workflow reports them; {} once created
    preparation = Dict().tag(sync=True)

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self._table = w.HTML()
        header = self._job_header()
        super().__init__([header, self._table],
                         layout=w.Layout(border="1px solid #d0d7de", padding="6px", width="100%"))
        self.tuning_job_name = handle.name
        handle.observe(self._update)
        handle.start_polling()

    def _update(self, handle: Any) -> None:
        self.preparation = preparation_of(handle)
        self.status = handle.status
        self.counters = dict(handle.description.get("TrainingJobStatusCounters", {}))
        self.best = handle.best_job_name or ""
        self.leaderboard = [
            {
                "name": row["TrainingJobName"],
                "status": row["TrainingJobStatus"],
                "objective": row.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value"),
                "hyperparameters": dict(row.get("TunedHyperParameters", {})),
            }
            for row in handle.leaderboard
        ]
        self.error = handle.last_error or ""
        self._render()

    def _render(self) -> None:
        objective = self.handle.objective
        counts = ", ".join(f"{k} {v}" for k, v in self.counters.items() if v)
        self._header.value = (
            f"<b>{html.escape(self.tuning_job_name)}</b> {badge(self.status)} "
            + (f"<span style='color:#57606a'>{html.escape(objective.get('Type', ''))} {html.escape(objective.get('MetricName', ''))} · {counts}</span>"
               if not self.preparation else "")
            + (f"<div style='color:#57606a'>{html.escape(preparation_line(**self.preparation, job='tuning'))}</div>"
               if self.preparation else "")
            + (f"<div style='color:#9a6700'>{html.escape(self.error)}</div>" if self.error else "")
        )
        self._stop.disabled = self.status != "InProgress"
        self._stop.layout.display = None if self.status in ("InProgress", "Pending") else "none"
        names = sorted({k for row in self.leaderboard for k in row["hyperparameters"]})
        head = "".join(f"<th>{html.escape(n)}</th>" for n in ["#", _("training job"), _("status"), objective.get("MetricName") or _("objective"), *names])
        rows = []
        for rank, row in enumerate(self.leaderboard, start=1):
            style = " style='background:#dafbe1;font-weight:600'" if row["name"] == self.best else ""
            value = "" if row["objective"] is None else f"{row['objective']:.5g}"
            cells = [str(rank), html.escape(row["name"]), html.escape(row["status"]), value,
                     *(html.escape(str(row["hyperparameters"].get(n, ""))) for n in names)]
            rows.append(f"<tr{style}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        self._table.value = f"<table style='font-size:90%'><tr>{head}</tr>{''.join(rows)}</table>" if rows else ""
        self.publish_static()

    def static_key(self) -> str:
        step = self.preparation
        return f"{self.status} {sorted(self.counters.items())} {self.best} {self.error} {step.get('step', '')} {step.get('channel', '')}"

    def static_html(self) -> str:
        return self._header.value + self._table.value

    def static_text(self) -> str:
        lines = [self.handle.summary()]
        for rank, row in enumerate(self.leaderboard, start=1):
            value = "" if row["objective"] is None else f"{row['objective']:.5g}"
            lines.append(f"{rank:>3}  {row['name']}  {row['status']}  {value}")
        return "\n".join(lines)

    def close(self) -> None:
        self.handle.unobserve(self._update)
        self.handle.close()
        super().close()
