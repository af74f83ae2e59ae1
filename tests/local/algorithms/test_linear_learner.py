"""SageMaker's built-in Linear Learner on the local engine, as a boto3 user drives it.

Binary "is it a zero?" on real MNIST digits (train + validation RecordIO),
deployed and asked for the held-out digits; multiclass and regression
(CSV, two hosts) answering in their shapes; the model artifact's layout, and
the engine hosting an artifact it wrote as well as one laid out by hand like
a real container's; and bad jobs failing with ClientError while the engine
keeps serving.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import time
import zipfile
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError as BotoClientError
from botocore.validate import ParamValidator

from helpers import BUCKET, ROLE, Clients, csv_rows, deploy, ensure_bucket, unique
from sm_magics.formats import ndarray, recordio
from sm_magics.local.runtime.hosting import unpack_model

LL_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
RECORDIO = "application/x-recordio-protobuf"
PARAMS_KEYS = {"arg:fc0_weight", "arg:fc0_bias"}
ZIP_MEMBERS = {"mx-mod-0000.params", "mx-mod-symbol.json", "manifest.json", "additional-params.json"}
BINARY_VALIDATION_METRICS = {
    "validation:objective_loss",
    "validation:binary_classification_accuracy",
    "validation:binary_f_beta",
    "validation:precision",
    "validation:recall",
    "validation:roc_auc_score",
}


# ----------------------------------------------------------------------------- helpers


def plain_clients(engine: Any) -> Clients:
    session = boto3.Session(**engine.credentials.as_boto3(), region_name="us-east-1")
    return Clients(session, engine.url)


def check_runtime_answer(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
    """InvokeEndpoint's answer against botocore's output shape, with its streaming Body in place."""
    if http_response.status_code >= 300:
        return
    body = {key: value for key, value in parsed.items() if key != "ResponseMetadata"}
    assert "Body" in body, "InvokeEndpoint answered without a Body"
    body["Body"] = b""
    report = ParamValidator().validate(body, model.output_shape)
    assert not report.has_errors(), report.generate_report()


def put(aws: Any, key: str, body: bytes) -> str:
    ensure_bucket(aws)
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def read_s3(aws: Any, uri: str) -> bytes:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def channel(name: str, uri: str, content_type: str = RECORDIO, distribution: str = "FullyReplicated") -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": distribution}},
        "ContentType": content_type,
    }


def start_job(aws: Any, hyperparameters: dict[str, str], channels: list[dict[str, Any]], instances: int = 1) -> str:
    name = unique("ll")
    aws.sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": LL_IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        InputDataConfig=channels,
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output"},
        ResourceConfig={"InstanceType": "ml.c5.xlarge", "InstanceCount": instances, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
        HyperParameters=hyperparameters,
    )
    return name


def wait_job(aws: Any, name: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = aws.sagemaker.describe_training_job(TrainingJobName=name)
        if job["TrainingJobStatus"] not in ("InProgress", "Stopping") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def train(aws: Any, hyperparameters: dict[str, str], channels: list[dict[str, Any]], instances: int = 1) -> dict[str, Any]:
    job = wait_job(aws, start_job(aws, hyperparameters, channels, instances))
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return job


def log_lines(aws: Any, job_name: str) -> list[str]:
    streams = aws.logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=job_name + "/")["logStreams"]
    lines: list[str] = []
    for stream in sorted(s["logStreamName"] for s in streams):
        kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
        while True:
            page = aws.logs.get_log_events(**kwargs)
            lines += [event["message"] for event in page["events"]]
            if not page["events"] or page.get("nextForwardToken") == kwargs.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextForwardToken"]
    return lines


def final_metrics(job: dict[str, Any]) -> dict[str, float]:
    return {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])}


def invoke(runtime: Any, endpoint: str, body: bytes | str, content_type: str, accept: str) -> tuple[bytes, str]:
    answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType=content_type, Accept=accept, Body=body)
    return answer["Body"].read(), answer["ContentType"]


def model_zip(aws: Any, job: dict[str, Any]) -> zipfile.ZipFile:
    members = unpack_model(read_s3(aws, job["ModelArtifacts"]["S3ModelArtifacts"]))
    assert set(members) == {"model_algo-1"}
    return zipfile.ZipFile(io.BytesIO(members["model_algo-1"]))


def is_zero(labels: np.ndarray) -> np.ndarray:
    return (labels == 0).astype(np.float32)


def f1_of_positive(predicted: np.ndarray, truth: np.ndarray) -> float:
    tp = float(((predicted == 1) & (truth == 1)).sum())
    return 2 * tp / float((predicted == 1).sum() + (truth == 1).sum())


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def plain(engine: Any) -> Clients:
    return plain_clients(engine)


@pytest.fixture(scope="module")
def runtime(plain: Clients) -> Any:
    client = plain.session.client("sagemaker-runtime", endpoint_url=plain.url)
    client.meta.events.register("after-call.sagemaker-runtime", check_runtime_answer)
    return client


@pytest.fixture(scope="module")
def binary(plain: Clients, mnist: tuple) -> dict[str, Any]:
    """Is-it-a-zero on MNIST: train + validation RecordIO with labels, trained and deployed."""
    (x_train, y_train), (x_valid, y_valid), _ = mnist
    prefix = f"data/{unique('ll-bin')}"
    train_uri = put(plain, f"{prefix}/train/data.pbr", recordio.encode_dense(x_train, is_zero(y_train)))
    valid_uri = put(plain, f"{prefix}/validation/data.pbr", recordio.encode_dense(x_valid, is_zero(y_valid)))
    job = train(
        plain,
        {"predictor_type": "binary_classifier", "feature_dim": "784", "mini_batch_size": "1000"},
        [channel("train", train_uri.rsplit("/", 1)[0] + "/"), channel("validation", valid_uri.rsplit("/", 1)[0] + "/")],
    )
    endpoint = deploy(plain, job["ModelArtifacts"]["S3ModelArtifacts"], image=LL_IMAGE)
    return {"job": job, "endpoint": endpoint, "train_uri": train_uri}


# ----------------------------------------------------------------------------- binary


def test_binary_mnist_zero_detector_scores_f1_over_0_9(aws: Clients, runtime: Any, binary: dict[str, Any], mnist: tuple) -> None:
    x_test, y_test = mnist[2]
    truth = is_zero(y_test)
    predictions: list[dict[str, Any]] = []
    for rows in np.array_split(x_test, 4):
        body, content_type = invoke(runtime, binary["endpoint"], csv_rows(rows), "text/csv", "application/json")
        assert content_type == "application/json"
        predictions += json.loads(body)["predictions"]
    assert len(predictions) == len(x_test)
    for item in predictions:
        assert set(item) == {"score", "predicted_label"}
        assert 0.0 <= item["score"] <= 1.0
        assert item["predicted_label"] in (0, 1) and isinstance(item["predicted_label"], int)
    predicted = np.array([p["predicted_label"] for p in predictions])
    f1 = f1_of_positive(predicted, truth)
    print(f"\nLinear Learner is-it-a-zero F1 on {len(x_test)} held-out MNIST digits: {f1:.4f}")
    assert f1 >= 0.9, f"F1 of the positive class is {f1:.4f}"

    job = aws.sagemaker.describe_training_job(TrainingJobName=binary["job"]["TrainingJobName"])
    metrics = final_metrics(job)
    assert BINARY_VALIDATION_METRICS <= set(metrics), sorted(metrics)
    assert not any(name.startswith("test:") for name in metrics), "no test channel, so no test metrics"
    assert 0.8 <= metrics["validation:binary_f_beta"] <= 1.0
    assert 0.0 < metrics["validation:objective_loss"] < 0.3
    assert metrics["validation:binary_classification_accuracy"] > 0.95


def test_an_explicit_learning_rate_is_one_of_the_parallel_models_and_the_others_try_close_values(aws: Clients, mnist: tuple) -> None:
    """The guide's num_models: one model with the given parameters, the rest with close ones; tuning turns it off."""
    (x_train, y_train), (x_valid, y_valid), _ = mnist
    prefix = f"data/{unique('ll-close')}"
    train_uri = put(aws, f"{prefix}/train/data.pbr", recordio.encode_dense(x_train[:1500], is_zero(y_train[:1500])))
    valid_uri = put(aws, f"{prefix}/validation/data.pbr", recordio.encode_dense(x_valid, is_zero(y_valid)))
    channels = [channel("train", train_uri.rsplit("/", 1)[0] + "/"), channel("validation", valid_uri.rsplit("/", 1)[0] + "/")]
    given = {"predictor_type": "binary_classifier", "feature_dim": "784", "epochs": "2", "learning_rate": "0.02", "wd": "0.001"}

    def chosen(lines: list[str]) -> dict[str, Any]:
        marker = "Best model found for hyperparameters: "
        line = next(line for line in lines if marker in line)
        return json.loads(line.split(marker, 1)[1])

    job = train(aws, given, channels)
    lines = log_lines(aws, job["TrainingJobName"])
    assert any("Training 32 model(s) in parallel" in line for line in lines)
    assert any(
        "Parallel models: model 0 with learning_rate 0.02, wd 0.001, l1 0; the others with learning_rate 0.0002 ... 0.6, wd 0.0001 ... 0.1" in line
        for line in lines
    ), [line for line in lines if "Parallel" in line]
    assert any("Calibrated the decision threshold of 32 model(s)" in line for line in lines)
    best = chosen(lines)
    # the selected model is one of the grid's: the given values times the documented-close multiples
    assert any(best["learning_rate"] == pytest.approx(0.02 * m) for m in (1.0, 3.0, 10.0, 0.3, 30.0, 0.1, 0.03, 0.01)), best
    assert any(best["wd"] == pytest.approx(0.001 * m) for m in (1.0, 10.0, 0.1, 100.0)), best

    tuned = train(aws, {**given, "_tuning_objective_metric": "validation:binary_f_beta"}, channels)
    lines = log_lines(aws, tuned["TrainingJobName"])
    assert any("Training 1 model(s) in parallel" in line for line in lines)
    assert not any("Parallel models:" in line for line in lines)
    assert (chosen(lines)["learning_rate"], chosen(lines)["wd"]) == pytest.approx((0.02, 0.001))


