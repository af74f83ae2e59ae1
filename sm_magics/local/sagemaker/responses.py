"""SageMaker's JSON-protocol wire: ``X-Amz-Target: SageMaker.<Operation>`` in, shaped JSON out."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from ..wire import WireError, parse_input, serialize_output
from .monitoring import MONITORING_TYPES
from .search import search

if TYPE_CHECKING:
    from .models import SageMakerBackend

SERVICE = "sagemaker"

Handler = Callable[["SageMakerBackend", dict[str, Any]], Any]

HANDLERS: dict[str, Handler] = {
    "CreateTrainingJob": lambda b, r: b.create_training_job(r),
    "DescribeTrainingJob": lambda b, r: b.describe_training_job(r["TrainingJobName"]),
    "ListTrainingJobs": lambda b, r: b.list_training_jobs(r),
    "StopTrainingJob": lambda b, r: b.stop_training_job(r["TrainingJobName"]),
    "CreateModel": lambda b, r: b.create_model(r),
    "DescribeModel": lambda b, r: b.describe_model(r["ModelName"]),
    "ListModels": lambda b, r: b.list_models(r),
    "DeleteModel": lambda b, r: b.delete_model(r["ModelName"]),
    "CreateEndpointConfig": lambda b, r: b.create_endpoint_config(r),
    "DescribeEndpointConfig": lambda b, r: b.describe_endpoint_config(r["EndpointConfigName"]),
    "ListEndpointConfigs": lambda b, r: b.list_endpoint_configs(r),
    "DeleteEndpointConfig": lambda b, r: b.delete_endpoint_config(r["EndpointConfigName"]),
    "CreateEndpoint": lambda b, r: b.create_endpoint(r),
    "DescribeEndpoint": lambda b, r: b.describe_endpoint(r["EndpointName"]),
    "ListEndpoints": lambda b, r: b.list_endpoints(r),
    "UpdateEndpoint": lambda b, r: b.update_endpoint(r),
    "DeleteEndpoint": lambda b, r: b.delete_endpoint(r["EndpointName"]),
    "CreateHyperParameterTuningJob": lambda b, r: b.tuning.create(r),
    "DescribeHyperParameterTuningJob": lambda b, r: b.tuning.describe(r["HyperParameterTuningJobName"]),
    "ListHyperParameterTuningJobs": lambda b, r: b.tuning.list(r),
    "ListTrainingJobsForHyperParameterTuningJob": lambda b, r: b.tuning.list_children(r),
    "StopHyperParameterTuningJob": lambda b, r: b.tuning.stop(r["HyperParameterTuningJobName"]),
    "CreateTransformJob": lambda b, r: b.transforms.create(r),
    "DescribeTransformJob": lambda b, r: b.transforms.describe(r["TransformJobName"]),
    "ListTransformJobs": lambda b, r: b.transforms.list(r),
    "StopTransformJob": lambda b, r: b.transforms.stop(r["TransformJobName"]),
    "CreateModelPackageGroup": lambda b, r: b.registry.create_group(r),
    "DescribeModelPackageGroup": lambda b, r: b.registry.describe_group(r["ModelPackageGroupName"]),
    "ListModelPackageGroups": lambda b, r: b.registry.list_groups(r),
    "DeleteModelPackageGroup": lambda b, r: b.registry.delete_group(r["ModelPackageGroupName"]),
    "CreateModelPackage": lambda b, r: b.registry.create_package(r),
    "DescribeModelPackage": lambda b, r: b.registry.describe_package(r["ModelPackageName"]),
    "ListModelPackages": lambda b, r: b.registry.list_packages(r),
    "UpdateModelPackage": lambda b, r: b.registry.update_package(r),
    "DeleteModelPackage": lambda b, r: b.registry.delete_package(r["ModelPackageName"]),
    "CreateMonitoringSchedule": lambda b, r: b.monitoring.create_schedule(r),
    "DescribeMonitoringSchedule": lambda b, r: b.monitoring.describe_schedule(r["MonitoringScheduleName"]),
    "ListMonitoringSchedules": lambda b, r: b.monitoring.list_schedules(r),
    "UpdateMonitoringSchedule": lambda b, r: b.monitoring.update_schedule(r),
    "StartMonitoringSchedule": lambda b, r: b.monitoring.start_schedule(r["MonitoringScheduleName"]),
    "StopMonitoringSchedule": lambda b, r: b.monitoring.stop_schedule(r["MonitoringScheduleName"]),
    "DeleteMonitoringSchedule": lambda b, r: b.monitoring.delete_schedule(r["MonitoringScheduleName"]),
    "ListMonitoringExecutions": lambda b, r: b.monitoring.list_executions(r),
    **{
        f"{verb}{kind}JobDefinition{suffix}": handler
        for kind in MONITORING_TYPES
        for verb, suffix, handler in (
            ("Create", "", lambda b, r, k=kind: b.monitoring.create_definition(k, r)),
            ("Describe", "", lambda b, r, k=kind: b.monitoring.describe_definition(k, r["JobDefinitionName"])),
            ("Delete", "", lambda b, r, k=kind: b.monitoring.delete_definition(k, r["JobDefinitionName"])),
            ("List", "s", lambda b, r, k=kind: b.monitoring.list_definitions(k, r)),
        )
    },
    "Search": lambda b, r: search(b, r),
    "AddTags": lambda b, r: b.add_tags(r["ResourceArn"], r["Tags"]),
    "ListTags": lambda b, r: b.list_tags(r["ResourceArn"], r),
    "DeleteTags": lambda b, r: b.delete_tags(r["ResourceArn"], r["TagKeys"]),
}


def handle(backend: "SageMakerBackend", target: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """Answer one control-plane request: (HTTP status, JSON document)."""
    operation = target.split(".", 1)[-1]
    handler = HANDLERS.get(operation)
    if handler is None:
        raise WireError(
            "UnknownOperationException" if not operation else "NotImplementedException",
            f"The local engine does not implement SageMaker {operation or '(no operation)'}; "
            f"it serves {', '.join(sorted(HANDLERS))}",
            status=400,
        )
    try:
        params = json.loads(body or b"{}")
    except json.JSONDecodeError:
        raise WireError("SerializationException", "The request body is not valid JSON") from None
    request = parse_input(SERVICE, operation, params)
    result = handler(backend, request)
    return 200, serialize_output(SERVICE, operation, result)
