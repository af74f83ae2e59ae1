"""Prices: the bundled table is only AWS's figures with their sources, the Price List API refreshes it, and the
cost line before a job or endpoint is instances x price x time, said once, never with a guessed price.

botocore's Stubber checks every stubbed request and response against the pricing service model, so the
GetProducts calls here are the real API's shape. Figures in the hand-made tables and price lists below are
test data for the arithmetic, not SageMaker prices.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import boto3
import pytest
from botocore.stub import Stubber

from sm_magics.workflow import costs, pricing
from sm_magics.workflow.session import Backend

CREDENTIALS = {"aws_access_key_id": "AKIAEXAMPLEEXAMPLE00", "aws_secret_access_key": "secret"}

# Test data in the bundled table's shape: made-up figures, so that the arithmetic below is checked exactly.
TABLE = {
    "sources": {"t": {"label": "test table", "title": "test data", "where": "tests/workflow/test_pricing.py", "stated_date": "2001-02-03"}},
    "prices": [
        {"region": "us-east-1", "use": "Training", "instance_type": "ml.m5.xlarge", "usd_per_hour": 0.5, "source": "t"},
        {"region": "us-east-1", "use": "Hosting", "instance_type": "ml.m5.xlarge", "usd_per_hour": 0.25, "source": "t"},
        {"region": "us-east-1", "use": "BatchTransform", "instance_type": "ml.m5.xlarge", "usd_per_hour": 0.125, "source": "t"},
    ],
}


def backend(kind: str, table: dict | None = TABLE) -> Backend:
    b = Backend(kind, "us-east-1", "test")
    b._prices = pricing.PriceBook(None, table=table)
    return b


def product(instance_type: str, use: str, usd: str, *, published: str = "2026-10-01T00:00:00Z", family: str = "ML Instance",
            location_type: str = "AWS Region") -> str:
    """One GetProducts PriceList item, in the shape AWS returns (a JSON string per product)."""
    return json.dumps({
        "product": {"productFamily": family, "sku": "SKU1", "attributes": {
            "instanceType": f"{instance_type}-{use}", "platoinstancetype": use, "regionCode": "eu-west-1",
            "usagetype": f"EU-{use}:{instance_type}", "operation": "RunInstance", "locationType": location_type}},
        "serviceCode": "AmazonSageMaker",
        "terms": {"OnDemand": {"SKU1.T": {"priceDimensions": {"SKU1.T.D": {"unit": "Hrs", "pricePerUnit": {"USD": usd},
                                                                           "description": "on-demand"}}}}},
        "version": "20261001000000", "publicationDate": published,
    })


def expected_request(region: str, use: str, token: str | None = None) -> dict:
    request = {"ServiceCode": "AmazonSageMaker", "FormatVersion": "aws_v1", "MaxResults": 100, "Filters": [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
        {"Type": "TERM_MATCH", "Field": "platoinstancetype", "Value": use},
    ]}
    if token:
        request["NextToken"] = token
    return request


# ------------------------------------------------------------------ the bundled table


def stated(date: str) -> dt.date:
    """A source's stated date as a real date: a day (2026-09-28), or a month (2023-12) where the source gives only a month."""
    return dt.date.fromisoformat(date if len(date) == 10 else f"{date}-01")


def test_every_bundled_figure_names_its_source_and_date():
    table = pricing.bundled()
    cells = set()
    for entry in table["prices"]:
        source = table["sources"][entry["source"]]  # a KeyError here is a figure without a source
        assert source["where"] and source["title"] and source["label"]
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", source["stated_date"]) and stated(source["stated_date"])
        assert "file id " in source["where"] or source["where"].startswith("https://")  # a reader can find the quote
        assert entry["use"] in pricing.USES and entry["instance_type"].startswith("ml.") and entry["usd_per_hour"] > 0
        assert re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", entry["region"])
        cell = (entry["region"], entry["use"], entry["instance_type"])
        assert cell not in cells, f"{cell} twice"
        cells.add(cell)
    used = {entry["source"] for entry in table["prices"]}
    assert used == set(table["sources"]), f"sources no figure uses: {set(table['sources']) - used}"


