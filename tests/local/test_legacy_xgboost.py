"""XGBoost models from every SageMaker container generation, made by the historical xgboost itself, host on the engine.

Each artifact is built by the xgboost release its container ran (0.72.1 for
the legacy ``xgboost:1`` image, 0.90, 1.0.2, 1.2.1, 1.5.2, 1.7.6), installed
from PyPI in a virtualenv of the tests, and saved as that container saved it
(``pickle.dump(booster)`` up to 1.2-x, ``save_model`` from 1.3-1). The engine
deploys it under the matching image URI; the xgboost installed beside the
engine (3.1+) reads none of these formats, so the engine makes its own
xgboost 3.0.5 side environment on first need (progress in the endpoint's
log) and serves each such model from a host process of its own. Predictions
must be the historical library's own. The host process ends with its
endpoint and with the engine (kill -9 included), and an engine that cannot
make the environment fails the endpoint with a reason that says what to do.

The historical virtualenvs are cached in the system temp dir across test
sessions (pip caches the wheels anyway); the first session builds them.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import (
    BUCKET, ROLE, Clients, ResponseChecker, channel, engine_session, ensure_bucket, free_port, job_request,
    log_events, production_variants, put, read_s3, run_training, transform_request, unique, wait_transform,
)
from sm_magics import launcher
from sm_magics.local.runtime.legacy_xgboost import SIDE_XGBOOST as SIDE

XGB = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost"
LEGACY_IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost"
MAKER = Path(__file__).with_name("legacy_xgboost_maker.py")
VENVS = Path(tempfile.gettempdir()) / "sm-magics-test-historical-xgboost"
SERVER = "legacy_xgboost_server.py"


@dataclass(frozen=True)
class Era:
    """One container generation: its xgboost, how it saved the model, its image URI, and its answer shape."""

    xgboost: str
    image: str
    how: str  # pickle | save_model
    objective: str
    protocol: int = 0
    comma_joined: bool = True  # 0.72 ... 1.2-1 answer one comma-joined line

    @property
    def id(self) -> str:
        return self.image.rsplit(":", 1)[1]


ERAS = [
    Era("0.72.1", f"{LEGACY_IMAGE}:1", "pickle", "binary:logistic", protocol=2),
    Era("0.90", f"{XGB}:0.90-2-cpu-py3", "pickle", "binary:logistic", protocol=3),
    Era("1.0.2", f"{XGB}:1.0-1-cpu-py3", "pickle", "reg:squarederror", protocol=3),
    Era("1.2.1", f"{XGB}:1.2-1", "pickle", "multi:softprob", protocol=4),
    Era("1.5.2", f"{XGB}:1.5-1", "save_model", "binary:logistic", comma_joined=False),
    Era("1.7.6", f"{XGB}:1.7-1", "save_model", "reg:squarederror", comma_joined=False),
]


# ----------------------------------------------------------------------------- historical artifacts


def historical_python(version: str) -> Path:
    """A virtualenv with xgboost==version (and a numpy of its time), made once and kept in the temp dir."""
    folder = VENVS / f"xgboost-{version}"
    python = folder / "bin" / "python"
    if (folder / "ready").exists():
        return python
    building = VENVS / f".xgboost-{version}-{uuid.uuid4().hex[:8]}"
    subprocess.run([sys.executable, "-m", "venv", str(building)], check=True, capture_output=True)
    # xgboost < 1.6 predates numpy 1.24 (np.float and friends); scipy < 1.12 matches that numpy
    pins = ["numpy<1.24", "scipy<1.12"] if version < "1.6" else ["numpy<2"]
    done = subprocess.run(
        [str(building / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", f"xgboost=={version}", *pins],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        pytest.fail(f"could not install xgboost=={version} on Python {sys.version_info[:2]}: {done.stderr[-500:]}")
    (building / "ready").write_text(version)
    try:
        building.rename(folder)
    except OSError:  # another session made it meanwhile
        shutil.rmtree(building, ignore_errors=True)
    return python


@dataclass
class Artifact:
    era: Era
    member: bytes
    rows: np.ndarray
    expected: np.ndarray  # the historical xgboost's own predictions


def make_artifact(era: Era, workdir: Path) -> Artifact:
    out = workdir / era.xgboost
    out.mkdir()
    command = [str(historical_python(era.xgboost)), str(MAKER), str(out), era.how, era.objective]
    if era.protocol:
        command.append(str(era.protocol))
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["xgboost"] == era.xgboost
    return Artifact(era, (out / "xgboost-model").read_bytes(), np.load(out / "test.npy"), np.load(out / "preds.npy"))


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Artifact]:
    workdir = tmp_path_factory.mktemp("historical-xgboost")
    VENVS.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=3) as pool:  # pip unpacking is mostly waiting on disk
        made = list(pool.map(lambda era: make_artifact(era, workdir), ERAS))
    return {a.era.id: a for a in made}


def model_tar(member: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size, info.mode = len(member), 0o644
        tar.addfile(info, io.BytesIO(member))
    return buf.getvalue()


def create_endpoint(aws: Clients, member: bytes, image: str) -> str:
    ensure_bucket(aws)
    name = unique("legacy-xgb")
    return create_endpoint_for(aws, put(aws, f"legacy/{name}/model.tar.gz", model_tar(member)), image)


def create_endpoint_for(aws: Clients, uri: str, image: str) -> str:
    """CreateModel + CreateEndpointConfig + CreateEndpoint for a model.tar.gz already in S3; returns the name."""
    name = unique("legacy-xgb")
    aws.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image, "ModelDataUrl": uri})
    aws.sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=production_variants(name))
    aws.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return name


def settle(aws: Clients, name: str, timeout: float = 600.0) -> dict[str, Any]:
    """DescribeEndpoint once it has left Creating; the statuses seen on the way are in ``seen``."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        doc = aws.sagemaker.describe_endpoint(EndpointName=name)
        seen.append(doc["EndpointStatus"])
        if doc["EndpointStatus"] not in ("Creating", "Updating") or time.monotonic() > deadline:
            doc["seen"] = seen
            return doc
        time.sleep(0.2)


