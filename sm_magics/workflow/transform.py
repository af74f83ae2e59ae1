"""Batch transform with the model of a training job (or a tuner's best job), its output read back as the input's kind.

``start_transform`` checks the input before anything is uploaded or created (its
shape, finite values, the number of features the model was trained on), waits for
the training job if it still runs, uploads the input (a Spark DataFrame is written
by its executors, one object per partition), creates a model and the transform
job, and returns a ``TransformJob`` handle a widget observes. ``result()`` reads
the answers back: a numpy array gives ``Predictions`` (named arrays), a pandas
DataFrame a DataFrame of outputs with its index, a Spark DataFrame the same rows
with the algorithm's output columns appended, an ``s3://`` input the output prefix.
The model made for the job is deleted once the job ends: it is an implementation
detail of the transform, not something the user deployed.
"""

from __future__ import annotations

import io
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..i18n import N_, _
from . import algorithms
from .checks import check_instance_type, check_name
from .data import DataError, as_matrix
from .endpoints import default_role
from .errors import SageMakerError
from .jobs import Handle, TrainingJob, TuningJob
from .predictions import parse
from .session import Backend

JSONLINES = "application/jsonlines"
RECORDIO = "application/x-recordio-protobuf"
CSV = "text/csv"


@dataclass
class TransformInput:
    """The user's input, checked: what kind it is, how it is sent, and (for arrays) its encoded bytes."""

    kind: str  # "numpy", "pandas", "spark" or "s3"
    content_type: str
    split: str  # "RecordIO" or "Line"
    body: bytes | None = None
    s3_uri: str | None = None
    rows: int | None = None
    features: int | None = None
    index: Any = None  # a pandas input's index, given back to the output
    spark: Any = None  # spark.SparkChannel for a Spark DataFrame
    keys: list[str] = field(default_factory=list)  # objects written for it


def check_input(info: algorithms.AlgorithmInfo, data: Any) -> TransformInput:
    """What to send, checked without AWS; raises DataError naming what to fix."""
    csv = info.data_format == "csv"
    content_type, split = (CSV, "Line") if csv else (RECORDIO, "RecordIO")
    if isinstance(data, str):
        if not data.startswith("s3://") or len(data) <= len("s3://"):
            raise DataError(_("transform input is the string {data}; give an s3:// URI, an array or a DataFrame").format(data=repr(data)))
        return TransformInput("s3", content_type, split, s3_uri=data)
    from .spark import is_spark_dataframe

    if is_spark_dataframe(data):
        from . import spark

        channel = spark.inspect(data, _("transform input"), data_format=info.data_format, labels="none")
        channel.name = "input"
        return TransformInput("spark", content_type, split, rows=channel.rows, features=channel.features, spark=channel)
    kind = "pandas" if hasattr(data, "columns") and hasattr(data, "index") else "numpy"
    matrix = as_matrix(data if np.ndim(data) != 1 else [data], _("transform input"))
    if csv:
        out = io.BytesIO()
        np.savetxt(out, matrix, fmt="%.9g", delimiter=",")
        body = out.getvalue()
    else:
        from ..formats import recordio

        body = recordio.encode_dense(matrix)
    return TransformInput(kind, content_type, split, body=body, rows=matrix.shape[0], features=matrix.shape[1],
                          index=getattr(data, "index", None) if kind == "pandas" else None)


