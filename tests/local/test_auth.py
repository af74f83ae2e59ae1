"""Every request the engine serves is signed with a key it knows; everything else gets AWS's own refusal.

The attacks come through botocore clients configured with bad credentials
(unsigned, an unknown key, a wrong secret, a wrong session token, a clock
20 minutes off) or through a correctly signed request that is changed after
signing (its body, its URL), so each refusal is checked as a boto3 user sees
it: the error code, HTTP status and wording AWS answers with, for SageMaker's
control plane (json 1.1), the Runtime's InvokeEndpoint (rest-json), S3
(rest-xml) and STS (query). After each refused write, an authenticated client
checks that nothing was made.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import secrets
import urllib.error
import urllib.request
from typing import Any, Callable, Iterator

import boto3
import botocore.auth
import pytest
from botocore import UNSIGNED
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials

from conftest import Clients, free_port
from helpers import BUCKET, ROLE, ensure_bucket, error_of, unique
from sm_magics.local import launcher, settings

ONCE = Config(retries={"max_attempts": 1, "mode": "standard"})
BAD_SIGNATURE_JSON = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key "
    "and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


# ----------------------------------------------------------------------------- clients with bad credentials


def clients_with(engine: launcher.EngineInfo, config: Config = ONCE, **keys: Any) -> Clients:
    session = boto3.Session(region_name="us-east-1", **keys)
    clients = Clients(session, engine.url)
    original = session.client

    def client(name: str, **kwargs: Any) -> Any:
        return original(name, config=config, **kwargs)

    session.client = client  # type: ignore[method-assign]
    return clients


@pytest.fixture
def unsigned(engine: launcher.EngineInfo) -> Clients:
    return clients_with(engine, Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
                        aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def unknown_key(engine: launcher.EngineInfo) -> Clients:
    return clients_with(engine, aws_access_key_id="ASIA" + secrets.token_hex(8).upper(),
                        aws_secret_access_key=secrets.token_urlsafe(30), aws_session_token=secrets.token_urlsafe(60))


@pytest.fixture
def wrong_secret(engine: launcher.EngineInfo) -> Clients:
    own = engine.credentials
    return clients_with(engine, aws_access_key_id=own.access_key_id, aws_secret_access_key=own.secret_access_key[::-1],
                        aws_session_token=own.session_token)


@pytest.fixture
def wrong_token(engine: launcher.EngineInfo) -> Clients:
    own = engine.credentials
    return clients_with(engine, aws_access_key_id=own.access_key_id, aws_secret_access_key=own.secret_access_key,
                        aws_session_token=secrets.token_urlsafe(60))


@pytest.fixture
def skewed(engine: launcher.EngineInfo, monkeypatch: pytest.MonkeyPatch) -> Callable[[float], Clients]:
    """Clients with the engine's own credentials whose clock is ``minutes`` off."""

    def make(minutes: float) -> Clients:
        real = botocore.auth.get_current_datetime
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: real(*a, **k) + dt.timedelta(minutes=minutes))
        return clients_with(engine, **engine.credentials.as_boto3())

    return make


def code_status_message(error: dict[str, Any]) -> tuple[str, int, str]:
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"].get("Message", "")


def invoke(clients: Clients, body: bytes = b"1,2,3") -> Any:
    return clients.runtime.invoke_endpoint(EndpointName="auth-any-endpoint", ContentType="text/csv", Body=body)


# ----------------------------------------------------------------------------- refused, as AWS refuses


def test_unsigned_requests_are_refused_as_missing_authentication(unsigned: Clients) -> None:
    assert code_status_message(error_of(unsigned.sagemaker.list_models)) == (
        "MissingAuthenticationTokenException", 403, "Missing Authentication Token")
    assert code_status_message(error_of(invoke, clients=unsigned)) == (
        "MissingAuthenticationTokenException", 403, "Missing Authentication Token")
    assert code_status_message(error_of(unsigned.s3.list_objects_v2, Bucket=BUCKET)) == ("AccessDenied", 403, "Access Denied")
    assert code_status_message(error_of(unsigned.sts.get_caller_identity)) == (
        "MissingAuthenticationToken", 403, "Request is missing Authentication Token")


