"""The model registry and Model Monitor's control plane through an unmodified SageMaker SDK 2.x script.

``scripts/kmeans_registry.py`` trains k-means, ``register()``s it into a model
package group (the SDK Searches for the group, creates it, then the version),
approves the version, deploys the approved ``ModelPackage`` from its ARN and
predicts, puts a ``DefaultModelMonitor`` schedule on the endpoint, and cleans
up as the documentation says: ``list_monitors()`` and delete each schedule,
then ``delete_model()`` and ``delete_predictor()``. The test checks, with
boto3, that what the script registered is there as SageMaker records it and
that everything it deleted is really gone.
"""

from __future__ import annotations

from pathlib import Path

from sdk_common import assert_deleted, check_clusters, needs_sdk, run_user_script

SCRIPTS = Path(__file__).resolve().parent / "scripts"

pytestmark = needs_sdk(2, "run in .venv")


def test_register_approve_deploy_monitor_and_clean_up(engine, aws, tmp_path: Path) -> None:
    run = run_user_script(engine, SCRIPTS / "kmeans_registry.py", tmp_path, timeout=240)
    result = run.succeeded()
    sm = aws.sagemaker

    # register(): a group and its version 1, pending approval until the script approved it
    group = sm.describe_model_package_group(ModelPackageGroupName=result["group"])
    assert group["ModelPackageGroupStatus"] == "Completed"
    assert result["package_arn"] == group["ModelPackageGroupArn"].replace("model-package-group/", "model-package/") + "/1"
    assert result["status_before"] == "PendingManualApproval"
    package = sm.describe_model_package(ModelPackageName=result["package_arn"])
    assert (package["ModelApprovalStatus"], package["ApprovalDescription"]) == ("Approved", "clusters look right")
    assert package["ModelPackageDescription"] == "k-means on MNIST"
    container = package["InferenceSpecification"]["Containers"][0]
    assert container["Image"].endswith("/kmeans:1")
    assert container["ModelDataUrl"].endswith("/output/model.tar.gz")
    assert package["InferenceSpecification"]["SupportedContentTypes"] == ["application/x-recordio-protobuf", "text/csv"]

    # the deployed package answered as k-means does
    check_clusters(result["clusters"], result["distances"], 100)

    # the monitor was Scheduled on the endpoint, list_monitors() found it, and its deletion really happened
    assert result["schedule_status"] == "Scheduled"
    assert result["monitor_names"] == [result["schedule_name"]]
    assert sm.list_monitoring_schedules(EndpointName=result["endpoint_name"])["MonitoringScheduleSummaries"] == []
    assert sm.list_data_quality_job_definitions(EndpointName=result["endpoint_name"])["JobDefinitionSummaries"] == []

    # delete_model() + delete_predictor(): endpoint, config and the model created from the package are gone
    assert_deleted(aws, endpoint=result["endpoint_name"], endpoint_config=result["config_name"], model=result["model_name"])
