"""The model registry: model package groups and the model packages registered into them.

What the SDKs' registry paths need, with SageMaker's rules: a package created
with ``ModelPackageGroupName`` is a *version* of that group, numbered 1, 2, ...
per group and never reused after a delete; its ARN is
``model-package/<group>/<version>`` and it starts ``PendingManualApproval``
unless the request says otherwise. A package created with ``ModelPackageName``
is unversioned and carries no approval status. ``CreateModel`` may name a
package instead of an image (SDK 2.x ``ModelPackage.deploy``), which
:meth:`RegistryService.container_for_model` resolves to the package's image and
model data.

The engine runs no validation transform jobs and no image scans, so a package
is ``Completed`` as soon as it is created; a request that asks for validation
(``ValidationSpecification`` without ``SkipModelValidation='All'``) is refused
rather than reported as validated.

State is the Describe documents, in dicts (``holders``) that the backend's
``_changing`` saves record by record before a request answers.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from .. import settings
from ..runtime.model_data import ModelDataError, parse_model_data_url
from .exceptions import ValidationException, already_exists, could_not_find
from .paging import paginate
from .records import utcnow

if TYPE_CHECKING:
    from .ports import RegionState

_GROUP_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:[^:]*:\d{12}:model-package-group/([^/]+)")

APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")


def created_by() -> dict[str, Any]:
    """UserContext of the engine's one caller: the assumed-role session every request is signed as."""
    return {
        "IamIdentity": {
            "Arn": f"arn:aws:sts::{settings.ACCOUNT_ID}:assumed-role/{settings.ROLE_NAME}/{settings.ROLE_SESSION}"
        }
    }


def _check_spec(spec: dict[str, Any] | None) -> None:
    """An InferenceSpecification the engine could host later: each container names an image and a well-formed model URL."""
    for index, container in enumerate((spec or {}).get("Containers") or [], start=1):
        if not container.get("Image"):
            raise ValidationException(
                f"InferenceSpecification.Containers.{index}.Image is required; the local engine hosts built-in algorithm images"
            )
        if container.get("ModelDataUrl"):
            try:
                parse_model_data_url(container["ModelDataUrl"])
            except ModelDataError as exc:
                raise ValidationException(f"InferenceSpecification.Containers.{index}.ModelDataUrl: {exc}") from None