def test_an_unknown_access_key_is_refused(unknown_key: Clients) -> None:
    assert code_status_message(error_of(unknown_key.sagemaker.list_training_jobs)) == ("UnrecognizedClientException", 403, INVALID_TOKEN)
    assert code_status_message(error_of(invoke, clients=unknown_key)) == ("UnrecognizedClientException", 403, INVALID_TOKEN)
    error = error_of(unknown_key.s3.list_buckets)
    assert code_status_message(error) == (
        "InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.")
    assert error["Error"]["AWSAccessKeyId"].startswith("ASIA")
    assert code_status_message(error_of(unknown_key.sts.get_caller_identity)) == ("InvalidClientTokenId", 403, INVALID_TOKEN)


def test_a_wrong_secret_is_a_signature_mismatch(wrong_secret: Clients, aws: Clients) -> None:
    name = unique("auth-wrong-secret")
    error = error_of(wrong_secret.sagemaker.create_model, ModelName=name, ExecutionRoleArn=ROLE,
                     PrimaryContainer={"Image": KMEANS_IMAGE})
    assert code_status_message(error) == ("InvalidSignatureException", 403, BAD_SIGNATURE_JSON)
    assert code_status_message(error_of(invoke, clients=wrong_secret)) == ("InvalidSignatureException", 403, BAD_SIGNATURE_JSON)
    error = error_of(wrong_secret.s3.create_bucket, Bucket=name)
    assert code_status_message(error) == (
        "SignatureDoesNotMatch", 403,
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
    assert code_status_message(error_of(wrong_secret.sts.get_caller_identity)) == ("SignatureDoesNotMatch", 403, BAD_SIGNATURE_JSON)
    assert aws.sagemaker.list_models(NameContains=name)["Models"] == []
    assert name not in {bucket["Name"] for bucket in aws.s3.list_buckets()["Buckets"]}


def test_the_right_key_with_another_session_token_is_refused(wrong_token: Clients) -> None:
    assert code_status_message(error_of(wrong_token.sagemaker.list_endpoints)) == ("UnrecognizedClientException", 403, INVALID_TOKEN)
    assert code_status_message(error_of(invoke, clients=wrong_token)) == ("UnrecognizedClientException", 403, INVALID_TOKEN)
    assert code_status_message(error_of(wrong_token.s3.list_buckets)) == (
        "InvalidToken", 400, "The provided token is malformed or otherwise invalid.")


@pytest.mark.parametrize("minutes, wording", [(-20, "Signature expired: "), (20, "Signature not yet current: ")])
def test_a_request_time_more_than_15_minutes_off_is_refused(skewed: Callable[[float], Clients], minutes: int, wording: str) -> None:
    clients = skewed(minutes)
    code, status, message = code_status_message(error_of(clients.sagemaker.list_models))
    assert (code, status) == ("InvalidSignatureException", 403)
    assert message.startswith(wording) and message.endswith(f"{'-' if minutes < 0 else '+'} 15 min.)")
    assert code_status_message(error_of(invoke, clients=clients))[:2] == ("InvalidSignatureException", 403)
    error = error_of(clients.s3.list_buckets)
    assert code_status_message(error) == (
        "RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large.")
    assert error["Error"]["MaxAllowedSkewMilliseconds"] == "900000"
    assert code_status_message(error_of(clients.sts.get_caller_identity))[:2] == ("SignatureDoesNotMatch", 403)


def test_a_request_time_10_minutes_off_is_served(skewed: Callable[[float], Clients]) -> None:
    """Within AWS's 15 minutes a slow clock still works (the check cannot simply refuse everything)."""
    assert "Models" in skewed(-10).sagemaker.list_models()


# ----------------------------------------------------------------------------- changed after signing


def tamper(client: Any, change: Callable[[Any], None]) -> Any:
    """The client's next requests are changed by ``change`` after botocore has signed them."""
    client.meta.events.register_last("before-send", lambda request, **_: change(request))
    return client


def replace_body(request: Any, old: bytes, new: bytes) -> None:
    body = request.body.read() if hasattr(request.body, "read") else request.body
    body = body.encode() if isinstance(body, str) else body
    assert old in body
    request.body = body.replace(old, new)
    request.headers["Content-Length"] = str(len(request.body))


def test_a_control_plane_body_changed_after_signing_is_refused(engine: launcher.EngineInfo, aws: Clients) -> None:
    signed_for, sent = unique("auth-signed"), unique("auth-forged")
    client = tamper(clients_with(engine, **engine.credentials.as_boto3()).sagemaker,
                    lambda request: replace_body(request, signed_for.encode(), sent.encode()))
    error = error_of(client.create_model, ModelName=signed_for, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": KMEANS_IMAGE})
    assert code_status_message(error) == ("InvalidSignatureException", 403, BAD_SIGNATURE_JSON)
    names = {model["ModelName"] for model in aws.sagemaker.list_models(NameContains="auth-")["Models"]}
    assert signed_for not in names and sent not in names


def test_a_runtime_payload_changed_after_signing_is_refused(engine: launcher.EngineInfo) -> None:
    runtime = tamper(clients_with(engine, **engine.credentials.as_boto3()).runtime,
                     lambda request: replace_body(request, b"1,2,3", b"9,9,9"))
    error = error_of(runtime.invoke_endpoint, EndpointName="auth-any-endpoint", ContentType="text/csv", Body=b"1,2,3")
    assert code_status_message(error) == ("InvalidSignatureException", 403, BAD_SIGNATURE_JSON)


def test_an_s3_body_that_does_not_match_its_signed_hash_is_refused(engine: launcher.EngineInfo, aws: Clients) -> None:
    ensure_bucket(aws)
    key = unique("auth/forged")
    s3 = tamper(clients_with(engine, **engine.credentials.as_boto3()).s3, lambda request: replace_body(request, b"honest", b"forged"))
    error = error_of(s3.put_object, Bucket=BUCKET, Key=key, Body=b"honest data")
    assert code_status_message(error) == (
        "XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed.")
    assert error_of(aws.s3.head_object, Bucket=BUCKET, Key=key)["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_an_s3_body_and_hash_both_changed_after_signing_is_refused(engine: launcher.EngineInfo, aws: Clients) -> None:
    import hashlib

    ensure_bucket(aws)
    key = unique("auth/forged")

    def forge(request: Any) -> None:
        replace_body(request, b"honest", b"forged")
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(request.body).hexdigest()

    error = error_of(tamper(clients_with(engine, **engine.credentials.as_boto3()).s3, forge).put_object,
                     Bucket=BUCKET, Key=key, Body=b"honest data")
    assert code_status_message(error)[:2] == ("SignatureDoesNotMatch", 403)
    assert error_of(aws.s3.head_object, Bucket=BUCKET, Key=key)["ResponseMetadata"]["HTTPStatusCode"] == 404


# ----------------------------------------------------------------------------- presigned URLs


@pytest.fixture(scope="module")
def shared_object(engine_clients: Clients) -> tuple[str, str]:
    ensure_bucket(engine_clients)
    key = unique("auth/presigned dir/report+final")  # a space and a plus: the path is signed as sent
    engine_clients.s3.put_object(Bucket=BUCKET, Key=key, Body=b"the report")
    return BUCKET, key


def fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    # (urllib would label a body form-encoded, which moto's S3 then stores as empty)
    headers = {"Content-Type": "application/octet-stream"} if data is not None else {}
    request = urllib.request.Request(url, method=method, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def xml_code(body: bytes) -> str:
    import xml.etree.ElementTree as ET

    return ET.fromstring(body).findtext("Code") or ""


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_a_presigned_get_works_with_urllib(engine: launcher.EngineInfo, shared_object: tuple[str, str], signature_version: str) -> None:
    bucket, key = shared_object
    s3 = clients_with(engine, Config(signature_version=signature_version), **engine.credentials.as_boto3()).s3
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
    assert ("X-Amz-Signature=" in url) == (signature_version == "s3v4")
    assert fetch(url) == (200, b"the report")


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_a_presigned_url_for_another_key_is_refused(engine: launcher.EngineInfo, shared_object: tuple[str, str], signature_version: str) -> None:
    bucket, key = shared_object
    s3 = clients_with(engine, Config(signature_version=signature_version), **engine.credentials.as_boto3()).s3
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key + "-draft"}, ExpiresIn=300)
    status, body = fetch(url.replace("-draft?", "?"))
    assert (status, xml_code(body)) == (403, "SignatureDoesNotMatch")
    assert b"the report" not in body


def test_a_presigned_put_creates_the_object_and_only_that(engine: launcher.EngineInfo, aws: Clients) -> None:
    ensure_bucket(aws)
    key = unique("auth/uploaded")
    s3 = clients_with(engine, Config(signature_version="s3v4"), **engine.credentials.as_boto3()).s3
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=300)
    assert fetch(url, "PUT", b"from a presigned url")[0] == 200
    assert aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"from a presigned url"
    status, body = fetch(url.replace(key, key + "-other"), "PUT", b"elsewhere")
    assert (status, xml_code(body)) == (403, "SignatureDoesNotMatch")
    assert error_of(aws.s3.head_object, Bucket=BUCKET, Key=key + "-other")["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_an_expired_presigned_url_is_refused(engine: launcher.EngineInfo, shared_object: tuple[str, str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    bucket, key = shared_object
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: real(*a, **k) - dt.timedelta(hours=2))
    s3 = clients_with(engine, Config(signature_version="s3v4"), **engine.credentials.as_boto3()).s3
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600)
    status, body = fetch(url)
    assert (status, xml_code(body)) == (403, "AccessDenied")
    assert b"Request has expired" in body and b"the report" not in body
    monkeypatch.undo()
    v2 = clients_with(engine, Config(signature_version="s3"), **engine.credentials.as_boto3()).s3
    status, body = fetch(v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=-60))
    assert (status, xml_code(body)) == (403, "AccessDenied")
    assert b"Request has expired" in body


