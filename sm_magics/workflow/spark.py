"""Spark DataFrames in and out of SageMaker, with the executors moving the data.

A DataFrame with a vector ``features`` column (and an optional numeric ``label``),
as ``spark.read.format("libsvm")`` or a ``VectorAssembler`` makes it, becomes a
channel of one S3 object per (non-empty) partition: each executor encodes its own
partition (RecordIO-protobuf, or CSV with the label first for XGBoost) and puts it
under the channel's prefix itself, so nothing is collected to the driver and the
upload grows with the cluster. Batch-transform output comes back the same way:
each executor reads the answers for its own partition and the rows leave with the
algorithm's output columns appended (``projection``; ``closest_cluster`` and
``distance_to_cluster``), as the SageMaker Spark library's transformers add them.

Why boto3 in ``mapPartitions`` and not Spark's own s3a writer: s3a needs the
hadoop-aws and AWS SDK jars, matched to Spark's Hadoop version, fetched from
Maven (not reachable on this project's machines, and a per-cluster chore
elsewhere); it could also not produce RecordIO-protobuf. The executors need only
boto3 and sm_magics (installed on the cluster, or shipped with ``--py-files``).
They get the backend's credentials and endpoint URL in the task closure (on the
local engine, the engine's own keys and address; on AWS the driver's current,
possibly temporary, credentials, which must outlive the write).

Nothing half-written is left: the cheap checks (the column, one vector size,
finite values, labels) run as one aggregation before the first byte is written,
and a write that fails part-way deletes every object under the channel's fresh
prefix before the error is raised. pyspark is imported lazily: everything else in
sm_magics works without it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..i18n import _
from .algorithms import AlgorithmInfo
from .data import DataError, PreparedChannel

FEATURES, LABEL = "features", "label"
RECORDIO = "application/x-recordio-protobuf"
CSV = "text/csv"
CHUNK_ROWS = 4096  # rows an executor encodes at once: bounds its memory beyond the spooled object
SPOOL_BYTES = 64 << 20  # an encoded partition larger than this spills to the executor's disk before upload


def is_spark_dataframe(value: Any) -> bool:
    """True for a (classic) PySpark DataFrame, judged without importing pyspark."""
    cls = type(value)
    return cls.__name__ == "DataFrame" and cls.__module__.startswith("pyspark.sql")


@dataclass(frozen=True)
class S3Target:
    """Where a task writes or reads, and how it reaches S3: plain strings, so it pickles into the closure."""

    bucket: str
    prefix: str  # no trailing slash
    region: str
    endpoint_url: str | None
    access_key: str
    secret_key: str
    token: str | None = None

    @classmethod
    def of(cls, backend: Any, bucket: str, prefix: str) -> "S3Target":
        credentials = backend.session.get_credentials().get_frozen_credentials()
        return cls(bucket, prefix.rstrip("/"), backend.region, backend.endpoint_url, credentials.access_key,
                   credentials.secret_key, credentials.token)

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client("s3", region_name=self.region, endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, aws_session_token=self.token,
                            config=Config(retries={"mode": "standard", "max_attempts": 4}))

    def key(self, index: int, extension: str) -> str:
        return f"{self.prefix}/part-{index:05d}.{extension}"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/"

    def __repr__(self) -> str:  # never print the keys
        return f"S3Target({self.uri})"


@dataclass
class SparkChannel(PreparedChannel):
    """A channel whose data is still in Spark: checked, not yet written (``write`` does that)."""

    frame: Any = None
    has_label: bool = False
    partitions: int = 0
    data_format: str = "recordio"  # or "csv" (XGBoost: label first, no header)
    keys: list[str] = field(default_factory=list)  # the objects written, once written

    @property
    def extension(self) -> str:
        return "csv" if self.data_format == "csv" else "pbr"


def inspect(frame: Any, what: str, *, data_format: str = "recordio", labels: str = "optional") -> SparkChannel:
    """Check a DataFrame in one aggregation pass and describe it; raises DataError (one line) with what to fix.

    ``labels``: "required" (Linear Learner, XGBoost), "optional" (written when the frame has a label
    column), or "none" (never written: transform input).
    """
    import pyspark.sql.functions as F
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql.types import BooleanType, NumericType

    columns = list(frame.columns)
    if FEATURES not in columns:
        raise DataError(_("{what} is a Spark DataFrame without a '{column}' column (it has {columns}); "
                          "make one with pyspark.ml.feature.VectorAssembler(inputCols=[...], outputCol='{column}')").format(
                            what=what, column=FEATURES, columns=", ".join(columns) or _("none")))
    kind = frame.schema[FEATURES].dataType
    if type(kind).__name__ != "VectorUDT":
        raise DataError(_("{what}: column '{column}' is {type}, not a vector; "
                          "make it with VectorAssembler or read the data with spark.read.format('libsvm')").format(
                            what=what, column=FEATURES, type=kind.simpleString()))
    has_label = LABEL in columns and labels != "none"
    if has_label and not isinstance(frame.schema[LABEL].dataType, (NumericType, BooleanType)):
        raise DataError(_("{what}: column '{column}' is {type}; labels must be numbers").format(
            what=what, column=LABEL, type=frame.schema[LABEL].dataType.simpleString()))
    if labels == "required" and not has_label:
        raise DataError(_("{what} needs labels: add a numeric '{column}' column to the Spark DataFrame").format(what=what, column=LABEL))
    values = vector_to_array(F.col(FEATURES))
    size = F.size(values)
    bad_value = F.exists(values, lambda v: F.isnan(v) | (F.abs(v) == F.lit(float("inf"))))
    counts = [F.count(F.lit(1)).alias("rows"), F.min(size).alias("low"), F.max(size).alias("high"),
              F.sum(F.when(F.col(FEATURES).isNull(), 1).otherwise(0)).alias("null"),
              F.sum(F.when(bad_value, 1).otherwise(0)).alias("bad")]
    if has_label:
        label = F.col(LABEL).cast("double")
        counts.append(F.sum(F.when(label.isNull() | F.isnan(label) | (F.abs(label) == F.lit(float("inf"))), 1).otherwise(0))
                      .alias("bad_label"))
    stats = frame.agg(*counts).first().asDict()
    if not stats["rows"]:
        raise DataError(_("{what} is an empty Spark DataFrame").format(what=what))
    if stats["null"]:
        raise DataError(_("{what}: {count} row(s) have no '{column}' vector (null); drop them (.dropna())").format(
            what=what, count=stats["null"], column=FEATURES))
    if stats["low"] != stats["high"]:
        raise DataError(_("{what}: the '{column}' vectors have different sizes (from {low} to {high}); "
                          "every row needs the same number of features").format(
                            what=what, column=FEATURES, low=stats["low"], high=stats["high"]))
    if stats["bad"]:
        raise DataError(_("{what}: {count} row(s) hold NaN/infinite features; impute or drop them").format(what=what, count=stats["bad"]))
    if has_label and stats["bad_label"]:
        raise DataError(_("{what}: {count} row(s) have a missing, NaN or infinite '{column}'").format(
            what=what, count=stats["bad_label"], column=LABEL))
    content_type = CSV if data_format == "csv" else RECORDIO
    return SparkChannel(name="", body=None, s3_uri=None, content_type=content_type, rows=int(stats["rows"]),
                        features=int(stats["low"]), frame=frame, has_label=has_label,
                        partitions=frame.rdd.getNumPartitions(), data_format=data_format)


def prepare_channel(info: AlgorithmInfo, name: str, frame: Any) -> SparkChannel:
    """A training channel from a DataFrame, checked (nothing is written yet)."""
    if name not in info.channels:
        raise DataError(_("{algorithm} has no '{name}' channel; it reads {channels}").format(
            algorithm=info.name, name=name, channels=", ".join(info.channels)))
    channel = inspect(frame, _("channel '{name}'").format(name=name), data_format=info.data_format, labels=info.labels)
    channel.name = name
    return channel


# ----------------------------------------------------------------------------- writing (on the executors)


def _encode(features: list[list[float]], labels: list[float] | None, data_format: str) -> bytes:
    x = np.array(features, dtype=np.float32)
    y = np.asarray(labels, dtype=np.float32) if labels is not None else None
    if data_format == "csv":
        import io

        table = x if y is None else np.column_stack([y, x])
        out = io.BytesIO()
        np.savetxt(out, table, fmt="%.9g", delimiter=",")
        return out.getvalue()
    from ..formats import recordio

    return recordio.encode_dense(x, y) if y is not None else recordio.encode_dense(x)


def _write_partition(index: int, rows: Iterable[Any], *, target: S3Target, extension: str, data_format: str,
                     has_label: bool) -> Iterator[tuple[int, str, int]]:
    """One task: encode this partition in chunks into a spooled file, then put it as one object."""
    import tempfile

    count = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        features: list[list[float]] = []
        labels: list[float] | None = [] if has_label else None
        for row in rows:
            features.append(row[0])  # a plain list: the vector was turned into float32 values by the JVM
            if labels is not None:
                labels.append(float(row[1]))
            if len(features) == CHUNK_ROWS:
                spool.write(_encode(features, labels, data_format))
                count += len(features)
                features, labels = [], ([] if has_label else None)
        if features:
            spool.write(_encode(features, labels, data_format))
            count += len(features)
        if not count:
            return  # an empty partition is no shard: a host given only it would have nothing to read
        spool.seek(0)
        from boto3.s3.transfer import TransferConfig

        key = target.key(index, extension)
        target.client().upload_fileobj(spool, target.bucket, key, Config=TransferConfig(multipart_threshold=SPOOL_BYTES))
    yield index, key, count


def write(channel: SparkChannel, target: S3Target) -> list[str]:
    """Each partition written by its executor under ``target``; returns the keys (one per non-empty partition).

    On any failure every object under the prefix is deleted before the DataError is raised.
    """
    import pyspark.sql.functions as F
    from pyspark.ml.functions import vector_to_array

    # Vectors leave the JVM as plain float32 arrays: cheaper to ship to Python than VectorUDT rows, and
    # one np.array call per chunk instead of a DenseVector per row.
    columns = [vector_to_array(F.col(FEATURES), "float32").alias(FEATURES)]
    if channel.has_label:
        columns.append(F.col(LABEL).cast("double").alias(LABEL))
    frame = channel.frame.select(*columns)
    task = functools.partial(_write_partition, target=target, extension=channel.extension, data_format=channel.data_format,
                             has_label=channel.has_label)
    try:
        written = frame.rdd.mapPartitionsWithIndex(task).collect()  # (index, key, rows): a few bytes per partition
    except Exception as exc:
        remove(target)
        cause = _cause(exc)
        if "No module named" in cause:  # the executors' Python is not this kernel's: say which knob fixes it
            raise DataError(_("channel '{name}': the Spark executors' Python cannot import what writing needs ({cause}); "
                              "install sm_magics where the executors run, or for a local session set "
                              "PYSPARK_PYTHON to this kernel's Python (sys.executable) before building it; nothing was kept").format(
                name=channel.name, cause=cause)) from None
        raise DataError(_("channel '{name}': writing its partitions to {uri} failed, nothing was kept ({cause})").format(
            name=channel.name, uri=target.uri, cause=cause)) from None
    channel.keys = [key for _index, key, _rows in sorted(written)]
    return channel.keys


def remove(target: S3Target) -> int:
    """Delete every object under the target's prefix (after a failure); returns how many went."""
    s3 = target.client()
    removed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=target.prefix + "/"):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=target.bucket, Delete={"Objects": keys, "Quiet": True})
            removed += len(keys)
    return removed


