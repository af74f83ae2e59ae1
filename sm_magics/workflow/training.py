"""Starting training and tuning jobs from a declarative spec: validate everything, upload, create.

All checks (algorithm, hyperparameter names, data shapes, NaN, labels against
predictor_type / objective / num_class, k against rows) run before the first
upload, so a bad cell creates nothing; then the most the job can cost is
announced (costs.py), and only then is anything uploaded. If CreateTrainingJob
itself is refused, the data just uploaded is removed again.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from botocore.exceptions import ClientError

from .. import algorithms as contracts
from ..i18n import _
from ..algorithms.images import algorithm_of_image, default_version
from . import algorithms, tuning_checks
from .checks import check_instance_type, check_k, check_labels, check_name
from .costs import check_budget, training_line, tuning_line
from .data import PreparedChannel, prepare_channel
from .endpoints import default_role
from .jobs import Handle, TrainingJob, TuningJob
from .session import Backend


@dataclass
class TrainingSpec:
    algorithm: str
    hyperparameters: dict[str, str] = field(default_factory=dict)
    channels: dict[str, Any] = field(default_factory=dict)  # name -> data, (data, labels), or s3:// URI
    name: str | None = None
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    spot: bool = False
    max_wait: int | None = None
    max_runtime: int = 86400
    tags: list[dict[str, str]] = field(default_factory=list)
    role: str | None = None
    max_cost: float | None = None  # USD: refuse before creating when the ceiling is over it (costs.check_budget)


def default_bucket(backend: Backend) -> str:
    """sagemaker-<region>-<account>, created if missing, as the SDK's Session.default_bucket()."""
    s3 = backend.client("s3")
    bucket = f"sagemaker-{backend.region}-{backend.account}"
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        kwargs = {} if backend.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": backend.region}}
        s3.create_bucket(Bucket=bucket, **kwargs)
    return bucket


def prepare(spec: TrainingSpec, tuned: set[str] = frozenset()) -> tuple[algorithms.AlgorithmInfo, dict[str, str], list[PreparedChannel]]:
    """Everything that can be checked without AWS: raises ValueError with what to fix."""
    info = algorithms.lookup(spec.algorithm)
    if spec.name is not None:
        check_name("training job", spec.name)
    check_instance_type("training", spec.instance_type)
    for key in spec.hyperparameters:
        algorithms.check_hyperparameter(info, key)
    if "train" not in spec.channels:
        raise ValueError(_("no training data: add a line `train: <array, DataFrame or s3:// URI>` ({algorithm} reads {channels})").format(
            algorithm=info.name, channels=", ".join(info.channels)))
    prepared = [_prepare_channel(info, name, value) for name, value in spec.channels.items()]
    for channel in prepared:
        if getattr(channel, "partitions", 0) and channel.name == "train" and spec.instance_count > channel.partitions:
            raise ValueError(_("channel 'train' has {partitions} Spark partition(s) for {count} instances, "
                               "which each need a shard: .repartition({count}) it or use fewer instances").format(
                                 partitions=channel.partitions, count=spec.instance_count))
    train = next(c for c in prepared if c.name == "train")
    hyperparameters: dict[str, str] = {}
    if train.rows is not None and train.features is not None:
        hyperparameters.update(info.derived(train.rows, train.features))
        for channel in prepared:
            if channel.features is not None and channel.features != train.features:
                raise ValueError(_("channel '{name}' has {features} features but 'train' has {train}; they must match").format(
                    name=channel.name, features=channel.features, train=train.features))
    hyperparameters.update({k: str(v) for k, v in spec.hyperparameters.items()})
    missing = [key for key in info.required if key not in hyperparameters and key not in tuned]
    if missing:
        raise ValueError(_("{algorithm} needs {missing}: add a line like `{first}: <value>`").format(
            algorithm=info.name, missing=", ".join(missing), first=missing[0]))
    if not tuned:
        check_values(info, hyperparameters)
    for channel in prepared:
        if channel.labels is not None:
            check_labels(info.name, hyperparameters, channel.name, channel.labels, tuned)
    if info.name == "kmeans" and train.rows is not None and "k" not in tuned and str(hyperparameters.get("k", "")).isdigit():
        check_k(train.rows, int(hyperparameters["k"]))
    if spec.spot and spec.max_wait is not None and spec.max_wait < spec.max_runtime:
        raise ValueError(_("--max-wait ({wait} s) must be at least the maximum run time ({runtime} s)").format(
            wait=spec.max_wait, runtime=spec.max_runtime))
    return info, hyperparameters, prepared