def test_binary_metric_definitions_match_the_log_lines(aws: Clients, binary: dict[str, Any]) -> None:
    job = aws.sagemaker.describe_training_job(TrainingJobName=binary["job"]["TrainingJobName"])
    definitions = {d["Name"]: d["Regex"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert {"validation:binary_f_beta", "test:binary_f_beta", "validation:objective_loss", "validation:rmse"} <= set(definitions)
    lines = log_lines(aws, job["TrainingJobName"])
    text = "\n".join(lines)
    assert re.search(r"#quality_metric: host=algo-1, epoch=0, train binary_classification_cross_entropy_objective <loss>=\S+", text)
    assert re.search(r"#quality_metric: host=algo-1, epoch=0, validation binary_classification_cross_entropy_objective <loss>=\S+", text)
    assert re.search(r"#validation_score \(algo-1\) : \('binary_f_1\.000', \S+\)", text)
    assert "Test data is not provided." in text
    # every final metric is what its own regex finds last in the log
    for name, value in final_metrics(job).items():
        found = [float(m) for line in lines for m in re.findall(definitions[name], line)]
        assert found, f"{name}: its regex {definitions[name]!r} matches no log line"
        assert found[-1] == pytest.approx(value, rel=1e-6), name


def test_binary_answers_in_every_format(runtime: Any, binary: dict[str, Any], mnist: tuple) -> None:
    rows = mnist[2][0][:6].astype(np.float64)
    endpoint = binary["endpoint"]
    reference = json.loads(invoke(runtime, endpoint, csv_rows(rows), "text/csv", "application/json")[0])["predictions"]
    scores = np.array([p["score"] for p in reference])
    labels = np.array([p["predicted_label"] for p in reference])

    instances = json.dumps({"instances": [{"features": row.tolist()} for row in rows]})
    body, kind = invoke(runtime, endpoint, instances, "application/json", "application/jsonlines")
    assert kind == "application/jsonlines"
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert [p["predicted_label"] for p in lines] == labels.tolist()
    np.testing.assert_allclose([p["score"] for p in lines], scores, rtol=1e-5, atol=1e-6)

    body, kind = invoke(runtime, endpoint, recordio.encode_dense(rows.astype(np.float32)), RECORDIO, RECORDIO)
    assert kind == RECORDIO
    records = recordio.read_records(body)
    assert len(records) == len(rows)
    got_scores = [r.label["score"].values.tolist() for r in records]
    got_labels = [r.label["predicted_label"].values.tolist() for r in records]
    assert all(r.label["score"].values.dtype == np.float32 for r in records)
    np.testing.assert_allclose(np.ravel(got_scores), scores, rtol=1e-5, atol=1e-6)
    assert np.ravel(got_labels).tolist() == labels.astype(float).tolist()

    body, kind = invoke(runtime, endpoint, csv_rows(rows), "text/csv", "text/csv")
    assert kind == "text/csv"
    table = np.loadtxt(io.StringIO(body.decode()), delimiter=",", ndmin=2)
    assert table.shape == (len(rows), 2)
    np.testing.assert_allclose(table[:, 0], scores, rtol=1e-5, atol=1e-6)
    assert table[:, 1].tolist() == labels.astype(float).tolist()

    jsonlines = "\n".join(json.dumps({"features": row.tolist()}) for row in rows)
    body, _ = invoke(runtime, endpoint, jsonlines, "application/jsonlines", "application/json")
    assert [p["predicted_label"] for p in json.loads(body)["predictions"]] == labels.tolist()

    with pytest.raises(BotoClientError) as caught:
        invoke(runtime, endpoint, "1,2,3", "text/csv", "application/json")
    assert caught.value.response["Error"]["Code"] == "ModelError"
    assert caught.value.response["OriginalStatusCode"] == 400


# ----------------------------------------------------------------------------- artifacts


def test_binary_artifact_layout_and_the_engine_rehosts_it(aws: Clients, runtime: Any, binary: dict[str, Any], mnist: tuple) -> None:
    archive = model_zip(aws, binary["job"])
    assert set(archive.namelist()) == ZIP_MEMBERS
    assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    params = ndarray.load(archive.read("mx-mod-0000.params"))
    assert isinstance(params, dict) and set(params) == PARAMS_KEYS
    assert params["arg:fc0_weight"].shape == (784, 1) and params["arg:fc0_weight"].dtype == np.float32
    assert params["arg:fc0_bias"].shape == (1, 1) and params["arg:fc0_bias"].dtype == np.float32
    assert json.loads(archive.read("manifest.json")) == {"additional-params.json": "json", "mx-mod": "mxnet_module", "version": 1}
    extra = json.loads(archive.read("additional-params.json"))
    assert extra["predictor_type"] == "binary_classifier" and extra["loss_type"] == "logistic"
    assert 0.0 < extra["threshold"] < 1.0 and extra["metrics_params"]["threshold"] == extra["threshold"]
    symbol = json.loads(archive.read("mx-mod-symbol.json"))
    ops = [node["op"] for node in symbol["nodes"]]
    assert ops == ["null", "null", "dot", "null", "broadcast_add", "null", "LogisticRegressionOutput"]
    assert symbol["nodes"][1]["attrs"]["__shape__"] == "(784, 1)"
    assert symbol["heads"] == [[6, 0, 0]] and symbol["arg_nodes"] == [0, 1, 3, 5]

    # the scaler is folded into fc0: raw pixels through the stored weights give the endpoint's scores
    rows = mnist[2][0][:20]
    weight, bias = params["arg:fc0_weight"].astype(np.float64), params["arg:fc0_bias"].astype(np.float64)
    expected = 1.0 / (1.0 + np.exp(-(rows.astype(np.float64) @ weight + bias)))[:, 0]
    answer = json.loads(invoke(runtime, binary["endpoint"], csv_rows(rows), "text/csv", "application/json")[0])
    np.testing.assert_allclose([p["score"] for p in answer["predictions"]], expected, rtol=1e-4, atol=1e-5)
    assert [p["predicted_label"] for p in answer["predictions"]] == (expected > extra["threshold"]).astype(int).tolist()

    # the same bytes under another key, as a new model behind a new endpoint
    copy_uri = put(aws, f"models/{unique('ll-copy')}/model.tar.gz", read_s3(aws, binary["job"]["ModelArtifacts"]["S3ModelArtifacts"]))
    endpoint = deploy(aws, copy_uri, image=LL_IMAGE)
    again = json.loads(invoke(runtime, endpoint, csv_rows(rows), "text/csv", "application/json")[0])
    assert again == answer
    aws.sagemaker.delete_endpoint(EndpointName=endpoint)


def _real_layout_regressor(weight: np.ndarray, bias: float) -> bytes:
    """A model.tar.gz laid out like a real Linear Learner regressor artifact (docs A.5)."""
    d = weight.shape[0]
    symbol = {
        "nodes": [
            {"op": "null", "name": "data", "inputs": []},
            {"op": "null", "name": "fc0_weight", "attrs": {"__shape__": f"({d}, 1)"}, "inputs": []},
            {"op": "dot", "name": "dot32", "inputs": [[0, 0, 0], [1, 0, 0]]},
            {"op": "null", "name": "fc0_bias", "attrs": {"__lr_mult__": "10.0", "__shape__": "(1, 1)"}, "inputs": []},
            {"op": "broadcast_add", "name": "broadcast_plus32", "inputs": [[2, 0, 0], [3, 0, 0]]},
            {"op": "null", "name": "out_label", "inputs": []},
            {"op": "LinearRegressionOutput", "name": "linearregressionoutput32", "inputs": [[4, 0, 0], [5, 0, 0]]},
        ],
        "arg_nodes": [0, 1, 3, 5],
        "node_row_ptr": [0, 1, 2, 3, 4, 5, 6, 7],
        "heads": [[6, 0, 0]],
        "attrs": {"mxnet_version": ["int", 10301]},
    }
    extra = {
        "threshold": 0.5,
        "loss_type": "squared_loss",
        "metrics_params": {
            "eps_insensitive_loss_type": None, "class_weights": None, "huber_delta": None, "quantile": None,
            "loss_insensitivity": None, "positive_example_weight_mult": 1.0, "accuracy_top_k": 3, "threshold": 0.5,
            "f_beta": None, "margin": None,
        },
        "predictor_type": "regressor",
    }
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("additional-params.json", json.dumps(extra))
        archive.writestr("manifest.json", json.dumps({"additional-params.json": "json", "mx-mod": "mxnet_module", "version": 1}))
        archive.writestr("mx-mod-symbol.json", json.dumps(symbol, indent=2))
        archive.writestr(
            "mx-mod-0000.params",
            ndarray.save({"arg:fc0_bias": np.array([[bias]], np.float32), "arg:fc0_weight": weight.reshape(d, 1).astype(np.float32)}),
        )
    member = inner.getvalue()
    outer = io.BytesIO()
    with tarfile.open(fileobj=outer, mode="w:gz") as tar:
        info = tarfile.TarInfo("model_algo-1")
        info.size, info.mode = len(member), 0o644
        tar.addfile(info, io.BytesIO(member))
    return outer.getvalue()


def test_a_regressor_artifact_in_the_real_layout_is_served(aws: Clients, runtime: Any) -> None:
    weight = np.array([0.5, -2.0, 1.25], dtype=np.float32)
    uri = put(aws, f"models/{unique('ll-real')}/model.tar.gz", _real_layout_regressor(weight, 3.0))
    endpoint = deploy(aws, uri, image=LL_IMAGE)
    rows = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0], [2.0, 2.0, 2.0]])
    answer = json.loads(invoke(runtime, endpoint, csv_rows(rows), "text/csv", "application/json")[0])
    assert list(answer) == ["predictions"] and all(set(p) == {"score"} for p in answer["predictions"])
    np.testing.assert_allclose([p["score"] for p in answer["predictions"]], rows @ weight + 3.0, rtol=1e-6)
    aws.sagemaker.delete_endpoint(EndpointName=endpoint)


