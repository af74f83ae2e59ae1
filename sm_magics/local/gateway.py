"""The engine's HTTP front: one loopback port, every request admitted, authenticated, then routed.

Admission, in order: the request must come to the engine's own host name and
not from a web page (``browser_guard``); ``/moto-api`` does not exist; the
request must be signed with a key the engine knows, in time (``auth``); its
body must be within the limit for its API (``settings``), checked before it
is read; and the signature must match the request and body. Only then is it
routed, by its SigV4 signing scope. SageMaker and SageMaker Runtime both sign
as ``sagemaker``; the runtime is told apart by its
``/endpoints/<name>/invocations`` path. Everything else (S3, STS, IAM,
CloudWatch Logs, EC2's region list) goes to moto's WSGI dispatcher, except
IAM's SimulatePrincipalPolicy, which moto lacks, and the tagging API's
GetResources for SageMaker resources, whose state is ours. A refused request
gets AWS's own answer for its protocol (``refusals``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
import time
import traceback
import uuid
from io import BytesIO
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from . import datadir_lock, moto_services, persistence, settings, tagging, warmup
from .auth import Authenticator, Claim, Keyring
from .browser_guard import BrowserGuard, allowed_origins_from_env
from .http_front import Front
from .engine import Engine
from .refusals import Refusal, answer
from .runtime import responses as runtime_responses
from .sagemaker import responses as sagemaker_responses
from .store import PersistError
from .wire import WireError

log = logging.getLogger("sm_magics.local")

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
_INVOCATIONS = re.compile(r"^/endpoints/[^/]+/invocations/?$")
_READ_CHUNK = 1024 * 1024

StartResponse = Callable[..., Any]


def signing_scope(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """(service, region) from the Authorization header or a presigned URL's X-Amz-Credential (unverified)."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match["service"], match["region"]
    credential = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
    if credential:
        parts = credential[0].split("/")
        if len(parts) >= 5:
            return parts[3], parts[2]
    return None, None


def _is_moto_api(path: str) -> bool:
    """moto's own HTTP API (dashboard, data.json, reset, seed...) and its favicon: never served."""
    stripped = "/" + path.lstrip("/")
    return stripped.startswith("/moto-api") or stripped == "/favicon.ico"


def body_limit(claim: Claim, path: str) -> int:
    if claim.service == "sagemaker" and _INVOCATIONS.match(path):
        return settings.MAX_PAYLOAD_BYTES
    if claim.service == "s3":
        return settings.MAX_S3_BODY_BYTES
    return settings.MAX_REQUEST_BYTES


def _too_large(claim: Claim, path: str, limit: int, size: int | None) -> Refusal:
    if claim.service == "sagemaker" and _INVOCATIONS.match(path):
        detail = f"HTTP content length exceeded {limit} bytes."
    else:
        detail = f"The request body{f' of {size} bytes' if size is not None else ''} is over the local engine's limit of {limit} bytes for this API."
    fields = {"MaxSizeAllowed": str(limit)} | ({"ProposedSize": str(size)} if size is not None else {})
    return Refusal("too_large", detail, fields)


def read_body(environ: dict[str, Any], claim: Claim) -> bytes:
    """The request body, at most its API's limit: Content-Length is checked before anything is read,
    a chunked body is read with a cap. Refusal("too_large") otherwise."""
    path = environ.get("PATH_INFO", "")
    limit = body_limit(claim, path)
    stream = environ["wsgi.input"]
    declared = environ.get("CONTENT_LENGTH")
    if declared:
        try:
            length = int(declared)
        except ValueError:
            raise Refusal("malformed", f"Content-Length {declared!r} is not a number.") from None
        if length > limit:
            raise _too_large(claim, path, limit, length)
        return _read_exactly(stream, length)
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or environ.get("wsgi.input_terminated"):
        chunks, total = [], 0
        while True:
            chunk = stream.read(min(_READ_CHUNK, limit + 1 - total))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise _too_large(claim, path, limit, None)
    return b""


