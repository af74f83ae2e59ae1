"""MNIST: PCA down to 50 components, projections by batch transform, then k-means on them (SageMaker SDK 2.x).

A two-stage pipeline as the SDK documents it: train ``sagemaker.PCA`` on
MNIST (``record_set``), project the digits with a batch transform job (CSV in,
one line per digit; JSON Lines out), read the projections back from S3 and
cluster them with ``sagemaker.KMeans``. Nothing here knows about a local
engine. The last line printed is a JSON summary.
"""

import gzip
import json
import pickle

import boto3
import numpy as np
import sagemaker
from sagemaker import PCA, KMeans, get_execution_role

role = get_execution_role()
sess = sagemaker.Session()
bucket = sess.default_bucket()
prefix = "sagemaker/DEMO-pca-kmeans-mnist"

s3 = boto3.client("s3")
s3.download_file("sagemaker-sample-files", "datasets/image/MNIST/mnist.pkl.gz", "mnist.pkl.gz")
with gzip.open("mnist.pkl.gz", "rb") as f:
    train_set, valid_set, test_set = pickle.load(f, encoding="latin1")
digits = train_set[0].astype("float32")
print(f"training rows: {digits.shape[0]}, features: {digits.shape[1]}")

# 1. PCA to 50 components.
pca = PCA(
    role=role,
    instance_count=1,
    instance_type="ml.c4.xlarge",
    num_components=50,
    output_path=f"s3://{bucket}/{prefix}/pca-output",
    data_location=f"s3://{bucket}/{prefix}/pca-data",
    sagemaker_session=sess,
)
pca.fit(pca.record_set(digits), mini_batch_size=500)
pca_job = pca.latest_training_job.name

# 2. Project every digit with a batch transform job: CSV in, one line per digit.
csv = "\n".join(",".join(f"{v:.6g}" for v in row) for row in digits) + "\n"
s3.put_object(Bucket=bucket, Key=f"{prefix}/transform-input/digits.csv", Body=csv.encode())
transformer = pca.transformer(
    instance_count=1,
    instance_type="ml.m4.xlarge",
    strategy="MultiRecord",
    assemble_with="Line",
    accept="application/jsonlines",
    output_path=f"s3://{bucket}/{prefix}/transform-output",
)
transformer.transform(  # waits for the job (wait=True, logs=True are the defaults)
    data=f"s3://{bucket}/{prefix}/transform-input/",
    content_type="text/csv",
    split_type="Line",
)
transform_job = transformer.latest_transform_job.name
transform_status = sess.sagemaker_client.describe_transform_job(TransformJobName=transform_job)["TransformJobStatus"]
print(f"transform job {transform_job}: {transform_status}")

output_key = f"{prefix}/transform-output/digits.csv.out"
lines = [line for line in s3.get_object(Bucket=bucket, Key=output_key)["Body"].read().decode().splitlines() if line.strip()]
projections = np.array([json.loads(line)["projection"] for line in lines], dtype="float32")
print(f"projections: {projections.shape}")

# 3. k-means on the projections.
kmeans = KMeans(
    role=role,
    instance_count=1,
    instance_type="ml.c4.xlarge",
    k=10,
    output_path=f"s3://{bucket}/{prefix}/kmeans-output",
    data_location=f"s3://{bucket}/{prefix}/kmeans-data",
    sagemaker_session=sess,
)
kmeans.fit(kmeans.record_set(projections))
kmeans_job = kmeans.latest_training_job.name
kmeans_status = sess.describe_training_job(kmeans_job)["TrainingJobStatus"]
print(f"k-means job {kmeans_job}: {kmeans_status}")

print(
    json.dumps(
        {
            "role": role,
            "bucket": bucket,
            "pca_job": pca_job,
            "pca_model_data": pca.model_data,
            "transform_job": transform_job,
            "transform_status": transform_status,
            "transform_model": transformer.model_name,
            "output_uri": f"s3://{bucket}/{output_key}",
            "input_rows": int(digits.shape[0]),
            "projection_lines": len(lines),
            "projection_widths": sorted({len(p) for p in projections.tolist()}),
            "kmeans_job": kmeans_job,
            "kmeans_status": kmeans_status,
            "kmeans_model_data": kmeans.model_data,
        }
    )
)
