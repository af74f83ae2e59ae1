"""What every built-in algorithm provides to the engine, and how it reports trouble.

An algorithm here plays the part of SageMaker's algorithm container: it
validates its hyperparameters the way the container does, trains on the
channels the platform downloaded for it, writes its model files, and later
serves them. The engine around it (downloads, logs, status, S3) is shared.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ...algorithms.base import AlgorithmSpec, ClientError, Param, parse_hyperparameters  # noqa: F401  (re-exported)
from ..training.channels import Channel  # noqa: F401  (re-exported: what the container sees of a channel)


class AlgorithmError(Exception):
    """A fault inside the algorithm: FailureReason 'AlgorithmError: ...'."""


class ModelRequestError(Exception):
    """An inference request the model container rejects (it answers HTTP ``status``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class TrainingContext:
    """What one training host gets: its channels, its identity, and where to report."""

    job_name: str
    hyperparameters: Mapping[str, str]
    channels: dict[str, Channel]
    host_index: int  # 1-based, as in algo-1
    host_count: int
    model_dir: Path
    log: Callable[[str], None]
    metric: Callable[[str, float], None] = field(default=lambda name, value: None)

    @property
    def host(self) -> str:
        return f"algo-{self.host_index}"


class HostedModel(abc.ABC):
    """A loaded model behind an endpoint variant."""

    @abc.abstractmethod
    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one InvokeEndpoint: response body and its content type."""


class Algorithm(AlgorithmSpec):
    """A built-in algorithm as the engine runs it: the contract (``AlgorithmSpec``), training, hosting."""

    @abc.abstractmethod
    def train_host(self, ctx: TrainingContext, params: dict[str, Any]) -> Any:
        """Train on this host's shard and return a picklable partial result."""

    @abc.abstractmethod
    def finish(self, ctx: TrainingContext, params: dict[str, Any], partials: list[Any]) -> None:
        """On algo-1: merge every host's partial result and write the model files."""

    @abc.abstractmethod
    def load(self, files: dict[str, bytes]) -> HostedModel:
        """Load the members of a model.tar.gz for serving."""
