"""Small building blocks the engine tests share: upload data, train, deploy, as a boto3 user would."""

from __future__ import annotations

import io
import socket
import tarfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from botocore.model import StructureShape
from botocore.validate import ParamValidator

from sm_magics.formats import recordio

if TYPE_CHECKING:
    from sm_magics.launcher import EngineInfo

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "sagemaker-artifacts"  # real SageMaker model files

KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "sm-magics-tests"
RECORDIO = "application/x-recordio-protobuf"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ----------------------------------------------------------------------------- clients of the engine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ResponseChecker:
    """Validates every SageMaker / Runtime response against the operation's output shape.

    Problems are collected in ``problems``; with ``raise_at_once`` they are raised
    instead, as AssertionError out of the call that got the response.
    """

    def __init__(self, raise_at_once: bool = False) -> None:
        self.raise_at_once = raise_at_once
        self.problems: list[str] = []
        self.seen: set[str] = set()

    def __call__(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if http_response.status_code >= 300 or model.output_shape is None:
            return
        self.seen.add(model.name)
        body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
        found = []
        report = ParamValidator().validate(body, model.output_shape)
        if report.has_errors():
            found.append(f"{model.name}: {report.generate_report()}")
        found += _empty_structures(model.output_shape, body, model.name)
        if found and self.raise_at_once:
            raise AssertionError("a response that does not match botocore's model:\n" + "\n".join(found))
        self.problems.extend(found)


def _empty_structures(shape: Any, value: Any, path: str) -> list[str]:
    found = []
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, item in value.items():
            member = shape.members.get(key)
            if member is None:
                found.append(f"{path}.{key}: not a member of the output shape")
            elif isinstance(member, StructureShape) and item == {}:
                found.append(f"{path}.{key}: empty structure sent (the service omits absent structures)")
            else:
                found += _empty_structures(member, item, f"{path}.{key}")
    elif isinstance(value, list) and getattr(shape, "member", None) is not None:
        for index, item in enumerate(value):
            found += _empty_structures(shape.member, item, f"{path}[{index}]")
    return found


def engine_session(info: "EngineInfo", checker: ResponseChecker | None = None) -> boto3.Session:
    """A boto3 session with the engine's credentials; with a checker, its SageMaker and Runtime answers are validated."""
    session = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1")
    if checker is not None:
        session.events.register("after-call.sagemaker", checker)
        session.events.register("after-call.sagemaker-runtime", checker)
    return session


class Clients:
    """Lazily made clients of one session bound to the engine: .sagemaker, .runtime, .s3, .logs, .sts, .iam."""

    def __init__(self, session: boto3.Session, url: str) -> None:
        self.session = session
        self.url = url

    def __getattr__(self, service: str) -> Any:
        name = {"runtime": "sagemaker-runtime"}.get(service, service)
        client = self.session.client(name, endpoint_url=self.url)
        setattr(self, service, client)
        return client


# ----------------------------------------------------------------------------- errors


def error_of(call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """The parsed error response of a call that must fail."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response


def assert_object_absent(aws: Any, uri: str) -> None:
    bucket, _, key = uri[len("s3://") :].partition("/")
    error = error_of(aws.s3.head_object, Bucket=bucket, Key=key)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404


def assert_failed_with_client_error(aws: Any, job: dict[str, Any], texts: list[str], prefix: str = "ClientError: ") -> None:
    """A training job that Failed with a ``ClientError:`` reason holding each of ``texts``, and wrote no model."""
    assert job["TrainingJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith(prefix), reason
    for text in texts:
        assert text in reason, f"{text!r} not in {reason!r}"
    assert_object_absent(aws, job["ModelArtifacts"]["S3ModelArtifacts"])


# ----------------------------------------------------------------------------- S3


def ensure_bucket(aws: Any, bucket: str = BUCKET) -> str:
    existing = {b["Name"] for b in aws.s3.list_buckets()["Buckets"]}
    if bucket not in existing:
        aws.s3.create_bucket(Bucket=bucket)
    return bucket


def put(aws: Any, key: str, body: bytes | str) -> str:
    """One object in the tests' bucket (which must exist); returns its s3:// URI."""
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def read_s3(aws: Any, uri: str) -> bytes:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def upload_recordio(aws: Any, x: np.ndarray, prefix: str, shards: int = 1) -> str:
    bucket = ensure_bucket(aws)
    for index, part in enumerate(np.array_split(x, shards)):
        aws.s3.put_object(Bucket=bucket, Key=f"{prefix}/matrix_{index}.pbr", Body=recordio.encode_dense(part))
    return f"s3://{bucket}/{prefix}/"


def upload_model_tar(aws: Any, member: bytes, tag: str) -> str:
    """A model.tar.gz with one flat member ``model_algo-1``, as SageMaker writes it; returns its URI."""
    ensure_bucket(aws)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("model_algo-1")
        info.size, info.mode = len(member), 0o644
        tar.addfile(info, io.BytesIO(member))
    return put(aws, f"models/{unique(tag)}/model.tar.gz", buf.getvalue())


# ----------------------------------------------------------------------------- requests


def channel(name: str, uri: str, content_type: str | None = RECORDIO, distribution: str = "FullyReplicated") -> dict[str, Any]:
    """An S3Prefix input channel; ``content_type=None`` leaves ContentType out."""
    source = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": distribution}}
    spec: dict[str, Any] = {"ChannelName": name, "DataSource": source}
    if content_type is not None:
        spec["ContentType"] = content_type
    return spec


def job_request(
    name: str, image: str, channels: list[dict[str, Any]], hyperparameters: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    """A CreateTrainingJob request: one ml.c4.xlarge, an hour, output under s3://BUCKET/output unless overridden."""
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceType": "ml.c4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "HyperParameters": hyperparameters,
    }
    request.update(overrides)
    return request


def training_request(name: str, train_uri: str, hyperparameters: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """A k-means job on one RecordIO ``train`` channel."""
    return job_request(name, KMEANS_IMAGE, [channel("train", train_uri)], hyperparameters, **overrides)


def transform_request(
    name: str,
    model: str,
    input_uri: str,
    output_prefix: str,
    *,
    content_type: str = "text/csv",
    split: str = "Line",
    strategy: str = "MultiRecord",
    accept: str = "application/jsonlines",
    assemble: str = "Line",
    max_payload: int | None = None,
) -> dict[str, Any]:
    """A CreateTransformJob request writing under s3://BUCKET/<output_prefix>."""
    request: dict[str, Any] = {
        "TransformJobName": name,
        "ModelName": model,
        "BatchStrategy": strategy,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": content_type,
            "SplitType": split,
        },
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/{output_prefix}", "Accept": accept, "AssembleWith": assemble},
        "TransformResources": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
    }
    if max_payload is not None:
        request["MaxPayloadInMB"] = max_payload
    return request


def tuning_config(
    strategy: str, minimize: str, ranges: dict[str, Any], jobs: int, parallel: int, **changes: Any
) -> dict[str, Any]:
    """A HyperParameterTuningJobConfig that minimizes the metric ``minimize`` over ``jobs`` children, ``parallel`` at a time."""
    config: dict[str, Any] = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": minimize},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": parallel},
        "ParameterRanges": ranges,
    }
    config.update(changes)
    return config


