"""Small files of the data dir (``engine.json``), and the one-time import of earlier versions' JSON snapshots.

Earlier versions kept SageMaker state in ``sagemaker.json`` (written shortly
after changes), S3 objects in ``s3/index.json`` + ``s3/objects/`` and logs in
``logs.json`` (written at a clean stop). A data dir that still has them is
imported into the store once, at start, and the files are renamed
``*.migrated`` so the import never runs twice; the store is the only
persistence from then on.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .moto_services import LogsWriter
    from .store import Store

log = logging.getLogger("sm_magics.local")


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


def migrate_legacy(data_dir: Path, store: "Store", logs: "LogsWriter") -> list[str]:
    """Import the JSON snapshots of an earlier version, if any; returns one line per thing that could not be.

    Objects go to moto's S3 (through the durable wrapper), log lines to ``store`` and ``logs``,
    SageMaker records to ``store``.
    """
    from . import durable_s3, moto_services

    problems: list[str] = []
    index_path = data_dir / "s3" / "index.json"
    if index_path.exists():
        count = 0
        backend = moto_services.s3_backend()
        for entry in load_json(index_path) or []:
            for obj in entry["objects"]:
                path = data_dir / "s3" / "objects" / obj["file"]
                if not path.exists():
                    problems.append(f"s3://{entry['bucket']}/{obj['key']}: missing from the old snapshot; not imported")
                    continue
                with durable_s3.transaction():
                    if entry["bucket"] not in backend.buckets:
                        backend.create_bucket(entry["bucket"], entry["region"])
                    stored = backend.put_object(entry["bucket"], obj["key"], path.read_bytes(), disable_notification=True)
                    if obj.get("metadata"):
                        stored.set_metadata(dict(obj["metadata"]))
                count += 1
        (data_dir / "s3").rename(data_dir / "s3.migrated")
        log.info("imported %d S3 object(s) of an earlier version's snapshot", count)
    logs_path = data_dir / "logs.json"
    if logs_path.exists():
        for region, groups in (load_json(logs_path) or {}).items():
            for group, streams in groups.items():
                for stream, events in streams.items():
                    if events:
                        store.append_logs(region, group, stream, [(ts, message) for ts, message in events])
                        logs.replay(group, stream, [(ts, message) for ts, message in events], region)
        logs_path.rename(data_dir / "logs.json.migrated")
    state_path = data_dir / "sagemaker.json"
    if state_path.exists():
        for region, snapshot in (load_json(state_path) or {}).items():
            records: dict[str, dict[str, Any]] = {
                "training-job": {i["doc"]["TrainingJobName"]: i for i in snapshot.get("training_jobs", [])},
                "model": {d["ModelName"]: d for d in snapshot.get("models", [])},
                "endpoint-config": {d["EndpointConfigName"]: d for d in snapshot.get("endpoint_configs", [])},
                "endpoint": {d["EndpointName"]: d for d in snapshot.get("endpoints", [])},
                "tuning-job": {i["doc"]["HyperParameterTuningJobName"]: i for i in snapshot.get("tuning_jobs", [])},
                "transform-job": {d["TransformJobName"]: d for d in snapshot.get("transform_jobs", [])},
                "tags": snapshot.get("tags", {}),
            }
            # the snapshot used the records' own encoding (to_jsonable), so values go in as they are
            with store.transaction("the import of sagemaker.json"):
                for kind, items in records.items():
                    for name, value in items.items():
                        store.put_record(region, kind, name, value)
        state_path.rename(data_dir / "sagemaker.json.migrated")
        log.info("imported an earlier version's SageMaker state (sagemaker.json)")
    return problems
