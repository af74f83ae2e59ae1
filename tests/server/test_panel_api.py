"""The panel's REST API on a real jupyter_server against the local engine: what the panel shows and does."""

from __future__ import annotations

import datetime as dt
import json
from http.cookies import SimpleCookie
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from conftest import engine_session
from helpers import KMEANS_IMAGE, ROLE, assert_object_absent, error_of, train_kmeans, unique
from sm_magics.workflow.pricing import bundled_price

pytestmark = pytest.mark.usefixtures("jp_serverapp")


def sagemaker_client(engine, region: str = "us-east-1") -> Any:
    return engine_session(engine).client("sagemaker", region_name=region, endpoint_url=engine.url)


def make_endpoint(engine, model_uri: str, region: str = "us-east-1", instance_type: str = "ml.m5.large", count: int = 1,
                  tags: dict[str, str] | None = None) -> str:
    sagemaker = sagemaker_client(engine, region)
    name = unique("panel")
    tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": model_uri})
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InstanceType": instance_type, "InitialInstanceCount": count}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tag_list)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1})
    return name


@pytest.fixture(scope="module")
def model_uri(engine_clients, mnist) -> str:
    (x, _), _, _ = mnist
    return train_kmeans(engine_clients, x[:300], k=3)["ModelArtifacts"]["S3ModelArtifacts"]


