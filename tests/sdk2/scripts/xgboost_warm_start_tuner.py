"""Breast-cancer XGBoost (1.7-1) tuned twice, the second time warm-started from the first (SageMaker SDK 2.x).

The "warm start" flow of the SDK's documentation, as a script: a first
HyperparameterTuner over eta / max_depth (Random, 3 jobs), then a second one
with ``warm_start_config=WarmStartConfig(IDENTICAL_DATA_AND_ALGORITHM,
parents={first})`` over a wider eta range (Bayesian, 2 jobs), and the same
second tuner again made with ``tuner.identical_dataset_and_algorithm_tuner``.
The data is scikit-learn's breast-cancer set written as CSV (label first), so
nothing is downloaded. Nothing here knows about a local engine. The last line
printed is a JSON summary.
"""

import json
import uuid

import numpy as np
import sagemaker
from sagemaker import get_execution_role
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter, WarmStartConfig, WarmStartTypes
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

role = get_execution_role()
sess = sagemaker.Session()
bucket = sess.default_bucket()
prefix = "sagemaker/DEMO-xgboost-warm-start"
# the SDK's default tuning job names carry the minute only: three tuners in a minute need their own names
run_id = uuid.uuid4().hex[:6]

data = load_breast_cancer()
x, y = data.data.astype(np.float64), data.target.astype(np.float64)
x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)


def write_csv(path, features, labels):
    with open(path, "w") as f:
        for label, row in zip(labels, features):
            f.write(f"{label:g}," + ",".join(f"{v:.10g}" for v in row) + "\n")


write_csv("train.csv", x_train, y_train)
write_csv("validation.csv", x_val, y_val)
train = TrainingInput(sess.upload_data("train.csv", bucket=bucket, key_prefix=f"{prefix}/train"), content_type="text/csv")
validation = TrainingInput(sess.upload_data("validation.csv", bucket=bucket, key_prefix=f"{prefix}/validation"), content_type="text/csv")

xgb = Estimator(
    image_uri=sagemaker.image_uris.retrieve("xgboost", sess.boto_region_name, "1.7-1"),
    role=role,
    instance_count=1,
    instance_type="ml.m5.xlarge",
    output_path=f"s3://{bucket}/{prefix}/output",
    sagemaker_session=sess,
)
xgb.set_hyperparameters(objective="binary:logistic", num_round=20)

parent = HyperparameterTuner(
    xgb,
    objective_metric_name="validation:auc",
    hyperparameter_ranges={"eta": ContinuousParameter(0.05, 0.5), "max_depth": IntegerParameter(1, 6)},
    objective_type="Maximize",
    strategy="Random",
    max_jobs=3,
    max_parallel_jobs=3,
)
parent.fit({"train": train, "validation": validation}, job_name=f"xgb-parent-{run_id}")
parent.wait()
parent_name = parent.latest_tuning_job.name
print(f"parent {parent_name}: best {parent.best_training_job()}")

warm = HyperparameterTuner(
    xgb,
    objective_metric_name="validation:auc",
    hyperparameter_ranges={"eta": ContinuousParameter(0.01, 0.6), "max_depth": IntegerParameter(1, 6)},
    objective_type="Maximize",
    max_jobs=2,
    max_parallel_jobs=1,
    warm_start_config=WarmStartConfig(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents={parent_name}),
)
warm.fit({"train": train, "validation": validation}, job_name=f"xgb-warm-{run_id}")
warm.wait()
warm_name = warm.latest_tuning_job.name
description = warm.describe()
print(f"warm start {warm_name}: {description['HyperParameterTuningJobStatus']}")

# the SDK's shortcut for the same kind of child tuner
again = parent.identical_dataset_and_algorithm_tuner(additional_parents={warm_name})
again.fit({"train": train, "validation": validation}, job_name=f"xgb-again-{run_id}")
again.wait()
again_name = again.latest_tuning_job.name

print(
    json.dumps(
        {
            "parent": parent_name,
            "warm": warm_name,
            "again": again_name,
            "warm_status": description["HyperParameterTuningJobStatus"],
            "warm_start_config": description.get("WarmStartConfig"),
            "overall_best": description.get("OverallBestTrainingJob", {}).get("TrainingJobName"),
            "best": warm.best_training_job(),
            "again_status": again.describe()["HyperParameterTuningJobStatus"],
        }
    )
)