# ----------------------------------------------------------------------------- keys moto issues


def test_keys_issued_by_iam_and_sts_work_and_stop_working_when_revoked(engine: launcher.EngineInfo, aws: Clients) -> None:
    user = unique("auth-user")
    aws.iam.create_user(UserName=user)
    key = aws.iam.create_access_key(UserName=user)["AccessKey"]
    as_user = clients_with(engine, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert "TrainingJobSummaries" in as_user.sagemaker.list_training_jobs()
    aws.iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert code_status_message(error_of(as_user.sts.get_caller_identity)) == ("InvalidClientTokenId", 403, INVALID_TOKEN)

    assumed = aws.sts.assume_role(RoleArn=ROLE, RoleSessionName="auth-test")["Credentials"]
    as_role = clients_with(engine, aws_access_key_id=assumed["AccessKeyId"], aws_secret_access_key=assumed["SecretAccessKey"],
                           aws_session_token=assumed["SessionToken"])
    assert as_role.sts.get_caller_identity()["Arn"].endswith(":assumed-role/SageMakerRole/auth-test")
    assert "Models" in as_role.sagemaker.list_models()
    without_token = clients_with(engine, aws_access_key_id=assumed["AccessKeyId"], aws_secret_access_key=assumed["SecretAccessKey"])
    assert code_status_message(error_of(without_token.sagemaker.list_models)) == ("UnrecognizedClientException", 403, INVALID_TOKEN)


# ----------------------------------------------------------------------------- raw HTTP: bodies, moto's API, CORS, Host


def signed_headers(engine: launcher.EngineInfo, method: str, path: str, service: str, body: bytes = b"",
                   headers: dict[str, str] | None = None, host: str | None = None) -> dict[str, str]:
    """Headers of a request signed with the engine's credentials, as botocore signs them."""
    own = engine.credentials
    request = AWSRequest(method=method, url=f"http://{host or f'127.0.0.1:{engine.port}'}{path}", data=body, headers=headers or {})
    signer = (botocore.auth.S3SigV4Auth if service == "s3" else botocore.auth.SigV4Auth)(
        BotoCredentials(own.access_key_id, own.secret_access_key, own.session_token), service, "us-east-1")
    signer.add_auth(request)
    signed = dict(request.headers.items()) | {"Host": host or f"127.0.0.1:{engine.port}"}
    if body:
        signed["Content-Length"] = str(len(body))
    return signed


def raw(engine: launcher.EngineInfo, method: str, path: str, headers: dict[str, str], body: bytes | None = None,
        chunks: list[bytes] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", engine.port, timeout=15)
    try:
        if chunks is not None:
            connection.request(method, path, body=iter(chunks), headers=headers, encode_chunked=True)
        else:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders(body)
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def test_an_oversized_body_is_refused_from_its_content_length_before_it_is_sent(engine: launcher.EngineInfo) -> None:
    """The engine answers 413 from the headers alone: the 20 MiB body is never sent, yet the answer comes."""
    headers = signed_headers(engine, "POST", "/", "sagemaker", b"{}", {"X-Amz-Target": "SageMaker.ListModels",
                                                                          "Content-Type": "application/x-amz-json-1.1"})
    headers["Content-Length"] = str(20 * 1024 * 1024)
    status, _, body = raw(engine, "POST", "/", headers)
    assert status == 413
    assert json.loads(body)["__type"] == "ValidationException"
    assert f"limit of {settings.MAX_REQUEST_BYTES} bytes" in json.loads(body)["message"]


def test_a_chunked_runtime_body_over_6_mb_is_cut_off_at_the_limit(engine: launcher.EngineInfo) -> None:
    headers = signed_headers(engine, "POST", "/endpoints/auth-any/invocations", "sagemaker", b"", {"Content-Type": "text/csv"})
    headers.pop("Content-Length", None)
    status, _, body = raw(engine, "POST", "/endpoints/auth-any/invocations", headers, chunks=[b"1," * 512 * 1024] * 7)
    assert status == 413
    assert json.loads(body) == {"message": f"HTTP content length exceeded {settings.MAX_PAYLOAD_BYTES} bytes."}


def test_moto_api_is_not_served_even_to_a_signed_request(engine: launcher.EngineInfo, aws: Clients) -> None:
    ensure_bucket(aws)
    for method, path in (("GET", "/moto-api/"), ("GET", "/moto-api/data.json"), ("POST", "/moto-api/reset"),
                         ("POST", "/moto-api/seed?a=42"), ("GET", "/moto-api%2Fdata.json"), ("GET", "//moto-api/data.json")):
        status, _, body = raw(engine, method, path, signed_headers(engine, method, path, "s3"), b"")
        # "//host/..." is an absolute-form request target: the HTTP server refuses it (400) before the engine sees it
        assert status in ((403, 404, 400) if path.startswith("//") else (403, 404)), (method, path, status)
        assert b"sagemaker" not in body.lower() and BUCKET.encode() not in body
    assert BUCKET in {bucket["Name"] for bucket in aws.s3.list_buckets()["Buckets"]}  # not reset


def test_answers_carry_no_cors_headers(engine: launcher.EngineInfo, aws: Clients) -> None:
    """moto's flask-cors said ``Access-Control-Allow-Origin: *`` on every answer; none of the engine's may."""
    seen: list[dict[str, str]] = []
    for client in (aws.s3, aws.sts, aws.sagemaker):
        client.meta.events.register("after-call", lambda http_response, **_: seen.append(dict(http_response.headers)))
    aws.s3.list_buckets()
    aws.sts.get_caller_identity()
    aws.sagemaker.list_models()
    assert len(seen) == 3
    for headers in seen:
        assert not [name for name in headers if name.lower().startswith("access-control-")], headers


def test_a_request_from_a_web_page_is_refused_even_when_signed(engine: launcher.EngineInfo) -> None:
    headers = signed_headers(engine, "GET", "/", "s3") | {"Origin": "http://localhost:8888"}
    status, answer_headers, body = raw(engine, "GET", "/", headers)
    assert (status, xml_code(body)) == (403, "AccessDenied")
    assert b"SM_MAGICS_LOCAL_ALLOWED_ORIGINS" in body
    assert "access-control-allow-origin" not in answer_headers
    preflight = {"Host": f"127.0.0.1:{engine.port}", "Origin": "http://localhost:8888", "Access-Control-Request-Method": "PUT"}
    status, answer_headers, _ = raw(engine, "OPTIONS", "/some-bucket/key", preflight)
    assert status == 403 and "access-control-allow-origin" not in answer_headers


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "localhost", "127.0.0.1.nip.io:{port}", "localhost.evil.example:{port}"])
def test_a_foreign_host_header_is_refused_even_when_signed(engine: launcher.EngineInfo, host: str) -> None:
    """DNS rebinding: the request is signed for the name the attacker's page used, which is not the engine's."""
    host = host.format(port=engine.port)
    status, _, body = raw(engine, "GET", "/", signed_headers(engine, "GET", "/", "s3", host=host))
    assert (status, xml_code(body)) == (403, "AccessDenied")
    assert f"Host '{host}'".encode() in body


