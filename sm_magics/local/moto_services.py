"""The services moto holds for us (S3, STS, IAM, CloudWatch Logs), reached in-process.

The engine's own code reads and writes moto's backends directly, as moto's own
cross-service features do, instead of making HTTP calls to itself. Clients and
training hosts still go over HTTP like any AWS caller.

Two things moto lacks are filled in here: an assumed-role identity (so
``sagemaker.get_execution_role()`` finds a role, as on a notebook instance)
and ``iam:SimulatePrincipalPolicy`` (SDK 3.x checks the role with it).

Two things moto's server does are taken away: its global CORS (every answer
said ``Access-Control-Allow-Origin: *``, letting any web page read the
engine) and, in ``gateway.py``, its ``/moto-api`` (dashboard, state dump, reset).
The keys moto issues (``issued_key``) are what the engine's signature check
accepts beside the data dir's own.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timezone
from typing import Any, Protocol

from . import settings
from .auth import Key
from .credentials import Credentials

TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def wsgi_app() -> Any:
    """moto's WSGI dispatcher for every service, its Flask apps built without flask-cors."""
    from moto.moto_server import werkzeug_app

    def create_app(service: str) -> Any:
        # create_backend_app wraps each app in flask_cors.CORS unless this module flag is set; it is read per app
        werkzeug_app.DISABLE_GLOBAL_CORS = True
        return werkzeug_app.create_backend_app(service)

    return werkzeug_app.DomainDispatcherApplication(create_app)


def issued_key(access_key_id: str) -> Key | None:
    """A key moto handed out (an STS AssumeRole session, an active IAM access key), in any account; None if none."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for accounts in list(sts_backends.values()):
        for backend in list(accounts.values()):
            role = backend.get_assumed_role_from_access_key(access_key_id)
            if role is not None:
                return Key(access_key_id, role.secret_access_key, role.session_token, role.expiration.replace(tzinfo=timezone.utc))
    for accounts in list(iam_backends.values()):
        for backend in list(accounts.values()):
            key = backend.access_keys.get(access_key_id)
            if key is not None and key.status == "Active":
                return Key(access_key_id, key.secret_access_key, None)
    return None


def s3_backend() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[settings.ACCOUNT_ID]["aws"]


def logs_backend(region: str) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[settings.ACCOUNT_ID][region]


def read_object(bucket: str, key: str) -> bytes:
    """An S3 object's bytes; KeyError when the bucket or key does not exist."""
    from moto.s3.exceptions import MissingBucket

    try:
        found = s3_backend().get_object(bucket, key)
    except MissingBucket:
        raise KeyError(f"s3://{bucket}/{key}") from None
    if found is None:
        raise KeyError(f"s3://{bucket}/{key}")
    return found.value


def put_object(bucket: str, key: str, data: bytes, region: str = settings.DEFAULT_REGION, content_type: str | None = None) -> None:
    """Create or replace an object (and its bucket); saved to disk before returning (PersistError if it cannot be)."""
    from . import durable_s3

    backend = s3_backend()
    with durable_s3.transaction():
        if bucket not in backend.buckets:
            backend.create_bucket(bucket, region)
        stored = backend.put_object(bucket, key, data)
        if content_type:
            stored.set_metadata({"Content-Type": content_type})


def object_exists(bucket: str, key: str) -> bool:
    try:
        read_object(bucket, key)
    except KeyError:
        return False
    return True


class LogSink(Protocol):
    """Where written log lines are also kept, so they survive the engine (``store.Store.append_logs``)."""

    def append_logs(self, region: str, group: str, stream: str, events: list[tuple[int, str]]) -> None: ...


class LogsWriter:
    """Appends lines to CloudWatch Logs streams, creating groups and streams on first use.

    With a ``sink``, each line is saved there first; a line that cannot be saved is
    still shown (logs are the engine's own reporting, not an acknowledged write),
    and the failure is counted in ``unsaved`` for ``local stop`` to report.
    """

    def __init__(self, sink: LogSink | None = None) -> None:
        self._lock = threading.Lock()
        self._sink = sink
        self.unsaved = 0
        self.last_failure: str | None = None

    def create_stream_group(self, group: str, region: str) -> None:
        from moto.logs.exceptions import ResourceAlreadyExistsException

        with self._lock:
            backend = logs_backend(region)
            if group not in backend.groups:
                try:
                    backend.create_log_group(group, tags={})
                except ResourceAlreadyExistsException:
                    pass

    def write(self, group: str, stream: str, lines: list[str], region: str) -> None:
        self.create_stream_group(group, region)
        now = int(time.time() * 1000)
        with self._lock:
            if self._sink is not None:
                try:
                    self._sink.append_logs(region, group, stream, [(now, line) for line in lines])
                except Exception as exc:  # keep the line visible; report the loss at stop
                    self.unsaved += len(lines)
                    self.last_failure = str(exc)
            self.replay(group, stream, [(now, line) for line in lines], region)

    def replay(self, group: str, stream: str, events: list[tuple[int, str]], region: str) -> None:
        """Put events into moto's stream as they are (also used to bring stored events back at start)."""
        backend = logs_backend(region)
        if group not in backend.groups:
            backend.create_log_group(group, tags={})
        if stream not in backend.groups[group].streams:
            backend.create_log_stream(group, stream)
        # the stream's own method: the backend's refuses events older than 14 days
        backend.groups[group].streams[stream].put_log_events([{"timestamp": ts, "message": m} for ts, m in events])


def ensure_identity(keys: Credentials) -> None:
    """The execution role, and the data dir's credentials bound to it as an assumed-role session."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    iam = iam_backends[settings.ACCOUNT_ID]["aws"]
    try:
        iam.get_role(settings.ROLE_NAME)
    except Exception:
        iam.create_role(
            role_name=settings.ROLE_NAME,
            assume_role_policy_document=TRUST_POLICY,
            path="/",
            permissions_boundary=None,
            description="Execution role of the sm_magics local engine",
            tags=[],
            max_session_duration="3600",
        )
    sts = sts_backends[settings.ACCOUNT_ID]["aws"]
    if sts.get_assumed_role_from_access_key(keys.access_key_id) is None:
        role = sts.assume_role(
            region_name=settings.DEFAULT_REGION,
            role_session_name=settings.ROLE_SESSION,
            role_arn=settings.ROLE_ARN,
            policy="",
            duration=12 * 3600,
            external_id="",
        )
        role.access_key_id = keys.access_key_id
        role.secret_access_key = keys.secret_access_key
        role.session_token = keys.session_token


def simulate_principal_policy(form: dict[str, list[str]]) -> bytes:
    """Every action is allowed: the local engine has no policies to deny with."""
    actions = [value for key, values in form.items() if key.startswith("ActionNames.member.") for value in values]
    resources = [value for key, values in form.items() if key.startswith("ResourceArns.member.") for value in values] or ["*"]
    members = "".join(
        f"<member><EvalActionName>{action}</EvalActionName><EvalResourceName>{resource}</EvalResourceName>"
        "<EvalDecision>allowed</EvalDecision><MatchedStatements/><MissingContextValues/></member>"
        for action in actions
        for resource in resources
    )
    return (
        '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>{members}</EvaluationResults>"
        f"</SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</SimulatePrincipalPolicyResponse>"
    ).encode()
