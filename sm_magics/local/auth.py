"""Who may call the engine: every request must carry a valid AWS signature, checked with botocore's own signer.

The engine listens on loopback, where any local user and any web page the
user visits can send it requests; the data dir's random credentials
(``credentials.py``) are what tells its owner's clients apart. A request is
served only if it is signed as AWS requires:

* Signature Version 4 in the ``Authorization`` header (every SDK call), or
  in the query string (presigned URLs, which also expire);
* S3's Signature Version 2 presigned URLs (``AWSAccessKeyId`` /
  ``Signature`` / ``Expires``), which botocore still makes by default for S3.

The signature is recomputed from the request as received, by botocore's
``SigV4Auth`` / ``S3SigV4Auth`` (and their query variants, and
``HmacV1Auth``) rather than a second implementation of the algorithm: the
same code that signed the request on the client's side. What verifying
changes is small: the headers are exactly those the client listed as signed,
the payload hash is given (``x-amz-content-sha256`` for S3, which covers
``UNSIGNED-PAYLOAD`` and the ``STREAMING-*`` / aws-chunked uploads, else the
body's hash), and the derived signing key is cached per (secret, date,
region, service) so a call costs two HMACs, not five.

Checking happens in two steps so that nothing is read from a caller that is
not known: :meth:`Authenticator.admit` (headers and query only: format, key,
token, time) and :meth:`Claim.verify` (the signature, over the body).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import HmacV1Auth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import ReadOnlyCredentials

from .credentials import Credentials
from .refusals import Refusal

MAX_SKEW = dt.timedelta(minutes=15)
MAX_URL_EXPIRES = 7 * 24 * 3600  # a presigned URL lives a week at most, as on AWS
ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BUCKET_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*)\.localhost(:\d+)?$")
_V4_QUERY = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")


@dataclass(frozen=True)
class Key:
    """A secret the engine accepts: its access key's secret, the session token that must come with it
    (None for long-term IAM user keys), and when it stops being valid (None: never)."""

    access_key_id: str
    secret: str
    token: str | None
    expires: dt.datetime | None = None


KeyLookup = Callable[[str], "Key | None"]


class Keyring:
    """The data dir's own credentials first (every SDK call uses them), then any key moto issued
    (STS AssumeRole sessions, IAM access keys), so flows that assume roles keep working."""

    def __init__(self, own: Credentials, issued: KeyLookup | None = None) -> None:
        self.own = Key(own.access_key_id, own.secret_access_key, own.session_token)
        self.issued = issued

    def find(self, access_key_id: str) -> Key | None:
        if hmac.compare_digest(access_key_id.encode(), self.own.access_key_id.encode()):
            return self.own
        return self.issued(access_key_id) if self.issued else None


# ----------------------------------------------------------------------------- botocore's signer, verifying


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class _Verifying:
    """Turns one of botocore's SigV4 signers into a verifier: the request's own signed headers, a given
    payload hash, a cached signing key. Everything else (canonical request, string to sign) is botocore's."""

    payload_hash: str = ""
    _region_name: str
    _service_name: str
    credentials: Any

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return request.headers  # exactly the headers the client listed in SignedHeaders, nothing added

    def payload(self, request: AWSRequest) -> str:
        return self.payload_hash

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        key = _signing_key(self.credentials.secret_key, request.context["timestamp"][:8], self._region_name, self._service_name)
        return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class _HeaderVerifier(_Verifying, SigV4Auth):
    pass


class _S3HeaderVerifier(_Verifying, S3SigV4Auth):
    pass


class _QueryVerifier(_Verifying, SigV4QueryAuth):
    pass


class _S3QueryVerifier(_Verifying, S3SigV4QueryAuth):
    pass


class _V2QueryVerifier(HmacV1Auth):
    """S3's Signature Version 2 query form: the ``Expires`` value stands where the date is signed."""

    def __init__(self, credentials: ReadOnlyCredentials, expires: str) -> None:
        super().__init__(credentials)
        self.expires = expires

    def _get_date(self) -> str:
        return self.expires


# ----------------------------------------------------------------------------- claims


