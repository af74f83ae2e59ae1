"""Hyperparameter tuning jobs as boto3 and the SDK's HyperparameterTuner see them.

Two real tuning jobs over k-means on MNIST (objective ``test:msd``, Minimize;
6 training jobs, 2 at a time; an Integer, a Categorical and a Logarithmic
Continuous range): one Bayesian with ResourceConfig and early stopping Off,
one Random with HyperParameterTuningResourceConfig (what the SDK sends) and
early stopping Auto. Their children, best job, counters, listings and the
Describe fields the SDK hard-requires are checked, and the mistakes made at
create are rejected with ValidationException, leaving no job behind.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable

import pytest

from helpers import (
    BUCKET, KMEANS_IMAGE, ROLE, Clients, channel, error_of, tuning_config, tuning_definition, unique, upload_recordio,
    wait_until,
)

OBJECTIVE = "test:msd"
JOBS, PARALLEL = 6, 2
RANGES = {
    "IntegerParameterRanges": [{"Name": "mini_batch_size", "MinValue": "100", "MaxValue": "2000", "ScalingType": "Auto"}],
    "CategoricalParameterRanges": [{"Name": "init_method", "Values": ["random", "kmeans++"]}],
    "ContinuousParameterRanges": [
        {"Name": "local_lloyd_tol", "MinValue": "0.00001", "MaxValue": "0.01", "ScalingType": "Logarithmic"}
    ],
}
STATIC = {"k": "10", "feature_dim": "784", "local_lloyd_num_trials": "2"}
WAIT_SECONDS = 60.0


# ----------------------------------------------------------------------------- helpers


def definition(channels: dict[str, str], resources: str = "ResourceConfig", image: str = KMEANS_IMAGE) -> dict[str, Any]:
    request = tuning_definition(
        image,
        [channel("train", channels["train"]), channel("test", channels["test"])],
        dict(STATIC),
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/tuning"},
    )
    if resources != "ResourceConfig":
        del request["ResourceConfig"]
        request["HyperParameterTuningResourceConfig"] = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5}
    return request


def config(strategy: str, early_stopping: str = "Off", **changes: Any) -> dict[str, Any]:
    changes = {"TrainingJobEarlyStoppingType": early_stopping, **changes}
    return tuning_config(strategy, OBJECTIVE, copy.deepcopy(RANGES), JOBS, PARALLEL, **changes)


def wait_tuning(aws: Any, name: str, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
    """DescribeHyperParameterTuningJob once it is no longer InProgress (as the SDK polls it)."""
    job = wait_until(
        lambda: aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        "HyperParameterTuningJobStatus", timeout, interval=0.5,
    )
    assert job["HyperParameterTuningJobStatus"] not in ("InProgress", "Stopping"), (
        f"tuning job {name} still {job['HyperParameterTuningJobStatus']} after {timeout} s"
    )
    return job


def children(aws: Any, name: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every ListTrainingJobsForHyperParameterTuningJob summary, following NextToken."""
    found: list[dict[str, Any]] = []
    token = None
    while True:
        page = aws.sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, MaxResults=100, **kwargs, **({"NextToken": token} if token else {})
        )
        found += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            return found


def assert_no_tuning_job(aws: Any, name: str) -> None:
    error = error_of(aws.sagemaker.describe_hyper_parameter_tuning_job, HyperParameterTuningJobName=name)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    listed = aws.sagemaker.list_hyper_parameter_tuning_jobs(NameContains=name)["HyperParameterTuningJobSummaries"]
    assert listed == []


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def channels(engine_clients: Clients, mnist: tuple) -> dict[str, str]:
    prefix = unique("tune-data")
    return {
        "train": upload_recordio(engine_clients, mnist[0][0][:500], f"data/{prefix}/train"),
        "test": upload_recordio(engine_clients, mnist[2][0][:200], f"data/{prefix}/test"),
    }


