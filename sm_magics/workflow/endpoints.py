"""Endpoints: deploy a trained model, predict with it, and delete everything it is made of.

One piece of logic behind every surface (magics, CLI, lab panel): listing
reads the endpoints of the chosen regions with their tags, and deleting
removes the endpoint, its endpoint config and its model(s), in the order that
never leaves a dangling reference.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from botocore.exceptions import ClientError

from . import algorithms
from .data import as_matrix
from .jobs import Handle
from .session import Backend

MAX_PAYLOAD = 5 * 1024 * 1024  # under SageMaker Runtime's 6 MB, leaving room for encoding overhead
TAG_CREATED_BY = "sm_magics:created-by"
TAG_NOTEBOOK = "sm_magics:notebook"
TAG_EXPIRES = "sm_magics:expires-at"


def _gone(error: ClientError) -> bool:
    message = error.response.get("Error", {}).get("Message", "")
    return "Could not find" in message or error.response.get("Error", {}).get("Code") in ("ResourceNotFound", "ValidationException") and "not found" in message.lower()


@dataclass
class DeletionReport:
    endpoint: str
    deleted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.endpoint}: deleted {', '.join(self.deleted) or 'nothing'}"
        return text + (f"; errors: {'; '.join(self.errors)}" if self.errors else "")


def delete_endpoint_cascade(backend: Backend, name: str, *, keep_model: bool = False, region: str | None = None) -> DeletionReport:
    """Endpoint, then its endpoint config, then its model(s); already-gone parts are not errors."""
    sagemaker = backend.client("sagemaker", region)
    report = DeletionReport(name)
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
    except ClientError as error:
        if _gone(error):
            report.errors.append(f"endpoint {name} does not exist")
            return report
        raise
    config_name = endpoint["EndpointConfigName"]
    models: list[str] = []
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        models = [v["ModelName"] for v in config["ProductionVariants"]]
    except ClientError as error:
        if not _gone(error):
            report.errors.append(f"endpoint config {config_name}: {error.response['Error']['Message']}")
    steps = [("endpoint", lambda: sagemaker.delete_endpoint(EndpointName=name))]
    steps.append(("endpoint config " + config_name, lambda: sagemaker.delete_endpoint_config(EndpointConfigName=config_name)))
    if not keep_model:
        steps += [(f"model {m}", lambda m=m: sagemaker.delete_model(ModelName=m)) for m in models]
    for label, step in steps:
        try:
            step()
            report.deleted.append(label if label != "endpoint" else f"endpoint {name}")
        except ClientError as error:
            if not _gone(error):
                report.errors.append(f"{label}: {error.response['Error']['Message']}")
    return report


class Endpoint(Handle):
    """A live endpoint: status as it comes up, and the cost it is running up."""

    kind = "endpoint"
    terminal = ("InService", "Failed", "Deleted")

    def __init__(self, backend: Backend, name: str, algorithm: str | None = None, instance_type: str = "", instance_count: int = 1) -> None:
        super().__init__(backend, name)
        self.algorithm = algorithm
        self.instance_type = instance_type
        self.instance_count = instance_count
        self.expires_at: dt.datetime | None = None
        self.price: Any = None  # pricing.Price once known

    @property
    def cost_so_far(self) -> float | None:
        created = self.description.get("CreationTime")
        if self.price is None or created is None:
            return None
        return self.price.cost((dt.datetime.now(dt.timezone.utc) - created).total_seconds(), self.instance_count)

    def refresh(self) -> None:
        if self.price is None and self.instance_type:
            self.price = self.backend.prices.hourly(self.instance_type, self.backend.region)
        sagemaker = self.backend.client("sagemaker")
        self.describe_calls += 1
        try:
            self.description = sagemaker.describe_endpoint(EndpointName=self.name)
        except ClientError as error:
            if _gone(error):
                self.status = "Deleted"
                return
            raise
        self.status = self.description["EndpointStatus"]

    @property
    def info(self) -> algorithms.AlgorithmInfo | None:
        return algorithms.ALGORITHMS.get(self.algorithm or "")

    def predict(self, data: Any, *, content_type: str = "text/csv", accept: str | None = None) -> dict[str, np.ndarray]:
        """Score rows (array, DataFrame or list); the answer as named numpy arrays, e.g. ``closest_cluster``."""
        self.wait()
        if self.status != "InService":
            raise RuntimeError(f"endpoint {self.name} is {self.status}; it cannot predict")
        matrix = as_matrix(data if np.ndim(data) != 1 else [data], "predict input")
        info = self.info or algorithms.ALGORITHMS["kmeans"]
        accept = accept or info.accept
        runtime = self.backend.client("sagemaker-runtime")
        rows = [",".join(f"{v:.9g}" for v in row) for row in matrix]
        parts: list[dict[str, np.ndarray]] = []
        chunk: list[str] = []
        size = 0
        for row in rows + [None]:  # type: ignore[list-item]
            if row is None or (chunk and size + len(row) + 1 > MAX_PAYLOAD):
                answer = runtime.invoke_endpoint(EndpointName=self.name, ContentType=content_type, Accept=accept, Body="\n".join(chunk))
                parts.append(algorithms.parse_predictions(info, answer["Body"].read(), answer["ContentType"]))
                chunk, size = [], 0
            if row is not None:
                chunk.append(row)
                size += len(row) + 1
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def delete(self, keep_model: bool = False) -> DeletionReport:
        report = delete_endpoint_cascade(self.backend, self.name, keep_model=keep_model)
        self.mark_deleted()
        return report

    def mark_deleted(self) -> None:
        """Deleted by someone (a magic, the CLI): the views stop counting cost and say so."""
        self.status = "Deleted"
        self._changed()

    def summary(self) -> str:
        text = f"endpoint {self.name}: {self.status} ({self.instance_count} x {self.instance_type})"
        if self.price is not None:
            text += f", ${self.price.usd_per_hour * self.instance_count:.3f}/h"
        return text


def deploy(
    backend: Backend,
    model_artifact: str,
    algorithm: str,
    *,
    name: str | None = None,
    instance_type: str = "ml.m5.large",
    instance_count: int = 1,
    tags: list[dict[str, str]] | None = None,
    role: str | None = None,
) -> Endpoint:
    """Model + endpoint config + endpoint; if a later step fails, the earlier ones are removed again."""
    sagemaker = backend.client("sagemaker")
    name = name or f"{algorithms.lookup(algorithm).name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    image = algorithms.image_uri(algorithm, backend.region)
    role = role or default_role(backend)
    tags = tags or []
    created: list[tuple[str, Any]] = []
    try:
        sagemaker.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": image, "ModelDataUrl": model_artifact}, Tags=tags)
        created.append(("model", lambda: sagemaker.delete_model(ModelName=name)))
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": instance_count,
                                 "InstanceType": instance_type, "InitialVariantWeight": 1.0}],
            Tags=tags,
        )
        created.append(("config", lambda: sagemaker.delete_endpoint_config(EndpointConfigName=name)))
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)
    except Exception:
        for _, undo in reversed(created):
            try:
                undo()
            except ClientError:
                pass
        raise
    endpoint = Endpoint(backend, name, algorithms.lookup(algorithm).name, instance_type, instance_count)
    for tag in tags:
        if tag["Key"] == TAG_EXPIRES:
            endpoint.expires_at = dt.datetime.fromisoformat(tag["Value"])
    endpoint.start_polling()
    return endpoint


def default_role(backend: Backend) -> str:
    """The execution role: the engine's, or the role the notebook itself runs as on AWS."""
    if backend.kind == "local":
        from ..local import settings

        return settings.ROLE_ARN
    arn = backend.client("sts").get_caller_identity()["Arn"]
    if ":assumed-role/" in arn:
        account = arn.split(":")[4]
        role = arn.split(":assumed-role/")[1].split("/")[0]
        return f"arn:aws:iam::{account}:role/{role}"
    raise ValueError(f"your AWS identity {arn} is not a role; pass --role with a SageMaker execution role ARN")