# ----------------------------------------------------------------------------- multiclass


def test_multiclass_digits_answer_with_class_probabilities(aws: Clients, runtime: Any, mnist: tuple) -> None:
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = mnist
    prefix = f"data/{unique('ll-multi')}"
    uris = {
        name: put(aws, f"{prefix}/{name}/data.pbr", recordio.encode_dense(x, y.astype(np.float32)))
        for name, x, y in (("train", x_train, y_train), ("validation", x_valid, y_valid), ("test", x_test, y_test))
    }
    job = train(
        aws,
        {"predictor_type": "multiclass_classifier", "num_classes": "10", "feature_dim": "784", "epochs": "10"},
        [channel(name, uri.rsplit("/", 1)[0] + "/") for name, uri in uris.items()],
    )
    metrics = final_metrics(job)
    for prefix_ in ("validation", "test"):
        for name in ("objective_loss", "multiclass_accuracy", "multiclass_top_k_accuracy", "dcg", "macro_f_beta", "macro_precision", "macro_recall"):
            assert f"{prefix_}:{name}" in metrics, sorted(metrics)
    assert metrics["test:multiclass_accuracy"] > 0.8

    archive = model_zip(aws, job)
    params = ndarray.load(archive.read("mx-mod-0000.params"))
    assert params["arg:fc0_weight"].shape == (784, 10) and params["arg:fc0_bias"].shape == (1, 10)
    assert json.loads(archive.read("mx-mod-symbol.json"))["nodes"][-1]["op"] == "SoftmaxOutput"
    assert json.loads(archive.read("additional-params.json"))["predictor_type"] == "multiclass_classifier"

    endpoint = deploy(aws, job["ModelArtifacts"]["S3ModelArtifacts"], image=LL_IMAGE)
    rows = x_test[:200]
    predictions = json.loads(invoke(runtime, endpoint, csv_rows(rows), "text/csv", "application/json")[0])["predictions"]
    for item in predictions:
        assert set(item) == {"score", "predicted_label"}
        assert len(item["score"]) == 10 and sum(item["score"]) == pytest.approx(1.0, abs=1e-4)
        assert isinstance(item["predicted_label"], int) and item["predicted_label"] == int(np.argmax(item["score"]))
    accuracy = float(np.mean([p["predicted_label"] for p in predictions] == y_test[:200]))
    assert accuracy > 0.8

    body, kind = invoke(runtime, endpoint, recordio.encode_dense(rows[:3]), RECORDIO, RECORDIO)
    records = recordio.read_records(body)
    assert [r.label["score"].values.shape for r in records] == [(10,)] * 3
    assert [float(r.label["predicted_label"].values[0]) for r in records] == [float(p["predicted_label"]) for p in predictions[:3]]
    aws.sagemaker.delete_endpoint(EndpointName=endpoint)