def test_virtual_hosted_s3_on_localhost_is_served(engine: launcher.EngineInfo, shared_object: tuple[str, str]) -> None:
    bucket, key = shared_object
    path = "/" + urllib.request.quote(key)
    host = f"{bucket}.localhost:{engine.port}"
    status, _, body = raw(engine, "GET", path, signed_headers(engine, "GET", path, "s3", host=host))
    assert (status, body) == (200, b"the report")


def test_health_is_get_only_and_tells_nothing_about_resources(engine: launcher.EngineInfo) -> None:
    host = {"Host": f"127.0.0.1:{engine.port}"}
    status, _, body = raw(engine, "GET", settings.HEALTH_PATH, host)
    document = json.loads(body)
    assert status == 200 and document["status"] == "ok"
    assert set(document) == {"status", "pid", "url", "data_dir", "uptime_seconds"}
    assert engine.credentials.secret_access_key not in body.decode()
    for method in ("POST", "PUT", "DELETE"):
        assert raw(engine, method, settings.HEALTH_PATH, host, b"")[0] == 405
    assert raw(engine, "GET", settings.HEALTH_PATH, host | {"Origin": "http://localhost:8888"})[0] == 403
    assert raw(engine, "GET", settings.HEALTH_PATH, {"Host": f"evil.example:{engine.port}"})[0] == 403


