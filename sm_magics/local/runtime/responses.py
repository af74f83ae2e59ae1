"""InvokeEndpoint on the rest-json wire: ``POST /endpoints/<name>/invocations``, bodies binary-safe both ways."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import unquote

from .. import settings
from ..algorithms.base import ModelRequestError
from ..sagemaker.idle import note_invocation

if TYPE_CHECKING:
    from ..sagemaker.models import SageMakerBackend

Headers = list[tuple[str, str]]


def _error(status: int, error_type: str | None, document: dict) -> tuple[int, Headers, bytes]:
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return status, headers, json.dumps(document).encode()


def invoke(backend: "SageMakerBackend", path: str, headers: dict[str, str], body: bytes) -> tuple[int, Headers, bytes]:
    name = unquote(path.split("/")[2])
    if len(body) > settings.MAX_PAYLOAD_BYTES:
        return _error(413, None, {"message": f"HTTP content length exceeded {settings.MAX_PAYLOAD_BYTES} bytes."})
    variant, model = backend.hosted_variant(name, headers.get("x-amzn-sagemaker-target-variant"))
    if model is None:
        if variant:
            message = f"Variant {variant} of endpoint {name} of account {settings.ACCOUNT_ID} not found."
        else:
            message = f"Endpoint {name} of account {settings.ACCOUNT_ID} not found."
        return _error(400, "ValidationError", {"message": message})
    note_invocation(backend, name)  # the idle guard's clock (sagemaker/idle.py)
    content_type = headers.get("content-type") or "application/octet-stream"
    try:
        payload, response_type = model.invoke(body, content_type, headers.get("accept"))
    except ModelRequestError as exc:
        return _model_error(backend, name, variant, exc.status, exc.message)
    except Exception as exc:  # the model crashed: SageMaker reports the container's 500
        return _model_error(backend, name, variant, 500, f"{type(exc).__name__}: {exc}")
    return 200, [("Content-Type", response_type), ("x-Amzn-Invoked-Production-Variant", variant)], payload


def _model_error(backend: "SageMakerBackend", name: str, variant: str, status: int, message: str) -> tuple[int, Headers, bytes]:
    region = backend.region
    group = f"/aws/sagemaker/Endpoints/{name}"
    backend.engine.logs.write(group, f"{variant}/i-local", [f"{status} {message}"], region)
    kind = "client" if status < 500 else "server"
    document = {
        "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
        "LogStreamArn": f"arn:aws:logs:{region}:{settings.ACCOUNT_ID}:log-group:{group}",
        "OriginalMessage": message,
        "OriginalStatusCode": status,
        "Message": (
            f'Received {kind} error ({status}) from primary with message "{message}". See '
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:group={group} "
            f"in account {settings.ACCOUNT_ID} for more information."
        ),
    }
    return _error(424, "ModelError", document)