def test_newly_covered_cells_say_their_figure_and_where_it_comes_from():
    """Cells beyond us-east-1 ml.m5.large: another region, a GPU training type, batch transform, a month-dated source."""
    line = costs.endpoint_line(Backend("local", "eu-west-1", "test"), "ml.m5.xlarge", 1)
    assert line == ("sm_magics: on AWS this endpoint would cost $0.257/h, $6.17/day (1 x ml.m5.xlarge at $0.257/h until deleted);"
                    " the local engine bills nothing · price: AWS SageMaker bill rates, as published by aws-samples, 2023-12"
                    " (bundled table)")
    line = costs.training_line(Backend("local", "us-east-1", "test"), "ml.g5.2xlarge", 2, 2 * 3600)
    assert line == ("sm_magics: on AWS this training job would cost at most $6.06 (2 x ml.g5.2xlarge at $1.515/h x 2 h max"
                    " runtime); the local engine bills nothing · price: AWS offer file (us-east-1), as quoted publicly, 2026-09-25"
                    " (bundled table)")
    assert pricing.bundled_price("ml.g4dn.xlarge", "eu-west-3", "BatchTransform") == pricing.Price(
        0.861, "AWS offer file (eu-west-3), as quoted publicly, 2026-10-04 (bundled table)")
    assert pricing.bundled_price("ml.g6.xlarge", "ap-northeast-1", "Training").usd_per_hour == 1.634
    assert pricing.bundled_price("ml.g6.xlarge", "ap-northeast-1", "Hosting") is None  # a training figure is not a hosting one


def test_a_cell_not_in_the_table_has_no_price_rather_than_a_neighbours():
    held = {(e["instance_type"], e["region"], e["use"]) for e in pricing.bundled()["prices"]}
    for instance_type in ("ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge", "ml.p3.2xlarge", "ml.g4dn.xlarge", "ml.m4.xlarge"):
        for region in ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"):
            for use in pricing.USES:
                price = pricing.bundled_price(instance_type, region, use)
                assert (price is not None) == ((instance_type, region, use) in held)
    line = costs.endpoint_line(Backend("local", "ap-northeast-1", "test"), "ml.c5.xlarge", 1)
    assert line == "sm_magics: cost unknown: price not in the bundled table for ml.c5.xlarge real-time inference in ap-northeast-1"


def test_the_table_can_be_rebuilt_from_an_aws_offer_file():
    """`python -m sm_magics.workflow.pricing OFFER URL`: every figure points at the offer file and its publicationDate."""
    def sku(use: str, instance_type: str, region: str, usd: str) -> tuple[dict, dict]:
        code = f"{use}{instance_type}{region}".replace(".", "").replace("-", "").upper()
        return ({"sku": code, "productFamily": "ML Instance", "attributes": {
                    "regionCode": region, "instanceType": f"{instance_type}-{use}", "platoinstancetype": use}},
                {f"{code}.T": {"priceDimensions": {f"{code}.T.D": {"unit": "Hrs", "pricePerUnit": {"USD": usd}}}}})

    rows = [sku("Training", "ml.m5.xlarge", "us-west-2", "0.5"), sku("Hosting", "ml.m5.xlarge", "us-west-2", "0.25"),
            sku("BatchTransform", "ml.m5.xlarge", "eu-west-1", "0.125"), sku("Notebook", "ml.t3.medium", "us-west-2", "0.05"),
            sku("Hosting", "ml.m5.xlarge", "ap-south-1", "0.3")]
    offer = {"version": "20261001000000", "publicationDate": "2026-10-01T00:00:00Z",
             "products": {p["sku"]: p for p, _ in rows}, "terms": {"OnDemand": {p["sku"]: t for p, t in rows}}}
    table = pricing.table_from_offer(offer, "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonSageMaker/x/index.json",
                                     regions=["us-west-2", "eu-west-1"])
    assert [(e["region"], e["use"], e["instance_type"], e["usd_per_hour"]) for e in table["prices"]] == [
        ("eu-west-1", "BatchTransform", "ml.m5.xlarge", 0.125), ("us-west-2", "Hosting", "ml.m5.xlarge", 0.25),
        ("us-west-2", "Training", "ml.m5.xlarge", 0.5)]  # notebooks are not a use; ap-south-1 was not asked for
    (source,) = table["sources"].values()
    assert source["stated_date"] == "2026-10-01" and source["where"].endswith("/index.json")
    book = pricing.PriceBook(None, table=table)
    assert book.hourly("ml.m5.xlarge", "us-west-2", "Training") == pricing.Price(0.5, "AWS offer file, 2026-10-01 (bundled table)")
    assert book.hourly("ml.m5.xlarge", "us-west-2", "BatchTransform") is None


# ------------------------------------------------------------------ the Price List API (aws backend)