class TransformJob(Handle):
    """A batch transform job: its status, cost so far, and its answers once Completed."""

    kind = N_("transform job")
    terminal = ("Completed", "Failed", "Stopped")

    def __init__(self, backend: Backend, name: str, algorithm: str, instance_type: str, instance_count: int,
                 data: TransformInput, output_uri: str, accept: str, model_name: str | None = None) -> None:
        super().__init__(backend, name)
        self.algorithm = algorithm
        self.instance_type = instance_type
        self.instance_count = instance_count
        self.input = data
        self.output_uri = output_uri
        self.accept = accept
        self.model_name = model_name  # made for this job, deleted when it ends
        self.price: Any = None
        self._result: Any = None

    @property
    def info(self) -> algorithms.AlgorithmInfo:
        return algorithms.ALGORITHMS[self.algorithm]

    def refresh(self) -> None:
        if self.price is None:
            self.price = self.backend.prices.hourly(self.instance_type, self.backend.region, use="BatchTransform")
        sagemaker = self.backend.client("sagemaker")
        self.describe_calls += 1
        self.description = sagemaker.describe_transform_job(TransformJobName=self.name)
        self.status = self.description["TransformJobStatus"]
        if self.settled and self.model_name:
            try:
                sagemaker.delete_model(ModelName=self.model_name)
            except Exception:
                pass  # the model holds no instance and costs nothing; the job's result does not depend on it
            self.model_name = None

    @property
    def elapsed(self) -> float:
        doc = self.description
        start = doc.get("TransformStartTime") or doc.get("CreationTime")
        if start is None:
            return time.time() - self.started
        end = doc.get("TransformEndTime")
        return (end.timestamp() if end else time.time()) - start.timestamp()

    @property
    def cost_so_far(self) -> float | None:
        return None if self.price is None else self.price.cost(self.elapsed, self.instance_count)

    def stop(self) -> None:
        self.backend.client("sagemaker").stop_transform_job(TransformJobName=self.name)

    def summary(self) -> str:
        text = _("transform job {name}: {status}").format(name=self.name, status=self.status)
        if self.status == "Failed":
            text += f" — {self.description.get('FailureReason', self.last_error or '')}"
        elif self.status == "Completed":
            text += _(" — output {uri}").format(uri=self.output_uri)
        return text

    def result(self, timeout: float | None = None) -> Any:
        """The answers, as the input's kind (waits for the job)."""
        self.wait(timeout)
        if self.status != "Completed":
            reason = self.description.get("FailureReason") or self.last_error or ""
            raise SageMakerError(_("transform job {name} is {status}").format(name=self.name, status=self.status)
                                 + (f": {reason}" if reason else ""))
        if self._result is None:
            self._result = self._read()
        return self._result

    def _read(self) -> Any:
        data, info = self.input, self.info
        if data.kind == "s3":
            return self.output_uri
        bucket, _sep, prefix = self.output_uri[len("s3://"):].partition("/")
        if data.kind == "spark":
            return self._read_spark(bucket, prefix)
        s3 = self.backend.client("s3")
        body = s3.get_object(Bucket=bucket, Key=f"{prefix}data.{_extension(data.content_type)}.out")["Body"].read()
        answers = parse(body, self.accept, outputs=info.outputs, json_root=info.json_root)
        if data.kind == "pandas":
            frame = answers.to_frame()
            frame.index = data.index
            return frame
        return answers

    def _read_spark(self, bucket: str, prefix: str) -> Any:
        import functools

        from . import spark

        info = self.info
        target = spark.S3Target.of(self.backend, bucket, prefix)
        extension = _extension(self.input.content_type)
        first = min(int(k.rsplit("part-", 1)[1].split(".")[0]) for k in self.input.keys)
        head = self.backend.client("s3").get_object(Bucket=bucket, Key=target.key(first, extension) + ".out",
                                                    Range="bytes=0-65535")["Body"].read()
        first_line = head.split(b"\n", 1)[0]  # one answer tells the output columns and their shapes
        sample = dict(parse(first_line, self.accept, outputs=info.outputs, json_root=info.json_root))
        answer = functools.partial(spark.read_answers, target=target, extension=extension, accept=self.accept,
                                   outputs=info.outputs, json_root=info.json_root)
        return spark.attach(self.input.spark.frame, answer, sample)


def _extension(content_type: str) -> str:
    return "csv" if content_type == CSV else "pbr"