def _prepare_channel(info: algorithms.AlgorithmInfo, name: str, value: Any) -> PreparedChannel:
    """A channel's data checked and encoded; a Spark DataFrame is only checked (its executors write it at upload)."""
    from .spark import is_spark_dataframe

    if is_spark_dataframe(value):
        from . import spark

        return spark.prepare_channel(info, name, value)
    return prepare_channel(info, name, value)


def _upload(backend: Backend, bucket: str, name: str, prepared: list[PreparedChannel],
            instance_count: int = 1, job: Handle | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Convert and upload the channels the notebook supplied; returns InputDataConfig and the keys written.

    Each step is reported through ``job`` (converting a channel, then bytes sent of the total and the
    rate), so its view shows the work from the cell's start. If one channel fails, what the others
    already wrote is removed again, and the error raised is the one that stopped the upload.
    """
    uploaded: list[str] = []
    try:
        return _upload_all(backend, bucket, name, prepared, instance_count, uploaded, job)
    except Exception as error:
        s3 = backend.client("s3")
        left: list[str] = []
        for key in uploaded:
            try:
                s3.delete_object(Bucket=bucket, Key=key)
            except Exception:  # S3 itself unreachable (the engine stopped, the network gone): say what stays
                left.append(f"s3://{bucket}/{key}")
        cause = _upload_cause(error)
        if left:
            raise UploadError(cause, left) from None
        raise cause from None


class UploadError(RuntimeError):
    """The upload failed and what it had written could not be removed either: one line naming both, so
    the user knows exactly which objects to delete (nothing else was created: no job)."""

    def __init__(self, cause: Exception, left: list[str]) -> None:
        from .errors import explain

        reason = explain(cause, retrying=False) if type(cause).__module__.startswith("botocore") else str(cause)
        super().__init__(_("{reason}; the data already uploaded could not be removed, delete it once S3 answers: {objects}").format(
            reason=reason, objects=", ".join(left)))
        self.left = left


def _upload_cause(error: Exception) -> Exception:
    """boto3's managed upload wraps S3's answer in S3UploadFailedError; the answer itself is what to explain."""
    from boto3.exceptions import S3UploadFailedError

    if isinstance(error, S3UploadFailedError) and isinstance(error.__context__, ClientError):
        return error.__context__
    return error


class _PartsReader:
    """A file object boto3 reads part by part from parts written as they are asked for.

    It says it cannot seek, so boto3's managed transfer reads one upload part at a time (in its
    submission thread) and hands it to its upload threads: the next part is converted while the
    previous ones are on the wire, and at most a few parts are held at once.
    """

    def __init__(self, parts: Iterable[Any]) -> None:
        self._parts = iter(parts)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, amount: int = -1) -> bytes:
        chunks: list[memoryview] = []
        wanted = amount if amount >= 0 else float("inf")
        while wanted > 0:
            if not len(self._pending):
                part = next(self._parts, None)
                if part is None:
                    break
                self._pending = memoryview(part).cast("B")
            piece = self._pending[: int(min(wanted, len(self._pending)))]
            chunks.append(piece)
            self._pending = self._pending[len(piece):]
            wanted -= len(piece)
        return b"".join(chunks)


def _put(s3: Any, bucket: str, key: str, body: bytes | tuple[int, Iterable[Any]], channel: str, job: Handle | None) -> None:
    """One channel's bytes to S3 through boto3's managed transfer, whose callback reports each chunk sent.

    ``body`` is the bytes, or (their size, the parts they are written in) to convert while uploading.
    """
    import io

    from boto3.s3.transfer import TransferConfig

    started = time.monotonic()
    sent = 0
    lock = threading.Lock()

    def callback(count: int) -> None:  # called from the transfer's threads
        nonlocal sent
        with lock:  # one report at a time, in the order of the bytes
            sent += count
            if job is not None:
                job.progress(sent, sent / max(time.monotonic() - started, 1e-6))

    size, source = (len(body), io.BytesIO(body)) if isinstance(body, bytes) else (body[0], _PartsReader(body[1]))
    if job is not None:
        job.preparing("uploading", channel, 0, size)
    s3.upload_fileobj(source, bucket, key, Callback=callback, Config=TransferConfig(max_concurrency=4))


def _upload_all(backend: Backend, bucket: str, name: str, prepared: list[PreparedChannel], instance_count: int,
                uploaded: list[str], job: Handle | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    s3 = backend.client("s3")
    channels = []
    for channel in prepared:
        uri = channel.s3_uri
        distribution = "FullyReplicated"
        if getattr(channel, "frame", None) is not None:  # a Spark DataFrame: one object per partition, by the executors
            from . import spark

            if job is not None:
                job.preparing("uploading", channel.name)
            target = spark.S3Target.of(backend, bucket, f"sm_magics/{name}/{channel.name}")
            keys = spark.write(channel, target)  # type: ignore[arg-type]
            uploaded += keys
            uri = target.uri
            if channel.name == "train":
                distribution = "ShardedByS3Key"  # the shards are spread over the instances, as SageMaker Spark does
                if len(keys) < instance_count:
                    raise ValueError(_("channel 'train' has {partitions} non-empty Spark partition(s) for {count} "
                                       "instances: .repartition({count}) it or use fewer instances").format(
                                         partitions=len(keys), count=instance_count))
        elif channel.uploads:
            key = f"sm_magics/{name}/{channel.name}/data.{'csv' if channel.content_type == 'text/csv' else 'pbr'}"
            if job is not None and channel.body is None:
                job.preparing("converting", channel.name)
            # a channel converted in parts is uploaded as they are written; the others once converted
            body = channel.plan() if channel.body is None and channel.plan is not None else channel.payload()
            try:
                _put(s3, bucket, key, body, channel.name, job)
            except Exception:
                # A failed PUT writes nothing, but one whose answer was lost may have: removed if S3 answers
                with contextlib.suppress(Exception):
                    s3.delete_object(Bucket=bucket, Key=key)
                raise
            uploaded.append(key)
            uri = f"s3://{bucket}/{key}"
        channels.append({
            "ChannelName": channel.name,
            "ContentType": channel.content_type,
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": distribution}},
        })
    return channels, uploaded


def _launch(job: Handle, operation: str, request: dict[str, Any], bucket: str, uploaded: list[str]) -> None:
    """Send the Create* call from the handle's poller; if it is refused, remove the data uploaded for it."""

    def create() -> None:
        try:
            getattr(job.backend.client("sagemaker"), operation)(**request)
        except Exception:
            s3 = job.backend.client("s3")
            for key in uploaded:
                s3.delete_object(Bucket=bucket, Key=key)
            raise

    job.launch(create)


