"""Breast-cancer classification with the built-in XGBoost (1.7-1) on managed spot instances (SageMaker SDK 2.x).

The data is the Wisconsin breast-cancer dataset that ships inside scikit-learn
(``sklearn.datasets.load_breast_cancer``, 569 records x 30 features, label 1 =
benign), so nothing is downloaded. It is split 60 / 20 / 20 % (stratified,
seed 0), written as CSV the way the built-in algorithms read it (label in the
first column, no header), uploaded, and trained on with a generic
``Estimator`` using spot capacity; the model is deployed, the test split is
predicted as CSV and the classification rate printed. Nothing here knows
about a local engine. The last line printed is a JSON summary.
"""

import json

import numpy as np
import sagemaker
from sagemaker import get_execution_role
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.serializers import CSVSerializer
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

role = get_execution_role()
sess = sagemaker.Session()
bucket = sess.default_bucket()
region = sess.boto_region_name
prefix = "sagemaker/DEMO-xgboost-breast-cancer-spot"

# 60 / 20 / 20 % stratified split of the data scikit-learn ships.
data = load_breast_cancer()
x, y = data.data.astype(np.float64), data.target.astype(np.float64)
x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=0)
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")


def write_csv(path, features, labels):
    with open(path, "w") as f:
        for label, row in zip(labels, features):
            f.write(f"{label:g}," + ",".join(f"{v:.10g}" for v in row) + "\n")


write_csv("train.csv", x_train, y_train)
write_csv("validation.csv", x_val, y_val)
train_uri = sess.upload_data("train.csv", bucket=bucket, key_prefix=f"{prefix}/train")
validation_uri = sess.upload_data("validation.csv", bucket=bucket, key_prefix=f"{prefix}/validation")
print(f"uploaded {train_uri} and {validation_uri}")

container = sagemaker.image_uris.retrieve("xgboost", region, "1.7-1")
xgb = Estimator(
    image_uri=container,
    role=role,
    instance_count=1,
    instance_type="ml.m5.xlarge",
    output_path=f"s3://{bucket}/{prefix}/output",
    use_spot_instances=True,
    max_run=300,
    max_wait=600,
    sagemaker_session=sess,
)
xgb.set_hyperparameters(
    max_depth=5,
    eta=0.2,
    gamma=4,
    min_child_weight=6,
    subsample=0.8,
    objective="binary:logistic",
    eval_metric="error",
    num_round=50,
)
xgb.fit(
    {
        "train": TrainingInput(train_uri, content_type="csv"),
        "validation": TrainingInput(validation_uri, content_type="csv"),
    }
)
job_name = xgb.latest_training_job.name

predictor = xgb.deploy(initial_instance_count=1, instance_type="ml.m4.xlarge", serializer=CSVSerializer())
endpoint_name = predictor.endpoint_name
response = predictor.predict(x_test).decode("utf-8")
scores = np.array([float(v) for v in response.replace("\n", ",").split(",") if v.strip()])
predicted = (scores > 0.5).astype(np.float64)
rate = float((predicted == y_test).mean())
print(f"{len(scores)} predictions, classification rate {rate:.4f}")

predictor.delete_model()
predictor.delete_endpoint()

print(
    json.dumps(
        {
            "role": role,
            "bucket": bucket,
            "job_name": job_name,
            "image": container,
            "model_data": xgb.model_data,
            "train_uri": train_uri,
            "validation_uri": validation_uri,
            "endpoint_name": endpoint_name,
            "predictions": len(scores),
            "test_rows": len(y_test),
            "scores_in_unit_interval": bool(((scores >= 0) & (scores <= 1)).all()),
            "classification_rate": rate,
        }
    )
)