@pytest.fixture(scope="module")
def tuned(engine_clients: Clients, channels: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Both tuning jobs, run to the end; keyed by strategy, each with its name and the request sent."""
    token = unique("tn")
    requests = {
        "Bayesian": {
            "HyperParameterTuningJobName": f"{token}-bayes",
            "HyperParameterTuningJobConfig": config("Bayesian", "Off"),
            "TrainingJobDefinition": definition(channels, "ResourceConfig"),
        },
        "Random": {
            "HyperParameterTuningJobName": f"{token}-rand",
            "HyperParameterTuningJobConfig": config("Random", "Auto"),
            "TrainingJobDefinition": definition(channels, "HyperParameterTuningResourceConfig"),
        },
    }
    for request in requests.values():
        arn = engine_clients.sagemaker.create_hyper_parameter_tuning_job(**request)["HyperParameterTuningJobArn"]
        assert arn.endswith(f":hyper-parameter-tuning-job/{request['HyperParameterTuningJobName'].lower()}")
    result = {}
    for strategy, request in requests.items():
        name = request["HyperParameterTuningJobName"]
        job = wait_tuning(engine_clients, name)
        assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
        result[strategy] = {"name": name, "request": request, "token": token}
    return result


STRATEGIES = ["Bayesian", "Random"]


# ----------------------------------------------------------------------------- runs


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_tuning_job_completes_six_children(aws: Clients, tuned: dict[str, dict[str, Any]], strategy: str) -> None:
    name = tuned[strategy]["name"]
    job = aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"] == {
        "Completed": JOBS, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0
    }
    assert job["ObjectiveStatusCounters"] == {"Succeeded": JOBS, "Pending": 0, "Failed": 0}
    assert job["CreationTime"] <= job["HyperParameterTuningEndTime"]
    summaries = children(aws, name)
    assert len(summaries) == JOBS
    names = sorted(s["TrainingJobName"] for s in summaries)
    pattern = re.compile(rf"^{re.escape(name)}-(\d{{3}})-[0-9a-f]{{8}}$")
    assert all(pattern.match(n) for n in names), names
    assert sorted(int(pattern.match(n).group(1)) for n in names) == list(range(1, JOBS + 1))
    for summary in summaries:
        assert summary["TrainingJobStatus"] == "Completed"
        assert summary["TuningJobName"] == name
        assert summary["ObjectiveStatus"] == "Succeeded"
        child = aws.sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        assert child["TrainingJobStatus"] == "Completed"
        assert child["TuningJobArn"] == job["HyperParameterTuningJobArn"]
        assert child["TrainingJobArn"] == summary["TrainingJobArn"]
        assert child["HyperParameters"]["_tuning_objective_metric"] == OBJECTIVE
        assert {k: child["HyperParameters"][k] for k in STATIC} == STATIC
        assert [c["ChannelName"] for c in child["InputDataConfig"]] == ["train", "test"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_best_training_job_has_the_lowest_objective(aws: Clients, tuned: dict[str, dict[str, Any]], strategy: str) -> None:
    name = tuned[strategy]["name"]
    job = aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    summaries = children(aws, name)
    values = {s["TrainingJobName"]: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries}
    assert all(s["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == OBJECTIVE for s in summaries)
    lowest = min(values.values())
    best = job["BestTrainingJob"]
    assert best["TrainingJobName"] in [n for n, v in values.items() if v == lowest], (best["TrainingJobName"], values)
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {"Type": "Minimize", "MetricName": OBJECTIVE, "Value": lowest}
    assert best["TrainingJobStatus"] == "Completed" and best["ObjectiveStatus"] == "Succeeded"
    # each child's objective is the test:msd its training job reported
    for child_name, value in values.items():
        child = aws.sagemaker.describe_training_job(TrainingJobName=child_name)
        final = {m["MetricName"]: m["Value"] for m in child["FinalMetricDataList"]}
        assert final[OBJECTIVE] == pytest.approx(value)
        assert value > 0


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_tuned_values_lie_inside_their_ranges(aws: Clients, tuned: dict[str, dict[str, Any]], strategy: str) -> None:
    name = tuned[strategy]["name"]
    for summary in children(aws, name):
        tuned_values = summary["TunedHyperParameters"]
        assert set(tuned_values) == {"mini_batch_size", "init_method", "local_lloyd_tol"}
        assert 100 <= int(tuned_values["mini_batch_size"]) <= 2000
        assert tuned_values["init_method"] in ("random", "kmeans++")
        assert 1e-5 <= float(tuned_values["local_lloyd_tol"]) <= 1e-2
        child = aws.sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        assert {k: child["HyperParameters"][k] for k in tuned_values} == tuned_values


def test_children_pages_and_sort_by_objective(aws: Clients, tuned: dict[str, dict[str, Any]]) -> None:
    name = tuned["Bayesian"]["name"]
    first = aws.sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name, MaxResults=4)
    assert len(first["TrainingJobSummaries"]) == 4 and first.get("NextToken")
    second = aws.sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=4, NextToken=first["NextToken"]
    )
    assert len(second["TrainingJobSummaries"]) == 2 and not second.get("NextToken")
    paged = [s["TrainingJobName"] for s in first["TrainingJobSummaries"] + second["TrainingJobSummaries"]]
    assert len(set(paged)) == JOBS
    for order, descending in (("Ascending", False), ("Descending", True)):
        ordered = children(aws, name, SortBy="FinalObjectiveMetricValue", SortOrder=order)
        values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in ordered]
        assert len(values) == JOBS
        assert values == sorted(values, reverse=descending), (order, values)
    by_name = children(aws, name, SortBy="Name", SortOrder="Ascending")
    assert [s["TrainingJobName"] for s in by_name] == sorted(paged)
    completed = children(aws, name, StatusEquals="Completed")
    assert len(completed) == JOBS
    assert children(aws, name, StatusEquals="Failed") == []


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_describe_has_what_the_sdk_reads(aws: Clients, tuned: dict[str, dict[str, Any]], strategy: str) -> None:
    name, request = tuned[strategy]["name"], tuned[strategy]["request"]
    job = aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert job["HyperParameterTuningJobName"] == name
    config_doc = job["HyperParameterTuningJobConfig"]
    assert config_doc["Strategy"] == strategy
    assert config_doc["TrainingJobEarlyStoppingType"] == request["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"]
    assert config_doc["HyperParameterTuningJobObjective"] == {"Type": "Minimize", "MetricName": OBJECTIVE}
    assert config_doc["ResourceLimits"] == {"MaxNumberOfTrainingJobs": JOBS, "MaxParallelTrainingJobs": PARALLEL}
    ranges = config_doc["ParameterRanges"]
    assert set(ranges) >= {"IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges"}
    for kind, items in RANGES.items():
        assert ranges[kind] == items
    definition_doc = job["TrainingJobDefinition"]
    assert definition_doc["StaticHyperParameters"] == {**STATIC, "_tuning_objective_metric": OBJECTIVE}
    metrics = {m["Name"] for m in definition_doc["AlgorithmSpecification"]["MetricDefinitions"]}
    assert OBJECTIVE in metrics
    assert definition_doc["AlgorithmSpecification"]["TrainingImage"] == KMEANS_IMAGE
    assert definition_doc["RoleArn"] == ROLE


def test_hyper_parameter_tuning_resource_config_sizes_the_children(aws: Clients, tuned: dict[str, dict[str, Any]]) -> None:
    name = tuned["Random"]["name"]
    job = aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert job["TrainingJobDefinition"]["HyperParameterTuningResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert "ResourceConfig" not in job["TrainingJobDefinition"]
    for summary in children(aws, name):
        child = aws.sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        assert child["ResourceConfig"]["InstanceType"] == "ml.m5.large"
        assert child["ResourceConfig"]["InstanceCount"] == 1
        assert child["ResourceConfig"]["VolumeSizeInGB"] == 5


def test_children_default_order_is_name_ascending(aws: Clients, tuned: dict[str, dict[str, Any]]) -> None:
    """The API's documented defaults: SortBy Name, SortOrder Ascending."""
    name = tuned["Bayesian"]["name"]
    listed = aws.sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    names = [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]]
    assert len(names) == JOBS
    assert names == sorted(names), names