def endpoint_log(aws: Clients, name: str) -> list[str]:
    return [e["message"] for e in log_events(aws, "AllTraffic/i-local", f"/aws/sagemaker/Endpoints/{name}")]


@pytest.fixture(scope="module")
def deployed(engine_clients: Clients, artifacts: dict[str, Artifact]) -> dict[str, dict[str, Any]]:
    """Every era's artifact behind an endpoint of its image; the first one makes the engine's side environment."""
    endpoints = {}
    for era_id, artifact in artifacts.items():
        name = create_endpoint(engine_clients, artifact.member, artifact.era.image)
        endpoints[era_id] = settle(engine_clients, name)
    return endpoints


def csv_body(rows: np.ndarray) -> str:
    return "\n".join(",".join("" if np.isnan(v) else repr(float(v)) for v in row) for row in rows)


def libsvm_body(rows: np.ndarray) -> str:
    return "\n".join("0 " + " ".join(f"{i}:{float(v)!r}" for i, v in enumerate(row) if not np.isnan(v)) for row in rows)


def parse_answer(text: str, comma_joined: bool) -> np.ndarray:
    if comma_joined:  # "p0,p1,..." or "[a, b, c],[d, e, f]"
        if text.startswith("["):
            return np.asarray(json.loads(f"[{text}]"), dtype=np.float64)
        return np.asarray([float(v) for v in text.split(",")])
    return np.asarray([[float(v) for v in line.split(",")] for line in text.strip().split("\n")]).squeeze()


