"""Crafted model artifacts and requests, as an attacker with write access to a bucket would send them.

A model.tar.gz is whatever someone put in S3. These tests upload real attacks
and deploy them the way a user would (CreateModel, CreateEndpointConfig,
CreateEndpoint): pickles whose ``__reduce__`` runs ``os.system`` or ``exec``,
a Booster pickle whose state hides such a call, pickles of ``eval`` and
``os.system``; gzip and pax-header bombs, too many members, links and ``..``
names; absurd sparse ``shape`` fields in JSON and RecordIO requests. Each is
refused with a reason that says why, the marker file the payload would write
never appears, and the engine goes on serving. Genuine pickled Boosters (the
engine's own 1.0-1 / 1.2-x artifacts) still load and predict as xgboost does,
and every ModelDataUrl form SageMaker accepts (s3:// and S3's https URLs)
serves a model, for endpoints and batch transform alike.

The archive limits are tested on an engine of this module's own started with
small ones (``SM_MAGICS_LOCAL_MAX_MODEL_*``), so that a real bomb is a few
kilobytes; the defaults are checked on the session engine.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import tarfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from helpers import (
    BUCKET, KMEANS_IMAGE, ROLE, Clients, ResponseChecker, channel, engine_session, ensure_bucket, error_of, free_port,
    job_request, production_variants, put, read_s3, run_training, transform_request, unique, upload_model_tar,
    wait_until,
)
from sm_magics.formats import ndarray, recordio
from sm_magics import launcher

XGB = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost"
IMAGE_10 = f"{XGB}:1.0-1-cpu-py3"
IMAGE_12 = f"{XGB}:1.2-1"
IMAGE_17 = f"{XGB}:1.7-1"
CENTROIDS = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], dtype=np.float32)
REFUSED = "is a pickle the local engine will not load"

# The module's own engine: limits small enough that a real bomb is tiny.
STRICT_LIMITS = {
    "SM_MAGICS_LOCAL_MAX_MODEL_BYTES": str(1024 * 1024),
    "SM_MAGICS_LOCAL_MAX_MODEL_MEMBER_BYTES": str(256 * 1024),
    "SM_MAGICS_LOCAL_MAX_MODEL_MEMBERS": "50",
}


# ----------------------------------------------------------------------------- payloads


class RunsCommand:
    """Pickles to ``os.system(command)``: what `pickle.loads` of it does."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


class RunsExec:
    """Pickles to ``exec(source)``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (self.source,))


class RunsEval:
    """Pickles to ``eval(source)``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __reduce__(self) -> tuple[Any, ...]:
        return (eval, (self.source,))


class BoosterWithState:
    """Pickles to what a Booster pickle looks like (``xgboost.core.Booster`` + BUILD of a state dict), with ``state`` inside."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def __reduce__(self) -> tuple[Any, ...]:
        import xgboost

        return (xgboost.core.Booster, (), self.state)


def touch_command(marker: Path) -> str:
    return f"touch {marker}"


def touch_source(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


def attacks(marker: Path) -> dict[str, bytes]:
    """xgboost-model members that write ``marker`` when unpickled, by the name the refusal gives."""
    return {
        "posix.system": pickle.dumps(RunsCommand(touch_command(marker))),
        "builtins.exec": pickle.dumps(RunsExec(touch_source(marker)), protocol=2),
        "builtins.eval": pickle.dumps(RunsEval(f"__import__('os').system({touch_command(marker)!r})")),
        # the class a Booster pickle names, but its state is built by os.system
        "posix.system (in a Booster's state)": pickle.dumps(BoosterWithState({"handle": RunsCommand(touch_command(marker))})),
        # bare references to the dangerous callables
        "builtins.eval (bare)": pickle.dumps(eval),
        "posix.system (bare)": pickle.dumps(os.system),
    }


def tar_gz(*members: tuple[tarfile.TarInfo, bytes | None], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    return info, data


class Zeros(io.RawIOBase):
    """``size`` zero bytes, read in chunks: the body of a bomb, never held in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def zero_bomb(name: str, size: int) -> bytes:
    """A model.tar.gz whose one member decompresses to ``size`` zero bytes (about size/1000 compressed)."""
    info = tarfile.TarInfo(name)
    info.size = size
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=9) as tar:
        tar.addfile(info, io.BufferedReader(Zeros(size)))
    return buf.getvalue()