def test_stop_on_a_finished_tuning_job_is_rejected(aws: Clients, tuned: dict[str, dict[str, Any]]) -> None:
    name = tuned["Bayesian"]["name"]
    error = error_of(aws.sagemaker.stop_hyper_parameter_tuning_job, HyperParameterTuningJobName=name)
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    job = aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"


def test_list_hyper_parameter_tuning_jobs(aws: Clients, tuned: dict[str, dict[str, Any]]) -> None:
    for strategy, item in tuned.items():
        listed = aws.sagemaker.list_hyper_parameter_tuning_jobs(NameContains=item["name"])["HyperParameterTuningJobSummaries"]
        assert [s["HyperParameterTuningJobName"] for s in listed] == [item["name"]]
        summary = listed[0]
        assert summary["HyperParameterTuningJobStatus"] == "Completed"
        assert summary["Strategy"] == strategy
        assert summary["TrainingJobStatusCounters"]["Completed"] == JOBS
        assert summary["ResourceLimits"]["MaxNumberOfTrainingJobs"] == JOBS
    everything = aws.sagemaker.list_hyper_parameter_tuning_jobs(StatusEquals="Completed", MaxResults=100)
    names = {s["HyperParameterTuningJobName"] for s in everything["HyperParameterTuningJobSummaries"]}
    assert {item["name"] for item in tuned.values()} <= names
    explicit = aws.sagemaker.list_hyper_parameter_tuning_jobs(
        NameContains=tuned["Bayesian"]["token"], SortBy="Name", SortOrder="Descending"
    )["HyperParameterTuningJobSummaries"]
    assert [s["HyperParameterTuningJobName"] for s in explicit] == [tuned["Random"]["name"], tuned["Bayesian"]["name"]]