def tuning_definition(
    image: str, channels: list[dict[str, Any]], static_hyperparameters: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    """A CreateHyperParameterTuningJob TrainingJobDefinition, with job_request's defaults."""
    request = job_request("", image, channels, {}, **overrides)
    del request["TrainingJobName"], request["HyperParameters"]
    return {"StaticHyperParameters": static_hyperparameters, **request}


def production_variants(model: str) -> list[dict[str, Any]]:
    """One AllTraffic variant of the model on one ml.m4.xlarge."""
    return [{"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m4.xlarge"}]


# ----------------------------------------------------------------------------- waiting


def wait_until(
    describe: Callable[[], dict[str, Any]], status_key: str, timeout: float = 120.0, interval: float = 0.2,
    pending: tuple[str, ...] = ("InProgress", "Stopping"),
) -> dict[str, Any]:
    """Describe* once the resource has left its ``pending`` states (or the timeout has passed)."""
    deadline = time.monotonic() + timeout
    while True:
        doc = describe()
        if doc[status_key] not in pending or time.monotonic() > deadline:
            return doc
        time.sleep(interval)


def wait_training(aws: Any, name: str, timeout: float = 120.0) -> dict[str, Any]:
    """DescribeTrainingJob once the job has ended (the boto3 waiter raises on Failed)."""
    return wait_until(lambda: aws.sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus", timeout)


def wait_transform(aws: Any, name: str, timeout: float = 120.0) -> dict[str, Any]:
    """DescribeTransformJob once the job has ended (the boto3 waiter raises on Failed)."""
    return wait_until(lambda: aws.sagemaker.describe_transform_job(TransformJobName=name), "TransformJobStatus", timeout)


def run_training(aws: Any, request: dict[str, Any]) -> dict[str, Any]:
    """CreateTrainingJob, then DescribeTrainingJob once the job has ended, Failed included."""
    aws.sagemaker.create_training_job(**request)
    return wait_training(aws, request["TrainingJobName"])


def complete_training(aws: Any, request: dict[str, Any]) -> dict[str, Any]:
    """CreateTrainingJob, boto3's waiter (which raises on Failed), then DescribeTrainingJob."""
    name = request["TrainingJobName"]
    aws.sagemaker.create_training_job(**request)
    aws.sagemaker.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name)
    return aws.sagemaker.describe_training_job(TrainingJobName=name)


# ----------------------------------------------------------------------------- training and hosting


def train_kmeans(aws: Any, x: np.ndarray, k: int = 10, **hyperparameters: str) -> dict[str, Any]:
    """Train k-means to the end and return DescribeTrainingJob."""
    name = unique("km")
    uri = upload_recordio(aws, x, f"data/{name}")
    params = {"k": str(k), "feature_dim": str(x.shape[1]), **hyperparameters}
    return complete_training(aws, training_request(name, uri, params))


def final_metrics(job: dict[str, Any]) -> dict[str, float]:
    return {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])}


