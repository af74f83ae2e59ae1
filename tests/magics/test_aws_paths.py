"""AWS-only paths (no local equivalent): throttling, expired credentials (the Price List API: tests/workflow/test_pricing.py).

botocore's Stubber checks every stubbed request and response against the
service model, so these shapes are the real API's.
"""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import Stubber

from sm_magics.workflow import pricing
from sm_magics.workflow.jobs import TrainingJob
from sm_magics.workflow.session import Backend

CREDENTIALS = {"aws_access_key_id": "AKIAEXAMPLEEXAMPLE00", "aws_secret_access_key": "secret"}


def aws_backend(region: str = "eu-west-1") -> Backend:
    backend = Backend("aws", region, "test")
    backend._session = boto3.Session(region_name=region, **CREDENTIALS)
    return backend


def test_training_job_poller_survives_throttling():
    backend = aws_backend()
    client = backend.client("sagemaker")
    logs = backend.client("logs")
    job = TrainingJob(backend, "throttled-job", "kmeans")
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    describe = {
        "TrainingJobName": "throttled-job", "TrainingJobArn": "arn:aws:sagemaker:eu-west-1:123456789012:training-job/throttled-job",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/out/model.tar.gz"}, "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed", "StoppingCondition": {"MaxRuntimeInSeconds": 60}, "CreationTime": now,
        "AlgorithmSpecification": {"TrainingInputMode": "File", "MetricDefinitions": []},
        "FinalMetricDataList": [{"MetricName": "train:msd", "Value": 1.5, "Timestamp": now}],
    }
    with Stubber(client) as stub, Stubber(logs) as log_stub:
        stub.add_client_error("describe_training_job", "ThrottlingException", "Rate exceeded", http_status_code=400)
        stub.add_response("describe_training_job", describe, {"TrainingJobName": "throttled-job"})
        log_stub.add_client_error("describe_log_streams", "ResourceNotFoundException", "no group")
        seen_errors: list[str] = []
        job.observe(lambda h: seen_errors.append(h.last_error or ""))
        job.wait(timeout=30)  # the real poller: throttled once, retried after its 2 s interval
        stub.assert_no_pending_responses()
    assert job.status == "Completed" and job.final_metrics == {"train:msd": 1.5}
    assert "AWS is throttling or briefly unavailable (ThrottlingException); retrying" in seen_errors
    assert seen_errors[-1] == ""  # the error is cleared once a describe succeeds


def test_expired_credentials_are_one_explained_line():
    import IPython
    from botocore.stub import Stubber
    from IPython.core.error import UsageError
    from IPython.testing.globalipapp import start_ipython

    from sm_magics.magics import SMMagics

    start_ipython()
    magics = SMMagics(shell=IPython.get_ipython())
    magics.choice.current = aws_backend("us-east-1")
    client = magics.choice.current.client("sagemaker")
    with Stubber(client) as stub:
        stub.add_client_error("list_training_jobs", "ExpiredTokenException", "The security token included in the request is expired")
        stub.add_client_error("list_endpoints", "AccessDeniedException", "User is not authorized to perform: sagemaker:ListEndpoints")
        with pytest.raises(UsageError, match="your AWS credentials have expired: refresh them"):
            magics.sm_jobs("")
        with pytest.raises(UsageError, match="access denied: User is not authorized to perform: sagemaker:ListEndpoints"):
            magics.sm_endpoints("")


def test_config_reaches_the_magics(engine, monkeypatch):
    import IPython
    from IPython.testing.globalipapp import start_ipython

    monkeypatch.setenv("SM_MAGICS_BACKEND", "local")
    monkeypatch.setenv("SM_MAGICS_LOCAL_DATA_DIR", str(engine.data_dir))
    start_ipython()
    shell = IPython.get_ipython()
    shell.run_line_magic("reload_ext", "sm_magics")
    try:
        shell.run_line_magic("config", "SMMagics.instance_type = 'ml.c5.xlarge'")
        magics = shell.find_magic("sm_train").__self__
        magics.choice.release()  # chosen in the background: settled inside this test, then taken back
        assert magics.instance_type == "ml.c5.xlarge"
    finally:  # the shell's config outlives this test: every later %load_ext would train on ml.c5.xlarge
        shell.config.SMMagics.pop("instance_type", None)
        magics.instance_type = "ml.m5.large"


def test_training_cost_uses_billable_seconds_and_instance_count():
    backend = aws_backend()
    job = TrainingJob(backend, "priced", "kmeans")
    job.price = pricing.Price(0.5, "pricing-api")
    job.description = {"ResourceConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.large"}, "BillableTimeInSeconds": 360,
                       "TrainingStartTime": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                       "TrainingEndTime": dt.datetime(2026, 1, 1, 0, 20, tzinfo=dt.timezone.utc)}
    assert job.cost_so_far == pytest.approx(0.5 * 2 * 360 / 3600)  # billable (spot) seconds, not the 20 min elapsed
