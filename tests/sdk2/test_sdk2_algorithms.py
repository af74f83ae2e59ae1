"""Built-in algorithms, tuning and batch transform through SageMaker SDK 2.x users' scripts, run unmodified.

Each script (``scripts/``) is a tutorial-style program that knows nothing of
the engine; ``sm-magics local run`` alone points boto3 and the SDK at it. The
tests check the figures the scripts print (their last line is a JSON summary),
what boto3 says about the jobs they ran, that they cleaned up after
themselves, and that nothing they did left the machine.

* ``ll_tuner.py``: "is it a zero?" on MNIST with ``LinearLearner`` +
  ``HyperparameterTuner`` (6 jobs, 2 at a time, objective
  ``validation:binary_f_beta``), ``tuner.deploy``, CSV in / JSON out.
* ``xgboost_spot.py``: XGBoost 1.7-1 ``binary:logistic`` on managed spot
  capacity, on the breast-cancer data shipped inside scikit-learn.
* ``pca_transform_kmeans.py``: PCA (50 components) -> batch transform of the
  digits -> k-means on the projections.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from reference_data import breast_cancer
from sdk_common import (all_children, check_zero_classifier, assert_default_identity, assert_deleted, check_projections, completed_job, most_at_once,
                        needs_sdk, read_s3, run_user_script)

SCRIPTS = Path(__file__).resolve().parent / "scripts"

pytestmark = needs_sdk(2, "run in .venv")

LL_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"


def test_linear_learner_tuning_deploy_and_f1(engine, aws, mnist, tmp_path: Path, record_property) -> None:
    """LinearLearner + HyperparameterTuner: 6 real jobs (2 in parallel), best one deployed, F1 of "is it a zero?" >= 0.9."""
    run = run_user_script(engine, SCRIPTS / "ll_tuner.py", tmp_path, timeout=240)
    result = run.succeeded()
    assert_default_identity(result)

    # what the user computed from the endpoint's answers
    check_zero_classifier(result, mnist[2][1], run, record_property)

    # the tuning job as boto3 describes it
    tuning = aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=result["tuning_job_name"])
    assert tuning["HyperParameterTuningJobStatus"] == "Completed" == result["tuning_status"]
    config = tuning["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": "validation:binary_f_beta"}
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 6 and config["ResourceLimits"]["MaxParallelTrainingJobs"] == 2
    ranges = config["ParameterRanges"]
    continuous = {r["Name"]: r for r in ranges["ContinuousParameterRanges"]}
    assert set(continuous) == {"wd", "learning_rate"}
    assert continuous["wd"]["ScalingType"] == "Logarithmic"
    assert [r["Name"] for r in ranges["IntegerParameterRanges"]] == ["mini_batch_size"]
    batch = ranges["IntegerParameterRanges"][0]
    assert tuning["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] == LL_IMAGE
    assert tuning["TrainingJobStatusCounters"]["Completed"] == 6

    # six real training jobs, never more than two at once, each with its own proposal inside the ranges
    children = all_children(aws, result["tuning_job_name"])
    assert len(children) == 6, [c["TrainingJobName"] for c in children]
    assert all(c["TrainingJobStatus"] == "Completed" for c in children), children
    assert most_at_once(children) <= 2
    for child in children:
        tuned = child["TunedHyperParameters"]
        assert set(tuned) == {"wd", "learning_rate", "mini_batch_size"}, tuned
        assert float(continuous["wd"]["MinValue"]) <= float(tuned["wd"]) <= float(continuous["wd"]["MaxValue"])
        lr = continuous["learning_rate"]
        assert float(lr["MinValue"]) <= float(tuned["learning_rate"]) <= float(lr["MaxValue"])
        assert int(batch["MinValue"]) <= int(tuned["mini_batch_size"]) <= int(batch["MaxValue"])
        objective = child["FinalHyperParameterTuningJobObjectiveMetric"]
        assert objective["MetricName"] == "validation:binary_f_beta" and 0 < objective["Value"] <= 1
    assert len({json.dumps(c["TunedHyperParameters"], sort_keys=True) for c in children}) == 6

    # the best job is the child with the highest objective, and it is the one tuner.deploy() hosted
    best = max(children, key=lambda c: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert tuning["BestTrainingJob"]["TrainingJobName"] == result["best_training_job"]
    assert tuning["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    job = aws.sagemaker.describe_training_job(TrainingJobName=result["best_training_job"])
    assert job["TuningJobArn"] == tuning["HyperParameterTuningJobArn"]
    assert [c["ChannelName"] for c in job["InputDataConfig"]] == ["train", "validation"]
    assert job["HyperParameters"]["_tuning_objective_metric"] == "validation:binary_f_beta"
    assert job["HyperParameters"]["predictor_type"] == "binary_classifier"
    assert result["endpoint_name"] == result["best_training_job"]

    # predictor.delete_model() + delete_endpoint() left nothing behind
    assert len(result["model_names"]) == 1
    assert_deleted(aws, endpoint=result["endpoint_name"], endpoint_config=result["endpoint_name"], model=result["model_names"][0])


def test_xgboost_managed_spot_csv(engine, aws, tmp_path: Path, record_property) -> None:
    """XGBoost 1.7-1 with use_spot_instances: spot figures in DescribeTrainingJob, CSV predictions classify >= 90 %."""
    run = run_user_script(engine, SCRIPTS / "xgboost_spot.py", tmp_path, timeout=180)
    result = run.succeeded()
    assert_default_identity(result)
    data = breast_cancer()

    assert result["image"] == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert result["predictions"] == result["test_rows"] == len(data.test.y)
    assert result["scores_in_unit_interval"], "binary:logistic answers probabilities"
    record_property("classification_rate", result["classification_rate"])
    assert result["classification_rate"] >= 0.9, f"classification rate {result['classification_rate']:.4f}\n" + run.explain()

    # the script's CSVs are tests/reference_data.py's splits, label first, no header
    for uri, split in ((result["train_uri"], data.train), (result["validation_uri"], data.validation)):
        table = np.loadtxt(io.BytesIO(read_s3(aws, uri)), delimiter=",", ndmin=2)
        assert table.shape == (len(split.y), 31)
        np.testing.assert_array_equal(table[:, 0], split.y)
        np.testing.assert_allclose(table[:, 1:], split.x, rtol=1e-9)

    job = completed_job(aws, result)
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 300
    assert job["StoppingCondition"]["MaxWaitTimeInSeconds"] == 600
    # the engine cannot know AWS's spot discount: it bills every second it trained, and invents no saving
    assert job["BillableTimeInSeconds"] == job["TrainingTimeInSeconds"] >= 1
    assert {c["ChannelName"]: c["ContentType"] for c in job["InputDataConfig"]} == {"train": "csv", "validation": "csv"}
    assert job["HyperParameters"]["objective"] == "binary:logistic"
    # fit() printed the spot lines from those figures: no saving
    assert "Managed Spot Training savings: 0.0%" in run.stdout, run.explain()

    assert_deleted(aws, endpoint=result["endpoint_name"], endpoint_config=result["endpoint_name"], model=result["endpoint_name"])


def test_pca_batch_transform_then_kmeans(engine, aws, mnist, tmp_path: Path) -> None:
    """PCA(50) -> pca.transformer().transform(CSV, split Line, JSON Lines) -> KMeans on the projections."""
    run = run_user_script(engine, SCRIPTS / "pca_transform_kmeans.py", tmp_path, timeout=180)
    result = run.succeeded()
    assert_default_identity(result)
    digits = mnist[0][0]

    # one projection of 50 values per input row, as the script read them
    assert result["input_rows"] == len(digits)
    assert result["projection_lines"] == len(digits)
    assert result["projection_widths"] == [50]

    pca = completed_job(aws, {"job_name": result["pca_job"], "model_data": result["pca_model_data"]})
    assert pca["HyperParameters"]["num_components"] == "50" and pca["HyperParameters"]["feature_dim"] == "784"

    transform = aws.sagemaker.describe_transform_job(TransformJobName=result["transform_job"])
    assert transform["TransformJobStatus"] == "Completed" == result["transform_status"]
    assert transform["ModelName"] == result["transform_model"]
    assert transform["TransformInput"]["ContentType"] == "text/csv" and transform["TransformInput"]["SplitType"] == "Line"
    assert transform["TransformOutput"]["Accept"] == "application/jsonlines"
    assert transform["TransformOutput"]["AssembleWith"] == "Line"
    assert transform["BatchStrategy"] == "MultiRecord"

    # the output object itself: one JSON line per digit, in input order, holding its projection
    lines = [line for line in read_s3(aws, result["output_uri"]).decode().splitlines() if line.strip()]
    assert len(lines) == len(digits)
    check_projections(np.array([json.loads(line)["projection"] for line in lines]), digits)

    # k-means trained on those projections
    assert result["kmeans_status"] == "Completed"
    kmeans = completed_job(aws, {"job_name": result["kmeans_job"], "model_data": result["kmeans_model_data"]})
    assert kmeans["HyperParameters"]["feature_dim"] == "50" and kmeans["HyperParameters"]["k"] == "10"