def engine_children(pid: int) -> list[int]:
    """The legacy host processes the engine ``pid`` started (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and SERVER.encode() in cmdline:
            found.append(int(entry.name))
    return found


def gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":  # exited, waiting for its parent to reap it
            return True
        time.sleep(0.1)
    return False


# ----------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("era", ERAS, ids=lambda era: f"{era.xgboost}-{era.how}")
def test_a_model_of_each_container_generation_predicts_what_its_xgboost_predicted(
    era: Era, deployed: dict[str, dict[str, Any]], artifacts: dict[str, Artifact], runtime: Any
) -> None:
    endpoint = deployed[era.id]
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    artifact = artifacts[era.id]
    answer = runtime.invoke_endpoint(EndpointName=endpoint["EndpointName"], ContentType="text/csv", Body=csv_body(artifact.rows))
    text = answer["Body"].read().decode()
    assert text.endswith("\n") != era.comma_joined  # the image's own answer shape
    got = parse_answer(text, era.comma_joined)
    # the historical predictions use the early-stopped best iteration, as the containers served them
    np.testing.assert_allclose(got, artifact.expected.astype(np.float64), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("era", [ERAS[1], ERAS[4]], ids=["0.90-pickle", "1.5.2-save_model"])
def test_libsvm_requests_to_a_legacy_model_read_absent_entries_as_missing(
    era: Era, deployed: dict[str, dict[str, Any]], artifacts: dict[str, Artifact], runtime: Any
) -> None:
    artifact = artifacts[era.id]
    answer = runtime.invoke_endpoint(
        EndpointName=deployed[era.id]["EndpointName"], ContentType="text/libsvm", Body=libsvm_body(artifact.rows)
    )
    got = parse_answer(answer["Body"].read().decode(), era.comma_joined)
    np.testing.assert_allclose(got, artifact.expected.astype(np.float64), rtol=1e-6, atol=1e-7)


def test_the_side_environment_is_made_once_with_progress_in_the_endpoint_log(
    deployed: dict[str, dict[str, Any]], engine_clients: Clients, engine: launcher.EngineInfo
) -> None:
    logs = {era_id: endpoint_log(engine_clients, doc["EndpointName"]) for era_id, doc in deployed.items()}
    builders = [era_id for era_id, lines in logs.items() if any(f"Creating the XGBoost {SIDE} environment" in line for line in lines)]
    assert builders == [ERAS[0].id], {k: v[:3] for k, v in logs.items()}
    lines = logs[ERAS[0].id]
    created = next(i for i, line in enumerate(lines) if line.startswith(f"Created the XGBoost {SIDE} environment in"))
    serving = next(i for i, line in enumerate(lines) if line.startswith("Loaded model(s)"))
    assert created < serving  # the endpoint went InService only once the environment was there
    assert any(line.startswith("Collecting xgboost") for line in lines[:created])  # pip's progress
    # (whether a describe saw it Creating depends on how fast pip builds the environment here: with pip's cache
    # warm it is done within CreateEndpoint's own wait; the log order above is what shows the sequence)
    assert "Failed" not in deployed[ERAS[0].id]["seen"]
    assert (engine.data_dir / "cache" / f"legacy-xgboost-{SIDE}" / "ready.json").exists()
    # the side xgboost's own warning about the pre-1.0 model reaches the log too
    assert any(f"[xgboost {SIDE}]" in line and "XGBoost < 1.0.0" in line for line in logs[ERAS[1].id])


def test_each_legacy_model_has_its_own_host_process_that_ends_with_its_endpoint(
    engine_clients: Clients, engine: launcher.EngineInfo, artifacts: dict[str, Artifact], deployed: dict[str, Any], runtime: Any
) -> None:
    before = set(engine_children(engine.pid))
    assert len(before) >= len(ERAS)  # one per hosted legacy model
    artifact = artifacts[ERAS[2].id]
    name = create_endpoint(engine_clients, artifact.member, artifact.era.image)
    assert settle(engine_clients, name)["EndpointStatus"] == "InService"
    (mine,) = set(engine_children(engine.pid)) - before
    body = csv_body(artifact.rows)
    assert runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body)["Body"].read()
    engine_clients.sagemaker.delete_endpoint(EndpointName=name)
    assert gone(mine), f"host process {mine} outlived its endpoint"
    assert before <= set(engine_children(engine.pid))  # the other endpoints' hosts serve on


def test_a_batch_transform_of_a_legacy_model_predicts_what_its_xgboost_predicted_and_ends_its_host(
    engine_clients: Clients, engine: launcher.EngineInfo, artifacts: dict[str, Artifact], deployed: dict[str, Any]
) -> None:
    artifact = artifacts[ERAS[4].id]
    before = set(engine_children(engine.pid))
    model = unique("legacy-transform")
    uri = put(engine_clients, f"legacy/{model}/model.tar.gz", model_tar(artifact.member))
    engine_clients.sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": artifact.era.image, "ModelDataUrl": uri})
    rows = put(engine_clients, f"legacy/{model}/input/rows.csv", csv_body(artifact.rows) + "\n")
    engine_clients.sagemaker.create_transform_job(
        **transform_request(model, model, rows, f"legacy/{model}/output", accept="text/csv")
    )
    job = wait_transform(engine_clients, model)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    text = read_s3(engine_clients, f"s3://{BUCKET}/legacy/{model}/output/rows.csv.out").decode()
    got = np.asarray([float(line) for line in text.split()])
    np.testing.assert_allclose(got, artifact.expected.astype(np.float64), rtol=1e-6, atol=1e-7)
    deadline = time.monotonic() + 15
    while set(engine_children(engine.pid)) - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not set(engine_children(engine.pid)) - before, "the transform job's host outlived the job"


def test_a_host_that_dies_fails_its_request_and_the_next_one_gets_a_fresh_host(
    engine_clients: Clients, engine: launcher.EngineInfo, artifacts: dict[str, Artifact], deployed: dict[str, Any], runtime: Any
) -> None:
    artifact = artifacts[ERAS[4].id]
    before = set(engine_children(engine.pid))
    name = create_endpoint(engine_clients, artifact.member, artifact.era.image)
    assert settle(engine_clients, name)["EndpointStatus"] == "InService"
    (host,) = set(engine_children(engine.pid)) - before
    os.kill(host, signal.SIGKILL)
    assert gone(host)
    answers = []
    for _ in range(2):  # the first may find the dead host mid-request; by the second a fresh one serves
        try:
            answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=csv_body(artifact.rows))
            answers.append(parse_answer(answer["Body"].read().decode(), artifact.era.comma_joined))
        except engine_clients.runtime.exceptions.ModelError:
            pass
    assert answers, "no request was served after the host died"
    np.testing.assert_allclose(answers[-1], artifact.expected.astype(np.float64), rtol=1e-6, atol=1e-7)
    (fresh,) = set(engine_children(engine.pid)) - before
    assert fresh != host
    engine_clients.sagemaker.delete_endpoint(EndpointName=name)
    assert gone(fresh)


class BoosterPickle:
    """Pickles as ``xgboost.core.Booster`` with the given state, as a genuine Booster pickle does."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def __reduce__(self) -> tuple[Any, ...]:
        import xgboost

        return (xgboost.core.Booster, (), self.state)


