"""What a user has before ``local stop`` is there after ``local start``.

One engine of its own (a free port, a tmp data dir): train a small k-means job,
host it, tag things, put an S3 object; start a long job; stop the engine and
start it again on the same data dir. The finished job, the model, the endpoint
config, the endpoint (InService again, answering as before), the tags, the S3
object and the training logs are back; the job that was running when the
engine stopped is Failed, with a reason that says why, whether it was
computing or still fetching its data when the engine went away.

The engine runs with ``SM_MAGICS_LOCAL_SYNC_SECONDS=0`` so that CreateTrainingJob
returns at once and the long job is still InProgress when the engine stops;
the boto3 waiters are therefore given a short delay.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers import Clients, ResponseChecker, csv_rows, free_port, training_request, unique, upload_recordio

from sm_magics import launcher
from sm_magics.local import settings

FAST = {"Delay": 0.5, "MaxAttempts": 240}
# ~0.3 s an epoch on 1 000 rows (100 centres a batch): a job that runs for a minute or more unless the engine stops
LONG_JOB = {"k": "10", "feature_dim": "784", "mini_batch_size": "100", "epochs": "200"}
TAGS = [{"Key": "project", "Value": "persistence"}, {"Key": "owner", "Value": "tests"}]


class OwnEngine:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.info: launcher.EngineInfo | None = None
        self.checker = ResponseChecker()

    def start(self) -> Clients:
        self.info = launcher.start(port=self.port, data_dir=self.data_dir)
        session = boto3.Session(**self.info.credentials.as_boto3(), region_name="us-east-1")
        # (the runtime's streaming Body is not checked here: the control plane's documents are what persist)
        session.events.register("after-call.sagemaker", self.checker)
        return Clients(session, self.info.url)


@pytest.fixture
def own_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SM_MAGICS_LOCAL_SYNC_SECONDS", "0")
    own = OwnEngine(tmp_path / "engine", free_port())
    yield own
    launcher.stop(own.data_dir)
    assert not own.checker.problems, "responses that do not match botocore's model:\n" + "\n".join(own.checker.problems)


def _describe(call: Any, **kwargs: Any) -> dict[str, Any]:
    document = call(**kwargs)
    document.pop("ResponseMetadata", None)
    return document


def _log_messages(aws: Clients, job_name: str) -> dict[str, list[str]]:
    streams = aws.logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=job_name + "/")
    messages = {}
    for stream in streams["logStreams"]:
        events = aws.logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"], startFromHead=True
        )["events"]
        messages[stream["logStreamName"]] = [event["message"] for event in events]
    return messages


def _wait_for_secondary(aws: Clients, job_name: str, secondary: str, limit: float = 60.0) -> dict[str, Any]:
    """Describe until the job reaches ``secondary`` (or ends); the job's data is then on its host."""
    deadline = time.monotonic() + limit
    while True:
        job = aws.sagemaker.describe_training_job(TrainingJobName=job_name)
        if job["SecondaryStatus"] == secondary or job["TrainingJobStatus"] != "InProgress" or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def test_state_survives_stop_and_start(own_engine: OwnEngine, mnist) -> None:
    (x, _), _, _ = mnist
    aws = own_engine.start()

    # -- a finished training job, hosted behind an endpoint ------------------------------
    job_name = unique("persist-km")
    uri = upload_recordio(aws, x[:300], f"data/{job_name}")
    aws.sagemaker.create_training_job(
        **training_request(job_name, uri, {"k": "10", "feature_dim": "784", "mini_batch_size": "100"}, Tags=TAGS)
    )
    aws.sagemaker.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=job_name, WaiterConfig=FAST)
    job_before = _describe(aws.sagemaker.describe_training_job, TrainingJobName=job_name)
    assert job_before["TrainingJobStatus"] == "Completed", job_before.get("FailureReason")

    name = unique("persist-ep")
    aws.sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=settings.ROLE_ARN,
        PrimaryContainer={"Image": job_before["AlgorithmSpecification"]["TrainingImage"], "ModelDataUrl": job_before["ModelArtifacts"]["S3ModelArtifacts"]},
        Tags=TAGS,
    )
    aws.sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m4.xlarge"}],
        Tags=TAGS,
    )
    aws.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=TAGS)
    aws.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST)
    payload = csv_rows(x[300:310])
    answer_before = json.loads(
        aws.runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Accept="application/json", Body=payload)["Body"].read()
    )
    assert len(answer_before["predictions"]) == 10

    model_before = _describe(aws.sagemaker.describe_model, ModelName=name)
    config_before = _describe(aws.sagemaker.describe_endpoint_config, EndpointConfigName=name)
    endpoint_before = _describe(aws.sagemaker.describe_endpoint, EndpointName=name)
    arns = [job_before["TrainingJobArn"], model_before["ModelArn"], config_before["EndpointConfigArn"], endpoint_before["EndpointArn"]]
    tags_before = {arn: aws.sagemaker.list_tags(ResourceArn=arn)["Tags"] for arn in arns}
    for arn, tags in tags_before.items():
        assert {(t["Key"], t["Value"]) for t in tags} == {(t["Key"], t["Value"]) for t in TAGS}, arn
    logs_before = _log_messages(aws, job_name)
    assert logs_before and all(logs_before.values()), f"the finished job wrote no log events: {logs_before}"

    # -- an S3 object of the user's own ----------------------------------------------------
    aws.s3.put_object(Bucket="sm-magics-tests", Key="notes/persist.txt", Body=b"still here", Metadata={"author": "tests"})

    # -- a job that is still running when the engine stops ---------------------------------
    long_name = unique("persist-long")
    long_uri = upload_recordio(aws, x[:1000], f"data/{long_name}")
    aws.sagemaker.create_training_job(
        **training_request(long_name, long_uri, LONG_JOB)
    )
    running = _wait_for_secondary(aws, long_name, "Training")
    assert running["TrainingJobStatus"] == "InProgress", "the long job ended before the engine stopped; make it longer"
    assert running["SecondaryStatus"] == "Training", f"the long job never got past {running['SecondaryStatus']}"

    # -- stop, start --------------------------------------------------------------------------
    first_pid = own_engine.info.pid
    assert launcher.stop(own_engine.data_dir) is True
    assert launcher.status(own_engine.data_dir) is None
    aws = own_engine.start()
    assert own_engine.info.pid != first_pid

    # the finished job, model and endpoint config answer exactly as before
    assert _describe(aws.sagemaker.describe_training_job, TrainingJobName=job_name) == job_before
    assert _describe(aws.sagemaker.describe_model, ModelName=name) == model_before
    assert _describe(aws.sagemaker.describe_endpoint_config, EndpointConfigName=name) == config_before

    # the endpoint comes back InService and answers the same question the same way
    aws.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST)
    endpoint_after = _describe(aws.sagemaker.describe_endpoint, EndpointName=name)
    for key in ("EndpointName", "EndpointArn", "EndpointConfigName", "CreationTime"):
        assert endpoint_after[key] == endpoint_before[key], key
    assert endpoint_after["EndpointStatus"] == "InService"
    assert [v["VariantName"] for v in endpoint_after["ProductionVariants"]] == ["AllTraffic"]
    answer_after = json.loads(
        aws.runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Accept="application/json", Body=payload)["Body"].read()
    )
    assert answer_after == answer_before

    # tags, the S3 object (with its metadata) and the training logs are back
    assert {arn: aws.sagemaker.list_tags(ResourceArn=arn)["Tags"] for arn in arns} == tags_before
    stored = aws.s3.get_object(Bucket="sm-magics-tests", Key="notes/persist.txt")
    assert stored["Body"].read() == b"still here"
    assert stored["Metadata"] == {"author": "tests"}
    model_bucket, model_key = job_before["ModelArtifacts"]["S3ModelArtifacts"][len("s3://") :].split("/", 1)
    assert aws.s3.head_object(Bucket=model_bucket, Key=model_key)["ContentLength"] > 0
    assert _log_messages(aws, job_name) == logs_before

    # the job that was running is Failed, and says why
    failed = aws.sagemaker.describe_training_job(TrainingJobName=long_name)
    assert failed["TrainingJobStatus"] == "Failed"
    assert failed["SecondaryStatus"] == "Failed"
    transitions = [(t["Status"], t["StatusMessage"]) for t in failed["SecondaryStatusTransitions"]]
    assert "engine was stopped" in failed["FailureReason"], (failed["FailureReason"], transitions)
    assert "TrainingEndTime" in failed
    assert failed["SecondaryStatusTransitions"][-1]["Status"] == "Failed"


def test_jobs_cut_off_while_downloading_fail_with_the_stop_reason(own_engine: OwnEngine, mnist) -> None:
    """A job whose host is still fetching its data when the engine stops is also failed *because the engine stopped*.

    Its host sees the engine's S3 go away mid-download; that is a consequence of
    the stop, not an algorithm error, and the user is told to start the job again.
    """
    (x, _), _, _ = mnist
    aws = own_engine.start()
    uri = upload_recordio(aws, x, f"data/{unique('cutoff')}", shards=40)  # many objects: a longer download
    names = []
    for _ in range(3):
        name = unique("persist-cutoff")
        aws.sagemaker.create_training_job(
            **training_request(name, uri, LONG_JOB)
        )
        names.append(name)
    assert launcher.stop(own_engine.data_dir) is True
    aws = own_engine.start()
    reasons = {}
    for name in names:
        job = aws.sagemaker.describe_training_job(TrainingJobName=name)
        assert job["TrainingJobStatus"] == "Failed", (name, job["TrainingJobStatus"])
        reasons[name] = job["FailureReason"]
    wrong = {name: reason for name, reason in reasons.items() if "engine was stopped" not in reason}
    assert not wrong, f"jobs cut off by the stop report another cause: {wrong}"
