"""Acknowledged means durable: what the engine answered survives kill -9, a full disk and a read-only one.

Each test runs engines of its own (free port, tmp data dir) as real processes.
An *acknowledged* write is a call that returned without error; a call that
failed (the engine was killed under it, or it was refused) may or may not have
happened, so it is only checked to have left the old or the new state, whole.

The full-disk and read-only tests mount a small tmpfs / a read-only bind mount
over the data dir (they need root, as CI has; otherwise they are skipped).
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from helpers import free_port

from sm_magics import launcher
from sm_magics.local import settings

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
BUCKET = "durability-tests"
ROUNDS = 6
WORKERS = 4
# one try per call: a killed engine must not be retried against, a refused write must come back at once
NO_RETRY = Config(retries={"total_max_attempts": 1}, connect_timeout=3, read_timeout=60)



def reap(pid: int) -> None:
    """Wait for a killed engine this process started, so no zombie of it is left behind."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass

def clients(info: launcher.EngineInfo) -> tuple[Any, Any]:
    session = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1")
    return (
        session.client("s3", endpoint_url=info.url, config=NO_RETRY),
        session.client("sagemaker", endpoint_url=info.url, config=NO_RETRY),
    )


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_of(exc: ClientError) -> tuple[str, str, int]:
    error = exc.response.get("Error", {})
    return error.get("Code", ""), error.get("Message", ""), exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)


class Ledger:
    """What each worker was told: acknowledged states, and states a failed call may have left (old or new)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.objects: dict[str, set[str | None]] = {}  # key -> allowed sha256 (None: absent)
        self.models: dict[str, set[bool]] = {}
        self.configs: dict[str, set[bool]] = {}
        self.tags: dict[str, set[str | None]] = {}  # model -> allowed value of its "round" tag
        self.acked_writes = 0
        self.acked_deletes = 0
        self.unsure = 0

    def record(self, table: dict, name: str, new: Any, acked: bool, delete: bool = False) -> None:
        with self.lock:
            if acked:
                table[name] = {new}
                if delete:
                    self.acked_deletes += 1
                else:
                    self.acked_writes += 1
            else:
                table[name] = table.get(name, {None if table is not self.models and table is not self.configs else False}) | {new}
                self.unsure += 1


def worker(wid: int, round_no: int, s3: Any, sm: Any, ledger: Ledger, stop: threading.Event, rng: random.Random) -> None:
    """Mixed writes until the engine dies under us; each key / name belongs to this worker only."""
    mine_objects: list[str] = []
    mine_models: list[str] = []
    n = 0
    while not stop.is_set():
        n += 1
        choice = rng.random()
        try:
            if choice < 0.40 or not mine_objects:
                key = f"r{round_no}/w{wid}/obj-{n}"
                body = os.urandom(rng.choice([0, 1, 100, 4096, 65_536, 300_000]))
                try:
                    s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata={"n": str(n)})
                except Exception:
                    ledger.record(ledger.objects, key, digest(body), acked=False)
                    raise
                ledger.record(ledger.objects, key, digest(body), acked=True)
                mine_objects.append(key)
            elif choice < 0.52:
                key = mine_objects.pop(rng.randrange(len(mine_objects)))
                try:
                    s3.delete_object(Bucket=BUCKET, Key=key)
                except Exception:
                    ledger.record(ledger.objects, key, None, acked=False)
                    raise
                ledger.record(ledger.objects, key, None, acked=True, delete=True)
            elif choice < 0.75 or not mine_models:
                name = f"r{round_no}-w{wid}-m{n}"
                try:
                    sm.create_model(ModelName=name, ExecutionRoleArn=settings.ROLE_ARN, PrimaryContainer={"Image": IMAGE})
                except Exception:
                    ledger.record(ledger.models, name, True, acked=False)
                    raise
                ledger.record(ledger.models, name, True, acked=True)
                mine_models.append(name)
            elif choice < 0.85:
                model = rng.choice(mine_models)
                name = f"{model}-c{n}"
                variants = [{"VariantName": "v", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]
                try:
                    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants)
                except Exception:
                    ledger.record(ledger.configs, name, True, acked=False)
                    raise
                ledger.record(ledger.configs, name, True, acked=True)
            elif choice < 0.93:
                model = rng.choice(mine_models)
                arn = f"arn:aws:sagemaker:us-east-1:{settings.ACCOUNT_ID}:model/{model.lower()}"
                try:
                    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "round", "Value": f"{round_no}.{n}"}])
                except Exception:
                    ledger.record(ledger.tags, model, f"{round_no}.{n}", acked=False)
                    raise
                ledger.record(ledger.tags, model, f"{round_no}.{n}", acked=True)
            else:
                model = mine_models.pop(rng.randrange(len(mine_models)))
                try:
                    sm.delete_model(ModelName=model)
                except Exception:
                    ledger.record(ledger.models, model, False, acked=False)
                    raise
                ledger.record(ledger.models, model, False, acked=True, delete=True)
                with ledger.lock:
                    ledger.tags.pop(model, None)
        except Exception:
            return  # the engine went away under this call


def multipart(round_no: int, s3: Any, ledger: Ledger) -> None:
    """One upload over boto3's 8 MB multipart threshold (CreateMultipartUpload, UploadPart x2, Complete)."""
    key = f"r{round_no}/multipart"
    body = os.urandom(9 * 1024 * 1024 + 123)
    try:
        s3.upload_fileobj(io.BytesIO(body), BUCKET, key)
    except Exception:
        ledger.record(ledger.objects, key, digest(body), acked=False)
        return
    ledger.record(ledger.objects, key, digest(body), acked=True)