@dataclass
class Claim:
    """A request's credentials, admitted (known key, right token, in time) but not yet verified."""

    kind: str  # "header", "query" (SigV4 presigned) or "v2-query" (S3 SigV2 presigned)
    key: Key
    service: str
    region: str
    timestamp: str  # SigV4 form, YYYYMMDDTHHMMSSZ ("" for v2)
    signed_headers: list[str]
    signature: str
    query: list[tuple[str, str]]  # decoded; the signature's own parameter left out
    expires: str = ""  # v2 only

    def verify(self, environ: dict[str, Any], body: bytes) -> None:
        """Raise Refusal unless the signature is the one the key makes for this request and ``body``."""
        if self.kind == "v2-query":
            return self._verify_v2(environ)
        headers = HTTPHeaders()
        for name in self.signed_headers:
            value = _header(environ, name)
            if value is None:
                raise Refusal("bad_signature", fields=self._s3_fields())
            headers[name] = value
        content_sha = headers.get("x-amz-content-sha256")
        if content_sha is not None:
            _check_content_sha(content_sha, body)
        s3 = self.service == "s3"
        if self.kind == "header":
            verifier: _Verifying = (_S3HeaderVerifier if s3 else _HeaderVerifier)(self._credentials(), self.service, self.region)
        else:
            verifier = (_S3QueryVerifier if s3 else _QueryVerifier)(self._credentials(), self.service, self.region)
        verifier.payload_hash = UNSIGNED_PAYLOAD if (s3 and self.kind == "query") else hashlib.sha256(body).hexdigest()
        request = AWSRequest(method=environ.get("REQUEST_METHOD", "GET"), url=_raw_url(environ), headers=headers)
        request.params = self.query
        request.context["timestamp"] = self.timestamp
        canonical = verifier.canonical_request(request)  # type: ignore[attr-defined]
        string_to_sign = verifier.string_to_sign(request, canonical)  # type: ignore[attr-defined]
        expected = verifier.signature(string_to_sign, request)
        if not hmac.compare_digest(expected.encode(), self.signature.encode()):
            raise Refusal("bad_signature", fields=self._s3_fields(string_to_sign, canonical))

    def _verify_v2(self, environ: dict[str, Any]) -> None:
        headers = HTTPHeaders()
        for name, value in self.query:
            lower = name.lower()
            if lower in ("content-md5", "content-type") or lower.startswith("x-amz-"):
                headers[lower] = value
        verifier = _V2QueryVerifier(self._credentials(), self.expires)
        match = _BUCKET_HOST.match(environ.get("HTTP_HOST", "").lower())
        raw = _raw_url(environ)
        auth_path = f"/{match['bucket']}{urlsplit(raw).path}" if match else None
        string_to_sign = verifier.canonical_string(environ.get("REQUEST_METHOD", "GET"), urlsplit(raw), headers, auth_path=auth_path)
        expected = verifier.sign_string(string_to_sign)
        if not hmac.compare_digest(expected.encode(), self.signature.encode()):
            raise Refusal("bad_signature", fields={"AWSAccessKeyId": self.key.access_key_id, "StringToSign": string_to_sign,
                                                   "SignatureProvided": self.signature})

    def _credentials(self) -> ReadOnlyCredentials:
        return ReadOnlyCredentials(self.key.access_key_id, self.key.secret, self.key.token)

    def _s3_fields(self, string_to_sign: str = "", canonical: str = "") -> dict[str, str]:
        fields = {"AWSAccessKeyId": self.key.access_key_id, "SignatureProvided": self.signature}
        if string_to_sign:
            fields |= {"StringToSign": string_to_sign, "CanonicalRequest": canonical}
        return fields


