"""What is running in the account: endpoints and jobs in every region, and what they cost.

One listing behind every surface (the lab panel, ``%sm_endpoints``,
``%sm_cleanup``, ``sm-magics endpoints list``). It is shaped to be refreshed
every few seconds with hundreds of endpoints:

- tags come from the Resource Groups Tagging API, one call per 100 endpoints
  instead of one ``ListTags`` per endpoint (falling back to ``ListTags`` where
  the caller may not use ``tag:GetResources``);
- an endpoint's config name is re-read only when its ``LastModifiedTime``
  moves, and endpoint configs are immutable, so each is described once;
- regions are listed in parallel, and so are the cold-cache describes.

A warm refresh of N endpoints therefore costs ``2 * ceil(N / 100)`` calls per
region; ``Listing.calls`` counts them so the benchmark can say so.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ..constants import TTL_TAG
from ..i18n import _
from .errors import explain
from .idle import describe as describe_idle, idle_of
from .session import Backend

TAG_CREATED_BY = "sm_magics:created-by"
TAG_NOTEBOOK = "sm_magics:notebook"
TAG_EXPIRES = TTL_TAG  # the expiry the engine's TTL guard and the EventBridge schedules act on

REGIONS_TTL = 3600.0  # the account's enabled regions change rarely
MAX_WORKERS = 16


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def parse_expiry(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


@dataclass
class EndpointRow:
    """One endpoint as every surface shows it (JSON-ready through ``to_json``)."""

    name: str
    region: str
    arn: str
    status: str
    created_at: dt.datetime
    age_seconds: float
    instance_type: str = "?"
    instance_count: int = 0
    usd_per_hour: float | None = None
    usd_so_far: float | None = None
    notebook: str | None = None
    expires_at: dt.datetime | None = None
    ttl_seconds_left: float | None = None
    idle_seconds: float | None = None  # the idle guard: deleted after this long without an invocation (sm_magics:idle-after)
    config_name: str | None = None
    models: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def text_line(self) -> str:
        """The row on a terminal (``sm-magics endpoints list``, ``%sm_endpoints``)."""
        rate = f"${self.usd_per_hour:.3f}/h" if self.usd_per_hour is not None else _("price ?")
        so_far = f"${self.usd_so_far:.2f}" if self.usd_so_far is not None else "?"
        ttl = f" ttl {int(self.ttl_seconds_left // 60)}m" if self.ttl_seconds_left is not None else ""
        if self.idle_seconds:
            ttl += f" {describe_idle(self.idle_seconds)}"
        return (f"{self.name:<44} {self.status:<10} {self.region:<14} {self.instance_count} x {self.instance_type:<14} "
                f"{rate:>10} {so_far:>8} " + _("up {minutes}m").format(minutes=int(self.age_seconds // 60))
                + f"{ttl} {self.notebook or ''}")

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("created_at", "expires_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


@dataclass
class JobRow:
    kind: str  # "training" or "tuning"
    name: str
    region: str
    status: str
    created_at: dt.datetime
    elapsed_seconds: float
    secondary_status: str | None = None
    instance_type: str | None = None
    instance_count: int = 0
    usd_per_hour: float | None = None
    usd_so_far: float | None = None
    notebook: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        return out


@dataclass
class Listing:
    rows: list[Any]
    regions: list[str]
    updated_at: dt.datetime
    region_errors: list[dict[str, str]] = field(default_factory=list)
    calls: int = 0  # AWS API calls this listing made

    @property
    def usd_per_hour(self) -> float | None:
        known = [r.usd_per_hour for r in self.rows if getattr(r, "usd_per_hour", None) is not None]
        return sum(known) if known else None


class _Counter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def __call__(self, n: int = 1) -> None:
        with self._lock:
            self.value += n


class Fleet:
    """Endpoints and running jobs of one backend, across regions, with the caches described above."""

    def __init__(self, backend: Backend, *, workers: int = MAX_WORKERS, page_size: int = 100) -> None:
        self.backend = backend
        self.workers = workers
        self.page_size = page_size  # MaxResults of the list and tag pages (100 is both APIs' most)
        self._lock = threading.Lock()
        self._regions: tuple[float, list[str]] | None = None
        self._endpoint_configs: dict[tuple[str, str], tuple[dt.datetime, str]] = {}  # (region, name) -> (modified, config)
        self._configs: dict[tuple[str, str], dict[str, Any]] = {}  # (region, config) -> DescribeEndpointConfig
        self._models: dict[tuple[str, str], dict[str, Any]] = {}  # (region, model) -> DescribeModel (immutable too)
        self._job_details: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._no_tagging_api: set[str] = set()  # regions where tag:GetResources was refused

    # ------------------------------------------------------------------ regions

    def regions(self, wanted: str | Sequence[str] | None = None) -> list[str]:
        """``None``: the backend's region; ``"all"``: every region the account has enabled; or a list."""
        if wanted is None or wanted == [] or wanted == "":
            return [self.backend.region]
        if isinstance(wanted, str) and wanted != "all":
            wanted = [r.strip() for r in wanted.split(",") if r.strip()]
        if wanted != "all":
            return list(dict.fromkeys(wanted))
        with self._lock:
            cached = self._regions
        if cached and time.monotonic() - cached[0] < REGIONS_TTL:
            return list(cached[1])
        found = sorted(r["RegionName"] for r in self.backend.client("ec2").describe_regions()["Regions"])
        with self._lock:
            self._regions = (time.monotonic(), found)
        return list(found)

    def _each_region(self, regions: list[str], work: Callable[[str], list[Any]]) -> tuple[list[Any], list[dict[str, str]]]:
        """Run ``work`` per region; a region that fails is reported, unless all fail (then the first error is raised)."""
        rows: list[Any] = []
        errors: list[dict[str, str]] = []
        failures: list[ClientError] = []
        if len(regions) == 1:
            outcomes = [self._attempt(work, regions[0])]
        else:
            with ThreadPoolExecutor(min(self.workers, len(regions))) as pool:
                outcomes = list(pool.map(lambda r: self._attempt(work, r), regions))
        for region, (found, error) in zip(regions, outcomes):
            if error is not None:
                errors.append({"region": region, "message": explain(error, retrying=False)})
                failures.append(error)
            else:
                rows.extend(found)
        if failures and len(failures) == len(regions):
            raise failures[0]
        return rows, errors

    @staticmethod
    def _attempt(work: Callable[[str], list[Any]], region: str) -> tuple[list[Any], ClientError | None]:
        try:
            return work(region), None
        except ClientError as error:
            return [], error

    # ---------------------------------------------------------------- endpoints

    def endpoints(self, regions: str | Sequence[str] | None = None, *, now: dt.datetime | None = None) -> Listing:
        """Live endpoints with cost, most expensive first (unknown prices last, newest first among equals)."""
        counter = _Counter()
        region_list = self.regions(regions)
        now = now or now_utc()
        rows, errors = self._each_region(region_list, lambda region: self._region_endpoints(region, counter, now))
        rows.sort(key=lambda r: (r.usd_per_hour is None, -(r.usd_per_hour or 0.0), -r.created_at.timestamp()))
        return Listing(rows, region_list, now, errors, counter.value)

    def _region_endpoints(self, region: str, count: _Counter, now: dt.datetime) -> list[EndpointRow]:
        sagemaker = self.backend.client("sagemaker", region)
        summaries: list[dict[str, Any]] = []
        for page in sagemaker.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": self.page_size}):
            count()
            summaries.extend(page["Endpoints"])
        if not summaries:
            self._forget_region(region, set())
            return []
        tags = self._endpoint_tags(region, [s["EndpointArn"] for s in summaries], count)
        self._forget_region(region, {s["EndpointName"] for s in summaries})
        self._fill_configs(region, summaries, count)
        return [self._row(region, s, tags.get(s["EndpointArn"], {}), now) for s in summaries]

    def _endpoint_tags(self, region: str, arns: list[str], count: _Counter) -> dict[str, dict[str, str]]:
        if region not in self._no_tagging_api:
            try:
                return self._tags_by_tagging_api(region, count)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException"):
                    raise
                self._no_tagging_api.add(region)
        sagemaker = self.backend.client("sagemaker", region)

        def tags_of(arn: str) -> tuple[str, dict[str, str]]:
            count()
            try:
                listed = sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
            except ClientError:
                listed = []  # deleted between the list and now: its row says so through its status
            return arn, {t["Key"]: t["Value"] for t in listed}

        return dict(self._parallel(tags_of, arns))

    def _tags_by_tagging_api(self, region: str, count: _Counter) -> dict[str, dict[str, str]]:
        tagging = self.backend.client("resourcegroupstaggingapi", region)
        found: dict[str, dict[str, str]] = {}
        for page in tagging.get_paginator("get_resources").paginate(ResourceTypeFilters=["sagemaker:endpoint"], ResourcesPerPage=self.page_size):
            count()
            for mapping in page["ResourceTagMappingList"]:
                found[mapping["ResourceARN"]] = {t["Key"]: t["Value"] for t in mapping.get("Tags", [])}
        return found

    def _fill_configs(self, region: str, summaries: list[dict[str, Any]], count: _Counter) -> None:
        sagemaker = self.backend.client("sagemaker", region)
        stale = [s for s in summaries if self._endpoint_configs.get((region, s["EndpointName"]), (None,))[0] != s["LastModifiedTime"]]

        def describe(summary: dict[str, Any]) -> None:
            name = summary["EndpointName"]
            try:
                count()
                config_name = sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"]
                if (region, config_name) not in self._configs:
                    count()
                    self._configs[(region, config_name)] = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
            except ClientError:
                return  # gone or config deleted under it: the row shows what is known
            self._endpoint_configs[(region, name)] = (summary["LastModifiedTime"], config_name)

        list(self._parallel(describe, stale))

    def _parallel(self, work: Callable[[Any], Any], items: list[Any]) -> Iterable[Any]:
        if len(items) <= 2:
            return [work(item) for item in items]
        with ThreadPoolExecutor(min(self.workers, len(items))) as pool:
            return list(pool.map(work, items))

    def _forget_region(self, region: str, alive: set[str]) -> None:
        for key in [k for k in self._endpoint_configs if k[0] == region and k[1] not in alive]:
            self._endpoint_configs.pop(key, None)

    def forget(self, region: str, name: str) -> None:
        """Drop what is cached about an endpoint (after deleting or updating it here)."""
        self._endpoint_configs.pop((region, name), None)

    def _row(self, region: str, summary: dict[str, Any], tags: dict[str, str], now: dt.datetime) -> EndpointRow:
        created = summary["CreationTime"]
        row = EndpointRow(
            name=summary["EndpointName"], region=region, arn=summary["EndpointArn"], status=summary["EndpointStatus"],
            created_at=created, age_seconds=max(0.0, (now - created).total_seconds()), tags=tags,
            notebook=tags.get(TAG_NOTEBOOK) or None,
        )
        row.idle_seconds = idle_of(tags)
        expires = parse_expiry(tags.get(TAG_EXPIRES))
        if expires is not None:
            row.expires_at = expires
            row.ttl_seconds_left = (expires - now).total_seconds()
        cached = self._endpoint_configs.get((region, row.name))
        config = self._configs.get((region, cached[1])) if cached else None
        if config is None:
            row.error = _("its endpoint config could not be read")
            return row
        variants = config["ProductionVariants"]
        row.config_name = config["EndpointConfigName"]
        row.models = [v["ModelName"] for v in variants]
        row.instance_type = variants[0].get("InstanceType", "serverless")
        row.instance_count = sum(v.get("InitialInstanceCount", 0) for v in variants)
        price = self.backend.prices.hourly(row.instance_type, region) if row.instance_count else None
        if price is not None:
            row.usd_per_hour = price.usd_per_hour * row.instance_count
            row.usd_so_far = price.cost(row.age_seconds, row.instance_count)
        return row

    def endpoint(self, region: str, name: str) -> dict[str, Any]:
        """Everything about one endpoint: its row, config, models and tags (what a delete would remove)."""
        sagemaker = self.backend.client("sagemaker", region)
        described = sagemaker.describe_endpoint(EndpointName=name)
        config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        self._configs[(region, config["EndpointConfigName"])] = config
        self._endpoint_configs[(region, name)] = (described["LastModifiedTime"], config["EndpointConfigName"])
        models = []
        for variant in config["ProductionVariants"]:
            try:
                models.append(sagemaker.describe_model(ModelName=variant["ModelName"]))
            except ClientError as error:
                models.append({"ModelName": variant["ModelName"], "Error": explain(error, retrying=False)})
        tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=described["EndpointArn"]).get("Tags", [])}
        row = self._row(region, described, tags, now_utc())
        return {"endpoint": row, "config": config, "models": models, "tags": tags}

    # ------------------------------------------------------------------ sharing

    def usage(self, region: str, *, artifacts: bool = False) -> "RegionUsage":
        """Who uses what in a region, so a delete removes only what nothing else still needs.

        Every endpoint's config (as the listing reads it), every endpoint config's models, and
        with ``artifacts`` every model's ModelDataUrl. Configs and models are immutable, so each
        is described once per process; a warm call costs the list pages only.
        """
        sagemaker = self.backend.client("sagemaker", region)
        count = _Counter()
        endpoints: list[dict[str, Any]] = []
        for page in sagemaker.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": self.page_size}):
            endpoints.extend(page["Endpoints"])
        self._fill_configs(region, endpoints, count)
        config_names: list[str] = []
        for page in sagemaker.get_paginator("list_endpoint_configs").paginate(PaginationConfig={"PageSize": self.page_size}):
            config_names.extend(c["EndpointConfigName"] for c in page["EndpointConfigs"])

        def once(cache: dict[tuple[str, str], dict[str, Any]], describe: Callable[[str], dict[str, Any]]) -> Callable[[str], Any]:
            """Describe each immutable resource once per process; one deleted meanwhile is None."""
            def lookup(name: str) -> tuple[str, dict[str, Any] | None]:
                if (region, name) not in cache:
                    try:
                        cache[(region, name)] = describe(name)
                    except ClientError:
                        return name, None
                return name, cache[(region, name)]
            return lookup

        config = once(self._configs, lambda name: sagemaker.describe_endpoint_config(EndpointConfigName=name))

        usage = RegionUsage()
        for summary in endpoints:
            cached = self._endpoint_configs.get((region, summary["EndpointName"]))
            if cached:
                usage.config_users.setdefault(cached[1], []).append(summary["EndpointName"])
        for name, described in self._parallel(config, config_names):
            if described is not None:
                for variant in described["ProductionVariants"]:
                    usage.model_users.setdefault(variant["ModelName"], []).append(name)
        if artifacts:
            model_names: list[str] = []
            for page in sagemaker.get_paginator("list_models").paginate(PaginationConfig={"PageSize": self.page_size}):
                model_names.extend(m["ModelName"] for m in page["Models"])

            model = once(self._models, lambda name: sagemaker.describe_model(ModelName=name))
            for name, described in self._parallel(model, model_names):
                for url in model_artifacts(described or {}):
                    usage.artifact_users.setdefault(url, []).append(name)
        return usage

    # --------------------------------------------------------------------- jobs

    def jobs(self, regions: str | Sequence[str] | None = None, *, now: dt.datetime | None = None) -> Listing:
        """Training and tuning jobs still running (or stopping), longest-running first."""
        counter = _Counter()
        region_list = self.regions(regions)
        now = now or now_utc()
        rows, errors = self._each_region(region_list, lambda region: self._region_jobs(region, counter, now))
        rows.sort(key=lambda r: r.created_at)
        return Listing(rows, region_list, now, errors, counter.value)

    def _region_jobs(self, region: str, count: _Counter, now: dt.datetime) -> list[JobRow]:
        sagemaker = self.backend.client("sagemaker", region)
        rows: list[JobRow] = []
        for status in ("InProgress", "Stopping"):
            for page in sagemaker.get_paginator("list_training_jobs").paginate(StatusEquals=status):
                count()
                rows += [self._training_row(region, s, count, now) for s in page["TrainingJobSummaries"]]
            for page in sagemaker.get_paginator("list_hyper_parameter_tuning_jobs").paginate(StatusEquals=status):
                count()
                for summary in page["HyperParameterTuningJobSummaries"]:
                    created = summary["CreationTime"]
                    rows.append(JobRow("tuning", summary["HyperParameterTuningJobName"], region, summary["HyperParameterTuningJobStatus"],
                                       created, max(0.0, (now - created).total_seconds()),
                                       secondary_status=self._tuning_progress(summary)))
        return rows

    @staticmethod
    def _tuning_progress(summary: dict[str, Any]) -> str:
        counters = summary.get("TrainingJobStatusCounters", {})
        done = counters.get("Completed", 0) + counters.get("Stopped", 0)
        failed = counters.get("NonRetryableError", 0) + counters.get("RetryableError", 0)
        return (_("{done} done, {running} running").format(done=done, running=counters.get("InProgress", 0))
                + (_(", {failed} failed").format(failed=failed) if failed else ""))

    def _training_row(self, region: str, summary: dict[str, Any], count: _Counter, now: dt.datetime) -> JobRow:
        name = summary["TrainingJobName"]
        created = summary["CreationTime"]
        key = (region, "training", name)
        if key not in self._job_details:
            sagemaker = self.backend.client("sagemaker", region)
            count(2)
            try:
                described = sagemaker.describe_training_job(TrainingJobName=name)
                tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=described["TrainingJobArn"]).get("Tags", [])}
                self._job_details[key] = {"ResourceConfig": described.get("ResourceConfig", {}), "Tags": tags,
                                          "SecondaryStatus": described.get("SecondaryStatus")}
            except ClientError:
                self._job_details[key] = {"ResourceConfig": {}, "Tags": {}}
        detail = self._job_details[key]
        resources = detail["ResourceConfig"]
        row = JobRow("training", name, region, summary["TrainingJobStatus"], created, max(0.0, (now - created).total_seconds()),
                     secondary_status=summary.get("SecondaryStatus") or detail.get("SecondaryStatus"),
                     instance_type=resources.get("InstanceType"), instance_count=resources.get("InstanceCount", 0),
                     notebook=detail["Tags"].get(TAG_NOTEBOOK))
        if row.instance_type and row.instance_count:
            price = self.backend.prices.hourly(row.instance_type, region, use="Training")
            if price is not None:
                row.usd_per_hour = price.usd_per_hour * row.instance_count
                row.usd_so_far = price.cost(row.elapsed_seconds, row.instance_count)
        return row

    def stop_job(self, region: str, kind: str, name: str) -> None:
        sagemaker = self.backend.client("sagemaker", region)
        if kind == "training":
            sagemaker.stop_training_job(TrainingJobName=name)
        elif kind == "tuning":
            sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        else:
            raise ValueError(_("unknown job kind '{kind}': use training or tuning").format(kind=kind))



@dataclass
class RegionUsage:
    """Reverse references in one region: what uses each endpoint config, model and model artifact."""

    config_users: dict[str, list[str]] = field(default_factory=dict)  # endpoint config -> endpoints on it
    model_users: dict[str, list[str]] = field(default_factory=dict)  # model -> endpoint configs naming it
    artifact_users: dict[str, list[str]] = field(default_factory=dict)  # s3:// URL -> models loading it

    def other(self, users: dict[str, list[str]], item: str, leaving: set[str]) -> list[str]:
        """Who still uses ``item`` once everything in ``leaving`` is gone."""
        return [user for user in users.get(item, []) if user not in leaving]


def model_artifacts(model: dict[str, Any]) -> list[str]:
    """The model data URLs (``s3://``) of a DescribeModel answer, its primary container and any others."""
    containers = [model.get("PrimaryContainer") or {}] + list(model.get("Containers") or [])
    return [c["ModelDataUrl"] for c in containers if str(c.get("ModelDataUrl", "")).startswith("s3://")]


def fleet_of(backend: Backend) -> Fleet:
    """The backend's one Fleet, so its caches serve every surface in this process."""
    if backend._fleet is None:
        backend._fleet = Fleet(backend)
    return backend._fleet