async def get_json(jp_fetch, *path: str, **kwargs: Any) -> Any:
    response = await jp_fetch("sm-magics", "api", *path, **kwargs)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def test_lists_endpoints_of_several_regions_with_cost_notebook_and_ttl(jp_fetch, engine, model_uri):
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat(timespec="seconds")
    big = make_endpoint(engine, model_uri, instance_type="ml.m5.large", count=2, tags={"sm_magics:notebook": "big.ipynb"})
    small = make_endpoint(engine, model_uri, instance_type="ml.m5.large", tags={"sm_magics:expires-at": expires})
    far = make_endpoint(engine, model_uri, region="eu-west-1")
    listed = await get_json(jp_fetch, "endpoints")
    assert listed["regions"] == ["us-east-1", "eu-west-1"] and listed["billed"] is False and listed["region_errors"] == []
    rows = {r["name"]: r for r in listed["endpoints"]}
    assert {big, small, far} <= set(rows)
    hourly = bundled_price("ml.m5.large", "us-east-1").usd_per_hour  # one of the bundled table's figures
    assert (rows[big]["instance_type"], rows[big]["instance_count"], rows[big]["usd_per_hour"]) == ("ml.m5.large", 2, pytest.approx(2 * hourly))
    assert rows[big]["notebook"] == "big.ipynb" and rows[big]["models"] == [big] and rows[big]["config_name"] == big
    assert rows[big]["usd_so_far"] == pytest.approx(2 * hourly * rows[big]["age_seconds"] / 3600, rel=0.05, abs=1e-4)
    assert 3500 < rows[small]["ttl_seconds_left"] <= 3600 and rows[small]["expires_at"] == expires
    assert rows[far]["region"] == "eu-west-1" and rows[far]["usd_per_hour"] is None  # not in the bundled table
    order = [r["name"] for r in listed["endpoints"]]
    assert order.index(big) < order.index(small) < order.index(far)  # most expensive first, unknown prices last
    assert listed["usd_per_hour"] == pytest.approx(sum(r["usd_per_hour"] or 0 for r in listed["endpoints"]))

    detail = await get_json(jp_fetch, "endpoints", "us-east-1", big)
    assert detail["config"]["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    assert [m["ModelName"] for m in detail["models"]] == [big] and detail["tags"] == {"sm_magics:notebook": big and "big.ipynb"}


async def test_listing_follows_pages_and_a_warm_refresh_costs_only_list_calls(jp_fetch, jp_serverapp, engine, model_uri):
    names = {make_endpoint(engine, model_uri, tags={"n": str(i)}) for i in range(3)}
    fleet = jp_serverapp.web_app.settings["sm_magics.panel"].fleet()
    fleet.page_size = 2  # MaxResults 2: several ListEndpoints and GetResources pages
    first = await get_json(jp_fetch, "endpoints", params={"regions": "us-east-1"})
    assert names <= {r["name"] for r in first["endpoints"]}
    assert all(r["tags"].get("n") for r in first["endpoints"] if r["name"] in names)
    warm = await get_json(jp_fetch, "endpoints", params={"regions": "us-east-1"})
    list_pages = -(-len(warm["endpoints"]) // 2)
    tag_pages = max(1, -(-sum(1 for r in warm["endpoints"] if r["tags"]) // 2))  # GetResources returns tagged resources only
    assert warm["calls"] == list_pages + tag_pages  # configs come from the cache


async def test_delete_cascades_reports_each_row_and_can_remove_artifacts(jp_fetch, engine, engine_clients, mnist):
    (x, _), _, _ = mnist
    own_model = train_kmeans(engine_clients, x[:200], k=2)["ModelArtifacts"]["S3ModelArtifacts"]
    doomed = make_endpoint(engine, own_model)
    answer = await get_json(jp_fetch, "endpoints", "delete", method="POST", body=json.dumps({
        "endpoints": [{"region": "us-east-1", "name": doomed}, {"region": "us-east-1", "name": "never-existed"}],
        "delete_artifacts": True}))
    ok, missing = answer["results"]
    assert ok == {"name": doomed, "region": "us-east-1", "ok": True, "errors": [], "kept": [],
                  "deleted": [f"endpoint {doomed}", f"endpoint config {doomed}", f"model {doomed}", own_model]}
    assert missing["ok"] is False and missing["errors"] == ["endpoint never-existed does not exist (already deleted?)"]
    sagemaker = engine_clients.sagemaker
    assert "Could not find endpoint" in error_of(sagemaker.describe_endpoint, EndpointName=doomed)["Error"]["Message"]
    assert "Could not find endpoint configuration" in error_of(sagemaker.describe_endpoint_config, EndpointConfigName=doomed)["Error"]["Message"]
    assert "Could not find model" in error_of(sagemaker.describe_model, ModelName=doomed)["Error"]["Message"]
    assert_object_absent(engine_clients, own_model)
    listed = await get_json(jp_fetch, "endpoints")
    assert doomed not in {r["name"] for r in listed["endpoints"]}


async def test_ttl_extend_and_clear(jp_fetch, engine, engine_clients, model_uri):
    name = make_endpoint(engine, model_uri)
    extended = await get_json(jp_fetch, "endpoints", "us-east-1", name, "ttl", method="PUT", body=json.dumps({"extend_minutes": 90}))
    assert 89 * 60 < extended["ttl_seconds_left"] <= 90 * 60 and extended["schedule"] is None  # the engine enforces it itself
    again = await get_json(jp_fetch, "endpoints", "us-east-1", name, "ttl", method="PUT", body=json.dumps({"extend_minutes": 30}))
    assert 119 * 60 < again["ttl_seconds_left"] <= 120 * 60
    arn = engine_clients.sagemaker.describe_endpoint(EndpointName=name)["EndpointArn"]
    tags = {t["Key"]: t["Value"] for t in engine_clients.sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert tags["sm_magics:expires-at"] == again["expires_at"]
    cleared = await get_json(jp_fetch, "endpoints", "us-east-1", name, "ttl", method="PUT", body=json.dumps({"expires_at": None}))
    assert cleared["expires_at"] is None
    assert "sm_magics:expires-at" not in {t["Key"] for t in engine_clients.sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    with pytest.raises(HTTPClientError) as bad:
        await jp_fetch("sm-magics", "api", "endpoints", "us-east-1", name, "ttl", method="PUT", body=json.dumps({"expires_at": "tomorrow"}))
    assert bad.value.code == 400 and "is not an ISO 8601 time" in json.loads(bad.value.response.body)["message"]


async def test_running_jobs_are_listed_and_can_be_stopped(jp_fetch, engine_clients, mnist):
    from helpers import training_request, upload_recordio

    (x, _), _, _ = mnist
    name = unique("slow")
    uri = upload_recordio(engine_clients, x[:1000], f"data/{name}")
    long_job = {"k": "10", "feature_dim": "784", "mini_batch_size": "100", "epochs": "5000"}  # minutes, unless stopped
    engine_clients.sagemaker.create_training_job(**training_request(name, uri, long_job),
                                                 Tags=[{"Key": "sm_magics:notebook", "Value": "jobs.ipynb"}])
    listed = await get_json(jp_fetch, "jobs", params={"regions": "us-east-1"})
    row = next(j for j in listed["jobs"] if j["name"] == name)
    assert (row["kind"], row["status"], row["notebook"], row["instance_count"]) == ("training", "InProgress", "jobs.ipynb", 1)
    stopped = await get_json(jp_fetch, "jobs", "us-east-1", "training", name, "stop", method="POST", body=b"")
    assert stopped["status"] == "Stopping"
    status = engine_clients.sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
    assert status in ("Stopping", "Stopped")


async def test_requests_without_a_token_are_refused(http_server_client, jp_base_url):
    for method, path, body in (("GET", "endpoints", None), ("POST", "endpoints/delete", b"{}"), ("GET", "jobs", None)):
        with pytest.raises(HTTPClientError) as refused:
            await http_server_client.fetch(f"{jp_base_url}sm-magics/api/{path}", method=method, body=body)
        assert refused.value.code == 403


async def test_cookie_authenticated_changes_need_the_xsrf_token(jp_fetch, http_server_client, jp_base_url, engine, model_uri):
    login = await jp_fetch("api", "status")  # token-authenticated: the server answers with its login cookie
    cookies = SimpleCookie()
    for header in login.headers.get_list("Set-Cookie"):
        cookies.load(header)
    cookie_header = "; ".join(f"{k}={v.value}" for k, v in cookies.items())
    name = make_endpoint(engine, model_uri)
    url = f"{jp_base_url}sm-magics/api/endpoints/delete"
    body = json.dumps({"endpoints": [{"region": "us-east-1", "name": name}]})
    listed = await http_server_client.fetch(f"{jp_base_url}sm-magics/api/endpoints", headers={"Cookie": cookie_header})
    assert name in {r["name"] for r in json.loads(listed.body)["endpoints"]}  # the cookie alone may read
    with pytest.raises(HTTPClientError) as refused:
        await http_server_client.fetch(url, method="POST", body=body, headers={"Cookie": cookie_header})
    assert refused.value.code == 403
    assert sagemaker_client(engine).describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    deleted = await http_server_client.fetch(url, method="POST", body=body,
                                             headers={"Cookie": f"{cookie_header}; _xsrf=abc123", "X-XSRFToken": "abc123"})
    assert json.loads(deleted.body)["results"][0]["ok"] is True


async def test_bad_requests_get_one_line_saying_what_to_send(jp_fetch):
    for body, expected in ((b"not json", "not valid JSON"), (json.dumps({"endpoints": "x"}), 'name what to delete')):
        with pytest.raises(HTTPClientError) as bad:
            await jp_fetch("sm-magics", "api", "endpoints", "delete", method="POST", body=body)
        assert bad.value.code == 400 and expected in json.loads(bad.value.response.body)["message"]
    with pytest.raises(HTTPClientError) as missing:
        await jp_fetch("sm-magics", "api", "endpoints", "us-east-1", "no-such-endpoint")
    assert missing.value.code in (400, 404) and "no-such-endpoint" in json.loads(missing.value.response.body)["message"]