def kmeans_member() -> bytes:
    return ndarray.save([CENTROIDS])


def small_booster(seed: int = 0) -> tuple[Any, np.ndarray]:
    """A small binary:logistic Booster trained here, and rows to predict."""
    import xgboost as xgb

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float32)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(x, label=y), num_boost_round=5)
    return booster, x[:6]


def xgb_tar(member: bytes) -> bytes:
    return tar_gz(file_member("xgboost-model", member))


# ----------------------------------------------------------------------------- engine calls


def upload(aws: Any, data: bytes, tag: str) -> str:
    ensure_bucket(aws)
    return put(aws, f"untrusted/{unique(tag)}/model.tar.gz", data)


def deploy_settled(aws: Any, model_uri: str, image: str = KMEANS_IMAGE) -> dict[str, Any]:
    """CreateModel + CreateEndpointConfig + CreateEndpoint; the endpoint once it is InService or Failed."""
    name = unique("untrusted")
    aws.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image, "ModelDataUrl": model_uri})
    aws.sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=production_variants(name))
    aws.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return settle(aws, name)


def settle(aws: Any, name: str, timeout: float = 120.0) -> dict[str, Any]:
    """DescribeEndpoint once it is no longer Creating / Updating (InService or Failed alike)."""
    return wait_until(lambda: aws.sagemaker.describe_endpoint(EndpointName=name), "EndpointStatus", timeout,
                      pending=("Creating", "Updating"))


def assert_failed(endpoint: dict[str, Any], *texts: str) -> str:
    assert endpoint["EndpointStatus"] == "Failed", endpoint
    reason = endpoint["FailureReason"]
    assert reason.startswith("Failed to deploy variant 'AllTraffic': "), reason
    for text in texts:
        assert text in reason, f"{text!r} not in {reason!r}"
    return reason


def kmeans_answers(aws: Any, endpoint: str) -> list[dict[str, float]]:
    answer = aws.runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="application/json", Body="9,1\n1,9")
    return json.loads(answer["Body"].read())["predictions"]


def assert_serves_kmeans(aws: Any) -> None:
    """The engine is healthy: a fresh k-means endpoint deploys and answers."""
    endpoint = deploy_settled(aws, upload_model_tar(aws, kmeans_member(), "healthy"))
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    assert [p["closest_cluster"] for p in kmeans_answers(aws, endpoint["EndpointName"])] == [1.0, 2.0]


def model_error(aws: Any, endpoint: str, body: bytes | str, content_type: str) -> dict[str, Any]:
    response = error_of(aws.runtime.invoke_endpoint, EndpointName=endpoint, Body=body, ContentType=content_type)
    assert response["Error"]["Code"] == "ModelError", response
    return response


# ----------------------------------------------------------------------------- the strict engine


def clients_for(info: launcher.EngineInfo, checker: ResponseChecker) -> Clients:
    return Clients(engine_session(info, checker), info.url)


