"""Is it a zero? MNIST binary classification with Linear Learner, tuned by HyperparameterTuner (SageMaker SDK 2.x).

The classic "Linear Learner MNIST" notebook flow with automatic model tuning
added, as a script: download MNIST from the public sample bucket, upload train
and validation record sets, tune wd / learning_rate / mini_batch_size for
validation:binary_f_beta (6 jobs, 2 at a time), deploy the best job, predict
the test set as CSV (JSON back) in 100 batches, build the confusion matrix and
clean up. Nothing here knows about a local engine. The last line printed is a
JSON summary.
"""

import gzip
import json
import pickle

import boto3
import numpy as np
import sagemaker
from sagemaker import LinearLearner, get_execution_role
from sagemaker.deserializers import JSONDeserializer
from sagemaker.serializers import CSVSerializer
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

role = get_execution_role()
sess = sagemaker.Session()
bucket = sess.default_bucket()
prefix = "sagemaker/DEMO-linear-mnist-hpo"
print(f"role {role}, bucket {bucket}")

# MNIST, as the tutorial gets it.
s3 = boto3.client("s3")
s3.download_file("sagemaker-sample-files", "datasets/image/MNIST/mnist.pkl.gz", "mnist.pkl.gz")
with gzip.open("mnist.pkl.gz", "rb") as f:
    train_set, valid_set, test_set = pickle.load(f, encoding="latin1")
print(f"train {train_set[0].shape}, validation {valid_set[0].shape}, test {test_set[0].shape}")


def is_zero(labels):
    return np.where(labels == 0, 1, 0).astype("float32")


linear = LinearLearner(
    role=role,
    instance_count=1,
    instance_type="ml.c4.xlarge",
    predictor_type="binary_classifier",
    binary_classifier_model_selection_criteria="f_beta",
    epochs=10,
    output_path=f"s3://{bucket}/{prefix}/output",
    data_location=f"s3://{bucket}/{prefix}/data",
    sagemaker_session=sess,
)
train_records = linear.record_set(train_set[0].astype("float32"), labels=is_zero(train_set[1]), channel="train")
validation_records = linear.record_set(valid_set[0].astype("float32"), labels=is_zero(valid_set[1]), channel="validation")

tuner = HyperparameterTuner(
    linear,
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
tuner.fit([train_records, validation_records])
tuner.wait()
tuning_job_name = tuner.latest_tuning_job.name
status = tuner.describe()["HyperParameterTuningJobStatus"]
best_job = tuner.best_training_job()
print(f"tuning job {tuning_job_name}: {status}, best training job {best_job}")

predictor = tuner.deploy(
    initial_instance_count=1,
    instance_type="ml.m4.xlarge",
    serializer=CSVSerializer(),
    deserializer=JSONDeserializer(),
)
endpoint_name = predictor.endpoint_name
print(f"endpoint {endpoint_name}")

# Predict the test set in 100 batches, CSV in, JSON out.
predictions = []
for batch in np.array_split(test_set[0], 100):
    result = predictor.predict(batch)
    predictions += [r["predicted_label"] for r in result["predictions"]]
predictions = np.array(predictions)
actual = is_zero(test_set[1])

confusion = [[int(((actual == a) & (predictions == p)).sum()) for p in (0, 1)] for a in (0, 1)]
print("confusion matrix (rows actual 0/1, columns predicted 0/1):", confusion)
true_positive, false_negative, false_positive = confusion[1][1], confusion[1][0], confusion[0][1]
precision = true_positive / max(1, true_positive + false_positive)
recall = true_positive / max(1, true_positive + false_negative)
f1 = 2 * precision * recall / max(1e-12, precision + recall)
print(f"precision {precision:.4f}, recall {recall:.4f}, F1 {f1:.4f}")

model_names = [v["ModelName"] for v in sess.sagemaker_client.describe_endpoint_config(
    EndpointConfigName=sess.sagemaker_client.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
)["ProductionVariants"]]
predictor.delete_model()
predictor.delete_endpoint()

print(
    json.dumps(
        {
            "role": role,
            "bucket": bucket,
            "tuning_job_name": tuning_job_name,
            "tuning_status": status,
            "best_training_job": best_job,
            "endpoint_name": endpoint_name,
            "model_names": model_names,
            "predictions": len(predictions),
            "confusion": confusion,
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
    )
)
