"""The JSONPath subset SageMaker batch transform accepts in ``DataProcessing``.

``InputFilter`` and ``OutputFilter`` are JSONPath expressions, but SageMaker
documents (and accepts) only a few operators of it: the root ``$``, dot
children ``.name``, the wildcard ``*``, bracketed names ``['a','b']``, indexes
``[1]`` / ``[1,3,5]`` (negative ones count from the end) and one slice
``[start:end]`` per bracket, optionally with indexes (``$[0,5:]``). Recursive
descent (``..``), filter and script expressions (``?()``, ``()``), ``@`` and
slice steps are refused, as is a second slice in one bracket (SageMaker's
"only single range filters ... are supported").

Slices follow JSONPath's (and Python's) convention: ``[start:end]`` includes
``start`` and stops before ``end``; ``[2:]`` runs to the last element.

For CSV data SageMaker treats each row as a JSON array, so only index-based
paths apply there; :meth:`JsonPath.columns` resolves one against a row width
once, so a whole table can be filtered with one list of positions.

A parse error is a :class:`JsonPathError` whose text follows SageMaker's
"Invalid JsonPath: <expression>: <why>"; an evaluation error (an index past
the end of a record, a missing attribute) is a :class:`SelectionError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

MAX_LENGTH = 63  # the JsonPath shape's length limit in SageMaker's API model


class JsonPathError(ValueError):
    """The expression is not one SageMaker accepts."""


class SelectionError(ValueError):
    """The expression does not fit a record (index out of range, attribute missing, wrong kind of value)."""


@dataclass(frozen=True)
class Child:
    """``.name`` or ``['name']``: one attribute of an object."""

    name: str


@dataclass(frozen=True)
class Names:
    """``['a','b']``: several attributes of an object, kept as an object."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Indexes:
    """``[1]``, ``[1,3]``, ``[1:]``, ``[0,5:]``: elements of an array (one index alone gives the element itself)."""

    items: tuple[Union[int, slice], ...]

    @property
    def single(self) -> bool:
        return len(self.items) == 1 and isinstance(self.items[0], int)

    def positions(self, width: int) -> list[int]:
        """The 0-based positions these items pick from an array of ``width`` elements, in the order written."""
        out: list[int] = []
        for item in self.items:
            if isinstance(item, slice):
                out.extend(range(width)[item])
                continue
            position = item + width if item < 0 else item
            if not 0 <= position < width:
                raise SelectionError(f"index {item} is out of range for a record of {width} element(s)")
            out.append(position)
        return out


@dataclass(frozen=True)
class Wildcard:
    """``*`` / ``[*]``: every value of an object or element of an array, as an array."""


Step = Union[Child, Names, Indexes, Wildcard]