def list_endpoints(backend: Backend, regions: list[str] | None = None) -> list[dict[str, Any]]:
    """Endpoints of the given regions (default: the backend's), with their tags, newest first."""
    rows = []
    for region in regions or [backend.region]:
        sagemaker = backend.client("sagemaker", region)
        for page in sagemaker.get_paginator("list_endpoints").paginate():
            for summary in page["Endpoints"]:
                tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=summary["EndpointArn"]).get("Tags", [])}
                rows.append({**summary, "Region": region, "Tags": tags})
    rows.sort(key=lambda r: r["CreationTime"], reverse=True)
    return rows


def with_costs(backend: Backend, rows: list[dict[str, Any]], now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Add instance type x count (from each endpoint's config), $/h, uptime, cost so far and TTL left.

    Sorted by cost per hour, the most expensive first: what a user cleaning up wants to see first.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    out = []
    for row in rows:
        sagemaker = backend.client("sagemaker", row["Region"])
        row = dict(row)
        try:
            endpoint = sagemaker.describe_endpoint(EndpointName=row["EndpointName"])
            config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
            variant = config["ProductionVariants"][0]
            row["InstanceType"] = variant.get("InstanceType", "serverless")
            row["InstanceCount"] = sum(v.get("InitialInstanceCount", 0) for v in config["ProductionVariants"])
        except ClientError as error:
            row["Error"] = error.response["Error"]["Message"]
            row.update(InstanceType="?", InstanceCount=0)
        price = backend.prices.hourly(row["InstanceType"], row["Region"]) if row["InstanceCount"] else None
        uptime = (now - row["CreationTime"]).total_seconds()
        row["UptimeSeconds"] = uptime
        row["UsdPerHour"] = price.usd_per_hour * row["InstanceCount"] if price else None
        row["UsdSoFar"] = price.cost(uptime, row["InstanceCount"]) if price else None
        expires = row["Tags"].get(TAG_EXPIRES)
        row["TtlSecondsLeft"] = (dt.datetime.fromisoformat(expires) - now).total_seconds() if expires else None
        out.append(row)
    out.sort(key=lambda r: (r["UsdPerHour"] is None, -(r["UsdPerHour"] or 0.0)))
    return out


def _json_default(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


def dumps(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=_json_default, indent=1)
