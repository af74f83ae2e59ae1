"""What an instance costs per hour, and where that figure comes from.

Two sources, both AWS's own price list, never an estimate:

* the bundled table (``prices.json``): on-demand USD per instance-hour for
  training, real-time inference (hosting) and batch transform, one entry per
  (region, use, instance type), each naming the source it was taken from and
  the date that source states. A cell that is not in it is simply absent: the
  caller says "price not in the bundled table", never a guess from a
  neighbouring region or size. ``python -m sm_magics.workflow.pricing OFFER``
  rebuilds it from AWS's SageMaker offer file.
* on the aws backend, the AWS Price List API (``pricing:GetProducts``, service
  code ``AmazonSageMaker``): one query per (region, use) brings every instance
  type of that slice, cached for the kernel, each price dated by the
  ``publicationDate`` AWS puts on the product.

Locally nothing is billed: the figures say what AWS would charge.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from botocore.exceptions import BotoCoreError, ClientError

# What the magics call a use -> the offer file's ``platoinstancetype`` for it.
USES = {"Training": "Training", "Hosting": "Hosting", "BatchTransform": "BatchTransform"}
TABLE_PATH = Path(__file__).with_name("prices.json")
API_PAGES = 10  # at most 1 000 products per (region, use): far more than SageMaker's instance types


@dataclass(frozen=True)
class Price:
    """USD per instance-hour, with the source a user can check it against."""

    usd_per_hour: float
    source: str  # e.g. "AWS Price List API, published 2026-08-11" or "<source's label>, <its date> (bundled table)"

    def cost(self, seconds: float, count: int = 1) -> float:
        return self.usd_per_hour * count * max(seconds, 0.0) / 3600.0

    @property
    def said(self) -> str:
        """``source`` as a reader of the kernel's language sees it: the words around the source are ours and
        translated; the source's own label (as its table or AWS names it) and its date stay as written."""
        from ..i18n import _

        api = re.fullmatch(r"AWS Price List API, published (.+)", self.source)
        if api:
            return _("AWS Price List API, published {date}").format(date=api[1])
        table = re.fullmatch(r"(.+), (.+) \(bundled table\)", self.source)
        if table:
            date = _("undated") if table[2] == "undated" else table[2]
            return _("{label}, {date} (bundled table)").format(label=table[1], date=date)
        return self.source


@functools.lru_cache(maxsize=1)
def bundled() -> dict[str, Any]:
    """prices.json as written: its sources and its entries."""
    return json.loads(TABLE_PATH.read_text())


@functools.lru_cache(maxsize=1)
def _bundled_index() -> dict[tuple[str, str, str], Price]:
    """(instance type, region, use) -> Price, built once so that a lookup is one dict access."""
    return index_table(bundled())


def index_table(table: dict[str, Any]) -> dict[tuple[str, str, str], Price]:
    sources = table.get("sources", {})
    index: dict[tuple[str, str, str], Price] = {}
    for entry in table.get("prices", []):
        source = sources.get(entry["source"], {})
        label = f"{source.get('label', entry['source'])}, {source.get('stated_date', 'undated')} (bundled table)"
        index[(entry["instance_type"], entry["region"], entry["use"])] = Price(float(entry["usd_per_hour"]), label)
    return index


def bundled_price(instance_type: str, region: str, use: str = "Hosting") -> Price | None:
    """The bundled table's figure for this cell, or None when the table does not hold it."""
    return _bundled_index().get((instance_type, region, use))


def _instance_of(attributes: dict[str, Any]) -> str | None:
    """The offer's instance type without its use suffix (``ml.m5.large-Hosting`` -> ``ml.m5.large``)."""
    name = str(attributes.get("instanceName") or attributes.get("instanceType") or "")
    if not name or name == "NA":
        usage = str(attributes.get("usagetype", ""))
        name = usage.split(":", 1)[1] if ":" in usage else ""
    name = name.split("-", 1)[0]
    return name if name.startswith("ml.") else None


def _on_demand_usd(product: dict[str, Any]) -> float | None:
    """The product's on-demand hourly USD price (a free-tier or zero dimension is no price)."""
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if usd is not None and dimension.get("unit", "Hrs") in ("Hrs", "Hours", "hours") and float(usd) > 0:
                return float(usd)
    return None


def parse_price_list(items: Iterable[str | dict[str, Any]], use: str) -> dict[str, tuple[float, str]]:
    """Price List items (JSON strings as GetProducts returns them, or dicts) -> instance type -> (USD/h, date).

    Only ML Instance products of ``use`` count; the date is the product's ``publicationDate`` (YYYY-MM-DD).
    """
    found: dict[str, tuple[float, str]] = {}
    for item in items:
        product = json.loads(item) if isinstance(item, str) else item
        attributes = product.get("product", {}).get("attributes", {})
        if product.get("product", {}).get("productFamily", "ML Instance") != "ML Instance":
            continue
        if attributes.get("platoinstancetype", use) != USES[use] or attributes.get("locationType", "AWS Region") != "AWS Region":
            continue  # another use, or an Outposts / Local Zone price that shares the region code
        instance = _instance_of(attributes)
        usd = _on_demand_usd(product)
        if instance and usd is not None:
            found.setdefault(instance, (usd, str(product.get("publicationDate", ""))[:10] or "undated"))
    return found


