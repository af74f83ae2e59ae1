"""What an instance costs per hour: the AWS Pricing API when it answers, else a bundled table.

The bundled table (``prices.json``) holds SageMaker on-demand real-time
inference prices for us-east-1 only, as listed on the AWS SageMaker pricing
page and cross-checked against several public projects' tables (2024-2025);
its own header says so. Prices elsewhere and newer prices come from the
Pricing API (``pricing:GetProducts``, AmazonSageMaker offer, instance type
``<type>-Hosting`` or ``-Training``), answered once per (type, region, use)
and cached. Locally nothing is billed: the figures say what AWS would charge.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


@dataclass(frozen=True)
class Price:
    usd_per_hour: float
    source: str  # "pricing-api" or "bundled table (us-east-1, <date>)"

    def cost(self, seconds: float, count: int = 1) -> float:
        return self.usd_per_hour * count * max(seconds, 0.0) / 3600.0


@functools.lru_cache(maxsize=1)
def bundled() -> dict[str, Any]:
    return json.loads(Path(__file__).with_name("prices.json").read_text())


def bundled_price(instance_type: str, region: str) -> Price | None:
    table = bundled()
    if region != table["region"]:
        return None
    value = table["hosting_usd_per_hour"].get(instance_type)
    return Price(value, f"bundled table ({table['region']}, {table['as_of']})") if value is not None else None


def _parse_price_list(price_list: list[str]) -> float | None:
    for item in price_list:
        product = json.loads(item)
        for term in product.get("terms", {}).get("OnDemand", {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                usd = dimension.get("pricePerUnit", {}).get("USD")
                if usd is not None and float(usd) > 0:
                    return float(usd)
    return None


class PriceBook:
    """Looks prices up once per (instance type, region, use) and remembers them."""

    def __init__(self, pricing_client: Any | None) -> None:
        self._client = pricing_client
        self._cache: dict[tuple[str, str, str], Price | None] = {}
        self._lock = threading.Lock()

    def hourly(self, instance_type: str, region: str, use: str = "Hosting") -> Price | None:
        key = (instance_type, region, use)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        price = self._from_api(instance_type, region, use) or (bundled_price(instance_type, region) if use == "Hosting" else None)
        with self._lock:
            self._cache[key] = price
        return price

    def _from_api(self, instance_type: str, region: str, use: str) -> Price | None:
        if self._client is None:
            return None
        try:
            answer = self._client.get_products(
                ServiceCode="AmazonSageMaker",
                Filters=[
                    {"Type": "TERM_MATCH", "Field": "instanceType", "Value": f"{instance_type}-{use}"},
                    {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
                ],
                MaxResults=10,
            )
        except (ClientError, BotoCoreError):
            return None  # no permission, throttled or unreachable: the bundled table answers instead
        usd = _parse_price_list(answer.get("PriceList", []))
        return Price(usd, "pricing-api") if usd is not None else None


def price_book_for(backend: Any) -> PriceBook:
    """The Pricing API lives in us-east-1 (and a few others); the local engine has none."""
    if backend.kind != "aws":
        return PriceBook(None)
    return PriceBook(backend.client("pricing", "us-east-1"))
