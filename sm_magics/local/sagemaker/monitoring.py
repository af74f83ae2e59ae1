"""Model Monitor's control plane: monitoring schedules and the four kinds of monitoring job definitions.

Why the engine keeps these at all: the SDKs reach them from hosting code
(``Predictor.list_monitors()``, ``DefaultModelMonitor.create_monitoring_schedule``
/ ``delete_monitoring_schedule``), and SageMaker refuses to delete an endpoint
that a schedule still monitors, so clean-up code lists and deletes schedules
first. A schedule here has SageMaker's states: it is ``Pending`` while the
service checks it, then ``Scheduled``; ``StopMonitoringSchedule`` makes it
``Stopped`` and ``StartMonitoringSchedule`` ``Scheduled`` again.

The engine never runs the monitoring processing jobs a schedule would start:
``ListMonitoringExecutions`` is always empty and no schedule carries a
``LastMonitoringExecutionSummary``. Nothing is reported that did not happen.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any

from .. import settings
from .exceptions import ResourceInUse, ResourceNotFound, ValidationException, could_not_find
from .paging import paginate
from .records import utcnow

if TYPE_CHECKING:
    from .ports import RegionState

MONITORING_TYPES = ("DataQuality", "ModelQuality", "ModelBias", "ModelExplainability")
_ARN_KIND = {
    "DataQuality": "data-quality-job-definition",
    "ModelQuality": "model-quality-job-definition",
    "ModelBias": "model-bias-job-definition",
    "ModelExplainability": "model-explainability-job-definition",
}


def _endpoint_of_definition(kind: str, doc: dict[str, Any]) -> str | None:
    return ((doc.get(f"{kind}JobInput") or {}).get("EndpointInput") or {}).get("EndpointName")


class MonitoringService:
    """Monitoring schedules and job definitions of one region."""

    def __init__(self, backend: "RegionState") -> None:
        self.backend = backend
        self.schedules: dict[str, dict[str, Any]] = {}  # name -> DescribeMonitoringSchedule document
        self.definitions: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in MONITORING_TYPES}
        self._activated: dict[str, threading.Event] = {}

    # -------------------------------------------------------- job definitions

    def create_definition(self, kind: str, request: dict[str, Any]) -> dict[str, Any]:
        backend = self.backend
        name = request["JobDefinitionName"]
        arn = backend.arn(_ARN_KIND[kind], name)
        doc = {k: copy.deepcopy(v) for k, v in request.items() if k != "Tags"}
        doc.update(JobDefinitionArn=arn, CreationTime=utcnow())
        with backend.changing((definition_kind(kind), name), ("tags", arn)):
            endpoint = _endpoint_of_definition(kind, doc)
            if endpoint is not None and endpoint not in backend.endpoints:
                raise could_not_find("endpoint", backend.arn("endpoint", endpoint))
            if name in self.definitions[kind]:
                raise ResourceInUse(f"Job definition {arn} already exists")
            self.definitions[kind][name] = doc
            backend.set_tags(arn, request.get("Tags") or [])
        return {"JobDefinitionArn": arn}

    def _definition(self, kind: str, name: str) -> dict[str, Any]:
        doc = self.definitions[kind].get(name)
        if doc is None:
            raise ResourceNotFound(f"Job definition {self.backend.arn(_ARN_KIND[kind], name)} does not exist")
        return doc

    def describe_definition(self, kind: str, name: str) -> dict[str, Any]:
        with self.backend.lock:
            return copy.deepcopy(self._definition(kind, name))

    def delete_definition(self, kind: str, name: str) -> None:
        arn = self.backend.arn(_ARN_KIND[kind], name)
        with self.backend.changing((definition_kind(kind), name), ("tags", arn)):
            doc = self._definition(kind, name)
            users = sorted(
                s["MonitoringScheduleName"]
                for s in self.schedules.values()
                if s["MonitoringScheduleConfig"].get("MonitoringJobDefinitionName") == name and s.get("MonitoringType") == kind
            )
            if users:
                raise ResourceInUse(
                    f"Job definition {doc['JobDefinitionArn']} is used by monitoring schedule(s) {', '.join(users)}; "
                    "delete those schedules first"
                )
            del self.definitions[kind][name]
            self.backend.tags.pop(doc["JobDefinitionArn"], None)

    def list_definitions(self, kind: str, request: dict[str, Any]) -> dict[str, Any]:
        with self.backend.lock:
            docs = list(self.definitions[kind].values())
            if request.get("EndpointName"):
                docs = [d for d in docs if _endpoint_of_definition(kind, d) == request["EndpointName"]]
            page, token = paginate(docs, request, "JobDefinitionName", None)
            summaries = []
            for doc in page:
                summary = {
                    "MonitoringJobDefinitionName": doc["JobDefinitionName"],
                    "MonitoringJobDefinitionArn": doc["JobDefinitionArn"],
                    "CreationTime": doc["CreationTime"],
                }
                endpoint = _endpoint_of_definition(kind, doc)
                if endpoint is not None:
                    summary["EndpointName"] = endpoint
                summaries.append(summary)
        return {"JobDefinitionSummaries": copy.deepcopy(summaries), "NextToken": token}

    # -------------------------------------------------------------- schedules

    def _resolve(self, config: dict[str, Any]) -> tuple[str, str | None]:
        """(MonitoringType, EndpointName) of a schedule config, checked as SageMaker checks it at create/update."""
        backend = self.backend
        embedded, by_name = config.get("MonitoringJobDefinition"), config.get("MonitoringJobDefinitionName")
        if bool(embedded) == bool(by_name):
            raise ValidationException(
                "MonitoringScheduleConfig needs exactly one of MonitoringJobDefinition or MonitoringJobDefinitionName"
            )
        kind = config.get("MonitoringType") or "DataQuality"
        if by_name:
            if not config.get("MonitoringType"):
                raise ValidationException("MonitoringType is required when MonitoringJobDefinitionName is given")
            if by_name not in self.definitions[kind]:
                raise ResourceNotFound(
                    f"Job definition {backend.arn(_ARN_KIND[kind], by_name)} does not exist"
                )
            endpoint = _endpoint_of_definition(kind, self.definitions[kind][by_name])
        else:
            inputs = embedded.get("MonitoringInputs") or []
            names = {(i.get("EndpointInput") or {}).get("EndpointName") for i in inputs} - {None}
            endpoint = next(iter(names)) if len(names) == 1 else None
            if len(names) > 1:
                raise ValidationException("A monitoring schedule monitors one endpoint; its MonitoringInputs name several")
        if endpoint is not None and endpoint not in backend.endpoints:
            raise could_not_find("endpoint", backend.arn("endpoint", endpoint))
        expression = (config.get("ScheduleConfig") or {}).get("ScheduleExpression")
        if expression is not None and not (expression.startswith("cron(") and expression.endswith(")")) and expression != "NOW":
            raise ValidationException(
                f"ScheduleExpression '{expression}' is not valid: use a cron(...) expression such as cron(0 * ? * * *), or NOW"
            )
        return kind, endpoint

    def create_schedule(self, request: dict[str, Any]) -> dict[str, Any]:
        backend = self.backend
        name = request["MonitoringScheduleName"]
        arn = backend.arn("monitoring-schedule", name)
        config = copy.deepcopy(request["MonitoringScheduleConfig"])
        with backend.changing(("monitoring-schedule", name), ("tags", arn)):
            if name in self.schedules:
                raise ResourceInUse(f"Monitoring schedule {arn} already exists")
            kind, endpoint = self._resolve(config)
            config.setdefault("MonitoringType", kind)
            now = utcnow()
            doc: dict[str, Any] = {
                "MonitoringScheduleArn": arn,
                "MonitoringScheduleName": name,
                "MonitoringScheduleStatus": "Pending",
                "MonitoringType": kind,
                "CreationTime": now,
                "LastModifiedTime": now,
                "MonitoringScheduleConfig": config,
            }
            if endpoint is not None:
                doc["EndpointName"] = endpoint
            self.schedules[name] = doc
            backend.set_tags(arn, request.get("Tags") or [])
        self._activate(name, "Scheduled")
        return {"MonitoringScheduleArn": arn}

    def _activate(self, name: str, target: str) -> None:
        """Leave Pending for ``target`` in the background, as SageMaker does, and wait briefly for it.

        The wait keeps the SDKs' "wait until not Pending" loops from sleeping
        when nothing is slow; the state is still Pending until the step ran.
        """
        event = threading.Event()
        self._activated[name] = event

        def settle() -> None:
            with self.backend.lock:
                doc = self.schedules.get(name)
                if doc is not None and doc["MonitoringScheduleStatus"] == "Pending" and self._activated.get(name) is event:
                    doc["MonitoringScheduleStatus"] = target
                    doc["LastModifiedTime"] = utcnow()
                    self.backend.save_quietly(("monitoring-schedule", name))  # no request waits: a failure is reported at stop
            event.set()

        threading.Thread(target=settle, daemon=True, name=f"monitoring schedule {name}").start()
        event.wait(settings.SYNC_SECONDS)

    def _schedule(self, name: str) -> dict[str, Any]:
        doc = self.schedules.get(name)
        if doc is None:
            raise ResourceNotFound(f"Monitoring schedule {self.backend.arn('monitoring-schedule', name)} does not exist")
        return doc

    def describe_schedule(self, name: str) -> dict[str, Any]:
        with self.backend.lock:
            return copy.deepcopy(self._schedule(name))

    def update_schedule(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["MonitoringScheduleName"]
        config = copy.deepcopy(request["MonitoringScheduleConfig"])
        with self.backend.changing(("monitoring-schedule", name)):
            doc = self._schedule(name)
            if doc["MonitoringScheduleStatus"] == "Pending":
                raise ValidationException(f"Monitoring schedule {doc['MonitoringScheduleArn']} is Pending; update it once it is not")
            kind, endpoint = self._resolve(config)
            config.setdefault("MonitoringType", kind)
            target = "Stopped" if doc["MonitoringScheduleStatus"] == "Stopped" else "Scheduled"
            doc.update(MonitoringScheduleConfig=config, MonitoringType=kind, MonitoringScheduleStatus="Pending",
                       LastModifiedTime=utcnow())
            doc.pop("FailureReason", None)
            if endpoint is not None:
                doc["EndpointName"] = endpoint
            else:
                doc.pop("EndpointName", None)
        self._activate(name, target)
        return {"MonitoringScheduleArn": doc["MonitoringScheduleArn"]}

    def _set_status(self, name: str, status: str) -> None:
        with self.backend.changing(("monitoring-schedule", name)):
            doc = self._schedule(name)
            current = doc["MonitoringScheduleStatus"]
            if current in ("Pending", "Failed"):
                raise ValidationException(
                    f"Monitoring schedule {doc['MonitoringScheduleArn']} is {current}; it can be started or stopped "
                    "once it is Scheduled or Stopped"
                )
            if current != status:
                doc.update(MonitoringScheduleStatus=status, LastModifiedTime=utcnow())

    def start_schedule(self, name: str) -> None:
        self._set_status(name, "Scheduled")

    def stop_schedule(self, name: str) -> None:
        self._set_status(name, "Stopped")

    def delete_schedule(self, name: str) -> None:
        arn = self.backend.arn("monitoring-schedule", name)
        with self.backend.changing(("monitoring-schedule", name), ("tags", arn)):
            doc = self._schedule(name)
            del self.schedules[name]
            self._activated.pop(name, None)
            self.backend.tags.pop(doc["MonitoringScheduleArn"], None)

    def list_schedules(self, request: dict[str, Any]) -> dict[str, Any]:
        keys = ("MonitoringScheduleName", "MonitoringScheduleArn", "CreationTime", "LastModifiedTime",
                "MonitoringScheduleStatus", "EndpointName", "MonitoringType")
        with self.backend.lock:
            docs = list(self.schedules.values())
            if request.get("EndpointName"):
                docs = [d for d in docs if d.get("EndpointName") == request["EndpointName"]]
            if request.get("MonitoringJobDefinitionName"):
                docs = [d for d in docs if d["MonitoringScheduleConfig"].get("MonitoringJobDefinitionName")
                        == request["MonitoringJobDefinitionName"]]
            if request.get("MonitoringTypeEquals"):
                docs = [d for d in docs if d.get("MonitoringType") == request["MonitoringTypeEquals"]]
            page, token = paginate(docs, request, "MonitoringScheduleName", "MonitoringScheduleStatus")
            summaries = []
            for doc in page:
                summary = {k: doc[k] for k in keys if k in doc}
                if doc["MonitoringScheduleConfig"].get("MonitoringJobDefinitionName"):
                    summary["MonitoringJobDefinitionName"] = doc["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
                summaries.append(summary)
        return {"MonitoringScheduleSummaries": copy.deepcopy(summaries), "NextToken": token}

    def list_executions(self, request: dict[str, Any]) -> dict[str, Any]:
        """No monitoring job ever runs in the engine, so there are no executions to list (the schedule must exist)."""
        with self.backend.lock:
            if request.get("MonitoringScheduleName"):
                self._schedule(request["MonitoringScheduleName"])
        return {"MonitoringExecutionSummaries": []}

    def schedules_on(self, endpoint_name: str) -> list[str]:
        return sorted(n for n, d in self.schedules.items() if d.get("EndpointName") == endpoint_name)

    # ------------------------------------------------------------ persistence

    def arns(self) -> list[str]:
        return [d["MonitoringScheduleArn"] for d in self.schedules.values()] + [
            d["JobDefinitionArn"] for kind in MONITORING_TYPES for d in self.definitions[kind].values()
        ]

    def holders(self) -> dict[str, dict[str, Any]]:
        """The stored kinds this service owns (``RegionState.changing`` saves and restores through them)."""
        return {"monitoring-schedule": self.schedules, **{definition_kind(k): docs for k, docs in self.definitions.items()}}

    def restore(self, found: dict[str, dict[str, Any]]) -> list[str]:
        """Bring schedules back; one caught Pending by a stop settles now, as its checks had passed at create.

        Returns the schedules changed that way (to be saved)."""
        for kind, holder in self.holders().items():
            holder.update(found.get(kind, {}))
        settled = []
        for name, doc in self.schedules.items():
            if doc["MonitoringScheduleStatus"] == "Pending":
                doc["MonitoringScheduleStatus"] = "Scheduled"
                settled.append(name)
        return settled


def definition_kind(monitoring_type: str) -> str:
    """The stored kind of one monitoring type's job definitions."""
    return f"monitoring-job-definition/{monitoring_type}"
