"""Starting training and tuning jobs from a declarative spec: validate everything, upload, create.

All checks (algorithm, hyperparameter names, data shapes, NaN, labels) run
before the first upload, so a bad cell creates nothing; if CreateTrainingJob
itself is refused, the data just uploaded is removed again.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from . import algorithms
from .data import PreparedChannel, prepare_channel
from .endpoints import default_role
from .jobs import Handle, TrainingJob
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


def prepare(spec: TrainingSpec) -> tuple[algorithms.AlgorithmInfo, dict[str, str], list[PreparedChannel]]:
    """Everything that can be checked without AWS: raises ValueError with what to fix."""
    info = algorithms.lookup(spec.algorithm)
    for key in spec.hyperparameters:
        algorithms.check_hyperparameter(info, key)
    if "train" not in spec.channels:
        raise ValueError(f"no training data: add a line `train: <array, DataFrame or s3:// URI>` ({info.name} reads {', '.join(info.channels)})")
    prepared = [prepare_channel(info, name, value) for name, value in spec.channels.items()]
    train = next(c for c in prepared if c.name == "train")
    hyperparameters: dict[str, str] = {}
    if train.rows is not None and train.features is not None:
        hyperparameters.update(info.derived(train.rows, train.features))
        for channel in prepared:
            if channel.features is not None and channel.features != train.features:
                raise ValueError(f"channel '{channel.name}' has {channel.features} features but 'train' has {train.features}; they must match")
    hyperparameters.update({k: str(v) for k, v in spec.hyperparameters.items()})
    missing = [key for key in info.required if key not in hyperparameters]
    if missing:
        raise ValueError(f"{info.name} needs {', '.join(missing)}: add a line like `{missing[0]}: <value>`")
    if spec.spot and spec.max_wait is not None and spec.max_wait < spec.max_runtime:
        raise ValueError(f"--max-wait ({spec.max_wait} s) must be at least the maximum run time ({spec.max_runtime} s)")
    return info, hyperparameters, prepared


def start_training(backend: Backend, spec: TrainingSpec) -> TrainingJob:
    info, hyperparameters, prepared = prepare(spec)
    name = spec.name or f"{info.name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    role = spec.role or default_role(backend)
    bucket = default_bucket(backend)
    s3 = backend.client("s3")
    uploaded: list[str] = []
    channels = []
    for channel in prepared:
        uri = channel.s3_uri
        if channel.body is not None:
            key = f"sm_magics/{name}/{channel.name}/data.{'csv' if channel.content_type == 'text/csv' else 'pbr'}"
            s3.put_object(Bucket=bucket, Key=key, Body=channel.body)
            uploaded.append(key)
            uri = f"s3://{bucket}/{key}"
        channels.append({
            "ChannelName": channel.name,
            "ContentType": channel.content_type,
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}},
        })
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
    try:
        backend.client("sagemaker").create_training_job(**request)
    except Exception:
        for key in uploaded:
            s3.delete_object(Bucket=bucket, Key=key)
        raise
    job = TrainingJob(backend, name, info.name)
    job.start_polling()
    return job


def attach_training_job(backend: Backend, name: str) -> TrainingJob:
    doc = backend.client("sagemaker").describe_training_job(TrainingJobName=name)
    image = doc["AlgorithmSpecification"].get("TrainingImage", "")
    repo = image.rsplit("/", 1)[-1].split(":")[0]
    algorithm = {"sagemaker-xgboost": "xgboost"}.get(repo, repo)
    job = TrainingJob(backend, name, algorithm if algorithm in algorithms.ALGORITHMS else None)
    job.start_polling()
    return job


def is_handle(value: Any) -> bool:
    return isinstance(value, Handle)
