"""AWS's own answer to a request the engine refuses, in the protocol its caller speaks.

A refused call must fail in the caller's SDK exactly as it fails against AWS:
same HTTP status, same error code, same wording, so that ``ClientError``
handling, retries and what a user searches for all behave as they would.
The wording depends on the protocol family of the service the request was
signed for: JSON services (SageMaker, Logs, the tagging API, and the
Runtime's rest-json), query services (STS, IAM), EC2, and S3's rest-xml.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

Headers = list[tuple[str, str]]

_INVOCATIONS = re.compile(r"^/endpoints/[^/]+/invocations/?$")
_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key "
    "and signing method. Consult the service documentation for details."
)
_INVALID_TOKEN = "The security token included in the request is invalid."


@dataclass
class Refusal(Exception):
    """Why a request is not served. ``kind`` picks the AWS answer; ``detail`` completes its message where
    AWS's does (times, limits); ``fields`` are the extra elements S3 adds to its ``<Error>``."""

    kind: str
    detail: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


# kind -> family -> (HTTP status, code, message); "{detail}" is filled from the Refusal.
_ANSWERS: dict[str, dict[str, tuple[int, str, str]]] = {
    "missing": {
        "json": (403, "MissingAuthenticationTokenException", "Missing Authentication Token"),
        "query": (403, "MissingAuthenticationToken", "Request is missing Authentication Token"),
        "ec2": (401, "AuthFailure", "AWS was not able to validate the provided access credentials"),
        "s3": (403, "AccessDenied", "Access Denied"),
    },
    "malformed": {
        "json": (400, "IncompleteSignatureException", "{detail}"),
        "query": (400, "IncompleteSignature", "{detail}"),
        "ec2": (401, "AuthFailure", "{detail}"),
        "s3": (400, "AuthorizationHeaderMalformed", "The authorization header is malformed; {detail}"),
    },
    "malformed_query": {
        "json": (400, "IncompleteSignatureException", "{detail}"),
        "query": (400, "IncompleteSignature", "{detail}"),
        "ec2": (401, "AuthFailure", "{detail}"),
        "s3": (400, "AuthorizationQueryParametersError", "{detail}"),
    },
    "unsupported": {
        "json": (400, "IncompleteSignatureException", "{detail}"),
        "query": (400, "IncompleteSignature", "{detail}"),
        "ec2": (401, "AuthFailure", "{detail}"),
        "s3": (400, "InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."),
    },
    "unknown_key": {
        "json": (403, "UnrecognizedClientException", _INVALID_TOKEN),
        "query": (403, "InvalidClientTokenId", _INVALID_TOKEN),
        "ec2": (401, "AuthFailure", "AWS was not able to validate the provided access credentials"),
        "s3": (403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
    },
    "bad_token": {
        "json": (403, "UnrecognizedClientException", _INVALID_TOKEN),
        "query": (403, "InvalidClientTokenId", _INVALID_TOKEN),
        "ec2": (401, "AuthFailure", "AWS was not able to validate the provided access credentials"),
        "s3": (400, "InvalidToken", "The provided token is malformed or otherwise invalid."),
    },
    "expired_token": {
        "json": (403, "ExpiredTokenException", "The security token included in the request is expired"),
        "query": (403, "ExpiredToken", "The security token included in the request is expired"),
        "ec2": (400, "RequestExpired", "Request has expired."),
        "s3": (400, "ExpiredToken", "The provided token has expired."),
    },
    "bad_signature": {
        "json": (403, "InvalidSignatureException", _BAD_SIGNATURE),
        "query": (403, "SignatureDoesNotMatch", _BAD_SIGNATURE),
        "ec2": (401, "AuthFailure", "AWS was not able to validate the provided access credentials"),
        "s3": (
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        ),
    },
    "skewed": {
        "json": (403, "InvalidSignatureException", "{detail}"),
        "query": (403, "SignatureDoesNotMatch", "{detail}"),
        "ec2": (400, "RequestExpired", "Request has expired."),
        "s3": (403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."),
    },
    "url_expired": {
        "json": (403, "InvalidSignatureException", "{detail}"),
        "query": (403, "SignatureDoesNotMatch", "{detail}"),
        "ec2": (400, "RequestExpired", "Request has expired."),
        "s3": (403, "AccessDenied", "Request has expired"),
    },
    "url_not_yet_valid": {
        "json": (403, "InvalidSignatureException", "{detail}"),
        "query": (403, "SignatureDoesNotMatch", "{detail}"),
        "ec2": (400, "RequestExpired", "Request is not yet valid."),
        "s3": (403, "AccessDenied", "Request is not yet valid"),
    },
    "payload_mismatch": {
        "json": (403, "InvalidSignatureException", _BAD_SIGNATURE),
        "query": (403, "SignatureDoesNotMatch", _BAD_SIGNATURE),
        "ec2": (401, "AuthFailure", "AWS was not able to validate the provided access credentials"),
        "s3": (400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."),
    },
    "forbidden": {  # refused before any credential is looked at: a web page's request, a foreign Host
        "json": (403, "AccessDeniedException", "{detail}"),
        "query": (403, "AccessDenied", "{detail}"),
        "ec2": (403, "UnauthorizedOperation", "{detail}"),
        "s3": (403, "AccessDenied", "{detail}"),
    },
    "too_large": {
        "json": (413, "ValidationException", "{detail}"),
        "query": (413, "RequestEntityTooLarge", "{detail}"),
        "ec2": (413, "RequestEntityTooLarge", "{detail}"),
        "s3": (400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"),
    },
}

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large"}

_FAMILIES = {"json": "json", "rest-json": "json", "query": "query", "ec2": "ec2", "rest-xml": "s3"}


@functools.lru_cache(maxsize=64)
def _family_of_service(signing_name: str) -> str | None:
    """The protocol family of the service botocore signs as ``signing_name`` (None: no such service)."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    try:
        model = botocore.session.get_session().get_service_model(signing_name)
    except UnknownServiceError:
        return None
    return _FAMILIES.get(model.metadata.get("protocol", ""), None)


def family(environ: dict, service: str | None) -> str:
    """Which protocol family answers this request: from the signing service, else from the request's shape."""
    if service == "sagemaker" or environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    if service is None and _INVOCATIONS.match(environ.get("PATH_INFO", "")):
        return "json"  # an unsigned InvokeEndpoint
    if service:
        found = _family_of_service(service)
        if found:
            return found
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded") and environ.get("REQUEST_METHOD") == "POST":
        return "query"
    return "s3"  # what an unsigned request to the engine's root most likely is (and what moto routes it to)


def answer(refusal: Refusal, environ: dict, service: str | None) -> tuple[int, str, Headers, bytes]:
    """(status, reason phrase, headers, body) of AWS's answer to ``refusal``, in this request's protocol."""
    fam = family(environ, service)
    status, code, template = _ANSWERS[refusal.kind][fam]
    message = template.format(detail=refusal.detail)
    request_id = str(uuid.uuid4())
    head = environ.get("REQUEST_METHOD") == "HEAD"
    if fam == "json":
        runtime = _INVOCATIONS.match(environ.get("PATH_INFO", ""))
        if runtime and refusal.kind == "too_large":  # the Runtime's own wording for its payload limit
            headers, document = [("Content-Type", "application/json")], {"message": message}
        else:
            headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
            document = {"__type": code, "message": message}
        body = json.dumps(document).encode()
        headers.append(("x-amzn-RequestId", request_id))
    elif fam == "query":
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    elif fam == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{code}</Code><Message>{escape(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    else:
        extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in refusal.fields.items())
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{extra}"
            f"<RequestId>{request_id[:16].upper()}</RequestId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id[:16].upper())]
    if head:  # a HEAD answer has no body; S3's SDKs read the code from the status alone
        body = b""
    return status, _REASONS.get(status, "Error"), headers, body
