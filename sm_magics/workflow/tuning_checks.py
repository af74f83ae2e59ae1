"""What a tuning cell must get right before anything is uploaded: its ranges, its objective, its strategy.

A tuning job draws values from each range for every child; a bound the algorithm refuses fails
each child that draws it, after its instance was billed, and the tuner still reports itself
Completed. So each range is checked against the algorithm's hyperparameter schema (the neutral
``sm_magics.algorithms.range_rules``, the same rules the engine's CreateHyperParameterTuningJob
applies), the objective against the metrics the algorithm documents for tuning and the channels
the cell gives, and the strategy against what SageMaker documents of it. Each problem is one
``ValueError`` line that quotes the hyperparameter (so the magic points at its cell line) and
says what to write instead.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable, Mapping

from ..algorithms import range_rules, tuning_ranges
from ..i18n import _


def _suggestion(algorithm: str, name: str) -> str:
    """SageMaker's recommended range for ``name`` as a cell line, when its tuning page lists one."""
    for kind, item in tuning_ranges.TABLES.get(algorithm, ()):
        if item["Name"] != name:
            continue
        if kind == "CategoricalParameterRanges":
            return f"`{name}: {'|'.join(item['Values'])}`"
        flags = (" int" if kind == "IntegerParameterRanges" else "") + (" log" if item["ScalingType"] == "Logarithmic" else "")
        return f"`{name}: {item['MinValue']}..{item['MaxValue']}{flags}`"
    return ""


def _cell_text(tuned: Any) -> str:
    if tuned.kind == "Categorical":
        return "|".join(tuned.values)
    return f"{tuned.low}..{tuned.high}"


def check_ranges(algorithm: str, version: str, ranges: Iterable[Any], fixed: Mapping[str, str]) -> range_rules.Schema:
    """Each range (``cellspec.Range``) against the algorithm's schema; ``fixed`` are the hyperparameters the user set."""
    schema = range_rules.schema_of(algorithm, version)
    seen: set[str] = set()
    for tuned in ranges:
        name = tuned.name
        if name in seen:
            raise ValueError(_("{name} is given two ranges: keep one").format(name=f"'{name}'"))
        seen.add(name)
        if name in fixed:
            raise ValueError(_("{name} is both fixed (to {value}) and given a range ({range}): keep one of the two").format(
                name=f"'{name}'", value=fixed[name], range=_cell_text(tuned)))
        suggestion = _suggestion(algorithm, schema.canonical(name))
        instead = _("; write e.g. {example}").format(example=suggestion) if suggestion else ""
        if name.startswith("_") or schema.canonical(name) not in schema.params:
            close = difflib.get_close_matches(name, [p for p in schema.params if not p.startswith("_")], n=1)
            hint = _("; did you mean {name}?").format(name=f"'{close[0]}'") if close else ""
            raise ValueError(_("{name} is not a {algorithm} hyperparameter, so it cannot be tuned").format(
                name=f"'{name}'", algorithm=algorithm) + hint)
        if name == "feature_dim":
            raise ValueError(_("{name} is the number of columns of the data, not a setting to tune: remove its range").format(
                name="'feature_dim'"))
        kind = schema.kind(name)
        if tuned.kind != "Categorical" and kind == "choice":
            raise ValueError(_("{name} takes one of a set of values, not a number range: write choices like {example}").format(
                name=f"'{name}'", example=suggestion or f"`{name}: a|b`"))
        if tuned.kind == "Continuous" and kind == "int":
            raise ValueError(_("{name} is an integer: write {example}").format(
                name=f"'{name}'", example=f"`{name}: {_int_text(tuned.low)}..{_int_text(tuned.high)} int`"))
        if tuned.kind != "Categorical" and tuned.scaling == "ReverseLogarithmic" and (tuned.kind == "Integer" or not (0 <= float(tuned.low) and float(tuned.high) < 1)):
            # API reference, ContinuousParameterRange.ScalingType: reverse logarithmic scaling works only for
            # ranges entirely within 0 <= x < 1.0 (and IntegerParameterRange does not offer it)
            raise ValueError(_("the reverse-log range of {name} must be continuous and lie within 0 <= x < 1: "
                               "use log or linear, or narrow the range").format(name=f"'{name}'"))
        try:
            range_rules.check_range(schema, tuned.kind, tuned.to_api())
        except range_rules.RangeError as exc:
            if exc.value is None:
                raise ValueError(f"'{name}': {exc}") from None
            which = (_("lower bound") if exc.value == tuned.low else _("upper bound")) if tuned.kind != "Categorical" else _("choice")
            raise ValueError(_("the range of {name} has {which} {value}, which {algorithm} refuses ({expected})").format(
                name=f"'{name}'", which=which, value=exc.value, algorithm=algorithm, expected=exc.expected)
                + (instead or _(": narrow the range"))) from None
    return schema


