"""Hyperparameter tuning jobs: real child training jobs proposed by optuna, run a few at a time.

Bayesian search is optuna's TPE sampler, Random its random sampler and Grid its
grid sampler over categorical ranges: the well-kept library does the
optimisation; this module only translates SageMaker's ranges and scaling
types, launches the children (``<tuning-job>-NNN-<8 hex>``, with
``_tuning_objective_metric`` injected as the service does), honours
MaxNumberOfTrainingJobs / MaxParallelTrainingJobs, and reads each child's
objective from the metrics its algorithm emitted.
"""

from __future__ import annotations

import copy
import math
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import settings
from ..algorithms import KNOWN, algorithm_named, parse_image
from .models import failure_reason, utcnow
from .exceptions import ResourceInUse, ResourceNotFound, ValidationException

if TYPE_CHECKING:
    from .models import SageMakerBackend, TrainingJob


@dataclass
class TuningJob:
    doc: dict[str, Any]
    children: list[str] = field(default_factory=list)
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


def _study(strategy: str, ranges: dict[str, Any], seed: int) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if strategy == "Random":
        sampler: Any = optuna.samplers.RandomSampler(seed=seed)
    elif strategy == "Grid":
        space = {item["Name"]: list(item["Values"]) for item in ranges["CategoricalParameterRanges"]}
        sampler = optuna.samplers.GridSampler(space, seed=seed)
    else:  # Bayesian, and Hyperband's search (its early stopping is not modelled)
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=3)
    return optuna.create_study(direction="maximize", sampler=sampler)