def _cause(exc: Exception) -> str:
    """The Python error an executor raised, out of Py4J's Java stack trace: its last line."""
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line.split(":", 1)[0] or "Exception" in line.split(":", 1)[0]:
            if not line.startswith(("at ", "org.apache.spark", "py4j")):
                return line[:300]
    return (lines[0] if lines else type(exc).__name__)[:300]


# ----------------------------------------------------------------------------- answers back (on the executors)


def _output_type(value: np.ndarray) -> Any:
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql.types import DoubleType

    return VectorUDT() if np.ndim(value) == 2 else DoubleType()


def output_schema(frame: Any, sample: dict[str, np.ndarray]) -> Any:
    """The input's columns, then one per output (a vector for a 2-D one such as ``projection``, else a double)."""
    from pyspark.sql.types import StructField, StructType

    taken = set(frame.columns)
    clash = [name for name in sample if name in taken]
    if clash:
        raise DataError(_("the Spark DataFrame already has column(s) {columns}, which the answers add; rename them").format(
            columns=", ".join(clash)))
    return StructType(list(frame.schema.fields) + [StructField(name, _output_type(values), True) for name, values in sample.items()])


def _joined(rows: list[Any], outputs: dict[str, np.ndarray]) -> Iterator[tuple[Any, ...]]:
    from pyspark.ml.linalg import DenseVector

    columns = []
    for values in outputs.values():
        values = np.asarray(values)
        columns.append([DenseVector(v) for v in values.astype(np.float64)] if values.ndim == 2 else values.astype(np.float64).tolist())
    for i, row in enumerate(rows):
        yield tuple(row) + tuple(column[i] for column in columns)