def _int_text(value: str) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else value


def check_objective(schema: range_rules.Schema, objective: str, channels: Iterable[str]) -> None:
    """The objective among the algorithm's documented tuning metrics, and measured on a channel the cell gives."""
    algorithm = schema.spec.name
    documented = range_rules.tuning_objectives(schema.spec)
    if not documented:
        raise ValueError(_("{algorithm} reports no metric that tuning can optimise (SageMaker documents none for it): "
                           "train it with {magic} instead").format(algorithm=algorithm, magic="%%sm_train"))
    if objective not in documented:
        same_metric = [name for name in documented if name.split(":")[-1] == objective.split(":")[-1]]
        close = same_metric[:1] or difflib.get_close_matches(objective, documented, n=1)
        hint = _("did you mean {option}? ").format(option=f"--objective {close[0]}") if close else ""
        raise ValueError(_("{algorithm} cannot be tuned on {objective}: {hint}its objectives are {choices}").format(
            algorithm=algorithm, objective=f"'{objective}'", hint=hint, choices=", ".join(documented)))
    channel = objective.split(":", 1)[0]
    given = set(channels)
    if channel not in given:
        others = sorted({name.split(":", 1)[0] for name in documented} & given)
        alternative = _(", or tune on a {objective} objective").format(objective=f"{others[0]}:*") if others else ""
        raise ValueError(_("{option} is measured on the {channel} channel, which this cell does not give: add a line {line}").format(
            option=f"--objective {objective}", channel=channel, line=f"`{channel}: <data>`") + alternative)


def check_strategy(strategy: str, ranges: Iterable[Any], fixed: Mapping[str, str]) -> None:
    """What SageMaker documents of Grid and Hyperband that a cell can get wrong."""
    ranges = list(ranges)
    if strategy == "Grid":
        numeric = [r.name for r in ranges if r.kind != "Categorical"]
        if numeric:
            # Developer guide, "Understand the hyperparameter tuning strategies", Grid search: "you can only use
            # categorical parameters"; API reference, HyperParameterTuningJobConfig.Strategy, Grid.
            name = numeric[0]
            raise ValueError(_("{option} tries every combination of choices, so it takes choice ranges only: "
                               "write {name} as choices like {example} or use {other}").format(
                option="--strategy Grid", name=f"'{name}'", example=f"`{name}: a|b|c`", other="--strategy Bayesian"))
    if strategy == "Hyperband" and not any(key in fixed for key in range_rules.EPOCH_KEYS):
        # API reference, HyperbandStrategyConfig.MaxResource: without it (the magic sends none) the tuner reads the
        # maximum from a static epochs / numepochs / n-epochs / n_epochs / num_epochs hyperparameter.
        raise ValueError(_("{option} stops children by epochs and reads how many from a fixed {line} line, "
                           "which this cell does not give: add one, or use {other}").format(
            option="--strategy Hyperband", line="`epochs: N`", other="--strategy Bayesian"))


def check_combinations(schema: range_rules.Schema, static: Mapping[str, str], ranges: Iterable[Any], objective: str) -> None:
    """The algorithm's rules across hyperparameters, for every bound of every range (the container's words)."""
    api: dict[str, list[dict[str, Any]]] = {}
    for tuned in ranges:
        api.setdefault(f"{tuned.kind}ParameterRanges", []).append(tuned.to_api())
    try:
        range_rules.check_combinations(schema, static, api, objective)
    except range_rules.RangeError as exc:
        raise ValueError(_("with {name} at {value}, {algorithm} refuses the job: {expected}").format(
            name=f"'{exc.name}'", value=exc.value, algorithm=schema.spec.name, expected=exc.expected)) from None
    except range_rules.ClientError as exc:
        raise ValueError(str(exc).replace(" (caused by ValidationError)", "")) from None