def log_events(aws: Any, stream: str, group: str = LOG_GROUP) -> list[dict[str, Any]]:
    """Every event of a stream, paged as the SDK pages it (until the forward token repeats)."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    while True:
        page = aws.logs.get_log_events(**kwargs)
        events += page["events"]
        if not page["events"] or page.get("nextForwardToken") in (None, kwargs.get("nextToken")):
            return events
        kwargs["nextToken"] = page["nextForwardToken"]


def create_model_and_config(aws: Any, name: str, model_uri: str, image: str = KMEANS_IMAGE) -> None:
    """A model and an endpoint config of one AllTraffic variant, both called ``name``."""
    aws.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image, "ModelDataUrl": model_uri})
    aws.sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=production_variants(name))


def deploy(aws: Any, model_uri: str, image: str = KMEANS_IMAGE) -> str:
    """Model + endpoint config + endpoint, InService; returns the shared name."""
    name = unique("ep")
    create_model_and_config(aws, name, model_uri, image)
    aws.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    aws.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name)
    return name


def csv_rows(x: np.ndarray) -> str:
    return "\n".join(",".join(f"{v:.6g}" for v in row) for row in x)


# ----------------------------------------------------------------------------- monitoring

MONITOR_IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


def embedded_config(endpoint: str, cron: str = "cron(0 * ? * * *)") -> dict[str, Any]:
    """A schedule config with its job definition inline (what SDK 2.x ``ModelMonitor`` sends)."""
    return {
        "ScheduleConfig": {"ScheduleExpression": cron},
        "MonitoringJobDefinition": {
            "MonitoringInputs": [{"EndpointInput": {"EndpointName": endpoint, "LocalPath": "/opt/ml/processing/input"}}],
            "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {
                "S3Uri": f"s3://{BUCKET}/monitoring/{endpoint}", "LocalPath": "/opt/ml/processing/output"}}]},
            "MonitoringResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
            "MonitoringAppSpecification": {"ImageUri": MONITOR_IMAGE},
            "RoleArn": ROLE,
        },
    }


def write_lab_language(settings_dir: "Path", locale: str) -> None:
    """JupyterLab's language choice, written as its Settings menu does (raw JSON5 text, comments kept)."""
    import json

    target = settings_dir / "@jupyterlab" / "translation-extension" / "plugin.jupyterlab-settings"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text('{\n    // Language\n    "locale": ' + json.dumps(locale) + ",\n}\n", encoding="utf-8")


def english_left(texts: "list[str] | str", language: str) -> list[str]:
    """The kernel catalog's English messages that a reader of ``language`` ("fr", "zh_TW") still sees in ``texts``.

    ``texts`` is what is shown: the visible text nodes of a rendered output, or one block of printed text.
    Every message whose translation differs from its English source is looked for as it would be
    printed, its ``{placeholders}`` standing for any text and its spaces for any run of whitespace (help
    text is wrapped): a message of two words or more anywhere in a text; a one-word message ("Delete",
    "{cost} so far" has two) only as a whole text node, so a word inside a name or a code example does
    not count. No allow-list: a new message is checked the day it is added to the catalog.
    """
    import re

    from sm_magics import i18n

    nodes = [texts] if isinstance(texts, str) else list(texts)
    nodes = [" ".join(node.split()) for node in nodes if node and node.strip()]
    found: list[str] = []
    for source, translated in _catalog_pairs(i18n.CATALOGS[language]):
        if source.strip() == translated.strip():
            continue
        literal = re.split(r"\{[^{}]*\}", " ".join(source.replace("%%", "%").split()))  # "%%" prints as "%" (argparse help)
        words = re.findall(r"[A-Za-z]{2,}", " ".join(literal))
        if not words:
            continue
        # a space may be any whitespace, and a hyphen may end a wrapped line ("algorithm-\ndate-time")
        pattern = ".+?".join(r"\s+".join(re.escape(word).replace(r"\-", r"-\s*") for word in part.split(" ")) for part in literal)
        if len(words) >= 2:
            hit = any(re.search(rf"(?<![\w]){pattern}(?![\w])", node) for node in nodes)
        else:
            hit = any(re.fullmatch(pattern.strip(), node) for node in nodes)
        if hit:
            found.append(source)
    return found


def _catalog_pairs(folder: str) -> list[tuple[str, str]]:
    """(English, translation) of every message of one kernel catalog, plural forms paired one by one."""
    from babel.messages.pofile import read_po

    from sm_magics import i18n

    with (i18n.LOCALE_DIR / folder / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("rb") as handle:
        catalog = read_po(handle, locale=folder)
    pairs: list[tuple[str, str]] = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        if isinstance(message.id, tuple):
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            pairs += [(message.id[0], strings[0]), (message.id[1], strings[-1])]
        else:
            pairs.append((message.id, message.string))
    return pairs
