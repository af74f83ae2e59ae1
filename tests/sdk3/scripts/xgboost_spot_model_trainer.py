"""Breast-cancer classification with the built-in XGBoost (1.7-1) on managed spot capacity, SageMaker SDK 3.x.

The data is the Wisconsin breast-cancer dataset that ships inside scikit-learn
(``sklearn.datasets.load_breast_cancer``, 569 records x 30 features, label 1 =
benign), so nothing is downloaded. It is split 60 / 20 / 20 % (stratified,
seed 0) and written as CSV the way the built-in algorithms read it (label in
the first column, no header). ``ModelTrainer`` uploads the local files and
trains with ``Compute(enable_managed_spot_training=True)``; the model is hosted
with ``sagemaker.core.resources`` and the test split predicted through
``Endpoint.invoke``. Nothing here knows about a local engine. The last line
printed is a JSON summary.
"""

import json
import os
import time

import numpy as np
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session, get_execution_role
from sagemaker.core.resources import Endpoint, EndpointConfig, Model
from sagemaker.core.shapes import ContainerDefinition, ProductionVariant, StoppingCondition
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.train import ModelTrainer
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

session = Session()
region = session.boto_region_name
bucket = session.default_bucket()
role = get_execution_role(session)
prefix = "xgboost-breast-cancer-spot-v3"
print(f"role {role}, bucket {bucket}, region {region}")

data = load_breast_cancer()
x, y = data.data.astype(np.float64), data.target.astype(np.float64)
x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=0)
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")

for folder, features, labels in (("data/train", x_train, y_train), ("data/validation", x_val, y_val)):
    os.makedirs(folder, exist_ok=True)
    with open(f"{folder}/{folder.split('/')[-1]}.csv", "w") as f:
        for label, row in zip(labels, features):
            f.write(f"{label:g}," + ",".join(f"{v:.10g}" for v in row) + "\n")

image = image_uris.retrieve("xgboost", region, "1.7-1")
trainer = ModelTrainer(
    training_image=image,
    role=role,
    sagemaker_session=session,
    base_job_name="xgboost-spot-v3",
    hyperparameters={
        "max_depth": 5,
        "eta": 0.2,
        "gamma": 4,
        "min_child_weight": 6,
        "subsample": 0.8,
        "objective": "binary:logistic",
        "eval_metric": "error",
        "num_round": 50,
    },
    compute=Compute(instance_type="ml.m5.xlarge", instance_count=1, enable_managed_spot_training=True),
    stopping_condition=StoppingCondition(max_runtime_in_seconds=300, max_wait_time_in_seconds=600),
    output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/{prefix}/output"),
)
trainer.train(
    input_data_config=[
        InputData(channel_name="train", data_source="data/train", content_type="text/csv"),
        InputData(channel_name="validation", data_source="data/validation", content_type="text/csv"),
    ],
)
job = trainer._latest_training_job
job.refresh()
model_data = job.model_artifacts.s3_model_artifacts
print(
    f"training job {job.training_job_name}: {job.training_job_status}, spot {job.enable_managed_spot_training}, "
    f"training {job.training_time_in_seconds} s, billable {job.billable_time_in_seconds} s"
)

name = f"xgb-spot-v3-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"
model = Model.create(
    model_name=name,
    primary_container=ContainerDefinition(image=image, model_data_url=model_data),
    execution_role_arn=role,
)
config = EndpointConfig.create(
    endpoint_config_name=name,
    production_variants=[
        ProductionVariant(variant_name="AllTraffic", model_name=name, initial_instance_count=1, instance_type="ml.m4.xlarge")
    ],
)
endpoint = Endpoint.create(endpoint_name=name, endpoint_config_name=name)
endpoint.wait_for_status("InService")

csv = "\n".join(",".join(f"{v:.10g}" for v in row) for row in x_test)
response = endpoint.invoke(body=csv, content_type="text/csv")
scores = np.array([float(v) for v in response.body.read().decode().split() if v.strip()])
rate = float(((scores > 0.5).astype(np.float64) == y_test).mean())
print(f"{len(scores)} predictions, classification rate {rate:.4f}")

endpoint.delete()
config.delete()
model.delete()

print(
    json.dumps(
        {
            "role": role,
            "bucket": bucket,
            "job_name": job.training_job_name,
            "job_status": job.training_job_status,
            "model_data": model_data,
            "image": image,
            "spot": job.enable_managed_spot_training,
            "training_seconds": job.training_time_in_seconds,
            "billable_seconds": job.billable_time_in_seconds,
            "name": name,
            "response_content_type": response.content_type,
            "predictions": len(scores),
            "test_rows": len(y_test),
            "scores_in_unit_interval": bool(((scores >= 0) & (scores <= 1)).all()),
            "classification_rate": rate,
        }
    )
)
