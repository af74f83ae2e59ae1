"""Live views of sm_magics handles (ipywidgets 8). They only observe handles; all logic lives in workflow/."""

from __future__ import annotations

from typing import Any

from .common import widgets_available


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


def _cluster_gallery(images: Any, predictions: Any, **options: Any) -> Any:
    from .gallery import ClusterGallery

    return ClusterGallery(images, predictions, **options)


def _confusion_matrix(y_true: Any, predictions: Any, **options: Any) -> Any:
    from .confusion import ConfusionMatrix

    return ConfusionMatrix(y_true, predictions, **options)


def _register_result_views() -> None:
    """Give endpoint handles their views (``endpoint.gallery(...)``, ``endpoint.confusion(...)``).

    The dependency points this way (the widgets know the workflow, never the reverse); the views
    themselves are imported only when one is asked for.
    """
    from ..workflow.endpoints import RESULT_VIEWS

    RESULT_VIEWS.setdefault("gallery", _cluster_gallery)
    RESULT_VIEWS.setdefault("confusion", _confusion_matrix)


_register_result_views()
