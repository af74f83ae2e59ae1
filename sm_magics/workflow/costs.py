"""The most a training job, a tuning job or an endpoint can cost, said in one line before it is created.

A ceiling, not a forecast: instances x on-demand price x the longest the job
may run (SageMaker stops it at MaxRuntimeInSeconds), times the number of jobs
for tuning; an endpoint bills per hour for as long as it lives, so its line
gives per hour and per day (and the total its TTL allows). Prices come from
``pricing.PriceBook``; where it has none the line says so rather than guess,
and managed spot is shown as its on-demand upper bound because the discount
is only known once AWS bills the job. On the local engine nothing is billed:
the line says what it would cost on AWS.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from ..i18n import N_, _
from .pricing import Price


def usd(amount: float) -> str:
    """$1,234 / $12.34 / $0.23 / $0.0575: cents where they matter, up to four decimals under a dollar."""
    if amount >= 100:
        return f"${amount:,.0f}"
    if amount >= 1:
        return f"${amount:,.2f}"
    text = f"{amount:.4f}".rstrip("0")
    return f"${text}{'0' * max(0, 4 - len(text))}"  # $0.23, $0.115, $0.0575, $0.00


def span(seconds: float) -> str:
    """86400 -> '24 h', 5400 -> '1.5 h', 1800 -> '30 min', 45 -> '45 s'."""
    if seconds >= 3600:
        hours = seconds / 3600
        return f"{hours:g} h" if hours == int(hours) else f"{hours:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min" if seconds % 60 == 0 else f"{seconds / 60:.1f} min"
    return f"{seconds:g} s"


def rate(amount: float) -> str:
    """An hourly price as the price list gives it: $0.115, $3.825, $14.688."""
    return f"${amount:.6g}"


def _lookup(backend: Any, instance_type: str, use: str) -> Price | None:
    return backend.prices.hourly(instance_type, backend.region, use=use)


_USE_WORDS = {"Training": N_("training"), "Hosting": N_("real-time inference"), "BatchTransform": N_("batch transform")}


def _missing(
backend: Any, instance_type: str, use: str) -> str:
    kind = _(_USE_WORDS[use])
    if backend.kind == "aws":
        return _("sm_magics: cost unknown: price not in the bundled table for {instance_type} {kind} in {region} "
                 "and the AWS Price List API gave none").format(instance_type=instance_type, kind=kind, region=backend.region)
    return _("sm_magics: cost unknown: price not in the bundled table for {instance_type} {kind} in {region}").format(
        instance_type=instance_type, kind=kind, region=backend.region)


def _say(backend: Any, what: str, figure: str, detail: str, price: Price) -> str:
    """One line: '<what> costs <figure> (<detail>)', or on the local engine what it would cost on AWS."""
    if backend.kind == "local":
        return _("sm_magics: on AWS {what} would cost {figure} ({detail}); the local engine bills nothing · price: {source}").format(
            what=what, figure=figure, detail=detail, source=price.said)
    return _("sm_magics: {what} costs {figure} ({detail}) · price: {source}").format(
        what=what, figure=figure, detail=detail, source=price.said)


def training_line(backend: Any, instance_type: str, instance_count: int, max_runtime: int, *, spot: bool = False) -> str:
    """The most one training job can cost: instances x price x max runtime."""
    price = _lookup(backend, instance_type, "Training")
    if price is None:
        return _missing(backend, instance_type, "Training")
    detail = _("{count} x {instance_type} at {rate}/h x {runtime} max runtime").format(
        count=instance_count, instance_type=instance_type, rate=rate(price.usd_per_hour), runtime=span(max_runtime))
    if spot:
        detail += _("; managed spot bills less, by a discount known only afterwards: this on-demand figure is the upper bound")
    return _say(backend, _("this training job"), _("at most {amount}").format(amount=usd(price.cost(max_runtime, instance_count))),
                detail, price)


def tuning_line(backend: Any, instance_type: str, instance_count: int, max_runtime: int, max_jobs: int, max_parallel: int) -> str:
    """The most a tuning job can cost: every one of its jobs running to its max runtime.

    Running jobs in parallel changes how long the tuning takes, not what it can cost: each job
    bills its own instances, so the ceiling is max jobs x one job's ceiling whatever the parallelism.
    """
    price = _lookup(backend, instance_type, "Training")
    if price is None:
        return _missing(backend, instance_type, "Training")
    waves = math.ceil(max_jobs / max(1, max_parallel))
    detail = _("{jobs} jobs x {count} x {instance_type} at {rate}/h x {runtime} max runtime each; {parallel} at a time, "
               "so up to {total} in all").format(jobs=max_jobs, count=instance_count, instance_type=instance_type,
                                                 rate=rate(price.usd_per_hour), runtime=span(max_runtime),
                                                 parallel=max_parallel, total=span(waves * max_runtime))
    return _say(backend, _("this tuning job"), _("at most {amount}").format(amount=usd(max_jobs * price.cost(max_runtime, instance_count))),
                detail, price)


def endpoint_line(backend: Any, instance_type: str, instance_count: int, ttl: dt.timedelta | None = None) -> str:
    """What an endpoint costs while it lives: per hour, per day, and in all when a TTL ends it."""
    price = _lookup(backend, instance_type, "Hosting")
    if price is None:
        return _missing(backend, instance_type, "Hosting")
    hourly = price.usd_per_hour * instance_count
    figure = _("{hourly}/h, {daily}/day").format(hourly=usd(hourly), daily=usd(hourly * 24))
    detail = _("{count} x {instance_type} at {rate}/h until deleted").format(
        count=instance_count, instance_type=instance_type, rate=rate(price.usd_per_hour))
    if ttl is not None:
        detail += _("; at most {amount} before its TTL of {span} deletes it").format(
            amount=usd(price.cost(ttl.total_seconds(), instance_count)), span=span(ttl.total_seconds()))
    return _say(backend, _("this endpoint"), figure, detail, price)



def check_budget(backend: Any, limit: float | None, use: str, instance_type: str, instance_count: int,
                 seconds: float | None, *, jobs: int = 1) -> None:
    """``--max-cost``: refuse before anything is created when the ceiling is over the limit or cannot be known.

    The ceiling is the one the cost line states (instances x price x the longest it may run, x jobs for
    tuning; an endpoint's until its TTL). An unknown price or an endpoint without a TTL has no ceiling to
    compare, so a limit the user asked for is not quietly assumed to hold: the line says what to change.
    ValueError, with what to change, like every other check made before creating.
    """
    if limit is None:
        return
    price = _lookup(backend, instance_type, use)
    if price is None:
        raise ValueError(_("--max-cost {limit}: no price is known for {instance_type} in {region}, so the most this can cost "
                           "cannot be checked; choose a priced instance type or leave out --max-cost").format(
                               limit=usd(limit), instance_type=instance_type, region=backend.region))
    if seconds is None:
        raise ValueError(_("--max-cost {limit}: an endpoint bills until it is deleted; add --ttl so that what it can cost "
                           "has a limit").format(limit=usd(limit)))
    ceiling = jobs * price.cost(seconds, instance_count)
    if ceiling > limit:
        lower = {"Training": "--max-runtime, --instance-count" + (", --max-jobs" if jobs > 1 else ""),
                 "Hosting": "--ttl, --instance-count", "BatchTransform": "--instance-count"}[use]
        raise ValueError(_("--max-cost {limit}: this can cost up to {ceiling} ({count} x {instance_type} at {rate}/h x {runtime}"
                           "{jobs}); lower {options}, or raise --max-cost").format(
                               limit=usd(limit), ceiling=usd(ceiling), count=instance_count, instance_type=instance_type,
                               rate=rate(price.usd_per_hour), runtime=span(seconds),
                               jobs=_(" x {jobs} jobs").format(jobs=jobs) if jobs > 1 else "", options=lower))
