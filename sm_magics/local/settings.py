"""Fixed identities and tunables of the local engine, in one place.

The account and role are constants so that ARNs, bucket names
(``sagemaker-<region>-<account>``) and the assumed-role identity the SDKs look
up stay the same across restarts, which is what makes persisted state usable.
The credentials are not: each data dir has its own (``credentials.py``).
"""

from __future__ import annotations

import os

from ..constants import (  # noqa: F401  (re-exported: the engine reads them here with its tunables)
    ACCOUNT_ID,
    DEFAULT_PORT,
    DEFAULT_REGION,
    DURABILITY_PATH,
    HEALTH_PATH,
    HOST,
    ROLE_ARN,
    ROLE_NAME,
)


def _limit(name: str, default: int) -> int:
    """A positive integer tunable from the environment; a bad value stops the engine with a one-line reason."""
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer, got {text!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {text!r}")
    return value

ROLE_SESSION = "sm-magics-local"

# A job that finishes within this many seconds is already terminal when
# CreateTrainingJob returns, so the SDKs' first (sleep-delayed) describe sees
# the end and the boto3 waiter never sleeps its 120 s. Longer jobs go on
# asynchronously with the real lifecycle.
SYNC_SECONDS = float(os.environ.get("SM_MAGICS_LOCAL_SYNC_SECONDS", "10"))

# SageMaker Runtime's payload limit for real-time InvokeEndpoint.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024

# Bounds on a model.tar.gz the engine unpacks for hosting and batch transform.
# Models come from S3, where anyone with write access to the bucket can put
# them, so a gzip bomb or an archive of a million empty files must be refused
# while it is being read, not after it has filled memory. The defaults sit far
# above what the built-in algorithms write (kilobytes to a few hundred MB).
MAX_MODEL_MEMBERS = _limit("SM_MAGICS_LOCAL_MAX_MODEL_MEMBERS", 10_000)
MAX_MODEL_MEMBER_BYTES = _limit("SM_MAGICS_LOCAL_MAX_MODEL_MEMBER_BYTES", 1024**3)  # 1 GiB per file
MAX_MODEL_BYTES = _limit("SM_MAGICS_LOCAL_MAX_MODEL_BYTES", 2 * 1024**3)  # 2 GiB for all files together

# Request bodies the engine reads into memory, checked (Content-Length, or a capped read of a chunked
# body) before any is read. S3 allows 5 GiB in one PUT, but the engine holds every object in memory,
# so one request carries 512 MiB at most; bigger files go up in parts (boto3's upload_file does so
# above 8 MB). Every other API's requests are small: 16 MiB is far above any of theirs.
MAX_S3_BODY_BYTES = 512 * 1024 * 1024
MAX_REQUEST_BYTES = 16 * 1024 * 1024

# Regions whose public sample buckets are seeded with the tutorials' data.
SAMPLE_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "ap-northeast-1")
