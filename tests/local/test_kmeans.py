"""Built-in k-means, trained and hosted by the engine, judged as a user judges it.

Quality against scikit-learn on real MNIST, two hosts on sharded data, the
test channel's metric, every request/response format of the endpoint, a real
SageMaker k-means artifact hosted unchanged, and the engine's own artifact
laid out like the real one.
"""

from __future__ import annotations

import io
import json
import re
import struct
import tarfile
from typing import Any, Callable

import numpy as np
import pytest
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from helpers import (
    BUCKET, FIXTURES, LOG_GROUP, Clients, complete_training, csv_rows, deploy, ensure_bucket, final_metrics,
    log_events, put, read_s3, train_kmeans, training_request, unique, upload_recordio,
)
from sm_magics.formats import ndarray, recordio
from sm_magics.local.runtime.hosting import unpack_model


# ----------------------------------------------------------------------------- helpers


def centroids_of(aws: Any, job: dict[str, Any]) -> np.ndarray:
    members = unpack_model(read_s3(aws, job["ModelArtifacts"]["S3ModelArtifacts"]))
    (centroids,) = ndarray.load(members["model_algo-1"])
    return centroids


def squared_distances(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    x, c = np.asarray(x, dtype=np.float64), np.asarray(centroids, dtype=np.float64)
    return ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)


def wcss(x: np.ndarray, centroids: np.ndarray) -> float:
    """Within-cluster sum of squares of x, each row assigned to its nearest centroid."""
    return float(squared_distances(x, centroids).min(axis=1).sum())


def reference_centroids(x: np.ndarray, k: int) -> np.ndarray:
    """scikit-learn's k-means, best of 10 inits; one thread, as OpenMP spinning on a busy 2-core box costs 10x."""
    with threadpool_limits(limits=1):
        return KMeans(n_clusters=k, n_init=10, random_state=0).fit(x).cluster_centers_


def log_messages(aws: Any, stream: str) -> list[str]:
    return [event["message"] for event in log_events(aws, stream)]


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def small(engine_clients: Clients, mnist: tuple) -> dict[str, Any]:
    """k=10 on 500 MNIST digits, deployed: the model most tests here talk to."""
    job = train_kmeans(engine_clients, mnist[0][0][:500], k=10)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    model_uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    return {"job": job, "centroids": centroids_of(engine_clients, job), "endpoint": deploy(engine_clients, model_uri)}


# ----------------------------------------------------------------------------- training


def test_mnist_clusters_are_as_tight_as_scikit_learn(aws: Clients, mnist: tuple) -> None:
    x = mnist[0][0]
    assert x.shape == (3572, 784)
    # The engine seeds its random initialisation from the job name. A fixed name keeps this
    # test reproducible: over random names the ratio below spreads from about 1.008 to 1.022.
    name = "kmeans-mnist-quality"
    uri = upload_recordio(aws, x, f"data/{name}-{unique('run')}")
    job = complete_training(aws, training_request(name, uri, {"k": "10", "feature_dim": "784"}))  # defaults otherwise
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    centroids = centroids_of(aws, job)
    assert centroids.shape == (10, 784) and centroids.dtype == np.float32
    assert np.isfinite(centroids).all()

    ours, theirs = wcss(x, centroids), wcss(x, reference_centroids(x, 10))
    assert ours == pytest.approx(theirs, rel=0.02), f"engine WCSS {ours:.1f} vs scikit-learn {theirs:.1f}"
    # every centroid serves some digits: no cluster was left empty
    assert len(np.unique(squared_distances(x, centroids).argmin(axis=1))) == 10


def test_two_hosts_on_sharded_data(aws: Clients, mnist: tuple) -> None:
    x = mnist[0][0][:1000]
    name = unique("km2")
    ensure_bucket(aws)
    # unequal shards, so each host's log tells which one it read
    for index, part in enumerate((x[:600], x[600:])):
        put(aws, f"data/{name}/matrix_{index}.pbr", recordio.encode_dense(part))
    request = training_request(name, f"s3://{BUCKET}/data/{name}/", {"k": "10", "feature_dim": "784"})
    request["ResourceConfig"]["InstanceCount"] = 2
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "ShardedByS3Key"
    job = complete_training(aws, request)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ResourceConfig"]["InstanceCount"] == 2

    streams = aws.logs.describe_log_streams(
        logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/", orderBy="LogStreamName", limit=2
    )["logStreams"]
    stream_names = [s["logStreamName"] for s in streams]
    assert [re.sub(r"-\d+$", "", s) for s in stream_names] == [f"{name}/algo-1", f"{name}/algo-2"]
    rows_seen = []
    for host, stream in enumerate(stream_names, start=1):
        messages = log_messages(aws, stream)
        assert any(f"#quality_metric: host=algo-{host}, epoch=0, train msd <loss>=" in m for m in messages), host
        assert not any(f"host=algo-{3 - host}" in m for m in messages), f"algo-{host}'s stream holds the other host's lines"
        sizes = [int(found[1]) for m in messages if (found := re.search(r"Effective batch size used to initialize is (\d+)", m))]
        rows_seen += sizes
    assert sorted(rows_seen) == [400, 600], "each host should read exactly one of the two files"

    centroids = centroids_of(aws, job)
    assert centroids.shape == (10, 784)
    assert wcss(x, centroids) <= 1.05 * wcss(x, reference_centroids(x, 10))