class StrictEngine:
    """An engine of this module's own with STRICT_LIMITS, which it can stop and start again on its data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.checker = ResponseChecker()

    def start(self) -> Clients:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in STRICT_LIMITS.items():
                patch.setenv(key, value)
            info = launcher.start(port=self.port, data_dir=self.data_dir)
        return clients_for(info, self.checker)

    def stop(self) -> None:
        launcher.stop(self.data_dir)


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StrictEngine, Clients]]:
    engine = StrictEngine(tmp_path_factory.mktemp("strict-engine"))
    clients = engine.start()
    yield engine, clients
    engine.stop()
    assert not engine.checker.problems, "responses that do not match botocore's model:\n" + "\n".join(engine.checker.problems)


# ----------------------------------------------------------------------------- pickles


def test_the_payloads_are_live_when_unpickled(tmp_path: Path) -> None:
    """The attacks below are real: plain pickle.loads runs them (here, in the test, on a throwaway marker)."""
    marker = tmp_path / "control"
    pickle.loads(attacks(marker)["posix.system"])
    assert marker.exists()
    marker.unlink()
    pickle.loads(attacks(marker)["builtins.exec"])
    assert marker.exists()


@pytest.mark.parametrize("image", [IMAGE_12, IMAGE_17])
def test_a_pickle_that_runs_code_fails_the_endpoint_and_runs_nothing(aws: Clients, tmp_path: Path, image: str) -> None:
    marker = tmp_path / "pwned"
    for refers_to, member in attacks(marker).items():
        uri = upload(aws, xgb_tar(member), "pickle-attack")
        endpoint = deploy_settled(aws, uri, image)
        global_name = refers_to.split(" ")[0]
        reason = assert_failed(endpoint, "xgboost-model " + REFUSED, f"it refers to {global_name}", uri)
        assert "Booster.save_model" in reason  # what to do instead
        assert not marker.exists(), f"the engine ran the {refers_to} payload"
    assert_serves_kmeans(aws)
    assert not marker.exists()


def test_a_batch_transform_of_a_malicious_model_fails_and_runs_nothing(aws: Clients, tmp_path: Path) -> None:
    marker = tmp_path / "pwned-by-transform"
    uri = upload(aws, xgb_tar(attacks(marker)["builtins.exec"]), "transform-attack")
    model = unique("evil-transform")
    aws.sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE_17, "ModelDataUrl": uri})
    data = put(aws, f"untrusted/{unique('rows')}/rows.csv", "1,2,3,4\n")
    name = unique("evil-transform")
    aws.sagemaker.create_transform_job(**transform_request(name, model, data, f"untrusted/{name}/out", accept="text/csv"))
    job = wait_until(lambda: aws.sagemaker.describe_transform_job(TransformJobName=name), "TransformJobStatus")
    assert job["TransformJobStatus"] == "Failed"
    assert REFUSED in job["FailureReason"] and "builtins.exec" in job["FailureReason"]
    assert not marker.exists()


def test_genuine_pickled_boosters_load_and_predict_as_xgboost_does(aws: Clients) -> None:
    """Booster pickles as the 1.0-1 (protocol 3) and 1.2-x (protocol 4) containers, and the engine, write them."""
    import xgboost as xgb

    from sm_magics.local.algorithms.xgboost_algo import XGBoost

    booster, rows = small_booster()
    expected = booster.predict(xgb.DMatrix(rows))
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in rows)
    for image, member in (
        (IMAGE_10, XGBoost("1.0-1").serialize(booster)),
        (IMAGE_12, XGBoost("1.2-1").serialize(booster)),
        (IMAGE_12, pickle.dumps(booster, protocol=2)),
        (IMAGE_12, pickle.dumps(booster, protocol=5)),
    ):
        assert member[:1] == b"\x80"  # a pickle, not a model file
        endpoint = deploy_settled(aws, upload(aws, xgb_tar(member), "genuine-pickle"), image)
        assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
        answer = aws.runtime.invoke_endpoint(EndpointName=endpoint["EndpointName"], ContentType="text/csv", Body=body)
        got = np.array([float(v) for v in answer["Body"].read().decode().split(",")])
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_an_engine_trained_1_2_1_artifact_serves_the_same_predictions(aws: Clients) -> None:
    import xgboost as xgb

    booster, _ = small_booster(seed=1)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(150, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    ensure_bucket(aws)
    prefix = f"untrusted/{unique('train12')}"
    train = put(aws, f"{prefix}/train/train.csv", "\n".join(f"{label}," + ",".join(f"{v:.6g}" for v in row) for label, row in zip(y, x)))
    request = job_request(
        unique("xgb12"), IMAGE_12, [channel("train", train, "text/csv")],
        {"objective": "binary:logistic", "num_round": "5", "max_depth": "3"},
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/{prefix}/output"},
    )  # fmt: skip
    job = run_training(aws, request)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    with tarfile.open(fileobj=io.BytesIO(read_s3(aws, artifact))) as tar:
        member = tar.extractfile("xgboost-model").read()  # type: ignore[union-attr]
    trusted = pickle.loads(member)  # the test trusts what the engine wrote; the engine trusts nothing
    rows = x[:5]
    expected = trusted.predict(xgb.DMatrix(rows))
    endpoint = deploy_settled(aws, artifact, IMAGE_12)
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    body = "\n".join(",".join(f"{v!r}" for v in row.tolist()) for row in rows)
    answer = aws.runtime.invoke_endpoint(EndpointName=endpoint["EndpointName"], ContentType="text/csv", Body=body)
    np.testing.assert_allclose([float(v) for v in answer["Body"].read().decode().split(",")], expected, rtol=1e-6)


def test_a_saved_model_that_is_not_a_booster_is_refused_cleanly(aws: Clients) -> None:
    for member, text in (
        (b"binf" + bytes(64), "legacy binary format"),
        (b"\x80\x04 not really a pickle", "not an XGBoost model"),
        (pickle.dumps({"handle": b"x"}), "holds a dict, not an xgboost Booster"),
    ):
        endpoint = deploy_settled(aws, upload(aws, xgb_tar(member), "not-a-booster"), IMAGE_17)
        assert_failed(endpoint, "Unable to load model: xgboost-model", text)


# ----------------------------------------------------------------------------- archives


def test_a_gzip_bomb_is_refused_and_the_engine_keeps_serving(strict: tuple[StrictEngine, Clients]) -> None:
    _, aws = strict
    bomb = zero_bomb("model_algo-1", 64 * 1024 * 1024)  # 64 MiB of zeros in about 64 KiB
    assert len(bomb) < 256 * 1024
    endpoint = deploy_settled(aws, upload(aws, bomb, "bomb"))
    assert_failed(endpoint, "member 'model_algo-1' is 67108864 bytes, over the engine's limit of 262144 bytes per file")
    assert_serves_kmeans(aws)


def test_many_files_each_under_the_limit_are_refused_in_total(strict: tuple[StrictEngine, Clients]) -> None:
    _, aws = strict
    chunks = [file_member(f"part-{i}", bytes(200 * 1024)) for i in range(8)]  # 1.6 MB > 1 MiB
    endpoint = deploy_settled(aws, upload(aws, tar_gz(file_member("model_algo-1", kmeans_member()), *chunks), "total"))
    assert_failed(endpoint, "model.tar.gz unpacks to more than 1048576 bytes", "SM_MAGICS_LOCAL_MAX_MODEL_BYTES")


def test_a_header_bomb_is_refused_while_decompressing(strict: tuple[StrictEngine, Clients]) -> None:
    """A pax header tarfile would read whole: the stream's byte budget stops it, not the member sizes."""
    _, aws = strict
    info, data = file_member("model_algo-1", kmeans_member())
    info.pax_headers = {"comment": "x" * (8 * 1024 * 1024)}
    archive = tar_gz((info, data), fmt=tarfile.PAX_FORMAT)
    assert len(archive) < 256 * 1024
    endpoint = deploy_settled(aws, upload(aws, archive, "pax-bomb"))
    assert_failed(endpoint, "unpacks to more than 1048576 bytes", "refused while decompressing")
    assert_serves_kmeans(aws)