class Authenticator:
    """Admits a request's claimed identity from its headers and query, before any of its body is read."""

    def __init__(self, keyring: Keyring, now: Callable[[], dt.datetime] | None = None) -> None:
        self.keyring = keyring
        self.now = now or (lambda: dt.datetime.now(dt.timezone.utc))

    def admit(self, environ: dict[str, Any]) -> Claim:
        """The request's claim; Refusal when it has none, a malformed one, an unknown key, a wrong token, or is out of time."""
        authorization = environ.get("HTTP_AUTHORIZATION")
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        names = {name for name, _ in query}
        if authorization is not None:
            if "X-Amz-Algorithm" in names or "AWSAccessKeyId" in names:
                raise Refusal("malformed", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                              "Signature query string parameter or the Authorization header should be specified")
            return self._header_claim(authorization, environ, query)
        if "X-Amz-Algorithm" in names or "X-Amz-Signature" in names:
            return self._query_claim(dict(query), query)
        if "AWSAccessKeyId" in names and "Signature" in names:
            return self._v2_claim(dict(query), query)
        raise Refusal("missing")

    # ------------------------------------------------------------------ the three forms

    def _header_claim(self, authorization: str, environ: dict[str, Any], query: list[tuple[str, str]]) -> Claim:
        algorithm, _, rest = authorization.strip().partition(" ")
        if algorithm != ALGORITHM:
            raise Refusal("unsupported", f"Authorization header uses {algorithm or 'no'} algorithm; the local engine accepts {ALGORITHM} only.")
        parts: dict[str, str] = {}
        for item in rest.split(","):
            name, _, value = item.strip().partition("=")
            parts[name] = value
        missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not parts.get(name)]
        if missing:
            raise Refusal("malformed", " ".join(f"Authorization header requires '{name}' parameter." for name in missing))
        access_key_id, region, service = _scope(parts["Credential"], "malformed")
        key = self._key(access_key_id, environ.get("HTTP_X_AMZ_SECURITY_TOKEN"))
        stamp = environ.get("HTTP_X_AMZ_DATE")
        if stamp is not None:
            when = _parse_timestamp(stamp, "malformed")
        elif environ.get("HTTP_DATE"):
            try:
                when = parsedate_to_datetime(environ["HTTP_DATE"]).astimezone(dt.timezone.utc)
            except (TypeError, ValueError):
                raise Refusal("malformed", "Date must be in ISO-8601 'basic format'.") from None
        else:
            raise Refusal("malformed", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        signed = parts["SignedHeaders"].lower().split(";")
        if "host" not in signed:
            raise Refusal("malformed", "'Host' must be a signed header.")
        self._check_skew(when, stamp or environ.get("HTTP_DATE", ""))
        return Claim("header", key, service, region, when.strftime(_TIMESTAMP), signed, parts["Signature"], query)

    def _query_claim(self, params: dict[str, str], query: list[tuple[str, str]]) -> Claim:
        missing = [name for name in _V4_QUERY if not params.get(name)]
        if missing:
            raise Refusal("malformed_query", "Query-string authentication requires the " + ", ".join(missing) + " parameter(s).")
        if params["X-Amz-Algorithm"] != ALGORITHM:
            raise Refusal("unsupported", f"X-Amz-Algorithm only supports \"{ALGORITHM}\"")
        access_key_id, region, service = _scope(params["X-Amz-Credential"], "malformed_query")
        key = self._key(access_key_id, params.get("X-Amz-Security-Token"))
        when = _parse_timestamp(params["X-Amz-Date"], "malformed_query")
        try:
            lifetime = int(params.get("X-Amz-Expires", str(MAX_URL_EXPIRES)))
        except ValueError:
            raise Refusal("malformed_query", "X-Amz-Expires should be a number") from None
        if not 0 < lifetime <= MAX_URL_EXPIRES:
            raise Refusal("malformed_query", f"X-Amz-Expires must be less than a week (in seconds) that is; {MAX_URL_EXPIRES}")
        now = self.now()
        if when - now > MAX_SKEW:
            raise Refusal("url_not_yet_valid", f"Signature not yet current: {params['X-Amz-Date']} is still later than "
                          f"{_stamp(now + MAX_SKEW)} ({_stamp(now)} + 15 min.)", {"ServerTime": _iso(now)})
        if now > when + dt.timedelta(seconds=lifetime):
            raise Refusal("url_expired", f"Signature expired: {_stamp(when + dt.timedelta(seconds=lifetime))} is now earlier "
                          f"than {_stamp(now)}", {"X-Amz-Expires": str(lifetime), "Expires": _iso(when + dt.timedelta(seconds=lifetime)),
                                                  "ServerTime": _iso(now)})
        signed = params["X-Amz-SignedHeaders"].lower().split(";")
        if "host" not in signed:
            raise Refusal("malformed_query", "'Host' must be a signed header.")
        rest = [(name, value) for name, value in query if name != "X-Amz-Signature"]
        return Claim("query", key, service, region, when.strftime(_TIMESTAMP), signed, params["X-Amz-Signature"], rest)

    def _v2_claim(self, params: dict[str, str], query: list[tuple[str, str]]) -> Claim:
        try:
            expires = int(params.get("Expires", ""))
        except ValueError:
            raise Refusal("malformed_query", "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters") from None
        key = self._key(params["AWSAccessKeyId"], params.get("x-amz-security-token"))
        now = self.now()
        if now.timestamp() > expires:
            at = dt.datetime.fromtimestamp(expires, dt.timezone.utc)
            raise Refusal("url_expired", f"Signature expired: {_stamp(at)} is now earlier than {_stamp(now)}",
                          {"Expires": _iso(at), "ServerTime": _iso(now)})
        return Claim("v2-query", key, "s3", "us-east-1", "", [], params["Signature"], query, expires=params["Expires"])

    # ------------------------------------------------------------------ checks shared by the forms

    def _key(self, access_key_id: str, token: str | None) -> Key:
        key = self.keyring.find(access_key_id)
        if key is None:
            raise Refusal("unknown_key", fields={"AWSAccessKeyId": access_key_id})
        given = token or None
        if key.token is None:
            matches = given is None
        else:
            matches = given is not None and hmac.compare_digest(given.encode(), key.token.encode())
        if not matches:
            raise Refusal("bad_token", fields={"Token-0": given or ""})
        if key.expires is not None and self.now() >= key.expires:
            raise Refusal("expired_token", fields={"Token-0": token or ""})
        return key

    def _check_skew(self, when: dt.datetime, sent: str) -> None:
        now = self.now()
        fields = {"RequestTime": sent, "ServerTime": _iso(now), "MaxAllowedSkewMilliseconds": str(int(MAX_SKEW.total_seconds() * 1000))}
        if now - when > MAX_SKEW:
            raise Refusal("skewed", f"Signature expired: {_stamp(when)} is now earlier than {_stamp(now - MAX_SKEW)} "
                          f"({_stamp(now)} - 15 min.)", fields)
        if when - now > MAX_SKEW:
            raise Refusal("skewed", f"Signature not yet current: {_stamp(when)} is still later than {_stamp(now + MAX_SKEW)} "
                          f"({_stamp(now)} + 15 min.)", fields)


# ----------------------------------------------------------------------------- request pieces


def _scope(credential: str, kind: str) -> tuple[str, str, str]:
    """(access key id, region, service) of ``AKID/YYYYMMDD/region/service/aws4_request``."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise Refusal(kind, f"Credential should be scoped to a valid region and service, not '{'/'.join(parts[1:])}'.")
    return parts[0], parts[2], parts[3]


def _parse_timestamp(value: str, kind: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(value, _TIMESTAMP).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise Refusal(kind, f"X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", not {value!r}.") from None


def _stamp(when: dt.datetime) -> str:
    return when.strftime(_TIMESTAMP)


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _header(environ: dict[str, Any], name: str) -> str | None:
    if name in ("content-type", "content-length"):
        return environ.get(name.upper().replace("-", "_"))
    return environ.get("HTTP_" + name.upper().replace("-", "_"))


def _raw_url(environ: dict[str, Any]) -> str:
    """The URL as the client sent it: its path still percent-encoded as it was signed."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw is None:
        from urllib.parse import quote

        raw = quote(environ.get("PATH_INFO", "/"), safe="/~") + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
    if raw.startswith(("http://", "https://")):
        return raw
    return f"http://{environ.get('HTTP_HOST', 'localhost')}{raw}"


def _check_content_sha(declared: str, body: bytes) -> None:
    """S3 signs the payload hash the client declares, so the body must match it; the two unsigned forms need no check."""
    if declared == UNSIGNED_PAYLOAD or declared.startswith("STREAMING-"):
        return
    computed = hashlib.sha256(body).hexdigest()
    if not _HEX_SHA256.match(declared) or not hmac.compare_digest(declared, computed):
        raise Refusal("payload_mismatch", fields={"ClientComputedContentSHA256": declared, "S3ComputedContentSHA256": computed})

