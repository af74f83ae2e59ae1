"""What survives ``local stop`` / ``local start``: SageMaker state, S3 objects, CloudWatch logs.

SageMaker state is small and written (atomically) shortly after every change,
so even a killed engine keeps its jobs and endpoints. S3 objects and logs live
in moto's memory and are written at a clean stop; object files are named by
bucket, key and ETag so an unchanged object is never written twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from . import moto_services


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_json(path: Path, document: Any) -> None:
    atomic_write(path, json.dumps(document, indent=1, sort_keys=True).encode())


def load_json(path: Path) -> Any:
    if not path.exists():
        return None
    return json.loads(path.read_text())


# ---------------------------------------------------------------------------- S3


def save_s3(directory: Path) -> int:
    backend = moto_services.s3_backend()
    objects_dir = directory / "objects"
    objects_dir.mkdir(parents=True, exist_ok=True)
    index, keep = [], set()
    for bucket_name, bucket in list(backend.buckets.items()):
        entry = {"bucket": bucket_name, "region": bucket.region_name, "objects": []}
        for key_name, key in list(bucket.keys.items()):
            digest = hashlib.sha256(f"{bucket_name}/{key_name}/{key.etag}".encode()).hexdigest()[:32]
            path = objects_dir / digest
            if not path.exists():
                atomic_write(path, key.value)
            keep.add(digest)
            entry["objects"].append({"key": key_name, "file": digest, "metadata": dict(key.metadata)})
        index.append(entry)
    save_json(directory / "index.json", index)
    for stale in objects_dir.iterdir():
        if stale.name not in keep:
            stale.unlink(missing_ok=True)
    return sum(len(e["objects"]) for e in index)


def restore_s3(directory: Path) -> int:
    index = load_json(directory / "index.json") or []
    backend = moto_services.s3_backend()
    count = 0
    for entry in index:
        if entry["bucket"] not in backend.buckets:
            backend.create_bucket(entry["bucket"], entry["region"])
        for obj in entry["objects"]:
            path = directory / "objects" / obj["file"]
            if not path.exists():
                continue
            stored = backend.put_object(entry["bucket"], obj["key"], path.read_bytes(), disable_notification=True)
            if obj.get("metadata"):
                stored.set_metadata(dict(obj["metadata"]))
            count += 1
    return count


# -------------------------------------------------------------------------- logs


def save_logs(path: Path, regions: list[str]) -> None:
    document: dict[str, Any] = {}
    for region in regions:
        backend = moto_services.logs_backend(region)
        groups = {}
        for group_name, group in list(backend.groups.items()):
            groups[group_name] = {
                stream_name: [[event.timestamp, event.message] for event in stream.events]
                for stream_name, stream in list(group.streams.items())
            }
        document[region] = groups
    save_json(path, document)


def restore_logs(path: Path) -> None:
    document = load_json(path) or {}
    writer = moto_services.LogsWriter()
    for region, groups in document.items():
        backend = moto_services.logs_backend(region)
        for group_name, streams in groups.items():
            writer.create_stream_group(group_name, region)
            for stream_name, events in streams.items():
                group = backend.groups[group_name]
                if stream_name not in group.streams:
                    backend.create_log_stream(group_name, stream_name)
                if events:
                    # the stream's own method: the backend's refuses events older than 14 days
                    group.streams[stream_name].put_log_events([{"timestamp": ts, "message": m} for ts, m in events])
