"""Fixed identities and tunables of the local engine, in one place.

The account and role are constants so that ARNs, bucket names
(``sagemaker-<region>-<account>``) and the assumed-role identity the SDKs look
up stay the same across restarts, which is what makes persisted state usable.
The credentials are not: each data dir has its own (``credentials.py``).
"""

from __future__ import annotations

import os

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_PORT = 4747
HOST = "127.0.0.1"

ROLE_NAME = "SageMakerRole"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE_NAME}"
ROLE_SESSION = "sm-magics-local"

# A job that finishes within this many seconds is already terminal when
# CreateTrainingJob returns, so the SDKs' first (sleep-delayed) describe sees
# the end and the boto3 waiter never sleeps its 120 s. Longer jobs go on
# asynchronously with the real lifecycle.
SYNC_SECONDS = float(os.environ.get("SM_MAGICS_LOCAL_SYNC_SECONDS", "10"))

# SageMaker Runtime's payload limit for real-time InvokeEndpoint.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024

# Request bodies the engine reads into memory, checked (Content-Length, or a capped read of a chunked
# body) before any is read. S3 allows 5 GiB in one PUT, but the engine holds every object in memory,
# so one request carries 512 MiB at most; bigger files go up in parts (boto3's upload_file does so
# above 8 MB). Every other API's requests are small: 16 MiB is far above any of theirs.
MAX_S3_BODY_BYTES = 512 * 1024 * 1024
MAX_REQUEST_BYTES = 16 * 1024 * 1024

# Regions whose public sample buckets are seeded with the tutorials' data.
SAMPLE_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "ap-northeast-1")