def check(info: launcher.EngineInfo, ledger: Ledger) -> int:
    """Every key and name is in a state its calls allow; returns how many were checked."""
    s3, sm = clients(info)
    wrong: list[str] = []
    for key, allowed in ledger.objects.items():
        try:
            found: str | None = digest(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        except ClientError as exc:
            if code_of(exc)[0] != "NoSuchKey":
                raise
            found = None
        if found not in allowed:
            wrong.append(f"s3 {key}: {found} not in {allowed}")
        elif len(allowed) > 1:
            ledger.objects[key] = {found}  # settled: the next rounds expect what is there now
    for table, describe in ((ledger.models, "model"), (ledger.configs, "config")):
        for name, allowed in table.items():
            try:
                if describe == "model":
                    sm.describe_model(ModelName=name)
                else:
                    sm.describe_endpoint_config(EndpointConfigName=name)
                exists = True
            except ClientError as exc:
                if code_of(exc)[0] != "ValidationException":
                    raise
                exists = False
            if exists not in allowed:
                wrong.append(f"{describe} {name}: exists={exists}, allowed {allowed}")
            elif len(allowed) > 1:
                table[name] = {exists}
    for model, allowed in list(ledger.tags.items()):
        if ledger.models.get(model) != {True}:
            continue
        arn = f"arn:aws:sagemaker:us-east-1:{settings.ACCOUNT_ID}:model/{model.lower()}"
        tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
        if tags.get("round") not in allowed:
            wrong.append(f"tags of {model}: {tags.get('round')} not in {allowed}")
        elif len(allowed) > 1:
            ledger.tags[model] = {tags.get("round")}
    assert not wrong, f"{len(wrong)} acknowledged change(s) lost or torn after kill -9:\n" + "\n".join(wrong[:20])
    return len(ledger.objects) + len(ledger.models) + len(ledger.configs) + len(ledger.tags)


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "engine", free_port()
    rng = random.Random(20261206)
    ledger = Ledger()
    info = launcher.start(port=port, data_dir=data_dir)
    s3, _ = clients(info)
    s3.create_bucket(Bucket=BUCKET)
    try:
        for round_no in range(ROUNDS):
            info = launcher.start(port=port, data_dir=data_dir)
            assert not launcher.durability(info).get("recovery"), launcher.durability(info)
            checked = check(info, ledger)
            stop = threading.Event()
            threads = []
            for wid in range(WORKERS):
                s3, sm = clients(info)
                threads.append(threading.Thread(target=worker, args=(wid, round_no, s3, sm, ledger, stop, random.Random(rng.random()))))
            if round_no % 2 == 0:
                threads.append(threading.Thread(target=multipart, args=(round_no, clients(info)[0], ledger)))
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.8, 2.5))
            os.kill(info.pid, signal.SIGKILL)
            stop.set()
            for thread in threads:
                thread.join(60)
            reap(info.pid)
            print(f"round {round_no}: {checked} checked; so far {ledger.acked_writes} acknowledged writes, "
                  f"{ledger.acked_deletes} acknowledged deletes, {ledger.unsure} cut off by the kill")
        info = launcher.start(port=port, data_dir=data_dir)
        assert not launcher.durability(info).get("recovery"), launcher.durability(info)
        checked = check(info, ledger)
        print(f"final: {checked} keys / names checked after {ROUNDS} kill -9; {ledger.acked_writes} acknowledged writes "
              f"and {ledger.acked_deletes} acknowledged deletes all as answered")
        assert ledger.acked_writes > 100 and ledger.acked_deletes > 10, "too little work between kills to mean anything"
        assert any(key.endswith("/multipart") and None not in allowed for key, allowed in ledger.objects.items())
    finally:
        launcher.stop(data_dir)


