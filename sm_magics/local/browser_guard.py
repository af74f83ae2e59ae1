"""Keeps web pages away from the engine: no foreign ``Host``, no ``Origin`` unless the user allowed it, no CORS.

Any page open in the user's browser can send requests to ``127.0.0.1``: a
``<form>`` POST or a ``no-cors`` fetch needs no preflight, and a DNS
rebinding attack (a name of the attacker's that first resolves to their
server, then to 127.0.0.1) even lets the page read the answers, as the
browser then deems them same-origin. Signature checking (``auth.py``) already
stops such requests from doing anything; this module refuses them before
that, by the two headers a browser cannot leave out or forge:

* ``Host`` must name the engine itself (``127.0.0.1``, ``localhost``,
  ``[::1]`` or ``<bucket>.localhost`` for virtual-hosted S3, with the
  engine's port) — a rebound name carries the attacker's host name;
* ``Origin``, which browsers add to every cross-origin and every non-GET
  request, refuses the request unless ``SM_MAGICS_LOCAL_ALLOWED_ORIGINS``
  (comma-separated, empty by default) lists it. SDKs never send it.

For an allowed origin the engine answers CORS preflights and adds
``Access-Control-Allow-Origin`` for that origin alone; requests must still
be signed.
"""

from __future__ import annotations

import os
import re
from typing import Any

from .refusals import Refusal

ALLOWED_ORIGINS_ENV = "SM_MAGICS_LOCAL_ALLOWED_ORIGINS"
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_BUCKET_LABELS = re.compile(r"^[a-z0-9][a-z0-9.-]{0,253}\.localhost$")
_EXPOSED = "ETag, x-amz-request-id, x-amz-id-2, x-amzn-RequestId, x-amzn-ErrorType, x-amz-version-id, Content-Length, Content-Type"

Headers = list[tuple[str, str]]


def allowed_origins_from_env() -> frozenset[str]:
    """The origins the user allows, normalized (lower case, no trailing slash)."""
    raw = os.environ.get(ALLOWED_ORIGINS_ENV, "")
    return frozenset(_normal(origin) for origin in raw.split(",") if origin.strip())


def _normal(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


class BrowserGuard:
    def __init__(self, port: int, allowed_origins: frozenset[str]) -> None:
        self.port = port
        self.allowed_origins = allowed_origins

    def check(self, environ: dict[str, Any]) -> Refusal | None:
        """Why this request may not reach the engine at all; None when it may."""
        host = environ.get("HTTP_HOST", "")
        if not self._own_host(host):
            return Refusal("forbidden", f"Host '{host}' is not this engine's address; use http://127.0.0.1:{self.port}.")
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and _normal(origin) not in self.allowed_origins:
            return Refusal("forbidden", f"Requests from web pages (Origin: {origin}) are refused by the local engine; "
                           f"{ALLOWED_ORIGINS_ENV} lists the origins it allows.")
        return None

    def _own_host(self, host: str) -> bool:
        host = host.strip().lower()
        if host.startswith("["):  # [::1]:port
            name, _, rest = host.partition("]")
            name += "]"
            if rest and not rest.startswith(":"):
                return False
            port = rest[1:]
        else:
            name, _, port = host.partition(":")
        if port != str(self.port) and not (port == "" and self.port == 80):
            return False
        return name in _LOCAL_HOSTS or bool(_BUCKET_LABELS.match(name))

    # ------------------------------------------------------------------ CORS, for allowed origins only

    def is_preflight(self, environ: dict[str, Any]) -> bool:
        return environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ORIGIN" in environ and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ

    def preflight_headers(self, environ: dict[str, Any]) -> Headers:
        return self.cors_headers(environ) + [
            ("Access-Control-Allow-Methods", "GET, PUT, POST, DELETE, HEAD"),
            ("Access-Control-Allow-Headers", environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")),
            ("Access-Control-Max-Age", "600"),
        ]

    @staticmethod
    def cors_headers(environ: dict[str, Any]) -> Headers:
        """CORS headers for a request that passed ``check``: only an allowed origin's request carries an Origin."""
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            return []
        return [("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", _EXPOSED), ("Vary", "Origin")]
