"""A real IPython shell with sm_magics loaded on the session engine, and what the engine holds around a cell.

Shared by the test files that drive the magics as a notebook does (``tests/magics/``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

from IPython.testing.globalipapp import start_ipython


def get_ipython() -> Any:
    """The test shell: started on first use, the same object afterwards."""
    import IPython

    start_ipython()
    return IPython.get_ipython()


@contextlib.contextmanager
def loaded_in(shell: Any, engine: Any) -> Iterator[Any]:
    """The extension loaded on the session engine; afterwards the process's environment and botocore are as before."""
    saved = dict(os.environ)
    os.environ["SM_MAGICS_LOCAL_DATA_DIR"] = str(engine.data_dir)
    os.environ["SM_MAGICS_BACKEND"] = "local"
    shell.run_line_magic("reload_ext", "sm_magics")
    magics = [m for m in shell.configurables if type(m).__name__ == "SMMagics"][-1]  # the one reload_ext made
    # the backend is chosen (and put in the environment) in the background: wait for it here, so the
    # environment a test starts with is the one the fixture set up, not one still changing
    magics.choice.wait()
    try:
        yield shell
    finally:
        magics.choice.release()
        os.environ.clear()
        os.environ.update(saved)


def run(ip: Any, magic: str, line: str, body: str | None = None) -> Any:
    if body is None:
        return ip.run_line_magic(magic, line)
    return ip.run_cell_magic(magic, line, body)


def magics(ip: Any) -> Any:
    return ip.find_magic("sm_jobs").__self__


def quiet(ip: Any, timeout: float = 180.0) -> None:
    """Wait until no training or tuning job runs: a running tuning job starts jobs and jobs write S3 objects of their
    own, which an inventory taken meanwhile would count as made by the cell under test."""
    sagemaker = magics(ip).backend.client("sagemaker")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = (sagemaker.list_training_jobs(StatusEquals="InProgress", MaxResults=10)["TrainingJobSummaries"]
                   + sagemaker.list_hyper_parameter_tuning_jobs(StatusEquals="InProgress", MaxResults=10)["HyperParameterTuningJobSummaries"]
                   + sagemaker.list_transform_jobs(StatusEquals="InProgress", MaxResults=10)["TransformJobSummaries"])
        if not running:
            return
        time.sleep(0.5)
    raise AssertionError(f"jobs still running after {timeout:.0f} s: {running}")


def inventory(ip: Any) -> dict[str, set[str]]:
    """Everything the engine holds that a cell could have made: jobs, models, configs, endpoints, S3 objects."""
    backend = magics(ip).backend
    sagemaker, s3 = backend.client("sagemaker"), backend.client("s3")
    objects = {f"{b['Name']}/{o['Key']}" for b in s3.list_buckets()["Buckets"]
               for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b["Name"]) for o in page.get("Contents", [])}
    def every(operation: str, key: str, field: str) -> set[str]:
        # paged: the session engine holds more than one page of most kinds by the end of the suite
        return {item[field] for page in sagemaker.get_paginator(operation).paginate() for item in page[key]}

    return {
        "training": every("list_training_jobs", "TrainingJobSummaries", "TrainingJobName"),
        "tuning": every("list_hyper_parameter_tuning_jobs", "HyperParameterTuningJobSummaries", "HyperParameterTuningJobName"),
        "transform": every("list_transform_jobs", "TransformJobSummaries", "TransformJobName"),
        "models": every("list_models", "Models", "ModelName"),
        "configs": every("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName"),
        "endpoints": every("list_endpoints", "Endpoints", "EndpointName"),
        "objects": objects,
    }


def created_between(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, set[str]]:
    """What appeared, by kind; every value empty when nothing was created."""
    return {kind: after[kind] - before[kind] for kind in after}