# ----------------------------------------------------------------------------- an allowed origin


@pytest.fixture(scope="module")
def engine_allowing_an_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[launcher.EngineInfo]:
    data_dir = tmp_path_factory.mktemp("engine-origin")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SM_MAGICS_LOCAL_ALLOWED_ORIGINS", "http://localhost:9999, https://studio.example/")
        info = launcher.start(port=free_port(), data_dir=data_dir)
    yield info
    launcher.stop(data_dir)


def test_an_allowed_origin_gets_cors_but_must_still_sign(engine_allowing_an_origin: launcher.EngineInfo) -> None:
    engine = engine_allowing_an_origin
    origin = {"Origin": "https://studio.example"}
    preflight = {"Host": f"127.0.0.1:{engine.port}", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,x-amz-date,x-amz-target"} | origin
    status, headers, _ = raw(engine, "OPTIONS", "/", preflight)
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://studio.example"
    assert "x-amz-target" in headers["access-control-allow-headers"]

    signed = signed_headers(engine, "POST", "/", "sagemaker", b"{}", {"X-Amz-Target": "SageMaker.ListModels",
                                                                         "Content-Type": "application/x-amz-json-1.1"})
    status, headers, body = raw(engine, "POST", "/", signed | origin, b"{}")
    assert status == 200 and "Models" in json.loads(body)
    assert headers["access-control-allow-origin"] == "https://studio.example"

    unsigned = {k: v for k, v in signed.items() if k.lower() not in ("authorization", "x-amz-security-token")}
    status, _, body = raw(engine, "POST", "/", unsigned | origin, b"{}")
    assert (status, json.loads(body)["__type"]) == (403, "MissingAuthenticationTokenException")
    status, _, _ = raw(engine, "POST", "/", signed | {"Origin": "http://localhost:9998"}, b"{}")
    assert status == 403


# ----------------------------------------------------------------------------- signed requests with awkward names


def test_signed_s3_calls_with_awkward_keys_are_served(aws: Clients) -> None:
    """Paths and query strings are verified as sent: spaces, unicode, +, =, ~, & and ? in keys and prefixes."""
    ensure_bucket(aws)
    prefix = unique("auth/ü ñ+=~&?")
    key = f"{prefix}/a b+c=d~e.txt"
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=b"awkward")
    assert aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"awkward"
    assert [o["Key"] for o in aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]] == [key]
    aws.s3.copy_object(Bucket=BUCKET, Key=key + ".copy", CopySource={"Bucket": BUCKET, "Key": key})
    deleted = aws.s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": key}, {"Key": key + ".copy"}]})["Deleted"]
    assert sorted(d["Key"] for d in deleted) == [key, key + ".copy"]
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["KeyCount"] == 0


def test_the_durability_report_is_for_signed_requests_only(engine):
    """It names buckets and keys the engine could not keep: unsigned, it is refused like any API call."""
    status, _, _ = raw(engine, "GET", settings.DURABILITY_PATH, {"Host": f"127.0.0.1:{engine.port}"})
    assert status == 403
    assert set(launcher.durability(engine)) >= {"unsaved", "recovery"}  # signed with the data dir's keys
