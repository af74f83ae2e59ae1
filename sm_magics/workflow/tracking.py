"""Notices what a cell's own SDK or boto3 code creates, whatever made the client.

Every botocore client call goes through ``BaseClient._make_api_call``; while a
tracked cell runs, a wrapper there records each successful Create* call of
SageMaker (training and tuning jobs, models, endpoint configs, endpoints), so
the magics can show a live widget for each and clean them up later. SDK 2.x,
SDK 3.x and plain boto3 all pass through the same door, so no adapter per SDK
version is needed.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

TRACKED = {
    "CreateTrainingJob": ("training-job", "TrainingJobName"),
    "CreateHyperParameterTuningJob": ("tuning-job", "HyperParameterTuningJobName"),
    "CreateModel": ("model", "ModelName"),
    "CreateEndpointConfig": ("endpoint-config", "EndpointConfigName"),
    "CreateEndpoint": ("endpoint", "EndpointName"),
    "CreateTransformJob": ("transform-job", "TransformJobName"),
}


@dataclass(frozen=True)
class Created:
    kind: str
    name: str
    region: str
    params: dict[str, Any]


_listeners: list[Callable[[Created], None]] = []
_lock = threading.Lock()
_installed = False


def _install() -> None:
    global _installed
    if _installed:
        return
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        result = original(self, operation_name, api_params)
        if _listeners and operation_name in TRACKED and self.meta.service_model.service_name == "sagemaker":
            kind, key = TRACKED[operation_name]
            created = Created(kind, api_params.get(key, ""), self.meta.region_name, dict(api_params))
            with _lock:
                listeners = list(_listeners)
            for listener in listeners:
                listener(created)
        return result

    BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
    _installed = True


@contextlib.contextmanager
def tracking(listener: Callable[[Created], None]) -> Iterator[None]:
    """Call ``listener`` for each SageMaker resource created inside the block."""
    _install()
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)
