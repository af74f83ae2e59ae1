"""Batch transform's DataProcessing (InputFilter, JoinSource, OutputFilter) as a boto3 user runs it.

Two real models: XGBoost 1.7-1 (trained here with the xgboost package the
container uses, on four features; CSV in, one prediction line per record
out) and a PCA artifact with a random projection (JSON and JSON Lines). Every
filtered, joined answer is compared with the answer the same model gives,
without any DataProcessing, to input that never had the extra columns.
"""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import numpy as np
import pytest

from helpers import (
    BUCKET, ROLE, Clients, ensure_bucket, error_of, put, read_s3, transform_request, unique, upload_model_tar,
    wait_transform,
)
from sm_magics.formats import ndarray

XGB_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
PCA_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/pca:1"
FEATURES = 4
WAIT_SECONDS = 60.0


# ----------------------------------------------------------------------------- helpers


def features(n: int, seed: int) -> np.ndarray:
    return np.round(np.random.default_rng(seed).normal(size=(n, FEATURES)), 4)


def csv_lines(rows: list[list[Any]]) -> str:
    return "".join(",".join(str(v) for v in row) + "\n" for row in rows)


def output_lines(aws: Clients, prefix: str, file: str) -> list[str]:
    return read_s3(aws, f"s3://{BUCKET}/{prefix}/{file}.out").decode().rstrip("\n").split("\n")


def run(aws: Clients, request: dict[str, Any]) -> dict[str, Any]:
    aws.sagemaker.create_transform_job(**request)
    job = wait_transform(aws, request["TransformJobName"], WAIT_SECONDS)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    return job


def transform(aws: Clients, model: str, file: str, body: str, *, processing: dict[str, str] | None = None, **options: Any) -> list[str]:
    """Run one transform job over one object; its output lines."""
    name = unique("trf")
    uri = put(aws, f"filters/{name}/in/{file}", body)
    request = transform_request(name, model, uri, f"filters/{name}/out", **options)
    if processing is not None:
        request["DataProcessing"] = processing
    job = run(aws, request)
    if processing is not None:
        assert job["DataProcessing"] == processing
    return output_lines(aws, f"filters/{name}/out", file)


def csv_transform(aws: Clients, model: str, body: str, processing: dict[str, str] | None = None) -> list[str]:
    return transform(aws, model, "rows.csv", body, processing=processing, accept="text/csv", max_payload=1)


# ----------------------------------------------------------------------------- models


@pytest.fixture(scope="module")
def xgb_model(engine_clients: Clients) -> str:
    """XGBoost 1.7-1 regression on four features, as the container saves it (member ``xgboost-model``)."""
    import xgboost

    x = features(400, 1)
    y = x @ np.array([1.0, -2.0, 0.5, 3.0]) + np.sin(3 * x[:, 0])
    booster = xgboost.train({"max_depth": 3, "eta": 0.3, "objective": "reg:squarederror"}, xgboost.DMatrix(x, label=y), 20)
    member = bytes(booster.save_raw("json"))
    ensure_bucket(engine_clients)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(member)
        tar.addfile(info, io.BytesIO(member))
    uri = put(engine_clients, f"models/{unique('xgb')}/model.tar.gz", buf.getvalue())
    name = unique("xgb")
    engine_clients.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": XGB_IMAGE, "ModelDataUrl": uri})
    return name


@pytest.fixture(scope="module")
def pca_model(engine_clients: Clients) -> str:
    """PCA with a random 4 -> 2 projection."""
    rng = np.random.default_rng(5)
    member = ndarray.save(
        {
            "s": np.ones(2, dtype=np.float32),
            "v": rng.normal(size=(FEATURES, 2)).astype(np.float32),
            "mean": rng.normal(size=(1, FEATURES)).astype(np.float32),
        }
    )
    uri = upload_model_tar(engine_clients, member, "pca")
    name = unique("pca")
    engine_clients.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": PCA_IMAGE, "ModelDataUrl": uri})
    return name


# ----------------------------------------------------------------------------- CSV


