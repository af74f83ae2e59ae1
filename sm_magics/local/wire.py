"""The AWS JSON-protocol wire format, driven by botocore's own service model.

Why the model and not hand-written checks: SageMaker validates every request
against the constraints published in its model (required members, lengths,
ranges, regex patterns, enums) and answers with one well-known message shape.
Walking the same model gives us all of that for every operation at once, and
serializing responses *through* the output shape guarantees that what we send
is what botocore (and SDK 3.x's strict pydantic parsing) expects: unknown
members are dropped, timestamps become epoch seconds, absent structures are
omitted rather than sent as ``{}``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape


class WireError(Exception):
    """An error the service answers with: HTTP status, AWS error code, message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@functools.lru_cache(maxsize=None)
def service_model(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


@functools.lru_cache(maxsize=None)
def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation)


# --------------------------------------------------------------------------- input


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _fmt(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return repr(value)
    return f"'{value}'"


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:  # a Java-only construct: the server would check it, we cannot
        return None


def _check(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    """Collect SageMaker-style constraint violations for one value."""
    meta = shape.metadata
    type_name = shape.type_name

    def fail(constraint: str) -> None:
        errors.append(f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: {constraint}")

    if type_name == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            fail("Member must be a structure")
            return
        for member in shape.required_members:
            if value.get(member) is None:
                sub = f"{path}.{_lower_camel(member)}" if path else _lower_camel(member)
                errors.append(f"Value null at '{sub}' failed to satisfy constraint: Member must not be null")
        for key, item in value.items():
            member_shape = shape.members.get(key)
            if member_shape is None or item is None:
                continue
            sub = f"{path}.{_lower_camel(key)}" if path else _lower_camel(key)
            _check(member_shape, item, sub, errors)
        return
    if type_name == "list":
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            fail("Member must be a list")
            return
        _check_length(meta, len(value), fail)
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{index}.member", errors)
        return
    if type_name == "map":
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            fail("Member must be a map")
            return
        _check_length(meta, len(value), fail)
        for key, item in value.items():
            _check(shape.key, key, f"{path}.key", errors)
            _check(shape.value, item, f"{path}.value", errors)
        return
    if type_name == "string":
        if not isinstance(value, str):
            fail("Member must be a string")
            return
        _check_length(meta, len(value), fail)
        if shape.enum and value not in shape.enum:
            fail(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        pattern = meta.get("pattern")
        compiled = _compiled(pattern) if pattern else None
        if compiled is not None and not compiled.fullmatch(value):
            fail(f"Member must satisfy regular expression pattern: {pattern}")
        return
    if type_name in ("integer", "long", "float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail("Member must be a number")
            return
        if "min" in meta and value < meta["min"]:
            fail(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            fail(f"Member must have value less than or equal to {meta['max']}")
        return
    if type_name == "boolean" and not isinstance(value, bool):
        fail("Member must be a boolean")


def _check_length(meta: dict[str, Any], length: int, fail: Any) -> None:
    if "min" in meta and length < meta["min"]:
        fail(f"Member must have length greater than or equal to {meta['min']}")
    if "max" in meta and length > meta["max"]:
        fail(f"Member must have length less than or equal to {meta['max']}")


def validate_input(service: str, operation: str, params: dict[str, Any]) -> None:
    """Raise a ValidationException worded as SageMaker words it."""
    shape = operation_model(service, operation).input_shape
    if shape is None:
        return
    errors: list[str] = []
    _check(shape, params, "", errors)
    if errors:
        count = len(errors)
        noun = "error" if count == 1 else "errors"
        raise WireError("ValidationException", f"{count} validation {noun} detected: " + "; ".join(errors))


def _parse_timestamps(shape: Shape, value: Any) -> Any:
    if value is None:
        return None
    if shape.type_name == "structure" and isinstance(value, dict):
        return {
            key: _parse_timestamps(shape.members[key], item) if key in shape.members else item  # type: ignore[attr-defined]
            for key, item in value.items()
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [_parse_timestamps(shape.member, item) for item in value]  # type: ignore[attr-defined]
    if shape.type_name == "timestamp":
        if isinstance(value, (int, float)):
            return _dt.datetime.fromtimestamp(value, tz=_dt.timezone.utc)
        if isinstance(value, str):
            parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)
    return value


def parse_input(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate a request and turn its wire timestamps into datetimes."""
    validate_input(service, operation, params)
    shape = operation_model(service, operation).input_shape
    return _parse_timestamps(shape, params) if shape is not None else params


# -------------------------------------------------------------------------- output


def _epoch(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.timestamp()
    return value


def _serialize(shape: Shape, value: Any) -> Any:
    if value is None:
        return None
    type_name = shape.type_name
    if type_name == "structure":
        assert isinstance(shape, StructureShape)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if name not in value:
                continue
            item = _serialize(member, value[name])
            if item is None or (member.type_name == "structure" and item == {}):
                continue  # absent structures are omitted, never sent as {}
            out[name] = item
        return out
    if type_name == "list":
        assert isinstance(shape, ListShape)
        return [_serialize(shape.member, item) for item in value]
    if type_name == "map":
        assert isinstance(shape, MapShape)
        return {key: _serialize(shape.value, item) for key, item in value.items()}
    if type_name == "timestamp":
        return _epoch(value)
    return value


def serialize_output(service: str, operation: str, result: dict[str, Any] | None) -> dict[str, Any]:
    """Shape a backend result into exactly the members the operation's output declares."""
    shape = operation_model(service, operation).output_shape
    if shape is None or result is None:
        return {}
    return _serialize(shape, result)
