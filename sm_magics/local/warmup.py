"""The engine asks itself the first questions a kernel asks, as soon as it listens.

An engine's first request of each kind is its slowest: moto builds its S3 and STS
response machinery, and the default region's SageMaker backend is created, on first
use (measured: a first ListBuckets 110-290 ms against 6-40 ms after it, a first
SageMaker call 130-740 ms against 2-14 ms). A notebook's next cell after
``%load_ext sm_magics`` is exactly such a first request, so the engine makes them
itself in the background, while the kernel is still importing boto3. They are
ordinary read-only calls (ListBuckets, GetCallerIdentity, ListEndpoints), signed
with the data dir's keys like any client's and answered through the same front,
so nothing is warmed that a real request would not also go through.
"""

from __future__ import annotations

import logging
import threading
import urllib.request

from . import settings
from .credentials import Credentials

log = logging.getLogger(__name__)

# (signing service, target header or None, content type, body): each is read-only and changes no state
FIRST_QUESTIONS: tuple[tuple[str, str | None, str | None, bytes], ...] = (
    ("s3", None, None, b""),
    ("sts", None, "application/x-www-form-urlencoded; charset=utf-8", b"Action=GetCallerIdentity&Version=2011-06-15"),
    ("sagemaker", "SageMaker.ListEndpoints", "application/x-amz-json-1.1", b"{}"),
)


def ask_first_questions(url: str, keys: Credentials, region: str = settings.DEFAULT_REGION) -> dict[str, int | str]:
    """Send each of FIRST_QUESTIONS once: service -> HTTP status (or the error).

    A failure only means the first real request will be slower, so it is logged, not raised.
    """
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as Keys

    signing_keys = Keys(keys.access_key_id, keys.secret_access_key, keys.session_token)
    answers: dict[str, int | str] = {}
    for service, target, content_type, body in FIRST_QUESTIONS:
        headers = {"X-Amz-Target": target} if target else {}
        if content_type:
            headers["Content-Type"] = content_type
        request = AWSRequest(method="POST" if body else "GET", url=url + "/", data=body, headers=headers)
        signer = S3SigV4Auth if service == "s3" else SigV4Auth
        signer(signing_keys, service, region).add_auth(request)
        prepared = request.prepare()
        try:
            with urllib.request.urlopen(
                urllib.request.Request(prepared.url, data=body or None, headers=dict(prepared.headers), method=prepared.method),
                timeout=30,
            ) as response:
                response.read()
                answers[service] = response.status
        except OSError as exc:  # URLError / HTTPError included: warming is best effort
            log.debug("warm-up %s request failed: %s", service, exc)
            answers[service] = getattr(exc, "code", None) or str(exc)
    return answers


def start(url: str, keys: Credentials) -> threading.Thread:
    thread = threading.Thread(target=ask_first_questions, args=(url, keys), daemon=True, name="first-request warm-up")
    thread.start()
    return thread
