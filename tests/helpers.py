"""Small building blocks the engine tests share: upload data, train, deploy, as a boto3 user would."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from sm_magics.formats import recordio

KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "sm-magics-tests"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ensure_bucket(aws: Any, bucket: str = BUCKET) -> str:
    existing = {b["Name"] for b in aws.s3.list_buckets()["Buckets"]}
    if bucket not in existing:
        aws.s3.create_bucket(Bucket=bucket)
    return bucket


def upload_recordio(aws: Any, x: np.ndarray, prefix: str, shards: int = 1) -> str:
    bucket = ensure_bucket(aws)
    for index, part in enumerate(np.array_split(x, shards)):
        aws.s3.put_object(Bucket=bucket, Key=f"{prefix}/matrix_{index}.pbr", Body=recordio.encode_dense(part))
    return f"s3://{bucket}/{prefix}/"


def training_request(name: str, train_uri: str, hyperparameters: dict[str, str], **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": KMEANS_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": train_uri, "S3DataDistributionType": "FullyReplicated"}},
                "ContentType": "application/x-recordio-protobuf",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceType": "ml.c4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "HyperParameters": hyperparameters,
    }
    request.update(overrides)
    return request


def train_kmeans(aws: Any, x: np.ndarray, k: int = 10, **hyperparameters: str) -> dict[str, Any]:
    """Train k-means to the end and return DescribeTrainingJob."""
    name = unique("km")
    uri = upload_recordio(aws, x, f"data/{name}")
    params = {"k": str(k), "feature_dim": str(x.shape[1]), **hyperparameters}
    aws.sagemaker.create_training_job(**training_request(name, uri, params))
    aws.sagemaker.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name)
    return aws.sagemaker.describe_training_job(TrainingJobName=name)


def deploy(aws: Any, model_uri: str, image: str = KMEANS_IMAGE) -> str:
    """Model + endpoint config + endpoint, InService; returns the shared name."""
    name = unique("ep")
    aws.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image, "ModelDataUrl": model_uri})
    aws.sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m4.xlarge"}],
    )
    aws.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    aws.sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name)
    return name


def csv_rows(x: np.ndarray) -> str:
    return "\n".join(",".join(f"{v:.6g}" for v in row) for row in x)