class TuningService:
    """CreateHyperParameterTuningJob and friends, on top of a region's training jobs."""

    def __init__(self, backend: "SageMakerBackend") -> None:
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
        config["ParameterRanges"] = _ranges_with_defaults(config.get("ParameterRanges"))
        config.setdefault("TrainingJobEarlyStoppingType", "Off")
        config.setdefault("Strategy", "Bayesian")
        validate_ranges(config["ParameterRanges"])
        if config["Strategy"] == "Grid" and (config["ParameterRanges"]["IntegerParameterRanges"] or config["ParameterRanges"]["ContinuousParameterRanges"]):
            raise ValidationException("The Grid strategy needs categorical parameter ranges only")
        image = definition.get("AlgorithmSpecification", {}).get("TrainingImage", "")
        parsed = parse_image(image)
        if parsed is None:
            raise ValidationException(
                f"The local engine cannot run image '{image}'. It runs SageMaker's built-in algorithms ({', '.join(KNOWN)})."
            )
        metrics = [m["Name"] for m in algorithm_named(*parsed).metric_definitions]
        objective = config.get("HyperParameterTuningJobObjective") or {}
        if objective.get("MetricName") not in metrics:
            raise ValidationException(
                f"The objective metric '{objective.get('MetricName')}' is not emitted by {parsed[0]}; "
                f"choose one of: {', '.join(metrics)}"
            )
        limits = config.get("ResourceLimits") or {}
        if limits.get("MaxParallelTrainingJobs", 1) > limits.get("MaxNumberOfTrainingJobs", 1):
            raise ValidationException("MaxParallelTrainingJobs must be less than or equal to MaxNumberOfTrainingJobs")
        static = dict(definition.get("StaticHyperParameters") or {})
        static["_tuning_objective_metric"] = objective["MetricName"]
        definition["StaticHyperParameters"] = static
        spec = definition.setdefault("AlgorithmSpecification", {})
        spec.setdefault("TrainingInputMode", "File")
        spec.setdefault("MetricDefinitions", [dict(m) for m in algorithm_named(*parsed).metric_definitions])
        now = utcnow()
        doc = {
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
        job = TuningJob(doc)
        with backend._changing(("tuning-job", name), ("tags", arn)):
            if name in self.jobs:
                raise ResourceInUse(f"Hyperparameter tuning job names must be unique within an AWS account and region ({arn})")
            self.jobs[name] = job
            backend._set_tags(arn, request.get("Tags") or [])
        threading.Thread(target=self._drive, args=(job,), daemon=True, name=f"tune {name}").start()
        job.done.wait(settings.SYNC_SECONDS)
        return {"HyperParameterTuningJobArn": arn}

    # ---------------------------------------------------------------- driver

    def _child_request(self, job: TuningJob, child: str, tuned: dict[str, str]) -> dict[str, Any]:
        definition = job.doc["TrainingJobDefinition"]
        request = {
            "TrainingJobName": child,
            "AlgorithmSpecification": definition["AlgorithmSpecification"],
            "RoleArn": definition["RoleArn"],
            "InputDataConfig": definition.get("InputDataConfig", []),
            "OutputDataConfig": definition["OutputDataConfig"],
            "ResourceConfig": definition.get("ResourceConfig") or {
                k: v for k, v in definition.get("HyperParameterTuningResourceConfig", {}).items()
                if k in ("InstanceType", "InstanceCount", "VolumeSizeInGB")
            },
            "StoppingCondition": definition.get("StoppingCondition", {"MaxRuntimeInSeconds": 86400}),
            "HyperParameters": {**definition["StaticHyperParameters"], **tuned},
        }
        for optional in ("EnableManagedSpotTraining", "CheckpointConfig", "EnableNetworkIsolation", "VpcConfig"):
            if optional in definition:
                request[optional] = definition[optional]
        return request

    def _drive(self, job: TuningJob) -> None:
        backend = self.backend
        config = job.doc["HyperParameterTuningJobConfig"]
        limits = config["ResourceLimits"]
        total, parallel = limits["MaxNumberOfTrainingJobs"], limits.get("MaxParallelTrainingJobs", 1)
        objective = config["HyperParameterTuningJobObjective"]
        sign = 1.0 if objective["Type"] == "Maximize" else -1.0
        name = job.doc["HyperParameterTuningJobName"]
        failure = None
        try:
            study = _study(config["Strategy"], config["ParameterRanges"], seed=zlib.crc32(name.encode()))
            running: dict[str, tuple[Any, "TrainingJob"]] = {}
            launched = 0
            while not job.stop_requested.is_set():
                while launched < total and len(running) < parallel:
                    trial = study.ask()
                    tuned = _suggest(trial, config["ParameterRanges"])
                    launched += 1
                    child = f"{name}-{launched:03d}-{uuid.uuid4().hex[:8]}"
                    training = backend.start_training_job(self._child_request(job, child, tuned), tuning_job_arn=job.doc["HyperParameterTuningJobArn"])
                    running[child] = (trial, training)
                    with backend.lock:
                        job.children.append(child)
                        self._count(job)
                        backend._save_quietly(("tuning-job", name))
                if not running:
                    break
                finished = [c for c, (_, t) in running.items() if t.done.wait(0.2) or t.done.is_set()]
                for child in finished:
                    trial, training = running.pop(child)
                    value = training.metrics.get(objective["MetricName"])
                    if training.status == "Completed" and value is not None:
                        study.tell(trial, sign * value[0])
                    else:
                        import optuna

                        study.tell(trial, state=optuna.trial.TrialState.FAIL)
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
            elif counters["Completed"] == 0:
                doc.update(HyperParameterTuningJobStatus="Failed", FailureReason="All training jobs failed. Please check the training job logs.")
            else:
                doc["HyperParameterTuningJobStatus"] = "Completed"
            doc["HyperParameterTuningEndTime"] = doc["LastModifiedTime"] = utcnow()
            backend._save_quietly(("tuning-job", name))
        job.done.set()

    def _count(self, job: TuningJob) -> None:
        """Recompute counters and the best job from the children (called under the backend lock)."""
        counters = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
        objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
        best, best_value = None, None
        objective = job.doc["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
        for child in job.children:
            summary = self.child_summary(job, child)
            status = summary["TrainingJobStatus"]
            counters[{"Failed": "NonRetryableError", "Stopping": "InProgress"}.get(status, status)] += 1
            objectives[summary["ObjectiveStatus"]] += 1
            metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
            if metric is not None:
                better = best_value is None or (metric["Value"] > best_value if objective["Type"] == "Maximize" else metric["Value"] < best_value)
                if better:
                    best, best_value = summary, metric["Value"]
        job.doc["TrainingJobStatusCounters"] = counters
        job.doc["ObjectiveStatusCounters"] = objectives
        job.doc["LastModifiedTime"] = utcnow()
        if best is not None:
            job.doc["BestTrainingJob"] = best

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
        if training["TrainingJobStatus"] == "Completed" and value is not None:
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {"Type": objective["Type"], "MetricName": objective["MetricName"], "Value": value}
            summary["ObjectiveStatus"] = "Succeeded"
        else:
            summary["ObjectiveStatus"] = "Pending" if training["TrainingJobStatus"] in ("InProgress", "Stopping") else "Failed"
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
        with self.backend._changing(("tuning-job", name)):
            job = self._job(name)
            if job.doc["HyperParameterTuningJobStatus"] != "InProgress":
                raise ValidationException(
                    f"The request was rejected because the tuning job is in status {job.doc['HyperParameterTuningJobStatus']}."
                )
            job.doc["HyperParameterTuningJobStatus"] = "Stopping"
        job.stop_requested.set()

    def list(self, request: dict[str, Any]) -> dict[str, Any]:
        from .models import _page

        with self.backend.lock:
            docs = [job.doc for job in self.jobs.values()]
            page, token = _page(docs, request, "HyperParameterTuningJobName", "HyperParameterTuningJobStatus", default_sort=("Name", "Ascending"))
            keys = ("HyperParameterTuningJobName", "HyperParameterTuningJobArn", "HyperParameterTuningJobStatus", "CreationTime",
                    "HyperParameterTuningEndTime", "LastModifiedTime", "TrainingJobStatusCounters", "ObjectiveStatusCounters")
            summaries = [{k: d[k] for k in keys if k in d} for d in page]
            for summary, d in zip(summaries, page):
                summary["Strategy"] = d["HyperParameterTuningJobConfig"]["Strategy"]
                summary["ResourceLimits"] = d["HyperParameterTuningJobConfig"]["ResourceLimits"]
            return {"HyperParameterTuningJobSummaries": copy.deepcopy(summaries), "NextToken": token}

    def list_children(self, request: dict[str, Any]) -> dict[str, Any]:
        from .models import _decode_token, _encode_token

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
        start = _decode_token(request.get("NextToken"))
        size = request.get("MaxResults") or 10
        token = _encode_token(start + size) if start + size < len(summaries) else None
        return {"TrainingJobSummaries": copy.deepcopy(summaries[start : start + size]), "NextToken": token}

    # ---------------------------------------------------------- persistence

    def restore(self, items: list[dict[str, Any]]) -> list[str]:
        """Bring back stored tuning jobs (``{"doc", "children"}``); returns the names of those failed by the restart."""
        failed = []
        for item in items:
            job = TuningJob(item["doc"], children=item["children"])
            if job.doc["HyperParameterTuningJobStatus"] in ("InProgress", "Stopping"):
                job.doc.update(
                    HyperParameterTuningJobStatus="Failed",
                    FailureReason="InternalServerError: the local engine was stopped while this tuning job was running",
                )
                failed.append(job.doc["HyperParameterTuningJobName"])
            job.done.set()
            self.jobs[job.doc["HyperParameterTuningJobName"]] = job
        return failed
