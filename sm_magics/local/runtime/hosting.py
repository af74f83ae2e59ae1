"""Loads a SageMaker model (image + model.tar.gz) into something that answers invocations."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ...algorithms.images import KNOWN, parse_image
from ..algorithms import algorithm_named
from ..algorithms.base import ClientError, HostedModel
from . import legacy_xgboost
from .model_data import ModelDataError, parse_model_data_url, unpack_model

__all__ = ["Hosting", "unpack_model"]

ReadS3 = Callable[[str, str], bytes]


class Hosting:
    """Builds HostedModels from CreateModel documents, reading artifacts straight from S3 state.

    Hosting and batch transform both come here, so the limits on the archive
    (``model_data.unpack_model``) and the algorithms' loaders, which execute
    nothing an artifact holds, guard every way a model gets loaded.
    """

    def __init__(self, read_s3: ReadS3, cache_dir: Path | None = None) -> None:
        self._read_s3 = read_s3
        if cache_dir is not None:  # where the side environment for older XGBoost models is made
            legacy_xgboost.configure(cache_dir)

    def load(self, model: dict[str, Any], log: Callable[[str], None] | None = None) -> HostedModel:
        """The model, ready to answer; ``log`` gets progress lines (the side environment's one-time build)."""
        token = legacy_xgboost.progress_log.set(log)
        try:
            return self._load(model)
        finally:
            legacy_xgboost.progress_log.reset(token)

    def _load(self, model: dict[str, Any]) -> HostedModel:
        container = model["PrimaryContainer"]
        image = container["Image"]
        parsed = parse_image(image)
        if parsed is None:
            raise ValueError(f"the local engine cannot serve image {image}; it serves {', '.join(KNOWN)}")
        url = container.get("ModelDataUrl")
        if not url:
            raise ValueError(f"model {model['ModelName']} has no ModelDataUrl; built-in algorithms need their model.tar.gz")
        bucket, key = parse_model_data_url(url)
        try:
            data = self._read_s3(bucket, key)
        except KeyError:
            raise ValueError(f"Could not find model data at {url}.") from None
        try:
            members = unpack_model(data)
            return algorithm_named(*parsed).load(members)
        except (ModelDataError, ClientError, ValueError) as exc:
            raise ModelDataError(f"{exc} (model data {url})") from None
