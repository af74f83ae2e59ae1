"""What the SageMaker services are handed, instead of the engine or each other.

The services are shaped like moto's backends: each holds its own state and reaches the rest of
the engine only through what is injected here, so none of them imports the engine (or the
region backend) and the engine's wiring can change without touching them.

- ``Platform`` is what a region's SageMaker backend needs from the engine process: where to
  write CloudWatch log lines, the training runner, the hosting loader, the address and keys
  training hosts use to reach the engine, their scratch space, and whether the engine is stopping.
- ``RegionState`` is what the services beside the core resources (tuning, transform, registry,
  monitoring, search) need from their region: its lock, its resources, ARNs, tags, and
  ``changing(keys)`` (a request's change, saved before it answers, undone if it cannot be) /
  ``save_quietly(keys)`` (a change no request waits for).
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .records import Endpoint, Key, TrainingJob

if TYPE_CHECKING:
    from ..credentials import Credentials
    from ..moto_services import LogsWriter
    from ..runtime.hosting import Hosting
    from ..training.runner import TrainingRunner

@dataclass(frozen=True)
class Platform:
    """The engine's parts a region's SageMaker backend uses (built once by the engine)."""

    logs: "LogsWriter"
    runner: "TrainingRunner"
    hosting: "Hosting"
    credentials: "Credentials"
    url: str  # the engine's address, for training hosts
    work_dir: Path  # scratch space of training hosts, one directory per job
    stopping: threading.Event  # set at the stop signal: what hosts report after it is not their outcome


class RegionState(Protocol):
    """One region's SageMaker state as the services beside the core resources see it."""

    region: str
    platform: Platform
    lock: threading.RLock
    tags: dict[str, list[dict[str, str]]]
    models: dict[str, dict[str, Any]]
    endpoints: dict[str, Endpoint]
    training_jobs: dict[str, TrainingJob]

    def arn(self, kind: str, name: str) -> str: ...

    def changing(self, *keys: Key) -> AbstractContextManager[None]: ...

    def save_quietly(self, *keys: Key) -> None: ...

    def set_tags(self, arn: str, tags: list[dict[str, str]]) -> None: ...

    def start_training_job(self, request: dict[str, Any], tuning_job_arn: str | None = None) -> TrainingJob: ...

    def stop_training_job(self, name: str) -> None: ...

