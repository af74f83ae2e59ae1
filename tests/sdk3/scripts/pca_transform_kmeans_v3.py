"""MNIST: PCA to 50 components, projections by a batch transform job, k-means on them (SageMaker SDK 3.x).

``ModelTrainer`` trains PCA on RecordIO-protobuf (SDK 3 ships no RecordIO
writer, so sm_magics' encoder writes it); the model is registered with
``sagemaker.core.resources.Model`` and the digits (CSV, one per line) are
projected by ``TransformJob.create`` in mini-batches of at most 1 MB, answered
as JSON (one ``{"projections": [...]}`` document per mini-batch, one per
line); ``ModelTrainer`` then clusters the projections with k-means. Nothing
here knows about a local engine. The last line printed is a JSON summary.
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
from sagemaker.core.resources import Model, TransformJob
from sagemaker.core.shapes import (
    ContainerDefinition,
    TransformDataSource,
    TransformInput,
    TransformOutput,
    TransformResources,
    TransformS3DataSource,
)
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.train import ModelTrainer

from sm_magics.formats.recordio import encode_dense

session = Session()
region = session.boto_region_name
bucket = session.default_bucket()
role = get_execution_role(session)
prefix = "pca-kmeans-v3"
stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
print(f"role {role}, bucket {bucket}, region {region}")

s3 = boto3.client("s3")
body = s3.get_object(Bucket="sagemaker-sample-files", Key="datasets/image/MNIST/mnist.pkl.gz")["Body"].read()
train_set, valid_set, test_set = pickle.load(io.BytesIO(gzip.decompress(body)), encoding="latin1")
digits = train_set[0].astype("float32")
s3.put_object(Bucket=bucket, Key=f"{prefix}/pca-train/mnist.pbr", Body=encode_dense(digits))


def train(algorithm, hyperparameters, data_uri):
    trainer = ModelTrainer(
        training_image=image_uris.retrieve(algorithm, region),
        role=role,
        sagemaker_session=session,
        base_job_name=f"{algorithm}-v3",
        hyperparameters=hyperparameters,
        compute=Compute(instance_type="ml.c4.xlarge", instance_count=1),
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/{prefix}/{algorithm}-output"),
    )
    trainer.train(
        input_data_config=[InputData(channel_name="train", data_source=data_uri, content_type="application/x-recordio-protobuf")]
    )
    job = trainer._latest_training_job
    job.refresh()
    print(f"{algorithm} job {job.training_job_name}: {job.training_job_status}")
    return job


# 1. PCA to 50 components.
pca_job = train("pca", {"feature_dim": 784, "num_components": 50, "mini_batch_size": 500}, f"s3://{bucket}/{prefix}/pca-train/")

# 2. Batch transform: CSV in, one digit per line, mini-batches of at most 1 MB, JSON out.
pca_image = image_uris.retrieve("pca", region)
model_name = f"pca-v3-{stamp}"
model = Model.create(
    model_name=model_name,
    primary_container=ContainerDefinition(image=pca_image, model_data_url=pca_job.model_artifacts.s3_model_artifacts),
    execution_role_arn=role,
)
csv = "\n".join(",".join(f"{v:.6g}" for v in row) for row in digits) + "\n"
s3.put_object(Bucket=bucket, Key=f"{prefix}/transform-input/digits.csv", Body=csv.encode())
transform = TransformJob.create(
    transform_job_name=f"pca-projections-{stamp}",
    model_name=model_name,
    batch_strategy="MultiRecord",
    max_payload_in_mb=1,
    transform_input=TransformInput(
        data_source=TransformDataSource(
            s3_data_source=TransformS3DataSource(s3_data_type="S3Prefix", s3_uri=f"s3://{bucket}/{prefix}/transform-input/")
        ),
        content_type="text/csv",
        split_type="Line",
    ),
    transform_output=TransformOutput(
        s3_output_path=f"s3://{bucket}/{prefix}/transform-output", accept="application/json", assemble_with="Line"
    ),
    transform_resources=TransformResources(instance_type="ml.m4.xlarge", instance_count=1),
)
transform.wait(poll=2)
print(f"transform job {transform.transform_job_name}: {transform.transform_job_status}")

output_key = f"{prefix}/transform-output/digits.csv.out"
documents = [json.loads(line) for line in s3.get_object(Bucket=bucket, Key=output_key)["Body"].read().decode().splitlines() if line.strip()]
projections = np.array([p["projection"] for doc in documents for p in doc["projections"]], dtype="float32")
print(f"{len(documents)} mini-batch answers, projections {projections.shape}")
model.delete()

# 3. k-means on the projections.
s3.put_object(Bucket=bucket, Key=f"{prefix}/kmeans-train/projections.pbr", Body=encode_dense(projections))
kmeans_job = train("kmeans", {"k": 10, "feature_dim": 50, "mini_batch_size": 500}, f"s3://{bucket}/{prefix}/kmeans-train/")

print(
    json.dumps(
        {
            "role": role,
            "bucket": bucket,
            "pca_job": pca_job.training_job_name,
            "pca_model_data": pca_job.model_artifacts.s3_model_artifacts,
            "model_name": model_name,
            "transform_job": transform.transform_job_name,
            "transform_status": transform.transform_job_status,
            "output_uri": f"s3://{bucket}/{output_key}",
            "documents": len(documents),
            "input_rows": int(digits.shape[0]),
            "projection_rows": int(projections.shape[0]),
            "projection_widths": sorted({len(p) for p in projections.tolist()}),
            "kmeans_job": kmeans_job.training_job_name,
            "kmeans_status": kmeans_job.training_job_status,
            "kmeans_model_data": kmeans_job.model_artifacts.s3_model_artifacts,
        }
    )
)
