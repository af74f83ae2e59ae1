"""Where a model's files come from: the ModelDataUrl forms SageMaker accepts, and the model.tar.gz behind them.

Both inputs are untrusted: a ModelDataUrl is whatever a caller sent to
CreateModel, and the archive is whatever anyone with write access to the
bucket put there. So the URL is parsed in one place, for CreateModel's check
and for loading alike, and the archive is read as a stream whose decompressed
size, member count and member sizes are bounded *while* it is decompressed
(a gzip bomb is refused after reading at most the limit, not after filling
memory). Members are kept in memory by name; nothing is written to disk, so
links, devices and ``..`` names are refused rather than resolved.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import posixpath
import re
import tarfile
from typing import IO
from urllib.parse import unquote, urlsplit

from .. import settings

__all__ = ["ModelDataError", "parse_model_data_url", "unpack_model"]

_CHUNK = 1024 * 1024
# A tar stream carries a 512-byte header and up to 511 bytes of padding per member, and ends in zero blocks
# padded to a 10 KiB record: room for those on top of the members' own bytes.
_TAR_OVERHEAD_PER_MEMBER = 1024
_TAR_OVERHEAD = 64 * 1024

# <bucket>.s3[.-]<region>.amazonaws.com (virtual-hosted) and s3[.-]<region>.amazonaws.com (path-style);
# the region part is optional (legacy global endpoint) and may carry "dualstack.".
_S3_HOST = re.compile(
    r"^(?:(?P<bucket>[a-z0-9][a-z0-9.\-]*)\.)?s3(?:[.-](?:dualstack\.)?(?P<region>[a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$"
)
FORMS = "s3://bucket/key, https://bucket.s3.<region>.amazonaws.com/key or https://s3.<region>.amazonaws.com/bucket/key"


class ModelDataError(ValueError):
    """A ModelDataUrl or model archive the engine refuses; the message says what is wrong and what to change."""


def parse_model_data_url(url: str) -> tuple[str, str]:
    """(bucket, key) of a ModelDataUrl, in any form SageMaker accepts.

    ``s3://bucket/key`` and S3's https URLs, virtual-hosted
    (``https://bucket.s3.region.amazonaws.com/key``, ``bucket.s3-region``,
    ``bucket.s3``) and path-style (``https://s3.region.amazonaws.com/bucket/key``,
    ``s3-region``, ``s3``): SDK 3.x's ModelBuilder writes the https form. The
    https key is percent-decoded, as S3 decodes it; the s3:// key is taken as is.
    """
    problem = f"Could not access model data at {url}"
    if url.startswith("s3://"):
        bucket, _, key = url[len("s3://") :].partition("/")
        if not bucket or not key:
            raise ModelDataError(f"{problem}: an s3:// ModelDataUrl names a bucket and an object key (s3://bucket/key)")
        return bucket, key
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ModelDataError(f"{problem}: {exc}; use {FORMS}") from None
    if parts.scheme.lower() != "https":
        raise ModelDataError(f"{problem}: the URL must start with s3:// or https://; use {FORMS}")
    if parts.query or parts.fragment or parts.username or parts.password or parts.port:
        raise ModelDataError(f"{problem}: an S3 object URL has no query, fragment, user or port; use {FORMS}")
    match = _S3_HOST.match((parts.hostname or "").lower())
    if match is None:
        raise ModelDataError(f"{problem}: {parts.hostname or '(no host)'} is not an Amazon S3 host; use {FORMS}")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if match["bucket"]:
        bucket, key = match["bucket"], path
    else:
        bucket, _, key = path.partition("/")
    bucket, key = unquote(bucket), unquote(key)
    if not bucket or not key:
        raise ModelDataError(f"{problem}: the URL names no bucket and object key; use {FORMS}")
    return bucket, key


# ----------------------------------------------------------------------------- the archive


class _Budget:
    """A decompressed stream read in chunks that refuses to hand out more than ``limit`` bytes in all."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.produced = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(_CHUNK if size is None or size < 0 else min(size, _CHUNK))
        self.produced += len(chunk)
        if self.produced > self._limit:
            raise ModelDataError(
                f"model.tar.gz unpacks to more than {settings.MAX_MODEL_BYTES} bytes, the engine's limit "
                "(SM_MAGICS_LOCAL_MAX_MODEL_BYTES); refused while decompressing"
            )
        return chunk