def test_list_tuning_jobs_default_order_is_name_ascending(aws: Clients, tuned: dict[str, dict[str, Any]]) -> None:
    """Without SortBy / SortOrder, the API's documented defaults apply: Name, Ascending."""
    listed = aws.sagemaker.list_hyper_parameter_tuning_jobs(NameContains=tuned["Bayesian"]["token"])
    names = [s["HyperParameterTuningJobName"] for s in listed["HyperParameterTuningJobSummaries"]]
    assert names == [tuned["Bayesian"]["name"], tuned["Random"]["name"]], names  # "-bayes" sorts before "-rand"


def test_duplicate_tuning_job_name_is_resource_in_use(aws: Clients, tuned: dict[str, dict[str, Any]]) -> None:
    request = tuned["Bayesian"]["request"]
    error = error_of(aws.sagemaker.create_hyper_parameter_tuning_job, **request)
    assert error["Error"]["Code"] == "ResourceInUse"
    assert len(children(aws, request["HyperParameterTuningJobName"])) == JOBS


# ----------------------------------------------------------------------------- rejected at create


def _bad_objective(channels: dict[str, str]) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobConfig": config(
            "Bayesian", HyperParameterTuningJobObjective={"Type": "Minimize", "MetricName": "validation:accuracy"}
        ),
        "TrainingJobDefinition": definition(channels),
    }


def _parallel_above_total(channels: dict[str, str]) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobConfig": config(
            "Random", ResourceLimits={"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 3}
        ),
        "TrainingJobDefinition": definition(channels),
    }


def _min_above_max(channels: dict[str, str]) -> dict[str, Any]:
    ranges = copy.deepcopy(RANGES)
    ranges["IntegerParameterRanges"][0].update(MinValue="2000", MaxValue="100")
    return {"HyperParameterTuningJobConfig": config("Random", ParameterRanges=ranges), "TrainingJobDefinition": definition(channels)}


def _logarithmic_from_zero(channels: dict[str, str]) -> dict[str, Any]:
    ranges = copy.deepcopy(RANGES)
    ranges["ContinuousParameterRanges"][0].update(MinValue="0")
    return {"HyperParameterTuningJobConfig": config("Random", ParameterRanges=ranges), "TrainingJobDefinition": definition(channels)}


def _unknown_image(channels: dict[str, str]) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobConfig": config("Random"),
        "TrainingJobDefinition": definition(channels, image="123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own-algo:latest"),
    }


def _with_range(kind: str, item: dict[str, Any]) -> Callable[[dict[str, str]], dict[str, Any]]:
    """The k-means request with one more range: a range every child would draw a refused value from."""

    def build(channels: dict[str, str]) -> dict[str, Any]:
        ranges = copy.deepcopy(RANGES)
        ranges[f"{kind}ParameterRanges"] = [r for r in ranges[f"{kind}ParameterRanges"] if r["Name"] != item["Name"]] + [item]
        return {"HyperParameterTuningJobConfig": config("Random", ParameterRanges=ranges), "TrainingJobDefinition": definition(channels)}

    return build


def _linear_learner_negative_learning_rate(channels: dict[str, str]) -> dict[str, Any]:
    """Linear Learner's learning_rate must be > 0: a range from -5 fails each child that draws a value below 0."""
    request = definition(channels, image=KMEANS_IMAGE.replace("kmeans:1", "linear-learner:1"))
    request["StaticHyperParameters"] = {"predictor_type": "regressor", "feature_dim": "784"}
    ranges = {"IntegerParameterRanges": [], "CategoricalParameterRanges": [], "ContinuousParameterRanges": [
        {"Name": "learning_rate", "MinValue": "-5", "MaxValue": "1", "ScalingType": "Linear"}]}
    return {
        "HyperParameterTuningJobConfig": config(
            "Random", ParameterRanges=ranges,
            HyperParameterTuningJobObjective={"Type": "Minimize", "MetricName": "test:objective_loss"},
        ),
        "TrainingJobDefinition": request,
    }


def _static_and_tuned(channels: dict[str, str]) -> dict[str, Any]:
    request = _with_range("Integer", {"Name": "k", "MinValue": "5", "MaxValue": "10", "ScalingType": "Auto"})(channels)
    assert "k" in request["TrainingJobDefinition"]["StaticHyperParameters"]
    return request