def _read_exactly(stream: Any, length: int) -> bytes:
    if length <= _READ_CHUNK:
        return stream.read(length) if length else b""
    chunks, left = [], length
    while left:
        chunk = stream.read(min(_READ_CHUNK, left))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class EngineApp:
    """The WSGI application: admission and authentication, then our SageMaker, our Runtime, moto for the rest."""

    def __init__(self, engine: Engine, allowed_origins: frozenset[str] | None = None) -> None:
        self.engine = engine
        self.moto = engine.s3.wsgi(moto_services.wsgi_app())
        self.guard = BrowserGuard(engine.port, allowed_origins_from_env() if allowed_origins is None else allowed_origins)
        self.auth = Authenticator(Keyring(engine.credentials, moto_services.issued_key))
        self.started = time.time()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        refusal = self.guard.check(environ)
        if refusal is not None:
            return self._refuse(environ, start_response, refusal)
        if self.guard.is_preflight(environ):  # (from an allowed origin: check refused the others)
            return self._respond(start_response, 200, self.guard.preflight_headers(environ), b"")
        if "HTTP_ORIGIN" in environ:  # an allowed origin: CORS headers of ours, none of moto's
            start_response = self._with_cors(environ, start_response)
        path = environ.get("PATH_INFO", "")
        if path == settings.HEALTH_PATH:
            return self._health(environ, start_response)
        if _is_moto_api(path):
            return self._respond(start_response, 404, [("Content-Type", "text/plain")], b"Not Found")
        try:
            claim = self.auth.admit(environ)
            body = read_body(environ, claim)
            claim.verify(environ, body)
        except Refusal as refusal:
            return self._refuse(environ, start_response, refusal)
        if path == settings.DURABILITY_PATH:
            document = json.dumps(self.engine.durability()).encode()
            return self._respond(start_response, 200, [("Content-Type", "application/json")], document)
        return self._route(environ, start_response, claim, path, body)

    def _route(self, environ: dict[str, Any], start_response: StartResponse, claim: Claim, path: str, body: bytes) -> Iterable[bytes]:
        service, region = claim.service, claim.region or settings.DEFAULT_REGION
        if service == "sagemaker":
            if _INVOCATIONS.match(path):
                return self._runtime(environ, start_response, region, path, body)
            return self._control_plane(environ, start_response, region, body)
        if service == "tagging" and environ.get("REQUEST_METHOD") == "POST":
            answered = self._tagging(start_response, region, environ.get("HTTP_X_AMZ_TARGET", ""), body)
            if answered is not None:
                return answered
        if service == "iam" and environ.get("REQUEST_METHOD") == "POST":
            form = parse_qs(body.decode("utf-8", "replace"))
            if form.get("Action") == ["SimulatePrincipalPolicy"]:
                return self._respond(start_response, 200, [("Content-Type", "text/xml")], moto_services.simulate_principal_policy(form))
        environ["wsgi.input"] = BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.moto(environ, start_response)

    def _refuse(self, environ: dict[str, Any], start_response: StartResponse, refusal: Refusal) -> Iterable[bytes]:
        service, _ = signing_scope(environ)
        if service is None and "AWSAccessKeyId" in environ.get("QUERY_STRING", ""):
            service = "s3"
        status, reason, headers, body = answer(refusal, environ, service)
        log.info("refused %s %s: %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), refusal)
        start_response(f"{status} {reason}", headers + [("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def _with_cors(environ: dict[str, Any], start_response: StartResponse) -> StartResponse:
        ours = BrowserGuard.cors_headers(environ)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-") and name.lower() != "vary"]
            return start_response(status, kept + ours, exc_info)

        return start

    # ------------------------------------------------------------------ routes

    def _control_plane(self, environ: dict[str, Any], start_response: StartResponse, region: str, body: bytes) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        try:
            status, document = sagemaker_responses.handle(self.engine.backend(region), target, body)
        except WireError as exc:
            status, document = exc.status, {"__type": exc.code, "message": exc.message}
        except PersistError as exc:  # nothing was changed: the request is refused, saying why
            self.engine.last_refusal = str(exc)
            log.error("SageMaker %s refused: %s", target, exc)
            status, document = 500, {"__type": "InternalFailure", "message": f"The request was not applied: {exc}"}
        except Exception as exc:
            log.error("SageMaker %s failed:\n%s", target, traceback.format_exc())
            status, document = 500, {"__type": "InternalFailure", "message": f"The local engine failed: {type(exc).__name__}: {exc}"}
        headers = [("Content-Type", "application/x-amz-json-1.1")]
        return self._respond(start_response, status, headers, json.dumps(document).encode())

    def _tagging(self, start_response: StartResponse, region: str, target: str, body: bytes) -> Iterable[bytes] | None:
        """GetResources for SageMaker resource types; None hands the request on to moto."""
        try:
            params = json.loads(body or b"{}")
        except json.JSONDecodeError:
            return None
        if not tagging.handles(target, params):
            return None
        try:
            status, document = 200, tagging.get_resources(self.engine.backend(region), params)
        except WireError as exc:
            status, document = exc.status, {"__type": exc.code, "message": exc.message}
        return self._respond(start_response, status, [("Content-Type", "application/x-amz-json-1.1")], json.dumps(document).encode())

    def _runtime(self, environ: dict[str, Any], start_response: StartResponse, region: str, path: str, body: bytes) -> Iterable[bytes]:
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        status, out_headers, payload = runtime_responses.invoke(self.engine.backend(region), path, headers, body)
        return self._respond(start_response, status, out_headers, payload)

    def _health(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Unauthenticated, so it says only what ``ps`` already shows a local user: which engine this is.
        The launcher finds its engine by the data dir; nothing about the resources in it is told."""
        if environ.get("REQUEST_METHOD") != "GET":
            return self._respond(start_response, 405, [("Content-Type", "text/plain"), ("Allow", "GET")], b"Method Not Allowed")
        document = {
            "status": "ok",
            "pid": os.getpid(),
            "url": self.engine.url,
            "data_dir": str(self.engine.data_dir),
            "uptime_seconds": round(time.time() - self.started, 1),
        }
        return self._respond(start_response, 200, [("Content-Type", "application/json")], json.dumps(document).encode())

    @staticmethod
    def _respond(start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes) -> Iterable[bytes]:
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large",
                  424: "Failed Dependency", 500: "Internal Server Error"}
        start_response(
            f"{status} {reason.get(status, 'Status')}",
            headers + [("Content-Length", str(len(body))), ("x-amzn-RequestId", str(uuid.uuid4()))],
        )
        return [body]


def serve(data_dir: Path, port: int) -> None:
    """Run the engine in this process until SIGTERM / SIGINT; then write its state and exit."""
    # before anything opens the dir; held until this process has ended (the kernel drops it then), which `stop` waits for
    datadir_lock.hold_or_exit(data_dir, f"http://{settings.HOST}:{port}")
    engine = Engine(data_dir, port)
    try:
        server = Front(settings.HOST, port, EngineApp(engine))
    except OSError as exc:
        raise SystemExit(f"sm-magics local engine: cannot listen on {settings.HOST}:{port} ({exc.strerror}); pass another --port") from None
    try:
        engine.open()
    except PersistError as exc:
        raise SystemExit(f"sm-magics local engine: cannot start: {exc}") from None
    state_file = data_dir / "engine.json"
    persistence.save_json(state_file, {"pid": os.getpid(), "port": port, "url": engine.url, "data_dir": str(data_dir)})

    def shutdown(signum: int, frame: Any) -> None:
        engine.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    log.info("local SageMaker engine listening on %s (data in %s)", engine.url, data_dir)
    warmup.start(engine.url, engine.credentials)  # answered once serve_forever accepts; the socket already listens
    try:
        server.serve_forever()
    finally:
        problems = engine.close()
        try:
            state_file.unlink(missing_ok=True)
        except OSError as exc:  # a read-only data dir: the launcher also checks the pid
            log.error("could not remove %s: %s", state_file, exc)
        if problems:
            log.error("local SageMaker engine stopped; %d change(s) could not be saved to %s", len(problems), data_dir)
        else:
            log.info("local SageMaker engine stopped; every acknowledged change is in %s", data_dir)
