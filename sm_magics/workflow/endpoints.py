"""Endpoints: deploy a trained model, predict with it, and delete everything it is made of.

One piece of logic behind every surface (magics, CLI, lab panel): deleting
removes the endpoint, its endpoint config and its model(s), in the order that
never leaves a dangling reference (listing lives in ``fleet.py``).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from ..constants import ROLE_ARN
from ..formats import csv_text
from ..i18n import N_, _
from . import algorithms
from .data import DataError, as_matrix
from .fleet import TAG_CREATED_BY, TAG_EXPIRES, TAG_NOTEBOOK  # noqa: F401  (re-exported: the magics tag with them)
from .checks import check_instance_type, check_name
from .errors import SageMakerError, explain
from .jobs import Handle
from .predictions import Predictions
from .session import Backend

MAX_PAYLOAD = 5 * 1024 * 1024  # under SageMaker Runtime's 6 MB, leaving room for encoding overhead


def _gone(error: ClientError) -> bool:
    message = error.response.get("Error", {}).get("Message", "")
    return "Could not find" in message or error.response.get("Error", {}).get("Code") in ("ResourceNotFound", "ValidationException") and "not found" in message.lower()


# name -> view(data, predictions, **options): the result views an endpoint hands its answers to.
# sm_magics.widgets registers "gallery" (ClusterGallery) and "confusion" (ConfusionMatrix) on import.
RESULT_VIEWS: dict[str, Callable[..., Any]] = {}


def _result_view(kind: str) -> Callable[..., Any]:
    view = RESULT_VIEWS.get(kind)
    if view is None:
        raise RuntimeError(_("the {kind} view is drawn by sm_magics.widgets: run `import sm_magics.widgets` first (the magics do)").format(
            kind=kind))
    return view


@dataclass
class DeletionReport:
    endpoint: str
    region: str | None = None
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # parts something else still uses, and who
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {"name": self.endpoint, "region": self.region, "ok": self.ok, "deleted": self.deleted, "kept": self.kept,
                "errors": self.errors}

    def __str__(self) -> str:
        text = _("{endpoint}: deleted {parts}").format(endpoint=self.endpoint, parts=", ".join(self.deleted) or _("nothing"))
        text += _("; kept {parts}").format(parts="; ".join(self.kept)) if self.kept else ""
        return text + (_("; errors: {errors}").format(errors="; ".join(self.errors)) if self.errors else "")


@dataclass
class DeletionPlan:
    """What deleting an endpoint removes, and what it leaves because something else still uses it."""

    endpoint: str
    region: str
    schedules: list[str] = field(default_factory=list)  # Model Monitor schedules watching it: deleted first
    config: str | None = None  # None: gone already, or kept
    models: list[str] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)  # s3:// objects removed with delete_artifacts
    kept: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.endpoint, "region": self.region, "schedules": self.schedules, "config": self.config, "models": self.models,
                "artifacts": self.artifacts, "kept": self.kept, "errors": self.errors}


def plan_deletion(backend: Backend, name: str, *, region: str | None = None, keep_model: bool = False,
                  delete_artifacts: bool = False) -> DeletionPlan:
    """Read what the endpoint is made of and who else uses each part (``fleet.Fleet.usage``).

    An endpoint config another endpoint runs on, a model another endpoint config names, and a
    model artifact another model loads all stay: deleting them would break that other endpoint.
    Raises ClientError when the endpoint itself cannot be described.
    """
    from .fleet import fleet_of, model_artifacts

    region = region or backend.region
    sagemaker = backend.client("sagemaker", region)
    endpoint = sagemaker.describe_endpoint(EndpointName=name)
    plan = DeletionPlan(name, region)
    for page in sagemaker.get_paginator("list_monitoring_schedules").paginate(EndpointName=name):
        plan.schedules += [s["MonitoringScheduleName"] for s in page["MonitoringScheduleSummaries"]]
    config_name = endpoint["EndpointConfigName"]
    try:
        models = [v["ModelName"] for v in sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]]
    except ClientError as error:
        if not _gone(error):
            plan.errors.append(_("endpoint config {name}: {error}").format(name=config_name, error=explain(error, retrying=False)))
        return plan
    usage = fleet_of(backend).usage(region, artifacts=delete_artifacts and not keep_model)
    others = usage.other(usage.config_users, config_name, {name})
    if others:
        plan.kept.append(_("endpoint config {name} (endpoint {users} uses it)").format(name=config_name, users=", ".join(others)))
        return plan
    plan.config = config_name
    if keep_model:
        return plan
    for model in models:
        users = usage.other(usage.model_users, model, {config_name})
        if users:
            plan.kept.append(_("model {name} (endpoint config {users} uses it)").format(name=model, users=", ".join(users)))
        else:
            plan.models.append(model)
    if delete_artifacts:
        for model in plan.models:
            try:
                urls = model_artifacts(sagemaker.describe_model(ModelName=model))
            except ClientError:
                continue
            for url in urls:
                users = usage.other(usage.artifact_users, url, set(plan.models))
                if users:
                    plan.kept.append(_("{url} (model {users} loads it)").format(url=url, users=", ".join(users)))
                elif url not in plan.artifacts:
                    plan.artifacts.append(url)
    return plan


def delete_endpoint_cascade(backend: Backend, name: str, *, keep_model: bool = False, region: str | None = None,
                            delete_artifacts: bool = False) -> DeletionReport:
    """Endpoint, then its endpoint config, then its model(s) (and their S3 artifacts if asked).

    Parts already gone are not errors; parts another endpoint still uses are kept and said so
    (``plan_deletion``); a part that fails is reported and the rest still goes, since a
    half-deleted endpoint is worse than either state.
    """
    region = region or backend.region
    sagemaker = backend.client("sagemaker", region)
    report = DeletionReport(name, region)
    try:
        plan = plan_deletion(backend, name, region=region, keep_model=keep_model, delete_artifacts=delete_artifacts)
    except ClientError as error:
        report.errors.append(_("endpoint {name} does not exist (already deleted?)").format(name=name) if _gone(error)
                             else explain(error, retrying=False))
        return report
    report.kept, report.errors = list(plan.kept), list(plan.errors)
    # a monitoring schedule of a deleted endpoint would only fail from then on (SageMaker refuses to delete a watched one)
    steps = [(_("monitoring schedule {name}").format(name=s), lambda s=s: sagemaker.delete_monitoring_schedule(MonitoringScheduleName=s))
             for s in plan.schedules]
    steps.append((_("endpoint {name}").format(name=name), lambda: sagemaker.delete_endpoint(EndpointName=name)))
    first_essential = len(plan.schedules)
    if plan.config:
        steps.append((_("endpoint config {name}").format(name=plan.config),
                      lambda: sagemaker.delete_endpoint_config(EndpointConfigName=plan.config)))
    steps += [(_("model {name}").format(name=m), lambda m=m: sagemaker.delete_model(ModelName=m)) for m in plan.models]
    s3 = backend.client("s3", region) if plan.artifacts else None
    for url in plan.artifacts:
        bucket, _sep, key = url[len("s3://"):].partition("/")
        steps.append((url, lambda b=bucket, k=key: s3.delete_object(Bucket=b, Key=k)))
    for index, (label, step) in enumerate(steps):
        try:
            step()
            report.deleted.append(label)
        except ClientError as error:
            if index <= first_essential and not _gone(error):
                report.errors.append(f"{label}: {explain(error, retrying=False)}")
                return report  # the endpoint still runs: keep what it depends on
            if not _gone(error):
                report.errors.append(f"{label}: {explain(error, retrying=False)}")
    if backend.kind == "aws":
        from . import ttl

        try:
            ttl.unschedule(backend, region, name)
        except ClientError:
            pass  # a leftover one-time schedule fails harmlessly and deletes itself
        from . import idle

        try:
            idle.disarm(backend, region, name)
        except (ClientError, BotoCoreError):
            pass  # a leftover alarm sees no instance of a deleted endpoint report, so it never fires
    if backend._fleet is not None:
        backend._fleet.forget(region, name)
    return report


class Endpoint(Handle):
    """A live endpoint: status as it comes up, and the cost it is running up."""

    kind = N_("endpoint")
    terminal = ("InService", "Failed", "Deleted")
    final = ("Deleted",)  # an endpoint bills until it is gone, and may be deleted from anywhere: keep looking

    def __init__(self, backend: Backend, name: str, algorithm: str | None = None, instance_type: str = "", instance_count: int = 1) -> None:
        super().__init__(backend, name)
        self.algorithm = algorithm
        self.instance_type = instance_type
        self.instance_count = instance_count
        self.expires_at: dt.datetime | None = None
        self.idle_seconds: float | None = None  # the idle guard's limit (sm_magics:idle-after), if any
        self.warning: str | None = None  # e.g. the TTL could not be scheduled on AWS
        self.price: Any = None  # pricing.Price once known
        self.deleted_at: dt.datetime | None = None  # when this handle first saw it gone: the cost stops there
        self.feature_count: int | None = None  # features per row its model was trained on, when known

    @property
    def cost_so_far(self) -> float | None:
        """What it has cost from creation to now, or to its deletion: the final cost once Deleted."""
        created = self.description.get("CreationTime")
        if self.price is None or created is None:
            return None
        end = self.deleted_at or dt.datetime.now(dt.timezone.utc)
        return self.price.cost(max(0.0, (end - created).total_seconds()), self.instance_count)

    # Between describes of a live endpoint: ~51 an hour, so that a notebook left open all day with a
    # few endpoints stays far below DescribeEndpoint's throttling and costs nothing noticeable.
    WATCH_SECONDS = 70.0

    def watch_interval(self) -> float:
        """WATCH_SECONDS between describes, sooner when the TTL runs out before that."""
        if self.expires_at is not None:
            due = (self.expires_at - dt.datetime.now(dt.timezone.utc)).total_seconds()
            if due < self.WATCH_SECONDS:
                return max(2.0, due + 2.0)
        return self.WATCH_SECONDS

    def refresh(self) -> None:
        if self.price is None and self.instance_type:
            self.price = self.backend.prices.hourly(self.instance_type, self.backend.region)
        sagemaker = self.backend.client("sagemaker")
        self.describe_calls += 1
        try:
            self.description = sagemaker.describe_endpoint(EndpointName=self.name)
        except ClientError as error:
            if _gone(error):
                self._now_gone()
                return
            raise
        self.status = self.description["EndpointStatus"]

    def _now_gone(self) -> None:
        self.status = "Deleted"
        self.deleted_at = self.deleted_at or dt.datetime.now(dt.timezone.utc)

    @property
    def info(self) -> algorithms.AlgorithmInfo | None:
        return algorithms.ALGORITHMS.get(self.algorithm or "")

    def predict(self, data: Any, *, content_type: str = "text/csv", accept: str | None = None) -> Predictions:
        """Score rows (array, DataFrame or list); the answer as named numpy arrays, e.g. ``closest_cluster``.

        ``accept`` picks the wire format (JSON, JSON Lines, CSV, RecordIO-protobuf); the answer has the
        same arrays whichever travelled. ``.to_frame()`` makes it a DataFrame.
        """
        from .spark import is_spark_dataframe

        if is_spark_dataframe(data):
            return self._predict_spark(data, accept)
        self.wait()
        if self.status != "InService":
            raise SageMakerError(_("endpoint {name} is {status}; it cannot predict").format(name=self.name, status=self.status))
        matrix = as_matrix(data if np.ndim(data) != 1 else [data], _("predict input"))
        if self.feature_count is not None and matrix.shape[1] != self.feature_count:
            raise DataError(_("predict input has {features} features per row but the model behind {name} was "
                              "trained on {expected}; pass rows of {expected} values").format(
                                features=matrix.shape[1], name=self.name, expected=self.feature_count))
        info = self.info or algorithms.ALGORITHMS["kmeans"]
        accept = accept or info.accept
        runtime = self.backend.client("sagemaker-runtime")
        rows = csv_text.format_rows(matrix).decode("ascii").split("\n")[:-1]  # each cell as f"{v:.9g}"
        parts: list[Predictions] = []
        chunk: list[str] = []
        size = 0
        for row in rows + [None]:  # type: ignore[list-item]
            if row is None or (chunk and size + len(row) + 1 > MAX_PAYLOAD):
                answer = self._invoke(runtime, content_type, accept, "\n".join(chunk))
                parts.append(algorithms.parse_predictions(info, answer["Body"].read(), answer["ContentType"]))
                chunk, size = [], 0
            if row is not None:
                chunk.append(row)
                size += len(row) + 1
        return Predictions.concat(parts)

    def _predict_spark(self, frame: Any, accept: str | None) -> Any:
        """A Spark DataFrame: its rows with the answers' columns, each partition sent by its own executor.

        The frame is checked first (one aggregation); the output columns are learnt from one row answered
        here. The executors call the endpoint with the backend's credentials, as they write channels.
        """
        import functools

        from . import spark

        spark.inspect(frame, _("predict input"), labels="none")
        self.wait()
        if self.status != "InService":
            raise SageMakerError(_("endpoint {name} is {status}; it cannot predict").format(name=self.name, status=self.status))
        info = self.info or algorithms.ALGORITHMS["kmeans"]
        target = spark.S3Target.of(self.backend, "", "")  # only its credentials, region and endpoint URL are used
        answer = functools.partial(spark.invoke_answers, endpoint=self.name, target=target, accept=accept or info.accept,
                                   outputs=info.outputs, json_root=info.json_root, max_bytes=MAX_PAYLOAD)
        try:
            sample = answer(0, [frame.select(spark.FEATURES).first()])
        except ClientError as error:
            raise SageMakerError(_("endpoint {name} refused the request: {error}").format(
                name=self.name, error=explain(error, retrying=False))) from None
        return spark.attach(frame, answer, sample)

    def _invoke(self, runtime: Any, content_type: str, accept: str, body: str) -> dict[str, Any]:
        try:
            return runtime.invoke_endpoint(EndpointName=self.name, ContentType=content_type, Accept=accept, Body=body)
        except ClientError as error:
            message = error.response.get("Error", {}).get("Message", "")
            if "not found" in message.lower() or _gone(error):  # deleted elsewhere (panel, TTL, another kernel)
                self._now_gone()
                self._changed()
                raise SageMakerError(_("endpoint {name} no longer exists (deleted outside this kernel); deploy it again to predict").format(
                    name=self.name)) from None
            raise SageMakerError(_("endpoint {name} refused the request: {error}").format(
                name=self.name, error=explain(error, retrying=False))) from None

    # The result views, one call away from the predictor. This layer predicts and checks; drawing is
    # the widgets' (``RESULT_VIEWS``, which sm_magics.widgets fills when it is imported), so the
    # workflow stays usable without ipywidgets and never imports the views.

    def gallery(self, images: Any, *, labels: Any = None, **options: Any) -> Any:
        """Predict ``images`` on this k-means endpoint and show one panel per cluster (``ClusterGallery``'s options)."""
        if (self.algorithm or "kmeans") != "kmeans":
            raise ValueError(_("a cluster gallery needs a k-means endpoint; {name} hosts {algorithm}").format(
                name=self.name, algorithm=self.algorithm))
        view = _result_view("gallery")
        return view(images, self.predict(images), labels=labels, **options)

    def confusion(self, features: Any, y_true: Any, **options: Any) -> Any:
        """Predict ``features`` (Linear Learner / XGBoost) and compare with ``y_true`` (``ConfusionMatrix``'s options)."""
        view = _result_view("confusion")
        return view(y_true, self.predict(features), **options)

    def delete(self, keep_model: bool = False, delete_artifacts: bool = False) -> DeletionReport:
        report = delete_endpoint_cascade(self.backend, self.name, keep_model=keep_model, delete_artifacts=delete_artifacts)
        self.mark_deleted()
        return report

    def mark_deleted(self) -> None:
        """Deleted by someone (a magic, the CLI): the views stop counting cost and say so."""
        self._now_gone()
        self._changed()

    def summary(self) -> str:
        text = _("endpoint {name}: {status} ({count} x {instance_type})").format(
            name=self.name, status=self.status, count=self.instance_count, instance_type=self.instance_type)
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
    expires_at: dt.datetime | None = None,
    feature_count: int | None = None,
    idle_after: dt.timedelta | None = None,
) -> Endpoint:
    """Model + endpoint config + endpoint; if a later step fails, the earlier ones are removed again.

    With ``idle_after`` the endpoint carries the ``sm_magics:idle-after`` tag (the local engine acts
    on it) and, on AWS, gets its idle guard (``idle.arm``); a guard that cannot be made leaves the
    endpoint with ``Endpoint.warning``, as an expiry does.

    With ``expires_at`` the endpoint carries the expiry tag and, on AWS, gets
    its deletion schedules; if those cannot be made the endpoint stays and
    ``Endpoint.warning`` says why (deleting a working endpoint over a missing
    IAM role would lose the user's work).
    """
    if name is not None:
        check_name("endpoint", name)
    check_instance_type("hosting", instance_type)
    from . import idle

    idle_seconds = idle.check_idle(idle_after) if idle_after is not None else None
    sagemaker = backend.client("sagemaker")
    name = name or f"{algorithms.lookup(algorithm).name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    image = algorithms.image_uri(algorithm, backend.region)
    role = role or default_role(backend)
    tags = [t for t in (tags or []) if t["Key"] not in (TAG_EXPIRES, idle.IDLE_TAG)]
    if idle_seconds is not None:
        tags.append({"Key": idle.IDLE_TAG, "Value": str(idle_seconds)})
    if expires_at is not None:
        tags.append({"Key": TAG_EXPIRES, "Value": expires_at.astimezone(dt.timezone.utc).isoformat(timespec="seconds")})
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
        for _label, undo in reversed(created):
            try:
                undo()
            except ClientError:
                pass
        raise
    endpoint = Endpoint(backend, name, algorithms.lookup(algorithm).name, instance_type, instance_count)
    endpoint.price = backend.prices.hourly(instance_type, backend.region)  # known before the first view renders
    endpoint.expires_at = expires_at
    endpoint.feature_count = feature_count  # predict then refuses rows of another width in one line
    if expires_at is not None and backend.kind == "aws":
        from .ttl import TtlError, schedule_deletion

        try:
            schedule_deletion(backend, backend.region, name, expires_at)
        except TtlError as error:
            endpoint.warning = _("{error}; the expiry tag is set, but nothing will act on it").format(error=error)
    endpoint.idle_seconds = idle_seconds
    if idle_seconds is not None and backend.kind == "aws":
        try:
            idle.arm(backend, backend.region, name, idle_seconds, tags=[t for t in tags if t["Key"].startswith("sm_magics:")])
        except idle.IdleError as error:
            endpoint.warning = "; ".join(filter(None, [endpoint.warning, _("{error}; the idle tag is set, but nothing on AWS will act on it").format(
                error=error)]))
    endpoint.start_polling()
    return endpoint


def default_role(backend: Backend) -> str:
    """The execution role: the engine's, or the role the notebook itself runs as on AWS."""
    if backend.kind == "local":
        return ROLE_ARN
    arn = backend.client("sts").get_caller_identity()["Arn"]
    if ":assumed-role/" in arn:
        account = arn.split(":")[4]
        role = arn.split(":assumed-role/")[1].split("/")[0]
        return f"arn:aws:iam::{account}:role/{role}"
    raise ValueError(_("your AWS identity {arn} is not a role; pass --role with a SageMaker execution role ARN").format(arn=arn))

