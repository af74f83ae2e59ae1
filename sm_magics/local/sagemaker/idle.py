"""The idle guard: an endpoint tagged ``sm_magics:idle-after`` (seconds) that has had no invocation
for that long is deleted, as its expiry would delete it.

What a CloudWatch alarm on the endpoint's ``Invocations`` does on AWS (``workflow/idle.py``), the
engine does itself: InvokeEndpoint notes the time (in memory, no disk write on the request's path);
the TTL guard thread calls :func:`sweep` each round, which

- saves each endpoint's last invocation time in its record at most every ``PERSIST_EVERY`` seconds
  (and all of them at a clean stop)
  (a private member of the stored document; the wire drops members the service model lacks), and
- for an endpoint idle past its tag, sets its ``sm_magics:expires-at`` tag to now, so the TTL
  guard's own deletion (endpoint, config, models, monitoring schedules) runs at once, one code path.

After a restart an endpoint's idle clock starts from the saved time plus ``PERSIST_EVERY`` (the
invocations of the last unsaved seconds may have happened), never earlier: a restart never
deletes an endpoint sooner than its owner asked. Invocations cannot happen while the engine is
down, so the time it was down counts as idle.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .models import SageMakerBackend

log = logging.getLogger("sm_magics.local")

IDLE_TAG = "sm_magics:idle-after"  # seconds without an invocation after which the endpoint is deleted
LAST_INVOCATION = "_SmMagicsLastInvocation"  # epoch seconds, in the stored endpoint document only
PERSIST_EVERY = 30.0
# Tests shorten idle periods without tagging endpoints with values the magics refuse: the tag's
# seconds are multiplied by this (an engine setting, read once at start).
SCALE_ENV = "SM_MAGICS_IDLE_SCALE"


def idle_scale() -> float:
    """The engine's idle multiplier (1 unless a test set ``SM_MAGICS_IDLE_SCALE``); bad values stop the engine."""
    text = os.environ.get(SCALE_ENV)
    if not text:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        raise SystemExit(f"{SCALE_ENV}={text!r} is not a number; unset it or give a factor such as 0.01") from None
    if not 0 < value <= 1:
        raise SystemExit(f"{SCALE_ENV}={text!r} must be more than 0 and at most 1")
    return value


@dataclass
class IdleClock:
    """One region's invocation times: noted by InvokeEndpoint, saved by the guard thread."""

    last: dict[str, float] = field(default_factory=dict)  # endpoint -> epoch seconds of its last invocation
    saved_at: dict[str, float] = field(default_factory=dict)  # endpoint -> when ``last`` was last written to its record


def clock_of(backend: "SageMakerBackend") -> IdleClock:
    """The backend's clock, made on first use (``dict.setdefault`` is atomic: no lock on the request path)."""
    return backend.__dict__.setdefault("idle_clock", IdleClock())


def note_invocation(backend: "SageMakerBackend", endpoint: str) -> None:
    """InvokeEndpoint's hook: one dict write (the request's path does no disk I/O for this)."""
    clock_of(backend).last[endpoint] = time.time()


def idle_seconds(tags: dict[str, str]) -> float | None:
    """The endpoint's idle limit from its tags; None when it has none (or an unreadable one)."""
    text = tags.get(IDLE_TAG)
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def _activity(backend: "SageMakerBackend", name: str, doc: dict, scale: float) -> float:
    """Epoch seconds of the endpoint's last sign of use: an invocation, else its last change (InService)."""
    seen = clock_of(backend).last.get(name)
    if seen is not None:
        return seen
    saved = doc.get(LAST_INVOCATION)
    if isinstance(saved, (int, float)):  # restored: the invocations of the last unsaved seconds may have happened
        return saved + PERSIST_EVERY * scale
    changed = doc.get("LastModifiedTime") or doc.get("CreationTime")
    if isinstance(changed, dt.datetime):
        return (changed if changed.tzinfo else changed.replace(tzinfo=dt.timezone.utc)).timestamp()
    return time.time()


def _save_invocation(backend: "SageMakerBackend", name: str, now: float, force: bool, scale: float = 1.0) -> None:
    clock = clock_of(backend)
    noted, saved_at = clock.last, clock.saved_at
    endpoint = backend.endpoints.get(name)
    seen = noted.get(name)
    if endpoint is None or seen is None or endpoint.doc.get(LAST_INVOCATION) == seen:
        return
    if force or now - saved_at.get(name, 0.0) >= PERSIST_EVERY * scale:
        endpoint.doc[LAST_INVOCATION] = seen
        saved_at[name] = now
        backend._save_quietly(("endpoint", name))


def save_invocations(backend: "SageMakerBackend") -> None:
    """At a clean stop: every endpoint's last invocation time, saved now."""
    with backend.lock:
        for name in list(backend.endpoints):
            _save_invocation(backend, name, time.time(), force=True)


def sweep(backend: "SageMakerBackend", now: dt.datetime, scale: float = 1.0) -> list[str]:
    """Save invocation times that moved on; mark idle endpoints expired. Returns the names marked."""
    from .models import TTL_TAG

    marked: list[str] = []
    noted, saved_at = clock_of(backend).last, clock_of(backend).saved_at
    clock = now.timestamp()
    with backend.lock:
        for name, endpoint in list(backend.endpoints.items()):
            doc = endpoint.doc
            _save_invocation(backend, name, clock, force=False, scale=scale)
            if doc.get("EndpointStatus") != "InService":
                continue
            arn = doc["EndpointArn"]
            tags = {t["Key"]: t["Value"] for t in backend.tags.get(arn, [])}
            limit = idle_seconds(tags)
            if limit is None or clock - _activity(backend, name, doc, scale) < limit * scale:
                continue
            stamp = now.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
            if tags.get(TTL_TAG) == stamp:
                continue
            try:
                with backend._changing(("tags", arn)):
                    kept = [t for t in backend.tags.get(arn, []) if t["Key"] != TTL_TAG]
                    backend.tags[arn] = kept + [{"Key": TTL_TAG, "Value": stamp}]
            except Exception as exc:  # the next round tries again
                log.error("endpoint %s (%s) is idle but could not be marked for deletion: %s", name, backend.region, exc)
                continue
            log.info("endpoint %s (%s) had no invocation for %s s (%s) and is deleted", name, backend.region, int(limit), IDLE_TAG)
            marked.append(name)
        for gone in [n for n in list(noted) if n not in backend.endpoints]:  # list(): InvokeEndpoint adds meanwhile
            noted.pop(gone, None)
            saved_at.pop(gone, None)
    return marked