def test_csv_id_column_is_dropped_for_the_model_and_joined_back(aws: Clients, xgb_model: str) -> None:
    x = features(300, 2)
    ids = [f"cust-{i:04d}" for i in range(300)]
    expected = csv_transform(aws, xgb_model, csv_lines(x.tolist()))  # the model on id-less rows, no DataProcessing
    assert len(expected) == 300 and all(float(p) == float(p) for p in expected)

    with_ids = csv_lines([[i, *row] for i, row in zip(ids, x.tolist())])
    got = csv_transform(aws, xgb_model, with_ids, {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"})
    assert got == [f"{i},{p}" for i, p in zip(ids, expected)]

    # JoinSource Input without an OutputFilter: the whole input record, then the prediction
    whole = csv_transform(aws, xgb_model, with_ids, {"InputFilter": "$[1:]", "JoinSource": "Input"})
    assert whole == [f"{line},{p}" for line, p in zip(with_ids.splitlines(), expected)]

    # InputFilter alone: just the predictions, as for the id-less rows
    assert csv_transform(aws, xgb_model, with_ids, {"InputFilter": "$[1:]"}) == expected


def test_filter_decides_what_the_model_sees_even_when_the_unfiltered_width_fits(aws: Clients, xgb_model: str) -> None:
    """Rows of id + 3 features are exactly as wide as the model's 4 features: ignoring the filter would not fail, it would be wrong."""
    x = features(50, 3)[:, :3]
    ids = np.arange(1000, 1050)
    rows = csv_lines([[int(i), *row] for i, row in zip(ids, x.tolist())])
    # XGBoost lets a CSV row miss the model's last feature: the id-less rows are valid input
    expected = csv_transform(aws, xgb_model, csv_lines(x.tolist()))
    unfiltered = csv_transform(aws, xgb_model, rows)  # what the model answers when it is given the id as a feature
    assert unfiltered != expected

    got = csv_transform(aws, xgb_model, rows, {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"})
    assert got == [f"{i},{p}" for i, p in zip(ids, expected)]


def test_csv_quoted_fields_survive_the_join(aws: Clients, xgb_model: str) -> None:
    x = features(3, 4)
    names = ['"Smith, Jane"', "plain", '"say ""hi"""']
    body = csv_lines([[n, *row] for n, row in zip(names, x.tolist())])
    expected = csv_transform(aws, xgb_model, csv_lines(x.tolist()))
    got = csv_transform(aws, xgb_model, body, {"InputFilter": "$[1,2,3,4]", "JoinSource": "Input", "OutputFilter": "$[0,5]"})
    assert got == [f"{n},{p}" for n, p in zip(names, expected)]


def test_output_filter_index_outside_the_joined_record_fails_the_job(aws: Clients, xgb_model: str) -> None:
    name = unique("trf-range")
    body = csv_lines([[7, *row] for row in features(5, 6).tolist()])
    uri = put(aws, f"filters/{name}/in/rows.csv", body)
    request = transform_request(name, xgb_model, uri, f"filters/{name}/out", accept="text/csv")
    request["DataProcessing"] = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,6]"}  # joined rows have 6 fields
    aws.sagemaker.create_transform_job(**request)
    job = wait_transform(aws, name, WAIT_SECONDS)
    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError:"), job["FailureReason"]
    assert "index 6 is out of range for a record of 6 element(s)" in job["FailureReason"], job["FailureReason"]
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"filters/{name}/out/").get("KeyCount", 0) == 0


def test_explicit_defaults_change_nothing_whatever_the_format(aws: Clients, xgb_model: str) -> None:
    """{"InputFilter": "$", "JoinSource": "None", "OutputFilter": "$"}, as the docs' first example sends it."""
    body = csv_lines(features(20, 10).tolist())
    defaults = {"InputFilter": "$", "JoinSource": "None", "OutputFilter": "$"}
    assert csv_transform(aws, xgb_model, body, defaults) == csv_transform(aws, xgb_model, body)


def test_rows_of_different_widths_fail_the_job_naming_the_row(aws: Clients, xgb_model: str) -> None:
    name = unique("trf-ragged")
    rows = [[1, *row] for row in features(4, 11).tolist()]
    rows[2] = rows[2][:-1]
    uri = put(aws, f"filters/{name}/in/rows.csv", csv_lines(rows))
    request = transform_request(name, xgb_model, uri, f"filters/{name}/out", accept="text/csv")
    request["DataProcessing"] = {"InputFilter": "$[1:]", "JoinSource": "Input"}
    aws.sagemaker.create_transform_job(**request)
    job = wait_transform(aws, name, WAIT_SECONDS)
    assert job["TransformJobStatus"] == "Failed"
    assert "input record 3 has 4 field(s) where the first has 5" in job["FailureReason"], job["FailureReason"]
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"filters/{name}/out/").get("KeyCount", 0) == 0


# ----------------------------------------------------------------------------- JSON Lines and JSON


def test_json_lines_features_in_id_and_prediction_out(aws: Clients, pca_model: str) -> None:
    x = features(40, 7)
    records = [{"id": f"r{i}", "features": row, "note": "kept out of the model"} for i, row in enumerate(x.tolist())]
    body = "".join(json.dumps(r) + "\n" for r in records)
    options = {"content_type": "application/jsonlines", "accept": "application/jsonlines"}
    expected = transform(aws, pca_model, "bare.jsonl", "".join(json.dumps(row) + "\n" for row in x.tolist()), **options)
    projections = [json.loads(line) for line in expected]
    assert len(projections) == 40 and all(len(p["projection"]) == 2 for p in projections)

    got = transform(
        aws, pca_model, "records.jsonl", body,
        processing={"InputFilter": "$.features", "JoinSource": "Input", "OutputFilter": "$['id','SageMakerOutput']"},
        **options,
    )  # fmt: skip
    assert [json.loads(line) for line in got] == [{"id": r["id"], "SageMakerOutput": p} for r, p in zip(records, projections)]

    # the whole joined record: the input object with SageMakerOutput added
    joined = transform(aws, pca_model, "records.jsonl", body, processing={"InputFilter": "$.features", "JoinSource": "Input"}, **options)
    assert [json.loads(line) for line in joined] == [{**r, "SageMakerOutput": p} for r, p in zip(records, projections)]

    # OutputFilter without a join selects from the prediction alone
    only = transform(aws, pca_model, "records.jsonl", body, processing={"InputFilter": "$.features", "OutputFilter": "$.projection[0]"}, **options)
    assert [json.loads(line) for line in only] == [p["projection"][0] for p in projections]


def test_json_document_that_is_not_an_object_is_wrapped_as_sagemaker_input(aws: Clients, pca_model: str) -> None:
    rows = features(3, 8).tolist()
    options = {"content_type": "application/json", "accept": "application/json", "split": "None", "assemble": "None"}
    expected = json.loads(transform(aws, pca_model, "doc.json", json.dumps(rows), **options)[0])
    got = transform(aws, pca_model, "doc.json", json.dumps(rows), processing={"JoinSource": "Input"}, **options)
    assert json.loads(got[0]) == {"SageMakerInput": rows, "SageMakerOutput": expected}
    picked = transform(aws, pca_model, "doc.json", json.dumps(rows), processing={"JoinSource": "Input", "OutputFilter": "$.SageMakerInput[-1]"}, **options)
    assert json.loads(picked[0]) == rows[-1]


# ----------------------------------------------------------------------------- refused at create


@pytest.mark.parametrize(
    "processing, options, message",
    [
        ({"InputFilter": "$..features"}, {}, "Invalid JsonPath: $..features: recursive descent (..) is not supported"),
        (
            {"JoinSource": "Input", "OutputFilter": "$[0:2,246:]"},
            {},
            "Invalid JsonPath: $[0:2,246:]: only single range filters of format (eg: [1:5]) are supported. Format [0:2,246:] is not supported",
        ),
        ({"InputFilter": "$[?(@.id)]"}, {}, "filter and script expressions are not supported"),
        ({"InputFilter": "$.features"}, {}, "text/csv records are arrays of fields, so only index-based JSONPaths apply"),
        ({"JoinSource": "Input"}, {"accept": "application/json"}, "TransformOutput.Accept must be text/csv (it is application/json)"),
        ({"JoinSource": "Input"}, {"assemble": "None"}, "needs TransformOutput.AssembleWith Line"),
        (
            {"InputFilter": "$[1:]"},
            {"content_type": "application/x-recordio-protobuf", "split": "RecordIO"},
            "applies to text/csv, application/json and application/jsonlines input only",
        ),
        ({"InputFilter": "$[" + ",".join(["1"] * 40) + "]"}, {}, "Member must have length less than or equal to 63"),
    ],
)
def test_what_sagemaker_refuses_is_refused_at_create_with_nothing_created(
    aws: Clients, xgb_model: str, processing: dict[str, str], options: dict[str, Any], message: str
) -> None:
    name = unique("trf-bad")
    uri = put(aws, f"filters/{name}/in/rows.csv", csv_lines([[1, *row] for row in features(3, 9).tolist()]))
    request = transform_request(name, xgb_model, uri, f"filters/{name}/out", **{"accept": "text/csv", **options})
    request["DataProcessing"] = processing
    error = error_of(aws.sagemaker.create_transform_job, **request)
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert message in error["Error"]["Message"], error["Error"]["Message"]
    assert aws.sagemaker.list_transform_jobs(NameContains=name)["TransformJobSummaries"] == []
    assert error_of(aws.sagemaker.describe_transform_job, TransformJobName=name)["Error"]["Code"] == "ValidationException"
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"filters/{name}/out/").get("KeyCount", 0) == 0