class PriceBook:
    """Prices by (instance type, region, use): the Price List API once per (region, use) when there is a client,
    else (or when it does not answer) the bundled table."""

    def __init__(self, pricing_client: Any | None, table: dict[str, Any] | None = None) -> None:
        self._client = pricing_client
        self._table = _bundled_index() if table is None else index_table(table)
        self._api: dict[tuple[str, str], dict[str, tuple[float, str]] | None] = {}  # (region, use) -> its slice
        self._lock = threading.Lock()

    def hourly(self, instance_type: str, region: str, use: str = "Hosting") -> Price | None:
        if use not in USES:
            raise ValueError(f"use is one of {', '.join(USES)}, not {use!r}")
        if self._client is not None:
            answer = self._slice(region, use)
            if answer and instance_type in answer:
                usd, date = answer[instance_type]
                return Price(usd, f"AWS Price List API, published {date}")
        return self._table.get((instance_type, region, use))

    def _slice(self, region: str, use: str) -> dict[str, tuple[float, str]] | None:
        key = (region, use)
        with self._lock:
            if key in self._api:
                return self._api[key]
        answer = self._ask(region, use)
        with self._lock:
            self._api[key] = answer
        return answer

    def _ask(self, region: str, use: str) -> dict[str, tuple[float, str]] | None:
        request: dict[str, Any] = {
            "ServiceCode": "AmazonSageMaker",
            "FormatVersion": "aws_v1",
            "Filters": [
                {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
                {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
                {"Type": "TERM_MATCH", "Field": "platoinstancetype", "Value": USES[use]},
            ],
            "MaxResults": 100,
        }
        items: list[str] = []
        try:
            for _ in range(API_PAGES):
                page = self._client.get_products(**request)
                items += page.get("PriceList", [])
                if not page.get("NextToken"):
                    break
                request["NextToken"] = page["NextToken"]
        except (ClientError, BotoCoreError):
            return None  # no permission, throttled or unreachable: the bundled table answers instead (cached too)
        return parse_price_list(items, use)


def price_book_for(backend: Any) -> PriceBook:
    """The Price List API answers in us-east-1 for every region; the local engine has no such API."""
    if backend.kind != "aws":
        return PriceBook(None)
    return PriceBook(backend.client("pricing", "us-east-1"))


def table_from_offer(offer: dict[str, Any], source_url: str, regions: Iterable[str] | None = None) -> dict[str, Any]:
    """A prices.json built from AWS's SageMaker offer file (``.../offers/v1.0/aws/AmazonSageMaker/<version>/index.json``
    or one region's file), every figure pointing at that file and its ``publicationDate``."""
    wanted = set(regions) if regions else None
    date = str(offer.get("publicationDate", ""))[:10] or "undated"
    key = f"offer-{offer.get('version', date)}"
    entries = []
    on_demand = offer.get("terms", {}).get("OnDemand", {})
    for sku, product in offer.get("products", {}).items():
        attributes = product.get("attributes", {})
        use = next((u for u, plato in USES.items() if attributes.get("platoinstancetype") == plato), None)
        region = attributes.get("regionCode")
        if product.get("productFamily") != "ML Instance" or use is None or not region or (wanted and region not in wanted):
            continue
        if attributes.get("locationType", "AWS Region") != "AWS Region":
            continue  # Outposts and Local Zones share region codes with their region
        instance = _instance_of(attributes)
        usd = _on_demand_usd({"terms": {"OnDemand": on_demand.get(sku, {})}})
        if instance and usd is not None:
            entries.append({"region": region, "use": use, "instance_type": instance, "usd_per_hour": usd, "source": key,
                            "sku": sku})
    entries.sort(key=lambda e: (e["region"], e["use"], e["instance_type"]))
    return {
        "_about": "SageMaker on-demand USD per instance-hour, generated by `python -m sm_magics.workflow.pricing` from AWS's offer file.",
        "sources": {key: {"label": "AWS offer file", "title": "AWS Price List offer file for AmazonSageMaker", "where": source_url,
                          "stated_date": date}},
        "prices": entries,
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m sm_magics.workflow.pricing OFFER.json URL [REGION...]``: write prices.json from an offer file."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print("usage: python -m sm_magics.workflow.pricing OFFER.json SOURCE_URL [REGION ...]", file=sys.stderr)
        return 2
    table = table_from_offer(json.loads(Path(args[0]).read_text()), args[1], args[2:] or None)
    TABLE_PATH.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {len(table['prices'])} prices to {TABLE_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