class RunsCommand:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


def test_model_bytes_that_hide_a_pickle_reach_the_side_host_as_bytes_and_run_nothing(
    engine_clients: Clients, deployed: dict[str, Any], tmp_path: Path
) -> None:
    """A Booster pickle whose model bytes look like a 1.x memory snapshot but are a pickle of os.system:
    the side host gets them (they look old) and hands them to xgboost's deserializer, never to pickle."""
    import pickle

    marker = tmp_path / "pwned-by-side-host"
    inner = pickle.dumps(RunsCommand(f"touch {marker}"))
    # the first looks old and reaches the side host (its xgboost answers too); the second never leaves the engine
    for handle, reached_side in ((b"CONFIG-offset:" + inner, True), (inner, False)):
        member = pickle.dumps(BoosterPickle({"handle": handle}), protocol=4)
        doc = settle(engine_clients, create_endpoint(engine_clients, member, f"{XGB}:1.2-1"))
        assert doc["EndpointStatus"] == "Failed"
        reason = doc["FailureReason"]
        assert "xgboost-model is not an XGBoost model" in reason, reason
        assert (f"xgboost {SIDE}:" in reason) == reached_side, reason
        assert not marker.exists(), "the model bytes were unpickled"


def test_a_model_the_side_environment_cannot_read_fails_the_endpoint_with_both_reasons(engine_clients: Clients, deployed: dict[str, Any]) -> None:
    """binf header and names of a real model, then junk: it looks old, goes to the side xgboost, which refuses it."""
    junk = b"binf" + b"\x00" * 136 + (15).to_bytes(8, "little") + b"binary:logistic" + (6).to_bytes(8, "little") + b"gbtree" + b"\xff" * 64
    doc = settle(engine_clients, create_endpoint(engine_clients, junk, f"{XGB}:1.7-1"))
    assert doc["EndpointStatus"] == "Failed"
    assert "xgboost-model is not an XGBoost model" in doc["FailureReason"]
    assert f"xgboost {SIDE}:" in doc["FailureReason"]


# ----------------------------------------------------------------------------- the legacy xgboost:1 image


