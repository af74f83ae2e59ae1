"""Which SageMaker operations the local engine serves, rendered from the code as ``docs/api-coverage.md``.

Why generated: the list of operations lives in two places that change on
their own, botocore's service model (new SageMaker APIs arrive with every
botocore release) and ``responses.HANDLERS`` (what the engine implements).
Writing the document from both means it cannot drift; a test compares the
committed file with :func:`render` and fails when either side moved.

``python -m sm_magics.local.coverage`` prints the document, ``--write``
rewrites ``docs/api-coverage.md``, ``--check`` exits 1 when it is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import botocore

from .sagemaker.responses import HANDLERS
from .wire import service_model

DOC = Path(__file__).resolve().parents[2] / "docs" / "api-coverage.md"

# Families of operations, matched in order on the operation's noun (its name without the verb).
GROUPS: list[tuple[str, str]] = [
    ("Training", r"^TrainingJob|^TrainingJobs$|^TrainingPlan|^TrainingSession|^ReservedCapacit|^TrainingJobsForHyperParameterTuningJob$"),
    ("Hyperparameter tuning", r"HyperParameterTuning"),
    ("Batch transform", r"^TransformJob"),
    ("Models", r"^Model$|^Models$|^ModelMetadata$"),
    ("Model registry", r"^ModelPackage|^ModelCard|^ModelCards?$|^Aliases$|^ImageVersionAlias"),
    ("Hosting: endpoints", r"^Endpoint|^InferenceComponent|^EndpointWeightsAndCapacities$|^Rendering"
                           r"|^InferenceRecommendation|^InferenceExperiment|^Recommendation|^Endpoints$"
                           r"|InferenceGateway|^InferenceRouter|^ScalingConfigurationRecommendation"),
    ("Model Monitor", r"Monitor|QualityJobDefinition|BiasJobDefinition|ExplainabilityJobDefinition"),
    ("Search and tags", r"^Tags?$|^$|^SearchSuggestions$|^TrainingPlanOfferings$"),
    ("Processing", r"^ProcessingJob"),
    ("Pipelines", r"Pipeline|^Callback|^StepFailure|^ExecutionStep"),
    ("Compilation, edge and optimization", r"Compilation|Edge|Device|^OptimizationJob"),
    ("AutoML", r"AutoML|^CandidatesForAutoMLJob"),
    ("Experiments and lineage", r"^Experiment|^Trial|^Artifact|^Action|^Context|^Association|^LineageGroup|^Lineage"
                                r"|^TrialComponent|^MlflowTracking|^MlflowApp|^PresignedMlflow"),
    ("Feature Store", r"^FeatureGroup|^FeatureMetadata|^Record$"),
    ("Studio, domains and notebooks", r"^Domain|^UserProfile|^App|^Space|^NotebookInstance|^Studio|^PresignedDomainUrl"
                                      r"|^PresignedNotebookInstanceUrl|^CodeRepositor|^Image|^SagemakerServicecatalog"
                                      r"|^LifecycleConfig|^StudioLifecycleConfig|^SharedModel|^PartnerApp|^PresignedPartnerApp"),
    ("Ground Truth", r"^LabelingJob|^Workteam|^Workforce|^FlowDefinition|^HumanTaskUi|^HumanLoop"
                     r"|^SubscribedWorkteam"),
    ("HyperPod clusters", r"^Cluster|^ComputeQuota|^ClusterSchedulerConfig|^ClusterNode|^ClusterEvent"),
    ("Hubs and JumpStart", r"^Hub"),
    ("Algorithms and projects", r"^Algorithm|^Project"),
]

# Which SDK path reaches an operation (from reading SDK 2.x 2.257 and 3.x 3.27 and the measured flows in
# docs/sdk-surface.md), for the operations on the paths the engine serves and the ones it deliberately skips.
SDK_CALLERS: dict[str, str] = {
    "CreateTrainingJob": "2.x `EstimatorBase.fit`; 3.x `ModelTrainer.train`",
    "DescribeTrainingJob": "2.x `fit` / `attach` / `deploy` / `model_data`; 3.x `TrainingJob.wait`",
    "ListTrainingJobs": "boto3 users; the panel",
    "StopTrainingJob": "2.x `Estimator.stop`; 3.x `TrainingJob.stop`",
    "CreateModel": "2.x `Model.deploy` / `create` / `transformer`, `ModelPackage.deploy` (with `ModelPackageName`); 3.x `Model.create`, `ModelBuilder.build`",
    "DescribeModel": "2.x `Transformer` (image lookup); 3.x `Model.create` / `get`",
    "DeleteModel": "2.x `Predictor.delete_model`, `Model.delete_model`; 3.x `Model.delete`",
    "CreateEndpointConfig": "2.x `deploy`, `Predictor.update_endpoint` / `update_data_capture_config`; 3.x `EndpointConfig.create`, `ModelBuilder.deploy`",
    "DescribeEndpointConfig": "2.x `Predictor.delete_model` (`_get_model_names`), `update_endpoint`, `is_inference_component_based_endpoint`",
    "DeleteEndpointConfig": "2.x `Predictor.delete_endpoint` / `delete_predictor`; 3.x `EndpointConfig.delete`",
    "CreateEndpoint": "2.x `deploy`; 3.x `Endpoint.create`, `ModelBuilder.deploy`",
    "DescribeEndpoint": "2.x `wait_for_endpoint`, `Predictor` clean-up; 3.x `Endpoint.wait_for_status`",
    "UpdateEndpoint": "2.x `Predictor.update_endpoint`, `deploy(update_endpoint=True)`",
    "DeleteEndpoint": "2.x `Predictor.delete_endpoint` / `delete_predictor`; 3.x `Endpoint.delete`",
    "CreateHyperParameterTuningJob": "2.x `HyperparameterTuner.fit`; 3.x `HyperparameterTuner.tune`",
    "DescribeHyperParameterTuningJob": "2.x tuner wait / `best_training_job` / `attach`",
    "ListTrainingJobsForHyperParameterTuningJob": "2.x `HyperparameterTuningJobAnalytics.dataframe`",
    "StopHyperParameterTuningJob": "2.x `HyperparameterTuner.stop_tuning_job`",
    "CreateTransformJob": "2.x `Transformer.transform`; 3.x `TransformJob.create`",
    "DescribeTransformJob": "2.x `Transformer.wait` / `attach`",
    "StopTransformJob": "2.x `Transformer.stop_transform_job`",
    "ListTags": "2.x `Estimator.attach`, `ModelMonitor.attach`",
    "Search": "2.x and 3.x `register()` (does the model package group exist?); the engine searches ModelPackageGroup, ModelPackage and TrainingJob",
    "ListModelPackageGroups": "2.x and 3.x `register()` when Search fails",
    "CreateModelPackageGroup": "2.x `Model.register` / `Estimator.register`; 3.x `ModelBuilder.register`, `ModelPackageGroup.create`",
    "DescribeModelPackageGroup": "3.x `ModelPackageGroup.create` / `get`",
    "DeleteModelPackageGroup": "3.x `ModelPackageGroup.delete`",
    "CreateModelPackage": "2.x `register()`; 3.x `ModelBuilder.register`, `ModelPackage.create`",
    "DescribeModelPackage": "2.x `ModelPackage.deploy` (approval check), `wait_for_model_package`; 3.x `ModelPackage.get`",
    "ListModelPackages": "2.x `get_most_recently_created_approved_model_package`",
    "UpdateModelPackage": "2.x `ModelPackage.update_approval_status` (also called by `deploy` for an unapproved version), `update_customer_metadata`, ...",
    "DeleteModelPackage": "3.x `ModelPackage.delete`; boto3 users",
    "CreateMonitoringSchedule": "2.x `ModelMonitor` / `DefaultModelMonitor.create_monitoring_schedule`",
    "DescribeMonitoringSchedule": "2.x `Predictor.list_monitors`, `ModelMonitor.attach` / `describe_schedule`, the wait after every schedule change",
    "ListMonitoringSchedules": "2.x `Predictor.list_monitors` (the documented clean-up before deleting an endpoint)",
    "UpdateMonitoringSchedule": "2.x `ModelMonitor.update_monitoring_schedule`",
    "StartMonitoringSchedule": "2.x `ModelMonitor.start_monitoring_schedule`",
    "StopMonitoringSchedule": "2.x `ModelMonitor.stop_monitoring_schedule`",
    "DeleteMonitoringSchedule": "2.x `ModelMonitor.delete_monitoring_schedule`",
    "ListMonitoringExecutions": "2.x `ModelMonitor.list_executions` (always empty: the engine runs no monitoring jobs)",
    "CreateDataQualityJobDefinition": "2.x `DefaultModelMonitor.create_monitoring_schedule`",
    "DescribeDataQualityJobDefinition": "2.x `DefaultModelMonitor.attach` (via `Predictor.list_monitors`)",
    "DeleteDataQualityJobDefinition": "2.x `DefaultModelMonitor.delete_monitoring_schedule`",
    "CreateModelQualityJobDefinition": "2.x `ModelQualityMonitor.create_monitoring_schedule`",
    "DescribeModelQualityJobDefinition": "2.x `ModelQualityMonitor.attach`",
    "DeleteModelQualityJobDefinition": "2.x `ModelQualityMonitor.delete_monitoring_schedule`",
    "CreateModelBiasJobDefinition": "2.x `ModelBiasMonitor.create_monitoring_schedule`",
    "DescribeModelBiasJobDefinition": "2.x `ModelBiasMonitor.attach`",
    "DeleteModelBiasJobDefinition": "2.x `ModelBiasMonitor.delete_monitoring_schedule`",
    "CreateModelExplainabilityJobDefinition": "2.x `ModelExplainabilityMonitor.create_monitoring_schedule`",
    "DescribeModelExplainabilityJobDefinition": "2.x `ModelExplainabilityMonitor.attach`",
    "DeleteModelExplainabilityJobDefinition": "2.x `ModelExplainabilityMonitor.delete_monitoring_schedule`",
    # on SDK paths, deliberately not served
    "CreateProcessingJob": "2.x `ModelMonitor.suggest_baseline`, `Processor.run` (not served: the engine runs built-in algorithms, not processing containers)",
    "CreateInferenceComponent": "2.x `Model.deploy` with `endpoint_type=INFERENCE_COMPONENT_BASED` (not served: endpoints host one model per variant)",
    "ListInferenceComponents": "2.x `Predictor` of an inference-component endpoint (not served, see CreateInferenceComponent)",
    "CreateCompilationJob": "2.x `Model.compile` (not served: Neo compiles for hardware the engine does not emulate)",
    "UpdateEndpointWeightsAndCapacities": "not on the SDKs' built-in-algorithm, hosting, tuning or registry paths (boto3 and autoscaling only)",
    "ListMonitoringAlerts": "2.x `ModelMonitor.list_monitoring_alerts` (not served: alerts come from executions, which the engine never runs)",
    "ListMonitoringAlertHistory": "2.x `ModelMonitor.list_monitoring_alert_history` (not served, see ListMonitoringAlerts)",
    "UpdateMonitoringAlert": "2.x `ModelMonitor.update_monitoring_alert` (not served, see ListMonitoringAlerts)",
    "DescribeDomain": "2.x `get_caller_identity_arn` inside Studio only (not served: the engine answers STS and IAM instead)",
}


def _group_of(operation: str) -> str:
    noun = re.sub(r"^Batch(?=[A-Z])", "", operation)
    noun = re.sub(r"^(List|Describe|Create|Delete|Update|Stop|Get|Start|Batch|Add|Attach|Put|Search|Send|Associate|Deregister"
                  r"|Detach|Disable|Disassociate|Enable|Extend|Import|Move|Query|Register|Remove|Render|Retry)", "", noun)
    for group, pattern in GROUPS:
        if re.search(pattern, noun):
            return group
    return "Other"


def render() -> str:
    """The whole document, deterministic for one botocore version and one HANDLERS."""
    operations = sorted(service_model("sagemaker").operation_names)
    unknown = sorted(set(HANDLERS) - set(operations))
    if unknown:
        raise ValueError(f"HANDLERS names operations botocore's model lacks: {', '.join(unknown)}")
    groups: dict[str, list[str]] = {}
    for operation in operations:
        groups.setdefault(_group_of(operation), []).append(operation)
    order = [name for name, _ in GROUPS] + ["Other"]
    served = sum(op in HANDLERS for op in operations)
    lines = [
        "# SageMaker API coverage of the local engine",
        "",
        "<!-- Generated by `python -m sm_magics.local.coverage --write` from botocore's SageMaker service model and",
        "     sm_magics/local/sagemaker/responses.py HANDLERS. Do not edit by hand; tests/local/test_api_coverage.py",
        "     fails when this file is out of date. -->",
        "",
        f"botocore {botocore.__version__}: the engine serves **{served} of {len(operations)}** SageMaker operations. "
        "Any other operation is answered with `NotImplementedException` (HTTP 400), which names the operations it serves.",
        "Every request is validated against the operation's input shape (required members, lengths, ranges, patterns, enums) "
        "and every answer is shaped by its output shape.",
        "",
        "What the served operations do not do, on purpose:",
        "",
        "- Monitoring schedules keep SageMaker's states (Pending, Scheduled, Stopped) but the engine never runs a monitoring "
        "job: `ListMonitoringExecutions` is empty and no schedule has a `LastMonitoringExecutionSummary`.",
        "- `DeleteEndpoint` refuses an endpoint that a monitoring schedule still watches; delete the schedules first "
        "(SDK 2.x: `for m in predictor.list_monitors(): m.delete_monitoring_schedule()`).",
        "- Model packages are `Completed` at once: no validation transform jobs and no image scans run, so a request "
        "with a `ValidationSpecification` must say `SkipModelValidation='All'`.",
        "- `Search` covers ModelPackageGroup, ModelPackage and TrainingJob, without `NestedFilters`.",
        "",
        "| family | served | operations |",
        "|---|---|---|",
    ]
    for name in order:
        if name in groups:
            ops = groups[name]
            lines.append(f"| [{name}](#{_anchor(name)}) | {sum(op in HANDLERS for op in ops)} | {len(ops)} |")
    for name in order:
        if name not in groups:
            continue
        ops = groups[name]
        lines += ["", f"## {name}", "", f"{sum(op in HANDLERS for op in ops)} of {len(ops)} served.", ""]
        lines += ["| operation | served | reached from |", "|---|---|---|"]
        for op in ops:
            lines.append(f"| {op} | {'yes' if op in HANDLERS else 'no'} | {SDK_CALLERS.get(op, '')} |")
    return "\n".join(lines) + "\n"


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"rewrite {DOC}")
    action.add_argument("--check", action="store_true", help="exit 1 when the committed document is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        DOC.write_text(text)
        return 0
    if args.check:
        current = DOC.read_text() if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python -m sm_magics.local.coverage --write", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