def _decompressed(data: bytes) -> IO[bytes]:
    """The tar stream inside gzip, bzip2 or xz (or a plain tar), decompressed lazily as it is read."""
    raw = io.BytesIO(data)
    if data[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if data[:3] == b"BZh":
        return bz2.BZ2File(raw, mode="rb")
    if data[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(raw, mode="rb")
    return raw


def _member_name(member: tarfile.TarInfo) -> str:
    """The flat name SageMaker's containers see (``./xgboost-model`` -> ``xgboost-model``); refuses escapes."""
    name = member.name.replace("\\", "/")
    normal = posixpath.normpath(name) if name else ""
    if not normal or name.startswith("/") or normal == ".." or normal.startswith("../") or "\x00" in name:
        raise ModelDataError(
            f"model.tar.gz member {member.name!r} has an absolute path or climbs out with '..'; "
            "model archives hold paths relative to /opt/ml/model"
        )
    return normal


def unpack_model(data: bytes) -> dict[str, bytes]:
    """The regular files of a model.tar.gz by relative name, within the engine's limits.

    Directories are skipped; links, devices and FIFOs are refused (a model
    archive holds files). ``settings.MAX_MODEL_MEMBERS``,
    ``MAX_MODEL_MEMBER_BYTES`` and ``MAX_MODEL_BYTES`` bound the archive, each
    checked before the bytes it guards are decompressed where the tar header
    tells, and while decompressing in any case.
    """
    members: dict[str, bytes] = {}
    limit_members, limit_member, limit_total = (
        settings.MAX_MODEL_MEMBERS, settings.MAX_MODEL_MEMBER_BYTES, settings.MAX_MODEL_BYTES,
    )  # fmt: skip
    stream = _Budget(_decompressed(data), limit_total + _TAR_OVERHEAD_PER_MEMBER * (limit_members + 1) + _TAR_OVERHEAD)
    total = 0
    count = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                count += 1
                if count > limit_members:
                    raise ModelDataError(
                        f"model.tar.gz holds more than {limit_members} members, the engine's limit "
                        "(SM_MAGICS_LOCAL_MAX_MODEL_MEMBERS)"
                    )
                if member.isdir():
                    continue
                name = _member_name(member)
                if not member.isreg():
                    kind = "a symbolic link" if member.issym() else "a hard link" if member.islnk() else "not a regular file"
                    raise ModelDataError(f"model.tar.gz member {member.name!r} is {kind}; model archives may hold only files and directories")
                if member.size > limit_member:
                    raise ModelDataError(
                        f"model.tar.gz member {name!r} is {member.size} bytes, over the engine's limit of {limit_member} "
                        "bytes per file (SM_MAGICS_LOCAL_MAX_MODEL_MEMBER_BYTES)"
                    )
                if total + member.size > limit_total:
                    raise ModelDataError(
                        f"model.tar.gz unpacks to more than {limit_total} bytes, the engine's limit "
                        "(SM_MAGICS_LOCAL_MAX_MODEL_BYTES)"
                    )
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                parts, size = [], 0
                while chunk := handle.read(_CHUNK):
                    size += len(chunk)
                    if size > member.size:  # a sparse member expanding past its header's size
                        raise ModelDataError(f"model.tar.gz member {name!r} holds more bytes than its header declares")
                    parts.append(chunk)
                total += size
                if name in members:
                    total -= len(members[name])  # a later copy replaces an earlier one, as tar extraction does
                members[name] = b"".join(parts)
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError, ValueError) as exc:
        if isinstance(exc, ModelDataError):
            raise
        raise ModelDataError(f"the model data is not a readable model.tar.gz ({exc})") from None
    return members
