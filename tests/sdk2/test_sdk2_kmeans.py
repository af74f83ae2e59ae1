"""SageMaker SDK 2.x users' scripts, unmodified, run through ``sm-magics local run`` against the engine.

Each script is a plain tutorial-style program (``scripts/``) that knows nothing
of the engine; the CLI alone points boto3 and the SDK at it. The tests check
what the user sees: the exit code, the results the script prints (its last
line is a JSON summary), the resources it left behind as boto3 describes them,
and that nothing it did left the machine (every connection attempt to a host
other than the loopback is recorded and refused).
"""

from __future__ import annotations

import re
from pathlib import Path

from sdk_common import assert_default_identity, assert_deleted, check_clusters, completed_job, needs_sdk, run_user_script

SCRIPTS = Path(__file__).resolve().parent / "scripts"

pytestmark = needs_sdk(2, "run in .venv")


def test_kmeans_estimator_tutorial(engine, aws, tmp_path: Path) -> None:
    """KMeans(...).fit(record_set) -> deploy -> predict -> delete_endpoint, as the tutorial notebook does it."""
    run = run_user_script(engine, SCRIPTS / "kmeans_highlevel.py", tmp_path)
    result = run.succeeded()

    assert_default_identity(result)
    assert result["region"] == "us-east-1"
    assert 0 <= result["single"] <= 9
    check_clusters(result["clusters"], result["distances"], 100)

    # what fit() printed: the job's CloudWatch logs and the SDK's closing lines
    assert "Completed - Training job completed" in run.stdout, run.explain()
    assert re.search(r"Training seconds: \d+", run.stdout), run.explain()
    assert re.search(r"Billable seconds: \d+", run.stdout), run.explain()

    job = completed_job(aws, result)
    assert job["ResourceConfig"]["InstanceCount"] == 2
    assert job["HyperParameters"]["k"] == "10" and job["HyperParameters"]["feature_dim"] == "784"
    channel = job["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert channel["S3DataType"] == "ManifestFile" and channel["S3DataDistributionType"] == "ShardedByS3Key"
    assert result["model_data"].startswith(f"s3://{result['bucket']}/kmeans_example/output/{result['job_name']}/")

    # both hosts wrote a log stream, which fit(logs=True) printed from
    streams = aws.logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=result["job_name"] + "/")
    assert len(streams["logStreams"]) == 2

    # delete_endpoint() removed the endpoint and its config
    assert_deleted(aws, endpoint=result["endpoint_name"], endpoint_config=result["endpoint_name"])


def test_kmeans_boto3_low_level(engine, aws, tmp_path: Path) -> None:
    """create_training_job + waiters + create_model/endpoint_config/endpoint + invoke_endpoint(text/csv) + deletes."""
    run = run_user_script(engine, SCRIPTS / "kmeans_boto3.py", tmp_path)
    result = run.succeeded()

    assert result["status"] == "Completed" and result["secondary_status"] == "Completed"
    assert result["endpoint_status"] == "InService"
    assert result["response_content_type"].startswith("application/json")
    check_clusters(result["clusters"], result["distances"], 100)

    completed_job(aws, result)
    assert_deleted(aws, endpoint=result["endpoint_name"], endpoint_config=result["config_name"], model=result["model_name"])