_NAME = re.compile(r"[A-Za-z_$][\w$-]*")
_INT = re.compile(r"-?\d+")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, why: str) -> JsonPathError:
        return JsonPathError(f"Invalid JsonPath: {self.text}: {why}")

    def parse(self) -> tuple[Step, ...]:
        text = self.text
        if len(text) > MAX_LENGTH:
            raise self.fail(f"an expression has at most {MAX_LENGTH} characters")
        if not text.startswith("$"):
            raise self.fail("an expression starts with the root element $")
        self.at = 1
        steps: list[Step] = []
        while self.at < len(text):
            if text.startswith("..", self.at):
                raise self.fail("recursive descent (..) is not supported")
            if text[self.at] == ".":
                self.at += 1
                if self.at < len(text) and text[self.at] == "[":  # $.field.['a','b'], as SageMaker's docs write it
                    steps.append(self.bracket())
                elif self.at < len(text) and text[self.at] == "*":
                    self.at += 1
                    steps.append(Wildcard())
                else:
                    match = _NAME.match(text, self.at)
                    if not match:
                        raise self.fail(f"an attribute name is expected at position {self.at}")
                    self.at = match.end()
                    steps.append(Child(match.group()))
            elif text[self.at] == "[":
                steps.append(self.bracket())
            else:
                raise self.fail(f"unexpected {text[self.at]!r} at position {self.at}")
        for step in steps[:-1]:
            if not isinstance(step, Child) and not (isinstance(step, Indexes) and step.single):
                raise self.fail("a selection of several elements ([a,b], [i:j], *) must end the expression")
        return tuple(steps)

    def bracket(self) -> Step:
        text = self.text
        end = text.find("]", self.at)
        if end < 0:
            raise self.fail("a bracket is not closed")
        inner = text[self.at + 1 : end].strip()
        self.at = end + 1
        if inner == "*":
            return Wildcard()
        if not inner:
            raise self.fail("empty brackets []")
        if inner.startswith("?") or inner.startswith("("):
            raise self.fail("filter and script expressions are not supported")
        parts = [part.strip() for part in inner.split(",")]
        if all(len(p) >= 2 and p[0] == p[-1] and p[0] in "'\"" for p in parts):
            names = tuple(p[1:-1] for p in parts)
            if len(names) > 1 and any("." in name or "[" in name for name in names):
                raise self.fail("nested children inside brackets are not supported")
            return Child(names[0]) if len(names) == 1 else Names(names)
        items: list[Union[int, slice]] = []
        for part in parts:
            if ":" in part:
                bounds = part.split(":")
                if len(bounds) != 2:
                    raise self.fail(f"slice steps are not supported ({part})")
                if not all(not b.strip() or _INT.fullmatch(b.strip()) for b in bounds):
                    raise self.fail(f"{part} is not a slice of whole numbers")
                start, stop = (int(b) if b.strip() else None for b in bounds)
                items.append(slice(start, stop))
            elif _INT.fullmatch(part):
                items.append(int(part))
            else:
                raise self.fail(f"{part or 'an empty item'} is neither an index nor a quoted name")
        if sum(isinstance(item, slice) for item in items) > 1:
            raise JsonPathError(
                f"Invalid JsonPath: {text}: only single range filters of format (eg: [1:5]) are supported. "
                f"Format [{inner}] is not supported"
            )
        return Indexes(tuple(items))


@dataclass(frozen=True)
class JsonPath:
    """A parsed expression; ``parse`` makes one."""

    text: str
    steps: tuple[Step, ...]

    @classmethod
    def parse(cls, text: str) -> "JsonPath":
        """Parse ``text``; ``JsonPathError`` when SageMaker would refuse it."""
        return cls(text, _Parser(text).parse())

    @property
    def is_root(self) -> bool:
        """``$``: the whole record, unchanged."""
        return not self.steps

    @property
    def index_based(self) -> bool:
        """Whether the expression applies to a CSV row (``$``, ``$[...]`` of indexes, ``$[*]``)."""
        return len(self.steps) <= 1 and all(isinstance(step, (Indexes, Wildcard)) for step in self.steps)

    def columns(self, width: int) -> list[int] | None:
        """The positions an index-based path picks from a row of ``width`` fields; None for the whole row.

        A single index also gives a one-field row: a CSV record is never a bare value.
        """
        if not self.steps or isinstance(self.steps[0], Wildcard):
            return None
        step = self.steps[0]
        if not isinstance(step, Indexes):
            raise SelectionError(f"{self.text} names an attribute; a CSV row is an array of fields")
        return step.positions(width)

    def select(self, value: Any) -> Any:
        """The part of a JSON value the expression selects (a record's filter)."""
        for step in self.steps:
            value = _apply(step, value, self.text)
        return value


def _apply(step: Step, value: Any, text: str) -> Any:
    if isinstance(step, Child):
        if not isinstance(value, dict):
            raise SelectionError(f"{text}: '{step.name}' is looked up in a {_kind(value)}, not an object")
        if step.name not in value:
            raise SelectionError(f"{text}: the record has no attribute '{step.name}'")
        return value[step.name]
    if isinstance(step, Names):
        if not isinstance(value, dict):
            raise SelectionError(f"{text}: attributes are looked up in a {_kind(value)}, not an object")
        missing = [name for name in step.names if name not in value]
        if missing:
            raise SelectionError(f"{text}: the record has no attribute {', '.join(repr(m) for m in missing)}")
        return {name: value[name] for name in step.names}
    if isinstance(step, Wildcard):
        if isinstance(value, dict):
            return list(value.values())
        if isinstance(value, list):
            return list(value)
        raise SelectionError(f"{text}: * applies to an object or an array, not a {_kind(value)}")
    if not isinstance(value, list):
        raise SelectionError(f"{text}: indexes apply to an array, not a {_kind(value)}")
    positions = step.positions(len(value))
    return value[positions[0]] if step.single else [value[p] for p in positions]


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")
