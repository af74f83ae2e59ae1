"""Parsing a magic's cell body into a spec: ``key: value`` lines, ranges, channels.

Pure text handling (no IPython, no AWS), so every rule is testable on its
own and every error names the cell line it comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .i18n import _

_LINE = re.compile(r"^\s*(?P<key>[A-Za-z_][\w.-]*)\s*:\s*(?P<value>.*?)\s*$")


class CellError(ValueError):
    """A problem in the cell, with its 1-based line number."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(_("line {line}: {message}").format(line=line, message=message) if line else message)
        self.line = line


def is_declarative(body: str) -> bool:
    """True when every meaningful line is ``key: value`` (otherwise the body is Python code)."""
    lines = [line for line in body.splitlines() if line.strip() and not line.strip().startswith("#")]
    return bool(lines) and all(_LINE.match(line) and "=" not in line.split(":", 1)[0] for line in lines)


@dataclass
class Entry:
    line: int
    key: str
    value: str


def entries(body: str) -> list[Entry]:
    found: list[Entry] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(body.splitlines(), start=1):
        text = line.split(" #", 1)[0].strip() if " #" in line else line.strip()
        if not text or text.startswith("#"):
            continue
        match = _LINE.match(text)
        if not match:
            raise CellError(number, _("expected `name: value`, got {text}").format(text=repr(text)))
        key = match["key"]
        if key in seen:
            raise CellError(number, _("'{key}' is already set on line {line}").format(key=key, line=seen[key]))
        seen[key] = number
        found.append(Entry(number, key, match["value"]))
    return found


@dataclass
class Range:
    kind: str  # "Continuous", "Integer", "Categorical"
    name: str
    low: str = ""
    high: str = ""
    scaling: str = "Auto"
    values: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        if self.kind == "Categorical":
            return {"Name": self.name, "Values": self.values}
        return {"Name": self.name, "MinValue": self.low, "MaxValue": self.high, "ScalingType": self.scaling}


_SCALING = {"log": "Logarithmic", "linear": "Linear", "reverse-log": "ReverseLogarithmic", "auto": "Auto"}


def parse_range(entry: Entry) -> Range | None:
    """``1e-5..1 log``, ``100..2000 int``, ``sgd|adam``; None when the value is a plain fixed value."""
    value = entry.value
    if value.startswith("s3://"):  # a channel's URI: its key may hold `..` or `|`
        return None
    if "|" in value:
        options = [v.strip() for v in value.split("|")]
        if any(not v for v in options):
            raise CellError(entry.line, _("empty choice in {value}; write choices like `sgd|adam`").format(value=repr(value)))
        return Range("Categorical", entry.key, values=options)
    match = re.fullmatch(r"(?P<low>[^\s.][^\s]*?)\s*\.\.\s*(?P<high>[^\s]+)(?P<flags>(\s+\w[\w-]*)*)", value)
    if not match:
        if re.fullmatch(r"\s*(-?[\d.][\w.+-]*)?\s*\.\.\s*(-?[\d][\w.+-]*)?(\s+\w[\w-]*)*\s*", value) and "..." not in value:
            # `2..` or `..5`: a range with a bound missing, not a fixed value
            raise CellError(entry.line, _("{value} is not a range: write both bounds, e.g. `{key}: 1..10 int`").format(
                value=repr(value), key=entry.key))
        return None
    flags = match["flags"].split()
    is_int = "int" in flags
    scaling = "Auto"
    for flag in flags:
        if flag in _SCALING:
            scaling = _SCALING[flag]
        elif flag != "int":
            raise CellError(entry.line, _("unknown range option '{flag}'; use int, log, linear or reverse-log").format(flag=flag))
    try:
        low, high = (int(match["low"]), int(match["high"])) if is_int else (float(match["low"]), float(match["high"]))
    except ValueError:
        message = (_("range bounds of '{key}' must be integers: {value}") if is_int
                   else _("range bounds of '{key}' must be numbers: {value}"))
        raise CellError(entry.line, message.format(key=entry.key, value=repr(value))) from None
    if low > high:
        raise CellError(entry.line, _("range of '{key}' goes from {low} down to {high}; write low..high").format(key=entry.key, low=low, high=high))
    if scaling == "Logarithmic" and low <= 0:
        raise CellError(entry.line, _("a log range needs a lower bound above 0 (got {low})").format(low=low))
    return Range("Integer" if is_int else "Continuous", entry.key, str(low), str(high), scaling)


def evaluate_channel(entry: Entry, evaluate: Callable[[str], Any]) -> Any:
    """Evaluate a channel's expression in the notebook's namespace, naming the line on failure."""
    try:
        return evaluate(entry.value)
    except NameError as exc:
        raise CellError(entry.line, _("{error} — define it in an earlier cell").format(error=exc)) from None
    except Exception as exc:
        raise CellError(entry.line, _("`{expression}` raised {kind}: {error}").format(expression=entry.value, kind=type(exc).__name__, error=exc)) from None
