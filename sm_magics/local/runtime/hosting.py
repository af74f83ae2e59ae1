"""Loads a SageMaker model (image + model.tar.gz) into something that answers invocations."""

from __future__ import annotations

import io
import tarfile
from typing import TYPE_CHECKING, Any, Callable

from ..algorithms import KNOWN, algorithm_named, parse_image
from ..algorithms.base import HostedModel

if TYPE_CHECKING:
    pass

ReadS3 = Callable[[str, str], bytes]


def unpack_model(data: bytes) -> dict[str, bytes]:
    """The members of a model.tar.gz (flat names, as SageMaker writes them)."""
    members: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar.getmembers():
            if member.isfile():
                handle = tar.extractfile(member)
                if handle is not None:
                    members[member.name.lstrip("./")] = handle.read()
    return members


class Hosting:
    """Builds HostedModels from CreateModel documents, reading artifacts straight from S3 state."""

    def __init__(self, read_s3: ReadS3) -> None:
        self._read_s3 = read_s3

    def load(self, model: dict[str, Any]) -> HostedModel:
        container = model["PrimaryContainer"]
        image = container["Image"]
        parsed = parse_image(image)
        if parsed is None:
            raise ValueError(f"the local engine cannot serve image {image}; it serves {', '.join(KNOWN)}")
        url = container.get("ModelDataUrl")
        if not url:
            raise ValueError(f"model {model['ModelName']} has no ModelDataUrl; built-in algorithms need their model.tar.gz")
        if not url.startswith("s3://"):
            raise ValueError(f"ModelDataUrl must be an s3:// URI, got {url}")
        bucket, _, key = url[5:].partition("/")
        try:
            data = self._read_s3(bucket, key)
        except KeyError:
            raise ValueError(f"Could not find model data at {url}.") from None
        try:
            members = unpack_model(data)
        except tarfile.TarError as exc:
            raise ValueError(f"{url} is not a model.tar.gz ({exc})") from None
        return algorithm_named(*parsed).load(members)
