"""Resource Groups Tagging API (``tagging:GetResources``) for the engine's SageMaker resources.

Why: listing the tags of N endpoints costs N ``ListTags`` calls, but one
``GetResources`` page per 100 resources on AWS. The panel and ``sm-magics
endpoints list`` use it to stay fast with hundreds of endpoints, so the engine
answers it the way AWS does for SageMaker resource types. Requests for other
resource types (S3 buckets, log groups) are left to moto.
"""

from __future__ import annotations

import base64
import copy
from typing import TYPE_CHECKING, Any

from .wire import WireError, parse_input, serialize_output

if TYPE_CHECKING:
    from .sagemaker.models import SageMakerBackend

SERVICE = "resourcegroupstaggingapi"
TARGET_PREFIX = "ResourceGroupsTaggingAPI_20170126."


def handles(target: str, body: dict[str, Any]) -> bool:
    """True when every requested resource type is a SageMaker one (so the answer is all ours)."""
    if target != TARGET_PREFIX + "GetResources":
        return False
    filters = body.get("ResourceTypeFilters") or []
    return bool(filters) and all(str(f).split(":", 1)[0] == "sagemaker" for f in filters)


def _resource_type(arn: str) -> str:
    """``arn:aws:sagemaker:r:acct:endpoint/name`` -> ``sagemaker:endpoint``."""
    parts = arn.split(":", 5)
    return f"{parts[2]}:{parts[5].split('/', 1)[0]}"


def _matches_type(arn: str, filters: list[str]) -> bool:
    kind = _resource_type(arn)
    return any(kind == wanted or wanted == "sagemaker" for wanted in filters)


def _matches_tags(tags: list[dict[str, str]], filters: list[dict[str, Any]]) -> bool:
    by_key = {t["Key"]: t.get("Value", "") for t in tags}
    for wanted in filters:
        if wanted["Key"] not in by_key:
            return False
        values = wanted.get("Values") or []
        if values and by_key[wanted["Key"]] not in values:
            return False
    return True


def get_resources(backend: SageMakerBackend, body: dict[str, Any]) -> dict[str, Any]:
    request = parse_input(SERVICE, "GetResources", body)
    if request.get("ResourceARNList"):
        raise WireError("InvalidParameterException", "The local engine supports GetResources with ResourceTypeFilters only")
    types = request.get("ResourceTypeFilters") or []
    tag_filters = request.get("TagFilters") or []
    with backend.lock:
        known = set(backend._known_arns())
        # As on AWS, only resources that carry tags are returned.
        mappings = [
            {"ResourceARN": arn, "Tags": copy.deepcopy(tags)}
            for arn, tags in sorted(backend.tags.items())
            if tags and arn in known and _matches_type(arn, types) and _matches_tags(tags, tag_filters)
        ]
    size = request.get("ResourcesPerPage") or 50
    token = request.get("PaginationToken") or ""
    try:
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        raise WireError("InvalidParameterException", "The PaginationToken is not valid") from None
    end = start + size
    next_token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(mappings) else ""
    return serialize_output(SERVICE, "GetResources", {"ResourceTagMappingList": mappings[start:end], "PaginationToken": next_token})
