"""Hyperparameter tuning beyond the basics: warm start, Autotune, resource configs, RandomSeed,
early stopping Auto, Hyperband, and what DescribeHyperParameterTuningJob fills in.

Every job tunes XGBoost 1.7-1 on a small synthetic regression (CSV train and
validation channels, objective ``validation:rmse``, Minimize), so children take
about a second; the ones that must run long enough to be stopped mid-way train
for 1000 rounds. Each run goes through the real engine (boto3 against the
local SageMaker API) and is read back the way a user would: Describe, the
children listing, DescribeTrainingJob.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any, Callable

import numpy as np
import pytest

from helpers import (
    BUCKET, Clients, channel, ensure_bucket, error_of, put, tuning_config, tuning_definition, unique, wait_until,
)

XGB_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
OBJECTIVE = "validation:rmse"
STATIC = {"num_round": "20", "objective": "reg:squarederror"}
RANGES: dict[str, list[dict[str, Any]]] = {
    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "6", "ScalingType": "Auto"}],
    "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"}],
    "CategoricalParameterRanges": [],
}
WAIT_SECONDS = 90.0


# ----------------------------------------------------------------------------- helpers


def csv_rows(x: np.ndarray, y: np.ndarray) -> str:
    """XGBoost's CSV: the label first, no header."""
    return "".join(",".join(f"{v:.5f}" for v in (label, *row)) + "\n" for label, row in zip(y, x))


def definition(data: dict[str, str], static: dict[str, str] | None = None, **changes: Any) -> dict[str, Any]:
    request = tuning_definition(
        XGB_IMAGE,
        [channel("train", data["train"], "text/csv"), channel("validation", data["validation"], "text/csv")],
        dict(STATIC if static is None else static),
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/tuning-full"},
    )
    request.update(changes)
    return request