def test_too_many_members_are_refused(strict: tuple[StrictEngine, Clients]) -> None:
    _, aws = strict
    members = [file_member(f"empty-{i}", b"") for i in range(60)]
    endpoint = deploy_settled(aws, upload(aws, tar_gz(file_member("model_algo-1", kmeans_member()), *members), "many"))
    assert_failed(endpoint, "model.tar.gz holds more than 50 members", "SM_MAGICS_LOCAL_MAX_MODEL_MEMBERS")


def test_the_default_limit_refuses_a_member_larger_than_one_gib(aws: Clients) -> None:
    """The tar header declares 3 GiB: refused on reading the header, before a byte of it is decompressed."""
    info = tarfile.TarInfo("model_algo-1")
    info.size = 3 * 1024**3
    header = info.tobuf(tarfile.GNU_FORMAT)
    import gzip

    archive = gzip.compress(header + bytes(64 * 1024))  # the start of the bomb is enough to be refused
    endpoint = deploy_settled(aws, upload(aws, archive, "default-limit"))
    assert_failed(endpoint, f"is {3 * 1024**3} bytes, over the engine's limit of {1024**3} bytes per file")


@pytest.mark.parametrize(
    ("member", "text"),
    [
        ("link", "member 'model_algo-1' is a symbolic link"),
        ("hardlink", "member 'model_algo-1' is a hard link"),
        ("dotdot", "member '../model_algo-1' has an absolute path or climbs out with '..'"),
        ("absolute", "member '/tmp/model_algo-1' has an absolute path or climbs out with '..'"),
        ("fifo", "member 'model_algo-1' is not a regular file"),
    ],
)
def test_links_and_escaping_names_are_refused(aws: Clients, member: str, text: str) -> None:
    if member in ("link", "hardlink"):
        info = tarfile.TarInfo("model_algo-1")
        info.type = tarfile.SYMTYPE if member == "link" else tarfile.LNKTYPE
        info.linkname = "/etc/passwd"
        archive = tar_gz((info, None))
    elif member == "fifo":
        info = tarfile.TarInfo("model_algo-1")
        info.type = tarfile.FIFOTYPE
        archive = tar_gz((info, None))
    else:
        name = "../model_algo-1" if member == "dotdot" else "/tmp/model_algo-1"
        archive = tar_gz(file_member(name, kmeans_member()))
    endpoint = deploy_settled(aws, upload(aws, archive, member))
    assert_failed(endpoint, text)


