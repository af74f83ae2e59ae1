"""The engine's HTTP front: one loopback port, every request routed by its SigV4 signing scope.

SageMaker and SageMaker Runtime both sign as ``sagemaker``; the runtime is
told apart by its ``/endpoints/<name>/invocations`` path. Everything else (S3,
STS, IAM, CloudWatch Logs, EC2's region list) goes to moto's WSGI dispatcher,
except IAM's SimulatePrincipalPolicy, which moto lacks, and the tagging API's
GetResources for SageMaker resources, whose state is ours.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import threading
import time
import traceback
import uuid
from io import BytesIO
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from werkzeug.serving import WSGIRequestHandler, make_server

from . import datadir_lock, moto_services, persistence, settings, tagging
from .engine import Engine
from .runtime import responses as runtime_responses
from .sagemaker import responses as sagemaker_responses
from .store import PersistError
from .wire import WireError

log = logging.getLogger("sm_magics.local")

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
_INVOCATIONS = re.compile(r"^/endpoints/[^/]+/invocations/?$")
HEALTH_PATH = "/_sm_magics/health"

StartResponse = Callable[..., Any]


def signing_scope(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """(service, region) from the Authorization header or a presigned URL's X-Amz-Credential."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match["service"], match["region"]
    credential = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
    if credential:
        parts = credential[0].split("/")
        if len(parts) >= 5:
            return parts[3], parts[2]
    return None, None


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    if length:
        return stream.read(length)
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or environ.get("wsgi.input_terminated"):
        return stream.read()
    return b""


class EngineApp:
    """The WSGI application: our SageMaker, our Runtime, moto for the rest."""

    def __init__(self, engine: Engine) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.engine = engine
        self.moto = engine.s3.wsgi(DomainDispatcherApplication(create_backend_app))
        self.started = time.time()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            return self._health(start_response)
        service, region = signing_scope(environ)
        region = region or settings.DEFAULT_REGION
        if service == "sagemaker" or environ.get("HTTP_X_AMZ_TARGET", "").startswith("SageMaker."):
            body = _read_body(environ)
            if _INVOCATIONS.match(path):
                return self._runtime(environ, start_response, region, path, body)
            return self._control_plane(environ, start_response, region, body)
        if service == "tagging" and environ.get("REQUEST_METHOD") == "POST":
            body = _read_body(environ)
            answer = self._tagging(start_response, region, environ.get("HTTP_X_AMZ_TARGET", ""), body)
            if answer is not None:
                return answer
            environ["wsgi.input"] = BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        if service == "iam" and environ.get("REQUEST_METHOD") == "POST":
            body = _read_body(environ)
            form = parse_qs(body.decode("utf-8", "replace"))
            if form.get("Action") == ["SimulatePrincipalPolicy"]:
                return self._respond(start_response, 200, [("Content-Type", "text/xml")], moto_services.simulate_principal_policy(form))
            environ["wsgi.input"] = BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.moto(environ, start_response)

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

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        document = {
            "status": "ok",
            "pid": os.getpid(),
            "url": self.engine.url,
            "data_dir": str(self.engine.data_dir),
            "uptime_seconds": round(time.time() - self.started, 1),
            "regions": {
                region: {
                    "training_jobs": len(backend.training_jobs),
                    "models": len(backend.models),
                    "endpoints": len(backend.endpoints),
                }
                for region, backend in list(self.engine.backends.items())
            },
            "durability": self.engine.durability(),
        }
        return self._respond(start_response, 200, [("Content-Type", "application/json")], json.dumps(document).encode())

    @staticmethod
    def _respond(start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes) -> Iterable[bytes]:
        reason = {200: "OK", 400: "Bad Request", 413: "Request Entity Too Large", 424: "Failed Dependency", 500: "Internal Server Error"}
        start_response(
            f"{status} {reason.get(status, 'Status')}",
            headers + [("Content-Length", str(len(body))), ("x-amzn-RequestId", str(uuid.uuid4()))],
        )
        return [body]


class _NoDelayHandler(WSGIRequestHandler):
    """Small responses go out at once: without TCP_NODELAY, headers and body written
    separately wait ~40 ms for the client's delayed ACK on every call."""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if log.isEnabledFor(logging.DEBUG):
            super().log_request(code, size)


def serve(data_dir: Path, port: int) -> None:
    """Run the engine in this process until SIGTERM / SIGINT; then write its state and exit."""
    # before anything opens the dir; held until this process has ended (the kernel drops it then), which `stop` waits for
    datadir_lock.hold_or_exit(data_dir, f"http://{settings.HOST}:{port}")
    engine = Engine(data_dir, port)
    try:
        server = make_server(settings.HOST, port, EngineApp(engine), threaded=True, request_handler=_NoDelayHandler)
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
    try:
        server.serve_forever(poll_interval=0.2)
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
