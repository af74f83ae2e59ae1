"""Live views of sm_magics handles (ipywidgets 8). They only observe handles; all logic lives in workflow/."""

from __future__ import annotations

from typing import Any


def widgets_available() -> bool:
    """True inside a Jupyter kernel (a front end that can show widgets); False in terminal IPython."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return False
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell" and getattr(shell, "kernel", None) is not None


def view_for(handle: Any) -> Any:
    """A live widget for a handle, or a text progress printer where widgets cannot show."""
    from ..workflow.endpoints import Endpoint
    from ..workflow.jobs import TrainingJob, TuningJob

    if not widgets_available():
        from .text import TextProgress

        return TextProgress(handle)
    if isinstance(handle, TrainingJob):
        from .training_job import TrainingJobWidget

        return TrainingJobWidget(handle)
    if isinstance(handle, TuningJob):
        from .tuning_job import TuningJobWidget

        return TuningJobWidget(handle)
    if isinstance(handle, Endpoint):
        from .endpoint import EndpointWidget

        return EndpointWidget(handle)
    from ..workflow.transform import TransformJob

    if isinstance(handle, TransformJob):
        from .transform_job import TransformJobWidget

        return TransformJobWidget(handle)
    from .text import TextProgress

    return TextProgress(handle)