def _attach_partition(index: int, rows: Iterable[Any], *, answer: Callable[[int, list[Any]], dict[str, np.ndarray]]) -> Iterator[tuple[Any, ...]]:
    rows = list(rows)
    if not rows:
        return iter(())
    outputs = answer(index, rows)
    got = len(next(iter(outputs.values()))) if outputs else 0
    if got != len(rows):
        raise ValueError(_("partition {index} has {rows} rows but {got} answers: was the DataFrame recomputed differently? "
                           "cache() it before transforming").format(index=index, rows=len(rows), got=got))

    return _joined(rows, outputs)


def attach(frame: Any, answer: Callable[[int, list[Any]], dict[str, np.ndarray]], sample: dict[str, np.ndarray]) -> Any:
    """The DataFrame with the answers' columns appended, computed partition by partition on the executors."""
    schema = output_schema(frame, sample)
    rdd = frame.rdd.mapPartitionsWithIndex(functools.partial(_attach_partition, answer=answer))
    return frame.sparkSession.createDataFrame(rdd, schema)


def read_answers(index: int, rows: list[Any], *, target: S3Target, extension: str, accept: str, outputs: tuple[str, ...],
                 json_root: str) -> dict[str, np.ndarray]:
    """A transform job's answers for one partition: the ``.out`` object of the shard that partition wrote."""
    from .predictions import parse

    body = target.client().get_object(Bucket=target.bucket, Key=target.key(index, extension) + ".out")["Body"].read()
    return dict(parse(body, accept, outputs=outputs, json_root=json_root))


def invoke_answers(index: int, rows: list[Any], *, endpoint: str, target: S3Target, accept: str, outputs: tuple[str, ...],
                   json_root: str, max_bytes: int) -> dict[str, np.ndarray]:
    """An endpoint's answers for one partition's rows, sent in CSV requests under ``max_bytes`` each."""
    import boto3

    from .predictions import Predictions, parse

    runtime = boto3.client("sagemaker-runtime", region_name=target.region, endpoint_url=target.endpoint_url,
                           aws_access_key_id=target.access_key, aws_secret_access_key=target.secret_key,
                           aws_session_token=target.token)
    lines = [",".join(f"{v:.9g}" for v in row[FEATURES].toArray()) for row in rows]
    parts, chunk, size = [], [], 0
    for line in lines + [None]:  # type: ignore[list-item]
        if line is None or (chunk and size + len(line) + 1 > max_bytes):
            answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType=CSV, Accept=accept, Body="\n".join(chunk))
            parts.append(parse(answer["Body"].read(), answer["ContentType"], outputs=outputs, json_root=json_root))
            chunk, size = [], 0
        if line is not None:
            chunk.append(line)
            size += len(line) + 1
    return dict(Predictions.concat(parts))
