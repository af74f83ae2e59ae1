"""What the client side and the local engine must agree on, defined once for both.

The engine (``sm_magics.local``) serves these; the launcher, the workflow and the panel use them
to reach it and to read what it wrote. Plain values only: importing this costs nothing.
"""

from __future__ import annotations

# Where the engine listens by default, and its two ways of telling the launcher about itself: which
# engine it is (unauthenticated: only what `ps` shows anyway), and what it could not save or dropped
# at start (signed, like any API call).
HOST = "127.0.0.1"
DEFAULT_PORT = 4747
HEALTH_PATH = "/_sm_magics/health"
DURABILITY_PATH = "/_sm_magics/durability"

# The engine's fixed identity: ARNs, bucket names (``sagemaker-<region>-<account>``) and the
# assumed-role identity the SDKs look up stay the same across restarts.
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
ROLE_NAME = "SageMakerRole"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE_NAME}"

# An endpoint's expiry (ISO 8601): the engine's TTL guard deletes the endpoint after it, on AWS the
# EventBridge schedule does; every surface (magics, panel, CLI) reads and sets the same tag.
TTL_TAG = "sm_magics:expires-at"
