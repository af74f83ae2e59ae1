"""What SageMaker's built-in algorithm containers promise, apart from how they compute.

Both sides read these facts: the engine's containers (``sm_magics.local.algorithms``) validate
a job's hyperparameters and channels with them, and the workflow checks a cell against the same
rules before anything is uploaded or billed. Nothing here imports the engine, the workflow or
the magics, and nothing here needs numpy: the client side imports it cheaply.
"""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass
from typing import Any, Mapping


class ClientError(Exception):
    """A mistake of the caller (hyperparameters, data): FailureReason 'ClientError: ...'."""


class AlgorithmSpec(abc.ABC):
    """One built-in algorithm's contract for one image version: channels, hyperparameters, metrics."""

    name: str
    required_channels: tuple[str, ...] = ("train",)
    optional_channels: tuple[str, ...] = ()
    # What the service attaches as AlgorithmSpecification.MetricDefinitions for this algorithm,
    # and what hyperparameter tuning can use as objectives.
    metric_definitions: tuple[dict[str, str], ...] = ()

    def __init__(self, version: str = "1") -> None:
        self.version = version

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self.required_channels) + tuple(self.optional_channels)

    @abc.abstractmethod
    def validate(self, hyperparameters: Mapping[str, str]) -> dict[str, Any]:
        """Parse the string hyperparameters as the container does; raise ClientError."""

    def check_channels(self, channel_names: list[str]) -> None:
        known = set(self.required_channels) | set(self.optional_channels)
        missing = [name for name in self.required_channels if name not in channel_names]
        if missing:
            raise ClientError(
                f"Missing required channel(s) {', '.join(repr(m) for m in missing)}; "
                f"{self.name} reads {', '.join(repr(k) for k in sorted(known))}"
            )
        extra = [name for name in channel_names if name not in known]
        if extra:
            raise ClientError(
                f"Channel(s) {', '.join(repr(e) for e in extra)} are not supported by {self.name}; "
                f"it reads {', '.join(repr(k) for k in sorted(known))}"
            )


# --------------------------------------------------------------- hyperparameter parsing (first-party containers)


@dataclass(frozen=True)
class Param:
    """One hyperparameter of a container's schema."""

    kind: str  # "int", "float", "bool", "choice", "json_list"
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_min: bool = False
    choices: tuple[str, ...] = ()
    allow_auto: bool = False
    describe: str = ""


def parse_hyperparameters(
    algorithm: str, schema: Mapping[str, Param], raw: Mapping[str, str], hidden_prefix: str = "_"
) -> dict[str, Any]:
    """Validate string hyperparameters against a schema with the container's messages."""
    unexpected = [key for key in raw if key not in schema and not key.startswith(hidden_prefix)]
    if unexpected:
        import difflib

        hints = []
        for key in unexpected:
            close = difflib.get_close_matches(key, list(schema), n=1)
            hints.append(f"'{key}' was unexpected" + (f"; did you mean '{close[0]}'?" if close else ""))
        raise ClientError(f"Additional properties are not allowed ({', '.join(hints)}) (caused by ValidationError)")
    missing = [key for key, param in schema.items() if param.required and raw.get(key) in (None, "")]
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        raise ClientError(
            f"No value(s) were specified for {names} which are required hyperparameter(s) (caused by ValidationError)"
        )
    parsed: dict[str, Any] = {}
    for key, param in schema.items():
        value = raw.get(key)
        parsed[key] = param.default if value is None else _parse_one(key, param, str(value))
    return parsed


def _parse_one(key: str, param: Param, text: str) -> Any:
    def bad(expected: str) -> ClientError:
        return ClientError(
            f"Hyperparameter '{key}': '{text}' is not valid under any of the given schemas; "
            f"expected {expected} (caused by ValidationError)"
        )

    stripped = text.strip()
    if param.allow_auto and stripped.lower() == "auto":
        return "auto"
    auto = " or 'auto'" if param.allow_auto else ""
    if param.kind == "bool":
        lowered = stripped.lower()
        if lowered not in ("true", "false", "1", "0"):
            raise bad("true or false")
        return lowered in ("true", "1")
    if param.kind == "choice":
        if stripped not in param.choices:
            raise bad("one of " + ", ".join(param.choices) + auto)
        return stripped
    if param.kind == "json_list":
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            value = [part.strip().strip("'\"") for part in stripped.strip("[]").split(",") if part.strip()]
        if not isinstance(value, list) or not value or any(item not in param.choices for item in value):
            raise bad("a JSON list drawn from " + ", ".join(param.choices))
        return value
    if param.kind == "int":
        try:
            number: float = int(stripped)
        except ValueError:
            try:
                as_float = float(stripped)
            except ValueError:
                raise bad(f"an integer{_range_text(param)}{auto}") from None
            if not as_float.is_integer():
                raise bad(f"an integer{_range_text(param)}{auto}") from None
            number = int(as_float)
    else:
        try:
            number = float(stripped)
        except ValueError:
            raise bad(f"a number{_range_text(param)}{auto}") from None
        if number != number:  # NaN
            raise bad(f"a number{_range_text(param)}")
    if param.minimum is not None and (number < param.minimum or (param.exclusive_min and number == param.minimum)):
        raise bad(f"{'an integer' if param.kind == 'int' else 'a number'}{_range_text(param)}{auto}")
    if param.maximum is not None and number > param.maximum:
        raise bad(f"{'an integer' if param.kind == 'int' else 'a number'}{_range_text(param)}{auto}")
    return number


def _range_text(param: Param) -> str:
    if param.minimum is not None and param.maximum is not None:
        return f" in [{param.minimum:g}, {param.maximum:g}]"
    if param.minimum is not None:
        return f" {'>' if param.exclusive_min else '>='} {param.minimum:g}"
    if param.maximum is not None:
        return f" <= {param.maximum:g}"
    return ""
