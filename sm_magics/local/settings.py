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

# Regions whose public sample buckets are seeded with the tutorials' data.
SAMPLE_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "ap-northeast-1")
