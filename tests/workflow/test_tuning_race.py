"""A tuning job's handle says Completed only together with its full leaderboard.

Under load the job list can lag the describe (or be throttled) right when the describe says
Completed; the widget then showed "Completed" over an empty leaderboard. botocore's Stubber
plays those answers (checked against SageMaker's service model) to the real handle.
"""

from __future__ import annotations

import datetime as dt

import boto3
from botocore.stub import Stubber

from sm_magics.workflow.jobs import TuningJob
from sm_magics.workflow.session import Backend

NAME = "ll-tuning"
CREATED = dt.datetime(2026, 12, 6, tzinfo=dt.timezone.utc)


def backend() -> Backend:
    backend = Backend("aws", "us-east-1", "test")
    backend._session = boto3.Session(region_name="us-east-1", aws_access_key_id="AKIAEXAMPLEEXAMPLE00", aws_secret_access_key="secret")
    return backend


def describe(status: str, completed: int, running: int) -> dict:
    return {
        "HyperParameterTuningJobName": NAME, "HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/{NAME}",
        "HyperParameterTuningJobConfig": {"Strategy": "Bayesian", "ResourceLimits": {"MaxParallelTrainingJobs": 2, "MaxNumberOfTrainingJobs": 2},
                                          "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:f1"}},
        "HyperParameterTuningJobStatus": status, "CreationTime": CREATED,
        "TrainingJobStatusCounters": {"Completed": completed, "InProgress": running, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0},
        "ObjectiveStatusCounters": {"Succeeded": completed, "Pending": running, "Failed": 0},
    }


def row(index: int, value: float) -> dict:
    return {"TrainingJobName": f"{NAME}-00{index}", "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{NAME}-00{index}",
            "CreationTime": CREATED, "TrainingJobStatus": "Completed", "TunedHyperParameters": {"learning_rate": str(index / 10)},
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "validation:f1", "Value": value}}


def test_completed_waits_for_the_list_that_shows_every_job() -> None:
    job = TuningJob(backend(), NAME)
    stub = Stubber(job.backend.client("sagemaker"))
    query = {"HyperParameterTuningJobName": NAME}
    stub.add_response("describe_hyper_parameter_tuning_job", describe("InProgress", 1, 1), query)
    stub.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": [row(1, 0.8)]}, query)
    stub.add_response("describe_hyper_parameter_tuning_job", describe("Completed", 2, 0), query)
    stub.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": [row(1, 0.8)]}, query)  # lags
    stub.add_response("describe_hyper_parameter_tuning_job", describe("Completed", 2, 0), query)
    stub.add_client_error("list_training_jobs_for_hyper_parameter_tuning_job", "ThrottlingException", "Rate exceeded")
    stub.add_response("describe_hyper_parameter_tuning_job", describe("Completed", 2, 0), query)
    stub.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": [row(1, 0.8), row(2, 0.9)]}, query)
    seen = []
    with stub:
        job.refresh()
        seen.append((job.status, len(job.leaderboard)))
        job.refresh()
        seen.append((job.status, len(job.leaderboard)))
        try:
            job.refresh()
        except Exception as error:  # the poller says "retrying" and describes again
            assert "Throttling" in str(error)
        seen.append((job.status, len(job.leaderboard)))
        job.refresh()
        seen.append((job.status, len(job.leaderboard)))
        stub.assert_no_pending_responses()
    assert seen == [("InProgress", 1), ("InProgress", 1), ("InProgress", 1), ("Completed", 2)]
    assert [r["TrainingJobName"] for r in job.leaderboard] == [f"{NAME}-002", f"{NAME}-001"]  # best (maximized) first
