"""The model registry and a monitoring schedule through an unmodified SageMaker SDK 3.x script.

SDK 3 parses every Describe answer into its pydantic shapes, so
``scripts/kmeans_registry_v3.py`` also checks that the engine's
DescribeModelPackageGroup / DescribeModelPackage / DescribeModel (of a model
built from a package) / DescribeMonitoringSchedule documents are structurally
what it expects. The test then checks, with boto3, that everything the script
deleted is gone.

Runs in the ``.venv-sdk3`` environment: ``.venv-sdk3/bin/python -m pytest tests/sdk3``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from sdk_common import assert_deleted, assert_gone, check_clusters, needs_sdk, run_user_script

SCRIPTS = Path(__file__).resolve().parent / "scripts"

pytestmark = needs_sdk(3, "run with .venv-sdk3/bin/python -m pytest tests/sdk3")


def test_registry_version_deployed_monitored_and_cleaned_up(engine, aws, tmp_path: Path) -> None:
    run = run_user_script(engine, SCRIPTS / "kmeans_registry_v3.py", tmp_path, timeout=240)
    result = run.succeeded()

    assert result["package_arn"].endswith(f"model-package/{result['group']}/1")
    assert (result["status_before"], result["status_after"]) == ("PendingManualApproval", "Approved")
    check_clusters(result["clusters"], result["distances"], 100)
    assert result["schedule_status"] == "Scheduled"
    assert result["found"] == [result["schedule_name"]]

    sm = aws.sagemaker
    with pytest.raises(ClientError) as caught:  # Model Monitor's own code for a missing schedule
        sm.describe_monitoring_schedule(MonitoringScheduleName=result["schedule_name"])
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"
    assert_deleted(aws, endpoint=result["name"], endpoint_config=result["name"], model=result["name"])
    assert_gone(sm.describe_model_package, ModelPackageName=result["package_arn"])
    assert_gone(sm.describe_model_package_group, ModelPackageGroupName=result["group"])
