"""A fault in following a resource is said, never a cell waiting forever on a dead poller thread."""

from __future__ import annotations

import pytest

from sm_magics.workflow.jobs import Handle


class Broken(Handle):
    kind = "transform job"
    terminal = ("Completed", "Failed", "Stopped")

    def refresh(self) -> None:  # the kind of slip a merge can make: a wrong argument deep in a describe
        raise ValueError("use is one of Training, Hosting, BatchTransform, not 'Transform'")


def test_wait_raises_what_stopped_the_poller_instead_of_hanging():
    handle = Broken(None, "job-1")
    with pytest.raises(RuntimeError, match=r"^sm_magics stopped following transform job job-1: ValueError: use is one of"):
        handle.wait(timeout=30)
    assert "ValueError" in handle.last_error  # what a widget observing the handle shows