class RegistryService:
    """Model package groups and model packages of one region."""

    def __init__(self, backend: "RegionState") -> None:
        self.backend = backend
        self.groups: dict[str, dict[str, Any]] = {}  # group name -> DescribeModelPackageGroup document
        self.packages: dict[str, dict[str, Any]] = {}  # package ARN -> DescribeModelPackage document
        self.last_version: dict[str, int] = {}  # group name -> highest version ever issued

    # ------------------------------------------------------------------ names

    def _group_name(self, name_or_arn: str) -> str:
        match = _GROUP_ARN.fullmatch(name_or_arn)
        if match:
            wanted = match.group(1)
            return next((n for n in self.groups if n.lower() == wanted), wanted)
        return name_or_arn

    def _package(self, name_or_arn: str) -> dict[str, Any]:
        """The package a ModelPackageName / ModelPackageArn member names (an unversioned name, or any ARN)."""
        if name_or_arn.startswith("arn:"):
            doc = self.packages.get(name_or_arn.lower()) or self.packages.get(name_or_arn)
        else:
            doc = self.packages.get(self.backend.arn("model-package", name_or_arn))
        if doc is None:
            arn = name_or_arn if name_or_arn.startswith("arn:") else self.backend.arn("model-package", name_or_arn)
            raise could_not_find("model package", arn)
        return doc

    # ----------------------------------------------------------------- groups

    def create_group(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ModelPackageGroupName"]
        arn = self.backend.arn("model-package-group", name)
        now = utcnow()
        doc: dict[str, Any] = {
            "ModelPackageGroupName": name,
            "ModelPackageGroupArn": arn,
            "CreationTime": now,
            "CreatedBy": created_by(),
            "ModelPackageGroupStatus": "Completed",
        }
        for optional in ("ModelPackageGroupDescription", "ManagedConfiguration"):
            if request.get(optional):
                doc[optional] = request[optional]
        with self.backend.changing(("model-package-group", name), ("tags", arn)):
            if name in self.groups:
                raise already_exists("model package group", arn)
            self.groups[name] = doc
            self.backend.set_tags(arn, request.get("Tags") or [])
        return {"ModelPackageGroupArn": arn}

    def _group(self, name_or_arn: str) -> dict[str, Any]:
        name = self._group_name(name_or_arn)
        doc = self.groups.get(name)
        if doc is None:
            raise could_not_find("model package group", self.backend.arn("model-package-group", name))
        return doc

    def describe_group(self, name_or_arn: str) -> dict[str, Any]:
        with self.backend.lock:
            return copy.deepcopy(self._group(name_or_arn))

    def delete_group(self, name_or_arn: str) -> None:
        with self.backend.lock:
            doc = self._group(name_or_arn)
            name = doc["ModelPackageGroupName"]
        with self.backend.changing(("model-package-group", name), ("model-package-version", name),
                                    ("tags", doc["ModelPackageGroupArn"])):
            doc = self._group(name)
            versions = [p for p in self.packages.values() if p.get("ModelPackageGroupName") == name]
            if versions:
                raise ValidationException(
                    f"Model package group {doc['ModelPackageGroupArn']} still contains {len(versions)} model package "
                    "version(s); delete them with DeleteModelPackage first."
                )
            del self.groups[name]
            self.last_version.pop(name, None)
            self.backend.tags.pop(doc["ModelPackageGroupArn"], None)

    def list_groups(self, request: dict[str, Any]) -> dict[str, Any]:
        keys = ("ModelPackageGroupName", "ModelPackageGroupArn", "ModelPackageGroupDescription", "CreationTime",
                "ModelPackageGroupStatus")
        with self.backend.lock:
            page, token = paginate(list(self.groups.values()), request, "ModelPackageGroupName", None)
            summaries = [{k: d[k] for k in keys if k in d} for d in page]
        return {"ModelPackageGroupSummaryList": copy.deepcopy(summaries), "NextToken": token}

    # --------------------------------------------------------------- packages

    def create_package(self, request: dict[str, Any]) -> dict[str, Any]:
        backend = self.backend
        group_ref, name = request.get("ModelPackageGroupName"), request.get("ModelPackageName")
        if group_ref and name:
            raise ValidationException(
                "Both ModelPackageName and ModelPackageGroupName are provided in the input. Cannot determine which one to use."
            )
        if not group_ref and not name:
            raise ValidationException(
                "Missing ARN: give ModelPackageGroupName (a versioned package in a group) or ModelPackageName "
                "(an unversioned package)."
            )
        if request.get("ValidationSpecification") and request.get("SkipModelValidation") != "All":
            raise ValidationException(
                "The local engine does not run a model package's validation transform jobs; "
                "pass SkipModelValidation='All' or leave out ValidationSpecification."
            )
        if request.get("SourceAlgorithmSpecification") and not request.get("InferenceSpecification"):
            raise ValidationException(
                "The local engine hosts model packages by their InferenceSpecification; "
                "packages built from an algorithm resource (SourceAlgorithmSpecification) alone are not supported."
            )
        _check_spec(request.get("InferenceSpecification"))
        now = utcnow()
        doc: dict[str, Any] = {
            "CreationTime": now,
            "LastModifiedTime": now,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "CertifyForMarketplace": bool(request.get("CertifyForMarketplace", False)),
            "CreatedBy": created_by(),
            "LastModifiedBy": created_by(),
        }
        for optional in (
            "ModelPackageDescription", "InferenceSpecification", "SourceAlgorithmSpecification", "ValidationSpecification",
            "MetadataProperties", "ModelMetrics", "Domain", "Task", "SamplePayloadUrl", "CustomerMetadataProperties",
            "DriftCheckBaselines", "AdditionalInferenceSpecifications", "SkipModelValidation", "SourceUri",
            "SecurityConfig", "ModelCard", "ModelLifeCycle", "ModelPackageRegistrationType",
        ):
            if request.get(optional) is not None:
                doc[optional] = copy.deepcopy(request[optional])
        with backend.lock:  # the version number and ARN first: they name the records the change saves
            if group_ref:
                group_name = self._group(group_ref)["ModelPackageGroupName"]
                arn = f"{backend.arn('model-package', group_name)}/{self.last_version.get(group_name, 0) + 1}"
                keys = [("model-package", arn), ("model-package-version", group_name), ("tags", arn)]
            else:
                arn = backend.arn("model-package", name)
                keys = [("model-package", arn), ("tags", arn)]
            self._create_package(request, doc, group_ref, name, keys)
        return {"ModelPackageArn": arn}

    def _create_package(self, request: dict[str, Any], doc: dict[str, Any], group_ref: str | None, name: str,
                        keys: list[tuple[str, str]]) -> None:
        backend = self.backend
        with backend.changing(*keys):
            if group_ref:
                group = self._group(group_ref)
                group_name = group["ModelPackageGroupName"]
                version = self.last_version.get(group_name, 0) + 1
                arn = f"{backend.arn('model-package', group_name)}/{version}"
                doc.update(
                    ModelPackageName=group_name,
                    ModelPackageGroupName=group_name,
                    ModelPackageVersion=version,
                    ModelPackageArn=arn,
                    ModelApprovalStatus=request.get("ModelApprovalStatus") or "PendingManualApproval",
                )
                doc.setdefault("ModelPackageRegistrationType", "Registered")
                self.last_version[group_name] = version
            else:
                if request.get("ModelApprovalStatus"):
                    raise ValidationException(
                        "ModelApprovalStatus applies to versioned model packages only; "
                        "create the package in a group with ModelPackageGroupName."
                    )
                arn = backend.arn("model-package", name)
                if arn in self.packages:
                    raise already_exists("model package", arn)
                doc.update(ModelPackageName=name, ModelPackageArn=arn)
            self.packages[arn] = doc
            backend.set_tags(arn, request.get("Tags") or [])

    def describe_package(self, name_or_arn: str) -> dict[str, Any]:
        with self.backend.lock:
            return copy.deepcopy(self._package(name_or_arn))

    def update_package(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.backend.lock:
            arn = self._package(request["ModelPackageArn"])["ModelPackageArn"]
        with self.backend.changing(("model-package", arn)):
            doc = self._package(arn)
            versioned = "ModelPackageVersion" in doc
            if ("ModelApprovalStatus" in request or "ApprovalDescription" in request) and not versioned:
                raise ValidationException(
                    f"Model package {doc['ModelPackageArn']} is unversioned; only versioned model packages "
                    "have an approval status."
                )
            if request.get("ModelApprovalStatus"):
                doc["ModelApprovalStatus"] = request["ModelApprovalStatus"]
            if request.get("ApprovalDescription") is not None:
                doc["ApprovalDescription"] = request["ApprovalDescription"]
            metadata = dict(doc.get("CustomerMetadataProperties") or {})
            metadata.update(request.get("CustomerMetadataProperties") or {})
            for key in request.get("CustomerMetadataPropertiesToRemove") or []:
                metadata.pop(key, None)
            if metadata:
                doc["CustomerMetadataProperties"] = metadata
            else:
                doc.pop("CustomerMetadataProperties", None)
            if request.get("AdditionalInferenceSpecificationsToAdd"):
                existing = doc.setdefault("AdditionalInferenceSpecifications", [])
                names = {spec["Name"] for spec in existing}
                for spec in request["AdditionalInferenceSpecificationsToAdd"]:
                    if spec["Name"] in names:
                        raise ValidationException(
                            f"An additional inference specification named '{spec['Name']}' already exists on this package"
                        )
                    existing.append(copy.deepcopy(spec))
            _check_spec(request.get("InferenceSpecification"))
            for member in ("InferenceSpecification", "SourceUri", "ModelCard", "ModelLifeCycle", "ModelPackageRegistrationType"):
                if request.get(member) is not None:
                    doc[member] = copy.deepcopy(request[member])
            doc["LastModifiedTime"] = utcnow()
            doc["LastModifiedBy"] = created_by()
        return {"ModelPackageArn": arn}

    def delete_package(self, name_or_arn: str) -> None:
        with self.backend.lock:
            arn = self._package(name_or_arn)["ModelPackageArn"]
        with self.backend.changing(("model-package", arn), ("tags", arn)):
            self._package(arn)
            del self.packages[arn]
            self.backend.tags.pop(arn, None)

    def list_packages(self, request: dict[str, Any]) -> dict[str, Any]:
        """ListModelPackages: a group's versions when a group is named, else unversioned packages by default."""
        keys = ("ModelPackageName", "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn",
                "ModelPackageDescription", "CreationTime", "ModelPackageStatus", "ModelApprovalStatus",
                "ModelLifeCycle", "ModelPackageRegistrationType")
        with self.backend.lock:
            docs = list(self.packages.values())
            group_ref = request.get("ModelPackageGroupName")
            kind = request.get("ModelPackageType")
            if group_ref:
                group = self._group_name(group_ref)
                docs = [d for d in docs if d.get("ModelPackageGroupName") == group]
                if kind == "Unversioned":
                    docs = []
            else:
                kind = kind or "Unversioned"
                if kind == "Versioned":
                    docs = [d for d in docs if "ModelPackageVersion" in d]
                elif kind == "Unversioned":
                    docs = [d for d in docs if "ModelPackageVersion" not in d]
            if request.get("ModelApprovalStatus"):
                docs = [d for d in docs if d.get("ModelApprovalStatus") == request["ModelApprovalStatus"]]
            page, token = paginate(docs, request, "ModelPackageName", None)
            # a version's summary names it by ARN, group and number only: SageMaker leaves ModelPackageName out
            summaries = [{k: d[k] for k in keys if k in d and not (k == "ModelPackageName" and "ModelPackageVersion" in d)}
                         for d in page]
        return {"ModelPackageSummaryList": copy.deepcopy(summaries), "NextToken": token}

    # ------------------------------------------------------- CreateModel link

    def container_for_model(self, container: dict[str, Any]) -> dict[str, Any]:
        """A CreateModel container that names ModelPackageName, with the package's image and model data filled in.

        SageMaker serves such a model from the package's inference container; an
        unapproved version cannot be deployed (SDK 2.x approves it before
        CreateModel for exactly that reason).
        """
        with self.backend.lock:
            doc = copy.deepcopy(self._package(container["ModelPackageName"]))
        if doc["ModelPackageStatus"] != "Completed":
            raise ValidationException(
                f"Model package {doc['ModelPackageArn']} is {doc['ModelPackageStatus']}; only a Completed package can back a model."
            )
        if "ModelPackageVersion" in doc and doc.get("ModelApprovalStatus") != "Approved":
            raise ValidationException(
                f"Model package {doc['ModelPackageArn']} is {doc.get('ModelApprovalStatus')}; approve it "
                "(UpdateModelPackage ModelApprovalStatus='Approved') before creating a model from it."
            )
        containers = (doc.get("InferenceSpecification") or {}).get("Containers") or []
        if len(containers) != 1:
            raise ValidationException(
                f"Model package {doc['ModelPackageArn']} has {len(containers)} inference containers; "
                "the local engine hosts packages with exactly one"
            )
        source = containers[0]
        resolved = {k: v for k, v in container.items() if k not in ("Image", "ModelDataUrl")}
        resolved["ModelPackageName"] = doc["ModelPackageArn"]
        resolved["Image"] = source["Image"]
        if source.get("ModelDataUrl"):
            resolved["ModelDataUrl"] = source["ModelDataUrl"]
        resolved["Environment"] = {**(source.get("Environment") or {}), **(container.get("Environment") or {})}
        return resolved

    # ------------------------------------------------------------ persistence

    def arns(self) -> list[str]:
        return [d["ModelPackageGroupArn"] for d in self.groups.values()] + list(self.packages)

    def holders(self) -> dict[str, dict[str, Any]]:
        """The stored kinds this service owns (``RegionState.changing`` saves and restores through them)."""
        return {"model-package-group": self.groups, "model-package": self.packages, "model-package-version": self.last_version}

    def restore(self, found: dict[str, dict[str, Any]]) -> None:
        for kind, holder in self.holders().items():
            holder.update(found.get(kind, {}))
