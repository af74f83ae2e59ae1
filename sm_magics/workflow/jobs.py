"""Handles on SageMaker work in progress: training jobs, tuning jobs, endpoints.

A handle owns one background poller that describes its resource (never more
than once every 2 s, slower as the resource ages), survives throttling and
transient errors (kept in ``last_error`` and retried), and tells its
observers (the widgets) whenever something changed. ``wait()`` blocks until
the resource is settled, which is how a later cell that needs a result
(deploy after train) waits for it while the kernel stays free meanwhile.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from ..i18n import N_, _
from .errors import TRANSIENT, explain
from .session import Backend

Observer = Callable[["Handle"], None]


@dataclass(frozen=True)
class Preparation:
    """What the notebook side is doing before the Create* call: the view of a job shows it from the cell's start.

    ``step`` is "converting" (a channel to the algorithm's format), "uploading" (``sent`` of ``total``
    bytes, at ``rate`` bytes/s) or "creating" (the Create* call sent). Each value is a new object, so
    an observer may keep the ones it saw.
    """

    step: str
    channel: str = ""
    sent: int = 0
    total: int = 0
    rate: float = 0.0


def poll_interval(age_seconds: float) -> float:
    """2 s while young, then slower: 5 s after a minute, 15 s after ten, 30 s after an hour."""
    if age_seconds < 60:
        return 2.0
    if age_seconds < 600:
        return 5.0
    if age_seconds < 3600:
        return 15.0
    return 30.0


class Handle:
    """Base of the handles: observers, the poller thread, wait()."""

    kind = N_("resource")
    terminal: tuple[str, ...] = ()  # wait() returns once the resource is in one of these
    # A resource that goes on costing after it settles (an endpoint) is watched until it reaches one of
    # these: described every ``watch_interval()`` seconds, its views re-rendered every TICK_SECONDS
    # between describes (cost so far, TTL) without calling AWS.
    final: tuple[str, ...] | None = None
    TICK_SECONDS = 5.0

    def __init__(self, backend: Backend, name: str) -> None:
        self.backend = backend
        self.name = name
        self.status = "Pending"
        self.description: dict[str, Any] = {}
        self.last_error: str | None = None
        self.describe_calls = 0
        self.started = time.time()
        self._observers: list[Observer] = []
        self._lock = threading.Lock()
        self._settled = threading.Event()
        self._closed = threading.Event()
        self._broken: Exception | None = None  # what stopped the poller, if it was not AWS's answer
        self._thread: threading.Thread | None = None
        self._launch: Callable[[], None] | None = None
        self.preparation: Preparation | None = None  # set while the workflow converts and uploads, None once created

    def preparing(self, step: str, channel: str = "", sent: int = 0, total: int = 0, rate: float = 0.0) -> None:
        """The workflow says what it is doing before the resource exists; the observers hear it."""
        self.preparation = Preparation(step, channel, sent, total, rate)
        self._changed()

    def progress(self, sent: int, rate: float) -> None:
        """Bytes uploaded so far; passed on each time another 5 % of the total is sent (and once complete),
        so a large upload shows steady progress without flooding the front end with renderings."""
        current = self.preparation
        if current is None:
            return
        self.preparation = replace(current, sent=sent, rate=rate)
        total = max(current.total, 1)
        if sent >= current.total or sent * 20 // total > current.sent * 20 // total:
            self._changed()

    def failed_before_creation(self, error: BaseException) -> None:
        """Conversion or upload failed: nothing was created; the view shows the one line the cell raises."""
        self.status = "Failed"
        self.last_error = explain(error, retrying=False) if isinstance(error, (ClientError, BotoCoreError)) else str(error)
        self._changed()
        self._settled.set()

    def launch(self, create: Callable[[], None]) -> None:
        """Send the Create* call from the poller thread, so the cell returns at once.

        (The local engine answers CreateTrainingJob only once a short job has finished,
        which suits the SDKs' sleep-then-describe loops but would hold the kernel here.)
        If the call is refused, the handle ends Failed with the reason.
        """
        self._launch = create
        self.start_polling()

    # observers -------------------------------------------------------------

    def observe(self, callback: Observer) -> None:
        with self._lock:
            self._observers.append(callback)
        callback(self)

    def unobserve(self, callback: Observer) -> None:
        with self._lock:
            if callback in self._observers:
                self._observers.remove(callback)

    def _changed(self) -> None:
        with self._lock:
            observers = list(self._observers)
        for callback in observers:
            try:
                callback(self)
            except Exception:  # a broken view must not stop the poller
                pass

    # polling ---------------------------------------------------------------

    def start_polling(self) -> None:
        if self.preparation is not None and self._launch is None:
            return  # not created yet: launch() starts the poller, with the Create* call
        if self._thread is None:
            self._thread = threading.Thread(target=self._poll_loop, daemon=True, name=f"sm_magics {self.kind} {self.name}")
            self._thread.start()

    def close(self) -> None:
        """Stop polling (the widget was closed); the resource itself is untouched."""
        self._closed.set()

    def _poll_loop(self) -> None:
        try:
            self._follow()
        except Exception as error:  # a fault of ours: said by wait(), never a waiter hanging on a dead thread
            self._broken = error
            self.last_error = _("sm_magics stopped following {kind} {name}: {error}").format(
                kind=_(self.kind), name=self.name, error=f"{type(error).__name__}: {error}")
            self._changed()
            self._settled.set()

    def _follow(self) -> None:
        if self._launch is not None:
            try:
                self._launch()
            except Exception as error:  # refused: nothing was created, and the view says why
                self.status = "Failed"
                self.last_error = explain(error)
                self._changed()
                self._settled.set()
                return
            self.preparation = None  # created: from now on the view shows what SageMaker says
        while not self._closed.is_set():
            try:
                self.refresh()
                self.last_error = None
            except ClientError as error:
                self.last_error = explain(error)
                if error.response.get("Error", {}).get("Code") not in TRANSIENT and self.status == "Pending":
                    self.status = "Failed"
                    self._settled.set()
            except (BotoCoreError, OSError) as error:
                self.last_error = explain(error)
            self._changed()
            if self.settled:
                self._settled.set()
                if self.final is None or self.status in self.final:
                    return
                self._watch(self.watch_interval())
                continue
            self._closed.wait(poll_interval(time.time() - self.started))

    def watch_interval(self) -> float:
        """Seconds until the next describe of a settled resource that is still watched."""
        return 60.0  # Endpoint sets its own

    def _watch(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._closed.is_set() and self.status not in (self.final or ()):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._closed.wait(min(self.TICK_SECONDS, left))
            self._changed()

    @property
    def settled(self) -> bool:
        return self.status in self.terminal

    def refresh(self) -> None:
        """Describe the resource once and update this handle (each subclass knows how)."""
        raise TypeError(f"{type(self).__name__} does not say how to describe itself")

    def wait(self, timeout: float | None = None) -> "Handle":
        self.start_polling()
        if not self._settled.wait(timeout):
            raise TimeoutError(_("{kind} {name} is still {status} after {timeout} s").format(
                kind=_(self.kind), name=self.name, status=self.status, timeout=timeout))
        if self._broken is not None:
            raise RuntimeError(self.last_error) from self._broken
        return self

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.summary())

    def summary(self) -> str:
        return _("{kind} {name}: {status}").format(kind=_(self.kind), name=self.name, status=self.status)


class TrainingJob(Handle):
    kind = N_("training job")
    terminal = ("Completed", "Failed", "Stopped")

    def __init__(self, backend: Backend, name: str, algorithm: str | None = None) -> None:
        super().__init__(backend, name)
        self.algorithm = algorithm
        self._feature_count: int | None = None  # what the model was trained on, when the cell's data said so
        self.metrics: dict[str, list[tuple[float, float]]] = {}  # name -> [(seconds since start, value)]
        self.price: Any = None  # pricing.Price of one training instance, once known
        self._priced = False
        self.log_lines: list[str] = []
        self._log_tokens: dict[str, str] = {}
        self._metric_patterns: list[tuple[str, re.Pattern[str]]] = []

    def refresh(self) -> None:
        sagemaker = self.backend.client("sagemaker")
        self.describe_calls += 1
        doc = sagemaker.describe_training_job(TrainingJobName=self.name)
        self.description = doc
        self.status = doc["TrainingJobStatus"]
        if not self._priced and doc.get("ResourceConfig", {}).get("InstanceType"):
            self._priced = True
            self.price = self.backend.prices.hourly(doc["ResourceConfig"]["InstanceType"], self.backend.region, use="Training")
        if not self._metric_patterns:
            for definition in doc.get("AlgorithmSpecification", {}).get("MetricDefinitions", []):
                try:
                    self._metric_patterns.append((definition["Name"], re.compile(definition["Regex"])))
                except re.error:
                    pass
        self._read_logs()
        for metric in doc.get("FinalMetricDataList", []):
            series = self.metrics.setdefault(metric["MetricName"], [])
            if not series:
                series.append((self.elapsed, float(metric["Value"])))

    def _read_logs(self) -> None:
        logs = self.backend.client("logs")
        try:
            streams = logs.describe_log_streams(
                logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=self.name + "/", orderBy="LogStreamName"
            )["logStreams"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return
            raise
        for stream in streams:
            name = stream["logStreamName"]
            kwargs = {"nextToken": self._log_tokens[name]} if name in self._log_tokens else {}
            page = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=name, startFromHead=True, **kwargs)
            self._log_tokens[name] = page["nextForwardToken"]
            for event in page["events"]:
                line = event["message"]
                self.log_lines.append(line)
                for metric, pattern in self._metric_patterns:
                    match = pattern.search(line)
                    if match:
                        try:
                            self.metrics.setdefault(metric, []).append((self.elapsed, float(match.group(1))))
                        except (ValueError, IndexError):
                            pass
        del self.log_lines[:-500]

    @property
    def elapsed(self) -> float:
        doc = self.description
        start = doc.get("TrainingStartTime") or doc.get("CreationTime")
        end = doc.get("TrainingEndTime")
        if start is None:
            return time.time() - self.started
        return ((end.timestamp() if end else time.time()) - start.timestamp())

    @property
    def spot_savings(self) -> str:
        """What to say about a managed-spot job's savings ("" for on-demand jobs, or before they are known).

        On AWS, SageMaker's own figures (1 - billable / training seconds, as the
        SDK prints them). The local engine cannot know what spot capacity would
        have cost and bills every second it trained, so there we say that savings
        are shown on AWS only, rather than display a made-up saving.
        """
        doc = self.description
        if not doc.get("EnableManagedSpotTraining"):
            return ""
        if self.backend.kind == "local":
            return _("spot savings are shown on AWS only")
        billable, training = doc.get("BillableTimeInSeconds"), doc.get("TrainingTimeInSeconds")
        if billable is None or not training:
            return ""
        return _("spot savings {percent}%").format(percent=f"{(1 - billable / training) * 100:.1f}")

    @property
    def cost_so_far(self) -> float | None:
        """Billable seconds once known (AWS's spot savings included), else the elapsed time, x instances x price."""
        if self.price is None:
            return None
        doc = self.description
        seconds = doc.get("BillableTimeInSeconds", self.elapsed)
        return self.price.cost(seconds, doc.get("ResourceConfig", {}).get("InstanceCount", 1))

    @property
    def feature_count(self) -> int | None:
        """Features per row the model was trained on: from the cell's data, else the job's feature_dim."""
        if self._feature_count is not None:
            return self._feature_count
        dim = self.description.get("HyperParameters", {}).get("feature_dim", "")
        return int(dim) if str(dim).isdigit() else None

    @feature_count.setter
    def feature_count(self, value: int | None) -> None:
        self._feature_count = value

    @property
    def model_artifact(self) -> str | None:
        return self.description.get("ModelArtifacts", {}).get("S3ModelArtifacts") if self.status == "Completed" else None

    @property
    def final_metrics(self) -> dict[str, float]:
        return {m["MetricName"]: m["Value"] for m in self.description.get("FinalMetricDataList", [])}

    def stop(self) -> None:
        self.backend.client("sagemaker").stop_training_job(TrainingJobName=self.name)

    def summary(self) -> str:
        text = _("training job {name}: {status}").format(name=self.name, status=self.status)
        secondary = self.description.get("SecondaryStatus")
        if secondary and secondary != self.status:
            text += f" ({secondary})"
        if self.status == "Failed":
            text += f" — {self.description.get('FailureReason', '')}"
        if self.final_metrics:
            text += " — " + ", ".join(f"{k}={v:.4g}" for k, v in self.final_metrics.items())
        if self.spot_savings:
            text += f" — {self.spot_savings}"
        return text


class TuningJob(Handle):
    kind = N_("tuning job")
    terminal = ("Completed", "Failed", "Stopped")

    def __init__(self, backend: Backend, name: str, algorithm: str | None = None) -> None:
        super().__init__(backend, name)
        self.algorithm = algorithm
        self.feature_count: int | None = None  # features per row of its training data, when the cell's data said so
        self.leaderboard: list[dict[str, Any]] = []

    def refresh(self) -> None:
        sagemaker = self.backend.client("sagemaker")
        self.describe_calls += 1
        doc = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=self.name)
        # The status is taken only together with the job list fetched after it: a "Completed" seen
        # before its final list (a list call throttled under load) would show an empty leaderboard.
        rows: list[dict[str, Any]] = []
        for page in sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(HyperParameterTuningJobName=self.name):
            rows += page["TrainingJobSummaries"]
        # best first; jobs without an objective value (running, failed) after them
        maximize = doc["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["Type"] == "Maximize"

        def rank(row: dict[str, Any]) -> tuple[int, float]:
            metric = row.get("FinalHyperParameterTuningJobObjectiveMetric")
            if metric is None:
                return (1, 0.0)
            return (0, -metric["Value"] if maximize else metric["Value"])

        status = doc["HyperParameterTuningJobStatus"]
        counted = sum(doc.get("TrainingJobStatusCounters", {}).values())
        if status in self.terminal and len(rows) < counted:
            status = self.status if self.status not in self.terminal else "InProgress"  # the list lags: ask again
        self.leaderboard = sorted(rows, key=rank)
        self.description = doc
        self.status = status

    @property
    def objective(self) -> dict[str, str]:
        return self.description.get("HyperParameterTuningJobConfig", {}).get("HyperParameterTuningJobObjective", {})

    @property
    def best_job_name(self) -> str | None:
        return self.description.get("BestTrainingJob", {}).get("TrainingJobName")

    def best_training_job(self) -> TrainingJob:
        self.wait()
        if not self.best_job_name:
            raise RuntimeError(_("tuning job {name} is {status} with no completed training job to deploy").format(
                name=self.name, status=self.status))
        job = TrainingJob(self.backend, self.best_job_name, self.algorithm)
        job.feature_count = self.feature_count
        job.start_polling()
        return job.wait()

    def stop(self) -> None:
        self.backend.client("sagemaker").stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=self.name)

    def summary(self) -> str:
        counts = self.description.get("TrainingJobStatusCounters", {})
        text = _("tuning job {name}: {status} ({completed} completed, {running} running)").format(
            name=self.name, status=self.status, completed=counts.get("Completed", 0), running=counts.get("InProgress", 0))
        best = self.description.get("BestTrainingJob", {}).get("FinalHyperParameterTuningJobObjectiveMetric")
        if best:
            text += _(" — best {metric}={value} ({job})").format(metric=best["MetricName"], value=f"{best['Value']:.4g}",
                                                                 job=self.best_job_name)

        return text
