"""Whether a hyperparameter range fits a built-in algorithm: its name, its type, every value it can take.

A tuning job proposes values from each range for every child training job; a bound the
container refuses fails each child that draws it, after its instance was billed. Both the
engine's CreateHyperParameterTuningJob and the workflow's ``%%sm_tune`` check a range with
these rules, which read the algorithm's own hyperparameter schema (``SCHEMA`` of the
first-party containers, ``xgboost.schema_for``), so the rules have one source.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Mapping

from . import spec_for
from .base import AlgorithmSpec, ClientError, Param, parse_hyperparameters
from . import xgboost

KINDS = ("Integer", "Continuous", "Categorical")
# Hyperband reads MaxResource from the first of these static hyperparameters when StrategyConfig gives none
# (API reference, HyperbandStrategyConfig: MaxResource).
EPOCH_KEYS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")


class RangeError(ClientError):
    """A range the algorithm cannot take; ``name``, ``value`` and ``expected`` let each caller word it."""

    def __init__(self, message: str, name: str, value: str | None = None, expected: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.value = value
        self.expected = expected


@dataclass(frozen=True)
class Schema:
    """One algorithm's hyperparameters as the range checks need them."""

    spec: AlgorithmSpec
    params: Mapping[str, Any]  # name -> base.Param or xgboost.HP
    aliases: Mapping[str, str]

    def canonical(self, name: str) -> str:
        return self.aliases.get(name, name)

    def kind(self, name: str) -> str:
        """'int', 'float' or 'choice' (anything else: a categorical range only)."""
        param = self.params[self.canonical(name)]
        if param.kind in ("int", "float"):
            return param.kind
        return "choice"

    def check_value(self, name: str, text: str) -> None:
        """Raise ClientError (the container's words) when ``text`` is not a value ``name`` can take."""
        key = self.canonical(name)
        param = self.params[key]
        if isinstance(param, Param):
            parse_hyperparameters(self.spec.name, {key: param}, {key: text})
            return
        try:
            value = xgboost._parse(param, text)
        except (ValueError, SyntaxError, TypeError) as exc:
            raise ClientError(f"Hyperparameter {key}: could not parse value (caused by {type(exc).__name__})") from None
        xgboost._check_range(key, param, value)


def schema_of(algorithm: str, version: str) -> Schema:
    """The schema of built-in ``algorithm`` (canonical name) at an image version."""
    spec = spec_for(algorithm, version)
    if isinstance(spec, xgboost.XGBoostSpec):
        return Schema(spec, xgboost.schema_for(spec.key), xgboost.ALIASES)
    return Schema(spec, sys.modules[type(spec).__module__].SCHEMA, {})


def tuning_objectives(spec: AlgorithmSpec) -> list[str]:
    """The objectives SageMaker documents for tuning the algorithm: its validation:* and test:* metrics.

    The developer guide's "Tune a <algorithm> model" pages list only those (train:* metrics are
    logged but not tunable: k-means test:msd/ssd, Linear Learner validation:/test:, XGBoost validation:);
    PCA has none.
    """
    return [d["Name"] for d in spec.metric_definitions if not d["Name"].startswith("train:")]


def _expected(message: str) -> str:
    """The 'expected ...' part of a container message, for a one-line hint."""
    text = message.replace(" (caused by ValidationError)", "").replace(" or 'auto'", "")
    if "expected " in text:
        return "expected " + text.split("expected ", 1)[1]
    for marker in (" is not in ", " not in range "):
        if marker in text:
            return "expected a value in " + text.split(marker, 1)[1]
    return text


def check_range(schema: Schema, kind: str, item: Mapping[str, Any]) -> None:
    """One API-shaped range (``{"Name", "MinValue", "MaxValue", "ScalingType"}`` or ``{"Name", "Values"}``).

    Raises RangeError naming the hyperparameter and the value the container would refuse.
    """
    name = str(item.get("Name", ""))
    algorithm = schema.spec.name
    if name.startswith("_") or schema.canonical(name) not in schema.params:
        raise RangeError(f"Hyperparameter '{name}' is not a hyperparameter of {algorithm}, so it cannot be tuned", name)
    if name == "feature_dim":
        raise RangeError(
            f"Hyperparameter 'feature_dim' of {algorithm} is the number of features of the data, so it cannot be tuned", name
        )
    param_kind = schema.kind(name)
    if kind != "Categorical" and param_kind == "choice":
        raise RangeError(
            f"Hyperparameter '{name}' of {algorithm} takes categorical values, so it needs a CategoricalParameterRange",
            name, expected="categorical values",
        )
    if kind == "Continuous" and param_kind == "int":
        raise RangeError(
            f"Hyperparameter '{name}' of {algorithm} is an integer, so it needs an IntegerParameterRange", name,
            expected="integer bounds",
        )
    values = [str(v) for v in item.get("Values") or []] if kind == "Categorical" else [str(item.get("MinValue")), str(item.get("MaxValue"))]
    for value in values:
        try:
            schema.check_value(name, value)
        except ClientError as exc:
            expected = _expected(str(exc))
            raise RangeError(
                f"The value '{value}' of the range of hyperparameter '{name}' is not valid for {algorithm}: {expected}",
                name, value, expected,
            ) from None


def check_combinations(
    schema: Schema, static: Mapping[str, str], ranges: Mapping[str, list[Mapping[str, Any]]], objective: str
) -> None:
    """The cross-hyperparameter rules (Linear Learner's beta_1 < 1, the objective against predictor_type,
    XGBoost's num_class with multi:*) for each range's values, the others at their first value.

    Raises ClientError with the container's message; the static hyperparameters with every range at
    its first value are checked first, so a later failure is the varied range's.
    """
    first: dict[str, str] = {}
    candidates: list[tuple[str, str]] = []
    for kind, items in ranges.items():
        for item in items:
            values = [str(v) for v in item.get("Values") or []] if kind.startswith("Categorical") else [str(item["MinValue"]), str(item["MaxValue"])]
            if values:
                first[item["Name"]] = values[0]
                candidates += [(item["Name"], v) for v in values[1:]]
    base = {**{k: str(v) for k, v in static.items()}, **first, "_tuning_objective_metric": objective}
    schema.spec.validate(base)
    for name, value in candidates:
        try:
            schema.spec.validate({**base, name: value})
        except ClientError as exc:
            message = str(exc).replace(" (caused by ValidationError)", "")
            raise RangeError(f"With hyperparameter '{name}' at '{value}' of its range: {message}", name, value, message) from None