def config(strategy: str, jobs: int, parallel: int, ranges: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    return tuning_config(strategy, OBJECTIVE, copy.deepcopy(RANGES if ranges is None else ranges), jobs, parallel, **changes)


def wait_tuning(aws: Any, name: str) -> dict[str, Any]:
    job = wait_until(
        lambda: aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        "HyperParameterTuningJobStatus", WAIT_SECONDS, interval=0.5,
    )
    assert job["HyperParameterTuningJobStatus"] not in ("InProgress", "Stopping"), f"{name} still running"
    return job


def run(aws: Any, name: str, hp_config: dict[str, Any], job_definition: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Create a tuning job and Describe it once it has ended."""
    aws.sagemaker.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, HyperParameterTuningJobConfig=hp_config, TrainingJobDefinition=job_definition, **extra
    )
    return wait_tuning(aws, name)


def children(aws: Any, name: str) -> list[dict[str, Any]]:
    """The children in launch order (their names carry the launch number)."""
    found = aws.sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100
    )["TrainingJobSummaries"]
    return sorted(found, key=lambda s: s["TrainingJobName"])


def objective_of(summary: dict[str, Any]) -> float:
    return summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]


def assert_refused(aws: Any, name: str, words: list[str], **request: Any) -> None:
    """A ValidationException naming ``words``, and no tuning job nor child left behind."""
    error = error_of(aws.sagemaker.create_hyper_parameter_tuning_job, HyperParameterTuningJobName=name, **request)
    assert error["Error"]["Code"] == "ValidationException", error["Error"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    for word in words:
        assert word in error["Error"]["Message"], error["Error"]["Message"]
    missing = error_of(aws.sagemaker.describe_hyper_parameter_tuning_job, HyperParameterTuningJobName=name)
    assert missing["Error"]["Code"] == "ResourceNotFound"
    assert aws.sagemaker.list_training_jobs(NameContains=name)["TrainingJobSummaries"] == []


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def data(engine_clients: Clients) -> dict[str, str]:
    ensure_bucket(engine_clients)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(500, 5))
    y = x @ np.array([1.5, -2.0, 0.5, 0.0, 1.0]) + rng.normal(scale=0.5, size=500)
    prefix = unique("tune-full")
    put(engine_clients, f"{prefix}/train/part.csv", csv_rows(x[:400], y[:400]))
    put(engine_clients, f"{prefix}/validation/part.csv", csv_rows(x[400:], y[400:]))
    other = f"{prefix}-other"
    put(engine_clients, f"{other}/train/part.csv", csv_rows(x[100:], y[100:]))
    return {
        "train": f"s3://{BUCKET}/{prefix}/train",
        "validation": f"s3://{BUCKET}/{prefix}/validation",
        "other_train": f"s3://{BUCKET}/{other}/train",
    }


@pytest.fixture(scope="module")
def parent(engine_clients: Clients, data: dict[str, str]) -> dict[str, Any]:
    """A finished Random tuning job of 3 children: the warm start parent."""
    name = unique("tf-parent")
    job = run(engine_clients, name, config("Random", 3, 3, RandomSeed=11), definition(data))
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    return job


# ----------------------------------------------------------------------------- warm start


def test_warm_start_is_seeded_by_its_parent(aws: Clients, data: dict[str, str], parent: dict[str, Any]) -> None:
    parent_name = parent["HyperParameterTuningJobName"]
    parent_values = [objective_of(s) for s in children(aws, parent_name)]
    assert len(parent_values) == 3
    warm = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent_name}], "WarmStartType": "IdenticalDataAndAlgorithm"}
    token = unique("tf-warm")
    seeded = run(aws, f"{token}-w", config("Bayesian", 2, 1, RandomSeed=5), definition(data), WarmStartConfig=warm)
    assert seeded["HyperParameterTuningJobStatus"] == "Completed", seeded.get("FailureReason")
    assert seeded["WarmStartConfig"] == warm
    # the parents' children do not count: the job launched its own MaxNumberOfTrainingJobs
    assert seeded["TrainingJobStatusCounters"]["Completed"] == 2
    own = children(aws, f"{token}-w")
    assert [s["TuningJobName"] for s in own] == [f"{token}-w"] * 2
    own_values = [objective_of(s) for s in own]
    assert objective_of(seeded["BestTrainingJob"]) == min(own_values)
    # OverallBestTrainingJob: the best of this job's and its parent's children, named with the job that ran it
    overall = seeded["OverallBestTrainingJob"]
    assert objective_of(overall) == min(own_values + parent_values)
    expected_owner = f"{token}-w" if min(own_values) <= min(parent_values) else parent_name
    assert overall["TuningJobName"] == expected_owner
    # the same job and seed without the parent proposes differently: the parent's results shaped the search
    cold = run(aws, f"{token}-c", config("Bayesian", 2, 1, RandomSeed=5), definition(data))
    assert "WarmStartConfig" not in cold and "OverallBestTrainingJob" not in cold
    assert [s["TunedHyperParameters"] for s in children(aws, f"{token}-c")] != [s["TunedHyperParameters"] for s in own]


def test_transfer_learning_accepts_new_data_that_identical_refuses(aws: Clients, data: dict[str, str], parent: dict[str, Any]) -> None:
    parent_name = parent["HyperParameterTuningJobName"]
    moved = definition(data)
    moved["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = data["other_train"]

    def warm(kind: str) -> dict[str, Any]:
        return {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent_name}], "WarmStartType": kind}

    assert_refused(
        aws, unique("tf-ident"), ["IdenticalDataAndAlgorithm", "same input data", parent_name, "TransferLearning"],
        HyperParameterTuningJobConfig=config("Bayesian", 1, 1), TrainingJobDefinition=moved, WarmStartConfig=warm("IdenticalDataAndAlgorithm"),
    )
    name = unique("tf-transfer")
    job = run(aws, name, config("Bayesian", 1, 1), moved, WarmStartConfig=warm("TransferLearning"))
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["WarmStartConfig"]["WarmStartType"] == "TransferLearning"
    # objective values on other data do not compare: the overall best is for IdenticalDataAndAlgorithm only
    assert "OverallBestTrainingJob" not in job
    assert job["TrainingJobStatusCounters"]["Completed"] == 1


def _warm_from(names: list[str], kind: str = "IdenticalDataAndAlgorithm") -> dict[str, Any]:
    return {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": n} for n in names], "WarmStartType": kind}


def test_warm_start_from_a_missing_parent_is_refused(aws: Clients, data: dict[str, str]) -> None:
    missing = unique("tf-none")
    assert_refused(
        aws, unique("tf-orphan"), [missing, "does not exist"],
        HyperParameterTuningJobConfig=config("Bayesian", 1, 1), TrainingJobDefinition=definition(data), WarmStartConfig=_warm_from([missing]),
    )


def test_warm_start_from_a_running_parent_is_refused(aws: Clients, data: dict[str, str]) -> None:
    """A parent still InProgress is refused ("a terminal state"); it ends Stopped."""
    running = unique("tf-running")
    slow = definition(data, static={**STATIC, "num_round": "100000"})
    creating = threading.Thread(
        target=aws.sagemaker.create_hyper_parameter_tuning_job,
        kwargs={"HyperParameterTuningJobName": running, "HyperParameterTuningJobConfig": config("Random", 1, 1), "TrainingJobDefinition": slow},
    )
    creating.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not aws.sagemaker.list_hyper_parameter_tuning_jobs(NameContains=running)["HyperParameterTuningJobSummaries"]:
            time.sleep(0.05)
        assert aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=running)["HyperParameterTuningJobStatus"] == "InProgress"
        assert_refused(
            aws, unique("tf-early"), [running, "InProgress", "Completed, Stopped or Failed"],
            HyperParameterTuningJobConfig=config("Bayesian", 1, 1), TrainingJobDefinition=definition(data), WarmStartConfig=_warm_from([running]),
        )
    finally:
        aws.sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=running)
        creating.join(30)
    assert wait_tuning(aws, running)["HyperParameterTuningJobStatus"] == "Stopped"


def _other_objective(data: dict[str, str], parent: str) -> dict[str, Any]:
    hp = config("Bayesian", 1, 1, HyperParameterTuningJobObjective={"Type": "Minimize", "MetricName": "validation:mae"})
    return {"HyperParameterTuningJobConfig": hp, "TrainingJobDefinition": definition(data), "WarmStartConfig": _warm_from([parent])}


def _other_image(data: dict[str, str], parent: str) -> dict[str, Any]:
    other = definition(data)
    other["AlgorithmSpecification"]["TrainingImage"] = XGB_IMAGE.replace(":1.7-1", ":1.5-1")
    return {"HyperParameterTuningJobConfig": config("Bayesian", 1, 1), "TrainingJobDefinition": other, "WarmStartConfig": _warm_from([parent])}


def _type_changed(data: dict[str, str], parent: str) -> dict[str, Any]:
    ranges = copy.deepcopy(RANGES)
    ranges["IntegerParameterRanges"] = []
    # Integer -> Categorical (a Continuous range on the integer max_depth is refused before warm start is looked at)
    ranges["CategoricalParameterRanges"].append({"Name": "max_depth", "Values": ["1", "3", "6"]})
    return {"HyperParameterTuningJobConfig": config("Bayesian", 1, 1, ranges), "TrainingJobDefinition": definition(data), "WarmStartConfig": _warm_from([parent])}


def _count_changed(data: dict[str, str], parent: str) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobConfig": config("Bayesian", 1, 1),
        "TrainingJobDefinition": definition(data, static={**STATIC, "gamma": "0.1"}),
        "WarmStartConfig": _warm_from([parent]),
    }


def _same_parent_twice(data: dict[str, str], parent: str) -> dict[str, Any]:
    return {"HyperParameterTuningJobConfig": config("Bayesian", 1, 1), "TrainingJobDefinition": definition(data), "WarmStartConfig": _warm_from([parent, parent])}


BAD_WARM_STARTS: dict[str, tuple[Callable[[dict[str, str], str], dict[str, Any]], list[str]]] = {
    "other objective metric": (_other_objective, ["objective metric", "validation:rmse"]),
    "other image": (_other_image, ["IdenticalDataAndAlgorithm", "training image", "TransferLearning"]),
    "range type changed": (_type_changed, ["max_depth", "Integer, Continuous or Categorical"]),
    "hyperparameter count changed": (_count_changed, ["static plus tunable", "(5)", "(4)"]),
    "same parent twice": (_same_parent_twice, ["more than once"]),
}


@pytest.mark.parametrize("case", list(BAD_WARM_STARTS))
def test_bad_warm_start_is_refused(aws: Clients, data: dict[str, str], parent: dict[str, Any], case: str) -> None:
    build, words = BAD_WARM_STARTS[case]
    assert_refused(aws, unique("tf-badwarm"), words, **build(data, parent["HyperParameterTuningJobName"]))


# ----------------------------------------------------------------------------- Autotune and resources


def test_autotune_fills_the_ranges_the_request_left_out(aws: Clients, data: dict[str, str]) -> None:
    """Autotune adds XGBoost's tunable hyperparameters (the guide's recommended ranges) except the ones given
    as ranges or static values, and Describe shows the ranges it ran with. The children use the first of
    the InstanceConfigs (AllocationStrategy Prioritized)."""
    name = unique("tf-auto")
    given = {"IntegerParameterRanges": [], "CategoricalParameterRanges": [],
             "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.2", "MaxValue": "0.3", "ScalingType": "Linear"}]}
    resources = {"InstanceConfigs": [{"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 7},
                                     {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5}],
                 "AllocationStrategy": "Prioritized"}
    job_definition = definition(data, static={"num_round": "5", "objective": "reg:squarederror"})
    del job_definition["ResourceConfig"]
    job_definition["HyperParameterTuningResourceConfig"] = resources
    job = run(aws, name, config("Random", 2, 2, given, RandomSeed=3), job_definition, Autotune={"Mode": "Enabled"})
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["Autotune"] == {"Mode": "Enabled"}
    ranges = job["HyperParameterTuningJobConfig"]["ParameterRanges"]
    names = {kind: {r["Name"] for r in items} for kind, items in ranges.items()}
    assert names["ContinuousParameterRanges"] == {
        "eta", "alpha", "colsample_bylevel", "colsample_bynode", "colsample_bytree", "gamma", "lambda", "max_delta_step",
        "min_child_weight", "subsample",
    }
    assert names["IntegerParameterRanges"] == {"max_depth"}  # num_round is static here, so not tuned
    assert given["ContinuousParameterRanges"][0] in ranges["ContinuousParameterRanges"]  # what was given is kept as given
    assert {"Name": "max_depth", "MinValue": "0", "MaxValue": "10", "ScalingType": "Auto"} in ranges["IntegerParameterRanges"]
    for summary in children(aws, name):
        tuned = summary["TunedHyperParameters"]
        assert set(tuned) == names["ContinuousParameterRanges"] | names["IntegerParameterRanges"]
        assert 0.5 <= float(tuned["subsample"]) <= 1 and 0 <= int(tuned["max_depth"]) <= 10
        child = aws.sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        assert child["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
        assert child["ResourceConfig"]["VolumeSizeInGB"] == 7
        assert child["HyperParameters"]["num_round"] == "5"
    assert job["TrainingJobDefinition"]["HyperParameterTuningResourceConfig"] == resources


def _without_resources(d: dict[str, Any]) -> None:
    del d["ResourceConfig"]


def _both_resources(d: dict[str, Any]) -> None:
    d["HyperParameterTuningResourceConfig"] = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5}


def _configs_and_type(d: dict[str, Any]) -> None:
    del d["ResourceConfig"]
    d["HyperParameterTuningResourceConfig"] = {
        "InstanceType": "ml.m5.large", "InstanceConfigs": [{"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5}]
    }


def _allocation_without_configs(d: dict[str, Any]) -> None:
    del d["ResourceConfig"]
    d["HyperParameterTuningResourceConfig"] = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "AllocationStrategy": "Prioritized"}


def _repeated_instance_type(d: dict[str, Any]) -> None:
    del d["ResourceConfig"]
    item = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5}
    d["HyperParameterTuningResourceConfig"] = {"InstanceConfigs": [item, dict(item, InstanceCount=2)]}


def _no_instance_type(d: dict[str, Any]) -> None:
    del d["ResourceConfig"]
    d["HyperParameterTuningResourceConfig"] = {"InstanceCount": 1, "VolumeSizeInGB": 5}


BAD_RESOURCES: dict[str, tuple[Callable[[dict[str, Any]], None], list[str]]] = {
    "neither": (_without_resources, ["either ResourceConfig or HyperParameterTuningResourceConfig"]),
    "both": (_both_resources, ["both ResourceConfig and HyperParameterTuningResourceConfig"]),
    "InstanceConfigs with InstanceType": (_configs_and_type, ["InstanceConfigs", "InstanceType"]),
    "AllocationStrategy alone": (_allocation_without_configs, ["AllocationStrategy", "InstanceConfigs"]),
    "instance type twice": (_repeated_instance_type, ["ml.m5.large", "more than once"]),
    "no instance type": (_no_instance_type, ["InstanceType"]),
}


@pytest.mark.parametrize("case", list(BAD_RESOURCES))
def test_bad_resource_config_is_refused(aws: Clients, data: dict[str, str], case: str) -> None:
    change, words = BAD_RESOURCES[case]
    job_definition = definition(data)
    change(job_definition)
    assert_refused(aws, unique("tf-res"), words, HyperParameterTuningJobConfig=config("Random", 1, 1), TrainingJobDefinition=job_definition)


# ----------------------------------------------------------------------------- RandomSeed


@pytest.mark.parametrize("strategy, jobs", [("Random", 3), ("Bayesian", 4)])
def test_same_random_seed_same_suggestions(aws: Clients, data: dict[str, str], strategy: str, jobs: int) -> None:
    """Two jobs with one RandomSeed propose the same hyperparameters in the same order (one child at a time,
    so the Bayesian model sees the same results); another seed proposes others."""
    token = unique("tf-seed")
    sequences = {}
    for suffix, seed in (("a", 1234), ("b", 1234), ("c", 99)):
        job = run(aws, f"{token}-{suffix}", config(strategy, jobs, 1, RandomSeed=seed), definition(data))
        assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
        assert job["HyperParameterTuningJobConfig"]["RandomSeed"] == seed
        sequences[suffix] = [s["TunedHyperParameters"] for s in children(aws, f"{token}-{suffix}")]
        assert len(sequences[suffix]) == jobs
    assert sequences["a"] == sequences["b"]
    assert sequences["a"] != sequences["c"]


# ----------------------------------------------------------------------------- early stopping and Hyperband


LONG = {"num_round": "1000", "objective": "reg:squarederror"}


def test_early_stopping_auto_stops_a_child_worse_than_the_median(aws: Clients, data: dict[str, str]) -> None:
    """The median rule: a child whose objective at an epoch is worse than the median of the completed children's
    running averages up to that epoch is stopped. Grid over eta, one child at a time; RandomSeed 5 orders the
    grid so the three good rates run first and the hopeless one (eta 0.00001) last."""
    name = unique("tf-auto-es")
    ranges = {"IntegerParameterRanges": [], "ContinuousParameterRanges": [],
              "CategoricalParameterRanges": [{"Name": "eta", "Values": ["0.3", "0.29", "0.31", "0.00001"]}]}
    job = run(aws, name, config("Grid", 4, 1, ranges, TrainingJobEarlyStoppingType="Auto", RandomSeed=5), definition(data, static=LONG))
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] == "Auto"
    found = children(aws, name)
    assert [s["TunedHyperParameters"]["eta"] for s in found][-1] == "0.00001"
    assert [s["TrainingJobStatus"] for s in found] == ["Completed", "Completed", "Completed", "Stopped"]
    assert job["TrainingJobStatusCounters"] == {"Completed": 3, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 1}
    stopped = found[-1]
    # stopped early, with the objective it had reached, worse than every completed child's
    assert stopped["ObjectiveStatus"] == "Succeeded"
    assert objective_of(stopped) > max(objective_of(s) for s in found[:3])
    assert job["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 0}
    assert job["BestTrainingJob"]["TrainingJobStatus"] == "Completed"


def test_early_stopping_off_runs_every_child_to_the_end(aws: Clients, data: dict[str, str]) -> None:
    name = unique("tf-off-es")
    ranges = {"IntegerParameterRanges": [], "ContinuousParameterRanges": [],
              "CategoricalParameterRanges": [{"Name": "eta", "Values": ["0.3", "0.00001"]}]}
    job = run(aws, name, config("Grid", 2, 1, ranges, RandomSeed=5), definition(data, static={**LONG, "num_round": "200"}))
    assert job["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] == "Off"  # the documented default
    assert [s["TrainingJobStatus"] for s in children(aws, name)] == ["Completed", "Completed"]


def test_hyperband_stops_some_children_early(aws: Clients, data: dict[str, str]) -> None:
    name = unique("tf-hb")
    hyperband = {"HyperbandStrategyConfig": {"MinResource": 10, "MaxResource": 1000}}
    ranges = copy.deepcopy(RANGES)
    ranges["ContinuousParameterRanges"][0]["MinValue"] = "0.0005"
    job = run(aws, name, config("Hyperband", 6, 2, ranges, StrategyConfig=hyperband, RandomSeed=8), definition(data, static=LONG))
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["HyperParameterTuningJobConfig"]["Strategy"] == "Hyperband"
    assert job["HyperParameterTuningJobConfig"]["StrategyConfig"] == hyperband
    found = children(aws, name)
    assert len(found) == 6
    stopped = [s for s in found if s["TrainingJobStatus"] == "Stopped"]
    assert stopped, [(s["TrainingJobStatus"], s["TunedHyperParameters"]) for s in found]
    assert job["TrainingJobStatusCounters"]["Stopped"] == len(stopped)
    assert job["TrainingJobStatusCounters"]["Completed"] == 6 - len(stopped)
    for summary in stopped:
        assert summary["ObjectiveStatus"] == "Succeeded"  # a stopped child keeps the objective it reached
        child = aws.sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        assert child["SecondaryStatus"] == "Stopped"


BAD_HYPERBAND: dict[str, tuple[dict[str, Any], list[str]]] = {
    "early stopping Auto": (
        {"TrainingJobEarlyStoppingType": "Auto", "StrategyConfig": {"HyperbandStrategyConfig": {"MaxResource": 20}}},
        ["TrainingJobEarlyStoppingType", "Off", "Hyperband"],
    ),
    "no MaxResource to infer": ({}, ["MaxResource", "epochs", "num_epochs"]),
    "MinResource above MaxResource": (
        {"StrategyConfig": {"HyperbandStrategyConfig": {"MinResource": 30, "MaxResource": 20}}}, ["MinResource", "MaxResource"]
    ),
    "MaxResource above 20000": ({"StrategyConfig": {"HyperbandStrategyConfig": {"MaxResource": 20001}}}, ["20000"]),
}


@pytest.mark.parametrize("case", list(BAD_HYPERBAND))
def test_bad_hyperband_is_refused(aws: Clients, data: dict[str, str], case: str) -> None:
    changes, words = BAD_HYPERBAND[case]
    assert_refused(aws, unique("tf-badhb"), words, HyperParameterTuningJobConfig=config("Hyperband", 1, 1, **changes), TrainingJobDefinition=definition(data))


def test_strategy_config_without_hyperband_is_refused(aws: Clients, data: dict[str, str]) -> None:
    hp = config("Bayesian", 1, 1, StrategyConfig={"HyperbandStrategyConfig": {"MaxResource": 20}})
    assert_refused(aws, unique("tf-badsc"), ["StrategyConfig", "Hyperband"], HyperParameterTuningJobConfig=hp, TrainingJobDefinition=definition(data))


def test_hyperband_infers_max_resource_from_static_epochs(aws: Clients, data: dict[str, str]) -> None:
    """MaxResource left out: read from a static ``epochs`` (k-means has one); the job is accepted."""
    from helpers import KMEANS_IMAGE

    name = unique("tf-hb-epochs")
    kmeans = definition(data, static={"k": "2", "feature_dim": "6", "epochs": "2"})
    kmeans["AlgorithmSpecification"]["TrainingImage"] = KMEANS_IMAGE
    for source in kmeans["InputDataConfig"]:
        source["ChannelName"] = "train" if source["ChannelName"] == "train" else "test"
    ranges = {"IntegerParameterRanges": [{"Name": "mini_batch_size", "MinValue": "50", "MaxValue": "100", "ScalingType": "Auto"}],
              "ContinuousParameterRanges": [], "CategoricalParameterRanges": []}
    hp = tuning_config("Hyperband", "test:msd", ranges, 1, 1)
    aws.sagemaker.create_hyper_parameter_tuning_job(HyperParameterTuningJobName=name, HyperParameterTuningJobConfig=hp, TrainingJobDefinition=kmeans)
    job = wait_tuning(aws, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["HyperParameterTuningJobConfig"]["Strategy"] == "Hyperband"
    assert "StrategyConfig" not in job["HyperParameterTuningJobConfig"]


# ----------------------------------------------------------------------------- what Describe fills in


def test_describe_fills_what_sagemaker_fills(aws: Clients, parent: dict[str, Any]) -> None:
    job = aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=parent["HyperParameterTuningJobName"])
    hp = job["HyperParameterTuningJobConfig"]
    assert hp["TrainingJobEarlyStoppingType"] == "Off"
    assert hp["RandomSeed"] == 11
    assert hp["ParameterRanges"]["CategoricalParameterRanges"] == []
    definition_doc = job["TrainingJobDefinition"]
    assert definition_doc["StaticHyperParameters"] == {**STATIC, "_tuning_objective_metric": OBJECTIVE}
    assert definition_doc["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert definition_doc["EnableNetworkIsolation"] is False
    assert definition_doc["EnableInterContainerTrafficEncryption"] is False
    assert definition_doc["EnableManagedSpotTraining"] is False
    assert definition_doc["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert {m["Name"] for m in definition_doc["AlgorithmSpecification"]["MetricDefinitions"]} >= {OBJECTIVE, "validation:mae"}
    assert job["TrainingJobStatusCounters"]["Completed"] == 3
    assert job["ObjectiveStatusCounters"] == {"Succeeded": 3, "Pending": 0, "Failed": 0}
    values = [objective_of(s) for s in children(aws, job["HyperParameterTuningJobName"])]
    assert objective_of(job["BestTrainingJob"]) == min(values)
    # how many children since the best one did not improve on it
    best_index = [objective_of(s) for s in children(aws, job["HyperParameterTuningJobName"])].index(min(values))
    assert job["TuningJobCompletionDetails"] == {"NumberOfTrainingJobsObjectiveNotImproving": len(values) - 1 - best_index}
    assert job["ConsumedResources"]["RuntimeInSeconds"] >= 0
    assert job["CreationTime"] <= job["HyperParameterTuningEndTime"] <= job["LastModifiedTime"]
    assert "WarmStartConfig" not in job and "Autotune" not in job and "FailureReason" not in job


# ----------------------------------------------------------------------------- after a restart


def test_early_stops_and_warm_start_survive_a_restart(tmp_path: Any) -> None:
    """An engine of its own: a job whose last child was stopped early, and a warm start job from it; after
    ``local stop`` / ``local start`` on the same data dir both Describe exactly as before (the stopped child still
    carries its objective, the warm start its parent and overall best)."""
    import boto3

    from helpers import ResponseChecker, free_port
    from sm_magics import launcher

    data_dir, port = tmp_path / "engine", free_port()
    checker = ResponseChecker()

    def start() -> Clients:
        info = launcher.start(port=port, data_dir=data_dir)
        session = boto3.Session(**info.credentials.as_boto3(), region_name="us-east-1")
        session.events.register("after-call.sagemaker", checker)
        return Clients(session, info.url)

    try:
        aws = start()
        ensure_bucket(aws)
        rng = np.random.default_rng(3)
        x = rng.normal(size=(300, 5))
        y = x @ np.array([1.0, -1.0, 0.5, 0.0, 2.0]) + rng.normal(scale=0.3, size=300)
        own = {"train": put(aws, "restart/train/part.csv", csv_rows(x[:200], y[:200])).rsplit("/", 1)[0],
               "validation": put(aws, "restart/validation/part.csv", csv_rows(x[200:], y[200:])).rsplit("/", 1)[0]}
        ranges = {"IntegerParameterRanges": [], "ContinuousParameterRanges": [],
                  "CategoricalParameterRanges": [{"Name": "eta", "Values": ["0.3", "0.29", "0.31", "0.00001"]}]}
        first = run(aws, "restart-es", config("Grid", 4, 1, ranges, TrainingJobEarlyStoppingType="Auto", RandomSeed=5),
                    definition(own, static=LONG))
        assert first["TrainingJobStatusCounters"]["Stopped"] == 1
        second = run(aws, "restart-warm", config("Grid", 2, 1, ranges, RandomSeed=6), definition(own, static=STATIC),
                     WarmStartConfig=_warm_from(["restart-es"]))
        assert second["HyperParameterTuningJobStatus"] == "Completed", second.get("FailureReason")
        before = {n: (aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=n), children(aws, n))
                  for n in ("restart-es", "restart-warm")}
        launcher.stop(data_dir)
        aws = start()
        for name, (job, listed) in before.items():
            again = aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
            job.pop("ResponseMetadata"), again.pop("ResponseMetadata")
            assert again == job
            assert children(aws, name) == listed
        assert [s["ObjectiveStatus"] for s in before["restart-es"][1]] == ["Succeeded"] * 4
        assert "OverallBestTrainingJob" in before["restart-warm"][0]
    finally:
        launcher.stop(data_dir)
    assert not checker.problems, "\n".join(checker.problems)


def test_missing_max_number_of_training_jobs_and_empty_ranges_are_refused(aws: Clients, data: dict[str, str]) -> None:
    """Without MaxNumberOfTrainingJobs the local engine would have no end (it has no completion criteria);
    without any range (and no Autotune) there is nothing to tune."""
    unbounded = config("Random", 1, 1)
    del unbounded["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    assert_refused(aws, unique("tf-nomax"), ["MaxNumberOfTrainingJobs"], HyperParameterTuningJobConfig=unbounded, TrainingJobDefinition=definition(data))
    empty = config("Random", 1, 1, {"IntegerParameterRanges": [], "ContinuousParameterRanges": [], "CategoricalParameterRanges": []})
    assert_refused(aws, unique("tf-noranges"), ["at least one hyperparameter range", "Autotune"],
                   HyperParameterTuningJobConfig=empty, TrainingJobDefinition=definition(data))



def test_the_same_request_explores_the_same_way_without_a_random_seed(aws: Clients, data: dict[str, str]) -> None:
    """Without RandomSeed, two jobs that differ only by their names propose the same hyperparameters: the search is
    seeded by what is asked, so a tutorial's tuning (and its lesson) can be repeated."""
    token = unique("tf-same")
    sequences = []
    for suffix in ("a", "b"):
        job = run(aws, f"{token}-{suffix}", config("Random", 3, 1), definition(data))
        assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
        assert "RandomSeed" not in job["HyperParameterTuningJobConfig"]
        sequences.append([s["TunedHyperParameters"] for s in children(aws, f"{token}-{suffix}")])
    assert len(sequences[0]) == 3 and sequences[0] == sequences[1]
