"""SageMaker's control-plane state and lifecycles, one backend per region.

Plain Python, no HTTP: ``responses.py`` turns requests into calls here. Each
resource keeps its Describe* document (PascalCase, datetimes) as the source of
truth, so describing is a copy, listing is a projection, and persisting is a
JSON dump. Work that takes time (training, loading a model behind an endpoint)
happens elsewhere and reports back through ``on_training_event`` and the
hosting loader, which move the documents through SageMaker's real states.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from ...algorithms import KNOWN, parse_image, spec_for
from ...constants import TTL_TAG
from .. import settings
from ..runtime.model_data import ModelDataError, parse_model_data_url
from ..store import PersistError, RecordSink
from .exceptions import ResourceInUse, ValidationException, already_exists, could_not_find
from .paging import decode_token, encode_token, paginate
from .ports import Platform
from .records import Endpoint, Key, TrainingJob, failure_reason, utcnow

log = logging.getLogger("sm_magics.local")


class SageMakerBackend:
    """All SageMaker resources of one account in one region.

    Persistence is ``store`` (one record per resource, see ``store.RegionStore``):
    a request's change is applied in memory and saved under ``lock`` before the
    request returns (``changing``), so a record is serialised while consistent
    and a change that cannot be saved is undone and fails its request. Changes
    no request waits for (training hosts' reports, a deployment finishing) are
    saved as they happen; one that cannot be is kept in ``unsaved`` and retried.
    """

    def __init__(self, region: str, platform: Platform, store: RecordSink) -> None:
        self.region = region
        self.platform = platform  # the engine's parts this region uses (logs, runner, hosting, ...)
        self.store = store
        self.unsaved: dict[Key, str] = {}
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
        algorithm_spec.setdefault("MetricDefinitions", [dict(m) for m in spec_for(algorithm, version).metric_definitions])
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
        with self.changing(("training-job", name), ("tags", arn)):
            if name in self.training_jobs:
                raise ResourceInUse(
                    "Training job names must be unique within an AWS account and region, and a training job with "
                    f"this name already exists ({arn})"
                )
            self.training_jobs[name] = job
            self.set_tags(arn, request.get("Tags") or [])
        self.platform.logs.create_stream_group("/aws/sagemaker/TrainingJobs", self.region)
        self.platform.runner.start(
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
                "endpoint_url": self.platform.url,
                "credentials": (self.platform.credentials.access_key_id, self.platform.credentials.secret_access_key,
                                self.platform.credentials.session_token),
                "work_dir": str(self.platform.work_dir / name),
            },
            self.on_training_event,
        )
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
        if self.platform.stopping.is_set():
            return
        kind = event[0]
        with self.lock:
            job = self.training_jobs.get(name)
            if job is None:
                return
            if kind == "log":
                _, host, line = event
                epoch = int(job.doc["CreationTime"].timestamp())
                self.platform.logs.write("/aws/sagemaker/TrainingJobs", f"{name}/algo-{host}-{epoch}", [line], self.region)
                return
            if kind == "metric":
                job.metrics[event[1]] = (event[2], utcnow())
                job.history.setdefault(event[1], []).append(event[2])
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
            self.save_quietly(("training-job", name))

    def _job(self, name: str) -> TrainingJob:
        job = self.training_jobs.get(name)
        if job is None:
            raise ValidationException("Requested resource not found.")
        return job

    def describe_training_job(self, name: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._job(name).doc)

    def stop_training_job(self, name: str) -> None:
        with self.changing(("training-job", name)):
            job = self._job(name)
            if job.status != "InProgress":
                raise ValidationException(f"The request was rejected because the training job is in status {job.status}.")
            job.doc["TrainingJobStatus"] = "Stopping"
            job.transition("Stopping", "Stopping the training job")
        if not self.platform.runner.stop(name):
            with self.lock:
                job.finish("Stopped", "Stopped", "Training job stopped")
                self.save_quietly(("training-job", name))

    def list_training_jobs(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            docs = [job.doc for job in self.training_jobs.values()]
            page, token = paginate(docs, request, "TrainingJobName", "TrainingJobStatus")
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
        with self.changing(("model", name), ("tags", arn)):
            if name in self.models:
                raise already_exists("model", arn)
            self.models[name] = doc
            self.set_tags(arn, request.get("Tags") or [])
        return {"ModelArn": arn}

    def describe_model(self, name: str) -> dict[str, Any]:
        with self.lock:
            if name not in self.models:
                raise could_not_find("model", self.arn("model", name))
            return copy.deepcopy(self.models[name])

    def delete_model(self, name: str) -> None:
        with self.changing(("model", name), ("tags", self.arn("model", name))):
            if self.models.pop(name, None) is None:
                raise could_not_find("model", self.arn("model", name))
            self.tags.pop(self.arn("model", name), None)

    def list_models(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            page, token = paginate(list(self.models.values()), request, "ModelName", None)
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
            with self.changing(("endpoint-config", name), ("tags", arn)):
                self.endpoint_configs[name] = doc
                self.set_tags(arn, request.get("Tags") or [])
        return {"EndpointConfigArn": arn}

    def describe_endpoint_config(self, name: str) -> dict[str, Any]:
        with self.lock:
            if name not in self.endpoint_configs:
                raise could_not_find("endpoint configuration", self.arn("endpoint-config", name))
            return copy.deepcopy(self.endpoint_configs[name])

    def delete_endpoint_config(self, name: str) -> None:
        with self.changing(("endpoint-config", name), ("tags", self.arn("endpoint-config", name))):
            if self.endpoint_configs.pop(name, None) is None:
                raise could_not_find("endpoint configuration", self.arn("endpoint-config", name))
            self.tags.pop(self.arn("endpoint-config", name), None)

    def list_endpoint_configs(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            page, token = paginate(list(self.endpoint_configs.values()), request, "EndpointConfigName", None)
            keys = ("EndpointConfigName", "EndpointConfigArn", "CreationTime")
            return {"EndpointConfigs": [{k: d[k] for k in keys} for d in page], "NextToken": token}

    # --------------------------------------------------------------- endpoints

    def create_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["EndpointName"]
        arn = self.arn("endpoint", name)
        with self.changing(("endpoint", name), ("tags", arn)):
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
            self.set_tags(arn, request.get("Tags") or [])
        self._deploy(endpoint, config)
        endpoint.ready.wait(settings.SYNC_SECONDS)
        return {"EndpointArn": arn}

    def _config_for(self, config_name: str) -> dict[str, Any]:
        config = self.endpoint_configs.get(config_name)
        if config is None:
            raise could_not_find("endpoint configuration", self.arn("endpoint-config", config_name))
        return copy.deepcopy(config)

    def _deploy_log(self, endpoint_name: str, variant: str) -> Callable[[str], None]:
        """Lines a model load writes (a side environment being built, say) go to the endpoint's CloudWatch stream."""
        group, stream = f"/aws/sagemaker/Endpoints/{endpoint_name}", f"{variant}/i-local"
        return lambda line: self.platform.logs.write(group, stream, [line], self.region)

    def _load_variants(self, config: dict[str, Any], models: dict[str, Any], endpoint_name: str) -> tuple[list, list, str | None]:
        """(loaded variants, their ProductionVariants summaries, failure or None) for one endpoint config."""
        loaded: list[tuple[str, float, Any]] = []
        summaries: list[dict[str, Any]] = []
        for variant in config["ProductionVariants"]:
            model = models[variant["ModelName"]]
            try:
                if model is None:
                    raise RuntimeError(f"model {variant['ModelName']} was deleted before the endpoint could load it")
                hosted = self.platform.hosting.load(model, log=self._deploy_log(endpoint_name, variant["VariantName"]))
            except Exception as exc:  # any reason the model cannot serve ends the endpoint Failed
                return loaded, summaries, f"Failed to deploy variant '{variant['VariantName']}': {exc}"
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
        return loaded, summaries, None

    def _deploy(self, endpoint: Endpoint, config: dict[str, Any]) -> None:
        """Load every variant's model in the background, then switch traffic to them at once."""
        models = {v["ModelName"]: copy.deepcopy(self.models.get(v["ModelName"])) for v in config["ProductionVariants"]}
        endpoint.ready.clear()

        def load() -> None:
            loaded, summaries, failure = self._load_variants(config, models, endpoint.doc["EndpointName"])
            with self.lock:
                if self.endpoints.get(endpoint.doc["EndpointName"]) is not endpoint:
                    endpoint.ready.set()
                    return  # deleted while loading
                doc = endpoint.doc
                doc["LastModifiedTime"] = utcnow()
                if failure is None:
                    endpoint.variants = loaded
                    endpoint.restored_config = None
                    doc.update(EndpointStatus="InService", EndpointConfigName=config["EndpointConfigName"], ProductionVariants=summaries)
                    doc.pop("FailureReason", None)
                    self.platform.logs.write(
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
                self.save_quietly(("endpoint", doc["EndpointName"]))
            endpoint.ready.set()

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
        with self.changing(("endpoint", name)):
            endpoint = self._endpoint(name)
            if endpoint.doc["EndpointStatus"] != "InService":
                raise ValidationException(f'Cannot update in-progress endpoint "{endpoint.doc["EndpointArn"]}".')
            config = self._config_for(request["EndpointConfigName"])
            endpoint.doc.update(EndpointStatus="Updating", LastModifiedTime=utcnow())
        self._deploy(endpoint, config)
        endpoint.ready.wait(settings.SYNC_SECONDS)
        return {"EndpointArn": endpoint.doc["EndpointArn"]}

    def delete_endpoint(self, name: str) -> None:
        with self.changing(("endpoint", name), ("tags", self.arn("endpoint", name))):
            endpoint = self._endpoint(name)
            schedules = self.monitoring.schedules_on(name)
            if schedules:
                raise ValidationException(
                    f'Cannot delete endpoint "{endpoint.doc["EndpointArn"]}" while monitoring schedule(s) '
                    f"{', '.join(schedules)} monitor it; delete them with DeleteMonitoringSchedule first."
                )
            del self.endpoints[name]
            self.tags.pop(endpoint.doc["EndpointArn"], None)

    def list_endpoints(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            docs = [e.doc for e in self.endpoints.values()]
            page, token = paginate(docs, request, "EndpointName", "EndpointStatus")
            keys = ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")
            return {"Endpoints": copy.deepcopy([{k: d[k] for k in keys} for d in page]), "NextToken": token}

    def hosted_variant(self, name: str, target_variant: str | None) -> tuple[str, Any]:
        """The (variant name, model) that serves one invocation, by weight or by request."""
        with self.lock:
            endpoint = self.endpoints.get(name)
            restored = endpoint is not None and endpoint.restored_config is not None
        if restored:
            self.load_restored(endpoint)
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
                keys: list[Key] = [("endpoint", name), ("tags", endpoint.doc["EndpointArn"])]
                schedules = self.monitoring.schedules_on(name)  # the expiry is the owner's request to delete them too
                keys += [k for s in schedules for k in (("monitoring-schedule", s), ("tags", self.arn("monitoring-schedule", s)))]
                if config is not None:
                    keys += [("endpoint-config", config["EndpointConfigName"]), ("tags", config["EndpointConfigArn"])]
                    for variant in config["ProductionVariants"]:
                        keys += [("model", variant["ModelName"]), ("tags", self.arn("model", variant["ModelName"]))]
                try:
                    with self.changing(*keys):
                        for schedule in schedules:
                            doc = self.monitoring.schedules.pop(schedule)
                            self.tags.pop(doc["MonitoringScheduleArn"], None)
                        del self.endpoints[name]
                        self.tags.pop(endpoint.doc["EndpointArn"], None)
                        if config is not None:
                            self.endpoint_configs.pop(config["EndpointConfigName"], None)
                            self.tags.pop(config["EndpointConfigArn"], None)
                            for variant in config["ProductionVariants"]:
                                model = self.models.pop(variant["ModelName"], None)
                                if model is not None:
                                    self.tags.pop(model["ModelArn"], None)
                except PersistError as exc:  # left as it was; the guard tries again on its next round
                    log.error("endpoint %s (%s) expired but could not be deleted: %s", name, self.region, exc)
                    continue
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

    def set_tags(self, arn: str, tags: list[dict[str, str]]) -> None:
        merged = {tag["Key"]: tag["Value"] for tag in self.tags.get(arn, [])}
        merged.update({tag["Key"]: tag.get("Value", "") for tag in tags})
        if len(merged) > 50:
            raise ValidationException("A resource can have at most 50 tags")
        self.tags[arn] = [{"Key": key, "Value": value} for key, value in merged.items()]

    def add_tags(self, arn: str, tags: list[dict[str, str]]) -> dict[str, Any]:
        with self.changing(("tags", arn)):
            self._require_arn(arn)
            self.set_tags(arn, tags)
            result = {"Tags": copy.deepcopy(self.tags[arn])}
        return result

    def list_tags(self, arn: str, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._require_arn(arn)
            tags = list(self.tags.get(arn, []))
        start = decode_token(request.get("NextToken"))
        size = request.get("MaxResults") or 50
        token = encode_token(start + size) if start + size < len(tags) else None
        return {"Tags": tags[start : start + size], "NextToken": token}

    def delete_tags(self, arn: str, keys: list[str]) -> None:
        with self.changing(("tags", arn)):
            self._require_arn(arn)
            self.tags[arn] = [tag for tag in self.tags.get(arn, []) if tag["Key"] not in keys]

    # ------------------------------------------------------------- persistence

    def _holder(self, kind: str) -> dict[str, Any]:
        holders: dict[str, dict[str, Any]] = {
            "training-job": self.training_jobs,
            "model": self.models,
            "endpoint-config": self.endpoint_configs,
            "endpoint": self.endpoints,
            "tuning-job": self.tuning.jobs,
            "transform-job": self.transforms.jobs,
            "tags": self.tags,
        }
        if kind not in holders:
            holders.update(self.registry.holders(), **self.monitoring.holders())
        return holders[kind]

    def _record(self, kind: str, name: str) -> Any:
        """The stored form of one resource as memory has it now (None: it does not exist)."""
        item = self._holder(kind).get(name)
        if item is None:
            return None
        if kind == "training-job":
            return {"doc": to_jsonable(item.doc), "metrics": {k: [v, to_jsonable(t)] for k, (v, t) in item.metrics.items()}}
        if kind == "tuning-job":
            return {"doc": to_jsonable(item.doc), "children": list(item.children), "early_stopped": sorted(item.early_stopped)}
        if kind in ("endpoint", "transform-job"):
            return to_jsonable(item.doc)
        return to_jsonable(item)

    def _save(self, *keys: Key) -> None:
        """Write these records as memory has them (dropping the ones that are gone), in one transaction."""
        what = " and ".join(f"{kind} {name}" for kind, name in keys if kind != "tags") or f"the tags of {keys[0][1]}"
        with self.lock:
            with self.store.transaction(what):
                for kind, name in keys:
                    value = self._record(kind, name)
                    if value is None:
                        self.store.delete(kind, name)
                    else:
                        self.store.put(kind, name, value)
            for key in keys:
                self.unsaved.pop(key, None)

    def save_quietly(self, *keys: Key) -> None:
        """Save a change no request waits for; if the disk refuses, remember it (reported at stop, retried)."""
        try:
            self._save(*keys)
        except PersistError as exc:
            log.error("%s", exc)
            for key in keys:
                self.unsaved[key] = str(exc)

    @contextmanager
    def changing(self, *keys: Key) -> Iterator[None]:
        """A request's change: made in the block, then saved before the request answers.

        If the block raises, or the records cannot be saved, the resources are put back
        as they were, so a refused request leaves nothing half-created.
        """
        with self.lock:
            before = []
            for kind, name in keys:
                item = self._holder(kind).get(name)
                doc = item if isinstance(item, (dict, list)) else getattr(item, "doc", None)
                before.append((kind, name, item, copy.deepcopy(doc)))
            try:
                yield
                self._save(*keys)
            except BaseException:
                for kind, name, item, doc in before:
                    holder = self._holder(kind)
                    if item is None:
                        holder.pop(name, None)
                    elif isinstance(item, list):
                        holder[name] = doc
                    elif isinstance(item, (int, float, str)):
                        holder[name] = item
                    else:
                        holder[name] = item
                        current = item if isinstance(item, dict) else item.doc
                        current.clear()
                        current.update(doc)
                raise

    def retry_unsaved(self) -> list[str]:
        """Save again what could not be saved; the reasons for what still cannot."""
        with self.lock:
            pending = list(self.unsaved)
            if pending:
                self.save_quietly(*pending)
            return [f"{kind} {name} ({self.region}): {reason}" for (kind, name), reason in self.unsaved.items()]

    def restore(self, records: dict[str, dict[str, Any]]) -> None:
        """Bring back stored records: running jobs failed (their processes died with the engine), endpoints served again.

        Endpoints that were InService are InService at once; their models load in the
        background (``load_restored``) or at their first invocation, whichever comes first.
        """
        found = {kind: {name: from_jsonable(value) for name, value in items.items()} for kind, items in records.items()}
        changed: list[Key] = []
        with self.lock:
            for name, item in found.get("training-job", {}).items():
                job = TrainingJob(item["doc"], metrics={k: (v, t) for k, (v, t) in item.get("metrics", {}).items()})
                if job.status in ("InProgress", "Stopping"):
                    job.finish(
                        "Failed",
                        "Failed",
                        "Training job failed",
                        failure="InternalServerError: the local engine was stopped while this job was running; start the job again",
                    )
                    changed.append(("training-job", name))
                job.done.set()
                self.training_jobs[name] = job
            changed += [("tuning-job", n) for n in self.tuning.restore(list(found.get("tuning-job", {}).values()))]
            changed += [("transform-job", n) for n in self.transforms.restore(list(found.get("transform-job", {}).values()))]
            self.registry.restore(found)
            changed += [("monitoring-schedule", n) for n in self.monitoring.restore(found)]
            self.models.update(found.get("model", {}))
            self.endpoint_configs.update(found.get("endpoint-config", {}))
            self.tags.update(found.get("tags", {}))
            for name, doc in found.get("endpoint", {}).items():
                endpoint = Endpoint(doc)
                endpoint.ready.set()
                self.endpoints[name] = endpoint
                config = self.endpoint_configs.get(doc["EndpointConfigName"])
                status = doc["EndpointStatus"]
                if config is None and status != "Failed":
                    doc.update(EndpointStatus="Failed", FailureReason="The endpoint configuration was deleted while the engine was stopped")
                    changed.append(("endpoint", name))
                elif config is None:
                    continue
                elif status == "Creating":
                    self._deploy(endpoint, copy.deepcopy(config))
                elif status in ("InService", "Updating"):
                    if status == "Updating":  # the update did not finish: the previous deployment serves, as on a failed update
                        doc["EndpointStatus"] = "InService"
                        changed.append(("endpoint", name))
                    endpoint.restored_config = copy.deepcopy(config)
            if changed:
                self.save_quietly(*changed)

    def restored_endpoints(self) -> list[Endpoint]:
        with self.lock:
            return [e for e in self.endpoints.values() if e.restored_config is not None]

    def load_restored(self, endpoint: Endpoint) -> None:
        """Load a restored endpoint's models (warm-up pool or first invocation); a model that cannot load fails it."""
        with endpoint.load_lock:
            with self.lock:
                config = endpoint.restored_config
                if config is None:
                    return
                models = {v["ModelName"]: copy.deepcopy(self.models.get(v["ModelName"])) for v in config["ProductionVariants"]}
            loaded, _, failure = self._load_variants(config, models, endpoint.doc["EndpointName"])
            with self.lock:
                if endpoint.restored_config is not config:
                    return  # updated or deleted meanwhile
                endpoint.restored_config = None
                if failure is None:
                    endpoint.variants = loaded
                    return
                endpoint.doc.update(EndpointStatus="Failed", FailureReason=failure_reason(failure), LastModifiedTime=utcnow())
                if self.endpoints.get(endpoint.doc["EndpointName"]) is endpoint:
                    self.save_quietly(("endpoint", endpoint.doc["EndpointName"]))


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

