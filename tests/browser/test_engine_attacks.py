"""A hostile web page in the user's real browser cannot read or change anything in the local engine.

Debian's chromium (through Playwright) opens an attacker's page served from
another localhost port. The page tries what any site the user visits could
try against ``127.0.0.1:<engine port>`` and ``localhost:<engine port>``:
reading the bucket list (cors and no-cors fetches), reading moto's state dump
``/moto-api/data.json``, wiping everything with a no-cors ``POST
/moto-api/reset``, creating an S3 object and an IAM user with plain HTML form
POSTs (no preflight needed), a PUT creating a bucket and an object, and a
SageMaker ``X-Amz-Target`` call both as a no-cors ``text/plain`` POST and as
a cors request. Afterwards the engine's log shows the requests arrived and
were refused, the page holds nothing it read, and an authenticated client
finds the bucket and object placed before the attack still there and nothing
new. A DNS-rebinding style request (a foreign ``Host``) is refused too.
"""

from __future__ import annotations

import http.client
import http.server
import json
import threading
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from helpers import Clients, free_port, unique
from sm_magics import launcher

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html><body>
<h1>Totally harmless page</h1>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe><iframe name="sink3"></iframe>
<form id="s3-object" method="POST" action="{engine}/{bucket}" enctype="multipart/form-data" target="sink1">
  <input name="key" value="{evil_key}"><textarea name="file">pwned by a web page</textarea>
</form>
<form id="iam-user" method="POST" action="{engine}/" target="sink2">
  <input name="Action" value="CreateUser"><input name="UserName" value="{evil_user}"><input name="Version" value="2010-05-08">
</form>
<form id="s3-bucket" method="POST" action="{localhost}/{evil_bucket}" enctype="text/plain" target="sink3">
  <input name="x" value="y">
