"""A widget's latest state as static HTML + text, kept in the notebook's output.

Why: a saved notebook keeps each widget's output as a mime bundle. Without the widget's model
(the kernel is gone, widget state is not saved by default in JupyterLab 4), JupyterLab 4 +
ipywidgets 8 pick the widget-view mime type anyway (its renderer is ranked -10, ahead of
``text/html``'s 50, in a trusted notebook) and print "Error displaying widget: model not found";
nbconvert, hence nbviewer, skips the widget view when the notebook has no widget state and
shows the next mime type of the bundle. So every widget here puts a ``text/html`` + ``text/plain``
rendering of its state next to the widget view, and keeps it current three ways:

- ``static_bundle`` (a synced trait): the lab extension's widget renderer
  (``labextension/src/widgetfallback.ts``) copies it into the output's data while the widget is
  live, so what JupyterLab saves is the last state; when the model is missing it renders that
  ``text/html`` instead of the error.
- ``update_display`` under the display id the widget was shown with, on each status change and
  at most every ``REPUBLISH_SECONDS`` otherwise: front ends that route display updates (nbclient,
  classic notebook, VS Code) rewrite the saved output themselves.
- the bundle itself, when the widget is displayed.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import threading
import time
import uuid
from typing import Any

import ipywidgets as w
from traitlets import Dict, HasTraits

from ..i18n import _

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def last_seen_line() -> str:
    """The footer of a static rendering: when it was true (it is not watched once saved)."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return _("last seen {stamp}").format(stamp=stamp)


class StaticRendering(HasTraits):
    """Mixin for ipywidgets (put before the widget class): ``text/html`` and ``text/plain`` of the
    widget's latest state in its output, next to the live view.

    Subclasses implement :meth:`static_html` and :meth:`static_text`, and call
    :meth:`publish_static` after each render; :meth:`static_key` names the changes (a status) that
    are published at once rather than throttled.
    """

    static_bundle = Dict().tag(sync=True)  # {"text/html": ..., "text/plain": ...}
    REPUBLISH_SECONDS = 30.0
    STATIC_FOOTER = True
    # False where a rendering is costly (a PNG): published only once the widget was displayed (or
    # its rendering asked for), then kept current.
    STATIC_EAGER = True

    def static_html(self) -> str:
        """The rendering a saved notebook shows (default: the text one, preformatted)."""
        return f"<pre>{html.escape(self.static_text())}</pre>"

    def static_text(self) -> str:
        """The plain-text rendering (every widget here says more than this default: what it is)."""
        return type(self).__name__

    def static_key(self) -> str:
        return ""

    def static_data(self) -> dict[str, str]:
        """The static mime types of the current state. A live resource's rendering says when it
        was true (nothing watches it once the notebook is saved); a result's needs no date."""
        # Prices are written with "$": the classes keep JupyterLab's MathJax 3 (mathjax_ignore) and
        # nbviewer's MathJax 2 (tex2jax_ignore) from setting "$0.115/h, $0.0001" as a formula.
        opening = "<div class='sm-magics-static mathjax_ignore tex2jax_ignore'>"
        if not self.STATIC_FOOTER:
            return {"text/html": f"{opening}{self.static_html()}</div>", "text/plain": self.static_text()}
        seen = last_seen_line()
        return {
            "text/html": f"{opening}{self.static_html()}"
                         f"<div style='color:#6e7781;font-size:80%'>{html.escape(seen)}</div></div>",
            "text/plain": f"{self.static_text()}\n({seen})",
        }

    def publish_static(self, force: bool = False) -> None:
        """Refresh ``static_bundle`` (and the displayed output) if the state moved on.

        A change of :meth:`static_key` (or ``force``) is published at once, to the trait and as a
        display update; anything else (a cost ticking) only to the trait, at most every
        REPUBLISH_SECONDS, so that an endpoint watched for hours does not send a rendering every
        five seconds, and a front end without the lab extension (whose ipywidgets renderer draws
        the view again on each display update) redraws only when the status changes.
        """
        if not (force or self.STATIC_EAGER or self.__dict__.get("_static_display_id") or self.static_bundle):
            return
        state = self.__dict__.setdefault("_static_state", {"key": None, "at": 0.0, "lock": threading.Lock()})
        key = self.static_key()
        now = time.monotonic()
        with state["lock"]:
            moved = force or key != state["key"]
            if not moved and now - state["at"] < self.REPUBLISH_SECONDS:
                return
            state["key"], state["at"] = key, now
        self.static_bundle = self.static_data()
        display_id = self.__dict__.get("_static_display_id")
        if display_id and moved:
            from IPython.display import update_display

            update_display(_jsonable(self._repr_mimebundle_()), raw=True, display_id=display_id)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})  # type: ignore[misc]  # the widget view
        bundle.update(self.static_bundle or self.static_data())
        return bundle

    def _ipython_display_(self) -> None:
        """Shown under a display id, so later states can replace the saved output."""
        from IPython.display import display

        self.publish_static(force=True)
        display_id = self.__dict__.setdefault("_static_display_id", f"sm-magics-{uuid.uuid4().hex}")
        display(_jsonable(self._repr_mimebundle_()), raw=True, display_id=display_id)


def png_base64(png: bytes) -> str:
    """A PNG as a mime bundle carries it (base64 text)."""
    return base64.b64encode(png).decode("ascii")


def _jsonable(bundle: dict[str, Any]) -> dict[str, Any]:
    """A raw bundle for display(): images as base64 text, as the formatters would send them."""
    return {k: png_base64(v) if isinstance(v, bytes) else v for k, v in bundle.items()}



class StaticBox(StaticRendering, w.VBox):
    """A VBox of handle widgets (the widgets of a cell's own SDK code) whose static rendering is its
    children's, stacked: the box, not each child, is what the cell's output holds."""

    STATIC_FOOTER = False  # each child says when it was last seen

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.observe(self._on_children, names="children")

    def _on_children(self, change: Any) -> None:
        for child in change["new"]:
            if isinstance(child, StaticRendering) and child not in (change["old"] or ()):
                child.observe(lambda _: self.publish_static(force=True), names="static_bundle")
        self.publish_static(force=True)

    def _parts(self) -> list[dict[str, str]]:
        return [dict(c.static_bundle or c.static_data()) for c in self.children if isinstance(c, StaticRendering)]

    def static_html(self) -> str:
        return "".join(f"<div style='margin-bottom:6px'>{p.get('text/html', '')}</div>" for p in self._parts())

    def static_text(self) -> str:
        return "\n".join(p.get("text/plain", "") for p in self._parts())
