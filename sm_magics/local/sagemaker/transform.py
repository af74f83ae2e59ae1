"""Batch transform: score every object under an S3 prefix with a model, no endpoint left running.

The model is loaded as an endpoint would load it; each input object is split
(Line / RecordIO / None), packed into requests (MultiRecord up to
MaxPayloadInMB, or SingleRecord), answered by the model, and the answers are
joined (AssembleWith Line adds a newline between them) into
``<S3OutputPath>/<input key relative to the prefix>.out``, as SageMaker does.
A job's ``DataProcessing`` (input filter, join with the input, output filter)
is checked at CreateTransformJob and applied record by record
(``data_processing``).
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from ...formats import recordio
from .. import moto_services, settings
from ..algorithms.base import ModelRequestError
from .data_processing import CSV, DataProcessing, RecordError
from .paging import paginate
from .records import failure_reason, utcnow
from .exceptions import ResourceInUse, ValidationException, could_not_find

if TYPE_CHECKING:
    from .ports import RegionState


@dataclass
class TransformJob:
    doc: dict[str, Any]
    stop_requested: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    processing: DataProcessing | None = None  # None: records go to the model as they are, answers come back as they are


def split_records(data: bytes, split: str) -> list[bytes]:
    if split == "Line":
        return [line for line in data.splitlines(keepends=True) if line.strip()]
    if split == "RecordIO":
        return recordio.split_records(data)  # the shared reader: one piece per record, split records whole
    return [data]


def batches(records: list[bytes], strategy: str, max_bytes: int, terminator: bytes = b"") -> Iterator[tuple[bytes, int]]:
    """Request bodies and how many records each carries: one each, or as many as fit MaxPayloadInMB.

    ``terminator`` ends each record in the body (records split off without their line endings).
    A record larger than ``max_bytes`` goes alone (the caller refuses it). The cut points come
    from one cumulative sum, so the records are not walked one by one in Python.
    """
    if strategy == "SingleRecord":
        for record in records:
            yield record + terminator, 1
        return
    ends = np.cumsum(np.fromiter(map(len, records), dtype=np.int64, count=len(records)) + len(terminator))
    start = 0
    while start < len(records):
        base = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, base + max_bytes, side="right")), start + 1)
        chunk = records[start:stop]
        yield (terminator.join(chunk) + terminator if terminator else b"".join(chunk)), stop - start
        start = stop


class TransformService:
    def __init__(self, backend: "RegionState") -> None:
        self.backend = backend
        self.jobs: dict[str, TransformJob] = {}

    def create(self, request: dict[str, Any]) -> dict[str, Any]:
        backend = self.backend
        name = request["TransformJobName"]
        arn = backend.arn("transform-job", name)
        source = request["TransformInput"]["DataSource"].get("S3DataSource")
        if source is None:
            raise ValidationException("TransformInput.DataSource.S3DataSource is required by the local engine")
        source.setdefault("S3DataType", "S3Prefix")
        if source["S3DataType"] not in ("S3Prefix", "ManifestFile"):
            raise ValidationException(f"S3DataType {source['S3DataType']} is not supported for batch transform; use S3Prefix or ManifestFile")
        with backend.lock:
            if request["ModelName"] not in backend.models:
                raise could_not_find("model", backend.arn("model", request["ModelName"]))
            model = copy.deepcopy(backend.models[request["ModelName"]])
        payload_mb = request.get("MaxPayloadInMB", 6)
        if payload_mb > 100:
            raise ValidationException("MaxPayloadInMB must be less than or equal to 100")
        now = utcnow()
        transform_input = {"CompressionType": "None", "SplitType": "None", **request["TransformInput"]}
        transform_output = {"AssembleWith": "None", **request["TransformOutput"]}
        processing = DataProcessing.from_request(request.get("DataProcessing"), transform_input, transform_output.get("Accept"))
        if processing is not None and processing.input_format == CSV and transform_output["AssembleWith"] != "Line":
            raise ValidationException(
                f"For text/csv input, DataProcessing needs TransformOutput.AssembleWith Line (it is {transform_output['AssembleWith']})"
            )
        doc: dict[str, Any] = {
            "TransformJobName": name,
            "TransformJobArn": arn,
            "TransformJobStatus": "InProgress",
            "ModelName": request["ModelName"],
            "MaxConcurrentTransforms": request.get("MaxConcurrentTransforms", 1),
            "MaxPayloadInMB": payload_mb,
            "BatchStrategy": request.get("BatchStrategy", "MultiRecord"),
            "Environment": request.get("Environment", {}),
            "TransformInput": transform_input,
            "TransformOutput": transform_output,
            "TransformResources": request["TransformResources"],
            "CreationTime": now,
        }
        for optional in ("DataProcessing", "ModelClientConfig", "DataCaptureConfig"):
            if request.get(optional):
                doc[optional] = request[optional]
        job = TransformJob(doc, processing=processing)
        with backend.changing(("transform-job", name), ("tags", arn)):
            if name in self.jobs:
                raise ResourceInUse(f"Transform job names must be unique within an AWS account and region ({arn})")
            self.jobs[name] = job
            backend.set_tags(arn, request.get("Tags") or [])
        threading.Thread(target=self._run, args=(job, model), daemon=True, name=f"transform {name}").start()
        job.done.wait(settings.SYNC_SECONDS)
        return {"TransformJobArn": arn}

    def _log(self, job: TransformJob, line: str) -> None:
        epoch = int(job.doc["CreationTime"].timestamp())
        self.backend.platform.logs.write(
            "/aws/sagemaker/TransformJobs", f"{job.doc['TransformJobName']}/i-local-{epoch}", [line], self.backend.region
        )

    def _run(self, job: TransformJob, model: dict[str, Any]) -> None:
        doc = job.doc
        failure = None
        try:
            with self.backend.lock:
                doc["TransformStartTime"] = utcnow()
            hosted = self.backend.platform.hosting.load(model)
            objects = self._inputs(doc["TransformInput"]["DataSource"]["S3DataSource"])
            if not objects:
                raise ValueError(f"No objects found under {doc['TransformInput']['DataSource']['S3DataSource']['S3Uri']}")
            output = doc["TransformOutput"]
            out_bucket, _, out_prefix = output["S3OutputPath"][5:].partition("/")
            content_type = doc["TransformInput"].get("ContentType", "application/octet-stream")
            joiner = b"\n" if output["AssembleWith"] == "Line" else b""
            for bucket, key, relative in objects:
                if job.stop_requested.is_set():
                    break
                data = moto_services.read_object(bucket, key)
                where = f"s3://{bucket}/{key}"
                answer = self._answerer(job, hosted, content_type, where)
                if job.processing is None:
                    records = split_records(data, doc["TransformInput"]["SplitType"])
                    answers = answer(records, b"")
                    answers = [a.rstrip(b"\n") for a in answers] if joiner else answers
                else:
                    split = doc["TransformInput"]["SplitType"]
                    records = job.processing.records(data, split)
                    try:
                        answers = job.processing.apply(records, lambda inputs: answer(inputs, b"\n" if split == "Line" else b""))
                    except RecordError as exc:
                        raise ValueError(f"{where}: {exc}") from None
                    if not job.processing.per_record and joiner:
                        answers = [a.rstrip(b"\n") for a in answers]
                result = joiner.join(answers) + (b"\n" if joiner and answers else b"")
                target = f"{out_prefix.rstrip('/')}/{relative}.out".lstrip("/")
                moto_services.put_object(out_bucket, target, result, region=self.backend.region)
                self._log(job, f"s3://{bucket}/{key}: {len(records)} record(s) -> s3://{out_bucket}/{target}")
        except Exception as exc:  # a bad input, model or output location fails the job, never the engine
            failure = f"ClientError: {exc}"
            self._log(job, failure)
        with self.backend.lock:
            if failure:
                doc.update(TransformJobStatus="Failed", FailureReason=failure_reason(failure))
            else:
                doc["TransformJobStatus"] = "Stopped" if job.stop_requested.is_set() else "Completed"
            doc["TransformEndTime"] = utcnow()
            self.backend.save_quietly(("transform-job", doc["TransformJobName"]))
        job.done.set()

    @staticmethod
    def _answerer(job: TransformJob, hosted: Any, content_type: str, where: str) -> Callable[[list[bytes], bytes], list[bytes]]:
        """The model as a function of records: requests batched as the job says, answers split per record when a join needs them."""
        doc = job.doc
        max_bytes = doc["MaxPayloadInMB"] * 1024 * 1024
        accept = doc["TransformOutput"].get("Accept")
        per_record = job.processing is not None and job.processing.per_record

        def answer(records: list[bytes], terminator: bytes) -> list[bytes]:
            answers: list[bytes] = []
            for payload, count in batches(records, doc["BatchStrategy"], max_bytes, terminator):
                if len(payload) > max_bytes:
                    raise ValueError(f"a record of {where} is larger than MaxPayloadInMB ({doc['MaxPayloadInMB']} MB)")
                try:
                    body, _ = hosted.invoke(payload, content_type, accept)
                except ModelRequestError as exc:
                    raise ValueError(f"the model answered {exc.status} for {where}: {exc.message}") from None
                if per_record:
                    try:
                        answers.extend(job.processing.split_answer(body, count))  # type: ignore[union-attr]
                    except RecordError as exc:
                        raise ValueError(f"{where}: {exc}") from None
                else:
                    answers.append(body)
            return answers

        return answer

    @staticmethod
    def _inputs(source: dict[str, Any]) -> list[tuple[str, str, str]]:
        """(bucket, key, key relative to the input prefix) for every input object."""
        uri = source["S3Uri"]
        bucket, _, prefix = uri[5:].partition("/")
        if source["S3DataType"] == "ManifestFile":
            manifest = json.loads(moto_services.read_object(bucket, prefix))
            base = manifest[0]["prefix"] if manifest and isinstance(manifest[0], dict) else ""
            base_bucket, _, base_key = base[5:].partition("/")
            return [(base_bucket, base_key + name, name) for name in manifest[1:]]
        backend = moto_services.s3_backend()
        if bucket not in backend.buckets:
            raise ValueError(f"the bucket of {uri} does not exist")
        keys = sorted(k for k in backend.buckets[bucket].keys.keys() if k.startswith(prefix) and not k.endswith("/"))
        return [(bucket, key, key[len(prefix):].lstrip("/") or key.rsplit("/", 1)[-1]) for key in keys]

    def _job(self, name: str) -> TransformJob:
        job = self.jobs.get(name)
        if job is None:
            raise ValidationException(f"Could not find requested job with name {name}")
        return job

    def describe(self, name: str) -> dict[str, Any]:
        with self.backend.lock:
            return copy.deepcopy(self._job(name).doc)

    def stop(self, name: str) -> None:
        with self.backend.changing(("transform-job", name)):
            job = self._job(name)
            if job.doc["TransformJobStatus"] != "InProgress":
                raise ValidationException(f"The request was rejected because the transform job is in status {job.doc['TransformJobStatus']}.")
            job.doc["TransformJobStatus"] = "Stopping"
        job.stop_requested.set()

    def list(self, request: dict[str, Any]) -> dict[str, Any]:

        with self.backend.lock:
            page, token = paginate([j.doc for j in self.jobs.values()], request, "TransformJobName", "TransformJobStatus")
            keys = ("TransformJobName", "TransformJobArn", "CreationTime", "TransformEndTime", "TransformJobStatus", "FailureReason")
            return {"TransformJobSummaries": copy.deepcopy([{k: d[k] for k in keys if k in d} for d in page]), "NextToken": token}

    def restore(self, docs: list[dict[str, Any]]) -> list[str]:
        """Bring back stored transform jobs; returns the names of those failed by the restart."""
        failed = []
        for doc in docs:
            if doc["TransformJobStatus"] in ("InProgress", "Stopping"):
                doc.update(TransformJobStatus="Failed", FailureReason="InternalServerError: the local engine was stopped while this job was running")
                failed.append(doc["TransformJobName"])
            job = TransformJob(doc)
            job.done.set()
            self.jobs[doc["TransformJobName"]] = job
        return failed
