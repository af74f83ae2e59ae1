"""Managed-spot savings as the notebook shows them: AWS's own figures, never a made-up one.

On the local engine a spot job is billed for every second it trained (the
engine cannot know AWS's spot discount), and the widget and the text summary
say that savings are shown on AWS only. On AWS they show SageMaker's figure.
"""

from __future__ import annotations

import datetime as dt
import re

import boto3
import numpy as np

from helpers import complete_training, training_request, unique, upload_recordio
from sm_magics.widgets.training_job import TrainingJobWidget
from sm_magics.workflow.jobs import TrainingJob
from sm_magics.workflow.session import Backend


def test_local_spot_job_bills_its_training_time_and_shows_no_saving(engine, aws) -> None:
    x = np.random.default_rng(3).normal(size=(200, 4)).astype(np.float32)
    name = unique("spot")
    uri = upload_recordio(aws, x, f"data/{name}")
    spot = {"EnableManagedSpotTraining": True, "StoppingCondition": {"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 900}}
    job = complete_training(aws, training_request(name, uri, {"k": "3", "feature_dim": "4"}, **spot))
    assert job["TrainingJobStatus"] == "Completed" and job["EnableManagedSpotTraining"] is True
    assert job["BillableTimeInSeconds"] == job["TrainingTimeInSeconds"] >= 1

    handle = TrainingJob(Backend("local", "us-east-1", "test", endpoint_url=engine.url, engine=engine), name, "kmeans")
    handle.refresh()
    assert handle.spot_savings == "spot savings are shown on AWS only"
    assert "spot savings are shown on AWS only" in handle.summary()
    widget = TrainingJobWidget(handle)
    try:
        handle.refresh()
        widget._update(handle)
        assert widget.spot_savings == "spot savings are shown on AWS only"
        assert "spot savings are shown on AWS only" in widget._header.value
        shown = re.sub(r"<[^>]+>", "", widget._header.value)  # the text the user reads
        assert "spot savings are shown on AWS only" in shown
        assert "%" not in shown, shown  # no saving figure of any kind
    finally:
        widget.close()


def test_on_demand_job_says_nothing_about_spot(engine, aws) -> None:
    handle = TrainingJob(Backend("local", "us-east-1", "test", endpoint_url=engine.url, engine=engine), "any", "kmeans")
    handle.description = {"TrainingJobStatus": "Completed", "TrainingTimeInSeconds": 100, "BillableTimeInSeconds": 100}
    assert handle.spot_savings == ""


def test_aws_spot_job_shows_sagemakers_own_saving() -> None:
    backend = Backend("aws", "eu-west-1", "test")
    backend._session = boto3.Session(region_name="eu-west-1", aws_access_key_id="AKIAEXAMPLEEXAMPLE00", aws_secret_access_key="x")
    handle = TrainingJob(backend, "on-aws", "xgboost")
    handle.status = "Completed"
    handle.description = {
        "TrainingJobStatus": "Completed", "EnableManagedSpotTraining": True,
        "TrainingTimeInSeconds": 400, "BillableTimeInSeconds": 120,
        "TrainingStartTime": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    }  # fmt: skip
    assert handle.spot_savings == "spot savings 70.0%"  # as the SDK computes it: 1 - 120 / 400
    assert handle.summary().endswith("— spot savings 70.0%")
    del handle.description["BillableTimeInSeconds"]  # still running: not known yet
    assert handle.spot_savings == ""
