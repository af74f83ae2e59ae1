"""The static rendering every widget keeps of its latest state (what a saved notebook shows without the widget)."""

from __future__ import annotations

import numpy as np

from sm_magics.widgets.confusion import ConfusionMatrix
from sm_magics.widgets.snapshot import StaticBox, StaticRendering


def test_a_box_of_widgets_renders_its_children_stacked_and_follows_them() -> None:
    truth = np.array([0, 1, 1, 0, 1, 0])
    scores = np.array([0.2, 0.9, 0.4, 0.1, 0.8, 0.7])
    first, second = ConfusionMatrix(truth, scores=scores, threshold=0.5), ConfusionMatrix(truth, truth)
    box = StaticBox()
    box.children += (first,)
    box.children += (second,)
    assert box.static_bundle["text/html"].count("<table") == 4  # two per matrix
    assert "threshold 0.500" in box.static_bundle["text/plain"]
    first.publish_static(force=True)  # as a displayed matrix does on each change
    first.threshold = 0.75
    assert "threshold 0.750" in box.static_bundle["text/html"] and "threshold 0.500" not in box.static_bundle["text/html"]


def test_a_result_publishes_once_shown_and_a_bundle_carries_view_html_and_text() -> None:
    class Shown(StaticRendering):
        STATIC_EAGER = False
        calls = 0

        def static_html(self) -> str:
            type(self).calls += 1
            return "<b>state</b>"

        def static_text(self) -> str:
            return "state"

    shown = Shown()
    shown.publish_static()  # not displayed yet: a costly rendering waits
    assert shown.static_bundle == {} and Shown.calls == 0
    shown.publish_static(force=True)
    assert shown.static_bundle["text/html"].startswith("<div class='sm-magics-static mathjax_ignore tex2jax_ignore'><b>state</b>")
    assert shown.static_bundle["text/plain"].startswith("state\n(last seen ")
