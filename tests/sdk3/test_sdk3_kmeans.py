"""A SageMaker SDK 3.x user's script, unmodified, run through ``sm-magics local run`` against the engine.

The script (``scripts/kmeans_model_trainer.py``) trains k-means with
``ModelTrainer`` and hosts it with ``sagemaker.core.resources``; it knows
nothing of the engine: the CLI alone points boto3 and the SDK at it (including
the SDK's STS client pinned to ``https://sts.<region>.amazonaws.com``). SDK 3
parses every response into pydantic shapes, so this also checks that the
engine's responses are structurally what the SDK expects. Every connection
attempt to a host other than the loopback is recorded and refused.

Runs in the ``.venv-sdk3`` environment: ``.venv-sdk3/bin/python -m pytest tests/sdk3``.
"""

from __future__ import annotations

from pathlib import Path

from sdk_common import assert_default_identity, assert_deleted, check_clusters, completed_job, needs_sdk, run_user_script

SCRIPTS = Path(__file__).resolve().parent / "scripts"

pytestmark = needs_sdk(3, "run with .venv-sdk3/bin/python -m pytest tests/sdk3")


def test_model_trainer_and_core_resources(engine, aws, tmp_path: Path) -> None:
    """ModelTrainer.train -> Model/EndpointConfig/Endpoint.create -> wait_for_status -> invoke -> delete."""
    run = run_user_script(engine, SCRIPTS / "kmeans_model_trainer.py", tmp_path)
    result = run.succeeded()

    assert_default_identity(result)
    assert result["job_status"] == "Completed"
    assert result["endpoint_status"] == "InService"
    assert result["response_content_type"].startswith("application/json")
    check_clusters(result["clusters"], result["distances"], 100)

    job = completed_job(aws, result)
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("/kmeans:1")
    assert job["HyperParameters"]["k"] == "10" and job["HyperParameters"]["mini_batch_size"] == "500"

    assert_deleted(aws, endpoint=result["name"], endpoint_config=result["name"], model=result["name"])