# ----------------------------------------------------------------------------- regression


def test_regressor_on_csv_across_two_hosts(aws: Clients, runtime: Any) -> None:
    rng = np.random.default_rng(7)
    true_weight = rng.normal(size=8)
    x = (rng.normal(size=(3000, 8)) * np.linspace(0.5, 20.0, 8) + 40.0).astype(np.float32)
    y = (x.astype(np.float64) @ true_weight + 5.0 + rng.normal(scale=0.5, size=len(x))).astype(np.float32)
    prefix = f"data/{unique('ll-reg')}"
    for index, part in enumerate(np.array_split(np.arange(2400), 2)):
        put(aws, f"{prefix}/train/part-{index}.csv", csv_rows(np.column_stack([y[part], x[part]])).encode())
    put(aws, f"{prefix}/validation/valid.csv", csv_rows(np.column_stack([y[2400:2700], x[2400:2700]])).encode())
    job = train(
        aws,
        {"predictor_type": "regressor", "feature_dim": "8", "mini_batch_size": "100"},
        [
            channel("train", f"s3://{BUCKET}/{prefix}/train/", "text/csv", "ShardedByS3Key"),
            channel("validation", f"s3://{BUCKET}/{prefix}/validation/", "text/csv"),
        ],
        instances=2,
    )
    metrics = final_metrics(job)
    assert {"validation:objective_loss", "validation:mse", "validation:absolute_loss", "validation:rmse"} <= set(metrics)
    assert not any("binary" in name or "multiclass" in name for name in metrics)
    lines = log_lines(aws, job["TrainingJobName"])
    assert any("gathered 2400 training records from 2 hosts" in line for line in lines)

    archive = model_zip(aws, job)
    assert json.loads(archive.read("mx-mod-symbol.json"))["nodes"][-1]["op"] == "LinearRegressionOutput"
    params = ndarray.load(archive.read("mx-mod-0000.params"))
    assert params["arg:fc0_weight"].shape == (8, 1)

    endpoint = deploy(aws, job["ModelArtifacts"]["S3ModelArtifacts"], image=LL_IMAGE)
    held_out = x[2700:]
    body, _ = invoke(runtime, endpoint, csv_rows(held_out), "text/csv", "application/json")
    predictions = json.loads(body)["predictions"]
    assert all(set(p) == {"score"} for p in predictions)
    scores = np.array([p["score"] for p in predictions])
    spread = float(np.std(y[2700:]))
    rmse = float(np.sqrt(np.mean((scores - y[2700:]) ** 2)))
    assert rmse < 0.1 * spread, f"rmse {rmse} against a label spread of {spread}"
    aws.sagemaker.delete_endpoint(EndpointName=endpoint)


