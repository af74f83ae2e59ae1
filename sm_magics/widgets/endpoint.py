"""The live endpoint widget: Creating -> InService, elapsed, instances, TTL, Delete with confirmation."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import ipywidgets as w
from traitlets import Float, Unicode

from ..i18n import _
from ..workflow.idle import describe as describe_idle
from .common import badge, duration
from .snapshot import StaticRendering


class EndpointWidget(StaticRendering, w.VBox):
    endpoint_name = Unicode().tag(sync=True)
    status = Unicode("Pending").tag(sync=True)
    elapsed_seconds = Float(0).tag(sync=True)
    ttl_seconds_left = Float(-1).tag(sync=True)
    failure_reason = Unicode("").tag(sync=True)
    message = Unicode("").tag(sync=True)
    usd_per_hour = Float(-1).tag(sync=True)  # -1: price unknown
    usd_so_far = Float(-1).tag(sync=True)
    price_source = Unicode("").tag(sync=True)

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self._header = w.HTML()
        self._delete = w.Button(description=_("Delete"), icon="trash", button_style="danger", layout=w.Layout(width="90px"))
        self._confirm = w.Button(description=_("Yes, delete"), button_style="danger", layout=w.Layout(width="110px", display="none"))
        self._cancel = w.Button(description=_("Cancel"), layout=w.Layout(width="80px", display="none"))
        self._delete.on_click(lambda _button: self._ask(True))
        self._cancel.on_click(lambda _button: self._ask(False))
        self._confirm.on_click(self._on_delete)
        self._note = w.HTML()
        super().__init__([w.HBox([self._header, self._delete, self._confirm, self._cancel]), self._note],
                         layout=w.Layout(border="1px solid #d0d7de", padding="6px", width="100%"))
        self.endpoint_name = handle.name
        handle.observe(self._update)
        handle.start_polling()

    def _ask(self, asking: bool) -> None:
        self._delete.layout.display = "none" if asking else ""
        self._confirm.layout.display = "" if asking else "none"
        self._cancel.layout.display = "" if asking else "none"
        self._note.value = html.escape(_("This deletes the endpoint, its endpoint config and its model.")) if asking else ""

    def _on_delete(self, _button: Any) -> None:
        self._ask(False)
        try:
            report = self.handle.delete()
            self.message = str(report)
        except Exception as exc:  # shown on the widget, nothing else touched
            self.message = _("delete failed: {error}").format(error=exc)
        self._render()

    def _update(self, handle: Any) -> None:
        with self.hold_sync():  # one message per update: a front end never sees the status without its cost
            self._take(handle)
        self._render()

    def _take(self, handle: Any) -> None:
        self.status = handle.status
        created = handle.description.get("CreationTime")
        now = handle.deleted_at or dt.datetime.now(dt.timezone.utc)  # a deleted endpoint's clock has stopped
        self.elapsed_seconds = (now - created).total_seconds() if created else 0.0
        self.ttl_seconds_left = (handle.expires_at - now).total_seconds() if handle.expires_at and not handle.deleted_at else -1.0
        self.failure_reason = handle.description.get("FailureReason", "")
        if handle.price is not None:
            self.usd_per_hour = handle.price.usd_per_hour * handle.instance_count
            so_far = handle.cost_so_far
            if so_far is not None:
                self.usd_so_far = so_far
            self.price_source = handle.price.said  # (in the kernel's language)
        if handle.last_error:
            self.message = handle.last_error

    def _render(self) -> None:
        ttl = " · " + html.escape(self._ttl_left()) if self.ttl_seconds_left >= 0 else ""
        guard = getattr(self.handle, "idle_seconds", None)
        if guard and self.status != "Deleted":
            why = _("deleted once nobody invoked it for this long (sm_magics:idle-after)")
            ttl += f" · <span title='{html.escape(why)}'>{describe_idle(guard)}</span>"
        local = _(" (local engine: not billed)") if self.handle.backend.kind == "local" else ""
        cost = (f" · <span title='{html.escape(self.price_source)}'>{html.escape(self._spent() + local)}</span>"
                if self.usd_per_hour >= 0 else " · " + html.escape(_("price not in the bundled table")))
        self._header.value = (
            f"<b>{html.escape(self.endpoint_name)}</b> {badge(self.status)} "
            f"<span style='color:#57606a'>{duration(self.elapsed_seconds)} · "
            f"{self.handle.instance_count} x {html.escape(self.handle.instance_type)}{cost}{ttl}</span>"
            + (f"<div style='color:#cf222e'>{html.escape(self.failure_reason)}</div>" if self.failure_reason else "")
            + (f"<div style='color:#57606a'>{html.escape(self.message)}</div>" if self.message else "")
        )
        self._delete.disabled = self.status == "Deleted"
        self.publish_static()

    def _ttl_left(self) -> str:
        return _("TTL {duration} left").format(duration=duration(self.ttl_seconds_left))

    def _spent(self) -> str:
        """The hourly price and what was spent: "$0.115/h, $0.0042 so far" (a deleted endpoint's is its final cost)."""
        rate, cost = f"{self.usd_per_hour:.3f}", f"{max(self.usd_so_far, 0):.4f}"
        if self.status == "Deleted":
            return _("${rate}/h, ${cost} final cost").format(rate=rate, cost=cost)
        return _("${rate}/h, ${cost} so far").format(rate=rate, cost=cost)

    def static_key(self) -> str:
        return f"{self.status} {self.message} {self.failure_reason}"

    def static_html(self) -> str:
        return self._header.value

    def static_text(self) -> str:
        text = _("endpoint {name}: {status} ({count} x {instance_type})").format(
            name=self.endpoint_name, status=self.status, count=self.handle.instance_count, instance_type=self.handle.instance_type)
        if self.usd_per_hour >= 0:
            text += ", " + self._spent()
        if self.ttl_seconds_left >= 0:
            text += ", " + self._ttl_left()
        guard = getattr(self.handle, "idle_seconds", None)
        if guard and self.status != "Deleted":
            text += f", {describe_idle(guard)}"
        return text

    def close(self) -> None:
        self.handle.unobserve(self._update)
        self.handle.close()
        super().close()