def test_directories_and_dot_slash_names_are_read_as_sagemaker_writes_them(aws: Clients) -> None:
    folder = tarfile.TarInfo("./")
    folder.type = tarfile.DIRTYPE
    endpoint = deploy_settled(aws, upload(aws, tar_gz((folder, None), file_member("./model_algo-1", kmeans_member())), "dot"))
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    assert [p["closest_cluster"] for p in kmeans_answers(aws, endpoint["EndpointName"])] == [1.0, 2.0]


def test_a_restart_with_a_swapped_artifact_runs_nothing(
    strict: tuple[StrictEngine, Clients], tmp_path: Path
) -> None:
    """An InService endpoint is loaded again at every engine start: swapping its artifact for an attack runs nothing."""
    engine, aws = strict
    booster, _ = small_booster()
    from sm_magics.local.algorithms.xgboost_algo import XGBoost

    uri = upload(aws, xgb_tar(XGBoost("1.2-1").serialize(booster)), "swap")
    endpoint = deploy_settled(aws, uri, IMAGE_12)
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    marker = tmp_path / "pwned-at-start"
    bucket, _, key = uri[len("s3://") :].partition("/")
    aws.s3.put_object(Bucket=bucket, Key=key, Body=xgb_tar(attacks(marker)["posix.system"]))
    engine.stop()
    aws = engine.start()
    # a restarted endpoint loads its model again on its first invocation (or in the warm-up pool, sooner)
    error_of(aws.runtime.invoke_endpoint, EndpointName=endpoint["EndpointName"], ContentType="text/csv", Body="1,2,3")
    after = settle(aws, endpoint["EndpointName"])
    assert after["EndpointStatus"] == "Failed" and REFUSED in after.get("FailureReason", ""), after
    assert "posix.system" in after["FailureReason"]
    assert not marker.exists()
    assert_serves_kmeans(aws)


# ----------------------------------------------------------------------------- requests