# ----------------------------------------------------------------------------- failures


def test_bad_jobs_fail_with_client_error_and_the_engine_keeps_serving(
    aws: Clients, runtime: Any, binary: dict[str, Any], mnist: tuple
) -> None:
    (x_train, y_train) = mnist[0]
    x, digits = x_train[:300], y_train[:300]
    prefix = f"data/{unique('ll-bad')}"
    zero_uri = put(aws, f"{prefix}/zero/data.pbr", recordio.encode_dense(x, is_zero(digits)))
    digit_uri = put(aws, f"{prefix}/digits/data.pbr", recordio.encode_dense(x, digits.astype(np.float32)))
    unlabelled_csv = put(aws, f"{prefix}/nolabel/data.csv", csv_rows(x[:50]).encode())
    float64_uri = put(aws, f"{prefix}/f64/data.pbr", recordio.encode_dense(x.astype(np.float64), is_zero(digits)))
    binary_hp = {"predictor_type": "binary_classifier", "feature_dim": "784"}
    cases = {
        "missing predictor_type": ({"feature_dim": "784"}, [channel("train", zero_uri)], "predictor_type"),
        "multiclass without num_classes": (
            {"predictor_type": "multiclass_classifier", "feature_dim": "784"},
            [channel("train", digit_uri)],
            "num_classes",
        ),
        "num_classes below the labels": (
            {"predictor_type": "multiclass_classifier", "num_classes": "3", "feature_dim": "784"},
            [channel("train", digit_uri)],
            "num_classes is 3",
        ),
        "out-of-range value": ({**binary_hp, "target_recall": "1.5"}, [channel("train", zero_uri)], "target_recall"),
        "misspelt hyperparameter": ({**binary_hp, "epoch": "3"}, [channel("train", zero_uri)], "did you mean 'epochs'"),
        "loss not for binary": ({**binary_hp, "loss": "squared_loss"}, [channel("train", zero_uri)], "loss"),
        "CSV without a label column": (binary_hp, [channel("train", unlabelled_csv, "text/csv")], "label in the first column"),
        "wrong content type": (binary_hp, [channel("train", zero_uri, "application/json")], "ContentType"),
        "label outside {0,1}": (binary_hp, [channel("train", digit_uri)], "must be 0 or 1"),
        "float64 RecordIO": (binary_hp, [channel("train", float64_uri)], "Float32"),
        "tuning objective without its channel": (
            {**binary_hp, "_tuning_objective_metric": "validation:binary_f_beta"},
            [channel("train", zero_uri)],
            "validation",
        ),
        "unknown channel": (binary_hp, [channel("train", zero_uri), channel("extra", zero_uri)], "extra"),
    }
    started = {case: start_job(aws, hp, channels) for case, (hp, channels, _) in cases.items()}
    for case, name in started.items():
        job = wait_job(aws, name)
        assert job["TrainingJobStatus"] == "Failed", f"{case}: {job['TrainingJobStatus']}"
        reason = job["FailureReason"]
        assert reason.startswith("ClientError: "), f"{case}: {reason}"
        assert cases[case][2] in reason, f"{case}: {reason}"

    # still serving: the binary endpoint answers, and a good job with a tuning objective completes
    body, _ = invoke(runtime, binary["endpoint"], csv_rows(mnist[2][0][:2]), "text/csv", "application/json")
    assert len(json.loads(body)["predictions"]) == 2
    job = train(
        aws,
        {**binary_hp, "_tuning_objective_metric": "validation:binary_f_beta", "epochs": "3"},
        [channel("train", zero_uri), channel("validation", zero_uri)],
    )
    assert "validation:binary_f_beta" in final_metrics(job)
    assert any("Training 1 model(s) in parallel" in line for line in log_lines(aws, job["TrainingJobName"]))