def test_test_channel_reports_test_msd_and_ssd(aws: Clients, mnist: tuple) -> None:
    x_train, x_test = mnist[0][0][:500], mnist[2][0][:200]
    name = unique("kmt")
    train_uri = upload_recordio(aws, x_train, f"data/{name}/train")
    test_uri = upload_recordio(aws, x_test, f"data/{name}/test")
    request = training_request(name, train_uri, {"k": "8", "feature_dim": "784", "eval_metrics": '["msd", "ssd"]'})
    test_channel = json.loads(json.dumps(request["InputDataConfig"][0]))
    test_channel["ChannelName"] = "test"
    test_channel["DataSource"]["S3DataSource"]["S3Uri"] = test_uri
    request["InputDataConfig"].append(test_channel)
    job = complete_training(aws, request)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    metrics = final_metrics(job)
    assert {"train:msd", "test:msd", "test:ssd"} <= set(metrics)
    nearest = squared_distances(x_test, centroids_of(aws, job)).min(axis=1)
    assert metrics["test:msd"] == pytest.approx(nearest.mean(), rel=1e-4)
    assert metrics["test:ssd"] == pytest.approx(nearest.sum(), rel=1e-4)


def test_without_test_channel_there_is_no_test_metric(small: dict[str, Any]) -> None:
    assert "test:msd" not in final_metrics(small["job"])
    assert "train:msd" in final_metrics(small["job"])


# ----------------------------------------------------------------------------- inference formats


def _as_csv(x: np.ndarray) -> tuple[bytes, np.ndarray]:
    text = csv_rows(x)
    sent = np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])
    return text.encode(), sent


def _as_json(x: np.ndarray) -> tuple[bytes, np.ndarray]:
    return json.dumps({"instances": [{"features": row.tolist()} for row in x]}).encode(), x.astype(np.float64)


def _as_jsonlines(x: np.ndarray) -> tuple[bytes, np.ndarray]:
    return "\n".join(json.dumps({"features": row.tolist()}) for row in x).encode(), x.astype(np.float64)


def _as_recordio(x: np.ndarray) -> tuple[bytes, np.ndarray]:
    return recordio.encode_dense(x.astype(np.float32)), x.astype(np.float64)


def _from_json(body: bytes) -> list[tuple[float, float]]:
    predictions = json.loads(body)["predictions"]
    for p in predictions:
        assert isinstance(p["closest_cluster"], float), "k-means sends cluster ids as floats (e.g. 1.0)"
    return [(p["closest_cluster"], p["distance_to_cluster"]) for p in predictions]


def _from_jsonlines(body: bytes) -> list[tuple[float, float]]:
    lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
    return [(p["closest_cluster"], p["distance_to_cluster"]) for p in lines]


NUMBER = r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"


def _from_csv(body: bytes) -> list[tuple[float, float]]:
    """One ``closest_cluster,distance_to_cluster`` line per record, e.g. ``1.0,3.0``."""
    lines = [line for line in body.decode().splitlines() if line.strip()]
    for line in lines:
        assert re.fullmatch(f"{NUMBER},{NUMBER}", line), f"not a CSV line of two numbers: {line!r}"
    return [(float(c), float(d)) for c, d in (line.split(",") for line in lines)]


def _from_recordio(body: bytes) -> list[tuple[float, float]]:
    out = []
    for record in recordio.read_records(body):
        closest, distance = record.label["closest_cluster"], record.label["distance_to_cluster"]
        assert closest.values.dtype == np.float32 and distance.values.dtype == np.float32
        out.append((float(closest.values[0]), float(distance.values[0])))
    return out


ENCODERS: dict[str, Callable[[np.ndarray], tuple[bytes, np.ndarray]]] = {
    "text/csv": _as_csv,
    "application/json": _as_json,
    "application/jsonlines": _as_jsonlines,
    "application/x-recordio-protobuf": _as_recordio,
}
DECODERS: dict[str | None, tuple[str, Callable[[bytes], list[tuple[float, float]]]]] = {
    None: ("application/json", _from_json),  # no Accept: JSON, as the boto3 tutorial expects
    "application/json": ("application/json", _from_json),
    "application/jsonlines": ("application/jsonlines", _from_jsonlines),
    "text/csv": ("text/csv", _from_csv),
    "application/x-recordio-protobuf": ("application/x-recordio-protobuf", _from_recordio),
}


