"""Built-in algorithms, tuning and batch transform through SageMaker SDK 3.x / boto3 users' scripts, run unmodified.

The SDK 3.x counterparts of ``tests/sdk2/test_sdk2_algorithms.py``. Each
script (``scripts/``) knows nothing of the engine; ``sm-magics local run``
alone points boto3 and the SDK at it. SDK 3 parses every response into
pydantic shapes, so these flows also check that the engine's tuning,
training, transform and hosting responses are structurally what it expects.
SDK 3 has no RecordIO writer: the scripts use ``sm_magics.formats.recordio``.

* ``ll_tuning_boto3.py``: "is it a zero?" on MNIST, Linear Learner tuned with
  boto3's CreateHyperParameterTuningJob (6 jobs, 2 at a time), waited for with
  ``HyperParameterTuningJob``, the best job hosted with Model / EndpointConfig
  / Endpoint and predicted in 100 CSV batches (JSON back).
* ``ll_tuner_v3.py``: the same search through SDK 3's own
  ``HyperparameterTuner`` over a ``ModelTrainer``, read back with analytics.
* ``xgboost_spot_model_trainer.py``: XGBoost 1.7-1 with
  ``Compute(enable_managed_spot_training=True)``, predicted through
  ``Endpoint.invoke``.
* ``pca_transform_kmeans_v3.py``: PCA (50) with ModelTrainer ->
  ``TransformJob.create`` (1 MB mini-batches, JSON out) -> k-means.

Runs in the ``.venv-sdk3`` environment: ``.venv-sdk3/bin/python -m pytest tests/sdk3``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from reference_data import breast_cancer
from sdk_common import (all_children, check_zero_classifier, assert_default_identity, assert_deleted, assert_gone, check_projections, completed_job,
                        most_at_once, needs_sdk, read_s3, run_user_script)

SCRIPTS = Path(__file__).resolve().parent / "scripts"

pytestmark = needs_sdk(3, "run with .venv-sdk3/bin/python -m pytest tests/sdk3")

LL_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"


def _check_tuning(aws, tuning_job: str, best_job: str) -> list[dict]:
    """Completed, 6 real Linear Learner children (at most 2 at once) inside the ranges; the best one is the max."""
    tuning = aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning_job)
    assert tuning["HyperParameterTuningJobStatus"] == "Completed"
    config = tuning["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": "validation:binary_f_beta"}
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 6 and config["ResourceLimits"]["MaxParallelTrainingJobs"] == 2
    ranges = {r["Name"]: r for kind in ("ContinuousParameterRanges", "IntegerParameterRanges") for r in config["ParameterRanges"][kind]}
    assert set(ranges) == {"wd", "learning_rate", "mini_batch_size"}
    assert ranges["wd"]["ScalingType"] == "Logarithmic"
    assert tuning["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] == LL_IMAGE
    assert tuning["TrainingJobStatusCounters"]["Completed"] == 6

    children = all_children(aws, tuning_job)
    assert len(children) == 6, [c["TrainingJobName"] for c in children]
    assert all(c["TrainingJobStatus"] == "Completed" for c in children), children
    assert most_at_once(children) <= 2
    for child in children:
        tuned = child["TunedHyperParameters"]
        assert set(tuned) == set(ranges), tuned
        for name, value in tuned.items():
            assert float(ranges[name]["MinValue"]) <= float(value) <= float(ranges[name]["MaxValue"]), (name, value)
        assert child["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "validation:binary_f_beta"
    best = max(children, key=lambda c: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert tuning["BestTrainingJob"]["TrainingJobName"] == best_job
    assert tuning["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]

    job = aws.sagemaker.describe_training_job(TrainingJobName=best_job)
    assert job["TuningJobArn"] == tuning["HyperParameterTuningJobArn"]
    assert [c["ChannelName"] for c in job["InputDataConfig"]] == ["train", "validation"]
    assert job["HyperParameters"]["_tuning_objective_metric"] == "validation:binary_f_beta"
    return children


def test_linear_learner_boto3_tuning_core_hosting_f1(engine, aws, mnist, tmp_path: Path, record_property) -> None:
    """create_hyper_parameter_tuning_job -> HyperParameterTuningJob.wait -> core Model/Endpoint -> invoke x100 -> F1 >= 0.9."""
    run = run_user_script(engine, SCRIPTS / "ll_tuning_boto3.py", tmp_path, timeout=180)
    result = run.succeeded()
    assert_default_identity(result)

    check_zero_classifier(result, mnist[2][1], run, record_property)
    assert result["endpoint_status"] == "InService"
    assert all(t.startswith("application/json") for t in result["content_types"]), result["content_types"]

    assert result["tuning_status"] == "Completed"
    _check_tuning(aws, result["tuning_job_name"], result["best_training_job"])
    completed_job(aws, result)

    assert_deleted(aws, endpoint=result["name"], endpoint_config=result["name"], model=result["name"])


def test_linear_learner_sdk3_hyperparameter_tuner(engine, aws, tmp_path: Path, record_property) -> None:
    """sagemaker.train.tuner.HyperparameterTuner(ModelTrainer).tune -> best_training_job -> analytics().dataframe()."""
    run = run_user_script(engine, SCRIPTS / "ll_tuner_v3.py", tmp_path, timeout=180)
    result = run.succeeded()
    assert_default_identity(result)

    assert result["tuning_status"] == "Completed"
    children = _check_tuning(aws, result["tuning_job_name"], result["best_training_job"])
    # what the SDK's analytics read through ListTrainingJobsForHyperParameterTuningJob
    assert result["analytics_jobs"] == sorted(c["TrainingJobName"] for c in children)
    assert result["analytics_statuses"] == ["Completed"]
    best = max(c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in children)
    assert abs(result["analytics_best_objective"] - best) < 1e-9
    record_property("best_validation_f1", best)
    assert best >= 0.85, f"the best validation F1 of six tuned jobs is {best:.4f}"


def test_xgboost_spot_model_trainer_endpoint_invoke(engine, aws, tmp_path: Path, record_property) -> None:
    """ModelTrainer(Compute(enable_managed_spot_training=True)) -> core hosting -> Endpoint.invoke(text/csv) >= 90 %."""
    run = run_user_script(engine, SCRIPTS / "xgboost_spot_model_trainer.py", tmp_path, timeout=180)
    result = run.succeeded()
    assert_default_identity(result)
    data = breast_cancer()

    assert result["image"] == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert result["predictions"] == result["test_rows"] == len(data.test.y)
    assert result["scores_in_unit_interval"], "binary:logistic answers probabilities"
    assert result["response_content_type"].startswith("text/csv")
    record_property("classification_rate", result["classification_rate"])
    assert result["classification_rate"] >= 0.9, f"classification rate {result['classification_rate']:.4f}\n" + run.explain()

    # what the SDK read (pydantic TrainingJob) and what boto3 reads agree on the spot figures
    assert result["spot"] is True
    assert result["billable_seconds"] == result["training_seconds"] >= 1  # no invented spot saving
    job = completed_job(aws, result)
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 300
    assert job["StoppingCondition"]["MaxWaitTimeInSeconds"] == 600
    assert job["BillableTimeInSeconds"] == job["TrainingTimeInSeconds"]
    assert (job["BillableTimeInSeconds"], job["TrainingTimeInSeconds"]) == (result["billable_seconds"], result["training_seconds"])

    # ModelTrainer uploaded the local CSVs: tests/reference_data.py's splits, label first, no header
    channels = {c["ChannelName"]: c for c in job["InputDataConfig"]}
    assert set(channels) == {"train", "validation"}
    for name, split in (("train", data.train), ("validation", data.validation)):
        assert channels[name]["ContentType"] == "text/csv"
        uri = channels[name]["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, prefix = uri[len("s3://") :].split("/", 1)
        keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
        assert len(keys) == 1, keys
        table = np.loadtxt(io.BytesIO(read_s3(aws, f"s3://{bucket}/{keys[0]}")), delimiter=",", ndmin=2)
        np.testing.assert_array_equal(table[:, 0], split.y)
        np.testing.assert_allclose(table[:, 1:], split.x, rtol=1e-9)

    assert_deleted(aws, endpoint=result["name"], endpoint_config=result["name"], model=result["name"])


def test_pca_transform_job_then_kmeans(engine, aws, mnist, tmp_path: Path) -> None:
    """ModelTrainer PCA(50) -> TransformJob.create (CSV, Line split, 1 MB MultiRecord, JSON) -> ModelTrainer k-means."""
    run = run_user_script(engine, SCRIPTS / "pca_transform_kmeans_v3.py", tmp_path, timeout=180)
    result = run.succeeded()
    assert_default_identity(result)
    digits = mnist[0][0]

    assert result["input_rows"] == result["projection_rows"] == len(digits)
    assert result["projection_widths"] == [50]
    pca = completed_job(aws, {"job_name": result["pca_job"], "model_data": result["pca_model_data"]})
    assert pca["HyperParameters"]["num_components"] == "50"

    transform = aws.sagemaker.describe_transform_job(TransformJobName=result["transform_job"])
    assert transform["TransformJobStatus"] == "Completed" == result["transform_status"]
    assert transform["MaxPayloadInMB"] == 1 and transform["BatchStrategy"] == "MultiRecord"
    assert transform["TransformOutput"]["Accept"] == "application/json"

    # the CSV is several MB, so the 1 MB mini-batches gave several JSON answers, one per line, in input order
    csv_bytes = sum(len(",".join(f"{v:.6g}" for v in row)) + 1 for row in digits)
    assert result["documents"] >= csv_bytes // (1024 * 1024)
    documents = [json.loads(line) for line in read_s3(aws, result["output_uri"]).decode().splitlines() if line.strip()]
    assert len(documents) == result["documents"] > 1
    projections = np.array([p["projection"] for doc in documents for p in doc["projections"]])
    assert projections.shape == (len(digits), 50) and np.isfinite(projections).all()
    check_projections(projections, digits)

    # the model the transform used was deleted by the script; k-means trained on the projections
    assert_gone(aws.sagemaker.describe_model, ModelName=result["model_name"])
    assert result["kmeans_status"] == "Completed"
    kmeans = completed_job(aws, {"job_name": result["kmeans_job"], "model_data": result["kmeans_model_data"]})
    assert kmeans["HyperParameters"]["feature_dim"] == "50" and kmeans["HyperParameters"]["k"] == "10"