def test_the_legacy_image_trains_the_model_xgboost_072_trains(
    engine_clients: Clients, runtime: Any, artifacts: dict[str, Artifact], tmp_path: Path
) -> None:
    """``xgboost:latest`` is the 0.72 image: 0.72's names (silent, reg:linear) and defaults, 0.72's trees, its answers."""
    rng = np.random.RandomState(5)
    x = rng.rand(300, 4).astype(np.float32)
    y = (x[:, 0] * 3 + x[:, 1] ** 2 - x[:, 2]).astype(np.float32)
    rows = rng.rand(25, 4).astype(np.float32)
    train_csv = "\n".join(",".join(repr(float(v)) for v in [label, *row]) for label, row in zip(y, x)) + "\n"
    ensure_bucket(engine_clients)
    name = unique("xgb-072")
    uri = put(engine_clients, f"legacy/{name}/train/train.csv", train_csv)
    hyperparameters = {"num_round": "8", "objective": "reg:linear", "silent": "1", "max_depth": "3", "eta": "0.2"}
    request = job_request(
        name, f"{LEGACY_IMAGE}:latest", [channel("train", uri.rsplit("/", 1)[0] + "/", "text/csv")], hyperparameters,
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/legacy/{name}/output"},
    )  # fmt: skip
    job = run_training(engine_clients, request)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    # the same data and parameters through XGBoost 0.72.1 itself
    (tmp_path / "train.csv").write_text(train_csv)
    np.save(tmp_path / "test.npy", rows)
    params = {"objective": "reg:linear", "silent": 1, "max_depth": 3, "eta": 0.2}
    done = subprocess.run(
        [str(historical_python("0.72.1")), str(MAKER), str(tmp_path), "fit", json.dumps(params), "8"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    expected = np.load(tmp_path / "preds.npy")
    endpoint = create_endpoint_for(engine_clients, job["ModelArtifacts"]["S3ModelArtifacts"], f"{LEGACY_IMAGE}:1")
    assert settle(engine_clients, endpoint)["EndpointStatus"] == "InService"
    answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="application/json", Body=csv_body(rows))
    text = answer["Body"].read().decode()
    assert not text.endswith("\n") and not text.startswith("{")  # one comma-joined line, Accept ignored
    np.testing.assert_allclose(parse_answer(text, comma_joined=True), expected.astype(np.float64), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, value", [("verbosity", "1"), ("colsample_bynode", "0.5"), ("save_model_on_termination", "true")])
def test_the_legacy_image_refuses_what_xgboost_072_did_not_have(engine_clients: Clients, name: str, value: str) -> None:
    ensure_bucket(engine_clients)
    job = unique("xgb-072-bad")
    uri = put(engine_clients, f"legacy/{job}/train/train.csv", "1,2,3\n0,1,1\n")
    request = job_request(job, f"{LEGACY_IMAGE}:latest", [channel("train", uri, "text/csv")], {"num_round": "2", name: value})
    described = run_training(engine_clients, request)
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"] == f"ClientError: Extraneous hyperparameter found: {name}"


# ----------------------------------------------------------------------------- engines of their own


def start_engine(data_dir: Path, env: dict[str, str]) -> tuple[launcher.EngineInfo, Clients, ResponseChecker]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        info = launcher.start(port=free_port(), data_dir=data_dir)
    checker = ResponseChecker()
    return info, Clients(engine_session(info, checker), info.url), checker


def test_an_engine_that_cannot_make_the_environment_fails_the_endpoint_saying_what_to_do(
    tmp_path: Path, artifacts: dict[str, Artifact]
) -> None:
    """Offline: pip has no index and no wheels to find; the endpoint fails, nothing half-made stays."""
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    offline = {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty), "PIP_NO_CACHE_DIR": "1"}
    info, aws, checker = start_engine(tmp_path / "engine", offline)
    try:
        name = create_endpoint(aws, artifacts[ERAS[1].id].member, ERAS[1].image)
        doc = settle(aws, name)
        assert doc["EndpointStatus"] == "Failed", doc
        reason = doc["FailureReason"]
        assert reason.startswith("Failed to deploy variant 'AllTraffic': Unable to load model: xgboost-model is in an XGBoost"), reason
        assert f"could not create the XGBoost {SIDE} environment" in reason and "pip install failed" in reason
        assert "SM_MAGICS_LOCAL_LEGACY_XGBOOST_PYTHON" in reason  # what to do offline
        assert not list((tmp_path / "engine" / "cache").glob("*legacy-xgboost*"))
        assert any(f"Creating the XGBoost {SIDE} environment" in line for line in endpoint_log(aws, name))
    finally:
        launcher.stop(tmp_path / "engine")
    assert not checker.problems, checker.problems


def test_host_processes_end_when_the_engine_is_killed(
    tmp_path: Path, artifacts: dict[str, Artifact], engine: launcher.EngineInfo, deployed: dict[str, Any]
) -> None:
    """kill -9 of the engine: its hosts read EOF and exit. This engine reuses the session engine's side env."""
    side = engine.data_dir / "cache" / f"legacy-xgboost-{SIDE}" / "bin" / "python"
    info, aws, _ = start_engine(tmp_path / "engine", {"SM_MAGICS_LOCAL_LEGACY_XGBOOST_PYTHON": str(side)})
    try:
        name = create_endpoint(aws, artifacts[ERAS[3].id].member, ERAS[3].image)
        assert settle(aws, name)["EndpointStatus"] == "InService"
        hosts = engine_children(info.pid)
        assert len(hosts) == 1
        os.kill(info.pid, signal.SIGKILL)
        assert gone(info.pid)
        assert gone(hosts[0]), "the legacy host outlived its engine"
    finally:
        try:
            os.kill(info.pid, signal.SIGKILL)
        except OSError:
            pass
