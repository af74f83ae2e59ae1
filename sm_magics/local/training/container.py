"""One training host ("algo-N"), run in its own process like SageMaker's container.

It sees the engine only as a container sees AWS: it downloads its channels
from S3 over HTTP (sharded by key when asked), trains, and algo-1 gathers the
other hosts' partial results, writes the model files and uploads
``model.tar.gz``. Everything it has to say (status, log lines, metrics, the
outcome) goes to the supervisor through ``events``.

A host never outlives the engine (``lifeline``), and the leader never waits
for good on a peer that died: it waits for partial results in short slices
and between them looks whether the peers that still owe one are alive.
"""

from __future__ import annotations

import io
import json
import os
import queue
import shutil
import tarfile
import time
import traceback
from pathlib import Path
from typing import Any

from ..algorithms import algorithm_named
from ..algorithms.base import AlgorithmError, Channel, ClientError, TrainingContext
from . import lifeline

# how long the leader waits for a partial result before it looks at its peers again
GATHER_SLICE_SECONDS = 1.0


def run_host(spec: dict[str, Any], host_index: int, events: Any, gather: Any, engine_lifeline: Any, peers: Any) -> None:
    """Entry point of a host process.

    ``gather`` carries (host index, partial result) from the other hosts to
    algo-1; ``peers`` is a shared array of the hosts' pids (0 until known),
    algo-N at index N-1; ``engine_lifeline`` is the read end of the engine's
    lifeline pipe.
    """
    lifeline.tie_to_engine(engine_lifeline)
    host = f"algo-{host_index}"
    pid = os.getpid()

    def log(message: str) -> None:
        stamp = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime())
        for line in str(message).splitlines() or [""]:
            events.put(("log", host_index, f"[{stamp} INFO {pid}] {line}"))

    def metric(name: str, value: float) -> None:
        events.put(("metric", name, float(value)))

    leader = host_index == 1
    work = Path(spec["work_dir"]) / host
    try:
        algorithm = algorithm_named(spec["algorithm"], spec.get("version", "1"))
        log(f"Reading default configuration of {algorithm.name} (local engine)")
        log(f"Merging with provided configuration: {spec['hyperparameters']}")
        params = algorithm.validate(spec["hyperparameters"])
        log(f"Final configuration: {json.dumps(params, default=str)}")
        algorithm.check_channels([c["name"] for c in spec["channels"]])
        if leader:
            events.put(("status", "Downloading", "Downloading input data"))
        s3 = _s3_client(spec)
        channels = {
            c["name"]: Channel(c["name"], _download_channel(s3, c, host_index, spec["instance_count"], work), c.get("content_type"))
            for c in spec["channels"]
        }
        if leader:
            events.put(("status", "Training", "Training image download completed. Training in progress."))
        model_dir = work / "model"
        model_dir.mkdir(parents=True, exist_ok=True)
        ctx = TrainingContext(
            job_name=spec["job_name"],
            hyperparameters=spec["hyperparameters"],
            channels=channels,
            host_index=host_index,
            host_count=spec["instance_count"],
            model_dir=model_dir,
            log=log,
            metric=metric if leader else (lambda name, value: None),
        )
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=spec.get("threads")):
            partial = algorithm.train_host(ctx, params)
        if not leader:
            gather.put((host_index, partial))
            log("Sent this host's state to algo-1")
            return
        partials = [partial] + _gather_partials(gather, peers, spec["instance_count"])
        with threadpool_limits(limits=spec.get("threads")):
            algorithm.finish(ctx, params, partials)
        events.put(("status", "Uploading", "Uploading generated training model"))
        _upload_model(s3, model_dir, spec["model_uri"])
        log(f"#progress_metric: host={host}, completed 100.0 % of epochs")
        events.put(("completed", spec["model_uri"]))
    except ClientError as exc:
        log(f"Customer Error: {exc}")
        events.put(("failed", f"ClientError: {exc}"))
    except AlgorithmError as exc:
        log(f"Algorithm Error: {exc}")
        events.put(("failed", f"AlgorithmError: {exc}"))
    except Exception as exc:  # a crash of the algorithm itself
        log(traceback.format_exc())
        events.put(("failed", f"AlgorithmError: {type(exc).__name__}: {exc}"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _gather_partials(gather: Any, peers: Any, host_count: int) -> list[Any]:
    """The partial results of algo-2..algo-N, in host order; AlgorithmError if a host died without sending its own."""
    received: dict[int, Any] = {}
    while len(received) < host_count - 1:
        try:
            index, partial = gather.get(timeout=GATHER_SLICE_SECONDS)
            received[index] = partial
            continue
        except queue.Empty:
            pass
        gone = [index for index in range(2, host_count + 1) if index not in received and _gone(peers[index - 1])]
        if gone:
            # a host that sent its result and then ended has that result in the pipe by now (its queue is
            # flushed before its process ends): take what is there before calling anyone dead
            try:
                while True:
                    index, partial = gather.get(timeout=0.2)
                    received[index] = partial
            except queue.Empty:
                pass
            gone = [index for index in gone if index not in received]
            if gone:
                names = ", ".join(f"algo-{index}" for index in gone)
                raise AlgorithmError(f"{names} exited before sending {'its' if len(gone) == 1 else 'their'} results to algo-1")
    return [received[index] for index in sorted(received)]


def _gone(pid: int) -> bool:
    if not pid:  # not known yet: the host is still being started
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _s3_client(spec: dict[str, Any]) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=spec["endpoint_url"],
        region_name=spec["region"],
        aws_access_key_id=spec["credentials"][0],
        aws_secret_access_key=spec["credentials"][1],
        aws_session_token=spec["credentials"][2],
        config=Config(retries={"max_attempts": 2}),
    )


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ClientError(f"S3Uri must start with s3://, got {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def _list_objects(s3: Any, channel: dict[str, Any]) -> list[tuple[str, str]]:
    bucket, prefix = _split(channel["s3_uri"])
    if channel["s3_data_type"] == "ManifestFile":
        try:
            manifest = json.loads(s3.get_object(Bucket=bucket, Key=prefix)["Body"].read())
        except Exception as exc:
            raise ClientError(f"Unable to read the manifest file {channel['s3_uri']} of channel '{channel['name']}': {exc}") from None
        base = manifest[0]["prefix"] if manifest and isinstance(manifest[0], dict) else ""
        base_bucket, base_key = _split(base) if base else (bucket, "")
        return [(base_bucket, base_key + name) for name in manifest[1:]]
    if channel["s3_data_type"] != "S3Prefix":
        raise ClientError(f"S3DataType {channel['s3_data_type']} is not supported by the local engine; use S3Prefix or ManifestFile")
    found: list[tuple[str, str]] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found += [(bucket, obj["Key"]) for obj in page.get("Contents", []) if not obj["Key"].endswith("/")]
    except s3.exceptions.NoSuchBucket:
        raise ClientError(f"Data download failed: the bucket of {channel['s3_uri']} (channel '{channel['name']}') does not exist") from None
    return sorted(found)


def _download_channel(s3: Any, channel: dict[str, Any], host_index: int, host_count: int, work: Path) -> list[Path]:
    objects = _list_objects(s3, channel)
    if not objects:
        raise ClientError(f"No data in channel '{channel['name']}': no objects under {channel['s3_uri']}")
    if channel.get("distribution") == "ShardedByS3Key":
        objects = objects[host_index - 1 :: host_count]
    target = work / "input" / "data" / channel["name"]
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, (bucket, key) in enumerate(objects):
        path = target / f"{index:05d}-{Path(key).name}"
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        except s3.exceptions.NoSuchKey:
            raise ClientError(f"Data download failed: s3://{bucket}/{key} (channel '{channel['name']}') does not exist") from None
        with path.open("wb") as out:
            shutil.copyfileobj(body, out, length=8 << 20)
        paths.append(path)
    return paths


def _upload_model(s3: Any, model_dir: Path, model_uri: str) -> None:
    """model.tar.gz with flat members, owner root and mode 0644, as the real containers write it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            info = tarfile.TarInfo(path.name)
            data = path.read_bytes()
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), 0o644, 0, 0, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    bucket, key = _split(model_uri)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
