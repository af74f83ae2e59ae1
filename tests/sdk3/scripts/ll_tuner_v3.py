"""Is it a zero? Linear Learner tuned with SageMaker SDK 3.x's own HyperparameterTuner over a ModelTrainer.

MNIST from the public sample bucket as RecordIO-protobuf (SDK 3 ships no
RecordIO writer, so sm_magics' encoder writes it), a ``ModelTrainer`` for the
linear-learner image, and ``sagemaker.train.tuner.HyperparameterTuner`` over
wd / learning_rate / mini_batch_size for validation:binary_f_beta (6 jobs, 2
at a time); the results are read back with ``tuner.analytics().dataframe()``.
Nothing here knows about a local engine. The last line printed is a JSON summary.
"""

import gzip
import io
import json
import pickle

import boto3
import numpy as np
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session, get_execution_role
from sagemaker.core.parameter import ContinuousParameter, IntegerParameter
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.train import ModelTrainer
from sagemaker.train.tuner import HyperparameterTuner

from sm_magics.formats.recordio import encode_dense

session = Session()
region = session.boto_region_name
bucket = session.default_bucket()
role = get_execution_role(session)
prefix = "linear-mnist-tuner-v3"
print(f"role {role}, bucket {bucket}, region {region}")

s3 = boto3.client("s3")
body = s3.get_object(Bucket="sagemaker-sample-files", Key="datasets/image/MNIST/mnist.pkl.gz")["Body"].read()
train_set, valid_set, test_set = pickle.load(io.BytesIO(gzip.decompress(body)), encoding="latin1")
for channel, (features, labels) in (("train", train_set), ("validation", valid_set)):
    s3.put_object(
        Bucket=bucket,
        Key=f"{prefix}/{channel}/mnist.pbr",
        Body=encode_dense(features.astype("float32"), np.where(labels == 0, 1, 0).astype("float32")),
    )

trainer = ModelTrainer(
    training_image=image_uris.retrieve("linear-learner", region),
    role=role,
    sagemaker_session=session,
    base_job_name="linear-learner-v3",
    hyperparameters={
        "feature_dim": 784,
        "predictor_type": "binary_classifier",
        "binary_classifier_model_selection_criteria": "f_beta",
        "epochs": 10,
        "mini_batch_size": 200,
    },
    compute=Compute(instance_type="ml.c4.xlarge", instance_count=1),
    output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/{prefix}/output"),
)
tuner = HyperparameterTuner(
    model_trainer=trainer,
    objective_metric_name="validation:binary_f_beta",
    hyperparameter_ranges={
        "wd": ContinuousParameter(1e-7, 1, scaling_type="Logarithmic"),
        "learning_rate": ContinuousParameter(1e-4, 0.1),
        "mini_batch_size": IntegerParameter(100, 2000),
    },
    objective_type="Maximize",
    max_jobs=6,
    max_parallel_jobs=2,
)
tuner.tune(
    inputs=[
        InputData(channel_name=channel, data_source=f"s3://{bucket}/{prefix}/{channel}/", content_type="application/x-recordio-protobuf")
        for channel in ("train", "validation")
    ]
)
tuning_job = tuner.latest_tuning_job
tuning_job.refresh()
best = tuner.best_training_job()
print(f"tuning job {tuning_job.hyper_parameter_tuning_job_name}: {tuning_job.hyper_parameter_tuning_job_status}, best {best}")

table = tuner.analytics().dataframe()
print(table.to_string())

print(
    json.dumps(
        {
            "role": role,
            "bucket": bucket,
            "tuning_job_name": tuning_job.hyper_parameter_tuning_job_name,
            "tuning_status": tuning_job.hyper_parameter_tuning_job_status,
            "best_training_job": best,
            "analytics_jobs": sorted(table["TrainingJobName"]),
            "analytics_statuses": sorted(set(table["TrainingJobStatus"])),
            "analytics_best_objective": float(table["FinalObjectiveValue"].max()),
        }
    )
)