</form>
<script>
const results = {{}};
async function attempt(name, url, init) {{
  try {{
    const answer = await fetch(url, init || {{}});
    let text = "";
    try {{ text = await answer.text(); }} catch (e) {{ text = "(unreadable) " + e; }}
    results[name] = {{type: answer.type, status: answer.status, text: text.slice(0, 500)}};
  }} catch (e) {{
    results[name] = {{error: String(e)}};
  }}
}}
function submitted(form, frame) {{
  return new Promise(resolve => {{
    const sink = document.querySelector(`iframe[name=${{frame}}]`);
    sink.addEventListener("load", () => resolve(), {{once: true}});
    setTimeout(resolve, 5000);
    document.getElementById(form).submit();
  }});
}}
(async () => {{
  const E = "{engine}", L = "{localhost}";
  await attempt("list buckets (cors)", E + "/");
  await attempt("list buckets (no-cors)", E + "/", {{mode: "no-cors"}});
  await attempt("list buckets via localhost (cors)", L + "/");
  await attempt("list objects (no-cors)", E + "/{bucket}", {{mode: "no-cors"}});
  await attempt("moto data.json (cors)", E + "/moto-api/data.json");
  await attempt("moto data.json (no-cors)", E + "/moto-api/data.json", {{mode: "no-cors"}});
  await attempt("moto reset (no-cors)", E + "/moto-api/reset", {{method: "POST", mode: "no-cors"}});
  await attempt("health (cors)", E + "/_sm_magics/health");
  await attempt("put object (cors)", E + "/{bucket}/{evil_put_key}", {{method: "PUT", body: "pwned"}});
  await attempt("create bucket (cors)", L + "/{evil_bucket}", {{method: "PUT"}});
  await attempt("sagemaker create model (no-cors, text/plain)", E + "/", {{
    method: "POST", mode: "no-cors",
    headers: {{"Content-Type": "text/plain", "X-Amz-Target": "SageMaker.CreateModel"}},
    body: JSON.stringify({{ModelName: "{evil_model}", ExecutionRoleArn: "arn:aws:iam::123456789012:role/SageMakerRole",
                          PrimaryContainer: {{Image: "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"}}}})
  }});
  await attempt("sagemaker list models (cors)", E + "/", {{
    method: "POST", headers: {{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.ListModels"}}, body: "{{}}"
  }});
  await submitted("s3-object", "sink1");
  await submitted("iam-user", "sink2");
  await submitted("s3-bucket", "sink3");
  window.attackResults = results;
  window.attackDone = true;
}})();
</script>
</body></html>
"""


class _Attacker(http.server.BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def attacker_site() -> Iterator[tuple[type[_Attacker], str]]:
    """A web server on another localhost port: the origin of the hostile page."""
    handler = type("Attacker", (_Attacker,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def victim_data(engine_clients: Clients) -> dict[str, str]:
    """A bucket and an object the user made before visiting the page."""
    bucket, key = unique("victim"), "reports/q3.csv"
    engine_clients.s3.create_bucket(Bucket=bucket)
    engine_clients.s3.put_object(Bucket=bucket, Key=key, Body=b"secret,numbers\n1,2\n")
    return {"bucket": bucket, "key": key}


def engine_log(engine: launcher.EngineInfo) -> str:
    return (engine.data_dir / "engine.log").read_text(errors="replace")


def test_a_hostile_page_can_neither_read_nor_change_the_engine(
    page: Any, engine: launcher.EngineInfo, engine_clients: Clients, attacker_site: tuple[type[_Attacker], str],
    victim_data: dict[str, str],
) -> None:
    handler, url = attacker_site
    names = {"evil_key": unique("evil-form"), "evil_put_key": unique("evil-put"), "evil_bucket": unique("evil-bucket"),
             "evil_user": unique("evil-user"), "evil_model": unique("evil-model")}
    handler.page = PAGE.format(engine=engine.url, localhost=f"http://localhost:{engine.port}", bucket=victim_data["bucket"],
                               **names).encode()
    log_before = len(engine_log(engine))

    page.goto(url)
    page.wait_for_function("window.attackDone === true", timeout=60_000)
    results: dict[str, dict[str, Any]] = page.evaluate("window.attackResults")

    # the page read nothing: cors fetches failed outright, no-cors ones are opaque (no status, no body)
    assert len(results) == 12, results
    for name, result in results.items():
        if "(no-cors" in name:
            assert (result.get("type"), result.get("status"), result.get("text")) == ("opaque", 0, ""), (name, result)
        else:
            assert result.get("error", "").startswith("TypeError"), (name, result)
    dump = json.dumps(results)
    for secret in (victim_data["bucket"] + "<", "reports/q3.csv", engine.credentials.access_key_id, str(engine.data_dir)):
        assert secret not in dump

    # the requests did reach the engine, and were refused there
    log = engine_log(engine)[log_before:]
    for line in (f"refused POST /{victim_data['bucket']}", "refused POST /moto-api/reset", "refused GET /moto-api/data.json",
                 "refused POST /: forbidden", f"refused POST /{names['evil_bucket']}", "refused GET /: missing"):
        assert line in log, f"{line!r} not in the engine's log:\n{log[-3000:]}"

    # nothing was made, nothing was wiped
    s3 = engine_clients.s3
    assert s3.get_object(Bucket=victim_data["bucket"], Key=victim_data["key"])["Body"].read() == b"secret,numbers\n1,2\n"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=victim_data["bucket"])["Contents"]] == [victim_data["key"]]
    assert not [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("evil")]
    assert engine_clients.sagemaker.list_models(NameContains="evil-model")["Models"] == []
    with pytest.raises(ClientError) as caught:
        engine_clients.iam.get_user(UserName=names["evil_user"])
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"


def test_a_dns_rebinding_request_is_refused(engine: launcher.EngineInfo, engine_clients: Clients, victim_data: dict[str, str]) -> None:
    """After rebinding, the page's requests reach 127.0.0.1 but still name the attacker's host: refused, nothing reset."""
    for method, path in (("GET", "/"), ("GET", "/_sm_magics/health"), ("GET", "/moto-api/data.json"), ("POST", "/moto-api/reset")):
        connection = http.client.HTTPConnection("127.0.0.1", engine.port, timeout=15)
        try:
            connection.request(method, path, body=b"" if method == "POST" else None, headers={"Host": f"evil.example:{engine.port}"})
            answer = connection.getresponse()
            body = answer.read()
        finally:
            connection.close()
        assert answer.status == 403, (method, path, answer.status)
        assert b"evil.example" in body and b"is not this engine's address" in body
        assert victim_data["bucket"].encode() not in body and str(engine.data_dir).encode() not in body
    assert engine_clients.s3.head_object(Bucket=victim_data["bucket"], Key=victim_data["key"])["ContentLength"] > 0
