"""Hyperparameter tuning jobs: real child training jobs proposed by optuna, run a few at a time.

Bayesian search is optuna's TPE sampler, Random its random sampler and Grid its
grid sampler over categorical ranges: the well-kept library does the
optimisation; this module only translates SageMaker's ranges and scaling
types, launches the children (``<tuning-job>-NNN-<8 hex>``, with
``_tuning_objective_metric`` injected as the service does), honours
MaxNumberOfTrainingJobs / MaxParallelTrainingJobs, and reads each child's
objective from the metrics its algorithm emitted.

Around that core, what CreateHyperParameterTuningJob documents:
WarmStartConfig (parents' finished children seed the study, OverallBestTrainingJob
compares across them), Autotune (ranges from the algorithm's table in
``sm_magics.algorithms.tuning_ranges``), HyperParameterTuningResourceConfig with
InstanceConfigs, RandomSeed (the samplers' seed), early stopping ``Auto``
(the median rule over running averages, checked while children run) and the
Hyperband strategy (optuna's HyperbandPruner over the objective reported
epoch by epoch, between MinResource and MaxResource).
"""

from __future__ import annotations

import copy
import json
import math
import statistics
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import settings
from ...algorithms import KNOWN, parse_image, spec_for
from ...algorithms.range_rules import KINDS, RangeError, check_range, schema_of
from ...algorithms.tuning_ranges import autotune_ranges
from .paging import decode_token, encode_token, paginate
from .records import failure_reason, utcnow
from .exceptions import ResourceInUse, ResourceNotFound, ValidationException

if TYPE_CHECKING:
    from .ports import RegionState
    from .records import TrainingJob


# warm start parents must have finished (the guide: "a terminal state")
PARENT_STATUSES = ("Completed", "Stopped", "Failed")
# the static hyperparameters Hyperband reads MaxResource from, in HyperbandStrategyConfig's order
EPOCH_KEYS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")
HYPERBAND_MAX_RESOURCE = 20000
# the median rule needs a few completed children before it compares against their median (engine's choice)
MEDIAN_RULE_MIN_JOBS = 3
# Autotune's MaxNumberOfTrainingJobs when the request sets none (engine's choice: small, as runs are local)
AUTOTUNE_MAX_JOBS = 10
# a child's volume when HyperParameterTuningResourceConfig gives none (what the SDK's estimator defaults to)
DEFAULT_VOLUME_GB = 30
# how often the driver looks at its running children (their epochs, for early stopping)
POLL_SECONDS = 0.05


@dataclass
class TuningJob:
    doc: dict[str, Any]
    children: list[str] = field(default_factory=list)
    # children the tuner itself stopped (early stopping Auto, Hyperband): their last objective counts
    early_stopped: set[str] = field(default_factory=set)
    # (min, max) resource of a Hyperband job, MaxResource possibly inferred from the static epochs
    hyperband: tuple[int, int] | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


def _ranges_with_defaults(ranges: dict[str, Any] | None) -> dict[str, Any]:
    ranges = copy.deepcopy(ranges or {})
    for kind in ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges"):
        ranges.setdefault(kind, [])
    for item in ranges["IntegerParameterRanges"] + ranges["ContinuousParameterRanges"]:
        item.setdefault("ScalingType", "Auto")
    return ranges


def validate_ranges(ranges: dict[str, Any]) -> None:
    names: list[str] = []
    for kind, parse in (("IntegerParameterRanges", int), ("ContinuousParameterRanges", float)):
        for item in ranges[kind]:
            names.append(item["Name"])
            try:
                low, high = parse(item["MinValue"]), parse(item["MaxValue"])
            except ValueError:
                raise ValidationException(
                    f"The {kind[:-6]} range of hyperparameter '{item['Name']}' needs numeric MinValue and MaxValue"
                ) from None
            if low > high:
                raise ValidationException(f"MinValue must be less than or equal to MaxValue for hyperparameter '{item['Name']}'")
            scaling = item["ScalingType"]
            if scaling == "Logarithmic" and low <= 0:
                raise ValidationException(
                    f"Hyperparameter '{item['Name']}' uses Logarithmic scaling, which needs MinValue greater than 0"
                )
            if scaling == "ReverseLogarithmic" and (kind.startswith("Integer") or not (0 <= low and high < 1)):
                raise ValidationException(
                    f"Hyperparameter '{item['Name']}' uses ReverseLogarithmic scaling, which needs a continuous range within [0, 1)"
                )
    for item in ranges["CategoricalParameterRanges"]:
        names.append(item["Name"])
        if not item.get("Values"):
            raise ValidationException(f"The categorical range of hyperparameter '{item['Name']}' needs at least one value")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValidationException(f"Hyperparameter(s) {', '.join(duplicates)} appear in more than one parameter range")


