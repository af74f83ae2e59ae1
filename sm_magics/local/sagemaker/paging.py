"""Pagination as every SageMaker List* / Search call does it: filters, sort, NextToken.

One module for every service (models, tuning, transform, registry, monitoring, search), so a
NextToken means the same everywhere and none of them imports another to page.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

from .exceptions import ValidationException


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except Exception:
        raise ValidationException("The NextToken is not valid; pass the NextToken of a previous response unchanged.") from None


def paginate(
    docs: list[dict[str, Any]],
    request: dict[str, Any],
    name_key: str,
    status_key: str | None,
    default_sort: tuple[str, str] = ("CreationTime", "Descending"),
) -> tuple[list[dict[str, Any]], str | None]:
    """Filter, sort and cut one page, as every SageMaker List* call does."""
    contains = (request.get("NameContains") or "").lower()
    status = request.get("StatusEquals")
    after, before = request.get("CreationTimeAfter"), request.get("CreationTimeBefore")
    modified_after, modified_before = request.get("LastModifiedTimeAfter"), request.get("LastModifiedTimeBefore")
    chosen = []
    for doc in docs:
        if contains and contains not in doc[name_key].lower():
            continue
        if status and status_key and doc.get(status_key) != status:
            continue
        created = doc["CreationTime"]
        if after and created <= after or before and created >= before:
            continue
        modified = doc.get("LastModifiedTime", created)
        if modified_after and modified <= modified_after or modified_before and modified >= modified_before:
            continue
        chosen.append(doc)
    sort_by = request.get("SortBy", default_sort[0])
    key: Callable[[dict[str, Any]], Any] = {
        "Name": lambda d: d[name_key].lower(),
        "Status": lambda d: d.get(status_key or "", ""),
    }.get(sort_by, lambda d: d["CreationTime"])
    chosen.sort(key=key, reverse=request.get("SortOrder", default_sort[1]) == "Descending")
    start = decode_token(request.get("NextToken"))
    size = request.get("MaxResults") or 10
    page = chosen[start : start + size]
    return page, (encode_token(start + size) if start + size < len(chosen) else None)
