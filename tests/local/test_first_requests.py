"""The engine's own first requests: answered like any client's, and changing nothing a user would see."""

from __future__ import annotations

from typing import Any

from helpers import Clients
from sm_magics.local import warmup
from sm_magics.local.credentials import Credentials


def test_the_first_questions_are_signed_answered_and_read_only(engine: Any, engine_clients: Clients) -> None:
    buckets = sorted(b["Name"] for b in engine_clients.s3.list_buckets()["Buckets"])
    endpoints = engine_clients.sagemaker.list_endpoints()["Endpoints"]

    answers = warmup.ask_first_questions(engine.url, engine.credentials)

    # all three go through authentication and are served: a warm-up the engine refused would warm nothing
    assert answers == {"s3": 200, "sts": 200, "sagemaker": 200}
    assert sorted(b["Name"] for b in engine_clients.s3.list_buckets()["Buckets"]) == buckets
    assert engine_clients.sagemaker.list_endpoints()["Endpoints"] == endpoints


def test_first_questions_with_other_keys_are_refused_like_anyone_elses(engine: Any) -> None:
    stranger = Credentials("ASIASTRANGER0000000", "not-the-engine-secret-key-0000000000000", "not-the-engine-token")
    answers = warmup.ask_first_questions(engine.url, stranger)
    assert set(answers) == {"s3", "sts", "sagemaker"} and all(code == 403 for code in answers.values()), answers