def _suggest(trial: Any, ranges: dict[str, Any]) -> dict[str, str]:
    """One proposal in SageMaker's string form, from an optuna trial."""
    values: dict[str, str] = {}
    for item in ranges["IntegerParameterRanges"]:
        low, high = int(item["MinValue"]), int(item["MaxValue"])
        log = item["ScalingType"] == "Logarithmic" and low > 0
        values[item["Name"]] = str(trial.suggest_int(item["Name"], low, high, log=log))
    for item in ranges["ContinuousParameterRanges"]:
        low, high = float(item["MinValue"]), float(item["MaxValue"])
        scaling = item["ScalingType"]
        if scaling == "ReverseLogarithmic":
            # uniform in log(1 - x): dense near the top of the range, as SageMaker's reverse-log scaling is
            u = trial.suggest_float(f"{item['Name']}__reverse_log", math.log(1 - high), math.log(1 - low))
            values[item["Name"]] = repr(1 - math.exp(u))
        else:
            values[item["Name"]] = repr(trial.suggest_float(item["Name"], low, high, log=scaling == "Logarithmic" and low > 0))
    for item in ranges["CategoricalParameterRanges"]:
        values[item["Name"]] = str(trial.suggest_categorical(item["Name"], list(item["Values"])))
    return values


def _request_seed(doc: dict[str, Any]) -> int:
    """Without a RandomSeed, the search is seeded by what the job asks (ranges, objective, strategy, limits,
    static hyperparameters), not by its name: the same tuning request explores the same way, so a
    tutorial's tuning lesson (and a test of it) can be repeated, as the children's training already can."""
    definition = doc.get("TrainingJobDefinition") or {}
    asked = {"config": {k: v for k, v in doc["HyperParameterTuningJobConfig"].items() if k != "RandomSeed"},
             "static": definition.get("StaticHyperParameters") or {}}
    return zlib.crc32(json.dumps(asked, sort_keys=True, default=str).encode())


def _study(strategy: str, ranges: dict[str, Any], seed: int, hyperband: tuple[int, int] | None = None) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner: Any = None
    if strategy == "Random":
        sampler: Any = optuna.samplers.RandomSampler(seed=seed)
    elif strategy == "Grid":
        space = {item["Name"]: list(item["Values"]) for item in ranges["CategoricalParameterRanges"]}
        sampler = optuna.samplers.GridSampler(space, seed=seed)
    else:  # Bayesian, and Hyperband's search
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=3)
    if hyperband is not None:
        pruner = optuna.pruners.HyperbandPruner(min_resource=hyperband[0], max_resource=hyperband[1], reduction_factor=3)
    return optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)


def _tell(study: Any, trial: Any, value: float | None = None, **state: Any) -> None:
    """study.tell, where Grid's sampler ending the study once every combination ran is not an error here."""
    try:
        study.tell(trial, value, **state)
    except RuntimeError as exc:  # GridSampler calls study.stop(), which optuna allows only inside optimize()
        if "Study.stop" not in str(exc):
            raise


def _distributions(ranges: dict[str, Any]) -> dict[str, Any]:
    """The optuna distributions ``_suggest`` draws from, by optuna parameter name."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    found: dict[str, Any] = {}
    for item in ranges["IntegerParameterRanges"]:
        low, high = int(item["MinValue"]), int(item["MaxValue"])
        found[item["Name"]] = IntDistribution(low, high, log=item["ScalingType"] == "Logarithmic" and low > 0)
    for item in ranges["ContinuousParameterRanges"]:
        low, high = float(item["MinValue"]), float(item["MaxValue"])
        if item["ScalingType"] == "ReverseLogarithmic":
            found[f"{item['Name']}__reverse_log"] = FloatDistribution(math.log(1 - high), math.log(1 - low))
        else:
            found[item["Name"]] = FloatDistribution(low, high, log=item["ScalingType"] == "Logarithmic" and low > 0)
    for item in ranges["CategoricalParameterRanges"]:
        found[item["Name"]] = CategoricalDistribution(list(item["Values"]))
    return found


def _seed_params(ranges: dict[str, Any], hyperparameters: dict[str, str]) -> dict[str, Any] | None:
    """A parent's child as optuna parameters of the new ranges; None where a value is missing or outside them."""
    params: dict[str, Any] = {}
    try:
        for item in ranges["IntegerParameterRanges"]:
            value = int(float(hyperparameters[item["Name"]]))
            if not int(item["MinValue"]) <= value <= int(item["MaxValue"]):
                return None
            params[item["Name"]] = value
        for item in ranges["ContinuousParameterRanges"]:
            value = float(hyperparameters[item["Name"]])
            if not float(item["MinValue"]) <= value <= float(item["MaxValue"]):
                return None
            if item["ScalingType"] == "ReverseLogarithmic":
                params[f"{item['Name']}__reverse_log"] = math.log(1 - value)
            else:
                params[item["Name"]] = value
        for item in ranges["CategoricalParameterRanges"]:
            value = hyperparameters[item["Name"]]
            if value not in item["Values"]:
                return None
            params[item["Name"]] = value
    except (KeyError, ValueError):
        return None
    return params


