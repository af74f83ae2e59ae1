"""Batch transform jobs as a boto3 user runs them.

The model is a PCA artifact laid out as SageMaker writes it whose ``v`` is the
identity and ``mean`` zero, so every answer is its record echoed back: the
output shows exactly which records were answered, and in what order. Splitting
(Line, RecordIO, None), batching (MultiRecord under MaxPayloadInMB,
SingleRecord), assembling (Line, None), several input objects, the waiter,
Describe / List, and the ways a job fails are covered; after every test an
autouse fixture checks that the engine still serves.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import numpy as np
import pytest

from helpers import (
    BUCKET, ROLE, Clients, deploy, error_of, put, read_s3, transform_request, unique, upload_model_tar,
    wait_transform,
)
from sm_magics.formats import ndarray, recordio
from sm_magics.local import settings

PCA_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/pca:1"
DIM = 4
WAIT_SECONDS = 60.0


# ----------------------------------------------------------------------------- helpers


def rows(n: int, start: int = 0) -> np.ndarray:
    """Records that name their own position: row i is [i, i + 0.5, -i, 0.25] (exact in float32)."""
    index = np.arange(start, start + n, dtype=np.float64)
    return np.column_stack([index, index + 0.5, -index, np.full(n, 0.25)])


def csv_text(x: np.ndarray) -> str:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in x)


def get(aws: Any, key: str) -> bytes:
    return read_s3(aws, f"s3://{BUCKET}/{key}")


def output_keys(aws: Any, prefix: str) -> list[str]:
    listed = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def run(aws: Any, **request: Any) -> dict[str, Any]:
    aws.sagemaker.create_transform_job(**request)
    job = wait_transform(aws, request["TransformJobName"], WAIT_SECONDS)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    return job


def projections_of_lines(text: str) -> np.ndarray:
    lines = text.rstrip("\n").split("\n")
    assert all(line.strip() for line in lines), "an empty line inside the output"
    return np.array([json.loads(line)["projection"] for line in lines])


def json_documents(text: str) -> list[Any]:
    """Every JSON document of a text in which they follow each other with or without whitespace."""
    decoder, docs, at = json.JSONDecoder(), [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return docs
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def model_uri(engine_clients: Clients) -> str:
    """An echoing PCA model.tar.gz: v = identity, mean = 0, one flat member model_algo-1."""
    member = ndarray.save(
        {"s": np.ones(DIM, dtype=np.float32), "v": np.eye(DIM, dtype=np.float32), "mean": np.zeros((1, DIM), dtype=np.float32)}
    )
    return upload_model_tar(engine_clients, member, "echo")


@pytest.fixture(scope="module")
def model(engine_clients: Clients, model_uri: str) -> str:
    name = unique("echo")
    engine_clients.sagemaker.create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": PCA_IMAGE, "ModelDataUrl": model_uri}
    )
    return name


@pytest.fixture(scope="module")
def endpoint(engine_clients: Clients, model_uri: str) -> str:
    return deploy(engine_clients, model_uri, image=PCA_IMAGE)


@pytest.fixture(autouse=True)
def engine_keeps_serving(engine_clients: Clients, runtime: Any, endpoint: str) -> Iterator[None]:
    yield
    assert engine_clients.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"
    engine_clients.sagemaker.list_transform_jobs(MaxResults=1)
    answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="application/json", Body=csv_text(rows(2, 7)))
    got = [item["projection"] for item in json.loads(answer["Body"].read())["projections"]]
    assert got == rows(2, 7).tolist()


# ----------------------------------------------------------------------------- splitting and batching


def test_line_split_multirecord_over_max_payload_answers_every_row_in_order(aws: Clients, model: str) -> None:
    name = unique("tr-big")
    x = rows(45_000)
    body = csv_text(x)
    assert len(body) > 1024 * 1024  # more than one MaxPayloadInMB=1 request's worth
    uri = put(aws, f"transform/{name}/in/big.csv", body)
    job = run(aws, **transform_request(name, model, uri.rsplit("/", 1)[0] + "/", f"transform/{name}/out", max_payload=1))
    assert job["MaxPayloadInMB"] == 1 and job["BatchStrategy"] == "MultiRecord"
    assert output_keys(aws, f"transform/{name}/out") == [f"transform/{name}/out/big.csv.out"]
    got = projections_of_lines(get(aws, f"transform/{name}/out/big.csv.out").decode())
    assert got.shape == x.shape
    np.testing.assert_array_equal(got, x)

    # Asking for JSON shows the requests themselves: one {"projections": [...]} document per request.
    again = f"{name}-json"
    prefix = uri.rsplit("/", 1)[0] + "/"
    run(aws, **transform_request(again, model, prefix, f"transform/{again}/out", accept="application/json", max_payload=1))
    docs = json_documents(get(aws, f"transform/{again}/out/big.csv.out").decode())
    sizes = [len(doc["projections"]) for doc in docs]
    assert len(docs) >= 2, "a 1.2 MB object must take more than one MaxPayloadInMB=1 request"
    assert sum(sizes) == len(x)
    line_bytes = [len(line) for line in body.splitlines(keepends=True)]
    start = 0
    for size in sizes:
        assert sum(line_bytes[start : start + size]) <= 1024 * 1024, "a request carried more than MaxPayloadInMB"
        start += size
    np.testing.assert_array_equal(np.array([p["projection"] for doc in docs for p in doc["projections"]]), x)


def test_single_record_sends_one_record_per_request(aws: Clients, model: str) -> None:
    name = unique("tr-single")
    x = rows(5, 100)
    uri = put(aws, f"transform/{name}/in/five.csv", csv_text(x))
    run(aws, **transform_request(name, model, uri, f"transform/{name}/out", strategy="SingleRecord", accept="application/json"))
    text = get(aws, f"transform/{name}/out/five.csv.out").decode()
    lines = text.rstrip("\n").split("\n")
    assert len(lines) == 5
    docs = [json.loads(line) for line in lines]
    # one request per record: each answer is a whole JSON document holding one projection
    assert all(len(doc["projections"]) == 1 for doc in docs)
    assert [doc["projections"][0]["projection"] for doc in docs] == x.tolist()


def test_recordio_split_with_recordio_protobuf(aws: Clients, model: str) -> None:
    name = unique("tr-rio")
    x = rows(60, 1000).astype(np.float32)
    uri = put(aws, f"transform/{name}/in/data.pbr", recordio.encode_dense(x))
    run(
        aws,
        **transform_request(
            name, model, uri, f"transform/{name}/out",
            content_type="application/x-recordio-protobuf", split="RecordIO",
            accept="application/x-recordio-protobuf", assemble="None",
        ),
    )
    records = recordio.read_records(get(aws, f"transform/{name}/out/data.pbr.out"))
    assert len(records) == 60
    got = np.array([np.asarray(record.label["projection"].values) for record in records])
    np.testing.assert_array_equal(got, x)


def test_split_none_sends_the_whole_json_object(aws: Clients, model: str) -> None:
    name = unique("tr-json")
    x = rows(3, 50)
    body = json.dumps({"instances": [{"features": row} for row in x.tolist()]})
    uri = put(aws, f"transform/{name}/in/request.json", body)
    run(
        aws,
        **transform_request(
            name, model, uri, f"transform/{name}/out",
            content_type="application/json", split="None", accept="application/json", assemble="None",
        ),
    )
    doc = json.loads(get(aws, f"transform/{name}/out/request.json.out"))
    assert [item["projection"] for item in doc["projections"]] == x.tolist()


def test_several_input_objects_each_get_their_own_output(aws: Clients, model: str) -> None:
    name = unique("tr-many")
    parts = {"a.csv": rows(3, 0), "b.csv": rows(4, 10), "c.csv": rows(2, 20)}
    for file, x in parts.items():
        put(aws, f"transform/{name}/in/{file}", csv_text(x))
    run(aws, **transform_request(name, model, f"s3://{BUCKET}/transform/{name}/in", f"transform/{name}/out"))
    assert output_keys(aws, f"transform/{name}/out") == [f"transform/{name}/out/{file}.out" for file in sorted(parts)]
    for file, x in parts.items():
        got = projections_of_lines(get(aws, f"transform/{name}/out/{file}.out").decode())
        np.testing.assert_array_equal(got, x)


def test_assemble_with_none_concatenates_and_line_separates(aws: Clients, model: str) -> None:
    x = rows(4, 200)
    outputs = {}
    for assemble in ("None", "Line"):
        name = unique(f"tr-asm-{assemble.lower()}")
        uri = put(aws, f"transform/{name}/in/four.csv", csv_text(x))
        run(
            aws,
            **transform_request(
                name, model, uri, f"transform/{name}/out", strategy="SingleRecord", accept="application/json", assemble=assemble
            ),
        )
        outputs[assemble] = get(aws, f"transform/{name}/out/four.csv.out").decode()
    # None: the four answers back to back, nothing added between them
    assert "\n" not in outputs["None"]
    assert outputs["None"].count('{"projections"') == 4
    # Line: the same four answers, one per line
    assert len(outputs["Line"].rstrip("\n").split("\n")) == 4
    for text in outputs.values():
        docs = json_documents(text)
        assert [doc["projections"][0]["projection"] for doc in docs] == x.tolist()
    assert outputs["Line"].replace("\n", "") == outputs["None"]


# ----------------------------------------------------------------------------- waiter, describe, list


def test_waiter_and_describe_fields(aws: Clients, model: str) -> None:
    name = unique("tr-desc")
    uri = put(aws, f"transform/{name}/in/rows.csv", csv_text(rows(10)))
    request = transform_request(name, model, uri, f"transform/{name}/out", max_payload=2)
    request["Environment"] = {"MODE": "test"}
    arn = aws.sagemaker.create_transform_job(**request)["TransformJobArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:{settings.ACCOUNT_ID}:transform-job/{name.lower()}"
    aws.sagemaker.get_waiter("transform_job_completed_or_stopped").wait(
        TransformJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    job = aws.sagemaker.describe_transform_job(TransformJobName=name)
    assert job["TransformJobStatus"] == "Completed"
    assert "FailureReason" not in job
    assert job["TransformJobName"] == name and job["TransformJobArn"] == arn and job["ModelName"] == model
    assert job["BatchStrategy"] == "MultiRecord"
    assert job["MaxPayloadInMB"] == 2
    assert job["Environment"] == {"MODE": "test"}
    assert job["TransformInput"]["SplitType"] == "Line"
    assert job["TransformInput"]["ContentType"] == "text/csv"
    assert job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == uri
    assert job["TransformOutput"]["S3OutputPath"] == f"s3://{BUCKET}/transform/{name}/out"
    assert job["TransformOutput"]["Accept"] == "application/jsonlines"
    assert job["TransformOutput"]["AssembleWith"] == "Line"
    assert job["TransformResources"] == {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1}
    assert job["CreationTime"] <= job["TransformStartTime"] <= job["TransformEndTime"]


def test_list_transform_jobs_filters_sorts_and_pages(aws: Clients, model: str) -> None:
    token = unique("trlist")
    names = [f"{token}-a", f"{token}-b"]
    for name in names:
        uri = put(aws, f"transform/{name}/in/rows.csv", csv_text(rows(3)))
        run(aws, **transform_request(name, model, uri, f"transform/{name}/out"))
    listed = aws.sagemaker.list_transform_jobs(NameContains=token, SortBy="Name", SortOrder="Ascending")["TransformJobSummaries"]
    assert [s["TransformJobName"] for s in listed] == names
    assert all(s["TransformJobStatus"] == "Completed" and "TransformEndTime" in s for s in listed)
    assert aws.sagemaker.list_transform_jobs(NameContains=token, StatusEquals="Failed")["TransformJobSummaries"] == []
    first = aws.sagemaker.list_transform_jobs(NameContains=token, MaxResults=1, SortBy="Name", SortOrder="Descending")
    assert [s["TransformJobName"] for s in first["TransformJobSummaries"]] == [names[1]]
    second = aws.sagemaker.list_transform_jobs(
        NameContains=token, MaxResults=1, SortBy="Name", SortOrder="Descending", NextToken=first["NextToken"]
    )
    assert [s["TransformJobName"] for s in second["TransformJobSummaries"]] == [names[0]]
    assert not second.get("NextToken")


# ----------------------------------------------------------------------------- failures


def test_unknown_model_is_rejected_at_create(aws: Clients) -> None:
    name = unique("tr-nomodel")
    missing = unique("no-such-model")
    uri = put(aws, f"transform/{name}/in/rows.csv", csv_text(rows(2)))
    error = error_of(aws.sagemaker.create_transform_job, **transform_request(name, missing, uri, f"transform/{name}/out"))
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Could not find model" in error["Error"]["Message"]
    assert missing in error["Error"]["Message"]
    assert aws.sagemaker.list_transform_jobs(NameContains=name)["TransformJobSummaries"] == []
    assert error_of(aws.sagemaker.describe_transform_job, TransformJobName=name)["Error"]["Code"] == "ValidationException"


def test_empty_input_prefix_fails_the_job(aws: Clients, model: str) -> None:
    name = unique("tr-empty")
    aws.sagemaker.create_transform_job(
        **transform_request(name, model, f"s3://{BUCKET}/transform/{name}/nothing-here/", f"transform/{name}/out")
    )
    job = wait_transform(aws, name, WAIT_SECONDS)
    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError:"), job["FailureReason"]
    assert output_keys(aws, f"transform/{name}/out") == []


def test_unsupported_content_type_fails_the_job_with_the_models_answer(aws: Clients, model: str) -> None:
    name = unique("tr-png")
    uri = put(aws, f"transform/{name}/in/picture.png", b"\x89PNG\r\n\x1a\n" + bytes(64))
    aws.sagemaker.create_transform_job(
        **transform_request(name, model, uri, f"transform/{name}/out", content_type="image/png", split="None")
    )
    job = wait_transform(aws, name, WAIT_SECONDS)
    assert job["TransformJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith("ClientError:"), reason
    assert "415" in reason and "image/png" in reason, reason
    assert output_keys(aws, f"transform/{name}/out") == []
    listed = aws.sagemaker.list_transform_jobs(NameContains=name)["TransformJobSummaries"]
    assert [(s["TransformJobStatus"], s["FailureReason"]) for s in listed] == [("Failed", reason)]


def test_record_larger_than_max_payload_fails_the_job(aws: Clients, model: str) -> None:
    name = unique("tr-huge")
    huge = ",".join(["0.5"] * 300_000) + "\n"  # one line, 1.2 MB
    assert len(huge) > 1024 * 1024
    uri = put(aws, f"transform/{name}/in/huge.csv", csv_text(rows(2)) + huge)
    aws.sagemaker.create_transform_job(**transform_request(name, model, uri, f"transform/{name}/out", max_payload=1))
    job = wait_transform(aws, name, WAIT_SECONDS)
    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError:"), job["FailureReason"]
    assert "MaxPayloadInMB" in job["FailureReason"], job["FailureReason"]
    assert output_keys(aws, f"transform/{name}/out") == []  # nothing partial is uploaded
