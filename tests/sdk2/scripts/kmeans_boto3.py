"""MNIST k-means with plain boto3: the low-level SageMaker API, call by call.

Nothing here knows about a local engine. The last line it prints is a JSON summary.
"""

import gzip
import io
import json
import pickle
import time
import uuid

import boto3
from botocore.exceptions import ClientError

from sm_magics.formats.recordio import encode_dense

region = boto3.Session().region_name
sts = boto3.client("sts")
s3 = boto3.client("s3")
sm = boto3.client("sagemaker")
runtime = boto3.client("sagemaker-runtime")

account = sts.get_caller_identity()["Account"]
role = f"arn:aws:iam::{account}:role/SageMakerRole"
bucket = f"sagemaker-{region}-{account}"
try:
    s3.create_bucket(Bucket=bucket)
except ClientError as error:
    if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
        raise
prefix = "kmeans-lowlevel"

# Data: MNIST from the public sample bucket, as RecordIO-protobuf in our bucket.
body = s3.get_object(Bucket="sagemaker-sample-files", Key="datasets/image/MNIST/mnist.pkl.gz")["Body"].read()
train_set, valid_set, test_set = pickle.load(io.BytesIO(gzip.decompress(body)), encoding="latin1")
s3.put_object(Bucket=bucket, Key=f"{prefix}/train/mnist.pbr", Body=encode_dense(train_set[0]))
print(f"uploaded {train_set[0].shape[0]} training rows to s3://{bucket}/{prefix}/train/")

# Training.
job_name = "kmeans-lowlevel-" + time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime()) + "-" + uuid.uuid4().hex[:4]
image = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
sm.create_training_job(
    TrainingJobName=job_name,
    AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
    RoleArn=role,
    InputDataConfig=[
        {
            "ChannelName": "train",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{bucket}/{prefix}/train/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "ContentType": "application/x-recordio-protobuf",
            "CompressionType": "None",
            "RecordWrapperType": "None",
        }
    ],
    OutputDataConfig={"S3OutputPath": f"s3://{bucket}/{prefix}/output"},
    ResourceConfig={"InstanceType": "ml.c4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
    StoppingCondition={"MaxRuntimeInSeconds": 3600},
    HyperParameters={"k": "10", "feature_dim": "784", "mini_batch_size": "500", "force_dense": "True"},
)
sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=job_name)
job = sm.describe_training_job(TrainingJobName=job_name)
status = job["TrainingJobStatus"]
print(f"training job {job_name}: {status}")
if status != "Completed":
    raise SystemExit(f"training failed: {job.get('FailureReason')}")
model_data = job["ModelArtifacts"]["S3ModelArtifacts"]

# Hosting.
model_name = job_name
sm.create_model(ModelName=model_name, ExecutionRoleArn=role, PrimaryContainer={"Image": image, "ModelDataUrl": model_data})
config_name = f"{job_name}-config"
sm.create_endpoint_config(
    EndpointConfigName=config_name,
    ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": model_name, "InitialInstanceCount": 1, "InstanceType": "ml.m4.xlarge"}
    ],
)
endpoint_name = f"{job_name}-ep"
sm.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint_name)
endpoint_status = sm.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"]
print(f"endpoint {endpoint_name}: {endpoint_status}")

# Inference: 100 validation digits as CSV.
rows = valid_set[0][:100]
payload = "\n".join(",".join(f"{v:.4f}" for v in row) for row in rows)
response = runtime.invoke_endpoint(EndpointName=endpoint_name, ContentType="text/csv", Accept="application/json", Body=payload)
answer = json.loads(response["Body"].read())
predictions = answer["predictions"]
print(f"{len(predictions)} predictions, first: {predictions[0]}")

# Clean up.
sm.delete_endpoint(EndpointName=endpoint_name)
sm.get_waiter("endpoint_deleted").wait(EndpointName=endpoint_name)
sm.delete_endpoint_config(EndpointConfigName=config_name)
sm.delete_model(ModelName=model_name)

print(
    json.dumps(
        {
            "job_name": job_name,
            "status": status,
            "secondary_status": job["SecondaryStatus"],
            "model_data": model_data,
            "endpoint_name": endpoint_name,
            "config_name": config_name,
            "model_name": model_name,
            "endpoint_status": endpoint_status,
            "response_content_type": response["ContentType"],
            "clusters": [p["closest_cluster"] for p in predictions],
            "distances": [p["distance_to_cluster"] for p in predictions],
        }
    )
)
