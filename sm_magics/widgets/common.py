"""Small pieces the widgets share: whether a widget can show, status colours, durations, sparklines."""

from __future__ import annotations

import html


def widgets_available() -> bool:
    """True inside a Jupyter kernel (a front end that can show widgets); False in terminal IPython."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return False
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell" and getattr(shell, "kernel", None) is not None


STATUS_COLOURS = {
    "Completed": "#1a7f37", "InService": "#1a7f37", "Failed": "#cf222e", "Stopped": "#9a6700", "Deleted": "#6e7781",
    "InProgress": "#0969da", "Creating": "#0969da", "Updating": "#0969da", "Stopping": "#9a6700", "Deleting": "#9a6700",
    "Pending": "#6e7781",
}


def badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#6e7781")
    return (f'<span style="background:{colour};color:white;border-radius:8px;padding:1px 8px;'
            f'font-size:85%;font-weight:600">{html.escape(status)}</span>')


def duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def sparkline(points: list[tuple[float, float]], width: int = 220, height: int = 40) -> str:
    """An inline SVG line of a metric's values: cheap to send, no figure per update."""
    if not points:
        return ""
    values = [v for _, v in points]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    xy = [(i * step, height - 4 - (v - low) / span * (height - 8)) for i, v in enumerate(values)]
    if len(values) == 1:
        xy = [(width / 2, height / 2)]  # one value (a final test metric): a dot, not an empty box
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    last_x, last_y = xy[-1]
    return (f'<svg width="{width}" height="{height}" style="vertical-align:middle">'
            f'<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="{coords}"/>'
            f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="#0969da"/></svg>')


class SummaryFallback:
    """Mixin for handle widgets: front ends without widgets (nbconvert, a notebook saved without
    widget state) show the handle's one-line summary instead of ``VBox(children=...)``."""

    handle: object

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if bundle is not None:
            bundle["text/plain"] = self.handle.summary()  # type: ignore[attr-defined]
        return bundle