def validate_against_algorithm(algorithm: str, version: str, ranges: dict[str, Any], static: dict[str, str]) -> None:
    """Each range against the algorithm's hyperparameter schema, before any child is started.

    A range on a name the algorithm does not have, of the wrong type, or reaching a value the
    container refuses would fail every child that draws that value; the service refuses such a
    request instead, and so does the engine (rules: ``sm_magics.algorithms.range_rules``).
    """
    tuned = set(_range_kinds(ranges))
    both = sorted(tuned & set(static))
    if both:
        raise ValidationException(
            f"Hyperparameter(s) {', '.join(both)} are given both as static hyperparameters and as parameter ranges; "
            "remove them from StaticHyperParameters or from ParameterRanges"
        )
    schema = schema_of(algorithm, version)
    for kind in KINDS:
        for item in ranges[f"{kind}ParameterRanges"]:
            try:
                check_range(schema, kind, item)
            except RangeError as exc:
                raise ValidationException(str(exc)) from None


def _range_kinds(ranges: dict[str, Any]) -> dict[str, str]:
    return {item["Name"]: kind[: -len("ParameterRanges")] for kind, items in ranges.items() for item in items}


def validate_resources(definition: dict[str, Any]) -> None:
    """ResourceConfig or HyperParameterTuningResourceConfig, and the latter's single or listed instances."""
    given = [key for key in ("ResourceConfig", "HyperParameterTuningResourceConfig") if key in definition]
    if len(given) == 2:
        raise ValidationException(
            "TrainingJobDefinition cannot have both ResourceConfig and HyperParameterTuningResourceConfig. Specify only one of them."
        )
    if not given:
        raise ValidationException(
            "TrainingJobDefinition must have either ResourceConfig or HyperParameterTuningResourceConfig."
        )
    config = definition.get("HyperParameterTuningResourceConfig")
    if config is None:
        return
    configs = config.get("InstanceConfigs")
    single = [key for key in ("InstanceType", "InstanceCount", "VolumeSizeInGB") if key in config]
    if configs and single:
        raise ValidationException(
            f"HyperParameterTuningResourceConfig cannot have both InstanceConfigs and {', '.join(single)}. "
            "Use InstanceConfigs for several instance configurations, or InstanceType, InstanceCount and VolumeSizeInGB for one."
        )
    if not configs:
        missing = [key for key in ("InstanceType", "InstanceCount") if key not in config]
        if missing:
            raise ValidationException(
                f"HyperParameterTuningResourceConfig needs {' and '.join(missing)} when it has no InstanceConfigs."
            )
        if "AllocationStrategy" in config:
            raise ValidationException(
                "HyperParameterTuningResourceConfig.AllocationStrategy applies to InstanceConfigs; give InstanceConfigs or remove AllocationStrategy."
            )
        return
    types = [item["InstanceType"] for item in configs]
    repeated = sorted({t for t in types if types.count(t) > 1})
    if repeated:
        raise ValidationException(
            f"HyperParameterTuningResourceConfig.InstanceConfigs lists instance type {', '.join(repeated)} more than once. "
            "Each instance type can appear only once."
        )


def hyperband_resources(config: dict[str, Any], static: dict[str, str]) -> tuple[int, int] | None:
    """(MinResource, MaxResource) of a Hyperband job, as HyperbandStrategyConfig documents them; None for other strategies."""
    strategy_config = config.get("StrategyConfig")
    if config["Strategy"] != "Hyperband":
        if strategy_config:
            raise ValidationException("StrategyConfig can be provided only when the tuning strategy is Hyperband.")
        return None
    if config["TrainingJobEarlyStoppingType"] != "Off":
        raise ValidationException(
            "TrainingJobEarlyStoppingType must be Off when the tuning strategy is Hyperband: Hyperband has its own early stopping."
        )
    hyperband = (strategy_config or {}).get("HyperbandStrategyConfig") or {}
    high = hyperband.get("MaxResource")
    if high is None:
        for key in EPOCH_KEYS:
            if key in static:
                try:
                    high = int(static[key])
                except ValueError:
                    raise ValidationException(f"Static hyperparameter {key} must be an integer for Hyperband to use it as MaxResource.") from None
                break
    if high is None:
        raise ValidationException(
            "Hyperband could not infer MaxResource. Provide HyperbandStrategyConfig.MaxResource, or one of the static "
            f"hyperparameters {', '.join(EPOCH_KEYS)}."
        )
    if high > HYPERBAND_MAX_RESOURCE:
        raise ValidationException(f"MaxResource must be less than or equal to {HYPERBAND_MAX_RESOURCE}.")
    low = hyperband.get("MinResource", 1)
    if low > high:
        raise ValidationException(f"MinResource ({low}) must be less than or equal to MaxResource ({high}).")
    return low, high