@pytest.fixture(scope="module")
def kmeans_endpoint(engine_clients: Clients) -> str:
    endpoint = deploy_settled(engine_clients, upload_model_tar(engine_clients, kmeans_member(), "requests"))
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    return endpoint["EndpointName"]


def sparse_json(keys: Any, shape: Any, values: Any) -> str:
    return json.dumps({"instances": [{"data": {"features": {"keys": keys, "shape": shape, "values": values}}}]})


@pytest.mark.parametrize(
    ("keys", "shape", "values", "message"),
    [
        ([0], [10**12], [1.0], "Feature size of the request (1000000000000) does not match the model's feature_dim (2)."),
        ([0], [10**6, 10**6], [1.0], "Feature size of the request (1000000000000) does not match the model's feature_dim (2)."),
        ([5], [2], [1.0], "Unable to parse the request body as application/json: sparse key 5 is out of range for shape [2]"),
        ([-1], [2], [1.0], "Unable to parse the request body as application/json: sparse key -1 is out of range for shape [2]"),
        ([0], [-2], [1.0], "Unable to parse the request body as application/json: sparse 'shape' must be a list of non-negative integers, got [-2]"),
        ([0], ["2"], [1.0], "sparse 'shape' must be a list of non-negative integers"),
        ([0.5], [2], [1.0], "sparse 'keys' must be a list of integers, got [0.5]"),
        ([0, 1], [2], [1.0], "sparse 'values' must be a list as long as 'keys' (2)"),
    ],
)
def test_absurd_sparse_json_is_a_400_and_the_endpoint_keeps_answering(
    aws: Clients, kmeans_endpoint: str, keys: Any, shape: Any, values: Any, message: str
) -> None:
    error = model_error(aws, kmeans_endpoint, sparse_json(keys, shape, values), "application/json")
    assert error["OriginalStatusCode"] == 400
    assert message in error["OriginalMessage"], error["OriginalMessage"]
    answer = aws.runtime.invoke_endpoint(EndpointName=kmeans_endpoint, ContentType="application/json", Body=sparse_json([1], [2], [9.0]))
    assert json.loads(answer["Body"].read())["predictions"][0]["closest_cluster"] == 2.0


def test_absurd_sparse_recordio_is_a_400(aws: Clients, kmeans_endpoint: str) -> None:
    body = recordio.encode_sparse(csr_matrix((np.array([1.0]), (np.array([0]), np.array([3]))), shape=(1, 10**12)))
    error = model_error(aws, kmeans_endpoint, body, recordio.CONTENT_TYPE)
    assert error["OriginalStatusCode"] == 400
    assert error["OriginalMessage"] == "Feature size of the request (1000000000000) does not match the model's feature_dim (2)."


def test_absurd_sparse_recordio_to_xgboost_is_the_containers_400(aws: Clients) -> None:
    booster, _ = small_booster()
    endpoint = deploy_settled(aws, upload(aws, xgb_tar(bytes(booster.save_raw("json"))), "xgb-sparse"), IMAGE_17)
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    body = recordio.encode_sparse(csr_matrix((np.array([1.0], dtype=np.float32), (np.array([0]), np.array([3]))), shape=(1, 10**12)))
    error = model_error(aws, endpoint["EndpointName"], body, recordio.CONTENT_TYPE)
    assert error["OriginalStatusCode"] == 400
    assert error["OriginalMessage"] == (
        "Unable to evaluate payload provided: Feature size of recordio-protobuf inference data 1000000000000 "
        "is not consistent with feature size of trained model 4."
    )


