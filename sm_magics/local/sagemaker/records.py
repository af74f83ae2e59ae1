"""The records a region's SageMaker state keeps in memory, and the small rules every service shares.

``TrainingJob`` and ``Endpoint`` carry a Describe document plus what only the engine needs
(events, loaded variants); the other resources are their Describe documents as they are.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any

# A stored record: (kind, name); kinds are training-job, model, endpoint-config, endpoint, tuning-job,
# transform-job and tags (one record per ARN), plus the registry's and monitoring's own kinds.
Key = tuple[str, str]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def failure_reason(text: str) -> str:
    """FailureReason as the API carries it: at most 1024 characters."""
    return text if len(text) <= 1024 else text[:1021] + "..."


@dataclass
class TrainingJob:
    doc: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    metrics: dict[str, tuple[float, dt.datetime]] = field(default_factory=dict)
    # every value of each metric in the order reported (epoch by epoch), for tuning's early stopping;
    # kept in memory only: a restarted engine has no running children to stop
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.doc["TrainingJobStatus"]

    def transition(self, status: str, message: str, now: dt.datetime | None = None) -> None:
        now = now or utcnow()
        transitions = self.doc.setdefault("SecondaryStatusTransitions", [])
        if transitions and "EndTime" not in transitions[-1]:
            transitions[-1]["EndTime"] = now
        transitions.append({"Status": status, "StartTime": now, "StatusMessage": message})
        self.doc["SecondaryStatus"] = status
        self.doc["LastModifiedTime"] = now

    def finish(self, status: str, secondary: str, message: str, failure: str | None = None) -> None:
        now = utcnow()
        self.transition(secondary, message, now)
        self.doc["SecondaryStatusTransitions"][-1]["EndTime"] = now
        self.doc["TrainingJobStatus"] = status
        self.doc["TrainingEndTime"] = now
        start = self.doc.get("TrainingStartTime", self.doc["CreationTime"])
        seconds = max(1, int(round((now - start).total_seconds())))
        self.doc["TrainingTimeInSeconds"] = seconds
        # Spot or not: the engine cannot know what AWS's spot capacity would have cost, so it
        # reports no saving rather than invent one (the SDK then prints "savings: 0.0%").
        self.doc["BillableTimeInSeconds"] = seconds
        if failure:
            self.doc["FailureReason"] = failure_reason(failure)
        if self.metrics:
            self.doc["FinalMetricDataList"] = [
                {"MetricName": name, "Value": value, "Timestamp": stamp} for name, (value, stamp) in self.metrics.items()
            ]
        self.done.set()


@dataclass
class Endpoint:
    doc: dict[str, Any]
    variants: list[tuple[str, float, Any]] = field(default_factory=list)  # (name, weight, HostedModel)
    ready: threading.Event = field(default_factory=threading.Event)
    # Set for an endpoint brought back InService at start whose models are not loaded yet: the
    # warm-up pool or its first invocation loads them (so a start with many endpoints is quick).
    restored_config: dict[str, Any] | None = None
    load_lock: threading.Lock = field(default_factory=threading.Lock)