def check_values(info: algorithms.AlgorithmInfo, hyperparameters: dict[str, str], version: str | None = None) -> None:
    """Types and ranges checked before anything is created, with the container's own rules.

    The schemas are the ones the local engine's algorithm containers enforce (the same contract
    SageMaker's containers document), so a value SageMaker would fail the job for is refused here,
    before any data is uploaded or any instance is billed. They live in the neutral
    ``sm_magics.algorithms``, which the engine's containers read too.
    """
    try:
        contracts.spec_for(info.name, version or default_version(info.name)).validate(hyperparameters)
    except contracts.ClientError as exc:
        raise ValueError(str(exc).replace(" (caused by ValidationError)", "")) from None


def _shown_while_uploading(backend: Backend, job: Any, show: Callable[[Any], None] | None, bucket: str, name: str,
                           prepared: list[PreparedChannel], instance_count: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Hand the handle to ``show`` before converting and uploading, so its view reports both from the cell's start;
    a failed upload ends the handle Failed with the line that is raised."""
    job.preparing("preparing")
    if show is not None:
        show(job)
    try:
        return _upload(backend, bucket, name, prepared, instance_count, job)
    except Exception as error:
        job.failed_before_creation(error)
        raise


def start_training(backend: Backend, spec: TrainingSpec, announce: Callable[[str], None] | None = None,
                   show: Callable[[TrainingJob], None] | None = None) -> TrainingJob:
    """Check everything, say the most it can cost (``announce``), then convert, upload and create the job.

    The handle exists once the checks passed, before the conversion and the upload, and is given to
    ``show`` then: its view follows the upload from the cell's start. If the upload fails, the handle
    ends Failed with the one line that is raised, and what was uploaded is removed again.
    """
    info, hyperparameters, prepared = prepare(spec)
    check_budget(backend, spec.max_cost, "Training", spec.instance_type, spec.instance_count, spec.max_runtime)
    if announce is not None:
        announce(training_line(backend, spec.instance_type, spec.instance_count, spec.max_runtime, spot=spec.spot))
    name = spec.name or f"{info.name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    role = spec.role or default_role(backend)
    bucket = default_bucket(backend)
    job = TrainingJob(backend, name, info.name)
    job.feature_count = next((c.features for c in prepared if c.name == "train"), None)
    channels, uploaded = _shown_while_uploading(backend, job, show, bucket, name, prepared, spec.instance_count)
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": spec.max_runtime}
    if spec.spot:
        stopping["MaxWaitTimeInSeconds"] = spec.max_wait or spec.max_runtime
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": algorithms.image_uri(info.name, backend.region), "TrainingInputMode": "File"},
        "RoleArn": role,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/sm_magics/{name}/output"},
        "ResourceConfig": {"InstanceType": spec.instance_type, "InstanceCount": spec.instance_count, "VolumeSizeInGB": 30},
        "StoppingCondition": stopping,
        "HyperParameters": hyperparameters,
        "EnableManagedSpotTraining": spec.spot,
        "Tags": spec.tags,
    }
    job.preparing("creating")
    _launch(job, "create_training_job", request, bucket, uploaded)
    return job


@dataclass
class TuningSpec:
    training: TrainingSpec
    objective: str
    ranges: list[Any] = field(default_factory=list)  # cellspec.Range
    objective_type: str | None = None  # Maximize / Minimize; guessed from the metric when None
    max_jobs: int = 6
    max_parallel: int = 2
    strategy: str = "Bayesian"
    early_stopping: str = "Off"
    random_seed: int | None = None  # TuningJobConfig.RandomSeed: on AWS too, the same seed explores the same way


_MINIMIZED = ("loss", "msd", "ssd", "mse", "rmse", "mae", "error", "merror", "mlogloss", "logloss", "absolute_loss")


def start_tuning(backend: Backend, spec: TuningSpec, announce: Callable[[str], None] | None = None,
                 show: Callable[[TuningJob], None] | None = None) -> TuningJob:
    """Check everything (ranges against the data too), say the most it can cost (``announce``), then upload and create.

    As with ``start_training``, the handle exists once the checks passed and is given to ``show`` before
    the conversion and upload, so its view reports them from the cell's start; a failed upload ends it
    Failed with the line that is raised, and what was uploaded is removed again.
    """
    base = spec.training
    if base.name is not None:
        check_name("tuning job", base.name)
    if spec.max_parallel > spec.max_jobs:
        raise ValueError(_("--max-parallel ({parallel}) cannot exceed --max-jobs ({jobs})").format(
            parallel=spec.max_parallel, jobs=spec.max_jobs))
    # ranges and objective first (cheap, and each names its cell line), then the data, then the rules across them
    algorithm = algorithms.lookup(base.algorithm).name
    schema = tuning_checks.check_ranges(algorithm, default_version(algorithm), spec.ranges, base.hyperparameters)
    tuning_checks.check_objective(schema, spec.objective, base.channels)
    info, hyperparameters, prepared = prepare(base, tuned={r.name for r in spec.ranges})
    for tuned in spec.ranges:
        hyperparameters.pop(tuned.name, None)
    tuning_checks.check_strategy(spec.strategy, spec.ranges, hyperparameters)
    tuning_checks.check_combinations(schema, hyperparameters, spec.ranges, spec.objective)
    train = next(c for c in prepared if c.name == "train")
    for tuned in spec.ranges:
        if info.name == "kmeans" and tuned.name == "k" and tuned.kind == "Integer" and train.rows is not None:
            check_k(train.rows, int(tuned.high), tuned=True)
    check_budget(backend, base.max_cost, "Training", base.instance_type, base.instance_count, base.max_runtime, jobs=spec.max_jobs)
    if announce is not None:
        announce(tuning_line(backend, base.instance_type, base.instance_count, base.max_runtime, spec.max_jobs, spec.max_parallel))
    objective_type = spec.objective_type or ("Minimize" if spec.objective.split(":")[-1].endswith(_MINIMIZED) else "Maximize")
    name = base.name or f"{info.name[:10]}-{time.strftime('%y%m%d-%H%M%S')}"
    bucket = default_bucket(backend)
    job = TuningJob(backend, name, info.name)
    job.feature_count = train.features
    channels, uploaded = _shown_while_uploading(backend, job, show, bucket, name, prepared, base.instance_count)
    ranges: dict[str, list[dict[str, Any]]] = {"IntegerParameterRanges": [], "ContinuousParameterRanges": [], "CategoricalParameterRanges": []}
    for tuned in spec.ranges:
        ranges[f"{tuned.kind}ParameterRanges"].append(tuned.to_api())
    request = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": spec.strategy,
            "HyperParameterTuningJobObjective": {"Type": objective_type, "MetricName": spec.objective},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": spec.max_jobs, "MaxParallelTrainingJobs": spec.max_parallel},
            "ParameterRanges": ranges,
            "TrainingJobEarlyStoppingType": spec.early_stopping,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": hyperparameters,
            "AlgorithmSpecification": {"TrainingImage": algorithms.image_uri(info.name, backend.region), "TrainingInputMode": "File"},
            "RoleArn": base.role or default_role(backend),
            "InputDataConfig": channels,
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/sm_magics/{name}/output"},
            "ResourceConfig": {"InstanceType": base.instance_type, "InstanceCount": base.instance_count, "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": base.max_runtime},
        },
        "Tags": base.tags,
    }
    if spec.random_seed is not None:
        request["HyperParameterTuningJobConfig"]["RandomSeed"] = spec.random_seed
    job.preparing("creating")
    _launch(job, "create_hyper_parameter_tuning_job", request, bucket, uploaded)
    return job


def attach_training_job(backend: Backend, name: str) -> TrainingJob:
    doc = backend.client("sagemaker").describe_training_job(TrainingJobName=name)
    algorithm = algorithm_of_image(doc["AlgorithmSpecification"].get("TrainingImage", ""))
    job = TrainingJob(backend, name, algorithm if algorithm in algorithms.ALGORITHMS else None)
    job.start_polling()
    return job


def is_handle(value: Any) -> bool:
    return isinstance(value, Handle)
