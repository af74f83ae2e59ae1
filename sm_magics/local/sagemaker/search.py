"""SageMaker ``Search`` over the resources the engine keeps, with SageMaker's filter semantics.

SDK 2.x reaches Search from ``Model.register()``: it asks whether a model
package group exists (``Resource='ModelPackageGroup'``, a
``ModelPackageGroupName Equals`` filter) before creating it. Search works on
the Describe documents the services already hold (plus their tags), so every
property a Describe shows can be filtered on by its dotted name.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .exceptions import ValidationException
from .paging import decode_token, encode_token

if TYPE_CHECKING:
    from .models import SageMakerBackend


def _sources(backend: "SageMakerBackend") -> dict[str, Callable[[], Iterable[tuple[dict[str, Any], str]]]]:
    """Resource -> the (document, ARN) pairs Search looks through."""
    return {
        "ModelPackageGroup": lambda: ((d, d["ModelPackageGroupArn"]) for d in backend.registry.groups.values()),
        "ModelPackage": lambda: ((d, d["ModelPackageArn"]) for d in backend.registry.packages.values()),
        "TrainingJob": lambda: ((j.doc, j.doc["TrainingJobArn"]) for j in backend.training_jobs.values()),
    }


def _lookup(doc: Any, path: str) -> list[Any]:
    """Values at a dotted property path; lists are searched through, as SageMaker does for nested members."""
    values = [doc]
    for part in path.split("."):
        found = []
        for value in values:
            if isinstance(value, list):
                value = [v.get(part) for v in value if isinstance(v, dict)]
                found.extend(v for v in value if v is not None)
            elif isinstance(value, dict) and value.get(part) is not None:
                found.append(value[part])
        values = [v for item in found for v in (item if isinstance(item, list) else [item])]
    return values


def _compare(value: Any, wanted: str) -> int:
    if isinstance(value, dt.datetime):
        other = dt.datetime.fromisoformat(wanted.replace("Z", "+00:00"))
        other = other if other.tzinfo else other.replace(tzinfo=dt.timezone.utc)
        return (value > other) - (value < other)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(wanted)
        return (value > number) - (value < number)
    text = str(value)
    return (text > wanted) - (text < wanted)


def _matches(record: dict[str, Any], condition: dict[str, Any]) -> bool:
    operator = condition.get("Operator", "Equals")
    values = _lookup(record, condition["Name"])
    if operator == "Exists":
        return bool(values)
    if operator == "NotExists":
        return not values
    wanted = condition.get("Value")
    if wanted is None:
        raise ValidationException(f"The {operator} filter on '{condition['Name']}' needs a Value")
    try:
        if operator == "Equals":
            return any(_compare(v, wanted) == 0 for v in values)
        if operator == "NotEquals":
            return all(_compare(v, wanted) != 0 for v in values)
        if operator == "Contains":
            return any(wanted in str(v) for v in values)
        if operator == "In":
            options = [w.strip() for w in wanted.split(",")]
            return any(_compare(v, w) == 0 for v in values for w in options)
        comparisons = {
            "GreaterThan": lambda c: c > 0, "GreaterThanOrEqualTo": lambda c: c >= 0,
            "LessThan": lambda c: c < 0, "LessThanOrEqualTo": lambda c: c <= 0,
        }
        if operator in comparisons:
            return any(comparisons[operator](_compare(v, wanted)) for v in values)
    except ValueError:
        raise ValidationException(f"The value '{wanted}' cannot be compared with property '{condition['Name']}'") from None
    raise ValidationException(f"The local engine's Search does not support the operator {operator}")


def _expression_matches(record: dict[str, Any], expression: dict[str, Any]) -> bool:
    if expression.get("NestedFilters"):
        raise ValidationException("The local engine's Search does not support NestedFilters; use Filters with dotted property names")
    results = [_matches(record, f) for f in expression.get("Filters") or []]
    results += [_expression_matches(record, sub) for sub in expression.get("SubExpressions") or []]
    if not results:
        return True
    return any(results) if expression.get("Operator") == "Or" else all(results)


def search(backend: "SageMakerBackend", request: dict[str, Any]) -> dict[str, Any]:
    resource = request["Resource"]
    sources = _sources(backend)
    if resource not in sources:
        raise ValidationException(
            f"The local engine's Search covers {', '.join(sorted(sources))}; it does not search {resource}"
        )
    expression = request.get("SearchExpression") or {}
    with backend.lock:
        records = []
        for doc, arn in sources[resource]():
            record = copy.deepcopy(doc)
            if backend.tags.get(arn):
                record["Tags"] = copy.deepcopy(backend.tags[arn])
            if _expression_matches(record, expression):
                records.append(record)
    sort_by = request.get("SortBy") or "CreationTime"
    present = [r for r in records if _lookup(r, sort_by)]
    absent = [r for r in records if not _lookup(r, sort_by)]
    present.sort(key=lambda r: _lookup(r, sort_by)[0], reverse=request.get("SortOrder", "Descending") == "Descending")
    records = present + absent
    start = decode_token(request.get("NextToken"))
    size = request.get("MaxResults") or 10
    page = records[start : start + size]
    token = encode_token(start + size) if start + size < len(records) else None
    return {"Results": [{resource: record} for record in page], "NextToken": token, "TotalHits": {"Value": len(records), "Relation": "EqualTo"}}