def assert_answers(answers: list[tuple[float, float]], x: np.ndarray, centroids: np.ndarray) -> None:
    sq = squared_distances(x, centroids)
    assert len(answers) == len(x)
    closest = np.array([a[0] for a in answers])
    distance = np.array([a[1] for a in answers])
    np.testing.assert_array_equal(closest, sq.argmin(axis=1).astype(np.float64))
    np.testing.assert_allclose(distance, np.sqrt(sq.min(axis=1)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("accept", list(DECODERS), ids=lambda a: f"accept={a or 'default'}")
@pytest.mark.parametrize("content_type", list(ENCODERS), ids=lambda c: f"in={c}")
def test_inference_formats(runtime: Any, small: dict[str, Any], mnist: tuple, content_type: str, accept: str | None) -> None:
    x = mnist[2][0][:25]
    body, sent = ENCODERS[content_type](x)
    kwargs = {"Accept": accept} if accept else {}
    answer = runtime.invoke_endpoint(EndpointName=small["endpoint"], ContentType=content_type, Body=body, **kwargs)
    expected_type, decode = DECODERS[accept]
    assert answer["ContentType"] == expected_type
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    assert_answers(decode(answer["Body"].read()), sent, small["centroids"])


def test_json_instances_in_the_data_features_values_form(runtime: Any, small: dict[str, Any], mnist: tuple) -> None:
    x = mnist[2][0][:5]
    body = json.dumps({"instances": [{"data": {"features": {"values": row.tolist()}}} for row in x]})
    answer = runtime.invoke_endpoint(EndpointName=small["endpoint"], ContentType="application/json", Body=body)
    assert_answers(_from_json(answer["Body"].read()), x, small["centroids"])


# ----------------------------------------------------------------------------- real SageMaker artifacts


def test_real_sagemaker_kmeans_artifact_is_hosted(aws: Clients, runtime: Any) -> None:
    artifact = (FIXTURES / "kmeans_model.tar.gz").read_bytes()
    (centroids,) = ndarray.load((FIXTURES / "kmeans_model_algo-1").read_bytes())
    assert centroids.shape == (7, 5)
    ensure_bucket(aws)
    key = f"real/{unique('km')}/model.tar.gz"
    endpoint = deploy(aws, put(aws, key, artifact))
    assert aws.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"

    x = np.random.default_rng(7).normal(scale=0.4, size=(60, 5)).astype(np.float32)
    x[:7] = centroids  # each centroid is its own nearest, at distance 0
    for content_type, accept in (("application/x-recordio-protobuf", "application/x-recordio-protobuf"), ("text/csv", None)):
        body, sent = ENCODERS[content_type](x)
        kwargs = {"Accept": accept} if accept else {}
        answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType=content_type, Body=body, **kwargs)
        expected_type, decode = DECODERS[accept]
        assert answer["ContentType"] == expected_type
        answers = decode(answer["Body"].read())
        assert_answers(answers, sent, centroids)
        assert [a[0] for a in answers[:7]] == [float(i) for i in range(7)]
    aws.sagemaker.delete_endpoint(EndpointName=endpoint)


def _member(data: bytes) -> tarfile.TarInfo:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
    assert len(members) == 1
    return members[0]


def test_engine_artifact_has_the_real_layout(aws: Clients, small: dict[str, Any]) -> None:
    ours = read_s3(aws, small["job"]["ModelArtifacts"]["S3ModelArtifacts"])
    real = (FIXTURES / "kmeans_model.tar.gz").read_bytes()
    assert ours[:2] == real[:2] == b"\x1f\x8b"  # gzip

    mine, theirs = _member(ours), _member(real)
    assert mine.name == theirs.name == "model_algo-1"  # flat, no directory
    assert mine.isfile() and theirs.isfile()
    assert mine.mode & 0o7777 == theirs.mode & 0o7777 == 0o644
    assert (mine.uid, mine.gid) == (theirs.uid, theirs.gid) == (0, 0)
    assert (mine.uname, mine.gname) == (theirs.uname, theirs.gname)

    member = unpack_model(ours)["model_algo-1"]
    real_member = (FIXTURES / "kmeans_model_algo-1").read_bytes()
    arrays = ndarray.load(member)
    assert isinstance(arrays, list) and len(arrays) == 1  # a list file, not a dict
    (centroids,) = arrays
    assert centroids.shape == (10, 784) and centroids.dtype == np.float32
    np.testing.assert_array_equal(centroids, small["centroids"])
    # same framing as the real file: list magic, one array, V2 record header, dense cpu float32, no names
    header = struct.pack("<QQQ", 0x112, 0, 1)
    assert member[:24] == real_member[:24] == header
    assert member[24:32] == real_member[24:32]  # record magic and storage type
    assert struct.unpack_from("<I", member, 32)[0] == 2 and struct.unpack_from("<qq", member, 36) == (10, 784)
    assert member[52:64] == real_member[52:64]  # cpu, device 0, float32
    assert member[-8:] == real_member[-8:] == b"\0" * 8
    for data, (k, d) in ((member, (10, 784)), (real_member, (7, 5))):
        assert len(data) == 24 + 40 + 4 * k * d + 8
