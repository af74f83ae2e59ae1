"""SageMaker's control-plane state and lifecycles, one backend per region.

Plain Python, no HTTP: ``responses.py`` turns requests into calls here. Each
resource keeps its Describe* document (PascalCase, datetimes) as the source of
truth, so describing is a copy, listing is a projection, and persisting is a
JSON dump. Work that takes time (training, loading a model behind an endpoint)
happens elsewhere and reports back through ``on_training_event`` and the
hosting loader, which move the documents through SageMaker's real states.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .. import settings
from ..algorithms import KNOWN, algorithm_named, parse_image
from ..runtime.model_data import ModelDataError, parse_model_data_url
from .exceptions import ResourceInUse, ValidationException, already_exists, could_not_find

if TYPE_CHECKING:
    from ..engine import Engine


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def failure_reason(text: str) -> str:
    """FailureReason as the API carries it: at most 1024 characters."""
    return text if len(text) <= 1024 else text[:1021] + "..."


TTL_TAG = "sm_magics:expires-at"  # ISO 8601 time after which the engine deletes the endpoint


@dataclass
class TrainingJob:
    doc: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    metrics: dict[str, tuple[float, dt.datetime]] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.doc["TrainingJobStatus"]

    def transition(self, status: str, message: str, now: dt.datetime | None = None) -> None:
        now = now or utcnow()
        transitions = self.doc.setdefault("SecondaryStatusTransitions", [])
        if transitions and "EndTime" not in transitions[-1]:
            transitions[-1]["EndTime"] = now
        transitions.append({"Status": status, "StartTime": now, "StatusMessage": message})
        self.doc["SecondaryStatus"] = status
        self.doc["LastModifiedTime"] = now

    def finish(self, status: str, secondary: str, message: str, failure: str | None = None) -> None:
        now = utcnow()
        self.transition(secondary, message, now)
        self.doc["SecondaryStatusTransitions"][-1]["EndTime"] = now
        self.doc["TrainingJobStatus"] = status
        self.doc["TrainingEndTime"] = now
        start = self.doc.get("TrainingStartTime", self.doc["CreationTime"])
        seconds = max(1, int(round((now - start).total_seconds())))
        self.doc["TrainingTimeInSeconds"] = seconds
        # Spot or not: the engine cannot know what AWS's spot capacity would have cost, so it
        # reports no saving rather than invent one (the SDK then prints "savings: 0.0%").
        self.doc["BillableTimeInSeconds"] = seconds
        if failure:
            self.doc["FailureReason"] = failure_reason(failure)
        if self.metrics:
            self.doc["FinalMetricDataList"] = [
                {"MetricName": name, "Value": value, "Timestamp": stamp} for name, (value, stamp) in self.metrics.items()
            ]
        self.done.set()


@dataclass
class Endpoint:
    doc: dict[str, Any]
    variants: list[tuple[str, float, Any]] = field(default_factory=list)  # (name, weight, HostedModel)
    ready: threading.Event = field(default_factory=threading.Event)


class SageMakerBackend:
    """All SageMaker resources of one account in one region."""

    def __init__(self, region: str, engine: "Engine") -> None:
        self.region = region
        self.engine = engine
        self.lock = threading.RLock()
        self.training_jobs: dict[str, TrainingJob] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.endpoint_configs: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.tags: dict[str, list[dict[str, str]]] = {}
        from .monitoring import MonitoringService
        from .registry import RegistryService
        from .transform import TransformService
        from .tuning import TuningService

        self.tuning = TuningService(self)
        self.transforms = TransformService(self)
        self.registry = RegistryService(self)
        self.monitoring = MonitoringService(self)

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{settings.ACCOUNT_ID}:{kind}/{name.lower()}"

    # ------------------------------------------------------------ training jobs

    def create_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        job = self.start_training_job(request)
        job.done.wait(settings.SYNC_SECONDS)
        return {"TrainingJobArn": job.doc["TrainingJobArn"]}

    def start_training_job(self, request: dict[str, Any], tuning_job_arn: str | None = None) -> TrainingJob:
        """Validate, record and launch a training job; returns at once."""
        name = request["TrainingJobName"]
        arn = self.arn("training-job", name)
        algorithm_spec = dict(request.get("AlgorithmSpecification") or {})
        image = algorithm_spec.get("TrainingImage")
        if not image:
            raise ValidationException(
                "AlgorithmSpecification.TrainingImage is required: the local engine runs the built-in algorithms "
                f"({', '.join(KNOWN)}) by their image URI"
            )
        parsed = parse_image(image)
        if parsed is None:
            raise ValidationException(
                f"The local engine cannot run image '{image}'. It runs SageMaker's built-in algorithms "
                f"({', '.join(KNOWN)}); get their URIs with sagemaker.image_uris.retrieve(...)."
            )
        stopping = dict(request.get("StoppingCondition") or {"MaxRuntimeInSeconds": 86400})
        if request.get("EnableManagedSpotTraining"):
            wait = stopping.get("MaxWaitTimeInSeconds")
            if wait is None or wait < stopping.get("MaxRuntimeInSeconds", 86400):
                raise ValidationException(
                    "Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to MaxRuntimeInSeconds"
                )
        resources = dict(request.get("ResourceConfig") or {})
        if not resources.get("InstanceType") or not resources.get("InstanceCount"):
            raise ValidationException("ResourceConfig must name an InstanceType and an InstanceCount")
        channels = [self._channel_with_defaults(c) for c in request.get("InputDataConfig") or []]
        output = {"KmsKeyId": "", "CompressionType": "GZIP", **request["OutputDataConfig"]}
        model_uri = f"{output['S3OutputPath'].rstrip('/')}/{name}/output/model.tar.gz"
        algorithm_spec.setdefault("TrainingInputMode", "File")
        algorithm, version = parsed
        algorithm_spec.setdefault("MetricDefinitions", [dict(m) for m in algorithm_named(algorithm, version).metric_definitions])
        algorithm_spec.setdefault("EnableSageMakerMetricsTimeSeries", False)
        now = utcnow()
        doc: dict[str, Any] = {
            "TrainingJobName": name,
            "TrainingJobArn": arn,
            "ModelArtifacts": {"S3ModelArtifacts": model_uri},
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Starting",
            "HyperParameters": dict(request.get("HyperParameters") or {}),
            "AlgorithmSpecification": algorithm_spec,
            "RoleArn": request["RoleArn"],
            "InputDataConfig": channels,
            "OutputDataConfig": output,
            "ResourceConfig": {"VolumeSizeInGB": 30, **resources},
            "StoppingCondition": stopping,
            "CreationTime": now,
            "TrainingStartTime": now,
            "LastModifiedTime": now,
            "EnableNetworkIsolation": bool(request.get("EnableNetworkIsolation", False)),
            "EnableInterContainerTrafficEncryption": bool(request.get("EnableInterContainerTrafficEncryption", False)),
            "EnableManagedSpotTraining": bool(request.get("EnableManagedSpotTraining", False)),
        }
        for optional in ("VpcConfig", "CheckpointConfig", "DebugHookConfig", "ProfilerConfig", "Environment", "RetryStrategy"):
            if request.get(optional):
                doc[optional] = request[optional]
        if tuning_job_arn:
            doc["TuningJobArn"] = tuning_job_arn
        job = TrainingJob(doc)
        job.transition("Starting", "Launching requested ML instances")
        with self.lock:
            if name in self.training_jobs:
                raise ResourceInUse(
                    "Training job names must be unique within an AWS account and region, and a training job with "
                    f"this name already exists ({arn})"
                )
            self.training_jobs[name] = job
            self._set_tags(arn, request.get("Tags") or [])
        self.engine.logs.create_stream_group("/aws/sagemaker/TrainingJobs", self.region)
        self.engine.runner.start(
            {
                "job_name": name,
                "region": self.region,
                "algorithm": algorithm,
                "version": version,
                "hyperparameters": doc["HyperParameters"],
                "channels": [
                    {
                        "name": c["ChannelName"],
                        "s3_uri": c["DataSource"]["S3DataSource"]["S3Uri"],
                        "s3_data_type": c["DataSource"]["S3DataSource"].get("S3DataType", "S3Prefix"),
                        "distribution": c["DataSource"]["S3DataSource"].get("S3DataDistributionType", "FullyReplicated"),
                        "content_type": c.get("ContentType"),
                    }
                    for c in channels
                ],
                "instance_count": int(resources["InstanceCount"]),
                "model_uri": model_uri,
                "max_runtime": stopping.get("MaxRuntimeInSeconds"),
                "endpoint_url": self.engine.url,
                "credentials": (self.engine.credentials.access_key_id, self.engine.credentials.secret_access_key,
                                self.engine.credentials.session_token),
                "work_dir": str(self.engine.work_dir / name),
            },
            self.on_training_event,
        )
        self.engine.save_soon()
        return job

    @staticmethod
    def _channel_with_defaults(channel: dict[str, Any]) -> dict[str, Any]:
        channel = copy.deepcopy(channel)
        source = channel.get("DataSource", {}).get("S3DataSource")
        if source is None:
            raise ValidationException(
                f"Channel '{channel.get('ChannelName')}' has no DataSource.S3DataSource; the local engine reads channels from S3"
            )
        source.setdefault("S3DataDistributionType", "FullyReplicated")
        channel.setdefault("CompressionType", "None")
        channel.setdefault("RecordWrapperType", "None")
        return channel

    def on_training_event(self, name: str, event: tuple) -> None:
        """Apply what a training host reported (called from the runner's thread)."""
        if self.engine.stopping.is_set():
            return
        kind = event[0]
        with self.lock:
            job = self.training_jobs.get(name)
            if job is None:
                return
            if kind == "log":
                _, host, line = event
                epoch = int(job.doc["CreationTime"].timestamp())
                self.engine.logs.write("/aws/sagemaker/TrainingJobs", f"{name}/algo-{host}-{epoch}", [line], self.region)
                return
            if kind == "metric":
                job.metrics[event[1]] = (event[2], utcnow())
                return
            if job.status not in ("InProgress", "Stopping"):
                return
            if kind == "status":
                job.transition(event[1], event[2])
                if event[1] == "Downloading":
                    job.doc["TrainingStartTime"] = utcnow()
            elif kind == "completed":
                job.finish("Completed", "Completed", "Training job completed")
            elif kind == "failed":
                job.finish("Failed", "Failed", "Training job failed", failure=event[1])
            elif kind == "stopped":
                message = (
                    "Training job stopped" if event[1] == "Stopped" else "Job stopped because it exceeded MaxRuntimeInSeconds"
                )
                job.finish("Stopped", event[1], message)
        self.engine.save_soon()

    def _job(self, name: str) -> TrainingJob:
        job = self.training_jobs.get(name)
        if job is None:
            raise ValidationException("Requested resource not found.")
        return job

    def describe_training_job(self, name: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._job(name).doc)

    def stop_training_job(self, name: str) -> None:
        with self.lock:
            job = self._job(name)
            if job.status != "InProgress":
                raise ValidationException(f"The request was rejected because the training job is in status {job.status}.")
            job.doc["TrainingJobStatus"] = "Stopping"
            job.transition("Stopping", "Stopping the training job")
        if not self.engine.runner.stop(name):
            with self.lock:
                job.finish("Stopped", "Stopped", "Training job stopped")
        self.engine.save_soon()

    def list_training_jobs(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            docs = [job.doc for job in self.training_jobs.values()]
            page, token = _page(docs, request, "TrainingJobName", "TrainingJobStatus")
            summaries = [
                {key: doc[key] for key in ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime",
                                           "LastModifiedTime", "TrainingJobStatus", "SecondaryStatus") if key in doc}
                for doc in page
            ]
        return {"TrainingJobSummaries": copy.deepcopy(summaries), "NextToken": token}

    # ------------------------------------------------------------------ models

    def create_model(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ModelName"]
        arn = self.arn("model", name)
        containers = request.get("Containers") or []
        primary = request.get("PrimaryContainer") or (containers[0] if len(containers) == 1 else None)
        if primary is None:
            raise ValidationException(
                "Either PrimaryContainer or exactly one entry of Containers is required; the local engine hosts one container per model"
            )
        if primary.get("ModelPackageName"):
            primary = self.registry.container_for_model(primary)
        if not primary.get("Image"):
            raise ValidationException("The model's container needs an Image")
        if "ExecutionRoleArn" not in request:
            raise ValidationException("ExecutionRoleArn is required for a model whose container runs in SageMaker")
        if primary.get("ModelDataUrl"):
            try:
                parse_model_data_url(primary["ModelDataUrl"])
            except ModelDataError as exc:
                raise ValidationException(str(exc)) from None
        container = {"Mode": "SingleModel", **primary}
        container.setdefault("Environment", {})
        doc = {
            "ModelName": name,
            "PrimaryContainer": container,
            "ExecutionRoleArn": request["ExecutionRoleArn"],
            "CreationTime": utcnow(),
            "ModelArn": arn,
            "EnableNetworkIsolation": bool(request.get("EnableNetworkIsolation", False)),
        }
        if request.get("VpcConfig"):
            doc["VpcConfig"] = request["VpcConfig"]
        with self.lock:
            if name in self.models:
                raise already_exists("model", arn)
            self.models[name] = doc
            self._set_tags(arn, request.get("Tags") or [])
        self.engine.save_soon()
        return {"ModelArn": arn}

    def describe_model(self, name: str) -> dict[str, Any]:
        with self.lock:
            if name not in self.models:
                raise could_not_find("model", self.arn("model", name))
            return copy.deepcopy(self.models[name])

    def delete_model(self, name: str) -> None:
        with self.lock:
            if self.models.pop(name, None) is None:
                raise could_not_find("model", self.arn("model", name))
            self.tags.pop(self.arn("model", name), None)
        self.engine.save_soon()

    def list_models(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            page, token = _page(list(self.models.values()), request, "ModelName", None)
            return {"Models": [{k: d[k] for k in ("ModelName", "ModelArn", "CreationTime")} for d in page], "NextToken": token}

    # -------------------------------------------------------- endpoint configs

    def create_endpoint_config(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["EndpointConfigName"]
        arn = self.arn("endpoint-config", name)
        variants = []
        with self.lock:
            for variant in request["ProductionVariants"]:
                model = variant.get("ModelName")
                if model not in self.models:
                    raise could_not_find("model", self.arn("model", str(model)))
                if variant.get("ServerlessConfig") is None and not (variant.get("InstanceType") and variant.get("InitialInstanceCount")):
                    raise ValidationException(
                        f"Production variant '{variant['VariantName']}' needs InstanceType and InitialInstanceCount"
                    )
                variants.append({"InitialVariantWeight": 1.0, **variant})
            names = [v["VariantName"] for v in variants]
            if len(set(names)) != len(names):
                raise ValidationException("VariantName must be unique within an endpoint configuration")
            if name in self.endpoint_configs:
                raise already_exists("endpoint configuration", arn)
            doc = {"EndpointConfigName": name, "EndpointConfigArn": arn, "ProductionVariants": variants, "CreationTime": utcnow()}
            for optional in ("DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig"):
                if request.get(optional):
                    doc[optional] = request[optional]
            self.endpoint_configs[name] = doc
            self._set_tags(arn, request.get("Tags") or [])
        self.engine.save_soon()
        return {"EndpointConfigArn": arn}

    def describe_endpoint_config(self, name: str) -> dict[str, Any]:
        with self.lock:
            if name not in self.endpoint_configs:
                raise could_not_find("endpoint configuration", self.arn("endpoint-config", name))
            return copy.deepcopy(self.endpoint_configs[name])

    def delete_endpoint_config(self, name: str) -> None:
        with self.lock:
            if self.endpoint_configs.pop(name, None) is None:
                raise could_not_find("endpoint configuration", self.arn("endpoint-config", name))
            self.tags.pop(self.arn("endpoint-config", name), None)
        self.engine.save_soon()

    def list_endpoint_configs(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            page, token = _page(list(self.endpoint_configs.values()), request, "EndpointConfigName", None)
            keys = ("EndpointConfigName", "EndpointConfigArn", "CreationTime")
            return {"EndpointConfigs": [{k: d[k] for k in keys} for d in page], "NextToken": token}

    # --------------------------------------------------------------- endpoints

    def create_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["EndpointName"]
        arn = self.arn("endpoint", name)
        with self.lock:
            if name in self.endpoints:
                raise already_exists("endpoint", arn)
            config = self._config_for(request["EndpointConfigName"])
            now = utcnow()
            endpoint = Endpoint(
                {
                    "EndpointName": name,
                    "EndpointArn": arn,
                    "EndpointConfigName": config["EndpointConfigName"],
                    "EndpointStatus": "Creating",
                    "CreationTime": now,
                    "LastModifiedTime": now,
                }
            )
            self.endpoints[name] = endpoint
            self._set_tags(arn, request.get("Tags") or [])
        self._deploy(endpoint, config)
        endpoint.ready.wait(settings.SYNC_SECONDS)
        self.engine.save_soon()
        return {"EndpointArn": arn}

    def _config_for(self, config_name: str) -> dict[str, Any]:
        config = self.endpoint_configs.get(config_name)
        if config is None:
            raise could_not_find("endpoint configuration", self.arn("endpoint-config", config_name))
        return copy.deepcopy(config)

    def _deploy(self, endpoint: Endpoint, config: dict[str, Any]) -> None:
        """Load every variant's model in the background, then switch traffic to them at once."""
        models = {v["ModelName"]: copy.deepcopy(self.models.get(v["ModelName"])) for v in config["ProductionVariants"]}
        endpoint.ready.clear()

        def load() -> None:
            loaded, summaries, failure = [], [], None
            for variant in config["ProductionVariants"]:
                model = models[variant["ModelName"]]
                try:
                    if model is None:
                        raise RuntimeError(f"model {variant['ModelName']} was deleted before the endpoint could load it")
                    hosted = self.engine.hosting.load(model)
                except Exception as exc:  # any reason the model cannot serve ends the endpoint Failed
                    failure = f"Failed to deploy variant '{variant['VariantName']}': {exc}"
                    break
                loaded.append((variant["VariantName"], float(variant.get("InitialVariantWeight", 1.0)), hosted))
                image = model["PrimaryContainer"]["Image"]
                count = variant.get("InitialInstanceCount", 1)
                summaries.append(
                    {
                        "VariantName": variant["VariantName"],
                        "DeployedImages": [{"SpecifiedImage": image, "ResolvedImage": image, "ResolutionTime": utcnow()}],
                        "CurrentWeight": float(variant.get("InitialVariantWeight", 1.0)),
                        "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
                        "CurrentInstanceCount": count,
                        "DesiredInstanceCount": count,
                    }
                )
            with self.lock:
                if self.endpoints.get(endpoint.doc["EndpointName"]) is not endpoint:
                    endpoint.ready.set()
                    return  # deleted while loading
                doc = endpoint.doc
                doc["LastModifiedTime"] = utcnow()
                if failure is None:
                    endpoint.variants = loaded
                    doc.update(EndpointStatus="InService", EndpointConfigName=config["EndpointConfigName"], ProductionVariants=summaries)
                    doc.pop("FailureReason", None)
                    self.engine.logs.write(
                        f"/aws/sagemaker/Endpoints/{doc['EndpointName']}",
                        f"{config['ProductionVariants'][0]['VariantName']}/i-local",
                        [f"Loaded model(s) {', '.join(models)}; serving"],
                        self.region,
                    )
                elif doc["EndpointStatus"] == "Updating":
                    # a failed update leaves the previous deployment serving, as SageMaker rolls back
                    doc.update(EndpointStatus="InService", FailureReason=failure_reason(failure))
                else:
                    doc.update(EndpointStatus="Failed", FailureReason=failure_reason(failure))
            endpoint.ready.set()
            self.engine.save_soon()

        threading.Thread(target=load, daemon=True, name=f"deploy {endpoint.doc['EndpointName']}").start()

    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise could_not_find("endpoint", self.arn("endpoint", name))
        return endpoint

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._endpoint(name).doc)

    def update_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["EndpointName"]
        with self.lock:
            endpoint = self._endpoint(name)
            if endpoint.doc["EndpointStatus"] != "InService":
                raise ValidationException(f'Cannot update in-progress endpoint "{endpoint.doc["EndpointArn"]}".')
            config = self._config_for(request["EndpointConfigName"])
            endpoint.doc.update(EndpointStatus="Updating", LastModifiedTime=utcnow())
        self._deploy(endpoint, config)
        endpoint.ready.wait(settings.SYNC_SECONDS)
        self.engine.save_soon()
        return {"EndpointArn": endpoint.doc["EndpointArn"]}

    def delete_endpoint(self, name: str) -> None:
        with self.lock:
            endpoint = self._endpoint(name)
            schedules = self.monitoring.schedules_on(name)
            if schedules:
                raise ValidationException(
                    f'Cannot delete endpoint "{endpoint.doc["EndpointArn"]}" while monitoring schedule(s) '
                    f"{', '.join(schedules)} monitor it; delete them with DeleteMonitoringSchedule first."
                )
            del self.endpoints[name]
            self.tags.pop(endpoint.doc["EndpointArn"], None)
        self.engine.save_soon()

    def list_endpoints(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            docs = [e.doc for e in self.endpoints.values()]
            page, token = _page(docs, request, "EndpointName", "EndpointStatus")
            keys = ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")
            return {"Endpoints": copy.deepcopy([{k: d[k] for k in keys} for d in page]), "NextToken": token}

    def hosted_variant(self, name: str, target_variant: str | None) -> tuple[str, Any]:
        """The (variant name, model) that serves one invocation, by weight or by request."""
        with self.lock:
            endpoint = self.endpoints.get(name)
            if endpoint is None or not endpoint.variants or endpoint.doc["EndpointStatus"] not in ("InService", "Updating"):
                return "", None
            variants = list(endpoint.variants)
        if target_variant:
            for variant in variants:
                if variant[0] == target_variant:
                    return variant[0], variant[2]
            return target_variant, None
        if len(variants) == 1:
            return variants[0][0], variants[0][2]
        import random

        chosen = random.choices(variants, weights=[max(v[1], 0.0) for v in variants])[0]
        return chosen[0], chosen[2]

    def expire_endpoints(self, now: dt.datetime) -> list[str]:
        """Delete endpoints whose ``sm_magics:expires-at`` tag has passed, with their configs and models.

        What an EventBridge schedule does for such endpoints on AWS, the engine does itself.
        """
        expired = []
        with self.lock:
            for name, endpoint in list(self.endpoints.items()):
                tags = {t["Key"]: t["Value"] for t in self.tags.get(endpoint.doc["EndpointArn"], [])}
                stamp = tags.get(TTL_TAG)
                try:
                    due = dt.datetime.fromisoformat(stamp) if stamp else None
                except ValueError:
                    continue
                if due is None or (due if due.tzinfo else due.replace(tzinfo=dt.timezone.utc)) > now:
                    continue
                config = self.endpoint_configs.get(endpoint.doc["EndpointConfigName"])
                for schedule in self.monitoring.schedules_on(name):  # the expiry is the owner's request to delete
                    self.monitoring.delete_schedule(schedule)
                self.delete_endpoint(name)
                if config is not None:
                    self.endpoint_configs.pop(config["EndpointConfigName"], None)
                    self.tags.pop(config["EndpointConfigArn"], None)
                    for variant in config["ProductionVariants"]:
                        model = self.models.pop(variant["ModelName"], None)
                        if model is not None:
                            self.tags.pop(model["ModelArn"], None)
                expired.append(name)
        return expired

    # -------------------------------------------------------------------- tags

    def _known_arns(self) -> Iterable[str]:
        yield from (job.doc["TrainingJobArn"] for job in self.training_jobs.values())
        yield from (doc["ModelArn"] for doc in self.models.values())
        yield from (doc["EndpointConfigArn"] for doc in self.endpoint_configs.values())
        yield from (e.doc["EndpointArn"] for e in self.endpoints.values())
        yield from (job.doc["HyperParameterTuningJobArn"] for job in self.tuning.jobs.values())
        yield from (job.doc["TransformJobArn"] for job in self.transforms.jobs.values())
        yield from self.registry.arns()
        yield from self.monitoring.arns()

    def _require_arn(self, arn: str) -> None:
        if arn not in set(self._known_arns()):
            raise ValidationException(f"Could not find resource {arn}.")

    def _set_tags(self, arn: str, tags: list[dict[str, str]]) -> None:
        merged = {tag["Key"]: tag["Value"] for tag in self.tags.get(arn, [])}
        merged.update({tag["Key"]: tag.get("Value", "") for tag in tags})
        if len(merged) > 50:
            raise ValidationException("A resource can have at most 50 tags")
        self.tags[arn] = [{"Key": key, "Value": value} for key, value in merged.items()]

    def add_tags(self, arn: str, tags: list[dict[str, str]]) -> dict[str, Any]:
        with self.lock:
            self._require_arn(arn)
            self._set_tags(arn, tags)
            result = {"Tags": copy.deepcopy(self.tags[arn])}
        self.engine.save_soon()
        return result

    def list_tags(self, arn: str, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._require_arn(arn)
            tags = list(self.tags.get(arn, []))
        start = _decode_token(request.get("NextToken"))
        size = request.get("MaxResults") or 50
        token = _encode_token(start + size) if start + size < len(tags) else None
        return {"Tags": tags[start : start + size], "NextToken": token}

    def delete_tags(self, arn: str, keys: list[str]) -> None:
        with self.lock:
            self._require_arn(arn)
            self.tags[arn] = [tag for tag in self.tags.get(arn, []) if tag["Key"] not in keys]
        self.engine.save_soon()

    # ------------------------------------------------------------- persistence

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "training_jobs": [
                    {"doc": job.doc, "metrics": {k: [v, t] for k, (v, t) in job.metrics.items()}}
                    for job in self.training_jobs.values()
                ],
                "models": list(self.models.values()),
                "endpoint_configs": list(self.endpoint_configs.values()),
                "endpoints": [e.doc for e in self.endpoints.values()],
                "tuning_jobs": self.tuning.snapshot(),
                "transform_jobs": self.transforms.snapshot(),
                "model_registry": self.registry.snapshot(),
                "monitoring": self.monitoring.snapshot(),
                "tags": self.tags,
            }

    def restore(self, state: dict[str, Any]) -> None:
        """Bring back a snapshot: running jobs failed (their processes died with the engine), endpoints redeployed."""
        with self.lock:
            for item in state.get("training_jobs", []):
                job = TrainingJob(item["doc"], metrics={k: (v, t) for k, (v, t) in item.get("metrics", {}).items()})
                if job.status in ("InProgress", "Stopping"):
                    job.finish(
                        "Failed",
                        "Failed",
                        "Training job failed",
                        failure="InternalServerError: the local engine was stopped while this job was running; start the job again",
                    )
                job.done.set()
                self.training_jobs[job.doc["TrainingJobName"]] = job
            self.tuning.restore(state.get("tuning_jobs", []))
            self.transforms.restore(state.get("transform_jobs", []))
            self.registry.restore(state.get("model_registry", {}))
            self.monitoring.restore(state.get("monitoring", {}))
            self.models = {d["ModelName"]: d for d in state.get("models", [])}
            self.endpoint_configs = {d["EndpointConfigName"]: d for d in state.get("endpoint_configs", [])}
            self.tags = state.get("tags", {})
            for doc in state.get("endpoints", []):
                endpoint = Endpoint(doc)
                self.endpoints[doc["EndpointName"]] = endpoint
                config = self.endpoint_configs.get(doc["EndpointConfigName"])
                if doc["EndpointStatus"] in ("InService", "Creating", "Updating") and config is not None:
                    doc["EndpointStatus"] = "Creating" if doc["EndpointStatus"] == "Creating" else "Updating"
                    self._deploy(endpoint, copy.deepcopy(config))
                elif config is None and doc["EndpointStatus"] != "Failed":
                    doc.update(EndpointStatus="Failed", FailureReason="The endpoint configuration was deleted while the engine was stopped")


# ------------------------------------------------------------------ pagination


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except Exception:
        raise ValidationException("The NextToken is not valid; pass the NextToken of a previous response unchanged.") from None


def _page(
    docs: list[dict[str, Any]],
    request: dict[str, Any],
    name_key: str,
    status_key: str | None,
    default_sort: tuple[str, str] = ("CreationTime", "Descending"),
) -> tuple[list[dict[str, Any]], str | None]:
    """Filter, sort and cut one page, as every SageMaker List* call does."""
    contains = (request.get("NameContains") or "").lower()
    status = request.get("StatusEquals")
    after, before = request.get("CreationTimeAfter"), request.get("CreationTimeBefore")
    modified_after, modified_before = request.get("LastModifiedTimeAfter"), request.get("LastModifiedTimeBefore")
    chosen = []
    for doc in docs:
        if contains and contains not in doc[name_key].lower():
            continue
        if status and status_key and doc.get(status_key) != status:
            continue
        created = doc["CreationTime"]
        if after and created <= after or before and created >= before:
            continue
        modified = doc.get("LastModifiedTime", created)
        if modified_after and modified <= modified_after or modified_before and modified >= modified_before:
            continue
        chosen.append(doc)
    sort_by = request.get("SortBy", default_sort[0])
    key: Callable[[dict[str, Any]], Any] = {
        "Name": lambda d: d[name_key].lower(),
        "Status": lambda d: d.get(status_key or "", ""),
    }.get(sort_by, lambda d: d["CreationTime"])
    chosen.sort(key=key, reverse=request.get("SortOrder", default_sort[1]) == "Descending")
    start = _decode_token(request.get("NextToken"))
    size = request.get("MaxResults") or 10
    page = chosen[start : start + size]
    return page, (_encode_token(start + size) if start + size < len(chosen) else None)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"__dt__": value.isoformat()}
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def from_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__dt__"}:
            return dt.datetime.fromisoformat(value["__dt__"])
        return {k: from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    return value