def test_price_list_api_slice_is_asked_once_and_dated():
    client = boto3.client("pricing", region_name="us-east-1", **CREDENTIALS)
    book = pricing.PriceBook(client, table=TABLE)
    with Stubber(client) as stub:
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "NextToken": "page2", "PriceList": [
            product("ml.m5.large", "Training", "0.9990000000", location_type="AWS Outposts"),  # not the region's price
            product("ml.m5.large", "Training", "0.1280000000", published="2026-09-30T12:00:00Z")]},
            expected_request("eu-west-1", "Training"))
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": [
            product("ml.c5.xlarge", "Training", "0.2400000000"), product("ml.c5.xlarge", "Training", "0", family="Storage")]},
            expected_request("eu-west-1", "Training", "page2"))
        large = book.hourly("ml.m5.large", "eu-west-1", "Training")
        c5 = book.hourly("ml.c5.xlarge", "eu-west-1", "Training")  # same slice: answered from the cache
        missing = book.hourly("ml.p3.2xlarge", "eu-west-1", "Training")  # not in AWS's answer, not in the table
        stub.assert_no_pending_responses()
    assert large == pricing.Price(0.128, "AWS Price List API, published 2026-09-30")
    assert c5 == pricing.Price(0.24, "AWS Price List API, published 2026-10-01")
    assert missing is None
    assert large.cost(1800, count=2) == pytest.approx(0.128)


def test_price_list_api_refusal_falls_back_to_the_bundled_table_once():
    client = boto3.client("pricing", region_name="us-east-1", **CREDENTIALS)
    book = pricing.PriceBook(client, table=TABLE)
    with Stubber(client) as stub:
        stub.add_client_error("get_products", "AccessDeniedException", "not allowed")
        first = book.hourly("ml.m5.xlarge", "us-east-1", "Hosting")
        again = book.hourly("ml.m5.xlarge", "us-east-1", "Hosting")  # the refusal is remembered: no second call
        stub.assert_no_pending_responses()
    assert first == again == pricing.Price(0.25, "test table, 2001-02-03 (bundled table)")
    with pytest.raises(ValueError, match="use is one of Training, Hosting, BatchTransform"):
        book.hourly("ml.m5.xlarge", "us-east-1", "Notebook")


def test_the_aws_backend_asks_the_price_list_api_in_us_east_1():
    b = Backend("aws", "ap-northeast-1", "test")
    b._session = boto3.Session(region_name="ap-northeast-1", **CREDENTIALS)
    book = pricing.price_book_for(b)
    assert book._client.meta.region_name == "us-east-1" and book._client.meta.service_model.service_name == "pricing"
    assert pricing.price_book_for(Backend("local", "us-east-1", "test"))._client is None


# ------------------------------------------------------------------ the line before spending


def test_training_line_is_instances_times_price_times_max_runtime():
    line = costs.training_line(backend("aws"), "ml.m5.xlarge", 2, 3 * 3600)
    assert line == ("sm_magics: this training job costs at most $3.00 (2 x ml.m5.xlarge at $0.5/h x 3 h max runtime)"
                    " · price: test table, 2001-02-03 (bundled table)")


def test_local_engine_says_what_it_would_cost_on_aws():
    line = costs.training_line(backend("local"), "ml.m5.xlarge", 1, 1800)
    assert line.startswith("sm_magics: on AWS this training job would cost at most $0.25 (1 x ml.m5.xlarge at $0.5/h x 30 min")
    assert "the local engine bills nothing" in line


def test_spot_is_an_on_demand_upper_bound_not_a_made_up_discount():
    line = costs.training_line(backend("aws"), "ml.m5.xlarge", 1, 3600, spot=True)
    assert "at most $0.50" in line and "this on-demand figure is the upper bound" in line
    assert "%" not in line  # no discount figure of our own


def test_tuning_line_counts_every_job_whatever_runs_in_parallel():
    one_at_a_time = costs.tuning_line(backend("aws"), "ml.m5.xlarge", 1, 3600, max_jobs=6, max_parallel=1)
    three_at_a_time = costs.tuning_line(backend("aws"), "ml.m5.xlarge", 1, 3600, max_jobs=6, max_parallel=3)
    assert "at most $3.00 (6 jobs x 1 x ml.m5.xlarge at $0.5/h x 1 h max runtime each; 1 at a time, so up to 6 h in all)" in one_at_a_time
    assert "at most $3.00 (6 jobs x 1 x ml.m5.xlarge at $0.5/h x 1 h max runtime each; 3 at a time, so up to 2 h in all)" in three_at_a_time


def test_endpoint_line_per_hour_per_day_and_until_its_ttl():
    line = costs.endpoint_line(backend("aws"), "ml.m5.xlarge", 2, dt.timedelta(minutes=90))
    assert line == ("sm_magics: this endpoint costs $0.50/h, $12.00/day (2 x ml.m5.xlarge at $0.25/h until deleted; "
                    "at most $0.75 before its TTL of 1.5 h deletes it) · price: test table, 2001-02-03 (bundled table)")
    assert costs.endpoint_line(backend("aws", table={"sources": {}, "prices": []}), "ml.m5.xlarge", 1) == (
        "sm_magics: cost unknown: price not in the bundled table for ml.m5.xlarge real-time inference in us-east-1"
        " and the AWS Price List API gave none")
