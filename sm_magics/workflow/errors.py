"""The one error the notebook shows as a single line, and the one place that words AWS errors.

A failure the user can act on (an endpoint that is gone, a request it refused)
is not a bug in their code: IPython prints ``_render_traceback_``'s lines
instead of a traceback, so the cell shows one line that says what to do.
``explain`` turns any AWS error (botocore's, or the local engine's, which are the
same) into that line for every surface: the magics, the handles' pollers, the
fleet, the panel's REST API and the CLI.
"""

from __future__ import annotations

from ..i18n import _

TRANSIENT = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
             "ServiceUnavailable", "InternalFailure", "InternalServerError"}


class SageMakerError(RuntimeError):
    """SageMaker (or the local engine) could not do what the call asked; the message says what to do."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def explain(error: Exception, *, retrying: bool = True) -> str:
    """One readable line for an AWS error (``retrying``: the caller tries again by itself, as a poller does)."""
    from botocore.exceptions import BotoCoreError, ClientError  # here: importing SageMakerError stays cheap

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            return _("your AWS credentials have expired: refresh them (aws sso login / new keys) and run the cell again")
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return _("access denied: {message} — your role needs the SageMaker permission named there").format(message=message)
        if code in TRANSIENT:
            return (_("AWS is throttling or briefly unavailable ({code}); retrying") if retrying
                    else _("AWS is throttling or briefly unavailable ({code}); try again in a moment")).format(code=code)
        return f"{code}: {message}"
    if isinstance(error, BotoCoreError):
        url = str(getattr(error, "kwargs", {}).get("endpoint_url", ""))
        if url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
            return _("the local SageMaker engine at {address} is not running: start it with "
                     "`sm-magics local start` (or run `%sm_backend local` again)").format(address=url.split('/', 3)[2])
        return _("cannot reach AWS: {error}").format(error=error)

    return f"{type(error).__name__}: {error}"
