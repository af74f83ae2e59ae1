"""Is it a zero? Linear Learner tuned with boto3's CreateHyperParameterTuningJob, hosted with SageMaker SDK 3.x resources.

The "Linear Learner MNIST" flow with automatic model tuning, as an SDK 3.x user
writes it: MNIST from the public sample bucket, train and validation channels
as RecordIO-protobuf (SDK 3 ships no RecordIO writer, so sm_magics' encoder
writes them), a tuning job over wd / learning_rate / mini_batch_size for
validation:binary_f_beta (6 jobs, 2 at a time) created with boto3 and waited
for with ``sagemaker.core.resources.HyperParameterTuningJob``, the best job
hosted with Model / EndpointConfig / Endpoint, the test set predicted in 100
CSV batches (JSON back), the confusion matrix built, and everything deleted.
Nothing here knows about a local engine. The last line printed is a JSON summary.
"""

import gzip
import io
import json
import pickle
import time

import boto3
import numpy as np
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session, get_execution_role
from sagemaker.core.resources import Endpoint, EndpointConfig, HyperParameterTuningJob, Model, TrainingJob
from sagemaker.core.shapes import ContainerDefinition, ProductionVariant

from sm_magics.formats.recordio import encode_dense

session = Session()
region = session.boto_region_name
bucket = session.default_bucket()
role = get_execution_role(session)
prefix = "linear-mnist-hpo-v3"
print(f"role {role}, bucket {bucket}, region {region}")

s3 = boto3.client("s3")
body = s3.get_object(Bucket="sagemaker-sample-files", Key="datasets/image/MNIST/mnist.pkl.gz")["Body"].read()
train_set, valid_set, test_set = pickle.load(io.BytesIO(gzip.decompress(body)), encoding="latin1")


def is_zero(labels):
    return np.where(labels == 0, 1, 0).astype("float32")


for channel, (features, labels) in (("train", train_set), ("validation", valid_set)):
    s3.put_object(
        Bucket=bucket,
        Key=f"{prefix}/{channel}/mnist.pbr",
        Body=encode_dense(features.astype("float32"), is_zero(labels)),
    )


def channel(name):
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"s3://{bucket}/{prefix}/{name}/",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "ContentType": "application/x-recordio-protobuf",
    }


image = image_uris.retrieve("linear-learner", region)
tuning_job_name = f"ll-hpo-v3-{time.strftime('%H%M%S', time.gmtime())}"
sm = boto3.client("sagemaker")
sm.create_hyper_parameter_tuning_job(
    HyperParameterTuningJobName=tuning_job_name,
    HyperParameterTuningJobConfig={
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:binary_f_beta"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {
            "ContinuousParameterRanges": [
                {"Name": "wd", "MinValue": "0.0000001", "MaxValue": "1", "ScalingType": "Logarithmic"},
                {"Name": "learning_rate", "MinValue": "0.0001", "MaxValue": "0.1", "ScalingType": "Auto"},
            ],
            "IntegerParameterRanges": [{"Name": "mini_batch_size", "MinValue": "100", "MaxValue": "2000", "ScalingType": "Auto"}],
            "CategoricalParameterRanges": [],
        },
        "TrainingJobEarlyStoppingType": "Off",
    },
    TrainingJobDefinition={
        "StaticHyperParameters": {
            "feature_dim": "784",
            "predictor_type": "binary_classifier",
            "binary_classifier_model_selection_criteria": "f_beta",
            "epochs": "10",
        },
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": role,
        "InputDataConfig": [channel("train"), channel("validation")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{prefix}/output"},
        "ResourceConfig": {"InstanceType": "ml.c4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    },
)

tuning_job = HyperParameterTuningJob.get(hyper_parameter_tuning_job_name=tuning_job_name)
tuning_job.wait(poll=2)
best_job_name = tuning_job.best_training_job.training_job_name
best_value = tuning_job.best_training_job.final_hyper_parameter_tuning_job_objective_metric.value
print(f"tuning job {tuning_job_name}: {tuning_job.hyper_parameter_tuning_job_status}, best {best_job_name} ({best_value:.4f})")
best_job = TrainingJob.get(training_job_name=best_job_name)
model_data = best_job.model_artifacts.s3_model_artifacts

# Hosting, 1:1 with the API.
name = f"ll-v3-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"
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
print(f"endpoint {endpoint.endpoint_name}: {endpoint.endpoint_status}")

predictions = []
content_types = set()
for batch in np.array_split(test_set[0], 100):
    csv = "\n".join(",".join(f"{v:.6g}" for v in row) for row in batch)
    response = endpoint.invoke(body=csv, content_type="text/csv", accept="application/json")
    content_types.add(response.content_type)
    predictions += [p["predicted_label"] for p in json.loads(response.body.read())["predictions"]]
predictions = np.array(predictions)
actual = is_zero(test_set[1])

confusion = [[int(((actual == a) & (predictions == p)).sum()) for p in (0, 1)] for a in (0, 1)]
print("confusion matrix (rows actual 0/1, columns predicted 0/1):", confusion)
true_positive, false_negative, false_positive = confusion[1][1], confusion[1][0], confusion[0][1]
precision = true_positive / max(1, true_positive + false_positive)
recall = true_positive / max(1, true_positive + false_negative)
f1 = 2 * precision * recall / max(1e-12, precision + recall)
print(f"precision {precision:.4f}, recall {recall:.4f}, F1 {f1:.4f}")

endpoint.delete()
config.delete()
model.delete()

print(
    json.dumps(
        {
            "role": role,
            "bucket": bucket,
            "tuning_job_name": tuning_job_name,
            "tuning_status": tuning_job.hyper_parameter_tuning_job_status,
            "best_training_job": best_job_name,
            "best_objective": best_value,
            "job_name": best_job_name,
            "model_data": model_data,
            "name": name,
            "endpoint_status": endpoint.endpoint_status,
            "content_types": sorted(content_types),
            "predictions": len(predictions),
            "confusion": confusion,
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
    )
)
