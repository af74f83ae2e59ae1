"""SageMaker's built-in XGBoost as a boto3 user meets it, on the local engine.

The data is scikit-learn's bundled breast-cancer set (``tests/reference_data.py``:
569 x 30, nothing downloaded), uploaded as the XGBoost tutorials do: CSV with
the label first and no header, ``train`` and ``validation`` channels. A
managed-spot 1.0-1 job and a 1.7-1 job train ``binary:logistic`` with early
stopping; their metrics reach FinalMetricDataList and their per-round lines
CloudWatch; their ``xgboost-model`` artifacts load with the xgboost package;
the endpoints answer CSV in the shape of their image version (one comma-joined
line for 1.0-1, one value per line for 1.7-1, JSON on request) and classify
the held-out rows; the runtime errors are the container's; a two-host
``multi:softprob`` job under a tuning objective trains on the union of its
shards; and the mistakes users make fail the job with the container's
``ClientError:`` wording while the engine keeps serving.
"""

from __future__ import annotations

import json
import pickle
import re
import time
from typing import Any, Iterator

import numpy as np
import pytest

from reference_data import breast_cancer, csv_features, csv_label_first
from helpers import (
    BUCKET, LOG_GROUP, Clients, channel, deploy, ensure_bucket, error_of, final_metrics, job_request, put, read_s3,
    run_training, unique,
)
from sm_magics.local.runtime.hosting import unpack_model

XGB = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost"
IMAGE_10 = f"{XGB}:1.0-1-cpu-py3"
IMAGE_17 = f"{XGB}:1.7-1"
IMAGE_30 = f"{XGB}:3.0-5"
CSV = "text/csv"
# the XGBoost tutorial's hyperparameters (sdk-surface.md 2c), with early stopping on a long budget
TUTORIAL = {
    "max_depth": "5",
    "eta": "0.2",
    "gamma": "4",
    "min_child_weight": "6",
    "subsample": "0.8",
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "num_round": "200",
    "early_stopping_rounds": "10",
}
ROUND_LINE = re.compile(r"\[(\d+)\]\ttrain-auc:(\d\.\d{5})\tvalidation-auc:(\d\.\d{5})$")


# ----------------------------------------------------------------------------- helpers


def xgb_request(name: str, image: str, channels: list[dict[str, Any]], hyperparameters: dict[str, str], **extra: Any) -> dict[str, Any]:
    """The tutorial's job shape: one ml.m5.xlarge, five minutes, output under s3://BUCKET/xgboost-output."""
    defaults = {
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/xgboost-output"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }
    return job_request(name, image, channels, hyperparameters, **{**defaults, **extra})


def log_lines(aws: Any, job: str) -> dict[str, list[str]]:
    """Every host's CloudWatch lines, by stream name."""
    streams = aws.logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{job}/", orderBy="LogStreamName")
    out: dict[str, list[str]] = {}
    for stream in streams["logStreams"]:
        events = aws.logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream["logStreamName"], startFromHead=True)
        out[stream["logStreamName"]] = [e["message"] for e in events["events"]]
    return out


def round_lines(lines: list[str]) -> list[str]:
    """The per-round evaluation lines, without the engine's log prefix."""
    return [line.split("] ", 1)[1] for line in lines if re.search(r"\] \[\d+\]\t", line)]


def model_member(aws: Any, job: dict[str, Any]) -> bytes:
    members = unpack_model(read_s3(aws, job["ModelArtifacts"]["S3ModelArtifacts"]))
    assert list(members) == ["xgboost-model"]
    return members["xgboost-model"]


def invoke(runtime: Any, endpoint: str, body: str, accept: str | None = None, content_type: str = "text/csv") -> tuple[str, str]:
    kwargs: dict[str, Any] = {"EndpointName": endpoint, "ContentType": content_type, "Body": body}
    if accept is not None:
        kwargs["Accept"] = accept
    answer = runtime.invoke_endpoint(**kwargs)
    return answer["Body"].read().decode(), answer["ContentType"]


def model_error(runtime: Any, endpoint: str, body: str, **kwargs: Any) -> dict[str, Any]:
    response = error_of(runtime.invoke_endpoint, EndpointName=endpoint, Body=body, **kwargs)
    assert response["Error"]["Code"] == "ModelError"
    return response


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def uris(engine_clients: Clients) -> dict[str, str]:
    ensure_bucket(engine_clients)
    data = breast_cancer()
    prefix = f"xgboost/{unique('bc')}"
    return {
        "train": put(engine_clients, f"{prefix}/train/train.csv", csv_label_first(data.train.x, data.train.y)),
        "validation": put(engine_clients, f"{prefix}/validation/validation.csv", csv_label_first(data.validation.x, data.validation.y)),
        "prefix": prefix,
    }


