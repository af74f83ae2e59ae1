"""AWS-only paths (no local equivalent): the Pricing API, throttling.

botocore's Stubber checks every stubbed request and response against the
service model, so these shapes are the real API's.
"""

from __future__ import annotations

import datetime as dt
import json

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


def price_list_item(instance: str, usd: str) -> str:
    return json.dumps({
        "product": {"productFamily": "ML Instance", "attributes": {"instanceType": instance, "operation": "RunInstance"}},
        "terms": {"OnDemand": {"SKU.TERM": {"priceDimensions": {"SKU.TERM.DIM": {"unit": "Hrs", "pricePerUnit": {"USD": usd}}}}}},
    })


def test_pricing_api_answer_is_used_and_cached():
    client = boto3.client("pricing", region_name="us-east-1", **CREDENTIALS)
    book = pricing.PriceBook(client)
    with Stubber(client) as stub:
        stub.add_response(
            "get_products",
            {"FormatVersion": "aws_v1", "PriceList": [price_list_item("ml.m5.large-Hosting", "0.1280000000")]},
            {"ServiceCode": "AmazonSageMaker", "MaxResults": 10, "Filters": [
                {"Type": "TERM_MATCH", "Field": "instanceType", "Value": "ml.m5.large-Hosting"},
                {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"},
            ]},
        )
        price = book.hourly("ml.m5.large", "eu-west-1")
        again = book.hourly("ml.m5.large", "eu-west-1")  # cached: no second call (the Stubber would refuse it)
        stub.assert_no_pending_responses()
    assert price == again == pricing.Price(0.128, "pricing-api")
    assert price.cost(1800, count=2) == pytest.approx(0.128)


def test_pricing_api_refusal_falls_back_to_the_bundled_table():
    client = boto3.client("pricing", region_name="us-east-1", **CREDENTIALS)
    book = pricing.PriceBook(client)
    with Stubber(client) as stub:
        stub.add_client_error("get_products", "AccessDeniedException", "not allowed")
        stub.add_client_error("get_products", "ThrottlingException", "slow down")
        in_table = book.hourly("ml.m5.xlarge", "us-east-1")
        elsewhere = book.hourly("ml.m5.xlarge", "ap-south-1")
    assert in_table.usd_per_hour == pricing.bundled()["hosting_usd_per_hour"]["ml.m5.xlarge"]
    assert in_table.source.startswith("bundled table (us-east-1")
    assert elsewhere is None  # the table only knows us-east-1; no made-up price elsewhere


def test_local_engine_prices_come_from_the_table_only():
    book = pricing.PriceBook(None)
    assert book.hourly("ml.m5.large", "us-east-1").usd_per_hour == 0.115
    assert book.hourly("ml.m5.large", "us-east-1", use="Training") is None


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
    magics._backend = aws_backend("us-east-1")
    client = magics._backend.client("sagemaker")
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
    shell.run_line_magic("config", "SMMagics.instance_type = 'ml.c5.xlarge'")
    magics = shell.find_magic("sm_train").__self__
    magics._backend_ready.wait()  # chosen in the background: settle it inside this test, then take it back
    if magics._backend is not None:
        magics._backend.release()
    assert magics.instance_type == "ml.c5.xlarge"


def test_training_cost_uses_billable_seconds_and_instance_count():
    backend = aws_backend()
    job = TrainingJob(backend, "priced", "kmeans")
    job.price = pricing.Price(0.5, "pricing-api")
    job.description = {"ResourceConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.large"}, "BillableTimeInSeconds": 360,
                       "TrainingStartTime": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                       "TrainingEndTime": dt.datetime(2026, 1, 1, 0, 20, tzinfo=dt.timezone.utc)}
    assert job.cost_so_far == pytest.approx(0.5 * 2 * 360 / 3600)  # billable (spot) seconds, not the 20 min elapsed
