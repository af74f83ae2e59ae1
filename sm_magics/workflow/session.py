"""Which SageMaker the notebook talks to (the local engine or AWS), and the boto3 clients for it.

The choice is made once per kernel and explained in one line. "auto" picks AWS
when credentials resolve and the local engine otherwise. Choosing the local
engine also points this process's environment at it, so the user's own boto3
and SageMaker SDK code in later cells goes to the same place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..i18n import _

BACKEND_ENV = "SM_MAGICS_BACKEND"


class BackendError(RuntimeError):
    """The backend cannot be used; the message says what to do."""


@dataclass
class Backend:
    kind: str  # "local" or "aws"
    region: str
    reason: str
    endpoint_url: str | None = None
    profile: str | None = None
    engine: Any = field(default=None, repr=False)  # the local engine's launcher.EngineInfo (its address and keys)
    _saved_env: dict[str, str | None] | None = field(default=None, repr=False)  # what activate() replaced
    _session: Any = field(default=None, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _prices: Any = field(default=None, repr=False)
    _fleet: Any = field(default=None, repr=False)  # fleet.Fleet, made by fleet_of(): its caches serve every surface

    @property
    def prices(self) -> Any:
        """This backend's PriceBook (the Pricing API on AWS, the bundled table locally)."""
        if self._prices is None:
            from .pricing import price_book_for

            self._prices = price_book_for(self)
        return self._prices

    @property
    def session(self) -> Any:
        if self._session is None:
            import boto3

            if self.kind == "local":
                self._session = boto3.Session(**self.engine.credentials.as_boto3(), region_name=self.region)
            else:
                self._session = boto3.Session(profile_name=self.profile, region_name=self.region)
        return self._session

    def activate(self) -> None:
        """Point this process's own AWS environment (the user's boto3 / SDK cells) at this backend.

        Only the local engine needs it: its address, keys and region go into ``os.environ`` and
        clients pinned to ``*.amazonaws.com`` are redirected. What was there before is kept, so
        ``release`` gives the kernel back exactly the environment the user had.
        """
        if self.kind != "local" or self._saved_env is not None:
            return
        from .. import launcher
        from ..redirect import redirect_in_process

        env = launcher.client_env(self.engine, self.region)
        env.pop("PYTHONPATH")  # in-process, the redirect is installed directly
        changed = [*launcher.CLEARED_ENV, *env]
        self._saved_env = {name: os.environ.get(name) for name in changed}
        for name in launcher.CLEARED_ENV:
            os.environ.pop(name, None)
        os.environ.update(env)
        redirect_in_process(self.engine.url)
        _forget_default_boto3_session()

    def release(self) -> None:
        """Undo ``activate``: the user's own AWS variables back as they were, no redirect to the engine."""
        if self._saved_env is None:
            return
        from ..redirect import undo_redirect_in_process

        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = None
        undo_redirect_in_process()
        _forget_default_boto3_session()

    def client(self, service: str, region: str | None = None) -> Any:
        key = f"{service}@{region or self.region}"
        if key not in self._clients:
            from botocore.config import Config

            # AWS throttles and has brief outages worth riding out; the engine on this machine does neither,
            # and when it is not running the user should hear so at once, not after eight tries.
            retries = {"mode": "adaptive", "max_attempts": 8} if self.kind == "aws" else {"mode": "standard", "max_attempts": 1}
            config = Config(retries=retries, user_agent_extra="sm_magics")
            self._clients[key] = self.session.client(
                service, region_name=region or self.region, endpoint_url=self.endpoint_url, config=config
            )
        return self._clients[key]

    def describe(self) -> str:
        if self.kind == "local":
            return _("sm_magics: local SageMaker engine at {url} (region {region}) — {reason}").format(
                url=self.endpoint_url, region=self.region, reason=self.reason)
        if self.profile:
            return _("sm_magics: AWS SageMaker (profile {profile}, region {region}) — {reason}").format(
                profile=self.profile, region=self.region, reason=self.reason)
        return _("sm_magics: AWS SageMaker (region {region}) — {reason}").format(region=self.region, reason=self.reason)

    @property
    def account(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]


def _forget_default_boto3_session() -> None:
    """``boto3.client(...)`` in a cell uses boto3's default session, which keeps the credentials it
    resolved first; after a switch it must resolve them again from the environment now in force."""
    import sys

    boto3 = sys.modules.get("boto3")
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None


def _aws_credentials(profile: str | None) -> Any:
    import boto3
    import botocore.exceptions

    try:
        return boto3.Session(profile_name=profile).get_credentials()
    except botocore.exceptions.ProfileNotFound:
        raise BackendError(_("AWS profile '{profile}' is not configured; run `aws configure --profile {profile}` or pick another").format(
            profile=profile)) from None


def local_backend(region: str | None = None, *, apply_env: bool = True) -> Backend:
    """Start (or find) the engine; optionally point this process's AWS environment at it."""
    from .. import launcher
    from .boto_warmup import BotoWarmUp

    already = launcher.status()
    warm_up = BotoWarmUp() if apply_env and already is None else None  # runs while the engine starts
    info = already or launcher.start()
    reason = _("engine already running") if already else _("engine started")
    backend = Backend("local", region or "us-east-1", reason, endpoint_url=info.url, engine=info)
    if apply_env:
        backend.activate()
        if warm_up is not None:
            warm_up.install_default_session()
    return backend


def aws_backend(profile: str | None = None, region: str | None = None) -> Backend:
    import boto3

    credentials = _aws_credentials(profile)
    if credentials is None:
        raise BackendError(_("no AWS credentials found: configure them (aws configure / aws sso login) or use `%sm_backend local`"))
    region = region or boto3.Session(profile_name=profile).region_name
    if not region:
        raise BackendError(_("no AWS region set: pass --region, or set it with `aws configure` or AWS_DEFAULT_REGION"))
    return Backend("aws", region, _("AWS credentials found"), profile=profile)


def choose_backend(preference: str | None = None, profile: str | None = None, region: str | None = None, *,
                   apply_env: bool = True) -> Backend:
    """'local', 'aws' or 'auto' (the default, or $SM_MAGICS_BACKEND).

    ``apply_env=False`` leaves this process's environment alone: a Jupyter
    server must not re-point the kernels it starts at the engine.
    """
    preference = (preference or os.environ.get(BACKEND_ENV) or "auto").lower()
    if preference not in ("auto", "local", "aws"):
        raise BackendError(_("unknown backend '{preference}': use local, aws or auto").format(preference=preference))
    if preference == "local":
        backend = local_backend(region, apply_env=apply_env)
        backend.reason = _("chosen explicitly; {reason}").format(reason=backend.reason)
        return backend
    if preference == "aws":
        return aws_backend(profile, region)
    if os.environ.get("AWS_ENDPOINT_URL") is None and _aws_credentials(profile) is not None:
        return aws_backend(profile, region)
    backend = local_backend(region, apply_env=apply_env)
    backend.reason = _("no AWS credentials found; {reason}").format(reason=backend.reason)

    return backend