@pytest.fixture(scope="module")
def jobs(engine_clients: Clients, uris: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The tutorial's job on 1.0-1 with managed spot training, and the same on 1.7-1; both Completed."""
    channels = [channel("train", uris["train"], CSV), channel("validation", uris["validation"], CSV)]
    out = {}
    for version, image, extra in (
        (
            "1.0-1",
            IMAGE_10,
            {"EnableManagedSpotTraining": True, "StoppingCondition": {"MaxRuntimeInSeconds": 300, "MaxWaitTimeInSeconds": 600}},
        ),
        ("1.7-1", IMAGE_17, {}),
    ):
        job = run_training(engine_clients, xgb_request(unique("xgb"), image, channels, dict(TUTORIAL), **extra))
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        out[version] = job
    return out


@pytest.fixture(scope="module")
def endpoints(engine_clients: Clients, jobs: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {
        "1.0-1": deploy(engine_clients, jobs["1.0-1"]["ModelArtifacts"]["S3ModelArtifacts"], image=IMAGE_10),
        "1.7-1": deploy(engine_clients, jobs["1.7-1"]["ModelArtifacts"]["S3ModelArtifacts"], image=IMAGE_17),
    }


# ----------------------------------------------------------------------------- training


def test_spot_job_completes_with_validation_auc_in_final_metrics(aws: Clients, jobs: dict[str, dict[str, Any]]) -> None:
    job = aws.sagemaker.describe_training_job(TrainingJobName=jobs["1.0-1"]["TrainingJobName"])
    assert job["TrainingJobStatus"] == "Completed"
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 300, "MaxWaitTimeInSeconds": 600}
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE_10
    metrics = final_metrics(job)
    assert set(metrics) == {"train:auc", "validation:auc"}
    assert metrics["validation:auc"] >= 0.97
    assert metrics["train:auc"] >= metrics["validation:auc"] - 0.02
    # the declared metric definitions, validation:* for every metric of the image, at most 40 in all
    definitions = {d["Name"]: d["Regex"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert 18 <= len(definitions) <= 40
    assert {"validation:auc", "validation:error", "validation:rmse", "validation:mlogloss", "train:auc"} <= set(definitions)


def test_spot_training_needs_max_wait_time(aws: Clients, uris: dict[str, str]) -> None:
    name = unique("xgb-spot")
    request = xgb_request(name, IMAGE_10, [channel("train", uris["train"], CSV)], {"num_round": "5"}, EnableManagedSpotTraining=True)
    error = error_of(aws.sagemaker.create_training_job, **request)
    assert error["Error"]["Code"] == "ValidationException"
    assert "MaxWaitTimeInSeconds" in error["Error"]["Message"]


def test_round_lines_in_cloudwatch_match_the_metric_regexes(aws: Clients, jobs: dict[str, dict[str, Any]]) -> None:
    for job in jobs.values():
        streams = log_lines(aws, job["TrainingJobName"])
        assert len(streams) == 1 and next(iter(streams)).startswith(f"{job['TrainingJobName']}/algo-1-")
        lines = round_lines(next(iter(streams.values())))
        # [<i>]\ttrain-auc:<5 decimals>\tvalidation-auc:<5 decimals>, one line per round from 0
        parsed = [ROUND_LINE.match(line) for line in lines]
        assert all(parsed), lines[:3]
        assert [int(m[1]) for m in parsed] == list(range(len(lines)))  # type: ignore[index]
        # early stopping: 10 rounds without a better validation-auc end it long before num_round=200
        assert 10 < len(lines) < 200
        best = max(float(m[3]) for m in parsed)  # type: ignore[index]
        assert all(float(m[3]) <= best for m in parsed[-10:])  # type: ignore[index]
        # the declared regexes pick the last line's values; FinalMetricDataList holds them
        definitions = {d["Name"]: re.compile(d["Regex"]) for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
        full_lines = [line for line in next(iter(streams.values())) if "\ttrain-auc:" in line]
        for name in ("train:auc", "validation:auc"):
            values = [float(m[1]) for m in map(definitions[name].match, full_lines) if m]
            assert len(values) == len(lines)
            assert final_metrics(job)[name] == pytest.approx(values[-1], abs=1e-6)
        # CloudWatch shows the TAB as #011; the container's regex form matches that rendering too
        assert definitions["validation:auc"].match(full_lines[-1].replace("\t", "#011"))


def test_artifacts_load_with_the_xgboost_package(engine_clients: Clients, jobs: dict[str, dict[str, Any]]) -> None:
    import xgboost as xgb

    data = breast_cancer()
    old = pickle.loads(model_member(engine_clients, jobs["1.0-1"]))  # 1.0-1 pickles the Booster
    assert isinstance(old, xgb.Booster)
    new = xgb.Booster()
    new.load_model(bytearray(model_member(engine_clients, jobs["1.7-1"])))  # 1.3-1 .. 1.7-1: Booster.save_model
    assert old.num_features() == new.num_features() == 30
    # same data, same hyperparameters: the two images trained the same trees
    dtest = xgb.DMatrix(data.test.x)
    np.testing.assert_allclose(old.predict(dtest), new.predict(dtest), rtol=1e-6)
    assert int(old.attr("best_iteration")) == int(new.attr("best_iteration"))
    assert new.num_boosted_rounds() == int(new.attr("best_iteration")) + 11  # stopped 10 rounds after the best


# ----------------------------------------------------------------------------- serving


def test_1_0_1_endpoint_answers_one_comma_joined_line(
    engine_clients: Clients, runtime: Any, jobs: dict[str, dict[str, Any]], endpoints: dict[str, str]
) -> None:
    import xgboost as xgb

    data = breast_cancer()
    body, content_type = invoke(runtime, endpoints["1.0-1"], csv_features(data.test.x))
    assert content_type.startswith("text/csv")
    assert "\n" not in body and body.count(",") == len(data.test.y) - 1
    scores = np.array([float(v) for v in body.split(",")])
    assert ((scores >= 0) & (scores <= 1)).all()  # binary:logistic answers probabilities
    assert ((scores > 0.5) == data.test.y).mean() >= 0.9
    # the early-stopped best iteration serves, as the container's best_ntree_limit does
    booster = pickle.loads(model_member(engine_clients, jobs["1.0-1"]))
    best = int(booster.attr("best_iteration"))
    expected = booster.predict(xgb.DMatrix(data.test.x), iteration_range=(0, best + 1))
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    # Accept is ignored by 1.0-1; one record answers one number
    again, content_type = invoke(runtime, endpoints["1.0-1"], csv_features(data.test.x[:1]), accept="application/json")
    assert content_type.startswith("text/csv") and float(again) == pytest.approx(scores[0])


def test_1_7_1_endpoint_answers_one_value_per_line_or_json(runtime: Any, endpoints: dict[str, str]) -> None:
    data = breast_cancer()
    body, content_type = invoke(runtime, endpoints["1.7-1"], csv_features(data.test.x))
    assert content_type.startswith("text/csv")
    assert body.endswith("\n") and "," not in body
    scores = np.array([float(v) for v in body.splitlines()])
    assert len(scores) == len(data.test.y)
    assert ((scores > 0.5) == data.test.y).mean() >= 0.9
    # the same answer as the 1.0-1 endpoint, which serves the same trees
    old, _ = invoke(runtime, endpoints["1.0-1"], csv_features(data.test.x))
    np.testing.assert_allclose(scores, [float(v) for v in old.split(",")], rtol=1e-6)
    # */* is CSV; application/json is {"predictions": [{"score": x}, ...]}
    star, _ = invoke(runtime, endpoints["1.7-1"], csv_features(data.test.x[:2]), accept="*/*")
    assert star == "".join(line + "\n" for line in body.splitlines()[:2])
    doc, content_type = invoke(runtime, endpoints["1.7-1"], csv_features(data.test.x[:3]), accept="application/json")
    assert content_type == "application/json"
    parsed = json.loads(doc)
    assert list(parsed) == ["predictions"] and [list(p) for p in parsed["predictions"]] == [["score"]] * 3
    np.testing.assert_allclose([p["score"] for p in parsed["predictions"]], scores[:3], rtol=1e-6)
    # one record in a libsvm body gives the same score as in CSV
    row = data.test.x[0]
    libsvm = " ".join(f"{i}:{v:.10g}" for i, v in enumerate(row) if v != 0)
    single, _ = invoke(runtime, endpoints["1.7-1"], libsvm, content_type="text/libsvm")
    assert float(single) == pytest.approx(scores[0], rel=1e-6)


def test_endpoint_errors_are_the_containers(runtime: Any, endpoints: dict[str, str]) -> None:
    data = breast_cancer()
    endpoint = endpoints["1.7-1"]
    error = model_error(runtime, endpoint, csv_features(data.test.x[:2, :28]), ContentType="text/csv")
    assert error["OriginalStatusCode"] == 400
    assert error["OriginalMessage"] == (
        "Unable to evaluate payload provided: Feature size of csv inference data 28 is not consistent with "
        "feature size of trained model 30"
    )
    # one feature short is let through, as the container does (libsvm-trained models count one more)
    body, _ = invoke(runtime, endpoint, csv_features(data.test.x[:1, :29]))
    assert 0.0 <= float(body) <= 1.0
    error = model_error(runtime, endpoint, "not,a,number", ContentType="text/csv")
    assert error["OriginalStatusCode"] == 415
    assert error["OriginalMessage"].startswith("Loading csv data failed with Exception, please ensure data is in csv format")
    error = model_error(runtime, endpoint, csv_features(data.test.x[:1]), ContentType="application/json")
    assert error["OriginalStatusCode"] == 415
    assert error["OriginalMessage"].startswith("Content-type application/json not supported.")
    error = model_error(runtime, endpoint, csv_features(data.test.x[:1]), ContentType="text/csv", Accept="text/html")
    assert error["OriginalStatusCode"] == 406
    assert error["OriginalMessage"].startswith("Accept type text/html is not supported.")
    assert "Received client error (406) from primary" in error["Error"]["Message"]


def test_a_single_record_is_answered_quickly(runtime: Any, endpoints: dict[str, str]) -> None:
    row = csv_features(breast_cancer().test.x[:1])
    invoke(runtime, endpoints["1.7-1"], row)
    started = time.perf_counter()
    for _ in range(20):
        invoke(runtime, endpoints["1.7-1"], row)
    assert (time.perf_counter() - started) / 20 < 0.05


# ----------------------------------------------------------------------------- multi-host, tuning, multi-class


def test_two_hosts_train_on_the_union_under_a_tuning_objective(engine_clients: Clients, runtime: Any, uris: dict[str, str]) -> None:
    data = breast_cancer()
    prefix = f"{uris['prefix']}/sharded"
    half = len(data.train.y) // 2
    put(engine_clients, f"{prefix}/part-0.csv", csv_label_first(data.train.x[:half], data.train.y[:half]))
    put(engine_clients, f"{prefix}/part-1.csv", csv_label_first(data.train.x[half:], data.train.y[half:]))
    name = unique("xgb-multi")
    hyperparameters = {
        "objective": "multi:softprob",
        "num_class": "2",
        "num_round": "20",
        "max_depth": "3",
        "_tuning_objective_metric": "validation:merror",  # what hyperparameter tuning injects
    }
    request = xgb_request(
        name,
        IMAGE_30,
        [
            channel("train", f"s3://{BUCKET}/{prefix}/", CSV, distribution="ShardedByS3Key"),
            channel("validation", uris["validation"], CSV),
        ],
        hyperparameters,
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 5},
    )
    job = run_training(engine_clients, request)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert "validation:merror" in final_metrics(job)
    assert final_metrics(job)["validation:merror"] <= 0.1
    streams = log_lines(engine_clients, name)
    leader = next(lines for stream, lines in streams.items() if "/algo-1-" in stream)
    assert any("Distributed node training with 2 hosts: ['algo-1', 'algo-2']" in line for line in leader)
    assert any("Train matrix has 341 rows and 30 columns" in line for line in leader)  # both shards
    assert any(line.endswith("Setting up HPO optimized metric to be : merror") for line in leader)
    assert all("\tvalidation-merror:" in line for line in round_lines(leader))
    # 3.0-5 writes UBJSON; multi:softprob answers one row of class probabilities per record
    assert model_member(engine_clients, job)[:2] == b"{L"
    uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    endpoint = deploy(engine_clients, uri, image=IMAGE_30)
    body, _ = invoke(runtime, endpoint, csv_features(data.test.x[:4]))
    rows = [[float(v) for v in line.split(",")] for line in body.splitlines()]
    assert len(rows) == 4 and all(len(r) == 2 and sum(r) == pytest.approx(1.0, abs=1e-5) for r in rows)
    doc = json.loads(invoke(runtime, endpoint, csv_features(data.test.x[:2]), accept="application/json")[0])
    assert [len(p["score"]) for p in doc["predictions"]] == [2, 2]
    # the 1.0-1 image loads the same artifact (pickle fails, Booster.load_model reads it) and answers its way
    old_endpoint = deploy(engine_clients, uri, image=IMAGE_10)
    old, _ = invoke(runtime, old_endpoint, csv_features(data.test.x[:2]))
    assert old.startswith("[") and old.endswith("]") and "\n" not in old  # "[p0, p1],[p0, p1]"
    np.testing.assert_allclose(json.loads(f"[{old}]"), rows[:2], atol=1e-6)


# ----------------------------------------------------------------------------- mistakes users make


@pytest.fixture
def still_serving(engine_clients: Clients, runtime: Any, endpoints: dict[str, str]) -> Iterator[None]:
    yield
    assert engine_clients.sagemaker.describe_endpoint(EndpointName=endpoints["1.7-1"])["EndpointStatus"] == "InService"
    body, _ = invoke(runtime, endpoints["1.7-1"], csv_features(breast_cancer().test.x[:2]))
    assert len(body.splitlines()) == 2


def bad_csv(kind: str) -> str:
    data = breast_cancer()
    if kind == "no-label":
        return csv_features(data.train.x) + "\n"
    header = "label," + ",".join(name.replace(" ", "_") for name in data.feature_names)
    return header + "\n" + csv_label_first(data.train.x, data.train.y)


# mistakes in the hyperparameters, on the good CSV train channel: (hyperparameters, FailureReason)
BAD_HYPERPARAMETERS: dict[str, tuple[dict[str, str], str]] = {
    "missing num_round": ({"objective": "binary:logistic"}, "ClientError: Missing required hyperparameter: num_round"),
    "unknown hyperparameter": ({"num_round": "5", "max_depthh": "3"}, "ClientError: Extraneous hyperparameter found: max_depthh"),
    "eta out of range": ({"num_round": "5", "eta": "2"}, "ClientError: Hyperparameter eta: 2.0 is not in [0, 1]"),
    "num_round not an integer": (
        {"num_round": "ten"},
        "ClientError: Hyperparameter num_round: could not parse value (caused by ValueError)",
    ),
    "num_class with a binary objective": (
        {"num_round": "5", "objective": "binary:logistic", "num_class": "2"},
        "ClientError: Do not need to setup parameter 'num_class' for learning task other than multi-classification.",
    ),
    "multi-class without num_class": (
        {"num_round": "5", "objective": "multi:softmax"},
        "ClientError: Require input for parameter 'num_class' for multi-classification",
    ),
    "auc for regression": (
        {"num_round": "5", "objective": "reg:squarederror", "eval_metric": "auc"},
        "ClientError: Metric 'auc' can only be applied for classification and ranking problems.",
    ),
}
BINARY = {"num_round": "5", "objective": "binary:logistic"}
# mistakes in the data: (which upload is the train channel, its ContentType, hyperparameters, FailureReason)
BAD_DATA: dict[str, tuple[str, str | None, dict[str, str], str]] = {
    "label column missing": ("no-label", CSV, BINARY, "ClientError: label must be in [0,1] for logistic regression"),
    "header row in the CSV": (
        "header", CSV, BINARY,
        "ClientError: First line '{header}...' of file 'train.csv' is not 'CSV' format. Please ensure the file is in 'CSV' format.",
    ),
    "CSV without ContentType (libsvm is the default)": (
        "train", None, BINARY,
        "ClientError: First line '{first}...' of file 'train.csv' is not 'LIBSVM' format. "
        "Please ensure the file is in 'LIBSVM' format.",
    ),
    "unsupported ContentType": (
        "train", "application/json", {"num_round": "5"},
        "ClientError: application/json is not an accepted ContentType: csv, libsvm, parquet, recordio-protobuf, "
        "text/csv, text/libsvm, text/x-libsvm, application/x-parquet, application/x-recordio-protobuf.",
    ),
}
BAD_JOBS = [pytest.param(params, "train", CSV, reason, id=case) for case, (params, reason) in BAD_HYPERPARAMETERS.items()] + [
    pytest.param(params, data, content_type, reason, id=case) for case, (data, content_type, params, reason) in BAD_DATA.items()
]


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize(("hyperparameters", "data", "content_type", "reason"), BAD_JOBS)
def test_mistakes_fail_the_job_with_the_containers_reason(
    engine_clients: Clients,
    uris: dict[str, str],
    hyperparameters: dict[str, str],
    data: str,
    content_type: str | None,
    reason: str,
) -> None:
    training = breast_cancer().train
    all_uris = dict(uris)
    for kind in ("no-label", "header"):
        all_uris[kind] = put(engine_clients, f"{uris['prefix']}/{kind}/train.csv", bad_csv(kind))
    name = unique("xgb-bad")
    job = run_training(engine_clients, xgb_request(name, IMAGE_17, [channel("train", all_uris[data], content_type)], hyperparameters))
    assert job["TrainingJobStatus"] == "Failed"
    first = csv_label_first(training.x[:1], training.y[:1]).strip()[:50]
    header = bad_csv("header").split("\n", 1)[0][:50]
    assert job["FailureReason"] == reason.format(first=first, header=header)
    assert "FinalMetricDataList" not in job