BAD_CREATES: dict[str, tuple[Callable[[dict[str, str]], dict[str, Any]], list[str]]] = {
    "objective metric not emitted": (_bad_objective, ["validation:accuracy", "test:msd", "test:ssd"]),
    "MaxParallel above MaxNumber": (_parallel_above_total, ["MaxParallelTrainingJobs"]),
    "MinValue above MaxValue": (_min_above_max, ["MinValue", "mini_batch_size"]),
    "Logarithmic from 0": (_logarithmic_from_zero, ["Logarithmic", "local_lloyd_tol"]),
    "unknown image": (_unknown_image, ["my-own-algo"]),
    "range below the schema's minimum": (_linear_learner_negative_learning_rate, ["'-5'", "learning_rate", "linear-learner", "> 0"]),
    "range on an unknown hyperparameter": (
        _with_range("Continuous", {"Name": "learning_rate", "MinValue": "0.1", "MaxValue": "1", "ScalingType": "Auto"}),
        ["learning_rate", "not a hyperparameter of kmeans"]),
    "integer hyperparameter, continuous range": (
        _with_range("Continuous", {"Name": "epochs", "MinValue": "1", "MaxValue": "5", "ScalingType": "Auto"}),
        ["epochs", "IntegerParameterRange"]),
    "categorical value not offered": (
        _with_range("Categorical", {"Name": "init_method", "Values": ["random", "forgy"]}), ["'forgy'", "init_method"]),
    "mini_batch_size from 0": (
        _with_range("Integer", {"Name": "mini_batch_size", "MinValue": "0", "MaxValue": "2000", "ScalingType": "Auto"}),
        ["'0'", "mini_batch_size", "kmeans", ">= 1"]),
    "static and tuned": (_static_and_tuned, ["k", "StaticHyperParameters", "ParameterRanges"]),
}


@pytest.mark.parametrize("case", list(BAD_CREATES))
def test_bad_create_is_a_validation_exception(aws: Clients, channels: dict[str, str], case: str) -> None:
    build, words = BAD_CREATES[case]
    name = unique("tune-bad")
    error = error_of(aws.sagemaker.create_hyper_parameter_tuning_job, HyperParameterTuningJobName=name, **build(channels))
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    for word in words:
        assert word in error["Error"]["Message"], error["Error"]["Message"]
    assert_no_tuning_job(aws, name)
    launched = aws.sagemaker.list_training_jobs(NameContains=name)["TrainingJobSummaries"]
    assert launched == []


def test_describe_unknown_tuning_job_is_resource_not_found(aws: Clients) -> None:
    """As the service answers (aws/amazon-sagemaker-examples#1540): ResourceNotFound, "can't find a tuning job"."""
    name = unique("tune-none")
    error = error_of(aws.sagemaker.describe_hyper_parameter_tuning_job, HyperParameterTuningJobName=name)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "can't find a tuning job" in error["Error"]["Message"]
    assert error["Error"]["Code"] == "ResourceNotFound", error["Error"]


# ----------------------------------------------------------------------------- every child failing


def test_tuning_job_whose_children_all_fail_is_failed(aws: Clients, channels: dict[str, str]) -> None:
    """k above the number of training records fails every child with a ClientError; the tuning job ends Failed."""
    name = unique("tune-fail")
    ranges = {
        "IntegerParameterRanges": [{"Name": "k", "MinValue": "600", "MaxValue": "700", "ScalingType": "Linear"}],
        "ContinuousParameterRanges": [],
        "CategoricalParameterRanges": [],
    }
    request_definition = definition(channels)
    request_definition["StaticHyperParameters"] = {"feature_dim": "784"}
    aws.sagemaker.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig=config(
            "Random", ResourceLimits={"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2}, ParameterRanges=ranges
        ),
        TrainingJobDefinition=request_definition,
    )
    job = wait_tuning(aws, name)
    assert job["HyperParameterTuningJobStatus"] == "Failed"
    assert job["FailureReason"]
    assert job["TrainingJobStatusCounters"]["NonRetryableError"] == 2
    assert job["TrainingJobStatusCounters"]["Completed"] == 0
    assert job["ObjectiveStatusCounters"]["Failed"] == 2
    assert "BestTrainingJob" not in job
    summaries = children(aws, name)
    assert len(summaries) == 2
    for summary in summaries:
        assert summary["TrainingJobStatus"] == "Failed"
        assert summary["ObjectiveStatus"] == "Failed"
        assert summary["FailureReason"].startswith("ClientError:"), summary["FailureReason"]
        assert 600 <= int(summary["TunedHyperParameters"]["k"]) <= 700
        assert "FinalHyperParameterTuningJobObjectiveMetric" not in summary
    # "If the value of this field is FinalObjectiveMetricValue, any training jobs that did not return
    # an objective metric are not listed." (API reference)
    assert children(aws, name, SortBy="FinalObjectiveMetricValue") == []