def _data_of(definition: dict[str, Any]) -> list[tuple[str, str]]:
    """The channels of a TrainingJobDefinition as (name, S3 URI), for IdenticalDataAndAlgorithm."""
    return sorted(
        (c["ChannelName"], c.get("DataSource", {}).get("S3DataSource", {}).get("S3Uri", ""))
        for c in definition.get("InputDataConfig") or []
    )


class TuningService:
    """CreateHyperParameterTuningJob and friends, on top of a region's training jobs."""

    def __init__(self, backend: "RegionState") -> None:
        self.backend = backend
        self.jobs: dict[str, TuningJob] = {}

    def create(self, request: dict[str, Any]) -> dict[str, Any]:
        backend = self.backend
        name = request["HyperParameterTuningJobName"]
        arn = backend.arn("hyper-parameter-tuning-job", name)
        config = copy.deepcopy(request["HyperParameterTuningJobConfig"])
        definition = copy.deepcopy(request.get("TrainingJobDefinition") or {})
        if not definition:
            raise ValidationException("TrainingJobDefinition is required; the local engine does not run TrainingJobDefinitions lists")
        image = definition.get("AlgorithmSpecification", {}).get("TrainingImage", "")
        parsed = parse_image(image)
        if parsed is None:
            raise ValidationException(
                f"The local engine cannot run image '{image}'. It runs SageMaker's built-in algorithms ({', '.join(KNOWN)})."
            )
        static = dict(definition.get("StaticHyperParameters") or {})
        config["ParameterRanges"] = _ranges_with_defaults(config.get("ParameterRanges"))
        # the request's own ranges (Autotune's come from the algorithm's table)
        validate_against_algorithm(parsed[0], parsed[1], config["ParameterRanges"], static)
        autotune = request.get("Autotune")
        if autotune and autotune.get("Mode") == "Enabled":
            # Autotune: what the request left unset, the engine chooses (and Describe shows the choice)
            taken = set(_range_kinds(config["ParameterRanges"])) | set(static)
            for kind, items in autotune_ranges(parsed[0], taken).items():
                config["ParameterRanges"][kind].extend(items)
            limits = config.setdefault("ResourceLimits", {})
            limits.setdefault("MaxNumberOfTrainingJobs", AUTOTUNE_MAX_JOBS)
        config.setdefault("TrainingJobEarlyStoppingType", "Off")
        config.setdefault("Strategy", "Bayesian")
        validate_ranges(config["ParameterRanges"])
        if not any(config["ParameterRanges"].values()):
            raise ValidationException("The tuning job needs at least one hyperparameter range to search (or Autotune enabled).")
        if config["Strategy"] == "Grid" and (config["ParameterRanges"]["IntegerParameterRanges"] or config["ParameterRanges"]["ContinuousParameterRanges"]):
            raise ValidationException("The Grid strategy needs categorical parameter ranges only")
        metrics = [m["Name"] for m in spec_for(*parsed).metric_definitions]
        objective = config.get("HyperParameterTuningJobObjective") or {}
        if objective.get("MetricName") not in metrics:
            raise ValidationException(
                f"The objective metric '{objective.get('MetricName')}' is not emitted by {parsed[0]}; "
                f"choose one of: {', '.join(metrics)}"
            )
        limits = config["ResourceLimits"]
        if "MaxNumberOfTrainingJobs" not in limits:
            raise ValidationException(
                "ResourceLimits.MaxNumberOfTrainingJobs is required by the local engine (it does not stop on MaxRuntimeInSeconds "
                "or completion criteria alone)."
            )
        if limits["MaxParallelTrainingJobs"] > limits["MaxNumberOfTrainingJobs"]:
            raise ValidationException("MaxParallelTrainingJobs must be less than or equal to MaxNumberOfTrainingJobs")
        validate_resources(definition)
        hyperband = hyperband_resources(config, static)
        static["_tuning_objective_metric"] = objective["MetricName"]
        definition["StaticHyperParameters"] = static
        spec = definition.setdefault("AlgorithmSpecification", {})
        spec.setdefault("TrainingInputMode", "File")
        spec.setdefault("MetricDefinitions", [dict(m) for m in spec_for(*parsed).metric_definitions])
        definition.setdefault("StoppingCondition", {"MaxRuntimeInSeconds": 86400})
        for flag in ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining"):
            definition.setdefault(flag, False)
        now = utcnow()
        doc: dict[str, Any] = {
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobArn": arn,
            "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": definition,
            "HyperParameterTuningJobStatus": "InProgress",
            "CreationTime": now,
            "LastModifiedTime": now,
            "TrainingJobStatusCounters": {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0},
            "ObjectiveStatusCounters": {"Succeeded": 0, "Pending": 0, "Failed": 0},
        }
        warm = request.get("WarmStartConfig")
        if warm:
            doc["WarmStartConfig"] = copy.deepcopy(warm)
        if autotune:
            doc["Autotune"] = copy.deepcopy(autotune)
        job = TuningJob(doc, hyperband=hyperband)
        with backend.changing(("tuning-job", name), ("tags", arn)):
            if name in self.jobs:
                raise ResourceInUse(f"Hyperparameter tuning job names must be unique within an AWS account and region ({arn})")
            if warm:
                self._check_parents(doc, warm)
            self.jobs[name] = job
            backend.set_tags(arn, request.get("Tags") or [])
        threading.Thread(target=self._drive, args=(job,), daemon=True, name=f"tune {name}").start()
        job.done.wait(settings.SYNC_SECONDS)
        return {"HyperParameterTuningJobArn": arn}

    def _check_parents(self, doc: dict[str, Any], warm: dict[str, Any]) -> None:
        """What the warm start guide requires of parents (called under the backend lock, before anything is created)."""
        config, definition = doc["HyperParameterTuningJobConfig"], doc["TrainingJobDefinition"]
        names = [p["HyperParameterTuningJobName"] for p in warm["ParentHyperParameterTuningJobs"]]
        if len(set(names)) != len(names):
            raise ValidationException("ParentHyperParameterTuningJobs lists the same tuning job more than once.")
        kinds = _range_kinds(config["ParameterRanges"])
        count = len(set(kinds) | (set(definition["StaticHyperParameters"]) - {"_tuning_objective_metric"}))
        for parent_name in names:
            parent = self.jobs.get(parent_name)
            if parent is None:
                raise ValidationException(f"Parent hyperparameter tuning job {parent_name} does not exist.")
            status = parent.doc["HyperParameterTuningJobStatus"]
            if status not in PARENT_STATUSES:
                raise ValidationException(
                    f"Parent hyperparameter tuning job {parent_name} is in status {status}. "
                    "Warm start parents must be in a terminal state: Completed, Stopped or Failed."
                )
            parent_config, parent_definition = parent.doc["HyperParameterTuningJobConfig"], parent.doc["TrainingJobDefinition"]
            if parent_config["HyperParameterTuningJobObjective"] != config["HyperParameterTuningJobObjective"]:
                raise ValidationException(
                    f"The objective metric of a warm start tuning job must be the same as its parent's: {parent_name} "
                    f"{parent_config['HyperParameterTuningJobObjective']['Type']}s "
                    f"{parent_config['HyperParameterTuningJobObjective']['MetricName']}."
                )
            parent_kinds = _range_kinds(parent_config["ParameterRanges"])
            changed = sorted(n for n in set(kinds) & set(parent_kinds) if kinds[n] != parent_kinds[n])
            if changed:
                raise ValidationException(
                    f"The type of hyperparameter(s) {', '.join(changed)} differs from parent tuning job {parent_name}; "
                    "a warm start tuning job cannot change whether a hyperparameter is Integer, Continuous or Categorical."
                )
            parent_count = len(set(parent_kinds) | (set(parent_definition["StaticHyperParameters"]) - {"_tuning_objective_metric"}))
            if parent_count != count:
                raise ValidationException(
                    f"The total number of static plus tunable hyperparameters ({count}) must remain the same as in parent "
                    f"tuning job {parent_name} ({parent_count})."
                )
            if warm["WarmStartType"] == "IdenticalDataAndAlgorithm":
                image = definition["AlgorithmSpecification"]["TrainingImage"]
                if parent_definition["AlgorithmSpecification"]["TrainingImage"] != image:
                    raise ValidationException(
                        f"WarmStartType IdenticalDataAndAlgorithm needs the training image of parent tuning job {parent_name} "
                        f"({parent_definition['AlgorithmSpecification']['TrainingImage']}); use TransferLearning for a different image."
                    )
                if _data_of(parent_definition) != _data_of(definition):
                    raise ValidationException(
                        f"WarmStartType IdenticalDataAndAlgorithm needs the same input data as parent tuning job {parent_name}; "
                        "use TransferLearning for different data."
                    )

    # ---------------------------------------------------------------- driver

    def _child_request(self, job: TuningJob, child: str, tuned: dict[str, str]) -> dict[str, Any]:
        definition = job.doc["TrainingJobDefinition"]
        resources = definition.get("ResourceConfig")
        if resources is None:
            tuning = definition["HyperParameterTuningResourceConfig"]
            # AllocationStrategy Prioritized: the first instance configuration is the one used
            first = (tuning.get("InstanceConfigs") or [tuning])[0]
            resources = {k: v for k, v in first.items() if k in ("InstanceType", "InstanceCount", "VolumeSizeInGB")}
            resources.setdefault("VolumeSizeInGB", DEFAULT_VOLUME_GB)
            if "VolumeKmsKeyId" in tuning:
                resources["VolumeKmsKeyId"] = tuning["VolumeKmsKeyId"]
        request = {
            "TrainingJobName": child,
            "AlgorithmSpecification": definition["AlgorithmSpecification"],
            "RoleArn": definition["RoleArn"],
            "InputDataConfig": definition.get("InputDataConfig", []),
            "OutputDataConfig": definition["OutputDataConfig"],
            "ResourceConfig": resources,
            "StoppingCondition": definition["StoppingCondition"],
            "HyperParameters": {**definition["StaticHyperParameters"], **tuned},
        }
        for optional in ("EnableManagedSpotTraining", "CheckpointConfig", "EnableNetworkIsolation", "VpcConfig",
                         "EnableInterContainerTrafficEncryption"):
            if optional in definition:
                request[optional] = definition[optional]
        return request

    def _seed(self, job: TuningJob, study: Any, sign: float) -> int:
        """Warm start: the parents' children with an objective value join the study as finished trials."""
        import optuna

        warm = job.doc.get("WarmStartConfig")
        if not warm:
            return 0
        ranges = job.doc["HyperParameterTuningJobConfig"]["ParameterRanges"]
        distributions = _distributions(ranges)
        seeded = 0
        with self.backend.lock:
            found = []
            for parent in warm["ParentHyperParameterTuningJobs"]:
                parent_job = self.jobs.get(parent["HyperParameterTuningJobName"])
                for child in parent_job.children if parent_job else []:
                    summary = self.child_summary(parent_job, child)
                    metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
                    if metric is not None:
                        found.append((self.backend.training_jobs[child].doc["HyperParameters"], metric["Value"]))
        for hyperparameters, value in found:
            params = _seed_params(ranges, hyperparameters)
            if params is None:
                continue
            study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=sign * value))
            seeded += 1
        return seeded

    def _drive(self, job: TuningJob) -> None:
        backend = self.backend
        config = job.doc["HyperParameterTuningJobConfig"]
        limits = config["ResourceLimits"]
        total, parallel = limits["MaxNumberOfTrainingJobs"], limits.get("MaxParallelTrainingJobs", 1)
        if config["Strategy"] == "Grid":  # each combination once: the grid's size bounds the number of children
            total = min(total, math.prod(len(r["Values"]) for r in config["ParameterRanges"]["CategoricalParameterRanges"]))
        objective = config["HyperParameterTuningJobObjective"]
        sign = 1.0 if objective["Type"] == "Maximize" else -1.0
        name = job.doc["HyperParameterTuningJobName"]
        failure = None
        try:
            import optuna

            seed = config.get("RandomSeed", _request_seed(job.doc))
            study = _study(config["Strategy"], config["ParameterRanges"], seed=seed, hyperband=job.hyperband)
            self._seed(job, study, sign)
            running: dict[str, tuple[Any, "TrainingJob"]] = {}
            reported: dict[str, int] = {}
            finished_curves: list[list[float]] = []  # objective per epoch of completed children, for the median rule
            launched = 0
            while not job.stop_requested.is_set():
                while launched < total and len(running) < parallel:
                    trial = study.ask()
                    tuned = _suggest(trial, config["ParameterRanges"])
                    launched += 1
                    child = f"{name}-{launched:03d}-{uuid.uuid4().hex[:8]}"
                    training = backend.start_training_job(self._child_request(job, child, tuned), tuning_job_arn=job.doc["HyperParameterTuningJobArn"])
                    running[child] = (trial, training)
                    reported[child] = 0
                    with backend.lock:
                        job.children.append(child)
                        self._count(job)
                        backend.save_quietly(("tuning-job", name))
                if not running:
                    break
                for child, (trial, training) in list(running.items()):
                    if not training.done.is_set():
                        self._maybe_stop_early(job, child, trial, training, reported, finished_curves, sign)
                finished = [c for c, (_, t) in running.items() if t.done.wait(POLL_SECONDS) or t.done.is_set()]
                for child in finished:
                    trial, training = running.pop(child)
                    value = training.metrics.get(objective["MetricName"])
                    if child in job.early_stopped:
                        _tell(study, trial, state=optuna.trial.TrialState.PRUNED)
                    elif training.status == "Completed" and value is not None:
                        _tell(study, trial, sign * value[0])
                        curve = list(training.history.get(objective["MetricName"], []))
                        if curve:
                            finished_curves.append(curve)
                    else:
                        _tell(study, trial, state=optuna.trial.TrialState.FAIL)
                    with backend.lock:
                        self._count(job)
            if job.stop_requested.is_set():
                for child, (_, training) in running.items():
                    if training.status == "InProgress":
                        try:
                            backend.stop_training_job(child)
                        except ValidationException:
                            pass
                for _, training in running.values():
                    training.done.wait(30)
        except Exception as exc:  # the driver itself broke: the tuning job fails, the engine keeps serving
            failure = f"InternalServerError: {type(exc).__name__}: {exc}"
        with backend.lock:
            self._count(job)
            counters = job.doc["TrainingJobStatusCounters"]
            doc = job.doc
            if failure:
                doc.update(HyperParameterTuningJobStatus="Failed", FailureReason=failure_reason(failure))
            elif job.stop_requested.is_set():
                doc["HyperParameterTuningJobStatus"] = "Stopped"
            elif counters["Completed"] == 0 and not job.early_stopped:
                doc.update(HyperParameterTuningJobStatus="Failed", FailureReason="All training jobs failed. Please check the training job logs.")
            else:
                doc["HyperParameterTuningJobStatus"] = "Completed"
            doc["HyperParameterTuningEndTime"] = doc["LastModifiedTime"] = utcnow()
            doc["ConsumedResources"] = {
                "RuntimeInSeconds": max(0, int(round((doc["HyperParameterTuningEndTime"] - doc["CreationTime"]).total_seconds())))
            }
            backend.save_quietly(("tuning-job", name))
        job.done.set()

    def _maybe_stop_early(
        self, job: TuningJob, child: str, trial: Any, training: "TrainingJob", reported: dict[str, int],
        finished_curves: list[list[float]], sign: float,
    ) -> None:
        """Hyperband's pruner, or the median rule of early stopping Auto, on the epochs a running child reported."""
        config = job.doc["HyperParameterTuningJobConfig"]
        metric = config["HyperParameterTuningJobObjective"]["MetricName"]
        with self.backend.lock:
            curve = list(training.history.get(metric, []))
        if len(curve) == reported[child]:
            return
        stop = False
        if job.hyperband is not None:
            low, high = job.hyperband
            for step in range(reported[child], len(curve)):
                trial.report(sign * curve[step], step + 1)
            epoch = len(curve)
            # "If MinResource has not been reached, the training job is not stopped by Hyperband";
            # "Once a job reaches the MaxResource value, it is stopped."
            stop = epoch >= high or (epoch >= low and trial.should_prune())
        elif config["TrainingJobEarlyStoppingType"] == "Auto":
            epoch = len(curve)
            # the running average of each earlier completed child up to this epoch, and their median
            averages = [sum(c[:epoch]) / epoch for c in finished_curves if len(c) >= epoch]
            if len(averages) >= MEDIAN_RULE_MIN_JOBS:
                median = statistics.median(averages)
                stop = sign * curve[-1] < sign * median  # worse: higher when minimizing, lower when maximizing
        reported[child] = len(curve)
        if stop and training.status == "InProgress":
            with self.backend.lock:
                job.early_stopped.add(child)
            try:
                self.backend.stop_training_job(child)
            except ValidationException:  # it finished meanwhile
                with self.backend.lock:
                    job.early_stopped.discard(child)

    def _count(self, job: TuningJob) -> None:
        """Recompute counters and the best job from the children (called under the backend lock)."""
        counters = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
        objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
        objective = job.doc["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
        maximize = objective["Type"] == "Maximize"

        def better(value: float, than: float | None) -> bool:
            return than is None or (value > than if maximize else value < than)

        best, best_value, not_improving = None, None, 0
        for child in job.children:
            summary = self.child_summary(job, child)
            status = summary["TrainingJobStatus"]
            counters[{"Failed": "NonRetryableError", "Stopping": "InProgress"}.get(status, status)] += 1
            objectives[summary["ObjectiveStatus"]] += 1
            metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
            if metric is not None:
                if better(metric["Value"], best_value):
                    best, best_value, not_improving = summary, metric["Value"], 0
                else:
                    not_improving += 1
        if (counters, objectives) != (job.doc["TrainingJobStatusCounters"], job.doc["ObjectiveStatusCounters"]):
            job.doc["LastModifiedTime"] = utcnow()  # a change, not a Describe, moves LastModifiedTime
        job.doc["TrainingJobStatusCounters"] = counters
        job.doc["ObjectiveStatusCounters"] = objectives
        if best is not None:
            job.doc["BestTrainingJob"] = best
            job.doc["TuningJobCompletionDetails"] = {"NumberOfTrainingJobsObjectiveNotImproving": not_improving}
        warm = job.doc.get("WarmStartConfig")
        if warm and warm["WarmStartType"] == "IdenticalDataAndAlgorithm":
            # the best of this job's children and of every parent's, "the overall best training job"; only
            # for IdenticalDataAndAlgorithm, as objective values on other data or another image do not compare
            overall, overall_value = best, best_value
            for parent in warm["ParentHyperParameterTuningJobs"]:
                parent_job = self.jobs.get(parent["HyperParameterTuningJobName"])
                for child in parent_job.children if parent_job else []:
                    if child not in self.backend.training_jobs:
                        continue
                    summary = self.child_summary(parent_job, child)
                    metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
                    if metric is not None and better(metric["Value"], overall_value):
                        overall, overall_value = summary, metric["Value"]
            if overall is not None:
                job.doc["OverallBestTrainingJob"] = overall

    def child_summary(self, job: TuningJob, child: str) -> dict[str, Any]:
        training = self.backend.training_jobs[child].doc
        objective = job.doc["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
        static = job.doc["TrainingJobDefinition"]["StaticHyperParameters"]
        tuned = {k: v for k, v in training["HyperParameters"].items() if k not in static or static[k] != v}
        summary = {
            "TrainingJobName": child,
            "TrainingJobArn": training["TrainingJobArn"],
            "TuningJobName": job.doc["HyperParameterTuningJobName"],
            "CreationTime": training["CreationTime"],
            "TrainingJobStatus": training["TrainingJobStatus"],
            "TunedHyperParameters": tuned,
        }
        for key in ("TrainingStartTime", "TrainingEndTime", "FailureReason"):
            if key in training:
                summary[key] = training[key]
        value = next((m["Value"] for m in training.get("FinalMetricDataList", []) if m["MetricName"] == objective["MetricName"]), None)
        status = training["TrainingJobStatus"]
        # a child the tuner stopped early keeps the objective it had reached when stopped
        if value is not None and (status == "Completed" or (status == "Stopped" and child in job.early_stopped)):
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {"Type": objective["Type"], "MetricName": objective["MetricName"], "Value": value}
            summary["ObjectiveStatus"] = "Succeeded"
        else:
            summary["ObjectiveStatus"] = "Pending" if status in ("InProgress", "Stopping") else "Failed"
        return summary

    # ------------------------------------------------------------- describe

    def _job(self, name: str) -> TuningJob:
        job = self.jobs.get(name)
        if job is None:
            raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job called {name}. Type another name.")
        return job

    def describe(self, name: str) -> dict[str, Any]:
        with self.backend.lock:
            job = self._job(name)
            self._count(job)
            return copy.deepcopy(job.doc)

    def stop(self, name: str) -> None:
        with self.backend.changing(("tuning-job", name)):
            job = self._job(name)
            if job.doc["HyperParameterTuningJobStatus"] != "InProgress":
                raise ValidationException(
                    f"The request was rejected because the tuning job is in status {job.doc['HyperParameterTuningJobStatus']}."
                )
            job.doc["HyperParameterTuningJobStatus"] = "Stopping"
        job.stop_requested.set()

    def list(self, request: dict[str, Any]) -> dict[str, Any]:

        with self.backend.lock:
            docs = [job.doc for job in self.jobs.values()]
            page, token = paginate(docs, request, "HyperParameterTuningJobName", "HyperParameterTuningJobStatus", default_sort=("Name", "Ascending"))
            keys = ("HyperParameterTuningJobName", "HyperParameterTuningJobArn", "HyperParameterTuningJobStatus", "CreationTime",
                    "HyperParameterTuningEndTime", "LastModifiedTime", "TrainingJobStatusCounters", "ObjectiveStatusCounters")
            summaries = [{k: d[k] for k in keys if k in d} for d in page]
            for summary, d in zip(summaries, page):
                summary["Strategy"] = d["HyperParameterTuningJobConfig"]["Strategy"]
                summary["ResourceLimits"] = d["HyperParameterTuningJobConfig"]["ResourceLimits"]
            return {"HyperParameterTuningJobSummaries": copy.deepcopy(summaries), "NextToken": token}

    def list_children(self, request: dict[str, Any]) -> dict[str, Any]:

        with self.backend.lock:
            job = self._job(request["HyperParameterTuningJobName"])
            summaries = [self.child_summary(job, child) for child in job.children]
        if request.get("StatusEquals"):
            summaries = [s for s in summaries if s["TrainingJobStatus"] == request["StatusEquals"]]
        sort_by = request.get("SortBy", "Name")
        if sort_by == "FinalObjectiveMetricValue":
            # as the API documents: jobs without an objective value are left out of this ordering
            maximize = job.doc["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["Type"] == "Maximize"
            summaries = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
            summaries.sort(key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], reverse=maximize)
            if request.get("SortOrder") == ("Ascending" if maximize else "Descending"):
                summaries.reverse()
        else:
            key = {"Name": lambda s: s["TrainingJobName"], "Status": lambda s: s["TrainingJobStatus"]}.get(sort_by, lambda s: s["CreationTime"])
            summaries.sort(key=key, reverse=request.get("SortOrder", "Ascending") == "Descending")
        start = decode_token(request.get("NextToken"))
        size = request.get("MaxResults") or 10
        token = encode_token(start + size) if start + size < len(summaries) else None
        return {"TrainingJobSummaries": copy.deepcopy(summaries[start : start + size]), "NextToken": token}

    # ---------------------------------------------------------- persistence

    def restore(self, items: list[dict[str, Any]]) -> list[str]:
        """Bring back stored tuning jobs (``{"doc", "children"}``); returns the names of those failed by the restart."""
        failed = []
        for item in items:
            job = TuningJob(item["doc"], children=item["children"], early_stopped=set(item.get("early_stopped", [])))
            if job.doc["HyperParameterTuningJobStatus"] in ("InProgress", "Stopping"):
                job.doc.update(
                    HyperParameterTuningJobStatus="Failed",
                    FailureReason="InternalServerError: the local engine was stopped while this tuning job was running",
                )
                failed.append(job.doc["HyperParameterTuningJobName"])
            job.done.set()
            self.jobs[job.doc["HyperParameterTuningJobName"]] = job
        return failed