def test_a_transform_with_an_absurd_sparse_shape_fails_the_job_only(aws: Clients, kmeans_endpoint: str) -> None:
    model = aws.sagemaker.describe_endpoint_config(EndpointConfigName=kmeans_endpoint)["ProductionVariants"][0]["ModelName"]
    data = put(aws, f"untrusted/{unique('rows')}/rows.jsonl", sparse_json([0], [10**12], [1.0]) + "\n")
    name = unique("absurd-transform")
    request = transform_request(name, model, data, f"untrusted/{name}/out", content_type="application/json")
    aws.sagemaker.create_transform_job(**request)
    job = wait_until(lambda: aws.sagemaker.describe_transform_job(TransformJobName=name), "TransformJobStatus")
    assert job["TransformJobStatus"] == "Failed"
    assert "Feature size of the request (1000000000000) does not match the model's feature_dim (2)." in job["FailureReason"]
    assert [p["closest_cluster"] for p in kmeans_answers(aws, kmeans_endpoint)] == [1.0, 2.0]


# ----------------------------------------------------------------------------- ModelDataUrl forms


HTTPS_FORMS = [
    "https://{bucket}.s3.us-east-1.amazonaws.com/{key}",
    "https://{bucket}.s3-us-east-1.amazonaws.com/{key}",
    "https://{bucket}.s3.amazonaws.com/{key}",
    "https://s3.us-east-1.amazonaws.com/{bucket}/{key}",
    "https://s3-us-east-1.amazonaws.com/{bucket}/{key}",
    "https://s3.amazonaws.com/{bucket}/{key}",
]


@pytest.mark.parametrize("form", HTTPS_FORMS)
def test_every_https_model_data_url_form_serves_the_model(aws: Clients, form: str) -> None:
    uri = upload_model_tar(aws, kmeans_member(), "https-form")
    bucket, _, key = uri[len("s3://") :].partition("/")
    url = form.format(bucket=bucket, key=key)
    endpoint = deploy_settled(aws, url)
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    assert [p["closest_cluster"] for p in kmeans_answers(aws, endpoint["EndpointName"])] == [1.0, 2.0]
    model = aws.sagemaker.describe_model(ModelName=endpoint["EndpointName"])
    assert model["PrimaryContainer"]["ModelDataUrl"] == url  # kept as given, as SageMaker does


def test_a_batch_transform_reads_an_https_model_data_url(aws: Clients) -> None:
    uri = upload_model_tar(aws, kmeans_member(), "https-transform")
    bucket, _, key = uri[len("s3://") :].partition("/")
    model = unique("https-transform")
    url = f"https://{bucket}.s3.us-east-1.amazonaws.com/{key}"
    aws.sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": url})
    data = put(aws, f"untrusted/{unique('rows')}/rows.csv", "9,1\n1,9\n")
    name = unique("https-transform")
    aws.sagemaker.create_transform_job(**transform_request(name, model, data, f"untrusted/{name}/out"))
    job = wait_until(lambda: aws.sagemaker.describe_transform_job(TransformJobName=name), "TransformJobStatus")
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    lines = read_s3(aws, f"s3://{BUCKET}/untrusted/{name}/out/rows.csv.out").decode().splitlines()
    assert [json.loads(line)["closest_cluster"] for line in lines] == [1.0, 2.0]


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("https://example.com/model.tar.gz", "example.com is not an Amazon S3 host"),
        ("https://s3.amazonaws.com/only-a-bucket", "the URL names no bucket and object key"),
        ("s3://only-a-bucket", "an s3:// ModelDataUrl names a bucket and an object key"),
        ("https://b.s3.amazonaws.com/model.tar.gz?X-Amz-Signature=abc", "has no query, fragment, user or port"),
        ("ftp://bucket/model.tar.gz", "Member must satisfy regular expression pattern"),
    ],
)
def test_a_model_data_url_that_is_not_an_s3_object_is_refused_at_create_model(aws: Clients, url: str, text: str) -> None:
    name = unique("bad-url")
    error = error_of(
        aws.sagemaker.create_model, ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": KMEANS_IMAGE, "ModelDataUrl": url}
    )
    assert error["Error"]["Code"] == "ValidationException"
    assert text in error["Error"]["Message"], error["Error"]["Message"]
    assert error_of(aws.sagemaker.describe_model, ModelName=name)["Error"]["Code"] == "ValidationException"  # nothing created