def test_a_torn_write_is_recovered_at_start(tmp_path: Path) -> None:
    """Leftovers of a write cut short (temp file, unreferenced blob) go; an index row whose blob is corrupt is
    reported and dropped, one whose blob is missing too; the rest is served."""
    data_dir, port = tmp_path / "engine", free_port()
    info = launcher.start(port=port, data_dir=data_dir)
    s3, _ = clients(info)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="good", Body=b"intact bytes")
    s3.put_object(Bucket=BUCKET, Key="bad", Body=b"these bytes get damaged")
    s3.put_object(Bucket=BUCKET, Key="gone", Body=b"this file disappears")
    assert launcher.stop(data_dir)
    bad_blob = data_dir / "blobs" / digest(b"these bytes get damaged")[:2] / digest(b"these bytes get damaged")
    bad_blob.write_bytes(b"these bytes got damaged")
    gone_blob = data_dir / "blobs" / digest(b"this file disappears")[:2] / digest(b"this file disappears")
    gone_blob.unlink()
    (data_dir / "blobs" / "tmp" / "half-written.tmp").write_bytes(b"torn")
    orphan = data_dir / "blobs" / "ab" / ("ab" + "0" * 62)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"no row names me")

    info = launcher.start(port=port, data_dir=data_dir)
    try:
        s3, _ = clients(info)
        # objects' files are checked in the background after start (a start does not read them all)
        deadline = time.monotonic() + 60
        while len(launcher.durability(info)["recovery"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        recovery = sorted(launcher.durability(info)["recovery"])
        assert len(recovery) == 2, recovery
        assert f"s3://{BUCKET}/bad" in recovery[0] and "corrupt" in recovery[0], recovery
        assert f"s3://{BUCKET}/gone" in recovery[1] and "missing" in recovery[1], recovery
        assert s3.get_object(Bucket=BUCKET, Key="good")["Body"].read() == b"intact bytes"
        for key in ("bad", "gone"):
            with pytest.raises(ClientError) as missing:
                s3.get_object(Bucket=BUCKET, Key=key)
            assert code_of(missing.value)[0] == "NoSuchKey"
        assert not orphan.exists() and not (data_dir / "blobs" / "tmp" / "half-written.tmp").exists()
    finally:
        launcher.stop(data_dir)


# ------------------------------------------------------------------ full and read-only disks


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _umount_when_free(path: Path, limit: float = 30.0) -> None:
    """Unmount once the stopped engine's helpers (its forkserver) have let go of the filesystem."""
    deadline = time.monotonic() + limit
    while subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, f"{path} stayed busy after the engine stopped"
        time.sleep(0.2)


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 48 MB tmpfs to be the data dir (the seeded sample data takes about 20 MB of it)."""
    path = tmp_path / "tiny"
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs the tests as root)")
    try:
        _mount("-t", "tmpfs", "-o", "size=48m", "tmpfs", str(path))
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc.stderr.strip()}")
    yield path / "engine"
    launcher.stop(path / "engine")
    _umount(path)


def test_a_full_disk_refuses_the_write_it_cannot_keep(tiny_fs: Path) -> None:
    data_dir, port = tiny_fs, free_port()
    info = launcher.start(port=port, data_dir=data_dir)
    s3, sm = clients(info)
    s3.create_bucket(Bucket=BUCKET)
    ballast = data_dir / "ballast"
    ballast.write_bytes(b"\0" * (2 * 1024 * 1024))  # freed later, so the engine can start again
    acknowledged: dict[str, str] = {}
    refusal = None
    for n in range(200):
        body = os.urandom(512 * 1024)
        try:
            s3.put_object(Bucket=BUCKET, Key=f"fill/{n}", Body=body)
        except ClientError as exc:
            refusal = code_of(exc)
            break
        acknowledged[f"fill/{n}"] = digest(body)
    assert refusal is not None, "48 MB never filled up"
    code, message, status = refusal
    assert (code, status) == ("InternalError", 500), refusal
    assert "No space left on device" in message and f"s3://{BUCKET}/fill/{len(acknowledged)}" in message, message
    assert acknowledged, "the disk was full before the first object"

    # the refused object is not there, the engine still answers, and the ones before are whole
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=BUCKET, Key=f"fill/{len(acknowledged)}")
    assert code_of(missing.value)[2] == 404
    first = sorted(acknowledged)[0]
    assert digest(s3.get_object(Bucket=BUCKET, Key=first)["Body"].read()) == acknowledged[first]
    # fill what is left, then SageMaker creates go on until one cannot be saved: refused saying why, not there
    with open(data_dir / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass
    models: list[str] = []
    environment = {f"VAR_{i}": "x" * 200 for i in range(20)}  # ~4 KB a record: the WAL must grow
    sm_refusal = None
    for n in range(2000):
        try:
            sm.create_model(ModelName=f"full-{n}", ExecutionRoleArn=settings.ROLE_ARN,
                            PrimaryContainer={"Image": IMAGE, "Environment": environment})
        except ClientError as exc:
            sm_refusal = code_of(exc)
            break
        models.append(f"full-{n}")
    assert sm_refusal is not None, "2000 models fitted in a full 48 MB filesystem"
    code, sm_message, status = sm_refusal
    assert (code, status) == ("InternalFailure", 500), sm_refusal
    assert f"model full-{len(models)} could not be saved" in sm_message and "No space left on device" in sm_message, sm_message
    with pytest.raises(ClientError) as absent:
        sm.describe_model(ModelName=f"full-{len(models)}")
    assert code_of(absent.value)[0] == "ValidationException"
    assert sm.list_models(NameContains=f"full-{len(models)}")["Models"] == []
    (data_dir / "filler").unlink()

    stopped = launcher.stop_engine(data_dir)
    assert stopped.was_running and any("No space left on device" in p for p in stopped.problems), stopped
    ballast.unlink()
    info = launcher.start(port=port, data_dir=data_dir)
    s3, sm = clients(info)
    for key, expected in acknowledged.items():
        assert digest(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == expected, key
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key=f"fill/{len(acknowledged)}")
    for name in models:
        assert sm.describe_model(ModelName=name)["PrimaryContainer"]["Environment"] == environment, name
    with pytest.raises(ClientError):
        sm.describe_model(ModelName=f"full-{len(models)}")
    print(f"{len(acknowledged)} acknowledged 512 KB objects and {len(models)} models intact after the disk filled; "
          f"refused: {message} / {sm_message}")


@pytest.fixture
def goes_read_only(tmp_path: Path) -> Iterator[tuple[Path, Any]]:
    """A data dir on its own small ext4 (a loop device), and a function that turns that filesystem read-only
    under the running engine, as the kernel does after a disk error (``errors=remount-ro``). A plain
    ``mount -o remount,ro`` is refused while the engine holds its files open for writing."""
    if os.geteuid() != 0:
        pytest.skip("a loop-mounted ext4 needs root (CI runs the tests as root)")
    image, path = tmp_path / "ext4.img", tmp_path / "mnt"
    path.mkdir()
    with open(image, "wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    try:
        subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True, text=True)
        _mount("-o", "loop,errors=remount-ro", str(image), str(path))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot loop-mount an ext4 image here: {getattr(exc, 'stderr', '') or exc}")
    device = next(line.split()[0] for line in Path("/proc/mounts").read_text().splitlines() if line.split()[1] == str(path))
    trigger = Path("/sys/fs/ext4") / Path(device).name / "trigger_fs_error"
    if not trigger.exists():
        _umount(path)
        pytest.skip(f"{trigger} is missing: this kernel cannot be asked to turn an ext4 read-only")

    def make_read_only() -> None:
        trigger.write_text("1")

    yield path / "engine", make_read_only
    launcher.stop(path / "engine")
    _umount(path)


def test_a_read_only_data_dir_refuses_changes_and_stop_says_so(goes_read_only: tuple[Path, Any]) -> None:
    data_dir, make_read_only = goes_read_only
    port = free_port()
    info = launcher.start(port=port, data_dir=data_dir)
    s3, sm = clients(info)
    sm.create_model(ModelName="before", ExecutionRoleArn=settings.ROLE_ARN, PrimaryContainer={"Image": IMAGE})
    s3.create_bucket(Bucket=BUCKET)
    make_read_only()

    with pytest.raises(ClientError) as refused:
        sm.create_model(ModelName="after", ExecutionRoleArn=settings.ROLE_ARN, PrimaryContainer={"Image": IMAGE}, Tags=[{"Key": "a", "Value": "b"}])
    code, message, status = code_of(refused.value)
    assert (code, status) == ("InternalFailure", 500), code_of(refused.value)
    assert "model after could not be saved" in message and "[Errno 30] Read-only file system" in message, message
    with pytest.raises(ClientError) as absent:
        sm.describe_model(ModelName="after")
    assert code_of(absent.value)[0] == "ValidationException"
    assert sm.list_models(NameContains="after")["Models"] == []
    assert sm.describe_model(ModelName="before")["ModelName"] == "before"
    with pytest.raises(ClientError) as s3_refused:
        s3.put_object(Bucket=BUCKET, Key="after", Body=b"x")
    assert code_of(s3_refused.value)[0] == "InternalError" and "Read-only file system" in code_of(s3_refused.value)[1], code_of(s3_refused.value)

    stop = subprocess.run(
        [sys.executable, "-m", "sm_magics.cli", "local", "stop", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert stop.returncode == 1, stop
    lines = stop.stdout.strip().splitlines()
    assert lines and all(line.startswith("local SageMaker engine stopped, but it reported that it") for line in lines), (stop.stdout, stop.stderr)
    assert "could not be saved" in stop.stdout and "its state is saved" not in stop.stdout
    assert launcher.status(data_dir) is None

    # what was acknowledged before is on the disk, what was refused is not (read with the fs back read-write)
    mount_point = data_dir.parent
    reap(info.pid)  # the engine is this process's child
    _umount_when_free(mount_point)
    image = mount_point.parent / "ext4.img"
    subprocess.run(["e2fsck", "-fy", str(image)], capture_output=True)
    _mount("-o", "loop", str(image), str(mount_point))
    info = launcher.start(port=port, data_dir=data_dir)
    _, sm = clients(info)
    assert sm.describe_model(ModelName="before")["ModelName"] == "before"
    with pytest.raises(ClientError):
        sm.describe_model(ModelName="after")


def test_a_data_dir_of_the_json_snapshot_version_is_imported_once(tmp_path: Path) -> None:
    """sagemaker.json, s3/index.json + s3/objects/ and logs.json of the previous version come back, then are set aside."""
    import json

    data_dir, port = tmp_path / "engine", free_port()
    (data_dir / "s3" / "objects").mkdir(parents=True)
    (data_dir / "s3" / "objects" / "f1").write_bytes(b"old bytes")
    (data_dir / "s3" / "index.json").write_text(json.dumps(
        [{"bucket": "old-bucket", "region": "us-east-1", "objects": [{"key": "a/b.txt", "file": "f1", "metadata": {"x-amz-meta-who": "old"}}]}]
    ))
    model = {"ModelName": "old-model", "ModelArn": f"arn:aws:sagemaker:us-east-1:{settings.ACCOUNT_ID}:model/old-model",
             "PrimaryContainer": {"Image": IMAGE, "Mode": "SingleModel", "Environment": {}}, "ExecutionRoleArn": settings.ROLE_ARN,
             "CreationTime": {"__dt__": "2026-01-02T03:04:05+00:00"}, "EnableNetworkIsolation": False}
    (data_dir / "sagemaker.json").write_text(json.dumps({"us-east-1": {"models": [model], "tags": {model["ModelArn"]: [{"Key": "k", "Value": "v"}]}}}))
    (data_dir / "logs.json").write_text(json.dumps({"us-east-1": {"/aws/sagemaker/TrainingJobs": {"old-job/algo-1-1": [[1767322800000, "old line"]]}}}))

    info = launcher.start(port=port, data_dir=data_dir)
    try:
        s3, sm = clients(info)
        stored = s3.get_object(Bucket="old-bucket", Key="a/b.txt")
        assert stored["Body"].read() == b"old bytes" and stored["Metadata"] == {"who": "old"}
        described = sm.describe_model(ModelName="old-model")
        assert described["CreationTime"].isoformat() == "2026-01-02T03:04:05+00:00"
        assert sm.list_tags(ResourceArn=model["ModelArn"])["Tags"] == [{"Key": "k", "Value": "v"}]
        logs = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1").client("logs", endpoint_url=info.url)
        events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName="old-job/algo-1-1", startFromHead=True)
        assert [e["message"] for e in events["events"]] == ["old line"]
        assert not (data_dir / "sagemaker.json").exists() and (data_dir / "sagemaker.json.migrated").exists()
        assert not (data_dir / "s3").exists() and not (data_dir / "logs.json").exists()
    finally:
        launcher.stop(data_dir)
    # the second start reads the store only: the same things, once
    info = launcher.start(port=port, data_dir=data_dir)
    try:
        s3, sm = clients(info)
        assert s3.get_object(Bucket="old-bucket", Key="a/b.txt")["Body"].read() == b"old bytes"
        assert [m["ModelName"] for m in sm.list_models()["Models"]] == ["old-model"]
        logs = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1").client("logs", endpoint_url=info.url)
        events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName="old-job/algo-1-1", startFromHead=True)
        assert [e["message"] for e in events["events"]] == ["old line"]
    finally:
        launcher.stop(data_dir)


def test_an_endpoint_that_describes_in_service_after_kill_9_answers_at_once(tmp_path: Path) -> None:
    """The reported bug: after a kill -9 an endpoint described InService while InvokeEndpoint said it did not exist."""
    from helpers import FIXTURES

    data_dir, port = tmp_path / "engine", free_port()
    info = launcher.start(port=port, data_dir=data_dir)
    s3, sm = clients(info)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="model/model.tar.gz", Body=(FIXTURES / "kmeans_model.tar.gz").read_bytes())
    sm.create_model(ModelName="served", ExecutionRoleArn=settings.ROLE_ARN,
                    PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/model/model.tar.gz"})
    variants = [{"VariantName": "AllTraffic", "ModelName": "served", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]
    sm.create_endpoint_config(EndpointConfigName="served", ProductionVariants=variants)
    sm.create_endpoint(EndpointName="served", EndpointConfigName="served")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="served", WaiterConfig={"Delay": 0.5, "MaxAttempts": 120})
    os.kill(info.pid, signal.SIGKILL)
    reap(info.pid)

    info = launcher.start(port=port, data_dir=data_dir)
    try:
        _, sm = clients(info)
        runtime = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1").client(
            "sagemaker-runtime", endpoint_url=info.url, config=NO_RETRY
        )
        assert sm.describe_endpoint(EndpointName="served")["EndpointStatus"] == "InService"
        answer = runtime.invoke_endpoint(EndpointName="served", ContentType="text/csv", Accept="application/json", Body="0.1,0.2,0.3,0.4,0.5")
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200 and b"closest_cluster" in answer["Body"].read()
    finally:
        launcher.stop(data_dir)