def _feature_dim(job: TrainingJob | TuningJob) -> int | None:
    doc = job.description
    value = (doc.get("HyperParameters") or doc.get("TrainingJobDefinition", {}).get("StaticHyperParameters", {})).get("feature_dim")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def start_transform(backend: Backend, source: TrainingJob | TuningJob, data: Any, *, instance_type: str = "ml.m5.large",
                    instance_count: int = 1, name: str | None = None, tags: list[dict[str, str]] | None = None,
                    role: str | None = None) -> TransformJob:
    """Check, wait for the model, upload, create; raises ValueError / SageMakerError before creating anything."""
    algorithm = source.algorithm
    if algorithm not in algorithms.ALGORITHMS:
        raise SageMakerError(_("{kind} {name} is not a built-in algorithm's; sm_transform knows {algorithms}").format(
            kind=_(source.kind), name=source.name, algorithms=", ".join(algorithms.ALGORITHMS)))
    info = algorithms.ALGORITHMS[algorithm]
    if name is not None:
        check_name("transform job", name)
    check_instance_type("transform", instance_type)
    checked = check_input(info, data)
    _check_features(source, checked.features)  # what is known before waiting; again once the job is done
    job = source.best_training_job() if isinstance(source, TuningJob) else source.wait()
    if job.status != "Completed" or not job.model_artifact:
        raise SageMakerError(_("training job {name} is {status}; only a completed job's model can transform").format(
            name=job.name, status=job.status))
    _check_features(job, checked.features)
    name = name or f"{info.name}-transform-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    from .training import default_bucket

    bucket = default_bucket(backend)
    base = f"sm_magics/{name}"
    s3 = backend.client("s3")
    input_uri = checked.s3_uri
    if checked.kind == "spark":
        from . import spark

        target = spark.S3Target.of(backend, bucket, f"{base}/input")
        checked.keys = spark.write(checked.spark, target)
        input_uri = target.uri
    elif checked.body is not None:
        key = f"{base}/input/data.{_extension(checked.content_type)}"
        s3.put_object(Bucket=bucket, Key=key, Body=checked.body)
        checked.keys = [key]
        input_uri = f"s3://{bucket}/{base}/input/"
    output_uri = f"s3://{bucket}/{base}/output/"
    accept = info.accept if info.accept == CSV else JSONLINES
    sagemaker = backend.client("sagemaker")
    role = role or default_role(backend)
    handle = TransformJob(backend, name, info.name, instance_type, instance_count, checked, output_uri, accept, model_name=name)

    def create() -> None:
        made_model = False
        try:
            sagemaker.create_model(ModelName=name, ExecutionRoleArn=role, Tags=tags or [],
                                   PrimaryContainer={"Image": algorithms.image_uri(info.name, backend.region),
                                                     "ModelDataUrl": job.model_artifact})
            made_model = True
            sagemaker.create_transform_job(
                TransformJobName=name, ModelName=name, BatchStrategy="MultiRecord", MaxPayloadInMB=6,
                TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
                                "ContentType": checked.content_type, "SplitType": checked.split},
                TransformOutput={"S3OutputPath": output_uri, "Accept": accept, "AssembleWith": "Line"},
                TransformResources={"InstanceType": instance_type, "InstanceCount": instance_count},
                Tags=tags or [])
        except Exception:
            if made_model:
                sagemaker.delete_model(ModelName=name)
            handle.model_name = None
            for key in checked.keys:
                s3.delete_object(Bucket=bucket, Key=key)
            raise

    handle.launch(create)
    return handle


def _check_features(job: TrainingJob | TuningJob, data_features: int | None) -> None:
    expected = _feature_dim(job)
    if expected is not None and data_features is not None and expected != data_features:
        raise DataError(_("transform input has {features} features but training job {name} was trained on {expected}; they must match").format(
            features=data_features, name=job.name, expected=expected))

